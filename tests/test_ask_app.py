"""The whole daemon answering questions: `mmfm run`'s App on a fake UART radar (two people standing)
with the encoder stage, MQTT (a real Mosquitto on its own port), ZeroMQ and the question service
(real llama.cpp, base Gemma 3 270M). A question over MQTT and one over ZeroMQ are answered from the
event log, the answers are logged as `answer` events, Home Assistant gets the "Last answer" sensor,
and a ZeroMQ search finds the logged windows."""

from __future__ import annotations

import importlib.util
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from broker import MOSQUITTO, MosquittoBroker, Subscriber, have_mosquitto
from test_web import config_text, two_people

from runtime.app import App
from runtime.comms.ask_client import ask_mqtt, ask_zmq, zmq_request
from runtime.config import parse_config
from runtime.fakes.uart_radar import FakeUartRadar
from runtime.llm import base_model as bm

pytestmark = [
    pytest.mark.skipif(not have_mosquitto(), reason=f"needs mosquitto at {MOSQUITTO}"),
    pytest.mark.skipif(
        importlib.util.find_spec("llama_cpp") is None
        or importlib.util.find_spec(bm.BASE_MODEL_MODULE) is None,
        reason="needs llama-cpp-python (mmfm[llm]) and the base LLM package",
    ),
]


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[tuple[App, MosquittoBroker]]:
    if os.environ.get("MMFM_CACHE"):
        gguf = bm.base_model_path()
    else:
        gguf = bm.assemble_base_model(tmp_path / "cache" / "llm" / bm.BASE_MODEL_FILE)
    with (
        MosquittoBroker(tmp_path) as broker,
        FakeUartRadar(two_people, frame_period_s=0.05) as fake,
    ):
        text = config_text(fake, "").replace(
            "event_log: {enabled: false, path: x.db}\n",
            f"event_log: {{path: {tmp_path / 'events.db'}}}\n"
            f"mqtt: {{port: {broker.port}, client_id: mmfm-app-ask, stats_interval_s: 0}}\n"
            "zeromq: {pub_endpoint: 'tcp://127.0.0.1:*', request_endpoint: 'tcp://127.0.0.1:*'}\n"
            "activities: {enabled: true, stride_s: 0.5, min_points: 4}\n"
            f"questions: {{gguf: {gguf}, max_tokens: 8}}\n",
        )
        app = App(parse_config(text, source="test.yaml", env={}))
        runner = threading.Thread(target=app.run, kwargs={"install_signal_handlers": False})
        runner.start()
        try:
            deadline = time.monotonic() + 60
            while "watchdog" not in app._started:
                assert runner.is_alive() and time.monotonic() < deadline, "daemon did not start"
                time.sleep(0.05)
            yield app, broker
        finally:
            app.request_stop()
            runner.join(20)
        assert not runner.is_alive()


def test_the_daemon_answers_over_mqtt_and_zeromq_and_searches(
    daemon: tuple[App, MosquittoBroker],
) -> None:
    app, broker = daemon
    assert app.questions is not None and app.event_log is not None
    zmq = next(c for c in app.communicators if c.name == "zeromq")
    deadline = time.monotonic() + 20  # two people counted, and windows embedded
    while not app.event_log.query(type="count") or not app.encoder_stage.stats()["embedded"]:
        assert time.monotonic() < deadline, app.stats()
        time.sleep(0.2)
    topic = "homeassistant/sensor/mmfm/hall_last_answer/config"
    with Subscriber(broker.port, (topic, "mmfm/hall/answer")) as sub:
        sub.wait_for(lambda ms: any(m.topic == topic for m in ms))
        reply = ask_mqtt(f"mqtt://127.0.0.1:{broker.port}", "How many people are here?")
        assert reply["status"] == "ok" and reply["radar"] == "hall" and reply["answer"]
        assert reply["events"] >= 1 and reply["window_time"] is not None  # facts and a window
        sub.wait_for(lambda ms: any(m.topic == "mmfm/hall/answer" for m in ms), timeout=10)
    pieces: list[str] = []
    reply = ask_zmq(str(zmq.request_address), "Did anyone fall today?", on_token=pieces.append)
    assert reply["status"] == "ok" and "".join(pieces).strip() == reply["answer"]
    assert reply["range"]["words"] == "today"
    answers = app.event_log.query(type="answer")
    assert [a.attributes["question"] for a in answers] == [
        "How many people are here?",
        "Did anyone fall today?",
    ]
    found = zmq_request(
        str(zmq.request_address), {"type": "search", "text": "standing", "since": "1h", "k": 3}
    )
    assert len(found["moments"]) >= 1 and found["moments"][0]["radar"] == "hall"
    assert app.stats()["questions"]["answered"] == 2
