"""Doppler FFT over slow time (loops), velocity axis and TDM-MIMO Doppler phase compensation.

Slow-time sampling period is ``ChirpConfig.tdm_period_s`` (one loop: every TX slot once). A reflector
with radial velocity ``v`` (+ = moving away) advances the phase by ``2 pi f_d`` per second with
``f_d = 2 v / lambda`` (sign pinned by the reference vector). After ``fftshift`` bin ``k`` of
``doppler_fft_size`` bins (zero velocity at ``k = N/2``) is ``(k - N/2) * velocity_bin_mps``; the
unambiguous interval is ``[-v_max, v_max)`` and faster targets wrap around.

TDM-MIMO: the chirp of slot ``m`` in a loop starts ``m * chirp_period_s`` after slot 0, so a moving
target adds ``2 pi f_d m T_c`` to every virtual antenna of TX slot ``m``. Angle estimation must remove it
(:func:`tdm_compensation`), otherwise the azimuth of a moving target is biased.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from firmware_cfg.chirp import ChirpConfig
from runtime.dsp.windows import make_window

#: Doppler window of TI's out-of-box demo (Hann on the 2-D FFT).
DOPPLER_WINDOW = "hann"


def doppler_fft(
    range_cube: np.ndarray,
    cfg: ChirpConfig,
    *,
    window: str = DOPPLER_WINDOW,
    loop_axis: int = -2,
) -> np.ndarray:
    """Windowed, fftshifted Doppler FFT over loops.

    Args:
        range_cube: complex ``[tx, rx, loop, range]`` (range-FFT output).
        cfg: chirp configuration (Doppler FFT size).
        window: tapering window name.
        loop_axis: the slow-time axis.

    Returns:
        complex64 ``[tx, rx, doppler, range]`` with zero velocity at bin ``doppler_fft_size // 2``.
    """
    x = np.moveaxis(np.asarray(range_cube), loop_axis, -1)
    x = x * make_window(window, x.shape[-1])
    spec = scipy.fft.fft(x, n=cfg.doppler_fft_size, axis=-1, workers=1)
    spec = scipy.fft.fftshift(spec, axes=-1)
    return np.moveaxis(spec, -1, loop_axis).astype(np.complex64, copy=False)


def doppler_bins_signed(cfg: ChirpConfig) -> np.ndarray:
    """Signed Doppler bin of each fftshifted bin, ``[doppler_fft_size]`` int: ``-N/2 .. N/2-1``."""
    n = cfg.doppler_fft_size
    return np.arange(n) - n // 2


def velocity_axis_mps(cfg: ChirpConfig) -> np.ndarray:
    """Radial velocity of each fftshifted Doppler bin [m/s] (+ = moving away), ``[doppler_fft_size]``."""
    return doppler_bins_signed(cfg) * cfg.velocity_bin_mps


def doppler_frequency_hz(doppler_bin: np.ndarray, cfg: ChirpConfig) -> np.ndarray:
    """Doppler frequency [Hz] of fftshifted bin indices (``0 .. N-1``, zero velocity at ``N/2``)."""
    n = cfg.doppler_fft_size
    return (np.asarray(doppler_bin) - n // 2) / (n * cfg.tdm_period_s)


def tdm_phase_table(cfg: ChirpConfig) -> np.ndarray:
    """Compensation factor per Doppler bin and TX slot, complex64 ``[doppler_fft_size, num_tx]``.

    ``table[k, m] = exp(-j 2 pi f_d(k) m T_c)`` with ``f_d(k)`` the Doppler frequency of fftshifted bin
    ``k`` and ``T_c = chirp_period_s``. Multiply the virtual antennas of slot ``m`` by it.
    """
    f_d = doppler_frequency_hz(np.arange(cfg.doppler_fft_size), cfg)  # [doppler] Hz
    slot_delay = np.arange(cfg.num_tx) * cfg.chirp_period_s  # [tx] s
    return np.exp(-2j * np.pi * np.outer(f_d, slot_delay)).astype(np.complex64)


def tdm_compensation(
    virtual: np.ndarray, doppler_bin: np.ndarray, cfg: ChirpConfig, table: np.ndarray | None = None
) -> np.ndarray:
    """Remove the TDM slot delay phase from detected cells' virtual antennas.

    Args:
        virtual: complex ``[n, tx, rx]`` antenna values of ``n`` detected cells.
        doppler_bin: ``[n]`` fftshifted Doppler bin of each cell.
        cfg: chirp configuration.
        table: :func:`tdm_phase_table` (computed when None).

    Returns:
        complex64 ``[n, tx, rx]``. Exact for targets inside ``+-v_max``; an aliased target is
        compensated for its aliased velocity, as on the chip.
    """
    if table is None:
        table = tdm_phase_table(cfg)
    return (virtual * table[np.asarray(doppler_bin)][:, :, None]).astype(np.complex64, copy=False)
