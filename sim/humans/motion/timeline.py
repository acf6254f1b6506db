"""Segments and timelines: which activity a person does when, checked for posture continuity.

Times are in seconds; positions [m] and headings [rad, counter-clockwise from east] in the world frame.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.humans.motion.locomotion import WALK_RAMP_S
from sim.humans.motion.vocabulary import (
    ACTIVITIES,
    ENDS_IN,
    REQUIRES,
    duration_range,
    parse_activity,
)


@dataclass(frozen=True)
class Segment:
    """One activity from ``start_s`` to ``end_s`` [s]; ``params`` override the sampled defaults.

    Params by activity: see each family's module (:mod:`sim.humans.motion.locomotion`,
    :mod:`~sim.humans.motion.postures`, :mod:`~sim.humans.motion.falls`,
    :mod:`~sim.humans.motion.exercise`, :mod:`~sim.humans.motion.hands`,
    :mod:`~sim.humans.motion.limbs`, :mod:`~sim.humans.motion.household`); walk needs ``waypoints``
    and sit_down needs its seat (``position``, ``heading``, ``height``).
    """

    activity: str
    start_s: float
    end_s: float
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.activity not in ACTIVITIES:
            raise ValueError(
                f"unknown activity {self.activity!r}; known activities: {', '.join(ACTIVITIES)}"
            )
        if not self.end_s > self.start_s:
            raise ValueError(
                f"segment {self.activity!r} must end after it starts ({self.start_s} -> {self.end_s})"
            )

    @property
    def duration(self) -> float:
        return self.end_s - self.start_s


class Timeline:
    """Ordered, contiguous activity segments for one person, from a start position/heading/posture."""

    def __init__(
        self,
        segments: Sequence[Segment],
        *,
        start_position: Sequence[float] = (0.0, 0.0),
        start_heading: float = 0.0,
        start_posture: str = "standing",
    ) -> None:
        if not segments:
            raise ValueError("a timeline needs at least one segment")
        segs = list(segments)
        for prev, nxt in itertools.pairwise(segs):
            if abs(nxt.start_s - prev.end_s) > 1e-9:
                raise ValueError(
                    f"segments must be contiguous: {prev.activity!r} ends at {prev.end_s} s but "
                    f"{nxt.activity!r} starts at {nxt.start_s} s"
                )
        posture = start_posture
        for k, seg in enumerate(segs):
            need = REQUIRES[seg.activity]
            if need != "any" and need != posture:
                before = f"after {segs[k - 1].activity!r}" if k else "at the start"
                raise ValueError(
                    f"segment {k} {seg.activity!r} needs a {need} person but the person is {posture} {before}"
                )
            if need == "any" and posture == "lying":
                raise ValueError(f"segment {k} {seg.activity!r} needs a standing or sitting person")
            posture = ENDS_IN.get(seg.activity, posture)
        self.segments = segs
        self.start_position = np.asarray(start_position, dtype=np.float64)
        self.start_heading = float(start_heading)
        self.start_posture = start_posture

    @property
    def start_s(self) -> float:
        return self.segments[0].start_s

    @property
    def end_s(self) -> float:
        return self.segments[-1].end_s

    def index_at(self, t: float) -> int:
        """Index of the segment active at ``t`` [s] (clamped to the first/last)."""
        starts = np.array([s.start_s for s in self.segments])
        return int(np.clip(np.searchsorted(starts, t, side="right") - 1, 0, len(self.segments) - 1))

    def activity_at(self, t: float) -> str:
        return self.segments[self.index_at(t)].activity

    @classmethod
    def from_text(
        cls,
        text: str,
        rng: np.random.Generator,
        *,
        start_position: Sequence[float] = (0.0, 0.0),
        start_heading: float = 0.0,
        start_posture: str = "standing",
        waypoints: Sequence[Sequence[float]] | None = None,
        seat: Mapping[str, Any] | None = None,
        bed: Mapping[str, Any] | None = None,
        start_s: float = 0.0,
    ) -> Timeline:
        """Timeline from a sentence such as "a person walks in, sits on the sofa, then falls".

        Clauses are split on commas, "then", "and" and semicolons and parsed with :func:`parse_activity`.
        "sits on"/"sits down" becomes sit_down followed by sit. Places come from the keyword arguments:
        ``waypoints`` (for walk, [m]), ``seat`` (position, heading, height) and ``bed`` (position,
        head_direction, height; for lie_down and get_into_bed). Durations are sampled from ``rng`` (walks last as long as the path).
        """
        clauses = [c for c in re.split(r",|;|\bthen\b|\band\b|\.", text.lower()) if c.strip()]
        acts: list[str] = []
        posture = start_posture
        for clause in clauses:
            act = parse_activity(clause)
            need = REQUIRES[act]
            bridge: list[str] = []  # postures the sentence skips ("sits down, then falls")
            if posture == "lying" and need in ("standing", "any", "sitting"):
                bridge = ["get_up"] + (["sit_down"] if need == "sitting" else [])
            elif posture == "sitting" and need in ("standing", "lying"):
                bridge = ["stand_up"] + (["lie_down"] if need == "lying" else [])
            elif posture == "standing" and need in ("sitting", "lying"):
                bridge = ["sit_down"] if need == "sitting" else ["lie_down"]
            acts.extend([*bridge, act])
            if act in ("sit_down", "lie_down", "fall"):  # a still phase after the transition
                acts.append("sit" if act == "sit_down" else "sleep")
            for a in acts[-4:]:
                posture = ENDS_IN.get(a, posture)
        segments: list[Segment] = []
        t, pos = start_s, np.asarray(start_position, dtype=np.float64)
        for act in acts:
            params: dict[str, Any] = {}
            if act == "walk":
                if waypoints is None:
                    raise ValueError(
                        f"{text!r} walks: pass waypoints=[[x, y], ...] (e.g. Scene.free_space().shortest_path)"
                    )
                params = {
                    "waypoints": [list(map(float, p)) for p in waypoints],
                    "speed": float(rng.uniform(0.8, 1.4)),
                }
                pts = np.vstack([pos, np.asarray(waypoints, dtype=np.float64)])
                length = float(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum())
                duration = length / params["speed"] + WALK_RAMP_S
                pos = pts[-1]
            elif act == "sit_down":
                if seat is None:
                    raise ValueError(
                        f"{text!r} sits down: a person sitting needs a seat; pass seat=dict(position, heading, height)"
                    )
                params = dict(seat)
                duration = float(rng.uniform(1.6, 2.4))
                pos = np.asarray(seat["position"], dtype=np.float64)
            elif act == "lie_down":
                params = dict(bed) if bed is not None else {}
                duration = float(rng.uniform(3.0, 4.5))
            elif act == "get_into_bed":
                params = dict(bed) if bed is not None else {}
                duration = float(rng.uniform(*duration_range(act)))
            else:
                duration = float(rng.uniform(*duration_range(act)))
            segments.append(Segment(act, t, t + duration, params))
            t += duration
        return cls(
            segments,
            start_position=start_position,
            start_heading=start_heading,
            start_posture=start_posture,
        )
