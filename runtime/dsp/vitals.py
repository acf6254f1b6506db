"""Vital signs from the chest's range-bin phase.

A chest at range ``R`` gives its range bin the phase ``4 pi R / lambda`` (+ when moving away, as the
Doppler convention), so over slow time ``displacement = unwrapped phase * lambda / (4 pi)``; breathing
moves the chest a few mm, the heartbeat a few tenths of a mm.

1. Slow time: one complex sample per frame (the mean over the frame's loops of the range FFT: a
   coherent zero-Doppler integration) or, for a continuous capture, one per loop.
2. Chest bin: inside a range gate, the bin with the strongest slow-time (low-velocity) magnitude.
3. Antennas combined coherently with their mean relative phase, unwrap, scale to metres.
4. Rates: spectrum of the detrended, Hann-windowed displacement (zero-padded), peak inside the
   breathing and heart bands with parabolic refinement; quality = peak power / mean power in the band
   (peak-to-band ratio, 1 = no peak).

Not done: static clutter at the chest range shifts the I/Q circle off the origin (no circle fit here),
random body motion is not rejected, breathing harmonics are not cancelled in the heart band.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from firmware_cfg.chirp import ChirpConfig
from runtime.dsp.peaks import interval_mask
from runtime.dsp.range import RANGE_WINDOW, range_axis_m, range_fft

#: Physiological search bands [breaths or beats per minute].
BREATHING_BAND_PER_MIN: tuple[float, float] = (6.0, 30.0)
HEART_BAND_PER_MIN: tuple[float, float] = (45.0, 120.0)


class ChestSignal(NamedTuple):
    """Chest displacement over slow time.

    Attributes:
        displacement_m: ``[t]`` radial displacement [m] (+ = away), first sample at 0.
        time_s: ``[t]`` sample times [s] from the first frame's start.
        sample_rate_hz: slow-time sample rate [Hz].
        range_bin: the chosen chest range bin.
        range_m: its range [m].
    """

    displacement_m: np.ndarray
    time_s: np.ndarray
    sample_rate_hz: float
    range_bin: int
    range_m: float


class Rate(NamedTuple):
    """A rate estimate: ``per_min`` [1/min] and ``quality`` (peak-to-band power ratio, >= 1)."""

    per_min: float
    quality: float


class VitalRates(NamedTuple):
    breathing: Rate
    heart: Rate


def slow_time(frames: np.ndarray, cfg: ChirpConfig, *, per_chirp: bool = False) -> np.ndarray:
    """Range profiles over slow time.

    Args:
        frames: complex ``[frames, tx, rx, loop, sample]``.
        cfg: chirp configuration.
        per_chirp: one sample per loop (needs a continuous capture: one frame, or frames whose
            period equals their active time) instead of one per frame.

    Returns:
        complex64 ``[t, tx * rx, num_range_bins]``.
    """
    rp = range_fft(frames, cfg, window=RANGE_WINDOW)  # [f, tx, rx, loop, range]
    f, ntx, nrx, nl, nr = rp.shape
    if not per_chirp:
        return rp.mean(axis=3).reshape(f, ntx * nrx, nr)
    if f > 1 and not np.isclose(cfg.frame_period_s, cfg.frame_active_time_s):
        raise ValueError(
            "per-chirp slow time needs back-to-back frames "
            f"(frame period {cfg.frame_period_s} s, active time {cfg.frame_active_time_s} s)"
        )
    return np.moveaxis(rp, 3, 1).reshape(f * nl, ntx * nrx, nr)


def chest_signal(
    frames: np.ndarray,
    cfg: ChirpConfig,
    *,
    range_gate_m: tuple[float, float],
    per_chirp: bool = False,
) -> ChestSignal:
    """Chest displacement from the strongest low-velocity range bin inside a gate.

    Args:
        frames: complex ``[frames, tx, rx, loop, sample]`` raw ADC.
        cfg: chirp configuration (wavelength, frame period).
        range_gate_m: ``(near, far)`` [m] where the chest is expected.
        per_chirp: see :func:`slow_time`.

    Returns:
        :class:`ChestSignal`.
    """
    z = slow_time(frames, cfg, per_chirp=per_chirp)  # [t, virtual, range]
    gate = interval_mask(range_axis_m(cfg), range_gate_m)
    if not gate.any():
        raise ValueError(f"range gate {range_gate_m} m holds no range bin")
    strength = np.where(gate, np.abs(z).mean(axis=(0, 1)), -np.inf)  # [range]
    rbin = int(np.argmax(strength))
    s = z[:, :, rbin]  # [t, virtual]
    rel = (s * np.conj(s[:, :1])).mean(axis=0)  # [virtual] mean phase relative to antenna 0
    combined = (s * np.exp(-1j * np.angle(rel))).sum(axis=1)  # [t]
    phase = np.unwrap(np.angle(combined))
    disp = (phase - phase[0]) * cfg.wavelength_m / (4.0 * np.pi)
    if per_chirp:
        rate = 1.0 / cfg.tdm_period_s
    else:
        rate = 1.0 / cfg.frame_period_s
    time_s = np.arange(disp.size) / rate
    return ChestSignal(disp, time_s, rate, rbin, float(range_axis_m(cfg)[rbin]))


def band_rate(signal: np.ndarray, sample_rate_hz: float, band_per_min: tuple[float, float]) -> Rate:
    """Dominant rate of ``signal`` inside a band.

    Args:
        signal: ``[t]`` real, uniformly sampled.
        sample_rate_hz: its sample rate [Hz].
        band_per_min: ``(low, high)`` [1/min].

    Returns:
        :class:`Rate` (``per_min`` is NaN when the band holds no spectral bin).
    """
    x = np.asarray(signal, dtype=np.float64)
    t = np.arange(x.size)
    x = x - np.polyval(np.polyfit(t, x, 1), t)  # remove mean and drift
    x = x * np.hanning(x.size)
    nfft = 1 << max(int(np.ceil(np.log2(x.size))) + 3, 8)
    spec = np.abs(np.fft.rfft(x, nfft)) ** 2
    freq_per_min = np.fft.rfftfreq(nfft, 1.0 / sample_rate_hz) * 60.0
    band = interval_mask(freq_per_min, band_per_min)
    if not band.any():
        return Rate(float("nan"), 0.0)
    idx = np.flatnonzero(band)
    k = idx[np.argmax(spec[idx])]
    offset = 0.0
    if 0 < k < spec.size - 1:
        y0, y1, y2 = np.log(spec[k - 1 : k + 2] + 1e-300)
        den = y0 - 2 * y1 + y2
        if den < 0:
            offset = float(np.clip(0.5 * (y0 - y2) / den, -0.5, 0.5))
    step = freq_per_min[1] - freq_per_min[0]
    quality = float(spec[k] / max(spec[idx].mean(), 1e-300))
    return Rate(float(freq_per_min[k] + offset * step), quality)


def vital_rates(
    displacement_m: np.ndarray,
    sample_rate_hz: float,
    *,
    breathing_band_per_min: tuple[float, float] = BREATHING_BAND_PER_MIN,
    heart_band_per_min: tuple[float, float] = HEART_BAND_PER_MIN,
) -> VitalRates:
    """Breathing and heart rates [1/min] with peak-to-band quality figures.

    Args:
        displacement_m: ``[t]`` chest displacement [m].
        sample_rate_hz: slow-time sample rate [Hz] (frame rate for per-frame samples).
        breathing_band_per_min, heart_band_per_min: search bands [1/min].
    """
    return VitalRates(
        breathing=band_rate(displacement_m, sample_rate_hz, breathing_band_per_min),
        heart=band_rate(displacement_m, sample_rate_hz, heart_band_per_min),
    )
