"""The event engine end to end on synthetic point clouds (and raw ADC for vitals): occupancy with hold
times, people count, zones, falls vs sitting down, vital signs through the real DSP chain, state and
settings."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import radar_config_of, vector_cfg
from pydantic import ValidationError
from test_dsp_physics import BREATHING_PER_MIN, HEART_PER_MIN, chest
from test_events_synthetic import FPS, MOUNTING, T0, Person, scene_frames

from firmware_cfg import ChirpConfig
from runtime.dsp.chain import make_plan, process_frame
from runtime.events import Event
from runtime.events.engine import EventEngine
from runtime.events.settings import (
    EventSettings,
    Mounting,
    OccupancySettings,
    TrackingSettings,
    VitalsSettings,
    Zone,
)
from runtime.frames import RawFrame
from sim.radar.point_targets import PointTarget, synthesize_frame


def settings(**update: object) -> EventSettings:
    base: dict[str, object] = {
        "mounting": MOUNTING,
        "occupancy": OccupancySettings(on_frames=3, window_frames=5, hold_s=5.0),
        "tracks_period_s": None,
    }
    base.update(update)
    return EventSettings(**base)


def run(engine: EventEngine, frames) -> list[Event]:
    events: list[Event] = []
    for f in frames:
        events += engine.update_points(f)
    return events


def of(events: list[Event], type: str, zone: str | None = None) -> list[Event]:
    return [e for e in events if e.type == type and e.attributes.get("zone") == zone]


# ---------------------------------------------------------------------------- occupancy
def test_walk_in_and_out_toggles_occupancy_with_hold() -> None:
    s = settings()
    p = Person(
        path=[(1, -2.5, 2.0), (4, 0.0, 3.0), (6, 0.0, 3.0), (9, 2.5, 2.0)], present=(1.0, 9.0)
    )
    missed = [25, 26, 40, 55, 56, 57, 70]  # a few lost frames while present
    frames = scene_frames([p], 20.0, seed=1, drop=missed)
    engine = EventEngine("hall", s)
    occ = of(run(engine, frames), "occupancy")
    assert [e.value for e in occ] == [True, False]  # no flapping on missed frames
    on, off = occ
    first = T0 + 1.0
    # on once the track is confirmed (N hits) and then K of N frames had it
    assert 0 < on.time - first <= (s.tracking.confirm_hits + s.occupancy.on_frames) / FPS + 1e-6
    assert on.confidence >= s.occupancy.on_frames / s.occupancy.window_frames
    # off hold_s after the last frame with points, at the first frame past it
    last = T0 + 8.9
    assert 0 <= off.time - (last + s.occupancy.hold_s) < 1.0 / FPS + 1e-6
    assert off.radar == "hall" and off.confidence == 1.0


def test_noise_alone_never_turns_occupancy_on() -> None:
    engine = EventEngine("hall", settings())
    assert not run(engine, scene_frames([], 10.0, seed=2))
    assert engine.state()["occupied"] is False


def test_zones_see_only_the_person_inside() -> None:
    kitchen = Zone(name="kitchen", box_m=(-3.0, -1.0, 1.0, 4.0))
    sofa = Zone(name="sofa", polygon_m=[(1.0, 3.0), (3.0, 3.0), (3.0, 5.0), (1.5, 5.5)])
    s = settings(zones=[kitchen, sofa])
    p = Person(path=[(0, -2.8, 1.2), (3, -2.0, 2.0), (8, -2.0, 2.0), (12, 2.0, 4.0)])
    engine = EventEngine("living", s)
    events = []
    for f in scene_frames([p], 30.0, seed=3):
        events += engine.update_points(f)
        if abs(f.timestamp - T0 - 6.0) < 1e-6:
            zones = engine.state()["zones"]
            assert zones["kitchen"] == {"occupied": True, "count": 1}
            assert zones["sofa"] == {"occupied": False, "count": 0}
    assert [e.value for e in of(events, "occupancy")] == [True]
    k = of(events, "occupancy", "kitchen")
    so = of(events, "occupancy", "sofa")
    assert [e.value for e in k] == [True, False]
    assert [e.value for e in so] == [True]
    assert k[0].time - T0 < 1.0
    assert 9.0 < so[0].time - T0 < 12.0  # when the walker crosses into the polygon
    # the walker leaves the kitchen box (x > -1) at t = 9 s: off hold_s later
    assert abs(k[1].time - T0 - (9.0 + s.occupancy.hold_s)) < 0.5
    assert engine.state()["zones"]["sofa"]["occupied"] is True


# ---------------------------------------------------------------------------- count
def test_two_people_give_a_count_of_two_then_one() -> None:
    a = Person(path=[(0, -2.0, 2.0), (12, 2.0, 3.0), (25, -2.5, 1.0)], present=(0.0, 25.0))
    b = Person(path=[(5, 2.0, 5.5), (18, -2.0, 5.0)], present=(5.0, 18.0))
    engine = EventEngine("living", settings())
    events = run(engine, scene_frames([a, b], 32.0, seed=4))
    counts = of(events, "count")
    assert [e.value for e in counts] == [1, 2, 1, 0]
    t = [e.time - T0 for e in counts]
    assert t[0] < 3.5 and 5.0 < t[1] < 9.0 and 18.0 < t[2] < 23.0 and 25.0 < t[3] < 30.0
    assert engine.state()["count"] == 0


# ---------------------------------------------------------------------------- falls
def walker_then(heights: list[tuple[float, float]], *, present: float = 40.0) -> Person:
    """Walks in to (0, 3) by t = 3 s, then stays there with the given height script."""
    return Person(
        path=[(0, -2.0, 2.5), (3, 0.0, 3.0)],
        heights=[(0, 1.7), *heights],
        present=(0.0, present),
    )


def test_scripted_fall_raises_exactly_one_fall_and_one_reset() -> None:
    s = settings()
    # stands, falls at t = 6 s within 0.7 s, lies still 10 s, gets up over 2 s
    p = walker_then([(6.0, 1.7), (6.7, 0.35), (16.0, 0.35), (18.0, 1.7)])
    engine = EventEngine("bedroom", s)
    events = run(engine, scene_frames([p], 25.0, seed=5))
    falls = of(events, "fall")
    assert [e.value for e in falls] == [True, False]
    fall, reset = falls
    assert 6.7 + s.falls.confirm_s <= fall.time - T0 <= 6.7 + s.falls.confirm_s + 1.0
    assert np.hypot(fall.attributes["position"][0], fall.attributes["position"][1] - 3.0) < 0.4
    assert fall.attributes["track_id"] == engine.state()["tracks"][0]["id"]
    assert fall.confidence >= 0.7
    assert 17.0 + s.falls.recover_s <= reset.time - T0 <= 18.0 + s.falls.recover_s + 0.5
    assert engine.state()["fall"]["active"] is False
    assert engine.state()["fall"]["last"]["track_id"] == fall.attributes["track_id"]


@pytest.mark.parametrize(
    "heights",
    [
        [(6.0, 1.7), (7.2, 1.1), (20.0, 1.1), (21.5, 1.7)],  # sits down on a chair and gets up
        [(6.0, 1.7), (6.5, 1.0), (20.0, 1.0)],  # drops into an armchair
        [(6.0, 1.7), (6.7, 0.35), (8.0, 0.35), (9.5, 1.7)],  # stumbles, up again within confirm_s
        [(6.0, 1.7), (9.0, 0.35), (20.0, 0.35)],  # lies down slowly on the floor (3 s)
    ],
    ids=["sit", "plop", "stumble", "lie-down"],
)
def test_no_fall_without_a_fast_drop_and_stillness(heights: list[tuple[float, float]]) -> None:
    engine = EventEngine("bedroom", settings())
    events = run(engine, scene_frames([walker_then(heights)], 25.0, seed=6))
    assert not of(events, "fall")
    assert engine.state()["count"] == 1


def test_fall_stays_while_the_fallen_track_is_lost() -> None:
    s = settings()
    # falls and then gives no points at all (clutter removal ate them): the alarm stays
    p = walker_then([(6.0, 1.7), (6.7, 0.35)], present=12.0)
    engine = EventEngine("bedroom", s)
    falls = of(run(engine, scene_frames([p], 40.0, seed=7)), "fall")
    assert [e.value for e in falls] == [True]
    assert engine.state()["fall"]["active"] is True
    assert engine.state()["count"] == 0


# ---------------------------------------------------------------------------- vitals
def vitals_chirp() -> ChirpConfig:
    """A cheap chirp: 1 TX x 4 RX, 16 loops x 64 samples, 10 frames/s (7.8 cm range bins)."""
    return vector_cfg(
        ramp_end_time_s=40e-6, num_samples=64, sample_rate_hz=2e6, tx_mask=0b001,
        chirp_tx_masks=(1,), num_loops=16, frame_period_s=0.1,
    )  # fmt: skip


def test_still_person_breathing_rate_from_raw_adc() -> None:
    cfg = vitals_chirp()
    breathing, heart = BREATHING_PER_MIN, HEART_PER_MIN

    # an ideal point target gives one detection per frame: let one point start a track
    tracking = TrackingSettings(cluster_min_points=1, birth_min_points=1, birth_min_moving_points=0)
    s = settings(
        mounting=Mounting(height_m=1.0, tilt_deg=0.0),
        tracking=tracking,
        vitals=VitalsSettings(min_window_s=20.0, window_s=30.0),
    )
    engine = EventEngine("bedroom", s, radar_config_of(cfg))
    assert engine.state()["vitals"]["quality"] == "unavailable"
    plan = make_plan(radar_config_of(cfg))
    rng = np.random.default_rng(8)
    target = PointTarget(1.2, azimuth_deg=10.0, amplitude=100.0, displacement=chest)
    events: list[Event] = []
    n = int(26.0 / cfg.frame_period_s)
    for i in range(n):
        data = synthesize_frame(cfg, [target], frame_index=i, noise_std=1.0, rng=rng)
        frame = RawFrame(data=data, frame_number=i, timestamp=T0 + i * cfg.frame_period_s)
        events += engine.update_raw(frame, process_frame(data, plan))
    vitals = of(events, "vitals")
    assert vitals, "no vitals event"
    first = vitals[0]
    assert first.time - T0 >= 20.0  # the minimum window
    for e in vitals:
        assert abs(e.value["breathing_per_min"] - breathing) <= 1.0
        assert e.value["quality"] == "good" and e.confidence > 0.6
        # the chest bin is the echo's leading edge: inside the Hann main lobe (+-2 bins), in front
        assert -2 * cfg.range_bin_m <= e.attributes["range_m"] - 1.2 <= 0.5 * cfg.range_bin_m
    st = engine.state()["vitals"]
    assert abs(st["breathing_per_min"] - breathing) <= 1.0
    if st["heart_per_min"] is not None:
        assert abs(st["heart_per_min"] - heart) <= 3.0
    json.dumps(engine.state())


def test_point_cloud_source_has_no_vitals() -> None:
    p = Person(path=[(0, -2.0, 2.5), (3, 0.0, 3.0)])
    engine = EventEngine("hall", settings())
    events = run(engine, scene_frames([p], 30.0, seed=9))
    assert not of(events, "vitals")
    st = engine.state()["vitals"]
    assert st["quality"] == "unavailable" and st["breathing_per_min"] is None


# ---------------------------------------------------------------------------- state, tracks, refresh
def test_state_tracks_events_and_refresh() -> None:
    s = settings(tracks_period_s=1.0, refresh_s=5.0)
    p = Person(path=[(0, -2.0, 2.5), (6, 2.0, 3.0)], present=(0.0, 6.0))
    engine = EventEngine("hall", s)
    events = run(engine, scene_frames([p], 12.0, seed=10))
    tracks = of(events, "tracks")
    assert 6 <= len(tracks) <= 10 and tracks[-1].value == []
    assert all(len(e.value) == 1 for e in tracks[:-1])
    assert tracks[0].value[0]["state"] == "confirmed"
    refresh = [e for e in events if e.attributes.get("refresh")]
    assert {e.type for e in refresh} == {"occupancy", "count"}
    assert len(of(refresh, "occupancy")) == 2  # at t = 5 s and t = 10 s
    st = engine.state()
    doc = json.loads(json.dumps(st))
    assert doc["radar"] == "hall" and doc["frames"] == 121 and doc["tracks"] == []
    for e in events:
        assert Event.from_dict(json.loads(e.to_json())) == e


def test_settings_reject_unknown_keys_and_bad_zones() -> None:
    with pytest.raises(ValidationError, match="extra"):
        EventSettings.model_validate({"mounting": {"height_m": 2.0, "tilt": 10}})
    with pytest.raises(ValidationError, match="exactly one of box_m and polygon_m"):
        Zone(name="a")
    with pytest.raises(ValidationError, match="repeated: a"):
        EventSettings(
            zones=[Zone(name="a", box_m=(0, 1, 0, 1)), Zone(name="a", box_m=(0, 1, 0, 1))]
        )
    with pytest.raises(ValidationError, match="on_frames"):
        OccupancySettings(on_frames=6, window_frames=5)
    for name, field in EventSettings.model_fields.items():
        assert field.description, name
    ok = EventSettings.model_validate(
        {"zones": [{"name": "bed", "polygon_m": [[0, 0], [1, 0], [1, 2]]}], "refresh_s": 60}
    )
    assert ok.zones[0].polygon_m == [(0, 0), (1, 0), (1, 2)]


def test_micro_motion_finds_a_breathing_chest_beside_a_stronger_static_reflector() -> None:
    """A chest breathing 4 mm at 2.0 m and +15 deg stands out of the slow-time residual by tens of dB
    beside a 10x stronger static reflector (a sofa) at 2.2 m and -20 deg; the sofa alone leaves only
    noise (the map's median level, 0 dB, and its fluctuation)."""
    from runtime.dsp.angle import array_geometry
    from runtime.dsp.micro_motion import micro_motion_map, motion_snr_db
    from runtime.events.vitals import ChestBuffer

    cfg = vitals_chirp()
    geom = array_geometry(radar_config_of(cfg), 64)
    chest = PointTarget(
        2.0,
        azimuth_deg=15.0,
        amplitude=10.0,
        displacement=lambda t: 0.004 * np.sin(2 * np.pi * 0.25 * t),
    )
    sofa = PointTarget(2.2, azimuth_deg=-20.0, amplitude=100.0)

    def snr_map(targets: list[PointTarget]) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(11)
        buf = ChestBuffer(radar_config_of(cfg), 4.0, 2.0)
        for i in range(20):
            data = synthesize_frame(cfg, targets, frame_index=i, noise_std=1.0, rng=rng)
            buf.push(RawFrame(data=data, frame_number=i, timestamp=T0 + i * cfg.frame_period_s))
        return motion_snr_db(micro_motion_map(buf.latest(2.0), geom)), buf.range_axis_m

    snr, axis = snr_map([chest, sofa])  # [bins, grid] [dB]
    b, g = np.unravel_index(int(np.argmax(snr)), snr.shape)
    assert abs(axis[b] - 2.0) <= cfg.range_bin_m
    assert abs(np.rad2deg(np.arcsin(geom.grid_u[g])) - 15.0) < 6.0
    assert snr[b, g] > 25.0
    alone, _ = snr_map([sofa])
    assert alone.max() < 8.0
