"""Geometry shared by scenes, people and propagation backends: triangle meshes and the radar pose.

World frame: metres, ``x`` east, ``y`` north, ``z`` up, floor at ``z = 0``. The radar frame is the one
every runtime module uses (``runtime.frames``): ``y`` along boresight, ``x`` to the right, ``z`` up.

Headings come in two conventions, one per layer, and :func:`motion_heading_rad` is the one place that
converts: scenes (furniture, affordances, the judge, the radar's ``yaw_deg``) use degrees
counter-clockwise from north (+y), as a floor plan is drawn; people (``sim.humans``: timelines, poses)
use radians counter-clockwise from east (+x), as their trigonometry is written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


def motion_heading_rad(scene_heading_deg: float) -> float:
    """A scene heading (degrees counter-clockwise from +y) as a motion heading (radians
    counter-clockwise from +x): facing north is 0 deg in a scene and pi/2 rad for a person."""
    return math.radians(scene_heading_deg + 90.0)


@dataclass(frozen=True, eq=False)
class Mesh:
    """A triangle mesh in world coordinates with what propagation needs to know about it.

    Attributes:
        name: unique within a scene (e.g. ``"wall_north"``, ``"sofa_0"``, ``"person_0"``).
        label: semantic class (``"wall"``, ``"floor"``, ``"sofa"``, ``"person"``...).
        vertices: float64 ``[V, 3]`` world positions [m].
        faces: int32/int64 ``[F, 3]`` vertex indices, counter-clockwise seen from outside.
        material: ITU material name valid at 60-81 GHz (see ``sim.scene.materials``), or ``"skin"``.
        velocities: float64 ``[V, 3]`` world velocities [m/s] (None: static).
        part_ids: int ``[V]`` body-part / sub-object index per vertex (None: one part), so that paths
            can be attributed in the ground truth (e.g. SMPL's 24 joints for a person).
    """

    name: str
    label: str
    vertices: np.ndarray
    faces: np.ndarray
    material: str
    velocities: np.ndarray | None = None
    part_ids: np.ndarray | None = None

    @property
    def is_static(self) -> bool:
        return self.velocities is None or not np.any(self.velocities)

    def face_centroids(self) -> np.ndarray:
        """``[F, 3]`` [m]."""
        return self.vertices[self.faces].mean(axis=1)

    def face_normals_areas(self) -> tuple[np.ndarray, np.ndarray]:
        """Unit normals ``[F, 3]`` and areas ``[F]`` [m^2]."""
        tri = self.vertices[self.faces]
        cross = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        norm = np.linalg.norm(cross, axis=1)
        return cross / np.maximum(norm, 1e-300)[:, None], 0.5 * norm


@dataclass(frozen=True)
class RadarPose:
    """Where the radar sits and where it looks.

    Attributes:
        position: world position of the array's phase centre [m].
        yaw_deg: boresight heading, counter-clockwise from world +y (north) seen from above [deg].
        pitch_deg: boresight tilt, positive up [deg] (wall mounts usually tilt down: negative).
    """

    position: tuple[float, float, float] = (0.0, 0.0, 1.5)
    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    _rotation: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        yaw, pitch = np.deg2rad(self.yaw_deg), np.deg2rad(self.pitch_deg)
        cy, sy, cp, sp = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch)
        # Columns: radar x (right), y (boresight), z (up) expressed in world coordinates.
        boresight = np.array([-sy * cp, cy * cp, sp])
        right = np.array([cy, sy, 0.0])
        up = np.cross(right, boresight)
        object.__setattr__(self, "_rotation", np.stack([right, boresight, up], axis=1))

    @property
    def rotation(self) -> np.ndarray:
        """``[3, 3]`` matrix whose columns are the radar's x, y, z axes in world coordinates."""
        return self._rotation

    def to_radar(self, points: np.ndarray) -> np.ndarray:
        """World points ``[..., 3]`` -> radar-frame points ``[..., 3]`` [m]."""
        return (np.asarray(points) - np.asarray(self.position)) @ self._rotation

    def to_radar_vectors(self, vectors: np.ndarray) -> np.ndarray:
        """World directions/velocities ``[..., 3]`` -> radar frame (rotation only)."""
        return np.asarray(vectors) @ self._rotation

    def to_world(self, points: np.ndarray) -> np.ndarray:
        """Radar-frame points ``[..., 3]`` -> world ``[..., 3]`` [m]."""
        return np.asarray(points) @ self._rotation.T + np.asarray(self.position)
