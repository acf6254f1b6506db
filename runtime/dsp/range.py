"""Range FFT: fast time (ADC samples of one chirp) -> range bins.

The beat frequency of a reflector at range ``R`` is ``f_b = 2 R S / c`` (``S`` the chirp slope), so range
bin ``k`` of an ``N``-point FFT sits at ``k * ChirpConfig.range_bin_m``. Complex ADC keeps all ``N``
bins (positive beat frequencies only; the negative half holds images and leakage); real ADC keeps the
positive half ``N/2``. The demo's range bias (``DemoConfig.range_bias_m``) is subtracted on the axis,
which is why :func:`range_axis_m` takes the whole :class:`~firmware_cfg.radar_config.RadarConfig`.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from firmware_cfg.chirp import ChirpConfig
from firmware_cfg.radar_config import RadarConfig
from runtime.dsp.windows import make_window

#: Range window of TI's out-of-box demo (xWR18xx SDK 3.x uses a Blackman window for the 1-D FFT).
RANGE_WINDOW = "blackman"


def check_frame(frame: np.ndarray, cfg: ChirpConfig) -> None:
    """Raise ``ValueError`` when ``frame`` is not ``cfg.frame_shape`` ``[tx, rx, loop, sample]``."""
    if frame.shape != cfg.frame_shape:
        raise ValueError(
            f"frame shape {tuple(frame.shape)} does not match the config's "
            f"[tx, rx, loop, sample] = {cfg.frame_shape}"
        )


def adc_samples(frame: np.ndarray, cfg: ChirpConfig) -> np.ndarray:
    """The ADC samples as the FFT should see them: complex64, or float32 for real ADC.

    ``frame``: ``[..., sample]``; a real-ADC frame may come as complex64 with zero imaginary part.
    """
    if cfg.adc_format.is_complex:
        return np.asarray(frame, dtype=np.complex64)
    return np.asarray(frame.real if np.iscomplexobj(frame) else frame, dtype=np.float32)


def range_fft(
    frame: np.ndarray,
    cfg: ChirpConfig,
    *,
    window: str = RANGE_WINDOW,
    remove_dc: bool = False,
) -> np.ndarray:
    """Windowed range FFT along the last axis.

    Args:
        frame: ``[..., sample]`` raw ADC (typically ``[tx, rx, loop, sample]``), complex or real.
        cfg: the chirp configuration (FFT size, ADC format).
        window: tapering window name (see :mod:`runtime.dsp.windows`).
        remove_dc: subtract each chirp's mean ADC value first (kills the zero-range leak of an ADC
            offset; TI's demo does not do this).

    Returns:
        complex64 ``[..., num_range_bins]``.
    """
    x = adc_samples(frame, cfg)
    if remove_dc:
        x = x - x.mean(axis=-1, keepdims=True)
    x = x * make_window(window, cfg.num_samples)
    n = cfg.range_fft_size
    if cfg.adc_format.is_complex:
        out = scipy.fft.fft(x, n=n, axis=-1, workers=1)
    else:
        out = scipy.fft.rfft(x, n=n, axis=-1, workers=1)[..., : cfg.num_range_bins]
    return out.astype(np.complex64, copy=False)


def range_axis_m(radar_config: RadarConfig) -> np.ndarray:
    """Range of each range bin [m], ``[num_range_bins]`` float64, the ``.cfg``'s range bias
    (``compRangeBiasAndRxChanPhase``) subtracted."""
    cfg = radar_config.chirp
    return np.arange(cfg.num_range_bins) * cfg.range_bin_m - radar_config.demo.range_bias_m
