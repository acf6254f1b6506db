"""`mmfm train`: train CLMP on simulated data (and adapt it to real recordings with LoRA).

mmfm train clmp --data /data/sim --out /data/ckpt/clmp                   # default model, CPU
mmfm train clmp --data /data/sim --model clmp_points_tiny --epochs 2 --out /tmp/smoke
mmfm train clmp --data /data/adc1,/data/adc2 --model clmp_adc_s --out /data/ckpt/adc   # raw ADC
mmfm train lora --real ../shared/realdata/radhar-fewshot --format radhar --out runs/lora-home \
    --labels "boxing,jumping jacks,jumping,squats,walking"          # --base: default clmp-points-v2

Data-parallel on several processes (DDP; gloo on CPUs, NCCL on GPUs), the same command under torchrun:

torchrun --standalone --nproc_per_node 2 -m mmfm train clmp --data /data/sim --batch-size 64 ...
mmfm train clmp --data s3://bucket/sim --stream --workers 2 ...   # shards read as a stream (fsspec)

``--batch-size`` is per process: the global batch is ``--batch-size x`` the number of processes.
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
    c.add_argument(
        "--data",
        required=True,
        help="dataset directory, or an fsspec URL with --stream; several: comma-separated",
    )
    c.add_argument(
        "--windows",
        default="",
        help="extra prepared windows (.npz from python -m training.clmp.kinematic), comma-separated",
    )
    c.add_argument(
        "--model",
        default=None,
        help="architecture name (default clmp_points_s; clmp_adc_s reads the datasets' raw ADC, "
        "generated with --outputs adc)",
    )
    c.add_argument("--out", default="clmp-out", help="checkpoint directory (default ./clmp-out)")
    c.add_argument("--epochs", type=int, default=30, help="epochs (default 30)")
    c.add_argument(
        "--batch-size",
        type=int,
        default=128,
        help="windows per step and process; global batch = this x processes (default 128)",
    )
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
    c.add_argument(
        "--stream",
        action="store_true",
        help="read the shards as a stream (directory or fsspec URL; the dataset need not fit in "
        "memory) instead of loading every window",
    )
    c.add_argument(
        "--workers",
        type=int,
        default=0,
        help="with --stream: reader processes per rank (default 0)",
    )
    c.add_argument(
        "--shuffle-buffer",
        type=int,
        default=1024,
        help="with --stream: windows per reader's shuffle buffer (default 1024)",
    )
    c.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="auto: cuda:LOCAL_RANK when CUDA is there, else cpu (default auto)",
    )
    c.add_argument(
        "--precision",
        choices=("auto", "fp32", "bf16"),
        default="auto",
        help="auto: bf16 autocast on CUDA, fp32 on CPU (default auto)",
    )
    c.set_defaults(func=_train_clmp)

    lo = sub.add_parser(
        "lora",
        help="few-shot sim-to-real adaptation of the radar encoder with LoRA",
        description="LoRA on the radar encoder's linear layers from a few labelled real recordings "
        "(training/clmp/lora.py); prints leave-one-recording-out accuracy before/after, then saves "
        "the adapter trained on every recording (adapter.pt + card.json, loadable by `mmfm eval "
        "--model`).",
    )
    lo.add_argument(
        "--base",
        default=None,
        help="base model: exported name/dir shipping checkpoint/ (default clmp-points-v2) or a "
        "checkpoint directory of `mmfm train clmp`",
    )
    lo.add_argument("--real", required=True, help="labelled real recordings (one folder per class)")
    lo.add_argument("--format", choices=("radhar",), default="radhar", help="recording format")
    lo.add_argument(
        "--labels",
        default=None,
        help="comma list of labels or folder=label pairs (default: the sub-folder names)",
    )
    lo.add_argument("--out", required=True, help="adapter directory")
    lo.add_argument("--rank", type=int, default=8, help="LoRA rank (default 8)")
    lo.add_argument("--alpha", type=float, default=16.0, help="LoRA alpha (default 16)")
    lo.add_argument("--epochs", type=int, default=5, help="epochs per fit (default 5)")
    lo.add_argument("--batch-size", type=int, default=32, help="windows per step (default 32)")
    lo.add_argument("--lr", type=float, default=1e-2, help="peak learning rate (default 1e-2)")
    lo.add_argument("--augment", action="store_true", help="augment windows (off by default)")
    lo.add_argument("--no-cv", action="store_true", help="skip leave-one-recording-out figures")
    lo.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    lo.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    lo.add_argument("--json", action="store_true", help="print the adapter card as JSON")
    lo.set_defaults(func=_train_lora)

    m = sub.add_parser(
        "llm",
        help="mm-LLM: radar projector (+ LoRA) SFT of Gemma 3 270M on instruction data",
        description="Supervised fine-tuning of the mm-LLM (training/llm/train.py) on a data set made "
        "by `python -m training.llm.data`; rerunning resumes; --eval scores the held-out split "
        "(training/llm/evaluate.py) and writes the figures into the card.",
    )
    m.add_argument("--data", required=True, help="instruction data directory (training.llm.data)")
    m.add_argument("--out", default="mmllm-out", help="checkpoint directory (default ./mmllm-out)")
    m.add_argument("--steps", type=int, default=300, help="optimizer steps (default 300)")
    m.add_argument("--batch-size", type=int, default=4, help="QA pairs per step (default 4)")
    m.add_argument("--lr", type=float, default=2e-3, help="projector learning rate (default 2e-3)")
    m.add_argument(
        "--lora",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="LoRA on q/v (default on)",
    )
    m.add_argument("--lora-rank", type=int, default=8, help="LoRA rank (default 8)")
    m.add_argument("--lora-lr", type=float, default=1e-3, help="LoRA learning rate (default 1e-3)")
    m.add_argument("--num-tokens", type=int, default=4, help="radar soft tokens K (default 4)")
    m.add_argument(
        "--anchor-steps",
        type=int,
        default=0,
        help="stage 0 first: full-batch steps fitting the projector's soft tokens to the token "
        "rows of each window's caption, no LLM pass (seconds; default 0)",
    )
    m.add_argument(
        "--align-steps",
        type=int,
        default=0,
        help="stage 1 first: steps training only the projector on radar-only captions (default 0)",
    )
    m.add_argument("--align-batch-size", type=int, default=16, help="stage-1 batch (default 16)")
    m.add_argument("--align-lr", type=float, default=3e-3, help="stage-1 LR (default 3e-3)")
    m.add_argument(
        "--radar-history-prob",
        type=float,
        default=None,
        help="chance that a presence/counting/activity pair gets the history-only context "
        "(answer only in the radar tokens; default: 0.4 like the others)",
    )
    m.add_argument(
        "--input-scale",
        type=float,
        default=1.0,
        help="projector input scale (16 = sqrt(256): unit-variance entries; default 1)",
    )
    m.add_argument("--gguf", default=None, help="base GGUF (default: assembled in $MMFM_CACHE/llm)")
    m.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    m.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    m.add_argument(
        "--save-every", type=int, default=10, help="checkpoint every N steps (default 10)"
    )
    m.add_argument(
        "--eval",
        type=int,
        default=0,
        metavar="N",
        help="after training, score N held-out QA pairs in three variants (0 = skip; default 0)",
    )
    m.add_argument("--no-progress", action="store_true", help="no progress bar")
    m.set_defaults(func=_train_llm)
    p.set_defaults(func=lambda args: (p.print_help(sys.stderr), 2)[1])


def _train_clmp(args: argparse.Namespace) -> int:
    from pathlib import Path

    from runtime.dataset import DatasetError
    from training.clmp import DEFAULT_MODEL, list_models
    from training.clmp.stream import ShardReader, is_url
    from training.clmp.train import TrainSettings, train_clmp
    from training.distributed import DistributedError, distributed_session

    model = args.model or DEFAULT_MODEL
    if model not in list_models() and not Path(model).is_file():
        print(f"error: unknown model {model!r}; known: {', '.join(list_models())}", file=sys.stderr)
        return 1
    data = [d.strip() for d in args.data.split(",") if d.strip()]
    for d in data:
        if is_url(d) and not args.stream:
            print(f"error: {d}: a URL is read with --stream only", file=sys.stderr)
            return 1
        if args.stream:
            try:
                ShardReader(d)
            except DatasetError as exc:
                print(f"error: {str(exc).splitlines()[0]}", file=sys.stderr)
                return 1
        elif not (Path(d) / "index.json").is_file():
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
    if args.workers < 0:
        print("error: --workers must be >= 0", file=sys.stderr)
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
        stream=args.stream,
        workers=args.workers,
        shuffle_buffer=args.shuffle_buffer,
        device=args.device,
        precision=args.precision,
        command="mmfm " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        if sys.argv[1:2] == ["train"]
        else "mmfm train clmp " + " ".join(shlex.quote(a) for a in _argv_of(args)),
    )
    try:
        with distributed_session(args.device, args.precision) as env:
            progress = None
            if not args.no_progress and env.is_main:  # one progress bar, rank 0's
                from tqdm import tqdm

                def progress(it, total, desc):
                    return tqdm(it, total=total, desc=desc, leave=False, file=sys.stderr)

            def log(line: str) -> None:
                if env.is_main:
                    print(line, file=sys.stderr, flush=True)

            card = train_clmp(settings, progress=progress, log=log, env=env)
    except (DatasetError, DistributedError, ValueError, OSError) as exc:
        print(f"error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    if not env.is_main:
        return 0
    held = card.get("metrics", {}).get("held_out", {})
    figures = ", ".join(f"{k} {v:.3f}" for k, v in held.items() if isinstance(v, float))
    print(f"checkpoint: {args.out} ({figures})")
    return 0


def _train_lora(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    import torch

    from training.clmp.evaluate import EvalError, parse_labels, radhar_windows
    from training.clmp.lora import LoraSettings, train_lora
    from training.clmp.shipped import checkpoint_dir

    def fail(msg: str) -> int:
        print(f"error: {msg.splitlines()[0]}", file=sys.stderr)
        return 1

    if args.epochs < 1 or args.batch_size < 2 or args.rank < 1 or args.threads < 1:
        return fail("--epochs, --rank and --threads must be >= 1, --batch-size >= 2")
    root = Path(args.real)
    if not root.is_dir():
        return fail(f"{root}: no such folder")
    torch.set_num_threads(args.threads)
    settings = LoraSettings(
        rank=args.rank,
        alpha=args.alpha,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        augment=args.augment,
        seed=args.seed,
    )

    def log(line: str) -> None:
        print(line, file=sys.stderr if args.json else sys.stdout, flush=True)

    try:
        if args.labels:
            pairs = parse_labels(args.labels)
        else:
            pairs = [(p.name, p.name) for p in sorted(root.iterdir()) if p.is_dir()]
            if not pairs:
                return fail(f"{root}: no class sub-folders")
        contract = json.loads((checkpoint_dir(args.base) / "card.json").read_text())[
            "input_contract"
        ]
        data = radhar_windows(root, pairs, contract)
        if len(set(data.recording)) < 2 and not args.no_cv:
            return fail(f"{root}: leave-one-recording-out needs at least two recordings")
        log(
            f"{len(data.target)} windows from {len(set(data.recording))} recordings, labels: "
            + ", ".join(data.labels)
        )
        card = train_lora(
            args.base,
            data,
            settings,
            args.out,
            command="mmfm " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
            data_info={"path": str(root), "format": args.format},
            cross_validation=not args.no_cv,
            log=log,
        )
    except (EvalError, ValueError, OSError) as exc:
        return fail(str(exc))
    if args.json:
        print(json.dumps(card))
        return 0
    loo = card["metrics"].get("loo")
    if loo:
        print(
            f"leave-one-recording-out window accuracy: before {loo['before']:.1%} -> after "
            f"{loo['after']:.1%} ({loo['windows']} windows, {loo['recordings']} recordings)"
        )
    print(f"adapter: {args.out} (trained on all {card['data']['windows']} windows)")
    return 0


def _argv_of(args: argparse.Namespace) -> list[str]:
    """The options of a programmatic call, for the card's command."""
    out = ["--data", args.data, "--out", args.out]
    if args.model:
        out += ["--model", args.model]
    out += ["--epochs", str(args.epochs), "--batch-size", str(args.batch_size)]
    if args.stream:
        out += ["--stream"]
    return out


def _train_llm(args: argparse.Namespace) -> int:
    from pathlib import Path

    def fail(msg: str) -> int:
        print(f"error: {msg}", file=sys.stderr)
        return 1

    if args.steps < 1 or args.batch_size < 1 or args.num_tokens < 1 or args.threads < 1:
        return fail("--steps, --batch-size, --num-tokens and --threads must be >= 1")
    if (
        args.anchor_steps < 0
        or args.align_steps < 0
        or args.align_batch_size < 1
        or not args.input_scale > 0
    ):
        return fail(
            "--anchor-steps and --align-steps must be >= 0, --align-batch-size >= 1, --input-scale > 0"
        )
    if not (Path(args.data) / "card.json").is_file():
        return fail(
            f"{args.data}: not an mm-LLM data set (no card.json; python -m training.llm.data)"
        )
    try:
        from runtime.llm.base_model import BaseModelError, base_model_path
        from training.llm.train import TrainConfig, train
    except ImportError as exc:
        return fail(f"{exc} (pip install 'mmfm[train,llm]')")
    try:
        gguf = base_model_path(args.gguf)
    except BaseModelError as exc:
        return fail(str(exc).splitlines()[0])
    cfg = TrainConfig(
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        lora=args.lora,
        lora_rank=args.lora_rank,
        lora_lr=args.lora_lr,
        num_tokens=args.num_tokens,
        anchor_steps=args.anchor_steps,
        align_steps=args.align_steps,
        align_batch_size=args.align_batch_size,
        align_lr=args.align_lr,
        radar_history_prob=args.radar_history_prob,
        input_scale=args.input_scale,
        seed=args.seed,
        threads=args.threads,
        save_every=args.save_every,
    )
    command = "mmfm " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    progress = None
    if not args.no_progress:
        from tqdm import tqdm

        def progress(done, total):
            return tqdm(initial=done, total=total, desc="steps", unit="step", file=sys.stderr)

    from training.distributed import DistributedError, distributed_session

    try:
        with distributed_session(device="cpu", precision="fp32") as env:
            model, state = train(
                args.data, args.out, cfg, gguf=gguf, command=command, progress=progress, env=env
            )
            if args.eval > 0 and env.is_main:
                from training.llm.evaluate import evaluate_checkpoint

                evaluate_checkpoint(model, args.data, args.out, limit=args.eval)
            if not env.is_main:
                return 0
    except (ValueError, OSError, DistributedError) as exc:
        return fail(str(exc).splitlines()[0])
    losses = state.losses
    print(
        f"checkpoint: {args.out} (steps {state.step}, loss {sum(losses[:10]) / max(1, len(losses[:10])):.3f}"
        f" -> {sum(losses[-10:]) / max(1, len(losses[-10:])):.3f})"
    )
    return 0
