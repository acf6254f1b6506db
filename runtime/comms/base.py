"""The interface every publisher implements; the daemon's app talks only to this.

A publisher with worker threads of its own may also have ``check_threads() -> list[str]``: the
daemon's watchdog calls it every round; it restarts what died and returns the names of dead threads
it could not restart (the daemon then stops with exit status 1). ZeroMQ's request thread and MQTT's
stats thread are watched this way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from runtime.events import Event

#: Returns the daemon's current state as JSON-serialisable data (per radar: occupancy, count, tracks,
#: vitals, stats), for request/reply queries.
StateProvider = Callable[[], dict[str, Any]]


@runtime_checkable
class Communicator(Protocol):
    """A publisher. ``start()`` connects (never the constructor); every publish method is thread-safe
    and never blocks the radar pipeline for long: a publisher that is offline queues (bounded, counted)
    or drops (counted) as its documentation says."""

    name: str

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def set_available(self, radar: str, online: bool) -> None:
        """Announce that a radar's pipeline is up (or down)."""

    def publish_event(self, event: Event) -> None: ...

    def publish_stats(self, radar: str, stats: dict[str, Any]) -> None: ...

    def set_state_provider(self, provider: StateProvider) -> None:
        """Where request/reply queries for the current state are answered from."""

    def stats(self) -> dict[str, int]:
        """The publisher's own counters (sent, queued, dropped, reconnects...)."""
        ...
