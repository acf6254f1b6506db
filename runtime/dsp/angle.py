"""Angle of arrival from the TDM-MIMO virtual array (``ChirpConfig.virtual_array()``).

Geometry: virtual element ``(x, z)`` in half-wavelengths; a plane wave from azimuth ``az`` (toward
+x) and elevation ``el`` (up) gives it the phase ``pi * (x * u + z * w)`` with ``u = sin(az) cos(el)``
and ``w = sin(el)`` (sign pinned by the reference vector).

Azimuth: a beamforming grid uniform in ``u`` over ``[-1, 1)`` (``grid_size`` points) on the
azimuth row (the most populated height): ``P(u) = |sum_x s_x exp(-j pi x u)|^2``. On a uniform
half-wavelength row this *is* a zero-padded FFT (TI's demo: a 64-point FFT); as a matrix product it
also handles rows with gaps or overlaps, and it only runs on detected cells. The peak is refined by a
parabola through the log-power of the peak and its two neighbours, except when the demo reads its
azimuth FFT at the peak bin (``DemoConfig.angle_fft_size``, the xWR14xx SDK 1.x demo: a 64-point FFT,
``x = r * 2 k / 64``): then the grid is that FFT and the peak stays on it.

Elevation (boards with an elevated row, e.g. TX1 of the xWR14/18/68 BOOST/ISK layout): as TI's demo,
the phase difference between the elevated row and the azimuth row, both beamformed at the azimuth
peak ``u``: ``w = angle(S_el(u) conj(S_az(u))) / (pi dz)``. Then ``az = arcsin(u / cos(el))``.

Multi-object beamforming (``DemoConfig.multi_obj_beamforming``): the strongest *other* local maximum
of ``P(u)`` is reported as a second object when its power exceeds ``multi_obj_threshold`` times the
main peak's (its magnitude, i.e. ``multi_obj_threshold ** 2`` in power, when
``DemoConfig.multi_obj_on_magnitude``: the xWR14xx SDK 1.x demo compares the HWA's magnitudes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from firmware_cfg.radar_config import RadarConfig

_TINY = np.finfo(np.float32).tiny
_NEIGHBOURS = np.array([-1, 0, 1])


@dataclass(frozen=True, eq=False)
class ArrayGeometry:
    """Precomputed angle-estimation data for one config (built by :func:`array_geometry`).

    Attributes:
        calibration: complex64 ``[tx, rx]`` per-antenna factor (board RX polarity x demo's
            ``rx_channel_phase``).
        az_index: ``[n_az]`` flat (tx-major) indices of the azimuth-row elements.
        az_x: ``[n_az]`` their x [half-wavelengths].
        el_index: ``[n_el]`` flat indices of the elevated-row elements (empty: no elevation).
        el_x: ``[n_el]`` their x [half-wavelengths].
        el_dz: height of the elevated row above the azimuth row [half-wavelengths] (0: none).
        grid_u: ``[grid]`` beamforming grid in ``u = sin(az) cos(el)``.
        steering: complex64 ``[n_az, grid]`` matched-filter weights ``exp(-j pi x u)``.
    """

    calibration: np.ndarray
    az_index: np.ndarray
    az_x: np.ndarray
    el_index: np.ndarray
    el_x: np.ndarray
    el_dz: float
    grid_u: np.ndarray
    steering: np.ndarray

    @property
    def has_elevation(self) -> bool:
        return self.el_index.size > 0


def calibration_vector(radar_config: RadarConfig) -> np.ndarray:
    """Per-virtual-antenna correction, complex64 ``[tx, rx]``.

    Board RX feed polarity (``board_spec.rx_phase_sign``) times the demo's
    ``compRangeBiasAndRxChanPhase`` coefficients (tx-major), identity when absent.
    """
    cfg, demo = radar_config.chirp, radar_config.demo
    sign = np.array([cfg.board_spec.rx_phase_sign[r] for r in cfg.rx_indices], dtype=np.complex64)
    cal = np.broadcast_to(sign, (cfg.num_tx, cfg.num_rx)).copy()
    if demo.rx_channel_phase is not None:
        coeffs = np.asarray(demo.rx_channel_phase, dtype=np.complex64)
        if coeffs.size < cfg.num_virtual:
            raise ValueError(
                f"rx_channel_phase has {coeffs.size} values; the config has {cfg.num_virtual} "
                "virtual antennas"
            )
        cal *= coeffs[: cfg.num_virtual].reshape(cfg.num_tx, cfg.num_rx)
    return cal


def array_geometry(radar_config: RadarConfig, grid_size: int) -> ArrayGeometry:
    """Split the virtual array into azimuth and elevated rows and precompute the steering grid.

    Args:
        radar_config: chirp (TX order, RX mask, board) and demo settings (channel calibration).
        grid_size: number of ``u`` grid points over ``[-1, 1)``.
    """
    cfg = radar_config.chirp
    va = cfg.virtual_array().reshape(-1, 2)  # [virtual, (x, z)]
    heights, counts = np.unique(va[:, 1], return_counts=True)
    z_az = heights[np.argmax(counts)]  # most populated height (ties: the lowest)
    az_index = np.flatnonzero(va[:, 1] == z_az)
    el_index = np.zeros(0, dtype=np.int64)
    el_dz = 0.0
    others = [(c, h) for h, c in zip(heights, counts, strict=True) if h != z_az]
    if others and cfg.board_spec.has_elevation:
        _, z_el = max(others)
        el_index = np.flatnonzero(va[:, 1] == z_el)
        el_dz = float(z_el - z_az)
    grid_u = np.linspace(-1.0, 1.0, grid_size, endpoint=False)
    az_x = va[az_index, 0]
    steering = np.exp(-1j * np.pi * np.outer(az_x, grid_u)).astype(np.complex64)
    return ArrayGeometry(
        calibration=calibration_vector(radar_config),
        az_index=az_index,
        az_x=az_x,
        el_index=el_index,
        el_x=va[el_index, 0],
        el_dz=el_dz,
        grid_u=grid_u,
        steering=steering,
    )


def azimuth_spectrum(virtual: np.ndarray, geom: ArrayGeometry) -> np.ndarray:
    """Beamformed power over the ``u`` grid.

    Args:
        virtual: complex ``[n, tx, rx]`` (TDM-compensated, calibrated) antenna values.
        geom: :func:`array_geometry` output.

    Returns:
        float32 ``[n, grid]`` power (linear).
    """
    flat = virtual.reshape(virtual.shape[0], -1)[:, geom.az_index]  # [n, n_az]
    beams = flat @ geom.steering  # [n, grid]
    return (beams.real**2 + beams.imag**2).astype(np.float32, copy=False)


def _refine(spec: np.ndarray, rows: np.ndarray, peak: np.ndarray, du: float) -> np.ndarray:
    """Parabolic (log-power) sub-grid offset of each peak, in ``u`` units. ``[m]``.

    ``spec``: linear power ``[n, grid]``; ``rows``/``peak``: ``[m]`` row and grid index of each peak.
    """
    g = spec.shape[1]
    three = spec[rows[:, None], (peak[:, None] + _NEIGHBOURS) % g]  # [m, 3]
    y0, y1, y2 = np.log(np.maximum(three, _TINY)).T
    den = y0 - 2.0 * y1 + y2
    with np.errstate(invalid="ignore", divide="ignore"):
        off = np.where(den < 0, 0.5 * (y0 - y2) / den, 0.0)
    return np.clip(off, -0.5, 0.5) * du


def _beam_at(values: np.ndarray, x: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``sum_x values[n, x] exp(-j pi x u[n])`` -> complex ``[n]``."""
    return (values * np.exp(-1j * np.pi * np.outer(u, x))).sum(axis=1)


def estimate_angles(
    virtual: np.ndarray, geom: ArrayGeometry, radar_config: RadarConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Azimuth/elevation of detected cells, with multi-object second peaks.

    Args:
        virtual: complex ``[n, tx, rx]`` TDM-compensated antenna values of ``n`` detected cells
            (calibration is applied here).
        geom: :func:`array_geometry` output.
        radar_config: the radar's configuration (its demo's multi-object beamforming settings).

    Returns:
        ``(cell, azimuth_deg, elevation_deg, power)``, each ``[m]`` with ``m >= n``: ``cell`` is the
        detected cell each angle belongs to (a cell appears twice when a second object is found),
        ``power`` the beamformed power of the peak (linear).
    """
    n = virtual.shape[0]
    if n == 0:
        empty = np.zeros(0)
        return np.zeros(0, dtype=np.int64), empty, empty, empty
    v = virtual * geom.calibration  # [n, tx, rx]
    spec = azimuth_spectrum(v, geom)  # [n, grid]
    g = spec.shape[1]
    du = 2.0 / g
    peak = np.argmax(spec, axis=1)  # [n]
    cell = np.arange(n)
    demo = radar_config.demo
    if demo.multi_obj_beamforming:
        ring = np.concatenate([spec[:, -1:], spec, spec[:, :1]], axis=1)  # cyclic neighbours
        is_max = (spec > ring[:, :-2]) & (spec >= ring[:, 2:])
        masked = np.where(is_max, spec, 0.0)
        masked[cell, peak] = 0.0
        second = np.argmax(masked, axis=1)
        top = spec[cell, peak]
        ratio = demo.multi_obj_threshold ** (2 if demo.multi_obj_on_magnitude else 1)
        keep = masked[cell, second] > ratio * top
        cell = np.concatenate([cell, cell[keep]])
        peak = np.concatenate([peak, second[keep]])
    u = geom.grid_u[peak]
    if demo.angle_fft_size is None:
        u = u + _refine(spec, cell, peak, du)
    u = (u + 1.0) % 2.0 - 1.0
    flat = v.reshape(n, -1)[cell]  # [m, virtual]
    s_az = _beam_at(flat[:, geom.az_index], geom.az_x, u)
    power = (np.abs(s_az) ** 2).astype(np.float64)
    if geom.has_elevation:
        s_el = _beam_at(flat[:, geom.el_index], geom.el_x, u)
        w = np.angle(s_el * np.conj(s_az)) / (np.pi * geom.el_dz)
        w = np.clip(w, -1.0, 1.0)
    else:
        w = np.zeros_like(u)
    el = np.arcsin(w)
    cos_el = np.cos(el)
    az = np.arcsin(np.clip(u / np.maximum(cos_el, 1e-9), -1.0, 1.0))
    return cell, np.rad2deg(az), np.rad2deg(el), power


def range_azimuth_map(cube: np.ndarray, geom: ArrayGeometry, tdm_table: np.ndarray) -> np.ndarray:
    """Range-azimuth power, summed over Doppler after TDM compensation of each Doppler bin.

    Args:
        cube: complex ``[tx, rx, doppler, range]`` (Doppler-FFT output).
        geom: :func:`array_geometry` output.
        tdm_table: :func:`runtime.dsp.doppler.tdm_phase_table` ``[doppler, tx]``.

    Returns:
        float32 ``[range, grid]`` (grid in ``geom.grid_u``).
    """
    comp = cube * (tdm_table.T[:, None, :, None] * geom.calibration[:, :, None, None])
    ntx, nrx, nd, nr = comp.shape
    az = comp.reshape(ntx * nrx, nd, nr)[geom.az_index]  # [n_az, doppler, range]
    beams = np.einsum("adr,ag->rdg", az, geom.steering, optimize=True)  # [range, doppler, grid]
    return (np.abs(beams) ** 2).sum(axis=1).astype(np.float32)
