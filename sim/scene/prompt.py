"""Parse a simple scene prompt into a :class:`SceneRequest` (rule based; no language model).

Understood:

- room types: "living room" (lounge), "bedroom", "kitchen", "bathroom", "office" (study), "hallway"
  (corridor, stairwell), "apartment" (flat). Several single rooms ("a kitchen and a bedroom") make an
  apartment of those rooms. "<word> room" with an unknown word, or a known unsupported place (garage,
  attic...), raises a :class:`ValueError` listing the known room types.
- size: "small"/"tiny", "medium", "large"/"big"/"spacious"; "4 by 5 metres", "4 x 5 m", "4x5x2.7 m";
  "2.7 m high", "ceiling of 2.7 m".
- furniture: "with a sofa and a TV", "two chairs", "no bed", "without a desk or a lamp" (negation runs
  until a comma, "and a", "with", "but" or "plus").
- materials: "glass walls", "concrete room" (walls, floor and ceiling), "wooden floor" (floorboard),
  "metal cabinet", "walls made of plasterboard". Whether the material is valid at 60-81 GHz is checked by
  the generator, so "brick walls" fails there with the material's valid range.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sim.scene.roomtypes import ROOM_TYPES, unknown_room_type

_ROOM_PATTERNS: tuple[tuple[str, str], ...] = (
    ("living_room", r"living[\s-]?rooms?|lounges?|sitting[\s-]rooms?|family[\s-]rooms?"),
    ("bedroom", r"bed[\s-]?rooms?|sleeping[\s-]rooms?"),
    ("bathroom", r"bath[\s-]?rooms?|rest[\s-]?rooms?|wash[\s-]?rooms?|toilet[\s-]rooms?"),
    ("kitchen", r"kitchens?|kitchenettes?"),
    ("office", r"(?:home[\s-])?offices?|study[\s-]rooms?|study|studies|workrooms?"),
    ("hallway", r"hallways?|halls?|corridors?|stair[\s-]?wells?|entrance[\s-]halls?"),
    ("apartment", r"apartments?|flats?|condos?"),
)
_UNSUPPORTED_PLACES = (
    r"garages?|gardens?|attics?|basements?|cellars?|gyms?|laundry|balcon(?:y|ies)|classrooms?|"
    r"warehouses?|labs?|laborator(?:y|ies)|librar(?:y|ies)|nurser(?:y|ies)|pantr(?:y|ies)|porch(?:es)?|"
    r"patios?|shops?|stores?|churche?s?|restaurants?|hospitals?|factor(?:y|ies)|car|parking"
)
# Words allowed in front of "room" that are not room types.
_ROOM_MODIFIERS = frozenset(
    "a an the one small large big tiny huge spacious medium cosy cozy empty concrete glass wooden wood "
    "metal plasterboard furnished bright dark modern old new square long narrow simple plain little "
    "compact quiet whole entire my our this that some m metre metres meter meters high tall".split()
)

_FURNITURE_PATTERNS: tuple[tuple[str, str], ...] = (
    ("office_chair", r"office[\s-]chairs?|desk[\s-]chairs?|swivel[\s-]chairs?"),
    ("coffee_table", r"coffee[\s-]tables?|side[\s-]tables?"),
    ("dining_table", r"dining[\s-]tables?|kitchen[\s-]tables?|tables?"),
    ("armchair", r"arm[\s-]?chairs?|recliners?"),
    ("chair", r"chairs?|stools?"),
    ("sofa", r"sofas?|couch(?:es)?|settees?"),
    ("bed", r"(?:double[\s-]|single[\s-]|king[\s-]size[\s-])?beds?"),
    ("desk", r"desks?|workstations?"),
    ("wardrobe", r"wardrobes?|closets?"),
    ("cabinet", r"cabinets?|cupboards?|dressers?|nightstands?|bedside[\s-]tables?|sideboards?"),
    ("bookshelf", r"book[\s-]?shel(?:f|ves)|book[\s-]?cases?|shel(?:f|ves)|shelving"),
    ("tv", r"tvs?|televisions?|tv[\s-]stands?"),
    ("counter", r"(?:kitchen[\s-])?counters?|worktops?|counter[\s-]?tops?"),
    ("sink", r"sinks?|wash[\s-]?basins?|basins?"),
    ("stove", r"stoves?|ovens?|cookers?|hobs?"),
    ("fridge", r"fridges?|refrigerators?|freezers?"),
    ("bathtub", r"bath[\s-]?tubs?|baths?|tubs?"),
    ("toilet", r"toilets?|wcs?"),
    ("plant", r"(?:house[\s-]?|pot(?:ted)?[\s-])?plants?"),
    ("lamp", r"(?:floor[\s-])?lamps?"),
    ("stairs", r"stairs|stair[\s-]?cases?|stairways?|steps"),
    ("window", r"windows?"),
    ("door", r"doors?"),
)
#: (label, regular expression) of the furniture (and door/window) words the parser knows.
FURNITURE_PATTERNS = _FURNITURE_PATTERNS
_MATERIAL_WORDS: tuple[tuple[str, str], ...] = (
    ("glass", r"glass|glazed"),
    ("concrete", r"concrete|cement"),
    ("metal", r"metal|metallic|steel|iron|alumin(?:i)?um"),
    ("wood", r"wood|wooden|timber|oak|pine|walnut"),
    ("plasterboard", r"plasterboard|drywall|gypsum|plaster"),
    ("chipboard", r"chipboard|particle[\s-]?board|mdf"),
    ("ceiling_board", r"ceiling[\s-]board|acoustic[\s-]tiles?"),
    ("floorboard", r"floorboards?|parquet"),
    ("brick", r"brick|bricks"),
    ("marble", r"marble"),
    ("plywood", r"plywood"),
    ("carpet", r"carpet|carpeted"),
)
_SURFACE_PATTERNS: tuple[tuple[str, str], ...] = (
    ("walls", r"walls?|partitions?"),
    ("floor", r"floors?|flooring"),
    ("ceiling", r"ceilings?"),
)
_NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "some": 1,
}
_NEGATION = re.compile(r"\b(?:no|without|not|never|except|minus|nor)\b")
_RESET = re.compile(
    r"[,.;:]|\bwith\b|\band (?=(?:a|an|some|one|two|three|four|five|six|the|\d+)\b)|\bplus\b|\bbut\b|\balso\b"
)
_NUM = r"(\d+(?:\.\d+)?)"
_UNIT = r"\s*(?:m|metres?|meters?)?"
_DIMS = re.compile(
    _NUM
    + _UNIT
    + r"\s*(?:by|x|×)\s*"
    + _NUM
    + _UNIT
    + r"(?:\s*(?:by|x|×)\s*"
    + _NUM
    + _UNIT
    + r")?"
)
_HEIGHT = re.compile(
    _NUM
    + r"\s*(?:m|metres?|meters?)\s*(?:high|tall|ceilings?)|ceilings?(?:\s+height)?(?:\s+of)?\s+"
    + _NUM
)


@dataclass(frozen=True)
class SceneRequest:
    """What a prompt asks for; ``None`` / empty fields leave the choice to the sampler.

    Attributes:
        text: the prompt.
        room_type: one of :data:`sim.scene.roomtypes.ROOM_TYPES` or None.
        apartment_rooms: room types of an apartment's rooms named in the prompt.
        size_class: "small", "medium", "large" or None.
        size_m: (width, depth) [m] or None.
        height_m: ceiling height [m] or None.
        include: label -> minimum count.
        exclude: labels that must not appear.
        materials: target ("walls", "floor", "ceiling" or an object label) -> material name.
    """

    text: str = ""
    room_type: str | None = None
    apartment_rooms: tuple[str, ...] = ()
    size_class: str | None = None
    size_m: tuple[float, float] | None = None
    height_m: float | None = None
    include: dict[str, int] = field(default_factory=dict)
    exclude: frozenset[str] = frozenset()
    materials: dict[str, str] = field(default_factory=dict)


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for s, e in spans:
        chars[s:e] = " " * (e - s)
    return "".join(chars)


def parse_prompt(text: str) -> SceneRequest:
    """Parse ``text`` (see the module docstring). Raises :class:`ValueError` on unknown room types or
    implausible sizes."""
    low = " ".join(text.lower().replace("-", " ").split())
    # Materials first (their targets include room words and furniture words).
    materials, mat_spans = _parse_materials(low)

    found_rooms: list[tuple[int, str]] = []
    room_spans: list[tuple[int, int]] = []
    scan = low
    for room, pat in _ROOM_PATTERNS:
        for m in re.finditer(rf"\b(?:{pat})\b", scan):
            found_rooms.append((m.start(), room))
            room_spans.append(m.span())
        scan = _blank(scan, room_spans)
    rooms = [room for _, room in sorted(found_rooms)]  # in the order the prompt names them
    unsupported = re.search(rf"\b(?:{_UNSUPPORTED_PLACES})\b", scan)
    if unsupported:
        raise unknown_room_type(unsupported.group(0))
    for m in re.finditer(r"\b([a-z]+)\s+rooms?\b", scan):
        if m.group(1) not in _ROOM_MODIFIERS:
            raise unknown_room_type(m.group(0))
    compound = re.search(r"\b[a-z]+rooms?\b", scan)  # "ballroom", "storeroom"...
    if compound:
        raise unknown_room_type(compound.group(0))

    room_type: str | None = None
    apartment_rooms: tuple[str, ...] = ()
    singles = list(dict.fromkeys(r for r in rooms if r != "apartment"))
    if "apartment" in rooms:
        room_type, apartment_rooms = "apartment", tuple(singles)
    elif len(singles) > 1:
        room_type, apartment_rooms = "apartment", tuple(singles)
    elif singles:
        room_type = singles[0]

    size_class = None
    for cls, pat in (
        ("small", r"small|tiny|compact|little|cramped"),
        ("large", r"large|big|spacious|huge"),
        ("medium", r"medium|average"),
    ):
        if re.search(rf"\b(?:{pat})\b", low):
            size_class = cls
            break
    size_m, height_m = None, None
    dims = _DIMS.search(low)
    if dims:
        w, d = float(dims.group(1)), float(dims.group(2))
        if not (1.2 <= w <= 20 and 1.2 <= d <= 20):
            raise ValueError(
                f"room size {w:g} x {d:g} m in {text!r} is implausible (1.2-20 m per side)"
            )
        size_m = (w, d)
        if dims.group(3):
            height_m = float(dims.group(3))
    hm = _HEIGHT.search(low)
    if hm:
        height_m = float(hm.group(1) or hm.group(2))
    if height_m is not None and not 2.0 <= height_m <= 5.0:
        raise ValueError(f"ceiling height {height_m:g} m in {text!r} is implausible (2-5 m)")

    include, exclude = _parse_furniture(
        _blank(low, room_spans + mat_spans), _blank(low, room_spans)
    )
    return SceneRequest(
        text=text,
        room_type=room_type,
        apartment_rooms=apartment_rooms,
        size_class=size_class,
        size_m=size_m,
        height_m=height_m,
        include=include,
        exclude=frozenset(exclude),
        materials=materials,
    )


def _parse_furniture(scan: str, context: str) -> tuple[dict[str, int], set[str]]:
    """Furniture mentions in ``scan`` (room and material words blanked); negation and counts are read
    from ``context`` (room words blanked only, so "no metal cabinet" still negates)."""
    include: dict[str, int] = {}
    exclude: set[str] = set()
    for label, pat in _FURNITURE_PATTERNS:
        for m in re.finditer(rf"\b(?:{pat})\b", scan):
            scan = scan[: m.start()] + " " * (m.end() - m.start()) + scan[m.end() :]
            before = context[: m.start()]
            resets = list(_RESET.finditer(before))
            clause = before[resets[-1].end() :] if resets else before
            if _NEGATION.search(clause):
                exclude.add(label)
                continue
            words = clause.split()
            count = 1
            for w in reversed(words[-3:]):
                if w in _NUMBERS or w.isdigit():
                    count = int(w) if w.isdigit() else _NUMBERS[w]
                    break
            include[label] = max(include.get(label, 0), count)
    for label in exclude:
        include.pop(label, None)
    return include, exclude


def _parse_materials(low: str) -> tuple[dict[str, str], list[tuple[int, int]]]:
    """``{target: material}`` and the spans of the material words (to keep them out of furniture)."""
    material_alt = "|".join(f"(?P<m_{name}>{pat})" for name, pat in _MATERIAL_WORDS)
    targets: list[tuple[str, str]] = list(_SURFACE_PATTERNS)
    targets += [(label, pat) for label, pat in _FURNITURE_PATTERNS]
    targets += [("room", r"rooms?|" + "|".join(p for _, p in _ROOM_PATTERNS))]
    target_alt = "|".join(f"(?P<t_{i}>{pat})" for i, (_, pat) in enumerate(targets))
    found: dict[str, str] = {}
    spans: list[tuple[int, int]] = []
    forward = re.compile(rf"\b(?:{material_alt})\s+(?:[a-z]+\s+)?(?:{target_alt})\b")
    backward = re.compile(rf"\b(?:{target_alt})\s+(?:made\s+)?of\s+(?:{material_alt})\b")
    for regex in (forward, backward):
        for m in regex.finditer(low):
            material = next(k[2:] for k, v in m.groupdict().items() if k.startswith("m_") and v)
            target = targets[
                next(int(k[2:]) for k, v in m.groupdict().items() if k.startswith("t_") and v)
            ][0]
            mat_group = next(k for k, v in m.groupdict().items() if k.startswith("m_") and v)
            spans.append(m.span(mat_group))
            for t, mat in _expand_target(target, material):
                found.setdefault(t, mat)
    return found, spans


def _expand_target(target: str, material: str) -> list[tuple[str, str]]:
    """A "concrete room" is concrete all round; a "glass room" has glass walls; a "carpeted room" has a
    carpet floor; a "wooden floor" is ITU floorboard."""
    if material == "carpet":
        return [("floor", material)]
    if target == "room":
        if material == "concrete":
            return [("walls", material), ("floor", material), ("ceiling", material)]
        return [("walls", material)]
    if target == "floor" and material == "wood":
        return [("floor", "floorboard")]
    return [(target, material)]


def normalise_room_type(name: str) -> str:
    """``"living room"`` / ``"Living-Room"`` -> ``"living_room"``; unknown names raise ValueError."""
    key = "_".join(name.lower().replace("-", " ").split())
    if key in ROOM_TYPES:
        return key
    for room, pat in _ROOM_PATTERNS:
        if re.fullmatch(pat, key.replace("_", " ")):
            return room
    raise unknown_room_type(name)


def normalise_text(text: str) -> str:
    """The form :func:`parse_prompt` reads: lower case, hyphens as spaces, single spaces."""
    return " ".join(text.lower().replace("-", " ").split())


def understood_spans(low: str) -> list[tuple[int, int]]:
    """Character spans of ``low`` (:func:`normalise_text`) that :func:`parse_prompt` reads: room
    types and their modifiers, sizes, heights, furniture, materials, surfaces and negations.
    Callers report the words outside them as unused."""
    spans: list[tuple[int, int]] = []
    alternatives = [p for _, p in _ROOM_PATTERNS] + [p for _, p in _FURNITURE_PATTERNS]
    alternatives += [p for _, p in _MATERIAL_WORDS] + [p for _, p in _SURFACE_PATTERNS]
    for pat in alternatives:
        spans += [m.span() for m in re.finditer(rf"\b(?:{pat})\b", low)]
    for regex in (_DIMS, _HEIGHT, _NEGATION):
        spans += [m.span() for m in regex.finditer(low)]
    spans += [m.span() for m in re.finditer(r"\brooms?\b|\bmade\b", low)]
    size_words = r"small|tiny|compact|little|cramped|large|big|spacious|huge|medium|average"
    spans += [m.span() for m in re.finditer(rf"\b(?:{size_words})\b", low)]
    modifiers = "|".join(sorted(_ROOM_MODIFIERS))
    spans += [m.span(1) for m in re.finditer(rf"\b({modifiers})\s+rooms?\b", low)]
    return spans
