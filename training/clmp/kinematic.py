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

No occlusion, multipath, noise floor or static clutter there: the batch augmentation
(``training.clmp.augment``) adds clutter, DC and ghost points. That is detector ``"cells"``
(clmp-points-v2's windows). Detector ``"ti_room"`` (:class:`RoomDetector`, clmp-points-v3) runs
the demo's own chain instead: a range-Doppler-antenna cube synthesised from the body, the room's
static surfaces and the board's TX->RX leakage through the window responses, white noise, and the
runtime DSP's CFAR, peak grouping and angle estimation (``runtime.dsp.chain``), so static points,
zero-Doppler wins, near-range leakage and the demo's elevation errors come out of the model; its
levels (:data:`ROOM_MODEL`) are calibrated on pooled, label-free statistics of the real
recordings only. Captions are class prompts of the
window's main activity (``training.clmp.data.class_prompts``). Records the seeds: sample ``k`` of
``(seed, setup)`` is the scenario ``sample_scenario(seed, k, setup=setup)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
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


# ------------------------------------------------------------------------------------------------
# TI-demo detection chain in a room (``detector="ti_room"``)
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoomRadarModel:
    """Signal levels of the room detector (:class:`RoomDetector`), relative to the noise per cell.

    Calibrated only on label-free statistics pooled over every real recording
    (:mod:`training.clmp.window_stats`: points per slot, shares of v = 0, nearer than 0.5 m, farther
    than 3 m), never per class (``training/clmp/EXPERIMENTS.md``, session 4).

    Attributes:
        gain_db: post-FFT power over the noise of one cell and antenna for a 1 m^2 reflector
            (|Gamma| = 1, normal incidence) at 1 m on boresight, before the profile's TX backoff.
        gain_jitter_db: per sample, the gain is drawn within +- this (boards, gain settings).
        static_db: extra gain of the room's surfaces (walls, floor, furniture) over the body's.
        specular: extra factor of a surface element seen near its normal (the wall's specular
            spot), ``1 + specular * exp(-(theta / specular_rad)^2)``.
        specular_rad: width of that lobe [rad].
        leak_db: TX->RX leakage power over the noise per antenna (the demo's near-range points
            when ``calibDcRangeSig`` is off).
        surface_step_m: sampling step of the room's surfaces [m].
    """

    gain_db: float = 85.0
    gain_jitter_db: float = 3.0
    static_db: float = 3.0
    specular: float = 10.0
    specular_rad: float = 0.12
    leak_db: float = 45.0
    surface_step_m: float = 0.08


#: The calibrated model of session 4 (see :class:`RoomRadarModel`).
ROOM_MODEL = RoomRadarModel()

_KERNEL_STEP = 1.0 / 64.0  # fractional-bin resolution of the window response tables
_SKIN_GAMMA2 = 0.45  # |Gamma|^2 of skin near 77 GHz at normal incidence (about -3.5 dB)


def _window_response(window: np.ndarray, fft_size: int, half_width: int) -> np.ndarray:
    """Real (centred) response of a windowed FFT to a tone ``d`` bins off, on a ``_KERNEL_STEP``
    grid over ``[-half_width - 1, half_width + 1]``, normalised to 1 at ``d = 0``."""
    d = np.arange(-(half_width + 1), half_width + 1 + 1e-9, _KERNEL_STEP)
    n = np.arange(window.size) - 0.5 * (window.size - 1)
    resp = (window[None, :] * np.cos(2 * np.pi * np.outer(d, n) / fft_size)).sum(1)
    return resp / window.sum()


def _lookup(table: np.ndarray, half_width: int, d: np.ndarray) -> np.ndarray:
    pos = (d + half_width + 1) / _KERNEL_STEP
    i = np.clip(pos.astype(np.int64), 0, table.size - 2)
    f = np.clip(pos - i, 0.0, 1.0)
    out = table[i] * (1 - f) + table[i + 1] * f
    return np.where(np.abs(d) <= half_width + 1, out, 0.0)


def surface_scatterers(
    meshes: Iterable[Any], pose: Any, step_m: float, max_range_m: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Points sampled on static meshes, in the radar frame: ``(pos [K, 3], cos_incidence [K],
    materials [K])``, one per ``step_m^2`` of surface facing the radar, within ``max_range_m``."""
    pos_all, cos_all, mats = [], [], []
    for mesh in meshes:
        tri = pose.to_radar(mesh.vertices[mesh.faces].reshape(-1, 3)).reshape(-1, 3, 3)
        e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
        cross = np.cross(e1, e2)
        area = 0.5 * np.linalg.norm(cross, axis=1)
        ok = area > 1e-8
        if not ok.any():
            continue
        tri, e1, e2, cross, area = tri[ok], e1[ok], e2[ok], cross[ok], area[ok]
        nrm = cross / (2 * area[:, None])
        count = rng.poisson(area / step_m**2)
        count = np.maximum(count, (area > 0.25 * step_m**2).astype(np.int64))
        if count.sum() == 0:
            continue
        f = np.repeat(np.arange(tri.shape[0]), count)
        a, b = rng.random(f.size), rng.random(f.size)
        flip = a + b > 1
        a, b = np.where(flip, 1 - a, a), np.where(flip, 1 - b, b)
        p = tri[f, 0] + a[:, None] * e1[f] + b[:, None] * e2[f]
        r = np.linalg.norm(p, axis=1).clip(min=1e-3)
        c = np.abs((nrm[f] * p).sum(1)) / r  # two-sided surfaces
        keep = (p[:, 1] > 0.05) & (r < max_range_m) & (c > 1e-3)
        pos_all.append(p[keep])
        cos_all.append(c[keep])
        mats += [mesh.material] * int(keep.sum())
    if not pos_all:
        return np.zeros((0, 3)), np.zeros(0), []
    return np.concatenate(pos_all), np.concatenate(cos_all), mats


class RoomDetector:
    """TI's out-of-box demo on a synthesised range-Doppler cube of a room with people in it.

    Per frame the complex cube ``[tx, rx, doppler, range]`` (the runtime DSP's layout, noise
    power 1 per cell and antenna) holds, through the range (Blackman) and Doppler (Hann) window
    responses, every reflector's carrier phase, steering vector and TDM slot phase:

    - the body's mesh faces facing the radar (skin, ``area * cos^2``, their radial velocity);
    - the room's static surfaces (walls, floor, ceiling, furniture: ``sim.scene``, sampled every
      ``surface_step_m``, Fresnel power of their material, a diffuse ``cos`` and a specular lobe),
      at zero Doppler: the same every frame, unless the profile enables clutter removal;
    - the board's TX->RX leakage (static, 5-11 cm of equivalent range, as
      ``sim.radar.antenna.coupling_paths``), unless the profile enables ``calibDcRangeSig``;
    - the board's element pattern (``sim.radar.antenna.element_field``, two-way), ``1/r^4``.

    White complex noise is added, then the runtime's own chain runs: the profile's CFAR, peak
    grouping (along Doppler only for the SDK 1.x demo), range-bin limits, the azimuth FFT with the
    second-object beamforming and the demo's elevation estimate from the elevated row's phase
    (``runtime.dsp.chain``). So static points, v = 0 wins, near-range leakage points and garbled
    heights (a body part and the floor or a wall in one cell) come out of one model.
    """

    def __init__(
        self,
        scene: Any,
        radar_config: Any,
        rng: np.random.Generator,
        model: RoomRadarModel = ROOM_MODEL,
    ) -> None:
        from runtime.dsp.chain import make_plan
        from runtime.dsp.doppler import DOPPLER_WINDOW
        from runtime.dsp.range import RANGE_WINDOW
        from runtime.dsp.windows import make_window
        from sim.scene.materials import reflection_coefficient

        self.rc = radar_config
        cfg = self.cfg = radar_config.chirp
        self.plan = make_plan(radar_config)
        self.pose = scene.radar
        self.rng = rng
        self.model = model
        self.nd, self.nr = cfg.doppler_fft_size, cfg.num_range_bins
        self.ntx, self.nrx = cfg.num_tx, cfg.num_rx
        self.bin_m = cfg.range_bin_m
        self.bias_m = radar_config.demo.range_bias_m
        self.vel_bin = cfg.velocity_bin_mps
        self.lam = cfg.wavelength_m
        self.fc = cfg.carrier_freq_hz
        self._reflect = reflection_coefficient
        self.wr = _window_response(
            make_window(RANGE_WINDOW, cfg.num_samples), cfg.range_fft_size, 3
        )
        self.wd = _window_response(make_window(DOPPLER_WINDOW, cfg.num_loops), self.nd, 2)
        va = cfg.virtual_array().reshape(-1, 2)  # [V, (x, z)] half-wavelengths
        self.va_x, self.va_z = va[:, 0], va[:, 1]
        cal = self.plan.geometry.calibration.reshape(-1)
        self.uncal = (1.0 / np.where(np.abs(cal) > 0, cal, 1.0)).astype(np.complex128)
        self.slot = np.repeat(np.arange(self.ntx), self.nrx)  # TX slot of each virtual antenna
        jitter = rng.uniform(-model.gain_jitter_db, model.gain_jitter_db)
        self.gain = 10 ** ((model.gain_db + jitter - cfg.tx_power_backoff_db) / 10)
        self.static = np.zeros((self.ntx * self.nrx, self.nd, self.nr), np.complex128)
        demo = radar_config.demo
        if not demo.clutter_removal:
            meshes = [m for m in scene.static_meshes()]
            max_r = self.nr * self.bin_m
            pos, cosi, mats = surface_scatterers(
                meshes, self.pose, model.surface_step_m, max_r, rng
            )
            if len(mats):
                g2 = np.empty(len(mats))
                for mat in set(mats):
                    sel = np.array([m == mat for m in mats])
                    g2[sel] = np.abs(self._reflect(mat, self.fc, np.arccos(cosi[sel]))) ** 2
                theta = np.arccos(np.clip(cosi, 0, 1))
                lobe = 1 + model.specular * np.exp(-((theta / model.specular_rad) ** 2))
                sigma = model.surface_step_m**2 * g2 * cosi * lobe * 10 ** (model.static_db / 10)
                self._add(self.static, pos, np.zeros(len(pos)), sigma)
            if not demo.dc_range_calibration:
                self._add_leakage(self.static)

    # -------------------------------------------------------------------------------- synthesis
    def _add(self, cube: np.ndarray, pos: np.ndarray, v_rad: np.ndarray, sigma: np.ndarray) -> None:
        """Add reflectors (radar frame ``pos [K, 3]`` m, radial velocity [m/s], RCS [m^2])."""
        from sim.radar.antenna import element_field

        if len(pos) == 0:
            return
        r = np.linalg.norm(pos, axis=1).clip(min=0.05)
        u, w = pos[:, 0] / r, pos[:, 2] / r
        field = element_field(self.cfg, pos / r[:, None]) ** 2  # two-way
        amp = np.sqrt(self.gain * sigma) * field / r**2
        rho = (r + self.bias_m) / self.bin_m
        nu = v_rad / self.vel_bin  # signed Doppler bins
        # merge reflectors of one (range bin, Doppler bin, 3-degree direction) coherently: the cube
        # cannot tell them apart, and it keeps the per-frame cost bounded
        key = np.floor(rho).astype(np.int64) * 256 + np.round(nu).astype(np.int64) % 256
        key = key * 64 + np.round(np.arcsin(np.clip(u, -1, 1)) / 0.05).astype(np.int64) + 32
        key = key * 64 + np.round(np.arcsin(np.clip(w, -1, 1)) / 0.05).astype(np.int64) + 32
        _, inv = np.unique(key, return_inverse=True)
        inv = inv.reshape(-1)
        ph = np.exp(1j * (4 * np.pi / self.lam) * r)
        c = np.bincount(inv, amp * ph.real) + 1j * np.bincount(inv, amp * ph.imag)
        p = amp**2
        ps = np.bincount(inv, p).clip(min=1e-30)
        rho, nu, u, w = (np.bincount(inv, p * x) / ps for x in (rho, nu, u, w))
        k = c.size
        # window responses on 7 range x 5 Doppler taps
        rt = np.round(rho).astype(np.int64)[:, None] + np.arange(-3, 4)[None, :]  # [k, 7]
        wr = _lookup(self.wr, 3, rt - rho[:, None])
        idx = self.nd // 2 + nu  # fractional fftshifted Doppler index
        dt = np.round(idx).astype(np.int64)[:, None] + np.arange(-2, 3)[None, :]  # [k, 5]
        wd = _lookup(self.wd, 2, dt - idx[:, None])
        dt %= self.nd
        valid_r = (rt >= 0) & (rt < self.nr)
        # steering and TDM slot phase per virtual antenna [k, V]
        f_d = nu / (self.nd * self.cfg.tdm_period_s)
        steer = np.exp(
            1j * np.pi * (np.outer(u, self.va_x) + np.outer(w, self.va_z))
            + 2j * np.pi * np.outer(f_d, self.slot * self.cfg.chirp_period_s)
        )
        steer *= self.uncal[None, :] * c[:, None]  # [k, V]
        tap = (wd[:, :, None] * np.where(valid_r, wr, 0.0)[:, None, :]).reshape(k, -1)  # [k, 35]
        cell = (dt[:, :, None] * self.nr + np.clip(rt, 0, self.nr - 1)[:, None, :]).reshape(k, -1)
        flat = cube.reshape(cube.shape[0], -1)
        n_cells = flat.shape[1]
        cells = cell.reshape(-1)
        for a in range(flat.shape[0]):
            val = (tap * steer[:, a : a + 1]).reshape(-1)
            flat[a] += np.bincount(cells, val.real, n_cells) + 1j * np.bincount(
                cells, val.imag, n_cells
            )

    def _add_leakage(self, cube: np.ndarray) -> None:
        """TX->RX coupling: two static routes per virtual antenna at board-fixed phases."""
        from sim.radar.antenna import COUPLING_EXTRA_DELAY_M, COUPLING_ROUTES

        routes = COUPLING_ROUTES.get(self.cfg.board_spec.name, ((COUPLING_EXTRA_DELAY_M, 1.0),))
        board_rng = np.random.default_rng(
            int.from_bytes(self.cfg.board_spec.name.encode()[:8], "little")
        )
        nv = cube.shape[0]
        amp0 = 10 ** (self.model.leak_db / 20)
        for extra, rel in routes:
            r = 0.5 * (0.03 + extra)  # one-way route length -> equivalent range
            rho = (r + self.bias_m) / self.bin_m
            rt = np.round(rho).astype(np.int64) + np.arange(-3, 4)
            wr = _lookup(self.wr, 3, rt - rho)
            wd = _lookup(self.wd, 2, np.arange(-2, 3).astype(float))
            phase = np.exp(2j * np.pi * board_rng.random(nv))
            for j, rr in enumerate(rt):
                if 0 <= rr < self.nr:
                    for i, dd in enumerate(range(self.nd // 2 - 2, self.nd // 2 + 3)):
                        cube[:, dd % self.nd, rr] += amp0 * rel * wr[j] * wd[i] * phase

    # -------------------------------------------------------------------------------- detection
    def frame(self, meshes: Iterable[Any]) -> np.ndarray:
        """Detected points (``POINT_DTYPE``, radar frame) of one frame with these body meshes."""
        return self.frames(meshes, 1)[0]

    def frames(self, meshes: Iterable[Any], count: int) -> list[np.ndarray]:
        """``count`` frames of the same body meshes (the noise drawn afresh per frame)."""
        from runtime.dsp.chain import cell_detections, detect_cells
        from runtime.dsp.detection import detections_to_points

        cube = self.static.copy()
        clutter_removal = self.rc.demo.clutter_removal
        for mesh in meshes:
            cent = self.pose.to_radar(mesh.face_centroids())
            normals, areas = mesh.face_normals_areas()
            nrm = self.pose.to_radar_vectors(normals)
            r = np.linalg.norm(cent, axis=1).clip(min=0.05)
            facing = -(nrm * cent).sum(1) / r
            ok = (facing > 0) & (cent[:, 1] > 0.05)
            if not ok.any():
                continue
            vel = np.zeros_like(cent)
            if mesh.velocities is not None:
                vel = self.pose.to_radar_vectors(mesh.velocities[mesh.faces].mean(axis=1))
            v_rad = (vel[ok] * cent[ok]).sum(1) / r[ok]
            sigma = _SKIN_GAMMA2 * areas[ok] * facing[ok] ** 2
            if clutter_removal:  # the per-chirp mean removes what does not move within a frame
                nu = v_rad / self.vel_bin
                sigma = sigma * (1 - np.sinc(np.clip(nu, -1, 1))) ** 2
            self._add(cube, cent[ok], v_rad, sigma)
        out = []
        clean = cube.astype(np.complex64).reshape(self.ntx, self.nrx, self.nd, self.nr)
        nv = self.ntx * self.nrx
        for _ in range(count):
            noise = self.rng.standard_normal((2, *clean.shape), dtype=np.float32)
            noisy = clean + np.float32(np.sqrt(0.5)) * (noise[0] + 1j * noise[1])
            power = (noisy.real**2 + noisy.imag**2).reshape(nv, self.nd, self.nr).mean(0)
            det_db = (10 * np.log10(np.maximum(power, 1e-30))).astype(np.float32)
            hit, noise_db = detect_cells(det_db, self.plan)
            det = cell_detections(noisy.astype(np.complex64), det_db, noise_db, hit, self.plan)
            out.append(detections_to_points(det))
        return out


#: Detector models of :func:`kinematic_sample`.
DETECTORS = ("cells", "ti_room")


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
    detector: str = "cells",
    room_model: RoomRadarModel = ROOM_MODEL,
    pose_frames: int = 2,
) -> tuple[list[np.ndarray], list[np.ndarray], str]:
    """Windows ``(points [T, P, 5] list, mask [T, P] list, activity)`` of one kinematic sample.

    ``frame_step`` > 1 keeps every ``frame_step``-th radar frame of the configuration (a 30 frames/s
    profile at 2 gives 15 frames/s, as TI's demo delivers over a busy UART, e.g. RadHAR's ~17/s): the
    windows hold fewer frames per time slot, and generation is that much faster.

    ``detector``: ``"cells"`` (:func:`frame_points`, the body alone: clmp-points-v2's windows) or
    ``"ti_room"`` (:class:`RoomDetector`: the TI demo's chain on the body in its room, with static
    clutter and leakage, ``room_model`` its levels; the body is posed once every ``pose_frames``
    frames).
    """
    if detector not in DETECTORS:
        raise ValueError(f"unknown detector {detector!r}; known: {', '.join(DETECTORS)}")
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
    if detector == "ti_room":
        det = RoomDetector(scene, rc, np.random.default_rng([seed, index, 37]), room_model)
        # one body pose per ``pose_frames`` radar frames (33 ms apart at 30 frames/s: the pose is
        # held, the noise is drawn afresh per frame): posing the mesh dominates the cost
        for j in range(0, len(starts), pose_frames):
            meshes = [h.mesh_at(float(starts[j])) for h in humans]
            clouds += det.frames(meshes, min(pose_frames, len(starts) - j))
    for t in starts if detector == "cells" else ():
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
    ap.add_argument("--detector", default="cells", choices=DETECTORS)
    args = ap.parse_args(argv)
    contract = build_model(args.model).input_contract
    sets: list[WindowSet] = []
    for start in range(0, args.num, 20):
        ks = range(start, min(args.num, start + 20))
        sets.append(
            kinematic_windows(args.seed, ks, contract, setup=args.setup, detector=args.detector)
        )
        save_windows(WindowSet.concat(sets), args.out, contract)
        print(
            f"{min(args.num, start + 20)} samples, {sum(len(s) for s in sets)} windows", flush=True
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
