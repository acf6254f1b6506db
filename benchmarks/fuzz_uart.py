"""Long fuzz run of the UART packet parser: >= 1,000,000 mutated packets by default.

Streams of demo packets of every flavour the parser knows (SDK 3.x float points with side info,
range/noise profiles, heat maps, stats, temperature; SDK 1.x and SDK 2.x (xWR16xx) Q-format
points; the toolbox's compressed 1020 points; empty frames) are damaged the way a serial link does it (bit flips,
overwrites, insertions, deletions, truncations, splices of two packets; see
``runtime.fakes.uart_radar.mutate_packet``) and fed to one parser per stream in random chunk sizes
(1 B .. 4 KiB). Each stream keeps one TLV layout (one flavour), as a real run does: the layout
follows ``guiMonitor`` and cannot change without a new configuration. ``--mixed-layouts`` makes
every packet of a stream a different flavour (the splices then join different layouts): nothing
may be invented either, but an intact packet whose end no magic word confirms cannot be checked
against the stream's layout and may be lost (counted as intact lost; exit status 1). Counted:

* crashes: an exception escaped ``feed`` (or the parser counted an internal error);
* hangs: one ``feed`` call took longer than ``--feed-limit`` seconds;
* garbage points: points of an emitted frame that match no packet that was sent (beyond the
  records an in-place change touched, which no checksum-less format can detect);
* intact lost: an undamaged packet that should have come out and did not;
* unpinned dropped (reported, not a failure): an undamaged packet with points but no side info
  (TLV 7) followed by stray bytes (the next packet's head damaged). ``FuzzCase.must_recover``
  wants it, but nothing pins its point count: a splice of two packets of that layout looks the
  same (see the parser's damage policy), so the parser drops it;
* emptied frames (reported, not a failure): a damaged packet emitted as a frame without points
  (e.g. a flipped TLV type turned the points TLV into a valid-looking profile): no point invented.

Exit status 1 when any of them is non-zero.

How to run (from the repository root):

    .venv/bin/python benchmarks/fuzz_uart.py                  # 1,000,000 mutated packets
    .venv/bin/python benchmarks/fuzz_uart.py --packets 20000  # a quick run (seconds)
    .venv/bin/python benchmarks/fuzz_uart.py --mixed-layouts  # a new layout every packet
"""

from __future__ import annotations

import argparse
import struct
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from runtime.fakes.uart_radar import FuzzCase, make_fuzz_case
from runtime.frames import POINT_DTYPE
from runtime.sources.uart_encoder import encode_packet
from runtime.sources.uart_parser import UartPacketParser
from runtime.sources.uart_tlv import HEADER_1X_BYTES, HEADER_3X_BYTES, MAGIC


def unpinned_unconfirmed(case: FuzzCase, i: int) -> bool:
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


def _points(n: int, rng: np.random.Generator) -> np.ndarray:
    p = np.zeros(n, dtype=POINT_DTYPE)
    for k, (lo, hi) in zip("xyzv", ((-5, 5), (0.1, 9), (-2, 3), (-4, 4)), strict=True):
        p[k] = rng.uniform(lo, hi, n)
    p["snr"] = rng.uniform(5, 30, n)
    p["noise"] = rng.uniform(0, 10, n)
    return p


FLAVOURS = 9


def build_pool(size: int, seed: int) -> list[bytes]:
    """``size`` packets, frame numbers 1..size, cycling through the flavours (``k % FLAVOURS``)."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(1, size + 1):
        pts = _points(int(rng.integers(0, 40)), rng)
        rp = rng.integers(0, 65535, 128).astype(np.uint16)
        flavour = k % FLAVOURS
        if flavour == 0:
            pkt = encode_packet(k, pts, platform=0xA1843, range_profile=rp, stats=(k,) * 6)
        elif flavour == 1:
            pkt = encode_packet(k, pts, platform=0xA6843, side_info=False, temperature=(1,) * 12)
        elif flavour == 2:
            pkt = encode_packet(
                k,
                pts,
                platform=0xA1443,
                dialect="1.x",
                stats=(2,) * 6,
                doppler_bin_mps=0.05,
                range_bin_m=0.04,
            )
        elif flavour == 3:
            units = (0.01, 0.01, 0.05, 0.001, 0.1)
            pkt = encode_packet(k, pts, platform=0xA6843, compressed_units=units)
        elif flavour == 4:
            az = rng.integers(-99, 99, (32, 8)) + 1j * rng.integers(-99, 99, (32, 8))
            pkt = encode_packet(k, pts, platform=0xA1843, noise_profile=rp, azimuth_heatmap=az)
        elif flavour == 5:
            pkt = encode_packet(k, pts, platform=0xA1843, side_info=False)
        elif flavour == 6:
            rd = rng.integers(0, 9999, (32, 16))
            pkt = encode_packet(k, pts, platform=0xA6843, range_doppler_heatmap=rd, stats=(0,) * 6)
        elif flavour == 7:
            pkt = encode_packet(
                k,
                pts,
                platform=0xA1642,
                dialect="2.x",
                range_profile=rp,
                stats=(3,) * 6,
                doppler_bin_mps=0.11,
                range_bin_m=0.05,
                peak_lsb_per_db=340.0,
            )
        else:
            pkt = encode_packet(k, pts[:0], platform=0xA1843, stats=(0,) * 6)
        out.append(pkt)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--packets", type=int, default=1_000_000, help="mutated packets to feed")
    ap.add_argument("--stream", type=int, default=8, help="packets per stream")
    ap.add_argument("--damage", type=float, default=0.7, help="probability a packet is mutated")
    ap.add_argument("--feed-limit", type=float, default=1.0, help="seconds one feed may take")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--mixed-layouts",
        action="store_true",
        help="a different flavour (TLV layout) for every packet of a stream",
    )
    args = ap.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    pool = build_pool(32 * FLAVOURS, args.seed)  # a multiple of FLAVOURS: one layout per stream
    expected = []
    for pkt in pool:
        (f,) = UartPacketParser().feed(pkt, final=True)
        expected.append(np.stack([f.points[k] for k in "xyzv"], axis=1).astype(np.float32))

    mutated = streams = fed = crashes = hangs = garbage_frames = garbage_points = lost = 0
    emitted = emptied = unpinned = 0
    worst_feed = 0.0
    examples: list[str] = []
    t_start = time.perf_counter()
    next_report = t_start + 10.0
    while mutated < args.packets:
        start = int(rng.integers(len(pool)))
        step = 1 if args.mixed_layouts else FLAVOURS
        idx = [(start + step * i) % len(pool) for i in range(args.stream)]
        case = make_fuzz_case([pool[i] for i in idx], rng, damage=args.damage)
        mutated += len(case.damage)
        streams += 1
        fed += len(case.stream)
        parser = UartPacketParser()
        frames = []
        pos = 0
        try:
            while pos < len(case.stream):
                n = int(rng.integers(1, 4097))
                t0 = time.perf_counter()
                frames += parser.feed(case.stream[pos : pos + n])
                dt = time.perf_counter() - t0
                worst_feed = max(worst_feed, dt)
                if dt > args.feed_limit:
                    hangs += 1
                pos += n
            frames += parser.flush()
        except Exception as exc:  # what the fuzz run exists to catch
            crashes += 1
            if len(examples) < 5:
                examples.append(f"crash: {exc!r} (seed {args.seed}, stream {streams})")
            continue
        crashes += parser.internal_errors
        emitted += len(frames)
        for problem in case.problems(frames, [expected[i] for i in idx]):
            if "match no sent packet" in problem:
                npts = int(problem.split(": ")[1].split()[0])
                if npts == 0:
                    emptied += 1  # a damaged header hid the points TLV: no point invented
                    continue
                else:
                    garbage_frames += 1
                    garbage_points += npts
            elif unpinned_unconfirmed(case, int(problem.split()[2])):
                unpinned += 1
                continue
            else:
                lost += 1
            if len(examples) < 10:
                examples.append(f"{problem} (stream {streams}, damage {case.damage})")
        if time.perf_counter() > next_report:
            next_report += 10.0
            print(
                f"  ... {mutated:,} mutated packets, {time.perf_counter() - t_start:.0f} s",
                flush=True,
            )
    elapsed = time.perf_counter() - t_start
    print(f"UART parser fuzz run ({'mixed' if args.mixed_layouts else 'one'} layout per stream)")
    print(f"  mutated packets   {mutated:>12,}   (streams {streams:,}, {fed / 1e6:,.1f} MB fed)")
    print(f"  frames emitted    {emitted:>12,}")
    print(f"  crashes           {crashes:>12,}")
    print(
        f"  hangs (> {args.feed_limit:g} s)    {hangs:>12,}   (slowest feed {worst_feed * 1e3:.2f} ms)"
    )
    print(f"  garbage points    {garbage_points:>12,}   (in {garbage_frames:,} frames)")
    print(f"  intact lost       {lost:>12,}")
    print(f"  unpinned dropped  {unpinned:>12,}   (intact, stray bytes behind, no side info)")
    print(f"  emptied frames    {emptied:>12,}   (damaged header, points TLV not seen: no point)")
    print(f"  elapsed           {elapsed:>12.1f} s  ({mutated / elapsed:,.0f} mutated packets/s)")
    for line in examples:
        print("  example:", line)
    return 1 if (crashes or hangs or garbage_points or lost) else 0


if __name__ == "__main__":
    raise SystemExit(main())
