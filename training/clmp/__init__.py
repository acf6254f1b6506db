"""CLMP: contrastive language-radar pre-training (library; the trainer is ``training.clmp.train``).

Public API (the contract with ``exporters/`` and ``mmfm``)::

    build_model(name) -> CLMP                      # configs/<name>.json
    save_checkpoint(model, card, path)             # path/model.pt + path/card.json
    load_checkpoint(path) -> (CLMP, card)          # refuses a tampered or mismatched card
    CLMP.point_encoder(points [B,T,P,5], mask [B,T,P]) -> [B,D] normalised
    CLMP.encode_points / encode_text / input_contract / embedding_dim
"""

from training.clmp.factory import (
    CHECKPOINT_FORMAT,
    DEFAULT_MODEL,
    CheckpointError,
    build_model,
    list_models,
    load_checkpoint,
    make_card,
    read_card,
    save_checkpoint,
)
from training.clmp.model import CLMP

__all__ = [
    "CHECKPOINT_FORMAT",
    "CLMP",
    "DEFAULT_MODEL",
    "CheckpointError",
    "build_model",
    "list_models",
    "load_checkpoint",
    "make_card",
    "read_card",
    "save_checkpoint",
]
