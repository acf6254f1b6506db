"""The daemon end to end: a replay radar on the bundled capture and a serial radar on the fake UART
radar (a pty peer) streaming a walking person, publishing to a private Mosquitto and ZeroMQ, with
the SQLite event log; the watchdog restarting stalled and failing sources; counted drops and errors."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zmq
from broker import MosquittoBroker, Subscriber, free_port

from runtime.app import App, AppStartError
from runtime.config import MmfmConfig, parse_config
from runtime.eventlog import EventLog
from runtime.events import Event
from runtime.events.settings import Mounting
from runtime.fakes.uart_radar import FakeUartRadar
from runtime.frames import POINT_DTYPE, PointCloudFrame, RawFrame
from runtime.radar_control import RadarControl
from runtime.sources.base import SourceBase
from runtime.tracking import from_floor

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "runtime" / "examples"
MOUNTING = Mounting(height_m=1.5, tilt_deg=0.0)
PERIOD_S = 0.05  # the fake radar's frame period (20 frames/s)


def walking_person(frame: int, seed: int = 7) -> np.ndarray:
    """One person walking back and forth across the room 2.5 m in front of the radar: ~20 points
    over the body (floor frame), with the body's radial velocity, in the radar frame."""
    rng = np.random.default_rng(seed * 100_003 + frame)
    t = frame * PERIOD_S
    centre = np.array([1.2 * np.sin(0.5 * t), 2.5])
    vel = np.array([0.6 * np.cos(0.5 * t), 0.0, 0.0])
    n = 20
    xyz = np.column_stack(
        [
            centre[0] + rng.normal(0, 0.12, n),
            centre[1] + rng.normal(0, 0.12, n),
            1.7 * rng.beta(2.0, 1.5, n),
        ]
    )
    los = xyz - np.array([0.0, 0.0, MOUNTING.height_m])
    los /= np.linalg.norm(los, axis=1, keepdims=True)
    v = vel + rng.normal(0, 0.2, (n, 3))
    out = np.zeros(n, dtype=POINT_DTYPE)
    out["x"], out["y"], out["z"] = from_floor(xyz, MOUNTING).T
    out["v"] = np.einsum("ni,ni->n", v, los)
    out["snr"] = 20.0
    out["noise"] = 60.0
    return out


def config_text(
    *,
    fake: FakeUartRadar | None = None,
    mqtt_port: int | None = None,
    zeromq: bool = False,
    replay: bool = False,
    db: Path | None = None,
    extra: str = "",
) -> str:
    parts = []
    if mqtt_port is not None:
        parts.append(
            f"mqtt:\n  port: {mqtt_port}\n  client_id: mmfm-test\n  stats_interval_s: 0\n"
            "  reconnect_min_delay_s: 0.2\n  reconnect_max_delay_s: 1\n"
        )
    if zeromq:
        parts.append(
            "zeromq:\n  pub_endpoint: tcp://127.0.0.1:*\n  request_endpoint: tcp://127.0.0.1:*\n"
        )
    parts.append(
        f"event_log:\n  enabled: {'true' if db else 'false'}\n  path: {db or 'x.db'}\n"
        "logging: {level: DEBUG}\n"
        "watchdog: {stall_timeout_s: 0.5, check_interval_s: 0.1, restart_backoff_s: 0.2, "
        "restart_backoff_max_s: 1}\n"
        "stats: {interval_s: 0.3}\n"
        "radars:\n"
    )
    events = (
        "    mounting: {height_m: 1.5, tilt_deg: 0}\n"
        "    events:\n"
        "      occupancy: {hold_s: 2}\n"
        "      count: {settle_s: 0.5}\n"
        "      tracks_period_s: 0.5\n"
    )
    if fake is not None:
        parts.append(
            "  hall:\n"
            "    name: Hall\n"
            "    chirp_config: iwr1843boost_presence\n"
            "    source:\n"
            "      type: serial\n"
            f"      cli_port: {fake.cli_path}\n"
            f"      data_port: {fake.data_path}\n" + events
        )
    if replay:
        parts.append(
            "  den:\n"
            "    source:\n"
            "      type: replay\n"
            f"      path: {EXAMPLES / 'two_people_iwr1843.bin'}\n"
            "      loop: true\n" + events
        )
    return "".join(parts) + extra


def load(text: str) -> MmfmConfig:
    return parse_config(text, source="test.yaml", env={})


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or predicate}")


@pytest.fixture
def fake_radar() -> Iterator[FakeUartRadar]:
    with FakeUartRadar(walking_person, frame_period_s=PERIOD_S) as radar:
        yield radar


class Recorder:
    """A minimal publisher that keeps what it is given (a sink for tests, not a mock of the app)."""

    name = "recorder"

    def __init__(self) -> None:
        self.available: list[tuple[str, bool]] = []
        self.events: list[Event] = []
        self.stats_seen: list[dict[str, Any]] = []
        self.provider: Any = None

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def set_available(self, radar: str, online: bool) -> None:
        self.available.append((radar, online))

    def publish_event(self, event: Event) -> None:
        self.events.append(event)

    def publish_stats(self, radar: str, stats: dict[str, Any]) -> None:
        self.stats_seen.append(stats)

    def set_state_provider(self, provider: Any) -> None:
        self.provider = provider

    def stats(self) -> dict[str, int]:
        return {}


# ---------------------------------------------------------------------------- end to end
def test_daemon_end_to_end_mqtt_zeromq_event_log(
    fake_radar: FakeUartRadar, mosquitto_broker: MosquittoBroker, tmp_path: Path
) -> None:
    db = tmp_path / "events.db"
    cfg = load(
        config_text(
            fake=fake_radar, mqtt_port=mosquitto_broker.port, zeromq=True, replay=True, db=db
        )
    )
    sub = Subscriber(mosquitto_broker.port, topics=("mmfm/#",)).start()
    app = App(cfg)
    runner = threading.Thread(target=app.run, kwargs={"install_signal_handlers": False})
    runner.start()
    try:
        sub.wait_payload("mmfm/available", "online", timeout=10)
        sub.wait_payload("mmfm/hall/available", "online", timeout=10)
        sub.wait_payload("mmfm/den/available", "online", timeout=10)
        # the person walking in front of the serial radar turns occupancy on over MQTT
        msgs = sub.wait_for(
            lambda ms: any(m.topic == "mmfm/hall/occupancy" and m.json()["value"] for m in ms),
            timeout=15,
        )
        occ = next(m for m in msgs if m.topic == "mmfm/hall/occupancy").json()
        assert occ["type"] == "occupancy" and occ["radar"] == "hall" and occ["value"] is True
        # the chirp config went to the radar over its CLI port before streaming
        assert "sensorStart" in fake_radar.commands and fake_radar.config is not None
        # stats from both radars over MQTT
        sub.wait_for(lambda ms: {m.topic for m in ms} >= {"mmfm/hall/stats", "mmfm/den/stats"})
        stats = [m.json() for m in sub.on("mmfm/hall/stats")][-1]
        assert stats["pipeline"]["frames"] > 0 and "latency_ms" in stats["pipeline"]
        assert stats["pipeline"]["process"]["rss_mb"] > 0
        den_stats = [m.json() for m in sub.on("mmfm/den/stats")][-1]["pipeline"]
        assert den_stats["source_type"] == "replay" and den_stats["frames_processed"] > 0
        # ZeroMQ state request: the radar's engine state
        zmq_comm = next(c for c in app.communicators if c.name == "zeromq")
        ctx = zmq.Context.instance()
        req = ctx.socket(zmq.REQ)
        req.setsockopt(zmq.RCVTIMEO, 5000)
        req.setsockopt(zmq.LINGER, 0)
        req.connect(zmq_comm.request_address)
        req.send(b'{"type": "state"}')
        state = json.loads(req.recv())
        req.close()
        hall = state["radars"]["hall"]
        assert hall["radar"] == "hall" and hall["online"] is True and hall["occupied"] is True
        assert len(hall["tracks"]) >= 1 and hall["stats"]["frames"] > 0
        assert state["radars"]["den"]["frames"] > 0
    finally:
        app.request_stop()
        runner.join(15)
        assert not runner.is_alive()
    # a clean stop says offline (retained) for the daemon and each radar
    sub.wait_payload("mmfm/hall/available", "offline")
    sub.wait_payload("mmfm/den/available", "offline")
    sub.wait_payload("mmfm/available", "offline")
    sub.stop()
    with Subscriber(mosquitto_broker.port, topics=("mmfm/+/available",)) as late:
        late.wait_for(lambda ms: len(ms) >= 2)
        assert {m.topic: (m.text, m.retain) for m in late.messages} == {
            "mmfm/hall/available": ("offline", True),
            "mmfm/den/available": ("offline", True),
        }
    # the events survived in the SQLite log (tracks are not logged by default)
    with EventLog(db) as log:
        logged = log.query(radar="hall")
    assert any(e.type == "occupancy" and e.value is True for e in logged)
    assert not any(e.type == "tracks" for e in logged)


# ---------------------------------------------------------------------------- watchdog
def test_stalled_serial_radar_is_restarted_and_the_chirp_config_resent(
    fake_radar: FakeUartRadar,
) -> None:
    rec = Recorder()
    app = App(load(config_text(fake=fake_radar)), communicators=[rec])
    app.start()
    try:
        pipe = app.pipelines["hall"]
        wait_until(lambda: pipe.stats()["frames"] > 10, what="frames")
        assert pipe.stats()["chirp_configs_sent"] == 1
        # the radar stops streaming (as after a firmware hiccup)
        with RadarControl(fake_radar.cli_path, timeout=2.0) as ctl:
            ctl.sensor_stop()
        assert not fake_radar.running
        wait_until(lambda: pipe.stats()["stalls"] >= 1, what="a stall")
        wait_until(lambda: pipe.stats()["chirp_configs_sent"] >= 2, what="config re-sent")
        wait_until(lambda: fake_radar.running and pipe.online, what="streaming again")
        frames = pipe.stats()["frames"]
        wait_until(lambda: pipe.stats()["frames"] > frames + 5, what="frames after restart")
        s = pipe.stats()
        assert s["source_restarts"] >= 1 and s["source_starts"] >= 2
        assert fake_radar.commands.count("sensorStart") >= 2
        # availability went offline during the stall and back online
        hall = [online for radar, online in rec.available if radar == "hall"]
        assert hall[:3] == [False, True, False] and hall[-1] is True
    finally:
        app.stop()
    assert rec.available[-1] == ("hall", False)


class FlakySource(SourceBase):
    """Point-cloud frames, then an exception (a cable pulled mid-stream)."""

    name = "flaky"
    instances = 0

    def __init__(self, frames_before_failure: int = 5) -> None:
        super().__init__()
        FlakySource.instances += 1
        self.n = frames_before_failure

    def frames(self) -> Iterator[PointCloudFrame]:
        for i in range(self.n):
            if self.stopping:
                return
            time.sleep(0.01)
            yield PointCloudFrame(walking_person(i), i, time.time())
        raise OSError("device reports readiness to read but returned no data")


def test_a_source_that_raises_is_restarted_and_the_daemon_lives_on(
    fake_radar: FakeUartRadar,
) -> None:
    FlakySource.instances = 0
    rec = Recorder()
    app = App(
        load(config_text(fake=fake_radar)), communicators=[rec], sources={"hall": FlakySource}
    )
    app.start()
    try:
        pipe = app.pipelines["hall"]
        wait_until(lambda: pipe.stats()["errors"]["source"] >= 3, what="three failures")
        s = pipe.stats()
        assert s["source_restarts"] >= 2 and FlakySource.instances >= 3
        assert s["frames"] >= 10 and pipe.alive
        assert ("hall", True) in rec.available and ("hall", False) in rec.available
        assert app.state()["radars"]["hall"]["frames"] > 0
    finally:
        app.stop()


class RawBurst(SourceBase):
    """``count`` raw frames as fast as possible (one of them malformed), then quiet until closed."""

    name = "burst"

    def __init__(self, shape: tuple[int, ...], count: int = 40, bad: int = 3) -> None:
        super().__init__()
        self.shape, self.count, self.bad = shape, count, bad

    def frames(self) -> Iterator[RawFrame]:
        rng = np.random.default_rng(0)
        data = (rng.normal(size=self.shape) + 1j * rng.normal(size=self.shape)).astype(np.complex64)
        for i in range(self.count):
            frame = data if i != self.bad else data[:, :, :3]
            yield RawFrame(frame, i, time.time())
        self._stop.wait()


def test_full_queues_drop_the_oldest_and_count_it_and_dsp_errors_skip_a_frame() -> None:
    cfg_text = (
        "event_log: {enabled: false}\n"
        "watchdog: {stall_timeout_s: 60}\n"
        "radars:\n"
        "  den:\n"
        "    queues: {capture: 1, detections: 1}\n"
        "    source:\n"
        "      type: replay\n"
        f"      path: {EXAMPLES / 'two_people_iwr1843.bin'}\n"
    )
    cfg = load(cfg_text)
    shape = cfg.radars["den"].radar_config.chirp.frame_shape
    app = App(cfg, communicators=[Recorder()], sources={"den": lambda: RawBurst(shape)})
    app.start()
    try:
        pipe = app.pipelines["den"]

        def settled() -> bool:
            s = pipe.stats()
            done = s["frames_processed"] + s["dropped"]["capture_queue"]
            done += s["dropped"]["detections_queue"] + s["errors"]["dsp"]
            return s["frames"] == 40 and done == 40

        wait_until(settled, what="every frame accounted for")
        s = pipe.stats()
        assert s["dropped"]["capture_queue"] > 0  # DSP is slower than the burst
        assert s["errors"]["dsp"] <= 1  # the malformed frame fails in DSP unless it was dropped
        assert s["frames_processed"] >= 1 and pipe.alive
    finally:
        app.stop()


# ---------------------------------------------------------------------------- MQTT trouble
def test_unreachable_broker_is_said_once_and_the_daemon_runs(
    fake_radar: FakeUartRadar, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    app = App(load(config_text(fake=fake_radar, mqtt_port=free_port())))
    app.start()
    try:
        pipe = app.pipelines["hall"]
        wait_until(lambda: pipe.stats()["frames_processed"] > 5, what="frames")
        said = [
            r for r in caplog.records if r.name == "runtime.app" and "not reachable" in r.message
        ]
        assert len(said) == 1 and said[0].levelno == logging.WARNING
    finally:
        app.stop()


def test_refused_credentials_stop_the_start(
    fake_radar: FakeUartRadar, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from broker import have_mosquitto

    if not have_mosquitto():
        pytest.skip("needs mosquitto")
    monkeypatch.setenv("PW", "wrong")
    with MosquittoBroker(tmp_path, users={"mmfm": "right"}) as broker:
        text = config_text(fake=fake_radar, mqtt_port=broker.port).replace(
            "  client_id: mmfm-test\n",
            "  client_id: mmfm-test\n  username: mmfm\n  password_env: PW\n",
        )
        cfg = parse_config(text, source="test.yaml")
        with pytest.raises(AppStartError, match="refused user 'mmfm'") as info:
            App(cfg).start()
        assert "wrong" not in str(info.value)
