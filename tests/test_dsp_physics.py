"""Physics through the real DSP chain: ideal point targets from sim.radar.point_targets come back
at their range, velocity and angles; velocity wraps as theory says; TDM compensation matters;
a breathing chest gives its breathing and heart rates.
"""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache

import numpy as np
import pytest
from conftest import radar_config_of, require_shared, vector_cfg

from firmware_cfg import ChirpConfig, load_cfg
from firmware_cfg.demo import DemoConfig
from runtime.dsp.angle import estimate_angles
from runtime.dsp.chain import make_plan, process_frame, range_doppler_cube
from runtime.dsp.doppler import tdm_compensation
from runtime.dsp.micro_doppler import micro_doppler
from runtime.dsp.vitals import chest_signal, vital_rates
from sim.radar.point_targets import PointTarget, synthesize_frame, synthesize_frames

BOARDS = ("iwr1443boost", "iwr1843boost", "iwr6843isk", "iwr6843aop")
NOISE_STD = 5.0  # ADC counts, against targets of 200 counts: ~70 dB SNR after integration


@cache
def profile(board: str):
    """The bundled ``<board>_raw_activity`` profile (3 TX x 4 RX x 128 loops x 256 samples)."""
    return load_cfg(f"{board}_raw_activity")


def azimuth_tolerance_deg(cfg: ChirpConfig, azimuth_deg: float) -> float:
    """A tenth of the azimuth row's 3-dB beamwidth, in degrees at ``azimuth_deg``.

    An N-element lambda/2 row has a 3-dB beamwidth of about ``0.886 * 2 / N`` in ``u = sin(az)``;
    for a single high-SNR target the peak must sit well inside it. N = 8 (TX0 + TX2 x 4 RX) gives
    ``du = 0.022``: 1.3 deg at boresight, 1.5 deg at 30 deg.
    """
    n_az = int(np.count_nonzero(cfg.virtual_array()[..., 1] == 0))
    du = 0.1 * 0.886 * 2.0 / n_az
    return float(np.rad2deg(du / np.cos(np.deg2rad(azimuth_deg))))


def strongest(frame: np.ndarray, cfg: ChirpConfig, demo: DemoConfig) -> np.void:
    det = process_frame(frame, make_plan(radar_config_of(cfg, demo))).detections
    assert det.size, "no detection"
    return det[0]


CASES = [  # range m, velocity m/s, azimuth deg, elevation deg
    (2.00, +1.0, +15.0, 0.0),
    (3.10, -1.5, -30.0, 0.0),
    (2.50, +0.5, +10.0, +15.0),  # elevation: every board of BOARDS has an elevated TX
]


@pytest.mark.parametrize(
    ("board", "r", "v", "az", "el"),
    [(b, *case) for b in BOARDS for case in CASES]
    + [("iwr1642boost", *case) for case in CASES if case[3] == 0.0],  # no elevation TX
)
def test_point_target_comes_back(board: str, r: float, v: float, az: float, el: float) -> None:
    rc = profile(board)
    cfg = rc.chirp
    assert cfg.board_spec.has_elevation or el == 0.0
    rng = np.random.default_rng(0)
    frame = synthesize_frame(
        cfg, [PointTarget(r, v, az, el, amplitude=200.0)], noise_std=NOISE_STD, rng=rng
    )
    d = strongest(frame, cfg, rc.demo)
    # the target moves during the frame: compare with its range at mid-frame
    r_mid = r + v * cfg.frame_active_time_s / 2
    assert abs(d["range_m"] - r_mid) <= cfg.range_bin_m
    assert abs(d["velocity_mps"] - v) <= cfg.velocity_bin_mps
    assert abs(d["azimuth_deg"] - az) <= azimuth_tolerance_deg(cfg, az)
    assert abs(d["elevation_deg"] - el) <= 2.0
    pts = process_frame(frame, make_plan(rc)).points
    x_true = r_mid * np.cos(np.deg2rad(el)) * np.sin(np.deg2rad(az))
    z_true = r_mid * np.sin(np.deg2rad(el))
    assert abs(pts[0]["x"] - x_true) < 0.1 and abs(pts[0]["z"] - z_true) < 0.1
    assert pts[0]["y"] > 0 and pts[0]["snr"] > 15.0


def test_velocity_aliasing_wraps() -> None:
    rc = profile("iwr1843boost")
    cfg = rc.chirp
    demo = rc.demo.model_copy(update={"doppler_fov_mps": None})  # the wrapped value lies at -v_max
    v_max, dv = cfg.max_velocity_mps, cfg.velocity_bin_mps
    rng = np.random.default_rng(1)
    delta = 3 * dv
    beyond = synthesize_frame(cfg, [PointTarget(2.0, v_max + delta, 0.0, amplitude=200.0)], rng=rng)
    d = strongest(beyond, cfg, demo)
    assert abs(d["velocity_mps"] - (-v_max + delta)) <= dv
    inside = synthesize_frame(cfg, [PointTarget(2.0, v_max - delta, 0.0, amplitude=200.0)], rng=rng)
    d = strongest(inside, cfg, demo)
    assert abs(d["velocity_mps"] - (v_max - delta)) <= dv


def test_negative_velocity_just_inside_stays() -> None:
    rc = profile("iwr1843boost")
    cfg = rc.chirp
    demo = rc.demo.model_copy(update={"doppler_fov_mps": None})
    v = -cfg.max_velocity_mps + cfg.velocity_bin_mps
    frame = synthesize_frame(cfg, [PointTarget(2.0, v, 0.0, amplitude=200.0)])
    assert abs(strongest(frame, cfg, demo)["velocity_mps"] - v) <= cfg.velocity_bin_mps


# ---------------------------------------------------------------------------- reference vector
@pytest.mark.realdata
def test_reference_vector_needs_tdm_compensation() -> None:
    from runtime.sources.dca1000_layout import read_bin

    bin_path = require_shared("vectors", "dca1000_iwr1843.bin")
    truth = json.loads(bin_path.with_suffix(".truth.json").read_text())
    rc = load_cfg(bin_path.with_suffix(".cfg"), board="IWR1843BOOST")
    cfg = rc.chirp
    frames = read_bin(bin_path, cfg)
    assert frames.shape[0] == truth["frames"]
    plan = make_plan(rc)
    for f, frame in enumerate(frames):
        det = process_frame(frame, plan).detections
        assert det.size >= len(truth["targets"])
        for t in truth["targets"]:
            r_now = t["range_m"] + t["velocity_mps"] * f * cfg.frame_period_s
            match = det[np.argmin(np.abs(det["range_m"] - r_now))]
            assert abs(match["range_m"] - r_now) <= cfg.range_bin_m
            assert abs(match["velocity_mps"] - t["velocity_mps"]) <= cfg.velocity_bin_mps
            assert abs(match["azimuth_deg"] - t["azimuth_deg"]) <= 0.5

            # Without TDM compensation the same cell's azimuth is biased by a few degrees.
            cube = range_doppler_cube(frame, plan)
            d_bin, r_bin = int(match["doppler_bin"]), int(match["range_bin"])
            virtual = cube[:, :, d_bin, r_bin][None]  # [1, tx, rx]
            rc1 = replace(rc, demo=rc.demo.model_copy(update={"multi_obj_beamforming": False}))
            _, az_raw, _, _ = estimate_angles(virtual, plan.geometry, rc1)
            comp = tdm_compensation(virtual, np.array([d_bin]), cfg, plan.tdm_table)
            _, az_comp, _, _ = estimate_angles(comp, plan.geometry, rc1)
            assert abs(az_comp[0] - t["azimuth_deg"]) <= 0.5
            bias = expected_tdm_bias_deg(cfg, t["velocity_mps"], t["azimuth_deg"])
            assert abs(bias) > 0.5  # 1.6 deg at -0.9 m/s, 0.66 deg at +0.4 m/s
            assert abs((az_raw[0] - t["azimuth_deg"]) - bias) <= 0.2, (t, az_raw, bias)


def expected_tdm_bias_deg(cfg: ChirpConfig, velocity_mps: float, azimuth_deg: float) -> float:
    """Azimuth error of an uncompensated TDM frame, from theory.

    Slot ``k`` carries the extra phase ``2 pi f_d k T_c`` (``f_d = 2 v / lambda``); over the azimuth
    row that is a phase ramp whose least-squares slope in ``pi * x`` is the error in ``u = sin(az)``.
    """
    va = cfg.virtual_array()  # [tx, rx, 2]
    row = va[..., 1] == 0
    x = va[..., 0][row]
    slot = np.broadcast_to(np.arange(cfg.num_tx)[:, None], row.shape)[row]
    f_d = 2 * velocity_mps / cfg.wavelength_m
    phase = 2 * np.pi * f_d * slot * cfg.chirp_period_s
    du = np.polyfit(np.pi * x, phase, 1)[0]
    u = np.sin(np.deg2rad(azimuth_deg))
    return float(np.rad2deg(np.arcsin(u + du)) - azimuth_deg)


# ---------------------------------------------------------------------------- slow time
def small_config(**update: object) -> ChirpConfig:
    """A cheap chirp for slow-time tests: 1 TX x 2 RX, 2 loops x 64 samples, 20 frames/s."""
    small = dict(
        ramp_end_time_s=40e-6, num_samples=64, sample_rate_hz=2e6, rx_mask=0b0011,
        tx_mask=0b001, chirp_tx_masks=(1,), num_loops=2,
    )  # fmt: skip
    return vector_cfg(**{**small, **update})


BREATHING_PER_MIN, HEART_PER_MIN = 15.0, 72.0


def chest(t: np.ndarray) -> np.ndarray:
    """A sinusoidal chest: 4 mm breathing at 15/min plus a 0.3 mm heartbeat at 72/min [m]."""
    return 0.004 * np.sin(2 * np.pi * BREATHING_PER_MIN / 60 * t) + 0.0003 * np.sin(
        2 * np.pi * HEART_PER_MIN / 60 * t + 0.4
    )


def test_breathing_and_heart_rates() -> None:
    cfg = small_config()
    breathing, heart = BREATHING_PER_MIN, HEART_PER_MIN

    frames = synthesize_frames(
        cfg,
        [PointTarget(1.2, azimuth_deg=10.0, amplitude=100.0, displacement=chest)],
        int(40.0 / cfg.frame_period_s),
        noise_std=1.0,
        rng=np.random.default_rng(2),
    )
    sig = chest_signal(frames, radar_config_of(cfg), range_gate_m=(0.5, 2.5))
    # the chest bin is the echo's leading edge: inside the Hann main lobe (+-2 bins), in front
    assert -2 * cfg.range_bin_m <= sig.range_m - 1.2 <= 0.5 * cfg.range_bin_m
    # peak-to-peak chest excursion ~ 8.6 mm
    assert 0.007 < np.ptp(sig.displacement_m) < 0.010
    rates = vital_rates(sig.displacement_m, sig.sample_rate_hz)
    assert abs(rates.breathing.per_min - breathing) <= 1.0
    assert abs(rates.heart.per_min - heart) <= 3.0
    assert rates.breathing.quality > 3.0 and rates.heart.quality > 3.0


def test_chest_bin_is_the_echo_leading_edge() -> None:
    """A stronger echo behind the chest (the torso's sides and arms: two reflectors in one bin moving
    their own ways, so their sum fades and its phase slips) does not take the chest bin; an echo in
    front but more than ``CHEST_EDGE_DB`` weaker (a hand) does not either. The plain estimator (the
    strongest bin, phase around 0: ``edge_db=None, remove_static=False``) measures the wrong thing."""
    cfg = small_config()
    breathing, heart = BREATHING_PER_MIN, HEART_PER_MIN
    bin_m = cfg.range_bin_m

    targets = [
        PointTarget(1.0, amplitude=3.0, displacement=lambda t: 0.001 * np.sin(0.9 * t)),  # hand
        PointTarget(1.0 + 4 * bin_m, amplitude=60.0, displacement=chest),
        PointTarget(  # behind the chest, 4.4 dB stronger than it, fading as its parts move apart
            1.0 + 7 * bin_m, amplitude=50.0, displacement=lambda t: 0.006 * np.sin(2.1 * t)
        ),
        PointTarget(1.0 + 7 * bin_m, amplitude=50.0, phase_rad=1.0),
    ]
    frames = synthesize_frames(
        cfg, targets, int(40.0 / cfg.frame_period_s), noise_std=1.0, rng=np.random.default_rng(3)
    )
    sig = chest_signal(frames, radar_config_of(cfg), range_gate_m=(0.8, 2.0))
    assert -2 * bin_m <= sig.range_m - (1.0 + 4 * bin_m) <= 0.5 * bin_m  # the chest's main lobe
    rates = vital_rates(sig.displacement_m, sig.sample_rate_hz)
    assert abs(rates.breathing.per_min - breathing) <= 1.0
    assert abs(rates.heart.per_min - heart) <= 3.0

    strongest = chest_signal(
        frames, radar_config_of(cfg), range_gate_m=(0.8, 2.0), edge_db=None, remove_static=False
    )
    assert abs(strongest.range_m - (1.0 + 7 * bin_m)) <= 0.5 * bin_m
    wrong = vital_rates(strongest.displacement_m, strongest.sample_rate_hz)
    assert abs(wrong.heart.per_min - heart) > 3.0


def test_displacement_sign_is_away_positive() -> None:
    cfg = small_config()
    frames = synthesize_frames(
        cfg, [PointTarget(1.0, amplitude=100.0, displacement=lambda t: 0.5e-3 * t)], 20
    )
    sig = chest_signal(frames, radar_config_of(cfg), range_gate_m=(0.5, 1.5))
    expected = 0.5e-3 * sig.time_s
    assert np.allclose(sig.displacement_m, expected, atol=1e-4)


def test_micro_doppler_tracks_velocity() -> None:
    cfg = small_config(num_loops=32, chirp_tx_masks=(1,), frame_period_s=0.02)
    frames = synthesize_frames(cfg, [PointTarget(1.5, -0.8, amplitude=50.0)], 6)
    spec = micro_doppler(frames, radar_config_of(cfg), range_gate_m=(1.0, 2.0))
    assert spec.power_db.shape == (6, cfg.doppler_fft_size)
    assert np.allclose(np.diff(spec.time_s), cfg.frame_period_s)
    peak_v = spec.velocity_mps[np.argmax(spec.power_db, axis=1)]
    assert np.all(np.abs(peak_v + 0.8) <= cfg.velocity_bin_mps)
