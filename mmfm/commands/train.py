"""`mmfm train`: train CLMP on simulated data (and adapt it to real recordings with LoRA).

mmfm train clmp --data /data/sim --out /data/ckpt/clmp                   # default model, CPU
mmfm train clmp --data /data/sim --model clmp_points_tiny --epochs 2 --out /tmp/smoke

Rerunning the same command resumes after the last finished epoch (``OUT/state.pt``). The checkpoint
(``OUT/model.pt`` + ``OUT/card.json``) carries the command, the datasets' card hashes and the held-out
figures; ``OUT/curves.png`` plots loss and accuracy per epoch. Bad input is one line and exit 1.
"""

from __future__ import annotations

import argparse
import shlex
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        help="train CLMP (radar-language encoder) on simulated data",
        description="Train models on simulated datasets (training/).",
    )
    sub = p.add_subparsers(dest="train_command", metavar="TRAIN_COMMAND")
    c = sub.add_parser(
        "clmp",
        help="contrastive radar-language pre-training on `mmfm sim generate` datasets",
        description="Contrastive radar-language pre-training (training/clmp/train.py).",
    )
    c.add_argument("--data", required=True, help="dataset directory; several: comma-separated")
    c.add_argument(
        "--windows",
        default="",
        help="extra prepared windows (.npz from python -m training.clmp.kinematic), comma-separated",
    )
    c.add_argument("--model", default=None, help="architecture name (default clmp_points_s)")
    c.add_argument("--out", default="clmp-out", help="checkpoint directory (default ./clmp-out)")
    c.add_argument("--epochs", type=int, default=30, help="epochs (default 30)")
    c.add_argument("--batch-size", type=int, default=128, help="windows per step (default 128)")
    c.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (default 2e-3)")
    c.add_argument("--loss", choices=("clip", "siglip"), help="loss (default: the config's)")
    c.add_argument(
        "--stride-s", type=float, default=1.0, help="window stride within a sample [s] (default 1)"
    )
    c.add_argument(
        "--holdout-every",
        type=int,
        default=10,
        help="hold out about 1 sample in N (unseen rooms/subjects; 0 = none; default 10)",
    )
    c.add_argument("--no-augment", action="store_true", help="train without augmentation")
    c.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    c.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (default 1: fastest on a busy machine)",
    )
    c.add_argument("--no-progress", action="store_true", help="no progress bar")
    c.set_defaults(func=_train_clmp)
    p.set_defaults(func=lambda args: (p.print_help(sys.stderr), 2)[1])


def _train_clmp(args: argparse.Namespace) -> int:
    from pathlib import Path

    from runtime.dataset import DatasetError
    from training.clmp import DEFAULT_MODEL, list_models
    from training.clmp.train import TrainSettings, train_clmp

    model = args.model or DEFAULT_MODEL
    if model not in list_models() and not Path(model).is_file():
        print(f"error: unknown model {model!r}; known: {', '.join(list_models())}", file=sys.stderr)
        return 1
    data = [d.strip() for d in args.data.split(",") if d.strip()]
    for d in data:
        if not (Path(d) / "index.json").is_file():
            print(f"error: {d}: not a dataset (no index.json)", file=sys.stderr)
            return 1
    windows = [w.strip() for w in args.windows.split(",") if w.strip()]
    for w in windows:
        if not Path(w).is_file():
            print(f"error: {w}: no such windows file", file=sys.stderr)
            return 1
    if args.epochs < 1 or args.batch_size < 2:
        print("error: --epochs must be >= 1 and --batch-size >= 2", file=sys.stderr)
        return 1
    settings = TrainSettings(
        data=data,
        windows=windows,
        out=args.out,
        model=model,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        loss=args.loss,
        stride_s=args.stride_s,
        holdout_every=args.holdout_every,
        augment=not args.no_augment,
        seed=args.seed,
        threads=args.threads,
        command="mmfm " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        if sys.argv[1:2] == ["train"]
        else "mmfm train clmp " + " ".join(shlex.quote(a) for a in _argv_of(args)),
    )
    progress = None
    if not args.no_progress:
        from tqdm import tqdm

        def progress(it, total, desc):
            return tqdm(it, total=total, desc=desc, leave=False, file=sys.stderr)

    try:
        card = train_clmp(settings, progress=progress)
    except (DatasetError, ValueError, OSError) as exc:
        print(f"error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    held = card.get("metrics", {}).get("held_out", {})
    figures = ", ".join(f"{k} {v:.3f}" for k, v in held.items() if isinstance(v, float))
    print(f"checkpoint: {args.out} ({figures})")
    return 0


def _argv_of(args: argparse.Namespace) -> list[str]:
    """The options of a programmatic call, for the card's command."""
    out = ["--data", args.data, "--out", args.out]
    if args.model:
        out += ["--model", args.model]
    out += ["--epochs", str(args.epochs), "--batch-size", str(args.batch_size)]
    return out
