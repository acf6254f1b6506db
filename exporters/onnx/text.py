"""Export a CLMP text tower (a BERT-style sentence encoder + projection head) to ONNX.

The graph takes what a WordPiece tokenizer gives (``input_ids``, ``attention_mask``: int64
``[batch, tokens]``, both axes dynamic), mean-pools the last hidden state over real tokens,
L2-normalises (as sentence-transformers' all-MiniLM-L6-v2 does), applies the projection head (which
normalises again) and returns ``embedding`` float32 ``[batch, D]``: the same vectors as
``CLMP.encode_text``. The tokenizer ships beside it as ``tokenizer.json`` (Hugging Face ``tokenizers``
format) so the runtime can encode new label sets without torch.

int8: per-channel dynamic quantisation of MatMul/Gemm plus the token-embedding Gather (the 30k x 384
embedding table is most of the file: 91 MB fp32 -> 23 MB int8).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

from exporters.onnx.quantize import quantize_dynamic_int8

TEXT_ONNX_FILE = "text_encoder.onnx"
TEXT_INT8_FILE = "text_encoder.int8.onnx"
TOKENIZER_FILE = "tokenizer.json"
TEXT_INPUT_NAMES = ("input_ids", "attention_mask")


class TextTower(torch.nn.Module):
    """``(input_ids, attention_mask) [N, L] -> [N, D]``: sentence encoder, mean pooling, projection.

    Args:
        sentence_encoder: a Hugging Face encoder (``BertModel``) returning ``last_hidden_state``.
        projection: ``[N, width] -> [N, D]`` normalised (``CLMP.text_projection``).
    """

    def __init__(self, sentence_encoder: torch.nn.Module, projection: torch.nn.Module) -> None:
        super().__init__()
        self.sentence_encoder = sentence_encoder
        self.projection = projection

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.sentence_encoder(
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=torch.zeros_like(input_ids),
        ).last_hidden_state  # [N, L, width]
        m = attention_mask.unsqueeze(-1).to(hidden.dtype)  # [N, L, 1]
        pooled = (hidden * m).sum(dim=1) / m.sum(dim=1).clamp(min=1e-9)  # [N, width]
        return self.projection(F.normalize(pooled, dim=-1))  # [N, D]


def export_text_tower(tower: TextTower, path: Path, opset: int) -> None:
    """Trace ``tower`` to ``path`` with dynamic batch and token axes."""
    ids = torch.tensor(
        [[101, 1037, 2711, 2003, 3788, 102, 0], [101, 2619, 2003, 8362, 1999, 1996, 102]]
    )
    mask = (ids != 0).to(torch.int64)
    axes = {0: "batch", 1: "tokens"}
    tower.eval()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", UserWarning)
        torch.onnx.export(
            tower,
            (ids, mask),
            str(path),
            dynamo=False,
            opset_version=opset,
            input_names=list(TEXT_INPUT_NAMES),
            output_names=["embedding"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "embedding": {0: "batch"}},
            do_constant_folding=True,
        )


def quantize_text_int8(src: Path, dst: Path) -> None:
    """Per-channel dynamic int8 of MatMul/Gemm weights and the token-embedding Gather."""
    quantize_dynamic_int8(src, dst, op_types=["MatMul", "Gemm", "Gather"], per_channel=True)
