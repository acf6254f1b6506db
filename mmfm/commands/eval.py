"""`mmfm eval`: zero-shot classification and retrieval with a trained CLMP model.

mmfm eval zeroshot --data ../shared/realdata/radhar-fewshot --format radhar \
    --labels "boxing,jumping jacks,jumping,squats,walking" --json      # shipped default model, ONNX
mmfm eval zeroshot --data /data/sim-heldout --format mmfm --model /data/ckpt/clmp
mmfm eval retrieval --data /data/sim-heldout --model /data/ckpt/clmp
mmfm eval retrieval --data /tmp/clmp-points-v2/heldout-home.npz --model clmp-points-v2  # recipe's

``--model``: a shipped/user model name or exported directory (ONNX Runtime; default ``clmp-points-v2``),
a checkpoint directory of ``mmfm train clmp`` (torch) or an adapter directory of ``mmfm train lora``
(``training.clmp.sources``). Labels outside an exported model's label sets use its text tower
(``text_encoder.onnx``) or the checkpoint shipped in its ``checkpoint/``.

``--format radhar``: one sub-folder per class (named like the label, like its activity - "jack" for
jumping jacks - or given as ``folder=label``), RadHAR text dumps inside, cut into 2 s windows every 1/3 s
(the RadHAR paper's sliding window). ``--json`` prints one object: ``accuracy`` (windows, 0-1),
``per_class``, ``confusion`` (rows: truth), ``labels``, ``windows``. Bad input is one line, exit 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DEFAULT_MODEL_HINT = (
    "model name or exported directory (default clmp-points-v2), a checkpoint directory of "
    "`mmfm train clmp`, or an adapter directory of `mmfm train lora`"
)
PRECISION_HELP = "exported models: encoder precision (default: int8 when shipped, as the hub runs)"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "eval",
        help="evaluate CLMP: zero-shot classification, text<->radar retrieval",
        description="Evaluate a trained CLMP model.",
    )
    sub = p.add_subparsers(dest="eval_command", metavar="EVAL_COMMAND")
    z = sub.add_parser(
        "zeroshot",
        help="zero-shot activity classification from label names",
        description="Zero-shot classification: windows vs prompt-ensemble label prototypes.",
    )
    z.add_argument(
        "--data",
        required=True,
        help="RadHAR class folders, an mmfm dataset or a .npz of prepared windows (--format mmfm)",
    )
    z.add_argument("--format", choices=("mmfm", "radhar"), default="mmfm", help="data format")
    z.add_argument(
        "--labels",
        help="comma list of label texts, or folder=label pairs (mmfm: default every activity)",
    )
    z.add_argument("--model", help=DEFAULT_MODEL_HINT)
    z.add_argument("--precision", choices=("int8", "fp32"), help=PRECISION_HELP)
    z.add_argument(
        "--holdout-every",
        type=int,
        default=0,
        help="mmfm format: only the held-out split of a training set trained with --holdout-every N",
    )
    z.add_argument("--json", action="store_true", help="print one JSON object")
    z.add_argument("--png", help="write the confusion matrix as a PNG")
    z.set_defaults(func=_zeroshot)

    r = sub.add_parser(
        "retrieval",
        help="radar->text and text->radar recall on a held-out simulated set",
        description="R@1/R@5 both ways, one caption per window, in a pool of --pool windows.",
    )
    r.add_argument(
        "--data",
        required=True,
        help="mmfm dataset (held-out rooms and subjects) or a .npz of prepared windows",
    )
    r.add_argument("--model", help=DEFAULT_MODEL_HINT)
    r.add_argument("--precision", choices=("int8", "fp32"), help=PRECISION_HELP)
    r.add_argument("--pool", type=int, default=1000, help="windows in the pool (default 1000)")
    r.add_argument(
        "--holdout-every", type=int, default=0, help="only the held-out split of --holdout-every N"
    )
    r.add_argument("--json", action="store_true", help="print one JSON object")
    r.set_defaults(func=_retrieval)
    p.set_defaults(func=lambda args: (p.print_help(sys.stderr), 2)[1])


def _fail(msg: str) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return 1


def _open(spec: str | None, precision: str | None):
    from training.clmp.sources import open_model

    return open_model(spec, precision=precision)


def _zeroshot(args: argparse.Namespace) -> int:
    from training.clmp.evaluate import (
        EvalError,
        mmfm_windows,
        parse_labels,
        plot_confusion,
        radhar_windows,
        zeroshot,
    )

    try:
        pairs = parse_labels(args.labels) if args.labels else None
        if args.format == "radhar" and pairs is None:
            raise EvalError("--labels is required with --format radhar")
        if not Path(args.data).exists():
            raise EvalError(f"{args.data}: no such folder")
        model = _open(args.model, args.precision)
        contract = model.input_contract
        if args.format == "radhar":
            data = radhar_windows(args.data, pairs, contract)
        else:
            data = mmfm_windows(args.data, pairs, contract, holdout_every=args.holdout_every)
        result = zeroshot(model, data)
        if args.png:
            plot_confusion(result, args.png)
    except (EvalError, ValueError, OSError) as exc:
        return _fail(str(exc).splitlines()[0])
    result["model"] = model.name
    result["backend"] = model.kind
    result["format"] = args.format
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"zero-shot accuracy {result['accuracy']:.1%} over {result['windows']} windows")
    for lab, pc in result["per_class"].items():
        acc = "n/a" if pc["accuracy"] is None else f"{pc['accuracy']:.1%}"
        print(f"  {lab:<24} {acc:>7}  ({pc['windows']} windows)")
    return 0


def _retrieval(args: argparse.Namespace) -> int:
    from training.clmp.evaluate import EvalError, retrieval

    try:
        if args.pool < 2:
            raise EvalError("--pool must be at least 2")
        model = _open(args.model, args.precision)
        result = retrieval(model, args.data, pool=args.pool, holdout_every=args.holdout_every)
    except (EvalError, ValueError, OSError) as exc:
        return _fail(str(exc).splitlines()[0])
    if args.json:
        print(json.dumps(result))
        return 0
    for k in ("radar_to_text", "text_to_radar"):
        r = result[k]
        print(f"{k.replace('_', ' ')}: R@1 {r['R@1']:.1%}  R@5 {r['R@5']:.1%}")
    print(f"pool: {result['windows']} windows, {result['texts']} distinct captions")
    return 0
