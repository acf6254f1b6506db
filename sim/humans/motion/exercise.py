"""Exercise family: boxing, jumping jacks, jumps and squats, in place.

Params: boxing: ``rate_hz``, ``amplitude``; jumping_jacks: ``rate_hz``, ``amplitude``, ``hop_m``;
jump (in place): ``rate_hz``, ``duty``, ``arm_swing_deg``; squats: ``period_s``, ``depth``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.humans.motion.activity import ActivitySpec, Context, FrameFn
from sim.humans.motion.dofs import DEG, STANDING, D, both, dofs, legs
from sim.humans.motion.poses import Frame, State
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


#: Gravity [m/s^2].
G = 9.81
#: Crouch of the jump at touch-down and take-off (knees bent about 20 deg).
C_TOUCH = 0.2


def _jump(ctx: Context) -> tuple[FrameFn, State]:
    """Jumping in place: repeated two-legged vertical jumps on the spot (rebound hopping).

    A spring-mass cycle (Blickhan 1989, J. Biomech. 22:1217; Farley et al. 1991, J. Appl. Physiol.
    71:2127, who found a preferred two-legged hopping frequency of about 2.2 Hz, ground contact about
    half the cycle): each period ``1 / rate_hz`` has a ground contact of ``duty / rate_hz`` and a
    ballistic flight of the rest, so the jump height is ``g * t_flight^2 / 8``. During contact the
    legs flex along ``sin(pi * tau / t_contact)``, deep enough for the pelvis to drop
    ``g * t_flight * t_contact / (2 pi)``: the drop of a sinusoidal centre-of-mass path whose speed at
    touch-down and take-off equals the flight's ``g * t_flight / 2`` (no jump in vertical velocity).
    The feet stay on one spot (``anchor="feet"``); the trunk leans a little forward in the crouch and
    the arms, bent, swing 5-15 deg with the bounce.
    """
    s = ctx.start
    rate = float(ctx.p.get("rate_hz", 2.0))
    duty = float(ctx.p.get("duty", 0.5))
    swing = float(ctx.p.get("arm_swing_deg", 10.0))
    if not (0.5 <= rate <= 4.0 and 0.2 <= duty <= 0.9):
        raise ValueError(f"jump: rate_hz {rate} (0.5-4) or duty {duty} (0.2-0.9) out of range")
    period = 1.0 / rate
    t_contact, t_flight = duty * period, (1.0 - duty) * period
    drop = G * t_flight * t_contact / (2 * np.pi)  # pelvis drop at mid-contact [m]

    def crouch(c: float) -> np.ndarray:
        return dofs(**legs(thigh=60 * c, shank=-35 * c, pitch=20 * c), **both(sh_abd=10))

    # The grounded pelvis drop of each crouch depth (monotonic, about quadratic near 0): the depth
    # for a wanted drop is read back from it, so the pelvis itself follows the sinusoid.
    # Touch-down and take-off with knees bent about 20 deg (straight legs would need infinite joint
    # speeds to give the pelvis a vertical speed); the crouch deepens from there.
    cs = np.linspace(C_TOUCH, 1.0, 41)
    zs = np.array(
        [
            ctx.grounder.pose(Frame(crouch(c), rot_x(10 * c * DEG), 0.0, np.zeros(2))).position[2]
            for c in cs
        ]
    )
    drops = np.maximum.accumulate(zs[0] - zs)
    if drops[-1] < drop:
        raise ValueError(f"jump: a {drop:.2f} m crouch is deeper than the legs allow")

    def frame(t: float) -> Frame:
        tau = t % period
        if tau < t_contact:
            want = drop * float(np.sin(np.pi * tau / t_contact))
            c, lift = float(np.interp(want, drops, cs)), 0.0
        else:
            air = tau - t_contact
            c, lift = C_TOUCH, 0.5 * G * air * (t_flight - air)
        arm = swing * float(np.sin(2 * np.pi * tau / period))
        d = crouch(c)
        d += dofs(**both(sh_flex=10 + arm, elbow=70, fingers=40))
        return Frame(d, rot_x(10 * c * DEG), s.heading, s.xy.copy(), anchor="feet", lift=lift)

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
    # Two-legged hopping on the spot: about 1.6-2.8 Hz around the preferred 2.2 Hz, contact about
    # half the cycle (Farley et al. 1991): flights of 0.15-0.34 s, jumps 3-14 cm high.
    return {
        "rate_hz": rng.uniform(1.6, 2.8),
        "duty": rng.uniform(0.45, 0.6),
        "arm_swing_deg": rng.uniform(5.0, 15.0),
    }


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
