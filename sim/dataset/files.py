"""Deterministic bytes for dataset files: ``.npz`` and JSON encoders, atomic writes, sha256.

Shared by the dataset writer and the dataset card; the same content always gives the same bytes (no
timestamps, sorted keys and members, a fixed zip date and deflate level).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

ZIP_DATE = (1980, 1, 1, 0, 0, 0)
ZIP_LEVEL = 6


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """A deterministic ``.npz``: members in key order, fixed zip date, deflate level ``ZIP_LEVEL``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            member = io.BytesIO()
            np.lib.format.write_array(
                member, np.ascontiguousarray(arrays[name]), allow_pickle=False
            )
            info = zipfile.ZipInfo(f"{name}.npy", date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            zf.writestr(info, member.getvalue(), compresslevel=ZIP_LEVEL)
    return buf.getvalue()


def json_bytes(doc: Any) -> bytes:
    """Sorted-key, indented UTF-8 JSON with a trailing newline."""
    return (
        json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
    ).encode("utf-8")


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a ``.tmp`` sibling and a rename (never half a file).

    The sibling's name carries the process id, so processes that write the same file at once (shards
    of a Slurm array or Ray tasks rewriting ``index.json``) never share a temporary file.
    """
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()
