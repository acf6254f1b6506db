"""Captions from ground truth: several granularities, template + paraphrase diversity, reproducible.

:func:`make_captions` reads a *truth* dict (what ``sim.dataset`` stores as a sample's ``truth``) and
returns ``[{"granularity": ..., "text": ...}, ...]``. Nothing is read from the radar data: every
statement is a function of the truth, and a statement is only made when the truth holds the fact
(no room -> no context caption, no vital rates -> no vitals caption).

Granularities (:data:`GRANULARITIES`):

- ``activity``: "a person is doing squats"; several people: "one person is walking and another is
  waving".
- ``context``: "an elderly woman is sitting on the sofa near the window" (subject, posture, the object
  the person rests on, the nearest other object, the room type).
- ``count_position``: "two people; one about 2 m in front of the radar, slightly to the left, ...".
- ``motion``: "walking toward the radar at about 1.2 m/s" (bulk velocity relative to the radar).
- ``signal``: "strong micro-Doppler around 2 Hz" (limb speeds relative to the body, their dominant
  frequency).
- ``vitals``: "breathing at about 14 breaths per minute, heart rate about 68 beats per minute".
- ``summary``: one sentence joining activity, context and motion.

A person the radar barely sees (``line_of_sight`` below :data:`MOSTLY_HIDDEN_BELOW`, e.g. walking
behind an open door leaf) gets no ``signal`` and no ``vitals`` caption (the radar holds no echo to
measure them from), and their context caption says so: "a person is walking in the bedroom, mostly
hidden from the radar behind the door".

Truth schema (only what captions read; extra keys are ignored)::

    {"room": {"room_type": "living_room", "objects": [{"label": "sofa", "position": [x, y]}, ...]},
     "people": [{"subject": {"age_group": "elderly", "sex": "female"},
                 "activity": "sit",                     # dominant activity in the window
                 "activities": ["sit_down", "sit"],     # all activities in the window, in order
                 "position_world": [x, y, z],           # pelvis, window mean [m]
                 "position_radar": [x, y, z],           # x right, y boresight, z up [m]
                 "radial_velocity_mps": -1.1,           # d(range)/dt, + = away [m/s]
                 "speed_mps": 1.2,                      # horizontal pelvis speed [m/s]
                 "lateral_velocity_mps": 0.1,           # radar-frame x velocity [m/s]
                 "support": "sofa",                     # object sat/lain on, or None
                 "place": {"relation": "near", "object": "window"},  # asked place (optional)
                 "room_type": "living_room",            # room the person is in (else the scene's)
                 "micro_doppler": {"limb_speed_mps": 1.3, "dominant_hz": 2.1},
                 "breathing_per_min": 14.2, "heart_per_min": 68.0,
                 "line_of_sight": 1.0,                  # share of joints in direct view (absent: 1)
                 "occluded_by": None}]}                 # label of what hides the rest, or None

Paraphrases are drawn from ``numpy.random.default_rng(seed)``: the same truth and seed give the same
captions; different seeds usually give different wordings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

GRANULARITIES = ("activity", "context", "count_position", "motion", "signal", "vitals", "summary")

#: Verb phrases per activity (present participle), several paraphrases each.
ACTIVITY_PHRASES: dict[str, tuple[str, ...]] = {
    "walk": ("walking", "walking around", "taking a walk across the room"),
    "stand": ("standing still", "standing", "standing in place"),
    "sit": ("sitting", "sitting still", "seated"),
    "sit_down": ("sitting down", "taking a seat"),
    "stand_up": ("standing up", "getting up from a seat"),
    "lie_down": ("lying down", "lying down to rest"),
    "sleep": ("sleeping", "lying still, asleep", "asleep"),
    "fall": ("falling", "falling to the floor", "collapsing to the floor"),
    "get_up": ("getting up from the floor", "getting back up"),
    "wave": ("waving", "waving a hand", "waving hello"),
    "boxing": ("boxing", "throwing punches", "shadow boxing"),
    "jumping_jacks": ("doing jumping jacks", "doing star jumps"),
    "jump": ("jumping", "jumping up and down", "jumping in place"),
    "squats": ("doing squats", "squatting up and down", "doing a set of squats"),
    "typing": ("typing", "typing on a keyboard"),
    "swipe_left": ("swiping left", "making a swipe-left gesture"),
    "swipe_right": ("swiping right", "making a swipe-right gesture"),
    "push": ("making a push gesture", "pushing a hand forward"),
    "pull": ("making a pull gesture", "pulling a hand back"),
    "circle": ("drawing a circle in the air", "making a circle gesture"),
    "swipe_up": ("swiping up", "making a swipe-up gesture"),
    "swipe_down": ("swiping down", "making a swipe-down gesture"),
    "circle_clockwise": ("drawing a clockwise circle in the air", "circling a hand clockwise"),
    "circle_counterclockwise": (
        "drawing a counter-clockwise circle in the air",
        "circling a hand counter-clockwise",
    ),
    "both_arm_raise": ("raising both arms", "lifting both arms overhead"),
    "left_arm_raise": ("raising the left arm", "lifting the left arm overhead"),
    "right_arm_raise": ("raising the right arm", "lifting the right arm overhead"),
    "both_arm_extension": ("extending both arms", "pushing both arms out to the sides"),
    "left_arm_extension": ("extending the left arm", "pushing the left arm out to the side"),
    "right_arm_extension": ("extending the right arm", "pushing the right arm out to the side"),
    "left_leg_extension": ("extending the left leg", "lifting the left leg straight"),
    "right_leg_extension": ("extending the right leg", "lifting the right leg straight"),
    "front_lunge_left": ("lunging forward on the left leg", "doing front lunges with the left leg"),
    "front_lunge_right": (
        "lunging forward on the right leg",
        "doing front lunges with the right leg",
    ),
    "side_lunge_left": ("lunging to the left side", "doing side lunges to the left"),
    "side_lunge_right": ("lunging to the right side", "doing side lunges to the right"),
    "sit_to_stand": ("doing sit-to-stands", "rising from the seat and sitting back down"),
    "stretching": ("stretching", "doing a stretching routine"),
    "cooking": ("cooking", "cooking at the counter", "stirring a pot"),
    "vacuuming": ("vacuuming", "vacuuming the floor", "hoovering"),
    "get_into_bed": ("getting into bed", "climbing into bed"),
    "get_out_of_bed": ("getting out of bed", "climbing out of bed"),
    "reading": ("reading", "reading a book"),
}
#: Posture word per activity, for context captions.
POSTURE: dict[str, str] = {
    "walk": "walking",
    "stand": "standing",
    "sit": "sitting",
    "sit_down": "sitting down",
    "stand_up": "getting up",
    "typing": "sitting",
    "lie_down": "lying down",
    "sleep": "lying",
    "fall": "falling",
    "get_up": "getting up",
}
_SITTING = {"sit", "sit_down", "typing", "reading", "sit_to_stand"}
_LYING = {"sleep", "lie_down"}
_NUMBERS = ("no", "one", "two", "three", "four", "five", "six")

#: Limb speed (rms, relative to the pelvis) thresholds [m/s] of the micro-Doppler strength words.
MICRO_DOPPLER_LEVELS = ((1.0, "strong"), (0.4, "moderate"), (0.1, "weak"))
#: Below this horizontal speed [m/s] a person is described as staying in place.
MOVING_SPEED_MPS = 0.3
#: Below this ``line_of_sight`` (share of joints the radar sees directly) a person is mostly hidden:
#: no signal or vitals caption, a note in the context caption. The scenario sampler's threshold too
#: (``sim.dataset.scenario.MIN_LINE_OF_SIGHT``).
MOSTLY_HIDDEN_BELOW = 0.25


def _pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _number(n: int) -> str:
    return _NUMBERS[n] if 0 <= n < len(_NUMBERS) else str(n)


def _room_words(room_type: str | None) -> str | None:
    return None if not room_type else room_type.replace("_", " ")


def _label_words(label: str) -> str:
    return label.replace("_", " ")


def subject_noun(subject: dict[str, Any] | None, rng: np.random.Generator) -> str:
    """'an elderly woman', 'a child', 'a man', 'a person'... from the subject's age group and sex."""
    if not subject:
        return "a person"
    age, sex = subject.get("age_group"), subject.get("sex")
    gendered = {"female": "woman", "male": "man"}.get(str(sex))
    if age == "child":
        options = ["a child"] + ([{"female": "a girl", "male": "a boy"}[sex]] if gendered else [])
    elif age == "elderly":
        options = ["an elderly person", "an older person"]
        if gendered:
            options += [f"an elderly {gendered}", f"an older {gendered}"]
    else:
        options = ["a person", "someone"] + ([f"a {gendered}"] * 2 if gendered else [])
    return _pick(rng, options)


def activity_phrase(activity: str, rng: np.random.Generator) -> str:
    """A paraphrase of ``activity`` as a present participle ("doing squats")."""
    if activity not in ACTIVITY_PHRASES:
        raise ValueError(f"no caption phrase for activity {activity!r}")
    return _pick(rng, ACTIVITY_PHRASES[activity])


def _activities_phrase(person: dict[str, Any], rng: np.random.Generator) -> str:
    acts = [a for a in person.get("activities") or [person["activity"]] if a in ACTIVITY_PHRASES]
    acts = list(dict.fromkeys(acts)) or [person["activity"]]
    if len(acts) == 1:
        return activity_phrase(acts[0], rng)
    phrases = [activity_phrase(a, rng) for a in acts[:3]]
    return ", then ".join(phrases)


# ---------------------------------------------------------------------------------------- geometry
def direction_words(x_m: float, y_m: float) -> str:
    """Where a point in the radar frame lies: 'straight ahead', 'slightly to the left', 'to the right'.

    Radar frame: x right, y boresight. Azimuth = atan2(x, y): |az| < 10 deg straight ahead, < 30 deg
    slightly to one side, else to that side.
    """
    az = float(np.degrees(np.arctan2(x_m, y_m)))
    side = "right" if az > 0 else "left"
    if abs(az) < 10.0:
        return "straight ahead"
    if abs(az) < 30.0:
        return f"slightly to the {side}"
    return f"to the {side}"


def distance_words(r_m: float) -> str:
    """'about 2 m' (rounded to 0.5 m; 'less than 1 m' below 0.75 m)."""
    if r_m < 0.75:
        return "less than 1 m"
    r = round(r_m * 2.0) / 2.0
    return f"about {r:g} m"


def speed_words(v_mps: float) -> str:
    """'about 1.2 m/s' (one decimal)."""
    return f"about {abs(v_mps):.1f} m/s"


def _range_xy(person: dict[str, Any]) -> tuple[float, float, float]:
    x, y, z = (float(v) for v in person["position_radar"])
    return x, y, float(np.sqrt(x * x + y * y + z * z))


def nearest_object(
    room: dict[str, Any] | None,
    position: Sequence[float],
    *,
    exclude: set[str] | frozenset[str] = frozenset(),
    max_distance_m: float = 1.5,
) -> str | None:
    """Label of the room object whose centre is nearest to ``position`` (x, y) within
    ``max_distance_m`` [m], skipping labels in ``exclude``; None when there is none."""
    if not room:
        return None
    best, best_d = None, max_distance_m
    for obj in room.get("objects", []):
        label = obj.get("label")
        if not label or label in exclude or label in ("wall", "floor", "ceiling"):
            continue
        ox, oy = float(obj["position"][0]), float(obj["position"][1])
        d = float(np.hypot(ox - float(position[0]), oy - float(position[1])))
        if d < best_d:
            best, best_d = label, d
    return best


def mostly_hidden(person: dict[str, Any]) -> bool:
    """Whether the radar sees less than :data:`MOSTLY_HIDDEN_BELOW` of the person directly."""
    return float(person.get("line_of_sight", 1.0)) < MOSTLY_HIDDEN_BELOW


def hidden_words(person: dict[str, Any]) -> str | None:
    """'mostly hidden from the radar behind the door' for a mostly hidden person, else None."""
    if not mostly_hidden(person):
        return None
    by = person.get("occluded_by")
    if not by:
        return "mostly hidden from the radar"
    if by == "person":
        return "mostly hidden from the radar behind another person"
    article = "a" if by == "wall" else "the"
    return f"mostly hidden from the radar behind {article} {_label_words(by)}"


def micro_doppler_level(limb_speed_mps: float) -> str | None:
    """'strong', 'moderate', 'weak' or None (no micro-Doppler to speak of)."""
    for threshold, word in MICRO_DOPPLER_LEVELS:
        if limb_speed_mps >= threshold:
            return word
    return None


# ---------------------------------------------------------------------------------------- captions
def _caption_activity(people: list[dict[str, Any]], rng: np.random.Generator) -> str:
    if len(people) == 1:
        subj = _pick(rng, ("a person", "someone", "one person", "the person"))
        return f"{subj} is {_activities_phrase(people[0], rng)}"
    parts = []
    for k, p in enumerate(people):
        who = "one person" if k == 0 else ("another" if k == 1 else "a third")
        parts.append(f"{who} is {_activities_phrase(p, rng)}")
    lead = _pick(
        rng,
        (f"{_number(len(people))} people: ", "", f"{_number(len(people))} people are in view; "),
    )
    return lead + (", ".join(parts[:-1]) + " and " + parts[-1])


def _caption_context(
    person: dict[str, Any], room: dict[str, Any] | None, rng: np.random.Generator
) -> str | None:
    activity = person["activity"]
    noun = subject_noun(person.get("subject"), rng)
    support = person.get("support")
    posture = POSTURE.get(activity) or activity_phrase(activity, rng)
    where: list[str] = []
    if support and (activity in _SITTING or activity in _LYING):
        where.append(f"on the {_label_words(support)}")
    near = nearest_object(room, person["position_world"], exclude={support} if support else set())
    place = person.get("place")  # asked by the scene program: said rather than the nearest object
    if place:
        near = None if (support == place["object"] and where) else place["object"]
    if near:
        where.append(
            _pick(
                rng,
                (
                    f"near the {_label_words(near)}",
                    f"by the {_label_words(near)}",
                    f"next to the {_label_words(near)}",
                ),
            )
        )
    room_words = _room_words(person.get("room_type") or (room or {}).get("room_type"))
    if room_words:
        where.append(f"in the {room_words}")
    hidden = hidden_words(person)
    if not where and not hidden:
        return None
    if len(where) == 3 and rng.random() < 0.5:
        where = where[:2]
    text = f"{noun} is {posture}" + "".join(" " + w for w in where)
    return text + (f", {hidden}" if hidden else "")


def _caption_count_position(people: list[dict[str, Any]], rng: np.random.Generator) -> str:
    n = len(people)
    head = _pick(
        rng,
        (
            f"{_number(n)} {'person' if n == 1 else 'people'}",
            f"{_number(n)} {'person is' if n == 1 else 'people are'} in front of the radar",
        ),
    )
    parts = []
    for k, p in enumerate(people):
        x, y, r = _range_xy(p)
        d = direction_words(x, y)
        who = (
            "one"
            if (k == 0 and n > 1)
            else ("another" if k == 1 else ("a third" if k == 2 else "they"))
        )
        if n == 1:
            who = _pick(rng, ("", "the person is "))
            parts.append(f"{who}{distance_words(r)} from the radar, {d}".strip())
        else:
            parts.append(f"{who} {distance_words(r)} from the radar, {d}")
    return head + "; " + "; ".join(parts)


def _caption_motion(person: dict[str, Any], rng: np.random.Generator) -> str:
    speed = float(person.get("speed_mps", 0.0))
    radial = float(person.get("radial_velocity_mps", 0.0))
    lateral = float(person.get("lateral_velocity_mps", 0.0))
    activity = person["activity"]
    if speed < MOVING_SPEED_MPS:
        if activity in _LYING or activity in _SITTING or activity == "stand":
            return _pick(rng, ("staying in place", "not moving around", "stationary"))
        return _pick(
            rng,
            (
                f"{activity_phrase(activity, rng)} in place",
                f"staying in one spot while {activity_phrase(activity, rng)}",
            ),
        )
    verb = "walking" if activity == "walk" else "moving"
    if abs(radial) >= 0.5 * speed:
        toward = "toward" if radial < 0 else "away from"
        return f"{verb} {toward} the radar at {speed_words(radial)}"
    side = "left to right" if lateral > 0 else "right to left"
    return _pick(
        rng,
        (
            f"{verb} across the radar's view from {side} at {speed_words(speed)}",
            f"{verb} from {side} in front of the radar at {speed_words(speed)}",
        ),
    )


def _caption_signal(person: dict[str, Any], rng: np.random.Generator) -> str | None:
    md = person.get("micro_doppler")
    if not md or mostly_hidden(person):
        return None
    level = micro_doppler_level(float(md.get("limb_speed_mps", 0.0)))
    if level is None:
        return _pick(
            rng,
            (
                "almost no micro-Doppler: only small body motion",
                "a nearly static return with no limb micro-Doppler",
            ),
        )
    f = md.get("dominant_hz")
    freq = f" around {float(f):.1f} Hz" if f is not None and float(f) > 0 else ""
    return _pick(
        rng,
        (
            f"{level} micro-Doppler{freq}",
            f"{level} limb micro-Doppler{freq}",
            f"a {level} micro-Doppler signature{freq}",
        ),
    )


def _caption_vitals(person: dict[str, Any], rng: np.random.Generator) -> str | None:
    if mostly_hidden(person):
        return None
    br, hr = person.get("breathing_per_min"), person.get("heart_per_min")
    parts = []
    if br is not None:
        parts.append(
            _pick(
                rng,
                (
                    f"breathing at about {round(float(br))} breaths per minute",
                    f"a breathing rate of about {round(float(br))} per minute",
                ),
            )
        )
    if hr is not None:
        parts.append(
            _pick(
                rng,
                (
                    f"heart rate about {round(float(hr))} beats per minute",
                    f"a pulse of about {round(float(hr))} bpm",
                ),
            )
        )
    return ", ".join(parts) if parts else None


def make_captions(
    truth: dict[str, Any], seed: int | Sequence[int] | np.random.Generator = 0
) -> list[dict[str, str]]:
    """Captions of one window from its ground truth (module docstring for the schema).

    Args:
        truth: ``{"room": ..., "people": [...]}``.
        seed: paraphrase seed (an int, a seed sequence, or a generator).

    Returns:
        ``[{"granularity": one of GRANULARITIES, "text": str}, ...]``; per-person captions (context,
        motion, signal, vitals) are prefixed with "person k: " when there are several people.

    Raises:
        ValueError: an activity without caption phrases, or a person missing a required field.
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    people = list(truth.get("people", []))
    room = truth.get("room")
    out: list[dict[str, str]] = []

    def add(granularity: str, text: str | None, k: int | None = None) -> None:
        if not text:
            return
        prefix = f"person {k + 1}: " if k is not None and len(people) > 1 else ""
        out.append({"granularity": granularity, "text": prefix + text[0].upper() + text[1:]})

    if not people:
        room_words = _room_words((room or {}).get("room_type"))
        add("activity", "nobody is in view" + (f" in the {room_words}" if room_words else ""))
        add("count_position", "no people")
        return out
    for p in people:
        for key in ("activity", "position_radar", "position_world"):
            if key not in p:
                raise ValueError(f"person truth lacks {key!r}")
    add("activity", _caption_activity(people, rng))
    contexts = [_caption_context(p, room, rng) for p in people]
    motions = [_caption_motion(p, rng) for p in people]
    for k, text in enumerate(contexts):
        add("context", text, k)
    add("count_position", _caption_count_position(people, rng))
    for k, text in enumerate(motions):
        add("motion", text, k)
    for k, p in enumerate(people):
        add("signal", _caption_signal(p, rng), k)
    for k, p in enumerate(people):
        add("vitals", _caption_vitals(p, rng), k)
    if len(people) == 1:
        first = contexts[0] or f"a person is {_activities_phrase(people[0], rng)}"
        summary = f"{first}, {motions[0]}"
    else:
        bits = [
            f"{c or 'a person is ' + _activities_phrase(p, rng)} ({m})"
            for p, c, m in zip(people, contexts, motions, strict=True)
        ]
        summary = f"{_number(len(people))} people: " + "; ".join(bits)
    add("summary", summary)
    return out
