"""Text-driven parametric motion library (no mocap files): activities, timelines and SMPL poses.

A pose is SMPL's parameter set in the world frame (x east, y north, z up): the pelvis position [m], the
root orientation (axis-angle, from SMPL's rest frame to the world) and 23 joint rotations (axis-angle,
relative to the parent, SMPL order). Activities are generated from anatomical degrees of freedom
(:data:`DOF_NAMES`, radians) plus a root attitude, heading and a support (floor, seat, bed); the pelvis
height follows from the body's lowest point touching its support, so feet stay on the floor and a seated
person's buttocks rest on the seat.

Headings are world angles [rad], counter-clockwise from east (+x), of the direction the person faces.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.humans.body import SMPL_TO_WORLD, Body
from sim.humans.rotations import (
    axis_angle_to_matrix,
    euler_xyz_to_matrix,
    matrix_to_axis_angle,
    rot_x,
    rot_y,
    rot_z,
    slerp_matrices,
)

ACTIVITIES: tuple[str, ...] = (
    "walk",
    "stand",
    "sit_down",
    "sit",
    "stand_up",
    "lie_down",
    "sleep",
    "fall",
    "get_up",
    "wave",
    "boxing",
    "jumping_jacks",
    "jump",
    "squats",
    "typing",
    "swipe_left",
    "swipe_right",
    "push",
    "pull",
    "circle",
)
GESTURES = ("wave", "swipe_left", "swipe_right", "push", "pull", "circle")
#: Posture an activity needs at its start ("any": standing or sitting).
REQUIRES: dict[str, str] = {
    **{
        a: "standing"
        for a in (
            "walk",
            "stand",
            "sit_down",
            "lie_down",
            "fall",
            "boxing",
            "jumping_jacks",
            "jump",
            "squats",
        )
    },
    **{a: "sitting" for a in ("sit", "stand_up", "typing")},
    **{a: "lying" for a in ("sleep", "get_up")},
    **{a: "any" for a in GESTURES},
}
ENDS_IN = {
    "sit_down": "sitting",
    "stand_up": "standing",
    "lie_down": "lying",
    "fall": "lying",
    "get_up": "standing",
}
FALL_DIRECTIONS = ("forward", "backward", "left", "right")
LYING_SIDES = ("back", "left", "right", "front")

# Phrase patterns, most specific first.
_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"jumping[ _-]?jacks?|star[ _-]?jumps?", "jumping_jacks"),
    (r"swip\w*\s+(to\s+the\s+)?left|swipe_left", "swipe_left"),
    (r"swip\w*\s+(to\s+the\s+)?right|swipe_right", "swipe_right"),
    (r"\bsit\w*\s+down|sit_down|takes?\s+a\s+seat|\bsits\s+on|\bsat\s+down", "sit_down"),
    (r"\bstand\w*\s+up|stand_up|\brises?\b", "stand_up"),
    (r"\bget\w*\s+up|get_up|gets\s+back\s+up", "get_up"),
    (r"\bl[iy]\w*\s+down|lie_down|goes\s+to\s+bed", "lie_down"),
    (r"\bfall\w*|\bfell\b|collaps\w*|trips?\b", "fall"),
    (r"\bsleep\w*|asleep|napp?\w*|\blying\b", "sleep"),
    (r"\bsquat\w*", "squats"),
    (r"\bbox\w*|punch\w*|shadow[ -]?box\w*", "boxing"),
    (r"\bjump\w*|\bhop\w*", "jump"),
    (r"\bwav\w*", "wave"),
    (r"\btyp\w*|keyboard", "typing"),
    (r"\bpush\w*", "push"),
    (r"\bpull\w*", "pull"),
    (r"\bcircl\w*", "circle"),
    (
        r"\bwalk\w*|\bgo\w*\s+(to|in|into|out|across)|\benter\w*|\bstroll\w*|\bpac(e|es|ing)\b|\bcross\w*",
        "walk",
    ),
    (r"\bsit\w*|\bseated\b", "sit"),
    (r"\bstand\w*|\bstood\b|\bidle\b", "stand"),
)


def parse_activity(text: str) -> str:
    """Map a phrase ("walks to the sofa", "doing squats", "swipe left") to an activity name.

    Raises:
        ValueError: naming the known activities when nothing matches.
    """
    phrase = text.strip().lower()
    if phrase in ACTIVITIES:
        return phrase
    for pattern, activity in _PATTERNS:
        if re.search(pattern, phrase):
            return activity
    raise ValueError(f"unknown activity {text!r}; known activities: {', '.join(ACTIVITIES)}")


# ----------------------------------------------------------------------------------------------
# Degrees of freedom -> SMPL joint rotations
# ----------------------------------------------------------------------------------------------
_SIDE_DOFS = (
    "hip_flex",
    "hip_abd",
    "hip_rot",
    "knee",
    "ankle",
    "collar_up",
    "sh_abd",
    "sh_flex",
    "sh_yaw",
    "elbow",
    "wrist",
    "fingers",
)
DOF_NAMES: tuple[str, ...] = (
    "spine_flex",  # forward bend of the whole spine (split over spine1-3)
    "spine_lat",  # bend to the person's left
    "spine_twist",  # shoulders turned to the left
    "neck_flex",
    "head_flex",  # nod down
    "head_yaw",  # look left
    *(f"{n}_l" for n in _SIDE_DOFS),
    *(f"{n}_r" for n in _SIDE_DOFS),
)
D = {name: k for k, name in enumerate(DOF_NAMES)}
NUM_DOFS = len(DOF_NAMES)
_DEG = np.pi / 180


def _dof_map() -> tuple[np.ndarray, np.ndarray]:
    """Euler (x, y, z) of each joint = offset ``[24, 3]`` + ``M [72, NUM_DOFS]`` @ dofs."""
    m = np.zeros((24, 3, NUM_DOFS))
    off = np.zeros((24, 3))
    for j in (3, 6, 9):
        m[j, 0, D["spine_flex"]] = 1 / 3
        m[j, 2, D["spine_lat"]] = -1 / 3
        m[j, 1, D["spine_twist"]] = 1 / 3
    m[12, 0, D["neck_flex"]] = 1
    m[15, 0, D["head_flex"]] = 1
    m[12, 1, D["head_yaw"]] = 0.4
    m[15, 1, D["head_yaw"]] = 0.6
    for s, sgn in (("l", 1.0), ("r", -1.0)):
        hip, knee, ankle, collar, sh, elbow, wrist, hand = (
            (1, 4, 7, 13, 16, 18, 20, 22) if s == "l" else (2, 5, 8, 14, 17, 19, 21, 23)
        )
        m[hip, 0, D[f"hip_flex_{s}"]] = -1
        m[hip, 2, D[f"hip_abd_{s}"]] = sgn
        m[hip, 1, D[f"hip_rot_{s}"]] = -sgn  # internal rotation positive
        m[knee, 0, D[f"knee_{s}"]] = 1
        m[ankle, 0, D[f"ankle_{s}"]] = -1  # dorsiflexion positive
        m[collar, 2, D[f"collar_up_{s}"]] = sgn
        m[sh, 0, D[f"sh_flex_{s}"]] = -1
        m[sh, 1, D[f"sh_yaw_{s}"]] = -sgn  # towards the front when abducted
        m[sh, 2, D[f"sh_abd_{s}"]] = sgn
        off[sh, 2] = -sgn * np.pi / 2  # sh_abd = 0: arm hanging
        m[elbow, 1, D[f"elbow_{s}"]] = -sgn
        m[wrist, 2, D[f"wrist_{s}"]] = -sgn
        m[hand, 2, D[f"fingers_{s}"]] = -sgn
    return off, m.reshape(72, NUM_DOFS)


_DOF_OFFSET, _DOF_MATRIX = _dof_map()


def dofs_to_rotmats(dofs: np.ndarray) -> np.ndarray:
    """``dofs [NUM_DOFS]`` [rad] -> joint rotations ``[24, 3, 3]`` (``[0]`` is identity)."""
    e = _DOF_OFFSET + (_DOF_MATRIX @ dofs).reshape(24, 3)
    return euler_xyz_to_matrix(e)


def dofs(**values: float) -> np.ndarray:
    """A DOF vector from keyword values in degrees (``dofs(knee_l=30)``); others zero."""
    out = np.zeros(NUM_DOFS)
    for name, deg in values.items():
        out[D[name]] = deg * _DEG
    return out


def _both(**values: float) -> dict[str, float]:
    return {f"{k}_{s}": v for k, v in values.items() for s in ("l", "r")}


STANDING = dofs(**_both(sh_abd=8, elbow=12, knee=3, hip_flex=2, ankle=1, wrist=5, fingers=10))
LYING = dofs(**_both(sh_abd=10, elbow=10, knee=5, hip_flex=3, ankle=-20, fingers=15))
#: On one side: arms in front of the chest (not under the body), hips and knees bent.
SIDE_LYING = dofs(**_both(sh_flex=70, elbow=60, knee=45, hip_flex=35, ankle=-20, fingers=20))


def _legs(thigh: float, shank: float, pitch: float) -> dict[str, float]:
    """Hip/knee/ankle [deg] (both legs) for world segment angles [deg], feet flat.

    ``thigh``: knee forward of the hip (0 = vertical); ``shank``: ankle forward of the knee;
    ``pitch``: forward tilt of the pelvis.
    """
    return _both(hip_flex=thigh + pitch, knee=thigh - shank, ankle=-shank)


def _smooth(x: np.ndarray | float) -> np.ndarray | float:
    t = np.clip(x, 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _window(t: float, a: float, b: float) -> float:
    """Smoothstep from 0 at ``a`` to 1 at ``b``."""
    return float(_smooth((t - a) / (b - a))) if b > a else float(t >= b)


def _wrap(angle: float) -> float:
    return float((angle + np.pi) % (2 * np.pi) - np.pi)


def _lerp_angle(a: float, b: float, w: float) -> float:
    return a + _wrap(b - a) * w


# ----------------------------------------------------------------------------------------------
# Poses, frames, states
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Pose:
    """One SMPL pose in the world frame.

    Attributes:
        position: ``[3]`` world position of the pelvis joint [m].
        rotmats: ``[24, 3, 3]``: ``[0]`` maps SMPL's rest frame to the world, ``[1:]`` are the
            joint rotations relative to their parents.
        heading: facing direction [rad], counter-clockwise from east.
        cache: optional ``(joints [24, 3], A [24, 3, 4])`` forward kinematics of this pose for the body
            that produced it (see :meth:`sim.humans.body.Body.transforms`).
    """

    position: np.ndarray
    rotmats: np.ndarray
    heading: float
    cache: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    @property
    def root_orient(self) -> np.ndarray:
        """``[3]`` axis-angle of the root (SMPL rest frame -> world)."""
        return matrix_to_axis_angle(self.rotmats[0])

    @property
    def body_pose(self) -> np.ndarray:
        """``[23, 3]`` axis-angle joint rotations, SMPL order."""
        return matrix_to_axis_angle(self.rotmats[1:])

    def to_smpl(self, joints_rest: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """SMPL parameters in SMPL's own y-up frame: ``global_orient [3]``, ``body_pose [69]``, ``transl [3]``.

        ``smplx`` vertices ``v`` then map to the world as ``SMPL_TO_WORLD @ v``. ``joints_rest [24, 3]``
        are the shaped body's rest joints (the root rotates about ``joints_rest[0]``).
        """
        glob = SMPL_TO_WORLD.T @ self.rotmats[0]
        transl = SMPL_TO_WORLD.T @ self.position - joints_rest[0]
        return matrix_to_axis_angle(glob), self.body_pose.reshape(-1), transl

    @staticmethod
    def from_axis_angle(
        position: np.ndarray, root_orient: np.ndarray, body_pose: np.ndarray, heading: float = 0.0
    ) -> Pose:
        """Build from ``position [3]``, ``root_orient [3]`` and ``body_pose [23, 3]`` (axis-angle)."""
        aa = np.concatenate([np.asarray(root_orient)[None], np.asarray(body_pose).reshape(23, 3)])
        return Pose(np.asarray(position, dtype=np.float64), axis_angle_to_matrix(aa), heading)


def blend_poses(a: Pose, b: Pose, w: float) -> Pose:
    """Slerp every joint rotation and lerp the position from ``a`` (w=0) to ``b`` (w=1)."""
    if w <= 0.0:
        return a
    if w >= 1.0:
        return b
    return Pose(
        (1 - w) * a.position + w * b.position,
        slerp_matrices(a.rotmats, b.rotmats, w),
        _lerp_angle(a.heading, b.heading, w),
    )


@dataclass
class _Frame:
    """What an activity says about one instant, before grounding."""

    dofs: np.ndarray
    body_rot: np.ndarray  # [3, 3] root attitude in SMPL's frame (identity: upright)
    heading: float
    xy: np.ndarray  # [2] where the anchor goes [m]
    support: float = 0.0  # height of the supporting surface [m]
    seat_w: float = 0.0  # 0: lowest body point on the support; 1: buttocks on the support (seated)
    anchor: str = "pelvis"  # "pelvis" or "feet": which point is placed at xy
    lift: float = 0.0  # extra height (flight phase of a jump) [m]


@dataclass(frozen=True)
class _State:
    """Where a segment leaves the person (the next segment starts from it)."""

    xy: np.ndarray
    heading: float
    posture: str  # standing | sitting | lying
    support: float = 0.0
    dofs: np.ndarray = field(default_factory=lambda: STANDING.copy())
    body_rot: np.ndarray = field(default_factory=lambda: np.eye(3))


def _heading_rot(heading: float) -> np.ndarray:
    """SMPL rest frame -> world, for a person facing ``heading`` (upright)."""
    return rot_z_world(heading) @ SMPL_TO_WORLD


def rot_z_world(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


class _Grounder:
    """Places a frame's body: pelvis height from the lowest probe vertex, xy from the anchor."""

    def __init__(self, body: Body) -> None:
        self.body = body
        ids = body.probe_ids
        self.ids = ids
        self.seat = np.isin(body.part_ids[ids], [0, 1, 2])  # buttocks and thighs

    def pose(self, f: _Frame) -> Pose:
        rot = dofs_to_rotmats(f.dofs)
        rot[0] = _heading_rot(f.heading) @ f.body_rot
        joints, a = self.body.transforms(rot, np.zeros(3))
        z = self.body.skin(a, self.ids)[:, 2]
        z_low = f.support - z.min()
        z_seat = f.support - z[self.seat].min() if f.seat_w > 0 else z_low
        height = (1 - f.seat_w) * z_low + f.seat_w * z_seat + f.lift
        ref = 0.5 * (joints[7, :2] + joints[8, :2]) if f.anchor == "feet" else joints[0, :2]
        pos = np.array([f.xy[0] - ref[0], f.xy[1] - ref[1], height])
        a[:, :, 3] += pos
        return Pose(pos, rot, f.heading, (joints + pos, a))


# ----------------------------------------------------------------------------------------------
# Segments and timelines
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Segment:
    """One activity from ``start_s`` to ``end_s`` [s]; ``params`` override the sampled defaults.

    Params by activity (all optional unless marked):
        walk: ``waypoints`` (required, ``[[x, y], ...]`` [m]), ``speed`` [m/s], ``arm_swing``.
        stand: ``sway``.  sit/typing/stand_up: none (the seat comes from sit_down).
        sit_down: ``position`` ([x, y] pelvis on the seat), ``heading`` [rad], ``height`` [m]
            (all required: a person sitting needs a seat), ``recline`` [deg].
        lie_down: ``position``, ``head_direction`` [rad], ``height`` (bed top; 0 = floor, the default
            when no surface is given), ``side`` (back/left/right/front).
        fall: ``direction`` (forward/backward/left/right), ``drop_s`` [s].
        wave/boxing/jumping_jacks/typing: ``rate_hz``, ``amplitude``; jumping_jacks: ``hop_m``;
        jump: ``height_m``, ``period_s``; squats: ``period_s``, ``depth``; gestures: ``hand``
        (left/right), ``gesture_s``, ``pause_s``, ``amplitude``.
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
            if seg.activity in GESTURES and posture == "lying":
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
        head_direction, height). Durations are sampled from ``rng`` (walks last as long as the path).
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
                duration = length / params["speed"] + _WALK_RAMP_S
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
            else:
                duration = float(rng.uniform(*_DEFAULT_DURATION.get(act, (3.0, 6.0))))
            segments.append(Segment(act, t, t + duration, params))
            t += duration
        return cls(
            segments,
            start_position=start_position,
            start_heading=start_heading,
            start_posture=start_posture,
        )


_WALK_RAMP_S = 0.6
_DEFAULT_DURATION = {
    "stand": (2.0, 5.0),
    "sit": (4.0, 8.0),
    "sleep": (6.0, 12.0),
    "stand_up": (1.4, 2.2),
    "fall": (2.5, 3.5),
    "get_up": (3.5, 5.0),
    "typing": (5.0, 10.0),
}


def sample_params(activity: str, rng: np.random.Generator) -> dict[str, Any]:
    """Random speed/amplitude variation parameters for ``activity`` (a segment's params override them)."""
    u = rng.uniform
    table: dict[str, dict[str, Any]] = {
        "walk": {"speed": u(0.8, 1.4), "arm_swing": u(0.6, 1.2)},
        "stand": {"sway": u(0.5, 1.5)},
        "sit_down": {"recline": u(0.0, 12.0)},
        "lie_down": {"side": str(rng.choice(["back", "back", "left", "right"]))},
        "fall": {"direction": str(rng.choice(FALL_DIRECTIONS)), "drop_s": u(0.8, 1.2)},
        "wave": {
            "rate_hz": u(1.5, 3.0),
            "amplitude": u(0.7, 1.3),
            "hand": str(rng.choice(["right", "right", "left"])),
        },
        "boxing": {"rate_hz": u(1.2, 2.5), "amplitude": u(0.8, 1.2)},
        "jumping_jacks": {"rate_hz": u(0.8, 1.3), "amplitude": u(0.8, 1.1), "hop_m": u(0.03, 0.08)},
        "jump": {"height_m": u(0.12, 0.35), "period_s": u(1.5, 2.2)},
        "squats": {"period_s": u(2.5, 4.0), "depth": u(0.7, 1.0)},
        "typing": {"rate_hz": u(3.0, 7.0), "amplitude": u(0.6, 1.4)},
    }
    if activity in ("swipe_left", "swipe_right", "push", "pull", "circle"):
        return {
            "hand": str(rng.choice(["right", "right", "left"])),
            "gesture_s": u(0.7, 1.3),
            "pause_s": u(0.3, 1.0),
            "amplitude": u(0.7, 1.3),
        }
    return table.get(activity, {})


# ----------------------------------------------------------------------------------------------
# Activities: each builder returns frame(t_local) and the end state
# ----------------------------------------------------------------------------------------------
FrameFn = Callable[[float], _Frame]


@dataclass
class _Ctx:
    seg: Segment
    p: dict[str, Any]
    start: _State
    body: Body
    grounder: _Grounder
    rng: np.random.Generator

    @property
    def duration(self) -> float:
        return self.seg.duration

    @property
    def leg(self) -> float:
        """Leg length: hip joint height above the soles in the rest pose [m]."""
        return float(self.body.joints_rest[1, 1] - self.body.v_shaped[:, 1].min())


def _base(state: _State) -> _Frame:
    """A still frame of the state's posture."""
    seated = state.posture == "sitting"
    return _Frame(
        state.dofs.copy(),
        state.body_rot,
        state.heading,
        state.xy.copy(),
        support=state.support,
        seat_w=1.0 if seated else 0.0,
    )


def _seated_dofs(ctx: _Ctx, height: float, recline: float) -> np.ndarray:
    """Seated DOFs for a seat ``height`` [m], trunk reclined by ``recline`` [deg]."""
    body = ctx.body
    r_thigh = 0.028 * body.height
    hip_z = height + r_thigh + 0.02
    ankle_h = float(body.joints_rest[7, 1] - body.v_shaped[:, 1].min())
    shank = body.bone_length(7)
    ratio = (hip_z - ankle_h) / shank
    beta = float(np.degrees(np.arccos(np.clip(ratio, -1.0, 1.0)))) if ratio < 1 else 0.0
    values = _legs(thigh=88, shank=min(beta, 60.0), pitch=-recline)
    values.update(_both(sh_abd=12, sh_flex=25, elbow=45, wrist=5, fingers=20))
    return dofs(**values)


def _walk(ctx: _Ctx) -> tuple[FrameFn, _State]:
    start = ctx.start
    wps = np.asarray(ctx.p["waypoints"], dtype=np.float64).reshape(-1, 2)
    pts = np.vstack([start.xy, wps])
    seg_len = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    keep = np.concatenate([[True], seg_len > 1e-6])
    pts = pts[keep]
    cum = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
    length = float(cum[-1])
    if length < 0.05:
        raise ValueError("walk needs at least one waypoint away from the start position")
    v = float(ctx.p["speed"])
    if not 0.1 <= v <= 3.0:
        raise ValueError(f"walking speed must be within 0.1-3.0 m/s, got {v}")
    ramp = min(_WALK_RAMP_S, length / v)
    t_walk = length / v + ramp
    stride = 1.25 * ctx.leg * v**0.6  # [m] per gait cycle (two steps); ~1.3 m at 1.3 m/s
    hip_amp = np.degrees(np.arcsin(min(0.9, stride / (4 * ctx.leg * np.cos(10 * _DEG)))))
    swing = float(ctx.p.get("arm_swing", 1.0))
    phase0 = float(ctx.rng.uniform())

    def arclen(t: float) -> tuple[float, float]:
        """Distance along the path [m] and speed factor (0..1) at ``t``."""
        if t <= 0:
            return 0.0, 0.0
        if t < ramp:
            return v * t * t / (2 * ramp), t / ramp
        if t < t_walk - ramp:
            return v * ramp / 2 + v * (t - ramp), 1.0
        if t < t_walk:
            rem = t_walk - t
            return length - v * rem * rem / (2 * ramp), rem / ramp
        return length, 0.0

    def point(s: float) -> np.ndarray:
        s = float(np.clip(s, 0.0, length))
        return np.array([np.interp(s, cum, pts[:, 0]), np.interp(s, cum, pts[:, 1])])

    def heading_at(s: float) -> float:
        d = point(s + 0.3) - point(s - 0.3)
        return float(np.arctan2(d[1], d[0]))

    def bump(phi: float, centre: float, width: float) -> float:
        d = (phi - centre + 0.5) % 1.0 - 0.5
        return float(np.exp(-0.5 * (d / width) ** 2))

    def frame(t: float) -> _Frame:
        s, a = arclen(t)
        head = heading_at(s)
        head = _lerp_angle(start.heading, head, _window(t, 0.0, ramp))
        phi_r = phase0 + s / stride
        values: dict[str, float] = {}
        for side, phi in (("r", phi_r % 1.0), ("l", (phi_r + 0.5) % 1.0)):
            c = np.cos(2 * np.pi * phi)
            values[f"hip_flex_{side}"] = a * (10 + hip_amp * c) + 2
            values[f"knee_{side}"] = 3 + a * (
                15 * bump(phi, 0.12, 0.06) + 58 * bump(phi, 0.72, 0.09)
            )
            values[f"ankle_{side}"] = 1 + a * (
                8 * bump(phi, 0.42, 0.1) - 16 * bump(phi, 0.62, 0.05)
            )
            values[f"sh_flex_{side}"] = -a * swing * 22 * c
            values[f"sh_abd_{side}"] = 8
            values[f"elbow_{side}"] = 14 + a * swing * 10 * (1 - c)
            values[f"fingers_{side}"] = 10
        cr = np.cos(2 * np.pi * phi_r)
        values["spine_twist"] = a * 5 * cr
        values["spine_flex"] = 3 * a
        f = _Frame(dofs(**values), rot_y(-a * 4 * cr * _DEG), head, point(s))
        sway = 0.015 * a * np.sin(2 * np.pi * phi_r)
        f.xy = f.xy + sway * np.array([-np.sin(head), np.cos(head)])
        return f

    end_t = min(t_walk, ctx.duration)
    s_end, _ = arclen(end_t)
    end_frame = frame(ctx.duration)
    end = _State(point(s_end), end_frame.heading, "standing", 0.0, end_frame.dofs, np.eye(3))
    return frame, end


def _stand(ctx: _Ctx) -> tuple[FrameFn, _State]:
    start, sway = ctx.start, float(ctx.p.get("sway", 1.0))
    ph = ctx.rng.uniform(0, 2 * np.pi, 3)

    def frame(t: float) -> _Frame:
        f = _base(start)
        f.dofs = STANDING.copy()
        f.xy = f.xy + 0.008 * sway * np.array([np.sin(0.9 * t + ph[0]), np.sin(1.3 * t + ph[1])])
        f.dofs[D["head_yaw"]] += 8 * _DEG * sway * np.sin(0.4 * t + ph[2])
        return f

    return frame, _State(start.xy, start.heading, "standing", 0.0, STANDING.copy())


def _keyframes(keys: list[tuple[float, _Frame]]) -> FrameFn:
    """Smoothstep between key frames given at times [s]."""
    times = [k[0] for k in keys]

    def frame(t: float) -> _Frame:
        if t <= times[0]:
            return keys[0][1]
        if t >= times[-1]:
            return keys[-1][1]
        i = int(np.searchsorted(times, t, side="right") - 1)
        (t0, a), (t1, b) = keys[i], keys[i + 1]
        w = float(_smooth((t - t0) / (t1 - t0)))
        return _Frame(
            (1 - w) * a.dofs + w * b.dofs,
            slerp_matrices(a.body_rot, b.body_rot, w),
            _lerp_angle(a.heading, b.heading, w),
            (1 - w) * a.xy + w * b.xy,
            support=(1 - w) * a.support + w * b.support,
            seat_w=(1 - w) * a.seat_w + w * b.seat_w,
            anchor=b.anchor if w > 0.5 else a.anchor,
            lift=(1 - w) * a.lift + w * b.lift,
        )

    return frame


def _seat_params(ctx: _Ctx) -> tuple[np.ndarray, float, float]:
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


def _sit_down_keys(
    ctx: _Ctx,
    start: _State,
    pos: np.ndarray,
    heading: float,
    height: float,
    recline: float,
    t0: float,
    t1: float,
) -> tuple[list[tuple[float, _Frame]], _State]:
    seated = _seated_dofs(ctx, height, recline)
    lean = dofs(**_legs(thigh=55, shank=-25, pitch=30), **_both(sh_abd=15, sh_flex=35, elbow=30))
    mid_heading = _lerp_angle(start.heading, heading, 0.8)
    keys = [
        (t0, _Frame(start.dofs, np.eye(3), start.heading, start.xy.copy())),
        (
            t0 + 0.5 * (t1 - t0),
            _Frame(
                lean,
                rot_x(30 * _DEG),
                mid_heading,
                start.xy + 0.6 * (pos - start.xy),
                support=0.0,
                seat_w=0.3,
            ),
        ),
        (
            t1,
            _Frame(seated, rot_x(-recline * _DEG), heading, pos.copy(), support=height, seat_w=1.0),
        ),
    ]
    end = _State(pos, heading, "sitting", height, seated, rot_x(-recline * _DEG))
    return keys, end


def _sit_down(ctx: _Ctx) -> tuple[FrameFn, _State]:
    pos, heading, height = _seat_params(ctx)
    move = min(ctx.duration, 2.5)
    keys, end = _sit_down_keys(
        ctx, ctx.start, pos, heading, height, float(ctx.p.get("recline", 5.0)), 0.0, move
    )
    return _keyframes(keys), end


def _still(ctx: _Ctx) -> tuple[FrameFn, _State]:
    base = _base(ctx.start)
    return (lambda t: base), ctx.start


def _stand_up(ctx: _Ctx) -> tuple[FrameFn, _State]:
    s = ctx.start
    fwd = np.array([np.cos(s.heading), np.sin(s.heading)])
    move = min(ctx.duration, 2.2)
    lean = dofs(**_legs(thigh=60, shank=-20, pitch=35), **_both(sh_abd=15, sh_flex=40, elbow=30))
    target = s.xy + 0.35 * fwd
    keys = [
        (0.0, _base(s)),
        (
            0.45 * move,
            _Frame(
                lean, rot_x(35 * _DEG), s.heading, s.xy + 0.15 * fwd, support=s.support, seat_w=0.6
            ),
        ),
        (move, _Frame(STANDING.copy(), np.eye(3), s.heading, target)),
    ]
    return _keyframes(keys), _State(target, s.heading, "standing", 0.0, STANDING.copy())


def _lying_rot(side: str) -> np.ndarray:
    if side not in LYING_SIDES:
        raise ValueError(f"unknown lying side {side!r}; expected one of {', '.join(LYING_SIDES)}")
    return {
        "back": rot_x(-np.pi / 2),
        "front": rot_x(-np.pi / 2) @ rot_y(np.pi),
        "left": rot_x(-np.pi / 2) @ rot_y(np.pi / 2),  # left side down
        "right": rot_x(-np.pi / 2) @ rot_y(-np.pi / 2),
    }[side]


def _lie_down(ctx: _Ctx) -> tuple[FrameFn, _State]:
    s = ctx.start
    pos = np.asarray(ctx.p.get("position", s.xy), dtype=np.float64)
    height = float(ctx.p.get("height", 0.0))
    side = str(ctx.p.get("side", "back"))
    # Supine: the head points opposite the facing direction of the sitting person who lies back.
    heading = float(ctx.p["head_direction"]) + np.pi if "head_direction" in ctx.p else s.heading
    move = min(ctx.duration, 4.0)
    lying_dofs = LYING if side in ("back", "front") else SIDE_LYING
    if height >= 0.15:
        keys, _ = _sit_down_keys(ctx, s, pos, heading, height, 0.0, 0.0, 0.5 * move)
    else:  # onto the floor: crouch, sit on the floor, lie back
        crouch = dofs(**_legs(thigh=95, shank=-40, pitch=40), **_both(sh_flex=40, elbow=30))
        floor_sit = dofs(**_both(hip_flex=85, knee=10, sh_abd=20, sh_flex=-20, elbow=10))
        keys = [
            (0.0, _Frame(s.dofs, np.eye(3), s.heading, s.xy.copy())),
            (
                0.25 * move,
                _Frame(
                    crouch,
                    rot_x(40 * _DEG),
                    _lerp_angle(s.heading, heading, 0.7),
                    s.xy + 0.5 * (pos - s.xy),
                ),
            ),
            (
                0.5 * move,
                _Frame(floor_sit, np.eye(3), heading, pos.copy(), support=0.0, seat_w=0.0),
            ),
        ]
    rot = _lying_rot(side)
    keys.append((move, _Frame(lying_dofs, rot, heading, pos.copy(), support=height, seat_w=0.0)))
    return _keyframes(keys), _State(pos, heading, "lying", height, lying_dofs, rot)


def _fall(ctx: _Ctx) -> tuple[FrameFn, _State]:
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
        "forward": _both(sh_flex=110, sh_abd=20, elbow=20),
        "backward": _both(sh_abd=60, sh_flex=20, elbow=30),
        "left": {"sh_abd_l": 50, "elbow_l": 60, "sh_abd_r": 20, "elbow_r": 40},
        "right": {"sh_abd_r": 50, "elbow_r": 60, "sh_abd_l": 20, "elbow_l": 40},
    }[direction]
    buckle = dofs(**_both(knee=35, hip_flex=20, ankle=10))
    rest_arms = {  # after the impact: arms in the floor plane, never pushing into the floor
        "forward": _both(sh_abd=100, elbow=25),
        "backward": _both(sh_abd=45, elbow=15),
        "left": _both(sh_abd=0, sh_flex=70, elbow=40),
        "right": _both(sh_abd=0, sh_flex=70, elbow=40),
    }[direction]
    lying = dofs(**{**_both(knee=8, hip_flex=5, ankle=-20, fingers=15), **rest_arms})
    reach = dofs(**arms)

    def frame(t: float) -> _Frame:
        u = float(np.clip((t - pre) / drop, 0.0, 1.0))
        tilt = 0.12 * _window(t, 0.0, pre) + 0.88 * u * u  # fraction of 90 deg: accelerating fall
        knees = np.sin(np.pi * min(1.0, (t / (pre + drop)))) if t < pre + drop else 0.0
        settle = _window(t, pre + 0.85 * drop, pre + drop + 0.3)  # arms give way at the impact
        d = (1 - settle) * (
            s.dofs + knees * buckle + _window(t, 0.0, pre + 0.3 * drop) * (reach - s.dofs) * 0.8
        ) + settle * lying
        return _Frame(
            d,
            slerp_matrices(np.eye(3), final, min(tilt, 1.0)),
            s.heading,
            s.xy.copy(),
            anchor="feet",
        )

    end_frame = frame(ctx.duration + 10.0)
    pose = ctx.grounder.pose(end_frame)
    return frame, _State(pose.position[:2].copy(), s.heading, "lying", 0.0, end_frame.dofs, final)


def _get_up(ctx: _Ctx) -> tuple[FrameFn, _State]:
    s = ctx.start
    move = min(ctx.duration, 5.0)
    fwd = np.array([np.cos(s.heading), np.sin(s.heading)])
    if s.support >= 0.15:  # out of bed: sit up, turn to the side, stand up
        seated = _seated_dofs(ctx, s.support, 0.0)
        side_heading = s.heading + np.pi / 2
        side = np.array([np.cos(side_heading), np.sin(side_heading)])
        edge = s.xy + 0.3 * side
        target = edge + 0.35 * side
        lean = dofs(**_legs(thigh=60, shank=-20, pitch=35), **_both(sh_flex=40, elbow=30))
        keys = [
            (0.0, _base(s)),
            (
                0.35 * move,
                _Frame(seated, np.eye(3), s.heading, s.xy.copy(), support=s.support, seat_w=1.0),
            ),
            (
                0.6 * move,
                _Frame(seated, np.eye(3), side_heading, edge, support=s.support, seat_w=1.0),
            ),
            (
                0.8 * move,
                _Frame(
                    lean,
                    rot_x(35 * _DEG),
                    side_heading,
                    edge + 0.15 * side,
                    support=s.support,
                    seat_w=0.6,
                ),
            ),
            (move, _Frame(STANDING.copy(), np.eye(3), side_heading, target)),
        ]
        return _keyframes(keys), _State(target, side_heading, "standing", 0.0, STANDING.copy())
    floor_sit = dofs(**_both(hip_flex=85, knee=10, sh_abd=20, sh_flex=-20, elbow=10))
    kneel = dofs(**_legs(thigh=95, shank=-45, pitch=45), **_both(sh_flex=40, elbow=30))
    keys = [
        (0.0, _base(s)),
        (0.35 * move, _Frame(floor_sit, np.eye(3), s.heading, s.xy.copy())),
        (0.65 * move, _Frame(kneel, rot_x(45 * _DEG), s.heading, s.xy + 0.3 * fwd)),
        (move, _Frame(STANDING.copy(), np.eye(3), s.heading, s.xy + 0.35 * fwd)),
    ]
    return _keyframes(keys), _State(s.xy + 0.35 * fwd, s.heading, "standing", 0.0, STANDING.copy())


def _arm_activity(
    ctx: _Ctx, arms: Callable[[float, np.ndarray], np.ndarray]
) -> tuple[FrameFn, _State]:
    """Lower body from the start posture (standing or seated); ``arms(t, dofs) -> dofs``."""
    s = ctx.start
    base_dofs = STANDING.copy() if s.posture == "standing" else s.dofs.copy()

    def frame(t: float) -> _Frame:
        f = _base(s)
        f.dofs = arms(t, base_dofs.copy())
        return f

    return frame, _State(s.xy, s.heading, s.posture, s.support, base_dofs, s.body_rot)


def _side(ctx: _Ctx) -> str:
    hand = str(ctx.p.get("hand", "right"))
    if hand not in ("left", "right"):
        raise ValueError(f"hand must be 'left' or 'right', got {hand!r}")
    return hand[0]


def _wave(ctx: _Ctx) -> tuple[FrameFn, _State]:
    f, amp, sd = float(ctx.p.get("rate_hz", 2.0)), float(ctx.p.get("amplitude", 1.0)), _side(ctx)

    def arms(t: float, d: np.ndarray) -> np.ndarray:
        osc = np.sin(2 * np.pi * f * t)
        d[D[f"sh_abd_{sd}"]] = (135 + 8 * amp * osc) * _DEG
        d[D[f"sh_yaw_{sd}"]] = 35 * _DEG
        d[D[f"elbow_{sd}"]] = (45 + 25 * amp * osc) * _DEG
        d[D[f"wrist_{sd}"]] = 10 * amp * osc * _DEG
        return d

    return _arm_activity(ctx, arms)


def _gesture(ctx: _Ctx, kind: str) -> tuple[FrameFn, _State]:
    g_s, pause = float(ctx.p.get("gesture_s", 1.0)), float(ctx.p.get("pause_s", 0.6))
    amp, sd = float(ctx.p.get("amplitude", 1.0)), _side(ctx)
    period = g_s + pause

    def arms(t: float, d: np.ndarray) -> np.ndarray:
        tau = (t % period) / g_s
        if tau >= 1.0:
            return d
        up = _window(tau, 0.0, 0.25) * (1 - _window(tau, 0.8, 1.0))
        q = _window(tau, 0.25, 0.75)
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
        else:  # push / pull: hands near the chest <-> arms extended forward
            ext = q if kind == "push" else 1 - q
            target = (20 - 10 * ext, 0.0, 20 + 65 * ext * amp, 125 - 115 * ext)
            for other in ("l", "r"):  # both hands
                d[D[f"sh_abd_{other}"]] += up * (target[0] * _DEG - d[D[f"sh_abd_{other}"]])
                d[D[f"sh_flex_{other}"]] += up * (target[2] * _DEG - d[D[f"sh_flex_{other}"]])
                d[D[f"elbow_{other}"]] += up * (target[3] * _DEG - d[D[f"elbow_{other}"]])
                d[D[f"sh_yaw_{other}"]] *= 1 - up
            return d
        d[D[f"sh_abd_{sd}"]] = abd + up * (target[0] * _DEG - abd)
        d[D[f"sh_yaw_{sd}"]] = yaw + up * (target[1] * _DEG - yaw)
        d[D[f"sh_flex_{sd}"]] = flex + up * (target[2] * _DEG - flex)
        d[D[f"elbow_{sd}"]] = elbow + up * (target[3] * _DEG - elbow)
        return d

    return _arm_activity(ctx, arms)


def _typing(ctx: _Ctx) -> tuple[FrameFn, _State]:
    f, amp = float(ctx.p.get("rate_hz", 5.0)), float(ctx.p.get("amplitude", 1.0))
    ph = ctx.rng.uniform(0, 2 * np.pi, 4)

    def arms(t: float, d: np.ndarray) -> np.ndarray:
        for k, sd in enumerate(("l", "r")):
            d[D[f"sh_flex_{sd}"]] = 28 * _DEG
            d[D[f"sh_abd_{sd}"]] = 12 * _DEG
            d[D[f"elbow_{sd}"]] = 95 * _DEG
            tap = np.sin(2 * np.pi * f * t + ph[k]) * np.sin(2 * np.pi * 0.37 * f * t + ph[k + 2])
            d[D[f"wrist_{sd}"]] = (8 + 4 * amp * tap) * _DEG
            d[D[f"fingers_{sd}"]] = (25 + 12 * amp * tap) * _DEG
        d[D["head_flex"]] = 12 * _DEG
        return d

    return _arm_activity(ctx, arms)


def _boxing(ctx: _Ctx) -> tuple[FrameFn, _State]:
    s = ctx.start
    rate, amp = float(ctx.p.get("rate_hz", 1.8)), float(ctx.p.get("amplitude", 1.0))
    punch = min(0.45, 0.85 / rate)
    stance = dofs(
        **_legs(thigh=15, shank=-12, pitch=8), **_both(sh_flex=40, sh_abd=25, elbow=120, fingers=60)
    )

    def frame(t: float) -> _Frame:
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
            d[D[f"sh_flex_{sd}"]] += 45 * amp * p * _DEG
            d[D[f"sh_abd_{sd}"]] -= 15 * p * _DEG
            d[D[f"elbow_{sd}"]] -= 110 * amp * p * _DEG
            d[D["spine_twist"]] += sgn * 20 * p * _DEG
        return _Frame(d, rot_x(8 * _DEG), s.heading, s.xy.copy(), anchor="feet")

    return frame, _State(s.xy, s.heading, "standing", 0.0, stance)


def _jumping_jacks(ctx: _Ctx) -> tuple[FrameFn, _State]:
    s = ctx.start
    f, amp, hop = (
        float(ctx.p.get("rate_hz", 1.0)),
        float(ctx.p.get("amplitude", 1.0)),
        float(ctx.p.get("hop_m", 0.05)),
    )

    def frame(t: float) -> _Frame:
        phi = f * t
        o = 0.5 * (1 - np.cos(2 * np.pi * phi))
        land = np.cos(2 * np.pi * phi) ** 2
        d = dofs(
            **_both(
                sh_abd=10 + 160 * amp * o,
                elbow=10,
                hip_abd=16 * o,
                knee=5 + 15 * land,
                hip_flex=3 + 6 * land,
                ankle=8 * land,
            )
        )
        return _Frame(
            d, np.eye(3), s.heading, s.xy.copy(), lift=hop * float(np.sin(2 * np.pi * phi) ** 2)
        )

    return frame, _State(s.xy, s.heading, "standing", 0.0, STANDING.copy())


def _jump(ctx: _Ctx) -> tuple[FrameFn, _State]:
    s = ctx.start
    h, period = float(ctx.p.get("height_m", 0.25)), float(ctx.p.get("period_s", 1.8))
    flight = 2 * np.sqrt(2 * h / 9.81)
    t_crouch, t_push = 0.35, 0.15
    t_off = t_crouch + t_push

    def frame(t: float) -> _Frame:
        tau = t % period
        if tau < t_crouch:
            c = _window(tau, 0.0, t_crouch)
        elif tau < t_off:
            c = 1 - _window(tau, t_crouch, t_off)
        elif tau < t_off + flight:
            c = 0.0
        else:
            c = 0.6 * float(np.sin(np.pi * min(1.0, (tau - t_off - flight) / 0.4)))
        air = tau - t_off
        lift = max(0.0, 0.5 * 9.81 * air * (flight - air)) if 0 < air < flight else 0.0
        arm = -40 * c + (130 * float(np.sin(np.pi * air / flight)) if 0 < air < flight else 0.0)
        d = dofs(
            **_legs(thigh=60 * c, shank=-35 * c, pitch=25 * c),
            **_both(sh_flex=arm, sh_abd=10, elbow=15),
        )
        return _Frame(d, rot_x(25 * c * _DEG), s.heading, s.xy.copy(), anchor="feet", lift=lift)

    return frame, _State(s.xy, s.heading, "standing", 0.0, STANDING.copy())


def _squats(ctx: _Ctx) -> tuple[FrameFn, _State]:
    s = ctx.start
    period, depth = float(ctx.p.get("period_s", 3.0)), float(ctx.p.get("depth", 0.9))

    def frame(t: float) -> _Frame:
        c = depth * 0.5 * (1 - np.cos(2 * np.pi * t / period))
        d = dofs(
            **_legs(thigh=95 * c, shank=-38 * c, pitch=35 * c),
            **_both(sh_flex=85 * c, sh_abd=8, elbow=10),
        )
        return _Frame(d, rot_x(35 * c * _DEG), s.heading, s.xy.copy(), anchor="feet")

    return frame, _State(s.xy, s.heading, "standing", 0.0, STANDING.copy())


_BUILDERS: dict[str, Callable[[_Ctx], tuple[FrameFn, _State]]] = {
    "walk": _walk,
    "stand": _stand,
    "sit_down": _sit_down,
    "sit": _still,
    "stand_up": _stand_up,
    "lie_down": _lie_down,
    "sleep": _still,
    "fall": _fall,
    "get_up": _get_up,
    "wave": _wave,
    "boxing": _boxing,
    "jumping_jacks": _jumping_jacks,
    "jump": _jump,
    "squats": _squats,
    "typing": _typing,
    **{
        g: (lambda kind: lambda ctx: _gesture(ctx, kind))(g)
        for g in ("swipe_left", "swipe_right", "push", "pull", "circle")
    },
}


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
        self.grounder = _Grounder(body)
        self.params: list[dict[str, Any]] = []
        self._frames: list[FrameFn] = []
        self.states: list[_State] = []
        state = _State(
            timeline.start_position.copy(), timeline.start_heading, timeline.start_posture
        )
        if timeline.start_posture == "sitting":
            raise ValueError("start a timeline standing or lying; reach a seat with sit_down")
        if timeline.start_posture == "lying":
            state = _State(state.xy, state.heading, "lying", 0.0, LYING.copy(), _lying_rot("back"))
        for seg in timeline.segments:
            params = {**sample_params(seg.activity, rng), **dict(seg.params)}
            ctx = _Ctx(seg, params, state, body, self.grounder, rng)
            frame, end = _BUILDERS[seg.activity](ctx)
            self.params.append(params)
            self._frames.append(frame)
            self.states.append(state)
            state = end

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
                pose = blend_poses(prev, pose, float(_smooth(since / blend)))
        return pose
