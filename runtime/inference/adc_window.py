"""Raw ADC frames -> the fixed-size map sequence a CLMP ADC encoder reads (numpy only).

The physics front end of the raw-ADC encoder (``clmp_adc_*`` configs). The same code prepares the
training windows (simulated samples), evaluation windows and the hub's live DCA1000 windows, so all
three see identical inputs. It runs the runtime's own DSP (:mod:`runtime.dsp.chain`: the fused
range/Doppler windows and FFTs, :mod:`runtime.dsp.doppler`'s TDM compensation and
:mod:`runtime.dsp.angle`'s virtual-array beamformer), then resamples every map onto FIXED physical
grids, so one encoder serves several boards and chirp configurations.

Per radar frame ``[tx, rx, loop, sample]``, three maps ``[C=3, R, K]``:

0. ``range_doppler``: ``10 log10`` of the power averaged over the virtual antennas, over (range,
   radial velocity) - the demo's detection map (Blackman range window, Hann Doppler window);
1. ``range_azimuth_moving``: beamformed power over (range, azimuth), the maximum over the Doppler
   bins with ``|v| >= min_speed_mps`` and at least two bins from zero (a static reflector leaks into
   the Hann window's +-1 bins only), after TDM compensation: where the moving reflectors are;
2. ``range_azimuth_static``: the same at zero Doppler: the static scene (furniture, a still person).

Static clutter removal is never applied here whatever the ``.cfg`` says (the static map needs the
zero-Doppler bin), and each chirp's DC is removed, so every board gives the same kind of map. The
beamformed power is divided by ``n_az**2`` (the coherent gain of the azimuth row), so the three maps
are power per antenna. Every map is then expressed in dB above the frame's noise floor (the median of
the range-Doppler map inside the range grid) and clipped at 0: an SNR-like, board-independent scale.

Resampling onto the grids (``range_m``, ``velocity_mps``, ``azimuth_deg`` of the contract: cell
centres ``linspace(start, stop, num)``): every output cell is evaluated at ``SUBSAMPLES`` points
spread over its width by linear interpolation of the native map (range bins, fftshifted Doppler
bins, the beamformer's uniform grid in ``u = sin(azimuth)``) and keeps the maximum, so a peak is kept
whether the native grid is finer or coarser than the output. Grid cells outside what the
configuration measures (beyond its maximum range or unambiguous velocity) read the noise floor (0).

A window of ``window_s`` seconds is cut into ``frames`` equal time slots as for point clouds
(:func:`runtime.inference.window.slot_of_frames`); a slot holds the mean of the maps of the radar
frames in it (a 20 Hz and a 10 Hz radar fill the same slots); ``mask [T]`` is 1 for a slot that got
at least one frame.

Input contract (``CLMP.input_contract``)::

    {"kind": "adc", "frames": T, "frame_rate_hz": F, "window_s": W,
     "maps": ["range_doppler", "range_azimuth_moving", "range_azimuth_static"],
     "range_m": [0.125, 6.0, 48], "velocity_mps": [-4.0, 4.0, 33], "azimuth_deg": [-64.0, 64.0, 33],
     "min_speed_mps": 0.25}

``velocity_mps`` and ``azimuth_deg`` must have the same number of cells (the maps stack as channels).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.fft

from firmware_cfg.radar_config import RadarConfig
from runtime.dsp.angle import array_geometry
from runtime.dsp.chain import make_plan, range_doppler_cube
from runtime.inference.window import slot_of_frames

MAPS = ("range_doppler", "range_azimuth_moving", "range_azimuth_static")
#: Interpolation points per output cell (the cell keeps their maximum).
SUBSAMPLES = 4
#: Beamforming grid points over ``u = sin(az)`` in [-1, 1) (8-element rows: beamwidth ~0.22 in u).
AZIMUTH_GRID = 64
_TINY = np.float32(1e-30)

#: The contract of the shipped ``clmp_adc_*`` configs (also the default of the tests).
DEFAULT_ADC_CONTRACT: dict[str, Any] = {
    "kind": "adc",
    "frames": 20,
    "frame_rate_hz": 10.0,
    "window_s": 2.0,
    "maps": list(MAPS),
    "range_m": [0.125, 6.0, 48],
    "velocity_mps": [-4.0, 4.0, 33],
    "azimuth_deg": [-64.0, 64.0, 33],
    "min_speed_mps": 0.25,
}


@dataclass(frozen=True)
class Grids:
    """Cell centres of the fixed physical grids (from a contract, :func:`check_adc_contract`)."""

    range_m: np.ndarray
    velocity_mps: np.ndarray
    azimuth_deg: np.ndarray
    min_speed_mps: float

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(C, R, K)`` of one frame's maps."""
        return len(MAPS), len(self.range_m), len(self.velocity_mps)


def _axis(contract: dict[str, Any], key: str) -> np.ndarray:
    spec = contract.get(key)
    if not isinstance(spec, list | tuple) or len(spec) != 3:
        raise ValueError(f"adc contract: {key} must be [start, stop, num], got {spec!r}")
    start, stop, num = float(spec[0]), float(spec[1]), int(spec[2])
    if num < 2 or not stop > start:
        raise ValueError(f"adc contract: {key} needs num >= 2 and stop > start, got {spec!r}")
    return np.linspace(start, stop, num)


def check_adc_contract(contract: dict[str, Any]) -> tuple[int, float, Grids]:
    """``(frames T, window_s W, grids)`` of an ADC input contract.

    Raises:
        ValueError: not an ADC contract, unknown maps, or bad grids.
    """
    if contract.get("kind") != "adc":
        raise ValueError(f"not a raw-ADC input contract: kind={contract.get('kind')!r}")
    if tuple(contract.get("maps", ())) != MAPS:
        raise ValueError(f"adc contract: maps must be {list(MAPS)}, got {contract.get('maps')}")
    t, w = int(contract["frames"]), float(contract["window_s"])
    if t < 1 or w <= 0:
        raise ValueError(f"bad contract sizes: frames={t} window_s={w}")
    grids = Grids(
        range_m=_axis(contract, "range_m"),
        velocity_mps=_axis(contract, "velocity_mps"),
        azimuth_deg=_axis(contract, "azimuth_deg"),
        min_speed_mps=float(contract.get("min_speed_mps", 0.25)),
    )
    if len(grids.velocity_mps) != len(grids.azimuth_deg):
        raise ValueError("adc contract: velocity_mps and azimuth_deg need the same number of cells")
    if grids.range_m[0] < 0 or abs(grids.azimuth_deg).max() >= 90.0:
        raise ValueError("adc contract: range must be >= 0 m and azimuth inside (-90, 90) deg")
    return t, w, grids


def _subpoints(centres: np.ndarray) -> np.ndarray:
    """``[num * SUBSAMPLES]`` points spread evenly over each cell (cells as wide as the spacing)."""
    step = centres[1] - centres[0]
    offs = (np.arange(SUBSAMPLES) + 0.5) / SUBSAMPLES - 0.5  # [S] in (-0.5, 0.5)
    return (centres[:, None] + offs[None, :] * step).ravel()


@dataclass(frozen=True)
class Interpolation:
    """Linear interpolation from a sorted native axis to points: ``out[i] = w0[i] * x[i0[i]] +
    w1[i] * x[i1[i]]`` (two taps per point, so no matrix product: numpy's BLAS threads cost more
    than the work on maps this small). Points outside the native axis get zero weights."""

    i0: np.ndarray
    i1: np.ndarray
    w0: np.ndarray
    w1: np.ndarray

    @property
    def inside(self) -> np.ndarray:
        """bool ``[points]``: the point lies on the native axis."""
        return (self.w0 + self.w1) > 0

    def apply(self, x: np.ndarray, axis: int) -> np.ndarray:
        """Interpolate ``x`` along ``axis`` (that axis becomes ``[points]``)."""
        shape = [1] * x.ndim
        shape[axis] = -1
        return np.take(x, self.i0, axis=axis) * self.w0.reshape(shape) + np.take(
            x, self.i1, axis=axis
        ) * self.w1.reshape(shape)


def interpolation(native: np.ndarray, points: np.ndarray, period: float = 0.0) -> Interpolation:
    """Linear interpolation from a sorted ``native`` axis to ``points``; points outside ``native``
    get zero weights (``period > 0``: the axis wraps around with that period, as the beamformer's
    ``u`` grid does)."""
    native = np.asarray(native, dtype=np.float64)
    n = native.size
    if period > 0:
        ext = np.concatenate([native, native[:1] + period])
        x = (points - native[0]) % period + native[0]
        j = np.clip(np.searchsorted(ext, x, side="right") - 1, 0, n - 1)
        frac = (x - ext[j]) / (ext[j + 1] - ext[j])
        return Interpolation(
            j, (j + 1) % n, (1.0 - frac).astype(np.float32), frac.astype(np.float32)
        )
    inside = (points >= native[0]) & (points <= native[-1])
    j = np.clip(np.searchsorted(native, points, side="right") - 1, 0, n - 2)
    frac = np.clip((points - native[j]) / (native[j + 1] - native[j]), 0.0, 1.0)
    w1 = np.where(inside, frac, 0.0).astype(np.float32)
    w0 = np.where(inside, 1.0 - frac, 0.0).astype(np.float32)
    return Interpolation(j, j + 1, w0, w1)


class AdcFrontEnd:
    """The per-frame maps of one radar configuration (module docstring). Build once per config.

    Args:
        radar_config: the radar's chirp (axes, TDM, virtual array) and demo settings (range bias,
            RX phase calibration); its clutter-removal setting is ignored.
        contract: the ADC input contract.

    Raises:
        ValueError: a bad contract, or a configuration whose range axis misses the range grid.
    """

    def __init__(self, radar_config: RadarConfig, contract: dict[str, Any]) -> None:
        self.frames, self.window_s, self.grids = check_adc_contract(contract)
        demo = radar_config.demo.model_copy(update={"clutter_removal": False})
        rc = dataclasses.replace(radar_config, demo=demo)
        self.radar_config = rc
        self.plan = make_plan(rc, remove_dc=True)
        cfg = rc.chirp
        g = self.grids
        rng_axis = self.plan.range_axis_m
        step = g.range_m[1] - g.range_m[0]
        sel = np.flatnonzero((rng_axis >= g.range_m[0] - step) & (rng_axis <= g.range_m[-1] + step))
        if sel.size < 2:
            raise ValueError(
                f"the configuration's range bins ({rng_axis[0]:.2f}-{rng_axis[-1]:.2f} m) miss the "
                f"range grid {g.range_m[0]:.2f}-{g.range_m[-1]:.2f} m"
            )
        self.range_sel = slice(int(sel[0]), int(sel[-1]) + 1)
        vel = self.plan.velocity_axis_mps
        self.zero = int(np.argmin(np.abs(vel)))
        # a static reflector leaks into the Hann window's main lobe (+-1 bin) only
        bins = np.arange(vel.size) - self.zero
        self.moving = np.flatnonzero((np.abs(vel) >= g.min_speed_mps) & (np.abs(bins) >= 2))
        self.geometry = array_geometry(rc, AZIMUTH_GRID)
        n_az = len(self.geometry.az_index)
        self.num_virtual = cfg.num_virtual
        # beams |sum_x s_x exp(-j pi x u)|^2 / n_az^2 (power per antenna) on the u grid
        # ``-1 + 2 k / G``: on integer element positions x that is a G-point FFT of
        # s_x (-1)^x placed at x mod G (no BLAS); other layouts use the steering matrix
        x = self.geometry.az_x
        xi = np.rint(x).astype(np.int64)
        grid = len(self.geometry.grid_u)
        self.fft_pos = xi % grid if np.allclose(x, xi, atol=1e-6) else None
        self.fft_weight = (np.where(xi % 2 == 0, 1.0, -1.0) / n_az).astype(np.complex64)
        self.steering = (self.geometry.steering / n_az).astype(np.complex64)  # [n_az, grid]
        self.tdm = self.plan.tdm_table  # [doppler, tx]
        self.i_range = interpolation(rng_axis[self.range_sel], _subpoints(g.range_m))
        self.i_vel = interpolation(vel, _subpoints(g.velocity_mps))
        u_points = np.sin(np.deg2rad(_subpoints(g.azimuth_deg)))
        self.i_az = interpolation(self.geometry.grid_u, u_points, period=2.0)
        self.inside = self.i_range.inside.reshape(-1, SUBSAMPLES).any(axis=1)  # [R]
        self._cube: np.ndarray | None = None

    def _resample(self, native: np.ndarray, rows: Interpolation, cols: Interpolation) -> np.ndarray:
        """``native [a, b]`` linear power -> ``[A, B]`` cell maxima (module docstring)."""
        fine = cols.apply(rows.apply(native, 0), 1)  # [A*S, B*S]
        a, b = fine.shape[0] // SUBSAMPLES, fine.shape[1] // SUBSAMPLES
        return fine.reshape(a, SUBSAMPLES, b, SUBSAMPLES).max(axis=(1, 3))

    def _beam_power(self, az: np.ndarray) -> np.ndarray:
        """``az [n_az, doppler, range]`` antenna values -> beam power ``[grid, doppler, range]``."""
        grid = len(self.geometry.grid_u)
        if self.fft_pos is not None:
            a = np.zeros((grid, *az.shape[1:]), dtype=np.complex64)
            np.add.at(a, self.fft_pos, az * self.fft_weight[:, None, None])
            beams = scipy.fft.fft(a, axis=0, workers=1)
        else:
            beams = np.einsum("adr,ag->gdr", az, self.steering)
        return (np.square(beams.real) + np.square(beams.imag)).astype(np.float32, copy=False)

    def frame_maps(self, frame: np.ndarray) -> np.ndarray:
        """One ``[tx, rx, loop, sample]`` frame (complex, or int16 ``[..., 2]`` I/Q as stored in a
        dataset) -> float32 ``[C, R, K]`` maps in dB above the noise floor (module docstring)."""
        frame = as_complex_frame(frame)
        self._cube = cube = range_doppler_cube(frame, self.plan, out=self._cube)
        cube = cube[..., self.range_sel]  # [tx, rx, doppler, range]
        ntx, nrx, nd, nr = cube.shape
        flat = cube.reshape(ntx * nrx, nd, nr)
        rd = (np.square(flat.real) + np.square(flat.imag)).mean(axis=0)  # [doppler, range]
        # TDM compensation and calibration per Doppler bin, then the azimuth row's beams
        comp = cube * (self.tdm.T[:, None, :, None] * self.geometry.calibration[:, :, None, None])
        az = comp.reshape(ntx * nrx, nd, nr)[self.geometry.az_index]  # [n_az, doppler, range]
        bp = self._beam_power(az)  # [grid, doppler, range]
        if self.moving.size:
            ra_moving = bp[:, self.moving].max(axis=1).T  # [range, grid]
        else:
            ra_moving = np.zeros_like(bp[:, 0].T)
        ra_static = bp[:, self.zero].T  # [range, grid]
        out = np.empty(self.grids.shape, dtype=np.float32)
        out[0] = self._resample(rd.T, self.i_range, self.i_vel)  # [R, K]
        out[1] = self._resample(ra_moving, self.i_range, self.i_az)
        out[2] = self._resample(ra_static, self.i_range, self.i_az)
        np.maximum(out, _TINY, out=out)
        db = 10.0 * np.log10(out)
        inside = self.inside
        rd_db = 10.0 * np.log10(np.maximum(rd, _TINY))
        floor = float(np.median(rd_db)) if rd_db.size else 0.0
        db -= floor
        db[:, ~inside, :] = 0.0
        return np.clip(db, 0.0, None).astype(np.float32)


def as_complex_frame(frame: np.ndarray) -> np.ndarray:
    """A frame as complex64 ``[tx, rx, loop, sample]``: int16 ``[..., 2]`` (I, Q) pairs as a
    dataset stores them, or already complex."""
    frame = np.asarray(frame)
    if np.iscomplexobj(frame):
        return frame.astype(np.complex64, copy=False)
    if frame.ndim == 5 and frame.shape[-1] == 2:
        f = frame.astype(np.float32)
        return (f[..., 0] + 1j * f[..., 1]).astype(np.complex64)
    return frame.astype(np.complex64)


_FRONT_ENDS: dict[tuple, AdcFrontEnd] = {}


def front_end(radar_config: RadarConfig, contract: dict[str, Any]) -> AdcFrontEnd:
    """A cached :class:`AdcFrontEnd` per (chirp, demo settings, contract)."""
    import json

    key = (radar_config.chirp, radar_config.demo, json.dumps(contract, sort_keys=True))
    fe = _FRONT_ENDS.get(key)
    if fe is None:
        if len(_FRONT_ENDS) > 16:
            _FRONT_ENDS.clear()
        fe = _FRONT_ENDS[key] = AdcFrontEnd(radar_config, contract)
    return fe


def adc_window_arrays(
    frames: Sequence[np.ndarray] | np.ndarray,
    timestamps: np.ndarray,
    radar_config: RadarConfig,
    contract: dict[str, Any],
) -> tuple[np.ndarray, np.ndarray]:
    """Raw ADC frames of one window -> ``(maps [T, C, R, K], mask [T])`` float32.

    Args:
        frames: ``[F, tx, rx, loop, sample]`` complex (or int16 ``[..., 2]`` I/Q) frames.
        timestamps: ``[F]`` frame timestamps [s].
        radar_config: the configuration the frames were captured with.
        contract: the ADC input contract (module docstring).
    """
    fe = front_end(radar_config, contract)
    t_slots = fe.frames
    maps = np.zeros((t_slots, *fe.grids.shape), dtype=np.float32)
    mask = np.zeros(t_slots, dtype=np.float32)
    slots = slot_of_frames(np.asarray(timestamps), t_slots, fe.window_s)
    for s in range(t_slots):
        members = np.flatnonzero(slots == s)
        if members.size == 0:
            continue
        maps[s] = np.mean([fe.frame_maps(frames[i]) for i in members], axis=0)
        mask[s] = 1.0
    return maps, mask
