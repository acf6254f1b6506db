"""The mm-LLM's instruction data set: episodes -> CLMP embeddings + text contexts + QA pairs.

:func:`build_data` makes ``num`` episodes (:mod:`training.llm.episodes`, kinematic radar windows
with simulator truth), embeds each window with the frozen CLMP encoder (``models/clmp-points-v2``,
onnxruntime, fp32), writes both context views (:mod:`training.llm.truth_events`) and the QA pairs
(:mod:`training.llm.instructions`) into ``DIR``::

    DIR/raw/{index:06d}.npz|.json   one episode each (kept: a rerun resumes where it stopped)
    DIR/embeddings.npy              float32 [N, 256], L2-normalised, row i = episodes.jsonl line i
    DIR/episodes.jsonl              {id, seed, index, split, truth, context: {full, history}}
    DIR/train.jsonl, heldout.jsonl  QA pairs ({..QA fields, "episode": row, "split"})
    DIR/card.json                   format, versions, seeds, encoder + its card sha256, counts, sha256s

Deterministic: same ``(seed, num, encoder)`` -> same bytes. Scenarios that cannot be placed are
skipped and counted in the card. The split is by room and subject (:class:`SplitSpec`).

How to run (tiny, CPU, ~0.3 s per episode)::

    python -m training.llm.data --out /tmp/mmllm-data --num 20
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from runtime.checksums import sha256_file
from runtime.llm.context import CONTEXT_VERSION
from training.llm.episodes import EPISODE_VERSION, make_episode
from training.llm.instructions import GENERATOR_VERSION, QA, SplitSpec, make_instructions
from training.llm.truth_events import CONTEXT_MODES, truth_context

DATA_FORMAT = "mmfm.llm.data/1"
DEFAULT_ENCODER = "clmp-points-v2"


def _jsonl(rows: Iterable[dict[str, Any]]) -> bytes:
    return b"".join(
        (json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8") for r in rows
    )


def _raw_episode(
    raw: Path, seed: int, index: int, contract: dict[str, Any], split: SplitSpec
) -> dict[str, Any] | None:
    """One episode from the cache (or made and cached); None when its scenario cannot be placed."""
    from sim.dataset.scenario import ScenarioError

    js, nz = raw / f"{index:06d}.json", raw / f"{index:06d}.npz"
    if js.exists():
        doc = json.loads(js.read_text("utf-8"))
        if doc.get("skipped"):
            return None
        with np.load(nz) as z:
            doc["points"], doc["mask"] = z["points"], z["mask"]
        return doc
    try:
        ep = make_episode(seed, index, contract, split=split)
    except ScenarioError as exc:
        js.write_text(json.dumps({"skipped": str(exc)}) + "\n", "utf-8")
        return None
    doc = {
        "id": ep.id,
        "seed": ep.seed,
        "index": ep.index,
        "split": ep.split,
        "truth": ep.truth,
        "scenario_room": {
            "scene_seed": ep.scenario.get("scene_seed"),
            "prompt": ep.scenario.get("prompt"),
        },
    }
    np.savez(nz.with_suffix(".tmp.npz"), points=ep.points, mask=ep.mask)
    nz.with_suffix(".tmp.npz").replace(nz)
    js.write_text(json.dumps(doc, sort_keys=True) + "\n", "utf-8")
    doc["points"], doc["mask"] = ep.points, ep.mask
    return doc


def _raw_worker(job: tuple[Path, int, int, dict[str, Any], SplitSpec]) -> int:
    raw, seed, index, contract, split = job
    js = raw / f"{index:06d}.json"
    if not js.exists():
        _raw_episode(raw, seed, index, contract, split)
    return index


def _make_raw_parallel(
    raw: Path,
    seed: int,
    num: int,
    contract: dict[str, Any],
    split: SplitSpec,
    workers: int,
    progress: Callable[[Iterable[Any]], Iterable[Any]] | None,
) -> None:
    """Fill the ``raw/`` cache with ``workers`` processes (spawned: no shared RNG or BLAS state)."""
    import multiprocessing as mp

    jobs = [(raw, seed, i, contract, split) for i in range(num)]
    with mp.get_context("spawn").Pool(workers) as pool:
        it: Iterable[Any] = pool.imap_unordered(_raw_worker, jobs, chunksize=1)
        for _ in progress(it) if progress else it:
            pass


def build_data(
    out: str | Path,
    *,
    num: int,
    seed: int = 11,
    encoder: str = DEFAULT_ENCODER,
    split: SplitSpec | None = None,
    progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None,
    workers: int = 1,
) -> dict[str, Any]:
    """Write the data set (module docstring) and return its card.

    Args:
        out: the directory.
        num: episodes to make (indices ``0..num-1`` of ``seed``).
        seed: the scenario seed.
        encoder: CLMP model name or directory (``runtime.models.load_model``).
        split: the held-out rule (default :class:`SplitSpec`).
        progress: wraps the episode loop (a progress bar), or None.
        workers: processes making the episodes (each episode is cached in ``raw/`` by its index,
            so the bytes do not depend on this).
    """
    from runtime.inference.encoder import PointEncoder
    from runtime.models import load_model

    split = split or SplitSpec()
    out = Path(out)
    raw = out / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    art = load_model(encoder)
    contract = art.input_contract
    docs = []
    if workers > 1:
        _make_raw_parallel(raw, seed, num, contract, split, workers, progress)
    indices: Iterable[int] = range(num)
    for index in progress(indices) if progress and workers <= 1 else indices:
        doc = _raw_episode(raw, seed, int(index), contract, split)
        if doc is not None:
            docs.append(doc)
    if not docs:
        raise ValueError(f"no episode could be made (seed {seed}, {num} tried)")
    enc = PointEncoder(art, precision="fp32", threads=1)
    pts = np.stack([d["points"] for d in docs])
    msk = np.stack([d["mask"] for d in docs])
    emb = np.concatenate(
        [enc.embed(pts[i : i + 64], msk[i : i + 64]) for i in range(0, len(docs), 64)]
    )
    np.save(out / "embeddings.npy", emb.astype(np.float32))
    episodes, qa_rows = [], {"train": [], "heldout": []}
    for row, d in enumerate(docs):
        truth = d["truth"]
        episodes.append(
            {
                "id": d["id"],
                "seed": d["seed"],
                "index": d["index"],
                "split": d["split"],
                "truth": truth,
                "context": {m: truth_context(truth, m) for m in CONTEXT_MODES},
            }
        )
        qas: list[QA] = make_instructions(
            truth, truth["window"], seed=seed, index=d["index"], sample_id=d["id"]
        )
        for qa in qas:
            qa_rows[d["split"]].append({**qa.to_dict(), "episode": row, "split": d["split"]})
    files: dict[str, str] = {}
    for name, data in (
        ("episodes.jsonl", _jsonl(episodes)),
        ("train.jsonl", _jsonl(qa_rows["train"])),
        ("heldout.jsonl", _jsonl(qa_rows["heldout"])),
    ):
        (out / name).write_bytes(data)
        files[name] = hashlib.sha256(data).hexdigest()
    files["embeddings.npy"] = sha256_file(out / "embeddings.npy")
    card = {
        "format": DATA_FORMAT,
        "episode_version": EPISODE_VERSION,
        "instructions_version": GENERATOR_VERSION,
        "context_version": CONTEXT_VERSION,
        "seed": seed,
        "num_tried": num,
        "num_episodes": len(docs),
        "skipped": num - len(docs),
        "encoder": {
            "name": art.name,
            "model": str(encoder),
            "card_sha256": sha256_file(art.path / "card.json"),
        },
        "split": {
            "heldout_fraction": split.heldout_fraction,
            "heldout_room_types": list(split.heldout_room_types),
            "salt": split.salt,
            "episodes": dict(sorted(Counter(d["split"] for d in docs).items())),
        },
        "counts": {
            k: dict(sorted(Counter(r["type"] for r in v).items())) for k, v in qa_rows.items()
        },
        "files": files,
    }
    (out / "card.json").write_text(json.dumps(card, indent=1, sort_keys=True) + "\n", "utf-8")
    return card


class LLMData:
    """A data set written by :func:`build_data`, read back.

    Attributes:
        root: the directory; ``card``: its card; ``embeddings``: float32 ``[N, 256]``;
        ``episodes``: the episode rows; ``qa``: ``{"train": [...], "heldout": [...]}`` QA rows.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        card_path = self.root / "card.json"
        if not card_path.is_file():
            raise FileNotFoundError(
                f"{card_path}: no mm-LLM data card (make one: python -m training.llm.data)"
            )
        self.card = json.loads(card_path.read_text("utf-8"))
        if self.card.get("format") != DATA_FORMAT:
            raise ValueError(
                f"{card_path}: format {self.card.get('format')!r}, expected {DATA_FORMAT}"
            )
        self.embeddings = np.load(self.root / "embeddings.npy")
        self.episodes = [
            json.loads(x) for x in (self.root / "episodes.jsonl").read_text("utf-8").splitlines()
        ]
        self.qa = {
            s: [json.loads(x) for x in (self.root / f"{s}.jsonl").read_text("utf-8").splitlines()]
            for s in ("train", "heldout")
        }

    def card_sha256(self) -> str:
        return sha256_file(self.root / "card.json")


def main(argv: list[str] | None = None) -> int:
    """``python -m training.llm.data --out DIR --num N [--seed S]``."""
    import argparse

    from tqdm import tqdm

    ap = argparse.ArgumentParser(prog="python -m training.llm.data")
    ap.add_argument("--out", required=True)
    ap.add_argument("--num", type=int, required=True)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--encoder", default=DEFAULT_ENCODER)
    ap.add_argument("--workers", type=int, default=1, help="processes making episodes")
    args = ap.parse_args(argv)
    card = build_data(
        args.out,
        num=args.num,
        seed=args.seed,
        encoder=args.encoder,
        progress=lambda it: tqdm(it, desc="episodes", unit="ep", total=args.num),
        workers=args.workers,
    )
    print(json.dumps({k: card[k] for k in ("num_episodes", "skipped", "split", "counts")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
