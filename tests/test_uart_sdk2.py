"""The SDK 2.x (xWR16xx, xWR1642BOOST) UART dialect end to end: encoder -> parser byte layout, damage,
and a simulated target through the demo's packets, a ``.dat`` dump, ``mmfm record`` and replay.

Layout (from TI's SDK 2.x xWR16xx demo sources, see :mod:`runtime.sources.uart_tlv`): the 40-byte
header with ``subFrameNumber``; TLV 1 = ``{uint16 numDetetedObj, uint16 xyzQFormat}`` then 12 bytes
per point ``{uint16 rangeIdx, int16 dopplerIdx, uint16 peakVal, int16 x, y, z}``; types 1-6 only;
padding 0x0F.
"""

from __future__ import annotations

import json
import math
import struct
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from firmware_cfg import RadarConfig, load_cfg
from mmfm.cli import main
from runtime.fakes.uart_radar import FakeUartRadar
from runtime.frames import POINT_DTYPE
from runtime.sources.replay import ReplaySource
from runtime.sources.uart_encoder import encode_packet
from runtime.sources.uart_parser import UartPacketParser
from runtime.sources.uart_tlv import (
    HEADER_3X_BYTES,
    MAGIC,
    QDESCR,
    QPOINT_DTYPE,
    SDK2_PAD_BYTE,
    VERSION_SDK2,
    VERSION_SDK3,
    log2_lsb_per_db,
    sdk_major,
    sdk_q_format,
)
from sim.radar.point_targets import main as point_targets_main

PROFILE = "iwr1642boost_raw_activity"


@cache
def _rc() -> RadarConfig:
    return load_cfg(PROFILE)


def _points(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    p = np.zeros(n, dtype=POINT_DTYPE)
    p["x"] = rng.uniform(-4, 4, n)
    p["y"] = rng.uniform(0.2, 9, n)
    p["z"] = 0.0  # the xWR1642BOOST has no elevation: the demo reports z = 0
    p["v"] = rng.uniform(-5, 5, n)
    p["snr"] = rng.uniform(10, 30, n)
    p["noise"] = rng.uniform(40, 60, n)
    return p


def _encode(frame: int, pts: np.ndarray, **kw) -> bytes:
    c = _rc().chirp
    return encode_packet(
        frame,
        pts,
        platform=0xA1642,
        dialect="2.x",
        doppler_bin_mps=c.velocity_bin_mps,
        range_bin_m=c.range_bin_m,
        peak_lsb_per_db=log2_lsb_per_db("2.x", c.num_virtual),
        **kw,
    )


def test_sdk2_packet_layout_is_the_demos() -> None:
    """Header, descriptor, records and padding byte for byte as the SDK 2.x xWR16xx demo writes
    them: Q-format coordinates, signed Doppler indices, range indices, the CFAR peak value."""
    c = _rc().chirp
    pts = _points(5, 1)
    pts["v"][0] = -2.0  # a negative Doppler index must be sent as int16 two's complement
    pkt = _encode(7, pts, subframe=0, stats=(1, 2, 3, 4, 5, 6))
    assert pkt[:8] == MAGIC
    version, total, platform, fn, _, nobj, ntlv, subframe = struct.unpack_from("<8I", pkt, 8)
    assert (version, platform, fn, nobj, ntlv, subframe) == (VERSION_SDK2, 0xA1642, 7, 5, 2, 0)
    assert sdk_major(version) == 2 and total == len(pkt) and total % 32 == 0
    t, n = struct.unpack_from("<II", pkt, HEADER_3X_BYTES)
    assert (t, n) == (1, 4 + 12 * 5)
    count, q = QDESCR.unpack_from(pkt, HEADER_3X_BYTES + 8)
    # xyzQFormat = ceil(log2(16 / range resolution)): 9 for the profile's 4.88 cm bins
    assert count == 5 and q == math.ceil(math.log2(16 / c.range_bin_m)) == sdk_q_format(
        c.range_bin_m
    )
    assert q == 9
    rec = np.frombuffer(pkt, QPOINT_DTYPE, 5, HEADER_3X_BYTES + 12)
    np.testing.assert_array_equal(rec["x"], np.round(pts["x"].astype(np.float64) * 2**q))
    np.testing.assert_array_equal(rec["z"], 0)
    v = pts["v"].astype(np.float64)
    np.testing.assert_array_equal(rec["doppler_idx"], np.round(v / c.velocity_bin_mps))
    assert rec["doppler_idx"][0] == round(-2.0 / c.velocity_bin_mps) < 0
    assert struct.unpack_from("<h", pkt, HEADER_3X_BYTES + 12 + 2)[0] == rec["doppler_idx"][0]
    r = np.linalg.norm(np.stack([pts[k].astype(np.float64) for k in "xyz"], 1), axis=1)
    np.testing.assert_array_equal(rec["range_idx"], np.round(r / c.range_bin_m))
    per_db = 256 * 8 / (20 * math.log10(2))  # Q8 sum of log2 magnitudes over 8 virtual antennas
    level = pts["snr"].astype(np.float64) + pts["noise"].astype(np.float64)
    np.testing.assert_array_equal(rec["peak_val"], np.round(level * per_db))
    end = HEADER_3X_BYTES + 8 + n
    t6, n6 = struct.unpack_from("<II", pkt, end)
    assert (t6, n6) == (6, 24) and struct.unpack_from("<6I", pkt, end + 8) == (1, 2, 3, 4, 5, 6)
    padding = pkt[end + 8 + 24 :]
    assert 0 < len(padding) < 32 and set(padding) == {SDK2_PAD_BYTE}


def test_sdk2_round_trip_through_the_parser() -> None:
    """encoder -> parser (pinned to the .cfg's 2.x dialect, and auto): Q-format coordinates back
    to 2^-q m, Doppler indices back to velocity in whole bins, indices and peak values kept."""
    rc = _rc()
    c = rc.chirp
    q = sdk_q_format(c.range_bin_m)
    clouds = [_points(n, seed) for seed, n in enumerate((4, 0, 9, 1), start=1)]
    rp = np.arange(c.num_range_bins, dtype=np.uint16) * 50
    stream = b"".join(
        _encode(k, p, range_profile=rp, noise_profile=rp // 2, stats=(k,) * 6)
        for k, p in enumerate(clouds, start=1)
    )
    for parser in (
        UartPacketParser.for_config(rc),
        UartPacketParser(doppler_bin_mps=c.velocity_bin_mps),
    ):
        frames = parser.feed(stream, timestamp=0.0) + parser.flush()
        assert parser.stats.packets_damaged == 0 and parser.stats.frames_lost == 0
        assert [f.frame_number for f in frames] == [1, 2, 3, 4]
        for f, want in zip(frames, clouds, strict=True):
            assert f.platform == 0xA1642 and sdk_major(f.version) == 2 and f.subframe == 0
            assert not f.flags and f.stats is not None
            np.testing.assert_array_equal(f.range_profile, rp)
            np.testing.assert_array_equal(f.noise_profile, rp // 2)
            assert len(f.points) == len(want)
            if not len(want):
                continue
            for k in "xyz":
                np.testing.assert_allclose(f.points[k], want[k], atol=0.5 / 2**q + 1e-6)
            idx = np.round(want["v"].astype(np.float64) / c.velocity_bin_mps)
            np.testing.assert_array_equal(f.extras["doppler_idx"], idx)
            np.testing.assert_allclose(f.points["v"], idx * c.velocity_bin_mps, rtol=1e-6)
            assert np.all(np.abs(f.points["v"] - want["v"]) <= c.velocity_bin_mps / 2 + 1e-6)
            assert np.all(np.isnan(f.points["snr"]))  # SDK 2.x has no side info
            assert np.all(f.extras["peak_val"] > 0)
            cloud = f.to_point_cloud()
            assert cloud.frame_number == f.frame_number and len(cloud.points) == len(want)


def test_sdk2_has_no_sdk3_tlvs() -> None:
    with pytest.raises(ValueError, match=r"SDK 2\.x packets have no temperature"):
        _encode(1, _points(2, 0), temperature=(0,) * 12)
    with pytest.raises(ValueError, match="compressed_units"):
        _encode(1, _points(2, 0), compressed_units=(0.01, 0.01, 0.05, 0.001, 0.1))
    with pytest.raises(ValueError, match="dialect must be one of"):
        encode_packet(1, _points(1, 0), platform=0xA1642, dialect="2.0")
    # a side-info TLV (type 7, SDK 3.x only) in an SDK 2.x packet is damage, not a decoded frame
    pts = _points(2, 0)
    good = _encode(2, pts)
    tlv1_end = HEADER_3X_BYTES + 8 + QDESCR.size + 12 * len(pts)
    bad = bytearray(_encode(1, pts)[:tlv1_end] + struct.pack("<II", 7, 8) + bytes(8))
    bad += bytes([SDK2_PAD_BYTE]) * (-len(bad) % 32)
    struct.pack_into("<I", bad, 12, len(bad))  # total length
    struct.pack_into("<I", bad, 32, 2)  # number of TLVs
    parser = UartPacketParser.for_config(_rc())
    frames = parser.feed(bytes(bad) + good, timestamp=0.0, final=True)
    assert [f.frame_number for f in frames] == [2]
    assert parser.stats.packets_damaged == 1 and parser.damage_reasons["tlv type"] == 1
    assert "unknown 7 in SDK 2.x" in parser.last_damage
    # toolbox-style leniency: skipped and flagged instead
    lenient = UartPacketParser.for_config(_rc(), allow_unknown_tlvs=True)
    frames = lenient.feed(bytes(bad) + good, timestamp=0.0, final=True)
    assert [f.frame_number for f in frames] == [1, 2] and frames[0].flags == {"unknown_tlvs": 1}


def test_dialects_pin_their_versions() -> None:
    """A 2.x-pinned parser refuses an SDK 3.x packet (and vice versa for 1.x), counting it."""
    sdk3 = encode_packet(1, _points(2, 0), platform=0xA1642, version=VERSION_SDK3)
    parser = UartPacketParser.for_config(_rc())
    assert parser.dialect == "2.x"
    assert parser.feed(sdk3, final=True) == []
    assert parser.stats.packets_damaged == 1 and parser.damage_reasons["version"] == 1
    with pytest.raises(ValueError, match=r"'2\.x'"):
        UartPacketParser(dialect="2")


def test_damaged_sdk2_stream_is_counted_and_flagged() -> None:
    """Like the other dialects: a cut-short packet and a header with a bad length are counted as
    damaged and the rest come through, with the lost frame numbers counted. Stray bytes after a
    packet: with points, nothing pins the point count of a Q-format packet (no side info), so it
    is dropped as damaged (as in SDK 1.x); without points, the fixed-size stats TLV pins the walk,
    and the frame comes through with that last TLV dropped and flagged."""
    empty = np.zeros(0, dtype=POINT_DTYPE)
    packets = [
        _encode(k, empty if k == 7 else _points(3 + k % 4, k), stats=(k,) * 6) for k in range(1, 9)
    ]
    wire = list(packets)
    wire[2] = packets[2][: len(packets[2]) // 2]  # cut short: the next magic word starts inside
    bad = bytearray(packets[4])
    bad[12] ^= 0x01  # total length no longer a multiple of 32
    wire[4] = bytes(bad)
    wire[5] = packets[5] + b"\x55\xaa\x00"  # stray bytes after a packet with points
    wire[6] = packets[6] + b"\x55\xaa\x00"  # ... and after one without
    parser = UartPacketParser.for_config(_rc())
    frames = []
    stream = b"".join(wire)
    for i in range(0, len(stream), 97):
        frames += parser.feed(stream[i : i + 97], timestamp=0.0)
    frames += parser.flush()
    assert [f.frame_number for f in frames] == [1, 2, 4, 7, 8]
    st = parser.stats
    assert st.packets_damaged == 3 and st.frames_lost == 3 and st.frames_flagged == 1
    assert dict(parser.damage_reasons) == {"truncated": 1, "length": 1, "unpinned points": 1}
    (flagged,) = [f for f in frames if f.flags]
    assert flagged.frame_number == 7 and flagged.flags == {"last_tlv_dropped": 6}
    assert flagged.stats is None and len(flagged.points) == 0
    for f in frames:
        if f.frame_number != 7:
            assert len(f.points) == 3 + f.frame_number % 4 and f.stats["active_frame_cpu_load_pct"]
    assert st.bytes_received == parser.bytes_accepted + st.bytes_skipped + parser.buffered


def test_xwr1642_target_comes_back_through_the_uart_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Physics through the whole SDK 2.x UART path: a point target simulated at 2.00 m and
    +1.0 m/s on the xWR1642BOOST profile -> the demo's packets (``python -m sim.radar.point_targets
    --out x.dat``) -> ``mmfm record --source replay`` -> replay -> 2.00 m and +1.0 m/s, within one
    bin."""
    rc = _rc()
    c = rc.chirp
    assert rc.dialect == "2.x" and rc.demo.send_points
    dump = tmp_path / "xwr1642.dat"
    args = ["--cfg", PROFILE, "--target", "2.00,1.0,15,0,200", "--frames", "3", "--noise", "5"]
    assert point_targets_main([*args, "--out", str(dump)]) == 0
    assert "3 frames of SDK 2.x UART packets" in capsys.readouterr().out
    assert sdk_major(struct.unpack_from("<I", dump.read_bytes(), 8)[0]) == 2
    out = tmp_path / "rec"
    args = ["record", "--source", "replay", "--input", str(dump), "--cfg", PROFILE]
    assert main([*args, "--out", str(out)]) == 0, capsys.readouterr().err
    assert "recorded 3 frames" in capsys.readouterr().out
    with ReplaySource(out) as src:
        back = list(src.frames())
    assert [f.frame_number for f in back] == [1, 2, 3]
    first = back[0].points  # frame 1 starts at t = 0, where the target is at 2.00 m
    assert first.size
    p = first[0]  # the strongest (the demo sends the points in the chain's order)
    r = math.sqrt(float(p["x"]) ** 2 + float(p["y"]) ** 2 + float(p["z"]) ** 2)
    assert abs(r - 2.00) <= c.range_bin_m
    assert abs(float(p["v"]) - 1.0) <= c.velocity_bin_mps
    assert abs(math.degrees(math.atan2(float(p["x"]), float(p["y"]))) - 15.0) <= 3.0
    for f in back:  # every frame: the target, moving away at 1 m/s
        r_f = np.linalg.norm(np.stack([f.points[k] for k in "xyz"], 1), axis=1)
        t_mid = (f.frame_number - 1) * c.frame_period_s + c.frame_active_time_s / 2
        k = int(np.argmin(np.abs(r_f - (2.00 + t_mid))))
        assert abs(r_f[k] - (2.00 + t_mid)) <= c.range_bin_m
        assert abs(float(f.points["v"][k]) - 1.0) <= c.velocity_bin_mps


def test_record_an_xwr1642_over_serial_then_replay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``mmfm record --source serial`` against the xWR1642BOOST fake on a pty: its SDK 2.x .cfg goes
    over the CLI port, the SDK 2.x bytes are kept as they came, and replay decodes them (pinned to
    the recording's 2.x .cfg) to the points that were sent, within the Q-format and Doppler bins."""
    c = _rc().chirp

    def cloud(k: int) -> np.ndarray:
        return _points(2 + k % 3, k)

    out = tmp_path / "rec"
    with FakeUartRadar(cloud, board="IWR1642BOOST", frame_period_s=0.02) as fake:
        code = main(
            [
                "record", "--source", "serial", "--cfg", PROFILE,
                "--cli-port", fake.cli_path, "--data-port", fake.data_path,
                "--out", str(out), "--frames", "6",
            ]
        )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    meta = json.loads((out / "meta.json").read_text())
    assert meta["kind"] == "uart" and meta["board"] == "IWR1642BOOST" and meta["frames"] == 6
    assert meta["stats"]["packets_damaged"] <= 1  # the packet the capture stopped in, if any
    assert sdk_major(struct.unpack_from("<I", (out / "uart.dat").read_bytes(), 8)[0]) == 2
    with ReplaySource(out) as src:
        back = list(src.frames())
    assert len(back) >= 6
    q = sdk_q_format(c.range_bin_m)
    for f in back:
        want = cloud(f.frame_number)
        for k in "xyz":
            np.testing.assert_allclose(f.points[k], want[k], atol=0.5 / 2**q + 1e-6)
        assert np.all(np.abs(f.points["v"] - want["v"]) <= c.velocity_bin_mps / 2 + 1e-6)
