"""The torch checkpoint an exported model was made from, shipped beside it as ``DIR/checkpoint/``.

An exported model (``mmfm.model/1``) runs its point encoder on ONNX Runtime and carries text
prototypes for its default label sets only. Labels outside them, and LoRA adaptation, need the torch
model; its checkpoint (``model.pt`` 1.7 MB + ``card.json``) ships in ``checkpoint/`` and is used only
when its ``model.pt`` sha256 equals the one the model's card records (``card["training"]["files"]``).
"""

from __future__ import annotations

import json
from pathlib import Path

from runtime.models import ModelArtifact, ModelError, load_model
from training.clmp.factory import CHECKPOINT_FORMAT, sha256_file

#: Sub-directory of an exported model holding the torch checkpoint it was exported from.
CHECKPOINT_DIR = "checkpoint"


class SourceError(ValueError):
    """A model that cannot be opened or cannot do what was asked (one line for the CLI)."""


def card_format(path: Path) -> str | None:
    """The ``format`` of ``path/card.json``, or None when unreadable (the real loader says why)."""
    try:
        card = json.loads((Path(path) / "card.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return card.get("format") if isinstance(card, dict) else None


def has_checkpoint(artifact: ModelArtifact) -> bool:
    """Whether the model ships ``checkpoint/card.json``."""
    return (artifact.path / CHECKPOINT_DIR / "card.json").is_file()


def checkpoint_of(artifact: ModelArtifact) -> Path:
    """``artifact``'s ``checkpoint/`` directory, checked against the model's card.

    Raises:
        SourceError: absent, or its ``model.pt`` is not the checkpoint the model was exported from.
    """
    ckpt = artifact.path / CHECKPOINT_DIR
    if not has_checkpoint(artifact):
        raise SourceError(
            f"model {artifact.name!r} ({artifact.path}) ships no torch checkpoint "
            f"({CHECKPOINT_DIR}/model.pt); pass a checkpoint directory of `mmfm train clmp`"
        )
    want = (artifact.card.get("training", {}).get("files") or {}).get("model.pt")
    weights = ckpt / "model.pt"
    if not weights.is_file():
        raise SourceError(f"{weights}: missing")
    got = sha256_file(weights)
    if got != want:
        raise SourceError(
            f"{weights}: sha256 {got[:12]}... is not the checkpoint {artifact.path / 'card.json'} "
            f"was exported from ({str(want)[:12]}...)"
        )
    return ckpt


def checkpoint_dir(spec: str | Path | None) -> Path:
    """The torch checkpoint directory ``spec`` stands for: itself when it is one, else the
    ``checkpoint/`` of the exported model it names (None: the default model)."""
    path = Path(spec).expanduser() if spec is not None else None
    if path is not None and path.is_dir() and card_format(path) == CHECKPOINT_FORMAT:
        return path
    try:
        artifact = load_model(spec)
    except ModelError as exc:
        raise SourceError(str(exc)) from None
    return checkpoint_of(artifact)
