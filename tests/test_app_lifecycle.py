"""The daemon's life: it ends by itself once every replay has ended (every frame processed first),
stays up when told to, applies backpressure to non-paced replays, and never runs on silently with a
dead worker thread (ZeroMQ's request thread is restarted; a dead pipeline thread stops it with 1)."""

from __future__ import annotations

import json
import logging
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zmq
from conftest import require_shared
from test_app import EXAMPLES, Recorder, load, wait_until

from runtime.app import App
from runtime.comms.zeromq import ZeroMqCommunicator
from runtime.frames import POINT_DTYPE, PointCloudFrame
from runtime.sources.base import SourceBase

FAST_WATCHDOG = "watchdog: {check_interval_s: 0.1, stall_timeout_s: 30}\n"


def long_capture(tmp_path: Path, copies: int = 10) -> Path:
    """The bundled 2-frame raw-ADC capture repeated ``copies`` times (with its .cfg beside it)."""
    data = (EXAMPLES / "two_people_iwr1843.bin").read_bytes()
    path = tmp_path / "long.bin"
    path.write_bytes(data * copies)
    shutil.copy(EXAMPLES / "two_people_iwr1843.cfg", tmp_path / "long.cfg")
    return path


def replay_config(path: Path, *, extra: str = "", radar: str = "") -> str:
    return (
        "event_log: {enabled: false}\n" + FAST_WATCHDOG + extra + "radars:\n"
        "  den:\n"
        "    queues: {capture: 1, detections: 1}\n"
        "    mounting: {height_m: 1.0, tilt_deg: 0}\n" + radar + "    source:\n"
        "      type: replay\n"
        f"      path: {path}\n"
        "      realtime: false\n"
    )


def run_in_thread(app: App) -> tuple[threading.Thread, dict[str, int]]:
    result: dict[str, int] = {}

    def target() -> None:
        result["code"] = app.run(install_signal_handlers=False)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    wait_until(lambda: "den" in app.pipelines or "code" in result, what="the pipeline")
    return thread, result


def test_non_paced_replay_processes_every_frame_then_the_daemon_exits_0(tmp_path: Path) -> None:
    cfg = load(replay_config(long_capture(tmp_path, copies=40)))
    rec = Recorder()
    app = App(cfg, communicators=[rec])
    thread, result = run_in_thread(app)
    pipe = app.pipelines["den"]
    thread.join(60)
    assert result == {"code": 0}, "the daemon did not end by itself"
    s = pipe.stats()
    assert s["backpressure"] is True
    assert s["frames"] == s["frames_processed"] == 80  # queues of 1: the source waited for DSP
    assert s["dropped"] == {"capture_queue": 0, "detections_queue": 0}
    assert s["errors"]["dsp"] == 0
    # (the 2-frame capture repeated makes no track, so no event: the RadHAR test checks events)
    assert rec.available[-1] == ("den", False)


def test_keep_running_stays_up_after_the_sources_end(tmp_path: Path) -> None:
    cfg = load(replay_config(long_capture(tmp_path, copies=1), extra="keep_running: true\n"))
    app = App(cfg, communicators=[Recorder()])
    thread, result = run_in_thread(app)
    pipe = app.pipelines["den"]
    wait_until(lambda: pipe.ended, what="the replay's end")
    thread.join(1.0)  # ten watchdog rounds
    assert thread.is_alive() and not app.stopping
    assert pipe.stats()["frames_processed"] == 2
    app.request_stop()
    thread.join(10)
    assert result == {"code": 0}


def test_radhar_recording_non_paced_every_frame_processed_with_events() -> None:
    path = require_shared("realdata", "radhar-fewshot", "walk", "__20_walk_1.txt")
    text = replay_config(
        path, radar="    board: IWR1443BOOST\n    chirp_config: iwr1443boost_radhar\n"
    )
    rec = Recorder()
    app = App(load(text), communicators=[rec])
    thread, result = run_in_thread(app)
    pipe = app.pipelines["den"]
    thread.join(120)
    assert result == {"code": 0}
    s = pipe.stats()
    assert s["frames"] == s["frames_processed"] == 600
    assert s["dropped"] == {"capture_queue": 0, "detections_queue": 0}
    types = {e.type for e in rec.events}
    assert {"occupancy", "count", "tracks"} <= types, types
    occupancy = [e.value for e in rec.events if e.type == "occupancy"]
    assert occupancy[0] is True  # someone walks in front of the radar


class DiesWithABug(SourceBase):
    """Frames, then an exception that no ``except Exception`` catches (a stand-in for a bug)."""

    name = "buggy"

    def frames(self) -> Iterator[PointCloudFrame]:
        for i in range(5):
            yield PointCloudFrame(np.zeros(0, dtype=POINT_DTYPE), i, float(i))
        raise SystemExit("bug")


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_dead_pipeline_thread_stops_the_daemon_with_status_1(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = load(replay_config(long_capture(tmp_path, copies=1)))
    app = App(cfg, communicators=[Recorder()], sources={"den": DiesWithABug})
    with caplog.at_level(logging.INFO):
        thread, result = run_in_thread(app)
        thread.join(30)
    assert result == {"code": 1}
    critical = [r.getMessage() for r in caplog.records if r.levelno == logging.CRITICAL]
    assert any("thread den-capture died: SystemExit: bug" in m for m in critical), critical
    assert any("stopping mmfm (exit status 1)" in m for m in critical), critical


def _ask(ctx: zmq.Context[zmq.Socket[bytes]], address: str, body: bytes) -> Any:
    dealer = ctx.socket(zmq.DEALER)
    dealer.setsockopt(zmq.RCVTIMEO, 3000)
    dealer.setsockopt(zmq.LINGER, 0)
    dealer.connect(address)
    try:
        dealer.send(body)
        return json.loads(dealer.recv())
    finally:
        dealer.close()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_the_zeromq_request_endpoint_survives_hostile_pings_and_a_dead_thread(
    tmp_path: Path,
) -> None:
    zeromq = "zeromq: {pub_endpoint: 'tcp://127.0.0.1:*', request_endpoint: 'tcp://127.0.0.1:*'}\n"
    cfg = load(
        replay_config(long_capture(tmp_path, copies=1), extra=zeromq + "keep_running: true\n")
    )
    app = App(cfg)
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    app.start()
    try:
        (comm,) = app.communicators
        assert isinstance(comm, ZeroMqCommunicator) and comm.request_address
        address = comm.request_address
        for body in (b'{"type":"ping","n":' + b"1" * 5000 + b"}", b"[" * 50_000):
            assert "error" in _ask(ctx, address, body)
            assert _ask(ctx, address, b'{"type":"ping"}')["type"] == "pong"

        def fatal() -> dict[str, Any]:
            raise SystemExit("a bug in the state provider")

        comm.set_state_provider(fatal)
        dealer = ctx.socket(zmq.DEALER)
        dealer.setsockopt(zmq.LINGER, 0)
        dealer.connect(address)
        dealer.send(b'{"type":"state"}')
        wait_until(lambda: comm.stats()["request_thread_restarts"] == 1, what="the restart")
        dealer.close()
        comm.set_state_provider(app.state)
        assert "den" in _ask(ctx, address, b'{"type":"state"}')["radars"]
        assert not app.stopping
    finally:
        app.stop()
        ctx.destroy(linger=0)
