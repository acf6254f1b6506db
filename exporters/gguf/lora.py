"""A peft LoRA adapter on Hugging Face Gemma 3 -> a llama.cpp LoRA adapter GGUF (numpy + ``gguf``).

peft saves a LoRA as ``adapter_config.json`` (rank ``r``, ``lora_alpha``, ``use_rslora``, per-module
``rank_pattern`` / ``alpha_pattern``, ``target_modules``) and ``adapter_model.safetensors`` holding, per
adapted linear layer ``W`` (``y = x W^T``, ``W`` ``[out, in]``)::

    base_model.model.model.layers.{N}.self_attn.q_proj.lora_A.weight    A  [r, in]
    base_model.model.model.layers.{N}.self_attn.q_proj.lora_B.weight    B  [out, r]

so that ``y = x W^T + s * x A^T B^T`` with ``s = lora_alpha / r`` (``lora_alpha / sqrt(r)`` with
rsLoRA).

llama.cpp's adapter GGUF (what ``llama_adapter_lora_init`` loads) is a GGUF file with
``general.type = "adapter"``, ``adapter.type = "lora"``, ``adapter.lora.alpha`` and the base model's
``general.architecture``; per adapted base tensor ``blk.N.attn_q.weight`` it holds two tensors
``blk.N.attn_q.weight.lora_a`` and ``.lora_b``. GGUF lists dimensions fastest first (``ne``): the base
weight is ``[in, out]``, ``lora_a`` must be ``[in, r]`` and ``lora_b`` ``[r, out]``; as row-major numpy
arrays those are exactly peft's ``A [r, in]`` and ``B [out, r]``, written as they are (no transpose;
Gemma's q/k projections are not permuted by llama.cpp's converter, unlike LLaMA's). llama.cpp
scales the product by ``adapter_scale * alpha / r`` (``r`` read from each tensor pair; ``alpha = 0``
means no ``alpha / r`` factor), so:

- a uniform adapter (one ``r`` and ``s`` everywhere) is written with ``alpha = s * r`` and raw A, B;
- otherwise (``rank_pattern`` / ``alpha_pattern``) each module's ``s`` is folded into its
  ``lora_b`` and ``alpha = 0``.

Module names (Hugging Face Gemma 3 -> GGUF): ``self_attn.{q,k,v,o}_proj`` -> ``attn_{q,k,v,output}``,
``mlp.{gate,up,down}_proj`` -> ``ffn_{gate,up,down}``. LoRA on other modules (embeddings, the tied
head), DoRA, biases or ``modules_to_save`` are refused: llama.cpp's adapter cannot carry them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

#: Hugging Face Gemma 3 linear layers -> llama.cpp tensor names (per block).
HF_TO_GGUF = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}
ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
_KEY = re.compile(
    r"^(?:base_model\.model\.)?(?:model\.)?(?:language_model\.)?(?:model\.)?layers\.(\d+)\."
    r"((?:self_attn|mlp)\.[a-z_]+)\.lora_([AB])(?:\.default)?\.weight$"
)


class LoraExportError(ValueError):
    """The adapter cannot become a llama.cpp LoRA GGUF (the message names the file and key)."""


def read_peft_adapter(adapter_dir: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(adapter_config, tensors)`` of a peft adapter directory (safetensors, float32 arrays).

    Raises:
        LoraExportError: missing files, unreadable JSON or a non-LoRA adapter.
    """
    d = Path(adapter_dir)
    cfg_path, weights = d / ADAPTER_CONFIG, d / ADAPTER_WEIGHTS
    for p in (cfg_path, weights):
        if not p.is_file():
            raise LoraExportError(f"{p}: missing (not a peft adapter directory)")
    try:
        config = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LoraExportError(f"{cfg_path}: not valid JSON ({exc})") from None
    if not isinstance(config, dict):
        raise LoraExportError(f"{cfg_path}: a JSON object expected")
    if str(config.get("peft_type", "LORA")).upper() != "LORA":
        raise LoraExportError(f"{cfg_path}: peft_type {config.get('peft_type')!r}, only LORA")
    from safetensors.numpy import load_file

    try:
        raw = load_file(str(weights))
    except Exception as exc:  # safetensors raises its own SafetensorError
        raise LoraExportError(f"{weights}: unreadable safetensors ({exc})") from None
    return config, {k: np.asarray(v, dtype=np.float32) for k, v in raw.items()}


def _scaling(config: Mapping[str, Any], module: str) -> tuple[int, float]:
    """``(r, s)`` for one module key (``layers.N.self_attn.q_proj``), honouring the patterns."""
    r = int(config.get("r", 8))
    alpha = float(config.get("lora_alpha", 8))
    for pattern, value in (config.get("rank_pattern") or {}).items():
        if re.search(rf"(^|\.){pattern}$", module):
            r = int(value)
    for pattern, value in (config.get("alpha_pattern") or {}).items():
        if re.search(rf"(^|\.){pattern}$", module):
            alpha = float(value)
    s = alpha / math.sqrt(r) if config.get("use_rslora") else alpha / r
    return r, s


def lora_tensors(
    config: Mapping[str, Any], tensors: Mapping[str, np.ndarray], *, source: str = "adapter"
) -> tuple[dict[str, np.ndarray], float]:
    """peft LoRA tensors -> ``({gguf name: array}, alpha)`` in llama.cpp's layout (see module doc).

    Raises:
        LoraExportError: an unsupported module or setting, a missing A/B half, bad shapes.
    """
    if config.get("use_dora"):
        raise LoraExportError(f"{source}: DoRA adapters cannot be written as llama.cpp LoRA")
    if config.get("bias", "none") != "none":
        raise LoraExportError(f"{source}: bias={config.get('bias')!r}; only bias='none'")
    if config.get("modules_to_save"):
        raise LoraExportError(
            f"{source}: modules_to_save {config['modules_to_save']} (full weights) cannot go in a "
            "LoRA adapter GGUF"
        )
    if config.get("fan_in_fan_out"):
        raise LoraExportError(f"{source}: fan_in_fan_out=true is for Conv1D models, not Gemma")
    pairs: dict[tuple[int, str], dict[str, np.ndarray]] = {}
    for key, value in tensors.items():
        m = _KEY.match(key)
        if m is None or m.group(2) not in HF_TO_GGUF:
            raise LoraExportError(
                f"{source}: tensor {key!r} is not a LoRA on a Gemma 3 attention/MLP linear layer "
                f"({', '.join(HF_TO_GGUF)})"
            )
        pairs.setdefault((int(m.group(1)), m.group(2)), {})[m.group(3)] = value
    if not pairs:
        raise LoraExportError(f"{source}: no LoRA tensors")
    scales = {}
    out: dict[str, np.ndarray] = {}
    for (layer, module), ab in sorted(pairs.items()):
        if set(ab) != {"A", "B"}:
            raise LoraExportError(f"{source}: layers.{layer}.{module} lacks lora_A or lora_B")
        a, b = ab["A"], ab["B"]
        if a.ndim != 2 or b.ndim != 2 or a.shape[0] != b.shape[1]:
            raise LoraExportError(
                f"{source}: layers.{layer}.{module}: lora_A {list(a.shape)} and lora_B "
                f"{list(b.shape)} are not [r, in] and [out, r]"
            )
        r, s = _scaling(config, f"layers.{layer}.{module}")
        if a.shape[0] != r:
            raise LoraExportError(
                f"{source}: layers.{layer}.{module}: rank {a.shape[0]}, the config says {r}"
            )
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
            raise LoraExportError(f"{source}: layers.{layer}.{module} holds non-finite values")
        name = f"blk.{layer}.{HF_TO_GGUF[module]}.weight"
        out[name + ".lora_a"] = np.ascontiguousarray(a, dtype=np.float32)
        out[name + ".lora_b"] = np.ascontiguousarray(b, dtype=np.float32)
        scales[name] = (r, s)
    if len(set(scales.values())) == 1:  # one (r, s) everywhere: llama.cpp's alpha / r gives s
        r, s = next(iter(scales.values()))
        return out, float(s * r)
    for name, (_, s) in scales.items():  # fold each module's own scaling into lora_b; alpha = 0
        out[name + ".lora_b"] = out[name + ".lora_b"] * np.float32(s)
    return out, 0.0


def write_lora_gguf(
    adapter_dir: str | Path,
    out_file: str | Path,
    *,
    architecture: str = "gemma3",
    name: str = "mmllm-lora",
    metadata: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Write a peft LoRA adapter directory as a llama.cpp LoRA adapter GGUF (float32 tensors).

    Args:
        adapter_dir: peft's output (``adapter_config.json`` + ``adapter_model.safetensors``).
        out_file: the ``.gguf`` to write.
        architecture: the base model's ``general.architecture`` (llama.cpp refuses a mismatch).
        name: ``general.name``.
        metadata: extra string keys (e.g. ``mmfm.base_model.sha256``).

    Returns:
        ``{"rank": [ranks], "alpha": float, "tensors": n, "modules": [gguf module names],
        "layers": n}`` for the model card.
    """
    import gguf

    config, raw = read_peft_adapter(adapter_dir)
    tensors, alpha = lora_tensors(config, raw, source=str(Path(adapter_dir)))
    writer = gguf.GGUFWriter(str(out_file), arch=architecture)
    try:
        writer.add_type(gguf.GGUFType.ADAPTER)
        writer.add_name(name)
        writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
        writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(alpha))
        for key, value in (metadata or {}).items():
            writer.add_string(key, str(value))
        for tname, arr in tensors.items():
            writer.add_tensor(tname, arr)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    finally:
        writer.close()
    ranks = sorted({int(v.shape[0]) for k, v in tensors.items() if k.endswith(".lora_a")})
    modules = sorted({k.split(".")[2] for k in tensors})
    layers = len({k.split(".")[1] for k in tensors})
    return {
        "rank": ranks,
        "alpha": float(alpha),
        "tensors": len(tensors),
        "modules": modules,
        "layers": layers,
    }
