"""A timeline performed by one body: :class:`Motion` gives the SMPL pose at any time.

Each segment's builder (from the vocabulary) starts from the state the previous one left; poses blend
into each segment over a short transition.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.humans.body import Body
from sim.humans.motion.activity import Context, FrameFn
from sim.humans.motion.dofs import LYING
from sim.humans.motion.poses import Frame, Grounder, Pose, State, blend_poses, smooth
from sim.humans.motion.postures import lying_rot
from sim.humans.motion.timeline import Timeline
from sim.humans.motion.vocabulary import VOCABULARY, sample_params


class Motion:
    """A timeline performed by one body: ``pose_at(t)`` for any time [s].

    Args:
        body: the shaped body (bone lengths and grounding).
        timeline: the activities.
        rng: samples the variation parameters a segment's params do not give.
        blend_s: transition length between segments [s] (joint slerp + position lerp).
    """

    def __init__(
        self, body: Body, timeline: Timeline, rng: np.random.Generator, *, blend_s: float = 0.4
    ) -> None:
        self.body, self.timeline, self.blend_s = body, timeline, blend_s
        self.grounder = Grounder(body)
        self.params: list[dict[str, Any]] = []
        self._frames: list[FrameFn] = []
        self.states: list[State] = []
        state = State(
            timeline.start_position.copy(), timeline.start_heading, timeline.start_posture
        )
        if timeline.start_posture == "sitting":
            raise ValueError("start a timeline standing or lying; reach a seat with sit_down")
        if timeline.start_posture == "lying":
            state = State(state.xy, state.heading, "lying", 0.0, LYING.copy(), lying_rot("back"))
        for seg in timeline.segments:
            params = {**sample_params(seg.activity, rng), **dict(seg.params)}
            ctx = Context(seg.duration, params, state, body, self.grounder, rng)
            frame, end = VOCABULARY[seg.activity].build(ctx)
            self.params.append(params)
            self._frames.append(frame)
            self.states.append(state)
            state = end

    def frame_at(self, t: float) -> Frame:
        """What the segment active at ``t`` [s] says before grounding and blending (its anatomical
        DOFs, root attitude, heading...): what :func:`sim.humans.motion.limits.limit_violations`
        checks."""
        i = self.timeline.index_at(t)
        seg = self.timeline.segments[i]
        return self._frames[i](float(np.clip(t, seg.start_s, seg.end_s)) - seg.start_s)

    def _segment_pose(self, i: int, t: float) -> Pose:
        seg = self.timeline.segments[i]
        return self.grounder.pose(
            self._frames[i](float(np.clip(t, seg.start_s, seg.end_s)) - seg.start_s)
        )

    def pose_at(self, t: float) -> Pose:
        """The pose at time ``t`` [s]; blends into each segment over ``blend_s`` after its start."""
        i = self.timeline.index_at(t)
        pose = self._segment_pose(i, t)
        if i > 0:
            since = t - self.timeline.segments[i].start_s
            blend = min(self.blend_s, 0.5 * self.timeline.segments[i].duration)
            if since < blend:
                prev = self._segment_pose(i - 1, t)
                pose = blend_poses(prev, pose, float(smooth(since / blend)))
        return pose
