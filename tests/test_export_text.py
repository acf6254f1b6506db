"""`mmfm export onnx --text`: the CLMP text tower (MiniLM + projection) on ONNX Runtime with the
`tokenizers` tokenizer, against torch's `CLMP.encode_text`; user label sets without torch."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from clmp_artifact import make_checkpoint, person_windows
from conftest import REPO

from mmfm.cli import main
from runtime.inference.encoder import PointEncoder, ZeroShotClassifier
from runtime.inference.text import TextEncoder
from runtime.models import ModelError, load_model, sha256_file
from training.clmp import load_checkpoint

TEXTS = [
    "a person is walking",
    "someone is doing jumping jacks in front of the radar",
    "one person sitting down in the room",
    "Two people WAVING at the door!",
    "a dog runs past the sofa, then stops",
    "someone falls near the kitchen table " * 20,  # longer than 128 tokens: truncated
    "café, naïve résumé",
    "x",
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("text")
    ckpt = make_checkpoint(base / "ckpt", seed=5)
    out = base / "artifact"
    argv = ["export", "onnx", "--model", str(ckpt), "--out", str(out), "--text"]
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main([*argv, "--label-sets", "radhar"]) == 0, buffer.getvalue()
    assert "text_encoder.int8.onnx" in buffer.getvalue()
    return ckpt, out


@pytest.fixture(scope="module")
def torch_text(exported: tuple[Path, Path]) -> tuple[object, np.ndarray]:
    model, _card = load_checkpoint(exported[0])
    with torch.no_grad():
        return model, model.encode_text(TEXTS).numpy()


@pytest.mark.parametrize(("precision", "floor"), [("fp32", 0.999), ("int8", 0.99)])
def test_text_parity_with_torch(
    exported: tuple[Path, Path], torch_text: tuple, precision: str, floor: float
) -> None:
    _model, want = torch_text
    text = TextEncoder(load_model(exported[1]), precision=precision, threads=1)
    got = text.embed(TEXTS)
    assert got.shape == want.shape
    cosine = (got * want).sum(axis=1)
    assert cosine.min() >= floor, f"{precision}: {cosine.round(4)}"
    # batch and sequence length are dynamic: one text alone gives the same vector (int8 quantises
    # activations per call, over the whole padded batch: close, not equal)
    alone = text.embed(TEXTS[:1])[0]
    assert float(alone @ got[0]) >= (0.99999 if precision == "fp32" else floor)
    assert text.embed([]).shape == (0, want.shape[1])


def test_user_label_set_without_torch_matches_torch_prototypes(
    exported: tuple[Path, Path], torch_text: tuple
) -> None:
    model, _ = torch_text
    artifact = load_model(exported[1])
    labels = ["making coffee", "vacuuming the floor", "doing yoga"]
    templates = artifact.card["prompt_templates"]
    protos = TextEncoder(artifact, precision="fp32").prototypes(labels)
    with torch.no_grad():
        emb = model.encode_text([t.format(lab) for lab in labels for t in templates])
    ref = torch.nn.functional.normalize(emb.reshape(3, len(templates), -1).mean(1), dim=-1).numpy()
    assert ((protos * ref).sum(axis=1)).min() >= 0.999
    clf = ZeroShotClassifier(PointEncoder(artifact), labels, protos, artifact.logit_scale)
    points, mask = person_windows(artifact.input_contract, 4)
    probs = clf.probabilities(points, mask)
    assert probs.shape == (4, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_text_files_are_verified(exported: tuple[Path, Path], tmp_path: Path) -> None:
    art = Path(shutil.copytree(exported[1], tmp_path / "m"))
    tok = json.loads((art / "tokenizer.json").read_text())
    tok["model"]["vocab"]["walking"] = 1  # a quietly edited vocabulary
    (art / "tokenizer.json").write_text(json.dumps(tok))
    with pytest.raises(ModelError, match=r"tokenizer\.json: sha256 mismatch"):
        load_model(art)
    # the point encoder passed off as the text encoder (card re-hashed) is caught by its own metadata
    shutil.copytree(exported[1], tmp_path / "n")
    art = tmp_path / "n"
    shutil.copy(art / "encoder.onnx", art / "text_encoder.onnx")
    card = json.loads((art / "card.json").read_text())
    card["files"] = {f: sha256_file(art / f) for f in card["files"]}
    (art / "card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match=r"text_encoder\.onnx: does not match card\.json"):
        load_model(art)
    # a model without a text tower says how to get one
    plain = load_model(exported[1])
    plain.card.pop("text_encoder")
    with pytest.raises(ModelError, match="--text"):
        plain.text_encoder_path()


def test_text_path_imports_no_torch(exported: tuple[Path, Path]) -> None:
    code = (
        "import sys\n"
        "from runtime.inference.text import TextEncoder\n"
        f"t = TextEncoder({str(exported[1])!r})\n"
        "p = t.prototypes(['making coffee', 'reading'])\n"
        "assert p.shape[0] == 2\n"
        "bad = sorted({n.split('.')[0] for n in sys.modules} & "
        "{'torch', 'onnx', 'training', 'sim', 'exporters', 'transformers'})\n"
        "print(','.join(bad) or 'clean')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=180
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "clean", out.stdout
