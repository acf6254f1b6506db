"""Instruction data for the mm-LLM: question/answer pairs generated from simulator ground truth.

Every pair is a function of one dataset sample's *truth* (``sim/dataset/FORMAT.md``: people with
their activity timeline, positions relative to the radar and the furniture, vital rates, line of
sight; the room layout) and the window it covers; nothing is read from the radar data. Template-based,
with several paraphrases per question and answer, drawn from ``numpy.random.default_rng([seed,
index, 23])`` (``seed`` = the dataset's generation seed, ``index`` = the sample's global index): the
same sample always gives the same pairs, whatever else is in the dataset.

Question types (:data:`QUESTION_TYPES`):

============  ===========================================================================
presence      is anyone there / in the kitchen; is the bathroom empty
counting      how many people; how many are sitting
activity      what is she doing; is anyone doing squats
location      where is he (room, furniture nearby, distance and side from the radar)
timeline      what did she do before sitting down; did he change activity
duration      how long was she walking (clipped to the window) [s]
comparison    who is closer / faster / breathing faster; is he closer than 3 m
vitals        breathing and heart rate with units, or why the radar cannot measure them
safety        did anyone fall; is anyone lying on the floor; does anyone need help
layout        what furniture is in the room; is there a bed; how big is the room
refusal       what a radar cannot know: colours, faces, names, clothes, written text
============  ===========================================================================

What the radar can answer is bounded by physics, and the answers say so: vital rates only for a
person who keeps still and is not mostly hidden (:func:`vitals_measurable`), activities only within
the window (the timeline is clipped to it), colours/faces/names never.

Each pair is a :class:`QA`: ``question``, ``answer`` (one or two sentences, units written out),
``type``, ``key`` (the canonical fact the answer must contain, for scoring: ``"yes"``, ``"2"``,
``"walk"``, ``"18"``, ``"refuse"``...) and ``people`` (indices of the people it is about).

Files (:func:`write_instructions`): ``train.jsonl`` and ``heldout.jsonl`` (one pair per line, sorted
keys) and ``card.json`` (format :data:`INSTRUCTIONS_FORMAT`, generator version, source dataset and its
``index.json`` sha256, split settings, counts per type and split). The held-out split is by *room and
subject* (:class:`SplitSpec`): a sample is held out when its room (the generated scene, or its whole
room type) or any of its subjects falls in the held-out set, so no held-out room or subject is ever
seen in training.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from runtime.dataset import Sample, open_dataset, sha256_file
from sim.captions import (
    ACTIVITY_PHRASES,
    MOVING_SPEED_MPS,
    direction_words,
    distance_words,
    mostly_hidden,
    nearest_object,
)

#: File format of the instruction sets this module writes; bump the version when answers change.
INSTRUCTIONS_FORMAT = "mmfm.llm.instructions/1"
GENERATOR_VERSION = "1.0"
QUESTION_TYPES = (
    "presence",
    "counting",
    "activity",
    "location",
    "timeline",
    "duration",
    "comparison",
    "vitals",
    "safety",
    "layout",
    "refusal",
)
#: Activities during which a radar can read breathing and heart rate (the body keeps still).
STILL_ACTIVITIES = frozenset({"sit", "stand", "sleep", "typing"})
#: Posture group of each activity, for "how many people are sitting" questions.
POSTURE_GROUP = {
    "sit": "sitting",
    "typing": "sitting",
    "sit_down": "sitting",
    "stand": "standing",
    "stand_up": "standing",
    "wave": "gesturing",
    "swipe_left": "gesturing",
    "swipe_right": "gesturing",
    "push": "gesturing",
    "pull": "gesturing",
    "circle": "gesturing",
    "boxing": "exercising",
    "jumping_jacks": "exercising",
    "jump": "exercising",
    "squats": "exercising",
    "walk": "walking",
    "sleep": "lying down",
    "lie_down": "lying down",
    "fall": "falling",
    "get_up": "getting up from the floor",
}
#: Furniture asked about in "is there a ..." questions (present or not).
FURNITURE_VOCAB = (
    "sofa",
    "armchair",
    "bed",
    "table",
    "chair",
    "desk",
    "tv",
    "wardrobe",
    "cabinet",
    "lamp",
    "bathtub",
    "toilet",
    "sink",
    "fridge",
    "bookshelf",
)
_NOT_FURNITURE = frozenset({"door", "window", "wall", "floor", "ceiling"})
_NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight")


@dataclass(frozen=True, slots=True)
class QA:
    """One question/answer pair about one sample.

    Attributes:
        id: ``"<sample id>-<k>"``, unique in a set.
        sample: the sample's global index; ``sample_id``: its ``"<seed>-<index>"`` id.
        type: one of :data:`QUESTION_TYPES`.
        question, answer: the texts.
        key: the canonical fact the answer states (for scoring), lower case.
        people: indices (into the sample's truth people) the pair is about.
    """

    id: str
    sample: int
    sample_id: str
    type: str
    question: str
    answer: str
    key: str
    people: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["people"] = list(self.people)
        return d


# ---------------------------------------------------------------------------------------- words
def _pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _sentence(text: str) -> str:
    text = _cap(text.strip())
    return text if text.endswith((".", "!", "?")) else text + "."


def _count_words(n: int, noun: str = "person", plural: str = "people") -> str:
    word = _NUMBER_WORDS[n] if 0 <= n < len(_NUMBER_WORDS) else str(n)
    return f"{word} {noun if n == 1 else plural}"


def _words(label: str) -> str:
    return {"tv": "TV"}.get(label, label.replace("_", " "))


def _article(noun: str) -> str:
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def _simple(ref: str) -> bool:
    """Whether a referring phrase takes a plain possessive ("the woman's", not "the person on the
    left's")."""
    return not ref.startswith("the person ") or ref == "the person"


def _list_words(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _phrase(activity: str, rng: np.random.Generator) -> str:
    return _pick(rng, ACTIVITY_PHRASES.get(activity, (activity.replace("_", " "),)))


def _base_phrase(activity: str) -> str:
    """The first (plainest) phrase of an activity, used in questions."""
    return ACTIVITY_PHRASES.get(activity, (activity.replace("_", " "),))[0]


# ---------------------------------------------------------------------------------------- truth views
@dataclass(slots=True)
class _Person:
    """One person's facts over the window, derived from the truth."""

    k: int
    truth: dict[str, Any]
    segments: list[tuple[str, float, float]]  # (activity, start, end) [s] relative to window start
    range_m: float
    azimuth_deg: float
    category: tuple[str, str]  # (age_group, sex)
    ref: str = ""  # definite noun phrase that singles the person out ("the woman")
    ref_static: str = ""  # the same without naming the activity (for questions about activities)
    pronoun: str = "they"

    @property
    def activity(self) -> str:
        return str(self.truth["activity"])

    @property
    def room_type(self) -> str | None:
        return self.truth.get("room_type")

    def fell(self) -> tuple[bool, float | None]:
        for act, t0, _ in self.segments:
            if act == "fall":
                return True, t0
        return False, None

    def on_floor(self) -> bool:
        """Lying on the floor (no furniture under them) at the end of the window: after a fall, or
        lying down / asleep without a bed or sofa."""
        last = self.segments[-1][0] if self.segments else self.activity
        return last in ("sleep", "lie_down", "get_up") and not self.truth.get("support")

    def needs_help(self) -> bool:
        """Fell during the window, or lies on the floor."""
        return self.fell()[0] or self.on_floor()


def window_segments(
    timeline: Sequence[dict[str, Any]], start_s: float, duration_s: float
) -> list[tuple[str, float, float]]:
    """The timeline clipped to the window, times relative to its start [s], same activities merged.

    Args:
        timeline: ``[{"activity", "start_s", "end_s"}]`` absolute times [s].
        start_s, duration_s: the window [s].
    """
    out: list[tuple[str, float, float]] = []
    end_s = start_s + duration_s
    for seg in timeline:
        a, b = max(float(seg["start_s"]), start_s), min(float(seg["end_s"]), end_s)
        if b - a <= 1e-6:
            continue
        act, t0, t1 = str(seg["activity"]), a - start_s, b - start_s
        if out and out[-1][0] == act:
            out[-1] = (act, out[-1][1], t1)
        else:
            out.append((act, t0, t1))
    return out


def vitals_measurable(person: dict[str, Any], ref: str = "the person") -> tuple[bool, str]:
    """Whether a radar can read this person's breathing/heart rate over the window, and if not,
    why (a clause for the answer). Needs a still body (:data:`STILL_ACTIVITIES`, below
    :data:`sim.captions.MOVING_SPEED_MPS`) that is not mostly hidden."""
    if mostly_hidden(person):
        by = person.get("occluded_by")
        return False, f"{ref} is mostly hidden from the radar" + (
            f" behind the {_words(by)}" if by and by != "person" else ""
        )
    acts = list(person.get("activities") or [person["activity"]])
    moving = [a for a in acts if a not in STILL_ACTIVITIES]
    if moving or float(person.get("speed_mps", 0.0)) >= MOVING_SPEED_MPS:
        what = _base_phrase(moving[0] if moving else "walk")
        return False, f"{ref} is {what}, and the radar reads vital signs only from a still body"
    return True, ""


def _category(p: dict[str, Any]) -> tuple[str, str]:
    s = p.get("subject") or {}
    return str(s.get("age_group", "adult")), str(s.get("sex", ""))


def _category_nouns(cat: tuple[str, str]) -> list[str]:
    age, sex = cat
    g = {"female": "woman", "male": "man"}.get(sex)
    if age == "child":
        return ["the child"] + ([{"female": "the girl", "male": "the boy"}[sex]] if g else [])
    if age == "elderly":
        return [f"the elderly {g}", f"the older {g}"] if g else ["the elderly person"]
    return [f"the {g}"] if g else ["the person"]


def _assign_refs(people: list[_Person], rng: np.random.Generator) -> None:
    """Give each person a definite noun phrase that singles them out, and a pronoun."""
    for p in people:
        p.pronoun = {"female": "she", "male": "he"}.get(p.category[1], "they")
    if len(people) == 1:
        p = people[0]
        p.ref = p.ref_static = _pick(rng, [*_category_nouns(p.category), "the person"])
        return
    cats = Counter(p.category for p in people)
    acts = Counter(p.activity for p in people)
    by_range = sorted(people, key=lambda q: q.range_m)
    by_az = sorted(people, key=lambda q: q.azimuth_deg)
    for p in people:
        options: list[str] = []
        if cats[p.category] == 1 and p.category[1]:
            options += _category_nouns(p.category)
        by_activity = f"the person {_base_phrase(p.activity)}" if acts[p.activity] == 1 else None
        if p is by_range[0] and by_range[1].range_m - p.range_m > 0.5:
            options.append("the person nearest the radar")
        if p is by_range[-1] and p.range_m - by_range[-2].range_m > 0.5:
            options.append("the person farthest from the radar")
        if len(people) == 2 and abs(by_az[1].azimuth_deg - by_az[0].azimuth_deg) > 15:
            # radar frame azimuth: + = right of boresight, as seen from the radar
            options.append("the person on the left" if p is by_az[0] else "the person on the right")
        p.ref_static = _pick(rng, options) if options else ""
        p.ref = _pick(rng, [*options, by_activity]) if by_activity else p.ref_static
        if p.ref and not p.ref.startswith(("the woman", "the man", "the elderly", "the older")):
            p.pronoun = "they" if p.ref.startswith("the person") else p.pronoun


def _people(
    truth: dict[str, Any], window: dict[str, Any], rng: np.random.Generator
) -> list[_Person]:
    start, dur = float(window["start_s"]), float(window["duration_s"])
    out = []
    for k, p in enumerate(truth.get("people", [])):
        segs = window_segments(p.get("timeline") or [], start, dur)
        if not segs:
            segs = [(str(a), 0.0, dur) for a in (p.get("activities") or [p["activity"]])[:1]]
        x, y, z = (float(v) for v in p["position_radar"])
        out.append(
            _Person(
                k=k,
                truth=p,
                segments=segs,
                range_m=float(p.get("range_m", math.sqrt(x * x + y * y + z * z))),
                azimuth_deg=float(p.get("azimuth_deg", math.degrees(math.atan2(x, y)))),
                category=_category(p),
            )
        )
    _assign_refs(out, rng)
    return out


def _room_types(room: dict[str, Any]) -> list[str]:
    types = [str(r["room_type"]) for r in room.get("rooms", []) if r.get("room_type")]
    if not types and room.get("room_type"):
        types = [str(room["room_type"])]
    return list(dict.fromkeys(types))


# ---------------------------------------------------------------------------------------- questions
class _Builder:
    """Collects the pairs of one sample (each question type adds zero or more)."""

    def __init__(self, truth: dict[str, Any], window: dict[str, Any], rng: np.random.Generator):
        self.truth = truth
        self.room = truth.get("room") or {}
        self.window = window
        self.rng = rng
        self.people = _people(truth, window, rng)
        self.out: list[tuple[str, str, str, str, tuple[int, ...]]] = []

    def add(self, qtype: str, q: str, a: str, key: Any, people: Iterable[int] = ()) -> None:
        self.out.append((qtype, _sentence(q), _sentence(a), str(key).lower(), tuple(people)))

    def pick(self, options: Sequence[str]) -> str:
        return _pick(self.rng, options)

    def one_person(self, static: bool = False) -> _Person | None:
        """A person with a referring phrase, chosen at random (None when there is none); with
        ``static``, one whose phrase does not name the activity (its ``ref`` is then that phrase)."""
        named = [p for p in self.people if (p.ref_static if static else p.ref)]
        if not named:
            return None
        p = named[int(self.rng.integers(len(named)))]
        if static and p.ref != p.ref_static:
            p = copy.copy(p)
            p.ref = p.ref_static
        return p

    # -------------------------------------------------------------- presence / counting
    def presence(self) -> None:
        n = len(self.people)
        q = self.pick(
            (
                "Is anyone there?",
                "Is there anybody in the room?",
                "Is someone in front of the radar?",
                "Do you detect anyone?",
            )
        )
        if n:
            a = self.pick(("Yes, {c}.", "Yes: {c} in view.", "Yes, I detect {c}."))
            self.add("presence", q, a.format(c=_count_words(n)), "yes")
        else:
            self.add("presence", q, self.pick(("No, nobody is in view.", "No one is there.")), "no")
        rooms = _room_types(self.room)
        if rooms:
            rt = self.pick(rooms)
            inside = [p for p in self.people if (p.room_type or self.room.get("room_type")) == rt]
            words = _words(rt)
            if self.rng.random() < 0.5:
                q = self.pick((f"Is anyone in the {words}?", f"Is somebody in the {words}?"))
                a = (
                    f"Yes, {_count_words(len(inside))} in the {words}."
                    if inside
                    else f"No, nobody is in the {words}."
                )
                key = "yes" if inside else "no"
            else:
                q = self.pick((f"Is the {words} empty?", f"Is the {words} free right now?"))
                a = (
                    f"No, {_count_words(len(inside))} {'is' if len(inside) == 1 else 'are'} there."
                    if inside
                    else f"Yes, the {words} is empty."
                )
                key = "no" if inside else "yes"
            self.add("presence", q, a, key, [p.k for p in inside])

    def counting(self) -> None:
        n = len(self.people)
        q = self.pick(
            (
                "How many people are there?",
                "How many people do you see?",
                "How many people are in the room?",
                "Count the people in front of the radar.",
            )
        )
        self.add(
            "counting",
            q,
            self.pick(("{c}.", "I count {c}.", "There are {c}.")).format(c=_count_words(n))
            if n != 1
            else self.pick(("One person.", "Just one person.", "There is one person.")),
            n,
        )
        if n:
            groups = Counter(POSTURE_GROUP.get(p.activity, "moving") for p in self.people)
            group = self.pick(sorted({*groups, "sitting", "standing", "lying down", "walking"}))
            if group == "moving":  # an activity without a group: not asked about
                return
            c = groups.get(group, 0)
            verb = "is" if c == 1 else "are"
            q = f"How many people are {group}?"
            a = f"{_count_words(c)} {verb} {group}." if c else f"Nobody is {group}."
            self.add("counting", q, a, c)

    # -------------------------------------------------------------- activity / location
    def activity(self) -> None:
        if not self.people:
            return
        if len(self.people) == 1 or self.rng.random() < 0.5:
            p = self.one_person(static=True)
            if p is None:
                return
            q = self.pick(
                (
                    f"What is {p.ref} doing?",
                    f"What was {p.ref} doing?",
                    f"What activity is {p.ref} doing?",
                )
            )
            acts = list(dict.fromkeys(a for a, _, _ in p.segments))
            phrase = ", then ".join(_phrase(a, self.rng) for a in acts[:3])
            subj = p.pronoun if p.pronoun != "they" else p.ref
            verb = "are" if subj == "they" else "is"
            self.add("activity", q, f"{subj} {verb} {phrase}", p.activity, [p.k])
        else:
            parts = [
                f"{p.ref_static or ('one person' if k == 0 else 'another')} is "
                f"{_phrase(p.activity, self.rng)}"
                for k, p in enumerate(self.people)
            ]
            q = self.pick(("What are the people doing?", "What is everyone doing?"))
            key = ",".join(sorted(p.activity for p in self.people))
            self.add("activity", q, _list_words(parts), key, [p.k for p in self.people])
        present = {p.activity for p in self.people}
        if self.rng.random() < 0.5:
            act = self.pick(sorted(present))
        else:
            act = self.pick(sorted(set(ACTIVITY_PHRASES) - present - {"fall", "get_up"}))
        doers = [p for p in self.people if p.activity == act]
        q = f"Is anyone {_base_phrase(act)}?"
        if doers:
            who = doers[0].ref or "someone"
            a = f"Yes, {who} is {_phrase(act, self.rng)}."
        else:
            a = f"No, nobody is {_base_phrase(act)}."
        self.add("activity", q, a, "yes" if doers else "no", [p.k for p in doers])

    def location(self) -> None:
        p = self.one_person()
        if p is None:
            return
        x, y, _ = (float(v) for v in p.truth["position_radar"])
        bits = []
        rt = p.room_type or self.room.get("room_type")
        support = p.truth.get("support")
        if support and p.activity in ("sit", "typing", "sleep", "lie_down", "sit_down"):
            bits.append(f"on the {_words(support)}")
        near = nearest_object(
            self.room, p.truth["position_world"], exclude={support} if support else set()
        )
        if near:
            bits.append(self.pick((f"near the {_words(near)}", f"by the {_words(near)}")))
        if rt:
            bits.append(f"in the {_words(rt)}")
        where = " ".join(bits)
        radar = f"{distance_words(p.range_m)} from the radar, {direction_words(x, y)}"
        q = self.pick(
            (f"Where is {p.ref}?", f"Where is {p.ref} right now?", f"Where in the room is {p.ref}?")
        )
        subj = p.pronoun if p.pronoun != "they" else p.ref
        verb = "are" if subj == "they" else "is"
        a = f"{subj} {verb} {where}, {radar}" if where else f"{subj} {verb} {radar}"
        key = rt or f"{round(p.range_m * 2) / 2:g}"
        self.add("location", q, a, key, [p.k])
        if rt and len(_room_types(self.room)) > 1:
            q = self.pick((f"Which room is {p.ref} in?", f"In which room is {p.ref}?"))
            self.add("location", q, f"In the {_words(rt)}", rt, [p.k])

    # -------------------------------------------------------------- time
    def timeline(self) -> None:
        p = self.one_person(static=True)
        if p is None:
            return
        segs = p.segments
        if len(segs) >= 2:
            i = int(self.rng.integers(len(segs) - 1))
            (a0, _, _), (a1, _, _) = segs[i], segs[i + 1]
            if self.rng.random() < 0.5:
                q = f"What did {p.ref} do before {_base_phrase(a1)}?"
                self.add("timeline", q, f"{_phrase(a0, self.rng)}", a0, [p.k])
            else:
                q = f"What did {p.ref} do after {_base_phrase(a0)}?"
                self.add("timeline", q, f"{_phrase(a1, self.rng)}", a1, [p.k])
            order = ", then ".join(_phrase(a, self.rng) for a, _, _ in segs)
            q = self.pick((f"Did {p.ref} change activity?", f"Did {p.ref} do different things?"))
            self.add("timeline", q, f"Yes: first {order}", "yes", [p.k])
        else:
            q = self.pick((f"Did {p.ref} change activity?", f"Did {p.ref} do different things?"))
            subj = p.pronoun if p.pronoun != "they" else p.ref
            a = f"No, {subj} kept {_base_phrase(segs[0][0])} the whole time"
            self.add("timeline", q, a, "no", [p.k])

    def duration(self) -> None:
        dur = float(self.window["duration_s"])
        p = self.one_person(static=True)
        if p is not None:
            act, t0, t1 = p.segments[int(self.rng.integers(len(p.segments)))]
            q = self.pick(
                (
                    f"How long was {p.ref} {_base_phrase(act)}?",
                    f"For how many seconds was {p.ref} {_base_phrase(act)}?",
                )
            )
            d = t1 - t0
            whole = " (the whole time I watched)" if d >= dur - 1e-6 else ""
            self.add("duration", q, f"About {d:.1f} seconds{whole}", f"{d:.1f}", [p.k])
        q = self.pick(("How long is this recording?", "How much time does this window cover?"))
        self.add("duration", q, f"About {dur:.1f} seconds", f"{dur:.1f}")

    # -------------------------------------------------------------- comparisons
    def comparison(self) -> None:
        named = [p for p in self.people if p.ref]
        if len(named) >= 2:
            i, j = (int(v) for v in self.rng.choice(len(named), size=2, replace=False))
            a, b = named[i], named[j]
            kind = self.pick(("closer", "faster"))
            if kind == "closer" and abs(a.range_m - b.range_m) > 0.3:
                w = a if a.range_m < b.range_m else b
                q = f"Who is closer to the radar, {a.ref} or {b.ref}?"
                self.add(
                    "comparison", q, f"{w.ref}, {distance_words(w.range_m)} away", w.ref, [a.k, b.k]
                )
                return
            sa, sb = float(a.truth.get("speed_mps", 0)), float(b.truth.get("speed_mps", 0))
            if abs(sa - sb) > 0.2:
                w = a if sa > sb else b
                q = f"Who is moving faster, {a.ref} or {b.ref}?"
                ans = f"{w.ref}, at about {max(sa, sb):.1f} m/s"
                self.add("comparison", q, ans, w.ref, [a.k, b.k])
                return
        p = self.one_person()
        if p is None:
            return
        # a threshold at least 0.5 m from the true range, so the answer is never borderline
        d = float(self.rng.choice([1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0]))
        if abs(d - p.range_m) < 0.5:
            d = d + 1.0 if p.range_m < d else max(d - 1.0, 0.5)
            if abs(d - p.range_m) < 0.5:
                d += 1.0
        closer = p.range_m < d
        q = f"Is {p.ref} closer than {d:g} m to the radar?"
        a = (
            f"{'Yes' if closer else 'No'}, {p.pronoun if p.pronoun != 'they' else p.ref} is "
            f"{distance_words(p.range_m)} away"
        )
        self.add("comparison", q, a, "yes" if closer else "no", [p.k])

    # -------------------------------------------------------------- vitals / safety
    def vitals(self) -> None:
        p = self.one_person(static=True)
        if p is None:
            return
        ok, why = vitals_measurable(p.truth, p.ref)
        which = self.pick(("breathing", "heart"))
        if which == "breathing":
            q = self.pick(
                (
                    f"What is the breathing rate of {p.ref}?",
                    f"How fast is {p.ref} breathing?",
                    f"What is the respiration rate of {p.ref}?",
                    *([f"What is {p.ref}'s respiration rate?"] if _simple(p.ref) else []),
                )
            )
            rate = p.truth.get("breathing_per_min")
            unit = self.pick(("breaths per minute", "breaths/min"))
        else:
            q = self.pick(
                (
                    f"What is the heart rate of {p.ref}?",
                    f"What is the pulse of {p.ref}?",
                    *(
                        [f"What is {p.ref}'s pulse?", f"How fast is {p.ref}'s heart beating?"]
                        if _simple(p.ref)
                        else []
                    ),
                )
            )
            rate = p.truth.get("heart_per_min")
            unit = self.pick(("beats per minute", "bpm"))
        if ok and rate is not None:
            self.add("vitals", q, f"About {round(float(rate))} {unit}", round(float(rate)), [p.k])
        else:
            self.add("vitals", q, f"I can't measure it reliably: {why}", "unmeasurable", [p.k])

    def safety(self) -> None:
        fallen = [(p, t) for p in self.people for f, t in [p.fell()] if f]
        q = self.pick(("Did anyone fall?", "Has anybody fallen?", "Did someone fall down?"))
        if fallen:
            p, t = fallen[0]
            who = p.ref or "someone"
            state = (
                " and is now lying on the floor"
                if p.on_floor()
                else (" and was still falling at the end" if p.segments[-1][0] == "fall" else "")
            )
            self.add(
                "safety",
                q,
                f"Yes, {who} fell about {t:.1f} s into the recording{state}",
                "yes",
                [p.k],
            )
        else:
            self.add("safety", q, self.pick(("No, nobody fell.", "No fall happened.")), "no")
        if self.rng.random() < 0.5:
            floor = [p for p in self.people if p.on_floor()]
            q = self.pick(("Is anyone lying on the floor?", "Is somebody on the floor?"))
            if floor:
                who = floor[0].ref or "someone"
                self.add("safety", q, f"Yes, {who} is lying on the floor", "yes", [floor[0].k])
            else:
                self.add("safety", q, "No, nobody is lying on the floor", "no")
        else:
            help_ = [p for p in self.people if p.needs_help()]
            q = self.pick(("Does anyone need help?", "Is everyone all right?"))
            yes = q.startswith("Does")
            if help_:
                p = help_[0]
                why = "fell" if p.fell()[0] else "is lying on the floor"
                a = f"{'Yes' if yes else 'No'}: {p.ref or 'someone'} {why} and may need help"
            else:
                a = ("No, " if yes else "Yes, ") + "nobody fell and nobody is lying on the floor"
            self.add(
                "safety",
                q,
                a,
                ("yes" if yes else "no") if help_ else ("no" if yes else "yes"),
                [p.k for p in help_[:1]],
            )

    # -------------------------------------------------------------- layout / refusals
    def layout(self) -> None:
        objs = self.room.get("objects", [])
        rooms = _room_types(self.room)
        labels = [str(o["label"]) for o in objs if o.get("label") not in _NOT_FURNITURE]
        if rooms and labels:
            named_rooms = {r["name"]: r["room_type"] for r in self.room.get("rooms", [])}
            rt = self.pick(rooms)
            in_room = [
                str(o["label"])
                for o in objs
                if o.get("label") not in _NOT_FURNITURE
                and named_rooms.get(o.get("room"), self.room.get("room_type")) == rt
            ]
            counts = Counter(in_room)
            items = [
                _article(_words(lab)) if c == 1 else f"{c} {_words(lab)}s"
                for lab, c in counts.items()
            ]
            q = self.pick(
                (f"What furniture is in the {_words(rt)}?", f"What is in the {_words(rt)}?")
            )
            a = _list_words(items) if items else "I know of no furniture there"
            self.add("layout", q, a, ",".join(sorted(counts)) or "none")
        present = set(labels)
        lab = self.pick(FURNITURE_VOCAB)
        q = self.pick(
            (f"Is there a {_words(lab)} in the room?", f"Do you know of a {_words(lab)}?")
        )
        a = (
            f"Yes, there is {_article(_words(lab))}"
            if lab in present
            else f"No, there is no {_words(lab)} in the room"
        )
        self.add("layout", q, a, "yes" if lab in present else "no")
        size = self.room.get("size_m")
        if size and len(size) >= 2:
            space = _words(str(self.room.get("room_type") or "room"))
            q = self.pick((f"How big is the {space}?", f"What are the {space}'s dimensions?"))
            a = f"About {float(size[0]):.1f} m by {float(size[1]):.1f} m"
            if len(size) >= 3:
                a += f", {float(size[2]):.1f} m high"
            self.add("layout", q, a, f"{float(size[0]):.1f}x{float(size[1]):.1f}")

    REFUSALS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
        (
            (
                "What colour is {ref}'s shirt?",
                "What colour are {ref}'s clothes?",
                "What colour is the sofa?",
                "Is the light on?",
            ),
            (
                "I can't tell: a radar measures distance, motion and breathing, not colour or light.",
                "A radar cannot see colours; it only senses how things move and where they are.",
            ),
        ),
        (
            (
                "What does {ref}'s face look like?",
                "Is {ref} smiling?",
                "What colour is {ref}'s hair?",
                "Is {ref} wearing glasses?",
            ),
            (
                "I can't tell: the radar does not resolve faces or small details.",
                "A radar cannot see faces or hair; it senses body motion, not appearance.",
            ),
        ),
        (
            ("What is {ref}'s name?", "Who is this?", "Is that my mother?", "Who is in the room?"),
            (
                "I can't know who someone is: the radar does not identify people, it only senses "
                "that someone is there and how they move.",
                "The radar cannot recognise people or know their names.",
            ),
        ),
        (
            ("What is on the TV?", "What is written on the wall?", "What is {ref} reading?"),
            (
                "I can't tell: a radar cannot see screens or read text.",
                "A radar does not see images or writing, only motion and distance.",
            ),
        ),
    )

    def refusal(self) -> None:
        p = self.one_person()
        ref = p.ref if p is not None and _simple(p.ref) else "the person"
        questions, answers = self.REFUSALS[int(self.rng.integers(len(self.REFUSALS)))]
        q = self.pick(questions).format(ref=ref)
        if q.startswith("Who is in the room?"):
            n = len(self.people)
            a = (
                f"I can tell {_count_words(n)} {'is' if n == 1 else 'are'} there, but not who: "
                "the radar does not identify people."
            )
        else:
            a = self.pick(answers)
        self.add("refusal", q, a, "refuse", [p.k] if p is not None else [])


def make_instructions(
    truth: dict[str, Any],
    window: dict[str, Any],
    *,
    seed: int,
    index: int,
    sample_id: str | None = None,
    types: Sequence[str] = QUESTION_TYPES,
) -> list[QA]:
    """Question/answer pairs of one sample (module docstring).

    Args:
        truth: the sample's JSON truth (``people``, ``room``).
        window: ``{"start_s", "duration_s"}`` [s].
        seed: the dataset's generation seed; ``index``: the sample's global index (with ``seed``,
            the paraphrase generator's seed).
        sample_id: the sample's id (default ``"<seed>-<index>"``).
        types: the question types to generate (default all of :data:`QUESTION_TYPES`).

    Raises:
        ValueError: an unknown question type, or a person without ``activity``/``position_radar``.
    """
    bad = sorted(set(types) - set(QUESTION_TYPES))
    if bad:
        raise ValueError(f"unknown question types {bad}; known: {', '.join(QUESTION_TYPES)}")
    for k, p in enumerate(truth.get("people", [])):
        for key in ("activity", "position_radar", "position_world"):
            if key not in p:
                raise ValueError(f"person {k} truth lacks {key!r}")
    rng = np.random.default_rng([int(seed), int(index), 23])
    b = _Builder(truth, window, rng)
    for t in types:
        getattr(b, t)()
    sid = sample_id or f"{seed}-{index}"
    return [
        QA(f"{sid}-{n:02d}", int(index), sid, t, q, a, key, people)
        for n, (t, q, a, key, people) in enumerate(b.out)
    ]


def sample_instructions(
    sample: Sample, *, seed: int, types: Sequence[str] = QUESTION_TYPES
) -> list[QA]:
    """:func:`make_instructions` for a sample read by :func:`runtime.dataset.open_dataset`."""
    truth = {k: v for k, v in sample.truth.items() if not isinstance(v, np.ndarray)}
    return make_instructions(
        truth,
        sample.meta["window"],
        seed=seed,
        index=sample.index,
        sample_id=str(sample.meta.get("id") or f"{seed}-{sample.index}"),
        types=types,
    )


# ---------------------------------------------------------------------------------------- split
@dataclass(frozen=True, slots=True)
class SplitSpec:
    """Held-out split by room and subject.

    Attributes:
        heldout_fraction: share of rooms (generated scenes) and of subjects held out, by a stable
            hash of their identity (0-1).
        heldout_room_types: room types held out whole (e.g. ``("bedroom",)``): every sample with a
            person in such a room, or whose scene is one, is held out.
        salt: changes which rooms/subjects the hash picks.
    """

    heldout_fraction: float = 0.15
    heldout_room_types: tuple[str, ...] = ()
    salt: str = "mmfm-llm-split-1"

    def __post_init__(self) -> None:
        if not 0 <= self.heldout_fraction < 1:
            raise ValueError(f"heldout_fraction must be in [0, 1), got {self.heldout_fraction}")


def _bucket(text: str, salt: str) -> float:
    h = hashlib.sha256(f"{salt}|{text}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2.0**64


def room_key(scenario: dict[str, Any], truth: dict[str, Any]) -> str:
    """Identity of a sample's room: its scene seed (a generated room) and room type."""
    room = truth.get("room") or {}
    return f"{room.get('room_type')}|{scenario.get('scene_seed')}|{scenario.get('prompt')}"


def subject_key(subject: dict[str, Any]) -> str:
    """Identity of a simulated subject: age group, sex, build and height (cm)."""
    h = subject.get("height_m")
    cm = round(float(h) * 100) if h is not None else None
    return f"{subject.get('age_group')}|{subject.get('sex')}|{subject.get('build')}|{cm}"


def is_heldout_room(key: str, spec: SplitSpec) -> bool:
    """Whether the room with :func:`room_key` ``key`` is held out (its type, or its hash bucket)."""
    return key.split("|")[0] in spec.heldout_room_types or (
        _bucket("room|" + key, spec.salt) < spec.heldout_fraction
    )


def is_heldout_subject(key: str, spec: SplitSpec) -> bool:
    """Whether the subject with :func:`subject_key` ``key`` is held out (hash bucket)."""
    return _bucket("subject|" + key, spec.salt) < spec.heldout_fraction


def split_of(scenario: dict[str, Any], truth: dict[str, Any], spec: SplitSpec) -> str:
    """``"heldout"`` when the sample's room (or a person's room type) or any of its subjects is held
    out, else ``"train"``: a train sample never shares a room or a subject with the held-out set."""
    if {p.get("room_type") for p in truth.get("people", [])} & set(spec.heldout_room_types):
        return "heldout"
    if is_heldout_room(room_key(scenario, truth), spec):
        return "heldout"
    for p in truth.get("people", []):
        if is_heldout_subject(subject_key(p.get("subject") or {}), spec):
            return "heldout"
    return "train"


# ---------------------------------------------------------------------------------------- files
@dataclass
class InstructionReport:
    """What :func:`write_instructions` wrote: pairs per split and per type."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    samples: dict[str, int] = field(default_factory=dict)


def _jsonl(rows: Iterable[dict[str, Any]]) -> bytes:
    return b"".join(
        (json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8") for r in rows
    )


def write_instructions(
    dataset: str | Path,
    out: str | Path,
    *,
    split: SplitSpec | None = None,
    types: Sequence[str] = QUESTION_TYPES,
) -> InstructionReport:
    """Generate the pairs of every sample of ``dataset`` into ``out/{train,heldout}.jsonl`` and
    ``out/card.json`` (deterministic bytes for the same dataset and settings).

    Raises:
        runtime.dataset.DatasetError: an unreadable dataset (the message names the file).
    """
    split = split or SplitSpec()
    ds = open_dataset(dataset)
    seed = int(ds.spec.get("seed", 0))
    rows: dict[str, list[dict[str, Any]]] = {"train": [], "heldout": []}
    samples = Counter()
    for sample in ds:
        truth = {k: v for k, v in sample.truth.items() if not isinstance(v, np.ndarray)}
        which = split_of(sample.meta.get("scenario") or {}, truth, split)
        samples[which] += 1
        for qa in sample_instructions(sample, seed=seed, types=types):
            rows[which].append({**qa.to_dict(), "split": which})
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report = InstructionReport(samples=dict(samples))
    files = {}
    for name, rs in rows.items():
        data = _jsonl(sorted(rs, key=lambda r: (r["sample"], r["id"])))
        (out / f"{name}.jsonl").write_bytes(data)
        files[f"{name}.jsonl"] = hashlib.sha256(data).hexdigest()
        report.counts[name] = dict(sorted(Counter(r["type"] for r in rs).items()))
    root = Path(dataset)
    card = {
        "format": INSTRUCTIONS_FORMAT,
        "generator_version": GENERATOR_VERSION,
        "dataset": {
            "path": str(root),
            "index_sha256": sha256_file(root / "index.json"),
            "seed": seed,
            "num_samples": len(ds),
        },
        "split": {
            "heldout_fraction": split.heldout_fraction,
            "heldout_room_types": list(split.heldout_room_types),
            "salt": split.salt,
            "samples": dict(sorted(samples.items())),
        },
        "types": list(types),
        "counts": report.counts,
        "files": files,
    }
    (out / "card.json").write_text(json.dumps(card, indent=1, sort_keys=True) + "\n", "utf-8")
    return report
