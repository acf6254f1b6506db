"""CLMP library contract: named configs, encoder shapes, window preparation, checkpoint cards."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from runtime.frames import POINT_DTYPE, PointCloudFrame
from runtime.inference.window import frame_windows, point_window
from training.clmp import (
    CheckpointError,
    build_model,
    list_models,
    load_checkpoint,
    save_checkpoint,
)
from training.clmp.labels import DEFAULT_LABEL_SETS, label_prompts, text_prototypes


def _inputs(model, b=3, seed=0):
    c = model.input_contract
    g = torch.Generator().manual_seed(seed)
    pts = torch.randn(b, c["frames"], c["max_points"], 5, generator=g)
    mask = (torch.rand(b, c["frames"], c["max_points"], generator=g) > 0.5).float()
    return pts, mask


def test_named_configs_build_normalised_encoders():
    assert "clmp_points_s" in list_models()
    model = build_model("clmp_points_s").eval()
    c = model.input_contract
    assert c["kind"] == "points" and c["channels"] == ["x", "y", "z", "v", "snr"]
    pts, mask = _inputs(model)
    emb = model.point_encoder(pts, mask)
    assert emb.shape == (3, model.embedding_dim)
    assert torch.allclose(emb.norm(dim=-1), torch.ones(3), atol=1e-5)
    # Padding is ignored: changing masked-out points does not change the embedding.
    noisy = pts + 100.0 * (1.0 - mask).unsqueeze(-1)
    assert torch.allclose(model.point_encoder(noisy, mask), emb, atol=1e-5)
    n_params = sum(p.numel() for p in model.point_encoder.parameters())
    assert 1e5 < n_params < 1e6
    with pytest.raises(ValueError, match="unknown model"):
        build_model("no_such_model")


def test_text_prototypes_are_normalised_per_label():
    model = build_model("clmp_points_tiny").eval()
    labels = DEFAULT_LABEL_SETS["radhar"]
    protos = text_prototypes(model, labels)
    assert protos.shape == (5, model.embedding_dim) and protos.dtype == np.float32
    assert np.allclose(np.linalg.norm(protos, axis=1), 1.0, atol=1e-5)
    assert "a person is doing jumping jacks" in label_prompts("jumping jacks")
    assert label_prompts("dancing the tango")[0] == "a person is dancing the tango"


def test_point_window_slots_frames_by_time_and_keeps_strongest():
    contract = {
        "kind": "points",
        "frames": 4,
        "max_points": 2,
        "channels": ["x", "y", "z", "v", "snr"],
        "frame_rate_hz": 2.0,
        "window_s": 2.0,
    }
    frames = []
    for i in range(8):  # 4 Hz for 2 s: two radar frames per slot
        pts = np.zeros(2, dtype=POINT_DTYPE)
        pts["y"] = 1.0 + i
        pts["snr"] = [10.0 + i, 5.0]
        frames.append(PointCloudFrame(points=pts, frame_number=i, timestamp=100.0 + 0.25 * i))
    points, mask = point_window(frames, contract)
    assert points.shape == (4, 2, 5) and mask.shape == (4, 2)
    assert mask.sum() == 8
    # slot 1 holds frames 2 and 3; the two strongest points are their first points (snr 12, 13)
    assert sorted(points[1, :, 4].tolist()) == [12.0, 13.0]
    assert sorted(points[1, :, 1].tolist()) == [3.0, 4.0]
    assert frame_windows(601, 60, 10)[-1] == (540, 600) and len(frame_windows(601, 60, 10)) == 55


def test_checkpoint_round_trip_and_refusals(tmp_path):
    model = build_model("clmp_points_tiny").eval()
    pts, mask = _inputs(model)
    save_checkpoint(model, {"command": "test", "metrics": {"x": 1}}, tmp_path / "ck")
    loaded, card = load_checkpoint(tmp_path / "ck")
    assert card["format"] == "mmfm.clmp.checkpoint/1" and card["command"] == "test"
    assert card["input_contract"] == model.input_contract
    assert torch.allclose(loaded.encode_points(pts, mask), model.encode_points(pts, mask))

    # tampered weights
    weights = tmp_path / "ck" / "model.pt"
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="sha256"):
        load_checkpoint(tmp_path / "ck")

    # a card whose config does not match the weights (hash re-signed)
    save_checkpoint(model, {}, tmp_path / "ck2")
    card_path = tmp_path / "ck2" / "card.json"
    card = json.loads(card_path.read_text())
    card["config"]["embed_dim"] = 32
    card["embedding_dim"] = 32
    card_path.write_text(json.dumps(card))
    with pytest.raises(CheckpointError, match="do not match"):
        load_checkpoint(tmp_path / "ck2")

    # an unknown format
    card["format"] = "something/9"
    card_path.write_text(json.dumps(card))
    with pytest.raises(CheckpointError, match="format"):
        load_checkpoint(tmp_path / "ck2")
