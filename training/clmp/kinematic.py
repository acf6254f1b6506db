"""Kinematic point clouds: a fast stand-in for the full radar simulation, for pre-training volume.

The physics path (scene -> scatterers -> ADC -> runtime DSP) costs about 30 s per 2 s window on one
shared core; this one costs well under a second more than sampling the scenario. It keeps the
simulator's scenarios (rooms, radar mountings, subjects, activity timelines, body meshes) and replaces
propagation and DSP by a detector model of TI's out-of-box demo:

- every body-mesh face seen from the radar (normal toward it) is a reflector with power
  ``area * cos^2 / r^4`` at its range and radial velocity (pose and velocities from the body model);
- reflectors are binned in (range bin, Doppler bin) cells of the chirp's resolutions
  (``ChirpConfig.range_resolution_m`` / ``velocity_resolution_mps``); the strongest cells within
  ``dynamic_db`` of the peak are detected, up to a per-frame count drawn around ``mean_points``;
- each detection becomes a point at the power-weighted centroid of its cell, with angle noise,
  velocity = its Doppler bin, SNR = power over the weakest detected cell plus ``snr_floor_db``.

No occlusion, multipath, noise floor or static clutter here: the batch augmentation
(``training.clmp.augment``) adds clutter, DC and ghost points. Captions are class prompts of the
window's main activity (``training.clmp.data.class_prompts``). Records the seeds: sample ``k`` of
``(seed, setup)`` is the scenario ``sample_scenario(seed, k, setup=setup)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from runtime.frames import POINT_DTYPE
from runtime.inference.window import points_window_arrays
from sim.dataset.scenario import REGION_ACTIVITIES, sample_scenario
from training.clmp.data import WindowSet, class_prompts

#: RadHAR's five weighted x2, every other standing activity x1 (a region setup allows only these).
DEFAULT_WEIGHTS: dict[str, float] = {
    **dict.fromkeys(REGION_ACTIVITIES, 1.0),
    **dict.fromkeys(("boxing", "jumping_jacks", "jump", "squats", "walk"), 2.0),
}


def frame_points(
    mesh: Any,
    pose: Any,
    range_res_m: float,
    vel_res_mps: float,
    rng: np.random.Generator,
    *,
    mean_points: float = 18.0,
    dynamic_db: float = 30.0,
    angle_noise_rad: float = 0.05,
    snr_floor_db: float = 12.0,
) -> np.ndarray:
    """Detected points (``POINT_DTYPE``, radar frame) of one body mesh at one instant."""
    cent = pose.to_radar(mesh.face_centroids())  # [F, 3]
    normals, areas = mesh.face_normals_areas()
    nrm = pose.to_radar_vectors(normals)  # [F, 3]
    if mesh.velocities is not None:
        fv = mesh.velocities[mesh.faces].mean(axis=1)  # [F, 3] world
        vel = pose.to_radar_vectors(fv)
    else:
        vel = np.zeros_like(cent)
    r = np.linalg.norm(cent, axis=1).clip(min=0.05)
    u = cent / r[:, None]
    facing = -(nrm * u).sum(1)
    ok = (facing > 0) & (cent[:, 1] > 0.05)
    if not ok.any():
        return np.zeros(0, POINT_DTYPE)
    cent, r, u, vel = cent[ok], r[ok], u[ok], vel[ok]
    power = areas[ok] * facing[ok] ** 2 / r**4
    v_rad = (vel * u).sum(1)  # + = away
    rb = np.floor(r / range_res_m).astype(np.int64)
    db = np.round(v_rad / vel_res_mps).astype(np.int64)
    key = rb * 4096 + (db + 2048)
    cells, inv = np.unique(key, return_inverse=True)
    p_cell = np.bincount(inv, weights=power)
    pos = np.stack([np.bincount(inv, weights=power * cent[:, k]) for k in range(3)], 1)
    pos /= p_cell[:, None]
    order = np.argsort(-p_cell)
    keep = order[10 * np.log10(p_cell[order] / p_cell[order[0]]) > -dynamic_db]
    n = int(np.clip(rng.poisson(mean_points), 3, len(keep))) if len(keep) >= 3 else len(keep)
    keep = keep[:n]
    out = np.zeros(len(keep), POINT_DTYPE)
    p = pos[keep]
    rr = np.linalg.norm(p, axis=1)
    az = np.arctan2(p[:, 0], p[:, 1]) + rng.normal(0, angle_noise_rad, len(keep))
    el = np.arcsin(np.clip(p[:, 2] / rr, -1, 1)) + rng.normal(0, 2 * angle_noise_rad, len(keep))
    rr = (cells[keep] // 4096 + rng.uniform(0, 1, len(keep))) * range_res_m
    out["x"] = rr * np.cos(el) * np.sin(az)
    out["y"] = rr * np.cos(el) * np.cos(az)
    out["z"] = rr * np.sin(el)
    out["v"] = ((cells[keep] % 4096) - 2048) * vel_res_mps
    pdb = 10 * np.log10(p_cell[keep])
    out["snr"] = pdb - pdb.min() + snr_floor_db
    out["noise"] = np.nan
    return out


def kinematic_sample(
    seed: int,
    index: int,
    contract: dict[str, Any],
    *,
    setup: str | None = "radhar",
    window_s: float = 4.0,
    stride_s: float = 0.5,
    weights: dict[str, float] | None = None,
    frame_step: int = 1,
) -> tuple[list[np.ndarray], list[np.ndarray], str]:
    """Windows ``(points [T, P, 5] list, mask [T, P] list, activity)`` of one kinematic sample.

    ``frame_step`` > 1 keeps every ``frame_step``-th radar frame of the configuration (a 30 frames/s
    profile at 2 gives 15 frames/s, as TI's demo delivers over a busy UART, e.g. RadHAR's ~17/s): the
    windows hold fewer frames per time slot, and generation is that much faster.
    """
    sc = sample_scenario(
        seed, index, setup=setup, window_s=window_s, activities=weights or DEFAULT_WEIGHTS
    )
    rc = sc.radar_config()
    cfg = rc.chirp
    scene = sc.scene()
    pose = scene.radar
    humans = sc.humans()
    starts = sc.frame_starts_s()[:: max(1, int(frame_step))]
    rng = np.random.default_rng([seed, index, 31])
    mean_pts = float(rng.uniform(10, 28))
    clouds = []
    for t in starts:
        parts = [
            frame_points(
                h.mesh_at(float(t)),
                pose,
                cfg.range_resolution_m,
                cfg.velocity_resolution_mps,
                rng,
                mean_points=mean_pts / max(1, len(humans)),
            )
            for h in humans
        ]
        clouds.append(np.concatenate(parts) if parts else np.zeros(0, POINT_DTYPE))
    acts = sorted(p.activity for p in sc.people)
    activity = "+".join(acts)
    pts, msk = [], []
    w = float(contract["window_s"])
    t0 = 0.0
    rel = starts - starts[0]
    while t0 + w <= rel[-1] + (rel[1] - rel[0] if len(rel) > 1 else 0) + 1e-6:
        sel = np.flatnonzero((rel >= t0 - 1e-9) & (rel < t0 + w - 1e-9))
        p, m = points_window_arrays([clouds[i] for i in sel], rel[sel], contract)
        pts.append(p)
        msk.append(m)
        t0 += stride_s
    return pts, msk, activity


def kinematic_windows(
    seed: int,
    indices: Iterable[int],
    contract: dict[str, Any],
    *,
    progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None,
    **kwargs: Any,
) -> WindowSet:
    """A :class:`WindowSet` of kinematic samples ``indices`` (captions: class prompts)."""
    pts, msk, acts, caps, samples = [], [], [], [], []
    it = list(indices)
    for k in progress(it) if progress else it:
        p, m, act = kinematic_sample(seed, int(k), contract, **kwargs)
        prompts = class_prompts(act) if "+" not in act else []
        if not prompts:
            continue
        for pp, mm in zip(p, m, strict=True):
            pts.append(pp)
            msk.append(mm)
            acts.append(act)
            caps.append(prompts)
            samples.append(int(k))
    n = len(acts)
    return WindowSet(
        np.stack(pts),
        np.stack(msk),
        acts,
        caps,
        np.asarray(samples, dtype=np.int64),
        [f"kinematic:{seed}"] * n,
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m training.clmp.kinematic --out W.npz --num N [--seed S] [--model NAME]``.

    Writes prepared windows (``training.clmp.data.save_windows``) every 20 samples, so a partial run is
    usable; ``mmfm train clmp --windows W.npz`` trains on them beside simulated datasets.
    """
    import argparse

    from training.clmp.data import save_windows
    from training.clmp.factory import DEFAULT_MODEL, build_model

    ap = argparse.ArgumentParser(prog="python -m training.clmp.kinematic")
    ap.add_argument("--out", required=True)
    ap.add_argument("--num", type=int, required=True)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--setup", default="radhar")
    args = ap.parse_args(argv)
    contract = build_model(args.model).input_contract
    sets: list[WindowSet] = []
    for start in range(0, args.num, 20):
        ks = range(start, min(args.num, start + 20))
        sets.append(kinematic_windows(args.seed, ks, contract, setup=args.setup))
        save_windows(WindowSet.concat(sets), args.out, contract)
        print(
            f"{min(args.num, start + 20)} samples, {sum(len(s) for s in sets)} windows", flush=True
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
