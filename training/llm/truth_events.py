"""The daemon's event log, rebuilt from simulator ground truth (the mm-LLM's text context).

At run time the daemon formats its event log with :func:`runtime.llm.context.format_context`; for
training, this module makes the :class:`runtime.events.Event` s the daemon *would* have logged for
an episode, so the model sees the same kind of text. What it logs (and therefore what the context may
state) is only what DSP and the logged history know:

- ``count`` and ``tracks``: the people (the tracker; everyone, as the kinematic window shows everyone
  in front of the radar), positions in the radar frame [m], track ids 1, 2, ... in truth order, and
  the zone (the person's room type, as a daemon zone per room would name it);
- ``fall``: a fall in a person's timeline (the fall detector), at its start;
- ``vitals``: breathing and heart rates of a still, visible person
  (:func:`training.llm.instructions.vitals_measurable`; the rates are the truth's) [1/min];
- ``activity``: only *earlier* activities (timeline segments that ended before the window began):
  the activity during the window is what the radar tokens show, never written in the context.

Two views (:data:`CONTEXT_MODES`): ``"full"`` (all of the above up to the end of the window) and
``"history"`` (only what was logged before the window began: earlier activities and falls, no count,
tracks or vitals of the window). Training mixes both so the model learns to read the radar tokens when
the context does not state the answer; the evaluation's radar-only questions use ``"history"``.

Times: the window ends at ``now`` = :data:`EPOCH` + the window's end [s since the epoch].

How to run: ``python -m training.llm.truth_events`` prints the context of a few episodes.
"""

from __future__ import annotations

from typing import Any

from runtime.events import Event
from runtime.llm.context import format_context, room_words
from training.llm.instructions import vitals_measurable

#: Arbitrary epoch of episode time 0 [s since 1970]; contexts only show relative times.
EPOCH = 1_800_000_000.0
#: Radar id written in the events.
RADAR_ID = "sim"
CONTEXT_MODES = ("full", "history")
#: Words the daemon logs for each simulator activity (the CLMP "home" label set's).
ACTIVITY_LABELS = {
    "walk": "walking",
    "stand": "standing",
    "sit": "sitting",
    "sit_down": "sitting down",
    "stand_up": "standing up",
    "lie_down": "lying down",
    "sleep": "sleeping",
    "fall": "falling",
    "get_up": "getting up from the floor",
    "wave": "waving",
    "boxing": "boxing",
    "jumping_jacks": "jumping jacks",
    "jump": "jumping",
    "squats": "squats",
    "typing": "typing",
    "swipe_left": "swiping left",
    "swipe_right": "swiping right",
    "push": "push gesture",
    "pull": "pull gesture",
    "circle": "circle gesture",
}


def window_bounds(truth: dict[str, Any]) -> tuple[float, float]:
    """The window's (start, end) [s, episode time]."""
    w = truth["window"]
    start = float(w["start_s"])
    return start, start + float(w["duration_s"])


def episode_now(truth: dict[str, Any]) -> float:
    """The question time: the end of the window [s since the epoch]."""
    return EPOCH + window_bounds(truth)[1]


def truth_events(truth: dict[str, Any], mode: str = "full") -> list[Event]:
    """Events the daemon would have logged up to the end of the window (module docstring).

    Args:
        truth: an episode's (or dataset sample's) truth.
        mode: one of :data:`CONTEXT_MODES`.
    """
    if mode not in CONTEXT_MODES:
        raise ValueError(f"unknown context mode {mode!r}; known: {', '.join(CONTEXT_MODES)}")
    start, end = window_bounds(truth)
    cut = start if mode == "history" else end
    out: list[Event] = []
    for k, p in enumerate(truth.get("people", [])):
        tid = k + 1
        for seg in p.get("timeline") or []:
            a, b, act = float(seg["start_s"]), float(seg["end_s"]), str(seg["activity"])
            if act == "fall" and a < cut:
                out.append(Event("fall", EPOCH + a, True, 0.9, RADAR_ID, {"track_id": tid}))
            if b <= start and act in ACTIVITY_LABELS:
                # logged once the activity tracker settled (1 s in, or halfway if shorter)
                t = EPOCH + a + min(1.0, 0.5 * (b - a))
                out.append(Event("activity", t, ACTIVITY_LABELS[act], 0.8, RADAR_ID))
    if mode == "full":
        # everyone the kinematic radar window shows (it has no field-of-view cut)
        seen = list(enumerate(truth.get("people", []), start=1))
        t = EPOCH + end
        out.append(Event("count", t - 1.0, len(seen), 0.9, RADAR_ID))
        tracks = [
            {"id": tid, "position": [float(p["position_radar"][0]), float(p["position_radar"][1])]}
            | ({"zone": str(p["room_type"]).replace("_", " ")} if p.get("room_type") else {})
            for tid, p in seen
        ]
        out.append(Event("tracks", t, tracks, 1.0, RADAR_ID))
        for tid, p in seen:
            ok, _ = vitals_measurable(p)
            if ok:
                value = {
                    "breathing_per_min": float(p["breathing_per_min"]),
                    "heart_per_min": float(p["heart_per_min"]),
                }
                out.append(Event("vitals", t, value, 0.8, RADAR_ID, {"track_id": tid}))
    return sorted(out, key=lambda e: e.time)


#: Scene objects that are not furniture (never listed in the ``Room:`` line).
NOT_FURNITURE = frozenset({"door", "window", "wall", "floor", "ceiling"})


def truth_room(truth: dict[str, Any]) -> str | None:
    """The ``Room:`` line's text (:func:`runtime.llm.context.room_words`) of the truth's room: type,
    floor size and furniture; per room for a home of several rooms (the furniture the daemon's zones
    would name; static, so both context views carry it)."""
    room = truth.get("room") or {}
    objs = [o for o in room.get("objects", []) if o.get("label") not in NOT_FURNITURE]
    named = {r.get("name"): r.get("room_type") for r in room.get("rooms", []) if r.get("room_type")}
    types = list(dict.fromkeys(named.values()))
    if len(types) > 1:
        rooms = [
            (rt, [str(o["label"]) for o in objs if named.get(o.get("room")) == rt]) for rt in types
        ]
        return room_words(None, room.get("size_m"), rooms=rooms)
    rt = room.get("room_type") or (types[0] if types else None)
    return room_words(rt, room.get("size_m"), [str(o["label"]) for o in objs])


def truth_context(truth: dict[str, Any], mode: str = "full") -> str:
    """:func:`runtime.llm.context.format_context` of :func:`truth_events` at the window's end, with
    the room line (:func:`truth_room`)."""
    return format_context(truth_events(truth, mode), episode_now(truth), room=truth_room(truth))


def main() -> int:
    """Print both context views of three episodes (seed 5)."""
    from runtime.models import load_model
    from training.llm.episodes import make_episode

    contract = load_model("clmp-points-v2").input_contract
    for i in range(3):
        ep = make_episode(5, i, contract)
        for mode in CONTEXT_MODES:
            print(f"--- {ep.id} {mode}\n{truth_context(ep.truth, mode)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
