"""Fall family: a standing person falls forward, backward or to a side and ends lying on the floor.

Params: ``direction`` (forward/backward/left/right), ``drop_s`` [s] (how long the body takes to reach
the floor).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.humans.motion.activity import ActivitySpec, Context, FrameFn
from sim.humans.motion.dofs import both, dofs
from sim.humans.motion.poses import Frame, State, window
from sim.humans.rotations import rot_x, rot_z, slerp_matrices

FALL_DIRECTIONS = ("forward", "backward", "left", "right")


def _fall(ctx: Context) -> tuple[FrameFn, State]:
    s = ctx.start
    direction = str(ctx.p.get("direction", "forward"))
    if direction not in FALL_DIRECTIONS:
        raise ValueError(
            f"unknown fall direction {direction!r}; expected one of {', '.join(FALL_DIRECTIONS)}"
        )
    drop = float(ctx.p.get("drop_s", 1.0))
    pre = 0.25
    final = {
        "forward": rot_x(np.pi / 2),
        "backward": rot_x(-np.pi / 2),
        "left": rot_z(-np.pi / 2),
        "right": rot_z(np.pi / 2),
    }[direction]
    arms = {
        "forward": both(sh_flex=110, sh_abd=20, elbow=20),
        "backward": both(sh_abd=60, sh_flex=20, elbow=30),
        "left": {"sh_abd_l": 50, "elbow_l": 60, "sh_abd_r": 20, "elbow_r": 40},
        "right": {"sh_abd_r": 50, "elbow_r": 60, "sh_abd_l": 20, "elbow_l": 40},
    }[direction]
    buckle = dofs(**both(knee=35, hip_flex=20, ankle=10))
    rest_arms = {  # after the impact: arms in the floor plane, never pushing into the floor
        "forward": both(sh_abd=100, elbow=25),
        "backward": both(sh_abd=45, elbow=15),
        "left": both(sh_abd=0, sh_flex=70, elbow=40),
        "right": both(sh_abd=0, sh_flex=70, elbow=40),
    }[direction]
    lying = dofs(**{**both(knee=8, hip_flex=5, ankle=-20, fingers=15), **rest_arms})
    reach = dofs(**arms)

    def frame(t: float) -> Frame:
        u = float(np.clip((t - pre) / drop, 0.0, 1.0))
        tilt = 0.12 * window(t, 0.0, pre) + 0.88 * u * u  # fraction of 90 deg: accelerating fall
        knees = np.sin(np.pi * min(1.0, (t / (pre + drop)))) if t < pre + drop else 0.0
        settle = window(t, pre + 0.85 * drop, pre + drop + 0.3)  # arms give way at the impact
        d = (1 - settle) * (
            s.dofs + knees * buckle + window(t, 0.0, pre + 0.3 * drop) * (reach - s.dofs) * 0.8
        ) + settle * lying
        return Frame(
            d,
            slerp_matrices(np.eye(3), final, min(tilt, 1.0)),
            s.heading,
            s.xy.copy(),
            anchor="feet",
        )

    end_frame = frame(ctx.duration + 10.0)
    pose = ctx.grounder.pose(end_frame)
    return frame, State(pose.position[:2].copy(), s.heading, "lying", 0.0, end_frame.dofs, final)


def _fall_params(rng: np.random.Generator) -> dict[str, Any]:
    return {"direction": str(rng.choice(FALL_DIRECTIONS)), "drop_s": rng.uniform(0.8, 1.2)}


SPECS: tuple[ActivitySpec, ...] = (
    ActivitySpec(
        "fall",
        _fall,
        "standing",
        ends_in="lying",
        phrase=r"\bfall\w*|\bfell\b|collaps\w*|trips?\b",
        phrase_rank=140,
        params=_fall_params,
        duration_s=(2.5, 3.5),
    ),
)
