"""The optimised chain against a straightforward reference of the same steps, cell by cell.

The reference is written for reading, not speed: complex128, ``np.fft`` per virtual antenna with an
explicit ``fftshift``, CFAR as a Python loop over cells with TI's edge rules spelled out, peak
grouping by comparing neighbours, and per-cell beamforming on the ``u`` grid with a parabolic peak
refinement. The chain (fused windows, in-place blocked FFTs, sliding-sum CFAR, angles only on the
detected cells) must detect the same cells and give the same point cloud.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import radar_config_of, vector_cfg

from firmware_cfg import AdcFormat, ChirpConfig
from firmware_cfg.demo import CfarAveraging, CfarConfig, DemoConfig
from runtime.dsp.chain import make_plan, process_frame
from sim.radar.point_targets import PointTarget, synthesize_frame

GRID = 256  # the chain's default azimuth grid (chain.ANGLE_GRID_SIZE)


def small_cfg(adc_format: AdcFormat = AdcFormat.COMPLEX_1X) -> ChirpConfig:
    """IWR1843BOOST, 3 TX x 4 RX, 32 loops x 128 samples."""
    return vector_cfg(
        ramp_end_time_s=40e-6,
        num_samples=128,
        sample_rate_hz=4e6,
        num_loops=32,
        adc_format=adc_format,
    )


def reference_cube(frame: np.ndarray, cfg: ChirpConfig, demo: DemoConfig) -> np.ndarray:
    """``[tx, rx, doppler, range]`` complex128, zero velocity at Doppler bin N/2."""
    ntx, nrx, nl, ns = cfg.frame_shape
    x = frame.astype(np.complex128) if cfg.adc_format.is_complex else frame.real.astype(float)
    cube = np.zeros((ntx, nrx, cfg.doppler_fft_size, cfg.num_range_bins), dtype=np.complex128)
    for t in range(ntx):
        for r in range(nrx):
            chirps = x[t, r]  # [loop, sample]
            if demo.clutter_removal:
                chirps = chirps - chirps.mean(axis=0)
            rng = np.fft.fft(chirps * np.blackman(ns), n=cfg.range_fft_size, axis=1)
            rng = rng[:, : cfg.num_range_bins]
            dop = np.fft.fft(rng * np.hanning(nl)[:, None], n=cfg.doppler_fft_size, axis=0)
            cube[t, r] = np.fft.fftshift(dop, axes=0)
    return cube


def reference_cfar(line: np.ndarray, i: int, cfg: CfarConfig) -> tuple[bool, float]:
    """TI's CFAR for cell ``i`` of a 1-D dB line: ``(detected, noise)``."""
    n, g, w = len(line), cfg.guard_len, cfg.window_len
    if cfg.cyclic:
        left = [line[(i - g - k) % n] for k in range(1, w + 1)]
        right = [line[(i + g + k) % n] for k in range(1, w + 1)]
    else:
        left = [line[j] for j in range(i - g - w, i - g) if j >= 0]
        right = [line[j] for j in range(i + g + 1, i + g + 1 + w) if j < n]
    full_l, full_r = len(left) == w, len(right) == w
    if full_l and full_r:
        mean_l, mean_r = sum(left) / w, sum(right) / w
        if cfg.averaging is CfarAveraging.CA:
            noise = (mean_l + mean_r) / 2
        elif cfg.averaging is CfarAveraging.CAGO:
            noise = max(mean_l, mean_r)
        else:
            noise = min(mean_l, mean_r)
    elif full_l or full_r:
        noise = sum(left if full_l else right) / w
    else:
        noise = (sum(left) + sum(right)) / max(len(left) + len(right), 1)
    cells = 2 * w if cfg.averaging is CfarAveraging.CA else w
    noise *= cells / 2**cfg.noise_div_shift  # TI divides the sum by 2**shift
    return bool(line[i] > noise + cfg.threshold_db), float(noise)


def is_peak(line: np.ndarray, i: int, cyclic: bool) -> bool:
    """``> `` the lower neighbour and ``>=`` the upper one (one cell per plateau)."""
    n = len(line)
    lower = i - 1 if i > 0 else (n - 1 if cyclic else None)
    upper = i + 1 if i < n - 1 else (0 if cyclic else None)
    return (lower is None or line[i] > line[lower]) and (upper is None or line[i] >= line[upper])


def inside(value: float, fov: tuple[float, float] | None) -> bool:
    return fov is None or fov[0] <= value <= fov[1]


def reference_angles(
    values: np.ndarray, doppler_bin: int, cfg: ChirpConfig, demo: DemoConfig
) -> list[tuple[float, float]]:
    """``[(azimuth_deg, elevation_deg)]`` of one cell (two with a multi-object second peak)."""
    ntx = values.shape[0]
    f_d = (doppler_bin - cfg.doppler_fft_size // 2) / (cfg.doppler_fft_size * cfg.tdm_period_s)
    slot = np.exp(-2j * np.pi * f_d * np.arange(ntx) * cfg.chirp_period_s)  # TDM compensation
    sign = np.array([cfg.board_spec.rx_phase_sign[r] for r in cfg.rx_indices])
    v = (values * slot[:, None] * sign[None, :]).ravel()  # tx-major, as the virtual array
    if demo.rx_channel_phase is not None:
        v = v * np.asarray(demo.rx_channel_phase)[: v.size]
    pos = cfg.virtual_array().reshape(-1, 2)  # [virtual, (x, z)]
    heights, counts = np.unique(pos[:, 1], return_counts=True)
    z_az = heights[np.argmax(counts)]
    az_row = pos[:, 1] == z_az
    el_heights = [h for h in heights if h != z_az]
    grid = -1.0 + 2.0 * np.arange(GRID) / GRID

    def beam(row: np.ndarray, u: float) -> complex:
        return complex(np.sum(v[row] * np.exp(-1j * np.pi * pos[row, 0] * u)))

    power = np.array([abs(beam(az_row, u)) ** 2 for u in grid])
    peaks = [int(np.argmax(power))]
    if demo.multi_obj_beamforming:
        others = [
            k
            for k in range(GRID)
            if k != peaks[0] and power[k] > power[k - 1] and power[k] >= power[(k + 1) % GRID]
        ]
        if others:
            second = max(others, key=lambda k: power[k])
            if power[second] > demo.multi_obj_threshold * power[peaks[0]]:
                peaks.append(second)
    out = []
    for k in peaks:
        y0, y1, y2 = (np.log(power[j % GRID]) for j in (k - 1, k, k + 1))
        den = y0 - 2 * y1 + y2
        off = float(np.clip(0.5 * (y0 - y2) / den, -0.5, 0.5)) if den < 0 else 0.0
        u = (grid[k] + off * 2.0 / GRID + 1.0) % 2.0 - 1.0
        w = 0.0
        if el_heights and cfg.board_spec.has_elevation:
            z_el = max(el_heights, key=lambda h: (np.sum(pos[:, 1] == h), h))
            el_row = pos[:, 1] == z_el
            phase = np.angle(beam(el_row, u) * np.conj(beam(az_row, u)))
            w = float(np.clip(phase / (np.pi * (z_el - z_az)), -1.0, 1.0))
        el = np.arcsin(w)
        az = np.arcsin(np.clip(u / max(np.cos(el), 1e-9), -1.0, 1.0))
        out.append((float(np.rad2deg(az)), float(np.rad2deg(el))))
    return out


def reference_points(frame: np.ndarray, cfg: ChirpConfig, demo: DemoConfig) -> dict:
    """Detection map, range-CFAR noise, detected cells and ``[(r, v, az, el, power, noise)]``."""
    cube = reference_cube(frame, cfg, demo)
    nd, nr = cube.shape[2:]
    det = 10 * np.log10(np.mean(np.abs(cube) ** 2, axis=(0, 1)))  # [doppler, range]
    noise = np.zeros_like(det)
    hit = np.zeros(det.shape, dtype=bool)
    rows = []
    for d in range(nd):
        for r in range(nr):
            ok_r, noise[d, r] = reference_cfar(det[d], r, demo.cfar_range)
            ok_d, _ = reference_cfar(det[:, r], d, demo.cfar_doppler)
            rng_m = r * cfg.range_bin_m - demo.range_bias_m
            vel = (d - nd // 2) * cfg.velocity_bin_mps
            hit[d, r] = (
                ok_r
                and ok_d
                and (not demo.cfar_range.peak_grouping or is_peak(det[d], r, cyclic=False))
                and (not demo.cfar_doppler.peak_grouping or is_peak(det[:, r], d, cyclic=True))
                and inside(rng_m, demo.range_fov_m)
                and inside(vel, demo.doppler_fov_mps)
            )
            if hit[d, r]:
                for az, el in reference_angles(cube[:, :, d, r], d, cfg, demo):
                    if inside(az, demo.azimuth_fov_deg) and inside(el, demo.elevation_fov_deg):
                        rows.append((rng_m, vel, az, el, det[d, r], noise[d, r]))
    rows.sort(key=lambda row: -row[4])
    return {"det_db": det, "noise_db": noise, "hit": hit, "rows": rows}


TARGETS = [
    PointTarget(1.5, 0.0, -10.0, amplitude=200.0),
    PointTarget(2.0, 0.7, 12.0, amplitude=50.0),
    PointTarget(3.0, 1.0, 20.0, 10.0, amplitude=30.0),
    PointTarget(2.5, -0.4, 30.0, amplitude=80.0),
    PointTarget(2.5, -0.4, -25.0, amplitude=60.0),  # same cell: a multi-object second peak
]
DEMOS = {
    "ti-defaults": DemoConfig(),
    "clutter-removal": DemoConfig(clutter_removal=True),
    "fields-of-view": DemoConfig(
        range_fov_m=(1.0, 2.8), doppler_fov_mps=(-1.0, 1.0), azimuth_fov_deg=(-20.0, 40.0)
    ),
    "ca-cyclic-range": DemoConfig(
        cfar_range=CfarConfig(
            averaging=CfarAveraging.CA, noise_div_shift=4, cyclic=True, threshold_db=10.0
        ),
        cfar_doppler=CfarConfig(averaging=CfarAveraging.CAGO, window_len=4, guard_len=2),
        multi_obj_beamforming=False,
    ),
    "no-peak-grouping": DemoConfig(
        cfar_range=CfarConfig(averaging=CfarAveraging.CASO, peak_grouping=False),
        cfar_doppler=CfarConfig(
            averaging=CfarAveraging.CA, window_len=4, guard_len=2, cyclic=True, peak_grouping=False
        ),
        range_bias_m=0.05,
    ),
}


@pytest.mark.parametrize("adc", [AdcFormat.COMPLEX_1X, AdcFormat.REAL], ids=["complex", "real"])
@pytest.mark.parametrize("demo_name", list(DEMOS))
def test_chain_matches_reference(adc: AdcFormat, demo_name: str) -> None:
    cfg = small_cfg(adc)
    demo = DEMOS[demo_name]
    frame = synthesize_frame(cfg, TARGETS, noise_std=2.0, rng=np.random.default_rng(11))
    ref = reference_points(frame, cfg, demo)
    res = process_frame(frame, make_plan(radar_config_of(cfg, demo)))

    np.testing.assert_allclose(res.detection_db, ref["det_db"], atol=2e-3)
    np.testing.assert_allclose(res.noise_db, ref["noise_db"], atol=2e-3)
    np.testing.assert_array_equal(res.detected, ref["hit"])
    assert len(ref["rows"]) >= 2, "the scene should give several points"
    got = res.detections
    assert len(got) == len(ref["rows"])
    want = np.array(ref["rows"])  # [n, (range, velocity, az, el, power, noise)]
    np.testing.assert_allclose(got["range_m"], want[:, 0], atol=1e-5)
    np.testing.assert_allclose(got["velocity_mps"], want[:, 1], atol=1e-5)
    np.testing.assert_allclose(got["azimuth_deg"], want[:, 2], atol=0.02)
    np.testing.assert_allclose(got["elevation_deg"], want[:, 3], atol=0.05)
    np.testing.assert_allclose(got["power_db"], want[:, 4], atol=2e-3)
    np.testing.assert_allclose(got["snr_db"], want[:, 4] - want[:, 5], atol=4e-3)
    # the points are the detections in Cartesian form
    r, az, el = want[:, 0], np.deg2rad(want[:, 2]), np.deg2rad(want[:, 3])
    np.testing.assert_allclose(res.points["x"], r * np.cos(el) * np.sin(az), atol=2e-3)
    np.testing.assert_allclose(res.points["y"], r * np.cos(el) * np.cos(az), atol=2e-3)
    np.testing.assert_allclose(res.points["z"], r * np.sin(el), atol=2e-3)


def test_reused_buffer_gives_the_same_result() -> None:
    cfg = small_cfg()
    plan = make_plan(radar_config_of(cfg, DemoConfig(clutter_removal=True)))
    buf = np.empty(cfg.frame_shape, dtype=np.complex64)
    frames = [
        synthesize_frame(cfg, TARGETS[i:], noise_std=2.0, rng=np.random.default_rng(i))
        for i in range(3)
    ]
    for frame in frames:
        fresh = process_frame(frame, plan)
        reused = process_frame(frame, plan, out=buf)
        assert reused.cube is buf
        np.testing.assert_array_equal(reused.cube, fresh.cube)
        assert reused.detections.tobytes() == fresh.detections.tobytes()
