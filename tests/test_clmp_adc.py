"""The raw-ADC CLMP encoder: training on ADC through the runtime's front end, ONNX export, runtime.

Fast tier. Synthetic raw ADC of three unmistakable motions (someone standing still, walking toward
the radar, waving an arm), synthesised as point reflectors (sim.radar.point_targets) on one 77 GHz
and one 60 GHz board, turned into map windows by runtime.inference.adc_window (the hub's code).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from exporters.onnx import export_clmp
from firmware_cfg import load_cfg
from mmfm.cli import main
from runtime.inference.adc_window import adc_window_arrays
from runtime.inference.encoder import PointEncoder
from runtime.models import KIND_ADC, ModelError, load_model
from sim.radar.point_targets import PointTarget, synthesize_frame
from training.clmp.adc_model import augment_adc
from training.clmp.data import CaptionSampler, TextCache, WindowSet
from training.clmp.factory import build_model, load_checkpoint
from training.clmp.labels import PROMPT_TEMPLATES, text_prototypes
from training.clmp.loss import ClipLoss
from training.clmp.train import Split, TrainSettings, train_on

ARCH = "clmp_adc_tiny"
PROFILES = ("iwr1843boost_presence", "iwr6843isk_presence")
MOTIONS = {
    "stand": ["a person is standing still", "someone stands in front of the radar"],
    "walk": ["a person is walking", "someone walks toward the radar"],
    "wave": ["a person is waving", "someone waves a hand"],
}


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def body(act: str, t: float, r0: float, az0: float, phase: float) -> list[PointTarget]:
    """A few reflectors of one person at time ``t`` [s] doing ``act``."""
    if act == "walk":
        r, v = r0 - 1.0 * t, -1.0
    else:
        r, v = r0, 0.0
    pts = [
        PointTarget(r + dr, v, az0 + da, 0.0, amp) for dr, da, amp in ((0, 0, 150), (0.1, 4, 80))
    ]
    if act == "wave":
        arm_v = 1.8 * np.cos(2 * np.pi * 1.2 * t + phase)
        pts.append(PointTarget(r - 0.25, arm_v, az0 + 8.0, 0.0, 90.0))
    elif act == "stand":
        pts.append(PointTarget(r - 0.05, 0.02 * np.cos(2 * np.pi * 0.3 * t), az0, 0.0, 40.0))
    return pts


def adc_windows(n_per: int, seed: int, contract: dict) -> WindowSet:
    """``n_per`` windows per motion, alternating between two boards, through the front end."""
    rng = np.random.default_rng(seed)
    maps, masks, acts, caps = [], [], [], []
    k = 0
    for act, texts in MOTIONS.items():
        for i in range(n_per):
            rc = load_cfg(PROFILES[i % 2])
            n = int(contract["frames"])
            times = np.arange(n) * float(contract["window_s"]) / n
            r0, az0, phase = rng.uniform(2.5, 4.0), rng.uniform(-30, 30), rng.uniform(0, 6.3)
            frames = np.stack(
                [
                    synthesize_frame(rc.chirp, body(act, t, r0, az0, phase), noise_std=5.0, rng=rng)
                    for t in times
                ]
            )
            m, mk = adc_window_arrays(frames, times, rc, contract)
            maps.append(m)
            masks.append(mk)
            acts.append(act)
            caps.append(texts)
            k += 1
    return WindowSet(
        np.stack(maps), np.stack(masks), acts, caps, np.arange(k) + seed * 1000, ["synth"] * k
    )


@pytest.fixture(scope="module")
def contract() -> dict:
    return build_model(ARCH).input_contract


@pytest.fixture(scope="module")
def train_set(contract: dict) -> WindowSet:
    return adc_windows(10, seed=1, contract=contract)


@pytest.fixture(scope="module")
def held_set(contract: dict) -> WindowSet:
    return adc_windows(5, seed=2, contract=contract)


def test_loss_falls_on_a_tiny_synthetic_adc_set(train_set: WindowSet) -> None:
    torch.manual_seed(0)
    model = build_model(ARCH)
    assert train_set.points.shape[1:] == (10, 3, 24, 17) and train_set.mask.shape[1:] == (10,)
    sampler = CaptionSampler(train_set, prompt_prob=0.5)
    cache = TextCache()
    cache.ensure(sampler.all_texts())
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    rng = np.random.default_rng(0)
    idx = np.arange(len(train_set))
    losses = []
    for _ in range(40):
        caps, pos = sampler.draw(idx, rng)
        out = model(
            torch.from_numpy(train_set.points), torch.from_numpy(train_set.mask), cache.get(caps)
        )
        loss = ClipLoss()(out["radar"], out["text"], out["logit_scale"], out["logit_bias"], pos)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.7 * losses[0], (losses[0], losses[-5:])


def test_augmentation_keeps_shapes_floor_and_drops_whole_slots(train_set: WindowSet) -> None:
    maps, mask = torch.from_numpy(train_set.points), torch.from_numpy(train_set.mask)
    a_maps, a_mask = augment_adc(maps, mask, torch.Generator().manual_seed(0))
    assert a_maps.shape == maps.shape and a_mask.shape == mask.shape
    assert a_maps.min() >= 0 and torch.all((a_mask == 0) | (a_mask == 1))
    assert (a_mask.sum(1) >= 1).all() and (a_mask < mask).any()
    assert torch.all(a_maps[a_mask == 0] == 0)
    assert torch.all(a_maps[maps == 0] == 0)  # the floor stays the floor


@pytest.fixture(scope="module")
def trained(tmp_path_factory, train_set: WindowSet, held_set: WindowSet) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("adc") / "ck"
    settings = TrainSettings(
        data=["synth"],
        out=str(out),
        model=ARCH,
        epochs=25,
        batch_size=10,
        lr=3e-3,
        warmup_steps=5,
        threads=1,
        command="pytest",
    )
    card = train_on(Split(train=train_set, val=held_set), settings, log=lambda s: None)
    return out, card


def test_trained_adc_model_recognises_held_out_windows(trained: tuple[Path, dict]) -> None:
    out, card = trained
    # chance is 1/3 over stand/walk/wave: demand a wide margin
    assert card["metrics"]["held_out"]["zeroshot_acc"] > 0.8, card["metrics"]
    _model, ck = load_checkpoint(out)
    assert ck["input_contract"]["kind"] == "adc" and ck["name"] == ARCH


@pytest.fixture(scope="module")
def artifact(trained: tuple[Path, dict], tmp_path_factory) -> Path:
    model, card = load_checkpoint(trained[0])
    labels = ["standing", "walking", "waving"]
    return export_clmp(
        model,
        card,
        tmp_path_factory.mktemp("adc-art") / "clmp-adc-test",
        label_sets={"test": labels},
        prototypes={"test": text_prototypes(model, labels, PROMPT_TEMPLATES)},
        prompt_templates=PROMPT_TEMPLATES,
    )


@pytest.mark.parametrize(("precision", "floor"), [("fp32", 0.999), ("int8", 0.99)])
def test_export_parity_with_torch(
    trained: tuple[Path, dict], artifact: Path, held_set: WindowSet, precision: str, floor: float
) -> None:
    model, _ = load_checkpoint(trained[0])
    with torch.no_grad():
        want = model.encode_points(
            torch.from_numpy(held_set.points), torch.from_numpy(held_set.mask)
        ).numpy()
    art = load_model(artifact)
    assert art.kind == KIND_ADC
    encoder = PointEncoder(art, precision=precision, threads=1)
    assert encoder.input_kind == "adc"
    for batch in (1, 2, len(held_set)):  # dynamic batch
        got = encoder.embed(held_set.points[:batch], held_set.mask[:batch])
        cosine = (got * want[:batch]).sum(axis=1)
        assert cosine.min() >= floor, f"{precision} batch {batch}: cosine {cosine.min():.5f}"
    with pytest.raises(ValueError, match="maps must be"):
        encoder.embed(held_set.points[:, :5], held_set.mask[:, :5])


def test_tampered_artifact_is_refused(artifact: Path, tmp_path: Path, capsys) -> None:
    import shutil

    copy = tmp_path / "tampered"
    shutil.copytree(artifact, copy)
    assert main(["models", "verify", str(copy)]) == 0
    data = bytearray((copy / "encoder.int8.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "encoder.int8.onnx").write_bytes(bytes(data))
    with pytest.raises(ModelError, match="sha256"):
        load_model(copy)
    capsys.readouterr()
    assert main(["models", "verify", str(copy)]) != 0
    assert "sha256" in capsys.readouterr().err
