"""Few-shot sim-to-real adaptation of the CLMP radar encoder with LoRA (``mmfm train lora``).

The base model's point encoder gets low-rank adapters (``peft``) on every ``nn.Linear`` inside it; the
base weights, the text tower and the logit scale stay frozen. Training pulls each labelled real window
towards its label's text prototype (cross-entropy over ``logit_scale * cos(window, prototype)``, the
zero-shot rule), so the adapted model stays in the text space and is evaluated exactly like the base.

Figures: leave-one-recording-out (LOO) cross-validation inside the given recordings - for each
recording, adapters are trained on the windows of all other recordings and scored on its windows;
"before" is the base model's zero-shot accuracy on the same held-out windows. The saved adapter is
then trained on every recording.

An adapter directory holds ``adapter.pt`` (the LoRA tensors only, ~100 kB) and ``card.json``::

    {"format": "mmfm.clmp.lora/1", "name", "base": {"model": <what --base named>, "checkpoint":
     <its checkpoint dir>, "model_sha256"}, "lora": {"rank", "alpha", "dropout", "target_modules"},
     "labels", "input_contract", "embedding_dim", "data": {...}, "command", "settings",
     "metrics": {"loo": {...}}, "files": {"adapter.pt": sha256}}

:func:`load_lora` refuses a card whose format, adapter sha256 or base checkpoint sha256 do not match.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from peft import LoraConfig, inject_adapter_in_model
from torch import nn

from training.clmp.augment import augment
from training.clmp.factory import CheckpointError, load_checkpoint, sha256_file
from training.clmp.labels import text_prototypes
from training.clmp.model import CLMP
from training.clmp.shipped import SourceError, checkpoint_dir

LORA_FORMAT = "mmfm.clmp.lora/1"
ADAPTER_FILE = "adapter.pt"


class LoraError(SourceError):
    """A LoRA adapter that cannot be trained or loaded (one line for the CLI)."""


@dataclass(frozen=True)
class LoraSettings:
    """Adaptation hyper-parameters (defaults: what the figures in EXPERIMENTS.md used)."""

    rank: int = 8
    alpha: float = 16.0
    dropout: float = 0.0
    epochs: int = 5
    batch_size: int = 32
    lr: float = 1e-2
    weight_decay: float = 0.0
    augment: bool = False
    seed: int = 0


def lora_targets(model: CLMP) -> list[str]:
    """Dotted names (from the CLMP root) of every ``nn.Linear`` of the radar encoder."""
    return [
        f"point_encoder.{name}"
        for name, mod in model.point_encoder.named_modules()
        if isinstance(mod, nn.Linear)
    ]


def attach_lora(model: CLMP, settings: LoraSettings) -> CLMP:
    """Inject fresh adapters into ``model`` (in place) and freeze everything else."""
    config = LoraConfig(
        r=settings.rank,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=lora_targets(model),
        bias="none",
    )
    model = inject_adapter_in_model(config, model)
    for name, param in model.named_parameters():
        param.requires_grad_("lora_" in name)
    return model


def adapter_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The LoRA tensors of ``model`` (names as in its state dict)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items() if "lora_" in k}


def _scale(model: CLMP) -> float:
    return float(model.logit_scale.detach().exp().clamp(max=100.0))


@torch.no_grad()
def predict(model: CLMP, protos: torch.Tensor, points: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Label index per window: argmax of cos(embedding, prototype). ``protos`` ``[L, D]``."""
    model.eval()
    out = []
    for i in range(0, len(points), 256):
        emb = model.encode_points(
            torch.from_numpy(points[i : i + 256]), torch.from_numpy(mask[i : i + 256])
        )
        out.append((emb @ protos.T).argmax(1).numpy())
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def finetune(
    model: CLMP,
    protos: torch.Tensor,
    points: np.ndarray,
    mask: np.ndarray,
    target: np.ndarray,
    settings: LoraSettings,
) -> CLMP:
    """Train the adapters of ``model`` (from :func:`attach_lora`) on labelled windows.

    Args:
        protos: float32 ``[L, D]`` label prototypes (fixed).
        points, mask, target: ``[N, T, P, 5]``, ``[N, T, P]``, ``[N]`` label indices.
    """
    gen = torch.Generator().manual_seed(settings.seed)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise LoraError("no trainable LoRA parameters (attach_lora first)")
    opt = torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)
    n = len(target)
    steps_per_epoch = max(1, -(-n // settings.batch_size))
    total = settings.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=settings.lr, total_steps=total, pct_start=0.15
    )
    scale = _scale(model)
    pts_all, msk_all = torch.from_numpy(points), torch.from_numpy(mask)
    tgt_all = torch.from_numpy(np.asarray(target, np.int64))
    for _ in range(settings.epochs):
        model.train()
        order = torch.randperm(n, generator=gen)
        for s in range(steps_per_epoch):
            idx = order[s * settings.batch_size : (s + 1) * settings.batch_size]
            pts, msk = pts_all[idx], msk_all[idx]
            if settings.augment:
                pts, msk = augment(pts, msk, gen)
            logits = scale * model.encode_points(pts, msk) @ protos.T
            loss = nn.functional.cross_entropy(logits, tgt_all[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    model.eval()
    return model


def loo_folds(recordings: Sequence[str]) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``[(held-out recording, train window indices, test window indices)]``, one per recording.

    A recording's windows are either all in test or all in train, never split.
    """
    rec = np.asarray(list(recordings))
    return [
        (r, np.flatnonzero(rec != r), np.flatnonzero(rec == r)) for r in sorted(set(rec.tolist()))
    ]


def cross_validate(
    base: CLMP,
    protos: torch.Tensor,
    points: np.ndarray,
    mask: np.ndarray,
    target: np.ndarray,
    recordings: Sequence[str],
    settings: LoraSettings,
    log: Callable[[str], None] = lambda _s: None,
) -> dict[str, Any]:
    """Leave-one-recording-out before/after window accuracy (module docstring)."""
    folds = []
    before_pred = predict(base, protos, points, mask)
    hits_before = hits_after = total = 0
    for k, (rec, tr, te) in enumerate(loo_folds(recordings)):
        if len(tr) == 0:
            raise LoraError("leave-one-recording-out needs at least two recordings")
        model = attach_lora(copy.deepcopy(base), settings)
        finetune(model, protos, points[tr], mask[tr], target[tr], settings)
        after = predict(model, protos, points[te], mask[te])
        b = int((before_pred[te] == target[te]).sum())
        a = int((after == target[te]).sum())
        hits_before, hits_after, total = hits_before + b, hits_after + a, total + len(te)
        folds.append(
            {"recording": rec, "windows": len(te), "before": b / len(te), "after": a / len(te)}
        )
        log(
            f"fold {k + 1}: held out {Path(rec).parent.name}/{Path(rec).name}: "
            f"{b / len(te):.1%} -> {a / len(te):.1%} ({len(te)} windows)"
        )
    return {
        "before": hits_before / total,
        "after": hits_after / total,
        "windows": total,
        "recordings": len(folds),
        "folds": folds,
    }


def save_lora(model: CLMP, card: dict[str, Any], path: str | Path) -> None:
    """Write ``path/adapter.pt`` (LoRA tensors) and ``path/card.json`` (with its sha256)."""
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    state = adapter_state(model)
    if not state:
        raise LoraError("the model carries no LoRA adapter")
    torch.save(state, out / ADAPTER_FILE)
    card = dict(card, format=LORA_FORMAT, files={ADAPTER_FILE: sha256_file(out / ADAPTER_FILE)})
    (out / "card.json").write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")


def read_lora_card(path: str | Path) -> dict[str, Any]:
    """The card of adapter directory ``path`` (format checked)."""
    card_path = Path(path) / "card.json"
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LoraError(f"{card_path}: unreadable card: {exc}") from None
    if not isinstance(card, dict) or card.get("format") != LORA_FORMAT:
        got = card.get("format") if isinstance(card, dict) else type(card).__name__
        raise LoraError(f"{card_path}: format {got!r}, expected {LORA_FORMAT!r}")
    for key in ("base", "lora", "files"):
        if not isinstance(card.get(key), dict):
            raise LoraError(f"{card_path}: missing key {key!r}")
    return card


def load_lora(path: str | Path) -> tuple[CLMP, dict[str, Any]]:
    """The base checkpoint with the adapter of ``path`` applied.

    Raises:
        LoraError: bad card, adapter sha256 mismatch (tampered), a base checkpoint that is not the
            one the adapter was trained on, or adapter tensors that do not fit the base.
    """
    root = Path(path)
    card = read_lora_card(root)
    weights = root / ADAPTER_FILE
    if not weights.is_file():
        raise LoraError(f"{weights}: missing")
    want, got = card["files"].get(ADAPTER_FILE), sha256_file(weights)
    if want != got:
        raise LoraError(
            f"{weights}: sha256 {got[:12]}... does not match the card ({str(want)[:12]}...)"
        )
    base_spec = card["base"].get("checkpoint") or card["base"].get("model")
    if not Path(str(base_spec)).is_dir():
        base_spec = card["base"].get("model")
    try:
        base_dir = checkpoint_dir(base_spec)
        model, _ = load_checkpoint(base_dir)
    except (SourceError, CheckpointError) as exc:
        raise LoraError(f"{root}: base model: {exc}") from None
    base_sha = sha256_file(base_dir / "model.pt")
    if base_sha != card["base"].get("model_sha256"):
        raise LoraError(
            f"{root}: base {base_dir} is not the checkpoint the adapter was trained on "
            f"(sha256 {base_sha[:12]}... vs {str(card['base'].get('model_sha256'))[:12]}...)"
        )
    lo = card["lora"]
    try:
        settings = LoraSettings(
            rank=int(lo["rank"]), alpha=float(lo["alpha"]), dropout=float(lo.get("dropout", 0.0))
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise LoraError(f"{root}/card.json: bad lora settings: {exc}") from None
    model = attach_lora(model, settings)
    state = torch.load(weights, map_location="cpu", weights_only=True)
    expected = set(adapter_state(model))
    if set(state) != expected:
        raise LoraError(f"{weights}: adapter tensors do not fit the base model's encoder")
    try:
        model.load_state_dict(state, strict=False)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise LoraError(f"{weights}: adapter tensors do not fit: {first}") from None
    model.eval()
    return model, card


def settings_dict(settings: LoraSettings) -> dict[str, Any]:
    """``settings`` as JSON-ready dict."""
    return asdict(settings)


def base_prototypes(model: CLMP, labels: Sequence[str]) -> torch.Tensor:
    """Fixed float32 ``[L, D]`` prompt-ensemble prototypes of ``labels`` (the base text tower)."""
    return torch.from_numpy(text_prototypes(model, list(labels)))


def make_lora_card(
    base_spec: str | Path | None,
    base_dir: str | Path,
    base: CLMP,
    settings: LoraSettings,
    labels: Sequence[str],
    **fields: Any,
) -> dict[str, Any]:
    """The adapter card (module docstring) for adapters on ``base`` (loaded from ``base_dir``)."""
    return {
        "name": f"{base.name}+lora",
        "base": {
            "model": str(base_spec) if base_spec is not None else None,
            "checkpoint": str(Path(base_dir).resolve()),
            "model_sha256": sha256_file(Path(base_dir) / "model.pt"),
        },
        "lora": {
            "rank": settings.rank,
            "alpha": settings.alpha,
            "dropout": settings.dropout,
            "target_modules": lora_targets(base),
        },
        "labels": list(labels),
        "input_contract": base.input_contract,
        "embedding_dim": base.embedding_dim,
        "settings": settings_dict(settings),
        **fields,
    }


def train_lora(
    base_spec: str | None,
    data: Any,
    settings: LoraSettings,
    out: str | Path,
    *,
    command: str = "",
    data_info: dict[str, Any] | None = None,
    cross_validation: bool = True,
    log: Callable[[str], None] = lambda _s: None,
) -> dict[str, Any]:
    """LOO figures, then the adapter trained on every recording, saved to ``out``; returns its card.

    Args:
        base_spec: what ``--base`` named (checkpoint dir, exported model name/dir; None = default).
        data: labelled windows (``training.clmp.evaluate.LabelledWindows``: points, mask, target,
            labels, recording).
    """
    try:
        base_dir = checkpoint_dir(base_spec)
        base, _ = load_checkpoint(base_dir)
    except CheckpointError as exc:
        raise LoraError(str(exc)) from None
    torch.manual_seed(settings.seed)
    protos = base_prototypes(base, data.labels)
    metrics: dict[str, Any] = {}
    if cross_validation:
        metrics["loo"] = cross_validate(
            base, protos, data.points, data.mask, data.target, data.recording, settings, log
        )
    model = attach_lora(copy.deepcopy(base), settings)
    finetune(model, protos, data.points, data.mask, data.target, settings)
    metrics["train_windows_after"] = float(
        (predict(model, protos, data.points, data.mask) == data.target).mean()
    )
    card = make_lora_card(
        base_spec,
        base_dir,
        base,
        settings,
        data.labels,
        data=dict(
            data_info or {}, recordings=sorted(set(data.recording)), windows=len(data.target)
        ),
        command=command,
        metrics=metrics,
    )
    save_lora(model, card, out)
    return read_lora_card(out)
