"""`mmfm eval --model` on exported models (ONNX Runtime) as well as checkpoints: same figures on the
same data, shipped prototypes vs a text tower, and one-line errors when labels cannot be embedded."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from clmp_artifact import export_radhar_only, make_checkpoint, person_windows
from conftest import require_shared

from mmfm.cli import main
from runtime.models import DEFAULT_MODEL, load_model
from training.clmp import load_checkpoint
from training.clmp.evaluate import LabelledWindows, parse_labels, radhar_windows, zeroshot
from training.clmp.labels import DEFAULT_LABEL_SETS
from training.clmp.shipped import CHECKPOINT_DIR, SourceError, checkpoint_dir
from training.clmp.sources import OnnxSource, TorchSource, open_model

RADHAR = DEFAULT_LABEL_SETS["radhar"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("evalm")
    ckpt = make_checkpoint(root / "ckpt", seed=3, arch="clmp_points_tiny")
    art = export_radhar_only(ckpt, root / "model")
    return ckpt, art


def test_onnx_and_torch_give_the_same_zeroshot_result(exported):
    ckpt, art = exported
    torch_src = open_model(ckpt)
    onnx_src = open_model(art, precision="fp32")
    assert isinstance(torch_src, TorchSource) and isinstance(onnx_src, OnnxSource)
    points, mask = person_windows(torch_src.input_contract, 40, seed=5)
    target = np.arange(40) % len(RADHAR)
    data = LabelledWindows(points, mask, target, list(RADHAR), [str(i) for i in range(40)])
    a, b = zeroshot(torch_src, data), zeroshot(onnx_src, data)
    assert a["confusion"] == b["confusion"] and a["accuracy"] == b["accuracy"]
    assert np.allclose(onnx_src.prototypes(RADHAR), torch_src.prototypes(RADHAR), atol=1e-5)
    emb_t, emb_o = torch_src.embed(points, mask), onnx_src.embed(points, mask)
    assert np.min(np.sum(emb_t * emb_o, axis=1)) > 0.9999


def test_labels_outside_the_shipped_sets_need_a_text_tower(exported, tmp_path):
    ckpt, art = exported
    src = open_model(art, precision="fp32")
    with pytest.raises(SourceError, match="no text tower") as info:
        src.prototypes(["boxing", "making coffee"])
    assert "\n" not in str(info.value)
    # the torch checkpoint shipped beside the model (checkpoint/) serves as its text tower
    with_ckpt = tmp_path / "with-ckpt"
    shutil.copytree(art, with_ckpt)
    shutil.copytree(ckpt, with_ckpt / CHECKPOINT_DIR)
    src = open_model(with_ckpt, precision="fp32")
    want = TorchSource(*load_checkpoint(ckpt)).prototypes(["boxing", "making coffee"])
    assert np.allclose(src.prototypes(["boxing", "making coffee"]), want, atol=1e-5)
    assert checkpoint_dir(with_ckpt) == with_ckpt / CHECKPOINT_DIR
    # ... but only the checkpoint the model was exported from
    other = tmp_path / "other-ckpt"
    shutil.copytree(art, other)
    make_checkpoint(other / CHECKPOINT_DIR, seed=4, arch="clmp_points_tiny")
    with pytest.raises(SourceError, match="is not the checkpoint"):
        open_model(other, precision="fp32").prototypes(["making coffee"])


def test_shipped_default_model_ships_its_checkpoint():
    art = load_model(DEFAULT_MODEL)
    ckpt = checkpoint_dir(DEFAULT_MODEL)  # verified against the model's card
    assert ckpt == art.path / CHECKPOINT_DIR
    assert (ckpt / "model.pt").stat().st_size < 4_000_000


def test_unknown_model_name_is_one_line(capsys, tmp_path):
    rc = main(["eval", "retrieval", "--data", str(tmp_path), "--model", "no-such-model-anywhere"])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and len(err.splitlines()) == 1 and "no-such-model-anywhere" in err


@pytest.mark.realdata
def test_default_model_on_real_radhar_matches_its_checkpoint(capsys):
    """From a fresh clone: no --model, the shipped ONNX encoder; same accuracy as torch."""
    root = require_shared("realdata", "radhar-fewshot")
    labels = ",".join(RADHAR)
    argv = ["eval", "zeroshot", "--data", str(root), "--format", "radhar", "--labels", labels]
    assert main([*argv, "--precision", "fp32", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["backend"] == "onnx" and res["windows"] == 550
    torch_src = open_model(checkpoint_dir(DEFAULT_MODEL))
    data = radhar_windows(root, parse_labels(labels), torch_src.input_contract)
    ref = zeroshot(torch_src, data)
    assert res["accuracy"] == ref["accuracy"] and res["confusion"] == ref["confusion"]
