"""Read rows of one tensor from a GGUF file (numpy only): e.g. the token-embedding table.

Soft tokens live in the units of the model's input-embedding table (``token_embd.weight``): a
projector is checked against the table's scale, and the engine's injection path is proven by feeding
table rows as soft tokens (``tests/test_llm_engine.py``). The ``gguf`` package's ``GGUFReader``
parses every metadata field into numpy objects (Gemma's 262,144-entry vocabulary makes that
tens of seconds); this reader walks the header, skips the metadata, memory-maps the file and
dequantises only the rows asked for.

GGUF v2/v3 layout (little endian): ``"GGUF"``, version u32, tensor count u64, metadata count u64;
the metadata (key string, value type u32, value); the tensor infos (name, n_dims u32, dims u64 each
(``dims[0]`` varies fastest: a ``[rows, dims[0]]`` matrix), type u32, offset u64); padding to
``general.alignment`` (default 32); the tensor data. Supported row types: F32, F16, Q8_0 (blocks of
32: an f16 scale + 32 int8); others raise :class:`ValueError`.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

GGML_F32, GGML_F16, GGML_Q8_0 = 0, 1, 8
# metadata value types -> struct format of a scalar (8 = string, 9 = array)
_SCALAR = {
    0: "B",
    1: "b",
    2: "H",
    3: "h",
    4: "I",
    5: "i",
    6: "f",
    7: "?",
    10: "Q",
    11: "q",
    12: "d",
}
_STRING, _ARRAY = 8, 9


@dataclass(frozen=True, slots=True)
class TensorInfo:
    """Where a tensor's bytes are: ``dims`` as GGUF lists them (fastest first), ggml ``type``,
    absolute byte ``offset`` in the file."""

    name: str
    dims: tuple[int, ...]
    type: int
    offset: int


class _Cursor:
    def __init__(self, buf: mmap.mmap) -> None:
        self.buf, self.pos = buf, 0

    def scalar(self, fmt: str) -> int | float | bool:
        (v,) = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize(fmt)
        return v

    def string(self) -> str:
        n = int(self.scalar("Q"))
        s = bytes(self.buf[self.pos : self.pos + n]).decode("utf-8", "replace")
        self.pos += n
        return s

    def skip_value(self, vtype: int) -> object:
        """Read a metadata value (strings and scalars returned; arrays skipped, None)."""
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            etype, count = int(self.scalar("I")), int(self.scalar("Q"))
            if etype == _STRING:
                for _ in range(count):
                    n = int(self.scalar("Q"))  # (not `pos += scalar()`: scalar moves pos)
                    self.pos += n
            elif etype in _SCALAR:
                self.pos += count * struct.calcsize(_SCALAR[etype])
            else:
                raise ValueError(f"GGUF array of unknown type {etype}")
            return None
        if vtype not in _SCALAR:
            raise ValueError(f"GGUF metadata of unknown type {vtype}")
        return self.scalar(_SCALAR[vtype])


def _f16(raw: np.ndarray) -> np.ndarray:
    return raw.view("<f2").astype(np.float32)


class GGUFRows:
    """A GGUF file opened for row reads (memory-mapped; use as a context manager or ``close()``).

    Raises:
        ValueError: not a GGUF file (bad magic) or an unsupported version.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fh = self.path.open("rb")
        self._mm = mmap.mmap(self._fh.fileno(), 0, access=mmap.ACCESS_READ)
        cur = _Cursor(self._mm)
        if bytes(self._mm[:4]) != b"GGUF":
            self.close()
            raise ValueError(f"{self.path}: not a GGUF file")
        cur.pos = 4
        version = int(cur.scalar("I"))
        if version not in (2, 3):
            self.close()
            raise ValueError(f"{self.path}: GGUF version {version} not supported")
        n_tensors, n_kv = int(cur.scalar("Q")), int(cur.scalar("Q"))
        #: Scalar and string metadata (arrays are skipped).
        self.metadata: dict[str, object] = {}
        for _ in range(n_kv):
            key = cur.string()
            value = cur.skip_value(int(cur.scalar("I")))
            if value is not None:
                self.metadata[key] = value
        infos = []
        for _ in range(n_tensors):
            name = cur.string()
            n_dims = int(cur.scalar("I"))
            dims = tuple(int(cur.scalar("Q")) for _ in range(n_dims))
            ttype, off = int(cur.scalar("I")), int(cur.scalar("Q"))
            infos.append((name, dims, ttype, off))
        align = int(self.metadata.get("general.alignment", 32))  # type: ignore[arg-type]
        data_start = (cur.pos + align - 1) // align * align
        #: Tensor infos by name.
        self.tensors = {n: TensorInfo(n, d, t, data_start + o) for n, d, t, o in infos}

    def close(self) -> None:
        if getattr(self, "_mm", None) is not None:
            self._mm.close()
            self._mm = None
        if getattr(self, "_fh", None) is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> GGUFRows:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def rows(self, name: str, ids: Sequence[int]) -> np.ndarray:
        """Rows ``ids`` of the 2-D tensor ``name``, dequantised: float32 ``[len(ids), dims[0]]``."""
        if name not in self.tensors:
            raise KeyError(f"{self.path}: no tensor {name!r}")
        info = self.tensors[name]
        if len(info.dims) != 2:
            raise ValueError(f"{name}: {len(info.dims)}-D, rows need a 2-D tensor")
        width, n_rows = info.dims
        idx = np.asarray(ids, dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= n_rows):
            raise IndexError(f"{name}: row ids must be in [0, {n_rows})")
        if info.type == GGML_F32:
            row_bytes = 4 * width
        elif info.type == GGML_F16:
            row_bytes = 2 * width
        elif info.type == GGML_Q8_0:
            row_bytes = 34 * (width // 32)
        else:
            raise ValueError(f"{name}: ggml type {info.type} not supported (F32, F16, Q8_0)")
        table = np.frombuffer(
            self._mm, dtype=np.uint8, count=row_bytes * n_rows, offset=info.offset
        )
        raw = table.reshape(n_rows, row_bytes)[idx]  # [n, row_bytes] copy of the wanted rows
        if info.type == GGML_F32:
            return raw.view("<f4").astype(np.float32)
        if info.type == GGML_F16:
            return _f16(raw)
        blocks = raw.reshape(len(idx), width // 32, 34)
        scale = _f16(np.ascontiguousarray(blocks[:, :, :2])).reshape(len(idx), -1, 1)
        q = blocks[:, :, 2:].view(np.int8).astype(np.float32)
        return (scale * q).reshape(len(idx), width)
