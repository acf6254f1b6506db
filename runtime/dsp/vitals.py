"""Vital signs from the chest's range-bin phase.

A chest at range ``R`` gives its range bin the phase ``4 pi R / lambda`` (+ when moving away, as the
Doppler convention), so over slow time ``displacement = unwrapped phase * lambda / (4 pi)``; breathing
moves the chest a few mm, the heartbeat a few tenths of a mm.

1. Slow time: one complex sample per frame (the mean over the frame's loops of the range FFT: a
   coherent zero-Doppler integration) or, for a continuous capture, one per loop.
2. Chest bin: the leading edge of the moving echo inside a range gate, the nearest bin whose
   moving echo (mean ``|z - mean_t z|``, so furniture, walls and the sofa a person sits on do not
   count) is within ``CHEST_EDGE_DB`` of the gate's strongest (:func:`chest_bin`). A bin is a few cm
   deep (3.75 cm at 4 GHz) and a torso spans several; the bins behind the leading edge add the chest
   wall to the torso's sides, arms and abdomen, each moving its own way, while the leading edge is
   the chest wall facing the radar.
3. Antennas combined coherently with the mean relative phase of their moving echo; the I/Q circle's
   centre removed (:func:`circle_centre`): whatever does not move in the bin (the body's still parts,
   furniture at the same range) adds a constant that pulls the samples' angle off the chest's phase
   (a distortion locked to the breath, which piles harmonics into the heart band); then unwrap and
   scale to metres.

   On simulated 60 s captures of 13 standing subjects (mesh -> scatterer backend -> ADC with the
   receiver model, ``benchmarks/bench_vitals_sim.py``) the plain estimator (strongest bin, phase
   around 0) gave the breathing rate within 1/min in 10 (twice the rate in the other 3) and the heart
   rate within 3/min in 1; steps 2-3 as above: see the benchmark's figures in
   ``benchmarks/README.md``.
4. Breathing (:func:`band_rate`): spectrum of the detrended, Hann-windowed displacement
   (zero-padded), peak inside the breathing band with parabolic refinement; quality = peak power /
   mean power in the band (peak-to-band ratio, 1 = no peak).
5. Heart (:func:`heart_rate`). A breath is not a sine (short inhale, long exhale, a pause), so its
   3rd-6th harmonics, tens of um for a 7 mm breath, sit in the heart band next to a heartbeat of a
   few tens of um; the strongest peak there is often a breathing harmonic. So:

   a. the breathing fundamental's instantaneous phase ``phi(t)`` by complex demodulation at the
      breathing rate (:func:`tone_phase`), which follows a rate that wanders by several %;
   b. the breathing waveform as a least-squares sum of harmonics locked to that phase,
      ``sum_k a_k cos(k phi) + b_k sin(k phi)`` for ``k <= BREATHING_MAX_HARMONIC`` and
      ``k f_b <= 2 x`` the heart band's top (:func:`breathing_harmonics`), subtracted: a harmonic
      that drifts with the breathing rate is cancelled as a whole, not by a fixed notch;
   c. the residual's spectrum (as in 4), scored ``P(f) + w min(P(2 f), P(f))`` over the heart band
      (the pulse's 2nd harmonic backs its fundamental but cannot make one, nor a subharmonic;
      ``w = HEART_SECOND_HARMONIC_WEIGHT``); the best score's bin with parabolic refinement;
      quality = best score / mean score in the band;
   d. the mean rate over the record: the heartbeat's phase by complex demodulation at that peak,
      beats counted from the first to the last sample (a wandering rate's spectral peak sits where
      the rate lingers, up to a few /min off the mean); kept when within 10 % of the peak.

   Limits: a heartbeat within about one resolution cell (``1 / record length``) of a breathing
   harmonic *for the whole record* (rates locked in an integer ratio) is absorbed by the fit; then
   the estimate is whatever is left (a residual peak, with a low quality of ~3-5); with rates that
   wander independently by a few % the lock is brief and the heart survives. Only a waveform
   that repeats from breath to breath is cancelled: a breath that changes shape from cycle to cycle,
   or a phase that is not linear in the chest's motion (speckle of a non-rigid chest spread over the
   bin decorrelating as it moves) leaves a broadband residual that can hide the heartbeat (the
   quality figure does not tell it apart from a real beat).

Not done: random body motion is not rejected; two people in one range gate are not separated.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from firmware_cfg.radar_config import RadarConfig
from runtime.dsp.peaks import interval_mask
from runtime.dsp.range import RANGE_WINDOW, range_axis_m, range_fft

#: Physiological search bands [breaths or beats per minute].
BREATHING_BAND_PER_MIN: tuple[float, float] = (6.0, 30.0)
HEART_BAND_PER_MIN: tuple[float, float] = (45.0, 120.0)
#: Demodulation bandwidth of the breathing phase, as a fraction of the breathing rate.
BREATHING_PHASE_BANDWIDTH = 0.25
#: Polynomial order of the breathing harmonics' amplitudes over a record (0: constant).
BREATHING_AMPLITUDE_ORDER = 0
#: Weight of the heart's 2nd harmonic power in the heart-rate score.
HEART_SECOND_HARMONIC_WEIGHT = 0.5
#: Demodulation bandwidth of the heartbeat's phase (mean-rate step), as a fraction of its rate.
HEART_PHASE_BANDWIDTH = 0.1
#: Highest breathing harmonic cancelled: enough for a slow breath's harmonics to cover the heart band
#: (the 11th of a 10/min breath still stood out of simulated chest phases).
BREATHING_MAX_HARMONIC = 20
#: The chest bin is the nearest bin in the gate within this many dB of the gate's strongest.
CHEST_EDGE_DB = 10.0


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


def slow_time_sample(frames: np.ndarray, radar_config: RadarConfig) -> np.ndarray:
    """One slow-time sample per frame: each virtual antenna's loop-averaged range profile.

    The loops are averaged before the range FFT: the same as averaging the range profiles after it
    (the FFT is linear), at ``1 / num_loops`` of the cost. The one place that computes it: the
    event engine's slow-time buffer (:class:`runtime.events.vitals.ChestBuffer`) calls it per frame.

    Args:
        frames: complex ``[..., tx, rx, loop, sample]`` raw ADC (one frame or a stack).
        radar_config: the radar's configuration (its chirp: FFT size, ADC format).

    Returns:
        complex64 ``[..., tx * rx, num_range_bins]``.
    """
    cfg = radar_config.chirp
    prof = range_fft(frames.mean(axis=-2), cfg, window=RANGE_WINDOW)  # [..., tx, rx, range]
    return prof.reshape(*prof.shape[:-3], cfg.num_virtual, prof.shape[-1])


def slow_time(
    frames: np.ndarray, radar_config: RadarConfig, *, per_chirp: bool = False
) -> np.ndarray:
    """Range profiles over slow time.

    Args:
        frames: complex ``[frames, tx, rx, loop, sample]``.
        radar_config: the radar's configuration (its chirp: FFT size, frame timing).
        per_chirp: one sample per loop (needs a continuous capture: one frame, or frames whose
            period equals their active time) instead of one per frame.

    Returns:
        complex64 ``[t, tx * rx, num_range_bins]``.
    """
    if not per_chirp:
        return slow_time_sample(frames, radar_config)
    cfg = radar_config.chirp
    rp = range_fft(frames, cfg, window=RANGE_WINDOW)  # [f, tx, rx, loop, range]
    f, ntx, nrx, nl, nr = rp.shape
    if f > 1 and not np.isclose(cfg.frame_period_s, cfg.frame_active_time_s):
        raise ValueError(
            "per-chirp slow time needs back-to-back frames "
            f"(frame period {cfg.frame_period_s} s, active time {cfg.frame_active_time_s} s)"
        )
    return np.moveaxis(rp, 3, 1).reshape(f * nl, ntx * nrx, nr)


def chest_signal(
    frames: np.ndarray,
    radar_config: RadarConfig,
    *,
    range_gate_m: tuple[float, float],
    per_chirp: bool = False,
    edge_db: float | None = CHEST_EDGE_DB,
    remove_static: bool = True,
) -> ChestSignal:
    """Chest displacement from the chest's range bin inside a gate (:func:`chest_bin`).

    Args:
        frames: complex ``[frames, tx, rx, loop, sample]`` raw ADC.
        radar_config: the radar's chirp (wavelength, frame period) and demo settings (the range
            bias: ``range_m`` is on the same axis as the DSP chain's detections).
        range_gate_m: ``(near, far)`` [m] where the chest is expected (bias-corrected ranges).
        per_chirp: see :func:`slow_time`.
        edge_db, remove_static: see :func:`chest_from_slow_time`.

    Returns:
        :class:`ChestSignal`.
    """
    cfg = radar_config.chirp
    z = slow_time(frames, radar_config, per_chirp=per_chirp)  # [t, virtual, range]
    axis = range_axis_m(radar_config)
    disp, rbin = chest_from_slow_time(
        z, axis, range_gate_m, cfg.wavelength_m, edge_db=edge_db, remove_static=remove_static
    )
    if per_chirp:
        rate = 1.0 / cfg.tdm_period_s
    else:
        rate = 1.0 / cfg.frame_period_s
    time_s = np.arange(disp.size) / rate
    return ChestSignal(disp, time_s, rate, rbin, float(axis[rbin]))


def chest_bin(
    z: np.ndarray,
    range_axis: np.ndarray,
    range_gate_m: tuple[float, float],
    *,
    edge_db: float | None = CHEST_EDGE_DB,
    moving: bool = True,
) -> int:
    """The chest's range bin (module docstring, step 2).

    Args:
        z: complex ``[t, virtual, range]`` slow-time range profiles (:func:`slow_time`).
        range_axis: ``[range]`` range of each bin [m].
        range_gate_m: ``(near, far)`` [m] where the chest is expected.
        edge_db: the nearest bin within this many dB of the gate's strongest (the echo's leading
            edge); None: the strongest bin.
        moving: rank bins by the part of their echo that changes over the record (mean
            ``|z - mean_t z|``: furniture and walls do not count); False: by the whole echo.

    Raises:
        ValueError: when the gate holds no range bin.
    """
    gate = interval_mask(range_axis, range_gate_m)
    if not gate.any():
        raise ValueError(f"range gate {range_gate_m} m holds no range bin")
    echo = z - z.mean(axis=0) if moving else z
    strength = np.where(gate, np.abs(echo).mean(axis=(0, 1)), -np.inf)  # [range]
    strongest = int(np.argmax(strength))
    if edge_db is None:
        return strongest
    near = strength >= strength[strongest] * 10.0 ** (-edge_db / 20.0)
    return int(np.flatnonzero(near)[0])  # the range axis ascends


def circle_centre(c: np.ndarray) -> complex:
    """Centre of the I/Q circle a moving reflector draws over slow time (module docstring, step 3).

    An algebraic (Kasa) least-squares circle fit: ``|c - m|^2 = r^2`` is linear in ``m`` and
    ``r^2 - |m|^2``. An arc much shorter than a turn does not fix a centre (a short arc looks like a
    line); then 0 is returned (no correction), as when the fitted radius exceeds
    ``3 x max |c - mean c|`` (an arc of less than about 30 degrees).

    Args:
        c: ``[t]`` complex slow-time samples of one bin.

    Returns:
        the centre (the static echo sharing the bin), or 0.
    """
    c = np.asarray(c, dtype=np.complex128)
    spread = float(np.abs(c - c.mean()).max()) if c.size else 0.0
    if c.size < 3 or spread == 0.0:
        return 0j
    design = np.stack([c.real, c.imag, np.ones(c.size)], axis=1)
    (a, b, k), *_ = np.linalg.lstsq(design, np.abs(c) ** 2, rcond=None)
    centre = complex(a / 2.0, b / 2.0)
    radius_sq = k + abs(centre) ** 2
    if not np.isfinite(radius_sq) or radius_sq <= 0 or np.sqrt(radius_sq) > 3.0 * spread:
        return 0j
    return centre


def chest_from_slow_time(
    z: np.ndarray,
    range_axis: np.ndarray,
    range_gate_m: tuple[float, float],
    wavelength_m: float,
    *,
    edge_db: float | None = CHEST_EDGE_DB,
    remove_static: bool = True,
) -> tuple[np.ndarray, int]:
    """Steps 2-3 of the module docstring on slow-time samples already at hand.

    Args:
        z: complex ``[t, virtual, range]`` slow-time range profiles (:func:`slow_time`).
        range_axis: ``[range]`` range of each bin [m].
        range_gate_m: ``(near, far)`` [m] where the chest is expected.
        wavelength_m: carrier wavelength [m].
        edge_db: chest-bin rule (:func:`chest_bin`).
        remove_static: rank bins by their moving echo and take the phase around the I/Q circle's
            centre (:func:`circle_centre`); False: the whole echo and the phase around 0 (what
            a plain phase-of-the-bin estimator does).

    Returns:
        ``(displacement [t] in m, + = away and 0 at the first sample; the chosen range bin)``.

    Raises:
        ValueError: when the gate holds no range bin.
    """
    rbin = chest_bin(z, range_axis, range_gate_m, edge_db=edge_db, moving=remove_static)
    s = z[:, :, rbin]  # [t, virtual]
    ref = s - s.mean(axis=0) if remove_static else s
    rel = (ref * np.conj(ref[:, :1])).mean(axis=0)  # [virtual] mean phase relative to antenna 0
    combined = (s * np.exp(-1j * np.angle(rel))).sum(axis=1)  # [t]
    if remove_static:
        combined = combined - circle_centre(combined)
    phase = np.unwrap(np.angle(combined))
    return (phase - phase[0]) * wavelength_m / (4.0 * np.pi), rbin


def _power_spectrum(x: np.ndarray, sample_rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Hann-windowed, zero-padded (8x) power spectrum of a detrended signal.

    Returns:
        ``(freq [bins] in 1/min, power [bins])``.
    """
    x = x * np.hanning(x.size)
    nfft = 1 << max(int(np.ceil(np.log2(x.size))) + 3, 8)
    spec = np.abs(np.fft.rfft(x, nfft)) ** 2
    return np.fft.rfftfreq(nfft, 1.0 / sample_rate_hz) * 60.0, spec


def _detrend(signal: np.ndarray) -> np.ndarray:
    x = np.asarray(signal, dtype=np.float64)
    t = np.arange(x.size)
    return x - np.polyval(np.polyfit(t, x, 1), t)  # remove mean and drift


def _refined_peak(freq_per_min: np.ndarray, spec: np.ndarray, k: int) -> float:
    """Frequency [1/min] of spectral bin ``k`` refined by a parabola through the log power."""
    offset = 0.0
    if 0 < k < spec.size - 1:
        y0, y1, y2 = np.log(spec[k - 1 : k + 2] + 1e-300)
        den = y0 - 2 * y1 + y2
        if den < 0:
            offset = float(np.clip(0.5 * (y0 - y2) / den, -0.5, 0.5))
    return float(freq_per_min[k] + offset * (freq_per_min[1] - freq_per_min[0]))


def band_rate(signal: np.ndarray, sample_rate_hz: float, band_per_min: tuple[float, float]) -> Rate:
    """Dominant rate of ``signal`` inside a band.

    Args:
        signal: ``[t]`` real, uniformly sampled.
        sample_rate_hz: its sample rate [Hz].
        band_per_min: ``(low, high)`` [1/min].

    Returns:
        :class:`Rate` (``per_min`` is NaN when the band holds no spectral bin).
    """
    freq_per_min, spec = _power_spectrum(_detrend(signal), sample_rate_hz)
    band = interval_mask(freq_per_min, band_per_min)
    if not band.any():
        return Rate(float("nan"), 0.0)
    idx = np.flatnonzero(band)
    k = idx[np.argmax(spec[idx])]
    quality = float(spec[k] / max(spec[idx].mean(), 1e-300))
    return Rate(_refined_peak(freq_per_min, spec, k), quality)


def tone_phase(
    signal: np.ndarray, sample_rate_hz: float, rate_hz: float, bandwidth: float
) -> np.ndarray:
    """Instantaneous phase of a quasi-periodic component by complex demodulation.

    ``signal`` is shifted by ``-rate_hz`` and low-passed with a Gaussian window whose frequency
    standard deviation is ``bandwidth * rate_hz``, normalised where the record's ends cut it (so the
    ends are estimated from one side, not from zeros).

    Args:
        signal: ``[t]`` detrended, uniformly sampled.
        sample_rate_hz: its sample rate [Hz].
        rate_hz: the component's approximate frequency [Hz].
        bandwidth: Gaussian frequency sigma as a fraction of ``rate_hz``.

    Returns:
        ``[t]`` unwrapped phase [rad] (``2 pi`` per cycle).
    """
    n = signal.size
    t = np.arange(n) / sample_rate_hz
    base = signal * np.exp(-2j * np.pi * rate_hz * t)  # [t] the component near 0 Hz
    sigma = sample_rate_hz / (2 * np.pi * bandwidth * rate_hz)  # [samples]
    half = min(int(np.ceil(4 * sigma)), n - 1)
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    num = np.convolve(base, kernel)[half : half + n]
    den = np.convolve(np.ones(n), kernel)[half : half + n]
    return 2 * np.pi * rate_hz * t + np.unwrap(np.angle(num / den))


def breathing_harmonics(
    signal: np.ndarray,
    sample_rate_hz: float,
    breathing_per_min: float,
    *,
    max_per_min: float,
    amplitude_order: int = BREATHING_AMPLITUDE_ORDER,
) -> np.ndarray:
    """The breathing waveform: least-squares fit of harmonics locked to the breathing phase.

    Model: ``x(t) = poly(t) + sum_k sum_j P_j(t) (a_kj cos(k phi(t)) + b_kj sin(k phi(t)))`` for the
    harmonics ``k f_b <= max_per_min`` with ``phi`` from :func:`tone_phase` and Legendre
    polynomials ``P_j`` (``j <= amplitude_order``) over the record for a slowly changing depth.

    Args:
        signal: ``[t]`` displacement [m].
        sample_rate_hz: its sample rate [Hz].
        breathing_per_min: breathing fundamental [1/min].
        max_per_min: fit harmonics up to this rate [1/min].
        amplitude_order: polynomial order of each harmonic's amplitude over the record.

    Returns:
        ``[t]`` the fitted breathing waveform (with the trend) [m].
    """
    x = _detrend(signal)
    n = x.size
    phi = tone_phase(x, sample_rate_hz, breathing_per_min / 60.0, BREATHING_PHASE_BANDWIDTH)  # [t]
    tau = np.linspace(-1.0, 1.0, n)
    envelope = np.polynomial.legendre.legvander(tau, amplitude_order)  # [t, J] J = order + 1
    num = max(1, min(int(max_per_min // breathing_per_min), BREATHING_MAX_HARMONIC))
    k = np.arange(1, num + 1)
    arg = np.multiply.outer(phi, k)  # [t, K]
    waves = np.concatenate([np.cos(arg), np.sin(arg)], axis=1)  # [t, 2K]
    design = (waves[:, :, None] * envelope[:, None, :]).reshape(n, -1)  # [t, 2K * J]
    trend = np.polynomial.legendre.legvander(tau, 1)  # [t, 2] mean and drift
    design = np.concatenate([trend, design], axis=1)
    coef, *_ = np.linalg.lstsq(design, x, rcond=None)
    return np.asarray(signal, dtype=np.float64) - x + design @ coef


def heart_rate(
    displacement_m: np.ndarray,
    sample_rate_hz: float,
    breathing: Rate,
    *,
    band_per_min: tuple[float, float] = HEART_BAND_PER_MIN,
    second_harmonic_weight: float = HEART_SECOND_HARMONIC_WEIGHT,
) -> Rate:
    """Heart rate after cancelling the breathing waveform's harmonics (module docstring, step 5).

    Args:
        displacement_m: ``[t]`` chest displacement [m].
        sample_rate_hz: its sample rate [Hz].
        breathing: the breathing estimate (:func:`band_rate` in the breathing band); a NaN rate
            skips the cancellation.
        band_per_min: heart search band [1/min].
        second_harmonic_weight: weight ``w`` of the heart's 2nd harmonic in the score
            ``P(f) + w min(P(2 f), P(f))``.

    Returns:
        :class:`Rate`: ``quality`` is the peak score over the band's mean score.
    """
    x = _detrend(displacement_m)
    if np.isfinite(breathing.per_min) and breathing.per_min > 0 and x.size >= 8:
        top = band_per_min[1] * (2.0 if second_harmonic_weight > 0 else 1.0)
        x = x - _detrend(breathing_harmonics(x, sample_rate_hz, breathing.per_min, max_per_min=top))
    freq_per_min, spec = _power_spectrum(x, sample_rate_hz)
    band = interval_mask(freq_per_min, band_per_min)
    if not band.any():
        return Rate(float("nan"), 0.0)
    idx = np.flatnonzero(band)
    score = spec[idx].copy()
    if second_harmonic_weight > 0:
        double = 2 * idx
        ok = double < spec.size
        # the 2nd harmonic backs a fundamental, it cannot make one (nor a subharmonic)
        score[ok] += second_harmonic_weight * np.minimum(spec[double[ok]], score[ok])
    j = int(np.argmax(score))
    quality = float(score[j] / max(score.mean(), 1e-300))
    peak = _refined_peak(freq_per_min, spec, int(idx[j]))
    # beats counted over the record: the mean rate (the peak sits where a wandering rate lingers)
    phase = tone_phase(x, sample_rate_hz, peak / 60.0, HEART_PHASE_BANDWIDTH)  # [t]
    mean = float((phase[-1] - phase[0]) / (2 * np.pi) * 60.0 * sample_rate_hz / (x.size - 1))
    if (
        abs(mean - peak) <= HEART_PHASE_BANDWIDTH * peak
        and band_per_min[0] <= mean <= band_per_min[1]
    ):
        peak = mean
    return Rate(peak, quality)


def vital_rates(
    displacement_m: np.ndarray,
    sample_rate_hz: float,
    *,
    breathing_band_per_min: tuple[float, float] = BREATHING_BAND_PER_MIN,
    heart_band_per_min: tuple[float, float] = HEART_BAND_PER_MIN,
) -> VitalRates:
    """Breathing (:func:`band_rate`) and heart (:func:`heart_rate`) rates [1/min] with qualities.

    Args:
        displacement_m: ``[t]`` chest displacement [m].
        sample_rate_hz: slow-time sample rate [Hz] (frame rate for per-frame samples).
        breathing_band_per_min, heart_band_per_min: search bands [1/min].
    """
    breathing = band_rate(displacement_m, sample_rate_hz, breathing_band_per_min)
    heart = heart_rate(displacement_m, sample_rate_hz, breathing, band_per_min=heart_band_per_min)
    return VitalRates(breathing=breathing, heart=heart)
