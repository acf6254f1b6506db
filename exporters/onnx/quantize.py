"""Dynamic int8 quantisation with ONNX Runtime's ``quantize_dynamic`` (weights int8, activations per call)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path


def quantize_dynamic_int8(
    src: Path, dst: Path, *, op_types: Sequence[str], per_channel: bool = False
) -> None:
    """Quantise the constant weights of ``op_types`` to int8 (QInt8); MatMuls between activations
    (attention products) stay fp32 (``MatMulConstBOnly``).

    ``quantize_dynamic`` logs a root-logger advice to run its pre-processing first; that pre-processing
    (symbolic shape inference) fails on traced Reshape chains and dynamic quantisation does not need it,
    so the advice is dropped.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    def _no_advice(record: logging.LogRecord) -> bool:
        return "pre-processing" not in record.getMessage()

    root = logging.getLogger()
    root.addFilter(_no_advice)
    try:
        quantize_dynamic(
            model_input=str(src),
            model_output=str(dst),
            op_types_to_quantize=list(op_types),
            per_channel=per_channel,
            weight_type=QuantType.QInt8,
            extra_options={"MatMulConstBOnly": True},
        )
    finally:
        root.removeFilter(_no_advice)
