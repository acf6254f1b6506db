"""mm-LLM exports: projector -> ONNX, peft LoRA -> llama.cpp adapter GGUF, the ``mmllm`` model card.

- :mod:`exporters.gguf.projector`: the projector (``[B, 256] -> [B, K, 640]``) to ONNX, dynamic batch.
- :mod:`exporters.gguf.lora`: a peft LoRA on Hugging Face Gemma 3 to a llama.cpp LoRA adapter GGUF.
- :mod:`exporters.gguf.mmllm`: a training checkpoint to an ``mmfm.model/1`` directory of kind
  ``mmllm`` (``projector.onnx``, ``adapter.gguf``, ``card.json`` with the sha256 of every file).

Imports numpy, onnx, gguf, safetensors and torch; never ``runtime`` or ``training``.
"""

from exporters.gguf.lora import LoraExportError, lora_tensors, read_peft_adapter, write_lora_gguf
from exporters.gguf.mmllm import (
    CHECKPOINT_FORMAT,
    MMLLMExportError,
    export_mmllm,
    read_checkpoint_card,
)
from exporters.gguf.projector import (
    MLPProjector,
    ProjectorExportError,
    build_projector,
    export_projector,
    load_projector,
)

__all__ = [
    "CHECKPOINT_FORMAT",
    "LoraExportError",
    "MLPProjector",
    "MMLLMExportError",
    "ProjectorExportError",
    "build_projector",
    "export_mmllm",
    "export_projector",
    "load_projector",
    "lora_tensors",
    "read_checkpoint_card",
    "read_peft_adapter",
    "write_lora_gguf",
]
