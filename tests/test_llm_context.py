"""The mm-LLM's context text (runtime.llm.context): what training and the daemon both feed the LLM."""

from __future__ import annotations

from runtime.events import Event
from runtime.llm.context import ago_words, format_context, room_words, side_words


def ev(kind: str, t: float, value, **attrs) -> Event:
    return Event(kind, t, value, 1.0, "r1", attrs)


def test_ago_and_side_words() -> None:
    assert ago_words(0.4) == "now"
    assert ago_words(40) == "40 s ago"
    assert ago_words(300) == "5 min ago"
    assert ago_words(7300) == "2 h ago"
    assert side_words(0.0, 2.0) == "ahead"
    assert side_words(1.0, 1.0) == "45 deg right"
    assert side_words(-1.0, 1.0) == "45 deg left"


def test_context_lines_from_logged_events() -> None:
    now = 1000.0
    events = [
        ev("count", 700.0, 1),
        ev("fall", 700.0, True, track_id=1, zone="kitchen"),
        ev("count", 820.0, 2),
        ev(
            "tracks",
            990.0,
            [{"id": 1, "position": [-0.73, 2.0, 1.0]}, {"id": 2, "position": [0, 3.4, 1]}],
        ),
        ev(
            "vitals",
            995.0,
            {"breathing_per_min": 14.2, "heart_per_min": 68.4, "quality": 9},
            track_id=1,
        ),
        ev("activity", 960.0, "sitting", track_id=1),
        ev("count", 999.0, 3, refresh=True),  # refresh copies are not news
        ev("count", 1500.0, 5),  # after the question: ignored
    ]
    text = format_context(events, now)
    lines = text.splitlines()
    assert lines[0] == "Now: 2 people. Person 1: 2.1 m, 20 deg left. Person 2: 3.4 m, ahead."
    assert lines[1] == "Vitals: person 1 breathing 14/min, heart 68/min."
    assert lines[2] == (
        "Log: 5 min ago 1 person; 5 min ago fall (person 1, zone kitchen); 3 min ago 2 people; "
        "40 s ago person 1 sitting."
    )


def test_old_falls_are_kept_when_the_log_is_cut() -> None:
    events = [ev("fall", 10.0, True, track_id=4)] + [
        ev("count", 100.0 + i, i % 3) for i in range(30)
    ]
    text = format_context(events, 200.0, max_log_entries=3)
    log = text.splitlines()[-1]
    assert log.startswith("Log: 3 min ago fall (person 4)")
    assert log.count(";") == 3


def test_empty_log() -> None:
    assert format_context([], 5.0) == "Now: nothing logged."


def test_room_line_comes_first_and_is_optional() -> None:
    room = room_words("living_room", (4.23, 3.6, 2.5), ["sofa", "chair", "tv", "chair"])
    assert room == "living room, 4.2 x 3.6 m; sofa, 2 chairs, tv"
    events = [ev("count", 4.0, 1)]
    text = format_context(events, 5.0, room=room)
    assert text.splitlines()[:2] == [
        "Room: living room, 4.2 x 3.6 m; sofa, 2 chairs, tv.",
        "Now: 1 person.",
    ]
    assert format_context(events, 5.0) == text.split("\n", 1)[1]  # no room: version 1's layout
    assert format_context([], 5.0, room="zones sofa, desk") == (
        "Room: zones sofa, desk.\nNow: nothing logged."
    )
    home = room_words(None, (8.0, 5.0), rooms=[("kitchen", ["table", "fridge"]), ("bedroom", [])])
    assert home == "8.0 x 5.0 m; kitchen (table, fridge); bedroom (empty)"
    assert room_words() is None
