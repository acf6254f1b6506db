"""A publisher that hands everything to a consumer in this process through a queue.

``mmfm demo`` prints the events it receives this way, and the daemon's end-to-end tests read them;
it implements :class:`runtime.comms.base.Communicator` like MQTT and ZeroMQ, so the daemon runs
unchanged. Nothing leaves the process and nothing is dropped (the queue is unbounded: the consumer
drains it while the daemon runs).

Queue items: ``("event", Event)`` and ``("available", radar, online, time [s since the epoch])``.
"""

from __future__ import annotations

import queue
import time
from collections import Counter
from typing import Any

from runtime.comms.base import StateProvider
from runtime.events import Event

__all__ = ["ConsolePublisher"]


class ConsolePublisher:
    """Events and availability changes into :attr:`events`; :attr:`counts` per event type."""

    name = "console"

    def __init__(self) -> None:
        self.events: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self.counts: Counter[str] = Counter()

    def start(self) -> None:
        """Nothing to connect."""

    def stop(self) -> None:
        """Nothing to release."""

    def set_available(self, radar: str, online: bool) -> None:
        self.events.put(("available", radar, online, time.time()))

    def publish_event(self, event: Event) -> None:
        self.counts[event.type] += 1
        self.events.put(("event", event))

    def publish_stats(self, radar: str, stats: dict[str, Any]) -> None:
        """Stats are not passed on (the consumer asks the app for them)."""

    def set_state_provider(self, provider: StateProvider) -> None:
        """Nothing queries this publisher."""

    def stats(self) -> dict[str, int]:
        """Events handed over, per type."""
        return dict(self.counts)
