"""UartSource end to end on a real pty: points -> encode_packet -> fake radar -> UartSource."""

from __future__ import annotations

import threading
import time

import numpy as np

from firmware_cfg import load_cfg
from runtime.fakes.uart_radar import FakeUartRadar, Faults
from runtime.frames import POINT_DTYPE, PointCloudFrame
from runtime.radar_control import RadarControl
from runtime.sources.base import Source
from runtime.sources.uart import UartSource


def _cloud(frame: int) -> np.ndarray:
    """Deterministic per frame, with awkward float32 values (no rounding may touch them)."""
    rng = np.random.default_rng(frame)
    n = int(rng.integers(0, 30))
    p = np.zeros(n, dtype=POINT_DTYPE)
    p["x"] = rng.normal(0, 2, n).astype(np.float32)
    p["y"] = rng.uniform(0.3, 9, n).astype(np.float32)
    p["z"] = np.nextafter(np.float32(rng.normal(0.5, 0.5)), np.float32(10)) * np.ones(n, np.float32)
    p["v"] = rng.normal(0, 1.5, n).astype(np.float32)
    p["snr"] = np.round(rng.uniform(5, 40, n), 1)
    p["noise"] = np.round(rng.uniform(0, 20, n), 1)
    return p


def _collect(src: UartSource, n: int, limit_s: float = 10.0) -> list[PointCloudFrame]:
    out: list[PointCloudFrame] = []
    timer = threading.Timer(limit_s, src.close)
    timer.start()
    try:
        for frame in src.frames():
            out.append(frame)
            if len(out) == n:
                break
    finally:
        timer.cancel()
    return out


def test_constructor_touches_nothing() -> None:
    src = UartSource("/dev/does-not-exist", 921600)
    assert isinstance(src, Source)
    assert src.stats.bytes_received == 0
    src.close()  # safe without open


def test_round_trip_points_are_identical() -> None:
    rc = load_cfg("iwr1843boost_presence")
    with FakeUartRadar(_cloud, frame_period_s=0.02) as fake:
        with UartSource(fake.data_path, radar_config=rc) as src:
            with RadarControl(fake.cli_path) as ctl:
                ctl.send_config(rc)
            frames = _collect(src, 25)
            with RadarControl(fake.cli_path) as ctl:
                ctl.sensor_stop()
    assert len(frames) == 25
    numbers = [f.frame_number for f in frames]
    assert numbers == list(range(numbers[0], numbers[0] + 25))
    for f in frames:
        want = _cloud(f.frame_number)
        for k in ("x", "y", "z", "v"):
            assert np.array_equal(f.points[k], want[k]), (f.frame_number, k)  # float32 exact
        assert np.allclose(f.points["snr"], want["snr"], atol=0.051)
        assert np.allclose(f.points["noise"], want["noise"], atol=0.051)
        assert f.flags == {}
    st = src.stats
    assert st.packets_damaged == 0 and st.frames_lost == 0
    assert st.frames >= 25 and st.bytes_received > 0


def test_damaged_link_counts_and_never_emits_garbage() -> None:
    rc = load_cfg("iwr1843boost_presence")
    faults = Faults(drop_packet=0.05, mutate=0.2, garbage=0.1, seed=3)
    with FakeUartRadar(_cloud, frame_period_s=0.005, faults=faults) as fake:
        with UartSource(fake.data_path, radar_config=rc) as src:
            fake.configure(rc)
            frames = _collect(src, 60)
    assert len(frames) == 60
    emitted = 0
    for f in frames:
        want = _cloud(f.frame_number)
        if len(f.points) == len(want) and all(
            np.array_equal(f.points[k], want[k]) for k in ("x", "y", "z", "v")
        ):
            emitted += 1
            continue
        # only an in-place change inside the points TLV (<= 8 bytes: <= 2 records) gets through
        differ = sum(
            not np.array_equal(a, b)
            for a, b in zip(
                np.stack([f.points[k] for k in "xyzv"], 1),
                np.stack([want[k] for k in "xyzv"], 1),
                strict=False,
            )
        )
        assert len(f.points) == len(want) and differ <= 2, f.frame_number
    assert emitted >= 50
    st = src.stats
    assert st.packets_damaged > 0 and st.frames_lost > 0 and st.bytes_skipped > 0


def test_close_from_another_thread_ends_frames() -> None:
    with FakeUartRadar(frame_period_s=0.05) as fake:
        src = UartSource(fake.data_path)
        src.open()
        threading.Timer(0.2, src.close).start()
        t0 = time.monotonic()
        assert list(src.frames()) == []
        assert time.monotonic() - t0 < 2.0
