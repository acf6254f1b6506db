"""Merge a peft LoRA into the base GGUF: one self-contained GGUF, no adapter at run time.

The merged file is written from the **base GGUF itself**, not from the Hugging Face model: every
metadata key (tokenizer, chat tokens, hyper-parameters) and every tensor the LoRA does not touch is
copied byte for byte (Q4_K / Q6_K / F32 blocks as they are). Only the adapted projections change::

    W' = W + s * B @ A        (W dequantised from its GGUF block type, [out, in]; s = alpha / r)

and are stored as Q8_0 (``gguf.quants``; ~0.4 % error, far under the Q4_K it replaces). Writing
from the GGUF avoids both pitfalls of converting transformers' Gemma 3 back: its norm weights with
1.0 subtracted (the GGUF keeps llama.cpp's convention) and the tied output head (the GGUF has none;
llama.cpp reuses ``token_embd``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from exporters.gguf.lora import LoraExportError, lora_tensors, read_peft_adapter


def merged_weights(
    adapter_dir: str | Path, reader: Any
) -> dict[str, tuple[np.ndarray, np.ndarray, float]]:
    """``{base tensor name: (A [r, in], B [out, r], scale)}`` of a peft adapter, checked against the
    base GGUF's tensors (``reader``: a ``gguf.GGUFReader``)."""
    config, raw = read_peft_adapter(adapter_dir)
    tensors, alpha = lora_tensors(config, raw, source=str(adapter_dir))
    names = {t.name for t in reader.tensors}
    out = {}
    for key in tensors:
        if not key.endswith(".lora_a"):
            continue
        base = key[: -len(".lora_a")]
        if base not in names:
            raise LoraExportError(f"{adapter_dir}: the base GGUF has no tensor {base}")
        a, b = tensors[key], tensors[base + ".lora_b"]
        scale = alpha / a.shape[0] if alpha else 1.0  # alpha 0: the scale is folded into B
        out[base] = (a, b, float(scale))
    return out


def write_merged_gguf(
    base_gguf: str | Path,
    adapter_dir: str | Path,
    out_file: str | Path,
    *,
    name: str | None = None,
    metadata: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Write ``base_gguf`` with the LoRA of ``adapter_dir`` merged (module docstring).

    Returns:
        ``{"merged": [tensor names], "type": "Q8_0", "bytes": size}``.

    Raises:
        LoraExportError: the adapter does not fit the base model.
    """
    import gguf

    reader = gguf.GGUFReader(str(base_gguf))
    lora = merged_weights(adapter_dir, reader)
    arch_field = reader.fields[gguf.Keys.General.ARCHITECTURE]
    arch = str(arch_field.contents())
    writer = gguf.GGUFWriter(str(out_file), arch=arch)
    try:
        for field in reader.fields.values():
            if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
                continue  # the writer adds these itself
            if name and field.name == gguf.Keys.General.NAME:
                continue
            vtype = field.types[0]
            sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
            writer.add_key_value(field.name, field.contents(), vtype, sub_type=sub)
        if name:
            writer.add_name(name)
        for key, value in (metadata or {}).items():
            writer.add_string(key, str(value))
        data: dict[str, np.ndarray] = {}
        for t in reader.tensors:
            arr, qtype = t.data, t.tensor_type
            if t.name in lora:
                a, b, scale = lora[t.name]
                w = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
                if w.shape != (b.shape[0], a.shape[1]):
                    raise LoraExportError(
                        f"{adapter_dir}: {t.name} is {list(w.shape)} in the base GGUF, the LoRA "
                        f"gives [{b.shape[0]}, {a.shape[1]}]"
                    )
                w += np.float32(scale) * (b @ a)
                arr, qtype = (
                    gguf.quants.quantize(w, gguf.GGMLQuantizationType.Q8_0),
                    (gguf.GGMLQuantizationType.Q8_0),
                )
            data[t.name] = arr
            writer.add_tensor_info(t.name, arr.shape, arr.dtype, arr.nbytes, qtype)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        for t in reader.tensors:
            writer.write_tensor_data(data[t.name], tensor_endianess=reader.endianess)
    finally:
        writer.close()
    return {
        "merged": sorted(lora),
        "type": "Q8_0",
        "bytes": Path(out_file).stat().st_size,
    }
