"""The base LLM file: assembled from the PyPI chunk packages into mmfm's cache, sha256-checked."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from runtime.llm import base_model as bm

needs_package = pytest.mark.skipif(
    importlib.util.find_spec(bm.BASE_MODEL_MODULE) is None,
    reason=f"the base LLM package is not installed (pip install 'mmfm[llm]' or {bm.BASE_MODEL_PACKAGE})",
)


def test_cache_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MMFM_CACHE", str(tmp_path / "c"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert bm.cache_dir() == tmp_path / "c"
    assert bm.default_gguf_path() == tmp_path / "c" / "llm" / bm.BASE_MODEL_FILE
    monkeypatch.delenv("MMFM_CACHE")
    assert bm.cache_dir() == tmp_path / "x" / "mmfm"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert bm.cache_dir() == Path(os.path.expanduser("~")) / ".cache" / "mmfm"


@needs_package
def test_assembles_into_the_cache_once_and_repairs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MMFM_CACHE", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # nothing may land in the home directory
    path = bm.base_model_path()
    assert path == tmp_path / "llm" / bm.BASE_MODEL_FILE
    assert bm.sha256_file(path) == bm.BASE_MODEL_SHA256
    assert path.read_bytes()[:4] == b"GGUF"
    assert not (tmp_path / "home").exists()
    assert sorted(p.name for p in path.parent.iterdir()) == [
        bm.BASE_MODEL_FILE,
        bm.BASE_MODEL_FILE + ".sha256",
    ]  # no temporary file left behind
    # found again without re-assembling (same inode, same mtime)
    st = path.stat()
    assert bm.base_model_path() == path
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == (st.st_ino, st.st_mtime_ns)
    # a damaged file (same size, one byte changed) is detected and replaced
    with path.open("r+b") as fh:
        fh.seek(1_000_000)
        b = fh.read(1)
        fh.seek(1_000_000)
        fh.write(bytes([b[0] ^ 0xFF]))
    assert not bm.is_verified(path)
    assert bm.base_model_path() == path
    assert bm.sha256_file(path) == bm.BASE_MODEL_SHA256


@needs_package
def test_explicit_file_must_be_the_base_model(tmp_path: Path) -> None:
    other = tmp_path / "other.gguf"
    other.write_bytes(b"GGUF" + bytes(100))
    with pytest.raises(bm.BaseModelError, match="sha256 differs"):
        bm.base_model_path(other)
    with pytest.raises(bm.BaseModelError, match="no such GGUF"):
        bm.base_model_path(tmp_path / "missing.gguf")


def test_missing_package_is_one_clear_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MMFM_CACHE", str(tmp_path))
    monkeypatch.setattr(bm, "BASE_MODEL_MODULE", "mmfm_no_such_chunk_package")
    with pytest.raises(bm.BaseModelError, match=r"pip install 'mmfm\[llm\]'"):
        bm.base_model_path()
