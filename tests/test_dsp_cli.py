"""`mmfm dsp` on the bundled example, the reference vector and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, require_shared

from mmfm.cli import main


def test_example_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dsp", "--example", "--top", "3"]) == 0
    out = capsys.readouterr().out
    table, truth_part = out.split("truth (")
    lines = table.strip().splitlines()
    assert "range m" in lines[1] and len(lines) == 2 + 3
    assert len(truth_part.strip().splitlines()) == 1 + 3  # the example's truth printed beside
    truth = json.loads((REPO / "runtime/examples/two_people_iwr1843.truth.json").read_text())
    ranges = sorted(float(line.split()[2]) for line in lines[2:])
    for t, r in zip(sorted(t["range_m"] for t in truth["targets"]), ranges, strict=True):
        assert abs(r - t) < 0.1


def test_example_json_all_frames(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dsp", "--example", "--all", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [f["frame"] for f in doc["frames"]] == [0, 1]
    truth = json.loads((REPO / "runtime/examples/two_people_iwr1843.truth.json").read_text())
    for frame in doc["frames"]:
        dets = frame["detections"]
        for t in truth["targets"]:
            best = min(dets, key=lambda d: abs(d["range_m"] - t["range_m"]))
            assert abs(best["range_m"] - t["range_m"]) < 0.1
            assert abs(best["velocity_mps"] - t["velocity_mps"]) < 0.1
            assert abs(best["azimuth_deg"] - t["azimuth_deg"]) < 1.0
            assert set(best) == {
                "range_m",
                "velocity_mps",
                "azimuth_deg",
                "elevation_deg",
                "snr_db",
            }


@pytest.mark.realdata
def test_reference_vector_bin(capsys: pytest.CaptureFixture[str]) -> None:
    bin_path = require_shared("vectors", "dca1000_iwr1843.bin")
    cfg = str(bin_path.with_suffix(".cfg"))
    assert main(["dsp", str(bin_path), "--cfg", cfg, "--board", "IWR1843BOOST", "--json"]) == 0
    dets = json.loads(capsys.readouterr().out)["frames"][0]["detections"]
    assert dets[0]["range_m"] == pytest.approx(1.8, abs=0.05)
    assert dets[0]["azimuth_deg"] == pytest.approx(35.0, abs=0.5)


def test_npy_frame_and_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    from firmware_cfg import load_cfg
    from sim.radar.point_targets import PointTarget, synthesize_frame

    cfg = load_cfg("iwr1843boost_raw_activity").chirp
    frame = synthesize_frame(cfg, [PointTarget(2.0, 1.0, 15.0, amplitude=100.0)])
    npy = tmp_path / "frame.npy"
    np.save(npy, frame)
    png = tmp_path / "out.png"
    assert main(["dsp", str(npy), "--cfg", "iwr1843boost_raw_activity", "--png", str(png)]) == 0
    assert png.stat().st_size > 1000
    first = capsys.readouterr().out.strip().splitlines()[2].split()
    assert float(first[2]) == pytest.approx(2.0, abs=0.1) and float(first[4]) == pytest.approx(
        15, abs=2
    )


def test_bad_input_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    npy = tmp_path / "wrong.npy"
    np.save(npy, np.zeros((3, 4, 16, 256), np.complex64))
    assert main(["dsp", str(npy), "--cfg", "iwr1843boost_raw_activity"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(npy) in err and "does not match" in err

    missing = tmp_path / "missing.bin"
    assert main(["dsp", str(missing), "--cfg", "iwr1843boost_raw_activity"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(missing) in err

    garbage = tmp_path / "garbage.npy"
    garbage.write_bytes(b"not a numpy file")
    assert main(["dsp", str(garbage), "--cfg", "iwr1843boost_raw_activity"]) == 1
    assert str(garbage) in capsys.readouterr().err

    short = tmp_path / "short.bin"
    short.write_bytes(b"\0" * 1000)
    assert main(["dsp", str(short), "--cfg", "iwr1843boost_raw_activity"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(short) in err

    assert main(["dsp", str(npy)]) == 1  # no --cfg
    assert "--cfg" in capsys.readouterr().err
