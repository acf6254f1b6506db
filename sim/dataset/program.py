"""The scene program: who is in a scene, what each person does, where and when (typed, validated).

A prompt ("an elderly man falls in the kitchen while a woman sits on a chair") is parsed into a
:class:`SceneProgram` by :func:`sim.dataset.people_prompt.parse_scene_program`; ``mmfm sim generate
--scene FILE.json`` reads the same program from a file (:func:`load_scene_program`, schema in
``sim/dataset/SCENES.md``). The scenario sampler (:func:`sim.dataset.scenario.sample_scenario`) honours
each person's activities, place and timing.

Example (JSON)::

    {"room": "a kitchen with a chair",
     "people": [{"age_group": "elderly", "sex": "male", "activities": ["fall"]},
                {"sex": "female", "activities": ["sit_down"],
                 "place": {"relation": "on", "object": "chair"}, "timing": "while"}]}

Activity names come from the motion library's registry (:data:`sim.humans.motion.vocabulary.ACTIVITIES`),
so a new activity family is accepted here as soon as it is registered there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sim.humans.motion.vocabulary import ACTIVITIES

#: Objects a place can name (furniture labels of ``sim.scene.prompt`` plus the building's doors and
#: windows).
PLACE_OBJECTS: tuple[str, ...] = (
    "armchair",
    "bathtub",
    "bed",
    "bookshelf",
    "cabinet",
    "chair",
    "coffee_table",
    "counter",
    "desk",
    "dining_table",
    "door",
    "fridge",
    "lamp",
    "office_chair",
    "plant",
    "sink",
    "sofa",
    "stairs",
    "stove",
    "toilet",
    "tv",
    "wardrobe",
    "window",
)
#: Most people a scene program may hold (the sampler's limit).
MAX_PEOPLE = 3


class ProgramError(ValueError):
    """A scene program that does not validate (one line naming the file and the key path)."""


class Place(BaseModel):
    """Where a person is, relative to one object of the room."""

    model_config = ConfigDict(extra="forbid")

    relation: Literal["on", "near"] = Field(
        description='"on": sitting or lying on the object (a seat, sofa or bed); "near": standing '
        'within about 1.5 m of it ("near the window", "by the door").'
    )
    object: str = Field(description=f"object label, one of: {', '.join(PLACE_OBJECTS)}")

    @field_validator("object")
    @classmethod
    def _known_object(cls, v: str) -> str:
        if v not in PLACE_OBJECTS:
            raise ValueError(f"unknown object {v!r}; known: {', '.join(PLACE_OBJECTS)}")
        return v


class PersonSpec(BaseModel):
    """One person, or ``count`` alike people, of a scene."""

    model_config = ConfigDict(extra="forbid")

    count: int = Field(1, ge=1, le=MAX_PEOPLE, description="how many people like this")
    sex: Literal["male", "female"] | None = Field(None, description="None: sampled")
    age_group: Literal["child", "adult", "elderly"] | None = Field(
        None, description="None: sampled"
    )
    activities: list[str] = Field(
        min_length=1,
        description="activity names in order (the first is done in the window; later ones follow "
        "it, 'then'); names from sim.humans.motion.vocabulary.ACTIVITIES",
    )
    place: Place | None = Field(None, description="where the person is (None: sampled)")
    timing: Literal["while", "then"] = Field(
        "while",
        description='"while": at the same time as the people before; "then": starts when the '
        "previous person's first activity ends (standing or lying still until then)",
    )

    @field_validator("activities")
    @classmethod
    def _known_activities(cls, v: list[str]) -> list[str]:
        for name in v:
            if name not in ACTIVITIES:
                raise ValueError(f"unknown activity {name!r}; known: {', '.join(ACTIVITIES)}")
        return v

    def hints(self) -> dict[str, str]:
        """Subject fields fixed by this spec (``sex``, ``age_group``)."""
        return {k: v for k, v in (("age_group", self.age_group), ("sex", self.sex)) if v}


class SceneProgram(BaseModel):
    """A scene: the room (a room prompt, parsed by ``sim.scene.parse_prompt``) and its people."""

    model_config = ConfigDict(extra="forbid")

    room: str | None = Field(
        None,
        description='room prompt, e.g. "a small kitchen with a chair" (None: a sampled room); '
        "objects named by places are added to it",
    )
    people: list[PersonSpec] = Field(min_length=1, description="the people, in order")
    unused_words: list[str] = Field(
        default_factory=list,
        description="words of the prompt the parser did not use (filled by the parser; reported)",
    )

    @model_validator(mode="after")
    def _few_people(self) -> SceneProgram:
        n = sum(p.count for p in self.people)
        if n > MAX_PEOPLE:
            raise ValueError(f"at most {MAX_PEOPLE} people in a scene, the program has {n}")
        if self.people[0].timing != "while":
            raise ValueError('the first person cannot start "then" (nobody before them)')
        return self

    def num_people(self) -> int:
        return sum(p.count for p in self.people)

    def is_simple(self) -> bool:
        """One kind of person doing one activity with no place: what a prompt always meant before
        scene programs (sampled exactly as then)."""
        return (
            len(self.people) == 1
            and len(self.people[0].activities) == 1
            and self.people[0].place is None
        )

    def room_prompt(self) -> str | None:
        """The room prompt with every place's object added ("... with a chair")."""
        objects = sorted({p.place.object for p in self.people if p.place is not None})
        extra = " ".join(f"with a {o.replace('_', ' ')}" for o in objects)
        text = " ".join(t for t in (self.room or "", extra) if t)
        return text or None


def _key_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def validate_program(doc: object, source: str) -> SceneProgram:
    """``doc`` as a :class:`SceneProgram`.

    Raises:
        ProgramError: ``"<source>: <key path>: <message>"`` for the first problem.
    """
    try:
        return SceneProgram.model_validate(doc)
    except ValidationError as exc:
        errors = exc.errors()
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        msg = err["msg"].removeprefix("Value error, ")
        raise ProgramError(f"{source}: {_key_path(tuple(err['loc']))}: {msg}") from None


def load_scene_program(path: str | Path) -> SceneProgram:
    """Read and validate a scene program JSON file.

    Raises:
        ProgramError: missing file, bad JSON (with line) or a schema error (with the key path).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProgramError(f"{p}: cannot read: {exc.strerror or exc}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProgramError(f"{p}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    return validate_program(doc, str(p))
