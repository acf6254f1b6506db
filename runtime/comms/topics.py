"""The MQTT topic table under one prefix, and the availability payloads.

A leaf module: the MQTT publisher (:mod:`runtime.comms.mqtt`) and Home Assistant discovery
(:mod:`runtime.comms.homeassistant`) both build topics from it. Radar ids and zone names are made
topic-safe with :func:`runtime.comms.settings.topic_slug`. The layout is documented in
:mod:`runtime.comms.mqtt`.
"""

from __future__ import annotations

from dataclasses import dataclass

from runtime.comms.settings import topic_slug as slug
from runtime.events import Event

__all__ = ["OFFLINE", "ONLINE", "MqttTopics"]

#: Payloads of the retained availability topics.
ONLINE = "online"
OFFLINE = "offline"


@dataclass(frozen=True)
class MqttTopics:
    """The topic layout under one prefix (see the module docstring)."""

    prefix: str

    def available(self, radar: str | None = None) -> str:
        """Daemon availability (``radar=None``) or one radar's."""
        return f"{self.prefix}/available" if radar is None else f"{self.radar(radar)}/available"

    def radar(self, radar: str) -> str:
        return f"{self.prefix}/{slug(radar)}"

    def state(self, radar: str, event_type: str, zone: str | None = None) -> str:
        """Where events of ``event_type`` (optionally for ``zone``) are published."""
        topic = f"{self.radar(radar)}/{event_type}"
        return topic if zone is None else f"{topic}/{slug(zone)}"

    def event(self, event: Event) -> str:
        zone = event.attributes.get("zone")
        return self.state(event.radar, event.type, None if zone is None else str(zone))

    def tracks(self, radar: str) -> str:
        return self.state(radar, "tracks")

    def stats(self, radar: str) -> str:
        return f"{self.radar(radar)}/stats"

    def ask(self, radar: str) -> str:
        """Inbound questions (reserved; subscribed once the mm-LLM answers them)."""
        return f"{self.radar(radar)}/ask"

    def answer(self, radar: str) -> str:
        """Answers for MQTT 3.1.1 askers (MQTT 5 askers get theirs on their response topic)."""
        return self.state(radar, "answer")
