"""People through the whole simulator and the runtime DSP: walking Doppler, breathing and heart rates.

Every frame goes the way a simulated dataset's frames go: ``Human.mesh_at`` (skinned SMPL-format body
with per-vertex velocities and chest micro-motion) -> the scatterer backend (direct paths, self-occlusion)
-> FMCW ADC synthesis with the calibrated receiver model (thermal noise, phase noise, IF high-pass,
quantisation), all through :class:`sim.radar.virtual_radar.VirtualRadar` -> the runtime's DSP (the
detection chain, the micro-Doppler spectrogram, the vital-sign estimator). Truth comes from
``Human.ground_truth``.

Cost is kept down by person-only scenes (no room: nothing but the person to trace), ``max_bounces=1``, a
moderate scatterer density and small frames (fewer loops and samples than the bundled profiles); the
60 s vital-sign capture is in the slow tier (``-m slow``).
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from typing import NamedTuple

import numpy as np
import pytest

from firmware_cfg import emit_cfg, load_cfg, parse_cfg_text
from firmware_cfg.radar_config import RadarConfig
from runtime.dsp.chain import make_plan, process_frame
from runtime.dsp.micro_doppler import micro_doppler
from runtime.dsp.vitals import ChestSignal, VitalRates, chest_signal, vital_rates
from runtime.events.settings import VitalsSettings
from sim.geometry import RadarPose
from sim.humans import Human, Segment, Subject, Timeline
from sim.radar.adc import frame_mid_time
from sim.radar.virtual_radar import VirtualRadar

#: Person-only scenes: a moderate density keeps the chest's range bin the strongest one (at 300/m^2 the
#: sparse specular scatterers sometimes let the hips win) while a frame traces in ~30 ms.
TRACE = {"density_per_m2": {"person": 600.0}, "max_bounces": 1}
WALK_SPEED_MPS = 1.2


def _shrunk(
    profile: str, edits: dict[str, str], frame_shape: tuple[int, int, int, int]
) -> RadarConfig:
    """A bundled profile with a few ``.cfg`` fields edited (each edit must apply), parsed and validated."""
    text = emit_cfg(load_cfg(profile))
    for old, new in edits.items():
        assert text.count(old) == 1, f"{old!r} not found once in {profile}"
        text = text.replace(old, new)
    rc = parse_cfg_text(text)
    assert rc.chirp.frame_shape == frame_shape
    return rc


@cache
def walk_rc() -> RadarConfig:
    """IWR1843BOOST activity profile, 3 TX x 4 RX x 64 loops x 64 samples at 20 frames/s:
    max velocity 4.80 m/s, velocity bin 0.150 m/s, range bin 0.195 m."""
    return _shrunk(
        "iwr1843boost_raw_activity",
        {"frameCfg 0 2 128 ": "frameCfg 0 2 64 ", " 256 5000 ": " 64 5000 "},
        (3, 4, 64, 64),
    )


@cache
def vitals_rc() -> RadarConfig:
    """IWR1843BOOST vital-signs profile, 1 TX x 4 RX x 4 loops x 128 samples at 20 frames/s
    (range bin 4.5 cm; the chest phase needs one slow-time sample per frame)."""
    return _shrunk("iwr1843boost_vitals", {"frameCfg 0 0 16 ": "frameCfg 0 0 4 "}, (1, 4, 4, 128))


def render(rc: RadarConfig, person: Human, radar: RadarPose, indices: range) -> np.ndarray:
    """Frames ``indices`` of the person seen by the virtual radar: ``[frames, tx, rx, loop, sample]``."""
    src = VirtualRadar(rc, lambda t: ([person.mesh_at(t)], radar), seed=0, trace_kwargs=TRACE)
    return np.stack([src.frame(i).data for i in indices])


# ---------------------------------------------------------------------------- walking
WALK_RADAR = RadarPose(
    (0.0, 0.0, 1.5), 0.0, 0.0
)  # 1.5 m high at the origin, looking level along +y
WALK_FRAMES = range(20, 50)  # 1.0-2.5 s: after the 0.6 s start ramp, before the ramp down at ~3.3 s


@pytest.mark.parametrize("direction", [-1, +1], ids=["toward", "away"])
def test_walking_torso_doppler_matches_speed(direction: int) -> None:
    """A person walking along boresight at 1.2 m/s between 1 and 5 m: the torso line of the
    micro-Doppler spectrogram and the strongest moving detection of the chain give the pelvis's radial
    velocity within one velocity bin, with its sign (+ = away)."""
    rc = walk_rc()
    cfg = rc.chirp
    assert cfg.max_velocity_mps > 2 * WALK_SPEED_MPS
    near, far = (0.0, 1.0), (0.0, 5.0)
    start, end = (far, near) if direction < 0 else (near, far)
    timeline = Timeline(
        [Segment("walk", 0.0, 4.5, {"waypoints": [end], "speed": WALK_SPEED_MPS})],
        start_position=start,
        start_heading=direction * np.pi / 2,  # facing the way it walks (-y toward the radar)
    )
    person = Human(Subject(), timeline, seed=1)
    frames = render(rc, person, WALK_RADAR, WALK_FRAMES)  # [30, 3, 4, 64, 64]

    # truth: the pelvis velocity along the line of sight at each frame's mid time
    radial = []
    for i in WALK_FRAMES:
        gt = person.ground_truth(frame_mid_time(cfg, i * cfg.frame_period_s))
        assert gt["activity"] == "walk"
        los = gt["position"] - np.asarray(WALK_RADAR.position)
        radial.append(float(gt["velocity"] @ los / np.linalg.norm(los)))
    v_true = float(np.median(radial))
    # (the pelvis is ~0.6 m below the radar at 1.5-4 m: the radial speed is a few % below 1.2 m/s)
    assert direction * v_true == pytest.approx(WALK_SPEED_MPS, abs=0.1)

    rc_on = replace(rc, demo=rc.demo.model_copy(update={"clutter_removal": True}))
    spec = micro_doppler(frames, rc_on, range_gate_m=(0.5, 6.0))
    torso_line = spec.velocity_mps[np.argmax(spec.power_db, axis=1)]  # [frames]
    v_md = float(np.median(torso_line))

    plan = make_plan(rc_on)
    strongest = []
    for frame in frames:
        det = process_frame(frame, plan).detections  # strongest first
        moving = det[np.abs(det["velocity_mps"]) > cfg.velocity_bin_mps]
        if moving.size:
            strongest.append(float(moving[0]["velocity_mps"]))
    assert len(strongest) >= 0.8 * len(WALK_FRAMES)
    v_det = float(np.median(strongest))

    for v in (v_md, v_det):
        assert np.sign(v) == direction
        assert abs(v - v_true) <= cfg.velocity_bin_mps, (v, v_true)


# ---------------------------------------------------------------------------- vital signs
VITALS_RADAR = RadarPose((0.0, 0.0, 1.2), 0.0, 0.0)  # at chest height, looking level along +y
VITALS_DISTANCE_M = 1.5  # pelvis 1.5 m in front of the radar: the chest front at ~1.41 m


class Capture(NamedTuple):
    frames: np.ndarray  # [frames, tx, rx, loop, sample]
    breathing_per_min: float  # truth: mean instantaneous rate over the capture
    heart_per_min: float


@cache
def vitals_capture(
    duration_s: float,
    breathing_per_min: float,
    heart_per_min: float,
    heart_amplitude_m: float,
    *,
    subject: Subject = Subject(),  # noqa: B008 (frozen, hashable)
    breathing_amplitude_m: float = 0.007,
    seed: int = 0,
) -> Capture:
    """A person standing still (no postural sway: the estimator has no motion rejection) facing the
    radar, breathing ``breathing_amplitude_m`` peak to peak, rates wandering by the default few % (and
    the heart rate with breathing), observed for ``duration_s`` [s]."""
    rc = vitals_rc()
    cfg = rc.chirp
    timeline = Timeline(
        [Segment("stand", 0.0, duration_s + 1.0, {"sway": 0.0})],
        start_position=(0.0, VITALS_DISTANCE_M),
        start_heading=-np.pi / 2,  # facing the radar (-y)
    )
    person = Human(
        subject,
        timeline,
        breathing_per_min=breathing_per_min,
        heart_per_min=heart_per_min,
        breathing_amplitude_m=breathing_amplitude_m,
        heart_amplitude_m=heart_amplitude_m,
        seed=seed,
    )
    indices = range(round(duration_s / cfg.frame_period_s))
    frames = render(rc, person, VITALS_RADAR, indices)
    times = [frame_mid_time(cfg, i * cfg.frame_period_s) for i in indices]
    truth = person.ground_truth_series(times)
    return Capture(
        frames, float(truth["breathing_per_min"].mean()), float(truth["heart_per_min"].mean())
    )


def chest(capture: Capture) -> ChestSignal:
    """The runtime's chest signal: the chest bin in a 1-2 m gate and its phase as displacement."""
    return chest_signal(capture.frames, vitals_rc(), range_gate_m=(1.0, 2.0))


def measured_rates(capture: Capture) -> VitalRates:
    """The runtime's estimate: the chest signal's rates in their bands."""
    cfg = vitals_rc().chirp
    signal = chest(capture)
    # the chest front (~1.41 m; its echo's leading edge), not the hips or the hands
    assert abs(signal.range_m - 1.41) <= 1.5 * cfg.range_bin_m
    return vital_rates(signal.displacement_m, signal.sample_rate_hz)


def test_breathing_rate_30s() -> None:
    """30 s at 20 frames/s (600 frames): breathing at 15/min comes back within 1/min."""
    capture = vitals_capture(30.0, 15.0, 72.0, 0.0004)
    rates = measured_rates(capture)
    assert abs(rates.breathing.per_min - capture.breathing_per_min) < 1.0
    assert rates.breathing.quality > 3.0


@pytest.mark.slow
def test_breathing_rate_60s() -> None:
    """60 s (1200 frames): breathing at 15/min within 1/min."""
    capture = vitals_capture(60.0, 15.0, 72.0, 0.0004)
    rates = measured_rates(capture)
    assert abs(rates.breathing.per_min - capture.breathing_per_min) < 1.0


@pytest.mark.slow
def test_heart_rate_60s() -> None:
    """60 s: heart at 72/min within 3/min."""
    capture = vitals_capture(60.0, 15.0, 72.0, 0.0004)
    rates = measured_rates(capture)
    assert abs(rates.heart.per_min - capture.heart_per_min) < 3.0


#: Four more subjects and their vitals (subject, breathing /min, heart /min, breathing p-p [m],
#: heart p-p [m], seed), among them the hardest of ``benchmarks/bench_vitals_sim.py``: a fast
#: shallow breath on a heavy build, and a slow deep breath with a faint heartbeat.
SUBJECTS = [
    (Subject(height_m=1.85, build="heavy", sex="male"), 13.0, 62.0, 0.005, 0.0003, 11),
    (Subject(height_m=1.60, build="slim"), 17.0, 88.0, 0.006, 0.0004, 12),
    (Subject(height_m=1.65, build="heavy", age_group="elderly"), 22.0, 95.0, 0.004, 0.0004, 14),
    (Subject(height_m=1.78, build="slim", sex="male"), 8.0, 57.0, 0.008, 0.0002, 15),
]


@pytest.mark.slow
def test_vital_rates_across_subjects() -> None:
    """60 s of each subject: breathing within 1/min and heart within 3/min, each heart estimate with
    a quality the event engine reports (``min_heart_quality``)."""
    min_q = VitalsSettings().min_heart_quality
    for subject, breathing, heart, b_amp, h_amp, seed in SUBJECTS:
        capture = vitals_capture(
            60.0, breathing, heart, h_amp, subject=subject, breathing_amplitude_m=b_amp, seed=seed
        )
        signal = chest(capture)
        rates = vital_rates(signal.displacement_m, signal.sample_rate_hz)
        assert abs(rates.breathing.per_min - capture.breathing_per_min) < 1.0, subject
        assert abs(rates.heart.per_min - capture.heart_per_min) < 3.0, (subject, rates.heart)
        assert rates.heart.quality >= min_q, (subject, rates.heart)
