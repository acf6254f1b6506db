"""The raw-ADC front end (runtime.inference.adc_window): physics on fixed grids, across configs.

An ideal point target (sim.radar.point_targets) at 2.00 m, +1.0 m/s, +20 deg must peak at the grid
cells of those values for two quite different chirp configurations (77 GHz, 32 loops x 128 samples at
10 Hz vs 60 GHz, 128 loops x 256 samples at 20 Hz), so one encoder can serve both.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from firmware_cfg import load_cfg
from runtime.inference.adc_window import (
    DEFAULT_ADC_CONTRACT,
    AdcFrontEnd,
    adc_window_arrays,
    as_complex_frame,
    check_adc_contract,
)
from sim.radar.point_targets import PointTarget, synthesize_frame

PROFILES = ("iwr1843boost_presence", "iwr6843isk_raw_activity")


@cache
def front(profile: str) -> AdcFrontEnd:
    return AdcFrontEnd(load_cfg(profile), DEFAULT_ADC_CONTRACT)


def cell(axis: np.ndarray, value: float) -> int:
    return int(np.argmin(np.abs(axis - value)))


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize(("r", "v", "az"), [(2.00, 1.0, 20.0), (3.5, -2.0, -32.0)])
def test_point_target_peaks_at_its_grid_cells(profile: str, r: float, v: float, az: float) -> None:
    fe = front(profile)
    cfg = fe.radar_config.chirp
    frame = synthesize_frame(
        cfg,
        [PointTarget(r, v, az, 0.0, amplitude=200.0)],
        noise_std=5.0,
        rng=np.random.default_rng(0),
    )
    maps = fe.frame_maps(frame)
    g = fe.grids
    assert maps.shape == g.shape == (3, 48, 33)
    assert np.all(np.isfinite(maps)) and maps.min() >= 0.0
    rd, moving, static = maps
    ri, vi = np.unravel_index(np.argmax(rd), rd.shape)
    assert (ri, vi) == (cell(g.range_m, r), cell(g.velocity_mps, v))
    ri, ai = np.unravel_index(np.argmax(moving), moving.shape)
    assert (ri, ai) == (cell(g.range_m, r), cell(g.azimuth_deg, az))
    # tens of dB above the floor, and a moving target is not in the static map
    assert rd.max() > 30.0 and moving.max() > 30.0
    assert static.max() < moving.max() - 20.0


@pytest.mark.parametrize("profile", PROFILES)
def test_static_target_is_in_the_static_map_only(profile: str) -> None:
    fe = front(profile)
    frame = synthesize_frame(
        fe.radar_config.chirp,
        [PointTarget(2.5, 0.0, -20.0, 0.0, amplitude=200.0)],
        noise_std=5.0,
        rng=np.random.default_rng(1),
    )
    rd, moving, static = fe.frame_maps(frame)
    g = fe.grids
    ri, ai = np.unravel_index(np.argmax(static), static.shape)
    assert (ri, ai) == (cell(g.range_m, 2.5), cell(g.azimuth_deg, -20.0))
    assert np.unravel_index(np.argmax(rd), rd.shape)[1] == cell(g.velocity_mps, 0.0)
    assert moving.max() < static.max() - 20.0


def test_stored_int16_frames_equal_complex_frames() -> None:
    fe = front("iwr1843boost_presence")
    frame = synthesize_frame(
        fe.radar_config.chirp,
        [PointTarget(1.5, 0.5, 0.0, 0.0, amplitude=300.0)],
        noise_std=5.0,
        rng=np.random.default_rng(2),
    )
    iq = np.stack([np.round(frame.real), np.round(frame.imag)], axis=-1).astype(np.int16)
    np.testing.assert_allclose(
        fe.frame_maps(iq), fe.frame_maps(as_complex_frame(iq)), rtol=0, atol=1e-4
    )


def test_window_slots_are_filled_at_any_frame_rate() -> None:
    rc = load_cfg("iwr1843boost_presence")
    cfg = rc.chirp
    rng = np.random.default_rng(3)
    frames = [
        synthesize_frame(cfg, [PointTarget(2.0, 1.0, 0.0, 0.0, 200.0)], noise_std=5.0, rng=rng)
        for _ in range(4)
    ]
    # a 20 Hz stream: two frames per 0.1 s slot; here only 4 frames of a 2 s window
    maps, mask = adc_window_arrays(np.stack(frames), np.arange(4) * 0.05, rc, DEFAULT_ADC_CONTRACT)
    assert maps.shape == (20, 3, 48, 33) and mask.shape == (20,)
    assert mask[:2].tolist() == [1.0, 1.0] and not mask[2:].any()
    assert not maps[2:].any() and maps[0].max() > 30.0


def test_bad_contracts_are_refused() -> None:
    with pytest.raises(ValueError, match="not a raw-ADC input contract"):
        check_adc_contract({"kind": "points"})
    bad = {**DEFAULT_ADC_CONTRACT, "azimuth_deg": [-60.0, 60.0, 31]}
    with pytest.raises(ValueError, match="same number of cells"):
        check_adc_contract(bad)
    with pytest.raises(ValueError, match="range_m"):
        check_adc_contract({**DEFAULT_ADC_CONTRACT, "range_m": [6.0, 1.0, 10]})


@pytest.mark.parametrize(
    "profile", ["iwr1843boost_presence", "iwr1443boost_radhar", "iwr6843aop_presence"]
)
def test_fft_beamformer_equals_the_steering_matrix(profile: str) -> None:
    fe = AdcFrontEnd(load_cfg(profile), DEFAULT_ADC_CONTRACT)
    assert fe.fft_pos is not None  # integer half-wavelength rows on these boards
    rng = np.random.default_rng(4)
    n = len(fe.geometry.az_x)
    az = (rng.normal(size=(n, 4, 5)) + 1j * rng.normal(size=(n, 4, 5))).astype(np.complex64)
    fast = fe._beam_power(az)
    fe_slow = AdcFrontEnd(load_cfg(profile), DEFAULT_ADC_CONTRACT)
    fe_slow.fft_pos = None
    slow = fe_slow._beam_power(az)
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-5 * slow.max())


@pytest.mark.realdata
def test_real_walking_person_frame() -> None:
    """OpenRadar's real IWR1443 frame (a person ~2.9 m away receding at ~+0.58 m/s, label-free
    figures from shared/realdata/README.md): the moving part of the maps peaks there."""
    from conftest import radar_config_of
    from test_dsp_realdata import load_frame, openradar_config

    fe = AdcFrontEnd(radar_config_of(openradar_config()), DEFAULT_ADC_CONTRACT)
    rd, moving, _static = fe.frame_maps(load_frame())
    g = fe.grids
    moving_v = np.abs(g.velocity_mps) >= 0.25
    ri, vi = np.unravel_index(np.argmax(np.where(moving_v[None, :], rd, 0.0)), rd.shape)
    assert abs(g.range_m[ri] - 2.9) <= 0.25 and abs(g.velocity_mps[vi] - 0.58) <= 0.25
    assert rd[ri, vi] > 20.0
    assert abs(g.range_m[np.unravel_index(np.argmax(moving), moving.shape)[0]] - 2.9) <= 0.25
