"""The event engine of one radar: frames -> tracks -> occupancy, count, tracks, vitals and fall events.

Pure logic, no threads and no I/O: the app calls :meth:`EventEngine.update_points` (point-cloud
sources) or :meth:`EventEngine.update_raw` (raw-ADC sources, after :func:`runtime.dsp.process_frame`)
once per frame, in frame order, from one thread, publishes the events it returns and answers state
queries with :meth:`EventEngine.state`. All times are the frames' timestamps [s since the epoch].

Events (:class:`runtime.events.Event`), emitted on change (plus every ``refresh_s`` for the state-like
ones when set, with ``attributes["refresh"] = True``):

- ``occupancy`` (bool) for the radar, and per zone with ``attributes["zone"]``: on after
  ``on_frames`` of the last ``window_frames`` frames had evidence (a confirmed track detected inside
  in that frame; optionally ``min_points`` raw points inside), off ``hold_s`` after the last frame with
  evidence. Confidence: the share of the K-of-N window that agrees.
- ``count`` (int): confirmed tracks, median-filtered over ``median_window_s``, emitted once a new
  value has held for ``settle_s``; ``attributes["zones"]`` holds the per-zone counts at that moment.
- ``tracks`` (list of :meth:`runtime.tracking.Track.to_dict`): every ``tracks_period_s`` while
  confirmed tracks exist, and once (empty) after the last one ends.
- ``vitals`` (``{"breathing_per_min", "heart_per_min", "quality"}``, attributes track id, peak ratios,
  range, window) for a still person, raw-ADC sources only; an ``"unavailable"`` one when that person
  moves or leaves.

Still people (raw-ADC sources): a seated or lying person gives no points, so the tracker would lose
them. The engine keeps one slow-time ring buffer of loop-averaged range profiles (vitals and presence
share it) and hands the tracker a micro-motion presence check (:mod:`runtime.events.presence`): a
confirmed track without points whose cells still show breathing-like motion is held in place and kept
alive, counts as occupancy evidence and stays in the count; vitals then get their window at its range.
- ``fall`` (True with the track id and position, then False when the alarm clears).
"""

from __future__ import annotations

import statistics
from collections import deque
from typing import Any

import numpy as np

from firmware_cfg import RadarConfig
from runtime.events import Event
from runtime.events.falls import FallChange, FallDetector
from runtime.events.presence import MicroMotionPresence
from runtime.events.settings import EventSettings, Zone
from runtime.events.vitals import ChestBuffer, VitalsMonitor, VitalsReading
from runtime.events.zones import Occupancy, points_in_zone, zone_contains
from runtime.frames import PointCloudFrame, RawFrame
from runtime.tracking import PresenceCheck, Track, Tracker, to_floor


class PeopleCount:
    """Median-filtered count with a settle time (see the module docstring)."""

    def __init__(self, median_window_s: float, settle_s: float) -> None:
        self.median_window_s = median_window_s
        self.settle_s = settle_s
        self._samples: deque[tuple[float, int]] = deque()
        self.value = 0
        self._pending: int | None = None
        self._pending_since = 0.0

    @property
    def filtered(self) -> int:
        """The median of the window (what the count is heading for)."""
        if not self._samples:
            return self.value
        return round(statistics.median(n for _, n in self._samples))

    def update(self, n: int, t: float) -> bool:
        """Feed the frame's count; True when :attr:`value` changed."""
        self._samples.append((t, n))
        while self._samples and t - self._samples[0][0] > self.median_window_s:
            self._samples.popleft()
        m = self.filtered
        if m == self.value:
            self._pending = None
            return False
        if m != self._pending:
            self._pending, self._pending_since = m, t
        if t - self._pending_since >= self.settle_s:
            self.value, self._pending = m, None
            return True
        return False


class EventEngine:
    """Events for one radar.

    Args:
        radar_id: the radar's id from the daemon config (``Event.radar``).
        settings: the radar's event settings.
        radar_config: its configuration, whole (the chirp, and the demo's range bias and channel
            calibration, so vitals and presence see the frames as the DSP chain does); needed for
            vitals and presence from raw ADC (None for point-cloud-only sources).
    """

    def __init__(
        self,
        radar_id: str,
        settings: EventSettings,
        radar_config: RadarConfig | None = None,
    ) -> None:
        self.radar_id = radar_id
        self.settings = settings
        self.radar_config = radar_config
        self.tracker = Tracker(settings.tracking, settings.mounting)
        occ = settings.occupancy
        self.occupancy = Occupancy(occ.on_frames, occ.window_frames, occ.hold_s)
        self.zone_occupancy = {
            z.name: Occupancy(occ.on_frames, occ.window_frames, z.hold_s or occ.hold_s)
            for z in settings.zones
        }
        self.count = PeopleCount(settings.count.median_window_s, settings.count.settle_s)
        vit, pres = settings.vitals, settings.presence
        self.slow_time: ChestBuffer | None = None  # loop-averaged range profiles, raw ADC only
        if radar_config is not None and (vit.enabled or pres.enabled):
            self.slow_time = ChestBuffer(
                radar_config,
                max(
                    vit.max_range_m if vit.enabled else 0.0,
                    pres.max_range_m if pres.enabled else 0.0,
                ),
                max(vit.window_s if vit.enabled else 0.0, pres.window_s if pres.enabled else 0.0),
            )
        self.vitals = VitalsMonitor(vit, radar_config, buffer=self.slow_time)
        self.presence: MicroMotionPresence | None = None
        if radar_config is not None and pres.enabled and self.slow_time is not None:
            self.presence = MicroMotionPresence(
                pres, radar_config, self.slow_time, settings.mounting
            )
        self.falls = FallDetector(settings.falls)
        self._tracks: list[Track] = []
        self._zone_counts: dict[str, int] = {z.name: 0 for z in settings.zones}
        self._time: float | None = None
        self._frames = 0
        self._last_refresh: float | None = None
        self._last_tracks_event: float | None = None
        self._tracks_were_reported = False

    # ------------------------------------------------------------------ inputs
    @property
    def tracks(self) -> list[Track]:
        """The live tracks after the last frame (tentative ones included; check ``state``)."""
        return list(self._tracks)

    def update_points(self, frame: PointCloudFrame) -> list[Event]:
        """One point-cloud frame -> events (tracking, occupancy, count, tracks, falls)."""
        return self._update(frame.points, frame.timestamp)

    def update_raw(self, frame: RawFrame, result: Any) -> list[Event]:
        """One raw-ADC frame and its DSP result -> events (the above plus vitals).

        Args:
            frame: the raw frame (its ADC data feeds the vital-sign slow-time buffer).
            result: what :func:`runtime.dsp.process_frame` returned for it; only ``result.points``
                (:data:`~runtime.frames.POINT_DTYPE`) is read.
        """
        if self.radar_config is None:
            raise ValueError(
                "update_raw needs the radar's RadarConfig (EventEngine(radar_config=...))"
            )
        if self.slow_time is not None:
            self.slow_time.push(frame)
        check = self.presence.check if self.presence is not None else None
        return self._update(result.points, frame.timestamp, check)

    # ------------------------------------------------------------------ the frame
    def _update(
        self, points: np.ndarray, t: float, presence: PresenceCheck | None = None
    ) -> list[Event]:
        self._time = t
        self._frames += 1
        tracks = self.tracker.update(points, t, presence)
        self._tracks = tracks
        confirmed = [tr for tr in tracks if tr.state == "confirmed"]
        events: list[Event] = []
        events += self._occupancy(points, confirmed, t)
        events += self._count(confirmed, t)
        events += self._tracks_event(confirmed, t)
        events += [self._vitals_event(r) for r in self.vitals.update(tracks, t)]
        events += [self._fall_event(c) for c in self.falls.update(tracks, t)]
        events += self._refresh(t)
        return events

    def _occupancy(self, points: np.ndarray, confirmed: list[Track], t: float) -> list[Event]:
        occ = self.settings.occupancy
        detected = [tr for tr in confirmed if tr.detected or tr.presence]
        xyz = None
        if occ.point_evidence and points.shape[0]:
            xyz = to_floor(points, self.settings.mounting)
        evidence = bool(detected) or (xyz is not None and xyz.shape[0] >= occ.min_points)
        out = []
        if self.occupancy.update(evidence, t):
            out.append(self._occupancy_event(self.occupancy, t, None))
        pos = np.array([tr.position[:2] for tr in confirmed]).reshape(-1, 2)
        det_pos = np.array([tr.position[:2] for tr in detected]).reshape(-1, 2)
        for zone in self.settings.zones:
            state = self.zone_occupancy[zone.name]
            self._zone_counts[zone.name] = int(np.count_nonzero(zone_contains(zone, pos)))
            ev = bool(np.any(zone_contains(zone, det_pos)))
            if xyz is not None and not ev:
                ev = int(np.count_nonzero(points_in_zone(zone, xyz))) >= occ.min_points
            if state.update(ev, t):
                out.append(self._occupancy_event(state, t, zone))
        return out

    def _occupancy_event(self, state: Occupancy, t: float, zone: Zone | None) -> Event:
        attrs: dict[str, Any] = {} if zone is None else {"zone": zone.name}
        return Event("occupancy", t, state.occupied, state.confidence, self.radar_id, attrs)

    def _count(self, confirmed: list[Track], t: float) -> list[Event]:
        if not self.count.update(len(confirmed), t):
            return []
        return [self._count_event(t)]

    def _count_event(self, t: float) -> Event:
        attrs: dict[str, Any] = {"zones": dict(self._zone_counts)} if self._zone_counts else {}
        return Event("count", t, self.count.value, 1.0, self.radar_id, attrs)

    def _tracks_event(self, confirmed: list[Track], t: float) -> list[Event]:
        period = self.settings.tracks_period_s
        if period is None:
            return []
        if not confirmed:
            if self._tracks_were_reported:
                self._tracks_were_reported = False
                self._last_tracks_event = None
                return [Event("tracks", t, [], 1.0, self.radar_id)]
            return []
        if self._last_tracks_event is not None and t - self._last_tracks_event < period:
            return []
        self._last_tracks_event = t
        self._tracks_were_reported = True
        return [Event("tracks", t, [tr.to_dict() for tr in confirmed], 1.0, self.radar_id)]

    def _vitals_event(self, r: VitalsReading) -> Event:
        return Event("vitals", r.time, r.value(), r.confidence, self.radar_id, r.attributes())

    def _fall_event(self, c: FallChange) -> Event:
        attrs = {"track_id": c.track_id, "position": list(c.position), **c.attributes}
        return Event("fall", c.time, c.active, c.confidence, self.radar_id, attrs)

    def _refresh(self, t: float) -> list[Event]:
        period = self.settings.refresh_s
        if period is None:
            return []
        if self._last_refresh is None:
            self._last_refresh = t
            return []
        if t - self._last_refresh < period:
            return []
        self._last_refresh = t
        events = [self._occupancy_event(self.occupancy, t, None)]
        for zone in self.settings.zones:
            events.append(self._occupancy_event(self.zone_occupancy[zone.name], t, zone))
        events.append(self._count_event(t))
        events += [self._vitals_event(r) for r in self.vitals.readings.values()]
        return [
            Event(e.type, e.time, e.value, e.confidence, e.radar, {**e.attributes, "refresh": True})
            for e in events
        ]

    # ------------------------------------------------------------------ state
    def state(self) -> dict[str, Any]:
        """The current state, JSON-serialisable (for the ZeroMQ state query and the stats)."""
        confirmed = [tr for tr in self._tracks if tr.state == "confirmed"]
        return {
            "radar": self.radar_id,
            "time": self._time,
            "frames": self._frames,
            "occupied": self.occupancy.occupied,
            "occupancy_confidence": round(self.occupancy.confidence, 3),
            "zones": {
                z.name: {
                    "occupied": self.zone_occupancy[z.name].occupied,
                    "count": self._zone_counts[z.name],
                }
                for z in self.settings.zones
            },
            "count": self.count.value,
            "tracks": [tr.to_dict() for tr in confirmed],
            "tentative_tracks": sum(tr.state == "tentative" for tr in self._tracks),
            "vitals": self.vitals.state(),
            "fall": self.falls.state(),
        }
