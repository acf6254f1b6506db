"""runtime.models: a tampered file or a mismatched card is refused (the library and `mmfm models
verify`), models are found in the user dir then the shipped dir, and the runtime path loads no torch."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from clmp_artifact import export_radhar_only, make_checkpoint, person_windows
from conftest import REPO

from runtime.inference.encoder import PointEncoder
from runtime.models import (
    ModelError,
    find_model,
    list_models,
    load_model,
    sha256_file,
    user_models_dir,
)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two artifacts of two different checkpoints (different weights)."""
    base = tmp_path_factory.mktemp("models")
    a = export_radhar_only(make_checkpoint(base / "ckpt-a", seed=1), base / "a")
    b = export_radhar_only(make_checkpoint(base / "ckpt-b", seed=2), base / "b")
    return a, b


@pytest.fixture
def model_dir(artifacts: tuple[Path, Path], tmp_path: Path) -> Path:
    """A fresh copy of artifact A to damage."""
    return Path(shutil.copytree(artifacts[0], tmp_path / "m"))


def _card(path: Path) -> dict:
    return json.loads((path / "card.json").read_text())


def _write_card(path: Path, card: dict) -> None:
    (path / "card.json").write_text(json.dumps(card, indent=2))


def _rehash(path: Path) -> None:
    """What a careless (or malicious) editor does: make the card's sha256 match the files again."""
    card = _card(path)
    card["files"] = {name: sha256_file(path / name) for name in card["files"]}
    _write_card(path, card)


def _verify_cli(
    target: Path | str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mmfm", "models", "verify", str(target)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_intact_model_loads_and_verifies(model_dir: Path) -> None:
    model = load_model(model_dir)
    assert model.kind == "clmp-points" and model.embedding_dim == _card(model_dir)["embedding_dim"]
    assert set(model.label_sets) == set(_card(model_dir)["label_sets"])
    out = _verify_cli(model_dir)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok:")


@pytest.mark.parametrize("name", ["encoder.onnx", "encoder.int8.onnx", "text_prototypes.npz"])
def test_tampered_file_is_refused(model_dir: Path, name: str) -> None:
    data = bytearray((model_dir / name).read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit
    (model_dir / name).write_bytes(bytes(data))
    expected = _card(model_dir)["files"][name]
    actual = sha256_file(model_dir / name)
    with pytest.raises(ModelError) as err:
        load_model(model_dir)
    message = str(err.value)
    assert name in message and expected in message and actual in message
    out = _verify_cli(model_dir)
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("REFUSED:") and name in lines[0]
    assert "Traceback" not in out.stderr


def test_encoder_of_another_model_is_refused_even_with_rehashed_card(
    model_dir: Path, artifacts: tuple[Path, Path]
) -> None:
    shutil.copy(artifacts[1] / "encoder.int8.onnx", model_dir / "encoder.int8.onnx")
    _rehash(model_dir)
    with pytest.raises(ModelError, match=r"encoder\.int8\.onnx: does not match card\.json"):
        load_model(model_dir)
    out = _verify_cli(model_dir)
    assert out.returncode == 1 and "model.pt" in out.stderr


def test_card_of_another_model_is_refused(model_dir: Path, artifacts: tuple[Path, Path]) -> None:
    card = _card(model_dir)
    card["training"] = _card(artifacts[1])["training"]
    _write_card(model_dir, card)
    with pytest.raises(ModelError, match="another model's card"):
        load_model(model_dir)


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda c: c.update(embedding_dim=c["embedding_dim"] * 2), "embedding_dim"),
        (
            lambda c: c["input_contract"].update(frames=c["input_contract"]["frames"] + 1),
            "input_contract",
        ),
        (lambda c: c.update(format="mmfm.model/0"), "format 'mmfm.model/0'"),
        (lambda c: c.update(kind="llm-adapter"), "kind 'llm-adapter'"),
        (lambda c: c.pop("logit_scale"), "missing key 'logit_scale'"),
        (lambda c: c.update(logit_scale=-1.0), "logit_scale"),
        (
            lambda c: c["files"].pop("encoder.int8.onnx"),
            "int8 file 'encoder.int8.onnx' is not listed",
        ),
        (lambda c: c["files"].update({"../card.json": "0" * 64}), "not a plain file name"),
        (lambda c: c["label_sets"]["radhar"].append("cartwheel"), "label set 'radhar'"),
        (lambda c: c["label_sets"].update(extra=["a"]), "holds label sets"),
        (lambda c: c["label_sets"].update(radhar="boxing"), "not a non-empty list"),
        (lambda c: c["input_contract"].update(frames="20"), "input_contract.frames"),
        (lambda c: c["training"].update(files=["model.pt"]), "training.files"),
        (lambda c: c.update(embedding_dim=True), "wrong type"),
    ],
)
def test_mismatched_or_malformed_card_is_refused(model_dir: Path, edit, match: str) -> None:
    card = _card(model_dir)
    edit(card)
    _write_card(model_dir, card)
    with pytest.raises(ModelError, match=match):
        load_model(model_dir)


def test_garbage_encoder_with_rehashed_card_is_refused(model_dir: Path) -> None:
    (model_dir / "encoder.onnx").write_bytes(b"not an onnx graph" * 100)
    _rehash(model_dir)
    with pytest.raises(ModelError, match=r"encoder\.onnx: ONNX Runtime cannot load it"):
        load_model(model_dir)


def test_unreadable_card_and_missing_file(model_dir: Path) -> None:
    (model_dir / "encoder.onnx").unlink()
    with pytest.raises(ModelError, match=r"encoder\.onnx: missing"):
        load_model(model_dir)
    (model_dir / "card.json").write_text('{"format": "mmfm.model/1",\n  "name": }')
    with pytest.raises(ModelError, match=r"card\.json:2: not valid JSON"):
        load_model(model_dir)
    (model_dir / "card.json").unlink()
    with pytest.raises(ModelError, match="not an mmfm model directory"):
        load_model(model_dir)


def test_user_dir_then_shipped_and_cli_list(
    artifacts: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = tmp_path / "user-models"
    monkeypatch.setenv("MMFM_MODELS", str(user))
    assert user_models_dir() == user
    shutil.copytree(artifacts[0], user / "good")
    shutil.copytree(artifacts[1], user / "broken")
    with open(user / "broken" / "encoder.onnx", "ab") as fh:
        fh.write(b"\0")
    assert find_model("good") == (user / "good", "user")
    with pytest.raises(ModelError, match=r"no good-nope/card\.json in"):
        find_model("good-nope")
    rows = {(r.name, r.origin): r for r in list_models()}
    assert rows["good", "user"].artifact is not None
    assert rows["broken", "user"].artifact is None and "sha256" in rows["broken", "user"].error
    env = {"MMFM_MODELS": str(user), "PATH": "/usr/bin:/bin"}
    listed = subprocess.run(
        [sys.executable, "-m", "mmfm", "models", "list"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    good = next(line for line in listed.stdout.splitlines() if line.startswith("good "))
    assert "clmp-points" in good and "MB" in good and "test_metric=0.5" in good
    assert "REFUSED" in next(
        line for line in listed.stdout.splitlines() if line.startswith("broken ")
    )
    by_name = _verify_cli("good", env)
    assert by_name.returncode == 0 and "(user," in by_name.stdout
    every = subprocess.run(
        [sys.executable, "-m", "mmfm", "models", "verify"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert every.returncode == 1 and "REFUSED" in every.stderr and "ok: good" in every.stdout


def test_encoder_rejects_bad_input(artifacts: tuple[Path, Path]) -> None:
    encoder = PointEncoder(load_model(artifacts[0]), threads=1)
    contract = encoder.model.input_contract
    points, mask = person_windows(contract, 2)
    with pytest.raises(ValueError, match="points must be"):
        encoder.embed(points[:, :-1], mask[:, :-1])
    with pytest.raises(ValueError, match="mask must be"):
        encoder.embed(points, mask[:1])
    points[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        encoder.embed(points, mask)
    with pytest.raises(ModelError, match="no label set 'nope'"):
        encoder.model.prototypes("nope")


def test_runtime_path_imports_no_torch(artifacts: tuple[Path, Path]) -> None:
    """Load, verify and embed in a fresh interpreter: torch, onnx, training, sim, exporters stay out."""
    code = (
        "import sys\n"
        "import numpy as np\n"
        "from runtime.models import load_model\n"
        "from runtime.inference.encoder import PointEncoder, ZeroShotClassifier\n"
        f"m = load_model({str(artifacts[0])!r})\n"
        "enc = PointEncoder(m)\n"
        "c = m.input_contract\n"
        "p = np.zeros((2, c['frames'], c['max_points'], 5), np.float32)\n"
        "k = np.zeros((2, c['frames'], c['max_points']), np.float32)\n"
        "p[..., :8, 1] = 2.0; k[..., :8] = 1.0\n"
        "probs = ZeroShotClassifier.from_model(enc, 'radhar').probabilities(p, k)\n"
        "assert probs.shape == (2, 5), probs.shape\n"
        "bad = sorted({n.split('.')[0] for n in sys.modules} & "
        "{'torch', 'onnx', 'training', 'sim', 'exporters', 'transformers'})\n"
        "print(enc.precision, ','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["int8"], f"runtime path loaded: {out.stdout}"
