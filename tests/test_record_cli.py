"""`mmfm record` against the fake radar (pty) and the fake DCA1000 (UDP): record -> replay is exact."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, require_shared

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


def test_record_dca1000_data_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--no-configure``: nothing is sent to the DCA1000 (something else started its recording);
    the ADC stream on the data port is recorded as it comes."""
    cfg = load_cfg("iwr1843boost_raw_activity").chirp
    sim = synthesize_frames(cfg, [PointTarget(2.0, 1.0, 15.0, amplitude=700.0)], 3, noise_std=20.0,
                            rng=np.random.default_rng(4))  # fmt: skip
    wire = [encode_frames(sim[k], cfg) for k in range(3)]
    adc_port = _free_udp_port()
    fake = FakeDCA1000(lambda k: wire[k % 3], frame_period_s=cfg.frame_period_s,
                       data_dest=("127.0.0.1", adc_port))  # fmt: skip
    fake.start()
    fake.start_recording()  # what mmWave Studio's RECORD_START does; the stream runs until stopped
    try:
        code = main(
            [
                "record", "--source", "dca1000", "--cfg", "iwr1843boost_raw_activity",
                "--no-configure", "--fpga-ip", "127.0.0.1", "--host-ip", "127.0.0.1",
                "--config-port", str(fake.config_port), "--adc-port", str(adc_port),
                "--out", str(tmp_path), "--frames", "4", "--duration", "30",
            ]
        )  # fmt: skip
        assert fake.recording  # nobody sent RECORD_STOP
    finally:
        fake.stop()
    assert code == 0, capsys.readouterr().err
    assert fake.commands == []  # not one control command: data only
    meta = json.loads((tmp_path / "meta.json").read_text())
    assert meta["kind"] == "raw_adc" and meta["frames"] == 4 and meta["firmware_version"] is None
    with ReplaySource(tmp_path) as src:
        back = list(src.frames())
    whole = [f for f in back if not f.flags]  # the first may have been joined mid-frame
    assert len(whole) >= 3
    for f in whole:
        np.testing.assert_array_equal(f.data, decode_frames(wire[f.frame_number % 3], cfg)[0])


def test_record_replay_of_a_uart_dump(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A UART byte dump re-records without --cfg: the bytes as they are, every frame replays."""
    dump = require_shared("vectors", "uart_xwr18xx_sdk3.dat")
    out = tmp_path / "rec"
    assert main(["record", "--source", "replay", "--input", str(dump), "--out", str(out)]) == 0
    assert "recorded 58 frames" in capsys.readouterr().out
    assert (out / "uart.dat").read_bytes() == dump.read_bytes()
    assert not (out / "radar.cfg").exists()  # the dump does not say its chirp
    meta = json.loads((out / "meta.json").read_text())
    assert meta["kind"] == "uart" and meta["board"] == "unknown" and meta["frames"] == 58
    with ReplaySource(dump) as a, ReplaySource(out) as b:
        direct, again = list(a.frames()), list(b.frames())
    assert [f.frame_number for f in again] == [f.frame_number for f in direct]
    for x, y in zip(direct, again, strict=True):
        np.testing.assert_array_equal(x.points, y.points)
    # with --cfg the recording carries it; --frames stops early
    out2 = tmp_path / "rec2"
    args = ["record", "--source", "replay", "--input", str(dump), "--out", str(out2)]
    assert main([*args, "--cfg", "iwr1843boost_presence", "--frames", "5"]) == 0
    assert load_cfg(out2 / "radar.cfg").chirp == load_cfg("iwr1843boost_presence").chirp
    assert json.loads((out2 / "meta.json").read_text())["frames"] == 5
    assert dump.read_bytes().startswith((out2 / "uart.dat").read_bytes())


def test_record_replay_of_random_bytes_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "random.bin"
    junk.write_bytes(np.random.default_rng(0).bytes(100_000))
    args = ["record", "--source", "replay", "--input", str(junk), "--out", str(tmp_path / "r")]
    assert main([*args, "--cfg", "iwr1843boost_raw_activity"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err  # no RuntimeWarning with its source line
    assert err.startswith(f"mmfm record: error: {junk}: no whole frame to record (")
    assert "partial frame" in err and not (tmp_path / "r").exists()
    dat = tmp_path / "random.dat"
    dat.write_bytes(np.random.default_rng(1).bytes(20_000))
    assert (
        main(["record", "--source", "replay", "--input", str(dat), "--out", str(tmp_path / "d")])
        == 1
    )
    err = capsys.readouterr().err
    assert err == f"mmfm record: error: {dat}: no whole frame to record\n"


def test_record_bad_board_and_cfg_name_the_culprit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["record", "--source", "serial", "--out", str(tmp_path / "r")]
    assert main([*base, "--cfg", "iwr1843boost_presence", "--board", "IWR9999"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mmfm record: error: --board IWR9999: unknown board 'IWR9999'")
    cfg = tmp_path / "bad.cfg"
    cfg.write_text(
        "% mmfm-board: NOPE\n"
        + (REPO / "firmware_cfg/profiles/iwr1843boost_presence.cfg").read_text()
    )
    assert main([*base, "--cfg", str(cfg)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"mmfm record: error: {cfg}:1: unknown board 'NOPE'; known boards: ")
    assert len(err.splitlines()) == 1 and err.count(str(cfg)) == 1
