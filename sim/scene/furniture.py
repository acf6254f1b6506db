"""Procedural furniture, fixtures and building parts: parameters -> meshes, footprint, affordances.

Every object is described by an :class:`ObjectSpec` (label, builder kind, numeric parameters, pose and
main material) and built deterministically by :func:`build_object`; a scene stores specs, so meshes can
always be re-generated (see ``Scene.to_dict``). Sizes are sampled by :func:`sample_params` from
realistic ranges [m] (furniture catalogue dimensions).

Materials must be ITU-R P.2040 materials valid at 60-81 GHz (:mod:`sim.scene.materials`). Where the real
material has no model there, the closest in permittivity stands in (documented per item): foam
mattresses and cushions -> ``ceiling_board`` (eps' 1.48), vitreous china (toilets, basins) -> ``glass``
(eps' 6.3), enamelled steel bathtubs -> ``metal``, plants -> ``wood``.

Local frame (see :mod:`sim.scene.shapes`): origin on the floor at the footprint centre, ``+y`` front.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.geometry import Mesh
from sim.scene import shapes
from sim.scene.materials import check_valid_band
from sim.scene.shapes import Footprint

# Labels that are part of the building rather than furniture.
STRUCTURAL_LABELS = frozenset({"wall", "floor", "ceiling", "window", "door"})

Part = tuple[str, tuple[np.ndarray, np.ndarray]]  # (material or "main", (vertices, faces)) local


@dataclass(frozen=True)
class Affordance:
    """Where a person can use an object.

    Attributes:
        kind: ``"sit"`` (seat), ``"lie"`` (lying area) or ``"stand_at"`` (standing spot to use it).
        object_name: the object offering it.
        label: the object's label (``"sofa"``...).
        position: world (x, y, z) [m]: seat centre at seat height, lying-area centre on the mattress or
            cushion, or the standing spot on the floor.
        heading_deg: where the person faces (sit, stand_at) or the feet-to-head direction (lie), CCW
            from +y [deg].
        size_m: (length, width) of a lying area [m]; (0, 0) otherwise.
    """

    kind: str
    object_name: str
    label: str
    position: tuple[float, float, float]
    heading_deg: float
    size_m: tuple[float, float] = (0.0, 0.0)

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "object_name": self.object_name,
            "label": self.label,
            "position": list(self.position),
            "heading_deg": self.heading_deg,
            "size_m": list(self.size_m),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Affordance:
        return cls(
            d["kind"],
            d["object_name"],
            d["label"],
            tuple(d["position"]),
            d["heading_deg"],
            tuple(d["size_m"]),
        )


@dataclass(frozen=True)
class ObjectSpec:
    """Everything needed to (re)build an object.

    Attributes:
        name: unique in the scene (``"sofa_0"``).
        label: semantic class (``"sofa"``, ``"wall"``...).
        kind: builder key in :data:`BUILDERS` (usually the label).
        params: builder parameters (floats [m], strings, lists), JSON-serialisable.
        position: world (x, y, z) of the local origin [m].
        yaw_deg: heading of the local +y axis [deg].
        material: main material (secondary parts, e.g. a TV's glass screen, keep theirs).
    """

    name: str
    label: str
    kind: str
    params: dict[str, Any]
    position: tuple[float, float, float]
    yaw_deg: float
    material: str

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "label": self.label,
            "kind": self.kind,
            "params": _jsonable(self.params),
            "position": [float(v) for v in self.position],
            "yaw_deg": float(self.yaw_deg),
            "material": self.material,
        }

    @classmethod
    def from_dict(cls, d: dict) -> ObjectSpec:
        return cls(
            d["name"],
            d["label"],
            d["kind"],
            dict(d["params"]),
            tuple(d["position"]),
            d["yaw_deg"],
            d["material"],
        )


@dataclass(frozen=True, eq=False)
class SceneObject:
    """A built object.

    Attributes:
        name, label, material: as in the spec.
        meshes: world meshes, one per material (``Mesh.part_ids`` = part index within the object).
        footprint: oriented floor rectangle [m].
        height: top of the object above the floor [m].
        affordances: what a person can do with it.
        spec: the parameters it was built from.
    """

    name: str
    label: str
    meshes: tuple[Mesh, ...]
    material: str
    footprint: Footprint
    height: float
    affordances: tuple[Affordance, ...]
    spec: ObjectSpec = field(repr=False)

    @property
    def position(self) -> tuple[float, float]:
        """Footprint centre (x, y) [m]."""
        return self.footprint.center

    @property
    def is_structural(self) -> bool:
        return self.label in STRUCTURAL_LABELS


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (np.floating, float)):
        return float(v)
    if isinstance(v, (np.integer, int)) and not isinstance(v, bool):
        return int(v)
    return v


# ---------------------------------------------------------------------------------------------------
# Size ranges [m] and material choices per label (first material = most common).
RANGES: dict[str, dict[str, tuple[float, float]]] = {
    "sofa": {
        "w": (1.6, 2.4),
        "d": (0.82, 1.0),
        "h": (0.75, 0.95),
        "seat_h": (0.4, 0.47),
        "arm": (0.12, 0.22),
    },
    "armchair": {
        "w": (0.72, 0.95),
        "d": (0.78, 0.95),
        "h": (0.75, 1.0),
        "seat_h": (0.4, 0.47),
        "arm": (0.1, 0.18),
    },
    "bed": {"w": (0.9, 1.8), "d": (1.95, 2.15), "top_h": (0.45, 0.6), "head_h": (0.8, 1.1)},
    "dining_table": {"w": (1.2, 1.8), "d": (0.75, 1.0), "h": (0.72, 0.77)},
    "coffee_table": {"w": (0.8, 1.2), "d": (0.45, 0.65), "h": (0.38, 0.46)},
    "desk": {"w": (1.1, 1.6), "d": (0.6, 0.8), "h": (0.72, 0.76)},
    "chair": {"w": (0.42, 0.5), "d": (0.44, 0.52), "h": (0.8, 0.95), "seat_h": (0.44, 0.48)},
    "office_chair": {
        "w": (0.55, 0.65),
        "d": (0.55, 0.65),
        "h": (0.95, 1.2),
        "seat_h": (0.44, 0.52),
    },
    "cabinet": {"w": (0.6, 1.2), "d": (0.38, 0.55), "h": (0.75, 1.2)},
    "wardrobe": {"w": (1.0, 2.0), "d": (0.55, 0.65), "h": (1.9, 2.2)},
    "bookshelf": {"w": (0.7, 1.2), "d": (0.26, 0.36), "h": (1.5, 2.0)},
    "tv": {"w": (1.2, 1.8), "d": (0.38, 0.48), "h": (0.4, 0.55), "screen_w": (0.95, 1.6)},
    "counter": {"w": (0.6, 1.8), "d": (0.58, 0.64), "h": (0.88, 0.92)},
    "sink": {"w": (0.6, 0.9), "d": (0.58, 0.64), "h": (0.88, 0.92)},
    "stove": {"w": (0.58, 0.62), "d": (0.58, 0.64), "h": (0.88, 0.92)},
    "fridge": {"w": (0.58, 0.75), "d": (0.6, 0.7), "h": (1.7, 1.95)},
    "bathtub": {"w": (1.5, 1.8), "d": (0.7, 0.8), "h": (0.5, 0.6)},
    "toilet": {"w": (0.36, 0.42), "d": (0.62, 0.72), "h": (0.75, 0.85), "seat_h": (0.4, 0.44)},
    "plant": {
        "pot_r": (0.12, 0.22),
        "pot_h": (0.25, 0.45),
        "leaf_r": (0.22, 0.42),
        "h": (0.6, 1.7),
    },
    "lamp": {"h": (1.4, 1.8), "shade_r": (0.15, 0.25)},
    "stairs": {"w": (0.85, 1.1), "rise": (0.16, 0.19), "tread": (0.25, 0.29)},
}
# Bathroom washbasins are smaller than kitchen sinks.
BATHROOM_SINK = {"w": (0.5, 0.7), "d": (0.4, 0.52), "h": (0.8, 0.9)}
NIGHTSTAND = {"w": (0.4, 0.55), "d": (0.35, 0.45), "h": (0.45, 0.6)}

MATERIAL_CHOICES: dict[str, tuple[str, ...]] = {
    "sofa": ("chipboard", "wood"),
    "armchair": ("chipboard", "wood"),
    "bed": ("wood", "chipboard", "metal"),
    "dining_table": ("wood", "chipboard", "glass"),
    "coffee_table": ("wood", "glass", "chipboard"),
    "desk": ("chipboard", "wood", "metal"),
    "chair": ("wood", "metal", "chipboard"),
    "office_chair": ("chipboard",),
    "cabinet": ("chipboard", "wood", "metal"),
    "wardrobe": ("chipboard", "wood"),
    "bookshelf": ("wood", "chipboard", "metal"),
    "tv": ("chipboard", "wood"),
    "counter": ("chipboard", "wood"),
    "sink": ("chipboard", "wood"),
    "stove": ("metal",),
    "fridge": ("metal",),
    "bathtub": ("metal",),
    "toilet": ("glass",),
    "plant": ("wood",),
    "lamp": ("metal",),
    "stairs": ("wood", "concrete"),
    "door": ("wood",),
    "window": ("glass",),
}

FURNITURE_LABELS: tuple[str, ...] = tuple(
    k for k in MATERIAL_CHOICES if k not in ("door", "window")
)


def sample_params(
    label: str, rng: np.random.Generator, ranges: dict[str, tuple[float, float]] | None = None
) -> dict[str, float]:
    """Sample an object's size parameters [m] uniformly within ``ranges`` (default :data:`RANGES`)."""
    table = ranges if ranges is not None else RANGES[label]
    return {k: float(round(rng.uniform(lo, hi), 3)) for k, (lo, hi) in table.items()}


def sample_material(label: str, rng: np.random.Generator) -> str:
    """Main material for ``label``: the most common one with probability 0.6, else another."""
    choices = MATERIAL_CHOICES[label]
    if len(choices) == 1 or rng.random() < 0.6:
        return choices[0]
    return choices[int(rng.integers(1, len(choices)))]


# ---------------------------------------------------------------------------------------------------
# Builders: params -> (parts in the local frame, footprint size (w, d), height, local affordances).
# A local affordance is (kind, (x, y, z), heading_deg, (length, width)).
LocalAff = tuple[str, tuple[float, float, float], float, tuple[float, float]]
Built = tuple[list[Part], tuple[float, float], float, list[LocalAff]]


def _b(
    cx: float, cy: float, cz: float, sx: float, sy: float, sz: float
) -> tuple[np.ndarray, np.ndarray]:
    return shapes.box((cx, cy, cz), (sx, sy, sz))


def _legs(w: float, d: float, h: float, t: float = 0.05, inset: float = 0.04) -> list[Part]:
    xs, ys = w / 2 - inset - t / 2, d / 2 - inset - t / 2
    return [("main", _b(sx * xs, sy * ys, h / 2, t, t, h)) for sx in (-1, 1) for sy in (-1, 1)]


def _seat_spots(xs: list[float], y: float, z: float) -> list[LocalAff]:
    return [("sit", (x, y, z), 0.0, (0.0, 0.0)) for x in xs]


def _stand_spots(w: float, d: float, spacing: float = 0.6, dist: float = 0.3) -> list[LocalAff]:
    n = max(1, int(w // spacing))
    xs = np.linspace(-w / 2, w / 2, n + 2)[1:-1] if n > 1 else [0.0]
    return [("stand_at", (float(x), d / 2 + dist, 0.0), 180.0, (0.0, 0.0)) for x in xs]


def _sofa(p: dict) -> Built:
    w, d, h, sh, a = p["w"], p["d"], p["h"], p["seat_h"], p["arm"]
    back = 0.2
    inner = w - 2 * a
    parts: list[Part] = [
        ("main", _b(0, back / 2, sh / 2, inner, d - back, sh)),
        ("main", _b(0, -d / 2 + back / 2, h / 2, w, back, h)),
        ("main", _b(-w / 2 + a / 2, back / 2, (sh + 0.2) / 2, a, d - back, sh + 0.2)),
        ("main", _b(w / 2 - a / 2, back / 2, (sh + 0.2) / 2, a, d - back, sh + 0.2)),
    ]
    n = max(1, int(inner // 0.55))
    xs = [float(x) for x in np.linspace(-inner / 2, inner / 2, 2 * n + 1)[1::2]]
    seat_y = back / 2 + 0.02
    affs = _seat_spots(xs, seat_y, sh)
    if inner >= 1.4:  # a two-seater is too short to lie on
        affs.append(("lie", (0.0, back / 2, sh), -90.0, (inner, d - back)))
    return parts, (w, d), h, affs


def _armchair(p: dict) -> Built:
    parts, size, h, _ = _sofa(p)
    return parts, size, h, _seat_spots([0.0], 0.12, p["seat_h"])


def _bed(p: dict) -> Built:
    w, d, top, head = p["w"], p["d"], p["top_h"], p["head_h"]
    frame_h = top - 0.2
    parts: list[Part] = [
        ("main", _b(0, 0, frame_h / 2, w, d, frame_h)),
        (
            "ceiling_board",
            _b(0, 0.02, frame_h + 0.1, w - 0.04, d - 0.1, 0.2),
        ),  # mattress (foam proxy)
        ("main", _b(0, -d / 2 + 0.03, head / 2, w, 0.06, head)),
    ]
    affs: list[LocalAff] = [("lie", (0.0, 0.03, top), 180.0, (d - 0.15, w - 0.04))]
    for side in (-1, 1):  # sitting on either long edge, facing out
        affs.append(("sit", (side * (w / 2 - 0.15), 0.25, top), -90.0 * side, (0.0, 0.0)))
    return parts, (w, d), max(top, head), affs


def _table(p: dict) -> Built:
    w, d, h = p["w"], p["d"], p["h"]
    top = 0.04
    parts: list[Part] = [("main", _b(0, 0, h - top / 2, w, d, top)), *_legs(w, d, h - top)]
    return parts, (w, d), h, []


def _desk(p: dict) -> Built:
    w, d, h = p["w"], p["d"], p["h"]
    top, side = 0.03, 0.03
    parts: list[Part] = [
        ("main", _b(0, 0, h - top / 2, w, d, top)),
        ("main", _b(-w / 2 + side / 2, 0, (h - top) / 2, side, d, h - top)),
        ("main", _b(w / 2 - side / 2, 0, (h - top) / 2, side, d, h - top)),
        ("main", _b(0, -d / 2 + 0.01, (h - top) / 2 + 0.2, w - 2 * side, 0.02, h - top - 0.4)),
    ]
    return parts, (w, d), h, []


def _chair(p: dict) -> Built:
    w, d, h, sh = p["w"], p["d"], p["h"], p["seat_h"]
    parts: list[Part] = [
        ("main", _b(0, 0, sh - 0.02, w, d, 0.04)),
        *_legs(w, d, sh - 0.04, t=0.035, inset=0.02),
        ("main", _b(0, -d / 2 + 0.02, (sh + h) / 2, w, 0.04, h - sh)),
    ]
    return parts, (w, d), h, _seat_spots([0.0], 0.03, sh)


def _office_chair(p: dict) -> Built:
    w, d, h, sh = p["w"], p["d"], p["h"], p["seat_h"]
    r = min(w, d) / 2
    parts: list[Part] = [
        ("metal", shapes.cylinder((0, 0), 0.0, 0.08, r)),
        ("metal", shapes.cylinder((0, 0), 0.08, sh - 0.06, 0.03)),
        ("main", _b(0, 0, sh - 0.03, w * 0.85, d * 0.85, 0.06)),
        ("main", _b(0, -d * 0.4, (sh + h) / 2 + 0.05, w * 0.8, 0.05, h - sh - 0.1)),
    ]
    return parts, (w, d), h, _seat_spots([0.0], 0.03, sh)


def _solid(p: dict) -> Built:
    """Closed box (cabinet, wardrobe, counter, stove, fridge); stand spots in front."""
    w, d, h = p["w"], p["d"], p["h"]
    return [("main", _b(0, 0, h / 2, w, d, h))], (w, d), h, []


def _with_stand(builder: Callable[[dict], Built]) -> Callable[[dict], Built]:
    def build(p: dict) -> Built:
        parts, size, h, affs = builder(p)
        return parts, size, h, affs + _stand_spots(size[0], size[1])

    return build


def _bookshelf(p: dict) -> Built:
    w, d, h = p["w"], p["d"], p["h"]
    t = 0.02
    parts: list[Part] = [
        ("main", _b(-w / 2 + t / 2, 0, h / 2, t, d, h)),
        ("main", _b(w / 2 - t / 2, 0, h / 2, t, d, h)),
        ("main", _b(0, -d / 2 + t / 2, h / 2, w - 2 * t, t, h)),
    ]
    for z in np.linspace(t / 2, h - t / 2, max(3, int(h // 0.35) + 1)):
        parts.append(("main", _b(0, t / 2, float(z), w - 2 * t, d - t, t)))
    return parts, (w, d), h, []


def _tv(p: dict) -> Built:
    w, d, h, sw = p["w"], p["d"], p["h"], min(p["screen_w"], p["w"] + 0.2)
    sh = 0.5625 * sw  # 16:9 panel
    z0 = h + 0.06
    parts: list[Part] = [
        ("main", _b(0, 0, h / 2, w, d, h)),
        ("metal", _b(0, -0.05, h + 0.03, 0.3, 0.2, 0.06)),  # foot
        ("metal", _b(0, -0.05, z0 + sh / 2, sw, 0.05, sh)),  # panel back
        ("glass", _b(0, -0.02, z0 + sh / 2, sw - 0.02, 0.01, sh - 0.02)),  # screen
    ]
    return parts, (w, d), z0 + sh, []


def _sink(p: dict) -> Built:
    w, d, h = p["w"], p["d"], p["h"]
    basin = p.get("basin", "metal")
    if p.get("style", "kitchen") == "bathroom":  # pedestal washbasin
        parts: list[Part] = [
            (basin, shapes.cylinder((0, -0.05), 0.0, h - 0.18, 0.09)),
            (basin, _b(0, 0, h - 0.09, w, d, 0.18)),
        ]
    else:  # base cabinet with a steel basin
        parts = [
            ("main", _b(0, 0, (h - 0.2) / 2, w, d, h - 0.2)),
            (basin, _b(0, 0, h - 0.1, w, d, 0.2)),
        ]
    return parts, (w, d), h, _stand_spots(w, d, spacing=10.0)


def _bathtub(p: dict) -> Built:
    w, d, h = p["w"], p["d"], p["h"]
    t = 0.05
    parts: list[Part] = [
        ("main", _b(0, 0, t / 2, w, d, t)),
        ("main", _b(0, -d / 2 + t / 2, h / 2, w, t, h)),
        ("main", _b(0, d / 2 - t / 2, h / 2, w, t, h)),
        ("main", _b(-w / 2 + t / 2, 0, h / 2, t, d - 2 * t, h)),
        ("main", _b(w / 2 - t / 2, 0, h / 2, t, d - 2 * t, h)),
    ]
    return parts, (w, d), h, []


def _toilet(p: dict) -> Built:
    w, d, h, sh = p["w"], p["d"], p["h"], p["seat_h"]
    tank_d = 0.18
    parts: list[Part] = [
        ("main", shapes.cylinder((0, 0.05), 0.0, sh - 0.12, w * 0.3)),
        ("main", _b(0, tank_d / 2 - 0.02, sh - 0.06, w, d - tank_d, 0.12)),
        ("main", _b(0, -d / 2 + tank_d / 2, (sh + h) / 2, w, tank_d, h - sh)),
    ]
    return parts, (w, d), h, _seat_spots([0.0], 0.05, sh)


def _plant(p: dict) -> Built:
    pr, ph, lr, h = p["pot_r"], p["pot_h"], p["leaf_r"], max(p["h"], p["pot_h"] + 0.2)
    parts: list[Part] = [
        ("glass", shapes.cylinder((0, 0), 0.0, ph, pr)),  # ceramic pot (glass proxy)
        ("main", shapes.cylinder((0, 0), ph, h, lr, segments=8)),
    ]
    r = max(pr, lr)
    return parts, (2 * r, 2 * r), h, []


def _lamp(p: dict) -> Built:
    h, r = p["h"], p["shade_r"]
    parts: list[Part] = [
        ("main", shapes.cylinder((0, 0), 0.0, 0.03, 0.14)),
        ("main", shapes.cylinder((0, 0), 0.03, h - 0.3, 0.015, segments=6)),
        ("main", shapes.cylinder((0, 0), h - 0.3, h, r)),
    ]
    return parts, (2 * r, 2 * r), h, []


def _stairs(p: dict) -> Built:
    """Straight flight rising toward local -y (the wall); the first step is at the front (+y)."""
    w, rise, tread, n = p["w"], p["rise"], p["tread"], int(p["steps"])
    length = n * tread
    parts: list[Part] = []
    for k in range(n):
        y_hi = length / 2 - k * tread
        top = (k + 1) * rise
        parts.append(("main", _b(0, y_hi - tread / 2, top / 2, w, tread, top)))
    return (
        parts,
        (w, length),
        n * rise,
        [("stand_at", (0.0, length / 2 + 0.3, 0.0), 180.0, (0.0, 0.0))],
    )


def _panel(p: dict) -> Built:
    """Axis-aligned slab ``sx`` x ``sy`` x ``h`` from the local origin up (door leaf, window pane)."""
    sx, sy, h = p["sx"], p["sy"], p["h"]
    return [("main", _b(0, 0, h / 2, sx, sy, h))], (sx, sy), h, []


def _wall(p: dict) -> Built:
    """A straight wall in world coordinates (the spec's position is the origin, yaw 0).

    Params: ``axis`` ("x": the wall runs along x), ``c0``/``c1`` its thickness range across, ``a0``/``a1``
    its extent along, ``h`` height, ``openings`` [[along_start, along_end, z_bottom, z_top], ...].
    """
    a0, a1, c0, c1, h = p["a0"], p["a1"], p["c0"], p["c1"], p["h"]
    pieces: list[tuple[float, float, float, float]] = []  # (along0, along1, z0, z1)
    cursor = a0
    for s, e, zb, zt in sorted(p.get("openings", [])):
        if s > cursor:
            pieces.append((cursor, s, 0.0, h))
        if zb > 0:
            pieces.append((s, e, 0.0, zb))
        if zt < h:
            pieces.append((s, e, zt, h))
        cursor = max(cursor, e)
    if cursor < a1:
        pieces.append((cursor, a1, 0.0, h))
    parts: list[Part] = []
    cc, ct = (c0 + c1) / 2, c1 - c0
    for s, e, z0, z1 in pieces:
        if p["axis"] == "x":
            parts.append(("main", _b((s + e) / 2, cc, (z0 + z1) / 2, e - s, ct, z1 - z0)))
        else:
            parts.append(("main", _b(cc, (s + e) / 2, (z0 + z1) / 2, ct, e - s, z1 - z0)))
    if p["axis"] == "x":
        size = (a1 - a0, ct)
    else:
        size = (ct, a1 - a0)
    return parts, size, h, []


def _slab(p: dict) -> Built:
    """Horizontal slab (floor, ceiling) over ``bounds`` from ``z0`` to ``z1`` with an optional ``hole``."""
    xmin, ymin, xmax, ymax = p["bounds"]
    z0, z1 = p["z0"], p["z1"]
    zc, zt = (z0 + z1) / 2, z1 - z0
    rects = [(xmin, ymin, xmax, ymax)]
    if p.get("hole"):
        hx0, hy0, hx1, hy1 = p["hole"]
        rects = [
            (xmin, ymin, xmax, hy0),
            (xmin, hy1, xmax, ymax),
            (xmin, hy0, hx0, hy1),
            (hx1, hy0, xmax, hy1),
        ]
    parts: list[Part] = [
        ("main", _b((a + c) / 2, (b + d) / 2, zc, c - a, d - b, zt))
        for a, b, c, d in rects
        if c - a > 1e-6 and d - b > 1e-6
    ]
    return parts, (xmax - xmin, ymax - ymin), z1, []


BUILDERS: dict[str, Callable[[dict], Built]] = {
    "sofa": _sofa,
    "armchair": _armchair,
    "bed": _bed,
    "dining_table": _table,
    "coffee_table": _table,
    "desk": _desk,
    "chair": _chair,
    "office_chair": _office_chair,
    "cabinet": _solid,
    "wardrobe": _with_stand(_solid),
    "bookshelf": _bookshelf,
    "tv": _tv,
    "counter": _with_stand(_solid),
    "sink": _sink,
    "stove": _with_stand(_solid),
    "fridge": _with_stand(_solid),
    "bathtub": _bathtub,
    "toilet": _toilet,
    "plant": _plant,
    "lamp": _lamp,
    "stairs": _stairs,
    "panel": _panel,
    "wall": _wall,
    "slab": _slab,
}


def _local_center(spec: ObjectSpec) -> tuple[float, float]:
    """Footprint centre in the local frame: the origin, except for walls and slabs (world-placed)."""
    p = spec.params
    if spec.kind == "wall":
        along, across = (p["a0"] + p["a1"]) / 2, (p["c0"] + p["c1"]) / 2
        return (along, across) if p["axis"] == "x" else (across, along)
    if spec.kind == "slab":
        xmin, ymin, xmax, ymax = p["bounds"]
        return ((xmin + xmax) / 2, (ymin + ymax) / 2)
    return (0.0, 0.0)


def build_object(spec: ObjectSpec) -> SceneObject:
    """Build meshes, footprint and affordances from a spec (deterministic).

    Raises :class:`ValueError` for an unknown builder or a material not valid over 60-81 GHz.
    """
    if spec.kind not in BUILDERS:
        raise ValueError(f"unknown object kind {spec.kind!r}; known: {', '.join(sorted(BUILDERS))}")
    parts, (w, d), height, local_affs = BUILDERS[spec.kind](spec.params)
    rot = shapes.rot2(spec.yaw_deg)
    origin = np.asarray(spec.position, dtype=float)

    def to_world(v: np.ndarray) -> np.ndarray:
        out = v.astype(float).copy()
        out[:, :2] = v[:, :2] @ rot.T
        return out + origin

    by_material: dict[str, list[tuple[int, tuple[np.ndarray, np.ndarray]]]] = {}
    for k, (mat, geom) in enumerate(parts):
        material = spec.material if mat == "main" else mat
        by_material.setdefault(material, []).append((k, geom))
    meshes = []
    for material, items in by_material.items():
        check_valid_band(material)
        verts, faces, local_ids = shapes.merge([g for _, g in items])
        part_ids = np.asarray([items[i][0] for i in local_ids], dtype=np.int64)
        name = spec.name if len(by_material) == 1 else f"{spec.name}.{material}"
        meshes.append(Mesh(name, spec.label, to_world(verts), faces, material, part_ids=part_ids))
    center = rot @ np.asarray(_local_center(spec), dtype=float) + origin[:2]
    footprint = Footprint(
        (float(center[0]), float(center[1])), (float(w), float(d)), float(spec.yaw_deg)
    )
    affs = []
    for kind, (x, y, z), heading, size in local_affs:
        wx, wy = rot @ np.array([x, y]) + origin[:2]
        affs.append(
            Affordance(
                kind,
                spec.name,
                spec.label,
                (float(wx), float(wy), float(z + origin[2])),
                float((heading + spec.yaw_deg + 180.0) % 360.0 - 180.0),
                (float(size[0]), float(size[1])),
            )
        )
    return SceneObject(
        spec.name,
        spec.label,
        tuple(meshes),
        spec.material,
        footprint,
        float(height + origin[2]),
        tuple(affs),
        spec,
    )
