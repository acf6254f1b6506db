"""Per-window latency of the raw-ADC CLMP encoder: front end + encoder (torch, ORT fp32, ORT int8).

One 2 s window (batch 1, the hub's case) of raw ADC frames of a bundled profile: the physics front end
(``runtime.inference.adc_window``: range/Doppler FFTs, beamforming, resampling onto the fixed grids;
numpy, one core) on every frame of the window, then the encoder on ``--threads`` intra-op threads.
Figures: median ms per window of the front end (per frame and per window), and of each encoder
engine (interleaved rounds, median of the rounds' medians), the total front end + int8 per window, and
parity (cosine against torch, min over the windows).

Run from the repository root (~1-2 min)::

    PYTHONPATH=. .venv/bin/python benchmarks/bench_adc_encoder.py                 # clmp_adc_s, random weights
    PYTHONPATH=. .venv/bin/python benchmarks/bench_adc_encoder.py --model models/clmp-adc-v1
    PYTHONPATH=. .venv/bin/python benchmarks/bench_adc_encoder.py --profile iwr1843boost_raw_activity

``--model`` takes an exported artifact (then only ORT rows; its card's contract); ``--checkpoint`` a
torch checkpoint (exported to a temporary directory); neither: ``--arch`` with random weights (latency
does not depend on the weights' values).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _median_ms(fn, runs: int) -> float:
    samples = []
    for i in range(runs):
        t0 = time.perf_counter()
        fn(i)
        samples.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(samples)


def synthetic_frames(
    profile: str, window_s: float, seed: int = 0
) -> tuple[object, np.ndarray, np.ndarray]:
    """A walking person's reflectors as raw ADC frames of one window at the profile's frame rate."""
    from firmware_cfg import load_cfg
    from sim.radar.point_targets import PointTarget, synthesize_frame

    rc = load_cfg(profile)
    cfg = rc.chirp
    n = max(1, round(window_s / cfg.frame_period_s))
    rng = np.random.default_rng(seed)
    times = np.arange(n) * cfg.frame_period_s
    frames = []
    for f, t in enumerate(times):
        targets = [
            PointTarget(3.0 - 1.0 * t + dr, -1.0 + dv, 10.0 + da, 0.0, 150.0)
            for dr, dv, da in ((0, 0, 0), (0.15, 0.3, 3), (-0.1, -0.6, -4), (0.05, 1.5, 6))
        ]
        frames.append(synthesize_frame(cfg, targets, frame_index=f, noise_std=5.0, rng=rng))
    return rc, np.stack(frames), times


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="exported mmfm.model/1 directory (kind clmp-adc)")
    ap.add_argument("--checkpoint", help="CLMP checkpoint directory (exported to a temp dir)")
    ap.add_argument(
        "--arch", default="clmp_adc_s", help="architecture without --model/--checkpoint"
    )
    ap.add_argument("--profile", default="iwr1843boost_presence", help="bundled chirp profile")
    ap.add_argument("--threads", type=int, default=2, help="encoder intra-op threads")
    ap.add_argument("--runs", type=int, default=50, help="encoder calls per round and engine")
    ap.add_argument("--repeats", type=int, default=3, help="interleaved rounds")
    ap.add_argument("--fe-runs", type=int, default=5, help="front-end windows timed")
    args = ap.parse_args(argv)

    import torch

    from runtime.inference.adc_window import adc_window_arrays, front_end
    from runtime.inference.encoder import PointEncoder
    from runtime.models import load_model

    torch.set_num_threads(args.threads)
    model = None
    with tempfile.TemporaryDirectory() as tmp:
        if args.model:
            art = load_model(args.model)
        else:
            from exporters.onnx import export_clmp
            from training.clmp.factory import build_model, load_checkpoint, make_card

            if args.checkpoint:
                model, card = load_checkpoint(args.checkpoint)
            else:
                torch.manual_seed(0)
                model = build_model(args.arch)
                card = make_card(model, command="bench (random weights)")
            art = load_model(export_clmp(model.eval(), card, Path(tmp) / "m"))
        contract = art.input_contract
        rc, frames, times = synthetic_frames(args.profile, float(contract["window_s"]))
        fe = front_end(rc, contract)
        fe.frame_maps(frames[0])  # warm the plan and buffers
        frame_ms = _median_ms(lambda i: fe.frame_maps(frames[i % len(frames)]), 3 * len(frames))
        window_ms = _median_ms(
            lambda i: adc_window_arrays(frames, times, rc, contract), args.fe_runs
        )
        maps, mask = adc_window_arrays(frames, times, rc, contract)
        # a few different windows for parity: the same frames shifted in time and scaled
        batch_maps = np.stack([np.roll(maps, k, axis=0) * (1 + 0.05 * k) for k in range(8)])
        batch_mask = np.stack([np.roll(mask, k) for k in range(8)])
        engines = {
            p: PointEncoder(art, precision=p, threads=args.threads) for p in art.card["encoders"]
        }
        fns = {p: (lambda i, e=e: e.embed(maps[None], mask[None])) for p, e in engines.items()}
        if model is not None:
            tm, tk = torch.from_numpy(maps[None]), torch.from_numpy(mask[None])

            def run_torch(i: int) -> None:
                with torch.no_grad():
                    model.encode_points(tm, tk)

            fns = {"torch": run_torch, **fns}
        rounds: dict[str, list[float]] = {k: [] for k in fns}
        for _ in range(args.repeats):
            for k, fn in fns.items():
                rounds[k].append(_median_ms(fn, args.runs))
        parity = {}
        if model is not None:
            with torch.no_grad():
                ref = model.encode_points(
                    torch.from_numpy(batch_maps.astype(np.float32)), torch.from_numpy(batch_mask)
                ).numpy()
            for p, e in engines.items():
                parity[p] = float((e.embed(batch_maps, batch_mask) * ref).sum(1).min())

    cfg = rc.chirp
    print(
        f"profile {args.profile}: {cfg.num_tx}x{cfg.num_rx}x{cfg.num_loops}x{cfg.num_samples}, "
        f"{len(frames)} frames per {contract['window_s']} s window; maps {list(maps.shape)}; "
        f"encoder threads {args.threads}"
    )
    print(f"front end: {frame_ms:.2f} ms per frame, {window_ms:.1f} ms per window")
    enc = {k: statistics.median(v) for k, v in rounds.items()}
    for k, v in enc.items():
        extra = f"  parity cos min {parity[k]:.5f}" if k in parity else ""
        print(f"encoder {k:>5}: {v:.2f} ms per window{extra}")
    best = "int8" if "int8" in enc else "fp32"
    print(f"front end + {best} encoder: {window_ms + enc[best]:.1f} ms per 2 s window")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
