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
    assert "dB re 1 ADC count^2" in lines[0] and lines[1].split()[-2:] == ["power", "dB"]
    powers = [float(line.split()[-1]) for line in lines[2:]]
    assert powers == sorted(powers, reverse=True) and powers[0] > 100  # the table's sort key
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
                "power_db",
            }
        powers = [d["power_db"] for d in dets]
        assert powers == sorted(powers, reverse=True)  # strongest first


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


def test_not_a_numeric_array_and_directories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = ["--cfg", "iwr1843boost_raw_activity"]
    junk = tmp_path / "random.npy"
    junk.write_bytes(np.random.default_rng(0).bytes(5000))
    objects = tmp_path / "objects.npy"
    np.save(objects, np.array([{"a": 1}, None], dtype=object))
    text = tmp_path / "text.npy"
    np.save(text, np.array(["ab", "cd"]))
    for path in (junk, objects, text):
        assert main(["dsp", str(path), *cfg]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"mmfm dsp: error: {path}: not a numeric array")
        assert len(err.splitlines()) == 1 and "pickle" not in err  # never invites unpickling
    assert main(["dsp", str(tmp_path), *cfg]) == 1
    assert capsys.readouterr().err.startswith(f"mmfm dsp: error: {tmp_path}: is a directory")
    assert main(["dsp", str(tmp_path)]) == 1  # without --cfg too
    assert "is a directory" in capsys.readouterr().err
    example = REPO / "runtime" / "examples" / "two_people_iwr1843.bin"
    assert main(["dsp", str(example), "--cfg", str(tmp_path)]) == 1
    assert (
        capsys.readouterr().err == f"mmfm dsp: error: {tmp_path}: is a directory, not a .cfg file\n"
    )


def test_bad_board_and_cfg_comment_name_the_culprit_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example = REPO / "runtime" / "examples" / "two_people_iwr1843.bin"
    assert main(["dsp", str(example), "--cfg", "iwr1843boost_raw_activity", "--board", "X1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mmfm dsp: error: --board X1: unknown board 'X1'; known boards: ")
    cfg = tmp_path / "bad.cfg"
    text = example.with_suffix(".cfg").read_text().splitlines()
    cfg.write_text("\n".join(["% my radar", "% mmfm-board: IWR9999FOO", *text]) + "\n")
    assert main(["dsp", str(example), "--cfg", str(cfg)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"mmfm dsp: error: {cfg}:2: unknown board 'IWR9999FOO'")
    assert len(err.splitlines()) == 1 and err.count(str(cfg)) == 1


@pytest.mark.realdata
def test_openradar_npy_names_the_flags_that_fit(capsys: pytest.CaptureFixture[str]) -> None:
    npy = require_shared("realdata", "openradar-adc", "doppler_example_1.npy")
    base = ["dsp", str(npy), "--cfg", "iwr1443boost_openradar"]
    assert main(base) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "it fits --layout openradar" in err
    assert "also add --int16-wrap" in err  # OpenRadar's uint16 wrap-around I/Q
    assert main([*base, "--layout", "openradar"]) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "beyond int16: add --int16-wrap" in err
    assert main([*base, "--layout", "openradar", "--int16-wrap", "--json"]) == 0
    dets = json.loads(capsys.readouterr().out)["frames"][0]["detections"]
    # the moving reflector of the shared folder's README: ~2.9 m, ~+0.58 m/s
    assert any(abs(d["range_m"] - 2.93) < 0.1 and abs(d["velocity_mps"] - 0.58) < 0.1 for d in dets)


def test_frame_layout_file_under_openradar_names_frame(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    npy = tmp_path / "frame.npy"
    np.save(npy, np.zeros((3, 4, 128, 256), np.complex64))
    assert (
        main(["dsp", str(npy), "--cfg", "iwr1843boost_raw_activity", "--layout", "openradar"]) == 1
    )
    assert "it fits --layout frame" in capsys.readouterr().err


def test_a_recording_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``mmfm dsp REC`` reads an mmfm record directory with its own radar.cfg."""
    example = REPO / "runtime" / "examples" / "two_people_iwr1843.bin"
    rec = tmp_path / "rec"
    cfg = str(example.with_suffix(".cfg"))
    args = [
        "record",
        "--source",
        "replay",
        "--input",
        str(example),
        "--cfg",
        cfg,
        "--out",
        str(rec),
    ]
    assert main(args) == 0
    capsys.readouterr()
    assert main(["dsp", str(example), "--cfg", cfg, "--all", "--json"]) == 0
    direct = json.loads(capsys.readouterr().out)["frames"]
    assert main(["dsp", str(rec), "--all", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["frames"] == direct


def test_the_cfg_beside_the_capture_is_the_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example = REPO / "runtime" / "examples" / "two_people_iwr1843.bin"
    assert main(["dsp", str(example), "--json"]) == 0  # two_people_iwr1843.cfg lies beside it
    beside = json.loads(capsys.readouterr().out)
    assert beside["cfg"] == str(example.with_suffix(".cfg"))
    assert main(["dsp", str(example), "--cfg", beside["cfg"], "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["frames"] == beside["frames"]
    alone = tmp_path / "alone.bin"
    alone.write_bytes(example.read_bytes())
    assert main(["dsp", str(alone)]) == 1
    assert "give FILE and --cfg CFG" in capsys.readouterr().err
