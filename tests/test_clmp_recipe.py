"""The reproducible CLMP recipe (training/clmp/recipe.py) and what it relies on.

Kinematic windows are deterministic (the recipe's whole claim to reproducibility), the smoke recipe runs
end to end from nothing but the repository, the TI-demo augmentation does what it says, the range gate
makes an encoder blind to the radar's own DC points, and `mmfm eval retrieval` reads prepared windows.
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from training.clmp.augment import AUGMENT_PRESETS, AugmentConfig, augment
from training.clmp.data import load_saved_windows, save_windows
from training.clmp.evaluate import retrieval
from training.clmp.factory import build_model
from training.clmp.kinematic import kinematic_windows
from training.clmp.model import CLMP
from training.clmp.recipe import RECIPES, run
from training.clmp.window_stats import window_stats


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_kinematic_windows_are_deterministic_and_frame_step_thins_frames():
    contract = build_model("clmp_points_v2").input_contract  # 64 points per 0.1 s slot
    a = kinematic_windows(7, [0], contract, frame_step=3)
    b = kinematic_windows(7, [0], contract, frame_step=3)
    assert len(a) > 0
    np.testing.assert_array_equal(a.points, b.points)
    np.testing.assert_array_equal(a.mask, b.mask)
    assert a.activity == b.activity
    full = kinematic_windows(7, [0], contract, frame_step=1)
    assert full.activity == a.activity
    # a third of the radar frames: clearly fewer points per time slot (same detector statistics)
    assert a.mask.sum() < 0.7 * full.mask.sum()


def test_ti_static_augmentation_zeroes_velocities_and_adds_near_points():
    rng = np.random.default_rng(0)
    b, t, p = 64, 10, 32
    pts = np.zeros((b, t, p, 5), np.float32)
    pts[..., 0] = rng.normal(0, 0.3, (b, t, p))
    pts[..., 1] = rng.uniform(1.5, 2.5, (b, t, p))
    pts[..., 3] = rng.choice([-1.2, 0.6, 1.2], (b, t, p))
    pts[..., 4] = 25.0
    mask = (rng.random((b, t, p)) < 0.5).astype(np.float32)
    gen = torch.Generator().manual_seed(0)
    before = window_stats(pts, mask)
    pa, ma = augment(
        torch.from_numpy(pts), torch.from_numpy(mask), gen, AUGMENT_PRESETS["ti_static"]
    )
    after = window_stats(pa.numpy(), ma.numpy())
    assert before["v_zero"] == 0.0 and before["near_0.5m"] == 0.0
    assert after["v_zero"] > 0.3
    assert after["near_0.5m"] > 0.02
    # the default preset keeps the velocities it was given (no zeroing, only jitter)
    gen = torch.Generator().manual_seed(0)
    pd, md = augment(torch.from_numpy(pts), torch.from_numpy(mask), gen, AugmentConfig())
    body = (md.numpy() > 0) & (mask > 0)  # added points only go to free places
    assert np.mean(np.abs(pd.numpy()[..., 3][body]) < 1e-6) < 0.05


def test_range_gate_ignores_points_near_the_radar():
    torch.manual_seed(0)
    gated = build_model("clmp_points_v2").eval()
    assert gated.config["point_encoder"]["min_range_m"] == 0.4
    cfg = copy.deepcopy(gated.config)
    cfg["point_encoder"]["min_range_m"] = 0.0
    plain = CLMP(cfg).eval()
    plain.load_state_dict(gated.state_dict())  # same weights; only the gate differs
    t, p = gated.input_contract["frames"], gated.input_contract["max_points"]
    g = torch.Generator().manual_seed(1)
    pts = torch.zeros(2, t, p, 5)
    pts[..., 1] = 1.5 + torch.rand(2, t, p, generator=g)
    pts[..., 4] = 20.0
    mask = torch.zeros(2, t, p)
    mask[:, :, :20] = 1.0
    near = pts.clone()
    near[:, :, 20:26, 1] = 0.2  # DC points at 20 cm, in free places
    near_mask = mask.clone()
    near_mask[:, :, 20:26] = 1.0
    with torch.no_grad():
        e0, e1 = gated.encode_points(pts, mask), gated.encode_points(near, near_mask)
        f0, f1 = plain.encode_points(pts, mask), plain.encode_points(near, near_mask)
    assert torch.allclose(e0, e1, atol=1e-6)
    assert (f0 - f1).abs().max() > 1e-3


def test_retrieval_reads_prepared_windows(tmp_path):
    contract = build_model("clmp_points_tiny").input_contract
    ws = kinematic_windows(7, [0, 1], contract, frame_step=3)
    path = tmp_path / "held.npz"
    save_windows(ws, path, contract)
    assert len(load_saved_windows(path, contract)) == len(ws)
    model = build_model("clmp_points_tiny").eval()
    res = retrieval(model, path, pool=3)
    assert res["windows"] == min(3, len(ws))
    assert 0.0 <= res["radar_to_text"]["R@1"] <= res["radar_to_text"]["R@5"] <= 1.0


def test_smoke_recipe_runs_from_nothing_and_reuses_its_windows(tmp_path):
    recipe = replace(RECIPES["smoke"], radhar_samples=2, home_samples=2, heldout_samples=2)
    logs: list[str] = []
    figures = run(recipe, tmp_path, log=logs.append)
    assert figures is not None
    card = json.loads((tmp_path / "ckpt" / "card.json").read_text())
    assert card["command"] == f"python -m training.clmp.recipe --recipe smoke --out {tmp_path}"
    assert card["training"]["augment_preset"] == "ti_static"
    saved = json.loads((tmp_path / "ckpt" / "heldout.json").read_text())
    assert 0.0 <= saved["zeroshot"]["accuracy"] <= 1.0
    assert saved["retrieval"]["windows"] >= 2
    first = load_saved_windows(
        tmp_path / "train-radhar.npz", build_model(recipe.model).input_contract
    )
    # rerun: every window file is reused, training resumes after its last epoch
    logs.clear()
    run(recipe, tmp_path, log=logs.append)
    assert sum("reused" in line for line in logs) == 3
    assert any("resuming after epoch" in line for line in logs)
    # regenerated from scratch: the same windows
    (tmp_path / "train-radhar.npz").unlink()
    run(recipe, tmp_path, log=logs.append, step="train-radhar")
    again = load_saved_windows(
        tmp_path / "train-radhar.npz", build_model(recipe.model).input_contract
    )
    np.testing.assert_array_equal(first.points, again.points)


class _ClassOracle:
    """An encoder that knows each window's class (the first point's x) and each text's class (its
    first word): retrieval must then count every paraphrase of the right class as a hit."""

    name, kind, card = "oracle", "test", {}

    def __init__(self, contract: dict) -> None:
        self.input_contract = contract

    def embed(self, points: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return np.eye(3, dtype=np.float32)[points[:, 0, 0, 0].astype(int)]

    def embed_texts(self, texts) -> np.ndarray:
        return np.eye(3, dtype=np.float32)[[int(t.split()[0]) for t in texts]]


def test_retrieval_counts_any_true_caption_of_a_window(tmp_path):
    from training.clmp.data import WindowSet

    contract = build_model("clmp_points_tiny").input_contract
    t, p = contract["frames"], contract["max_points"]
    n = 12
    pts = np.zeros((n, t, p, 5), np.float32)
    pts[:, 0, 0, 0] = np.arange(n) % 3
    caps = [[f"{k % 3} a", f"{k % 3} b", f"{k % 3} c"] for k in range(n)]
    ws = WindowSet(pts, np.ones((n, t, p), np.float32), ["a"] * n, caps, np.arange(n), ["x"] * n)
    path = tmp_path / "w.npz"
    save_windows(ws, path, contract)
    res = retrieval(_ClassOracle(contract), path, pool=n)
    assert res["radar_to_text"]["R@1"] == 1.0
    assert res["text_to_radar"]["R@1"] == 1.0


def test_mixed_preset_takes_each_window_whole_from_one_preset():
    from training.clmp.augment import augment_preset

    rng = np.random.default_rng(1)
    b, t, p = 32, 10, 32
    pts = torch.from_numpy(rng.normal(0, 1, (b, t, p, 5)).astype(np.float32))
    mask = torch.from_numpy((rng.random((b, t, p)) < 0.5).astype(np.float32))
    pm, mm = augment_preset(pts, mask, torch.Generator().manual_seed(3), "mixed")
    gen = torch.Generator().manual_seed(3)
    p0, m0 = augment(pts, mask, gen, AUGMENT_PRESETS["default"])
    p1, m1 = augment(pts, mask, gen, AUGMENT_PRESETS["ti_static"])
    first = [bool(torch.equal(pm[i], p0[i]) and torch.equal(mm[i], m0[i])) for i in range(b)]
    second = [bool(torch.equal(pm[i], p1[i]) and torch.equal(mm[i], m1[i])) for i in range(b)]
    assert all(a or c for a, c in zip(first, second, strict=True))
    assert 4 <= sum(second) <= b - 4  # about half of each
