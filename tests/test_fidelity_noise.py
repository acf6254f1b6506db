"""Receiver calibration against a real capture, and the RadHAR-like scenario setup.

The default :class:`sim.radar.noise.NoiseModel` must put a simulated IWR1443 frame's white-noise floor
within 3 dB of the real ``openradar-adc/doppler_example_1.npy`` at the same chirp profile (the
profile is the one ``../shared/realdata/README.md`` gives for that capture).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from firmware_cfg import load_cfg
from firmware_cfg.chirp import ChirpConfig
from sim.dataset.scenario import SETUPS, ScenarioError, sample_scenario
from sim.radar.adc import synthesize_adc
from sim.radar.noise import (
    CALIBRATION,
    NoiseModel,
    estimate_noise_std_counts,
    load_openradar_frame,
)


def openradar_chirp() -> ChirpConfig:
    """The capture's profile (bundled ``iwr1443boost_openradar``): 77.42 GHz, 60 MHz/us, 2500 ksps
    complex, 128 samples, 2 TX x 4 RX, 128 loops, RX gain 30 dB, HPF 175/350 kHz (ramp end shortened
    to stay inside 81 GHz)."""
    return load_cfg("iwr1443boost_openradar").chirp


def real_frame() -> np.ndarray:
    """``doppler_example_1.npy`` as complex ``[tx=2, rx=4, loop=128, sample=128]`` [counts]; skips
    with the loader's message when the shared folder lacks it."""
    try:
        return load_openradar_frame()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))


def test_estimator_recovers_white_noise_under_clutter() -> None:
    rng = np.random.default_rng(1)
    sigma = 5.0
    shape = (8, 64, 128)  # [virtual, loop, sample]
    noise = sigma / math.sqrt(2) * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape))
    n = np.arange(128)
    clutter = 3000.0 * np.exp(2j * np.pi * 20 * n / 128)  # a static reflector 55 dB above the noise
    assert estimate_noise_std_counts(noise + clutter) == pytest.approx(sigma, rel=0.05)


@pytest.mark.realdata
def test_calibrated_noise_floor_matches_real_capture() -> None:
    cfg = openradar_chirp()
    real = estimate_noise_std_counts(real_frame())
    assert real == pytest.approx(CALIBRATION["noise_std_counts"], rel=0.05)  # the documented value
    sim_frame = synthesize_adc(cfg, [], noise=NoiseModel(), rng=np.random.default_rng(0))
    sim = estimate_noise_std_counts(sim_frame)
    assert abs(20 * math.log10(sim / real)) < 3.0, (sim, real)
    # the estimator on a noise-only frame is the model's own level (quantisation adds 1/6 count^2)
    model = math.sqrt(NoiseModel().noise_std_counts(cfg) ** 2 + 2 / 12)
    assert sim == pytest.approx(model, rel=0.05)


def test_radhar_setup_places_one_person_in_front_facing_the_radar() -> None:
    spec = SETUPS["radhar"]
    for k in range(3):
        sc = sample_scenario(5, k, setup="radhar", prompt="a person doing squats", window_s=0.2)
        rc = sc.radar_config()
        assert not rc.demo.clutter_removal
        assert rc.board == "IWR1443BOOST" and rc.chirp.num_loops == 16
        assert len(sc.people) == 1 and sc.people[0].activity == "squats"
        radar = sc.scene().radar
        assert radar.pitch_deg == 0.0 and radar.position[2] == spec.radar_height_m
        p = sc.people[0]
        x, y, _ = radar.to_radar(np.array([*p.start_position, radar.position[2]]))
        assert spec.distance_m[0] - 1e-6 <= math.hypot(x, y) <= spec.distance_m[1] + 1e-6
        assert spec.azimuth_deg[0] - 1e-6 <= math.degrees(math.atan2(x, y)) <= spec.azimuth_deg[1]
        bearing = math.atan2(
            radar.position[1] - p.start_position[1], radar.position[0] - p.start_position[0]
        )
        off = (p.start_heading - bearing + math.pi) % (2 * math.pi) - math.pi
        assert abs(off) <= spec.heading_jitter_rad + 1e-6


def test_radhar_setup_records_in_its_lab_with_the_view_clear() -> None:
    """RadHAR's room (``sim.scene.recording_rooms``): the wall ahead 4.55-4.6 m away, no furniture in
    the radar's view, and the scenario rebuilds the same room from its dict."""
    from sim.dataset.scenario import Scenario
    from sim.scene.recording_rooms import RADHAR_FRONT_WALL_M, recording_room

    sc = sample_scenario(
        3, 1, setup="radhar", prompt="a person boxing in the bedroom", window_s=0.2
    )
    assert sc.room == "radhar_lab" and sc.to_dict()["room"] == "radhar_lab"
    scene = sc.scene()
    assert scene.room_type == "office"  # the lab, not the prompt's bedroom
    radar = scene.radar
    front = scene.size_m[1] - radar.position[1]
    assert RADHAR_FRONT_WALL_M[0] - 1e-3 <= front <= RADHAR_FRONT_WALL_M[1] + 1e-3
    for obj in scene.furniture():
        for cx, cy in obj.footprint.corners():
            x, y, _ = radar.to_radar(np.array([cx, cy, radar.position[2]]))
            assert math.hypot(x, y) > 5.3 or abs(math.degrees(math.atan2(x, y))) > 65.0, obj.name
    again = Scenario.from_dict(sc.to_dict()).scene()
    assert [o.name for o in again.objects] == [o.name for o in scene.objects]
    assert again.radar == radar
    # a plain scenario keeps the prompt's room and writes no "room"
    plain = sample_scenario(3, 1, prompt="a person boxing in the bedroom", window_s=0.2)
    assert plain.room is None and "room" not in plain.to_dict()
    assert plain.scene().room_type == "bedroom"
    with pytest.raises(ValueError, match="unknown recording room"):
        recording_room("cave", 0, 1.0)


def test_setup_and_region_errors() -> None:
    with pytest.raises(ScenarioError, match="unknown setup"):
        sample_scenario(0, 0, setup="nope")
    with pytest.raises(ScenarioError, match="one person"):
        sample_scenario(0, 0, setup="radhar", prompt="two people doing squats")
    with pytest.raises(ScenarioError, match="needs furniture"):
        sample_scenario(0, 0, prompt="a person sleeping in the bedroom", distance_m=(1.0, 2.0))
    with pytest.raises(ScenarioError, match="azimuth_deg"):
        sample_scenario(0, 0, prompt="a person waving", azimuth_deg=(-80.0, 0.0))
