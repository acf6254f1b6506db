"""Breathing and heart rate of still people, from the chest's range-bin phase (raw-ADC sources).

:class:`ChestBuffer` keeps, per raw frame, the loop-averaged range profile of every virtual antenna up
to ``max_range_m`` (complex64 ``[t, virtual, range_bin]``): the same slow-time samples as
:func:`runtime.dsp.vitals.slow_time` (averaging the loops before the range FFT is the same thing, the
FFT being linear, at ``1/num_loops`` of the cost). Missing frames (a gap in the frame numbers) are
filled by repeating the last sample when the gap is short, else the buffer restarts.

:class:`VitalsMonitor` watches the confirmed tracks; once one has been slower than ``still_speed_mps``
for ``min_window_s`` it takes the last ``min(window_s, still time)`` of slow time inside a range gate
around the track's range from the radar and turns it into chest displacement as
:func:`runtime.dsp.vitals.chest_signal` does (the leading edge of the moving echo, the antennas
combined coherently, the phase around the I/Q circle's centre, unwrapped), then estimates the
rates with :func:`runtime.dsp.vitals.vital_rates`. Quality: ``"good"`` when the breathing peak-to-band
ratio reaches ``min_breathing_quality``, ``"low"`` below, ``"unavailable"`` with no raw data, no still
person or too short a window. The heart rate is reported only when its own ratio reaches
``min_heart_quality``.

Not done: nothing separates two still people at the same range; random body motion is not rejected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from firmware_cfg import RadarConfig
from runtime.dsp.range import range_axis_m
from runtime.dsp.vitals import chest_from_slow_time, slow_time_sample, vital_rates
from runtime.events.settings import VitalsSettings
from runtime.frames import RawFrame
from runtime.tracking import Track

#: Longest run of missing frames that is bridged by repeating the last sample [frames].
MAX_GAP_FRAMES = 3


class ChestBuffer:
    """Ring buffer of loop-averaged range profiles for vital signs.

    Args:
        radar_config: the radar's configuration (frame shape, frame period; the range axis with
            the demo's range bias subtracted, as the DSP chain's).
        max_range_m: keep range bins up to this range [m].
        window_s: keep this much slow time [s].
    """

    def __init__(self, radar_config: RadarConfig, max_range_m: float, window_s: float) -> None:
        self.radar_config = radar_config
        cfg = radar_config.chirp
        self.chirp = cfg
        axis = range_axis_m(radar_config)
        self.num_bins = max(1, int(np.count_nonzero(axis <= max_range_m)))
        self.range_axis_m = axis[: self.num_bins]
        self.sample_rate_hz = 1.0 / cfg.frame_period_s
        self.capacity = int(np.ceil(window_s * self.sample_rate_hz)) + 1
        self._buf = np.zeros((self.capacity, cfg.num_virtual, self.num_bins), dtype=np.complex64)
        self._head = 0  # next write position
        self._count = 0
        self._last_frame: int | None = None
        self._last_time = 0.0

    def __len__(self) -> int:
        return self._count

    @property
    def duration_s(self) -> float:
        """Slow time held [s]."""
        return self._count / self.sample_rate_hz

    @property
    def last_time(self) -> float:
        """Timestamp of the newest frame [s]."""
        return self._last_time

    def clear(self) -> None:
        self._count = 0
        self._head = 0
        self._last_frame = None

    def push(self, frame: RawFrame) -> None:
        """Add one raw frame (complex ``[tx, rx, loop, sample]``)."""
        cfg = self.chirp
        if frame.data.shape != cfg.frame_shape:
            raise ValueError(
                f"raw frame shape {tuple(frame.data.shape)} does not match the chirp config's "
                f"{cfg.frame_shape}"
            )
        sample = slow_time_sample(frame.data, self.radar_config)[
            :, : self.num_bins
        ]  # [virtual, bins]
        if self._last_frame is not None:
            gap = frame.frame_number - self._last_frame - 1
            if gap < 0 or gap > MAX_GAP_FRAMES:
                self.clear()
            elif gap > 0 and self._count:
                last = self._buf[(self._head - 1) % self.capacity].copy()
                for _ in range(gap):
                    self._write(last)
        self._write(sample)
        self._last_frame = frame.frame_number
        self._last_time = frame.timestamp

    def _write(self, sample: np.ndarray) -> None:
        self._buf[self._head] = sample
        self._head = (self._head + 1) % self.capacity
        self._count = min(self._count + 1, self.capacity)

    def latest(self, duration_s: float) -> np.ndarray:
        """The newest ``duration_s`` of slow time, oldest first: complex64 ``[t, virtual, bins]``."""
        n = min(self._count, round(duration_s * self.sample_rate_hz))
        idx = (self._head - n + np.arange(n)) % self.capacity
        return self._buf[idx]


def chest_displacement(
    samples: np.ndarray, range_axis: np.ndarray, gate_m: tuple[float, float], wavelength_m: float
) -> tuple[np.ndarray, float]:
    """Chest displacement from slow-time samples inside a range gate.

    Args:
        samples: complex ``[t, virtual, bins]`` loop-averaged range profiles.
        range_axis: ``[bins]`` range of each bin [m].
        gate_m: ``(near, far)`` range gate [m].
        wavelength_m: carrier wavelength [m].

    Returns:
        ``(displacement [t] in m, + = away and 0 at the first sample; the chosen bin's range in m)``.

    Raises:
        ValueError: when the gate holds no bin.
    """
    disp, k = chest_from_slow_time(samples, range_axis, gate_m, wavelength_m)
    return disp, float(range_axis[k])


@dataclass(frozen=True)
class VitalsReading:
    """One estimate for one track.

    Attributes:
        track_id: the still person's track.
        time: frame time of the estimate [s].
        breathing_per_min: breathing rate [1/min] (None when unavailable).
        heart_per_min: heart rate [1/min] (None when unavailable or below the heart quality).
        quality: ``"good"``, ``"low"`` or ``"unavailable"``.
        breathing_ratio, heart_ratio: peak-to-band power ratios (1 = no peak; 0 when unavailable).
        range_m: the chest bin's range from the radar [m] (the moving echo's leading edge, up to
            about one range resolution in front of its strongest bin).
        window_s: slow time analysed [s].
    """

    track_id: int | None
    time: float
    breathing_per_min: float | None
    heart_per_min: float | None
    quality: str
    breathing_ratio: float = 0.0
    heart_ratio: float = 0.0
    range_m: float | None = None
    window_s: float = 0.0

    @property
    def confidence(self) -> float:
        """``1 - 1/breathing_ratio`` clipped to [0, 1] (0.67 at a ratio of 3)."""
        if self.breathing_ratio <= 1.0:
            return 0.0
        return float(np.clip(1.0 - 1.0 / self.breathing_ratio, 0.0, 1.0))

    def value(self) -> dict[str, Any]:
        """The event value (``runtime.events.Event`` contract)."""
        return {
            "breathing_per_min": self.breathing_per_min,
            "heart_per_min": self.heart_per_min,
            "quality": self.quality,
        }

    def attributes(self) -> dict[str, Any]:
        return {
            "track_id": self.track_id,
            "breathing_ratio": round(self.breathing_ratio, 2),
            "heart_ratio": round(self.heart_ratio, 2),
            "range_m": None if self.range_m is None else round(self.range_m, 3),
            "window_s": round(self.window_s, 1),
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.value(), **self.attributes(), "time": self.time}


def unavailable(track_id: int | None, t: float) -> VitalsReading:
    return VitalsReading(track_id, t, None, None, "unavailable")


class VitalsMonitor:
    """Vital-sign estimates per still track (see the module docstring).

    Args:
        settings: vitals settings.
        radar_config: the radar's configuration (None: a point-cloud-only source).
        buffer: a slow-time buffer shared with other users (the engine's, also read by the
            micro-motion presence), which its owner fills; it must reach ``max_range_m`` and hold
            ``window_s``. None: the monitor keeps its own, filled by :meth:`push`.
    """

    def __init__(
        self,
        settings: VitalsSettings,
        radar_config: RadarConfig | None,
        buffer: ChestBuffer | None = None,
    ) -> None:
        self.settings = settings
        self.radar_config = radar_config
        self.buffer: ChestBuffer | None = None
        self._owns_buffer = buffer is None
        if radar_config is not None and settings.enabled:
            if buffer is None:
                buffer = ChestBuffer(radar_config, settings.max_range_m, settings.window_s)
            self.buffer = buffer
        self._still_since: dict[int, float] = {}
        self._readings: dict[int, VitalsReading] = {}
        self._last_run = -np.inf

    @property
    def has_raw(self) -> bool:
        """Raw frames have been pushed (else vitals are unavailable)."""
        return self.buffer is not None and len(self.buffer) > 0

    @property
    def readings(self) -> dict[int, VitalsReading]:
        """The current available reading per track id."""
        return dict(self._readings)

    def push(self, frame: RawFrame) -> None:
        """Buffer one raw frame's range profiles (a shared buffer is filled by its owner)."""
        if self.buffer is not None and self._owns_buffer:
            self.buffer.push(frame)

    def update(self, tracks: list[Track], t: float) -> list[VitalsReading]:
        """Update the still timers and, every ``interval_s``, the estimates.

        Args:
            tracks: the tracker's live tracks (only confirmed ones are used).
            t: frame time [s].

        Returns:
            readings that changed enough to be emitted (including ``"unavailable"`` ones for tracks
            that stopped being still or ended).
        """
        s = self.settings
        out: list[VitalsReading] = []
        live = {tr.id: tr for tr in tracks if tr.state == "confirmed"}
        for tid in list(self._still_since):
            tr = live.get(tid)
            if tr is None or tr.mean_speed_mps >= s.still_speed_mps:
                del self._still_since[tid]
                if self._readings.pop(tid, None) is not None:
                    out.append(unavailable(tid, t))
        for tid, tr in live.items():
            if tr.mean_speed_mps < s.still_speed_mps:
                self._still_since.setdefault(tid, t)
        if self.buffer is None or not self.has_raw or t - self._last_run < s.interval_s:
            return out
        self._last_run = t
        for tid, since in self._still_since.items():
            still_s = min(t - since, self.buffer.duration_s)
            if still_s < s.min_window_s:
                continue
            reading = self._estimate(live[tid], min(still_s, s.window_s), t)
            prev = self._readings.get(tid)
            self._readings[tid] = reading
            if prev is None or _differs(prev, reading, s.min_change_per_min):
                out.append(reading)
        return out

    def _estimate(self, track: Track, window_s: float, t: float) -> VitalsReading:
        s = self.settings
        assert self.buffer is not None and self.radar_config is not None
        samples = self.buffer.latest(window_s)
        gate = (track.range_m - s.range_gate_m, track.range_m + s.range_gate_m)
        try:
            disp, range_m = chest_displacement(
                samples, self.buffer.range_axis_m, gate, self.radar_config.chirp.wavelength_m
            )
        except ValueError:
            return unavailable(track.id, t)
        rates = vital_rates(
            disp,
            self.buffer.sample_rate_hz,
            breathing_band_per_min=s.breathing_band_per_min,
            heart_band_per_min=s.heart_band_per_min,
        )
        b, h = rates.breathing, rates.heart
        if not np.isfinite(b.per_min):
            return unavailable(track.id, t)
        quality = "good" if b.quality >= s.min_breathing_quality else "low"
        heart = (
            float(h.per_min)
            if np.isfinite(h.per_min) and h.quality >= s.min_heart_quality
            else None
        )
        return VitalsReading(
            track_id=track.id,
            time=t,
            breathing_per_min=round(float(b.per_min), 2),
            heart_per_min=None if heart is None else round(heart, 2),
            quality=quality,
            breathing_ratio=float(b.quality),
            heart_ratio=float(h.quality),
            range_m=range_m,
            window_s=window_s,
        )

    def state(self) -> dict[str, Any]:
        """JSON-serialisable: the best current reading (highest breathing ratio) and all of them."""
        if self.buffer is None:
            reason = "disabled" if not self.settings.enabled else "point-cloud source (no raw ADC)"
            return {**unavailable(None, 0.0).value(), "reason": reason, "tracks": []}
        readings = sorted(self._readings.values(), key=lambda r: -r.breathing_ratio)
        if not readings:
            return {**unavailable(None, 0.0).value(), "reason": "no still person", "tracks": []}
        best = readings[0]
        return {
            **best.value(),
            "track_id": best.track_id,
            "tracks": [r.to_dict() for r in readings],
        }


def _differs(a: VitalsReading, b: VitalsReading, min_change: float) -> bool:
    """Whether ``b`` is worth emitting after ``a``."""
    if a.quality != b.quality or (a.heart_per_min is None) != (b.heart_per_min is None):
        return True
    for x, y in ((a.breathing_per_min, b.breathing_per_min), (a.heart_per_min, b.heart_per_min)):
        if x is not None and y is not None and abs(x - y) >= min_change:
            return True
    return False
