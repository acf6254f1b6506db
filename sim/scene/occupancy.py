"""2-D occupancy grid of walkable floor, with sampling and A* path planning (for people and the judge).

A cell is free when its centre lies on a room's floor or in a doorway, and the nearest obstacle (wall,
furniture, stairs, the outside) is more than ``clearance_m`` away from it, so a body of radius
``clearance_m`` centred anywhere in a free cell's centre touches nothing.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from sim.scene.shapes import Footprint, rot2


@dataclass(frozen=True, eq=False)
class OccupancyGrid:
    """Walkable floor.

    Attributes:
        free: bool ``[ny, nx]``; ``free[j, i]`` is the cell whose centre is
            ``(origin[0] + (i + 0.5) res, origin[1] + (j + 0.5) res)``.
        origin: world (x, y) of the grid's south-west corner [m].
        resolution: cell size [m].
        clearance: body radius the grid was made for [m].
    """

    free: np.ndarray
    origin: tuple[float, float]
    resolution: float
    clearance: float
    _labels: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        labels, _ = ndimage.label(self.free, structure=np.ones((3, 3), dtype=bool))
        object.__setattr__(self, "_labels", labels)

    @property
    def shape(self) -> tuple[int, int]:
        return self.free.shape  # type: ignore[return-value]

    def cell_of(self, x: float, y: float) -> tuple[int, int] | None:
        """``(j, i)`` of the cell containing (x, y) [m], or None outside the grid."""
        i = int(np.floor((x - self.origin[0]) / self.resolution))
        j = int(np.floor((y - self.origin[1]) / self.resolution))
        if 0 <= j < self.free.shape[0] and 0 <= i < self.free.shape[1]:
            return j, i
        return None

    def center_of(self, j: int, i: int) -> tuple[float, float]:
        """World centre (x, y) [m] of cell ``(j, i)``."""
        return (
            self.origin[0] + (i + 0.5) * self.resolution,
            self.origin[1] + (j + 0.5) * self.resolution,
        )

    def is_free(self, x: float, y: float) -> bool:
        """Whether the cell containing (x, y) [m] is walkable."""
        c = self.cell_of(x, y)
        return c is not None and bool(self.free[c])

    def sample_free(self, rng: np.random.Generator) -> tuple[float, float]:
        """A uniformly random walkable point (x, y) [m]."""
        cells = np.argwhere(self.free)
        if len(cells) == 0:
            raise ValueError("no walkable floor in this scene")
        j, i = cells[int(rng.integers(len(cells)))]
        x, y = self.center_of(int(j), int(i))
        jitter = rng.uniform(-0.45, 0.45, size=2) * self.resolution
        return float(x + jitter[0]), float(y + jitter[1])

    def nearest_free(self, x: float, y: float, max_dist_m: float = 0.5) -> tuple[int, int] | None:
        """Cell ``(j, i)`` of the free cell nearest to (x, y) within ``max_dist_m`` [m], or None."""
        r = int(np.ceil(max_dist_m / self.resolution)) + 1
        ci = int(np.floor((x - self.origin[0]) / self.resolution))
        cj = int(np.floor((y - self.origin[1]) / self.resolution))
        j0, j1 = max(cj - r, 0), min(cj + r + 1, self.free.shape[0])
        i0, i1 = max(ci - r, 0), min(ci + r + 1, self.free.shape[1])
        if j0 >= j1 or i0 >= i1:
            return None
        jj, ii = np.nonzero(self.free[j0:j1, i0:i1])
        if len(jj) == 0:
            return None
        cx = self.origin[0] + (ii + i0 + 0.5) * self.resolution
        cy = self.origin[1] + (jj + j0 + 0.5) * self.resolution
        d = np.hypot(cx - x, cy - y)
        k = int(np.argmin(d))
        if d[k] > max_dist_m:
            return None
        return int(jj[k] + j0), int(ii[k] + i0)

    def component(self, x: float, y: float, max_dist_m: float = 0.5) -> int:
        """Connected-component id of the free area near (x, y) (0: none within ``max_dist_m``)."""
        c = self.nearest_free(x, y, max_dist_m)
        return 0 if c is None else int(self._labels[c])

    def reachable(
        self, a: tuple[float, float], b: tuple[float, float], max_snap_m: float = 0.5
    ) -> bool:
        """Whether a walk from ``a`` to ``b`` [m] exists (each end snapped to free floor within
        ``max_snap_m``)."""
        ca, cb = self.component(*a, max_snap_m), self.component(*b, max_snap_m)
        return ca != 0 and ca == cb

    def shortest_path(
        self, a: tuple[float, float], b: tuple[float, float], max_snap_m: float = 0.5
    ) -> np.ndarray:
        """Shortest 8-connected walk from ``a`` to ``b`` (A*, no corner cutting).

        Returns:
            ``[N, 2]`` world waypoints [m]: ``a``, the centres of the cells in between, ``b``. Ends that
            are not on free floor are snapped to the nearest free cell within ``max_snap_m`` first.

        Raises:
            ValueError: an end has no free floor nearby, or no path exists.
        """
        start = self.nearest_free(*a, max_snap_m)
        goal = self.nearest_free(*b, max_snap_m)
        if start is None or goal is None:
            bad = a if start is None else b
            raise ValueError(
                f"no walkable floor within {max_snap_m} m of ({bad[0]:.2f}, {bad[1]:.2f})"
            )
        if self._labels[start] != self._labels[goal]:
            raise ValueError(
                f"no walkable path from ({a[0]:.2f}, {a[1]:.2f}) to ({b[0]:.2f}, {b[1]:.2f})"
            )
        cells = _astar(self.free, start, goal)
        pts = [self.center_of(j, i) for j, i in cells]
        if self.is_free(*a):
            pts[0] = (float(a[0]), float(a[1]))
        if self.is_free(*b):
            pts[-1] = (float(b[0]), float(b[1]))
        return np.asarray(pts, dtype=float)


_STEPS = [(dj, di, float(np.hypot(dj, di))) for dj in (-1, 0, 1) for di in (-1, 0, 1) if dj or di]


def _astar(
    free: np.ndarray, start: tuple[int, int], goal: tuple[int, int]
) -> list[tuple[int, int]]:
    ny, nx = free.shape

    def h(c: tuple[int, int]) -> float:
        dj, di = abs(c[0] - goal[0]), abs(c[1] - goal[1])
        return max(dj, di) + (np.sqrt(2) - 1) * min(dj, di)

    g = {start: 0.0}
    came: dict[tuple[int, int], tuple[int, int]] = {}
    heap = [(h(start), 0.0, start)]
    closed: set[tuple[int, int]] = set()
    while heap:
        _, cost, cur = heapq.heappop(heap)
        if cur == goal:
            path = [cur]
            while cur in came:
                cur = came[cur]
                path.append(cur)
            return path[::-1]
        if cur in closed:
            continue
        closed.add(cur)
        for dj, di, step in _STEPS:
            nj, ni = cur[0] + dj, cur[1] + di
            if not (0 <= nj < ny and 0 <= ni < nx) or not free[nj, ni]:
                continue
            if dj and di and not (free[cur[0] + dj, cur[1]] and free[cur[0], cur[1] + di]):
                continue  # no corner cutting
            nxt = (nj, ni)
            ng = cost + step
            if ng < g.get(nxt, np.inf):
                g[nxt] = ng
                came[nxt] = cur
                heapq.heappush(heap, (ng + h(nxt), ng, nxt))
    raise ValueError("no path")  # unreachable when both ends share a component


def rasterize(
    mask: np.ndarray, fp: Footprint, origin: tuple[float, float], res: float, value: bool
) -> None:
    """Set ``mask`` cells whose centre lies inside ``fp`` to ``value`` (in place)."""
    xmin, ymin, xmax, ymax = fp.aabb()
    i0 = max(int(np.floor((xmin - origin[0]) / res)), 0)
    i1 = min(int(np.ceil((xmax - origin[0]) / res)), mask.shape[1])
    j0 = max(int(np.floor((ymin - origin[1]) / res)), 0)
    j1 = min(int(np.ceil((ymax - origin[1]) / res)), mask.shape[0])
    if i0 >= i1 or j0 >= j1:
        return
    xs = origin[0] + (np.arange(i0, i1) + 0.5) * res
    ys = origin[1] + (np.arange(j0, j1) + 0.5) * res
    gx, gy = np.meshgrid(xs, ys)
    local = np.stack([gx - fp.center[0], gy - fp.center[1]], axis=-1) @ rot2(fp.yaw_deg)
    inside = (np.abs(local[..., 0]) <= fp.size[0] / 2) & (np.abs(local[..., 1]) <= fp.size[1] / 2)
    mask[j0:j1, i0:i1][inside] = value


def build_grid(
    floor: list[Footprint],
    obstacles: list[Footprint],
    bounds: tuple[float, float, float, float],
    resolution_m: float,
    clearance_m: float,
) -> OccupancyGrid:
    """Grid over ``bounds`` (xmin, ymin, xmax, ymax) [m]: ``floor`` rectangles are walkable unless
    within ``clearance_m`` of anything else or of an ``obstacles`` rectangle."""
    xmin, ymin, xmax, ymax = bounds
    nx = int(np.ceil((xmax - xmin) / resolution_m))
    ny = int(np.ceil((ymax - ymin) / resolution_m))
    origin = (xmin, ymin)
    walk = np.zeros((ny, nx), dtype=bool)
    for fp in floor:
        rasterize(walk, fp, origin, resolution_m, True)
    for fp in obstacles:
        rasterize(walk, fp, origin, resolution_m, False)
    # Distance from each walkable cell centre to the nearest blocked cell's edge.
    dist = (
        ndimage.distance_transform_edt(np.pad(walk, 1))[1:-1, 1:-1] * resolution_m
        - resolution_m / 2
    )
    free = walk & (dist >= clearance_m - 1e-9)
    return OccupancyGrid(free, origin, resolution_m, clearance_m)
