"""The Embree ray caster against the numpy reference and brute force, and the per-sample tracer.

Fixed scenes: generated rooms with a person (scenario seeds), rays from the radar to the scene's
scatterers and to random points; decisions must agree except at grazing ties (a segment ending
within ``TIE_M`` of a triangle's plane near its end, or passing within ``TIE_M`` of an edge).
"""

from __future__ import annotations

import os
import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from sim.dataset.scenario import sample_scenario
from sim.propagation.raycast import (
    OCCLUSION_EPS_M,
    EmbreeOccluder,
    NumpyOccluder,
    _segment_hits,
    embree_available,
    make_occluder,
    set_embree_threads,
)
from sim.propagation.scatter import (
    DEFAULT_DENSITY_PER_M2,
    _scene_triangles,
    in_plane,
    reflector_planes,
    sample_scatterers,
    trace_scatter,
)
from sim.propagation.scatter_tracer import ScatterTracer

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(not embree_available(), reason="embreex not installed (sim extra)")

TIE_M = 1e-4
TIE_REL = 1e-4


@cache
def scene_of(index: int):
    sc = sample_scenario(3, index, window_s=0.5)
    scene = sc.scene()
    humans = sc.humans()
    static = scene.static_meshes()
    moving = [h.mesh_at(0.2) for h in humans]
    return sc, scene, static, moving


def _near_tie(origin: np.ndarray, targets: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """Rays that graze a triangle: its hit (Moller-Trumbore with a tolerance) lies within a
    relative ``TIE_REL`` of the triangle's edges or within ``TIE_M`` of the segment's ends."""
    d = targets - origin
    dist = np.linalg.norm(d, axis=1)
    tv = tris - origin
    e1, e2 = tv[:, 1] - tv[:, 0], tv[:, 2] - tv[:, 0]
    tie = np.zeros(len(targets), bool)
    for r in range(len(targets)):
        p = np.cross(d[r], e2)
        det = np.einsum("ij,ij->i", e1, p)
        inv = 1.0 / np.where(np.abs(det) > 1e-18, det, np.inf)
        u = np.einsum("ij,ij->i", -tv[:, 0], p) * inv
        q = np.cross(-tv[:, 0], e1)
        v = (q @ d[r]) * inv
        t = np.einsum("ij,ij->i", e2, q) * inv * dist[r]  # [m] along the ray
        w = 1.0 - u - v
        near = (u > -TIE_REL) & (v > -TIE_REL) & (w > -TIE_REL)
        on_edge = near & (np.minimum(np.minimum(u, v), w) < TIE_REL) & (t > -TIE_M)
        on_edge &= t < dist[r] + TIE_M
        at_end = near & (np.abs(t - (dist[r] - OCCLUSION_EPS_M)) < TIE_M)
        tie[r] = bool((on_edge | at_end).any())
    return tie


@pytest.mark.parametrize("index", [0, 1])
def test_embree_agrees_with_numpy_on_scene_rays(index: int) -> None:
    """Thousands of rays to a room's scatterers and random points: same hit/miss decisions."""
    sc, scene, static, moving = scene_of(index)
    meshes = static + moving
    origin = np.asarray(scene.radar.position)
    tris = _scene_triangles(meshes)
    pts = sample_scatterers(meshes, DEFAULT_DENSITY_PER_M2, sc.scatter_seed).position
    rng = np.random.default_rng(index)
    lo, hi = tris.reshape(-1, 3).min(0), tris.reshape(-1, 3).max(0)
    targets = np.concatenate([pts, rng.uniform(lo, hi, size=(3000, 3))])
    assert len(targets) > 5000
    ref = NumpyOccluder(origin, tris).occluded(targets)
    new = EmbreeOccluder(origin, tris).occluded(targets)
    assert 0.05 < ref.mean() < 0.98  # a real mix of hidden and visible rays
    differ = np.flatnonzero(ref != new)
    # every disagreement is a grazing tie; there are few of them
    assert differ.size <= max(3, targets.shape[0] // 1000), differ.size
    if differ.size:
        assert _near_tie(origin, targets[differ], tris).all()


def test_numpy_agrees_with_brute_force_moller_trumbore() -> None:
    """The grid reference finds every hit that a test against all triangles finds (the wall beside
    the radar used to be missed: its edges pass over the radar)."""
    sc, scene, static, moving = scene_of(0)
    meshes = static + moving
    origin = np.asarray(scene.radar.position)
    tris = _scene_triangles(meshes)
    pts = sample_scatterers(meshes, DEFAULT_DENSITY_PER_M2, sc.scatter_seed).position[::4]
    d = pts - origin
    dist = np.linalg.norm(d, axis=1)
    tv = tris - origin
    brute = np.zeros(len(pts), bool)
    for j in range(len(tv)):
        brute |= _segment_hits(d, dist, np.broadcast_to(tv[j], (len(d), 3, 3)))
    grid = NumpyOccluder(origin, tris).occluded(pts)
    assert (grid != brute).sum() <= 2, (grid != brute).sum()


def test_plane_exclusion_matches_removing_the_triangles() -> None:
    """Rays to reflection points: ignoring a plane's triangles = leaving them out of the scene."""
    _sc, scene, static, moving = scene_of(0)
    meshes = static + moving
    origin = np.asarray(scene.radar.position)
    tris = _scene_triangles(meshes)
    planes = reflector_planes(meshes, origin)
    masks = in_plane(tris, planes)
    rng = np.random.default_rng(5)
    emb = make_occluder("embree", origin, tris)
    checked = 0
    for k, plane in enumerate(planes[:8]):
        # random points on the plane inside its bounds
        pts = rng.uniform(plane.lo, plane.hi, size=(300, 3))
        pts -= ((pts @ plane.normal) - plane.offset)[:, None] * plane.normal
        ref = NumpyOccluder(origin, tris[~masks[k]]).occluded(pts)
        new = emb.occluded(pts, masks[k])
        assert (ref != new).sum() <= 2, (k, (ref != new).sum())
        checked += 300
    assert checked >= 1200


@pytest.mark.parametrize("raycaster", ["numpy", "embree"])
def test_tracer_equals_trace_scatter(raycaster: str) -> None:
    """The per-sample tracer (static part kept) gives trace_scatter's paths over several frames."""
    sc, scene, static, _moving = scene_of(1)
    cfg = sc.radar_config().chirp
    humans = sc.humans()
    tracer = ScatterTracer(static, scene.radar, cfg, rng=sc.scatter_seed, raycaster=raycaster)
    for t in (0.05, 0.25):
        mov = [h.mesh_at(t) for h in humans]
        ref = trace_scatter(static + mov, scene.radar, cfg, t, rng=sc.scatter_seed)
        got = tracer.trace(mov, t)
        if raycaster == "numpy":  # same decisions, same arithmetic: bit for bit
            assert np.array_equal(got.delay_s, ref.delay_s)
            assert np.array_equal(got.gain, ref.gain)
            assert np.array_equal(got.delay_rate, ref.delay_rate)
        else:  # decisions may differ at ties only
            assert abs(got.delay_s.size - ref.delay_s.size) <= 3
            assert got.object_names == ref.object_names


_THREADS_PROBE = """
import os, sys
import numpy as np
from sim.propagation import raycast
if sys.argv[1] != "default":
    raycast.set_embree_threads(int(sys.argv[1]))
mask = os.sched_getaffinity(0)
occ = raycast.make_occluder("embree", np.zeros(3), np.random.default_rng(0).random((50000, 3, 3)))
occ.occluded(np.random.default_rng(1).random((100, 3)) + 2.0)
assert os.sched_getaffinity(0) == mask, "affinity not restored"
print(len(os.listdir("/proc/self/task")))
"""


@pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="needs Linux CPU affinity masks and two or more CPUs",
)
def test_one_embree_thread_per_worker_process_makes_fewer_threads() -> None:
    """A worker of ``generate --workers N`` builds its BVHs on its own thread: Embree's pool has one
    thread fewer (at least) than with its default, and the process's CPU mask is left as it was."""
    counts = {}
    for arg in ("default", "1"):
        out = subprocess.run(
            [sys.executable, "-c", _THREADS_PROBE, arg],
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
        )
        counts[arg] = int(out.stdout.split()[-1])
    assert counts["1"] < counts["default"], counts
    with pytest.raises(ValueError, match="threads must be >= 0"):
        set_embree_threads(-1)
