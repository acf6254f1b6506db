"""Poses and how an activity's frame becomes one.

:class:`Pose` is SMPL's parameter set in the world frame; :class:`Frame` is what an activity says about
one instant before grounding; :class:`State` is where a segment leaves the person; :class:`Grounder`
puts a frame's body on its support (the pelvis height follows from the body's lowest point). Plus the
easing and angle helpers builders share. Headings are world angles [rad], counter-clockwise from east.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.humans.body import SMPL_TO_WORLD, Body
from sim.humans.motion.dofs import STANDING, dofs_to_rotmats
from sim.humans.rotations import axis_angle_to_matrix, matrix_to_axis_angle, slerp_matrices


def smooth(x: np.ndarray | float) -> np.ndarray | float:
    """Smoothstep of ``x`` clipped to [0, 1]."""
    t = np.clip(x, 0.0, 1.0)
    return t * t * (3 - 2 * t)


def window(t: float, a: float, b: float) -> float:
    """Smoothstep from 0 at ``a`` to 1 at ``b``."""
    return float(smooth((t - a) / (b - a))) if b > a else float(t >= b)


def wrap(angle: float) -> float:
    """``angle`` [rad] wrapped into [-pi, pi)."""
    return float((angle + np.pi) % (2 * np.pi) - np.pi)


def lerp_angle(a: float, b: float, w: float) -> float:
    """From angle ``a`` (w=0) to ``b`` (w=1) [rad] the short way round."""
    return a + wrap(b - a) * w


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
        lerp_angle(a.heading, b.heading, w),
    )


@dataclass
class Frame:
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
class State:
    """Where a segment leaves the person (the next segment starts from it)."""

    xy: np.ndarray
    heading: float
    posture: str  # standing | sitting | lying
    support: float = 0.0
    dofs: np.ndarray = field(default_factory=lambda: STANDING.copy())
    body_rot: np.ndarray = field(default_factory=lambda: np.eye(3))


def heading_rot(heading: float) -> np.ndarray:
    """SMPL rest frame -> world, for a person facing ``heading`` (upright)."""
    return rot_z_world(heading) @ SMPL_TO_WORLD


def rot_z_world(angle: float) -> np.ndarray:
    """``[3, 3]`` rotation by ``angle`` [rad] about the world's z (up) axis."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


class Grounder:
    """Places a frame's body: pelvis height from the lowest probe vertex, xy from the anchor."""

    def __init__(self, body: Body) -> None:
        self.body = body
        ids = body.probe_ids
        self.ids = ids
        self.seat = np.isin(body.part_ids[ids], [0, 1, 2])  # buttocks and thighs

    def pose(self, f: Frame) -> Pose:
        rot = dofs_to_rotmats(f.dofs)
        rot[0] = heading_rot(f.heading) @ f.body_rot
        joints, a = self.body.transforms(rot, np.zeros(3))
        z = self.body.skin(a, self.ids)[:, 2]
        z_low = f.support - z.min()
        z_seat = f.support - z[self.seat].min() if f.seat_w > 0 else z_low
        height = (1 - f.seat_w) * z_low + f.seat_w * z_seat + f.lift
        ref = 0.5 * (joints[7, :2] + joints[8, :2]) if f.anchor == "feet" else joints[0, :2]
        pos = np.array([f.xy[0] - ref[0], f.xy[1] - ref[1], height])
        a[:, :, 3] += pos
        return Pose(pos, rot, f.heading, (joints + pos, a))
