"""The chain's stages agree with each other; clutter removal, real ADC, multi-object beamforming,
plan caching and input checks."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import radar_config_of, vector_cfg

from firmware_cfg import AdcFormat, ChirpConfig
from firmware_cfg.demo import DemoConfig
from runtime.dsp import detections, make_plan, point_cloud, process_frame
from runtime.dsp.chain import detection_map_db, range_doppler_cube
from runtime.dsp.clutter import remove_static_clutter
from runtime.dsp.doppler import doppler_fft, velocity_axis_mps
from runtime.dsp.range import range_axis_m, range_fft
from runtime.frames import POINT_DTYPE
from sim.radar.point_targets import PointTarget, synthesize_frame


def config(**update: object) -> ChirpConfig:
    """IWR1843BOOST, 3 TX x 4 RX, 32 loops x 128 samples (small and quick)."""
    small = dict(ramp_end_time_s=40e-6, num_samples=128, sample_rate_hz=4e6, num_loops=32)
    return vector_cfg(**{**small, **update})


def test_fused_cube_equals_stage_functions() -> None:
    cfg = config()
    frame = synthesize_frame(cfg, [PointTarget(2.0, 0.7, 12.0, amplitude=50.0)], noise_std=1.0)
    plan = make_plan(radar_config_of(cfg))
    fused = range_doppler_cube(frame, plan)
    staged = doppler_fft(range_fft(frame, cfg), cfg)  # [tx, rx, doppler, range]
    assert fused.dtype == np.complex64 and fused.shape == staged.shape
    scale = np.abs(staged).max()
    np.testing.assert_allclose(fused, staged, atol=1e-5 * scale)
    # the reusable buffer gives the same cube and is not the frame
    buf = np.empty_like(fused)
    np.testing.assert_allclose(range_doppler_cube(frame, plan, out=buf), fused, atol=1e-5 * scale)
    res = process_frame(frame, plan)
    np.testing.assert_allclose(res.detection_db, detection_map_db(staged), atol=1e-3)
    assert res.range_doppler_db.shape == (cfg.num_range_bins, cfg.doppler_fft_size)


def test_frame_is_not_modified() -> None:
    cfg = config()
    frame = synthesize_frame(cfg, [PointTarget(2.0, 0.7, 12.0, amplitude=50.0)])
    before = frame.copy()
    process_frame(frame, make_plan(radar_config_of(cfg, DemoConfig(clutter_removal=True))))
    process_frame(frame, make_plan(radar_config_of(cfg)))
    np.testing.assert_array_equal(frame, before)


def test_axes() -> None:
    cfg = config()
    demo = DemoConfig(range_bias_m=0.05)
    r = range_axis_m(radar_config_of(cfg, demo))
    assert r.shape == (cfg.num_range_bins,) and r[0] == pytest.approx(-0.05)
    assert r[1] - r[0] == pytest.approx(cfg.range_bin_m)
    v = velocity_axis_mps(cfg)
    assert v.shape == (cfg.doppler_fft_size,)
    assert v[cfg.doppler_fft_size // 2] == 0.0 and v[0] == pytest.approx(-cfg.max_velocity_mps)


def test_range_bias_is_subtracted() -> None:
    cfg = config()
    frame = synthesize_frame(cfg, [PointTarget(2.0, 0.5, 0.0, amplitude=50.0)])
    plain = detections(frame, radar_config_of(cfg, DemoConfig()))[0]["range_m"]
    biased = detections(frame, radar_config_of(cfg, DemoConfig(range_bias_m=0.1)))[0]["range_m"]
    assert biased == pytest.approx(plain - 0.1, abs=1e-5)


def test_clutter_removal_drops_static_keeps_moving() -> None:
    cfg = config()
    targets = [PointTarget(1.5, 0.0, -10.0, amplitude=200.0), PointTarget(3.0, 1.0, 20.0, 20.0)]
    frame = synthesize_frame(cfg, targets, noise_std=0.5, rng=np.random.default_rng(0))
    on = detections(frame, radar_config_of(cfg, DemoConfig(clutter_removal=True)))
    off = detections(frame, radar_config_of(cfg, DemoConfig()))
    assert np.any(np.abs(off["range_m"] - 1.5) < cfg.range_bin_m)
    assert not np.any(
        (np.abs(on["range_m"] - 1.5) < 2 * cfg.range_bin_m) & (on["velocity_mps"] == 0)
    )
    assert np.any(np.abs(on["velocity_mps"] - 1.0) <= cfg.velocity_bin_mps)
    # the stage function: the mean over loops is gone
    cube = remove_static_clutter(range_fft(frame, cfg))
    assert np.abs(cube.mean(axis=2)).max() < 1e-3 * np.abs(cube).max()


def test_real_adc_keeps_positive_half() -> None:
    cfg = config(adc_format=AdcFormat.REAL)
    assert cfg.num_range_bins == cfg.range_fft_size // 2
    frame = synthesize_frame(cfg, [PointTarget(2.2, -0.6, -20.0, amplitude=100.0)])
    d = detections(frame, radar_config_of(cfg))[0]
    r_mid = 2.2 - 0.6 * cfg.frame_active_time_s / 2
    assert abs(d["range_m"] - r_mid) <= cfg.range_bin_m
    assert abs(d["velocity_mps"] + 0.6) <= cfg.velocity_bin_mps
    assert abs(d["azimuth_deg"] + 20.0) < 2.0


def test_multi_object_beamforming_second_peak() -> None:
    cfg = config()
    targets = [
        PointTarget(2.0, 0.5, -30.0, amplitude=100.0),
        PointTarget(2.0, 0.5, +25.0, amplitude=80.0),
    ]
    frame = synthesize_frame(cfg, targets)
    cell = detections(frame, radar_config_of(cfg, DemoConfig(multi_obj_beamforming=True)))
    same = cell[(np.abs(cell["range_m"] - 2.0) < cfg.range_bin_m)]
    az = np.sort(same["azimuth_deg"][:2])
    assert az == pytest.approx([-30.0, 25.0], abs=2.0)
    single = detections(frame, radar_config_of(cfg, DemoConfig(multi_obj_beamforming=False)))
    assert len(single) < len(cell)


def test_point_cloud_fields_and_fov() -> None:
    cfg = config()
    frame = synthesize_frame(cfg, [PointTarget(2.5, -0.4, 30.0, 10.0, amplitude=80.0)])
    pts = point_cloud(frame, radar_config_of(cfg))
    assert pts.dtype == POINT_DTYPE and len(pts) >= 1
    p = pts[0]
    r = np.sqrt(p["x"] ** 2 + p["y"] ** 2 + p["z"] ** 2)
    assert abs(r - 2.5) < 2 * cfg.range_bin_m
    assert np.rad2deg(np.arctan2(p["x"], p["y"])) == pytest.approx(30.0, abs=2.0)
    assert p["v"] == pytest.approx(-0.4, abs=cfg.velocity_bin_mps)
    assert p["snr"] > 15.0
    # azimuth field of view drops the point; range field of view too
    assert (
        len(point_cloud(frame, radar_config_of(cfg, DemoConfig(azimuth_fov_deg=(-20.0, 20.0)))))
        == 0
    )
    assert len(point_cloud(frame, radar_config_of(cfg, DemoConfig(range_fov_m=(3.0, 6.0))))) == 0


def test_noise_only_frame_has_few_points() -> None:
    cfg = config()
    frame = synthesize_frame(cfg, [], noise_std=10.0, rng=np.random.default_rng(9))
    assert len(point_cloud(frame, radar_config_of(cfg))) <= 2


def test_plan_is_cached_and_read_only() -> None:
    cfg = config()
    plan = make_plan(radar_config_of(cfg))
    assert make_plan(radar_config_of(cfg, DemoConfig())) is plan
    assert make_plan(radar_config_of(cfg, DemoConfig(clutter_removal=True))) is not plan
    with pytest.raises(ValueError):
        plan.window_2d[0, 0] = 1.0


def test_shape_mismatch_is_an_error() -> None:
    cfg = config()
    with pytest.raises(ValueError, match="does not match"):
        process_frame(np.zeros((3, 4, 16, 128), np.complex64), make_plan(radar_config_of(cfg)))


def test_two_tx_config_without_elevation_row() -> None:
    cfg = config(tx_mask=0b101, chirp_tx_masks=(1, 4))
    plan = make_plan(radar_config_of(cfg))
    assert not plan.geometry.has_elevation and plan.geometry.az_index.size == 8
    frame = synthesize_frame(cfg, [PointTarget(1.8, 1.2, -40.0, amplitude=60.0)])
    d = detections(frame, radar_config_of(cfg))[0]
    assert d["azimuth_deg"] == pytest.approx(-40.0, abs=2.0) and d["elevation_deg"] == 0.0
