"""The mm-LLM's structured context: what the daemon logged, as a compact text beside the soft tokens.

The radar window (soft tokens) shows the LLM a few seconds of motion; questions about counts, falls,
time ranges and vital rates need what the daemon *logged*. :func:`format_context` turns a list of
:class:`runtime.events.Event` (from the event log, or built from simulator ground truth for training)
into a few short lines that the prompt carries after ``Context:`` (:mod:`runtime.llm.chat`)::

    Room: living room, 4.2 x 3.6 m; sofa, tv, 2 chairs.
    Now: 2 people. Person 1: 2.1 m, 20 deg left, zone sofa. Person 2: 3.4 m, ahead.
    Vitals: person 1 breathing 14/min, heart 68/min.
    Log: 5 min ago fall (person 1, zone kitchen); 3 min ago 2 people; 40 s ago person 1 sitting.

The ``Room:`` line (optional, :func:`room_words`) is the static layout: the room type and size and the
furniture (training: the simulator's room; the daemon: its configured zones), so layout and location
questions are grounded too.

Training (``training/llm``) and the daemon call this same function, so the two never drift apart: a
change here changes what the model was trained on (bump :data:`CONTEXT_VERSION`).

Conventions: positions are the radar frame of the ``tracks`` events (``x`` lateral, positive to the
radar's right; ``y`` along boresight) [m]; times are relative to ``now`` [s since the epoch]; ids
are the tracker's. Refresh copies (``attributes["refresh"]``) and ``answer`` events are skipped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from runtime.events import Event

#: Version of the text layout; recorded in mm-LLM cards (a model trained on another layout is refused).
CONTEXT_VERSION = "2"
#: Most log entries shown (the newest; falls are always kept).
MAX_LOG_ENTRIES = 12


def ago_words(seconds: float) -> str:
    """``"40 s ago"``, ``"5 min ago"``, ``"2 h ago"`` (rounded down; under 1 s is ``"now"``)."""
    s = max(0.0, float(seconds))
    if s < 1.0:
        return "now"
    if s < 90.0:
        return f"{int(s)} s ago"
    if s < 90.0 * 60.0:
        return f"{int(s // 60)} min ago"
    return f"{int(s // 3600)} h ago"


def side_words(x: float, y: float) -> str:
    """Bearing from boresight in words: ``"ahead"`` within 10 deg, else ``"25 deg left|right"``."""
    deg = math.degrees(math.atan2(float(x), max(float(y), 1e-6)))
    if abs(deg) < 10.0:
        return "ahead"
    return f"{abs(round(deg))} deg {'right' if deg > 0 else 'left'}"


def _person(track_id: Any) -> str:
    return "a person" if track_id is None else f"person {track_id}"


def _track_line(track: dict[str, Any]) -> str:
    x, y = (float(v) for v in track.get("position", (0.0, 0.0))[:2])
    words = f"Person {track.get('id')}: {math.hypot(x, y):.1f} m, {side_words(x, y)}"
    if track.get("zone"):
        words += f", zone {track['zone']}"
    if track.get("activity"):
        words += f", {track['activity']}"
    return words


def _vitals_words(ev: Event) -> str | None:
    value = ev.value if isinstance(ev.value, dict) else {}
    parts = []
    if value.get("breathing_per_min") is not None:
        parts.append(f"breathing {round(float(value['breathing_per_min']))}/min")
    if value.get("heart_per_min") is not None:
        parts.append(f"heart {round(float(value['heart_per_min']))}/min")
    if not parts:
        return None
    return f"{_person(ev.attributes.get('track_id'))} " + ", ".join(parts)


def _log_words(ev: Event) -> str | None:
    """One log entry without its time, or None for events the log does not show."""
    where = f", zone {ev.attributes['zone']}" if ev.attributes.get("zone") else ""
    who = _person(ev.attributes.get("track_id"))
    if ev.type == "fall":
        return f"fall ({who}{where})" if ev.value else f"{who} up again{where}"
    if ev.type == "count":
        n = int(ev.value)
        return f"{n} {'person' if n == 1 else 'people'}"
    if ev.type == "occupancy":
        state = "occupied" if ev.value else "empty"
        return f"zone {ev.attributes['zone']} {state}" if where else f"room {state}"
    if ev.type == "activity":
        return f"{who} {ev.value}{where}"
    return None


def _counted(labels: Sequence[str]) -> str:
    """``["chair", "sofa", "chair"]`` -> ``"2 chairs, sofa"`` (first-seen order)."""
    counts: dict[str, int] = {}
    for lab in labels:
        w = str(lab).replace("_", " ").strip()
        if w:
            counts[w] = counts.get(w, 0) + 1
    return ", ".join(w if n == 1 else f"{n} {w}s" for w, n in counts.items())


def room_words(
    room_type: str | None = None,
    size_m: Sequence[float] | None = None,
    furniture: Sequence[str] = (),
    *,
    rooms: Sequence[tuple[str, Sequence[str]]] = (),
) -> str | None:
    """The layout text of the ``Room:`` line (without the prefix), or None when nothing is known.

    Args:
        room_type: e.g. ``"living_room"`` (underscores become spaces).
        size_m: the floor's width and depth (and height) [m].
        furniture: furniture or zone names (repeats are counted: ``"2 chairs"``).
        rooms: for a home of several rooms, ``(room type, its furniture)`` each; then written as
            ``"kitchen (table, fridge); living room (sofa)"`` after the size.

    Examples: ``"living room, 4.2 x 3.6 m; sofa, tv, 2 chairs"``, ``"zones sofa, kitchen"``.
    """
    head = []
    if room_type:
        head.append(str(room_type).replace("_", " "))
    if size_m is not None and len(size_m) >= 2:
        head.append(f"{float(size_m[0]):.1f} x {float(size_m[1]):.1f} m")
    parts = [", ".join(head)] if head else []
    if rooms:
        parts += [
            f"{str(rt).replace('_', ' ')} ({_counted(f) or 'empty'})" for rt, f in rooms if rt
        ]
    elif furniture:
        parts.append(_counted(furniture))
    text = "; ".join(p for p in parts if p)
    return text or None


def zones_words(zones: Sequence[str]) -> str | None:
    """The ``Room:`` text of a radar's configured zone names (the daemon's layout knowledge):
    ``["sofa", "kitchen"]`` -> ``"zones sofa, kitchen"``; None when there is none."""
    names = [str(z).replace("_", " ").strip() for z in zones if str(z).strip()]
    return f"zones {', '.join(names)}" if names else None


def format_context(
    events: Sequence[Event],
    now: float,
    *,
    max_log_entries: int = MAX_LOG_ENTRIES,
    room: str | None = None,
) -> str:
    """The context text for a question asked at ``now`` about ``events`` (any order).

    Args:
        events: logged events up to ``now`` (later ones are ignored); any radar.
        now: the time of the question [s since the epoch].
        max_log_entries: most log entries shown (the newest; every fall is kept).
        room: the layout (:func:`room_words`), shown first as ``Room: ...``; None: no such line
            (the layout of version 1).

    Returns:
        Up to four lines (``Room:``, ``Now:``, ``Vitals:``, ``Log:``); the ``Now:`` line says
        ``"nothing logged."`` when there is no event at all.
    """
    head = [f"Room: {room.strip().rstrip('.')}."] if room and room.strip() else []
    return "\n".join([*head, _event_lines(events, now, max_log_entries)])


def _event_lines(events: Sequence[Event], now: float, max_log_entries: int) -> str:
    evs = sorted(
        (e for e in events if e.time <= now and not e.attributes.get("refresh")),
        key=lambda e: e.time,
    )
    if not evs:
        return "Now: nothing logged."
    counts = [e for e in evs if e.type == "count"]
    tracks = [e for e in evs if e.type == "tracks"]
    now_parts = []
    if counts:
        n = int(counts[-1].value)
        now_parts.append(f"{n} {'person' if n == 1 else 'people'}.")
    if tracks and tracks[-1].value:
        now_parts += [_track_line(t) + "." for t in tracks[-1].value]
    lines = ["Now: " + (" ".join(now_parts) if now_parts else "no count logged.")]
    latest_vitals: dict[Any, Event] = {}
    for e in evs:
        if e.type == "vitals":
            latest_vitals[e.attributes.get("track_id")] = e
    vit = [w for e in latest_vitals.values() if (w := _vitals_words(e))]
    if vit:
        lines.append("Vitals: " + "; ".join(vit) + ".")
    entries = [(e, w) for e in evs if (w := _log_words(e))]  # oldest first
    cut = max(len(entries) - max_log_entries, 0) if max_log_entries > 0 else len(entries)
    shown = [x for x in entries[:cut] if x[0].type == "fall"] + entries[cut:]
    if shown:
        lines.append("Log: " + "; ".join(f"{ago_words(now - e.time)} {w}" for e, w in shown) + ".")
    return "\n".join(lines)
