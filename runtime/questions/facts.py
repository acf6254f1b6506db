"""What a question is answered from: the logged events of its time range and one radar window.

:func:`gather` reads, for the question's :class:`~runtime.questions.timerange.TimeRange`:

- the events logged in the range (the newest ``max_events``), plus the latest event of each state
  type (count, occupancy, vitals, activity, fall) from *before* the range, so that "how many people
  are in the room?" is answered from the count that still holds although it changed an hour ago;
- the live tracks from the daemon's state (``tracks`` events are not logged by default) as one
  ``tracks`` event at ``now``, so the context's "Now:" line has positions;
- one CLMP window embedding ``[D]`` from the embedding log: the latest of the range, or the one
  nearest the question text (``window: nearest``), or none.

The events are then formatted by the LLM's answerer with :func:`runtime.llm.context.format_context`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from runtime.embeddinglog import EmbeddingLog
from runtime.eventlog import EventLog
from runtime.events import Event
from runtime.questions.timerange import TimeRange

__all__ = ["CARRIED_TYPES", "Facts", "gather"]

logger = logging.getLogger(__name__)

#: State types whose latest value from before the range is carried into it.
CARRIED_TYPES = ("count", "occupancy", "vitals", "activity", "fall")


@dataclass(frozen=True)
class Facts:
    """What one question is answered from.

    Attributes:
        events: events, oldest first (logged in range, carried in, live tracks).
        embedding: float32 ``[D]`` window embedding, or None.
        window_time: the window's end time [s since the epoch], or None.
        logged: how many of ``events`` came from the log within the range.
    """

    events: list[Event]
    embedding: np.ndarray | None
    window_time: float | None
    logged: int


def gather(
    trange: TimeRange,
    *,
    radar: str | None,
    event_log: EventLog | None,
    embedding_log: EmbeddingLog | None,
    state: dict[str, Any] | None = None,
    max_events: int = 400,
    window: str = "latest",
    query: Callable[[], np.ndarray | None] | None = None,
) -> Facts:
    """The facts for a question over ``trange`` about ``radar`` (None = every radar).

    Args:
        trange: the question's time range.
        radar: the radar asked about, or None for all.
        event_log / embedding_log: the daemon's logs (None = not kept).
        state: :meth:`runtime.app.App.state` (live tracks), or None.
        max_events: most events read from the range (the newest).
        window: ``latest``, ``nearest`` (uses ``query``) or ``none``.
        query: returns the question's text embedding ``[D]`` (or None when it has none).
    """
    events: list[Event] = []
    logged = 0
    if event_log is not None:
        in_range = event_log.query(
            radar=radar, since=trange.since, until=trange.until + 1e-3, limit=max_events
        )
        logged = len(in_range)
        for kind in CARRIED_TYPES:
            events += event_log.query(radar=radar, type=kind, until=trange.since, limit=1)
        events += in_range
    if state is not None:
        for rid, rs in (state.get("radars") or {}).items():
            if radar is not None and rid != radar:
                continue
            tracks = rs.get("tracks") if isinstance(rs, dict) else None
            if tracks:
                when = float(state.get("time", trange.until))
                events.append(Event("tracks", min(when, trange.until), tracks, 1.0, rid))
    events.sort(key=lambda e: e.time)
    embedding, window_time = None, None
    if embedding_log is not None and window != "none":
        vector = None
        if window == "nearest" and query is not None:
            try:
                vector = query()
            except Exception as exc:  # no text tower, a tokenizer missing: use the latest
                logger.debug("questions: no text embedding for the question (%s)", exc)
        hit = embedding_log.window(
            vector, since=trange.since, until=trange.until + 1e-3, radar=radar
        )
        if hit is not None:
            window_time, embedding = hit
    return Facts(events, embedding, window_time, logged)
