"""Primitive solids and 2-D footprints for procedural scenes (pure numpy).

Conventions: metres; world frame ``x`` east, ``y`` north, ``z`` up. An object's local frame has its
origin on the floor at the centre of its footprint, local ``+y`` is its *front* (where a person sits or
stands), local ``-y`` its back (against a wall). A heading / yaw [deg] is counter-clockwise from world
``+y`` seen from above, like :class:`sim.geometry.RadarPose`: local ``+y`` maps to
``(-sin yaw, cos yaw)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

# Unit cube corners and its 12 outward (counter-clockwise seen from outside) triangles.
_CUBE_CORNERS = np.array(
    [[x, y, z] for z in (-0.5, 0.5) for y in (-0.5, 0.5) for x in (-0.5, 0.5)], dtype=float
)  # [8, 3], index = 4 z + 2 y + x
_CUBE_FACES = np.array(
    [
        [0, 2, 1], [1, 2, 3],  # bottom (-z)
        [4, 5, 6], [5, 7, 6],  # top (+z)
        [0, 1, 4], [1, 5, 4],  # south (-y)
        [2, 6, 3], [3, 6, 7],  # north (+y)
        [0, 4, 2], [2, 4, 6],  # west (-x)
        [1, 3, 5], [3, 7, 5],  # east (+x)
    ],
    dtype=np.int64,
)  # fmt: skip


def rot2(yaw_deg: float) -> np.ndarray:
    """``[2, 2]`` rotation taking local (x, y) to world (x, y) for a heading ``yaw_deg`` [deg]."""
    t = np.deg2rad(yaw_deg)
    c, s = np.cos(t), np.sin(t)
    return np.array([[c, -s], [s, c]])


def heading_vector(yaw_deg: float) -> np.ndarray:
    """World unit vector ``[2]`` of the heading ``yaw_deg`` [deg] (0 = north, 90 = west)."""
    t = np.deg2rad(yaw_deg)
    return np.array([-np.sin(t), np.cos(t)])


def box(
    center: tuple[float, float, float], size: tuple[float, float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Axis-aligned box: vertices ``[8, 3]`` [m] and faces ``[12, 3]``."""
    return _CUBE_CORNERS * np.asarray(size, float) + np.asarray(center, float), _CUBE_FACES.copy()


def cylinder(
    center_xy: tuple[float, float], z0: float, z1: float, radius: float, segments: int = 12
) -> tuple[np.ndarray, np.ndarray]:
    """Vertical closed cylinder from ``z0`` to ``z1`` [m]: vertices ``[2 s + 2, 3]``, faces ``[4 s, 3]``."""
    a = np.linspace(0.0, 2 * np.pi, segments, endpoint=False)
    ring = np.stack([center_xy[0] + radius * np.cos(a), center_xy[1] + radius * np.sin(a)], axis=1)
    bottom = np.column_stack([ring, np.full(segments, z0)])
    top = np.column_stack([ring, np.full(segments, z1)])
    verts = np.vstack([bottom, top, [[*center_xy, z0]], [[*center_xy, z1]]])
    i = np.arange(segments)
    j = (i + 1) % segments
    cb, ct = 2 * segments, 2 * segments + 1
    faces = np.vstack(
        [
            np.column_stack([i, j, segments + j]),
            np.column_stack([i, segments + j, segments + i]),
            np.column_stack([np.full(segments, cb), j, i]),
            np.column_stack([np.full(segments, ct), segments + i, segments + j]),
        ]
    )
    return verts, faces.astype(np.int64)


@dataclass(frozen=True)
class Footprint:
    """Oriented rectangle on the floor.

    Attributes:
        center: world (x, y) [m].
        size: (width along local x, depth along local y) [m].
        yaw_deg: heading of local +y [deg].
    """

    center: tuple[float, float]
    size: tuple[float, float]
    yaw_deg: float = 0.0

    def corners(self) -> np.ndarray:
        """World corners ``[4, 2]`` [m], counter-clockwise."""
        return self._corners.copy()

    @cached_property
    def _corners(self) -> np.ndarray:
        w, d = self.size[0] / 2, self.size[1] / 2
        local = np.array([[-w, -d], [w, -d], [w, d], [-w, d]])
        return local @ rot2(self.yaw_deg).T + np.asarray(self.center)

    def contains(self, x: float, y: float, margin: float = 0.0) -> bool:
        """Whether (x, y) [m] lies inside the rectangle grown by ``margin`` [m]."""
        local = rot2(self.yaw_deg).T @ (np.array([x, y]) - np.asarray(self.center))
        return bool(
            abs(local[0]) <= self.size[0] / 2 + margin
            and abs(local[1]) <= self.size[1] / 2 + margin
        )

    def inflated(self, margin: float) -> Footprint:
        """The same rectangle grown by ``margin`` [m] on every side."""
        return Footprint(
            self.center, (self.size[0] + 2 * margin, self.size[1] + 2 * margin), self.yaw_deg
        )

    def aabb(self) -> tuple[float, float, float, float]:
        """``(xmin, ymin, xmax, ymax)`` [m]."""
        c = self.corners()
        return (
            float(c[:, 0].min()),
            float(c[:, 1].min()),
            float(c[:, 0].max()),
            float(c[:, 1].max()),
        )

    def to_dict(self) -> dict:
        return {"center": list(self.center), "size": list(self.size), "yaw_deg": self.yaw_deg}


def rect_from_bounds(xmin: float, ymin: float, xmax: float, ymax: float) -> Footprint:
    """Axis-aligned footprint from bounds [m]."""
    return Footprint(((xmin + xmax) / 2, (ymin + ymax) / 2), (xmax - xmin, ymax - ymin), 0.0)


def overlap(a: Footprint, b: Footprint, tol: float = 1e-6) -> bool:
    """Whether two oriented rectangles overlap by more than ``tol`` [m] (separating-axis test)."""
    ca, cb = a._corners, b._corners
    if (
        ca[:, 0].max() <= cb[:, 0].min() + tol
        or cb[:, 0].max() <= ca[:, 0].min() + tol
        or ca[:, 1].max() <= cb[:, 1].min() + tol
        or cb[:, 1].max() <= ca[:, 1].min() + tol
    ):
        return False  # bounding boxes apart
    for poly in (ca, cb):
        for k in range(2):
            edge = poly[k + 1] - poly[k]
            axis = np.array([-edge[1], edge[0]]) / np.linalg.norm(edge)
            pa, pb = ca @ axis, cb @ axis
            if pa.max() <= pb.min() + tol or pb.max() <= pa.min() + tol:
                return False
    return True


def inside(inner: Footprint, outer: Footprint, tol: float = 1e-6) -> bool:
    """Whether every corner of ``inner`` lies in ``outer`` (within ``tol`` [m])."""
    return all(outer.contains(float(x), float(y), tol) for x, y in inner.corners())


def merge(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concatenate ``(vertices, faces)`` parts: vertices ``[V, 3]``, faces ``[F, 3]``, part id ``[V]``."""
    verts, faces, ids = [], [], []
    offset = 0
    for k, (v, f) in enumerate(parts):
        verts.append(v)
        faces.append(f + offset)
        ids.append(np.full(len(v), k, dtype=np.int64))
        offset += len(v)
    return np.vstack(verts), np.vstack(faces), np.concatenate(ids)
