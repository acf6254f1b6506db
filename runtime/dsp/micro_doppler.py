"""Micro-Doppler spectrogram: radial velocity versus time over a window of frames.

Each frame gives one column: its range-Doppler cube (same windows, clutter removal and fftshift as
the chain), power summed over the virtual antennas and over the range bins inside a range gate. Limbs
swinging, a torso turning and breathing show up as velocity spread around the bulk motion.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from firmware_cfg.radar_config import RadarConfig
from runtime.dsp.chain import make_plan, range_doppler_cube
from runtime.dsp.peaks import interval_mask


class Spectrogram(NamedTuple):
    """A velocity-time map.

    Attributes:
        power_db: float32 ``[frames, doppler]`` [dB] (power summed over antennas and the gate).
        time_s: ``[frames]`` start time of each frame relative to the first [s].
        velocity_mps: ``[doppler]`` radial velocity [m/s] (+ = away).
    """

    power_db: np.ndarray
    time_s: np.ndarray
    velocity_mps: np.ndarray


def micro_doppler(
    frames: np.ndarray,
    radar_config: RadarConfig,
    *,
    range_gate_m: tuple[float, float],
) -> Spectrogram:
    """Velocity-time spectrogram of the reflectors inside a range gate.

    Args:
        frames: complex ``[frames, tx, rx, loop, sample]`` raw ADC.
        radar_config: the radar's chirp (frame period, axes) and demo settings (clutter removal,
            range bias).
        range_gate_m: ``(near, far)`` [m], inclusive.

    Returns:
        :class:`Spectrogram`.

    Raises:
        ValueError: when the gate holds no range bin.
    """
    plan = make_plan(radar_config)
    cfg = radar_config.chirp
    gate = interval_mask(plan.range_axis_m, range_gate_m)
    if not gate.any():
        raise ValueError(f"range gate {range_gate_m} m holds no range bin")
    cols = np.empty((frames.shape[0], cfg.doppler_fft_size), dtype=np.float32)
    for i, frame in enumerate(frames):
        cube = range_doppler_cube(frame, plan)[..., gate]  # [tx, rx, doppler, gate]
        power = np.square(cube.real) + np.square(cube.imag)
        cols[i] = power.sum(axis=(0, 1, 3))
    power_db = 10.0 * np.log10(np.maximum(cols, np.finfo(np.float32).tiny))
    time_s = np.arange(frames.shape[0]) * cfg.frame_period_s
    return Spectrogram(power_db.astype(np.float32), time_s, plan.velocity_axis_mps)
