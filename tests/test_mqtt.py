"""MQTT publisher against a real Mosquitto started by the test on its own port (never the system one)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from broker import (
    MOSQUITTO,
    MosquittoBroker,
    Subscriber,
    have_mosquitto,
    have_openssl,
    make_tls_files,
)
from conftest import REPO
from pydantic import ValidationError

from runtime.comms.base import Communicator
from runtime.comms.mqtt import MqttAuthError, MqttCommunicator, MqttConnectError
from runtime.comms.settings import MqttSettings, RadarInfo
from runtime.events import Event

pytestmark = pytest.mark.skipif(not have_mosquitto(), reason=f"needs mosquitto at {MOSQUITTO}")

RADARS = [RadarInfo("living", "Living room", "AWR1843BOOST", ("sofa", "desk"))]
FAST = {"reconnect_min_delay_s": 0.1, "reconnect_max_delay_s": 0.5, "stats_interval_s": 0}


def settings(port: int, **kw: Any) -> MqttSettings:
    return MqttSettings.model_validate({"port": port, "client_id": "mmfm-test", **FAST, **kw})


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    with MosquittoBroker(tmp_path) as b:
        yield b


@pytest.fixture
def comm(broker: MosquittoBroker) -> Iterator[MqttCommunicator]:
    c = MqttCommunicator(settings(broker.port), RADARS)
    c.start(wait=True, timeout=5)
    yield c
    c.stop()


def settled(c: MqttCommunicator, timeout: float = 5.0) -> None:
    """Wait until the broker has acknowledged everything ``c`` published."""
    deadline = time.monotonic() + timeout
    while c.stats()["queued"] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert c.stats()["queued"] == 0, c.stats()


# -- settings ---------------------------------------------------------------------------------------


def test_settings_reject_unknown_keys_and_explain() -> None:
    with pytest.raises(ValidationError, match="hostname"):
        MqttSettings.model_validate({"hostname": "x"})
    with pytest.raises(ValidationError, match=r"needs mqtt\.username"):
        MqttSettings(password_env="MMFM_MQTT_PASSWORD")
    with pytest.raises(ValidationError, match="wildcards"):
        MqttSettings(topic_prefix="home/#")
    assert MqttSettings.model_validate({"protocol": 5}).protocol == "5"  # YAML `protocol: 5`
    assert all(f.description for f in MqttSettings.model_fields.values())


def test_is_a_communicator_and_constructor_touches_no_network() -> None:
    c = MqttCommunicator(settings(1), RADARS)  # port 1: nothing listens; nothing is tried
    assert isinstance(c, Communicator)
    c.publish_event(Event("count", 1.0, 1, 1.0, "living"))
    assert c.stats()["dropped_offline"] == 1


# -- discovery --------------------------------------------------------------------------------------


def _configs(sub: Subscriber) -> dict[str, dict[str, Any]]:
    return {m.topic: m.json() for m in sub.messages if m.topic.endswith("/config") and m.payload}


def test_discovery_lands_retained_with_the_right_schema(
    broker: MosquittoBroker, comm: MqttCommunicator
) -> None:
    # 1 hub entity + occupancy, 2 zones, count, breathing, heart, fall, activity
    expected = 1 + 8
    settled(comm)
    with Subscriber(broker.port, ("homeassistant/#",)) as sub:  # joins late: sees retained only
        sub.wait_for(lambda ms: len([m for m in ms if m.topic.endswith("/config")]) >= expected)
        assert all(m.retain for m in sub.messages)
        configs = _configs(sub)
    assert len(configs) == expected
    unique_ids = [c["unique_id"] for c in configs.values()]
    assert len(set(unique_ids)) == len(unique_ids)

    hub = configs["homeassistant/binary_sensor/mmfm/daemon/config"]
    assert hub["state_topic"] == "mmfm/available"
    assert hub["device_class"] == "connectivity"
    hub_id = hub["device"]["identifiers"][0]

    by_key = {
        t.split("/")[3].removeprefix("living_"): c for t, c in configs.items() if "living" in t
    }
    assert set(by_key) == {
        "occupancy",
        "occupancy_sofa",
        "occupancy_desk",
        "count",
        "breathing_rate",
        "heart_rate",
        "fall",
        "activity",
    }
    for topic, c in by_key.items():
        for key in ("name", "unique_id", "state_topic", "value_template", "json_attributes_topic"):
            assert c[key], (topic, key)
        assert c["availability_mode"] == "all"
        assert [a["topic"] for a in c["availability"]] == [
            "mmfm/available",
            "mmfm/living/available",
        ]
        assert all(
            a["payload_available"] == "online" and a["payload_not_available"] == "offline"
            for a in c["availability"]
        )
        dev = c["device"]
        assert dev["identifiers"] == ["mmfm_living"]
        assert dev["name"] == "Living room"
        assert dev["model"] == "AWR1843BOOST"
        assert dev["manufacturer"] == "Texas Instruments"
        assert dev["sw_version"]
        assert dev["via_device"] == hub_id
    assert "homeassistant/binary_sensor/mmfm/living_occupancy/config" in configs
    assert by_key["occupancy"]["device_class"] == "occupancy"
    assert by_key["occupancy_sofa"]["state_topic"] == "mmfm/living/occupancy/sofa"
    assert by_key["count"]["state_class"] == "measurement"
    assert by_key["breathing_rate"]["unit_of_measurement"] == "br/min"
    assert by_key["heart_rate"]["unit_of_measurement"] == "bpm"
    assert by_key["fall"]["device_class"] == "problem"
    assert "homeassistant/sensor/mmfm/living_activity/config" in configs


def test_value_templates_render_the_event_json(comm: MqttCommunicator) -> None:
    jinja2 = pytest.importorskip("jinja2")
    env = jinja2.Environment()
    configs = {t.split("/")[3]: c for t, c in comm.discovery.radar_messages(comm.radars["living"])}

    def render(key: str, event: Event) -> str:
        return env.from_string(configs[key]["value_template"]).render(value_json=event.to_dict())

    vitals = {"breathing_per_min": 14.8, "heart_per_min": 61.0, "quality": "good"}
    assert render("living_occupancy", Event("occupancy", 0, True, 0.9, "living")) == "ON"
    assert render("living_fall", Event("fall", 0, False, 0.9, "living")) == "OFF"
    assert render("living_count", Event("count", 0, 2, 0.9, "living")) == "2"
    assert render("living_breathing_rate", Event("vitals", 0, vitals, 0.8, "living")) == "14.8"
    assert render("living_heart_rate", Event("vitals", 0, vitals, 0.8, "living")) == "61.0"
    assert render("living_activity", Event("activity", 0, "sitting", 0.7, "living")) == "sitting"


def test_home_assistant_birth_triggers_reannounce(
    broker: MosquittoBroker, comm: MqttCommunicator
) -> None:
    with Subscriber(broker.port, ("homeassistant/+/mmfm/#", "mmfm/available")) as sub:
        sub.wait_for(lambda ms: len(_configs(sub)) == 9)
        sub.messages.clear()
        ha = Subscriber(broker.port, ("none",)).start()
        ha.client.publish("homeassistant/status", "online", qos=1).wait_for_publish(2)
        ha.stop()
        msgs = sub.wait_for(lambda ms: len([m for m in ms if m.topic.endswith("/config")]) >= 9)
        assert not any(m.retain for m in msgs)  # fresh publications, not the retained copies
        sub.wait_payload("mmfm/available", "online")
    assert comm.stats()["ha_restarts"] == 1


def test_remove_discovery_clears_the_radar(broker: MosquittoBroker, comm: MqttCommunicator) -> None:
    comm.remove_discovery("living")
    settled(comm)
    with Subscriber(broker.port, ("homeassistant/#",)) as sub:
        time.sleep(0.3)
        assert list(_configs(sub)) == ["homeassistant/binary_sensor/mmfm/daemon/config"]
    comm.announce()  # a removed radar stays removed
    settled(comm)
    with Subscriber(broker.port, ("homeassistant/#",)) as sub:
        time.sleep(0.3)
        assert len(_configs(sub)) == 1


# -- events -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_events_reach_a_subscriber_with_topic_json_and_retain(
    broker: MosquittoBroker, protocol: str
) -> None:
    c = MqttCommunicator(settings(broker.port, protocol=protocol, discovery=False), RADARS)
    events = [
        Event("occupancy", 10.0, True, 0.9, "living"),
        Event("occupancy", 10.5, True, 0.8, "living", {"zone": "sofa"}),
        Event("count", 11.0, 2, 0.95, "living"),
        Event("vitals", 12.0, {"breathing_per_min": 15.0, "heart_per_min": None}, 0.6, "living"),
        Event("fall", 13.0, True, 0.99, "living", {"track": 3}),
        Event("activity", 14.0, "walking", 0.7, "living"),
        Event("answer", 15.0, "two people", 0.5, "living"),
    ]
    topics = [
        "mmfm/living/occupancy",
        "mmfm/living/occupancy/sofa",
        "mmfm/living/count",
        "mmfm/living/vitals",
        "mmfm/living/fall",
        "mmfm/living/activity",
        "mmfm/living/answer",
    ]
    with Subscriber(broker.port, ("mmfm/#",)) as live:
        c.start(wait=True, timeout=5)
        c.set_available("living", True)
        for e in events:
            c.publish_event(e)
        c.publish_event(
            Event("tracks", 16.0, [{"id": 3, "x": 1.0, "y": 2.0, "z": 1.1}], 1.0, "living")
        )
        c.publish_stats("living", {"frames": 100, "drops": 1})
        live.wait_for(
            lambda ms: {"mmfm/living/stats", "mmfm/living/tracks", *topics} <= {m.topic for m in ms}
        )
        live.wait_payload("mmfm/living/available", "online")
        for e, topic in zip(events, topics, strict=True):
            (msg,) = live.on(topic)
            assert msg.json() == e.to_dict()
            assert msg.qos == 1
        (tracks,) = live.on("mmfm/living/tracks")
        assert tracks.json()["value"][0]["id"] == 3 and tracks.json()["type"] == "tracks"
        stats = live.on("mmfm/living/stats")[-1].json()
        assert stats["pipeline"] == {"frames": 100, "drops": 1}
        assert stats["mqtt"]["connected"] == 1 and stats["process"]["rss_mb"] > 0
    # a late subscriber (Home Assistant after a restart) sees the states, not tracks or answers
    settled(c)
    with Subscriber(broker.port, ("mmfm/#",)) as late:
        time.sleep(0.3)
        retained = {m.topic for m in late.messages if m.retain}
    assert retained == {"mmfm/available", "mmfm/living/available", *topics[:-1]}
    c.stop()
    assert c.stats()["published"] >= len(events) + 3


def test_stop_publishes_offline(broker: MosquittoBroker, comm: MqttCommunicator) -> None:
    comm.set_available("living", True)
    with Subscriber(broker.port, ("mmfm/+/available", "mmfm/available")) as sub:
        sub.wait_payload("mmfm/living/available", "online")
        comm.stop()
        sub.wait_payload("mmfm/living/available", "offline")
        sub.wait_payload("mmfm/available", "offline")


# -- reliability ------------------------------------------------------------------------------------


def test_broker_restart_reconnects_and_loses_no_qos1_event(broker: MosquittoBroker) -> None:
    c = MqttCommunicator(settings(broker.port), RADARS)
    # a persistent session: the broker queues for the subscriber across its own restart
    sub = Subscriber(broker.port, ("mmfm/#",), client_id="test-restart-sub", persistent=True)
    sub.start()
    c.start(wait=True, timeout=5)
    c.set_available("living", True)
    sub.wait_payload("mmfm/living/available", "online")
    c.publish_event(Event("fall", 1.0, False, 1.0, "living"))
    sub.wait_for(lambda ms: any(m.topic == "mmfm/living/fall" for m in ms))

    broker.stop()
    deadline = time.monotonic() + 5
    while c.stats()["connected"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not c.stats()["connected"]
    during = [Event("fall", 100.0 + i, i % 2 == 0, 1.0, "living", {"n": i}) for i in range(20)]
    for e in during:
        c.publish_event(e)
    assert c.stats()["queued"] >= len(during)

    sub.messages.clear()
    broker.start()
    sub.wait_for(
        lambda ms: (
            {e.to_json() for e in during} <= {m.text for m in ms if m.topic == "mmfm/living/fall"}
        ),
        timeout=10,
    )
    sub.wait_payload("mmfm/available", "online")
    sub.wait_payload("mmfm/living/available", "online")
    stats = c.stats()
    assert stats["reconnects"] >= 1 and stats["disconnects"] >= 1
    assert stats["dropped_queue_full"] == 0
    c.stop()
    sub.stop()


def test_queue_bound_is_explicit_and_drops_are_counted(tmp_path: Path) -> None:
    broker = MosquittoBroker(tmp_path)  # not started yet: the broker is away
    c = MqttCommunicator(settings(broker.port, max_queued_messages=5, discovery=False), RADARS)
    c.start()
    for i in range(8):
        c.publish_event(Event("count", float(i), i, 1.0, "living"))
    c.publish_event(Event("tracks", 9.0, [], 1.0, "living"))
    stats = c.stats()
    assert stats["queued"] == 5 and stats["dropped_queue_full"] == 3
    assert stats["dropped_offline"] == 1  # QoS 0 tracks are not kept
    with broker, Subscriber(broker.port, ("mmfm/living/count",)) as sub:
        sub.wait_for(lambda ms: len(ms) >= 5, timeout=10)
        assert [m.json()["value"] for m in sub.messages][:5] == [0, 1, 2, 3, 4]
        c.stop()


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_auth_failure_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, protocol: str
) -> None:
    with MosquittoBroker(tmp_path, users={"mmfm": "right"}) as broker:
        monkeypatch.setenv("MMFM_TEST_MQTT_PASSWORD", "wrong")
        s = settings(
            broker.port, username="mmfm", password_env="MMFM_TEST_MQTT_PASSWORD", protocol=protocol
        )
        c = MqttCommunicator(s, RADARS)
        with pytest.raises(MqttAuthError) as err:
            c.start(wait=True, timeout=5)
        message = str(err.value)
        assert "refused user 'mmfm'" in message
        assert "bad user name or password" in message or "not authorized" in message
        assert "MMFM_TEST_MQTT_PASSWORD" in message and "wrong" not in message
        assert c.stats()["auth_failures"] == 1

        monkeypatch.setenv("MMFM_TEST_MQTT_PASSWORD", "right")
        ok = MqttCommunicator(s, RADARS)
        ok.start(wait=True, timeout=5)
        assert ok.stats()["connected"] == 1
        ok.stop()

        monkeypatch.delenv("MMFM_TEST_MQTT_PASSWORD")
        with pytest.raises(MqttConnectError, match="MMFM_TEST_MQTT_PASSWORD"):
            MqttCommunicator(s, RADARS).start()


def test_connect_timeout_when_no_broker() -> None:
    from broker import free_port

    c = MqttCommunicator(settings(free_port()), RADARS)
    t0 = time.monotonic()
    with pytest.raises(MqttConnectError, match="no connection"):
        c.start(wait=True, timeout=0.5)
    assert time.monotonic() - t0 < 3
    assert c.stats()["connect_failures"] >= 1


_DAEMON = """
import sys, time
from runtime.comms.mqtt import MqttCommunicator
from runtime.comms.settings import MqttSettings
c = MqttCommunicator(MqttSettings.model_validate_json(sys.argv[1]), [{"id": "living"}])
c.start(wait=True, timeout=5)
c.set_available("living", True)
print("ready", flush=True)
time.sleep(60)
"""


def test_last_will_marks_offline_when_the_daemon_is_killed(broker: MosquittoBroker) -> None:
    s = settings(broker.port, keepalive=5)
    with Subscriber(broker.port, ("mmfm/#", "homeassistant/#")) as sub:
        proc = subprocess.Popen(
            [sys.executable, "-c", _DAEMON, s.model_dump_json()],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            sub.wait_payload("mmfm/living/available", "online")
            sub.wait_payload("mmfm/available", "online")
            # (the radar's availability has its own connection: wait for the discovery too)
            sub.wait_for(lambda ms: any("/living_" in m.topic for m in ms))
            proc.send_signal(signal.SIGKILL)
            proc.wait(5)
            will = sub.wait_payload("mmfm/available", "offline", timeout=5)
            radar_will = sub.wait_payload("mmfm/living/available", "offline", timeout=5)
        finally:
            if proc.poll() is None:
                proc.kill()
            if proc.stdout:
                proc.stdout.close()
    assert will.text == "offline" and will.retain is False  # live delivery of the will
    assert radar_will.retain is False  # the radar connection's own will
    # Home Assistant's view: every radar entity needs mmfm/available online (availability_mode all)
    configs = {t: c for t, c in _configs(sub).items() if "/living_" in t}
    assert configs and all(
        c["availability"][0]["topic"] == "mmfm/available" for c in configs.values()
    )


def test_periodic_stats_carry_the_latest_pipeline_numbers(broker: MosquittoBroker) -> None:
    c = MqttCommunicator(settings(broker.port, stats_interval_s=0.2, discovery=False), RADARS)
    with Subscriber(broker.port, ("mmfm/living/stats",)) as sub:
        c.start(wait=True, timeout=5)
        c.publish_stats("living", {"frames": 1})
        c.publish_stats("living", {"frames": 2})  # the newest wins; nothing is sent per call
        msgs = sub.wait_for(lambda ms: len(ms) >= 2, timeout=3)
        c.stop()
    assert {m.json()["pipeline"]["frames"] for m in msgs} == {2}
    assert not any(m.retain for m in msgs)


def test_ids_with_odd_characters_become_safe_topics_and_ids() -> None:
    radar = RadarInfo("hall way", "Hall", "IWR6843AOP", ("front/door", "sofa+"))
    c = MqttCommunicator(settings(1), [radar])
    zone_event = Event("occupancy", 0.0, True, 1.0, "hall way", {"zone": "front/door"})
    assert c.topics.event(zone_event) == "mmfm/hall_way/occupancy/front_door"
    messages = c.discovery.radar_messages(radar)
    for topic, payload in messages:
        assert topic.count("/") == 4 and "+" not in topic and " " not in topic
        assert " " not in payload["unique_id"] and "+" not in payload["state_topic"]
    with pytest.raises(ValueError, match="collide"):
        MqttCommunicator(settings(1), [RadarInfo("a b"), RadarInfo("a_b")])


# -- TLS ---------------------------------------------------------------------------------------------


@pytest.mark.skipif(not have_openssl(), reason="needs openssl to make the test certificates")
def test_a_wrong_tls_ca_is_reported_as_a_failed_certificate_not_unreachable(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    right, wrong = make_tls_files(tmp_path, "right"), make_tls_files(tmp_path, "wrong")
    with MosquittoBroker(tmp_path, tls=right) as broker:
        ok = MqttCommunicator(settings(broker.port, tls_ca_certs=str(right.ca_cert)), RADARS)
        ok.start(wait=True, timeout=5)  # the listener and our TLS context work together
        assert ok.stats()["connected"] == 1 and ok.connect_problem() is None
        ok.stop()

        s = settings(broker.port, tls_ca_certs=str(wrong.ca_cert))
        bad = MqttCommunicator(s, RADARS)
        with caplog.at_level(logging.WARNING, logger="runtime.comms.mqtt"):
            bad.start()
            deadline = time.monotonic() + 5
            while bad.stats()["tls_failures"] == 0 and time.monotonic() < deadline:
                time.sleep(0.02)
            bad.stop()
    problem = bad.connect_problem()
    assert problem is not None and "failed verification" in problem, problem
    assert str(wrong.ca_cert) in problem and "mqtt.tls_ca_certs" in problem
    assert "unable to get local issuer certificate" in problem  # OpenSSL's own words
    warnings = [r.getMessage() for r in caplog.records if "TLS certificate" in r.getMessage()]
    assert warnings and not any("not reachable" in r.getMessage() for r in caplog.records)


# -- radar availability after SIGKILL ----------------------------------------------------------------

_RESTARTED = """
import sys, time
from runtime.comms.mqtt import MqttCommunicator
from runtime.comms.settings import MqttSettings
c = MqttCommunicator(MqttSettings.model_validate_json(sys.argv[1]), [{"id": "living"}])
c.start(wait=True, timeout=5)
print("ready", flush=True)
time.sleep(60)
"""


def _retained(port: int, topics: tuple[str, ...], expected: dict[str, str]) -> dict[str, str]:
    """What a client that connects now reads (retained messages only), asking again for up to 5 s
    until it reads ``expected``."""
    deadline = time.monotonic() + 5
    while True:
        with Subscriber(port, topics) as sub:
            time.sleep(0.2)
            seen = {m.topic: m.text for m in sub.messages if m.retain}
        if seen == expected or time.monotonic() > deadline:
            return seen


def test_after_sigkill_no_client_reads_a_radar_as_online(broker: MosquittoBroker) -> None:
    s = settings(broker.port, keepalive=5)
    topics = ("mmfm/available", "mmfm/living/available")
    for script, wait_online in ((_DAEMON, True), (_RESTARTED, False)):
        proc = subprocess.Popen(
            [sys.executable, "-c", script, s.model_dump_json()],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            if wait_online:
                both_online = {"mmfm/available": "online", "mmfm/living/available": "online"}
                assert _retained(broker.port, topics, both_online) == both_online
                proc.send_signal(signal.SIGKILL)
                proc.wait(5)
                # every connection's last will: the daemon's and the radar's own
                killed = {"mmfm/available": "offline", "mmfm/living/available": "offline"}
                assert _retained(broker.port, topics, killed) == killed
            else:
                # a new daemon says at once that the radar is offline until its frames flow
                fresh = {"mmfm/available": "online", "mmfm/living/available": "offline"}
                assert _retained(broker.port, topics, fresh) == fresh
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
            if proc.stdout:
                proc.stdout.close()
