"""`mmfm record` against the fake radar (pty) and the fake DCA1000 (UDP): record -> replay is exact."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

from firmware_cfg import load_cfg
from mmfm.cli import main
from runtime.fakes.dca1000 import FakeDCA1000
from runtime.fakes.uart_radar import FakeUartRadar
from runtime.frames import POINT_DTYPE
from runtime.sources.dca1000_layout import decode_frames, encode_frames, read_bin
from runtime.sources.replay import ReplaySource
from sim.radar.point_targets import PointTarget, synthesize_frames


def _cloud(frame_number: int) -> np.ndarray:
    rng = np.random.default_rng(frame_number)
    pts = np.zeros(4 + frame_number % 5, dtype=POINT_DTYPE)
    for k in ("x", "y", "z", "v"):
        pts[k] = rng.uniform(-2, 2, pts.size).astype(np.float32)
    pts["snr"], pts["noise"] = 20.0, 50.0
    return pts


def test_record_serial_then_replay(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rec"
    with FakeUartRadar(_cloud, frame_period_s=0.02) as fake:
        code = main(
            [
                "record", "--source", "serial", "--cfg", "iwr1843boost_presence",
                "--cli-port", fake.cli_path, "--data-port", fake.data_path,
                "--out", str(out), "--frames", "8",
            ]
        )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert "recorded 8 frames" in capsys.readouterr().out
    meta = json.loads((out / "meta.json").read_text())
    assert meta["kind"] == "uart" and meta["frames"] == 8 and meta["board"] == "IWR1843BOOST"
    assert meta["stats"]["bytes_received"] == (out / "uart.dat").stat().st_size
    assert load_cfg(out / "radar.cfg").chirp == load_cfg("iwr1843boost_presence").chirp
    with ReplaySource(out) as src:
        back = list(src.frames())
    assert len(back) >= 8  # the byte stream may hold a frame more than the count stopped at
    for f in back[:8]:
        want = _cloud(f.frame_number)
        for k in ("x", "y", "z", "v"):
            np.testing.assert_array_equal(f.points[k], want[k])
    rows = (out / "frames.csv").read_text().splitlines()[1:]
    assert [b.timestamp for b in back[:8]] == [float(r.split(",")[1]) for r in rows]


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_record_dca1000_then_replay(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = load_cfg("iwr1843boost_raw_activity").chirp
    sim = synthesize_frames(cfg, [PointTarget(2.0, 1.0, 15.0, amplitude=700.0)], 3, noise_std=20.0,
                            rng=np.random.default_rng(3))  # fmt: skip
    wire = [encode_frames(sim[k], cfg) for k in range(3)]
    adc_port = _free_udp_port()
    fake = FakeDCA1000(wire, frame_period_s=cfg.frame_period_s, data_dest=("127.0.0.1", adc_port))
    fake.start()
    try:
        code = main(
            [
                "record", "--source", "dca1000", "--cfg", "iwr1843boost_raw_activity",
                "--fpga-ip", "127.0.0.1", "--host-ip", "127.0.0.1",
                "--config-port", str(fake.config_port), "--host-config-port", "0",
                "--adc-port", str(adc_port), "--out", str(tmp_path), "--frames", "3",
            ]
        )  # fmt: skip
    finally:
        fake.stop()
    assert code == 0, capsys.readouterr().err
    meta = json.loads((tmp_path / "meta.json").read_text())
    assert meta["kind"] == "raw_adc" and meta["frames"] == 3
    assert meta["firmware_version"].startswith("FPGA ")
    assert meta["stats"]["packets_lost"] == 0
    with ReplaySource(tmp_path) as src:
        back = list(src.frames())
    assert [f.frame_number for f in back] == [0, 1, 2]
    for k, f in enumerate(back):
        assert f.flags == {}
        np.testing.assert_array_equal(f.data, decode_frames(wire[k], cfg)[0])


def test_record_replay_of_a_bin(tmp_path: Path) -> None:
    example = REPO / "runtime" / "examples" / "two_people_iwr1843.bin"
    cfg = example.with_suffix(".cfg")
    args = ["record", "--source", "replay", "--input", str(example), "--cfg", str(cfg)]
    assert main([*args, "--out", str(tmp_path)]) == 0
    assert (tmp_path / "adc.bin").read_bytes() == example.read_bytes()
    rc = load_cfg(cfg)
    np.testing.assert_array_equal(
        read_bin(tmp_path / "adc.bin", rc.chirp), read_bin(example, rc.chirp)
    )


def test_record_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["record", "--source", "serial", "--out", str(tmp_path)]) == 1
    assert "needs --cfg" in capsys.readouterr().err
    assert main(["record", "--source", "replay", "--out", str(tmp_path)]) == 1
    assert "needs --input" in capsys.readouterr().err
    bad = ["record", "--source", "serial", "--cfg", "no_such_profile", "--out", str(tmp_path)]
    assert main(bad) == 1
    assert "no_such_profile" in capsys.readouterr().err
    # a port that does not exist: one readable line, no traceback
    missing = ["record", "--source", "serial", "--cfg", "iwr1843boost_presence", "--no-configure",
               "--cli-port", "/dev/none", "--data-port", str(tmp_path / "nope"), "--out",
               str(tmp_path / "r"), "--duration", "1"]  # fmt: skip
    assert main(missing) == 1
    err = capsys.readouterr().err
    assert err.startswith("mmfm record: error:") and "nope" in err
