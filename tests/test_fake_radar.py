"""The fake radar on a pty: CLI answers like the SDK demo, paced data packets, fault injection."""

from __future__ import annotations

import os
import select
import time

import numpy as np
import pytest

from firmware_cfg import load_cfg
from runtime.fakes.uart_radar import FakeUartRadar, Faults
from runtime.frames import POINT_DTYPE
from runtime.sources.uart_parser import UartPacketParser


def _open_raw(path: str) -> int:
    import termios
    import tty

    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd)
    termios.tcflush(fd, termios.TCIFLUSH)
    return fd


def _read_until(fd: int, token: bytes, timeout: float = 3.0) -> bytes:
    out = b""
    deadline = time.monotonic() + timeout
    while token not in out and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            out += os.read(fd, 4096)
    return out


def _cmd(fd: int, line: str) -> str:
    os.write(fd, line.encode() + b"\n")
    return _read_until(fd, b"mmwDemo:/>").decode()


def _points(k: int) -> np.ndarray:
    p = np.zeros(3, dtype=POINT_DTYPE)
    p["x"], p["y"], p["v"] = k, 2.0, -0.5
    p["snr"] = 12.3
    return p


def test_cli_answers_like_the_demo() -> None:
    with FakeUartRadar(_points, frame_period_s=0.01) as fake:
        fd = _open_raw(fake.cli_path)
        try:
            out = _cmd(fd, "sensorStop")
            assert out.splitlines()[0] == "sensorStop"  # echo
            assert "Ignored: Sensor is already stopped" in out and "Done" in out
            out = _cmd(fd, "frobnicate 1 2")
            assert "'frobnicate' is not recognized as a CLI command" in out
            assert "Error -1" in out
            out = _cmd(fd, "channelCfg 15 7")  # wrong argument count
            assert "Error -1" in out and "expects 3 arguments" in out
            out = _cmd(fd, "channelCfg 15 seven 0")
            assert "Error -1" in out and "not a number" in out
            assert "Error -1" in _cmd(fd, "sensorStart")  # nothing configured yet
            for cmd in load_cfg("iwr1843boost_presence").commands:
                out = _cmd(fd, cmd.text())
                assert "Done" in out, (cmd.text(), out)
            assert fake.running and fake.config is not None
            assert "Error -1" in _cmd(fd, "profileCfg 0 77 7 6 50 0 0 40 1 128 3000 0 0 30")
            assert "Done" in _cmd(fd, "sensorStop")
            assert not fake.running
        finally:
            os.close(fd)


def test_value_errors_found_when_the_frame_is_complete_fail_sensor_start() -> None:
    rc = load_cfg("iwr1843boost_presence")
    with FakeUartRadar(frame_period_s=0.01) as fake:
        fd = _open_raw(fake.cli_path)
        try:
            for cmd in rc.commands:
                text = cmd.text()
                if cmd.name == "profileCfg":  # 100 MHz/us: beyond the xWR18xx's slope limit
                    text = text.replace(" 40 1 128", " 100 1 128")
                if cmd.name == "sensorStart":
                    out = _cmd(fd, text)
                    assert "Error -1" in out and "mmWave config failed" in out
                else:
                    _cmd(fd, text)
            assert not fake.running
        finally:
            os.close(fd)


def test_streams_paced_packets_after_sensor_start() -> None:
    baud = 115_200  # slow line so that pacing is measurable: 11,520 B/s
    with FakeUartRadar(_points, frame_period_s=0.02, baud=baud) as fake:
        fd = _open_raw(fake.data_path)
        try:
            fake.configure(load_cfg("iwr1843boost_presence"))
            parser = UartPacketParser(platform=0xA1843)
            frames, got = [], 0
            t0 = time.monotonic()
            while len(frames) < 12 and time.monotonic() - t0 < 5:
                ready, _, _ = select.select([fd], [], [], 0.05)
                if ready:
                    data = os.read(fd, 4096)
                    got += len(data)
                    frames += parser.feed(data)
            elapsed = time.monotonic() - t0
        finally:
            os.close(fd)
    assert len(frames) >= 12
    # a 416-byte packet (3 points + side info + 128-bin profile + stats) takes 36 ms at 115200
    # baud, longer than the 20 ms period: the line rate, not the period, sets the pace
    assert got / elapsed < baud / 10 * 1.3
    numbers = [f.frame_number for f in frames]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    for f in frames:
        assert np.array_equal(f.points["x"], _points(f.frame_number)["x"])
        assert np.allclose(f.points["snr"], 12.3, atol=0.05)
        assert f.range_profile is not None and len(f.range_profile) == 128


def test_fault_injection_counters_are_exact() -> None:
    faults = Faults(drop_packet=0.1, garbage=0.2, seed=7)
    with FakeUartRadar(_points, frame_period_s=0.005, pace=False, faults=faults) as fake:
        fd = _open_raw(fake.data_path)
        parser = UartPacketParser(platform=0xA1843)
        frames = []
        try:
            fake.configure(load_cfg("iwr1843boost_presence"))
            t0 = time.monotonic()
            while len(frames) < 60 and time.monotonic() - t0 < 10:
                ready, _, _ = select.select([fd], [], [], 0.05)
                if ready:
                    frames += parser.feed(os.read(fd, 65536))
            fake.configure(load_cfg("iwr1843boost_presence"), start=False)
            fake._streaming.clear()  # stop streaming, then read what is left
            time.sleep(0.05)
            while select.select([fd], [], [], 0.1)[0]:
                frames += parser.feed(os.read(fd, 65536))
            frames += parser.flush()
        finally:
            os.close(fd)
    sent = fake.sent_frame_numbers
    assert [f.frame_number for f in frames] == sent
    # every frame number the fake skipped (dropped packets) is counted lost, between the first
    # and the last packet received
    expected_lost = (sent[-1] - sent[0] + 1) - len(sent)
    assert parser.stats.frames_lost == expected_lost
    assert parser.stats.packets_damaged == 0
    assert parser.stats.bytes_skipped > 0  # the injected garbage


@pytest.mark.parametrize("board", ["IWR1443BOOST", "IWR1642BOOST", "IWR6843ISK", "IWR6843AOPEVM"])
def test_other_boards_and_dialects(board: str) -> None:
    profile = {
        "IWR1443BOOST": "iwr1443boost_presence",
        "IWR1642BOOST": "iwr1642boost_raw_activity",  # guiMonitor sends points: SDK 2.x Q format
        "IWR6843ISK": "iwr6843isk_presence",
        "IWR6843AOPEVM": "iwr6843aop_presence",
    }[board]
    with FakeUartRadar(_points, board=board, frame_period_s=0.01, pace=False) as fake:
        fd = _open_raw(fake.data_path)
        try:
            rc = load_cfg(profile)
            fake.configure(rc)
            parser = UartPacketParser.for_config(rc)
            frames = []
            t0 = time.monotonic()
            while len(frames) < 3 and time.monotonic() - t0 < 5:
                if select.select([fd], [], [], 0.05)[0]:
                    frames += parser.feed(os.read(fd, 65536))
        finally:
            os.close(fd)
    assert len(frames) >= 3
    assert frames[0].platform == fake.board.platform_id
    assert np.allclose(frames[0].points["x"], frames[0].frame_number, atol=1e-3)


def test_xwr1642_speaks_sdk_2x_over_both_ports() -> None:
    """The xWR1642BOOST fake: its SDK 2.x .cfg is accepted line by line over the CLI port (the
    SDK 2.x-only nearFieldCfg included), it reports SDK 2.1.0.4, and its data port sends SDK 2.x
    packets (Q-format points with signed Doppler indices) that the 2.x parser decodes."""
    rc = load_cfg("iwr1642boost_raw_activity")
    c = rc.chirp
    with FakeUartRadar(_points, board="IWR1642BOOST", frame_period_s=0.01, pace=False) as fake:
        cli = _open_raw(fake.cli_path)
        data = _open_raw(fake.data_path)
        try:
            assert "mmWave SDK Version: 2.1.0.4" in _cmd(cli, "version")
            for cmd in rc.commands:
                out = _cmd(cli, cmd.text())
                assert "Done" in out, (cmd.text(), out)
            assert fake.running and fake.config is not None and fake.config.dialect == "2.x"
            parser = UartPacketParser.for_config(fake.config)
            frames = []
            t0 = time.monotonic()
            while len(frames) < 3 and time.monotonic() - t0 < 5:
                if select.select([data], [], [], 0.05)[0]:
                    frames += parser.feed(os.read(data, 65536))
        finally:
            os.close(cli)
            os.close(data)
    assert len(frames) >= 3 and parser.stats.packets_damaged == 0
    for f in frames:
        assert f.version >> 24 == 2 and f.platform == 0xA1642
        want = _points(f.frame_number)
        np.testing.assert_allclose(f.points["x"], want["x"], atol=2.0**-9)
        idx = round(-0.5 / c.velocity_bin_mps)  # v = -0.5 m/s: a negative Doppler index
        assert list(f.extras["doppler_idx"]) == [idx] * 3 and idx < 0
        np.testing.assert_allclose(f.points["v"], idx * c.velocity_bin_mps, rtol=1e-6)
        assert np.all(np.isnan(f.points["snr"]))  # SDK 2.x sends no side info
