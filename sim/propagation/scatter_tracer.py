"""The scatterer backend for many frames of one scene: what does not move is prepared once.

:func:`sim.propagation.scatter.trace_scatter` redoes everything per frame. Within one dataset
sample only the people move, so :class:`ScatterTracer` keeps, for the sample:

- the static meshes' scatterers (the sampling is per mesh, so static + moving scatterers
  concatenated are exactly those of ``trace_scatter`` on static + moving meshes);
- an occluder (BVH) of the static triangles, and the direct visibility of each static scatterer
  against them; per frame a static scatterer is only tested against the people's triangles;
- the reflector planes and, per plane, an occluder of the static triangles without the plane's own.

Per frame it samples the moving meshes' scatterers, builds one occluder of their triangles (plus,
rarely, one per plane where a moving triangle lies in the plane) and casts the moving scatterers'
direct rays and the image paths' reflection points. A segment is blocked when the static or the
moving occluder blocks it, the same decision as one test against all triangles. With
``raycaster="numpy"`` the paths equal ``trace_scatter``'s to the last bit (tests/test_raycast.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from firmware_cfg.chirp import ChirpConfig
from sim.geometry import Mesh, RadarPose
from sim.propagation.paths import PathSet
from sim.propagation.raycast import Occluder, make_occluder
from sim.propagation.scatter import (
    DEFAULT_DENSITY_PER_M2,
    Plane,
    ReflectionFn,
    Scatterers,
    _scene_triangles,
    in_plane,
    reflector_planes,
    sample_scatterers,
    scatter_paths,
    scatter_seed,
)


def _concat(a: Scatterers, b: Scatterers, mesh_offset: int) -> Scatterers:
    """``a`` then ``b`` (whose ``mesh_index`` is shifted by ``mesh_offset``)."""
    fields = {}
    for name in Scatterers.__dataclass_fields__:
        x, y = getattr(a, name), getattr(b, name)
        if name == "mesh_index":
            y = y + mesh_offset
        fields[name] = np.concatenate([x, y])
    return Scatterers(**fields)


def _indexed(meshes: Sequence[Mesh]) -> tuple[np.ndarray, np.ndarray]:
    """``(vertices [V, 3], faces [T, 3])`` of ``meshes``: the triangles of ``_scene_triangles``."""
    verts, faces, base = [], [], 0
    for m in meshes:
        f = np.asarray(m.faces, np.int64)
        if f.size == 0:
            continue
        v = np.asarray(m.vertices, np.float64)
        verts.append(v)
        faces.append(f + base)
        base += v.shape[0]
    if not faces:
        return np.zeros((0, 3)), np.zeros((0, 3), np.int64)
    return np.concatenate(verts), np.concatenate(faces)


class ScatterTracer:
    """``trace_scatter`` over frames of one scene whose ``static_meshes`` do not change.

    Args:
        static_meshes: the meshes that stay put for the tracer's life (world frame); they come
            first in the mesh list of every frame.
        pose, cfg: radar pose and chirp configuration.
        raycaster: ``"embree"`` or ``"numpy"`` (:mod:`sim.propagation.raycast`).
        Other keyword arguments as in :func:`sim.propagation.scatter.trace_scatter`.
    """

    def __init__(
        self,
        static_meshes: Sequence[Mesh],
        pose: RadarPose,
        cfg: ChirpConfig,
        *,
        density_per_m2: float | Mapping[str, float] | None = None,
        max_bounces: int = 2,
        rng: np.random.Generator | int | None = None,
        materials: ReflectionFn | None = None,
        multipath_from: str = "moving",
        max_multipath_paths: int = 1500,
        rms_slope: Mapping[str, float] | None = None,
        raycaster: str = "embree",
    ) -> None:
        self.static = list(static_meshes)
        self.pose, self.cfg = pose, cfg
        self.seed = scatter_seed(rng)
        self.density = DEFAULT_DENSITY_PER_M2 if density_per_m2 is None else density_per_m2
        self.kwargs = {
            "max_bounces": max_bounces,
            "materials": materials,
            "multipath_from": multipath_from,
            "max_multipath_paths": max_multipath_paths,
            "rms_slope": rms_slope,
        }
        self.raycaster = raycaster
        self.origin = np.asarray(pose.position, dtype=np.float64)
        self.static_sc = sample_scatterers(self.static, self.density, self.seed)
        self.static_tris = _scene_triangles(self.static)  # [T_s, 3, 3]
        self.static_occ = make_occluder(raycaster, self.origin, self.static_tris)
        # direct visibility of each static scatterer against the static triangles (when first asked)
        n_static_sc = self.static_sc.position.shape[0]
        self._static_tested = np.zeros(n_static_sc, dtype=bool)
        self._static_clear = np.zeros(n_static_sc, dtype=bool)
        self.static_planes = reflector_planes(self.static, self.origin)
        self.static_in_plane = in_plane(self.static_tris, self.static_planes)  # [K, T_s]

    def _static_visible(self, idx: np.ndarray) -> np.ndarray:
        """bool ``[len(idx)]``: static scatterers ``idx`` seen past the static triangles.

        Each scatterer is cast once per tracer (the same ones are asked every frame).
        """
        todo = idx[~self._static_tested[idx]]
        if todo.size:
            self._static_clear[todo] = ~self.static_occ.occluded(self.static_sc.position[todo])
            self._static_tested[todo] = True
        return self._static_clear[idx]

    def trace(self, moving_meshes: Sequence[Mesh], t_ref_s: float) -> PathSet:
        """Paths of the scene ``static_meshes + moving_meshes`` at ``t_ref_s`` [s].

        Equals ``trace_scatter(static_meshes + moving_meshes, pose, cfg, t_ref_s, ...)`` (exactly
        with ``raycaster="numpy"``; with ``"embree"`` up to decisions at grazing ties).
        """
        moving = list(moving_meshes)
        meshes = self.static + moving
        n_static_sc = self.static_sc.position.shape[0]
        dyn_sc = sample_scatterers(moving, self.density, self.seed)
        sc = _concat(self.static_sc, dyn_sc, len(self.static))
        dyn_tris = _scene_triangles(moving)
        dyn_occ = make_occluder(self.raycaster, self.origin, dyn_tris, _indexed(moving))

        def direct_occluded(idx: np.ndarray) -> np.ndarray:
            hidden = np.ones(idx.size, dtype=bool)
            is_static = idx < n_static_sc
            s_idx = idx[is_static]
            clear_s = self._static_visible(s_idx)
            cand = np.flatnonzero(is_static)[clear_s]
            hidden[cand] = dyn_occ.occluded(sc.position[idx[cand]])
            m_pos = np.flatnonzero(~is_static)
            pts = sc.position[idx[m_pos]]
            blocked = dyn_occ.occluded(pts)
            free = ~blocked
            blocked[free] = self.static_occ.occluded(pts[free])
            hidden[m_pos] = blocked
            return hidden

        planes = list(self.static_planes)
        n_sp = len(planes)
        planes += reflector_planes(moving, self.origin)  # moving reflectors: rare
        dyn_in_plane = in_plane(dyn_tris, planes)  # [K, T_d]
        all_occ: list[Occluder] = []

        def plane_occluded(k: int, plane: Plane, pts: np.ndarray) -> np.ndarray:
            if k >= n_sp:  # a moving reflector: one test against everything
                if not all_occ:
                    all_occ.append(make_occluder(self.raycaster, self.origin, all_tris()))
                return all_occ[0].occluded(pts, in_plane(all_tris(), [plane])[0])
            blocked = dyn_occ.occluded(pts, dyn_in_plane[k])
            free = ~blocked
            blocked[free] = self.static_occ.occluded(pts[free], self.static_in_plane[k])
            return blocked

        def all_tris() -> np.ndarray:
            return np.concatenate([self.static_tris, dyn_tris])

        return scatter_paths(
            meshes,
            sc,
            self.pose,
            self.cfg,
            t_ref_s,
            seed=self.seed,
            direct_occluded=direct_occluded,
            planes=planes,
            plane_occluded=plane_occluded,
            **self.kwargs,
        )
