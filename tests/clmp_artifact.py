"""Helpers for the export/runtime-model tests: a real CLMP checkpoint, its exported artifact, and
plausible radar windows (a person walking, waving or standing, as TI's demo reports points)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

ARCH = "clmp_points_s"  # the architecture the shipped model uses


def make_checkpoint(path: Path, *, seed: int = 0, arch: str = ARCH) -> Path:
    """Build ``arch`` with seeded random weights and save it as a checkpoint directory."""
    import torch

    from training.clmp import build_model, save_checkpoint

    torch.manual_seed(seed)
    model = build_model(arch)
    card = {"dataset": None, "command": "pytest (random weights)", "metrics": {"test_metric": 0.5}}
    save_checkpoint(model, card, path)
    return path


def export_radhar_only(checkpoint: Path, out: Path) -> Path:
    """Export with the ``radhar`` label set only (the CLI ships every default set; the MiniLM text
    tower takes ~1 s per label on a busy 2-core machine, so the runtime tests keep to five)."""
    from exporters.onnx import export_clmp
    from training.clmp import load_checkpoint
    from training.clmp.labels import DEFAULT_LABEL_SETS, PROMPT_TEMPLATES, text_prototypes

    model, card = load_checkpoint(checkpoint)
    labels = DEFAULT_LABEL_SETS["radhar"]
    return export_clmp(
        model,
        card,
        out,
        label_sets={"radhar": labels},
        prototypes={"radhar": text_prototypes(model, labels, PROMPT_TEMPLATES)},
        prompt_templates=PROMPT_TEMPLATES,
    )


def person_windows(contract: dict, batch: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``batch`` windows of one person moving in front of the radar.

    Returns:
        points float32 ``[B, T, P, 5]`` (x right, y boresight, z up [m], v radial [m/s], snr [dB]) and
        mask float32 ``[B, T, P]``. Point counts vary from 0 (a dropped frame) to P (a full frame).
    """
    rng = np.random.default_rng(seed)
    frames, max_points = int(contract["frames"]), int(contract["max_points"])
    dt = 1.0 / float(contract.get("frame_rate_hz", 10.0))
    points = np.zeros((batch, frames, max_points, 5), np.float32)
    mask = np.zeros((batch, frames, max_points), np.float32)
    for b in range(batch):
        start = np.array([rng.uniform(-1.5, 1.5), rng.uniform(1.0, 5.0), 0.0])
        heading = rng.uniform(0, 2 * np.pi)
        speed = rng.choice([0.0, 0.4, 1.0, 1.4])  # standing, shuffling, walking [m/s]
        for t in range(frames):
            n = int(rng.integers(0, max_points + 1)) if t % 7 else max_points
            if t == 3 and b % 2:
                n = 0  # a frame with no detection
            centre = start + speed * t * dt * np.array([np.cos(heading), np.sin(heading), 0.0])
            body = rng.normal(0.0, [0.18, 0.12, 0.4], size=(n, 3)) + np.array([0.0, 0.0, 0.9])
            xyz = centre + body
            xyz[:, 2] -= 1.0  # radar mounted at 1 m
            rng_m = np.linalg.norm(xyz, axis=1).clip(0.3)
            vel = speed * np.array([np.cos(heading), np.sin(heading), 0.0])
            v = (xyz @ vel) / rng_m + rng.normal(0.0, 0.15, size=n)  # radial [m/s]
            snr = (30.0 - 10.0 * np.log10(rng_m) + rng.normal(0.0, 3.0, size=n)).clip(3.0)
            points[b, t, :n] = np.column_stack([xyz, v, snr])
            mask[b, t, :n] = 1.0
    return points, mask
