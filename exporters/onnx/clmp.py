"""Export a CLMP radar encoder (point clouds, or raw-ADC maps) to an ONNX model artifact (``mmfm.model/1``).

The artifact is a directory that the edge runtime (``runtime.models``) loads with numpy and ONNX Runtime
only::

    DIR/
      encoder.onnx          fp32; inputs points float32 [batch, T, P, C], mask float32 [batch, T, P];
                            output embedding float32 [batch, D] (L2-normalised); ``batch`` is dynamic.
                            A raw-ADC model (kind "clmp-adc"): inputs maps float32 [batch, T, C, R, K]
                            and mask float32 [batch, T] (runtime.inference.adc_window)
      encoder.int8.onnx     the same graph with the weights of MatMul/Gemm dynamically quantised to int8
                            (activations quantised per call; convolutions stay fp32: slower as int8 here)
      text_prototypes.npz   one float32 [L, D] array per label set (key = label-set name), rows in the
                            order of ``card["label_sets"][name]``; absent when no label set is exported
      card.json             {"format": "mmfm.model/1", "name", "kind": "clmp-points", "input_contract",
                             "embedding_dim", "logit_scale", "label_sets", "prompt_templates", "onnx",
                             "training": <the checkpoint card>, "exported", "files": {file: sha256}}

Each ONNX file also carries the provenance the runtime cross-checks against the card (metadata props
``mmfm.*``: embedding size, input contract, sha256 of the checkpoint's ``model.pt``), so a card copied
from another model is refused even when its file hashes were recomputed.

This module takes a model object and arrays; it imports nothing from ``training`` (the command line
computes the text prototypes with ``training.clmp.labels`` and passes them in).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import shutil
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime
import torch

from exporters.onnx.quantize import quantize_dynamic_int8
from exporters.onnx.text import (
    TEXT_INT8_FILE,
    TEXT_ONNX_FILE,
    TOKENIZER_FILE,
    export_text_tower,
    quantize_text_int8,
)

ARTIFACT_FORMAT = "mmfm.model/1"
KIND_POINTS = "clmp-points"
#: Raw-ADC encoders (``runtime.inference.adc_window`` maps): inputs ``maps`` + ``mask``.
KIND_ADC = "clmp-adc"
CARD_FILE = "card.json"
ONNX_FILE = "encoder.onnx"
INT8_FILE = "encoder.int8.onnx"
PROTOTYPES_FILE = "text_prototypes.npz"
OPSET = 17
OUTPUT_NAME = "embedding"
# Batch used while tracing: >= 2, or the exporter may specialise the batch axis to a constant.
_TRACE_BATCH = 3


class ExportError(ValueError):
    """The model, card or label sets cannot make a valid artifact (the message says what)."""


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def input_shapes(contract: Mapping[str, Any]) -> dict[str, list[int]]:
    """The encoder's inputs without the batch axis: ``points [T, P, C]`` + ``mask [T, P]``, or for an
    ``adc`` contract ``maps [T, C, R, K]`` + ``mask [T]`` (as ``runtime.models.encoder_inputs``).

    Raises:
        ExportError: a key the contract lacks.
    """
    if contract.get("kind") == "adc":
        keys = ("frames", "maps", "range_m", "velocity_mps")
    else:
        keys = ("frames", "max_points", "channels")
    for key in keys:
        if key not in contract:
            raise ExportError(f"the model's input_contract has no {key!r}")
    frames = int(contract["frames"])
    if contract.get("kind") == "adc":
        r, k = int(contract["range_m"][2]), int(contract["velocity_mps"][2])
        return {"maps": [frames, len(contract["maps"]), r, k], "mask": [frames]}
    p = int(contract["max_points"])
    return {"points": [frames, p, len(contract["channels"])], "mask": [frames, p]}


def example_adc_window(
    contract: Mapping[str, Any], batch: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Plausible raw-ADC map windows ``maps [B, T, C, R, K]`` (dB above the floor: a blob that moves
    over sparse speckle) and ``mask [B, T]`` (a few slots empty), for tracing and parity checks."""
    rng = np.random.default_rng(seed)
    shape = input_shapes(contract)["maps"]
    t, c, r, k = shape
    maps = np.where(rng.random((batch, *shape)) < 0.15, rng.uniform(0, 8, (batch, *shape)), 0.0)
    rr, kk = np.meshgrid(np.arange(r), np.arange(k), indexing="ij")
    for b in range(batch):
        r0, k0 = rng.uniform(0.2 * r, 0.7 * r), rng.uniform(0.3 * k, 0.7 * k)
        for f in range(t):
            blob = 35.0 * np.exp(-((rr - r0 - 0.2 * f) ** 2) / 8.0 - (kk - k0) ** 2 / 4.0)
            maps[b, f] += blob[None] * rng.uniform(0.5, 1.0, size=(c, 1, 1))
    mask = np.ones((batch, t), np.float32)
    mask[:, rng.integers(0, t, size=2)] = 0.0
    maps *= mask[:, :, None, None, None]
    return maps.astype(np.float32), mask


def example_window(
    contract: Mapping[str, Any], batch: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A plausible padded point window for tracing and parity checks (an ``adc`` contract:
    :func:`example_adc_window`).

    Args:
        contract: the model's ``input_contract`` (``frames`` T, ``max_points`` P, ``channels``).
        batch: B.
        seed: numpy seed.

    Returns:
        points float32 ``[B, T, P, C]`` (x, y, z [m], v [m/s], snr [dB] for the five radar channels;
        padding rows are zero) and mask float32 ``[B, T, P]`` (1 = real point; 3..P points per frame).
    """
    if contract.get("kind") == "adc":
        return example_adc_window(contract, batch, seed)
    rng = np.random.default_rng(seed)
    frames, max_points = int(contract["frames"]), int(contract["max_points"])
    channels = len(contract["channels"])
    points = np.zeros((batch, frames, max_points, channels), np.float32)
    mask = np.zeros((batch, frames, max_points), np.float32)
    for b in range(batch):
        centre = rng.uniform([-1.5, 1.0, -0.5], [1.5, 4.5, 0.8])
        for t in range(frames):
            n = int(rng.integers(min(3, max_points), max_points + 1))
            xyz = centre + rng.normal(0.0, [0.25, 0.2, 0.45], size=(n, 3))
            v = rng.normal(0.0, 0.8, size=n)
            snr = rng.uniform(5.0, 35.0, size=n)
            row = np.column_stack([xyz, v, snr])[:, :channels]
            if channels > row.shape[1]:
                row = np.pad(row, ((0, 0), (0, channels - row.shape[1])))
            points[b, t, :n] = row
            mask[b, t, :n] = 1.0
    return points, mask


def _logit_scale(model: torch.nn.Module) -> float:
    """The multiplier of cosine similarities in zero-shot logits (1 / temperature).

    CLIP convention: ``model.logit_scale`` is the log of that multiplier (clamped at 100 after exp, as
    in training); a ``temperature`` attribute (the divisor) is read when there is no ``logit_scale``.
    """
    if hasattr(model, "logit_scale"):
        # clamped at 100 as in training (CLIP)
        value = min(float(torch.as_tensor(model.logit_scale).detach().float().exp()), 100.0)
    elif hasattr(model, "temperature"):
        value = 1.0 / float(torch.as_tensor(model.temperature).detach().float())
    else:
        raise ExportError(
            "the model has neither logit_scale (log of 1/temperature) nor temperature"
        )
    if not math.isfinite(value) or value <= 0:
        raise ExportError(f"the model's logit scale is {value}, not a positive number")
    return value


def _check_prototypes(
    label_sets: Mapping[str, Sequence[str]],
    prototypes: Mapping[str, np.ndarray],
    dim: int,
) -> dict[str, np.ndarray]:
    if set(label_sets) != set(prototypes):
        raise ExportError(
            f"label sets {sorted(label_sets)} and prototypes {sorted(prototypes)} name different sets"
        )
    out: dict[str, np.ndarray] = {}
    for name, labels in label_sets.items():
        arr = np.asarray(prototypes[name], dtype=np.float32)
        if arr.shape != (len(labels), dim):
            raise ExportError(
                f"prototypes of label set {name!r} have shape {arr.shape}, expected ({len(labels)}, {dim})"
            )
        if not np.all(np.isfinite(arr)):
            raise ExportError(f"prototypes of label set {name!r} hold non-finite values")
        out[name] = arr / np.linalg.norm(arr, axis=1, keepdims=True).clip(1e-12)
    return out


def _stamp(path: Path, meta: Mapping[str, str], doc: str) -> None:
    """Write ``mmfm.*`` metadata props (replacing any) into an ONNX file, then check it."""
    proto = onnx.load(str(path))
    keep = [p for p in proto.metadata_props if not p.key.startswith("mmfm.")]
    del proto.metadata_props[:]
    proto.metadata_props.extend(keep)
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.doc_string = doc
    proto.producer_name = "mmfm.exporters.onnx"
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))


def quantize_int8(src: Path, dst: Path) -> None:
    """Dynamic int8 quantisation of the weights of MatMul/Gemm (ONNX Runtime's ``quantize_dynamic``).

    Weights become int8 (per tensor); activations are quantised to uint8 at run time; only MatMuls with
    a constant B are touched (attention products between activations stay fp32); convolutions stay fp32.
    """
    quantize_dynamic_int8(src, dst, op_types=["MatMul", "Gemm"], per_channel=False)


def _export_encoder(encoder: torch.nn.Module, contract: Mapping[str, Any], path: Path) -> None:
    points, mask = example_window(contract, batch=_TRACE_BATCH, seed=0)
    names = list(input_shapes(contract))  # points|maps, mask
    batch_axis = {0: "batch"}
    # nn.TransformerEncoder's fused inference kernel (the "fast path") has no ONNX symbolic: trace the
    # plain composite ops instead (same maths).
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # the TorchScript exporter's deprecation notice, and tracer notes on shape arithmetic that
            # is constant for a given architecture (e.g. sqrt(head_dim))
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            torch.onnx.export(
                encoder,
                (torch.from_numpy(points), torch.from_numpy(mask)),
                str(path),
                dynamo=False,
                opset_version=OPSET,
                input_names=names,
                output_names=[OUTPUT_NAME],
                dynamic_axes={names[0]: batch_axis, names[1]: batch_axis, OUTPUT_NAME: batch_axis},
                do_constant_folding=True,
            )
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)


def _export_text(
    tower: torch.nn.Module,
    tokenizer_file: str | Path | None,
    staging: Path,
    meta: Mapping[str, str],
    *,
    int8: bool,
) -> dict[str, Any]:
    """Write the text tower (+ int8) and its tokenizer into ``staging``; the card's ``text_encoder``."""
    if tokenizer_file is None or not Path(tokenizer_file).is_file():
        raise ExportError(f"text tower export needs its tokenizer.json (got {tokenizer_file})")
    doc = "mmfm CLMP text tower: input_ids, attention_mask [batch,tokens] -> embedding [batch,D]"
    export_text_tower(tower, staging / TEXT_ONNX_FILE, OPSET)
    _stamp(staging / TEXT_ONNX_FILE, meta, doc)
    entry: dict[str, Any] = {"fp32": TEXT_ONNX_FILE}
    if int8:
        quantize_text_int8(staging / TEXT_ONNX_FILE, staging / TEXT_INT8_FILE)
        _stamp(staging / TEXT_INT8_FILE, {**meta, "mmfm.precision": "int8"}, doc + " (int8)")
        entry["int8"] = TEXT_INT8_FILE
    shutil.copyfile(tokenizer_file, staging / TOKENIZER_FILE)
    entry["tokenizer"] = TOKENIZER_FILE
    return entry


def _replace_dir(staging: Path, out: Path) -> None:
    """Move ``staging`` to ``out``; an existing ``out`` must be empty or an mmfm model artifact."""
    if out.exists():
        card = out / CARD_FILE
        if not out.is_dir():
            raise ExportError(f"{out}: exists and is not a directory")
        if any(out.iterdir()):
            try:
                fmt = json.loads(card.read_text(encoding="utf-8")).get("format")
            except (OSError, ValueError, AttributeError):
                fmt = None
            if fmt != ARTIFACT_FORMAT:
                raise ExportError(
                    f"{out}: not empty and not an {ARTIFACT_FORMAT} model directory; refusing to overwrite"
                )
        shutil.rmtree(out)
    shutil.move(str(staging), str(out))


def export_clmp(
    model: torch.nn.Module,
    card: Mapping[str, Any],
    out_dir: str | Path,
    *,
    int8: bool = True,
    label_sets: Mapping[str, Sequence[str]] | None = None,
    prototypes: Mapping[str, np.ndarray] | None = None,
    prompt_templates: Sequence[str] = (),
    name: str | None = None,
    text_tower: torch.nn.Module | None = None,
    tokenizer_file: str | Path | None = None,
    text_max_length: int = 128,
) -> Path:
    """Write a CLMP model's point encoder as an ``mmfm.model/1`` artifact directory.

    Args:
        model: a ``training.clmp.CLMP`` (any module with ``point_encoder``, ``input_contract``,
            ``embedding_dim`` and ``logit_scale``); put in eval mode here.
        card: the checkpoint card (``mmfm.clmp.checkpoint/1``) the weights came from; copied whole
            into ``card["training"]``.
        out_dir: the artifact directory; created, or replaced when it is an artifact already.
        int8: also write ``encoder.int8.onnx``.
        label_sets: ``{set name: [label, ...]}`` for which text prototypes are shipped.
        prototypes: ``{set name: float32 [L, D]}`` matching ``label_sets`` (prompt-ensembled text
            embeddings, e.g. from ``training.clmp.labels.text_prototypes``); re-normalised here.
        prompt_templates: the templates the prototypes were ensembled over (recorded in the card).
        name: the model's name (default: the checkpoint card's ``name``, else the directory name).
        text_tower: also export the text tower (``exporters.onnx.text.TextTower``: sentence encoder +
            the model's projection) as ``text_encoder.onnx`` (+ int8), so the runtime can embed new
            labels without torch; ~91 MB fp32, ~23 MB int8.
        tokenizer_file: the sentence encoder's ``tokenizer.json`` (required with ``text_tower``).
        text_max_length: tokens kept per text (truncation), recorded in the card.

    Returns:
        The artifact directory.

    Raises:
        ExportError: inconsistent contract, label sets or prototypes, or an ``out_dir`` that is not an
            artifact.
    """
    out = Path(out_dir)
    contract = dict(model.input_contract)
    shapes = input_shapes(contract)
    kind = KIND_ADC if contract.get("kind") == "adc" else KIND_POINTS
    dim = int(model.embedding_dim)
    label_sets = {k: list(v) for k, v in (label_sets or {}).items()}
    protos = _check_prototypes(label_sets, prototypes or {}, dim)
    scale = _logit_scale(model)
    bias = float(model.logit_bias.detach()) if hasattr(model, "logit_bias") else None
    model_name = name or str(card.get("name") or out.name)
    checkpoint_sha = str(card.get("files", {}).get("model.pt", ""))

    model.eval()
    encoder = model.point_encoder.eval()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)  # mkdtemp makes it 0700; a model directory is as readable as any
    try:
        _export_encoder(encoder, contract, staging / ONNX_FILE)
        meta = {
            "mmfm.format": ARTIFACT_FORMAT,
            "mmfm.kind": kind,
            "mmfm.name": model_name,
            "mmfm.embedding_dim": str(dim),
            "mmfm.input_contract": json.dumps(contract, sort_keys=True),
            "mmfm.checkpoint_sha256": checkpoint_sha,
            "mmfm.role": "adc" if kind == KIND_ADC else "points",
        }
        if kind == KIND_ADC:
            doc = f"mmfm CLMP raw-ADC encoder {model_name}: maps [batch,T,C,R,K] + mask [batch,T] -> [batch,{dim}]"
        else:
            doc = f"mmfm CLMP point encoder {model_name}: points [batch,T,P,C] + mask [batch,T,P] -> [batch,{dim}]"
        _stamp(staging / ONNX_FILE, meta, doc)
        encoders = {"fp32": ONNX_FILE}
        if int8:
            quantize_int8(staging / ONNX_FILE, staging / INT8_FILE)
            _stamp(
                staging / INT8_FILE, {**meta, "mmfm.precision": "int8"}, doc + " (int8 MatMul/Gemm)"
            )
            encoders["int8"] = INT8_FILE
        if protos:
            np.savez(staging / PROTOTYPES_FILE, **protos)
        text_card = None
        if text_tower is not None:
            text_card = _export_text(
                text_tower, tokenizer_file, staging, {**meta, "mmfm.role": "text"}, int8=int8
            )
            text_card["max_length"] = int(text_max_length)
        files = {p.name: sha256_file(p) for p in sorted(staging.iterdir()) if p.is_file()}
        artifact_card = {
            "format": ARTIFACT_FORMAT,
            "name": model_name,
            "kind": kind,
            "input_contract": contract,
            "embedding_dim": dim,
            "logit_scale": scale,
            **({"logit_bias": bias} if bias is not None else {}),
            "label_sets": label_sets,
            "prompt_templates": list(prompt_templates),
            "prototypes": PROTOTYPES_FILE if protos else None,
            "encoders": encoders,
            **({"text_encoder": text_card} if text_card else {}),
            "onnx": {
                "opset": OPSET,
                "inputs": {name: ["batch", *shape] for name, shape in shapes.items()},
                "outputs": {OUTPUT_NAME: ["batch", dim]},
                "int8": "onnxruntime quantize_dynamic: MatMul/Gemm with constant weights, QInt8 per tensor, 7-bit range",
            },
            "training": dict(card),
            "exported": {
                "time": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
                "torch": torch.__version__,
                "onnx": onnx.__version__,
                "onnxruntime": onnxruntime.__version__,
            },
            "files": files,
        }
        (staging / CARD_FILE).write_text(
            json.dumps(artifact_card, indent=2) + "\n", encoding="utf-8"
        )
        _replace_dir(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return out
