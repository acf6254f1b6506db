"""UART packet parser throughput against the data port's line rate.

A realistic stream: SDK 3.x packets with 100 points, side info, a 256-bin range profile and stats
(about 2.5 kB per frame, what ``iwr1843boost_presence`` sends in a busy room), fed in 4 KiB
chunks (what one serial read returns). Reported: the median parser throughput over several runs
[bytes/s], beside the 921600-baud line rate (8N1: 92,160 B/s) as a ratio. Target: >= 100x.

How to run (from the repository root):

    .venv/bin/python benchmarks/bench_uart.py               # 2000 frames x 7 runs
    .venv/bin/python benchmarks/bench_uart.py --frames 200  # quick
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from runtime.frames import POINT_DTYPE
from runtime.sources.uart_encoder import encode_packet
from runtime.sources.uart_parser import UartPacketParser

LINE_RATE_BPS = 921_600 / 10  # bytes/s on an 8N1 line at 921600 baud
TARGET_RATIO = 100.0


def build_stream(frames: int, points: int, range_bins: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    out = []
    for k in range(1, frames + 1):
        p = np.zeros(points, dtype=POINT_DTYPE)
        p["x"], p["y"] = rng.uniform(-4, 4, points), rng.uniform(0.3, 8, points)
        p["z"], p["v"] = rng.uniform(-1, 2, points), rng.uniform(-3, 3, points)
        p["snr"], p["noise"] = rng.uniform(5, 35, points), rng.uniform(0, 15, points)
        rp = rng.integers(2000, 9000, range_bins).astype(np.uint16)
        out.append(
            encode_packet(
                k, p, platform=0xA1843, range_profile=rp, stats=(1500, 300, 9e4, 10, 35, 12)
            )
        )
    return b"".join(out)


def run_once(stream: bytes, chunk: int) -> tuple[float, int]:
    parser = UartPacketParser(platform=0xA1843, dialect="3.x", num_range_bins=None)
    n = 0
    t0 = time.perf_counter()
    for i in range(0, len(stream), chunk):
        n += len(parser.feed(stream[i : i + chunk]))
    n += len(parser.flush())
    return time.perf_counter() - t0, n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=2000)
    ap.add_argument("--points", type=int, default=100)
    ap.add_argument("--range-bins", type=int, default=256)
    ap.add_argument("--chunk", type=int, default=4096, help="bytes per feed() call")
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args(argv)

    stream = build_stream(args.frames, args.points, args.range_bins)
    times = []
    for _ in range(args.runs):
        dt, n = run_once(stream, args.chunk)
        assert n == args.frames, f"parsed {n} of {args.frames} frames"
        times.append(dt)
    med = statistics.median(times)
    rate = len(stream) / med
    print("UART parser throughput")
    print(
        f"  stream          {args.frames} frames x {args.points} points + side info + "
        f"{args.range_bins}-bin range profile + stats = {len(stream) / args.frames:,.0f} B/frame"
    )
    print(f"  feed chunk      {args.chunk} B, median of {args.runs} runs")
    print(f"  parser          {rate:>14,.0f} B/s   ({args.frames / med:,.0f} frames/s)")
    print(f"  921600 baud     {LINE_RATE_BPS:>14,.0f} B/s   (reference: 8N1 line rate)")
    ratio = rate / LINE_RATE_BPS
    verdict = "ok" if ratio >= TARGET_RATIO else "BELOW TARGET"
    print(f"  ratio           {ratio:>14,.1f} x     (target >= {TARGET_RATIO:g}x: {verdict})")
    return 0 if ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
