"""Feature statistics of prepared point windows: what differs between simulated and real windows.

How to run::

    python -m training.clmp.window_stats /data/clmp-v2/train-radhar.npz \
        --radhar ../shared/realdata/radhar-fewshot [--augment ti_static]
    # calibrating the room detector: N fresh radhar-setup samples with model overrides
    python -m training.clmp.window_stats --model clmp_points_v2 --kinematic 12 \
        --room gain_db=60,leak_db=40 --radhar ../shared/realdata/radhar-fewshot

Prints one row per source: points per slot, the fraction of points with v = 0, nearer than 0.5 m (the
radar's own DC / leakage), farther than 3 m (walls, furniture), the SNR median and 10-90 % spread, the
spread of non-zero velocities, and the height spread. ``--augment`` adds a row for the simulated
windows after the training augmentation of that preset (``training.clmp.augment``), which is what the
encoder sees. Unlabelled: the real windows' labels are never read (their statistics are pooled).
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np


def window_stats(points: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """Pooled statistics of ``points [N, T, P, 5]`` where ``mask [N, T, P]`` (module docstring)."""
    m = mask > 0
    p = points[m]  # [K, 5]
    r = np.linalg.norm(p[:, :3], axis=1)
    v = p[:, 3]
    body = (r >= 0.5) & (r <= 3.0)
    moving = np.abs(v) > 1e-6
    slots = m.sum(-1)  # [N, T]
    return {
        "points_per_slot": float(slots.mean()),
        "empty_slots": float((slots == 0).mean()),
        "v_zero": float(np.mean(~moving)),
        "near_0.5m": float(np.mean(r < 0.5)),
        "far_3m": float(np.mean(r > 3.0)),
        "snr_p50": float(np.median(p[:, 4])),
        "snr_p10": float(np.percentile(p[:, 4], 10)),
        "snr_p90": float(np.percentile(p[:, 4], 90)),
        "abs_v_moving_p50": float(np.median(np.abs(v[moving]))) if moving.any() else 0.0,
        "z_body_p10": float(np.percentile(p[body, 2], 10)) if body.any() else float("nan"),
        "z_body_p90": float(np.percentile(p[body, 2], 90)) if body.any() else float("nan"),
    }


def _row(name: str, st: dict[str, float]) -> str:
    return f"{name:<28} " + " ".join(f"{k}={v:.2f}" for k, v in st.items())


def main(argv: list[str] | None = None) -> int:
    """CLI of the module docstring."""
    from training.clmp.data import load_saved_windows
    from training.clmp.evaluate import parse_labels, radhar_windows
    from training.clmp.factory import build_model

    ap = argparse.ArgumentParser(prog="python -m training.clmp.window_stats")
    ap.add_argument("windows", nargs="*", help="prepared windows (.npz)")
    ap.add_argument("--model", default="clmp_points_s", help="input contract of this model")
    ap.add_argument("--radhar", help="RadHAR class folders (pooled, labels unused)")
    ap.add_argument("--augment", help="also show the windows after this augmentation preset")
    ap.add_argument(
        "--kinematic",
        type=int,
        default=0,
        help="also N fresh kinematic samples of the radhar setup (calibration seed 99)",
    )
    ap.add_argument("--detector", default="ti_room", help="detector of --kinematic")
    ap.add_argument(
        "--room",
        default="",
        help="RoomRadarModel overrides for --kinematic, e.g. gain_db=60,leak_db=40",
    )
    ap.add_argument("--frame-step", type=int, default=2)
    args = ap.parse_args(argv)
    contract: dict[str, Any] = build_model(args.model).input_contract
    if args.kinematic:
        from dataclasses import replace

        from training.clmp.kinematic import ROOM_MODEL, kinematic_sample

        over = dict(kv.split("=") for kv in args.room.split(",") if kv)
        room = replace(ROOM_MODEL, **{k: float(v) for k, v in over.items()})
        pts, msk = [], []
        for k in range(args.kinematic):
            p, m, _act = kinematic_sample(
                99,
                k,
                contract,
                setup="radhar",
                stride_s=1.0,
                frame_step=args.frame_step,
                detector=args.detector,
                room_model=room,
            )
            pts += p
            msk += m
        label = f"kinematic {args.detector} {args.room}".strip()
        print(_row(label, window_stats(np.stack(pts), np.stack(msk))), flush=True)
    for path in args.windows:
        ws = load_saved_windows(path, contract)
        print(_row(path.rsplit("/", 1)[-1], window_stats(ws.points, ws.mask)))
        if args.augment:
            import torch

            from training.clmp.augment import AUGMENT_PRESETS, augment

            gen = torch.Generator().manual_seed(0)
            idx = np.random.default_rng(0).permutation(len(ws))[:512]
            pa, ma = augment(
                torch.from_numpy(ws.points[idx]),
                torch.from_numpy(ws.mask[idx]),
                gen,
                AUGMENT_PRESETS[args.augment],
            )
            print(_row(f"  + augment {args.augment}", window_stats(pa.numpy(), ma.numpy())))
    if args.radhar:
        from pathlib import Path

        folders = sorted(p.name for p in Path(args.radhar).iterdir() if p.is_dir())
        pairs = parse_labels(",".join(f"{f}={f}" for f in folders))
        real = radhar_windows(args.radhar, pairs, contract)
        print(_row("real " + Path(args.radhar).name, window_stats(real.points, real.mask)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
