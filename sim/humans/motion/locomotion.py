"""Locomotion family: walking along waypoints and standing (with a little sway).

Params: walk: ``waypoints`` (required, ``[[x, y], ...]`` [m]), ``speed`` [m/s], ``arm_swing``;
stand: ``sway``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.humans.motion.activity import ActivitySpec, Context, FrameFn, base_frame
from sim.humans.motion.dofs import DEG, STANDING, D, dofs
from sim.humans.motion.poses import Frame, State, lerp_angle, window
from sim.humans.rotations import rot_y

#: Speed-up and slow-down time at a walk's ends [s].
WALK_RAMP_S = 0.6


def _walk(ctx: Context) -> tuple[FrameFn, State]:
    start = ctx.start
    wps = np.asarray(ctx.p["waypoints"], dtype=np.float64).reshape(-1, 2)
    pts = np.vstack([start.xy, wps])
    seg_len = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    keep = np.concatenate([[True], seg_len > 1e-6])
    pts = pts[keep]
    cum = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
    length = float(cum[-1])
    if length < 0.05:
        raise ValueError("walk needs at least one waypoint away from the start position")
    v = float(ctx.p["speed"])
    if not 0.1 <= v <= 3.0:
        raise ValueError(f"walking speed must be within 0.1-3.0 m/s, got {v}")
    ramp = min(WALK_RAMP_S, length / v)
    t_walk = length / v + ramp
    stride = 1.25 * ctx.leg * v**0.6  # [m] per gait cycle (two steps); ~1.3 m at 1.3 m/s
    hip_amp = np.degrees(np.arcsin(min(0.9, stride / (4 * ctx.leg * np.cos(10 * DEG)))))
    swing = float(ctx.p.get("arm_swing", 1.0))
    phase0 = float(ctx.rng.uniform())

    def arclen(t: float) -> tuple[float, float]:
        """Distance along the path [m] and speed factor (0..1) at ``t``."""
        if t <= 0:
            return 0.0, 0.0
        if t < ramp:
            return v * t * t / (2 * ramp), t / ramp
        if t < t_walk - ramp:
            return v * ramp / 2 + v * (t - ramp), 1.0
        if t < t_walk:
            rem = t_walk - t
            return length - v * rem * rem / (2 * ramp), rem / ramp
        return length, 0.0

    def point(s: float) -> np.ndarray:
        s = float(np.clip(s, 0.0, length))
        return np.array([np.interp(s, cum, pts[:, 0]), np.interp(s, cum, pts[:, 1])])

    def heading_at(s: float) -> float:
        d = point(s + 0.3) - point(s - 0.3)
        return float(np.arctan2(d[1], d[0]))

    def bump(phi: float, centre: float, width: float) -> float:
        d = (phi - centre + 0.5) % 1.0 - 0.5
        return float(np.exp(-0.5 * (d / width) ** 2))

    def frame(t: float) -> Frame:
        s, a = arclen(t)
        head = heading_at(s)
        head = lerp_angle(start.heading, head, window(t, 0.0, ramp))
        phi_r = phase0 + s / stride
        values: dict[str, float] = {}
        for side, phi in (("r", phi_r % 1.0), ("l", (phi_r + 0.5) % 1.0)):
            c = np.cos(2 * np.pi * phi)
            values[f"hip_flex_{side}"] = a * (10 + hip_amp * c) + 2
            values[f"knee_{side}"] = 3 + a * (
                15 * bump(phi, 0.12, 0.06) + 58 * bump(phi, 0.72, 0.09)
            )
            values[f"ankle_{side}"] = 1 + a * (
                8 * bump(phi, 0.42, 0.1) - 16 * bump(phi, 0.62, 0.05)
            )
            values[f"sh_flex_{side}"] = -a * swing * 22 * c
            values[f"sh_abd_{side}"] = 8
            values[f"elbow_{side}"] = 14 + a * swing * 10 * (1 - c)
            values[f"fingers_{side}"] = 10
        cr = np.cos(2 * np.pi * phi_r)
        values["spine_twist"] = a * 5 * cr
        values["spine_flex"] = 3 * a
        f = Frame(dofs(**values), rot_y(-a * 4 * cr * DEG), head, point(s))
        sway = 0.015 * a * np.sin(2 * np.pi * phi_r)
        f.xy = f.xy + sway * np.array([-np.sin(head), np.cos(head)])
        return f

    end_t = min(t_walk, ctx.duration)
    s_end, _ = arclen(end_t)
    end_frame = frame(ctx.duration)
    end = State(point(s_end), end_frame.heading, "standing", 0.0, end_frame.dofs, np.eye(3))
    return frame, end


def _stand(ctx: Context) -> tuple[FrameFn, State]:
    start, sway = ctx.start, float(ctx.p.get("sway", 1.0))
    ph = ctx.rng.uniform(0, 2 * np.pi, 3)

    def frame(t: float) -> Frame:
        f = base_frame(start)
        f.dofs = STANDING.copy()
        f.xy = f.xy + 0.008 * sway * np.array([np.sin(0.9 * t + ph[0]), np.sin(1.3 * t + ph[1])])
        f.dofs[D["head_yaw"]] += 8 * DEG * sway * np.sin(0.4 * t + ph[2])
        return f

    return frame, State(start.xy, start.heading, "standing", 0.0, STANDING.copy())


def _walk_params(rng: np.random.Generator) -> dict[str, Any]:
    return {"speed": rng.uniform(0.8, 1.4), "arm_swing": rng.uniform(0.6, 1.2)}


def _stand_params(rng: np.random.Generator) -> dict[str, Any]:
    return {"sway": rng.uniform(0.5, 1.5)}


_WALK_PHRASE = r"\bwalk\w*|\bgo\w*\s+(to|in|into|out|across)|\benter\w*|\bstroll\w*|\bpac(e|es|ing)\b|\bcross\w*"
SPECS: tuple[ActivitySpec, ...] = (
    ActivitySpec(
        "walk", _walk, "standing", phrase=_WALK_PHRASE, phrase_rank=30, params=_walk_params
    ),
    ActivitySpec(
        "stand",
        _stand,
        "standing",
        phrase=r"\bstand\w*|\bstood\b|\bidle\b",
        phrase_rank=10,
        params=_stand_params,
        duration_s=(2.0, 5.0),
    ),
)
