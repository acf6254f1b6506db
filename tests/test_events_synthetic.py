"""Synthetic people as radar point clouds, for the tracking and event tests (and checks of the generator).

A person is a scripted floor-frame path (x, y [m] over time) and a top-of-body height over time. Each
frame draws 12-28 points over the body: a vertical spread up to the height (more at the torso) when
upright, a 1.6 m long body along the heading when lying, ~0.12 m horizontal scatter. Each point's
radial velocity is the body velocity (plus limb motion while walking) projected on the line of sight
from the radar (+ = away). A few uniform clutter points per frame add noise. The points are returned in
the radar frame (TI's convention) through the mounting, as a real radar would report them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from runtime.events.settings import Mounting
from runtime.frames import POINT_DTYPE, PointCloudFrame
from runtime.tracking import from_floor, to_floor

MOUNTING = Mounting(height_m=1.5, tilt_deg=10.0)
FPS = 10.0
T0 = 1_700_000_000.0  # frame timestamps [s since the epoch]


def _interp(keys: Sequence[tuple[float, ...]], t: float) -> np.ndarray:
    k = np.asarray(keys, dtype=np.float64)
    return np.array([np.interp(t, k[:, 0], k[:, i]) for i in range(1, k.shape[1])])


@dataclass
class Person:
    """A scripted person.

    Attributes:
        path: ``[(t, x, y), ...]`` floor-frame keyframes [s, m, m], linear in between, held outside.
        heights: ``[(t, top_of_body_height), ...]`` [s, m]; default 1.7 m throughout.
        present: ``(t_in, t_out)`` [s]: points only inside this interval.
        heading_deg: direction the body lies along when low [deg from +x].
    """

    path: Sequence[tuple[float, float, float]]
    heights: Sequence[tuple[float, float]] = ((0.0, 1.7),)
    present: tuple[float, float] = (0.0, np.inf)
    heading_deg: float = 90.0

    def position(self, t: float) -> np.ndarray:
        return _interp(self.path, t)

    def height(self, t: float) -> float:
        return float(_interp(self.heights, t)[0])

    def velocity(self, t: float, dt: float = 0.05) -> np.ndarray:
        """Floor-frame body velocity ``(vx, vy, vz)`` [m/s] (vz from the height, halved: the centroid)."""
        v_xy = (self.position(t + dt) - self.position(t - dt)) / (2 * dt)
        v_z = 0.5 * (self.height(t + dt) - self.height(t - dt)) / (2 * dt)
        return np.array([v_xy[0], v_xy[1], v_z])

    def is_present(self, t: float) -> bool:
        return self.present[0] <= t < self.present[1]


def person_points(p: Person, t: float, rng: np.random.Generator) -> np.ndarray:
    """Floor-frame points of one person at time ``t``: float64 ``[n, 4]`` (x, y, z [m], v [m/s])."""
    n = int(rng.integers(12, 29))
    pos, h, vel = p.position(t), p.height(t), p.velocity(t)
    lying = float(np.clip((1.0 - h) / 0.6, 0.0, 1.0))  # 0 upright .. 1 lying
    length = 1.6 * lying
    head = np.deg2rad(p.heading_deg)
    along = rng.uniform(-length / 2, length / 2, n)
    xy = pos + along[:, None] * np.array([np.cos(head), np.sin(head)]) + rng.normal(0, 0.12, (n, 2))
    z_up = h * rng.beta(2.0, 1.5, n)
    z_low = rng.uniform(0.05, max(h, 0.1), n)
    z = np.where(rng.random(n) < lying, z_low, z_up)
    xyz = np.column_stack([xy, z])
    moving = float(np.linalg.norm(vel)) > 0.1
    limb = rng.normal(0, 0.25 if moving else 0.01, (n, 3))
    radar = np.array([0.0, 0.0, MOUNTING.height_m])
    los = xyz - radar
    los /= np.linalg.norm(los, axis=1, keepdims=True)
    v = np.einsum("ni,ni->n", vel + limb, los)
    return np.column_stack([xyz, v])


def frame_points(
    people: Sequence[Person], t: float, rng: np.random.Generator, clutter: int = 2
) -> np.ndarray:
    """One frame: the present people's points and ``0..clutter`` random clutter points, as
    :data:`~runtime.frames.POINT_DTYPE` in the radar frame."""
    parts = [person_points(p, t, rng) for p in people if p.is_present(t)]
    k = int(rng.integers(0, clutter + 1))
    if k:
        noise = np.column_stack(
            [
                rng.uniform(-3, 3, k),
                rng.uniform(0.5, 6, k),
                rng.uniform(0, 2.2, k),
                rng.normal(0, 0.5, k),
            ]
        )
        parts.append(noise)
    pts = np.concatenate(parts) if parts else np.empty((0, 4))
    out = np.zeros(pts.shape[0], dtype=POINT_DTYPE)
    radar_xyz = from_floor(pts[:, :3], MOUNTING)
    out["x"], out["y"], out["z"] = radar_xyz.T
    out["v"] = pts[:, 3]
    out["snr"] = rng.uniform(10, 25, pts.shape[0])
    out["noise"] = 60.0
    return out


def scene_frames(
    people: Sequence[Person],
    duration_s: float,
    *,
    seed: int = 0,
    fps: float = FPS,
    drop: Sequence[int] = (),
) -> list[PointCloudFrame]:
    """Frames ``0 .. duration_s * fps`` of a scene; frames whose index is in ``drop`` come empty
    (missed detections). Frame ``i`` has timestamp ``T0 + i / fps``; people's scripts use ``i / fps``."""
    rng = np.random.default_rng(seed)
    frames = []
    dropped = set(drop)
    for i in range(round(duration_s * fps) + 1):
        t = i / fps
        pts = frame_points(people, t, rng)
        if i in dropped:
            pts = pts[:0]
        frames.append(PointCloudFrame(points=pts, frame_number=i, timestamp=T0 + t))
    return frames


# ---------------------------------------------------------------------------- checks of the generator
def test_points_come_back_to_the_floor_frame() -> None:
    rng = np.random.default_rng(0)
    p = Person(path=[(0, 1.0, 3.0)])
    pts = frame_points([p], 0.0, rng, clutter=0)
    xyz = to_floor(pts, MOUNTING)
    assert np.allclose(np.median(xyz[:, :2], axis=0), [1.0, 3.0], atol=0.15)
    assert 0.0 < xyz[:, 2].min() and xyz[:, 2].max() <= 1.7 + 1e-6
    assert 1.3 < np.percentile(xyz[:, 2], 90) < 1.7


def test_walking_away_gives_positive_radial_velocity() -> None:
    rng = np.random.default_rng(1)
    p = Person(path=[(0, 0.0, 2.0), (10, 0.0, 12.0)])  # 1 m/s straight away from the radar
    v = frame_points([p], 1.0, rng, clutter=0)["v"]
    assert 0.7 < np.median(v) < 1.1
