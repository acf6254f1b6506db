"""An mm-LLM training checkpoint -> the runtime's ``mmfm.model/1`` directory (kind ``mmllm``).

Checkpoint (``mmfm train llm``; ``/work/llm-contract.md``)::

    CKPT/projector.pt  projector.json  adapter/ (peft LoRA, optional)  card.json
        card.json: {"format": "mmfm.mmllm.checkpoint/1", base model file + sha256, CLMP encoder
                    name + card sha256, "context_version", "instruction", training command, metrics}

Exported model directory::

    OUT/projector.onnx   embedding float32 [batch, 256] -> soft_tokens float32 [batch, K, 640]
                         (table units; metadata mmfm.* = format, kind, role, K, sha256 of projector.pt)
    OUT/adapter.gguf     the LoRA as a llama.cpp adapter GGUF (:mod:`exporters.gguf.lora`); optional
    OUT/model.gguf       optional (``merged_from``): the base GGUF with the LoRA merged, Q8_0 where
                         adapted (:mod:`exporters.gguf.merge`); the runtime then runs it alone
    OUT/card.json        {"format": "mmfm.model/1", "kind": "mmllm", "name", "embedding_dim",
                          "num_soft_tokens", "soft_token_dim", "encoder", "encoder_card_sha256",
                          "context_version", "instruction", "base_model": {"file", "sha256"},
                          "projector", "adapter", "lora", "training": <checkpoint card + files>,
                          "exported", "files": {file: sha256}}

The runtime (``runtime.models.load_mmllm``) re-hashes every file and checks the projector's metadata
and shapes against the card. Written into a staging folder beside ``OUT`` and moved into place at
the end (an existing ``OUT`` is replaced only when it is an mmfm model directory).

This module imports neither ``runtime`` nor ``training``: the caller checks the base model's sha256
against the runtime's (``mmfm export llm`` does).
"""

from __future__ import annotations

import datetime as _dt
import json
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import onnx
from torch import nn

from exporters.gguf.lora import LoraExportError, write_lora_gguf
from exporters.gguf.merge import write_merged_gguf
from exporters.gguf.projector import (
    ProjectorExportError,
    compare_with_torch,
    export_projector,
    load_projector,
    read_projector_config,
)
from exporters.onnx.clmp import sha256_file
from exporters.onnx.quantize import quantize_dynamic_int8

CHECKPOINT_FORMAT = "mmfm.mmllm.checkpoint/1"
MODEL_FORMAT = "mmfm.model/1"
KIND = "mmllm"
CARD_FILE = "card.json"
PROJECTOR_FILE = "projector.onnx"
ADAPTER_FILE = "adapter.gguf"
MERGED_FILE = "model.gguf"
#: Smallest cosine between int8 and torch soft tokens an int8 projector export accepts.
INT8_MIN_COSINE = 0.995


class MMLLMExportError(ValueError):
    """The checkpoint cannot be exported (the message names the file and what is wrong)."""


def read_checkpoint_card(checkpoint_dir: str | Path) -> dict[str, Any]:
    """The checkpoint's ``card.json`` (format checked)."""
    path = Path(checkpoint_dir) / CARD_FILE
    if not path.is_file():
        raise MMLLMExportError(f"{path}: missing (not an mm-LLM checkpoint directory)")
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MMLLMExportError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(card, dict):
        raise MMLLMExportError(f"{path}: a JSON object expected")
    if card.get("format") != CHECKPOINT_FORMAT:
        raise MMLLMExportError(
            f"{path}: format {card.get('format')!r}, expected {CHECKPOINT_FORMAT!r}"
        )
    return card


def _pick(card: Mapping[str, Any], *paths: str) -> Any:
    """The first present value among dotted ``paths`` (``"base_model.sha256"``) of ``card``."""
    for dotted in paths:
        node: Any = card
        for part in dotted.split("."):
            if not isinstance(node, Mapping) or part not in node:
                break
            node = node[part]
        else:
            return node
    return None


def base_model_of(card: Mapping[str, Any], source: str = CARD_FILE) -> dict[str, str]:
    """``{"file", "sha256"}`` of the base GGUF a checkpoint card names."""
    file = _pick(card, "base_model.file", "base_model.name", "base_model_file")
    sha = _pick(card, "base_model.sha256", "base_model_sha256")
    if not isinstance(file, str) or not isinstance(sha, str) or len(sha) != 64:
        raise MMLLMExportError(f"{source}: no base model file name and sha256")
    return {"file": file, "sha256": sha}


def encoder_of(card: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """``(CLMP encoder name, its card's sha256)`` a checkpoint card names (None when absent)."""
    name = _pick(card, "encoder.model", "encoder.name", "encoder", "data.encoder.name")
    sha = _pick(card, "encoder.card_sha256", "encoder_card_sha256", "data.encoder.card_sha256")
    return (name if isinstance(name, str) else None), (sha if isinstance(sha, str) else None)


def _stamp_onnx(path: Path, meta: Mapping[str, str], doc: str) -> None:
    proto = onnx.load(str(path))
    del proto.metadata_props[:]
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.doc_string = doc
    proto.producer_name = "mmfm.exporters.gguf"
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))


def _replace_dir(staging: Path, out: Path) -> None:
    if out.exists():
        if not out.is_dir():
            raise MMLLMExportError(f"{out}: exists and is not a directory")
        if any(out.iterdir()):
            try:
                fmt = json.loads((out / CARD_FILE).read_text(encoding="utf-8")).get("format")
            except (OSError, ValueError, AttributeError):
                fmt = None
            if fmt != MODEL_FORMAT:
                raise MMLLMExportError(
                    f"{out}: not empty and not an {MODEL_FORMAT} model directory; refusing to "
                    "overwrite"
                )
        shutil.rmtree(out)
    shutil.move(str(staging), str(out))


def export_mmllm(
    checkpoint_dir: str | Path,
    out_dir: str | Path,
    *,
    name: str | None = None,
    encoder: str | None = None,
    projector: nn.Module | None = None,
    adapter: bool = True,
    int8: bool = False,
    merged_from: str | Path | None = None,
    architecture: str = "gemma3",
) -> Path:
    """Export a checkpoint directory to an ``mmllm`` model directory; returns ``out_dir``.

    Args:
        checkpoint_dir: ``projector.pt`` + ``projector.json`` (+ ``adapter/``) + ``card.json``.
        out_dir: the model directory (created; replaced when it is an mmfm model directory).
        name: the model's name in its card (default: the output directory's name).
        encoder: the CLMP model name to record (default: the checkpoint card's).
        projector: the projector module (default: rebuilt from ``projector.json`` + ``.pt``).
        adapter: also export ``adapter/`` as ``adapter.gguf`` when present.
        int8: write the projector with int8 weights (ONNX Runtime dynamic quantisation of its
            MatMul/Gemm, per channel; ~4x smaller); refused when a soft token's cosine to torch's
            falls under :data:`INT8_MIN_COSINE`.
        merged_from: the base GGUF: also write ``model.gguf``, the base with the LoRA merged
            (:mod:`exporters.gguf.merge`; ~290 MB, for a user model directory, not for shipping);
            the runtime then loads it in place of base + adapter.
        architecture: the base GGUF's ``general.architecture``.

    Raises:
        MMLLMExportError, ProjectorExportError, LoraExportError (ValueErrors): what is wrong.
    """
    ckpt = Path(checkpoint_dir)
    out = Path(out_dir)
    card = read_checkpoint_card(ckpt)
    base = base_model_of(card, str(ckpt / CARD_FILE))
    context_version = card.get("context_version")
    if not isinstance(context_version, str):
        raise MMLLMExportError(f"{ckpt / CARD_FILE}: no context_version string")
    enc_name, enc_sha = encoder_of(card)
    enc_name = encoder or enc_name
    if not enc_name:
        raise MMLLMExportError(f"{ckpt / CARD_FILE}: no CLMP encoder name (give one)")
    if projector is None:
        model, config = load_projector(ckpt)
    else:
        model, config = projector, read_projector_config(ckpt)
    in_dim, k, e = int(config["in_dim"]), int(config["num_tokens"]), int(config["out_dim"])
    projector_sha = sha256_file(ckpt / "projector.pt")
    instruction = card.get("instruction")
    if instruction is not None and not isinstance(instruction, str):
        raise MMLLMExportError(f"{ckpt / CARD_FILE}: instruction is not a string")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        export_projector(model, staging / PROJECTOR_FILE, in_dim=in_dim, num_tokens=k, out_dim=e)
        precision = {"precision": "fp32"}
        if int8:
            fp32 = staging / "projector.fp32.tmp"
            (staging / PROJECTOR_FILE).rename(fp32)
            quantize_dynamic_int8(
                fp32, staging / PROJECTOR_FILE, op_types=["MatMul", "Gemm"], per_channel=True
            )
            fp32.unlink()
            err, cos = compare_with_torch(
                model, staging / PROJECTOR_FILE, in_dim=in_dim, min_cosine=INT8_MIN_COSINE
            )
            precision = {"precision": "int8", "max_abs_error": err, "min_cosine": cos}
        meta = {
            "mmfm.format": MODEL_FORMAT,
            "mmfm.kind": KIND,
            "mmfm.role": "projector",
            "mmfm.num_soft_tokens": str(k),
            "mmfm.checkpoint_sha256": projector_sha,
        }
        doc = f"mmfm mm-LLM projector: embedding [batch,{in_dim}] -> soft_tokens [batch,{k},{e}]"
        _stamp_onnx(staging / PROJECTOR_FILE, meta, doc)
        train_files = dict(card.get("files") or {}) if isinstance(card.get("files"), dict) else {}
        train_files["projector.pt"] = projector_sha
        lora: dict[str, Any] | None = None
        adapter_dir = ckpt / "adapter"
        if adapter and adapter_dir.is_dir():
            lora = write_lora_gguf(
                adapter_dir,
                staging / ADAPTER_FILE,
                architecture=architecture,
                name=name or out.name,
                metadata={
                    "mmfm.base_model.sha256": base["sha256"],
                    "mmfm.checkpoint.projector_sha256": projector_sha,
                },
            )
            for f in sorted(adapter_dir.iterdir()):
                if f.is_file():
                    train_files[f"adapter/{f.name}"] = sha256_file(f)
        merged: dict[str, Any] | None = None
        if merged_from is not None:
            if not adapter_dir.is_dir():
                raise MMLLMExportError(f"{ckpt}: no adapter/ to merge into the base model")
            merged = write_merged_gguf(
                merged_from,
                adapter_dir,
                staging / MERGED_FILE,
                name=f"{name or out.name} (merged)",
                metadata={"mmfm.base_model.sha256": base["sha256"]},
            )
        files = {f.name: sha256_file(f) for f in sorted(staging.iterdir()) if f.is_file()}
        doc_card = {
            "format": MODEL_FORMAT,
            "name": name or out.name,
            "kind": KIND,
            "embedding_dim": in_dim,
            "num_soft_tokens": k,
            "soft_token_dim": e,
            "encoder": enc_name,
            "encoder_card_sha256": enc_sha,
            "context_version": context_version,
            "instruction": instruction,
            "base_model": base,
            "projector": PROJECTOR_FILE,
            "projector_config": config,
            "projector_precision": precision,
            "adapter": ADAPTER_FILE if lora else None,
            "lora": lora,
            "merged": MERGED_FILE if merged else None,
            "training": {**card, "files": train_files},
            "exported": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "files": files,
        }
        (staging / CARD_FILE).write_text(
            json.dumps(doc_card, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        staging.chmod(0o755)  # mkdtemp made it private
        _replace_dir(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


__all__ = [
    "CHECKPOINT_FORMAT",
    "LoraExportError",
    "MMLLMExportError",
    "ProjectorExportError",
    "export_mmllm",
]
