"""Named architectures (``configs/<name>.json``, data not code) and checkpoints with a JSON card.

A checkpoint directory holds ``model.pt`` (the state dict: point encoder, text projection, temperature;
the frozen MiniLM ships with its package) and ``card.json``::

    {"format": "mmfm.clmp.checkpoint/1", "name", "config", "input_contract", "embedding_dim",
     "dataset": {"path", "card_sha256", "version"}, "command", "metrics", "files": {"model.pt": sha256}}

:func:`load_checkpoint` refuses a card whose format is unknown, whose ``model.pt`` hash differs, or whose
config does not build a model matching the weights (one-line :class:`CheckpointError`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from runtime.checksums import sha256_file
from training.clmp.model import CLMP

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
CHECKPOINT_FORMAT = "mmfm.clmp.checkpoint/1"
DEFAULT_MODEL = "clmp_points_s"


class CheckpointError(ValueError):
    """A checkpoint that cannot be trusted or loaded (one line)."""


def list_models() -> list[str]:
    """Names of the bundled architectures."""
    return sorted(p.stem for p in CONFIG_DIR.glob("*.json"))


def model_config(name: str) -> dict[str, Any]:
    """The config of architecture ``name`` (a bundled name or a path to a ``.json``)."""
    path = Path(name)
    if not (path.suffix == ".json" and path.is_file()):
        path = CONFIG_DIR / f"{name}.json"
    if not path.is_file():
        raise ValueError(f"unknown model {name!r}; known: {', '.join(list_models())}")
    return json.loads(path.read_text(encoding="utf-8"))


def build_model(name: str = DEFAULT_MODEL) -> CLMP:
    """A freshly initialised :class:`CLMP` of architecture ``name`` (``configs/<name>.json``)."""
    return CLMP(model_config(name), name=Path(name).stem)


def make_card(model: CLMP, **fields: Any) -> dict[str, Any]:
    """A checkpoint card for ``model``; ``fields`` adds/overrides dataset, command, metrics..."""
    card: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT,
        "name": model.name,
        "config": model.config,
        "input_contract": model.input_contract,
        "embedding_dim": model.embedding_dim,
        "dataset": None,
        "command": None,
        "metrics": {},
    }
    card.update(fields)
    return card


def save_checkpoint(model: CLMP, card: dict[str, Any], path: str | Path) -> None:
    """Write ``path/model.pt`` and ``path/card.json`` (the card's model fields are filled in)."""
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    weights = out / "model.pt"
    tmp = out / "model.pt.tmp"
    torch.save(model.state_dict(), tmp)
    tmp.replace(weights)
    full = make_card(model, **{k: v for k, v in card.items() if k not in ("files", "format")})
    full.update(
        name=model.name,
        config=model.config,
        input_contract=model.input_contract,
        embedding_dim=model.embedding_dim,
        files={"model.pt": sha256_file(weights)},
    )
    (out / "card.json").write_text(json.dumps(full, indent=1, sort_keys=True) + "\n", "utf-8")


def read_card(path: str | Path) -> dict[str, Any]:
    """The card of checkpoint directory ``path`` (format checked)."""
    card_path = Path(path) / "card.json"
    if not card_path.is_file():
        raise CheckpointError(f"{path}: no card.json (not a CLMP checkpoint directory)")
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{card_path}: unreadable card: {exc}") from None
    if not isinstance(card, dict) or card.get("format") != CHECKPOINT_FORMAT:
        got = card.get("format") if isinstance(card, dict) else type(card).__name__
        raise CheckpointError(f"{card_path}: format {got!r}, expected {CHECKPOINT_FORMAT!r}")
    return card


def load_checkpoint(path: str | Path) -> tuple[CLMP, dict[str, Any]]:
    """Load ``path/model.pt`` after checking it against ``path/card.json``.

    Raises:
        CheckpointError: missing files, wrong format, sha256 mismatch, or a config whose model does not
            match the weights (or whose input contract/embedding size disagree with the card).
    """
    root = Path(path)
    card = read_card(root)
    weights = root / "model.pt"
    if not weights.is_file():
        raise CheckpointError(f"{root}: model.pt is missing")
    want = (card.get("files") or {}).get("model.pt")
    got = sha256_file(weights)
    if want != got:
        raise CheckpointError(
            f"{weights}: sha256 {got[:12]}... does not match the card ({str(want)[:12]}...)"
        )
    config = card.get("config")
    if not isinstance(config, dict):
        raise CheckpointError(f"{root}/card.json: no model config")
    try:
        model = CLMP(config, name=str(card.get("name", "custom")))
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{root}/card.json: bad model config: {exc}") from None
    if card.get("input_contract") != model.input_contract:
        raise CheckpointError(f"{root}/card.json: input_contract differs from the config's")
    if card.get("embedding_dim") != model.embedding_dim:
        raise CheckpointError(f"{root}/card.json: embedding_dim differs from the config's")
    state = torch.load(weights, map_location="cpu", weights_only=True)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise CheckpointError(
            f"{weights}: weights do not match the card's config: {first}"
        ) from None
    model.eval()
    return model, card
