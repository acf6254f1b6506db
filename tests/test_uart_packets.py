"""UART packet encoder and incremental parser: layouts, the reference vector, the damaged real log."""

from __future__ import annotations

import ast
import json
import re
import struct

import numpy as np
import pytest
from conftest import require_shared

from runtime.frames import POINT_DTYPE
from runtime.sources.uart_encoder import encode_packet
from runtime.sources.uart_parser import UartPacketParser
from runtime.sources.uart_tlv import (
    HEADER_1X_BYTES,
    HEADER_3X_BYTES,
    MAGIC,
    STATS_FIELDS,
    TEMPERATURE_FIELDS,
)

PLATFORM_1843 = 0xA1843


def _points(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    p = np.zeros(n, dtype=POINT_DTYPE)
    p["x"] = rng.uniform(-4, 4, n)
    p["y"] = rng.uniform(0.2, 8, n)
    p["z"] = rng.uniform(-1, 2, n)
    p["v"] = rng.uniform(-3, 3, n)
    p["snr"] = np.round(rng.uniform(5, 40, n), 1)
    p["noise"] = np.round(rng.uniform(0, 20, n), 1)
    return p


def _xyzv(points: np.ndarray) -> np.ndarray:
    return np.stack([points[k] for k in ("x", "y", "z", "v")], axis=1).astype(np.float32)


def _assert_bytes_accounted(p: UartPacketParser) -> None:
    st = p.stats
    assert st.bytes_received == p.bytes_accepted + st.bytes_skipped + p.buffered


# ---------------------------------------------------------------------- layouts
def test_sdk3_header_layout_and_padding() -> None:
    pts = _points(3)
    pkt = encode_packet(7, pts, platform=PLATFORM_1843, cpu_cycles=1234, stats=(1, 2, 3, 4, 5, 6))
    assert pkt[:8] == MAGIC
    version, total, platform, frame, cycles, nobj, ntlv, subframe = struct.unpack_from(
        "<8I", pkt, 8
    )
    assert (version, total, platform, frame, cycles, nobj, ntlv, subframe) == (
        0x03050004,
        len(pkt),
        PLATFORM_1843,
        7,
        1234,
        3,
        3,
        0,
    )
    assert len(pkt) % 32 == 0
    # TLV 1 right after the 40-byte header: type, payload length (header excluded), float32 x,y,z,v
    t, n = struct.unpack_from("<2I", pkt, HEADER_3X_BYTES)
    assert (t, n) == (1, 16 * 3)
    first = struct.unpack_from("<4f", pkt, HEADER_3X_BYTES + 8)
    assert np.array_equal(np.float32(first), _xyzv(pts)[0])
    # TLV 7 next: int16 snr, noise in 0.1 dB
    t, n = struct.unpack_from("<2I", pkt, HEADER_3X_BYTES + 8 + 48)
    assert (t, n) == (7, 12)
    snr, noise = struct.unpack_from("<2h", pkt, HEADER_3X_BYTES + 16 + 48)
    assert (snr, noise) == (round(pts["snr"][0] * 10), round(pts["noise"][0] * 10))
    # then stats (24 B); content 40 + 56 + 20 + 32 = 148 B, padded to 160
    t, n = struct.unpack_from("<2I", pkt, HEADER_3X_BYTES + 16 + 48 + 12)
    assert (t, n) == (6, 24)
    assert len(pkt) == 160


def test_round_trip_every_tlv_sdk3() -> None:
    pts = _points(20, seed=1)
    nrb, nvirt, ndop = 64, 8, 16
    rng = np.random.default_rng(2)
    rp = rng.integers(0, 65535, nrb).astype(np.uint16)
    npf = rng.integers(0, 65535, nrb).astype(np.uint16)
    az = (
        rng.integers(-500, 500, (nrb, nvirt)) + 1j * rng.integers(-500, 500, (nrb, nvirt))
    ).astype(np.complex64)
    azel = (rng.integers(-500, 500, (nrb, 12)) + 1j * rng.integers(-500, 500, (nrb, 12))).astype(
        np.complex64
    )
    rd = rng.integers(0, 65535, (nrb, ndop)).astype(np.uint16)
    temp = (1, 12345, 40, 41, 42, 43, 50, 51, 52, 45, 46, 47)
    pkt = encode_packet(
        99,
        pts,
        platform=PLATFORM_1843,
        subframe=2,
        range_profile=rp,
        noise_profile=npf,
        azimuth_heatmap=az,
        range_doppler_heatmap=rd,
        azimuth_elevation_heatmap=azel,
        stats=(1500, 300, 40000, 10, 35, 12),
        temperature=temp,
    )
    parser = UartPacketParser(num_range_bins=nrb, platform=PLATFORM_1843, dialect="3.x")
    (f,) = parser.feed(pkt, timestamp=5.0, final=True)
    assert (f.frame_number, f.subframe, f.timestamp, f.platform) == (99, 2, 5.0, PLATFORM_1843)
    assert np.array_equal(_xyzv(f.points), _xyzv(pts))
    assert np.allclose(f.points["snr"], pts["snr"], atol=0.051)
    assert np.allclose(f.points["noise"], pts["noise"], atol=0.051)
    assert np.array_equal(f.range_profile, rp) and np.array_equal(f.noise_profile, npf)
    assert np.array_equal(f.azimuth_heatmap, az)
    assert np.array_equal(f.azimuth_elevation_heatmap, azel)
    assert np.array_equal(f.range_doppler_heatmap, rd)
    assert f.stats == dict(zip(STATS_FIELDS, (1500, 300, 40000, 10, 35, 12), strict=True))
    assert f.temperature == dict(zip(TEMPERATURE_FIELDS, temp, strict=True))
    assert f.flags == {}
    assert parser.stats.packets == 1 and parser.stats.packets_damaged == 0


def test_points_without_side_info_have_nan_snr() -> None:
    pts = _points(4)
    (f,) = UartPacketParser().feed(
        encode_packet(1, pts, platform=PLATFORM_1843, side_info=False), final=True
    )
    assert np.array_equal(_xyzv(f.points), _xyzv(pts))
    assert np.isnan(f.points["snr"]).all() and np.isnan(f.points["noise"]).all()


def test_zero_points_frame_has_no_points_tlv() -> None:
    pkt = encode_packet(3, np.zeros(0, POINT_DTYPE), platform=PLATFORM_1843, stats=(0,) * 6)
    assert struct.unpack_from("<I", pkt, 32)[0] == 1  # only the stats TLV
    (f,) = UartPacketParser().feed(pkt, final=True)
    assert len(f.points) == 0 and f.stats is not None


def test_sdk1_q_format_round_trip() -> None:
    pts = _points(6, seed=3)
    bin_mps = 0.1
    pkt = encode_packet(
        4, pts, platform=0xA1443, dialect="1.x", q_format=9, doppler_bin_mps=bin_mps, stats=(0,) * 6
    )
    assert struct.unpack_from("<I", pkt, 8)[0] >> 24 == 1
    t, n = struct.unpack_from("<2I", pkt, HEADER_1X_BYTES)  # 36-byte header, no subframe
    assert (t, n) == (1, 4 + 12 * 6)
    assert struct.unpack_from("<2H", pkt, HEADER_1X_BYTES + 8) == (6, 9)
    (f,) = UartPacketParser(doppler_bin_mps=bin_mps).feed(pkt, final=True)
    q = 1 / 512
    for k in ("x", "y", "z"):
        assert np.allclose(f.points[k], pts[k], atol=q / 2 + 1e-7)
    assert np.allclose(f.points["v"], np.round(pts["v"] / bin_mps) * bin_mps, atol=1e-5)
    assert np.isnan(f.points["snr"]).all()
    assert np.array_equal(f.extras["doppler_idx"], np.round(pts["v"] / bin_mps).astype(np.int16))
    # the 1.x dialect refuses 3.x packets and vice versa
    assert UartPacketParser(dialect="3.x").feed(pkt, final=True) == []
    assert (
        UartPacketParser(dialect="1.x").feed(
            encode_packet(1, pts, platform=PLATFORM_1843), final=True
        )
        == []
    )


def test_compressed_point_cloud_1020() -> None:
    units = (0.01, 0.01, 0.05, 0.00025, 0.1)  # [rad, rad, m/s, m, linear] per LSB
    pts = _points(10, seed=4)
    pts["snr"] = np.clip(pts["snr"], 5, 35)  # 65535 x 0.1 = 38 dB is the largest SNR it can carry
    pkt = encode_packet(8, pts, platform=0xA6843, compressed_units=units)
    t, n = struct.unpack_from("<2I", pkt, HEADER_3X_BYTES)
    assert (t, n) == (1020, 20 + 8 * 10)
    (f,) = UartPacketParser().feed(pkt, final=True)
    r = np.sqrt(pts["x"] ** 2 + pts["y"] ** 2 + pts["z"] ** 2)
    r_got = np.sqrt(f.points["x"] ** 2 + f.points["y"] ** 2 + f.points["z"] ** 2)
    assert np.allclose(r_got, r, atol=units[3])
    # azimuth and elevation quantised to 0.01 rad: positions within r * 0.01
    assert np.all(np.abs(f.points["x"] - pts["x"]) <= r * 0.011 + 1e-3)
    assert np.all(np.abs(f.points["z"] - pts["z"]) <= r * 0.011 + 1e-3)
    assert np.allclose(f.points["v"], pts["v"], atol=units[2] / 2 + 1e-6)
    lin_got, lin_want = 10 ** (f.points["snr"] / 10), 10 ** (pts["snr"] / 10)
    assert np.allclose(lin_got, lin_want, atol=units[4] / 2 + 1e-3)


# ---------------------------------------------------------------------- robustness
def test_resync_at_every_offset_and_chunking() -> None:
    packets = [
        encode_packet(k, _points(k % 5, seed=k), platform=PLATFORM_1843) for k in range(1, 8)
    ]
    stream = b"".join(packets)
    for junk in (b"", b"\x02", MAGIC[:7], bytes(range(37))):
        parser = UartPacketParser()
        got = []
        for i in range(0, len(junk + stream), 13):
            got += parser.feed((junk + stream)[i : i + 13])
        got += parser.flush()
        assert [f.frame_number for f in got] == list(range(1, 8))
        assert parser.stats.bytes_skipped == len(junk)
        _assert_bytes_accounted(parser)


def test_cut_short_packet_next_one_recovered_and_gap_counted() -> None:
    a = encode_packet(1, _points(5), platform=PLATFORM_1843)
    b = encode_packet(2, _points(6, 1), platform=PLATFORM_1843)
    c = encode_packet(3, _points(7, 2), platform=PLATFORM_1843)
    e = encode_packet(5, _points(2, 3), platform=PLATFORM_1843)
    parser = UartPacketParser()
    got = parser.feed(a + b[:100] + c + e, final=True)
    assert [f.frame_number for f in got] == [1, 3, 5]
    st = parser.stats
    assert (st.packets, st.packets_damaged, st.frames_lost, st.bytes_skipped) == (3, 1, 2, 100)
    _assert_bytes_accounted(parser)


@pytest.mark.parametrize("cut", [10, 100, -1])
def test_partial_packet_at_the_end_of_the_stream_is_counted_as_damaged(cut: int) -> None:
    """A dump that ends inside a packet (header only, inside the TLVs, one byte short): the cut-off
    packet is damage once the stream has ended (flush), not before: a pause is no end."""
    a = encode_packet(1, _points(5), platform=PLATFORM_1843)
    b = encode_packet(2, _points(6, 1), platform=PLATFORM_1843)
    tail = b[:cut]
    parser = UartPacketParser()
    got = parser.feed(a + tail, final=True)  # a pause: the rest of b may still come
    assert [f.frame_number for f in got] == [1]
    assert parser.stats.packets_damaged == 0 and parser.buffered == len(tail)
    assert parser.flush() == []
    st = parser.stats
    assert (st.packets, st.packets_damaged, st.bytes_skipped) == (1, 1, len(tail))
    assert parser.damage_reasons["truncated"] == 1 and parser.buffered == 0
    _assert_bytes_accounted(parser)


def test_a_stream_ending_in_part_of_a_magic_word_is_no_packet() -> None:
    parser = UartPacketParser()
    got = parser.feed(encode_packet(1, _points(5), platform=PLATFORM_1843) + MAGIC[:5])
    got += parser.flush()
    assert [f.frame_number for f in got] == [1]
    st = parser.stats
    assert (st.packets_damaged, st.bytes_skipped, parser.buffered) == (0, 5, 0)
    _assert_bytes_accounted(parser)


def test_garbage_is_bounded_and_never_emits() -> None:
    rng = np.random.default_rng(0)
    parser = UartPacketParser(max_packet_bytes=1 << 16)
    peak = 0
    for _ in range(200):
        chunk = rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()
        if rng.random() < 0.3:  # headers claiming big packets
            chunk = MAGIC + struct.pack("<2I", 0x03050004, 1 << 16) + chunk
        assert parser.feed(chunk) == []
        peak = max(peak, parser.buffered)
    assert peak <= (1 << 16) + 4096
    _assert_bytes_accounted(parser)


def test_implausible_points_are_damage() -> None:
    pts = _points(3)
    pts["x"][1] = np.float32(3e30)
    parser = UartPacketParser()
    assert parser.feed(encode_packet(1, pts, platform=PLATFORM_1843), final=True) == []
    assert parser.stats.packets_damaged == 1


def test_feed_accepts_any_bytes_like() -> None:
    pkt = encode_packet(1, _points(2), platform=PLATFORM_1843)
    for data in (pkt, bytearray(pkt), memoryview(pkt)):
        assert len(UartPacketParser().feed(data, final=True)) == 1


# ---------------------------------------------------------------------- reference vector
def _vector() -> tuple[bytes, dict]:
    path = require_shared("vectors", "uart_xwr18xx_sdk3.dat")
    truth = json.loads(path.with_suffix(".truth.json").read_text())
    return path.read_bytes(), truth


def _check_vector(frames: list, truth: dict) -> None:
    got = {}
    for f in frames:
        assert f.frame_number not in got, "frame emitted twice"
        got[f.frame_number] = f
    for damaged in truth["damaged"]:
        assert damaged not in got, f"points emitted from damaged frame {damaged}"
    assert set(got) == {int(k) for k in truth["frames"]}
    for key, want in truth["frames"].items():
        f = got[int(key)]
        want = np.asarray(want, dtype=np.float32).reshape(-1, 4)
        assert np.array_equal(_xyzv(f.points), want), f"frame {key}"
        assert np.isfinite(f.points["snr"]).all()


@pytest.mark.realdata
def test_reference_vector_whole() -> None:
    data, truth = _vector()
    parser = UartPacketParser(platform=PLATFORM_1843, dialect="3.x")
    frames = parser.feed(data, final=True)
    _check_vector(frames, truth)
    st = parser.stats
    assert st.bytes_received == truth["bytes"]
    assert st.packets == st.frames == truth["whole"]
    assert st.packets_damaged == len(truth["damaged"])
    assert st.frames_lost == len(truth["damaged"])  # frame numbers are 1..60 with two missing
    assert 0 < st.bytes_skipped < len(data) // 10
    assert parser.buffered == 0
    _assert_bytes_accounted(parser)


@pytest.mark.realdata
def test_reference_vector_random_chunks() -> None:
    data, truth = _vector()
    rng = np.random.default_rng(1234)
    whole = UartPacketParser()
    whole.feed(data, final=True)
    for trial in range(6):
        parser = UartPacketParser()
        frames = []
        i = 0
        hi = 2 if trial == 0 else 4097  # one run byte by byte
        while i < len(data):
            n = int(rng.integers(1, hi))
            frames += parser.feed(data[i : i + n])
            i += n
        frames += parser.flush()
        _check_vector(frames, truth)
        assert parser.stats == whole.stats
        _assert_bytes_accounted(parser)


# ---------------------------------------------------------------------- damaged real recording
def _debug_log_records(raw: bytes) -> list[tuple[dict, bytes]]:
    """(header dict, payload) per record of the xwr68xxisk recorder's debug log."""
    records = []
    for part in raw.split(b"FRAME_START\n")[1:]:
        m = re.match(rb"HEADER: (\{.*?\})\nPAYLOAD_LEN: (\d+)\n", part, re.S)
        assert m, "unexpected record layout"
        header = ast.literal_eval(m.group(1).decode())
        n = int(m.group(2))
        records.append((header, part[m.end() : m.end() + n]))
    return records


def _packet_from_record(h: dict, payload: bytes) -> bytes:
    fields = (
        h["version"],
        h["total_packet_len"],
        h["platform"],
        h["frame_number"],
        h["time_cpu_cycles"],
        h["num_detected_obj"],
        h["num_tlvs"],
        h["subframe_number"],
    )
    return MAGIC + struct.pack("<8I", *fields) + payload


def _points_tlv_intact(h: dict, payload: bytes) -> bool:
    """Independent check: TLV 1 has the right size and the side-info TLV follows right after it."""
    n = h["num_detected_obj"]
    if len(payload) < 16 + 16 * n:
        return False
    t1, l1 = struct.unpack_from("<2I", payload, 0)
    t7, l7 = struct.unpack_from("<2I", payload, 8 + 16 * n)
    return (t1, l1, t7, l7) == (1, 16 * n, 7, 4 * n) and MAGIC not in payload[: 8 + 16 * n]


@pytest.mark.realdata
def test_damaged_xwr6843_recording() -> None:
    path = require_shared("realdata", "xwr6843-uart-damaged", "raw_radar_data_20250808_162518.bin")
    raw = path.read_bytes()
    records = _debug_log_records(raw)
    assert len(records) == 28
    stream = b"".join(_packet_from_record(h, p) for h, p in records)
    by_frame = {h["frame_number"]: (h, p) for h, p in records}
    intact = {fn for fn, (h, p) in by_frame.items() if _points_tlv_intact(h, p)}
    parser = UartPacketParser(platform=0xA6843)
    frames = parser.feed(stream, final=True)
    got = {f.frame_number: f for f in frames}
    # every intact point TLV is recovered with its exact points ...
    for fn in intact:
        h, payload = by_frame[fn]
        want = np.frombuffer(payload, "<f4", 4 * h["num_detected_obj"], 8).reshape(-1, 4)
        assert np.array_equal(_xyzv(got[fn].points), want)
    # ... and nothing else: in this log every record lost 20-77 bytes inside TLV 1 (the recorder
    # dropped bytes, then read on into the next packet), so no record is intact
    assert set(got) == set(intact)
    damaged = len(records) - len(intact)
    assert parser.stats.packets_damaged >= damaged
    for f in frames:
        assert np.isfinite(_xyzv(f.points)).all()
        assert np.all(np.abs(_xyzv(f.points)) < 50)
    _assert_bytes_accounted(parser)
    # the log as it is (text lines around the binary packets): no exception, nothing invented
    as_is = UartPacketParser()
    for i in range(0, len(raw), 1000):
        for f in as_is.feed(raw[i : i + 1000]):
            assert f.frame_number in intact
    # every magic word in the log starts a damaged packet (the last one may still be waiting)
    assert 0 <= raw.count(MAGIC) - as_is.stats.packets_damaged <= 1
    _assert_bytes_accounted(as_is)


# ---------------------------------------------------------------------- layout check
def _splice_of_two_layouts() -> tuple[bytes, bytes, bytes, bytes, np.ndarray]:
    """(before, spliced, second, first, first's points): the splice ``benchmarks/fuzz_uart.py
    --seed 2`` found. ``first`` (3.x: points without side info, temperature) lost its tail and
    ``second`` (1.x: Q-format points, stats) its head, so that the second's stats TLV lands exactly
    where the first's temperature TLV began. The first's header then walks: its points TLV holds
    one of its own records and 16 bytes of the second's Q-format records (read as float32), the
    stats TLV fits, and the packet is 8 bytes longer than its header says (the second's padding,
    then the second packet). ``before`` is a whole packet of the first's layout."""
    pa = _points(2, seed=21)
    pb = _points(2, seed=22)
    for k in ("x", "y", "z"):  # positive int16 halves: finite float32 when misread
        pb[k] = np.abs(pb[k]) + 0.1
    temp = (1,) * 12
    before = encode_packet(
        39, _points(3, seed=23), platform=0xA6843, side_info=False, temperature=temp
    )
    first = encode_packet(40, pa, platform=0xA6843, side_info=False, temperature=temp)
    second = encode_packet(41, pb, platform=0xA1443, dialect="1.x", stats=(2,) * 6)
    at = HEADER_3X_BYTES + 8 + 16  # the first keeps its header, TLV 1 header and one record
    temp_at = HEADER_3X_BYTES + 8 + 16 * 2  # the first's temperature TLV header
    stats_at = HEADER_1X_BYTES + 8 + 4 + 12 * 2  # the second's stats TLV header
    cut = stats_at - (temp_at - at)
    assert 0 < cut < stats_at
    return before, first[:at] + second[cut:], second, first, pa


def test_splice_of_two_layouts_walks_alone() -> None:
    """The construction reproduces the fuzz failure: read alone, the spliced bytes are a
    structurally valid packet whose points mix the two packets."""
    _, spliced, _, first, pa = _splice_of_two_layouts()
    length = struct.unpack_from("<I", first, 12)[0]
    assert len(spliced) - length == 8  # not confirmed by a magic word: stray bytes behind it
    (f,) = UartPacketParser().feed(spliced[:length], final=True)
    assert f.frame_number == 40 and len(f.points) == 2
    assert np.array_equal(_xyzv(f.points)[0], _xyzv(pa)[0])
    assert not np.array_equal(_xyzv(f.points)[1], _xyzv(pa)[1])  # 16 bytes of the second


def _pinned_splice_of_two_layouts() -> tuple[bytes, bytes, bytes, bytes, np.ndarray]:
    """Like :func:`_splice_of_two_layouts`, but both packets send side info (TLV 7 pins the point
    count) and have 3 points: ``first`` (points, side info, temperature) keeps its first record,
    ``second`` (points, side info, stats, temperature) gives the rest from the same offset. The
    walk ends on the second's stats TLV, 32 bytes before the spliced bytes end."""
    pa, pb = _points(3, seed=31), _points(3, seed=32)
    temp = (1,) * 12
    before = encode_packet(39, _points(5, seed=33), platform=PLATFORM_1843, temperature=temp)
    first = encode_packet(40, pa, platform=PLATFORM_1843, temperature=temp)
    second = encode_packet(41, pb, platform=PLATFORM_1843, stats=(3,) * 6, temperature=temp)
    at = HEADER_3X_BYTES + 8 + 16
    return before, first[:at] + second[at:], second, first, pa


SPLICES = {"unpinned": _splice_of_two_layouts, "pinned": _pinned_splice_of_two_layouts}


def test_pinned_splice_of_two_layouts_walks_alone() -> None:
    _, spliced, _, first, pa = _pinned_splice_of_two_layouts()
    length = struct.unpack_from("<I", first, 12)[0]
    assert len(spliced) - length == 32
    (f,) = UartPacketParser().feed(spliced[:length], final=True)
    assert f.frame_number == 40 and len(f.points) == 3 and f.stats is not None
    assert np.array_equal(_xyzv(f.points)[0], _xyzv(pa)[0])
    assert not np.array_equal(_xyzv(f.points)[1:], _xyzv(pa)[1:])


@pytest.mark.parametrize("kind", sorted(SPLICES))
@pytest.mark.parametrize("with_before", [True, False])
def test_splice_of_two_layouts_emits_nothing(kind: str, with_before: bool) -> None:
    """Followed by stray bytes, the spliced packet is dropped: without side info its points are
    not pinned (``unpinned points``); with side info its layout differs from the last packet
    confirmed by a magic word (``before``: temperature last, not stats) or, with no confirmed
    packet yet, from the next confirmed one (``second``), for which it waits (``layout``)."""
    before, spliced, second, _, _ = SPLICES[kind]()
    stream = (before if with_before else b"") + spliced + second
    for step in (len(stream), 1, 37):
        parser = UartPacketParser()
        frames = []
        for i in range(0, len(stream), step):
            frames += parser.feed(stream[i : i + step])
        frames += parser.flush()
        assert [f.frame_number for f in frames] == ([39, 41] if with_before else [41])
        reason = "layout" if kind == "pinned" else "unpinned points"
        assert parser.damage_reasons[reason] == 1 and parser.stats.packets_damaged == 1
        assert parser.pending == 0 and parser.buffered == 0
        _assert_bytes_accounted(parser)


def test_unconfirmed_packet_waits_for_a_confirmed_layout() -> None:
    """An intact packet followed by stray bytes at the start of a stream (no layout known yet) is
    held until the next confirmed packet shows the same layout, then released in order; the
    layout ignores the point count (a frame without points included)."""
    pkts = [
        encode_packet(k, _points(k % 3 * 4, seed=k), platform=PLATFORM_1843, stats=(k,) * 6)
        for k in range(1, 5)
    ]
    junk = b"\x02\x01\x04" + bytes(range(20))
    parser = UartPacketParser()
    assert parser.feed(pkts[0] + junk + pkts[1] + junk) == []
    assert parser.pending == 2
    frames = parser.feed(pkts[2] + pkts[3], final=True)
    assert [f.frame_number for f in frames] == [1, 2, 3, 4]
    assert [f.flags for f in frames] == [{"last_tlv_dropped": 6}] * 2 + [{}, {}]
    assert frames[0].stats is None and frames[2].stats is not None
    assert parser.stats.packets_damaged == 0 and parser.buffered == 0
    assert parser.stats.bytes_skipped == 2 * len(junk)
    _assert_bytes_accounted(parser)


def test_unconfirmed_packet_of_another_layout_is_dropped() -> None:
    """Once a layout is confirmed, an unconfirmed packet with other fixed-size TLVs (here an added
    range profile) is damage; a confirmed one is a new layout (a new configuration)."""
    rp = np.arange(64, dtype=np.uint16)
    a = encode_packet(1, _points(3), platform=PLATFORM_1843, stats=(0,) * 6)
    b = encode_packet(2, _points(3), platform=PLATFORM_1843, range_profile=rp, stats=(0,) * 6)
    c = encode_packet(3, _points(2), platform=PLATFORM_1843, range_profile=rp, stats=(0,) * 6)
    d = encode_packet(4, _points(1), platform=PLATFORM_1843, range_profile=rp, stats=(0,) * 6)
    junk = bytes(range(1, 30))
    parser = UartPacketParser()
    frames = parser.feed(a + b + junk + c + d + junk, final=True)
    # b: stray bytes behind it, layout not a's; c: confirmed by d's magic word, the new layout;
    # d: stray bytes behind it, c's layout
    assert [f.frame_number for f in frames] == [1, 3, 4]
    assert frames[2].flags == {"last_tlv_dropped": 6}
    assert parser.damage_reasons["layout"] == 1
    _assert_bytes_accounted(parser)


def test_unconfirmed_packet_without_side_info_is_dropped() -> None:
    """Without TLV 7 nothing after the points pins their count: a packet followed by stray bytes
    is indistinguishable from a splice of two packets of its layout (16 B per point apart), so it
    is dropped even when intact."""
    temp = (1,) * 12
    a, b, c = (
        encode_packet(
            k, _points(k + 2, seed=k), platform=PLATFORM_1843, side_info=False, temperature=temp
        )
        for k in (1, 2, 3)
    )
    parser = UartPacketParser()
    frames = parser.feed(a + b + bytes(range(1, 20)) + c, final=True)
    assert [f.frame_number for f in frames] == [1, 3]
    assert parser.damage_reasons["unpinned points"] == 1
    _assert_bytes_accounted(parser)
