"""Streaming CLMP windows from dataset shards (``mmfm train clmp --stream``): no dataset in memory.

:class:`WindowStream` is a ``torch.utils.data.IterableDataset`` over the sample files of a dataset
written by ``mmfm sim generate`` (``sim/dataset/FORMAT.md``), read one sample at a time through
`fsspec <https://filesystem-spec.readthedocs.io>`_, so ``--data`` may be a directory or any URL fsspec
opens (``file://``, ``memory://``; ``s3://``, ``gs://``, ``hf://`` with their fsspec packages
installed). Only the sample files the process needs are read, and only the arrays CLMP uses
(``points``, ``points_offsets``, ``frame_times_s``) are decoded.

Per epoch, every training sample is read exactly once across all ranks and DataLoader workers:

1. the shards are put in an order drawn from ``(seed, epoch)`` (the same on every rank);
2. the samples, in that shard order (index order within a shard), are dealt round-robin to the
   ``world_size x num_workers`` readers: reader ``rank * num_workers + worker`` takes samples
   ``k`` with ``k % readers == reader`` (balanced to within one sample). A dataset packed into
   WebDataset-style tar shards (:mod:`training.clmp.tarshards`, for object stores) is dealt by
   whole tars instead, each read front to back by one reader (balanced when the number of tars is
   a multiple of the readers; ranks stop an epoch together at the shortest);
3. each reader cuts its samples into windows (:func:`sample_windows`, the cut of
   ``training.clmp.data.load_windows``) and shuffles them through a buffer of ``shuffle_buffer``
   windows with a generator seeded by ``(seed, epoch, rank, worker)``.

Held-out samples (``training.clmp.data.holdout_mask``) are left out of the training stream and read
by :func:`load_stream_windows` (``select="heldout"``) for the held-out figures.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import fsspec
import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from runtime.dataset import (
    DATASET_FORMAT,
    INDEX_NAME,
    MANIFEST_NAME,
    DatasetError,
    Sample,
    decode_sample,
)
from runtime.inference.window import points_window_arrays
from training.clmp.data import WindowSet, holdout_mask, sample_activity
from training.clmp.tarshards import TARS_FORMAT, TARS_NAME, iter_tar

#: The arrays of a sample's ``.npz`` that CLMP reads (the rest, e.g. raw ADC, is skipped).
POINT_ARRAYS = ("points", "points_offsets", "frame_times_s")


def is_url(path: str) -> bool:
    """True for ``proto://...`` (an fsspec URL), False for a plain path."""
    return "://" in str(path)


@dataclass(frozen=True)
class SampleRef:
    """Where one sample lives: global ``index``, ``shard`` folder and file ``stem``."""

    index: int
    shard: str
    stem: str


class ShardReader:
    """A dataset directory or URL opened through fsspec (index, manifests, one sample at a time).

    Args:
        root: directory or fsspec URL holding ``index.json``.
        verify: check each sample file's sha256 against its shard manifest when read.

    Raises:
        DatasetError: no readable ``index.json`` or another format (the message names the file).
    """

    def __init__(self, root: str, *, verify: bool = False) -> None:
        self.root = str(root).rstrip("/")
        self.verify = verify
        try:
            self.fs, self.path = fsspec.core.url_to_fs(self.root)
        except (ImportError, ValueError) as exc:
            raise DatasetError(f"{self.root}: cannot open ({exc})") from None
        self.index = self._json(INDEX_NAME)
        if self.index.get("format") != DATASET_FORMAT:
            raise DatasetError(
                f"{self.root}/{INDEX_NAME}: format {self.index.get('format')!r}, "
                f"expected {DATASET_FORMAT!r}"
            )
        self.samples = [
            SampleRef(int(s["index"]), str(s["shard"]), str(s["stem"]))
            for s in self.index["samples"]
        ]
        self.shards = [str(s["name"]) for s in self.index["shards"]]
        self._manifests: dict[str, dict[str, Any]] = {}
        self.tars: dict[str, dict[str, Any]] = {}  # shard -> its tars.json row (tar layout)
        if self.fs.exists(f"{self.path}/{TARS_NAME}"):
            doc = self._json(TARS_NAME)
            if doc.get("format") != TARS_FORMAT:
                raise DatasetError(
                    f"{self.root}/{TARS_NAME}: format {doc.get('format')!r}, expected {TARS_FORMAT!r}"
                )
            self.tars = {str(t["shard"]): t for t in doc["tars"]}

    def raw(self, rel: str) -> bytes:
        """The bytes of file ``rel`` (relative to the root); :class:`DatasetError` naming it."""
        try:
            return self.fs.cat_file(f"{self.path}/{rel}")
        except FileNotFoundError:
            raise DatasetError(f"{self.root}/{rel}: missing") from None
        except OSError as exc:
            raise DatasetError(f"{self.root}/{rel}: unreadable ({exc})") from None

    def _json(self, rel: str) -> Any:
        try:
            return json.loads(self.raw(rel).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DatasetError(f"{self.root}/{rel}: not valid JSON ({exc})") from None

    def _check(self, ref: SampleRef, name: str, data: bytes) -> None:
        if not self.verify:
            return
        if ref.shard not in self._manifests:
            self._manifests[ref.shard] = self._json(f"{ref.shard}/{MANIFEST_NAME}")
        want = self._manifests[ref.shard].get("files", {}).get(name, {}).get("sha256")
        if want != hashlib.sha256(data).hexdigest():
            raise DatasetError(
                f"{self.root}/{ref.shard}/{name}: checksum mismatch (file corrupt or modified)"
            )

    def read(self, ref: SampleRef) -> Sample:
        """One sample of a directory dataset (point clouds, truth JSON, captions; nothing else)."""
        raw_json = self.raw(f"{ref.shard}/{ref.stem}.json")
        raw_npz = self.raw(f"{ref.shard}/{ref.stem}.npz")
        self._check(ref, ref.stem + ".json", raw_json)
        self._check(ref, ref.stem + ".npz", raw_npz)
        return self.decode(ref, raw_json, raw_npz, f"{self.root}/{ref.shard}/{ref.stem}")

    def read_shard(self, shard: str, refs: Sequence[SampleRef]) -> Iterator[Sample]:
        """The samples ``refs`` of one shard, in shard order: its tar read front to back (tar
        layout, :mod:`training.clmp.tarshards`; ``verify`` checks the tar's sha256), or one sample
        file pair after the other."""
        if shard not in self.tars:
            for ref in refs:
                yield self.read(ref)
            return
        row = self.tars[shard]
        where = f"{self.root}/{row['name']}"
        wanted = {r.stem: r for r in refs}
        try:
            f = self.fs.open(f"{self.path}/{row['name']}", "rb")
        except FileNotFoundError:
            raise DatasetError(f"{where}: missing") from None
        with f:
            hashing = _HashingReader(f)
            for stem, raw_json, raw_npz in iter_tar(hashing, where):
                if stem in wanted:
                    yield self.decode(wanted[stem], raw_json, raw_npz, f"{where}:{stem}")
            if self.verify and hashing.finish() != row["sha256"]:
                raise DatasetError(f"{where}: checksum mismatch (file corrupt or modified)")

    @staticmethod
    def decode(ref: SampleRef, raw_json: bytes, raw_npz: bytes, where: str) -> Sample:
        """A :class:`Sample` from a sample's file bytes, decoding only :data:`POINT_ARRAYS`."""
        try:
            doc = json.loads(raw_json.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DatasetError(f"{where}.json: not valid JSON ({exc})") from None
        try:
            with np.load(io.BytesIO(raw_npz), allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in POINT_ARRAYS if k in npz.files}
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
            raise DatasetError(f"{where}.npz: unreadable .npz ({exc})") from None
        doc = {**doc, "arrays": {k: v for k, v in doc.get("arrays", {}).items() if k in arrays}}
        return decode_sample(ref.index, doc, arrays, where)  # type: ignore[arg-type]


class _HashingReader:
    """A read-only file wrapper that hashes what passes through (``finish`` reads to the end)."""

    def __init__(self, f: Any) -> None:
        self.f, self.sha = f, hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(n)
        self.sha.update(data)
        return data

    def finish(self) -> str:
        while self.read(1 << 20):
            pass
        return self.sha.hexdigest()


def sample_windows(
    sample: Sample, contract: dict[str, Any], stride_s: float
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The windows of one sample: ``[(points [T, P, 5], mask [T, P]), ...]`` every ``stride_s`` [s].

    The same cut as :func:`training.clmp.data.load_windows` (a window as long as the sample fits
    within half a frame period); empty when the sample holds no point clouds.
    """
    if not sample.points:
        return []
    window_s = float(contract["window_s"])
    times = np.asarray(sample.truth["frame_times_s"], dtype=np.float64)
    dt = times[1] - times[0] if len(times) > 1 else 0.0
    t_end = times[-1] + dt
    tol = 0.5 * dt + 1e-6
    out = []
    start = times[0]
    while start + window_s <= t_end + tol:
        sel = np.flatnonzero((times >= start - 1e-9) & (times < start + window_s - 1e-9))
        out.append(points_window_arrays([sample.points[i] for i in sel], times[sel], contract))
        start += stride_s
    return out


def _window_items(
    sample: Sample, contract: dict[str, Any], stride_s: float, source: str
) -> Iterator[dict[str, Any]]:
    texts = [c["text"] for c in sample.captions]
    act = sample_activity(sample.truth)
    for p, m in sample_windows(sample, contract, stride_s):
        yield {
            "points": p,
            "mask": m,
            "activity": act,
            "captions": texts,
            "sample": sample.index,
            "source": source,
        }


def select_samples(refs: Sequence[SampleRef], select: str, holdout_every: int) -> list[SampleRef]:
    """``"train"``: samples not held out; ``"heldout"``: only those; ``"all"``: every one."""
    if select not in ("train", "heldout", "all"):
        raise ValueError(f"unknown selection {select!r} (train, heldout, all)")
    if select == "all":
        return list(refs)
    held = holdout_mask(np.array([r.index for r in refs], dtype=np.int64), holdout_every)
    want = select == "heldout"
    return [r for r, h in zip(refs, held, strict=True) if bool(h) == want]


def epoch_order(reader: ShardReader, refs: Sequence[SampleRef], seed: int, epoch: int) -> list:
    """``refs`` grouped by shard, shards in an order drawn from ``(seed, epoch)``."""
    order = np.random.default_rng([seed, epoch, 5]).permutation(len(reader.shards))
    rank_of = {reader.shards[i]: k for k, i in enumerate(order)}
    return sorted(refs, key=lambda r: (rank_of.get(r.shard, len(order)), r.index))


class WindowStream(IterableDataset):
    """Training windows of one or several datasets as a stream, split by rank and worker (module doc).

    Args:
        roots: dataset directories or fsspec URLs.
        contract: the model's input contract (window length, frames, points).
        stride_s: window stride within a sample [s].
        seed: seeds the shard order (with the epoch) and the shuffle buffers.
        rank, world_size: this process's place among the DDP ranks.
        holdout_every: samples held out as in ``training.clmp.data.holdout_mask`` (0: none).
        select: ``"train"`` (default), ``"heldout"`` or ``"all"``.
        shuffle_buffer: windows held for shuffling per reader (0 or 1: stream order).
        verify: check the sha256 of every file read against the shard manifests (of every tar
            against ``tars.json``).

    Yields:
        dicts ``points`` float32 ``[T, P, 5]``, ``mask`` float32 ``[T, P]``, ``activity`` str,
        ``captions`` list of str, ``sample`` int, ``source`` str (batch them with
        :func:`collate_windows`).
    """

    def __init__(
        self,
        roots: Sequence[str],
        contract: dict[str, Any],
        *,
        stride_s: float = 1.0,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        holdout_every: int = 10,
        select: str = "train",
        shuffle_buffer: int = 1024,
        verify: bool = False,
    ) -> None:
        super().__init__()
        self.roots = [str(r) for r in roots]
        self.contract = dict(contract)
        self.stride_s = float(stride_s)
        self.seed = int(seed)
        self.rank, self.world_size = int(rank), int(world_size)
        self.holdout_every = int(holdout_every)
        self.select = select
        self.shuffle_buffer = int(shuffle_buffer)
        self.verify = verify
        self.epoch = 0
        self._readers: list[ShardReader] | None = None
        self._pid = os.getpid()
        for r in self.readers():  # fail early, in the main process, on a bad root
            outputs = r.index.get("spec", {}).get("outputs", ["points"])
            if "points" not in outputs:
                raise ValueError(
                    f"{r.root}: no point clouds in this dataset (generated with --outputs "
                    f"{','.join(outputs)}; CLMP needs --outputs points)"
                )

    def readers(self) -> list[ShardReader]:
        """The opened datasets, reopened once in each new (e.g. forked worker) process."""
        if self._readers is None or self._pid != os.getpid():
            self._pid = os.getpid()
            self._readers = [ShardReader(r, verify=self.verify) for r in self.roots]
        return self._readers

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_readers"] = None  # worker processes reopen (fsspec handles do not always pickle)
        return state

    def set_epoch(self, epoch: int) -> None:
        """Select the shard order and shuffles of ``epoch`` (call before iterating)."""
        self.epoch = int(epoch)

    def refs(self) -> list[tuple[int, SampleRef]]:
        """This epoch's samples as ``(reader number, ref)``, in global stream order (all readers)."""
        out = []
        for k, r in enumerate(self.readers()):
            chosen = select_samples(r.samples, self.select, self.holdout_every)
            out += [(k, ref) for ref in epoch_order(r, chosen, self.seed + 1009 * k, self.epoch)]
        return out

    def count_samples(self) -> int:
        """Number of samples one epoch streams over all ranks and workers."""
        return len(self.refs())

    def units(self) -> list[tuple[int, str, list[SampleRef]]]:
        """This epoch's reading units ``(reader number, shard, refs)`` in stream order: one sample
        each for a directory dataset, one whole shard (its tar) each for a tar dataset."""
        out: list[tuple[int, str, list[SampleRef]]] = []
        for k, ref in self.refs():
            if out and self.readers()[k].tars and out[-1][:2] == (k, ref.shard):
                out[-1][2].append(ref)
            else:
                out.append((k, ref.shard, [ref]))
        return out

    def __iter__(self) -> Iterator[dict[str, Any]]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        readers_total = self.world_size * workers
        me = self.rank * workers + worker
        mine = self.units()[me::readers_total]
        rng = np.random.default_rng([self.seed, self.epoch, self.rank, worker])
        buffer: list[dict[str, Any]] = []
        for k, shard, refs in mine:
            reader = self.readers()[k]
            for sample in reader.read_shard(shard, refs):
                for item in _window_items(sample, self.contract, self.stride_s, reader.root):
                    if self.shuffle_buffer <= 1:
                        yield item
                        continue
                    if len(buffer) < self.shuffle_buffer:
                        buffer.append(item)
                        continue
                    j = int(rng.integers(len(buffer)))
                    buffer[j], item = item, buffer[j]
                    yield item
        for j in rng.permutation(len(buffer)):
            yield buffer[j]


def collate_windows(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Stack stream items: ``points [B, T, P, 5]``, ``mask [B, T, P]`` tensors, lists for the rest."""
    return {
        "points": torch.from_numpy(np.stack([i["points"] for i in items])),
        "mask": torch.from_numpy(np.stack([i["mask"] for i in items])),
        "activity": [i["activity"] for i in items],
        "captions": [i["captions"] for i in items],
        "sample": [int(i["sample"]) for i in items],
        "source": [i["source"] for i in items],
    }


def windows_of(items: Sequence[dict[str, Any]]) -> WindowSet:
    """Stream items gathered into a :class:`WindowSet` (in memory)."""
    if not items:
        raise ValueError("no windows")
    batch = collate_windows(items)
    return WindowSet(
        points=batch["points"].numpy(),
        mask=batch["mask"].numpy(),
        activity=batch["activity"],
        captions=batch["captions"],
        sample=np.asarray(batch["sample"], dtype=np.int64),
        source=batch["source"],
    )


def load_stream_windows(stream: WindowStream, limit: int | None = None) -> WindowSet | None:
    """Up to ``limit`` windows of a stream (one reader, its order) in memory; None when empty."""
    items = []
    for item in stream:
        items.append(item)
        if limit is not None and len(items) >= limit:
            break
    return windows_of(items) if items else None


def windows_per_sample(stream: WindowStream) -> int:
    """Windows the first stream sample with points gives (all samples of a dataset are as long)."""
    for k, ref in stream.refs()[:8]:
        sample = next(stream.readers()[k].read_shard(ref.shard, [ref]))
        n = len(sample_windows(sample, stream.contract, stream.stride_s))
        if n:
            return n
    raise ValueError(
        f"{', '.join(stream.roots)}: no window of {stream.contract['window_s']:g} s in the first "
        "samples (no point clouds, or samples shorter than the window)"
    )
