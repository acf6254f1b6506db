"""The activity vocabulary: every activity the motion library performs, gathered from its families.

Each family module (:data:`FAMILIES`) holds its builders and a ``SPECS`` tuple of
:class:`~sim.humans.motion.activity.ActivitySpec`; a new family is one new module added here. From the
specs come the names (:data:`ACTIVITIES`), the postures each needs and leaves (:data:`REQUIRES`,
:data:`ENDS_IN`), where a scenario places it (:data:`PLACE`), text matching (:func:`parse_activity`) and parameter sampling (:func:`sample_params`).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from sim.humans.motion import exercise, falls, hands, household, limbs, locomotion, postures
from sim.humans.motion.activity import ActivitySpec

#: The activity families, in vocabulary order.
FAMILIES = (locomotion, postures, falls, exercise, hands, limbs, household)
VOCABULARY: dict[str, ActivitySpec] = {s.name: s for family in FAMILIES for s in family.SPECS}
ACTIVITIES: tuple[str, ...] = tuple(VOCABULARY)
#: Posture an activity needs at its start ("any": standing or sitting).
REQUIRES: dict[str, str] = {name: s.requires for name, s in VOCABULARY.items()}
#: Posture an activity leaves the person in (activities not listed keep the one they started in).
ENDS_IN: dict[str, str] = {name: s.ends_in for name, s in VOCABULARY.items() if s.ends_in}
#: Where a scenario places an activity when its postures do not say (``"bed"``, ``"near_radar"``).
PLACE: dict[str, str] = {name: s.place for name, s in VOCABULARY.items() if s.place}

# Phrase patterns, most specific first (higher rank; ties in vocabulary order).
_PATTERNS: tuple[tuple[str, str], ...] = tuple(
    (s.phrase, s.name)
    for s in sorted(VOCABULARY.values(), key=lambda s: -s.phrase_rank)
    if s.phrase is not None
)
# sample_params draws the parameters of all of these on every call, in this order, and returns the
# asked one's: the random stream datasets were generated with. Other activities draw only their own.
_SHARED_DRAWS = (
    "walk",
    "stand",
    "sit_down",
    "lie_down",
    "fall",
    "wave",
    "boxing",
    "jumping_jacks",
    "jump",
    "squats",
    "typing",
)


def parse_activity(text: str) -> str:
    """Map a phrase ("walks to the sofa", "doing squats", "swipe left") to an activity name.

    Raises:
        ValueError: naming the known activities when nothing matches.
    """
    phrase = text.strip().lower()
    if phrase in ACTIVITIES:
        return phrase
    for pattern, activity in _PATTERNS:
        if re.search(pattern, phrase):
            return activity
    raise ValueError(f"unknown activity {text!r}; known activities: {', '.join(ACTIVITIES)}")


def sample_params(activity: str, rng: np.random.Generator) -> dict[str, Any]:
    """Random speed/amplitude variation parameters for ``activity`` (a segment's params override them)."""
    shared = {name: VOCABULARY[name].params(rng) for name in _SHARED_DRAWS}  # type: ignore[misc]
    if activity in shared:
        return shared[activity]
    spec = VOCABULARY.get(activity)
    return spec.params(rng) if spec is not None and spec.params is not None else {}


def duration_range(activity: str) -> tuple[float, float]:
    """(min, max) duration [s] of a segment of ``activity`` made from text."""
    return VOCABULARY[activity].duration_s
