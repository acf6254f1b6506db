"""Hand and arm family: waving, typing, and hand gestures (swipes left/right/up/down, push, pull, a
circle, clockwise and counter-clockwise circles) by a standing or seated person; the lower body keeps
its posture. Directions are the person's own: "swipe left" moves the hand to the person's left, and a
clockwise circle is clockwise as the person sees their hand (a radar facing them sees it
counter-clockwise).

Params: wave: ``rate_hz``, ``amplitude``, ``hand`` (left/right); typing: ``rate_hz``, ``amplitude``;
gestures: ``hand``, ``gesture_s``, ``pause_s``, ``amplitude``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.humans.motion.activity import ActivitySpec, Context, FrameFn, arm_activity, hand_side
from sim.humans.motion.dofs import DEG, D
from sim.humans.motion.poses import State, window

#: Hand gestures (done standing or sitting).
GESTURES = (
    "wave",
    "swipe_left",
    "swipe_right",
    "swipe_up",
    "swipe_down",
    "push",
    "pull",
    "circle",
    "circle_clockwise",
    "circle_counterclockwise",
)


def _wave(ctx: Context) -> tuple[FrameFn, State]:
    f, amp, sd = (
        float(ctx.p.get("rate_hz", 2.0)),
        float(ctx.p.get("amplitude", 1.0)),
        hand_side(ctx),
    )

    def arms(t: float, d: np.ndarray) -> np.ndarray:
        osc = np.sin(2 * np.pi * f * t)
        d[D[f"sh_abd_{sd}"]] = (135 + 8 * amp * osc) * DEG
        d[D[f"sh_yaw_{sd}"]] = 35 * DEG
        d[D[f"elbow_{sd}"]] = (45 + 25 * amp * osc) * DEG
        d[D[f"wrist_{sd}"]] = 10 * amp * osc * DEG
        return d

    return arm_activity(ctx, arms)


def _gesture(ctx: Context, kind: str) -> tuple[FrameFn, State]:
    g_s, pause = float(ctx.p.get("gesture_s", 1.0)), float(ctx.p.get("pause_s", 0.6))
    amp, sd = float(ctx.p.get("amplitude", 1.0)), hand_side(ctx)
    period = g_s + pause

    def arms(t: float, d: np.ndarray) -> np.ndarray:
        tau = (t % period) / g_s
        if tau >= 1.0:
            return d
        up = window(tau, 0.0, 0.25) * (1 - window(tau, 0.8, 1.0))
        q = window(tau, 0.25, 0.75)
        abd, yaw, flex, elbow = (
            d[D[f"sh_abd_{sd}"]],
            d[D[f"sh_yaw_{sd}"]],
            d[D[f"sh_flex_{sd}"]],
            d[D[f"elbow_{sd}"]],
        )
        across = 1.0 if sd == "r" else -1.0  # swipe_left with the right hand sweeps across the body
        if kind in ("swipe_left", "swipe_right"):
            sweep = 40 * amp * (2 * q - 1) * (1 if kind == "swipe_left" else -1) * across
            target = (95.0, 90.0 + sweep, 0.0, 15.0)
        elif kind == "circle":
            ang = 2 * np.pi * q
            r = 18 * amp
            target = (95 + r * np.cos(ang), 90 + r * np.sin(ang), 0.0, 15.0)
        elif kind in ("swipe_up", "swipe_down"):  # arm forward; abduction raises/lowers the hand
            rise = 30 * amp * (2 * q - 1) * (1 if kind == "swipe_up" else -1)
            target = (95.0 + rise, 90.0, 0.0, 15.0)
        elif kind in ("circle_clockwise", "circle_counterclockwise"):
            # The hand at angle phi in the person's view (right, up): up = abduction, the person's
            # right = less yaw for the right hand (more for the left); phi falls when clockwise.
            phi = 2 * np.pi * q * (-1 if kind == "circle_clockwise" else 1)
            r = 20 * amp
            target = (95 + r * np.sin(phi), 90 - across * r * np.cos(phi), 0.0, 15.0)
        else:  # push / pull: hands near the chest <-> arms extended forward
            ext = q if kind == "push" else 1 - q
            target = (20 - 10 * ext, 0.0, 20 + 65 * ext * amp, 125 - 115 * ext)
            for other in ("l", "r"):  # both hands
                d[D[f"sh_abd_{other}"]] += up * (target[0] * DEG - d[D[f"sh_abd_{other}"]])
                d[D[f"sh_flex_{other}"]] += up * (target[2] * DEG - d[D[f"sh_flex_{other}"]])
                d[D[f"elbow_{other}"]] += up * (target[3] * DEG - d[D[f"elbow_{other}"]])
                d[D[f"sh_yaw_{other}"]] *= 1 - up
            return d
        d[D[f"sh_abd_{sd}"]] = abd + up * (target[0] * DEG - abd)
        d[D[f"sh_yaw_{sd}"]] = yaw + up * (target[1] * DEG - yaw)
        d[D[f"sh_flex_{sd}"]] = flex + up * (target[2] * DEG - flex)
        d[D[f"elbow_{sd}"]] = elbow + up * (target[3] * DEG - elbow)
        return d

    return arm_activity(ctx, arms)


def _typing(ctx: Context) -> tuple[FrameFn, State]:
    f, amp = float(ctx.p.get("rate_hz", 5.0)), float(ctx.p.get("amplitude", 1.0))
    ph = ctx.rng.uniform(0, 2 * np.pi, 4)

    def arms(t: float, d: np.ndarray) -> np.ndarray:
        for k, sd in enumerate(("l", "r")):
            d[D[f"sh_flex_{sd}"]] = 28 * DEG
            d[D[f"sh_abd_{sd}"]] = 12 * DEG
            d[D[f"elbow_{sd}"]] = 95 * DEG
            tap = np.sin(2 * np.pi * f * t + ph[k]) * np.sin(2 * np.pi * 0.37 * f * t + ph[k + 2])
            d[D[f"wrist_{sd}"]] = (8 + 4 * amp * tap) * DEG
            d[D[f"fingers_{sd}"]] = (25 + 12 * amp * tap) * DEG
        d[D["head_flex"]] = 12 * DEG
        return d

    return arm_activity(ctx, arms)


def _wave_params(rng: np.random.Generator) -> dict[str, Any]:
    return {
        "rate_hz": rng.uniform(1.5, 3.0),
        "amplitude": rng.uniform(0.7, 1.3),
        "hand": str(rng.choice(["right", "right", "left"])),
    }


def _typing_params(rng: np.random.Generator) -> dict[str, Any]:
    return {"rate_hz": rng.uniform(3.0, 7.0), "amplitude": rng.uniform(0.6, 1.4)}


def _gesture_params(rng: np.random.Generator) -> dict[str, Any]:
    return {
        "hand": str(rng.choice(["right", "right", "left"])),
        "gesture_s": rng.uniform(0.7, 1.3),
        "pause_s": rng.uniform(0.3, 1.0),
        "amplitude": rng.uniform(0.7, 1.3),
    }


def _gesture_spec(kind: str, phrase: str, rank: int) -> ActivitySpec:
    def build(ctx: Context) -> tuple[FrameFn, State]:
        return _gesture(ctx, kind)

    return ActivitySpec(
        kind,
        build,
        "any",
        phrase=phrase,
        phrase_rank=rank,
        params=_gesture_params,
        place="near_radar",
    )


SPECS: tuple[ActivitySpec, ...] = (
    ActivitySpec("wave", _wave, "any", phrase=r"\bwav\w*", phrase_rank=90, params=_wave_params),
    ActivitySpec(
        "typing",
        _typing,
        "sitting",
        phrase=r"\btyp\w*|keyboard",
        phrase_rank=80,
        params=_typing_params,
        duration_s=(5.0, 10.0),
    ),
    _gesture_spec("swipe_left", r"swip\w*\s+(to\s+the\s+)?left|swipe_left", 190),
    _gesture_spec("swipe_right", r"swip\w*\s+(to\s+the\s+)?right|swipe_right", 190),
    _gesture_spec("push", r"\bpush\w*", 70),
    _gesture_spec("pull", r"\bpull\w*", 70),
    _gesture_spec("circle", r"\bcircl\w*", 70),
    _gesture_spec("swipe_up", r"swip\w*\s+(\w+\s+)?up(wards?)?\b|swipe_up", 190),
    _gesture_spec("swipe_down", r"swip\w*\s+(\w+\s+)?down(wards?)?\b|swipe_down", 190),
    _gesture_spec(
        "circle_counterclockwise",
        r"(counter|anti)[ _-]?clockwise|circle_counterclockwise",
        196,
    ),
    _gesture_spec("circle_clockwise", r"\bclockwise|circle_clockwise", 195),
)
