"""Training data for CLMP: simulated samples -> fixed-size point windows, captions, frozen text cache.

A simulated sample (``mmfm sim generate``, ``sim/dataset/FORMAT.md``) of ``duration`` seconds is cut into
windows of the model's ``window_s`` every ``stride_s`` (a 4 s sample with 1 s stride gives 3 windows);
each window is prepared by :func:`runtime.inference.window.points_window_arrays`, the code the hub runs.

Captions per window: the sample's own captions (every granularity of ``sim/captions.py``) plus
class-name prompts built from the truth activity (``"a person is doing squats"``, the prompt templates
of :mod:`training.clmp.labels`), so that zero-shot prompts are in-distribution. A caption "claims"
either an activity (class prompts and single-person ``activity`` captions: true for every window with
that activity) or only itself (the others); the loss treats every true claim in a batch as a positive.

Held-out split: every sample has its own generated room (scene seed) and its own sampled subject, so a
split by sample (:func:`holdout_mask`) has no room or subject in common with training.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from runtime.dataset import open_dataset
from runtime.inference.window import points_window_arrays
from sim.captions import ACTIVITY_PHRASES
from training.clmp.labels import PROMPT_TEMPLATES


@dataclass
class WindowSet:
    """Prepared windows. ``points [N, T, P, 5]``, ``mask [N, T, P]`` float32.

    Attributes:
        activity: main activity per window ("+"-joined sorted activities with several people).
        captions: the sample captions of each window (texts).
        sample: sample index per window (``[N]``); ``source``: dataset directory per window.
    """

    points: np.ndarray
    mask: np.ndarray
    activity: list[str]
    captions: list[list[str]]
    sample: np.ndarray
    source: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.activity)

    def subset(self, idx: Sequence[int] | np.ndarray) -> WindowSet:
        idx = np.asarray(idx, dtype=np.int64)
        return WindowSet(
            points=self.points[idx],
            mask=self.mask[idx],
            activity=[self.activity[i] for i in idx],
            captions=[self.captions[i] for i in idx],
            sample=self.sample[idx],
            source=[self.source[i] for i in idx] if self.source else [],
        )

    @staticmethod
    def concat(sets: Sequence[WindowSet]) -> WindowSet:
        return WindowSet(
            points=np.concatenate([s.points for s in sets]),
            mask=np.concatenate([s.mask for s in sets]),
            activity=[a for s in sets for a in s.activity],
            captions=[c for s in sets for c in s.captions],
            sample=np.concatenate([s.sample for s in sets]),
            source=[x for s in sets for x in s.source],
        )


def sample_activity(truth: dict[str, Any]) -> str:
    """Main activity of a sample: the person's, or the sorted activities joined by '+'."""
    acts = sorted(str(p["activity"]) for p in truth.get("people", []))
    return "+".join(acts) if acts else "empty"


def window_frames(times: np.ndarray, window_s: float, stride_s: float) -> Iterator[np.ndarray]:
    """Indices of the frames (at ``times`` [s]) in each window of ``window_s``, every ``stride_s``
    from the first frame; a window must end within the sample (its last frame period included)."""
    dt = times[1] - times[0] if len(times) > 1 else 0.0
    t_end = times[-1] + dt
    # frame times are stored rounded to the microsecond (60 x 0.033333 s = 1.99998 s), so a window
    # as long as the sample must fit within half a frame period, not within float epsilon
    tol = 0.5 * dt + 1e-6
    start = times[0]
    while start + window_s <= t_end + tol:
        yield np.flatnonzero((times >= start - 1e-9) & (times < start + window_s - 1e-9))
        start += stride_s


def load_windows(
    root: str | Path, contract: dict[str, Any], *, stride_s: float = 1.0, verify: bool = False
) -> WindowSet:
    """Every window of every sample of dataset ``root`` (module docstring).

    Raises:
        runtime.dataset.DatasetError: not a dataset; ValueError: no sample holds points.
    """
    ds = open_dataset(root, verify=verify)
    window_s = float(contract["window_s"])
    pts_l, mask_l, acts, caps, samples = [], [], [], [], []
    for s in ds:
        if not s.points:
            continue
        times = np.asarray(s.truth["frame_times_s"], dtype=np.float64)
        texts = [c["text"] for c in s.captions]
        act = sample_activity(s.truth)
        for sel in window_frames(times, window_s, stride_s):
            p, m = points_window_arrays([s.points[i] for i in sel], times[sel], contract)
            pts_l.append(p)
            mask_l.append(m)
            acts.append(act)
            caps.append(texts)
            samples.append(s.index)
    if not acts:
        raise ValueError(
            f"{root}: no window of {window_s:g} s: no sample with point clouds (generate with "
            "--outputs points) or every sample is shorter than the window"
        )
    return WindowSet(
        points=np.stack(pts_l),
        mask=np.stack(mask_l),
        activity=acts,
        captions=caps,
        sample=np.asarray(samples, dtype=np.int64),
        source=[str(root)] * len(acts),
    )


def dataset_card_sha256(root: str | Path) -> str | None:
    """sha256 of the dataset's ``card.json`` (None when it has none)."""
    card = Path(root) / "card.json"
    return hashlib.sha256(card.read_bytes()).hexdigest() if card.is_file() else None


def dataset_version(root: str | Path) -> str | None:
    """The generator version recorded in ``index.json``."""
    try:
        index = json.loads((Path(root) / "index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    gen = index.get("generator")
    return json.dumps(gen, sort_keys=True) if isinstance(gen, dict) else str(gen)


def holdout_mask(samples: np.ndarray, every: int) -> np.ndarray:
    """True for windows of held-out samples, about one sample in ``every`` (every <= 0: none).

    A fixed multiplicative hash of the sample index decides (``((k * 2654435761 mod 2^32) >> 16) % every == 0``),
    so the split does not line up with shards (``k % n``) and stays the same as a dataset grows.
    """
    if every <= 0:
        return np.zeros(len(samples), dtype=bool)
    h = (
        (np.asarray(samples, dtype=np.uint64) * np.uint64(2654435761)) % np.uint64(2**32)
    ) >> np.uint64(16)
    return (h % np.uint64(every)) == 0


def class_prompts(activity: str) -> list[str]:
    """Class-name prompts of a single activity (every template x every paraphrase)."""
    phrases = ACTIVITY_PHRASES.get(activity)
    if not phrases:
        return []
    return [t.format(p) for p in phrases for t in PROMPT_TEMPLATES]


class TextCache:
    """Frozen MiniLM sentence embeddings ``[384]`` per text, computed once and kept on disk."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else None
        self.table: dict[str, torch.Tensor] = {}
        if self.path is not None and self.path.is_file():
            self.table = torch.load(self.path, weights_only=True)

    def ensure(self, texts: Sequence[str]) -> None:
        missing = sorted({t for t in texts if t not in self.table})
        if not missing:
            return
        from training.clmp.model import minilm

        emb = minilm().embed(missing)
        for t, e in zip(missing, emb, strict=True):
            self.table[t] = e.clone()
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            torch.save(self.table, self.path)

    def get(self, texts: Sequence[str]) -> torch.Tensor:
        """``[N, 384]`` (every text must have been :meth:`ensure`-d)."""
        return torch.stack([self.table[t] for t in texts])


class CaptionSampler:
    """Draws one caption per window and the positives matrix of a batch (module docstring).

    Args:
        windows: the training windows.
        prompt_prob: probability of a class-name prompt instead of one of the sample's captions
            (single-person windows of a known activity only).
    """

    def __init__(self, windows: WindowSet, prompt_prob: float = 0.5) -> None:
        self.windows = windows
        self.prompt_prob = prompt_prob
        self.prompts = {a: class_prompts(a) for a in set(windows.activity)}

    def all_texts(self) -> list[str]:
        texts = {t for caps in self.windows.captions for t in caps}
        for p in self.prompts.values():
            texts.update(p)
        return sorted(texts)

    def draw(self, idx: np.ndarray, rng: np.random.Generator) -> tuple[list[str], torch.Tensor]:
        """Captions for windows ``idx`` and ``pos [B, B]`` (pos[i, j] = caption j is true of i)."""
        texts, claims = [], []
        for i in idx:
            act = self.windows.activity[i]
            prompts = self.prompts.get(act) or []
            caps = self.windows.captions[i]
            if prompts and (not caps or rng.random() < self.prompt_prob):
                texts.append(prompts[int(rng.integers(len(prompts)))])
                claims.append(("act", act))
            else:
                t = caps[int(rng.integers(len(caps)))]
                texts.append(t)
                claims.append(("text", t))
        acts = [self.windows.activity[i] for i in idx]
        n = len(idx)
        pos = torch.zeros(n, n)
        for j, (kind, value) in enumerate(claims):
            for i in range(n):
                if i == j or (kind == "act" and acts[i] == value) or texts[i] == texts[j]:
                    pos[i, j] = 1.0
        return texts, pos


def save_windows(ws: WindowSet, path: str | Path, contract: dict[str, Any]) -> None:
    """Prepared windows as one ``.npz`` (with the input contract they were prepared for)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(
        tmp,
        points=ws.points.astype(np.float16),
        mask=ws.mask.astype(np.uint8),
        activity=np.array(ws.activity),
        captions=np.array([json.dumps(c) for c in ws.captions]),
        sample=ws.sample,
        source=np.array(ws.source),
        contract=np.array(json.dumps(contract, sort_keys=True)),
    )
    tmp.replace(path)


def load_saved_windows(path: str | Path, contract: dict[str, Any]) -> WindowSet:
    """Windows written by :func:`save_windows`; ValueError when prepared for another contract."""
    with np.load(path) as z:
        saved = json.loads(str(z["contract"]))
        if saved != json.loads(json.dumps(contract, sort_keys=True)):
            raise ValueError(f"{path}: windows prepared for another input contract")
        return WindowSet(
            points=z["points"].astype(np.float32),
            mask=z["mask"].astype(np.float32),
            activity=[str(a) for a in z["activity"]],
            captions=[json.loads(str(c)) for c in z["captions"]],
            sample=z["sample"].astype(np.int64),
            source=[str(s) for s in z["source"]],
        )
