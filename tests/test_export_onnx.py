"""`mmfm export onnx`: a real CLMP checkpoint -> ONNX artifact, run by real ONNX Runtime.

Parity against torch on plausible radar windows (fp32 cosine >= 0.999, int8 >= 0.99), a dynamic batch
axis, the int8 graph really quantised (MatMul only), the card, and the zero-shot scores.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from clmp_artifact import make_checkpoint, person_windows

from exporters.onnx import ExportError, export_clmp
from mmfm.cli import main
from runtime.inference.encoder import (
    PointEncoder,
    ZeroShotClassifier,
    zero_shot_probabilities,
)
from runtime.models import load_model, sha256_file
from training.clmp import load_checkpoint
from training.clmp.labels import DEFAULT_LABEL_SETS, PROMPT_TEMPLATES, text_prototypes


@pytest.fixture(scope="module")
def cli_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, int, str]:
    """`mmfm export onnx` on a fresh checkpoint: (checkpoint, artifact, exit code, stdout).

    Only the ``radhar`` set: the MiniLM text tower costs ~1 s per label on a busy 2-core machine."""
    base = tmp_path_factory.mktemp("export")
    ckpt = make_checkpoint(base / "ckpt", seed=3)
    out = base / "artifact"
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(
            ["export", "onnx", "--model", str(ckpt), "--out", str(out), "--label-sets", "radhar"]
        )
    return ckpt, out, code, buffer.getvalue()


@pytest.fixture(scope="module")
def exported(cli_export: tuple[Path, Path, int, str]) -> tuple[Path, Path]:
    """(checkpoint dir, artifact dir)."""
    assert cli_export[2] == 0, cli_export[3]
    return cli_export[0], cli_export[1]


@pytest.fixture(scope="module")
def reference(exported: tuple[Path, Path]) -> tuple[object, np.ndarray, np.ndarray, np.ndarray]:
    """(torch model, points, mask, torch embeddings) on 12 windows."""
    model, _card = load_checkpoint(exported[0])
    model.eval()
    points, mask = person_windows(model.input_contract, 12, seed=7)
    with torch.no_grad():
        emb = model.encode_points(torch.from_numpy(points), torch.from_numpy(mask)).numpy()
    return model, points, mask, emb


@pytest.mark.parametrize(("precision", "floor"), [("fp32", 0.999), ("int8", 0.99)])
def test_parity_with_torch(
    exported: tuple[Path, Path], reference: tuple, precision: str, floor: float
) -> None:
    _model, points, mask, want = reference
    encoder = PointEncoder(load_model(exported[1]), precision=precision, threads=1)
    got = encoder.embed(points, mask)
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-4)
    cosine = (got * want).sum(axis=1)
    assert cosine.min() >= floor, f"{precision} cosine {cosine.min():.5f} < {floor}"
    # different windows stay different: parity is not a constant output
    assert (want @ want.T)[~np.eye(len(want), dtype=bool)].min() < 0.999


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_dynamic_batch(exported: tuple[Path, Path], reference: tuple, precision: str) -> None:
    _model, points, mask, _want = reference
    encoder = PointEncoder(load_model(exported[1]), precision=precision, threads=1)
    whole = encoder.embed(points[:7], mask[:7])
    for batch in (1, 2, 7):
        out = encoder.embed(points[:batch], mask[:batch])
        assert out.shape == (batch, encoder.embedding_dim)
        # each row depends on its own window only (int8 quantises activations per call: loose)
        tol = 1e-5 if precision == "fp32" else 0.02
        np.testing.assert_allclose(out, whole[:batch], atol=tol)
    assert encoder.embed(points[:0], mask[:0]).shape == (0, encoder.embedding_dim)


def test_onnx_inputs_are_batch_dynamic_and_int8_quantises_matmuls(
    exported: tuple[Path, Path],
) -> None:
    art = exported[1]
    fp32 = onnx.load(str(art / "encoder.onnx"))
    int8 = onnx.load(str(art / "encoder.int8.onnx"))
    for graph in (fp32.graph, int8.graph):
        for value in [*graph.input, *graph.output]:
            assert value.type.tensor_type.shape.dim[0].dim_param == "batch", value.name
    ops32 = {n.op_type for n in fp32.graph.node}
    ops8 = [n.op_type for n in int8.graph.node]
    assert "MatMulInteger" in ops8 and "DynamicQuantizeLinear" in ops8
    assert not {"ConvInteger", "QLinearConv"} & set(ops8)
    assert "MatMulInteger" not in ops32
    # every Linear weight became int8: no fp32 weight matrix is left in the int8 graph
    big_fp32 = [
        i.name
        for i in int8.graph.initializer
        if i.data_type == onnx.TensorProto.FLOAT and len(i.dims) == 2 and min(i.dims) > 8
    ]
    assert not big_fp32, big_fp32
    assert (art / "encoder.int8.onnx").stat().st_size < 0.5 * (art / "encoder.onnx").stat().st_size


def test_card_lists_every_file_and_the_training_card(exported: tuple[Path, Path]) -> None:
    ckpt, art = exported
    card = json.loads((art / "card.json").read_text())
    ckpt_card = json.loads((ckpt / "card.json").read_text())
    assert card["format"] == "mmfm.model/1" and card["kind"] == "clmp-points"
    assert set(card["files"]) == {"encoder.onnx", "encoder.int8.onnx", "text_prototypes.npz"}
    for name, digest in card["files"].items():
        assert sha256_file(art / name) == digest
    assert card["training"] == ckpt_card
    assert card["input_contract"] == ckpt_card["input_contract"]
    assert card["embedding_dim"] == ckpt_card["embedding_dim"]
    assert card["label_sets"] == {"radhar": DEFAULT_LABEL_SETS["radhar"]}
    assert card["prompt_templates"] == PROMPT_TEMPLATES
    assert card["onnx"]["inputs"]["points"][0] == "batch"


def test_prototypes_and_zero_shot_match_torch(
    exported: tuple[Path, Path], reference: tuple
) -> None:
    model, points, mask, want = reference
    artifact = load_model(exported[1])
    labels = DEFAULT_LABEL_SETS["radhar"]
    protos = artifact.prototypes("radhar")
    np.testing.assert_allclose(
        protos[:2], text_prototypes(model, labels[:2], PROMPT_TEMPLATES), atol=1e-5
    )
    scale = float(model.logit_scale.detach().exp().clamp(max=100.0))
    assert artifact.logit_scale == pytest.approx(scale, rel=1e-6)
    clf = ZeroShotClassifier.from_model(PointEncoder(artifact, precision="fp32"), "radhar")
    probs = clf.probabilities(points, mask)
    with torch.no_grad():
        logits = scale * torch.from_numpy(want) @ torch.from_numpy(protos).T
        ref = torch.softmax(logits, dim=-1).numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(probs, ref, atol=2e-3)
    assert [lab for lab, _p in clf.classify(points, mask)] == [labels[i] for i in ref.argmax(1)]
    # the softmax helper itself: uniform prototypes -> uniform probabilities
    flat = zero_shot_probabilities(want, np.repeat(protos[:1], 3, axis=0), scale)
    np.testing.assert_allclose(flat, 1 / 3, atol=1e-6)


def test_export_without_int8_and_refuses_foreign_directory(
    exported: tuple[Path, Path], tmp_path: Path
) -> None:
    model, card = load_checkpoint(exported[0])
    art = export_clmp(model, card, tmp_path / "fp32only", int8=False)
    loaded = load_model(art)
    assert set(loaded.card["files"]) == {"encoder.onnx"} and loaded.label_sets == {}
    assert PointEncoder(loaded).precision == "fp32"  # int8 is the default only when shipped
    # re-exporting over an artifact replaces it; over anything else is refused
    export_clmp(model, card, art, int8=False)
    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    with pytest.raises(ExportError, match="refusing to overwrite"):
        export_clmp(model, card, foreign, int8=False)
    assert (foreign / "keep.txt").read_text() == "mine"
    with pytest.raises(ExportError, match="shape"):
        export_clmp(
            model,
            card,
            tmp_path / "bad",
            label_sets={"x": ["a", "b"]},
            prototypes={"x": np.zeros((3, model.embedding_dim), np.float32)},
        )


def test_cli_export(cli_export: tuple[Path, Path, int, str], tmp_path: Path, capsys) -> None:
    ckpt, out, code, text = cli_export
    assert code == 0
    assert "encoder.int8.onnx" in text and "verified" in text and "radhar (5)" in text
    assert load_model(out).card["files"]["encoder.onnx"]
    missing = ["export", "onnx", "--model", str(tmp_path / "nope"), "--out", str(tmp_path / "x")]
    assert main(missing) == 1
    err = capsys.readouterr().err
    assert "nope" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    unknown = ["export", "onnx", "--model", str(ckpt), "--out", str(tmp_path / "z")]
    assert main([*unknown, "--label-sets", "radhar,garden"]) == 1
    assert "unknown label set 'garden'" in capsys.readouterr().err
    # a tampered checkpoint is refused by the checkpoint loader, in one line, and nothing is written
    bad = Path(shutil.copytree(ckpt, tmp_path / "bad-ckpt"))
    with open(bad / "model.pt", "ab") as fh:
        fh.write(b"\0")
    assert main(["export", "onnx", "--model", str(bad), "--out", str(tmp_path / "y")]) == 1
    err = capsys.readouterr().err
    assert "model.pt" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "y").exists()
