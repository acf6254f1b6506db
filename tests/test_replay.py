"""Recording and replay: record -> replay gives identical frames; RadHAR and .bin captures replay."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, require_shared

from firmware_cfg import load_cfg
from runtime.frames import POINT_DTYPE, PointCloudFrame, RawFrame
from runtime.sources.dca1000_layout import decode_frames, encode_frames, read_bin
from runtime.sources.radhar import read_radhar
from runtime.sources.recording import Recorder
from runtime.sources.replay import ReplaySource, detect_kind
from runtime.sources.uart_encoder import encode_packet
from sim.radar.point_targets import PointTarget, synthesize_frames

EXAMPLE = REPO / "runtime" / "examples" / "two_people_iwr1843.bin"


def test_bin_replay_finds_sibling_cfg_and_times_frames() -> None:
    with ReplaySource(EXAMPLE) as src:
        frames = list(src.frames())
    rc = load_cfg(EXAMPLE.with_suffix(".cfg"))
    expected = read_bin(EXAMPLE, rc.chirp)
    assert [f.frame_number for f in frames] == [0, 1]
    assert [f.timestamp for f in frames] == [0.0, rc.chirp.frame_period_s]
    for f, e in zip(frames, expected, strict=True):
        assert isinstance(f, RawFrame) and f.intact
        np.testing.assert_array_equal(f.data, e)
    assert src.stats.frames == 2


def test_bare_bin_without_cfg_is_a_clear_error(tmp_path: Path) -> None:
    lone = tmp_path / "capture.bin"
    lone.write_bytes(EXAMPLE.read_bytes()[:1024])
    with pytest.raises(ValueError, match=r"capture\.bin: a raw \.bin needs its \.cfg"):
        ReplaySource(lone).open()


def test_detect_kind_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "x.wav").write_bytes(b"")
    with pytest.raises(ValueError, match=r"x\.wav: unknown capture type '\.wav'"):
        detect_kind(tmp_path / "x.wav")
    with pytest.raises(ValueError, match="is not a capture"):
        detect_kind(tmp_path)


def _raw_frames(n: int = 4) -> tuple[object, list[RawFrame]]:
    rc = load_cfg(REPO / "runtime" / "examples" / "two_people_iwr1843.cfg")
    cube = synthesize_frames(
        rc.chirp,
        [PointTarget(2.0, 1.0, 15.0, amplitude=900.0)],
        n,
        noise_std=30.0,
        rng=np.random.default_rng(7),
    )
    cube = decode_frames(encode_frames(cube, rc.chirp), rc.chirp)  # int16 as a DCA1000 delivers
    frames = [
        RawFrame(data=cube[i], frame_number=10 + i, timestamp=1_700_000_000.0 + 0.05 * i)
        for i in range(n)
    ]
    frames[min(2, n - 1)].flags["zero_filled_bytes"] = 1456
    return rc, frames


def test_raw_recording_round_trip_is_exact(tmp_path: Path) -> None:
    rc, frames = _raw_frames()
    out = tmp_path / "rec"
    rec = Recorder(out, rc, "raw_adc", source="test", firmware_version="2.8")
    with rec:
        for f in frames:
            rec.add_frame(f)
        rec.close(stats={"packets_lost": 1})
    meta = json.loads((out / "meta.json").read_text())
    assert meta["frames"] == 4 and meta["stats"] == {"packets_lost": 1}
    assert meta["board"] == "IWR1843BOOST" and meta["firmware_version"] == "2.8"
    assert detect_kind(out) == "recording"
    with ReplaySource(out) as src:
        back = list(src.frames())
    assert [b.frame_number for b in back] == [f.frame_number for f in frames]
    assert [b.timestamp for b in back] == [f.timestamp for f in frames]
    assert [b.flags for b in back] == [f.flags for f in frames]
    for b, f in zip(back, frames, strict=True):
        np.testing.assert_array_equal(b.data, f.data)
    assert src.stats.frames == 4 and src.stats.frames_flagged == 1


def test_recorder_refuses_to_overwrite(tmp_path: Path) -> None:
    rc, frames = _raw_frames(1)
    with Recorder(tmp_path, rc, "raw_adc", source="test") as rec:
        rec.add_frame(frames[0])
    with pytest.raises(FileExistsError, match="already holds a recording"):
        Recorder(tmp_path, rc, "raw_adc", source="test").open()


def _points(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pts = np.zeros(n, dtype=POINT_DTYPE)
    for name in ("x", "y", "z", "v"):
        pts[name] = rng.uniform(-3, 3, n)
    pts["snr"] = rng.uniform(5, 40, n).round(1)
    pts["noise"] = rng.uniform(40, 60, n).round(1)
    return pts


def test_uart_dump_ending_in_a_partial_packet_counts_it_damaged(tmp_path: Path) -> None:
    packets = [encode_packet(i, _points(4 + i, i), platform=0xA1843) for i in range(1, 5)]
    dump = tmp_path / "cut.dat"
    dump.write_bytes(b"".join(packets[:3]) + packets[3][: len(packets[3]) // 2])
    with ReplaySource(dump) as src:
        back = list(src.frames())
    assert [f.frame_number for f in back] == [1, 2, 3]
    st = src.stats
    assert (st.packets, st.packets_damaged) == (3, 1)
    assert st.bytes_skipped == len(packets[3]) // 2 and st.bytes_received == dump.stat().st_size


def test_uart_recording_round_trip_is_exact(tmp_path: Path) -> None:
    rc = load_cfg("iwr1843boost_presence")
    sent = [
        PointCloudFrame(points=_points(5 + i, i), frame_number=i + 1, timestamp=100.0 + 0.1 * i)
        for i in range(6)
    ]
    with Recorder(tmp_path / "u", rc, "uart", source="test") as rec:
        rec.write_bytes(b"\x00garbage\x02\x01")  # a partial magic word before the first packet
        for f in sent:
            rec.write_bytes(encode_packet(f.frame_number, f.points, platform=0xA1843))
            rec.add_frame(f)
    with ReplaySource(tmp_path / "u") as src:
        back = list(src.frames())
    assert [b.frame_number for b in back] == [f.frame_number for f in sent]
    assert [b.timestamp for b in back] == [f.timestamp for f in sent]
    for b, f in zip(back, sent, strict=True):
        for name in ("x", "y", "z", "v"):
            np.testing.assert_array_equal(b.points[name], f.points[name])
        np.testing.assert_allclose(b.points["snr"], f.points["snr"], atol=0.051)
    assert src.stats.frames == 6 and src.stats.bytes_skipped >= 9


def test_realtime_pacing_and_close_from_another_thread() -> None:
    # Two frames 50 ms apart at speed 0.01 would take 5 s: close() must end the wait at once.
    src = ReplaySource(EXAMPLE, realtime=True, speed=0.01, loop=True)
    got: list[int] = []

    def consume() -> None:
        for f in src.frames():
            got.append(f.frame_number)

    t = threading.Thread(target=consume)
    start = time.monotonic()
    t.start()
    time.sleep(0.3)
    src.close()
    t.join(timeout=2.0)
    assert not t.is_alive() and got == [0]
    assert time.monotonic() - start < 2.0


def test_realtime_pacing_follows_recorded_spacing() -> None:
    # 2 passes x 2 frames, 50 ms apart, at speed 2: 3 gaps of 25 ms, the loop seam included.
    start = time.monotonic()
    with ReplaySource(EXAMPLE, realtime=True, speed=2.0, loop=True) as src:
        frames = []
        for f in src.frames():
            frames.append(f)
            if len(frames) == 4:
                break
    assert [f.frame_number for f in frames] == [0, 1, 2, 3]  # loop keeps counting frame numbers up
    assert [round(f.timestamp, 6) for f in frames] == [0.0, 0.05, 0.1, 0.15]
    assert time.monotonic() - start >= 3 * 0.025


def test_radhar_dump_reads_as_point_frames() -> None:
    path = require_shared("realdata", "radhar-fewshot", "walk", "__20_walk_1.txt")
    frames = read_radhar(path)
    assert 550 <= len(frames) <= 650  # ~20 s at ~30 frames/s
    stamps = np.array([f.timestamp for f in frames])
    assert np.all(np.diff(stamps) >= 0)
    assert 25 < len(frames) / (stamps[-1] - stamps[0]) < 35
    pts = np.concatenate([f.points for f in frames])
    assert np.isfinite(pts["x"]).all() and np.isfinite(pts["snr"]).all()
    assert (np.hypot(pts["x"], pts["y"]) < 6.0).all()
    # First block of the file: ROS x forward = our y; ROS y (left) = -our x.
    text = path.read_text().split("---")[0]
    values = {k.strip(): v for k, _, v in (ln.partition(":") for ln in text.splitlines())}
    first = frames[0].points[0]
    assert first["y"] == np.float32(float(values["x"]))
    assert first["x"] == np.float32(-float(values["y"]))
    # bearing (ROS, + left) is minus our azimuth (+ right)
    assert np.isclose(
        np.degrees(np.arctan2(first["x"], first["y"])), -float(values["bearing"]), atol=0.01
    )


def test_radhar_replay_source_and_bad_block(tmp_path: Path) -> None:
    path = require_shared("realdata", "radhar-fewshot", "jump", "20_jump_1.txt")
    with ReplaySource(path) as src:
        n = sum(1 for _ in src.frames())
    assert n == len(read_radhar(path))
    bad = tmp_path / "bad.txt"
    bad.write_text("point_id: 0\nx: 1.0\ny: oops\n---\n")
    with pytest.raises(ValueError, match=r"bad\.txt:3: y: not a number: 'oops'"):
        read_radhar(bad)
