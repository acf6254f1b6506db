"""WebDataset-style tar shards of an mmfm dataset, for object stores (few large files, read in order).

A directory of per-sample files (``sim/dataset/FORMAT.md``) is cheap on a local disk but slow on an
object store (one request per file). :func:`pack` writes one plain tar per shard, holding that
shard's ``sample-<8-digit index>.json`` and ``.npz`` in index order (the WebDataset convention: the files of
a sample are adjacent and share their stem), plus the dataset's ``index.json`` (and ``card.json``)
and a ``tars.json`` listing the tars::

    DST/
      index.json, card.json            # copied unchanged
      tars.json                        # {"format": "mmfm.dataset.tars/1", "tars": [{"name", "shard",
                                       #   "samples", "bytes", "sha256"}, ...]}
      shard-00000-of-00004.tar ...     # sample-00000000.json, sample-00000000.npz, sample-00000004...

The tars are deterministic (members sorted by sample, mtime 0, owner 0), so the same dataset packs
to the same bytes. ``mmfm train clmp --stream --data DST`` (a directory or any fsspec URL) reads them:
:class:`training.clmp.stream.WindowStream` then deals whole tars to the readers (one sequential read
each) instead of single samples.

    python -m training.clmp.tarshards /data/sim s3://bucket/sim-tars    # or a directory
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import tarfile
from collections.abc import Iterator
from typing import IO, Any

import fsspec

from runtime.dataset import CARD_NAME, INDEX_NAME, DatasetError

TARS_NAME = "tars.json"
TARS_FORMAT = "mmfm.dataset.tars/1"


def tar_name(shard: str) -> str:
    """File name of the tar of ``shard`` (``shard-00000-of-00004.tar``)."""
    return f"{shard}.tar"


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


class _HashingWriter:
    """A write-only file wrapper that counts and hashes what passes through."""

    def __init__(self, f: IO[bytes]) -> None:
        self.f, self.sha, self.bytes = f, hashlib.sha256(), 0

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.bytes += len(data)
        return self.f.write(data)


def pack(src: str, dst: str) -> dict[str, Any]:
    """Pack dataset ``src`` (directory or fsspec URL) into tar shards at ``dst``; returns tars.json.

    Raises:
        DatasetError: ``src`` is not a dataset (the message names the file).
    """
    src_fs, src_root = fsspec.core.url_to_fs(str(src).rstrip("/"))

    def raw(rel: str) -> bytes:
        try:
            return src_fs.cat_file(f"{src_root}/{rel}")
        except FileNotFoundError:
            raise DatasetError(f"{str(src).rstrip('/')}/{rel}: missing") from None

    try:
        index = json.loads(raw(INDEX_NAME))
        shards = [str(sh["name"]) for sh in index["shards"]]
        samples = [(str(x["shard"]), str(x["stem"]), int(x["index"])) for x in index["samples"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise DatasetError(f"{src}/{INDEX_NAME}: not a dataset index ({exc})") from None
    fs, root = fsspec.core.url_to_fs(str(dst).rstrip("/"))
    fs.makedirs(root, exist_ok=True)
    tars = []
    for shard in shards:
        mine = [(stem, i) for sh, stem, i in samples if sh == shard]
        with fs.open(f"{root}/{tar_name(shard)}", "wb") as f:
            out = _HashingWriter(f)  # written as a stream: a shard never sits in memory
            with tarfile.open(fileobj=out, mode="w|", format=tarfile.USTAR_FORMAT) as tar:
                for stem, _ in mine:
                    for ext in (".json", ".npz"):
                        _add(tar, stem + ext, raw(f"{shard}/{stem}{ext}"))
        tars.append(
            {
                "name": tar_name(shard),
                "shard": shard,
                "samples": [i for _, i in mine],
                "bytes": out.bytes,
                "sha256": out.sha.hexdigest(),
            }
        )
    doc = {"format": TARS_FORMAT, "tars": tars}
    fs.pipe_file(f"{root}/{INDEX_NAME}", raw(INDEX_NAME))
    if src_fs.exists(f"{src_root}/{CARD_NAME}"):
        fs.pipe_file(f"{root}/{CARD_NAME}", raw(CARD_NAME))
    fs.pipe_file(f"{root}/{TARS_NAME}", (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode())
    return doc


def iter_tar(fileobj: IO[bytes], where: str) -> Iterator[tuple[str, bytes, bytes]]:
    """``(stem, json bytes, npz bytes)`` of each sample of a tar read front to back (no seeking).

    Raises:
        DatasetError: an unreadable tar, or a sample without both files (``where`` names the tar).
    """
    pending: dict[str, dict[str, bytes]] = {}
    try:
        with tarfile.open(fileobj=fileobj, mode="r|") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                stem, _, ext = member.name.rpartition(".")
                f = tar.extractfile(member)
                assert f is not None
                parts = pending.setdefault(stem, {})
                parts[ext] = f.read()
                if "json" in parts and "npz" in parts:
                    yield stem, parts["json"], parts["npz"]
                    del pending[stem]
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise DatasetError(f"{where}: unreadable tar ({exc})") from None
    if pending:
        raise DatasetError(f"{where}: {sorted(pending)[0]} lacks its .json or .npz")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Pack a dataset into WebDataset-style tar shards.")
    ap.add_argument("src", help="dataset directory or fsspec URL (index.json inside)")
    ap.add_argument("dst", help="output directory or fsspec URL")
    args = ap.parse_args(argv)
    try:
        doc = pack(args.src, args.dst)
    except (DatasetError, OSError) as exc:
        print(f"error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    total = sum(t["bytes"] for t in doc["tars"])
    print(f"{len(doc['tars'])} tars, {total / 1e6:.1f} MB: {args.dst}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
