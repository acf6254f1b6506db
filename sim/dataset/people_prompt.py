"""Rule parser: a prompt's people, each with their own activities, place and timing, as a
:class:`~sim.dataset.program.SceneProgram`.

"an elderly man falls in the kitchen while a woman sits on a chair" gives two people: an elderly man
doing ``fall`` and a woman doing ``sit_down`` on a chair (timing ``while``), in the room the prompt
describes (``sim.scene.parse_prompt`` reads the room words of the same text).

How it reads a prompt:

- **people**: each subject phrase ("a man", "two elderly women", "someone", "a child") starts a
  person; the text up to the next subject is theirs. Without a subject the whole prompt is one person.
  A person whose text names no activity shares the next (else the previous) person's ("a man and a
  woman walking").
- **count and hints**: "two people", "three men"; elderly/old/senior, child/kid/boy/girl,
  woman/lady/girl, man/gentleman/boy.
- **activities**: the motion registry's phrases (:func:`sim.humans.motion.parse_activity`), one per
  part of the person's text split at "then" / "after that" / "afterwards" (an activity sequence).
- **place**: "on/in the <object>" (sitting or lying on it), "near/by/beside/next to/close to/in front
  of the <object>" for the objects of :data:`sim.dataset.program.PLACE_OBJECTS`.
- **timing**: a person introduced after "then" / "after that" starts when the previous one's first
  activity ends; otherwise ("while", "and", ",") at the same time.
- **unused words**: words no rule read (not room, size, furniture, material, person, activity, place
  or timing words, nor function words such as "a", "the", "in") are returned in
  ``SceneProgram.unused_words``; the sampler logs them and the sample's truth stores them.
"""

from __future__ import annotations

import re

from sim.dataset.program import PLACE_OBJECTS, Place, SceneProgram, validate_program
from sim.humans.motion.vocabulary import ACTIVITIES, VOCABULARY, parse_activity
from sim.scene.prompt import FURNITURE_PATTERNS, normalise_text, understood_spans

_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "1": 1, "2": 2, "3": 3}
_NOUNS = (
    r"people|persons?|men|man|women|woman|children|child|kids?|boys?|girls?|lad(?:y|ies)|"
    r"gentlem[ae]n|grand(?:mother|father|ma|pa)s?|someone|somebody|seniors?|adults?|toddlers?"
)
_SUBJECT = re.compile(
    r"\b(?:(?:a|an|one|two|three|1|2|3|another|the|some)\s+)?"
    r"(?:(?:elderly|old|older|senior|young|little|adult|grown\s+up)\s+)*"
    rf"(?:{_NOUNS})\b"
)
_COUNT = re.compile(
    r"\b(one|two|three|1|2|3)\s+(?:\w+\s+)?(?:people|persons|men|women|children|kids)\b"
)
_THEN = re.compile(r"\b(?:and\s+then|then|after\s+that|afterwards|later)\b")
#: "then" right before a subject (", then a woman sits"): that person starts after the previous one.
_THEN_BEFORE = re.compile(r"\b(?:and\s+)?(?:then|after\s+that|afterwards|later)\s*,?\s*$")
_PLACE_OBJECT_ALT = "|".join(
    f"(?P<o_{label}>{pat})" for label, pat in FURNITURE_PATTERNS if label in PLACE_OBJECTS
)
_PLACE = re.compile(
    r"\b(?P<rel>on|onto|in|into|at|near|by|beside|next\s+to|close\s+to|in\s+front\s+of)\s+"
    rf"(?:(?:the|a|an|his|her|their|its)\s+)?(?:{_PLACE_OBJECT_ALT})\b"
)
_FUNCTION_WORDS = frozenset(
    "a an the in on at of to into onto from for by near is are was were be being been his her their "
    "its my our your this that these those there who which as and or while when whilst meanwhile "
    "same time also just doing does do did performing performs perform some then after afterwards "
    "later other another each both".split()
)


def _hints(text: str) -> dict[str, str]:
    """Subject fields named in ``text`` (the first matching age and sex words)."""
    hints: dict[str, str] = {}
    if re.search(r"\b(elderly|old|older|senior|grandm\w*|grandp\w*)\b", text):
        hints["age_group"] = "elderly"
    elif re.search(r"\b(child|children|kid|kids|boy|girl)\b", text):
        hints["age_group"] = "child"
    if re.search(r"\b(woman|women|girl|lady|grandmother|grandma)\b", text):
        hints["sex"] = "female"
    elif re.search(r"\b(man|men|boy|gentleman|grandfather|grandpa)\b", text):
        hints["sex"] = "male"
    return hints


def _count(text: str) -> int:
    m = _COUNT.search(text)
    return _NUMBER_WORDS[m.group(1)] if m else 1


def _activities(text: str, offset: int, used: list[tuple[int, int]]) -> list[str]:
    """Activities of one person's text, one per part split at "then"; their spans go to ``used``."""
    found: list[str] = []
    bounds = [0] + [p for m in _THEN.finditer(text) for p in m.span()] + [len(text)]
    for start, end in zip(bounds[::2], bounds[1::2], strict=True):
        part = text[start:end]
        try:
            name = parse_activity(part)
        except ValueError:
            continue
        spec = VOCABULARY[name]
        pats = [re.escape(name)] + ([spec.phrase] if spec.phrase else [])
        for pat in pats:
            used += [(offset + start + a, offset + start + b) for a, b in _spans(pat, part)]
        found.append(name)
    return found


def _spans(pattern: str, text: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(pattern, text)]


def _place(text: str, offset: int, used: list[tuple[int, int]]) -> Place | None:
    m = _PLACE.search(text)
    if m is None:
        return None
    label = next(k[2:] for k, v in m.groupdict().items() if k.startswith("o_") and v)
    used.append((offset + m.start(), offset + m.end()))
    relation = "on" if m.group("rel") in ("on", "onto", "in", "into") else "near"
    return Place(relation=relation, object=label)


def unused_words(low: str, used: list[tuple[int, int]]) -> list[str]:
    """Words of ``low`` outside every span in ``used`` that are not function words, in order."""
    covered = [False] * len(low)
    for a, b in used:
        covered[a:b] = [True] * (b - a)
    out = []
    for m in re.finditer(r"[a-z0-9]+(?:'[a-z]+)?", low):
        if any(covered[m.start() : m.end()]) or m.group(0) in _FUNCTION_WORDS:
            continue
        out.append(m.group(0))
    return out


def parse_scene_program(prompt: str) -> SceneProgram:
    """The :class:`SceneProgram` of ``prompt`` (module docstring); ``room`` is the prompt itself (the
    room parser ignores the people's words).

    Raises:
        ValueError: no known activity in the prompt (naming the known activities), or a program
            that does not validate (e.g. more than three people).
    """
    low = normalise_text(prompt)
    used: list[tuple[int, int]] = list(understood_spans(low))
    subjects = list(_SUBJECT.finditer(low))
    starts = [0] + [m.start() for m in subjects[1:]]
    ends = [*starts[1:], len(low)]
    used += [m.span() for m in subjects]
    people: list[dict] = []
    for k, (a, b) in enumerate(zip(starts, ends, strict=True)):
        text = low[a:b]
        timing = "while"
        if k > 0:
            gap = _THEN_BEFORE.search(low[starts[k - 1] : a])
            if gap:
                timing = "then"
                used.append((starts[k - 1] + gap.start(), starts[k - 1] + gap.end()))
        people.append(
            {
                "count": _count(text),
                **_hints(text),
                "activities": _activities(text, a, used),
                "place": _place(text, a, used),
                "timing": timing,
            }
        )
    if not any(p["activities"] for p in people):
        parse_activity(low)  # raises, naming the known activities
        raise ValueError(f"no known activity in {prompt!r}; known: {', '.join(ACTIVITIES)}")
    for k, p in enumerate(people):
        if not p["activities"]:
            later = [q["activities"] for q in people[k + 1 :] if q["activities"]]
            earlier = [q["activities"] for q in people[:k] if q["activities"]]
            p["activities"] = list((later or earlier[::-1])[0])
    if people[0]["timing"] != "while":
        people[0]["timing"] = "while"
    doc = {"room": prompt, "people": people, "unused_words": unused_words(low, used)}
    for p in people:
        if p["place"] is not None:
            p["place"] = p["place"].model_dump()
    program = validate_program(doc, f"prompt {prompt!r}")
    return program
