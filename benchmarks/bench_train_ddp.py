"""CLMP training throughput: one process vs two DDP processes (torchrun, gloo) at the same global batch.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_train_ddp.py                # ~2 min, 2 busy cores
    PYTHONPATH=. .venv/bin/python benchmarks/bench_train_ddp.py --model clmp_points_s --windows 1024

The real training loop (``training.clmp.train.train_on``: DDP wrapper, embeddings gathered with
gradients, rank-0 checkpoints) on synthetic point windows held in memory (``--windows`` of them,
``[T, P, 5]`` of the model's contract), launched as ``torchrun --standalone --nproc_per_node N`` for
N = 1 and 2, alternating, ``--repeats`` times. Throughput = training windows per second over the
epochs after the first (which pays for start-up), from the seconds the trainer records per epoch
(its steps: data, forward, gather, backward, all-reduce, optimiser; not the rank-0 checkpoint),
median over repeats. Each process uses one torch thread, so on a quiet machine with >= 2 free cores the
ideal ratio is x2.00; the 1-minute load average is printed beside the figures, and on a shared
machine the ratio says little. The frozen MiniLM caption embeddings are computed once, outside the
timings.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CAPTIONS = {
    "walk": ["a person is walking", "someone walks toward the radar"],
    "stand": ["a person is standing still", "someone stands in front of the radar"],
    "jump": ["a person is jumping", "someone jumps up and down"],
}


def synthetic(n: int, contract: dict, seed: int = 0):
    """``n`` windows of body-like point clusters, three motions (a :class:`WindowSet`)."""
    from training.clmp.data import WindowSet

    rng = np.random.default_rng(seed)
    t, p = int(contract["frames"]), int(contract["max_points"])
    acts = [list(CAPTIONS)[i % 3] for i in range(n)]
    pts = np.zeros((n, t, p, 5), np.float32)
    msk = np.zeros((n, t, p), np.float32)
    for i, act in enumerate(acts):
        k = rng.integers(8, p, size=t)
        for f in range(t):
            v = {"walk": -1.0, "stand": 0.0, "jump": 0.5 * np.sin(f)}[act]
            pts[i, f, : k[f]] = rng.normal([0, 2.5, 0, v, 20], [0.2, 0.2, 0.5, 0.1, 5], (k[f], 5))
            msk[i, f, : k[f]] = 1
    return WindowSet(pts, msk, acts, [CAPTIONS[a] for a in acts], np.arange(n), ["synthetic"] * n)


def rank_main(args: argparse.Namespace) -> int:
    """What torchrun starts: one rank of the training loop; rank 0 prints its history as JSON."""
    import torch

    from training.clmp.factory import model_config
    from training.clmp.train import Split, TrainSettings, train_on
    from training.distributed import distributed_session

    torch.set_num_threads(1)
    ws = synthetic(args.windows, model_config(args.model)["input_contract"])
    with distributed_session(device="cpu") as env:
        settings = TrainSettings(
            data=["synthetic"],
            out=args.out,
            model=args.model,
            epochs=args.epochs,
            batch_size=args.global_batch // env.world_size,
            augment=True,
            threads=1,
            device="cpu",
            command="bench_train_ddp",
        )
        train_on(Split(train=ws, val=None), settings, log=lambda s: None, env=env)
        if env.is_main:
            state = torch.load(Path(args.out) / "state.pt", weights_only=False)
            print("HISTORY " + json.dumps(state["history"]))
    return 0


def run(nproc: int, args: argparse.Namespace, out: Path, cache: Path) -> dict:
    out.mkdir(parents=True)
    shutil.copy(cache, out / "text_cache.pt")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc_per_node={nproc}", __file__, "--rank-worker", "--out", str(out),
           "--model", args.model, "--windows", str(args.windows), "--epochs", str(args.epochs),
           "--global-batch", str(args.global_batch)]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    line = next((x for x in res.stdout.splitlines() if x.startswith("HISTORY ")), None)
    if res.returncode != 0 or line is None:
        raise SystemExit(f"torchrun {nproc} failed:\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}")
    hist = json.loads(line[len("HISTORY ") :])
    steady = hist[1:] or hist
    seconds = sum(h["seconds"] for h in steady)
    steps = args.windows // args.global_batch
    return {
        "rate": len(steady) * steps * args.global_batch / seconds,
        "loss": [round(h["train_loss"], 4) for h in hist],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="clmp_points_tiny", help="architecture (clmp_points_tiny)")
    ap.add_argument("--windows", type=int, default=2048, help="training windows (2048)")
    ap.add_argument("--global-batch", type=int, default=64, help="windows per step, all ranks (64)")
    ap.add_argument(
        "--epochs", type=int, default=3, help="epochs per run; the first is warm-up (3)"
    )
    ap.add_argument("--repeats", type=int, default=2, help="alternating repeats (2)")
    ap.add_argument("--rank-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.rank_worker:
        return rank_main(args)
    from training.clmp.data import CaptionSampler, TextCache
    from training.clmp.factory import model_config

    load_before = os.getloadavg()[0]
    rates: dict[int, list[float]] = {1: [], 2: []}
    losses: dict[int, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-ddp-") as tmp:
        cache = Path(tmp) / "text_cache.pt"
        contract = model_config(args.model)["input_contract"]
        TextCache(cache).ensure(CaptionSampler(synthetic(3, contract)).all_texts())
        for r in range(args.repeats):
            for n in rates:
                res = run(n, args, Path(tmp) / f"n{n}-r{r}", cache)
                rates[n].append(res["rate"])
                losses[n] = res["loss"]
    print(f"CLMP {args.model}, {args.windows} windows, global batch {args.global_batch} "
          f"(1 x {args.global_batch} or 2 x {args.global_batch // 2}), {args.epochs} epochs "
          f"(first left out), augmentation on, gloo, 1 thread per process; median of "
          f"{args.repeats}")  # fmt: skip
    print(f"  load average (1 min) {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, "
          f"on {os.cpu_count()} cores: the ratio is only meaningful on a quiet machine")  # fmt: skip
    for n, rs in rates.items():
        print(f"  {n} process{'es' if n > 1 else '  '}  {statistics.median(rs):8.1f} windows/s  "
              f"(runs: {', '.join(f'{x:.1f}' for x in rs)}); loss per epoch {losses[n]}")  # fmt: skip
    ratio = statistics.median(rates[2]) / statistics.median(rates[1])
    print(f"  scaling 2 vs 1 processes: x{ratio:.2f} (ideal x2.00)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
