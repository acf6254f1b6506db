"""Visibility: how much of each person the radar sees directly (line of sight from the radar to their
joints through the scene's static meshes and the other people's bodies).

The scenario sampler rejects placements that hide a person (``sim.dataset.scenario``); the dataset
truth records each person's line of sight over the window (``sim.dataset.simulate``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.humans import Human
from sim.propagation.scatter import occluded, scene_triangles
from sim.scene import Scene


@dataclass(frozen=True)
class Visibility:
    """How much of one person the radar sees directly (:func:`line_of_sight`).

    Attributes:
        line_of_sight: fraction of the (joint, time) pairs whose segment from the radar to the SMPL
            joint crosses no static mesh (walls, furniture, doors, windows) and no other person, in
            [0, 1].
        occluder: label of the object blocking the most of the other pairs (``"door"``,
            ``"wardrobe"``, ``"wall"``...; ``"person"`` for another person); None when none is blocked.
        occluder_name: that object's (or person's) name.
    """

    line_of_sight: float
    occluder: str | None = None
    occluder_name: str | None = None


def line_of_sight(
    scene: Scene, humans: Sequence[Human], times: np.ndarray | Sequence[Any]
) -> list[Visibility]:
    """Direct visibility of each person from the scene's radar over a few instants.

    A joint counts as seen at an instant when the segment radar -> joint crosses no triangle of the
    scene's static meshes and none of the other people's bodies at that instant (the scatter
    backend's test, :func:`sim.propagation.scatter.occluded`; a person's own body is left out since
    the joints lie inside it). The field of view is not part of it (``in_fov`` is). Deterministic.

    Args:
        scene: the :class:`sim.scene.Scene` (its radar position and static meshes).
        humans: the :class:`sim.humans.Human` objects.
        times: ``[T]`` instants [s] shared by everyone, or ``[people, T]`` (column ``i`` is one
            instant, given in each person's own timeline time).

    Returns:
        One :class:`Visibility` per person.
    """
    num = len(humans)
    times = np.asarray(times, dtype=np.float64)
    if times.ndim == 1:
        times = np.broadcast_to(times, (num, times.size))
    if num == 0:
        return []
    origin = np.asarray(scene.radar.position, dtype=np.float64)
    objects = [(o.label, o.name, scene_triangles(o.meshes)) for o in scene.objects]
    static = np.concatenate([np.zeros((0, 3, 3)), *(tri for _, _, tri in objects)])
    n_t = times.shape[1]
    joints = [np.stack([h.joints_at(float(t)) for t in times[p]]) for p, h in enumerate(humans)]
    bodies = (
        [[scene_triangles([h.mesh_at(float(t))]) for t in times[p]] for p, h in enumerate(humans)]
        if num > 1
        else [[]]
    )
    out = []
    for p in range(num):
        others = [q for q in range(num) if q != p]
        hidden = _blocked(origin, joints[p], static)  # [T, 24]
        for i in range(n_t):
            for q in others:
                hidden[i] |= _blocked(origin, joints[p][i], bodies[q][i])
        seen = 1.0 - float(hidden.mean())
        if not hidden.any():
            out.append(Visibility(seen))
            continue
        # Who blocks: each blocked segment tested against each object / other person alone.
        blocked = joints[p][hidden]  # [B, 3]
        counts = [(int(_blocked(origin, blocked, tri).sum()), lb, nm) for lb, nm, tri in objects]
        for q in others:
            hits = sum(
                int(_blocked(origin, joints[p][i][hidden[i]], bodies[q][i]).sum())
                for i in range(n_t)
            )
            counts.append((hits, "person", humans[q].name))
        best = max(counts, key=lambda c: c[0])  # first of the most blocking (scene order)
        out.append(Visibility(seen, best[1], best[2]) if best[0] else Visibility(seen))
    return out


def _blocked(origin: np.ndarray, targets: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """:func:`sim.propagation.scatter.occluded` for targets of any shape ``[..., 3]``, with the
    triangles first culled to those whose bounding box meets the segments' (same result, faster)."""
    flat = targets.reshape(-1, 3)
    if flat.shape[0] == 0 or triangles.shape[0] == 0:
        return np.zeros(targets.shape[:-1], dtype=bool)
    lo = np.minimum(flat.min(axis=0), origin) - 1e-6
    hi = np.maximum(flat.max(axis=0), origin) + 1e-6
    near = np.all((triangles.max(axis=1) >= lo) & (triangles.min(axis=1) <= hi), axis=1)
    return occluded(origin, flat, triangles[near]).reshape(targets.shape[:-1])
