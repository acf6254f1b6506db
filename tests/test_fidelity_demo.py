"""TI xWR14xx SDK 1.x demo emulation (RadHAR's radar): range-only CFAR, 64-point azimuth FFT read at its
peak bin, multi-object threshold on magnitudes, peak grouping along Doppler only in the RadHAR profile.
Physics: a point target still comes back at its range, velocity and angle through that chain."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from firmware_cfg import load_cfg
from firmware_cfg.radar_config import RadarConfig
from runtime.dsp.chain import make_plan, process_frame
from sim.radar.point_targets import PointTarget, synthesize_frame


def _points(rc: RadarConfig, targets: list[PointTarget], seed: int = 0) -> np.ndarray:
    frame = synthesize_frame(rc.chirp, targets, noise_std=1.0, rng=np.random.default_rng(seed))
    return process_frame(frame, make_plan(rc)).points


def _demo(rc: RadarConfig, **update: object) -> RadarConfig:
    return dataclasses.replace(rc, demo=rc.demo.model_copy(update=update))


@pytest.mark.parametrize("profile", ["iwr1443boost_radhar", "iwr1443boost_presence"])
def test_sdk1_profiles_get_the_xwr14xx_demo_processing(profile: str) -> None:
    demo = load_cfg(profile).demo
    assert not demo.doppler_cfar
    assert demo.angle_fft_size == 64
    assert demo.multi_obj_on_magnitude


def test_sdk3_profiles_keep_the_fine_angle_grid_and_doppler_cfar() -> None:
    demo = load_cfg("iwr1843boost_demo").demo
    assert demo.doppler_cfar and demo.angle_fft_size is None and not demo.multi_obj_on_magnitude


def test_radhar_profile_groups_peaks_along_doppler_only() -> None:
    demo = load_cfg("iwr1443boost_radhar").demo
    assert not demo.cfar_range.peak_grouping
    assert demo.cfar_doppler.peak_grouping


@pytest.mark.parametrize(
    ("rng_m", "vel", "az", "el"), [(2.0, 1.214, 15.0, 8.0), (1.5, -0.607, -30.0, -5.0)]
)
def test_point_target_comes_back_through_the_sdk1_chain(
    rng_m: float, vel: float, az: float, el: float
) -> None:
    rc = load_cfg("iwr1443boost_radhar")
    cfg = rc.chirp
    pts = _points(rc, [PointTarget(rng_m, vel, az, el, amplitude=300.0)])
    top = pts[0]  # strongest first
    r = float(np.sqrt(top["x"] ** 2 + top["y"] ** 2 + top["z"] ** 2))
    assert abs(r - rng_m) <= cfg.range_bin_m
    assert abs(float(top["v"]) - vel) <= 0.5 * cfg.velocity_bin_mps
    # x = r * 2 k / 64 (the FFT bin nearest to u = sin(az) cos(el)), z = r sin(el)
    u = np.sin(np.deg2rad(az)) * np.cos(np.deg2rad(el))
    k = np.round(u * 32.0)
    assert float(top["x"]) == pytest.approx(r * k / 32.0, abs=1e-3)
    assert float(top["z"]) == pytest.approx(r * np.sin(np.deg2rad(el)), abs=0.03)


def test_adjacent_range_bins_of_one_object_are_all_reported_without_range_grouping() -> None:
    rc = load_cfg("iwr1443boost_radhar")
    bin_m = rc.chirp.range_bin_m
    run = [PointTarget(2.0 + i * bin_m, 0.0, 0.0, 0.0, amplitude=300.0) for i in range(3)]
    pts = _points(rc, run)
    r = np.sqrt(pts["x"] ** 2 + pts["y"] ** 2 + pts["z"] ** 2)
    near = np.unique(np.round(r[np.abs(r - 2.0 - bin_m) < 2.5 * bin_m] / bin_m))
    assert near.size >= 3  # three (or more) range bins of the run
    grouped = _demo(rc, cfar_range=rc.demo.cfar_range.model_copy(update={"peak_grouping": True}))
    pts_g = _points(grouped, run)
    r_g = np.sqrt(pts_g["x"] ** 2 + pts_g["y"] ** 2 + pts_g["z"] ** 2)
    assert np.unique(np.round(r_g[np.abs(r_g - 2.0 - bin_m) < 2.5 * bin_m] / bin_m)).size < 3
    # Doppler grouping stays on: the static run gives no point in the neighbouring Doppler bins
    assert np.all(pts["v"][np.abs(r - 2.0 - bin_m) < 2.5 * bin_m] == 0.0)


def test_second_azimuth_peak_threshold_is_on_magnitude() -> None:
    """Two targets in one range-Doppler cell, the weaker at 0.6 of the stronger's amplitude (0.36
    in power): the SDK 1.x demo (magnitude >= 0.5) reports both, a power threshold of 0.5 one."""
    rc = load_cfg("iwr1443boost_radhar")
    pair = [
        PointTarget(2.5, 0.0, -20.0, 0.0, amplitude=500.0),
        PointTarget(2.5, 0.0, 25.0, 0.0, amplitude=300.0),
    ]

    def at_cell(pts: np.ndarray) -> np.ndarray:
        r = np.sqrt(pts["x"] ** 2 + pts["y"] ** 2 + pts["z"] ** 2)
        return pts[np.abs(r - 2.5) < 0.6 * rc.chirp.range_bin_m]

    both = at_cell(_points(rc, pair))
    az = np.rad2deg(np.arctan2(both["x"], both["y"]))
    assert np.any(np.abs(az + 20.0) < 3.0) and np.any(np.abs(az - 25.0) < 3.0)
    one = at_cell(_points(_demo(rc, multi_obj_on_magnitude=False), pair))
    assert not np.any(np.abs(np.rad2deg(np.arctan2(one["x"], one["y"])) - 25.0) < 3.0)


def test_detections_outside_the_peak_grouping_range_bins_are_dropped() -> None:
    """``peakGrouping ... 1 255``: TI's SDK 1.x demo never reports range bin 0 (RadHAR's nearest
    points are in bin 1); without the limits the chain reports the DC bin."""
    rc = load_cfg("iwr1443boost_radhar")
    assert rc.demo.range_bin_limits == (1, 255)
    frame = synthesize_frame(
        rc.chirp,
        [PointTarget(0.0, 0.0, 0.0, 0.0, amplitude=3000.0), PointTarget(2.0, 0.0, 0.0, 0.0, 300.0)],
        noise_std=1.0,
        rng=np.random.default_rng(0),
    )
    kept = process_frame(frame, make_plan(rc)).detections
    assert kept.size and kept["range_bin"].min() >= 1
    assert np.any(np.abs(kept["range_m"] - 2.0) <= rc.chirp.range_bin_m)
    every = process_frame(frame, make_plan(_demo(rc, range_bin_limits=None))).detections
    assert np.any(every["range_bin"] == 0)
