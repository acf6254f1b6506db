"""Per-track activity windows: each person's own points, and the zone they are in (numpy only).

The encoder stage classifies every confirmed track on its own, so two people doing different things
get different labels. For each radar frame :func:`cut_tracks` hands it, per confirmed track, the
frame's points near that track (the cluster around it) and the zone the track stands in:

- a point belongs to the nearest confirmed track whose floor position (x, y) lies within ``radius_m``
  of it; a point no track is near belongs to none (clutter, a tentative track), and a point between
  two people goes to the nearer one only;
- the points stay in the radar frame with every channel (x, y, z, v, snr), as the CLMP encoder was
  trained on: selecting by floor distance changes which points a window holds, never their values;
- the zone is the first configured zone (in the YAML's order) containing the track's floor
  position, or None.

A still person held by micro-motion (a seated or lying person gives no CFAR points next to the
furniture on raw-ADC sources) gets an empty cut; the stage keeps it in the track's window, so the
window shows the person stopping rather than freezing the last moving moment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from runtime.events.settings import Mounting, Zone
from runtime.events.zones import zone_contains
from runtime.frames import POINT_DTYPE
from runtime.tracking import Track, to_floor

__all__ = ["TrackCut", "cut_tracks", "zone_of"]


@dataclass(frozen=True, slots=True)
class TrackCut:
    """One confirmed track's share of a radar frame.

    Attributes:
        track: the track id.
        zone: the zone the track stands in (None = none).
        points: :data:`~runtime.frames.POINT_DTYPE` ``[n]`` radar-frame points near the track.
        position: the track's floor position ``(x, y)`` [m].
    """

    track: int
    zone: str | None
    points: np.ndarray
    position: tuple[float, float]


def zone_of(zones: Sequence[Zone], xy: Sequence[float]) -> str | None:
    """The first of ``zones`` that contains the floor position ``xy`` [m], or None."""
    at = np.asarray(xy, dtype=np.float64).reshape(1, 2)
    for zone in zones:
        if bool(zone_contains(zone, at)[0]):
            return zone.name
    return None


def cut_tracks(
    points: np.ndarray,
    tracks: Sequence[Track],
    mounting: Mounting,
    zones: Sequence[Zone],
    radius_m: float,
) -> list[TrackCut]:
    """Split one frame's points among its confirmed tracks (module docstring).

    Args:
        points: :data:`~runtime.frames.POINT_DTYPE` ``[n]`` the frame's points (radar frame).
        tracks: the tracker's tracks after this frame (tentative ones are ignored).
        mounting: the radar's mounting (radar frame -> floor frame).
        zones: the radar's zones, in configuration order.
        radius_m: how far from a track's floor position its points may lie [m].

    Returns:
        One :class:`TrackCut` per confirmed track, by track id.
    """
    if radius_m <= 0:
        raise ValueError(f"radius_m must be > 0, got {radius_m}")
    confirmed = sorted((t for t in tracks if t.state == "confirmed"), key=lambda t: t.id)
    if not confirmed:
        return []
    centres = np.array([t.position[:2] for t in confirmed], dtype=np.float64)  # [k, 2]
    owner = np.full(points.shape[0], -1, dtype=np.int64)  # [n] index into confirmed, -1 = none
    if points.shape[0]:
        xy = to_floor(points, mounting)[:, :2]  # [n, 2]
        dist = np.linalg.norm(xy[:, None, :] - centres[None, :, :], axis=-1)  # [n, k]
        nearest = dist.argmin(axis=1)
        near = dist[np.arange(points.shape[0]), nearest] <= radius_m
        owner[near] = nearest[near]
    cuts = []
    for i, track in enumerate(confirmed):
        mine = points[owner == i] if points.shape[0] else np.zeros(0, POINT_DTYPE)
        pos = (float(track.position[0]), float(track.position[1]))
        cuts.append(
            TrackCut(
                track=track.id,
                zone=zone_of(zones, pos),
                points=mine,
                position=pos,
            )
        )
    return cuts
