"""Activity events per track and per zone: the points of each track, the radar's and the zones'
boards, the encoder stage with two people doing different things, Home Assistant's activity sensor
per zone, and the events on a real Mosquitto."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from broker import MosquittoBroker, Subscriber, have_mosquitto

from runtime.comms.homeassistant import Discovery
from runtime.comms.mqtt import MqttCommunicator
from runtime.comms.settings import MqttSettings, RadarInfo
from runtime.comms.topics import MqttTopics
from runtime.config import ConfigError, parse_config
from runtime.embeddinglog import EmbeddingLog
from runtime.events import NO_ACTIVITY, Event
from runtime.events.settings import Mounting, Zone
from runtime.frames import POINT_DTYPE, PointCloudFrame
from runtime.inference.encoder import PointEncoder
from runtime.inference.stage import ActivityBoard, EncoderStage, resolve_labels
from runtime.inference.tracks import cut_tracks, zone_of
from runtime.models import ModelError, load_model
from runtime.tracking import Track

FLAT = Mounting(height_m=1.0, tilt_deg=0.0)  # floor (x, y) = radar (x, y)
SOFA = Zone(name="sofa", box_m=(-3.0, -1.0, 1.0, 4.0))
DESK = Zone(name="desk", box_m=(1.0, 3.0, 1.0, 4.0))


def track(tid: int, x: float, y: float, *, state: str = "confirmed", **kw: Any) -> Track:
    return Track(
        id=tid,
        position=(x, y, 1.0),
        velocity=(0.0, 0.0, 0.0),
        height_m=1.7,
        points=kw.pop("points", np.zeros((3, 4))),
        age_s=2.0,
        hits=20,
        state=state,  # type: ignore[arg-type]
        last_seen=0.0,
        range_m=float(np.hypot(x, y)),
        **kw,
    )


def cloud(xyv: Sequence[tuple[float, float, float]]) -> np.ndarray:
    pts = np.zeros(len(xyv), POINT_DTYPE)
    for i, (x, y, v) in enumerate(xyv):
        pts[i] = (x, y, 0.0, v, 15.0, 0.0)
    return pts


# ---------------------------------------------------------------------------- cut_tracks
def test_each_point_goes_to_the_nearest_track_within_the_radius() -> None:
    pts = cloud(
        [
            (-2.0, 2.0, 0.1),  # track 1 (on the sofa)
            (-2.3, 2.2, 0.0),  # track 1
            (2.0, 2.5, 1.0),  # track 2 (at the desk)
            (0.0, 2.2, 0.5),  # 2 m from both: nobody's
            (-1.5, 2.0, 0.2),  # 0.5 m from track 1, 3.5 m from track 2
            (2.0, 2.5, 9.0),  # next to the tentative track 3, but also 0 m from track 2
        ]
    )
    tracks = [track(2, 2.0, 2.5), track(1, -2.0, 2.0), track(3, 2.1, 2.5, state="tentative")]
    cuts = cut_tracks(pts, tracks, FLAT, [SOFA, DESK], radius_m=0.8)
    assert [c.track for c in cuts] == [1, 2]  # confirmed only, by id
    one, two = cuts
    assert one.zone == "sofa" and two.zone == "desk"
    assert sorted(one.points["v"].round(2)) == [0.0, 0.1, 0.2]
    assert sorted(two.points["v"].round(2)) == [1.0, 9.0]
    assert one.points.dtype == POINT_DTYPE  # radar-frame points, every channel kept
    assert cut_tracks(pts, [track(4, 0.0, 0.5)], FLAT, [], radius_m=0.8)[0].points.size == 0


def test_tilted_radars_cut_by_floor_distance_and_still_tracks_get_empty_cuts() -> None:
    tilted = Mounting(height_m=2.0, tilt_deg=30.0)
    # a point 3 m out at 0.2 m height (a foot), seen from a radar 2 m up tilted 30 degrees down
    tilt = np.deg2rad(30.0)
    floor_y, floor_z = 3.0, 0.2
    y_r = floor_y * np.cos(tilt) - (floor_z - 2.0) * np.sin(tilt)
    z_r = floor_y * np.sin(tilt) + (floor_z - 2.0) * np.cos(tilt)
    pts = np.zeros(1, POINT_DTYPE)
    pts[0] = (0.0, y_r, z_r, 0.0, 10.0, 0.0)
    assert (
        abs(y_r - 3.0) > 0.3
    )  # in the radar frame it is beyond the radius: the floor frame counts
    held = track(7, 0.0, 3.0, points=np.zeros((0, 4)), held=True)
    (cut,) = cut_tracks(pts, [held], tilted, [], radius_m=0.3)
    assert cut.points.size == 1
    (cut,) = cut_tracks(np.zeros(0, POINT_DTYPE), [held], tilted, [], radius_m=0.3)
    assert cut.points.size == 0 and cut.track == 7  # a still person keeps a (empty) cut
    with pytest.raises(ValueError, match="radius_m"):
        cut_tracks(pts, [held], tilted, [], radius_m=0.0)


def test_the_first_zone_in_configuration_order_wins() -> None:
    wide = Zone(name="room", polygon_m=[(-5.0, 0.0), (5.0, 0.0), (5.0, 6.0), (-5.0, 6.0)])
    assert zone_of([SOFA, wide], (-2.0, 2.0)) == "sofa"
    assert zone_of([wide, SOFA], (-2.0, 2.0)) == "room"
    assert zone_of([SOFA, DESK], (0.0, 2.0)) is None


# ---------------------------------------------------------------------------- the board
def test_board_publishes_track_changes_for_the_radar_and_their_zones() -> None:
    board = ActivityBoard("den", 3)
    assert board.update(1.0, 1, "sofa", None) == []  # no activity yet: nothing to show
    (radar,) = [e for e in board.update(2.0, 1, None, ("walking", 0.8, 1.0))]
    assert (radar.value, radar.attributes["track_id"], radar.attributes["track_zone"]) == (
        "walking",
        1,
        None,
    )
    assert "zone" not in radar.attributes  # the radar's topic, not a zone's
    # walking into the sofa zone: the zone shows walking (no new radar event)
    (zone,) = board.update(2.5, 1, "sofa", None)
    assert (zone.value, zone.attributes["zone"], zone.attributes["track_id"]) == (
        "walking",
        "sofa",
        1,
    )
    # sitting down there: one radar event and one zone event
    evs = board.update(4.0, 1, "sofa", ("sitting", 0.7, 3.0))
    assert [(e.value, e.attributes.get("zone")) for e in evs] == [
        ("sitting", None),
        ("sitting", "sofa"),
    ]
    assert all(e.type == "activity" and e.radar == "den" for e in evs)
    # a second person walks at the desk; the sofa keeps sitting
    evs = board.update(5.0, 2, "desk", ("walking", 0.9, 4.0))
    assert [(e.value, e.attributes.get("zone")) for e in evs] == [
        ("walking", None),
        ("walking", "desk"),
    ]
    # the desk walker leaves the view: the desk shows none, the radar falls back to the sitter
    evs = board.end(6.0, 2)
    assert [(e.value, e.attributes.get("zone"), e.attributes.get("track_id")) for e in evs] == [
        ("sitting", None, 1),
        (NO_ACTIVITY, "desk", None),
    ]
    assert evs[0].attributes["ended_track"] == 2
    # the sitter leaves the sofa zone, then the view
    assert [(e.value, e.attributes.get("zone")) for e in board.update(7.0, 1, None, None)] == [
        (NO_ACTIVITY, "sofa")
    ]
    assert [e.value for e in board.end(8.0, 1)] == [NO_ACTIVITY]
    assert board.end(9.0, 1) == [] and board.tracks == {}


def test_board_ending_a_track_whose_label_the_radar_no_longer_shows_changes_nothing() -> None:
    board = ActivityBoard("den", 3)
    board.update(1.0, 1, None, ("walking", 0.8, 0.0))
    board.update(2.0, 2, None, ("sitting", 0.8, 1.0))  # the radar shows sitting (latest)
    assert board.end(3.0, 1) == []  # walking was not shown
    (ev,) = board.end(4.0, 2)
    assert ev.value == NO_ACTIVITY and ev.confidence == 1.0


# ---------------------------------------------------------------------------- the stage
class MotionEncoder(PointEncoder):
    """The shipped encoder's model, embedding a window as the prototype of ``walking`` when its
    points move (mean |v| > 0.3 m/s) and of ``sitting`` when they do not: a deterministic window ->
    label map, so the tests check which points reach which track's window."""

    def __init__(self, walking: np.ndarray, sitting: np.ndarray) -> None:
        super().__init__(load_model())
        self.walking, self.sitting = walking, sitting
        self.seen: list[set[float]] = []  # the distinct speeds of each window's points

    def embed(self, points: np.ndarray, mask: np.ndarray) -> np.ndarray:
        speeds = np.abs(points[..., 3])[mask > 0]
        self.seen.append({round(float(v), 2) for v in speeds})
        return (self.walking if speeds.mean() > 0.3 else self.sitting)[None].astype(np.float32)


def motion_stage(
    events: list[tuple[str, Event]], log: EmbeddingLog | None = None, **kw: Any
) -> EncoderStage:
    model = load_model()
    labels, protos = resolve_labels(model, "home")
    enc = MotionEncoder(protos[labels.index("walking")], protos[labels.index("sitting")])
    return EncoderStage(
        enc,
        labels,
        protos,
        lambda radar, evs: events.extend((radar, e) for e in evs),
        embedding_log=log,
        queue_size=1000,
        min_points=4,
        tracker={"min_confidence": 0.3, "margin": 0.1, "min_duration_s": 1.0},
        **kw,
    )


def feed_two_people(stage: EncoderStage, seconds: float, rng: np.random.Generator) -> None:
    """10 frames/s: track 1 sits on the sofa (slow points), track 2 walks at the desk (fast)."""
    tracks = [track(1, -2.0, 2.0), track(2, 2.0, 2.5)]
    for k in range(round(seconds * 10)):
        sitter = [(-2.0 + rng.normal(0, 0.1), 2.0 + rng.normal(0, 0.1), 0.05) for _ in range(4)]
        walker = [(2.0 + rng.normal(0, 0.1), 2.5 + rng.normal(0, 0.1), 1.2) for _ in range(6)]
        pts = cloud(sitter + walker)
        cuts = cut_tracks(pts, tracks, FLAT, [SOFA, DESK], radius_m=0.8)
        stage.submit("den", PointCloudFrame(pts, k, 100.0 + k / 10), cuts)


def wait_idle(stage: EncoderStage, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not stage.idle():
        assert time.monotonic() < deadline, stage.stats()
        time.sleep(0.01)


def test_two_people_doing_different_things_get_their_own_labels_and_zones(
    tmp_path: Path,
) -> None:
    events: list[tuple[str, Event]] = []
    log = EmbeddingLog(tmp_path / "e.db")
    stage = motion_stage(events, log)
    stage.start()
    try:
        feed_two_people(stage, 6.0, np.random.default_rng(0))
        wait_idle(stage)
        # track 2 leaves the view: its buffer, tracker and zone go
        stage.submit("den", PointCloudFrame(cloud([]), 60, 106.0), [])
        wait_idle(stage)
    finally:
        stage.stop()
    s = stage.stats()
    assert s["errors"] == 0 and s["dropped"] == 0 and s["tracks_ended"] == 2, s
    assert s["tracks"] == 0
    by_track = {
        e.attributes["track_id"]: e.value
        for _, e in events
        if "zone" not in e.attributes and "ended_track" not in e.attributes
    }
    assert by_track == {1: "sitting", 2: "walking"}
    zones = [(e.attributes["zone"], e.value) for _, e in events if "zone" in e.attributes]
    assert ("sofa", "sitting") in zones and ("desk", "walking") in zones
    assert zones[-2:] == [("sofa", NO_ACTIVITY), ("desk", NO_ACTIVITY)] or zones[-2:] == [
        ("desk", NO_ACTIVITY),
        ("sofa", NO_ACTIVITY),
    ]
    assert all(radar == "den" for radar, _ in events)
    # every window holds one track's points only: the sitter's (0.05 m/s) or the walker's
    seen = stage.encoder.seen  # type: ignore[attr-defined]
    assert seen and all(s in ({0.05}, {1.2}) for s in seen), seen
    # the embedding log has both tracks with their zones
    model = load_model()
    walking = model.prototypes("home")[model.label_sets["home"].index("walking")]
    hits = log.search(walking, k=200, since=0)
    assert {(h.track, h.zone, h.label) for h in hits} == {
        (1, "sofa", "sitting"),
        (2, "desk", "walking"),
    }
    assert hits[0].track == 2 and hits[0].score > 0.99
    log.close()


def test_per_radar_windows_mix_everyone_into_one_label() -> None:
    events: list[tuple[str, Event]] = []
    stage = motion_stage(events)
    stage.start()
    try:
        rng = np.random.default_rng(1)
        for k in range(60):
            pts = cloud([(rng.normal(0, 1), 2.0, 0.05) for _ in range(4)] + [(2.0, 2.5, 1.2)] * 6)
            stage.submit("den", PointCloudFrame(pts, k, 100.0 + k / 10))  # no cuts
        wait_idle(stage)
    finally:
        stage.stop()
    assert [(e.value, e.attributes.get("track_id")) for _, e in events] == [("walking", None)]
    assert stage.activities("den") == {None: ("walking", None)}


def test_none_is_not_an_activity_label() -> None:
    with pytest.raises(ModelError, match=r"^activities.labels: 'none'"):
        resolve_labels(load_model(), ["walking", NO_ACTIVITY])


def test_prompt_templates_are_checked_and_need_a_text_tower_beyond_the_cards() -> None:
    model = load_model()
    assert not model.has_text_encoder
    _, protos = resolve_labels(model, "home")  # the card's templates: shipped prototypes
    np.testing.assert_array_equal(protos, model.prototypes("home"))
    with pytest.raises(ModelError, match=r"^activities.prompt_templates: .*text tower"):
        resolve_labels(model, "home", ["a radar sees someone {}"])
    base = (
        "radars: {den: {chirp_config: iwr1843boost_presence, source: {type: serial, "
        "cli_port: /dev/null, data_port: /dev/null}}}\n"
        "activities: {enabled: true, prompt_templates: %s}\n"
    )
    assert parse_config(base % '["someone is {}"]', env={}).activities.prompt_templates == [
        "someone is {}"
    ]
    for bad in ('["someone"]', '["{} and {}"]', "[]", '["a {label}"]'):
        with pytest.raises(ConfigError, match="prompt_templates"):
            parse_config(base % bad, env={})


# ---------------------------------------------------------------------------- Home Assistant
def test_home_assistant_gets_an_activity_sensor_per_radar_and_per_zone() -> None:
    ha = Discovery(MqttTopics("mmfm"), "homeassistant", "test")
    labels = ("walking", "sitting")
    radar = RadarInfo("den", zones=("sofa", "front door"), activity_labels=labels)
    configs = {t.split("/")[-2]: p for t, p in ha.radar_messages(radar)}
    for key, topic in (
        ("den_activity", "mmfm/den/activity"),
        ("den_activity_sofa", "mmfm/den/activity/sofa"),
        ("den_activity_front_door", "mmfm/den/activity/front_door"),
    ):
        c = configs[key]
        assert c["state_topic"] == topic
        assert c["device_class"] == "enum"
        assert c["options"] == ["walking", "sitting", NO_ACTIVITY]
    assert configs["den_activity_sofa"]["name"] == "sofa activity"
    # activities off: the radar's text sensor only, no zone activity sensors
    off = {t.split("/")[-2] for t, _ in ha.radar_messages(RadarInfo("den", zones=("sofa",)))}
    assert "den_activity" in off and "den_activity_sofa" not in off


# ---------------------------------------------------------------------------- real Mosquitto
@pytest.mark.skipif(not have_mosquitto(), reason="needs mosquitto")
def test_zone_and_radar_activities_reach_a_real_mosquitto(tmp_path: Path) -> None:
    labels = tuple(load_model().label_sets["home"])
    radars = [RadarInfo("den", zones=("sofa", "desk"), activity_labels=labels)]
    with MosquittoBroker(tmp_path) as broker:
        settings = MqttSettings.model_validate(
            {"port": broker.port, "client_id": "mmfm-act", "stats_interval_s": 0}
        )
        comm = MqttCommunicator(settings, radars)
        comm.start(wait=True, timeout=5)
        comm.set_available("den", True)
        published = threading.Event()

        def on_events(radar: str, evs: list[Event]) -> None:
            for e in evs:
                comm.publish_event(e)
            published.set()

        stage = motion_stage([])
        stage._on_events = on_events  # publish straight to MQTT, as the app's sinks do
        with Subscriber(broker.port, ("mmfm/den/activity/#", "homeassistant/#")) as sub:
            stage.start()
            try:
                feed_two_people(stage, 6.0, np.random.default_rng(2))
                wait_idle(stage)
            finally:
                stage.stop()
            want = {"mmfm/den/activity", "mmfm/den/activity/sofa", "mmfm/den/activity/desk"}
            sub.wait_for(lambda ms: want <= {m.topic for m in ms})
            sofa = [m.json() for m in sub.on("mmfm/den/activity/sofa")]
            desk = [m.json() for m in sub.on("mmfm/den/activity/desk")]
            assert [d["value"] for d in sofa] == ["sitting"]
            assert [d["value"] for d in desk] == ["walking"]
            assert sofa[0]["attributes"]["track_id"] == 1
            radar = [m.json()["value"] for m in sub.on("mmfm/den/activity")]
            assert sorted(radar) == ["sitting", "walking"]
            configs = {
                m.topic: m.json()
                for m in sub.messages
                if m.topic.endswith("_activity_sofa/config") and m.payload
            }
            (config,) = configs.values()
            assert config["options"][-1] == NO_ACTIVITY and "sitting" in config["options"]
        # a late subscriber (Home Assistant after a restart) sees the zones' states retained
        with Subscriber(broker.port, ("mmfm/den/activity/#",)) as late:
            late.wait_for(lambda ms: len(ms) >= 3)
            assert {m.topic for m in late.messages if m.retain} == want
        comm.stop()


def test_a_version_1_embedding_log_gains_the_zone_column_and_keeps_its_rows(
    tmp_path: Path,
) -> None:
    import sqlite3

    db = tmp_path / "old.db"
    conn = sqlite3.connect(db)
    conn.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "INSERT INTO meta VALUES ('embeddings_schema_version', '1');"
        "CREATE TABLE embeddings (id INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL, "
        "radar TEXT NOT NULL, track INTEGER, label TEXT, confidence REAL, dim INTEGER NOT NULL, "
        "vector BLOB NOT NULL);"
    )
    old = np.array([1.0, 0.0], np.float32)
    conn.execute(
        "INSERT INTO embeddings (time, radar, track, label, confidence, dim, vector) "
        "VALUES (?, 'den', 1, 'walking', 0.8, 2, ?)",
        (time.time() - 10.0, old.tobytes()),
    )
    conn.commit()
    conn.close()
    log = EmbeddingLog(db)
    log.extend([(time.time() - 5.0, "den", 2, np.array([0.0, 1.0]), "sitting", 0.5, "sofa")])
    hits = log.search(np.array([1.0, 1.0]), k=5, since=0)
    assert {(h.track, h.zone) for h in hits} == {(1, None), (2, "sofa")}
    assert hits[0].to_dict()["zone"] in (None, "sofa")
    log.close()
    row = (
        sqlite3.connect(db)
        .execute("SELECT value FROM meta WHERE key = 'embeddings_schema_version'")
        .fetchone()
    )
    assert row == ("2",)
