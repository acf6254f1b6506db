"""CLMP training: the loss falls, and a model trained here recognises held-out windows zero-shot.

Fast tier: synthetic point windows of three unmistakable motions (standing still, walking toward the
radar, jumping), captioned like the simulator. The slow tier (``test_clmp_sim.py``) does the same on
windows simulated by ``sim`` itself.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from training.clmp.augment import augment
from training.clmp.data import WindowSet
from training.clmp.evaluate import LabelledWindows, zeroshot
from training.clmp.factory import build_model, load_checkpoint
from training.clmp.loss import ClipLoss, SigLipLoss
from training.clmp.train import Split, TrainSettings, train_on


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: on a shared, busy CPU more threads make these tiny steps far slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


MOTIONS = {
    "stand": ["a person is standing still", "someone stands in front of the radar"],
    "walk": ["a person is walking", "someone walks toward the radar"],
    "jump": ["a person is jumping", "someone jumps up and down"],
}


def synthetic_windows(n_per: int, seed: int, frames: int = 10, max_points: int = 32) -> WindowSet:
    """Body-like point clusters moving like the three motions (10 slots over 2 s)."""
    rng = np.random.default_rng(seed)
    pts, msk, acts, caps = [], [], [], []
    t = np.linspace(0.0, 2.0, frames, endpoint=False)
    for act, texts in MOTIONS.items():
        for _ in range(n_per):
            p = np.zeros((frames, max_points, 5), np.float32)
            m = np.zeros((frames, max_points), np.float32)
            y0, x0 = rng.uniform(1.5, 3.5), rng.uniform(-0.5, 0.5)
            phase = rng.uniform(0, 2 * np.pi)
            for f in range(frames):
                k = int(rng.integers(8, max_points))
                if act == "stand":
                    y, dz, v = y0, 0.0, rng.normal(0, 0.03, k)
                elif act == "walk":
                    y, dz = y0 - 1.0 * t[f], 0.0
                    v = -1.0 + rng.normal(0, 0.2, k)
                else:
                    dz = 0.25 * np.sin(2 * np.pi * 2.0 * t[f] + phase)
                    y = y0
                    vz = 0.25 * 2 * np.pi * 2.0 * np.cos(2 * np.pi * 2.0 * t[f] + phase)
                    v = 0.3 * vz + rng.normal(0, 0.1, k)
                p[f, :k, 0] = x0 + rng.normal(0, 0.15, k)
                p[f, :k, 1] = y + rng.normal(0, 0.1, k)
                p[f, :k, 2] = rng.uniform(-0.9, 0.7, k) + dz
                p[f, :k, 3] = v
                p[f, :k, 4] = rng.uniform(10, 30, k)
                m[f, :k] = 1
            pts.append(p)
            msk.append(m)
            acts.append(act)
            caps.append(texts)
    n = len(acts)
    return WindowSet(np.stack(pts), np.stack(msk), acts, caps, np.arange(n), ["synthetic"] * n)


def test_losses_fall_on_a_tiny_synthetic_set():
    torch.manual_seed(0)
    ws = synthetic_windows(8, seed=1)
    from training.clmp.data import CaptionSampler, TextCache

    model = build_model("clmp_points_tiny")
    sampler = CaptionSampler(ws, prompt_prob=0.5)
    cache = TextCache()
    cache.ensure(sampler.all_texts())
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    rng = np.random.default_rng(0)
    idx = np.arange(len(ws))
    first, last = None, None
    for loss_fn in (ClipLoss(), SigLipLoss()):
        for step in range(60):
            caps, pos = sampler.draw(idx, rng)
            out = model(torch.from_numpy(ws.points), torch.from_numpy(ws.mask), cache.get(caps))
            loss = loss_fn(out["radar"], out["text"], out["logit_scale"], out["logit_bias"], pos)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step == 0:
                first = loss.item()
            last = loss.item()
        assert last < 0.7 * first, (type(loss_fn).__name__, first, last)


def test_augmentation_keeps_body_points_and_adds_clutter():
    ws = synthetic_windows(2, seed=3)
    pts, msk = torch.from_numpy(ws.points), torch.from_numpy(ws.mask)
    g = torch.Generator().manual_seed(0)
    a_pts, a_msk = augment(pts, msk, g)
    assert a_pts.shape == pts.shape and a_msk.shape == msk.shape
    assert torch.all((a_msk == 0) | (a_msk == 1))
    assert torch.all(a_pts[a_msk == 0] == 0)
    # some windows got static (v = 0) clutter or DC points where there was none
    added = (a_msk > 0) & (msk == 0)
    assert added.any()


def test_trained_model_recognises_held_out_windows_zero_shot(tmp_path):
    train = synthetic_windows(40, seed=10)
    held = synthetic_windows(10, seed=99)
    settings = TrainSettings(
        data=["synthetic"],
        out=str(tmp_path / "ck"),
        model="clmp_points_tiny",
        epochs=12,
        batch_size=30,
        lr=3e-3,
        warmup_steps=5,
        threads=1,
        command="test",
    )
    card = train_on(Split(train=train, val=held), settings, log=lambda s: None)
    assert card["metrics"]["held_out"]["zeroshot_acc"] > 0.8
    assert (tmp_path / "ck" / "curves.png").is_file()
    model, card = load_checkpoint(tmp_path / "ck")
    labels = ["standing", "walking", "jumping"]
    target = np.array([["stand", "walk", "jump"].index(a) for a in held.activity])
    res = zeroshot(model, LabelledWindows(held.points, held.mask, target, labels, []))
    # chance is 1/3: demand a wide margin
    assert res["accuracy"] > 0.8, res
    assert sum(map(sum, res["confusion"])) == len(held)
    # resuming a finished run trains nothing more and returns its card
    again = train_on(Split(train=train, val=held), settings, log=lambda s: None)
    assert again["training"]["epochs_done"] == 12
