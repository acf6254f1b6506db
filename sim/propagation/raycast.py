"""Segment occlusion against a fixed set of triangles, seen from one origin (the radar).

An occluder answers, for many segments ``origin -> target``, whether the segment crosses a
triangle before it reaches (``OCCLUSION_EPS_M`` short of) its target: the visibility test of the
scatterer backend (:mod:`sim.propagation.scatter`). Two implementations, picked by name:

- ``"embree"``: Intel Embree's BVH through ``embreex`` (the binding ``trimesh`` uses; a wheel on
  PyPI, no LLVM or GPU needed). The triangles are moved to the origin's frame and stored as float32,
  the BVH is built once at construction (30-50 ms for a 7k-triangle body on the busy 2-core dev
  machine, most of it in embreex's mesh copy) and each query is one ``rtcOccluded`` per ray.
  Triangles to ignore (those in a reflector's plane) are skipped by re-casting past them.
  Decisions agree with ``"numpy"`` except at grazing ties (a ray passing within float32 precision,
  ~1e-6 m at 10 m, of a triangle edge, or ending within that of a surface).
- ``"numpy"``: vectorised Moller-Trumbore over an angular grid (:func:`occluded`), float64; the
  reference. A triangle is tested against the rays of every grid cell its directions reach: the
  polar range includes each edge's interior extremum and the poles it holds (before, only its
  vertices' cells were used, which missed walls right beside the radar).
"""

from __future__ import annotations

import os
from typing import Any, Protocol

import numpy as np

#: Occlusion backends by name; the first is the default.
RAYCASTERS = ("embree", "numpy")
#: Segment length kept short of the target in the occlusion test [m] (both backends).
OCCLUSION_EPS_M = 2e-3
#: Rays start this far from the origin along their direction [m]: Embree counts a hit at t = 0
#: (a triangle through the radar), the numpy test needs t > 1e-9 |d|.
EMBREE_TNEAR_M = 1e-6


class Occluder(Protocol):
    """Occlusion queries against triangles fixed at construction, from a fixed origin."""

    def occluded(self, targets: np.ndarray, exclude: np.ndarray | None = None) -> np.ndarray:
        """bool ``[R]``: the segment origin -> ``targets[r]`` (``[R, 3]`` [m]) is blocked.

        ``exclude``: bool ``[T]``, triangles to ignore (e.g. those of the plane a target lies on).
        """
        ...


def occluded(
    origin: np.ndarray, targets: np.ndarray, triangles: np.ndarray, *, cell_deg: float = 1.0
) -> np.ndarray:
    """Whether the segment ``origin -> target`` crosses a triangle before the target.

    Args:
        origin: ``[3]`` ray origin [m] (the radar).
        targets: ``[R, 3]`` segment ends [m].
        triangles: ``[T, 3, 3]`` scene triangles [m].
        cell_deg: angular cell size of the acceleration grid [deg].

    Returns:
        bool ``[R]``.
    """
    num_r = targets.shape[0]
    hidden = np.zeros(num_r, dtype=bool)
    if num_r == 0 or triangles.shape[0] == 0:
        return hidden
    o = np.asarray(origin, dtype=np.float64)
    d = targets - o  # [R, 3]
    dist = np.linalg.norm(d, axis=1)
    # Angular grid (azimuth over the full circle, polar angle from +z) around the origin.
    n_az = int(np.ceil(360.0 / cell_deg))
    n_po = int(np.ceil(180.0 / cell_deg))

    def cells(vec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        az = np.arctan2(vec[..., 1], vec[..., 0])
        po = np.arccos(
            np.clip(vec[..., 2] / np.maximum(np.linalg.norm(vec, axis=-1), 1e-12), -1, 1)
        )
        ia = np.minimum(((az + np.pi) / (2 * np.pi) * n_az).astype(np.int64), n_az - 1)
        ip = np.minimum((po / np.pi * n_po).astype(np.int64), n_po - 1)
        return ia, ip

    ray_a, ray_p = cells(d)
    tv = triangles - o  # [T, 3, 3]
    ta, tp = cells(tv)  # [T, 3]
    p_lo, p_hi = tp.min(axis=1), tp.max(axis=1)
    # The polar angle along an edge can peak between its ends (an edge passing over or under the
    # origin, e.g. a wall beside the radar): z/|p| on p = a + s e is extremal at
    # s* = (a_z (a.e) - e_z |a|^2) / (e_z (a.e) - a_z |e|^2).
    edge = np.roll(tv, -1, axis=1) - tv  # [T, 3, 3]
    ae = np.einsum("tvi,tvi->tv", tv, edge)
    num = tv[..., 2] * ae - edge[..., 2] * np.einsum("tvi,tvi->tv", tv, tv)
    den = edge[..., 2] * ae - tv[..., 2] * np.einsum("tvi,tvi->tv", edge, edge)
    ok = np.abs(den) > 1e-300
    s_star = np.where(ok, num / np.where(ok, den, 1.0), -1.0)
    between = (s_star > 0.0) & (s_star < 1.0)
    _, pe = cells(tv + np.clip(s_star, 0.0, 1.0)[..., None] * edge)  # [T, 3]
    p_lo = np.minimum(p_lo, np.where(between, pe, n_po).min(axis=1))
    p_hi = np.maximum(p_hi, np.where(between, pe, -1).max(axis=1))
    # A triangle pierced by the z axis holds a pole (its polar range reaches 0 or 180 deg).
    xy = tv[..., :2]
    cross = (
        xy[:, :, 0] * np.roll(xy, -1, axis=1)[:, :, 1]
        - xy[:, :, 1] * np.roll(xy, -1, axis=1)[:, :, 0]
    )  # [T, 3]: twice the signed area of (origin, v_i, v_i+1)
    area2 = cross.sum(axis=1)
    pierced = (np.all(cross >= 0, axis=1) | np.all(cross <= 0, axis=1)) & (np.abs(area2) > 0)
    w = np.roll(cross, -1, axis=1) / np.where(area2 == 0, 1.0, area2)[:, None]  # barycentric
    z_axis = np.einsum("tv,tv->t", w, tv[..., 2])
    p_lo = np.where(pierced & (z_axis > 0), 0, p_lo)
    p_hi = np.where(pierced & (z_axis < 0), n_po - 1, p_hi)
    a_lo, a_hi = ta.min(axis=1), ta.max(axis=1)
    # A triangle across the azimuth seam (or around the pole / very close) spans all azimuths.
    wide = (a_hi - a_lo) > n_az // 2
    near_pole = (p_lo == 0) | (p_hi == n_po - 1)
    a_lo = np.where(wide | near_pole, 0, a_lo)
    a_hi = np.where(wide | near_pole, n_az - 1, a_hi)
    # (triangle, cell) pairs
    span_a = a_hi - a_lo + 1
    span_p = p_hi - p_lo + 1
    n_cells = span_a * span_p
    tri_idx = np.repeat(np.arange(triangles.shape[0]), n_cells)
    local = np.arange(n_cells.sum()) - np.repeat(np.cumsum(n_cells) - n_cells, n_cells)
    cell_a = a_lo[tri_idx] + local % span_a[tri_idx]
    cell_p = p_lo[tri_idx] + local // span_a[tri_idx]
    tri_cell = cell_p * n_az + cell_a
    ray_cell = ray_p * n_az + ray_a
    # join rays and triangles on the cell
    t_order = np.argsort(tri_cell, kind="stable")
    tri_cell, tri_idx = tri_cell[t_order], tri_idx[t_order]
    r_order = np.argsort(ray_cell, kind="stable")
    start = np.searchsorted(tri_cell, ray_cell[r_order], side="left")
    stop = np.searchsorted(tri_cell, ray_cell[r_order], side="right")
    counts = stop - start
    ray_pair = np.repeat(r_order, counts)
    first = np.repeat(start, counts)
    offs = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    tri_pair = tri_idx[first + offs]
    step = 1 << 20
    for i in range(0, ray_pair.size, step):
        rr, tt = ray_pair[i : i + step], tri_pair[i : i + step]
        hit = _segment_hits(d[rr], dist[rr], tv[tt])
        hidden[rr[hit]] = True
    return hidden


def _segment_hits(d: np.ndarray, dist: np.ndarray, tri: np.ndarray) -> np.ndarray:
    """Moller-Trumbore: does the segment from 0 along ``d`` (length ``dist``) hit ``tri`` first."""
    e1 = tri[:, 1] - tri[:, 0]
    e2 = tri[:, 2] - tri[:, 0]
    pvec = np.cross(d, e2)
    det = np.einsum("ij,ij->i", e1, pvec)
    ok = np.abs(det) > 1e-15
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    tvec = -tri[:, 0]
    u = np.einsum("ij,ij->i", tvec, pvec) * inv
    qvec = np.cross(tvec, e1)
    v = np.einsum("ij,ij->i", d, qvec) * inv
    t = np.einsum("ij,ij->i", e2, qvec) * inv  # in units of |d| (d is not normalised)
    limit = 1.0 - OCCLUSION_EPS_M / np.maximum(dist, 1e-9)
    return ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 1e-9) & (t < limit)


class NumpyOccluder:
    """The reference: :func:`occluded` on the stored triangles."""

    def __init__(self, origin: np.ndarray, triangles: np.ndarray) -> None:
        self.origin = np.asarray(origin, dtype=np.float64)
        self.triangles = np.asarray(triangles, dtype=np.float64).reshape(-1, 3, 3)

    def occluded(self, targets: np.ndarray, exclude: np.ndarray | None = None) -> np.ndarray:
        tris = self.triangles if exclude is None else self.triangles[~exclude]
        return occluded(self.origin, np.asarray(targets, np.float64), tris)


class EmbreeOccluder:
    """Embree BVH of ``triangles`` (``[T, 3, 3]`` [m]), rays from ``origin`` (``[3]`` [m])."""

    #: Re-casts past ignored triangles before a ray is given up as blocked.
    MAX_SKIPS = 16

    def __init__(
        self,
        origin: np.ndarray,
        triangles: np.ndarray,
        indexed: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        try:  # lazy: an optional compiled dependency (the sim extra)
            from embreex import mesh_construction, rtcore_scene
        except ImportError as exc:
            raise ImportError(
                "the embree raycaster needs embreex (pip install 'mmfm[sim]' or embreex); "
                "raycaster 'numpy' works without it, about 30x slower"
            ) from exc

        self.origin = np.asarray(origin, dtype=np.float64)
        self._scene = None
        if indexed is not None:  # shared vertices: embreex copies them ~3x faster
            verts, faces = indexed
            self.num_triangles = int(faces.shape[0])
            if self.num_triangles:
                self._scene = rtcore_scene.EmbreeScene(_device())
                local = np.ascontiguousarray(verts - self.origin, dtype=np.float32)
                idx = np.ascontiguousarray(faces, dtype=np.int32)
                self._mesh = mesh_construction.TriangleMesh(self._scene, local, idx)
            return
        tris = np.asarray(triangles, dtype=np.float64).reshape(-1, 3, 3)
        self.num_triangles = tris.shape[0]
        if self.num_triangles:
            self._scene = rtcore_scene.EmbreeScene(_device())
            local = np.ascontiguousarray(tris - self.origin, dtype=np.float32)
            self._mesh = mesh_construction.TriangleMesh(self._scene, local)

    def occluded(self, targets: np.ndarray, exclude: np.ndarray | None = None) -> np.ndarray:
        targets = np.asarray(targets, dtype=np.float64).reshape(-1, 3)
        hidden = np.zeros(targets.shape[0], dtype=bool)
        if self._scene is None or targets.shape[0] == 0:
            return hidden
        d = targets - self.origin  # [R, 3]
        dist = np.linalg.norm(d, axis=1)
        tfar = dist - OCCLUSION_EPS_M - EMBREE_TNEAR_M
        live = np.flatnonzero(tfar > 0.0)
        if live.size == 0:
            return hidden
        u = d[live] / dist[live, None]
        start = np.full(live.size, EMBREE_TNEAR_M)
        if exclude is None or not exclude.any():
            res = self._run(u, start, tfar[live], "OCCLUDED")
            hidden[live] = np.asarray(res) >= 0
            return hidden
        # Closest hits; a ray whose hit is an ignored triangle goes on from just past it.
        end = tfar[live] + EMBREE_TNEAR_M
        for _ in range(self.MAX_SKIPS):
            res = self._run(u, start, end - start, "INTERSECT")
            prim = np.asarray(res["primID"])
            hit = prim >= 0
            skip = hit & exclude[np.where(hit, prim, 0)]
            hidden[live[hit & ~skip]] = True
            if not skip.any():
                return hidden
            t_hit = start[skip] + np.asarray(res["tfar"], np.float64)[skip]
            live, u, end = live[skip], u[skip], end[skip]
            start = t_hit + EMBREE_TNEAR_M * np.maximum(1.0, t_hit)
            go = start < end
            live, u, start, end = live[go], u[go], start[go], end[go]
            if live.size == 0:
                return hidden
        hidden[live] = True  # still on ignored triangles after MAX_SKIPS: call it blocked
        return hidden

    def _run(self, u: np.ndarray, start: np.ndarray, length: np.ndarray, query: str) -> Any:
        """One Embree query of rays ``start * u`` -> ``(start + length) * u`` (origin frame)."""
        assert self._scene is not None
        return self._scene.run(
            np.ascontiguousarray(u * start[:, None], dtype=np.float32),
            np.ascontiguousarray(u, dtype=np.float32),
            dists=np.ascontiguousarray(length, dtype=np.float32),
            query=query,
            output=1 if query == "INTERSECT" else None,
        )


_DEVICES: dict[int, Any] = {}
#: Threads the Embree device of this process builds its BVHs with (0: Embree's default, every CPU
#: the process may run on). :func:`set_embree_threads` sets it.
_EMBREE_THREADS = 0


def set_embree_threads(n: int) -> None:
    """Make this process's Embree device (made on first use, after this call) build with at most
    ``n`` threads (0: every CPU, Embree's default). ``sim.dataset.writer`` sets 1 in its worker
    processes: with ``--workers N`` the processes are the parallelism, and N devices of N threads
    each on N cores would oversubscribe the CPUs during every BVH build.

    embreex gives ``rtcNewDevice`` no configuration string (no ``"threads=1"``) and Embree reads no
    environment variable for it; its TBB tasking sizes its thread pool from the CPU affinity mask
    of the thread that makes the device, so :func:`_device` makes it under a mask of ``n`` CPUs (the
    calling thread's only, restored at once; where the platform has no affinity masks, nothing).
    """
    global _EMBREE_THREADS
    if n < 0:
        raise ValueError(f"threads must be >= 0, got {n}")
    _EMBREE_THREADS = int(n)


def _device() -> Any:
    """One Embree device per process (a scene of its own would make a device each); a forked
    worker makes its own (the parent's is left alone: its threads do not exist in the child)."""
    pid = os.getpid()
    if pid not in _DEVICES:
        from embreex import rtcore

        mask = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
        if mask is not None and 0 < _EMBREE_THREADS < len(mask):
            os.sched_setaffinity(0, sorted(mask)[:_EMBREE_THREADS])
            try:
                _DEVICES[pid] = rtcore.EmbreeDevice()
            finally:
                os.sched_setaffinity(0, mask)
        else:
            _DEVICES[pid] = rtcore.EmbreeDevice()
    return _DEVICES[pid]


def embree_available() -> bool:
    """Whether ``embreex`` imports (the ``sim`` extra installs it)."""
    try:
        import embreex.rtcore_scene  # noqa: F401
    except ImportError:
        return False
    return True


def make_occluder(
    kind: str,
    origin: np.ndarray,
    triangles: np.ndarray,
    indexed: tuple[np.ndarray, np.ndarray] | None = None,
) -> Occluder:
    """An occluder of ``triangles`` (``[T, 3, 3]`` [m]) seen from ``origin`` by backend ``kind``.

    ``indexed``: the same triangles as ``(vertices [V, 3], faces [T, 3])`` (same order), which the
    embree backend builds from faster.
    """
    if kind == "embree":
        return EmbreeOccluder(origin, triangles, indexed)
    if kind == "numpy":
        return NumpyOccluder(origin, triangles)
    raise ValueError(f"unknown raycaster {kind!r}; known: {', '.join(RAYCASTERS)}")
