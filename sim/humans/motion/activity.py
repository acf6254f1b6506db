"""What an activity family provides, and the tools its builders share.

An activity is an :class:`ActivitySpec`: its name, the posture it needs and leaves, the phrases that
name it, its random variation parameters and its builder. A builder takes a :class:`Context` (the
segment's duration and parameters, the state the previous segment left, the body) and returns
``frame(t_local) -> Frame`` for ``0 <= t_local <= duration`` [s] and the :class:`State` it ends in.

A family of activities is one module holding its builders and a ``SPECS`` tuple; the vocabulary
(:mod:`sim.humans.motion.vocabulary`) lists the families.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.humans.body import Body
from sim.humans.motion.dofs import STANDING, both, dofs, legs
from sim.humans.motion.poses import Frame, Grounder, State, lerp_angle, smooth
from sim.humans.rotations import slerp_matrices

#: ``frame(t_local)``: what the activity does at ``t_local`` [s] after its segment starts.
FrameFn = Callable[[float], Frame]
#: ``parameters(rng)``: an activity's random variation parameters.
ParamSampler = Callable[[np.random.Generator], dict[str, Any]]


@dataclass
class Context:
    """What a builder gets for one segment.

    Attributes:
        duration: the segment's length [s].
        p: its parameters (the sampled ones overridden by the segment's own).
        start: the state the previous segment left the person in.
        body: the shaped body (bone lengths).
        grounder: places frames on their support (for an end state that depends on the grounded pose).
        rng: for random phases.
    """

    duration: float
    p: dict[str, Any]
    start: State
    body: Body
    grounder: Grounder
    rng: np.random.Generator

    @property
    def leg(self) -> float:
        """Leg length: hip joint height above the soles in the rest pose [m]."""
        return float(self.body.joints_rest[1, 1] - self.body.v_shaped[:, 1].min())


#: ``build(context) -> (frame, end state)``.
Builder = Callable[[Context], tuple[FrameFn, State]]


@dataclass(frozen=True)
class ActivitySpec:
    """One activity of the vocabulary.

    Attributes:
        name: the activity's name (``"walk"``), as segments, ground truth and captions use it.
        build: its builder (see the module docstring).
        requires: the posture it needs at its start: ``"standing"``, ``"sitting"``, ``"lying"`` or
            ``"any"`` (standing or sitting).
        ends_in: the posture it leaves the person in (None: the one it started in).
        phrase: a regular expression naming it in text (:func:`sim.humans.motion.parse_activity`).
        phrase_rank: phrases of higher rank are tried first (ties: vocabulary order): a phrase that
            contains another activity's word ("jumping jacks" / "jump", "sit down" / "sit") must rank
            above it.
        params: samples its variation parameters (None: it has none).
        duration_s: (min, max) duration [s] of a segment made from text.
        place: where a scenario puts the person for it, when its postures do not say
            (:mod:`sim.dataset.people`): None (a seat for an activity that starts seated, free floor
            otherwise), ``"bed"`` (a bed's lying area: getting into or out of bed) or
            ``"near_radar"`` (standing close in front of the radar, facing it: hand gestures).
    """

    name: str
    build: Builder
    requires: str
    ends_in: str | None = None
    phrase: str | None = None
    phrase_rank: int = 0
    params: ParamSampler | None = None
    duration_s: tuple[float, float] = (3.0, 6.0)
    place: str | None = None


def base_frame(state: State) -> Frame:
    """A still frame of the state's posture."""
    seated = state.posture == "sitting"
    return Frame(
        state.dofs.copy(),
        state.body_rot,
        state.heading,
        state.xy.copy(),
        support=state.support,
        seat_w=1.0 if seated else 0.0,
    )


def seated_dofs(ctx: Context, height: float, recline: float) -> np.ndarray:
    """Seated DOFs for a seat ``height`` [m], trunk reclined by ``recline`` [deg]."""
    body = ctx.body
    r_thigh = 0.028 * body.height
    hip_z = height + r_thigh + 0.02
    ankle_h = float(body.joints_rest[7, 1] - body.v_shaped[:, 1].min())
    shank = body.bone_length(7)
    ratio = (hip_z - ankle_h) / shank
    beta = float(np.degrees(np.arccos(np.clip(ratio, -1.0, 1.0)))) if ratio < 1 else 0.0
    values = legs(thigh=88, shank=min(beta, 60.0), pitch=-recline)
    values.update(both(sh_abd=12, sh_flex=25, elbow=45, wrist=5, fingers=20))
    return dofs(**values)


def keyframes(keys: list[tuple[float, Frame]]) -> FrameFn:
    """Smoothstep between key frames given at times [s]."""
    times = [k[0] for k in keys]

    def frame(t: float) -> Frame:
        if t <= times[0]:
            return keys[0][1]
        if t >= times[-1]:
            return keys[-1][1]
        i = int(np.searchsorted(times, t, side="right") - 1)
        (t0, a), (t1, b) = keys[i], keys[i + 1]
        w = float(smooth((t - t0) / (t1 - t0)))
        return Frame(
            (1 - w) * a.dofs + w * b.dofs,
            slerp_matrices(a.body_rot, b.body_rot, w),
            lerp_angle(a.heading, b.heading, w),
            (1 - w) * a.xy + w * b.xy,
            support=(1 - w) * a.support + w * b.support,
            seat_w=(1 - w) * a.seat_w + w * b.seat_w,
            anchor=b.anchor if w > 0.5 else a.anchor,
            lift=(1 - w) * a.lift + w * b.lift,
        )

    return frame


def arm_activity(
    ctx: Context, arms: Callable[[float, np.ndarray], np.ndarray]
) -> tuple[FrameFn, State]:
    """Lower body from the start posture (standing or seated); ``arms(t, dofs) -> dofs``."""
    s = ctx.start
    base_dofs = STANDING.copy() if s.posture == "standing" else s.dofs.copy()

    def frame(t: float) -> Frame:
        f = base_frame(s)
        f.dofs = arms(t, base_dofs.copy())
        return f

    return frame, State(s.xy, s.heading, s.posture, s.support, base_dofs, s.body_rot)


def hand_side(ctx: Context) -> str:
    """``"l"`` or ``"r"``: the hand of the ``hand`` param (default right)."""
    hand = str(ctx.p.get("hand", "right"))
    if hand not in ("left", "right"):
        raise ValueError(f"hand must be 'left' or 'right', got {hand!r}")
    return hand[0]
