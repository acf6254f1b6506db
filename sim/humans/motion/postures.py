"""Posture family: sitting down on a seat and standing up, lying down on a bed or the floor and getting
up, and the still phases between (sit, sleep).

Params: sit_down: ``position`` ([x, y] pelvis on the seat), ``heading`` [rad], ``height`` [m] (all
required: a person sitting needs a seat), ``recline`` [deg]; lie_down: ``position``,
``head_direction`` [rad], ``height`` (bed top; 0 = floor, the default when no surface is given),
``side`` (back/left/right/front). sit, sleep, stand_up and get_up take none.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.humans.motion.activity import (
    ActivitySpec,
    Context,
    FrameFn,
    base_frame,
    keyframes,
    seated_dofs,
)
from sim.humans.motion.dofs import DEG, LYING, SIDE_LYING, STANDING, both, dofs, legs
from sim.humans.motion.poses import Frame, State, lerp_angle
from sim.humans.rotations import rot_x, rot_y

LYING_SIDES = ("back", "left", "right", "front")


def _seat_params(ctx: Context) -> tuple[np.ndarray, float, float]:
    missing = [k for k in ("position", "heading", "height") if k not in ctx.p]
    if missing:
        raise ValueError(
            f"sit_down needs the seat's {', '.join(missing)} (a person sitting needs a seat): "
            "params position=[x, y], heading=rad, height=m"
        )
    height = float(ctx.p["height"])
    if not 0.15 <= height <= 1.0:
        raise ValueError(f"seat height must be within 0.15-1.0 m, got {height}")
    return np.asarray(ctx.p["position"], dtype=np.float64), float(ctx.p["heading"]), height


def sit_down_keys(
    ctx: Context,
    start: State,
    pos: np.ndarray,
    heading: float,
    height: float,
    recline: float,
    t0: float,
    t1: float,
) -> tuple[list[tuple[float, Frame]], State]:
    """Key frames from ``start`` (at ``t0``) down onto a seat at ``pos`` / ``heading`` / ``height``
    (at ``t1``) [s, m, rad], and the seated end state."""
    seated = seated_dofs(ctx, height, recline)
    lean = dofs(**legs(thigh=55, shank=-25, pitch=30), **both(sh_abd=15, sh_flex=35, elbow=30))
    mid_heading = lerp_angle(start.heading, heading, 0.8)
    keys = [
        (t0, Frame(start.dofs, np.eye(3), start.heading, start.xy.copy())),
        (
            t0 + 0.5 * (t1 - t0),
            Frame(
                lean,
                rot_x(30 * DEG),
                mid_heading,
                start.xy + 0.6 * (pos - start.xy),
                support=0.0,
                seat_w=0.3,
            ),
        ),
        (
            t1,
            Frame(seated, rot_x(-recline * DEG), heading, pos.copy(), support=height, seat_w=1.0),
        ),
    ]
    end = State(pos, heading, "sitting", height, seated, rot_x(-recline * DEG))
    return keys, end


def _sit_down(ctx: Context) -> tuple[FrameFn, State]:
    pos, heading, height = _seat_params(ctx)
    move = min(ctx.duration, 2.5)
    keys, end = sit_down_keys(
        ctx, ctx.start, pos, heading, height, float(ctx.p.get("recline", 5.0)), 0.0, move
    )
    return keyframes(keys), end


def _still(ctx: Context) -> tuple[FrameFn, State]:
    base = base_frame(ctx.start)
    return (lambda t: base), ctx.start


def _stand_up(ctx: Context) -> tuple[FrameFn, State]:
    s = ctx.start
    fwd = np.array([np.cos(s.heading), np.sin(s.heading)])
    move = min(ctx.duration, 2.2)
    lean = dofs(**legs(thigh=60, shank=-20, pitch=35), **both(sh_abd=15, sh_flex=40, elbow=30))
    target = s.xy + 0.35 * fwd
    keys = [
        (0.0, base_frame(s)),
        (
            0.45 * move,
            Frame(
                lean, rot_x(35 * DEG), s.heading, s.xy + 0.15 * fwd, support=s.support, seat_w=0.6
            ),
        ),
        (move, Frame(STANDING.copy(), np.eye(3), s.heading, target)),
    ]
    return keyframes(keys), State(target, s.heading, "standing", 0.0, STANDING.copy())


def lying_rot(side: str) -> np.ndarray:
    """Root attitude ``[3, 3]`` of a body lying on its ``side`` (back/left/right/front)."""
    if side not in LYING_SIDES:
        raise ValueError(f"unknown lying side {side!r}; expected one of {', '.join(LYING_SIDES)}")
    return {
        "back": rot_x(-np.pi / 2),
        "front": rot_x(-np.pi / 2) @ rot_y(np.pi),
        "left": rot_x(-np.pi / 2) @ rot_y(np.pi / 2),  # left side down
        "right": rot_x(-np.pi / 2) @ rot_y(-np.pi / 2),
    }[side]


def _lie_down(ctx: Context) -> tuple[FrameFn, State]:
    s = ctx.start
    pos = np.asarray(ctx.p.get("position", s.xy), dtype=np.float64)
    height = float(ctx.p.get("height", 0.0))
    side = str(ctx.p.get("side", "back"))
    # Supine: the head points opposite the facing direction of the sitting person who lies back.
    heading = float(ctx.p["head_direction"]) + np.pi if "head_direction" in ctx.p else s.heading
    move = min(ctx.duration, 4.0)
    lying_dofs = LYING if side in ("back", "front") else SIDE_LYING
    if height >= 0.15:
        keys, _ = sit_down_keys(ctx, s, pos, heading, height, 0.0, 0.0, 0.5 * move)
    else:  # onto the floor: crouch, sit on the floor, lie back
        crouch = dofs(**legs(thigh=95, shank=-40, pitch=40), **both(sh_flex=40, elbow=30))
        floor_sit = dofs(**both(hip_flex=85, knee=10, sh_abd=20, sh_flex=-20, elbow=10))
        keys = [
            (0.0, Frame(s.dofs, np.eye(3), s.heading, s.xy.copy())),
            (
                0.25 * move,
                Frame(
                    crouch,
                    rot_x(40 * DEG),
                    lerp_angle(s.heading, heading, 0.7),
                    s.xy + 0.5 * (pos - s.xy),
                ),
            ),
            (
                0.5 * move,
                Frame(floor_sit, np.eye(3), heading, pos.copy(), support=0.0, seat_w=0.0),
            ),
        ]
    rot = lying_rot(side)
    keys.append((move, Frame(lying_dofs, rot, heading, pos.copy(), support=height, seat_w=0.0)))
    return keyframes(keys), State(pos, heading, "lying", height, lying_dofs, rot)


def _get_up(ctx: Context) -> tuple[FrameFn, State]:
    s = ctx.start
    move = min(ctx.duration, 5.0)
    fwd = np.array([np.cos(s.heading), np.sin(s.heading)])
    if s.support >= 0.15:  # out of bed: sit up, turn to the side, stand up
        seated = seated_dofs(ctx, s.support, 0.0)
        side_heading = s.heading + np.pi / 2
        side = np.array([np.cos(side_heading), np.sin(side_heading)])
        edge = s.xy + 0.3 * side
        target = edge + 0.35 * side
        lean = dofs(**legs(thigh=60, shank=-20, pitch=35), **both(sh_flex=40, elbow=30))
        keys = [
            (0.0, base_frame(s)),
            (
                0.35 * move,
                Frame(seated, np.eye(3), s.heading, s.xy.copy(), support=s.support, seat_w=1.0),
            ),
            (
                0.6 * move,
                Frame(seated, np.eye(3), side_heading, edge, support=s.support, seat_w=1.0),
            ),
            (
                0.8 * move,
                Frame(
                    lean,
                    rot_x(35 * DEG),
                    side_heading,
                    edge + 0.15 * side,
                    support=s.support,
                    seat_w=0.6,
                ),
            ),
            (move, Frame(STANDING.copy(), np.eye(3), side_heading, target)),
        ]
        return keyframes(keys), State(target, side_heading, "standing", 0.0, STANDING.copy())
    floor_sit = dofs(**both(hip_flex=85, knee=10, sh_abd=20, sh_flex=-20, elbow=10))
    kneel = dofs(**legs(thigh=95, shank=-45, pitch=45), **both(sh_flex=40, elbow=30))
    keys = [
        (0.0, base_frame(s)),
        (0.35 * move, Frame(floor_sit, np.eye(3), s.heading, s.xy.copy())),
        (0.65 * move, Frame(kneel, rot_x(45 * DEG), s.heading, s.xy + 0.3 * fwd)),
        (move, Frame(STANDING.copy(), np.eye(3), s.heading, s.xy + 0.35 * fwd)),
    ]
    return keyframes(keys), State(s.xy + 0.35 * fwd, s.heading, "standing", 0.0, STANDING.copy())


def _sit_down_params(rng: np.random.Generator) -> dict[str, Any]:
    return {"recline": rng.uniform(0.0, 12.0)}


def _lie_down_params(rng: np.random.Generator) -> dict[str, Any]:
    return {"side": str(rng.choice(["back", "back", "left", "right"]))}


SPECS: tuple[ActivitySpec, ...] = (
    ActivitySpec(
        "sit_down",
        _sit_down,
        "standing",
        ends_in="sitting",
        phrase=r"\bsit\w*\s+down|sit_down|takes?\s+a\s+seat|\bsits\s+on|\bsat\s+down",
        phrase_rank=180,
        params=_sit_down_params,
    ),
    ActivitySpec(
        "sit",
        _still,
        "sitting",
        phrase=r"\bsit\w*|\bseated\b",
        phrase_rank=20,
        duration_s=(4.0, 8.0),
    ),
    ActivitySpec(
        "stand_up",
        _stand_up,
        "sitting",
        ends_in="standing",
        phrase=r"\bstand\w*\s+up|stand_up|\brises?\b",
        phrase_rank=170,
        duration_s=(1.4, 2.2),
    ),
    ActivitySpec(
        "lie_down",
        _lie_down,
        "standing",
        ends_in="lying",
        phrase=r"\bl[iy]\w*\s+down|lie_down|goes\s+to\s+bed",
        phrase_rank=150,
        params=_lie_down_params,
    ),
    ActivitySpec(
        "sleep",
        _still,
        "lying",
        phrase=r"\bsleep\w*|asleep|napp?\w*|\blying\b",
        phrase_rank=130,
        duration_s=(6.0, 12.0),
    ),
    ActivitySpec(
        "get_up",
        _get_up,
        "lying",
        ends_in="standing",
        phrase=r"\bget\w*\s+up|get_up|gets\s+back\s+up",
        phrase_rank=160,
        duration_s=(3.5, 5.0),
    ),
)
