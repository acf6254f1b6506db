"""Learned activities and the embedding search end to end through the fake DCA1000 (issue 14).

The demo's scene (``sim.demo.demo_scenario(0)``, rendered once and cached like ``mmfm demo`` and
``test_e2e_daemon``'s demo run): A walks in through the door to the sofa and sits down, sits still,
stands up, walks to the middle of the room, falls and lies still; later B walks in. The real daemon
(``runtime.app.App``) runs on it with the shipped default CLMP model (int8), activities per track
with a ``sofa`` zone drawn around the seat, and an event log with the embedding log, all in a
temporary SQLite file. Frames carry their scene time (``SceneClockSource``), stamped from the wall
clock at the start, so the log reads as "the last few minutes".

- A's activity events, in order: walking before sitting (the sitting class: ``sitting`` or
  ``sitting down``), and the sofa zone shows the sitting;
- ``mmfm search "someone lying on the floor" --since 24h`` over that database finds the fall's
  moment among the top 3. Free text needs the model's text tower; the shipped model ships
  prototypes only, so the test exports the text tower of the shipped checkpoint once (torch,
  ``mmfm export onnx --text``, cached beside the renders) and searches with ``--model`` on it: the
  same CLMP weights, so its text embeddings live in the space of the daemon's window embeddings.

Slow tier: rendering the scene takes minutes on two cores the first time, and the run streams
75 s of frames at twice real time.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_e2e_daemon import DEMO_SPEED, RENDER_CACHE

from mmfm.cli import main as mmfm_main
from runtime.app import App
from runtime.comms.console import ConsolePublisher
from runtime.config import parse_config
from runtime.events import NO_ACTIVITY, Event
from runtime.fakes.dca1000 import FakeDCA1000, free_udp_port
from runtime.models import load_model, shipped_models_dir
from runtime.pipeline import make_source
from sim.demo import DEMO_PROFILE, cached_render, demo_scenario
from sim.radar.scene_clock import SceneClockSource

pytestmark = pytest.mark.slow

#: Labels that mean A is sitting (the act or the state).
SITTING = {"sitting", "sitting down"}

CONFIG = """
event_log: {{path: {db}}}
logging: {{level: WARNING}}
watchdog: {{stall_timeout_s: 10.0}}
activities: {{enabled: true, labels: home, queue: 64}}
radars:
  room:
    board: IWR1843BOOST
    chirp_config: {profile}
    source: {{type: dca1000, fpga_ip: 127.0.0.1, fpga_config_port: {fpga_port},
              host_ip: 127.0.0.1, host_config_port: 0, data_port: {data_port}}}
    mounting: {{height_m: {height_m}, tilt_deg: {tilt_deg}}}
    queues: {{capture: 16, detections: 64}}
    events:
      tracking: {{cluster_min_points: 2, birth_min_points: 3}}
      tracks_period_s: 0.5
      zones:
        - {{name: sofa, box_m: [{x0}, {x1}, {y0}, {y1}]}}
"""


def floor_xy(radar: Any, world: tuple[float, float]) -> tuple[float, float]:
    """A world floor point -> the daemon's floor frame (x right of the radar, y forward) [m]."""
    yaw = math.radians(radar.yaw_deg)
    dx, dy = world[0] - radar.position[0], world[1] - radar.position[1]
    return (
        dx * math.cos(yaw) + dy * math.sin(yaw),
        -dx * math.sin(yaw) + dy * math.cos(yaw),
    )


def seat_of(sc: Any) -> tuple[float, float]:
    """Where A sits (world x, y): the middle of A's body while sitting still."""
    t = note_time(sc, "sits still") + 2.0
    verts = sc.actors[0].human.mesh_at(t).vertices  # [V, 3] world [m]
    return float(verts[:, 0].mean()), float(verts[:, 1].mean())


@pytest.fixture(scope="module")
def demo_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Any, list[Event], Callable[[float], float], Path, dict[str, Any]]:
    demo = demo_scenario(0)
    sc = demo.scripted
    frames = cached_render(sc)  # shared with `mmfm demo` and test_e2e_daemon
    db = tmp_path_factory.mktemp("activities") / "events.db"
    sx, sy = floor_xy(sc.radar, seat_of(sc))
    fake = FakeDCA1000(frames.frame, frame_period_s=sc.frame_period_s / DEMO_SPEED)
    fake.start()
    port = free_udp_port()
    fake.data_dest = ("127.0.0.1", port)
    text = CONFIG.format(
        db=db,
        profile=DEMO_PROFILE,
        fpga_port=fake.config_port,
        data_port=port,
        x0=round(sx - 1.0, 3),
        x1=round(sx + 1.0, 3),
        y0=round(sy - 1.0, 3),
        y1=round(sy + 1.0, 3),
        **sc.mounting(),
    )
    config = parse_config(text, source="e2e-activities.yaml", env={})
    t0 = time.time()
    factory = make_source("room", config.radars["room"])
    sources = {"room": lambda: SceneClockSource.from_factory(factory, t0, sc.frame_period_s)}
    console = ConsolePublisher()
    app = App(config, communicators=[console], sources=sources)
    app.start()
    try:
        pipe, stage = app.pipelines["room"], app.encoder_stage
        assert stage is not None
        deadline = time.monotonic() + sc.duration_s / DEMO_SPEED + 120.0
        while time.monotonic() < deadline:
            done = fake.wait_done(0.0) and fake.report.frames >= frames.num_frames
            if done and pipe.stats()["frames_processed"] >= 0.98 * frames.num_frames:
                break
            time.sleep(0.1)
        while not stage.idle() and time.monotonic() < deadline:
            time.sleep(0.05)
        stats = {"pipeline": pipe.stats(), "encoder": stage.stats()}
    finally:
        app.stop()
        fake.stop()
    events: list[Event] = []
    while not console.events.empty():
        item = console.events.get_nowait()
        if item[0] == "event":
            events.append(item[1])
    return demo, events, (lambda t: t - t0), db, stats


def note_time(sc: Any, words: str) -> float:
    """When the first truth note with ``words`` in it happens [s into the scene]."""
    return next(n.time_s for n in sc.notes if words in n.text)


@pytest.mark.xfail(
    strict=True,
    reason="since the person's surface roughness went from 0.3 to 0.15 (issue 11's fidelity work, "
    "calibrated on the real recordings' moving points), A's track keeps 'walking' through the 29 s "
    "it sits on the sofa: no seated window moved the label (with activities.min_points 3 too); it "
    "passed on the rougher render (walking at 5.3 s, sitting at 10.3 s). Open: why the seated "
    "windows no longer read as sitting",
)
def test_walk_then_sit_gives_walking_then_sitting_for_that_track_and_its_zone(
    demo_run: tuple[Any, list[Event], Callable[[float], float], Path, dict[str, Any]],
) -> None:
    demo, events, scene_t, _, stats = demo_run
    sc = demo.scripted
    assert stats["encoder"]["errors"] == 0, stats
    stands = note_time(sc, "stands up")
    acts = [e for e in events if e.type == "activity" and "zone" not in e.attributes]
    shown = [
        (round(scene_t(e.time), 1), e.attributes.get("track_id"), e.value, round(e.confidence, 2))
        for e in acts
    ]
    before = [e for e in acts if scene_t(e.time) < stands + 1.0 and e.value != NO_ACTIVITY]
    assert before, f"no activity event before A stands up: {shown} {stats}"
    a_track = before[0].attributes["track_id"]  # A is alone until B walks in
    labels = [e.value for e in before if e.attributes.get("track_id") == a_track]
    assert labels[0] == "walking", shown
    sits = [i for i, v in enumerate(labels) if v in SITTING]
    assert sits, f"A's track never got a sitting label before standing up: {shown}"
    assert sits[0] > 0  # after the walk, not instead of it
    sat = before[[e.value for e in before].index(labels[sits[0]])]
    assert scene_t(sat.time) >= note_time(sc, "sits down")
    # the sofa zone shows the sitting
    sofa = [
        (round(scene_t(e.time), 1), e.value)
        for e in events
        if e.type == "activity" and e.attributes.get("zone") == "sofa"
    ]
    assert any(v in SITTING for t, v in sofa if t < stands + 1.0), sofa


@pytest.fixture(scope="module")
def text_model() -> Path:
    """The shipped default model with its text tower, exported once from its checkpoint."""
    shipped = load_model()
    out = RENDER_CACHE.parent / "models" / f"{shipped.path.name}-text"
    card = out / "card.json"
    checkpoint = shipped_models_dir() / shipped.path.name / "checkpoint"
    if not card.is_file() or card.stat().st_mtime < (checkpoint / "model.pt").stat().st_mtime:
        out.parent.mkdir(parents=True, exist_ok=True)
        code = mmfm_main(
            ["export", "onnx", "--model", str(checkpoint), "--out", str(out), "--text"]
        )
        assert code == 0
    return out


def test_mmfm_search_finds_the_fall_among_the_top_three(
    demo_run: tuple[Any, list[Event], Callable[[float], float], Path, dict[str, Any]],
    text_model: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    demo, _, scene_t, db, _ = demo_run
    sc = demo.scripted
    falls = note_time(sc, "falls")
    capsys.readouterr()
    argv = ["search", "someone lying on the floor", "--since", "24h", "--db", str(db)]
    assert mmfm_main([*argv, "--model", str(text_model), "--top", "3", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 3
    when = [round(scene_t(h["time"]), 1) for h in hits]
    # a window ends at its time and covers the 2 s before: the fall's windows end in [fall, fall
    # + 2 s + the time it takes to hit the floor]
    assert any(falls <= t <= falls + 5.0 for t in when), (falls, when, hits)
    # the table form runs too (the README's command)
    assert mmfm_main([*argv, "--model", str(text_model)]) == 0
    assert "score" in capsys.readouterr().out
    assert np.isfinite([h["score"] for h in hits]).all()
