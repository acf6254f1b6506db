"""LoRA few-shot adaptation (training/clmp/lora.py, `mmfm train lora`): it learns, its
leave-one-recording-out splits are clean, and its adapter checkpoint round-trips and is refused when
tampered with."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch

from mmfm.cli import main
from training.clmp import build_model, save_checkpoint
from training.clmp.evaluate import LabelledWindows, zeroshot
from training.clmp.lora import (
    LoraError,
    LoraSettings,
    attach_lora,
    cross_validate,
    finetune,
    load_lora,
    loo_folds,
    lora_targets,
    make_lora_card,
    predict,
    save_lora,
)
from training.clmp.sources import open_model


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def synthetic_recordings(contract: dict, per_class: int = 3, windows: int = 12, seed: int = 0):
    """Three classes x ``per_class`` recordings of ``windows`` windows each.

    Class k: a cluster of points at (0, 1.2 + 0.8 k, 0) m moving at v = (k - 1) * 1.2 m/s, snr 20 dB,
    with per-recording offsets and per-window noise. Returns points [N, T, P, 5], mask [N, T, P],
    target [N], recording ids [N].
    """
    rng = np.random.default_rng(seed)
    t, p = int(contract["frames"]), int(contract["max_points"])
    pts, msk, tgt, rec = [], [], [], []
    for k in range(3):
        for r in range(per_class):
            offset = rng.normal(0.0, 0.1, size=3)
            for _ in range(windows):
                n = rng.integers(p // 3, p + 1, size=t)
                w = np.zeros((t, p, 5), np.float32)
                m = np.zeros((t, p), np.float32)
                for s in range(t):
                    c = np.array([0.0, 1.2 + 0.8 * k, 0.0]) + offset
                    xyz = c + rng.normal(0.0, [0.2, 0.15, 0.4], size=(n[s], 3))
                    v = (k - 1) * 1.2 + rng.normal(0.0, 0.2, size=n[s])
                    snr = 20.0 + rng.normal(0.0, 3.0, size=n[s])
                    w[s, : n[s]] = np.column_stack([xyz, v, snr])
                    m[s, : n[s]] = 1.0
                pts.append(w)
                msk.append(m)
                tgt.append(k)
                rec.append(f"class{k}/rec{r}")
    return np.stack(pts), np.stack(msk), np.array(tgt), rec


def random_prototypes(dim: int, n: int = 3, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(torch.randn(n, dim, generator=g), dim=1)


FAST = LoraSettings(epochs=8, batch_size=16, lr=1e-2)


def test_lora_targets_every_linear_of_the_radar_encoder_only():
    model = build_model("clmp_points_tiny")
    names = lora_targets(model)
    assert names and all(n.startswith("point_encoder.") for n in names)
    adapted = attach_lora(copy.deepcopy(model), FAST)
    trainable = [n for n, p in adapted.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n and n.startswith("point_encoder.") for n in trainable)
    assert len(trainable) == 2 * len(names)  # A and B per linear layer


def test_lora_improves_held_out_recordings():
    torch.manual_seed(0)
    base = build_model("clmp_points_tiny")
    points, mask, target, rec = synthetic_recordings(base.input_contract)
    protos = random_prototypes(base.embedding_dim)
    held = np.array([r.endswith("rec2") for r in rec])  # one recording of every class
    before = (predict(base, protos, points[held], mask[held]) == target[held]).mean()
    model = attach_lora(copy.deepcopy(base), FAST)
    finetune(model, protos, points[~held], mask[~held], target[~held], FAST)
    after = (predict(model, protos, points[held], mask[held]) == target[held]).mean()
    assert after >= 0.9 and after >= before + 0.3, (before, after)
    # the base weights did not move
    after_state = model.state_dict()
    for name, value in base.state_dict().items():
        head, _, leaf = name.rpartition(".")
        moved = after_state.get(name, after_state.get(f"{head}.base_layer.{leaf}"))
        assert moved is not None and torch.equal(value, moved), name


def test_loo_folds_never_train_on_the_held_out_recording(monkeypatch):
    import training.clmp.lora as lora

    recs = ["a/1"] * 4 + ["b/1"] * 3 + ["a/2"] * 5 + ["b/2"] * 2
    folds = loo_folds(recs)
    assert [f[0] for f in folds] == sorted(set(recs))
    for held, train, test in folds:
        assert {recs[i] for i in test} == {held}
        assert held not in {recs[i] for i in train}
        assert sorted([*train, *test]) == list(range(len(recs)))

    # cross_validate hands finetune only other recordings' windows: the snr channel carries the
    # recording's number, so any leaked window would show up in training
    base = build_model("clmp_points_tiny")
    t, p = base.input_contract["frames"], base.input_contract["max_points"]
    ids = sorted(set(recs))
    points = np.zeros((len(recs), t, p, 5), np.float32)
    for i, r in enumerate(recs):
        points[i, :, :, 4] = ids.index(r)
    mask = np.ones((len(recs), t, p), np.float32)
    target = np.array([0 if r.startswith("a") else 1 for r in recs])
    seen = []

    def spy(model, protos, pts, msk, tgt, settings):
        seen.append(set(np.unique(pts[..., 4]).astype(int).tolist()))
        return model

    monkeypatch.setattr(lora, "finetune", spy)
    res = cross_validate(
        base, random_prototypes(base.embedding_dim, 2), points, mask, target, recs, FAST
    )
    assert res["recordings"] == 4 and res["windows"] == len(recs)
    for fold, trained_on in zip(res["folds"], seen, strict=True):
        assert ids.index(fold["recording"]) not in trained_on
        assert len(trained_on) == 3


@pytest.fixture(scope="module")
def adapter(tmp_path_factory):
    """A tiny base checkpoint and an adapter trained on it (random prototypes, synthetic windows)."""
    torch.manual_seed(1)
    root = tmp_path_factory.mktemp("lora")
    base_dir = root / "base"
    base = build_model("clmp_points_tiny")
    save_checkpoint(base, {"command": "test"}, base_dir)
    points, mask, target, rec = synthetic_recordings(base.input_contract, per_class=1, windows=6)
    model = attach_lora(copy.deepcopy(base), FAST)
    finetune(model, random_prototypes(base.embedding_dim), points, mask, target, FAST)
    out = root / "adapter"
    card = make_lora_card(str(base_dir), base_dir, base, FAST, ["a", "b", "c"], command="test")
    save_lora(model, card, out)
    return base, model, out, (points, mask, target, rec)


def test_adapter_round_trips(adapter):
    base, model, out, (points, mask, _target, _rec) = adapter
    loaded, card = load_lora(out)
    assert card["format"] == "mmfm.clmp.lora/1" and card["labels"] == ["a", "b", "c"]
    with torch.no_grad():
        p, m = torch.from_numpy(points), torch.from_numpy(mask)
        got = loaded.encode_points(p, m)
        assert torch.allclose(got, model.encode_points(p, m), atol=1e-6)
        assert not torch.allclose(got, base.encode_points(p, m), atol=1e-3)  # the adapter acts
    src = open_model(out)  # what `mmfm eval --model ADAPTER_DIR` opens
    assert src.kind == "lora"
    assert np.allclose(src.embed(points, mask), got.numpy(), atol=1e-6)


def test_tampered_adapter_is_refused(adapter, tmp_path, capsys):
    import shutil

    out = adapter[2]
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    blob = bytearray((bad / "adapter.pt").read_bytes())
    blob[-100] ^= 0xFF
    (bad / "adapter.pt").write_bytes(bytes(blob))
    with pytest.raises(LoraError, match="sha256"):
        load_lora(bad)
    # the base checkpoint changed under the adapter
    shutil.copytree(out, tmp_path / "rebased")
    card = json.loads((tmp_path / "rebased" / "card.json").read_text())
    card["base"]["model_sha256"] = "0" * 64
    (tmp_path / "rebased" / "card.json").write_text(json.dumps(card))
    with pytest.raises(LoraError, match="not the checkpoint the adapter was trained on"):
        load_lora(tmp_path / "rebased")
    # and the CLI says so in one line
    data = tmp_path / "ds"
    rc = main(["eval", "retrieval", "--data", str(data), "--model", str(bad)])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and len(err.splitlines()) == 1 and "sha256" in err, err


def test_adapter_scores_like_training_in_eval(adapter):
    """Eval of an adapter dir uses the same embeddings as training's predict (one code path)."""
    _base, model, out, (points, mask, target, rec) = adapter
    src = open_model(out)
    protos = random_prototypes(model.embedding_dim).numpy()
    src.prototypes = lambda labels: protos  # the test's fixed prototypes instead of MiniLM
    data = LabelledWindows(points, mask, target, ["a", "b", "c"], rec)
    res = zeroshot(src, data)
    want = (predict(model, torch.from_numpy(protos), points, mask) == target).mean()
    assert res["accuracy"] == pytest.approx(want)


def test_train_lora_cli_bad_inputs_are_one_line(tmp_path, capsys):
    rc = main(["train", "lora", "--real", str(tmp_path / "nope"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and err == f"error: {tmp_path / 'nope'}: no such folder"
    (tmp_path / "real" / "boxing").mkdir(parents=True)
    rc = main(
        [
            "train", "lora", "--real", str(tmp_path / "real"), "--out", str(tmp_path / "o"),
            "--base", str(tmp_path / "no-model"),
        ]
    )  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert rc == 1 and len(err.splitlines()) == 1 and "no-model" in err, err
