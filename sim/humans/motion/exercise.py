"""Exercise family: boxing, jumping jacks, jumps and squats, in place.

Params: boxing: ``rate_hz``, ``amplitude``; jumping_jacks: ``rate_hz``, ``amplitude``, ``hop_m``;
jump: ``height_m``, ``period_s``; squats: ``period_s``, ``depth``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.humans.motion.activity import ActivitySpec, Context, FrameFn
from sim.humans.motion.dofs import DEG, STANDING, D, both, dofs, legs
from sim.humans.motion.poses import Frame, State, window
from sim.humans.rotations import rot_x


def _boxing(ctx: Context) -> tuple[FrameFn, State]:
    s = ctx.start
    rate, amp = float(ctx.p.get("rate_hz", 1.8)), float(ctx.p.get("amplitude", 1.0))
    punch = min(0.45, 0.85 / rate)
    stance = dofs(
        **legs(thigh=15, shank=-12, pitch=8), **both(sh_flex=40, sh_abd=25, elbow=120, fingers=60)
    )

    def frame(t: float) -> Frame:
        d = stance.copy()
        k = int(t * rate)
        tau = (t - k / rate) / punch
        if tau < 1.0:
            p = float(
                np.sin(np.pi * min(1.0, tau / 0.4) / 2)
                if tau < 0.4
                else 0.5 * (1 + np.cos(np.pi * (tau - 0.4) / 0.6))
            )
            sd, sgn = ("r", 1.0) if k % 2 == 0 else ("l", -1.0)
            d[D[f"sh_flex_{sd}"]] += 45 * amp * p * DEG
            d[D[f"sh_abd_{sd}"]] -= 15 * p * DEG
            d[D[f"elbow_{sd}"]] -= 110 * amp * p * DEG
            d[D["spine_twist"]] += sgn * 20 * p * DEG
        return Frame(d, rot_x(8 * DEG), s.heading, s.xy.copy(), anchor="feet")

    return frame, State(s.xy, s.heading, "standing", 0.0, stance)


def _jumping_jacks(ctx: Context) -> tuple[FrameFn, State]:
    s = ctx.start
    f, amp, hop = (
        float(ctx.p.get("rate_hz", 1.0)),
        float(ctx.p.get("amplitude", 1.0)),
        float(ctx.p.get("hop_m", 0.05)),
    )

    def frame(t: float) -> Frame:
        phi = f * t
        o = 0.5 * (1 - np.cos(2 * np.pi * phi))
        land = np.cos(2 * np.pi * phi) ** 2
        d = dofs(
            **both(
                sh_abd=10 + 160 * amp * o,
                elbow=10,
                hip_abd=16 * o,
                knee=5 + 15 * land,
                hip_flex=3 + 6 * land,
                ankle=8 * land,
            )
        )
        return Frame(
            d, np.eye(3), s.heading, s.xy.copy(), lift=hop * float(np.sin(2 * np.pi * phi) ** 2)
        )

    return frame, State(s.xy, s.heading, "standing", 0.0, STANDING.copy())


def _jump(ctx: Context) -> tuple[FrameFn, State]:
    s = ctx.start
    h, period = float(ctx.p.get("height_m", 0.25)), float(ctx.p.get("period_s", 1.8))
    flight = 2 * np.sqrt(2 * h / 9.81)
    t_crouch, t_push = 0.35, 0.15
    t_off = t_crouch + t_push

    def frame(t: float) -> Frame:
        tau = t % period
        if tau < t_crouch:
            c = window(tau, 0.0, t_crouch)
        elif tau < t_off:
            c = 1 - window(tau, t_crouch, t_off)
        elif tau < t_off + flight:
            c = 0.0
        else:
            c = 0.6 * float(np.sin(np.pi * min(1.0, (tau - t_off - flight) / 0.4)))
        air = tau - t_off
        lift = max(0.0, 0.5 * 9.81 * air * (flight - air)) if 0 < air < flight else 0.0
        arm = -40 * c + (130 * float(np.sin(np.pi * air / flight)) if 0 < air < flight else 0.0)
        d = dofs(
            **legs(thigh=60 * c, shank=-35 * c, pitch=25 * c),
            **both(sh_flex=arm, sh_abd=10, elbow=15),
        )
        return Frame(d, rot_x(25 * c * DEG), s.heading, s.xy.copy(), anchor="feet", lift=lift)

    return frame, State(s.xy, s.heading, "standing", 0.0, STANDING.copy())


def _squats(ctx: Context) -> tuple[FrameFn, State]:
    s = ctx.start
    period, depth = float(ctx.p.get("period_s", 3.0)), float(ctx.p.get("depth", 0.9))

    def frame(t: float) -> Frame:
        c = depth * 0.5 * (1 - np.cos(2 * np.pi * t / period))
        d = dofs(
            **legs(thigh=95 * c, shank=-38 * c, pitch=35 * c),
            **both(sh_flex=85 * c, sh_abd=8, elbow=10),
        )
        return Frame(d, rot_x(35 * c * DEG), s.heading, s.xy.copy(), anchor="feet")

    return frame, State(s.xy, s.heading, "standing", 0.0, STANDING.copy())


def _boxing_params(rng: np.random.Generator) -> dict[str, Any]:
    return {"rate_hz": rng.uniform(1.2, 2.5), "amplitude": rng.uniform(0.8, 1.2)}


def _jumping_jacks_params(rng: np.random.Generator) -> dict[str, Any]:
    return {
        "rate_hz": rng.uniform(0.8, 1.3),
        "amplitude": rng.uniform(0.8, 1.1),
        "hop_m": rng.uniform(0.03, 0.08),
    }


def _jump_params(rng: np.random.Generator) -> dict[str, Any]:
    return {"height_m": rng.uniform(0.12, 0.35), "period_s": rng.uniform(1.5, 2.2)}


def _squats_params(rng: np.random.Generator) -> dict[str, Any]:
    return {"period_s": rng.uniform(2.5, 4.0), "depth": rng.uniform(0.7, 1.0)}


SPECS: tuple[ActivitySpec, ...] = (
    ActivitySpec(
        "boxing",
        _boxing,
        "standing",
        phrase=r"\bbox\w*|punch\w*|shadow[ -]?box\w*",
        phrase_rank=110,
        params=_boxing_params,
    ),
    ActivitySpec(
        "jumping_jacks",
        _jumping_jacks,
        "standing",
        phrase=r"jumping[ _-]?jacks?|star[ _-]?jumps?",
        phrase_rank=200,
        params=_jumping_jacks_params,
    ),
    ActivitySpec(
        "jump",
        _jump,
        "standing",
        phrase=r"\bjump\w*|\bhop\w*",
        phrase_rank=100,
        params=_jump_params,
    ),
    ActivitySpec(
        "squats", _squats, "standing", phrase=r"\bsquat\w*", phrase_rank=120, params=_squats_params
    ),
)
