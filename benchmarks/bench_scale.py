"""Dataset generation scale-out: samples/s of 1 vs 2 workers, and the projected cost of a million.

    .venv/bin/python benchmarks/bench_scale.py                       # ~3 min on 2 busy cores
    .venv/bin/python benchmarks/bench_scale.py --num 8 --window-s 2 --repeats 3 --cores 64,512

Same samples through the real code path (``sim.dataset.writer.generate``), side by side in one run,
alternating, ``--repeats`` times, medians:

1. ``local``: ``--num-shards 2`` in this process, one shard after the other (1 worker, the reference);
2. ``local, 2 workers``: the same with ``--workers 2`` (two sample processes per shard, a process
   pool on this machine);
3. ``ray``: the same 2 shards as two tasks on a local Ray instance with 2 CPUs (2 workers; the Ray
   start, ~10 s, is outside the timing, but each task's worker process imports the simulator and
   loads its models afresh, a fixed cost per shard that small runs feel). Skipped when Ray is not
   installed (``mmfm[scale]``).

The bytes of both are compared (identical, or the benchmark fails). Then ``mmfm sim plan``'s
projection of 1,000,000 samples on ``--cores`` single-core workers from the reference's
``cost.json`` (CPU s and bytes per sample). Figures depend on the machine's load: the 1-minute load
average is printed before and after the runs beside the number of cores; on a shared machine the
scaling ratio says little (a quiet-machine figure is to be taken separately).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sim.dataset.plan import make_plan, read_cost  # noqa: E402
from sim.dataset.writer import GenerateSpec, generate  # noqa: E402


def _hashes(root: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.glob("shard-*/sample-*"))
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--num", type=int, default=4, help="samples per run (default 4)")
    ap.add_argument("--window-s", type=float, default=1.0, help="window [s] (default 1.0)")
    ap.add_argument("--repeats", type=int, default=2, help="alternating repeats (default 2)")
    ap.add_argument("--cores", default="16,64,512", help="worker counts to project for")
    ap.add_argument(
        "--usd-per-core-hour",
        type=float,
        default=None,
        help="price of one core-hour on your cluster/cloud: prints the money cost too",
    )
    args = ap.parse_args()
    spec = GenerateSpec(num=args.num, seed=0, window_s=args.window_s)
    have_ray = importlib.util.find_spec("ray") is not None
    runner = None
    if have_ray:
        import ray

        from sim.dataset.executors import ray_runner

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": str(REPO)}})  # fmt: skip
        runner = ray_runner(max_retries=0)
    times: dict[str, list[float]] = {
        "local, 1 worker": [],
        "local, 2 workers": [],
        "ray, 2 workers": [],
    }
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        for r in range(args.repeats):
            for name in times:
                if name.startswith("ray") and runner is None:
                    continue
                out = Path(tmp) / f"{name.replace(', ', '-').replace(' ', '')}-{r}"
                t0 = time.perf_counter()
                generate(
                    out,
                    spec,
                    num_shards=2,
                    workers=2 if name == "local, 2 workers" else 1,
                    runner=None if name.startswith("local") else runner,
                )
                times[name].append(time.perf_counter() - t0)
        ref = Path(tmp) / "local-1worker-0"
        assert _hashes(Path(tmp) / "local-2workers-0") == _hashes(ref), "2 workers: other bytes"
        if runner is not None:
            assert _hashes(Path(tmp) / "ray-2workers-0") == _hashes(ref), "ray bytes differ"
        cost = read_cost(ref)
    if have_ray:
        ray.shutdown()
    print(f"{args.num} samples, {args.window_s:g} s windows, radar random, points+spectrogram, "
          f"2 shards; median of {args.repeats}")  # fmt: skip
    print(f"  load average (1 min) {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, "
          f"on {os.cpu_count()} cores: ratios below are only meaningful on a quiet machine")  # fmt: skip
    rates = {}
    for name, ts in times.items():
        if not ts:
            print(f"  {name:16s} skipped (pip install 'mmfm[scale]')")
            continue
        rates[name] = args.num / statistics.median(ts)
        print(f"  {name:16s} {statistics.median(ts):7.2f} s  {rates[name]:6.3f} samples/s")
    ref_rate = rates.get("local, 1 worker")
    for name, rate in rates.items():
        if ref_rate and name != "local, 1 worker":
            print(f"  scaling {name} vs 1 worker: x{rate / ref_rate:.2f} (ideal x2.00)")
    print("  bytes identical across executors and worker counts")
    cores = [int(c) for c in args.cores.split(",")]
    lines = make_plan(cost, 1_000_000, cores[0]).lines(cost)
    print(f"  {lines[0]} (local reference)\n  {lines[1]}")
    for n in cores:
        print(f"  {make_plan(cost, 1_000_000, n).lines(cost)[2]}")
    if args.usd_per_core_hour is not None:
        core_hours = make_plan(cost, 1_000_000, cores[0]).cpu_hours
        print(f"  cost at {args.usd_per_core_hour:g} USD/core-hour: "
              f"{core_hours * args.usd_per_core_hour:,.0f} USD (any number of cores)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
