"""The whole chain for one frame, with a precomputed plan per configuration.

:func:`make_plan` builds, from the whole :class:`~firmware_cfg.radar_config.RadarConfig` (and caches per
chirp, demo settings and options), everything that does not depend on the data: the fused 2-D window, axes, the TDM phase table, the angle steering grid and the
field-of-view mask. :func:`process_frame` then runs

1. static clutter removal on the ADC samples when ``demo.clutter_removal`` (linear in slow time, so
   identical to TI's removal after the range FFT),
2. per cache-sized block of virtual antennas, written straight into the output cube: one multiply by
   the fused window ``w_doppler[l] * (-1)**l * w_range[s]`` (``(-1)**l`` moves zero Doppler to bin
   ``N/2``: an fftshift without a copy; done as a float32 product on the interleaved re/im pairs),
3. range FFT (last, contiguous axis) then Doppler FFT (loop axis), in place, complex64, one
   ``scipy.fft.fftn`` call with one worker, and the block's power accumulated while it is in cache,
4. detection map ``10 log10(mean_virtual |X|^2)`` ``[doppler, range]``,
5. CFAR along range and along Doppler (sliding window sums; range only when the demo runs no
   Doppler CFAR, ``DemoConfig.doppler_cfar``), AND, peak grouping, field of view,
6. angles on the detected cells only (after TDM compensation), points.

Output cube layout: ``[tx, rx, doppler, range]``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import scipy.fft

from firmware_cfg.chirp import ChirpConfig
from firmware_cfg.demo import DemoConfig
from firmware_cfg.radar_config import RadarConfig
from runtime.dsp.angle import ArrayGeometry, array_geometry, estimate_angles
from runtime.dsp.cfar import cfar, cfar_at
from runtime.dsp.detection import DETECTION_DTYPE, detections_to_points
from runtime.dsp.doppler import DOPPLER_WINDOW, tdm_compensation, tdm_phase_table, velocity_axis_mps
from runtime.dsp.peaks import interval_mask, local_max_at
from runtime.dsp.range import RANGE_WINDOW, adc_samples, check_frame, range_axis_m
from runtime.dsp.windows import make_window

#: Azimuth beamforming grid points over u in [-1, 1) (TI's demo: a 64-point FFT; 256 gives ~0.45 deg
#: steps at boresight before the parabolic refinement).
ANGLE_GRID_SIZE = 256

_TINY = np.float32(1e-30)
#: Bytes of ADC data processed per block (about one core's L2 cache; 4 virtual antennas of 128 x 256
#: complex64). Smaller blocks stay in L2 but cost more calls; on the benchmark frame 0.25-4 MiB are
#: within ~10 % of each other and 1 MiB or more is the faster end.
_BLOCK_BYTES = 1 << 20
#: Plans kept by :func:`make_plan` (oldest dropped first).
_PLAN_CACHE_SIZE = 32
_plans: dict[tuple, DspPlan] = {}
_plans_lock = threading.Lock()


@dataclass(frozen=True, eq=False)
class DspPlan:
    """Data-independent parts of the chain for one configuration (see :func:`make_plan`).

    Attributes:
        radar_config: the configuration the plan was built for (the first one with its chirp and
            demo settings; ``cfg`` and ``demo`` are its parts).
        window_2d: float32 ``[loop, sample]`` fused range x Doppler window with the fftshift sign.
        window_iq: float32 ``[loop, 2 sample]``, ``window_2d`` repeated for the interleaved real and
            imaginary parts of complex64 samples.
        range_axis_m: ``[num_range_bins]`` [m] (range bias subtracted).
        velocity_axis_mps: ``[doppler_fft_size]`` [m/s], zero at ``N/2``.
        tdm_table: complex64 ``[doppler_fft_size, num_tx]`` TDM compensation factors.
        geometry: angle-estimation data (:class:`~runtime.dsp.angle.ArrayGeometry`).
        fov: bool ``[doppler, range]`` cells inside the range and Doppler fields of view (and the
            demo's peak-grouping range bins, ``DemoConfig.range_bin_limits``).
        remove_dc: subtract each chirp's mean before the FFT.
    """

    radar_config: RadarConfig
    window_2d: np.ndarray
    window_iq: np.ndarray
    range_axis_m: np.ndarray
    velocity_axis_mps: np.ndarray
    tdm_table: np.ndarray
    geometry: ArrayGeometry
    fov: np.ndarray
    remove_dc: bool

    @property
    def cfg(self) -> ChirpConfig:
        """The chirp configuration (``radar_config.chirp``)."""
        return self.radar_config.chirp

    @property
    def demo(self) -> DemoConfig:
        """The processing settings (``radar_config.demo``)."""
        return self.radar_config.demo


@dataclass(slots=True)
class FrameResult:
    """Everything the chain computed for one frame.

    Attributes:
        cube: complex64 ``[tx, rx, doppler, range]``.
        detection_db: float32 ``[doppler, range]`` log-magnitude non-coherent map [dB].
        noise_db: float32 ``[doppler, range]`` range-CFAR noise estimate [dB].
        detected: bool ``[doppler, range]`` cells that passed CFAR, peak grouping and FoV.
        detections: :data:`~runtime.dsp.detection.DETECTION_DTYPE` ``[n]``, strongest first.
        points: :data:`~runtime.frames.POINT_DTYPE` ``[n]``, same order.
    """

    cube: np.ndarray
    detection_db: np.ndarray
    noise_db: np.ndarray
    detected: np.ndarray
    detections: np.ndarray
    points: np.ndarray

    @property
    def range_doppler_db(self) -> np.ndarray:
        """The detection map as ``[range, doppler]`` (a view)."""
        return self.detection_db.T


def make_plan(
    radar_config: RadarConfig,
    *,
    range_window: str = RANGE_WINDOW,
    doppler_window: str = DOPPLER_WINDOW,
    angle_grid_size: int = ANGLE_GRID_SIZE,
    remove_dc: bool = False,
) -> DspPlan:
    """Precompute (and cache) the chain's data-independent parts for ``radar_config``.

    Plans are cached per ``(chirp, demo settings, options)``: two configurations that differ only in
    commands the chain does not read share one plan.

    Args:
        radar_config: the radar's chirp and demo settings (range bias, RX phase calibration, CFAR,
            fields of view, clutter removal).
        range_window, doppler_window: window names (TI's demo: Blackman, Hann).
        angle_grid_size: azimuth grid points over ``u`` in ``[-1, 1)`` (the demo's
            ``angle_fft_size`` instead when it sets one).
        remove_dc: subtract each chirp's mean ADC value before the range FFT.
    """
    key = (
        radar_config.chirp,
        radar_config.demo,
        range_window,
        doppler_window,
        angle_grid_size,
        remove_dc,
    )
    with _plans_lock:
        plan = _plans.get(key)
    if plan is None:
        plan = _build_plan(radar_config, range_window, doppler_window, angle_grid_size, remove_dc)
        with _plans_lock:
            plan = _plans.setdefault(key, plan)
            while len(_plans) > _PLAN_CACHE_SIZE:
                del _plans[next(iter(_plans))]
    return plan


def _build_plan(
    radar_config: RadarConfig,
    range_window: str,
    doppler_window: str,
    angle_grid_size: int,
    remove_dc: bool,
) -> DspPlan:
    cfg, demo = radar_config.chirp, radar_config.demo
    w_r = make_window(range_window, cfg.num_samples)  # [sample]
    w_d = make_window(doppler_window, cfg.num_loops)  # [loop]
    shift = np.where(np.arange(cfg.num_loops) % 2 == 0, 1.0, -1.0).astype(np.float32)
    if cfg.doppler_fft_size % 2:
        raise ValueError(f"Doppler FFT size {cfg.doppler_fft_size} must be even")
    window_2d = np.ascontiguousarray(np.outer(w_d * shift, w_r), dtype=np.float32)
    window_iq = np.repeat(window_2d, 2, axis=1)  # [loop, 2 sample]: one factor per re and im
    rng_axis = range_axis_m(radar_config)
    vel_axis = velocity_axis_mps(cfg)
    fov = (
        interval_mask(vel_axis, demo.doppler_fov_mps)[:, None]
        & interval_mask(rng_axis, demo.range_fov_m)[None, :]
    )
    if demo.range_bin_limits is not None:  # the demo's peak grouping drops other range bins
        bins = np.arange(rng_axis.size)
        lo, hi = demo.range_bin_limits
        fov &= ((bins >= lo) & (bins <= hi))[None, :]
    for arr in (window_2d, window_iq, rng_axis, vel_axis, fov):
        arr.setflags(write=False)
    return DspPlan(
        radar_config=radar_config,
        window_2d=window_2d,
        window_iq=window_iq,
        range_axis_m=rng_axis,
        velocity_axis_mps=vel_axis,
        tdm_table=tdm_phase_table(cfg),
        geometry=array_geometry(radar_config, demo.angle_fft_size or angle_grid_size),
        fov=fov,
        remove_dc=remove_dc,
    )


def range_doppler_cube(
    frame: np.ndarray, plan: DspPlan, *, out: np.ndarray | None = None
) -> np.ndarray:
    """Clutter removal, fused window, range FFT and Doppler FFT.

    Args:
        frame: ``[tx, rx, loop, sample]`` raw ADC (``cfg.frame_shape``).
        plan: :func:`make_plan` output.
        out: optional complex64 ``[tx, rx, doppler, range]`` buffer to compute in; a caller that
            processes frames one after another can reuse it and save the page faults of a fresh
            multi-MB array per frame.

    Returns:
        complex64 ``[tx, rx, doppler, range]``, zero velocity at Doppler bin ``N/2``.
    """
    return _cube_and_power(frame, plan, out)[0]


def _cube_and_power(
    frame: np.ndarray, plan: DspPlan, out: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """The cube and the antenna-summed power ``[doppler, range]``, computed in cache-sized blocks.

    A block of virtual antennas (about ``_BLOCK_BYTES``) is windowed straight into the output buffer,
    range- and Doppler-transformed there in place and its power accumulated while it is still in the
    CPU cache: the frame is read once and the cube written once.
    """
    cfg = plan.cfg
    check_frame(frame, cfg)
    x = adc_samples(frame, cfg)
    nv, nl, ns = cfg.num_virtual, cfg.num_loops, cfg.num_samples
    nd, nr = cfg.doppler_fft_size, cfg.num_range_bins
    shape = (cfg.num_tx, cfg.num_rx, nd, nr)
    if out is None or out.shape != shape or out.dtype != np.complex64:
        out = np.empty(shape, dtype=np.complex64)
    cube = out.reshape(nv, nd, nr)
    xs = x.reshape(nv, nl, ns)
    in_place = cfg.adc_format.is_complex and nd == nl and cfg.range_fft_size == ns
    subtract = plan.demo.clutter_removal or plan.remove_dc
    acc = np.zeros(2 * nd * nr, dtype=np.float32)  # re^2 and im^2 interleaved
    step = max(1, _BLOCK_BYTES // (nl * ns * 8))
    for a in range(0, nv, step):
        blk = xs[a : a + step]  # [block, loop, sample]
        dst = cube[a : a + step]  # [block, doppler, range]
        if in_place:
            if subtract:
                _remove_means(blk, plan, out=dst)
                blk = dst
            if blk.flags.c_contiguous:
                # complex x real window as a float32 product on the interleaved (re, im) pairs
                iq = plan.window_iq
                np.multiply(blk.view(np.float32), iq, out=dst.view(np.float32))
            else:
                np.multiply(blk, plan.window_2d, out=dst)
            # range FFT (contiguous axis), then Doppler FFT, in place, in one call
            spec = scipy.fft.fftn(dst, axes=(2, 1), workers=1, overwrite_x=True)
            if not np.may_share_memory(spec, dst):  # scipy may decline to work in place
                dst[...] = spec
        else:
            if subtract:
                blk = _remove_means(blk, plan, out=None)
            y = blk * plan.window_2d
            if cfg.adc_format.is_complex:
                r = scipy.fft.fft(y, n=cfg.range_fft_size, axis=2, workers=1, overwrite_x=True)
            else:
                r = scipy.fft.rfft(y, n=cfg.range_fft_size, axis=2, workers=1)[..., :nr]
            dst[...] = scipy.fft.fft(r, n=nd, axis=1, workers=1, overwrite_x=True)
        parts = dst.reshape(dst.shape[0], -1).view(np.float32)  # [block, 2 cells]
        acc += np.einsum("vk,vk->k", parts, parts)
    power = acc[0::2] + acc[1::2]
    return out, power.reshape(nd, nr)


def _remove_means(blk: np.ndarray, plan: DspPlan, out: np.ndarray | None) -> np.ndarray:
    """Static clutter (mean over loops) and/or DC (mean over samples) removal of ``[block, loop,
    sample]`` ADC samples, into ``out`` (a new array when None)."""
    if plan.demo.clutter_removal:
        blk = np.subtract(blk, blk.mean(axis=1, keepdims=True, dtype=blk.dtype), out=out)
        out = blk
    if plan.remove_dc:
        blk = np.subtract(blk, blk.mean(axis=2, keepdims=True, dtype=blk.dtype), out=out)
    return blk


def _power_to_db(power: np.ndarray, num_virtual: int) -> np.ndarray:
    """Antenna-summed power -> ``10 log10(mean power)`` in place, float32."""
    power *= np.float32(1.0 / num_virtual)
    np.maximum(power, _TINY, out=power)
    np.log10(power, out=power)
    power *= np.float32(10.0)
    return power


def detection_map_db(cube: np.ndarray) -> np.ndarray:
    """``10 log10(mean over virtual antennas of |X|^2)``, float32 ``[doppler, range]`` [dB].

    ``cube``: complex ``[tx, rx, doppler, range]``.
    """
    nv = cube.shape[0] * cube.shape[1]
    flat = cube.reshape(nv, *cube.shape[2:])
    power = (np.square(flat.real) + np.square(flat.imag)).sum(axis=0, dtype=np.float32)
    return _power_to_db(power, nv)


def detect_cells(det_db: np.ndarray, plan: DspPlan) -> tuple[np.ndarray, np.ndarray]:
    """CFAR along range and Doppler, AND, peak grouping, FoV.

    Args:
        det_db: float32 ``[doppler, range]`` detection map [dB].
        plan: :func:`make_plan` output.

    Returns:
        ``(detected, noise_db)``: bool ``[doppler, range]`` and the range-CFAR noise [dB].
    """
    demo = plan.demo
    hit, noise_r = cfar(det_db, demo.cfar_range, axis=1, scale="db")
    hit &= plan.fov
    # Peak grouping and the Doppler-direction CFAR only at the cells that are still candidates:
    # the same cells as running them over the whole map and ANDing, at a fraction of the cost.
    flat = np.flatnonzero(hit)
    if flat.size:
        cells = np.divmod(flat, hit.shape[1])  # (doppler, range) of each candidate
        if demo.doppler_cfar:
            keep, _ = cfar_at(det_db, demo.cfar_doppler, cells, axis=0, scale="db")
        else:  # xWR14xx SDK 1.x: CFAR along range only
            keep = np.ones(flat.size, dtype=bool)
        if demo.cfar_range.peak_grouping:
            keep &= local_max_at(det_db, cells, axis=1, cyclic=False)
        if demo.cfar_doppler.peak_grouping:
            keep &= local_max_at(det_db, cells, axis=0, cyclic=True)
        hit[cells[0][~keep], cells[1][~keep]] = False
    return hit, noise_r


def cell_detections(
    cube: np.ndarray, det_db: np.ndarray, noise_db: np.ndarray, hit: np.ndarray, plan: DspPlan
) -> np.ndarray:
    """Angles on the detected cells -> :data:`DETECTION_DTYPE`, strongest first, angle FoV applied."""
    flat = np.flatnonzero(hit)  # row-major cell indices (a 1-D search is much faster than 2-D)
    flat = flat[np.argsort(-det_db.ravel()[flat], kind="stable")]
    d_idx, r_idx = np.divmod(flat, hit.shape[1])
    ntx, nrx = cube.shape[:2]
    virtual = cube.reshape(ntx * nrx, -1)[:, flat].T.reshape(-1, ntx, nrx)  # [n, tx, rx]
    virtual = tdm_compensation(virtual, d_idx, plan.cfg, plan.tdm_table)
    cell, az, el, _ = estimate_angles(virtual, plan.geometry, plan.radar_config)
    d_c, r_c = d_idx[cell], r_idx[cell]
    det = np.empty(cell.size, dtype=DETECTION_DTYPE)
    det["range_m"] = plan.range_axis_m[r_c]
    det["velocity_mps"] = plan.velocity_axis_mps[d_c]
    det["azimuth_deg"] = az
    det["elevation_deg"] = el
    det["power_db"] = det_db[d_c, r_c]
    det["noise_db"] = noise_db[d_c, r_c]
    det["snr_db"] = det["power_db"] - det["noise_db"]
    det["range_bin"] = r_c
    det["doppler_bin"] = d_c
    demo = plan.demo
    if _narrower_than_hemisphere(demo.azimuth_fov_deg, demo.elevation_fov_deg):
        keep = (
            (az >= demo.azimuth_fov_deg[0])
            & (az <= demo.azimuth_fov_deg[1])
            & (el >= demo.elevation_fov_deg[0])
            & (el <= demo.elevation_fov_deg[1])
        )
        det = det[keep]
    return det[np.argsort(-det["power_db"], kind="stable")]


def _narrower_than_hemisphere(*fovs: tuple[float, float]) -> bool:
    """False when every ``(lo, hi)`` [deg] covers [-90, 90] (arcsin angles never leave it)."""
    return any(lo > -90.0 or hi < 90.0 for lo, hi in fovs)


def process_frame(
    frame: np.ndarray, plan: DspPlan, *, out: np.ndarray | None = None
) -> FrameResult:
    """Run the whole chain on one frame.

    Args:
        frame: ``[tx, rx, loop, sample]`` raw ADC.
        plan: :func:`make_plan` output for the frame's config.
        out: optional reusable complex64 ``frame_shape`` buffer for the cube (see
            :func:`range_doppler_cube`); the result's ``cube`` then lives in it.

    Returns:
        :class:`FrameResult` (cube, maps, detections, points).
    """
    cube, power = _cube_and_power(frame, plan, out)
    det_db = _power_to_db(power, plan.cfg.num_virtual)
    hit, noise_db = detect_cells(det_db, plan)
    det = cell_detections(cube, det_db, noise_db, hit, plan)
    return FrameResult(
        cube=cube,
        detection_db=det_db,
        noise_db=noise_db,
        detected=hit,
        detections=det,
        points=detections_to_points(det),
    )
