"""Home Assistant MQTT discovery: the retained ``config`` messages that make each radar a device.

Topics follow Home Assistant's scheme ``<discovery_prefix>/<component>/<node_id>/<object_id>/config``
with ``node_id`` = the slug of mmfm's topic prefix and ``object_id`` = ``<radar>_<key>``. One device per
radar (identifiers ``<node>_<radar>``, model = board, manufacturer Texas Instruments, ``via_device`` =
the hub); the hub itself is a device with one connectivity entity (``<prefix>/available``), so
``via_device`` points at something real.

Entities per radar (state topics carry ``Event.to_json()``; ``value_template`` picks ``value``):

=====================  ===============  =====================================  ==================
key                    component        state topic                            unit / class
=====================  ===============  =====================================  ==================
occupancy              binary_sensor    <prefix>/<radar>/occupancy             occupancy
occupancy_<zone>       binary_sensor    <prefix>/<radar>/occupancy/<zone>      occupancy
count                  sensor           <prefix>/<radar>/count                 measurement
breathing_rate         sensor           <prefix>/<radar>/vitals                br/min, measurement
heart_rate             sensor           <prefix>/<radar>/vitals                bpm, measurement
fall                   binary_sensor    <prefix>/<radar>/fall                  problem
activity               sensor           <prefix>/<radar>/activity              enum: labels + none
activity_<zone>        sensor           <prefix>/<radar>/activity/<zone>       enum (activities on)
last_answer            sensor           <prefix>/<radar>/answer                (text; questions on)
=====================  ===============  =====================================  ==================

The activity sensors exist per radar and, while the encoder stage runs, per zone; their options
are the label set plus ``none`` (nobody there has an activity). The radar's shows the latest
activity change of anyone it tracks, a zone's the activity of the person in it who changed last
(:mod:`runtime.inference.stage`).

``last_answer`` (only when the daemon answers questions) shows the latest answer, cut to Home
Assistant's 255-character state limit; its attributes (the message's JSON) hold the question, who
asked and the time range the answer covers.

Units: Home Assistant has no device class for heart or breathing rate, so any unit string works;
``bpm`` and ``br/min`` are what Home Assistant's own Withings integration uses, so long-term statistics
of mmfm line up with those of a wearable. Entities are available only while both the daemon
(``<prefix>/available``, the main connection's last will) and the radar's pipeline
(``<prefix>/<radar>/available``, the last will of the radar's own availability connection) say
``online`` (``availability_mode: all``). A killed daemon turns both offline through the broker's
wills, so other MQTT clients that read only the radar topic see the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runtime.comms.settings import RadarInfo, topic_slug
from runtime.comms.topics import OFFLINE, ONLINE, MqttTopics
from runtime.events import NO_ACTIVITY

MANUFACTURER = "Texas Instruments"


@dataclass(frozen=True)
class Entity:
    """One Home Assistant entity of a radar (or of the hub)."""

    component: str  # binary_sensor | sensor
    key: str  # the object id's suffix; unique within the radar
    name: str
    state_topic: str
    value_template: str
    extra: dict[str, Any] = field(default_factory=dict)


_BOOL_TEMPLATE = "{{ 'ON' if value_json.value else 'OFF' }}"


class Discovery:
    """Builds discovery messages; publishing them is the MQTT communicator's job.

    Args:
        topics: the communicator's topic layout.
        discovery_prefix: Home Assistant's discovery prefix (``homeassistant``).
        sw_version: mmfm's version (``device.sw_version`` and ``origin``).
        qos: QoS Home Assistant subscribes to the state topics with.
    """

    def __init__(
        self, topics: MqttTopics, discovery_prefix: str, sw_version: str, qos: int = 1
    ) -> None:
        self.topics = topics
        self.prefix = discovery_prefix
        self.node_id = topic_slug(topics.prefix)
        self.sw_version = sw_version
        self.qos = qos

    @property
    def status_topic(self) -> str:
        """Home Assistant's birth/last-will topic (``online`` when it (re)starts)."""
        return f"{self.prefix}/status"

    @property
    def hub_identifier(self) -> str:
        return f"{self.node_id}_hub"

    def config_topic(self, component: str, object_id: str) -> str:
        return f"{self.prefix}/{component}/{self.node_id}/{object_id}/config"

    # -- entities ---------------------------------------------------------------------------------

    @staticmethod
    def _activity(key: str, name: str, topic: str, radar: RadarInfo) -> Entity:
        """An activity sensor: an enum over the labels and ``none`` (nobody has an activity)."""
        extra: dict[str, Any] = {"icon": "mdi:human"}
        if radar.activity_labels:
            extra.update(device_class="enum", options=[*radar.activity_labels, NO_ACTIVITY])
        return Entity("sensor", key, name, topic, "{{ value_json.value }}", extra)

    def radar_entities(self, radar: RadarInfo) -> list[Entity]:
        """Every entity of one radar."""
        t = self.topics
        rid = radar.id
        entities = [
            Entity(
                "binary_sensor",
                "occupancy",
                "Occupancy",
                t.state(rid, "occupancy"),
                _BOOL_TEMPLATE,
                {"device_class": "occupancy"},
            )
        ]
        for zone in radar.zones:
            entities.append(
                Entity(
                    "binary_sensor",
                    f"occupancy_{topic_slug(zone)}",
                    f"{zone} occupancy",
                    t.state(rid, "occupancy", zone),
                    _BOOL_TEMPLATE,
                    {"device_class": "occupancy"},
                )
            )
        entities += [
            Entity(
                "sensor",
                "count",
                "People",
                t.state(rid, "count"),
                "{{ value_json.value }}",
                {"state_class": "measurement", "icon": "mdi:account-multiple"},
            ),
            Entity(
                "sensor",
                "breathing_rate",
                "Breathing rate",
                t.state(rid, "vitals"),
                "{{ value_json.value.breathing_per_min }}",
                {
                    "state_class": "measurement",
                    "unit_of_measurement": "br/min",
                    "suggested_display_precision": 0,
                    "icon": "mdi:lungs",
                },
            ),
            Entity(
                "sensor",
                "heart_rate",
                "Heart rate",
                t.state(rid, "vitals"),
                "{{ value_json.value.heart_per_min }}",
                {
                    "state_class": "measurement",
                    "unit_of_measurement": "bpm",
                    "suggested_display_precision": 0,
                    "icon": "mdi:heart-pulse",
                },
            ),
            Entity(
                "binary_sensor",
                "fall",
                "Fall",
                t.state(rid, "fall"),
                _BOOL_TEMPLATE,
                {"device_class": "problem", "icon": "mdi:human-handsdown"},
            ),
            self._activity("activity", "Activity", t.state(rid, "activity"), radar),
        ]
        if radar.activity_labels:  # the encoder stage runs: an activity sensor per zone too
            entities += [
                self._activity(
                    f"activity_{topic_slug(zone)}",
                    f"{zone} activity",
                    t.state(rid, "activity", zone),
                    radar,
                )
                for zone in radar.zones
            ]
        if radar.answers:
            entities.append(
                Entity(
                    "sensor",
                    "last_answer",
                    "Last answer",
                    t.answer(rid),
                    "{{ value_json.value | string | truncate(250, true) }}",
                    {"icon": "mdi:chat-question"},
                )
            )
        return entities

    # -- payloads ---------------------------------------------------------------------------------

    def _origin(self) -> dict[str, Any]:
        return {"name": "mmfm", "sw_version": self.sw_version}

    def hub_device(self) -> dict[str, Any]:
        name = "mmfm hub" if self.node_id == "mmfm" else f"mmfm hub {self.node_id}"
        return {
            "identifiers": [self.hub_identifier],
            "name": name,
            "manufacturer": "mmfm",
            "model": "mmfm daemon",
            "sw_version": self.sw_version,
        }

    def radar_device(self, radar: RadarInfo) -> dict[str, Any]:
        device: dict[str, Any] = {
            "identifiers": [f"{self.node_id}_{topic_slug(radar.id)}"],
            "name": radar.name,
            "manufacturer": MANUFACTURER,
            "sw_version": self.sw_version,
            "via_device": self.hub_identifier,
        }
        if radar.board:
            device["model"] = radar.board
        return device

    def hub_messages(self) -> list[tuple[str, dict[str, Any]]]:
        """The hub device and its daemon-connectivity entity (online/offline, never unavailable)."""
        object_id = "daemon"
        payload = {
            "name": "Daemon",
            "unique_id": f"{self.node_id}_{object_id}",
            "device_class": "connectivity",
            "entity_category": "diagnostic",
            "state_topic": self.topics.available(),
            "payload_on": ONLINE,
            "payload_off": OFFLINE,
            "qos": self.qos,
            "device": self.hub_device(),
            "origin": self._origin(),
        }
        return [(self.config_topic("binary_sensor", object_id), payload)]

    def radar_messages(self, radar: RadarInfo) -> list[tuple[str, dict[str, Any]]]:
        """``(config topic, payload)`` for every entity of ``radar``."""
        device = self.radar_device(radar)
        availability = [
            {"topic": topic, "payload_available": ONLINE, "payload_not_available": OFFLINE}
            for topic in (self.topics.available(), self.topics.available(radar.id))
        ]
        messages = []
        for entity in self.radar_entities(radar):
            object_id = f"{topic_slug(radar.id)}_{entity.key}"
            payload: dict[str, Any] = {
                "name": entity.name,
                "unique_id": f"{self.node_id}_{object_id}",
                "state_topic": entity.state_topic,
                "value_template": entity.value_template,
                "json_attributes_topic": entity.state_topic,
                "availability": availability,
                "availability_mode": "all",
                "qos": self.qos,
                "device": device,
                "origin": self._origin(),
                **entity.extra,
            }
            messages.append((self.config_topic(entity.component, object_id), payload))
        return messages

    def radar_config_topics(self, radar: RadarInfo) -> list[str]:
        """The config topics of ``radar`` (an empty retained payload on each removes the entity)."""
        return [topic for topic, _ in self.radar_messages(radar)]
