"""Limb exercise family: exercises named by body part and side, as public radar datasets label them
(MM-Fi's "left upper limb extension", "lunge toward left side"...).

Arm raises (forward flexion overhead) and arm extensions (elbow straightened out to the side) with the
left, right or both arms, standing or seated; leg extensions (left, right: a straight-leg raise
standing, a knee extension seated); front and side lunges (left, right); repeated sit-to-stand from a
seat; a stretching routine (reach up, side bends, forward fold).

Params: arm raises / extensions and leg extensions: ``period_s`` (one repetition [s]), ``amplitude``
(0.7-1.1 of the full range); lunges: ``period_s``, ``depth`` (0.6-1.0); sit_to_stand: ``period_s``;
stretching: ``period_s`` (the whole routine [s]).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.humans.motion.activity import (
    ActivitySpec,
    Context,
    FrameFn,
    arm_activity,
    base_frame,
    keyframes,
)
from sim.humans.motion.dofs import DEG, STANDING, D, both, dofs, dofs_to_rotmats, legs
from sim.humans.motion.poses import Frame, State, heading_rot, window
from sim.humans.rotations import rot_x

_SIDES = {"left": ("l",), "right": ("r",), "both": ("l", "r")}


def rep(t: float, period: float, rise: float = 0.35, hold: float = 0.25) -> float:
    """One repetition per ``period`` [s]: 0 -> 1 over ``rise`` of it, held for ``hold``, back to 0."""
    u = (t % period) / period
    return window(u, 0.0, rise) * (1.0 - window(u, rise + hold, min(1.0, 2 * rise + hold)))


def _arm_raise(ctx: Context, side: str) -> tuple[FrameFn, State]:
    period, amp = float(ctx.p.get("period_s", 3.0)), float(ctx.p.get("amplitude", 1.0))

    def arms(t: float, d: np.ndarray) -> np.ndarray:
        c = rep(t, period)
        for sd in _SIDES[side]:
            for name, target in (("sh_flex", 175 * amp), ("sh_abd", 5), ("elbow", 5)):
                k = D[f"{name}_{sd}"]
                d[k] += c * (target * DEG - d[k])
        return d

    return arm_activity(ctx, arms)


def _arm_extension(ctx: Context, side: str) -> tuple[FrameFn, State]:
    period, amp = float(ctx.p.get("period_s", 3.0)), float(ctx.p.get("amplitude", 1.0))
    bent = {"sh_abd": 80.0, "sh_flex": 10.0, "elbow": 135.0, "sh_yaw": 20.0}
    out = {"sh_abd": 90.0, "sh_flex": 0.0, "elbow": 135.0 - 130.0 * amp, "sh_yaw": 0.0}

    def arms(t: float, d: np.ndarray) -> np.ndarray:
        prep = window(t, 0.0, 0.6)  # hand to the shoulder first
        c = rep(t, period)
        for sd in _SIDES[side]:
            for name in bent:
                k = D[f"{name}_{sd}"]
                target = bent[name] + c * (out[name] - bent[name])
                d[k] += prep * (target * DEG - d[k])
        return d

    return arm_activity(ctx, arms)


def _leg_extension(ctx: Context, side: str) -> tuple[FrameFn, State]:
    s = ctx.start
    period, amp = float(ctx.p.get("period_s", 3.0)), float(ctx.p.get("amplitude", 1.0))
    sd = side[0]
    seated = s.posture == "sitting"
    base = s.dofs.copy() if seated else STANDING.copy()
    # Seated: knee extension (the shank rises to horizontal); standing: straight-leg raise forward.
    target = (
        {"knee": 5.0, "ankle": 0.0}
        if seated
        else {"hip_flex": 50.0 * amp, "knee": 3.0, "ankle": -10.0}
    )

    def frame(t: float) -> Frame:
        c = rep(t, period)
        f = base_frame(s)
        d = base.copy()
        for name, value in target.items():
            k = D[f"{name}_{sd}"]
            d[k] += c * (value * DEG - d[k])
        if not seated:
            d[D[f"sh_abd_{'r' if sd == 'l' else 'l'}"]] += 15 * c * DEG  # balance arm
        f.dofs = d
        return f

    return frame, State(s.xy, s.heading, s.posture, s.support, base, s.body_rot)


def _front_lunge(ctx: Context, side: str) -> tuple[FrameFn, State]:
    s = ctx.start
    period, depth = float(ctx.p.get("period_s", 3.5)), float(ctx.p.get("depth", 0.8))
    sd, od = ("l", "r") if side == "left" else ("r", "l")
    thigh_len, shank_len = ctx.body.bone_length(4), ctx.body.bone_length(7)
    ball = ctx.body.bone_length(10)  # ankle -> ball of the foot [m]
    fwd = np.array([np.cos(s.heading), np.sin(s.heading)])

    def frame(t: float) -> Frame:
        c = depth * rep(t, period, rise=0.3, hold=0.2)
        th_f, sh_f = 80.0 * c, -8.0 * c  # front thigh / shank angles, forward from vertical [deg]
        drop = thigh_len * np.cos(th_f * DEG) + shank_len * np.cos(sh_f * DEG)
        th_r, pitch = 20.0 * c, 50.0 * c  # rear thigh back; rear foot on its toes
        lift = ball * np.sin(pitch * DEG)  # the rear ankle stands this much higher [m]
        cos_r = (drop - lift - thigh_len * np.cos(th_r * DEG)) / shank_len
        ph_r = float(np.degrees(np.arccos(np.clip(cos_r, -1.0, 1.0))))  # rear shank, back [deg]
        swing = float(np.sin(np.pi * min(1.0, c / max(depth, 1e-6) / 0.5)))  # front foot clears
        d = STANDING.copy()
        for name, value in (
            (f"hip_flex_{sd}", th_f + 15 * swing * (1 - c)),
            (f"knee_{sd}", th_f - sh_f + 30 * swing * (1 - c)),
            (f"ankle_{sd}", -sh_f),
            (f"hip_flex_{od}", -th_r),
            (f"knee_{od}", max(ph_r - th_r, 3.0)),
            (f"ankle_{od}", ph_r - pitch),
        ):
            d[D[name]] = value * DEG
        d[D["sh_abd_l"]] = d[D["sh_abd_r"]] = 15 * DEG
        back = thigh_len * np.sin(th_r * DEG) + shank_len * np.sin(ph_r * DEG)
        return Frame(d, np.eye(3), s.heading, s.xy + back * fwd)  # the rear foot stays put

    return frame, State(s.xy, s.heading, "standing", 0.0, STANDING.copy())


def _side_lunge(ctx: Context, side: str) -> tuple[FrameFn, State]:
    s = ctx.start
    period, depth = float(ctx.p.get("period_s", 3.5)), float(ctx.p.get("depth", 0.8))
    sd, od = ("l", "r") if side == "left" else ("r", "l")
    sgn = 1.0 if side == "left" else -1.0
    lateral = sgn * np.array([-np.sin(s.heading), np.cos(s.heading)])  # towards the lunge side
    straight = ctx.body.bone_length(4) + ctx.body.bone_length(7)
    rot0 = heading_rot(0.0)

    def bent_dofs(c: float) -> tuple[np.ndarray, float]:
        pitch = 25.0 * c
        d = STANDING.copy()
        for name, value in (
            (f"hip_flex_{sd}", 55.0 * c + pitch),
            (f"hip_abd_{sd}", 30.0 * c),
            (f"knee_{sd}", 95.0 * c),
            (f"ankle_{sd}", 25.0 * c),
            (f"hip_flex_{od}", pitch),
        ):
            d[D[name]] = value * DEG
        d[D["sh_flex_l"]] = d[D["sh_flex_r"]] = 50 * c * DEG
        return d, pitch

    # The straight leg's abduction that puts both feet on the floor, tabulated over the depth.
    grid = np.linspace(0.0, 1.0, 11)
    alphas = []
    for c in grid:
        d, pitch = bent_dofs(float(c))
        rot = dofs_to_rotmats(d)
        rot[0] = rot0 @ rot_x(pitch * DEG)
        j, _ = ctx.body.transforms(rot, np.zeros(3))
        hip, ankle = (1, 7) if sd == "l" else (2, 8)
        reach = j[hip, 2] - j[ankle, 2]  # the bent leg's ankle below the (level) hips [m]
        alphas.append(float(np.degrees(np.arccos(np.clip(reach / straight, -1.0, 1.0)))))
    alphas_arr = np.asarray(alphas)

    def frame(t: float) -> Frame:
        c = depth * rep(t, period, rise=0.3, hold=0.2)
        d, pitch = bent_dofs(c)
        alpha = float(np.interp(c, grid, alphas_arr))
        d[D[f"hip_abd_{od}"]] = alpha * DEG
        shift = straight * np.sin(alpha * DEG)  # the straight leg's foot stays put
        return Frame(d, rot_x(pitch * DEG), s.heading, s.xy + shift * lateral)

    return frame, State(s.xy, s.heading, "standing", 0.0, STANDING.copy())


def _sit_to_stand(ctx: Context) -> tuple[FrameFn, State]:
    s = ctx.start
    period = float(ctx.p.get("period_s", 3.0))
    fwd = np.array([np.cos(s.heading), np.sin(s.heading)])
    lean = dofs(**legs(thigh=60, shank=-20, pitch=35), **both(sh_abd=15, sh_flex=40, elbow=30))
    arms = dofs(**both(sh_abd=15, sh_flex=40, elbow=30))
    seated = base_frame(s)
    keys = [
        (0.0, seated),
        (
            0.25 * period,
            Frame(
                lean, rot_x(35 * DEG), s.heading, s.xy + 0.12 * fwd, support=s.support, seat_w=0.6
            ),
        ),
        (0.5 * period, Frame(STANDING + arms * 0.5, np.eye(3), s.heading, s.xy + 0.3 * fwd)),
        (
            0.75 * period,
            Frame(
                lean, rot_x(35 * DEG), s.heading, s.xy + 0.12 * fwd, support=s.support, seat_w=0.6
            ),
        ),
        (period, seated),
    ]
    cycle = keyframes(keys)

    def frame(t: float) -> Frame:
        return cycle(t % period)

    return frame, s


def _stretching(ctx: Context) -> tuple[FrameFn, State]:
    s = ctx.start
    period = float(ctx.p.get("period_s", 10.0))
    overhead = both(sh_flex=170, sh_abd=10, elbow=8, fingers=20)

    def key(spine_lat: float = 0.0, fold: float = 0.0, up: bool = True) -> Frame:
        arms = overhead if up else both(sh_flex=70, sh_abd=5, elbow=5)
        d = dofs(
            **legs(thigh=0.0, shank=0.0, pitch=fold),
            **arms,
            spine_lat=spine_lat,
            spine_flex=0.6 * fold,
        )
        return Frame(d, rot_x(fold * DEG), s.heading, s.xy.copy(), anchor="feet")

    rest = Frame(STANDING.copy(), np.eye(3), s.heading, s.xy.copy(), anchor="feet")
    keys = [
        (0.0, rest),
        (0.12 * period, key()),
        (0.22 * period, key()),
        (0.34 * period, key(spine_lat=25.0)),
        (0.44 * period, key()),
        (0.56 * period, key(spine_lat=-25.0)),
        (0.66 * period, key()),
        (0.8 * period, key(fold=55.0, up=False)),
        (0.9 * period, rest),
        (period, rest),
    ]
    cycle = keyframes(keys)

    def frame(t: float) -> Frame:
        return cycle(t % period)

    return frame, State(s.xy, s.heading, "standing", 0.0, STANDING.copy())


def _rep_params(rng: np.random.Generator) -> dict[str, Any]:
    return {"period_s": rng.uniform(2.2, 4.0), "amplitude": rng.uniform(0.8, 1.0)}


def _lunge_params(rng: np.random.Generator) -> dict[str, Any]:
    return {"period_s": rng.uniform(2.8, 4.5), "depth": rng.uniform(0.6, 1.0)}


def _sit_to_stand_params(rng: np.random.Generator) -> dict[str, Any]:
    return {"period_s": rng.uniform(2.4, 4.0)}


def _stretching_params(rng: np.random.Generator) -> dict[str, Any]:
    return {"period_s": rng.uniform(8.0, 14.0)}


def _limb(word: str, side: str) -> str:
    """A phrase naming ``side``'s ``word`` (arm, leg...): "left arm", "left upper limb"."""
    limb = {"arm": r"(arm|hand|upper\s+limb)s?", "leg": r"(leg|lower\s+limb)s?"}[word]
    return rf"\b{side}\s+{limb}"


def _side_specs(
    kind: str,
    build: Any,
    sides: tuple[str, ...],
    verb: str,
    word: str,
    rank: int,
    requires: str,
) -> list[ActivitySpec]:
    specs = []
    for k, side in enumerate(sides):
        name = f"{side}_{kind}"
        # "raises the left arm", "left arm raise(s)", "left upper limb extension"
        phrase = rf"{verb}\w*\s+(?:\w+\s+){{0,2}}?{_limb(word, side)}|{_limb(word, side)}\s+{verb}\w*|{name}"
        if side == "right":  # no side named: the right one
            limb = {"arm": r"(arm|hand|upper\s+limb)s?", "leg": r"(leg|lower\s+limb)s?"}[word]
            phrase += rf"|{verb}\w*\s+(?:\w+\s+)?{limb}\b|\b{limb}\s+{verb}\w*"
        if side == "both":
            phrase = phrase.replace(r"\bboth\s+", r"\b(both|two)\s+")

        def spec_build(ctx: Context, side: str = side) -> tuple[FrameFn, State]:
            return build(ctx, side)

        specs.append(
            ActivitySpec(
                name, spec_build, requires, phrase=phrase, phrase_rank=rank - k, params=_rep_params
            )
        )
    return specs


def _lunge_specs() -> list[ActivitySpec]:
    specs = []
    for k, (kind, build) in enumerate((("side", _side_lunge), ("front", _front_lunge))):
        for j, side in enumerate(("left", "right")):
            name = f"{kind}_lunge_{side}"
            if kind == "side":
                phrase = (
                    rf"\bside\w*\s+lung\w*.*\b{side}\b|lung\w*.*\b{side}[ -]side|{side}\s+side\s+lung\w*"
                    rf"|lung\w*\s+(to|toward|towards)\s+(the\s+)?{side}\b(?![ -]front)|{name}"
                )
            else:
                phrase = rf"lung\w*.*\b{side}\b|\b{side}\s+(\w+\s+)?lung\w*|{name}"
                if side == "right":
                    phrase += r"|\blung\w*"

            def spec_build(ctx: Context, side: str = side, build: Any = build) -> Any:
                return build(ctx, side)

            specs.append(
                ActivitySpec(
                    name,
                    spec_build,
                    "standing",
                    phrase=phrase,
                    phrase_rank=189 - 2 * k - j,
                    params=_lunge_params,
                )
            )
    return specs


SPECS: tuple[ActivitySpec, ...] = (
    *_side_specs("arm_raise", _arm_raise, ("both", "left", "right"), "rais", "arm", 199, "any"),
    *_side_specs(
        "arm_extension", _arm_extension, ("both", "left", "right"), "exten", "arm", 196, "any"
    ),
    *_side_specs("leg_extension", _leg_extension, ("left", "right"), "exten", "leg", 198, "any"),
    *_lunge_specs(),
    ActivitySpec(
        "sit_to_stand",
        _sit_to_stand,
        "sitting",
        phrase=r"sit[ _-]?to[ _-]?stand|chair[ -]stands?",
        phrase_rank=205,
        params=_sit_to_stand_params,
        duration_s=(6.0, 10.0),
    ),
    ActivitySpec(
        "stretching",
        _stretching,
        "standing",
        phrase=r"\bstretch\w*",
        phrase_rank=60,
        params=_stretching_params,
        duration_s=(8.0, 14.0),
    ),
)
