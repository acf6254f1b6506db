"""The encoder stage: real ONNX Runtime encoder on RadHAR replays through the real pipeline,
activity events with hysteresis, the embedding log (SQLite + faiss) and `mmfm search`."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import require_shared
from test_app import Recorder, load
from test_app_lifecycle import long_capture, replay_config, run_in_thread

from mmfm.cli import main as mmfm_main
from runtime.app import App, AppStartError
from runtime.comms.homeassistant import Discovery
from runtime.comms.settings import RadarInfo
from runtime.comms.topics import MqttTopics
from runtime.embeddinglog import EmbeddingLog
from runtime.inference.encoder import PointEncoder
from runtime.inference.stage import ActivityTracker, query_vector
from runtime.models import ModelError, load_model

LABELS = ["walking", "sitting", "falling"]
RADHAR_RADAR = "    board: IWR1443BOOST\n    chirp_config: iwr1443boost_radhar\n"


def probs(best: int, p: float) -> np.ndarray:
    out = np.full(3, (1 - p) / 2)
    out[best] = p
    return out


# ---------------------------------------------------------------------------- hysteresis
def test_tracker_publishes_a_label_only_after_it_held_for_the_minimum_duration() -> None:
    tr = ActivityTracker(LABELS, min_confidence=0.5, margin=0.1, min_duration_s=1.0)
    assert tr.update(0.0, probs(0, 0.8)) is None
    assert tr.update(0.5, probs(0, 0.9)) is None
    label, conf, since = tr.update(1.0, probs(0, 0.7))
    assert (label, since) == ("walking", 0.0)
    assert conf == pytest.approx(0.8)
    assert tr.update(1.5, probs(0, 0.9)) is None  # no repeat while it stays


def test_tracker_ignores_blips_low_confidence_and_small_margins() -> None:
    tr = ActivityTracker(LABELS, min_confidence=0.5, margin=0.2, min_duration_s=1.0)
    for t in np.arange(0, 2.01, 0.5):
        tr.update(float(t), probs(0, 0.8))
    assert tr.current == 0
    # alternating one-window blips never last 1 s: no flapping
    seq = [tr.update(2.5 + 0.5 * i, probs(1 if i % 2 else 0, 0.8)) for i in range(10)]
    assert seq == [None] * 10 and tr.current == 0
    # sitting most likely but below min_confidence: stays walking
    assert all(tr.update(8.0 + 0.5 * i, probs(1, 0.45)) is None for i in range(6))
    # sitting above min_confidence but within the margin of walking: stays walking
    close = np.array([0.42, 0.58, 0.0])
    assert all(tr.update(12.0 + 0.5 * i, close) is None for i in range(6))
    # a clear, lasting change is published once
    changes = [tr.update(20.0 + 0.5 * i, probs(1, 0.9)) for i in range(4)]
    assert [c[0] for c in changes if c] == ["sitting"]


# ---------------------------------------------------------------------------- embedding log
def test_search_returns_the_inserted_moment_first(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    now = time.time()
    log = EmbeddingLog(tmp_path / "events.db")
    noise = rng.normal(size=(500, 256)).astype(np.float32)
    log.extend((now - 3600 + i, "den", None, v, "walking", 0.5) for i, v in enumerate(noise))
    target = rng.normal(size=256).astype(np.float32)
    log.extend([(now - 60, "hall", 3, target, "falling", 0.9)])
    log.extend([(now - 3 * 86400, "hall", 3, target, "falling", 0.9)])  # too old for --since
    query = target + 0.3 * rng.normal(size=256).astype(np.float32)
    hits = log.search(query, k=3, since=now - 86400)
    assert len(hits) == 3
    assert (hits[0].time, hits[0].radar, hits[0].track) == (now - 60, "hall", 3)
    assert hits[0].score > 0.9 > hits[1].score
    assert log.search(query, k=3, since=now - 86400, radar="den")[0].radar == "den"
    with pytest.raises(ValueError, match="dimensions"):
        log.search(np.ones(8), since=now - 86400)
    log.close()


def test_embedding_retention_prunes_old_rows(tmp_path: Path) -> None:
    now = time.time()
    log = EmbeddingLog(tmp_path / "e.db", retention_days=1.0, max_rows=3)
    v = np.ones(4, np.float32)
    log.extend(
        [(now - 2 * 86400, "a", None, v, None, None)]
        + [(now - i, "a", None, v, None, None) for i in range(5)]
    )
    assert log.prune() == 3
    assert len(log) == 3
    log.close()


# ---------------------------------------------------------------------------- config errors
def test_an_unknown_label_set_or_free_labels_without_a_text_tower_name_the_key(
    tmp_path: Path,
) -> None:
    walk = tmp_path / "x.txt"
    walk.write_text("")
    for labels in ("nope", "[cooking, vacuuming]"):
        extra = f"activities: {{enabled: true, labels: {labels}}}\n"
        cfg = load(replay_config(walk, extra=extra, radar=RADHAR_RADAR))
        with pytest.raises(AppStartError, match=r"^activities.labels: "):
            App(cfg, communicators=[Recorder()]).start()


def test_free_text_search_without_a_text_tower_says_so_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    model = load_model()
    assert not model.has_text_encoder
    np.testing.assert_allclose(
        query_vector(model, "Someone is  falling"),
        model.prototypes("home")[model.label_sets["home"].index("falling")],
    )
    with pytest.raises(ModelError, match="text tower"):
        query_vector(model, "someone lying on the floor")
    assert mmfm_main(["search", "someone lying on the floor", "--db", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "text tower" in err


def test_home_assistant_activity_sensor_lists_the_labels_as_options() -> None:
    ha = Discovery(MqttTopics("mmfm"), "homeassistant", "test")

    def activity(radar: RadarInfo) -> dict[str, Any]:
        (payload,) = [p for t, p in ha.radar_messages(radar) if t.endswith("den_activity/config")]
        return payload

    on = activity(RadarInfo("den", activity_labels=("walking", "sitting")))
    assert on["device_class"] == "enum" and on["options"] == ["walking", "sitting", "none"]
    assert on["state_topic"] == "mmfm/den/activity"
    assert "options" not in activity(RadarInfo("den"))


# ---------------------------------------------------------------------------- real pipeline
def _walk() -> Path:
    return require_shared("realdata", "radhar-fewshot", "walk", "__20_walk_1.txt")


def _config(path: Path, db: Path, activities: str) -> str:
    text = replay_config(path, radar=RADHAR_RADAR)
    return text.replace(
        "event_log: {enabled: false}\n",
        f"event_log: {{path: {db}}}\nactivities: {{enabled: true, {activities}}}\n",
    )


def test_radhar_replay_through_the_pipeline_gives_activity_events_and_searchable_embeddings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "events.db"
    cfg = load(_config(_walk(), db, "labels: radhar, queue: 100, min_duration_s: 1.0"))
    rec = Recorder()
    app = App(cfg, communicators=[rec])
    thread, result = run_in_thread(app)
    stage = app.encoder_stage
    thread.join(180)
    assert result == {"code": 0}
    s = stage.stats()
    assert s["dropped"] == 0 and s["errors"] == 0
    assert s["embedded"] >= 30  # 20 s of walking, a 2 s window every 0.5 s
    activities = [e for e in rec.events if e.type == "activity"]
    assert activities, s
    assert all(e.value in load_model().label_sets["radhar"] for e in activities)
    assert all(0 < e.confidence <= 1 for e in activities)
    # no flapping: every published label held for min_duration_s first
    assert all(e.time - e.attributes["since"] >= 1.0 for e in activities)
    assert {"occupancy", "count"} <= {e.type for e in rec.events}
    log = EmbeddingLog(db)
    assert len(log) == s["embedded"]
    log.close()
    # mmfm search over the daemon's database finds walking moments
    assert mmfm_main(["search", "walking", "--since", "7d", "--db", str(db), "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 10
    assert hits == sorted(hits, key=lambda h: -h["score"])
    assert hits[0]["radar"] == "den"


class SlowEncoder(PointEncoder):
    """The real encoder, stalled (a hub whose CPU is busy elsewhere): every window waits until
    ``release`` is set. The test releases it once the pipeline has processed every frame, so the
    stall covers the whole capture whatever the machine's speed."""

    release = threading.Event()

    def embed(self, points: np.ndarray, mask: np.ndarray) -> np.ndarray:
        self.release.wait(60)
        return super().embed(points, mask)


def test_a_slow_encoder_drops_windows_while_occupancy_events_keep_flowing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("runtime.inference.encoder.PointEncoder", SlowEncoder)
    monkeypatch.setattr(SlowEncoder, "release", threading.Event())
    cfg = load(_config(_walk(), tmp_path / "events.db", "labels: radhar, queue: 1"))
    rec = Recorder()
    app = App(cfg, communicators=[rec])
    thread, result = run_in_thread(app)
    pipe, stage = app.pipelines["den"], app.encoder_stage
    assert isinstance(stage.encoder, SlowEncoder)
    deadline = time.monotonic() + 120
    while pipe.stats()["frames_processed"] < 600 and thread.is_alive():
        assert time.monotonic() < deadline, pipe.stats()
        time.sleep(0.05)
    SlowEncoder.release.set()
    thread.join(120)
    assert result == {"code": 0}
    p, s = pipe.stats(), stage.stats()
    assert p["frames"] == p["frames_processed"] == 600  # every frame reached the event engine
    assert p["dropped"] == {"capture_queue": 0, "detections_queue": 0}
    assert s["dropped"] > 0, s  # the encoder could not keep up: windows dropped, counted
    assert s["embedded"] + s["dropped"] + s["skipped_sparse"] <= s["windows"]
    assert s["embedded"] < s["windows"]
    occupancy = [e for e in rec.events if e.type == "occupancy"]
    assert occupancy and occupancy[0].value is True


def test_raw_adc_sources_feed_the_encoder_with_the_dsp_points(tmp_path: Path) -> None:
    text = replay_config(long_capture(tmp_path, copies=40)).replace(
        "event_log: {enabled: false}\n",
        f"event_log: {{path: {tmp_path / 'e.db'}}}\n"
        "activities: {enabled: true, labels: home, queue: 100, min_points: 1, per: radar}\n",
    )
    app = App(load(text), communicators=[Recorder()])
    thread, result = run_in_thread(app)
    pipe, stage = app.pipelines["den"], app.encoder_stage
    thread.join(120)
    assert result == {"code": 0}
    assert pipe.stats()["errors"]["frame_hook"] == 0
    s = stage.stats()
    assert s["windows"] > 0 and s["embedded"] == s["windows"] and s["errors"] == 0, s
