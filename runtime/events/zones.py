"""Zones on the floor and the occupancy hysteresis.

Zones are axis-aligned boxes or polygons in the floor frame (x right, y forward along the floor [m],
see :mod:`runtime.events.settings`). :class:`Occupancy` is the on/off state machine each zone (and the
radar as a whole) runs: on after K frames with evidence among the last N, off once ``hold_s`` has passed
since the last frame with evidence. A few missed frames therefore never turn it off, and a single noisy
frame never turns it on.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from runtime.events.settings import Zone


def points_in_polygon(xy: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Even-odd (ray casting) test.

    Args:
        xy: ``[n, 2]`` points [m].
        polygon: ``[k, 2]`` vertices in order [m] (closed implicitly).

    Returns:
        bool ``[n]``; points exactly on an edge may fall either way.
    """
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    poly = np.asarray(polygon, dtype=np.float64)
    x, y = xy[:, 0:1], xy[:, 1:2]  # [n, 1]
    x0, y0 = poly[:, 0], poly[:, 1]  # [k]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    straddles = (y0 > y) != (y1 > y)  # [n, k]
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
    crossings = straddles & (x < x_cross)
    return (np.count_nonzero(crossings, axis=1) % 2) == 1


def zone_contains(zone: Zone, xy: np.ndarray) -> np.ndarray:
    """Which floor points ``[n, 2]`` [m] lie inside ``zone``: bool ``[n]``."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    if zone.box_m is not None:
        x0, x1, y0, y1 = zone.box_m
        return (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)
    assert zone.polygon_m is not None
    return points_in_polygon(xy, np.asarray(zone.polygon_m))


def points_in_zone(zone: Zone, xyz: np.ndarray) -> np.ndarray:
    """Which floor-frame points ``[n, 3]`` [m] lie inside ``zone`` and its height band: bool ``[n]``."""
    inside = zone_contains(zone, xyz[:, :2])
    if zone.z_range_m is not None:
        inside &= (xyz[:, 2] >= zone.z_range_m[0]) & (xyz[:, 2] <= zone.z_range_m[1])
    return inside


class Occupancy:
    """On after ``on_frames`` of the last ``window_frames`` frames had evidence; off ``hold_s`` after
    the last frame with evidence.

    Args:
        on_frames: K.
        window_frames: N.
        hold_s: off delay [s].
    """

    def __init__(self, on_frames: int, window_frames: int, hold_s: float) -> None:
        self.on_frames = on_frames
        self.hold_s = hold_s
        self._window: deque[bool] = deque(maxlen=window_frames)
        self.occupied = False
        self.last_evidence: float | None = None
        self.changed_at: float | None = None

    @property
    def confidence(self) -> float:
        """Share of the window's frames that agree with the current state (1.0 after a hold)."""
        if not self._window:
            return 1.0
        frac = sum(self._window) / self._window.maxlen  # type: ignore[operator]
        return float(frac if self.occupied else 1.0 - frac)

    def update(self, evidence: bool, t: float) -> bool:
        """Feed one frame; return True when the state changed (read :attr:`occupied`).

        Args:
            evidence: something (a confirmed track, or enough points) is inside in this frame.
            t: the frame's time [s].
        """
        self._window.append(bool(evidence))
        if evidence:
            self.last_evidence = t
        if not self.occupied and sum(self._window) >= self.on_frames:
            self.occupied = True
            self.changed_at = t
            return True
        if (
            self.occupied
            and self.last_evidence is not None
            and t - self.last_evidence >= self.hold_s
        ):
            self.occupied = False
            self.changed_at = t
            self._window.clear()
            return True
        return False
