"""How well the frozen CLMP embedding alone separates what the mm-LLM is asked about: linear probes.

The mm-LLM reads a window only through the CLMP embedding (``embeddings.npy`` of a
:func:`training.llm.data.build_data` set), so a linear probe on it bounds what the projector can
pass on: if a multinomial logistic regression trained on the *train* episodes names the held-out
episodes' activity only 45 % of the time, the LLM's radar-only answers cannot do much better.

Probes (one label per episode, from its truth):

- ``activity``: the activity of the person nearest the radar during the window (simulator label);
- ``count``: the number of people (1, 2, 3+).

Each is fitted on the train split (L2-regularised softmax regression, full-batch L-BFGS, torch) and
scored on the held-out split (rooms and subjects unseen), beside the majority-class rate.

How to run (CPU, seconds)::

    python -m training.llm.probe --data /tmp/mmllm-data
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from training.llm.data import LLMData


def nearest_activity(truth: dict[str, Any]) -> str:
    """The simulator activity of the person nearest the radar (``"none"`` for an empty room)."""
    people = truth.get("people", [])
    if not people:
        return "none"
    p = min(people, key=lambda q: float(np.hypot(*q["position_radar"][:2])))
    return str(p.get("activity"))


def count_label(truth: dict[str, Any]) -> str:
    n = len(truth.get("people", []))
    return str(n) if n < 3 else "3+"


def fit_probe(
    x_train: np.ndarray,
    y_train: Sequence[str],
    x_test: np.ndarray,
    y_test: Sequence[str],
    *,
    l2: float = 1e-3,
) -> dict[str, Any]:
    """Softmax regression on ``x_train`` -> held-out accuracy, majority rate, per-class recall."""
    classes = sorted(set(y_train))
    index = {c: i for i, c in enumerate(classes)}
    xt = torch.from_numpy(np.asarray(x_train, np.float32)) * np.sqrt(x_train.shape[1])
    yt = torch.tensor([index[c] for c in y_train])
    lin = torch.nn.Linear(xt.shape[1], len(classes))
    opt = torch.optim.LBFGS(lin.parameters(), max_iter=300, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(lin(xt), yt) + l2 * lin.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        xs = torch.from_numpy(np.asarray(x_test, np.float32)) * np.sqrt(x_test.shape[1])
        pred = [classes[i] for i in lin(xs).argmax(1).tolist()]
        train_acc = float((lin(xt).argmax(1) == yt).float().mean())
    hits = [p == t for p, t in zip(pred, y_test, strict=True)]
    major = Counter(y_train).most_common(1)[0][0]
    recall = {
        c: round(float(np.mean([h for h, t in zip(hits, y_test, strict=True) if t == c])), 3)
        for c in sorted(set(y_test))
    }
    return {
        "heldout_accuracy": round(float(np.mean(hits)), 4) if hits else None,
        "train_accuracy": round(train_acc, 4),
        "majority_class": major,
        "majority_rate": round(float(np.mean([t == major for t in y_test])), 4) if hits else None,
        "n_train": len(y_train),
        "n_heldout": len(y_test),
        "classes": len(classes),
        "heldout_recall": recall,
    }


def probe(data: LLMData) -> dict[str, Any]:
    """Both probes (module docstring) on a data set."""
    split = np.array([e["split"] for e in data.episodes])
    tr, te = split == "train", split == "heldout"
    out = {}
    for name, fn in (("activity", nearest_activity), ("count", count_label)):
        y = np.array([fn(e["truth"]) for e in data.episodes])
        out[name] = fit_probe(data.embeddings[tr], list(y[tr]), data.embeddings[te], list(y[te]))
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m training.llm.probe --data DIR [--out FILE]``."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m training.llm.probe")
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", default=None, help="also write the figures to this JSON file")
    args = ap.parse_args(argv)
    res = probe(LLMData(args.data))
    text = json.dumps(res, indent=1, sort_keys=True)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
