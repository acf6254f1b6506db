"""torch -> ONNX exporters. ``export_clmp`` writes a CLMP radar encoder (points or raw ADC) as an ``mmfm.model/1`` artifact."""

from exporters.onnx.clmp import (
    ARTIFACT_FORMAT,
    CARD_FILE,
    INT8_FILE,
    KIND_ADC,
    KIND_POINTS,
    ONNX_FILE,
    OPSET,
    PROTOTYPES_FILE,
    ExportError,
    export_clmp,
    quantize_int8,
)
from exporters.onnx.text import TextTower

__all__ = [
    "ARTIFACT_FORMAT",
    "CARD_FILE",
    "INT8_FILE",
    "KIND_ADC",
    "KIND_POINTS",
    "ONNX_FILE",
    "OPSET",
    "PROTOTYPES_FILE",
    "ExportError",
    "TextTower",
    "export_clmp",
    "quantize_int8",
]
