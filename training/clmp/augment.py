"""Batch augmentation for point windows: what the simulator lacks or gets too clean.

Works on ``points [B, T, P, 5]`` (x, y, z [m], v [m/s], snr [dB]) and ``mask [B, T, P]`` in torch, per
window (every window draws its own strengths):

- mounting and placement: rotation about the vertical axis (and a tilt), shift along boresight and
  in height (a radar from the floor to 2 m high sees the body at other heights);
- point dropout (detections missed) and whole-slot dropout (frames lost: lower or uneven frame rate);
- position and velocity jitter (range/angle/Doppler resolution and noise);
- SNR offset and scale (another board, gain, CFAR threshold);
- static clutter: a few fixed reflectors (furniture, walls) with v = 0 in every slot where they are
  detected, and near-radar DC points (leakage at a few tens of centimetres, v = 0) - what a demo without
  static clutter removal reports, as in the RadHAR recordings;
- ghost points: multipath images behind the body (longer range, the body's velocity).
- (off in the default preset) a TI demo without static clutter removal: the reported velocity of a
  fraction of the body's points is 0 (the zero-Doppler cell of static body parts, walls and leakage
  wins the peak grouping), velocities quantised to a coarse Doppler bin, and elevation noise or a lost
  elevation (one elevation pair of virtual antennas: phase ambiguity puts points far above or below).

Presets (:data:`AUGMENT_PRESETS`): ``default`` (as the first models were trained), ``ti_static``
(the TI-demo effects above plus more DC and clutter points, for boards reporting raw demo points) and
``room`` (mounting, dropout and SNR only, for windows whose detector already puts the demo's effects
in: ``training.clmp.kinematic.RoomDetector``).

New points go into free (masked-out) places only, so the body's points are never overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class AugmentConfig:
    """Strengths (maxima; each window draws uniformly below them)."""

    rotate_deg: float = 15.0
    pitch_deg: float = 0.0  # tilt about the radar's x axis (mounting), per window U(-max, max)
    shift_y_m: float = 0.6
    shift_z_m: float = 0.25
    point_drop: float = 0.35
    slot_drop: float = 0.1
    jitter_xyz_m: float = 0.04
    jitter_v_mps: float = 0.08
    snr_offset_db: float = 12.0
    snr_scale: float = 0.3
    clutter_max: int = 10
    clutter_prob: float = 0.8
    dc_max: int = 4
    ghost_max: int = 4
    v_zero_max: float = 0.0  # fraction of points whose velocity reads 0 (per window U(0, max))
    v_zero_prob: float = 0.0  # probability a window gets that velocity zeroing at all
    v_quant_max_mps: float = 0.0  # Doppler bin: per window U(0, max) [m/s]; 0 = off
    elev_noise_rad: float = 0.0  # elevation noise std, per window U(0, max) [rad]
    elev_garble_max: float = 0.0  # fraction of points (per window U(0, max)) whose elevation is
    # lost: drawn uniformly in +-elev_garble_deg (phase ambiguity of a single elevation baseline)
    elev_garble_deg: float = 60.0
    dc_presence: float = 0.6  # probability a drawn DC point is reported in a slot


def _insert(
    points: torch.Tensor, mask: torch.Tensor, new: torch.Tensor, keep: torch.Tensor
) -> None:
    """Write ``new [B, T, K, 5]`` (where ``keep [B, T, K]``) into free places of each slot, in place."""
    b, t, p, _ = points.shape
    k = new.shape[2]
    free = 1.0 - mask  # [B, T, P]
    # rank of each free place within its slot (0, 1, ...); occupied places get a large rank
    rank = torch.cumsum(free, dim=-1) - 1.0
    rank = torch.where(free > 0, rank, torch.full_like(rank, 1e9))
    # k-th kept new point goes to the free place with rank == its order among kept points
    order = torch.cumsum(keep.float(), dim=-1) - 1.0  # [B, T, K]
    for j in range(k):
        target = (rank == order[..., j : j + 1]) & keep[..., j : j + 1]  # [B, T, P]
        sel = target.unsqueeze(-1)
        points.copy_(torch.where(sel, new[:, :, j : j + 1, :].expand(b, t, p, 5), points))
        mask.copy_(torch.where(target, torch.ones_like(mask), mask))


def augment(
    points: torch.Tensor,
    mask: torch.Tensor,
    gen: torch.Generator,
    cfg: AugmentConfig = AugmentConfig(),
) -> tuple[torch.Tensor, torch.Tensor]:
    """Augmented copies of ``points [B, T, P, 5]`` and ``mask [B, T, P]`` (module docstring)."""
    b, t, p, _ = points.shape
    pts = points.clone()
    m = mask.clone()

    def u(*shape: int, lo: float = 0.0, hi: float = 1.0) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(*shape, generator=gen)

    # mounting / placement
    ang = torch.deg2rad(u(b, lo=-cfg.rotate_deg, hi=cfg.rotate_deg)).view(b, 1, 1)
    x, y = pts[..., 0].clone(), pts[..., 1].clone()
    pts[..., 0] = x * torch.cos(ang) - y * torch.sin(ang)
    pts[..., 1] = x * torch.sin(ang) + y * torch.cos(ang)
    if cfg.pitch_deg > 0:
        tilt = torch.deg2rad(u(b, lo=-cfg.pitch_deg, hi=cfg.pitch_deg)).view(b, 1, 1)
        y, z = pts[..., 1].clone(), pts[..., 2].clone()
        pts[..., 1] = y * torch.cos(tilt) - z * torch.sin(tilt)
        pts[..., 2] = y * torch.sin(tilt) + z * torch.cos(tilt)
    pts[..., 1] += u(b, lo=-cfg.shift_y_m, hi=cfg.shift_y_m).view(b, 1, 1)
    pts[..., 2] += u(b, lo=-cfg.shift_z_m, hi=cfg.shift_z_m).view(b, 1, 1)
    # jitter
    sx = u(b, hi=cfg.jitter_xyz_m).view(b, 1, 1, 1)
    pts[..., :3] += sx * torch.randn(b, t, p, 3, generator=gen)
    sv = u(b, hi=cfg.jitter_v_mps).view(b, 1, 1)
    pts[..., 3] += sv * torch.randn(b, t, p, generator=gen)
    # snr
    pts[..., 4] = pts[..., 4] * u(b, lo=1 - cfg.snr_scale, hi=1 + cfg.snr_scale).view(b, 1, 1)
    pts[..., 4] += u(b, lo=-cfg.snr_offset_db, hi=cfg.snr_offset_db).view(b, 1, 1)
    # TI demo without clutter removal: elevation noise, coarse Doppler bins, zero-Doppler wins
    if cfg.elev_noise_rad > 0:
        r = pts[..., :3].norm(dim=-1)  # [B, T, P]
        se = u(b, hi=cfg.elev_noise_rad).view(b, 1, 1)
        pts[..., 2] += r * se * torch.randn(b, t, p, generator=gen)
    if cfg.elev_garble_max > 0:
        r = pts[..., :3].norm(dim=-1)  # [B, T, P]
        horiz = pts[..., :2].norm(dim=-1).clamp(min=1e-6)
        el = torch.deg2rad(u(b, t, p, lo=-cfg.elev_garble_deg, hi=cfg.elev_garble_deg))
        lost = torch.rand(b, t, p, generator=gen) < u(b, hi=cfg.elev_garble_max).view(b, 1, 1)
        scale = torch.where(lost, r * torch.cos(el) / horiz, torch.ones_like(r))
        pts[..., 0] = pts[..., 0] * scale
        pts[..., 1] = pts[..., 1] * scale
        pts[..., 2] = torch.where(lost, r * torch.sin(el), pts[..., 2])
    if cfg.v_quant_max_mps > 0:
        q = u(b, lo=0.02, hi=cfg.v_quant_max_mps).view(b, 1, 1)
        pts[..., 3] = torch.round(pts[..., 3] / q) * q
    if cfg.v_zero_max > 0:
        frac = u(b, hi=cfg.v_zero_max).view(b, 1, 1) * (u(b) < cfg.v_zero_prob).view(b, 1, 1)
        zero = torch.rand(b, t, p, generator=gen) < frac
        pts[..., 3] = torch.where(zero, torch.zeros_like(pts[..., 3]), pts[..., 3])
    # dropout
    drop = u(b, hi=cfg.point_drop).view(b, 1, 1)
    m = m * (torch.rand(b, t, p, generator=gen) >= drop).float()
    sdrop = u(b, hi=cfg.slot_drop).view(b, 1)
    m = m * (torch.rand(b, t, generator=gen) >= sdrop).float().unsqueeze(-1)

    # static clutter: fixed reflectors per window, seen in a fraction of the slots
    kc = cfg.clutter_max
    if kc > 0:
        rng_m = u(b, kc, lo=0.5, hi=6.0)
        az = torch.deg2rad(u(b, kc, lo=-50.0, hi=50.0))
        cl = torch.zeros(b, t, kc, 5)
        cl[..., 0] = (rng_m * torch.sin(az)).unsqueeze(1)
        cl[..., 1] = (rng_m * torch.cos(az)).unsqueeze(1)
        cl[..., 2] = u(b, kc, lo=-1.0, hi=1.5).unsqueeze(1)
        cl[..., 4] = u(b, kc, lo=8.0, hi=35.0).unsqueeze(1)
        cl[..., :3] += 0.02 * torch.randn(b, t, kc, 3, generator=gen)
        n_on = (u(b) * (kc + 1)).floor().view(b, 1, 1) * (u(b) < cfg.clutter_prob).view(b, 1, 1)
        present = torch.arange(kc).view(1, 1, kc) < n_on
        seen = torch.rand(b, t, kc, generator=gen) < u(b, lo=0.3, hi=1.0).view(b, 1, 1)
        _insert(pts, m, cl, present & seen)
    # near-radar DC points
    kd = cfg.dc_max
    if kd > 0:
        dc = torch.zeros(b, t, kd, 5)
        dc[..., 0] = u(b, t, kd, lo=-0.15, hi=0.15)
        dc[..., 1] = u(b, t, kd, lo=0.03, hi=0.5)
        dc[..., 2] = u(b, t, kd, lo=-0.1, hi=0.1)
        dc[..., 4] = u(b, t, kd, lo=10.0, hi=35.0)
        n_dc = (u(b) * (kd + 1)).floor().view(b, 1, 1)
        on = (torch.arange(kd).view(1, 1, kd) < n_dc) & (
            torch.rand(b, t, kd, generator=gen) < cfg.dc_presence
        )
        _insert(pts, m, dc, on)
    # ghosts: copies of body points pushed to longer range (multipath), same velocity
    kg = cfg.ghost_max
    if kg > 0:
        src = torch.randint(0, p, (b, t, kg), generator=gen)
        g = torch.gather(pts, 2, src.unsqueeze(-1).expand(b, t, kg, 5)).clone()
        valid = torch.gather(m, 2, src) > 0
        extra = u(b, t, kg, lo=0.3, hi=2.0)
        r = g[..., :3].norm(dim=-1).clamp(min=0.1)
        g[..., :3] *= ((r + extra) / r).unsqueeze(-1)
        g[..., 4] -= u(b, t, kg, lo=3.0, hi=12.0)
        n_g = (u(b) * (kg + 1)).floor().view(b, 1, 1)
        on = valid & (torch.arange(kg).view(1, 1, kg) < n_g) & (u(b, t, kg) < 0.5)
        _insert(pts, m, g, on)
    pts = pts * m.unsqueeze(-1)
    return pts, m


def augment_mixture(
    points: torch.Tensor,
    mask: torch.Tensor,
    gen: torch.Generator,
    configs: tuple[AugmentConfig, AugmentConfig],
    prob_second: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each window augmented by ``configs[1]`` with probability ``prob_second``, else ``configs[0]``
    (two kinds of radar front end in one batch: clutter removal on, and a raw TI demo)."""
    p0, m0 = augment(points, mask, gen, configs[0])
    p1, m1 = augment(points, mask, gen, configs[1])
    pick = torch.rand(points.shape[0], generator=gen) < prob_second  # [B]
    return (
        torch.where(pick.view(-1, 1, 1, 1), p1, p0),
        torch.where(pick.view(-1, 1, 1), m1, m0),
    )


#: Named augmentation strengths (``TrainSettings.augment_preset``).
AUGMENT_PRESETS: dict[str, AugmentConfig] = {
    "default": AugmentConfig(),
    "ti_static": AugmentConfig(
        pitch_deg=10.0,
        shift_z_m=1.0,
        point_drop=0.5,
        clutter_max=32,
        dc_max=24,
        dc_presence=0.8,
        v_zero_max=1.0,
        v_zero_prob=0.8,
        v_quant_max_mps=0.7,
        elev_noise_rad=0.3,
        elev_garble_max=0.6,
    ),
    # windows whose detector already models the demo in a room (kinematic detector "ti_room":
    # static clutter, leakage, zero-Doppler wins and the demo's elevation come from the model):
    # mounting, dropout and SNR only; no velocity jitter (Doppler stays in bins, v = 0 stays 0)
    # and no synthetic clutter, DC or ghost points
    "room": AugmentConfig(
        pitch_deg=5.0,
        shift_z_m=0.25,
        jitter_xyz_m=0.02,
        jitter_v_mps=0.0,
        snr_offset_db=6.0,
        snr_scale=0.2,
        clutter_max=0,
        dc_max=0,
        ghost_max=0,
    ),
}


def augment_preset(
    points: torch.Tensor, mask: torch.Tensor, gen: torch.Generator, name: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Augment with a named preset: one of :data:`AUGMENT_PRESETS`, or ``"mixed"`` (half the windows
    ``default``, half ``ti_static``: :func:`augment_mixture`)."""
    if name == "mixed":
        cfgs = (AUGMENT_PRESETS["default"], AUGMENT_PRESETS["ti_static"])
        return augment_mixture(points, mask, gen, cfgs, 0.5)
    return augment(points, mask, gen, AUGMENT_PRESETS[name])
