"""Fall detection from tracked heights: a fast drop, then lying still.

Per confirmed track, a small state machine over its smoothed top-of-body height
(:attr:`runtime.tracking.Track.height_m`, metres above the floor):

- **upright -> dropped**: the height is now below ``drop_to_m``, it was above ``drop_from_m`` less than
  ``drop_within_s`` ago, and the height's peak downward speed (over 0.3 s steps of the last
  ``drop_within_s``) reached ``min_drop_speed_mps``. Sitting down (to ~1 m, slower) never gets here.
- **dropped -> fallen**: low (height below ``lying_max_height_m``) and still (mean horizontal speed,
  :attr:`runtime.tracking.Track.mean_speed_mps`, below ``still_speed_mps``; blips shorter than 0.5 s
  forgiven) for ``confirm_s`` -> one ``fall`` event (True). Back above
  ``recovered_height_m`` first, or no confirmation within ``confirm_timeout_s``: back to upright, no event.
- **fallen -> cleared**: above ``recovered_height_m`` for ``recover_s`` -> ``fall`` False. When the
  fallen track is lost (a motionless person may give no points), the alarm stays until an upright
  track is seen within ``reset_radius_m`` of the fall for ``recover_s``, or ``clear_after_lost_s``
  has passed (if set).

Confidence of a fall: 0.7 at the speed threshold, rising linearly to 1.0 at twice the threshold.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from runtime.events.settings import FallSettings
from runtime.tracking import Track

_RATE_STEP_S = 0.3  # [s] time step of the downward-speed estimate
_GRID_S = 0.05  # [s] resampling grid of the height history
_GRACE_S = (
    0.5  # [s] blips of motion or height shorter than this do not restart the lying-still timer
)


@dataclass(frozen=True)
class FallChange:
    """A change of the fall alarm.

    Attributes:
        active: True = a fall was confirmed, False = the alarm cleared.
        time: frame time [s].
        track_id: the fallen person's track.
        position: ``(x, y)`` floor frame of the fall [m].
        confidence: 0..1.
        attributes: extra details (drop speed, heights, why it cleared).
    """

    active: bool
    time: float
    track_id: int
    position: tuple[float, float]
    confidence: float
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Watch:
    """Per-track state."""

    history: deque[tuple[float, float]]  # (t, height)
    phase: str = "upright"  # upright | dropped | fallen
    drop_time: float = 0.0
    drop_speed: float = 0.0
    drop_from: float = 0.0
    still_since: float | None = None
    last_still: float = -np.inf


@dataclass
class _Episode:
    """A confirmed fall that has not cleared yet."""

    track_id: int
    time: float
    position: tuple[float, float]
    confidence: float
    lost_at: float | None = None
    up_since: float | None = None


def peak_drop_speed(times: np.ndarray, heights: np.ndarray) -> float:
    """Peak downward speed of a height history [m/s] (>= 0) over ``_RATE_STEP_S`` steps.

    Args:
        times: ``[n]`` increasing [s].
        heights: ``[n]`` [m].
    """
    if times.size < 2 or times[-1] - times[0] < _RATE_STEP_S:
        return 0.0
    grid = np.arange(times[0], times[-1] + 1e-9, _GRID_S)
    h = np.interp(grid, times, heights)
    lag = round(_RATE_STEP_S / _GRID_S)
    return float(max(0.0, np.max((h[:-lag] - h[lag:]) / _RATE_STEP_S)))


class FallDetector:
    """Fall state machines for all tracks and the radar's fall alarm (see the module docstring)."""

    def __init__(self, settings: FallSettings) -> None:
        self.settings = settings
        self._watch: dict[int, _Watch] = {}
        self._episodes: dict[int, _Episode] = {}
        self.last_fall: FallChange | None = None

    @property
    def active(self) -> bool:
        """A fall alarm is on."""
        return bool(self._episodes)

    def update(self, tracks: list[Track], t: float) -> list[FallChange]:
        """Feed the live tracks of one frame at time ``t`` [s]; return alarm changes."""
        s = self.settings
        if not s.enabled:
            return []
        out: list[FallChange] = []
        live = {tr.id: tr for tr in tracks if tr.state == "confirmed"}
        for tid in list(self._watch):
            if tid not in live:
                del self._watch[tid]
        keep_s = s.drop_within_s + 1.0
        for tid, tr in live.items():
            w = self._watch.get(tid)
            if w is None:
                w = self._watch[tid] = _Watch(history=deque())
            w.history.append((t, tr.height_m))
            while w.history and t - w.history[0][0] > keep_s:
                w.history.popleft()
            change = self._step(w, tr, t)
            if change is not None:
                out.append(change)
        out.extend(self._clear(live, t))
        return out

    def _step(self, w: _Watch, tr: Track, t: float) -> FallChange | None:
        s = self.settings
        h = tr.height_m
        if w.phase == "upright":
            if h >= s.drop_to_m:
                return None
            hist = np.array(w.history)  # [n, 2]
            recent = hist[hist[:, 0] >= t - s.drop_within_s]
            if not (recent[:, 1] > s.drop_from_m).any():
                return None
            speed = peak_drop_speed(recent[:, 0], recent[:, 1])
            if speed < s.min_drop_speed_mps:
                return None
            w.phase, w.drop_time, w.drop_speed = "dropped", t, speed
            w.drop_from = float(recent[:, 1].max())
            w.still_since = None
            return None
        if w.phase == "dropped":
            if h > s.recovered_height_m or t - w.drop_time > s.confirm_timeout_s:
                w.phase = "upright"
                return None
            if h < s.lying_max_height_m and tr.mean_speed_mps < s.still_speed_mps:
                w.still_since = w.still_since if w.still_since is not None else t
                w.last_still = t
            elif t - w.last_still > _GRACE_S:
                w.still_since = None
            if w.still_since is not None and t - w.still_since >= s.confirm_s:
                w.phase = "fallen"
                excess = (w.drop_speed - s.min_drop_speed_mps) / s.min_drop_speed_mps
                conf = 0.7 + 0.3 * float(np.clip(excess, 0.0, 1.0))
                pos = (round(tr.position[0], 3), round(tr.position[1], 3))
                self._episodes[tr.id] = _Episode(tr.id, t, pos, conf)
                change = FallChange(
                    True,
                    t,
                    tr.id,
                    pos,
                    conf,
                    {
                        "drop_speed_mps": round(w.drop_speed, 2),
                        "height_before_m": round(w.drop_from, 2),
                        "height_m": round(h, 2),
                    },
                )
                self.last_fall = change
                return change
        return None

    def _clear(self, live: dict[int, Track], t: float) -> list[FallChange]:
        s = self.settings
        out = []
        for tid, ep in list(self._episodes.items()):
            tr = live.get(tid)
            if tr is not None:
                up = tr.height_m > s.recovered_height_m
                reason = "got up"
            else:
                ep.lost_at = ep.lost_at if ep.lost_at is not None else t
                up = any(
                    o.height_m > s.recovered_height_m
                    and np.hypot(o.position[0] - ep.position[0], o.position[1] - ep.position[1])
                    < s.reset_radius_m
                    for o in live.values()
                )
                reason = "upright track at the fall position"
            ep.up_since = (ep.up_since if ep.up_since is not None else t) if up else None
            cleared = ep.up_since is not None and t - ep.up_since >= s.recover_s
            if (
                not cleared
                and ep.lost_at is not None
                and s.clear_after_lost_s is not None
                and t - ep.lost_at >= s.clear_after_lost_s
            ):
                cleared, reason = True, "track lost"
            if cleared:
                del self._episodes[tid]
                if tid in self._watch:
                    self._watch[tid].phase = "upright"
                if not self._episodes:  # the radar's alarm goes off with the last episode
                    out.append(FallChange(False, t, tid, ep.position, 1.0, {"reason": reason}))
        return out

    def state(self) -> dict[str, Any]:
        """JSON-serialisable alarm state and the last confirmed fall."""
        last = self.last_fall
        return {
            "active": self.active,
            "track_ids": sorted(self._episodes),
            "last": None
            if last is None
            else {
                "time": last.time,
                "track_id": last.track_id,
                "position": list(last.position),
                "confidence": round(last.confidence, 3),
            },
        }
