"""Fuzzing the UART parser (default tier, bounded): damaged streams never raise, never hang, never
emit a point that was not sent in an intact packet, and never lose an intact packet.

Each stream keeps one TLV layout, as a real run does (it follows ``guiMonitor``); streams that
change layout every packet must still never emit a foreign point, but may lose an intact packet
whose end no magic word confirms (its layout cannot be checked: see the parser's damage policy).
In either, an intact packet with points but no side info followed by stray bytes is dropped
(``FuzzCase.must_recover`` wants it, but nothing pins its point count against a splice).

The long run (>= 1,000,000 mutated packets) is ``benchmarks/fuzz_uart.py``.
"""

from __future__ import annotations

import struct

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtime.fakes.uart_radar import MUTATIONS, FuzzCase, make_fuzz_case
from runtime.frames import POINT_DTYPE
from runtime.sources.uart_encoder import encode_packet
from runtime.sources.uart_parser import UartPacketParser
from runtime.sources.uart_tlv import HEADER_1X_BYTES, HEADER_3X_BYTES, MAGIC


def _points(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    p = np.zeros(n, dtype=POINT_DTYPE)
    for k, (lo, hi) in zip("xyzv", ((-5, 5), (0.1, 9), (-2, 3), (-4, 4)), strict=True):
        p[k] = rng.uniform(lo, hi, n)
    p["snr"] = rng.uniform(5, 30, n)
    p["noise"] = rng.uniform(0, 10, n)
    return p


FLAVOURS = 7


def _pool() -> list[bytes]:
    """Packets of every flavour the parser knows (flavour ``k % FLAVOURS``), frame numbers 1..N."""
    out = []
    rp = np.arange(64, dtype=np.uint16) * 100
    for k in range(1, 9 * FLAVOURS + 1):
        n = (k * 7) % 23
        pts = _points(n, k)
        flavour = k % FLAVOURS
        if flavour == 0:
            pkt = encode_packet(k, pts, platform=0xA1843, range_profile=rp, stats=(k,) * 6)
        elif flavour == 1:
            pkt = encode_packet(k, pts, platform=0xA6843, side_info=False, temperature=(1,) * 12)
        elif flavour == 2:
            pkt = encode_packet(k, pts, platform=0xA1443, dialect="1.x", stats=(2,) * 6)
        elif flavour == 3:
            pkt = encode_packet(
                k, pts, platform=0xA6843, compressed_units=(0.01, 0.01, 0.05, 0.001, 0.1)
            )
        elif flavour == 4:
            pkt = encode_packet(k, pts, platform=0xA1843, noise_profile=rp, azimuth_heatmap=rp[:32])
        elif flavour == 5:  # SDK 2.x xWR16xx: Q-format points with indices, 0x0F padding
            pkt = encode_packet(
                k,
                pts,
                platform=0xA1642,
                dialect="2.x",
                range_profile=rp,
                stats=(k,) * 6,
                doppler_bin_mps=0.11,
                range_bin_m=0.05,
                peak_lsb_per_db=340.0,
            )
        else:
            pkt = encode_packet(k, pts, platform=0xA1843, stats=(0,) * 6)
        out.append(pkt)
    return out


POOL = _pool()


def _decoded(packet: bytes) -> np.ndarray:
    (f,) = UartPacketParser().feed(packet, final=True)
    return np.stack([f.points[k] for k in "xyzv"], axis=1).astype(np.float32)


EXPECTED = [_decoded(p) for p in POOL]


def test_pool_decodes_alone() -> None:
    assert len(EXPECTED) == len(POOL)


def _unpinned_unconfirmed(case: FuzzCase, i: int) -> bool:
    """Packet ``i`` is followed by stray bytes and has points without side info after them."""
    pkt = case.clean[i]
    end = case.offsets[i] + len(pkt)
    follow = case.stream[end : end + len(MAGIC)]
    if follow == MAGIC or MAGIC.startswith(follow):
        return False
    nobj, ntlv = struct.unpack_from("<2I", pkt, 28)
    off = HEADER_1X_BYTES if pkt[11] == 1 else HEADER_3X_BYTES
    types = []
    for _ in range(ntlv):
        t, n = struct.unpack_from("<2I", pkt, off)
        types.append(t)
        off += 8 + n
    return nobj > 0 and not (1 in types and 7 in types[types.index(1) :])


def _run(
    idx: list[int], seed: int, kind: str | None, damage: float, chunks: list[int]
) -> tuple[UartPacketParser, list[str]]:
    rng = np.random.default_rng(seed)
    case = make_fuzz_case([POOL[i] for i in idx], rng, damage=damage, kind=kind)
    parser = UartPacketParser()
    frames = []
    pos, c = 0, 0
    while pos < len(case.stream):
        n = chunks[c % len(chunks)]
        frames += parser.feed(case.stream[pos : pos + n])
        pos += n
        c += 1
    frames += parser.flush()
    assert parser.internal_errors == 0
    st_ = parser.stats
    assert st_.bytes_received == parser.bytes_accepted + st_.bytes_skipped + parser.buffered
    problems = case.problems(frames, [EXPECTED[i] for i in idx])
    return parser, [
        p
        for p in problems
        if not (p.startswith("intact packet") and _unpinned_unconfirmed(case, int(p.split()[2])))
    ]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    start=st.integers(0, len(POOL) - 1),
    count=st.integers(1, 6),
    seed=st.integers(0, 2**32 - 1),
    kind=st.sampled_from((None, *MUTATIONS)),
    damage=st.floats(0.2, 1.0),
    chunks=st.lists(st.integers(1, 4096), min_size=1, max_size=8),
)
def test_mutated_streams(
    start: int, count: int, seed: int, kind: str | None, damage: float, chunks: list[int]
) -> None:
    """One layout per stream: nothing invented, nothing intact lost."""
    idx = [(start + FLAVOURS * i) % len(POOL) for i in range(count)]
    _, problems = _run(idx, seed, kind, damage, chunks)
    assert not problems, problems


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    start=st.integers(0, len(POOL) - 1),
    count=st.integers(1, 6),
    seed=st.integers(0, 2**32 - 1),
    kind=st.sampled_from((None, "splice", *MUTATIONS)),
    damage=st.floats(0.2, 1.0),
    chunks=st.lists(st.integers(1, 4096), min_size=1, max_size=8),
)
def test_mutated_streams_mixed_layouts(
    start: int, count: int, seed: int, kind: str | None, damage: float, chunks: list[int]
) -> None:
    """The layout changes every packet (and splices join different layouts): still nothing
    invented; an intact packet whose end no magic word confirms may be lost."""
    idx = [(start + i) % len(POOL) for i in range(count)]
    _, problems = _run(idx, seed, kind, damage, chunks)
    invented = [p for p in problems if "match no sent packet" in p and ": 0 points" not in p]
    assert not invented, invented


@settings(max_examples=200, deadline=None)
@given(data=st.binary(min_size=0, max_size=3000), prefix=st.integers(0, 39))
def test_arbitrary_bytes_after_a_magic_word(data: bytes, prefix: int) -> None:
    """Random bytes, sometimes behind a real header prefix, emit nothing and never raise."""
    header = POOL[0][:prefix]
    parser = UartPacketParser()
    frames = parser.feed(header + data, final=True)
    assert parser.internal_errors == 0
    for f in frames:  # only possible if the random bytes happen to form a whole valid packet
        assert np.isfinite(np.stack([f.points[k] for k in "xyz"])).all()
