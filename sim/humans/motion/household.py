"""Household family: everyday home activities: cooking at a counter, vacuuming, getting into and out
of bed, reading.

Params: cooking: ``hand`` (the stirring hand), ``stir_hz``, ``reach_every_s`` (a reach to the side
every so often [s]); vacuuming: ``hand``, ``stroke_hz`` (push-pull strokes per second), ``reach_m``
(how far the hand travels, 0.3-0.5 m); get_into_bed: ``position`` ([x, y] pelvis when lying),
``head_direction`` [rad], ``height`` (the mattress top [m], default 0.5), ``side`` (back/left/right);
get_out_of_bed: ``exit`` (``"left"``/``"right"``: the side of the bed, from the lying person);
reading: ``page_every_s`` [s].
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
    hand_side,
    keyframes,
    seated_dofs,
)
from sim.humans.motion.dofs import DEG, LYING, SIDE_LYING, STANDING, D, both, dofs, legs
from sim.humans.motion.poses import Frame, State, window
from sim.humans.motion.postures import lying_rot, sit_down_keys
from sim.humans.rotations import rot_x

#: Mattress height of a bed when the segment gives none [m].
DEFAULT_BED_HEIGHT_M = 0.5
#: On the bed, sitting with straight legs (before lying back, after sitting up).
_LONG_SIT = dofs(**both(hip_flex=88, knee=8, ankle=-15, sh_abd=15, sh_flex=20, elbow=25))


def _cooking(ctx: Context) -> tuple[FrameFn, State]:
    f, every, sd = (
        float(ctx.p.get("stir_hz", 1.0)),
        float(ctx.p.get("reach_every_s", 6.0)),
        hand_side(ctx),
    )
    od = "l" if sd == "r" else "r"
    turn = 1.0 if sd == "l" else -1.0  # reach to the stirring hand's side

    def arms(t: float, d: np.ndarray) -> np.ndarray:
        d[D["spine_flex"]] = 10 * DEG
        d[D["head_flex"]] = 20 * DEG
        for s in ("l", "r"):  # both hands at the counter
            d[D[f"sh_flex_{s}"]] = 35 * DEG
            d[D[f"sh_abd_{s}"]] = 15 * DEG
            d[D[f"elbow_{s}"]] = 85 * DEG
            d[D[f"fingers_{s}"]] = 45 * DEG
        ang = 2 * np.pi * f * t  # stirring: the hand draws small circles over the pot
        d[D[f"sh_flex_{sd}"]] += 8 * np.cos(ang) * DEG
        d[D[f"sh_abd_{sd}"]] += 8 * np.sin(ang) * DEG
        d[D[f"elbow_{sd}"]] -= 8 * np.cos(ang) * DEG
        u = t % every  # now and then the other hand reaches for something at the side
        r = window(u, every - 2.0, every - 1.4) * (1 - window(u, every - 0.8, every - 0.2))
        d[D["spine_twist"]] = -turn * 20 * r * DEG
        d[D[f"sh_flex_{od}"]] += r * (60 * DEG - d[D[f"sh_flex_{od}"]])
        d[D[f"elbow_{od}"]] += r * (20 * DEG - d[D[f"elbow_{od}"]])
        return d

    return arm_activity(ctx, arms)


def _vacuuming(ctx: Context) -> tuple[FrameFn, State]:
    s = ctx.start
    f, reach, sd = (
        float(ctx.p.get("stroke_hz", 0.7)),
        float(ctx.p.get("reach_m", 0.4)),
        hand_side(ctx),
    )
    od = "l" if sd == "r" else "r"
    k = reach / 0.4  # DOF swing scale for the asked hand travel
    wander = ctx.rng.uniform(0, 2 * np.pi)

    def frame(t: float) -> Frame:
        c = 0.5 * (1 - np.cos(2 * np.pi * f * t))  # 0: handle pulled back, 1: pushed out
        heading = s.heading + 15 * DEG * np.sin(2 * np.pi * t / 7.0 + wander)  # sweeps around
        fwd = np.array([np.cos(heading), np.sin(heading)])
        d = dofs(
            **legs(thigh=8 + 10 * c, shank=-4 - 4 * c, pitch=8 + 10 * c * k),
            **{f"sh_flex_{sd}": 15 + 40 * c * k, f"sh_abd_{sd}": 10, f"elbow_{sd}": 55 - 40 * c},
            **{f"sh_flex_{od}": 10, f"sh_abd_{od}": 12, f"elbow_{od}": 30},
            **{f"fingers_{sd}": 60, f"wrist_{sd}": -10},
            spine_flex=5 + 8 * c * k,
        )
        xy = s.xy + 0.12 * k * (c - 0.5) * fwd  # weight shifts with the stroke
        return Frame(d, rot_x((8 + 10 * c * k) * DEG), heading, xy)

    return frame, State(s.xy, s.heading, "standing", 0.0, STANDING.copy())


def _bed_params(ctx: Context) -> tuple[np.ndarray, float, float, str]:
    s = ctx.start
    fwd = np.array([np.cos(s.heading), np.sin(s.heading)])
    pos = np.asarray(ctx.p.get("position", s.xy + 0.6 * fwd), dtype=np.float64)
    head = float(ctx.p.get("head_direction", s.heading + np.pi / 2))
    height = float(ctx.p.get("height", DEFAULT_BED_HEIGHT_M))
    if not 0.15 <= height <= 1.0:
        raise ValueError(f"bed height must be within 0.15-1.0 m, got {height}")
    side = str(ctx.p.get("side", "back"))
    return pos, head, height, side


def _get_into_bed(ctx: Context) -> tuple[FrameFn, State]:
    s = ctx.start
    pos, head, height, side = _bed_params(ctx)
    lying_heading = head + np.pi  # supine: the head points opposite the facing direction
    # Sit on the edge nearer the start, facing out of the bed, then swing the legs in and lie back.
    across = np.array([np.cos(head + np.pi / 2), np.sin(head + np.pi / 2)])
    sgn = 1.0 if float(np.dot(s.xy - pos, across)) >= 0 else -1.0
    out = sgn * across
    edge_heading = float(np.arctan2(out[1], out[0]))
    move = min(ctx.duration, 6.0)
    keys, _ = sit_down_keys(ctx, s, pos + 0.3 * out, edge_heading, height, 0.0, 0.0, 0.35 * move)
    keys.append(
        (0.65 * move, Frame(_LONG_SIT, np.eye(3), lying_heading, pos.copy(), height, seat_w=1.0))
    )
    rot = lying_rot(side)
    dofs_end = LYING if side in ("back", "front") else SIDE_LYING
    keys.append((move, Frame(dofs_end, rot, lying_heading, pos.copy(), support=height)))
    return keyframes(keys), State(pos, lying_heading, "lying", height, dofs_end, rot)


def _get_out_of_bed(ctx: Context) -> tuple[FrameFn, State]:
    s = ctx.start
    if s.support < 0.15:
        raise ValueError(
            "get_out_of_bed needs a person lying on a bed (support >= 0.15 m); "
            "from the floor use get_up"
        )
    exit_side = str(ctx.p.get("exit", "right"))
    if exit_side not in ("left", "right"):
        raise ValueError(f"exit must be 'left' or 'right', got {exit_side!r}")
    move = min(ctx.duration, 6.0)
    edge_heading = s.heading + (np.pi / 2 if exit_side == "left" else -np.pi / 2)
    out = np.array([np.cos(edge_heading), np.sin(edge_heading)])
    edge = s.xy + 0.3 * out
    seated = seated_dofs(ctx, s.support, 0.0)
    push = seated.copy()  # hands on the mattress beside the hips, pushing off
    push[[D["sh_flex_l"], D["sh_flex_r"]]] = -25 * DEG
    push[[D["elbow_l"], D["elbow_r"]]] = 10 * DEG
    lean = dofs(**legs(thigh=60, shank=-20, pitch=35), **both(sh_flex=40, elbow=30))
    target = edge + 0.35 * out
    keys = [
        (0.0, base_frame(s)),
        (0.3 * move, Frame(_LONG_SIT, np.eye(3), s.heading, s.xy.copy(), s.support, seat_w=1.0)),
        (0.55 * move, Frame(seated, np.eye(3), edge_heading, edge, s.support, seat_w=1.0)),
        (0.68 * move, Frame(push, np.eye(3), edge_heading, edge, s.support, seat_w=1.0)),
        (
            0.82 * move,
            Frame(lean, rot_x(35 * DEG), edge_heading, edge + 0.15 * out, s.support, seat_w=0.6),
        ),
        (move, Frame(STANDING.copy(), np.eye(3), edge_heading, target)),
    ]
    return keyframes(keys), State(target, edge_heading, "standing", 0.0, STANDING.copy())


def _reading(ctx: Context) -> tuple[FrameFn, State]:
    every = float(ctx.p.get("page_every_s", 8.0))
    first = ctx.rng.uniform(0.3, 0.8) * every  # the first page turn

    def arms(t: float, d: np.ndarray) -> np.ndarray:
        d[D["neck_flex"]] = 10 * DEG
        d[D["head_flex"]] = 25 * DEG
        for s in ("l", "r"):  # the book in both hands in front of the chest
            d[D[f"sh_flex_{s}"]] = 30 * DEG
            d[D[f"sh_abd_{s}"]] = 12 * DEG
            d[D[f"elbow_{s}"]] = 105 * DEG
            d[D[f"wrist_{s}"]] = 10 * DEG
            d[D[f"fingers_{s}"]] = 35 * DEG
        u = (t - first) % every if t >= first else every
        turn = window(u, 0.0, 0.5) * (1 - window(u, 0.7, 1.2))  # the right hand turns a page
        d[D["sh_yaw_r"]] += 50 * turn * DEG
        d[D["sh_abd_r"]] += 20 * turn * DEG
        d[D["elbow_r"]] += 15 * turn * DEG
        return d

    return arm_activity(ctx, arms)


def _cooking_params(rng: np.random.Generator) -> dict[str, Any]:
    return {
        "hand": str(rng.choice(["right", "right", "left"])),
        "stir_hz": rng.uniform(0.6, 1.5),
        "reach_every_s": rng.uniform(4.0, 9.0),
    }


def _vacuuming_params(rng: np.random.Generator) -> dict[str, Any]:
    return {
        "hand": str(rng.choice(["right", "right", "left"])),
        "stroke_hz": rng.uniform(0.5, 1.0),
        "reach_m": rng.uniform(0.3, 0.5),
    }


def _get_into_bed_params(rng: np.random.Generator) -> dict[str, Any]:
    return {"side": str(rng.choice(["back", "back", "left", "right"]))}


def _get_out_of_bed_params(rng: np.random.Generator) -> dict[str, Any]:
    return {"exit": str(rng.choice(["left", "right"]))}


def _reading_params(rng: np.random.Generator) -> dict[str, Any]:
    return {"page_every_s": rng.uniform(6.0, 20.0)}


SPECS: tuple[ActivitySpec, ...] = (
    ActivitySpec(
        "cooking",
        _cooking,
        "standing",
        phrase=r"\bcook\w*|\bstirr?\w*|\bchopp?\w*|\bat\s+the\s+stove",
        phrase_rank=65,
        params=_cooking_params,
        duration_s=(6.0, 12.0),
    ),
    ActivitySpec(
        "vacuuming",
        _vacuuming,
        "standing",
        phrase=r"\bvacuum\w*|\bhoover\w*",
        phrase_rank=65,
        params=_vacuuming_params,
        duration_s=(6.0, 12.0),
    ),
    ActivitySpec(
        "get_into_bed",
        _get_into_bed,
        "standing",
        ends_in="lying",
        phrase=r"\b(get|gets|getting|got|climb\w*)\s+in(to)?\s+(the\s+|a\s+|her\s+|his\s+)?bed|get_into_bed",
        phrase_rank=165,
        params=_get_into_bed_params,
        duration_s=(5.0, 7.0),
        place="bed",
    ),
    ActivitySpec(
        "get_out_of_bed",
        _get_out_of_bed,
        "lying",
        ends_in="standing",
        phrase=(
            r"\b(get|gets|getting|got|climb\w*)\s+out\s+of\s+(the\s+|a\s+|her\s+|his\s+)?bed"
            r"|\b(get\w*|got)\s+up\s+from\s+(the\s+)?bed|\brises?\s+from\s+(the\s+)?bed|get_out_of_bed"
        ),
        phrase_rank=175,
        params=_get_out_of_bed_params,
        duration_s=(5.0, 7.0),
        place="bed",
    ),
    ActivitySpec(
        "reading",
        _reading,
        "sitting",
        phrase=r"\bread(s|ing)?\b",
        phrase_rank=75,
        params=_reading_params,
        duration_s=(6.0, 12.0),
    ),
)
