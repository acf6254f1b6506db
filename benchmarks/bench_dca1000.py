"""DCA1000 receive throughput on loopback, one receiver core, beside the 700 Mbit/s target.

A fake DCA1000 (``runtime.fakes.dca1000``) runs in a child process pinned to the last CPU and streams
IWR1843BOOST ``iwr1843boost_raw_activity`` frames (3 TX x 4 RX x 128 loops x 256 samples, complex
int16: 1,572,864 B = 1080.3 packets of 1456 B) at an offered load of ``--rate-mbps`` (default
1000 Mbit/s, the line rate of the DCA1000's Gigabit Ethernet port; 0 = as fast as it can). This
process, pinned to CPU 0, configures it through ``DCA1000Control`` (the real control path), then
receives with ``DCA1000Source`` and times the frames between the first and the last delivered frame:

- ``receive``: ``raw_frames()``: recv_into + frame assembly (the hot path), frames as bytes whose
  buffers go back to the assembler (as a recorder does once a frame is written).
- ``receive+decode``: ``frames()``: the same plus ``decode_frames`` to complex64 ``[tx, rx, loop, sample]``.

Figures are medians over the zero-loss runs of ``--runs`` (every run is printed with its loss), in
Mbit/s of ADC payload (the 10-byte packet headers add 0.7 %),
beside two references computed in the same run: the issue's target (700 Mbit/s) and the DCA1000's own
maximum (``firmware_cfg.dca1000_throughput_bps`` at the smallest packet delay, 5 us). ``cpu`` is the
receiver thread's CPU time, so ``bytes / cpu`` is what the receiver could take on one core if the
sender were faster. Loss is the receiver's exact count of missing packets (kernel drops included) and
of damaged frames; a figure with loss is not a valid throughput.

Run (from the repository root; ~30 s)::

    .venv/bin/python benchmarks/bench_dca1000.py                       # 5 runs of 300 frames
    .venv/bin/python benchmarks/bench_dca1000.py --runs 3 --frames 100  # quick
    .venv/bin/python benchmarks/bench_dca1000.py --rate-mbps 0          # unpaced sender

Loopback only (127.0.0.1). On a machine with one CPU both ends share it and the figure says so.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from firmware_cfg import RadarConfig, dca1000_throughput_bps, load_cfg
from runtime.fakes.dca1000 import FakeDCA1000
from runtime.sources.dca1000 import DCA1000Source
from runtime.sources.dca1000_control import DCA1000Control

PROFILE = "iwr1843boost_raw_activity"
TARGET_BPS = 700e6
MIN_PACKET_DELAY_US = 5.0


def pin(cpu: int) -> str:
    if hasattr(os, "sched_setaffinity"):
        try:
            os.sched_setaffinity(0, {cpu})
            return f"cpu {cpu}"
        except OSError as exc:
            return f"not pinned ({exc})"
    return "not pinned (no sched_setaffinity)"


def sender(
    conn: Connection, data_addr: tuple[str, int], cpu: int, frame_bytes: int, rate_bps: float | None
) -> None:
    """Child process: a fake DCA1000 streaming 4 distinct frames round-robin until RECORD_STOP."""
    where = pin(cpu)
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, frame_bytes, dtype=np.uint8).tobytes() for _ in range(4)]
    fake = FakeDCA1000(lambda k: frames[k % 4], data_dest=data_addr, rate_bps=rate_bps).start()
    conn.send((fake.config_port, where))
    conn.recv()  # told to finish
    fake.stop()
    conn.send(fake.report.datagrams)


def one_run(
    radar_config: RadarConfig,
    frames: int,
    decode: bool,
    rate_bps: float | None,
    sender_cpu: int,
    rcvbuf_bytes: int = 32 << 20,
) -> dict:
    cfg = radar_config.chirp
    src = DCA1000Source(
        radar_config, host_ip="127.0.0.1", data_port=0, configure=False, rcvbuf_bytes=rcvbuf_bytes
    )
    src.open()
    parent, child = mp.Pipe()
    proc = mp.Process(
        target=sender, args=(child, src.data_address, sender_cpu, cfg.bytes_per_frame, rate_bps)
    )
    proc.start()
    config_port, sender_where = parent.recv()
    ctl = DCA1000Control(
        fpga_ip="127.0.0.1", fpga_port=config_port, host_ip="127.0.0.1", host_port=0
    )
    t_first = cpu_first = 0.0
    n = 0
    with ctl:
        ctl.configure(cfg, packet_delay_us=MIN_PACKET_DELAY_US)
        ctl.record_start()
        it = src.frames() if decode else src.raw_frames()
        for frame in it:
            if not decode:  # a recorder hands the buffer back once written
                src.assembler.recycle(frame.data)
            n += 1
            if n == 1:
                t_first, cpu_first = time.perf_counter(), time.thread_time()
            if n == frames:
                break
        wall = time.perf_counter() - t_first
        cpu = time.thread_time() - cpu_first
        ctl.record_stop()
    parent.send("stop")
    parent.recv()
    proc.join()
    st = src.stats
    src.close()
    nbytes = (frames - 1) * cfg.bytes_per_frame
    return {
        "bps": 8 * nbytes / wall,
        "cpu_bps": 8 * nbytes / max(cpu, 1e-9),
        "lost": st.packets_lost,
        "flagged": st.frames_flagged,
        "frames_lost": st.frames_lost,
        "rcvbuf": src.rcvbuf_granted,
        "sender": sender_where,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=300, help="frames per run (receive)")
    ap.add_argument(
        "--decode-frames", type=int, default=100, help="frames per run (receive+decode)"
    )
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument(
        "--rate-mbps",
        type=float,
        default=1000.0,
        help="offered load: cap the sender [Mbit/s] (default: the DCA1000's 1 Gbit/s Ethernet "
        "line rate; 0 = as fast as the sender can)",
    )
    ap.add_argument(
        "--rcvbuf-mib",
        type=int,
        default=32,
        help="SO_RCVBUF to ask for [MiB] (4 = a non-root default)",
    )
    args = ap.parse_args(argv)

    radar_config = load_cfg(PROFILE)
    cfg = radar_config.chirp
    ncpu = os.cpu_count() or 1
    receiver_where = pin(0)
    sender_cpu = ncpu - 1
    rate = args.rate_mbps * 1e6 or None
    dca_max = dca1000_throughput_bps(MIN_PACKET_DELAY_US)
    print(
        f"profile {PROFILE}: {cfg.frame_shape} complex int16, {cfg.bytes_per_frame:,} B/frame; "
        f"receiver {receiver_where}, sender cpu {sender_cpu} of {ncpu}"
        + (" (shared core!)" if sender_cpu == 0 else "")
    )
    print(
        f"references: target {TARGET_BPS / 1e6:.0f} Mbit/s; DCA1000 maximum "
        f"{dca_max / 1e6:.0f} Mbit/s (packet delay {MIN_PACKET_DELAY_US:g} us); sender cap "
        f"{'none' if rate is None else f'{args.rate_mbps:g} Mbit/s'}"
    )
    mp.set_start_method("fork" if sys.platform.startswith("linux") else "spawn", force=True)
    rows = []
    for label, decode, frames in (
        ("receive", False, args.frames),
        ("receive+decode", True, args.decode_frames),
    ):
        runs = [
            one_run(radar_config, frames, decode, rate, sender_cpu, args.rcvbuf_mib << 20)
            for _ in range(args.runs)
        ]
        rows.append((label, frames, runs))
    print(f"SO_RCVBUF granted (getsockopt): {rows[0][2][0]['rcvbuf'] / 2**20:.0f} MiB")
    print(
        f"{'mode':<15} {'frames':>6} {'median Mbit/s':>14} {'x target':>9} {'x DCA1000':>10} "
        f"{'cpu-bound Mbit/s':>17} {'runs with loss':>15}  each run: Mbit/s (lost packets, bad frames)"
    )
    for label, frames, runs in rows:
        clean = [r for r in runs if not (r["lost"] or r["flagged"] or r["frames_lost"])]
        quoted = clean or runs  # the median of the zero-loss runs; of all runs if none was clean
        bps = statistics.median(r["bps"] for r in quoted)
        cpu_bps = statistics.median(r["cpu_bps"] for r in quoted)
        each = " ".join(
            f"{r['bps'] / 1e6:.0f} ({r['lost']}, {r['flagged'] + r['frames_lost']})" for r in runs
        )
        print(
            f"{label:<15} {frames:>6} {bps / 1e6:>14.0f} {bps / TARGET_BPS:>9.2f} "
            f"{bps / dca_max:>10.2f} {cpu_bps / 1e6:>17.0f} {len(runs) - len(clean):>9} of {len(runs):<3}  "
            f"{each}"
        )
        if not clean:
            print(f"  ({label}: every run lost data; the median above is NOT a zero-loss figure)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
