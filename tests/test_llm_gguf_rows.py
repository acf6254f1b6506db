"""runtime.llm.gguf_rows: rows of a GGUF tensor, dequantised, against the gguf package's writer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from runtime.llm.gguf_rows import GGUFRows

gguf = pytest.importorskip(
    "gguf", reason="the gguf package is not installed (pip install 'mmfm[llm]')"
)


def _write(path: Path, tables: dict[str, tuple[np.ndarray, object]]) -> None:
    w = gguf.GGUFWriter(str(path), "gemma3")
    w.add_string("general.name", "rows test")
    w.add_array("tokenizer.ggml.tokens", ["a", "bb", "<start_of_turn>"])  # skipped by the reader
    for name, (arr, qtype) in tables.items():
        data = gguf.quants.quantize(arr, qtype)
        w.add_tensor(name, data, raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def test_rows_match_the_gguf_package(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    emb = rng.normal(0, 0.05, (50, 64)).astype(np.float32)  # [rows, width]
    f16 = rng.normal(0, 1.0, (7, 32)).astype(np.float32)
    path = tmp_path / "t.gguf"
    q8, f16t = gguf.GGMLQuantizationType.Q8_0, gguf.GGMLQuantizationType.F16
    _write(path, {"token_embd.weight": (emb, q8), "other": (f16, f16t)})
    ids = [3, 0, 49, 3]
    with GGUFRows(path) as g:
        assert g.metadata["general.name"] == "rows test"
        assert g.tensors["token_embd.weight"].dims == (64, 50)
        got = g.rows("token_embd.weight", ids)
        ref = gguf.quants.dequantize(gguf.quants.quantize(emb, q8), q8)[ids]
        np.testing.assert_array_equal(got, ref)
        np.testing.assert_allclose(got, emb[ids], atol=0.05 * 4 / 127)  # Q8_0 rounding
        np.testing.assert_allclose(g.rows("other", [6]), f16[[6]], rtol=1e-3, atol=1e-3)
        with pytest.raises(IndexError):
            g.rows("token_embd.weight", [50])
        with pytest.raises(KeyError):
            g.rows("missing", [0])
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"NOPE" + bytes(32))
    with pytest.raises(ValueError, match="not a GGUF"):
        GGUFRows(bad)
