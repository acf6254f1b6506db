"""One RadarConfig through every runtime layer: a calibrated ``.cfg`` (non-zero range bias, non-identity
RX channel phases) reaches the DSP chain, the vital-sign buffer and the micro-motion presence beams
alike, through the daemon's real pipeline.

The capture is what a radar that needs that calibration would deliver: a breathing chest truly at
1.20 m and +15 deg, seen 0.08 m too far (the range bias) and with a phase error on each RX channel.
Replayed with the calibrated ``.cfg``, the chain's point, the vitals' chest range and the presence
beam's bearing all land on the truth and agree with each other (and with the offline
:func:`runtime.dsp.vitals.chest_signal` on the same frames); replayed with the uncalibrated
``.cfg`` (the same profile without the calibration), they all agree with each other at the
miscalibrated place, which differs.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from test_dsp_physics import chest

from firmware_cfg import RadarConfig, load_cfg, parse_cfg_text
from firmware_cfg.profiles import profile_path
from runtime.config import WatchdogSettings, parse_config
from runtime.dsp.chain import make_plan, process_frame
from runtime.dsp.vitals import chest_signal
from runtime.pipeline import RadarPipeline
from runtime.sources.dca1000_layout import encode_frames, read_bin
from sim.radar.point_targets import PointTarget, synthesize_frame

PROFILE = "iwr1843boost_vitals"  # 1 TX x 4 RX, 16 loops x 128 samples, 20 frames/s, 4.5 cm bins
TRUE_RANGE_M, TRUE_AZ_DEG = 1.20, 15.0
RANGE_BIAS_M = 0.08  # not a whole number of range bins
RX_PHASE_ERROR = np.array([0.0, 0.9, 2.0, 2.6])  # [rad] per RX: a skew of the beam plus a bend
DURATION_S = 24.0

CONFIG = """
watchdog: {{restart_backoff_s: 0.2}}
event_log: {{enabled: false}}
radars:
  bed:
    chirp_config: {cfg}
    source: {{type: replay, path: {capture}, realtime: false, timestamps: recorded}}
    mounting: {{height_m: 1.0, tilt_deg: 0.0}}
    queues: {{capture: 1024, detections: 4096}}
    events:
      tracking: {{cluster_min_points: 1, birth_min_points: 1, birth_min_moving_points: 0}}
      vitals: {{min_window_s: 20.0, window_s: 30.0}}
"""


def calibrated_cfg_text() -> str:
    """The profile with ``compRangeBiasAndRxChanPhase``: the bias and the inverse phase errors."""
    coeffs = np.ones(12, dtype=complex)
    coeffs[:4] = np.exp(-1j * RX_PHASE_ERROR)
    pairs = " ".join(f"{c.real:.6f} {c.imag:.6f}" for c in coeffs)
    lines = []
    for line in Path(profile_path(PROFILE)).read_text(encoding="utf-8").splitlines():
        if line.startswith("compRangeBiasAndRxChanPhase"):
            line = f"compRangeBiasAndRxChanPhase {RANGE_BIAS_M} {pairs}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def capture(path: Path, rc: RadarConfig) -> None:
    """The miscalibrated radar's raw ADC: the chest at the true range + bias, RX phases off."""
    cfg = rc.chirp
    rng = np.random.default_rng(3)
    target = PointTarget(
        TRUE_RANGE_M + RANGE_BIAS_M, azimuth_deg=TRUE_AZ_DEG, amplitude=300.0, displacement=chest
    )
    error = np.exp(1j * RX_PHASE_ERROR)[None, :, None, None]  # [1, rx, 1, 1]
    frames = [
        synthesize_frame(cfg, [target], frame_index=i, noise_std=2.0, rng=rng) * error
        for i in range(round(DURATION_S / cfg.frame_period_s))
    ]
    path.write_bytes(encode_frames(np.stack(frames), cfg))


def replay(tmp_path: Path, name: str, cfg_text: str, capture_path: Path) -> dict[str, object]:
    """Run the daemon's pipeline on the capture; what the chain and the events layer made of it."""
    cfg_file = tmp_path / f"{name}.cfg"
    cfg_file.write_text(cfg_text, encoding="utf-8")
    config = parse_config(
        CONFIG.format(cfg=cfg_file, capture=capture_path), base_dir=tmp_path, env={}
    )
    settings = config.radars["bed"]
    rc = settings.radar_config
    pipe = RadarPipeline(
        "bed",
        settings,
        watchdog=WatchdogSettings(),
        on_events=lambda radar, events: None,
        on_available=lambda radar, online: None,
    )
    n = int(read_bin(capture_path, rc.chirp).shape[0])
    pipe.start()
    deadline = time.monotonic() + 120.0
    while pipe.stats()["frames_processed"] < n and time.monotonic() < deadline:
        time.sleep(0.05)
    pipe.stop()
    st = pipe.stats()
    assert st["frames_processed"] == n and st["dropped"] == {
        "capture_queue": 0,
        "detections_queue": 0,
    }
    # the DSP chain on the same frames, as the pipeline's plan
    plan = make_plan(rc)
    last = process_frame(read_bin(capture_path, rc.chirp, start=n - 1, count=1)[0], plan)
    # the offline vital-sign function on the whole capture, with the same RadarConfig
    offline = chest_signal(read_bin(capture_path, rc.chirp), rc, range_gate_m=(0.5, 2.5))
    p = last.points[0]  # strongest
    engine = pipe.engine
    readings = list(engine.vitals.readings.values())
    assert readings, "no vitals reading"
    presence = engine.presence
    assert presence is not None
    snr = presence.snr_map_db()  # [bins, grid] over the last window
    b, g = np.unravel_index(int(np.argmax(snr)), snr.shape)
    return {
        "plan": plan,
        "point_range_m": float(np.sqrt(p["x"] ** 2 + p["y"] ** 2 + p["z"] ** 2)),
        "point_az_deg": float(np.rad2deg(np.arctan2(p["x"], p["y"]))),
        "vitals_range_m": float(readings[0].range_m),
        "chest_signal_range_m": offline.range_m,
        "breathing_per_min": readings[0].breathing_per_min,
        "presence_range_m": float(presence.buffer.range_axis_m[b]),
        "presence_az_deg": float(np.rad2deg(np.arcsin(presence.geometry.grid_u[g]))),
        "presence_grid_deg": float(
            np.rad2deg(presence.geometry.grid_u[1] - presence.geometry.grid_u[0])
        ),
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    tmp = tmp_path_factory.mktemp("calibration")
    cal_text = calibrated_cfg_text()
    uncal_text = Path(profile_path(PROFILE)).read_text(encoding="utf-8")
    cal = parse_cfg_text(cal_text)
    assert cal.demo.range_bias_m == RANGE_BIAS_M and cal.demo.rx_channel_phase is not None
    assert load_cfg(PROFILE).demo.range_bias_m == 0.0
    bin_path = tmp / "adc.bin"
    capture(bin_path, cal)
    return {
        "calibrated": replay(tmp, "calibrated", cal_text, bin_path),
        "uncalibrated": replay(tmp, "uncalibrated", uncal_text, bin_path),
    }


@pytest.mark.parametrize("which", ["calibrated", "uncalibrated"])
def test_events_layer_sees_the_frames_as_the_dsp_chain(runs: dict, which: str) -> None:
    r = runs[which]
    axis = r["plan"].range_axis_m
    bin_m = float(axis[1] - axis[0])
    # vitals and presence ranges lie on the chain's range axis (range bias included) ...
    assert np.isclose(axis, r["vitals_range_m"], atol=1e-9).any()
    assert np.isclose(axis, r["presence_range_m"], atol=1e-9).any()
    assert np.isclose(axis, r["chest_signal_range_m"], atol=1e-9).any()
    # the offline chest signal finds the chest where the daemon's vitals do
    assert abs(r["chest_signal_range_m"] - r["vitals_range_m"]) <= bin_m + 1e-9
    # ... at the chain's point: the chest's leading edge is at most 2 bins in front of its peak
    assert -2 * bin_m - 1e-9 <= r["vitals_range_m"] - r["point_range_m"] <= 0.5 * bin_m
    assert abs(r["presence_range_m"] - r["point_range_m"]) <= 2 * bin_m + 1e-9
    # the presence beam points where the chain's angle estimate does (within a grid step)
    assert abs(r["presence_az_deg"] - r["point_az_deg"]) <= 1.5 * r["presence_grid_deg"]
    assert r["breathing_per_min"] is not None and abs(r["breathing_per_min"] - 15.0) <= 1.0


def test_calibration_puts_everything_on_the_truth_and_changes_the_result(runs: dict) -> None:
    cal, uncal = runs["calibrated"], runs["uncalibrated"]
    bin_m = float(cal["plan"].range_axis_m[1] - cal["plan"].range_axis_m[0])
    assert abs(cal["point_range_m"] - TRUE_RANGE_M) <= 0.5 * bin_m
    assert abs(cal["point_az_deg"] - TRUE_AZ_DEG) <= 2.0
    assert abs(cal["presence_az_deg"] - TRUE_AZ_DEG) <= cal["presence_grid_deg"]
    assert -2 * bin_m <= cal["vitals_range_m"] - TRUE_RANGE_M <= 0.5 * bin_m
    assert -2 * bin_m <= cal["chest_signal_range_m"] - TRUE_RANGE_M <= 0.5 * bin_m
    # without the calibration every layer is off by the bias and the phase skew, consistently
    assert abs(uncal["point_range_m"] - cal["point_range_m"] - RANGE_BIAS_M) <= 0.5 * bin_m
    assert abs(uncal["vitals_range_m"] - cal["vitals_range_m"] - RANGE_BIAS_M) <= bin_m
    shift = uncal["chest_signal_range_m"] - cal["chest_signal_range_m"]
    assert abs(shift - RANGE_BIAS_M) <= bin_m
    assert abs(uncal["point_az_deg"] - cal["point_az_deg"]) > 10.0
    assert abs(uncal["presence_az_deg"] - cal["presence_az_deg"]) > 10.0
