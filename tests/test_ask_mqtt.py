"""Questions over MQTT against a real Mosquitto (its own port) and the real LLM (Gemma 3 270M in
llama.cpp, base model, a few tokens per answer): MQTT 5 askers get the streamed answer on their
response topic with their correlation data, MQTT 3.1.1 askers on the plain answer topic; too long,
too frequent and queue-full questions get a clear refusal."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from broker import MOSQUITTO, MosquittoBroker, Subscriber, have_mosquitto
from conftest import REPO
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes

from runtime.comms.ask_client import AskError, ask_mqtt
from runtime.comms.mqtt import MqttCommunicator
from runtime.comms.settings import MqttSettings, RadarInfo
from runtime.eventlog import EventLog
from runtime.events import Event
from runtime.llm import base_model as bm
from runtime.questions.service import QuestionService
from runtime.questions.settings import QuestionSettings

pytestmark = [
    pytest.mark.skipif(not have_mosquitto(), reason=f"needs mosquitto at {MOSQUITTO}"),
    pytest.mark.skipif(
        importlib.util.find_spec("llama_cpp") is None, reason="needs llama-cpp-python (mmfm[llm])"
    ),
    pytest.mark.skipif(
        importlib.util.find_spec(bm.BASE_MODEL_MODULE) is None,
        reason=f"needs the base LLM package {bm.BASE_MODEL_PACKAGE}",
    ),
]

RADARS = [RadarInfo("living", "Living room", "AWR1843BOOST", answers=True)]


@pytest.fixture(scope="module")
def answerer(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One real Answerer (base GGUF, no mm-LLM model), shared by the module's tests."""
    from runtime.llm.answer import Answerer

    if os.environ.get("MMFM_CACHE"):
        gguf = bm.base_model_path()
    else:
        gguf = bm.assemble_base_model(tmp_path_factory.mktemp("cache") / "llm" / bm.BASE_MODEL_FILE)
    return Answerer(None, n_threads=1, gguf_path=gguf)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    with MosquittoBroker(tmp_path) as b:
        yield b


def make_daemon(
    broker: MosquittoBroker, answerer: Any, tmp_path: Path, protocol: str = "5", **questions: Any
) -> tuple[MqttCommunicator, QuestionService]:
    """The MQTT publisher and the question service wired like the app wires them."""
    log = EventLog(tmp_path / "events.db")
    now = time.time()
    log.extend(
        [Event("count", now - 30, 2, 0.9, "living"), Event("fall", now - 20, True, 1, "living")]
    )
    settings = MqttSettings(
        port=broker.port, client_id="mmfm-ask-test", stats_interval_s=0, protocol=protocol
    )
    comm = MqttCommunicator(settings, RADARS)

    def on_events(radar: str, events: list[Event]) -> None:
        log.extend(events)
        for e in events:
            comm.publish_event(e)

    qs = QuestionSettings(**{"max_tokens": 8, **questions})
    service = QuestionService(qs, [answerer], radars=["living"], event_log=log, on_events=on_events)
    comm.set_question_service(service)
    service.start()
    comm.start(wait=True, timeout=5)
    return comm, service


class V5Asker:
    """A raw paho MQTT 5 client that asks with a response topic and correlation data."""

    def __init__(self, port: int, client_id: str = "asker5") -> None:
        self.messages: list[tuple[str, bytes | None, dict[str, Any]]] = []
        self.cond = threading.Condition()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        self.client.on_message = self._on_message
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *args: subscribed.set()
        self.reply_topic = f"mmfm/reply/{client_id}"
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.client.subscribe(self.reply_topic, qos=1)
        assert subscribed.wait(10), "no SUBACK"

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        corr = getattr(msg.properties, "CorrelationData", None)
        with self.cond:
            self.messages.append((msg.topic, corr, json.loads(msg.payload)))
            self.cond.notify_all()

    def ask(self, question: str, correlation: bytes, radar: str = "living") -> None:
        props = mqtt.Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = self.reply_topic
        props.CorrelationData = correlation
        self.client.publish(f"mmfm/{radar}/ask", question, qos=1, properties=props)

    def final(self, correlation: bytes, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for _, corr, doc in self.messages:
                    if corr == correlation and doc.get("type") == "answer":
                        return doc
                left = deadline - time.monotonic()
                assert left > 0, f"no final answer for {correlation!r}: {self.messages}"
                self.cond.wait(left)

    def tokens(self, correlation: bytes) -> list[str]:
        with self.cond:
            return [
                d["text"] for _, c, d in self.messages if c == correlation and d["type"] == "token"
            ]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_v5_answer_streams_to_the_response_topic_with_correlation_data(
    broker: MosquittoBroker, answerer: Any, tmp_path: Path
) -> None:
    comm, service = make_daemon(broker, answerer, tmp_path)
    asker = V5Asker(broker.port)
    try:
        with Subscriber(broker.port, ("mmfm/living/answer",)) as plain:
            asker.ask("How many people are in the room?", b"corr-1")
            final = asker.final(b"corr-1")
            assert final["status"] == "ok", final
            assert final["question"] == "How many people are in the room?"
            assert final["answer"] and final["events"] >= 2
            # the pieces streamed first, with the same correlation data, and add up to the answer
            pieces = asker.tokens(b"corr-1")
            assert len(pieces) >= 2 and "".join(pieces).strip() == final["answer"]
            # the answer is also an `answer` event on the plain topic (and in the event log)
            (msg,) = plain.wait_for(lambda ms: len(ms) >= 1, timeout=10)
            event = msg.json()
            assert event["type"] == "answer" and event["value"] == final["answer"]
            assert event["attributes"]["question"] == final["question"] and not msg.retain
        assert service.stats()["answered"] == 1 and comm.stats()["questions"] == 1
    finally:
        asker.close()
        comm.stop()
        service.stop()


def test_v311_asker_gets_the_answer_on_the_plain_topic(
    broker: MosquittoBroker, answerer: Any, tmp_path: Path
) -> None:
    comm, service = make_daemon(broker, answerer, tmp_path, protocol="3.1.1")
    try:
        with Subscriber(broker.port, ("mmfm/living/answer",)) as sub:  # a 3.1.1 client
            asker = mqtt.Client(
                callback_api_version=CallbackAPIVersion.VERSION2,
                client_id="asker311",
                protocol=MQTTProtocolVersion.MQTTv311,
            )
            asker.connect("127.0.0.1", broker.port)
            asker.loop_start()
            payload = {"question": "Did anyone fall?", "id": "q-42", "client": "kitchen-panel"}
            asker.publish("mmfm/living/ask", json.dumps(payload), qos=1).wait_for_publish(5)
            (msg,) = sub.wait_for(lambda ms: len(ms) >= 1, timeout=60)
            asker.disconnect()
            asker.loop_stop()
        doc = msg.json()
        assert doc["type"] == "answer" and isinstance(doc["value"], str) and doc["value"]
        assert doc["attributes"]["id"] == "q-42"
        assert doc["attributes"]["client"] == "kitchen-panel"
        assert doc["attributes"]["question"] == "Did anyone fall?"
        # the client library's 3.1.1 mode matches its answer by id on the same topic
        reply = ask_mqtt(
            f"mqtt://127.0.0.1:{broker.port}", "Is anyone here?", radar="living", protocol="3.1.1"
        )
        assert reply["status"] == "ok" and reply["answer"]
    finally:
        comm.stop()
        service.stop()


def test_too_long_and_too_frequent_questions_are_refused_clearly(
    broker: MosquittoBroker, answerer: Any, tmp_path: Path
) -> None:
    comm, service = make_daemon(broker, answerer, tmp_path, per_client_per_minute=2, max_tokens=2)
    asker = V5Asker(broker.port, "asker-limits")
    try:
        asker.ask("x" * 501, b"long")
        long = asker.final(b"long", timeout=10)
        assert long["status"] == "refused"
        assert "question too long: 501 characters, at most 500" in long["error"]
        for i in range(2):
            asker.ask(f"Question {i}: is anyone here?", f"ok-{i}".encode())
            assert asker.final(f"ok-{i}".encode())["status"] == "ok"
        asker.ask("One more: is anyone here?", b"third")
        third = asker.final(b"third", timeout=10)
        assert third["status"] == "refused"
        assert (
            "too many questions from mmfm/reply/asker-limits: at most 2 a minute" in third["error"]
        )
        assert "ask again in" in third["error"]
        # another client is not limited by the first one's questions
        other = V5Asker(broker.port, "asker-other")
        try:
            other.ask("Is anyone here?", b"other")
            assert other.final(b"other")["status"] == "ok"
        finally:
            other.close()
        # a radar the daemon does not have
        asker.ask("Is anyone here?", b"nowhere", radar="garage")
        nowhere = asker.final(b"nowhere", timeout=10)
        assert nowhere["status"] == "refused" and "unknown radar 'garage'" in nowhere["error"]
    finally:
        asker.close()
        comm.stop()
        service.stop()


def test_a_full_queue_gives_a_busy_reply(
    broker: MosquittoBroker, answerer: Any, tmp_path: Path
) -> None:
    # no waiting room: while the one LLM answers (a long answer), the next question is busy
    comm, service = make_daemon(broker, answerer, tmp_path, queue=0, max_tokens=200)
    asker = V5Asker(broker.port, "asker-busy")
    try:
        asker.ask("Tell me everything that happened today.", b"first")
        deadline = time.monotonic() + 30
        while service.stats()["answering"] == 0:  # the LLM has taken the first question
            assert time.monotonic() < deadline
            time.sleep(0.01)
        asker.ask("And now?", b"second")
        second = asker.final(b"second", timeout=10)
        assert second["status"] == "busy" and "busy:" in second["error"]
        assert "ask again" in second["error"]
        first = asker.final(b"first", timeout=120)
        assert first["status"] == "ok"
        assert service.stats()["busy"] == 1
    finally:
        asker.close()
        comm.stop()
        service.stop()


def test_home_assistant_gets_a_last_answer_sensor(
    broker: MosquittoBroker, answerer: Any, tmp_path: Path
) -> None:
    comm, service = make_daemon(broker, answerer, tmp_path)
    try:
        topic = "homeassistant/sensor/mmfm/living_last_answer/config"
        deadline = time.monotonic() + 5  # the broker holds the discovery: a late joiner sees it
        while comm.stats()["queued"] and time.monotonic() < deadline:
            time.sleep(0.01)
        with Subscriber(broker.port, (topic,)) as sub:
            (msg,) = sub.wait_for(lambda ms: len(ms) >= 1)
        config = msg.json()
        assert config["state_topic"] == "mmfm/living/answer" and msg.retain
        assert "value_json.value" in config["value_template"]
    finally:
        comm.stop()
        service.stop()


def test_mmfm_ask_cli_over_mqtt(broker: MosquittoBroker, answerer: Any, tmp_path: Path) -> None:
    comm, service = make_daemon(broker, answerer, tmp_path)
    try:
        comm.set_available("living", True)  # so the CLI finds the one radar online by itself
        proc = subprocess.run(
            [sys.executable, "-m", "mmfm", "ask", "How many people are in the room?",
             "--mqtt", f"mqtt://127.0.0.1:{broker.port}", "--json", "--timeout", "60"],
            capture_output=True, text=True, timeout=120, cwd=REPO,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        doc = json.loads(proc.stdout)
        assert doc["status"] == "ok" and doc["answer"] and doc["radar"] == "living"
        proc = subprocess.run(
            [sys.executable, "-m", "mmfm", "ask", "x" * 600,
             "--mqtt", f"mqtt://127.0.0.1:{broker.port}", "--radar", "living"],
            capture_output=True, text=True, timeout=60, cwd=REPO,
        )  # fmt: skip
        assert proc.returncode == 1 and "question too long" in proc.stderr
    finally:
        comm.stop()
        service.stop()


def test_the_example_acl_lets_only_listed_users_ask(
    tmp_path: Path, answerer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = {"mmfm": "daemon-pw", "panel": "panel-pw", "guest": "guest-pw"}
    b = MosquittoBroker(tmp_path, users=users)
    acl = REPO / "runtime" / "examples" / "mosquitto.acl"
    with b.conf_path.open("a", encoding="utf-8") as f:
        f.write(f"acl_file {acl}\n")
    monkeypatch.setenv("MMFM_TEST_DAEMON_PW", "daemon-pw")
    with b:
        log = EventLog(tmp_path / "events.db")
        settings = MqttSettings(
            port=b.port,
            client_id="mmfm-acl",
            username="mmfm",
            password_env="MMFM_TEST_DAEMON_PW",
            stats_interval_s=0,
        )
        comm = MqttCommunicator(settings, RADARS)
        service = QuestionService(
            QuestionSettings(max_tokens=4), [answerer], radars=["living"], event_log=log
        )
        comm.set_question_service(service)
        service.start()
        comm.start(wait=True, timeout=5)
        try:
            comm.set_available("living", True)
            url = f"mqtt://127.0.0.1:{b.port}"
            monkeypatch.setenv("MMFM_MQTT_PASSWORD", "panel-pw")
            reply = ask_mqtt(url.replace("//", "//panel@"), "Is anyone here?", timeout=60)
            assert reply["status"] == "ok" and reply["radar"] == "living"
            monkeypatch.setenv("MMFM_MQTT_PASSWORD", "guest-pw")
            with pytest.raises(AskError, match="no answer"):
                ask_mqtt(url.replace("//", "//guest@"), "Is anyone here?", timeout=3)
            assert service.stats()["asked"] == 1  # the guest's question never reached the daemon
        finally:
            comm.stop()
            service.stop()
