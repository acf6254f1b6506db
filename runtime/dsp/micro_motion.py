"""Micro-motion: where something that does not walk still moves (breathing, fidgeting).

A person sitting or lying still gives no Doppler (their return sits in the zero-Doppler bin, often on
the skirt of a stronger furniture return) and no CFAR detection, but their chest moves a few mm with
each breath: at a carrier wavelength ``lambda`` (3.9 mm at 77 GHz) the range bin's phase moves by
``4 pi d / lambda``, several radians for 2 mm. Furniture and walls are phase-stable.

Input: slow time, one loop-averaged range profile per frame and virtual antenna
(:class:`runtime.events.vitals.ChestBuffer`, complex ``[t, virtual, bins]``; the loop average is a
zero-Doppler filter of width about one velocity bin, so walking bodies contribute little). Over a
window of ``t`` frames (1-3 s):

1. remove the static component: subtract the time mean of every ``(antenna, bin)``;
2. beamform the residual on the azimuth row (calibrated, Hann-tapered to push sidelobes near -30 dB)
   over a grid in ``u = sin(az) cos(el)``;
3. power = mean over the window of the beam's squared magnitude: ``[bins, grid]`` (ADC counts^2).

:func:`motion_snr_db` divides by the map's median: most range-angle cells hold nothing that moves, so
the median is the noise floor of the residual, and the result is the micro-motion SNR [dB] (about 0 dB
in an empty cell, 10-60 dB at a breathing person here). :func:`micro_motion_elevation` gives the
elevation of the moving part of a cell (the chest of a still person: its height tells lying from
sitting).
"""

from __future__ import annotations

import numpy as np

from runtime.dsp.angle import ArrayGeometry

_TINY = 1e-30


def micro_motion_map(samples: np.ndarray, geometry: ArrayGeometry) -> np.ndarray:
    """Slow-time residual power per range bin and azimuth.

    Args:
        samples: complex ``[t, virtual, bins]`` loop-averaged range profiles over the window, oldest
            first (virtual antennas tx-major, as ``ChirpConfig.virtual_array()``), ``t >= 2``.
        geometry: :func:`runtime.dsp.angle.array_geometry` output (calibration, azimuth row, grid).

    Returns:
        float64 ``[bins, grid]``: mean over the window of ``|beam(u)|^2`` of the residual after the
        time mean is removed [ADC counts^2], grid in ``geometry.grid_u``.
    """
    t = samples.shape[0]
    if t < 2:
        raise ValueError(f"micro-motion needs at least 2 slow-time samples, got {t}")
    cal = geometry.calibration.reshape(-1)[geometry.az_index]  # [n_az]
    x = samples[:, geometry.az_index, :]  # [t, n_az, bins]
    resid = (x - x.mean(axis=0, keepdims=True)).astype(np.complex64)
    taper = np.hanning(geometry.az_index.size + 2)[1:-1]  # [n_az], no zero end weights
    w = (geometry.steering * (cal * taper)[:, None]).astype(np.complex64)  # [n_az, grid]
    nb = resid.shape[2]
    flat = resid.transpose(0, 2, 1).reshape(t * nb, -1)  # [t * bins, n_az]
    beams = (flat @ w).reshape(t, nb, -1)  # [t, bins, grid]
    return (beams.real**2 + beams.imag**2).mean(axis=0, dtype=np.float64)


def motion_snr_db(power: np.ndarray) -> np.ndarray:
    """Micro-motion SNR [dB]: ``10 log10(power / median(power))`` (the median cell is empty).

    Args:
        power: ``[bins, grid]`` from :func:`micro_motion_map`.

    Returns:
        float64 ``[bins, grid]`` [dB].
    """
    noise = max(float(np.median(power)), _TINY)
    return 10.0 * np.log10(np.maximum(power, _TINY) / noise)


def micro_motion_elevation(
    samples: np.ndarray, geometry: ArrayGeometry, bins: np.ndarray, u: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Elevation of the micro-motion in given cells, as TI's demo does for detections.

    The residual (time mean removed) of the elevated row and of the azimuth row are both beamformed
    at ``u``; the phase of their correlation over the window is ``pi * dz * sin(el)``.

    Args:
        samples: complex ``[t, virtual, bins]`` as :func:`micro_motion_map`.
        geometry: :func:`runtime.dsp.angle.array_geometry` output.
        bins: int ``[n]`` range bins of the cells.
        u: ``[n]`` ``sin(az) cos(el)`` of the cells.

    Returns:
        ``(w, coherence)``, each ``[n]``: ``w = sin(elevation)`` in ``[-1, 1]`` and the magnitude of
        the two rows' correlation coefficient in ``[0, 1]`` (near 1: one moving scatterer, a
        trustworthy angle; low: several, or noise). Zeros when the array has no elevated row.
    """
    bins = np.asarray(bins, dtype=np.int64)
    u = np.asarray(u, dtype=np.float64)
    if not geometry.has_elevation or bins.size == 0:
        return np.zeros(bins.size), np.zeros(bins.size)
    x = samples[:, :, bins] * geometry.calibration.reshape(1, -1, 1)  # [t, virtual, n]
    resid = x - x.mean(axis=0, keepdims=True)
    s_az = np.einsum(
        "tan,na->tn", resid[:, geometry.az_index], np.exp(-1j * np.pi * np.outer(u, geometry.az_x))
    )
    s_el = np.einsum(
        "ten,ne->tn", resid[:, geometry.el_index], np.exp(-1j * np.pi * np.outer(u, geometry.el_x))
    )
    corr = (s_el * np.conj(s_az)).sum(axis=0)  # [n]
    norm = np.sqrt((np.abs(s_el) ** 2).sum(axis=0) * (np.abs(s_az) ** 2).sum(axis=0))
    coherence = np.abs(corr) / np.maximum(norm, _TINY)
    return np.clip(np.angle(corr) / (np.pi * geometry.el_dz), -1.0, 1.0), coherence
