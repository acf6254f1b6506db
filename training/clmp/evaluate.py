"""Zero-shot classification and text<->radar retrieval (``mmfm eval zeroshot|retrieval``).

RadHAR recordings (``--format radhar``): a folder with one sub-folder per class holding RadHAR text
dumps (``runtime.sources.radhar``). Each recording is cut into windows of 2 s (60 frames at the
recordings' 30 Hz) every 1/3 s (10 frames), the sliding window of the RadHAR paper (Singh et al.,
mmNets 2019); only full windows count, so a 601-frame recording gives 55 windows. Each window is prepared
by :func:`runtime.inference.window.point_window` and classified by the cosine between its embedding and
each label's prompt-ensemble prototype (:func:`training.clmp.labels.text_prototypes`).

Labels: ``"boxing,jumping jacks,..."``; each label is matched to a sub-folder named like it, else to
the sub-folder naming the same activity ("jack" -> jumping jacks, "walk" -> walking); ``folder=label``
pairs name the folder explicitly ("jack=jumping jacks").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from runtime.inference.window import frame_windows, point_window
from runtime.sources.radhar import read_radhar
from training.clmp.adc_data import windows_loader
from training.clmp.data import WindowSet, holdout_mask, load_saved_windows
from training.clmp.labels import activity_of_label
from training.clmp.model import CLMP
from training.clmp.sources import ModelSource, TorchSource

#: RadHAR's sliding window: 2 s, moved by 1/3 s.
RADHAR_WINDOW_S = 2.0
RADHAR_STRIDE_S = 1.0 / 3.0


class EvalError(ValueError):
    """Bad evaluation input (one line for the CLI)."""


@dataclass
class LabelledWindows:
    """Windows with class indices: ``points [N, T, P, 5]``, ``mask [N, T, P]``, ``target [N]``."""

    points: np.ndarray
    mask: np.ndarray
    target: np.ndarray
    labels: list[str]
    recording: list[str]


def parse_labels(text: str) -> list[tuple[str | None, str]]:
    """``"a,b=c"`` -> ``[(None, "a"), ("b", "c")]`` (folder, label); empty entries refused."""
    out: list[tuple[str | None, str]] = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            raise EvalError(f"--labels: empty label in {text!r}")
        if "=" in item:
            folder, label = (s.strip() for s in item.split("=", 1))
            if not folder or not label:
                raise EvalError(f"--labels: bad folder=label pair {item!r}")
            out.append((folder, label))
        else:
            out.append((None, item))
    labels = [lab for _, lab in out]
    if len(set(labels)) != len(labels):
        raise EvalError(f"--labels: a label appears twice in {text!r}")
    return out


def match_folders(root: Path, pairs: Sequence[tuple[str | None, str]]) -> list[tuple[Path, str]]:
    """``(sub-folder, label)`` per label (module docstring); :class:`EvalError` when one is missing."""
    if not root.is_dir():
        raise EvalError(f"{root}: no such folder")
    subs = sorted(p for p in root.iterdir() if p.is_dir())
    out = []
    for folder, label in pairs:
        if folder is not None:
            path = root / folder
            if not path.is_dir():
                raise EvalError(f"{path}: no such folder (for label {label!r})")
            out.append((path, label))
            continue
        exact = [p for p in subs if p.name == label]
        act = activity_of_label(label)
        alike = [p for p in subs if act is not None and activity_of_label(p.name) == act]
        found = exact or alike
        if len(found) != 1:
            names = ", ".join(p.name for p in subs) or "none"
            why = "no folder" if not found else "several folders"
            raise EvalError(
                f"label {label!r}: {why} in {root} (folders: {names}); use folder=label"
            )
        out.append((found[0], label))
    return out


def radhar_windows(
    root: str | Path,
    pairs: Sequence[tuple[str | None, str]],
    contract: dict[str, Any],
    window_s: float = RADHAR_WINDOW_S,
    stride_s: float = RADHAR_STRIDE_S,
) -> LabelledWindows:
    """Every sliding window of every RadHAR dump under the matched folders (module docstring)."""
    if contract.get("kind") != "points":
        raise EvalError(
            f"the model reads {contract.get('kind')!r} windows; RadHAR recordings hold point "
            "clouds only (a raw-ADC model evaluates on --format mmfm data with ADC)"
        )
    matched = match_folders(Path(root), pairs)
    labels = [lab for _, lab in matched]
    pts, msk, tgt, rec = [], [], [], []
    for k, (folder, _label) in enumerate(matched):
        files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix == ".txt")
        if not files:
            raise EvalError(f"{folder}: no RadHAR .txt dumps")
        for path in files:
            try:
                frames = read_radhar(path)
            except (ValueError, OSError) as exc:
                raise EvalError(f"unreadable dump: {exc}") from None
            if len(frames) > 1:
                stamps = np.array([f.timestamp for f in frames])
                rate = (len(frames) - 1) / max(1e-6, stamps[-1] - stamps[0])
            else:
                rate = 30.0
            wf = max(1, round(window_s * rate))
            sf = max(1, round(stride_s * rate))
            for a, b in frame_windows(len(frames), wf, sf):
                p, m = point_window(frames[a:b], contract)
                pts.append(p)
                msk.append(m)
                tgt.append(k)
                rec.append(str(path))
    if not tgt:
        raise EvalError(f"{root}: zero windows (recordings shorter than {window_s:g} s)")
    return LabelledWindows(np.stack(pts), np.stack(msk), np.asarray(tgt), labels, rec)


def mmfm_windows(
    root: str | Path,
    pairs: Sequence[tuple[str | None, str]] | None,
    contract: dict[str, Any],
    *,
    stride_s: float | None = None,
    holdout_every: int = 0,
) -> LabelledWindows:
    """Windows of a simulated dataset whose (single-person) activity is one of the labels.

    ``pairs`` None: every single activity present, labelled by its name. ``holdout_every`` > 0 keeps
    only the held-out samples of a training set (``training.clmp.data.holdout_mask``).
    """
    ws = _load(root, contract, stride_s, holdout_every)
    if pairs is None:
        acts = sorted({a for a in ws.activity if "+" not in a and a != "empty"})
        pairs = [(None, a.replace("_", " ")) for a in acts]
    labels = [lab for _, lab in pairs]
    acts_of = []
    for folder, lab in pairs:
        act = activity_of_label(folder or lab)
        if act is None:
            raise EvalError(f"label {lab!r} names no simulated activity; use activity=label")
        acts_of.append(act)
    keep = [i for i, a in enumerate(ws.activity) if a in acts_of]
    if not keep:
        raise EvalError(f"{root}: zero windows of the activities {', '.join(acts_of)}")
    sub = ws.subset(keep)
    target = np.array([acts_of.index(a) for a in sub.activity])
    rec = [f"{s}:{i}" for s, i in zip(sub.source, sub.sample, strict=True)]
    return LabelledWindows(sub.points, sub.mask, target, labels, rec)


def _load(
    root: str | Path, contract: dict[str, Any], stride_s: float | None, every: int
) -> WindowSet:
    """Windows of a simulated dataset (stride None: back to back, one window length apart).

    ``root`` may also be a ``.npz`` of prepared windows (``training.clmp.data.save_windows``, e.g. the
    held-out windows of ``python -m training.clmp.recipe``), taken as they are.
    """
    from runtime.dataset import DatasetError

    stride_s = float(contract["window_s"]) if stride_s is None else stride_s
    try:
        if str(root).endswith(".npz") and Path(root).is_file():
            ws = load_saved_windows(root, contract)
        else:
            ws = windows_loader(contract)(root, contract, stride_s=stride_s)
    except (DatasetError, ValueError, OSError, KeyError) as exc:
        raise EvalError(str(exc).splitlines()[0]) from None
    if every > 0:
        ws = ws.subset(np.flatnonzero(holdout_mask(ws.sample, every)))
    if len(ws) == 0:
        raise EvalError(f"{root}: zero windows")
    return ws


@torch.no_grad()
def embed(model: CLMP, points: np.ndarray, mask: np.ndarray, batch: int = 256) -> np.ndarray:
    """``[N, D]`` float32 radar embeddings."""
    model.eval()
    out = [
        model.encode_points(
            torch.from_numpy(points[i : i + batch]), torch.from_numpy(mask[i : i + batch])
        )
        for i in range(0, len(points), batch)
    ]
    return torch.cat(out).numpy().astype(np.float32)


def classify(
    emb: np.ndarray, protos: np.ndarray, target: np.ndarray, labels: Sequence[str]
) -> dict[str, Any]:
    """Accuracy, per-class accuracy and confusion (rows: truth, columns: prediction)."""
    pred = (emb @ protos.T).argmax(1)
    n = len(labels)
    conf = np.zeros((n, n), dtype=np.int64)
    np.add.at(conf, (target, pred), 1)
    per_class = {
        lab: {
            "accuracy": float(conf[k, k] / conf[k].sum()) if conf[k].sum() else None,
            "windows": int(conf[k].sum()),
        }
        for k, lab in enumerate(labels)
    }
    return {
        "accuracy": float((pred == target).mean()),
        "per_class": per_class,
        "confusion": conf.tolist(),
        "labels": list(labels),
        "windows": len(target),
    }


def _source(model: CLMP | ModelSource) -> ModelSource:
    return TorchSource(model, {"name": model.name}) if isinstance(model, CLMP) else model


def zeroshot(model: CLMP | ModelSource, data: LabelledWindows) -> dict[str, Any]:
    """Zero-shot classification of prepared windows against prompt-ensemble prototypes.

    ``model``: a torch :class:`CLMP` or any :class:`training.clmp.sources.ModelSource` (ONNX, LoRA).
    """
    src = _source(model)
    protos = src.prototypes(data.labels)
    return classify(src.embed(data.points, data.mask), protos, data.target, data.labels)


def retrieval(
    model: CLMP | ModelSource,
    root: str | Path,
    *,
    pool: int = 1000,
    holdout_every: int = 0,
    stride_s: float | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Radar->text and text->radar R@1/R@5 in a pool of ``pool`` windows (a seeded draw).

    The candidate texts are one caption per window (drawn with ``seed``; windows may share a text), as
    in COCO-style retrieval: radar->text counts a hit when a top-k text is true of the window (one of
    its sample's captions: every granularity of ``sim.captions``, or the class prompts of prepared
    kinematic windows); text->radar counts a hit when a top-k window has that text among its captions.
    """
    src = _source(model)
    ws = _load(root, src.input_contract, stride_s, holdout_every)
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(ws))[:pool]
    ws = ws.subset(np.sort(idx))
    texts = [c[int(rng.integers(len(c)))] for c in ws.captions]
    uniq = sorted(set(texts))
    tindex = {t: k for k, t in enumerate(uniq)}
    true = np.zeros((len(ws), len(uniq)), dtype=bool)  # [N, U] text u is true of window i
    for i, caps in enumerate(ws.captions):
        for t in caps:
            if t in tindex:
                true[i, tindex[t]] = True
    remb = src.embed(ws.points, ws.mask)  # [N, D]
    temb = src.embed_texts(uniq)  # [U, D]
    sims = remb @ temb.T  # [N, U]
    order = np.argsort(-sims, axis=1)  # [N, U]
    r2t = {
        k: float(np.mean(true[np.arange(len(ws))[:, None], order[:, :k]].any(1))) for k in (1, 5)
    }
    order_t = np.argsort(-sims.T, axis=1)  # [U, N]
    hit_t = true.T[np.arange(len(uniq))[:, None], order_t]  # [U, N]
    t2r = {k: float(np.mean(hit_t[:, :k].any(1))) for k in (1, 5)}
    return {
        "radar_to_text": {"R@1": r2t[1], "R@5": r2t[5]},
        "text_to_radar": {"R@1": t2r[1], "R@5": t2r[5]},
        "windows": len(ws),
        "texts": len(uniq),
    }


def plot_confusion(result: dict[str, Any], path: str | Path, title: str = "") -> None:
    """Confusion matrix PNG (rows: truth)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    conf = np.asarray(result["confusion"])
    labels = result["labels"]
    fig, ax = plt.subplots(figsize=(1.2 * len(labels) + 2, 1.0 * len(labels) + 1.5))
    ax.imshow(conf, cmap="Blues")
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, str(conf[i, j]), ha="center", va="center", fontsize=8)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("truth")
    ax.set_title(
        title or f"zero-shot accuracy {result['accuracy']:.1%} ({result['windows']} windows)"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
