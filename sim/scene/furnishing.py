"""Furnishing one room: per-room-type recipes and placement rules, with collision and clearance checks.

Furniture is placed by per-room-type rules (a sofa faces the TV with a coffee table between, chairs
around the dining table, a bed's head against a wall with room on its sides, a kitchen run of fridge /
counters / sink / stove along one wall...). Every placement is checked against the room, other
furniture, their clearance zones and the doors' approach zones (:class:`RoomLayout`), and re-sampled on
failure. Units: metres and degrees (yaw counter-clockwise from +y, the heading pointing into the room).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.scene import shapes
from sim.scene.furniture import (
    BATHROOM_SINK,
    NIGHTSTAND,
    ObjectSpec,
    build_object,
    sample_material,
    sample_params,
)
from sim.scene.prompt import SceneRequest
from sim.scene.scene import Room
from sim.scene.shapes import Footprint


class LayoutError(RuntimeError):
    """A layout attempt failed (re-sampled by :func:`generate_scene`)."""


_SIDES = ("S", "N", "W", "E")
SIDE_YAW = {"S": 0.0, "N": 180.0, "W": -90.0, "E": 90.0}  # heading pointing into the room


@dataclass
class _Zone:
    owner: str
    footprint: Footprint
    must_inside: bool


class RoomLayout:
    """Incremental furniture placement in one room with collision and clearance checks."""

    def __init__(
        self, room: Room, rng: np.random.Generator, keepouts: list[Footprint], windows: list[tuple]
    ):
        self.room = room
        self.rng = rng
        self.keepouts = keepouts
        self.windows = windows  # (side, along0, along1, sill_z)
        self.placed: list[tuple[str, Footprint]] = []
        self.zones: list[_Zone] = []
        self.specs: list[ObjectSpec] = []
        self.counter: dict[str, int] | None = None  # shared across the scene (set by the caller)
        self.materials: dict[str, str] = {}
        self.ctx: dict[str, Any] = {}

    # -- geometry
    def wall_length(self, side: str) -> float:
        w, d = self.room.size_m
        return w if side in ("S", "N") else d

    def wall_pose(
        self, side: str, s: float, depth: float, gap: float = 0.01
    ) -> tuple[float, float, float]:
        """Centre (x, y) and yaw of an item of ``depth`` whose back touches wall ``side`` at ``s``."""
        xmin, ymin, xmax, ymax = self.room.bounds
        off = depth / 2 + gap
        if side == "S":
            return xmin + s, ymin + off, SIDE_YAW[side]
        if side == "N":
            return xmin + s, ymax - off, SIDE_YAW[side]
        if side == "W":
            return xmin + off, ymin + s, SIDE_YAW[side]
        return xmax - off, ymin + s, SIDE_YAW[side]

    def name(self, label: str) -> str:
        assert self.counter is not None
        k = self.counter.get(label, 0)
        self.counter[label] = k + 1
        return f"{label}_{k}"

    # -- checks
    def fits(
        self,
        fp: Footprint,
        zones: list[_Zone],
        ignore: frozenset[str] = frozenset(),
        wall: tuple[str, float, float, float] | None = None,
    ) -> bool:
        if not shapes.inside(fp, self.room.footprint, tol=1e-6):
            return False
        for name, other in self.placed:
            if name not in ignore and shapes.overlap(fp, other):
                return False
        for z in self.zones:
            if z.owner not in ignore and shapes.overlap(fp, z.footprint):
                return False
        for k in self.keepouts:
            if shapes.overlap(fp, k):
                return False
        for z in zones:
            if z.must_inside and not shapes.inside(z.footprint, self.room.footprint, tol=1e-6):
                return False
            for name, other in self.placed:
                if name not in ignore and shapes.overlap(z.footprint, other):
                    return False
        if wall is not None:  # tall furniture must not cover a window
            side, a0, a1, height = wall
            for wside, w0, w1, sill in self.windows:
                if wside == side and height > sill and a0 < w1 and w0 < a1:
                    return False
        return True

    def zones_for(
        self, name: str, x: float, y: float, yaw: float, w: float, d: float, spec: dict
    ) -> list[_Zone]:
        """Clearance zones from local rectangles ``(x0, y0, x1, y1, must_inside)``."""
        out = []
        rot = shapes.rot2(yaw)
        for x0, y0, x1, y1, must in spec.get("zones", []):
            c = rot @ np.array([(x0 + x1) / 2, (y0 + y1) / 2]) + np.array([x, y])
            out.append(
                _Zone(name, Footprint((float(c[0]), float(c[1])), (x1 - x0, y1 - y0), yaw), must)
            )
        return out

    def commit(self, spec: ObjectSpec, fp: Footprint, zones: list[_Zone]) -> ObjectSpec:
        self.placed.append((spec.name, fp))
        self.zones.extend(zones)
        self.specs.append(spec)
        return spec

    # -- placement
    def try_place(
        self,
        label: str,
        params: dict,
        x: float,
        y: float,
        yaw: float,
        *,
        kind: str | None = None,
        front: float = 0.0,
        back: float = 0.0,
        sides: float = 0.0,
        zones: list[tuple] | None = None,
        ignore: frozenset[str] = frozenset(),
        wall: tuple[str, float, float] | None = None,
        name: str | None = None,
        material: str | None = None,
    ) -> ObjectSpec | None:
        """Place ``label`` at (x, y) facing ``yaw`` if it fits; clearance ``front``/``back``/``sides`` [m]
        must stay inside the room and free of furniture."""
        kind = kind or label
        yaw = float(yaw) % 360.0
        yaw = yaw - 360.0 if yaw > 180.0 else yaw
        material = material or self.materials.get(label) or sample_material(label, self.rng)
        spec = ObjectSpec(name or f"?{label}", label, kind, params, (x, y, 0.0), yaw, material)
        obj = build_object(spec)
        w, d = obj.footprint.size
        local = list(zones or [])
        if front > 0:
            local.append((-w / 2, d / 2, w / 2, d / 2 + front, True))
        if back > 0:
            local.append((-w / 2, -d / 2 - back, w / 2, -d / 2, True))
        if sides > 0:
            local.append((-w / 2 - sides, -d / 2, -w / 2, d / 2, True))
            local.append((w / 2, -d / 2, w / 2 + sides, d / 2, True))
        z = self.zones_for(spec.name, x, y, yaw, w, d, {"zones": local})
        wall_check = (
            None if wall is None else (wall[0], wall[1] - w / 2, wall[1] + w / 2, obj.height)
        )
        if not self.fits(obj.footprint, z, ignore, wall_check):
            return None
        final = dataclasses.replace(spec, name=name or self.name(label))
        z = [dataclasses.replace(zz, owner=final.name) for zz in z]
        return self.commit(final, obj.footprint, z)

    def against_wall(
        self,
        label: str,
        params: dict,
        *,
        side: str | None = None,
        s: float | None = None,
        tries: int = 40,
        corner: bool = False,
        **kw: Any,
    ) -> ObjectSpec | None:
        """Back against a wall (random side weighted by length, random position along it)."""
        w, d = _size(label, params, kw.get("kind"))
        for _ in range(tries):
            sd = side or pick_side(self, self.rng)
            length = self.wall_length(sd)
            if w > length - 0.03:
                continue
            if s is not None:
                pos = s
            elif corner:
                pos = w / 2 + 0.01 if self.rng.random() < 0.5 else length - w / 2 - 0.01
            else:
                pos = float(self.rng.uniform(w / 2 + 0.01, length - w / 2 - 0.01))
            x, y, yaw = self.wall_pose(sd, pos, d)
            placed = self.try_place(label, params, x, y, yaw, wall=(sd, pos), **kw)
            if placed is not None:
                return placed
            if s is not None and side is not None:
                return None
        return None


def _size(label: str, params: dict, kind: str | None = None) -> tuple[float, float]:
    obj = build_object(ObjectSpec("probe", label, kind or label, params, (0, 0, 0), 0.0, "wood"))
    return obj.footprint.size


def pick_side(layout: RoomLayout, rng: np.random.Generator) -> str:
    """A wall side (S/N/W/E) drawn with probability proportional to its length."""
    lengths = np.array([layout.wall_length(s) for s in _SIDES])
    return _SIDES[int(rng.choice(4, p=lengths / lengths.sum()))]


def _opposite(side: str) -> str:
    return {"S": "N", "N": "S", "W": "E", "E": "W"}[side]


def _side_of(layout: RoomLayout, spec: ObjectSpec) -> str:
    return {0.0: "S", 180.0: "N", -90.0: "W", 90.0: "E"}[float(spec.yaw_deg)]


def _along(layout: RoomLayout, side: str, x: float, y: float) -> float:
    xmin, ymin = layout.room.bounds[:2]
    return x - xmin if side in ("S", "N") else y - ymin


# ---------------------------------------------------------------------------- placement rules per label


def _place_tv(L: RoomLayout, ctx: dict) -> list[ObjectSpec]:
    p = sample_params("tv", L.rng)
    tv = L.against_wall("tv", p, front=0.8)
    return [tv] if tv else []


def _place_sofa(L: RoomLayout, ctx: dict) -> list[ObjectSpec]:
    """Facing the TV: against the opposite wall, or free-standing 2.2-3.2 m in front of it."""
    p = sample_params("sofa", L.rng)
    tv = ctx.get("tv")
    if tv is not None:
        side = _side_of(L, tv)
        opp = _opposite(side)
        depth_between = L.wall_length("W" if side in ("S", "N") else "S")
        along = _along(L, side, *tv.position[:2])
        fwd = shapes.heading_vector(tv.yaw_deg)
        tv_d = _size("tv", tv.params)[1]
        for _ in range(20):
            if depth_between > 5.0 and L.rng.random() < 0.7:
                dist = float(L.rng.uniform(2.2, 3.2))
                c = np.array(tv.position[:2]) + fwd * (tv_d / 2 + dist + p["d"] / 2)
                c += np.array([fwd[1], -fwd[0]]) * L.rng.uniform(-0.3, 0.3)
                sofa = L.try_place(
                    "sofa",
                    p,
                    float(c[0]),
                    float(c[1]),
                    tv.yaw_deg + 180.0,
                    front=0.4,
                    back=0.6,
                    ignore=frozenset({tv.name}),
                )
            else:
                s = float(
                    np.clip(
                        along + L.rng.uniform(-0.3, 0.3),
                        p["w"] / 2 + 0.01,
                        L.wall_length(opp) - p["w"] / 2 - 0.01,
                    )
                )
                sofa = L.against_wall(
                    "sofa", p, side=opp, s=s, front=0.4, ignore=frozenset({tv.name})
                )
            if sofa is not None:
                ctx["sofa"] = sofa
                return [sofa]
            p = sample_params("sofa", L.rng)
    sofa = L.against_wall("sofa", p, front=0.5)
    if sofa is not None:
        ctx["sofa"] = sofa
        return [sofa]
    return []


def _place_coffee_table(L: RoomLayout, ctx: dict) -> list[ObjectSpec]:
    sofa = ctx.get("sofa")
    p = sample_params("coffee_table", L.rng)
    if sofa is None:
        t = L.against_wall("coffee_table", p, front=0.4)
        return [t] if t else []
    p["w"] = min(p["w"], sofa.params["w"] * 0.7)
    fwd = shapes.heading_vector(sofa.yaw_deg)
    c = np.array(sofa.position[:2]) + fwd * (sofa.params["d"] / 2 + 0.4 + p["d"] / 2)
    ignore = frozenset({sofa.name} | ({ctx["tv"].name} if ctx.get("tv") else set()))
    t = L.try_place("coffee_table", p, float(c[0]), float(c[1]), sofa.yaw_deg, ignore=ignore)
    return [t] if t else []


def _place_armchair(L: RoomLayout, ctx: dict) -> list[ObjectSpec]:
    """Beside the sofa-TV axis facing it, else against a wall."""
    p = sample_params("armchair", L.rng)
    sofa, tv = ctx.get("sofa"), ctx.get("tv")
    if sofa is not None and tv is not None:
        mid = (np.array(sofa.position[:2]) + np.array(tv.position[:2])) / 2
        fwd = shapes.heading_vector(sofa.yaw_deg)
        right = np.array([fwd[1], -fwd[0]])
        for sign in L.rng.permutation([-1.0, 1.0]):
            off = sofa.params["w"] / 2 * 0.6 + 0.5 + p["d"] / 2
            c = mid + sign * right * off
            yaw = float(np.degrees(np.arctan2(-(-sign * right)[0], (-sign * right)[1])))
            a = L.try_place(
                "armchair",
                p,
                float(c[0]),
                float(c[1]),
                yaw,
                front=0.3,
                ignore=frozenset({sofa.name, tv.name}),
            )
            if a is not None:
                return [a]
    a = L.against_wall("armchair", p, front=0.5)
    return [a] if a else []


def _place_bed(L: RoomLayout, ctx: dict) -> list[ObjectSpec]:
    p = sample_params("bed", L.rng)
    for _ in range(30):
        side = pick_side(L, L.rng)
        length = L.wall_length(side)
        if p["w"] > length:
            continue
        if p["w"] < 1.2 and L.rng.random() < 0.5:
            s = p["w"] / 2 + 0.01 if L.rng.random() < 0.5 else length - p["w"] / 2 - 0.01
        else:
            s = float(
                np.clip(
                    length / 2 + L.rng.uniform(-0.6, 0.6),
                    p["w"] / 2 + 0.01,
                    length - p["w"] / 2 - 0.01,
                )
            )
        w, d = p["w"], p["d"]
        zones = [(-w / 2, d / 2, w / 2, d / 2 + 0.5, True)]
        side_zones = [
            (-w / 2 - 0.5, -d / 2 + 0.5, -w / 2, d / 2, False),
            (w / 2, -d / 2 + 0.5, w / 2 + 0.5, d / 2, False),
        ]
        x, y, yaw = L.wall_pose(side, s, d)
        bed = L.try_place("bed", p, x, y, yaw, zones=zones + side_zones, wall=(side, s))
        if bed is not None:
            ctx["bed"] = bed
            return [bed]
    return []


def _place_nightstands(L: RoomLayout, ctx: dict) -> list[ObjectSpec]:
    """A small cabinet against the wall on either side of the bed's head (each with probability 0.75)."""
    bed = ctx.get("bed")
    if bed is None:
        return []
    side = _side_of(L, bed)
    s_bed = _along(L, side, *bed.position[:2])
    out = []
    for sign in (-1.0, 1.0):
        if L.rng.random() > 0.75:
            continue
        p = sample_params("cabinet", L.rng, NIGHTSTAND)
        s = s_bed + sign * (bed.params["w"] / 2 + p["w"] / 2 + 0.03)
        if not p["w"] / 2 < s < L.wall_length(side) - p["w"] / 2:
            continue
        x, y, yaw = L.wall_pose(side, s, p["d"])
        n = L.try_place("cabinet", p, x, y, yaw, ignore=frozenset({bed.name}), wall=(side, s))
        if n is not None:
            out.append(n)
    return out


def _place_desk(
    L: RoomLayout, ctx: dict, chair: bool = True, chair_label: str = "office_chair"
) -> list[ObjectSpec]:
    p = sample_params("desk", L.rng)
    desk = L.against_wall("desk", p, front=0.8)
    if desk is None:
        return []
    out = [desk]
    if chair and chair_label not in ctx.get("exclude", ()):
        cp = sample_params(chair_label, L.rng)
        fwd = shapes.heading_vector(desk.yaw_deg)
        c = np.array(desk.position[:2]) + fwd * (p["d"] / 2 + cp["d"] / 2 + 0.05)
        ch = L.try_place(
            chair_label,
            cp,
            float(c[0]),
            float(c[1]),
            desk.yaw_deg + 180.0,
            ignore=frozenset({desk.name}),
        )
        if ch is not None:
            out.append(ch)
    return out


def _place_dining(L: RoomLayout, ctx: dict) -> list[ObjectSpec]:
    """Free-standing table with chairs on its long sides facing it (and at the ends if there is room)."""
    excl = ctx.get("exclude", ())
    for attempt in range(25):
        p = sample_params("dining_table", L.rng)
        if attempt >= 10:  # a small kitchen gets a small table
            small = {"w": (0.8, 1.1), "d": (0.65, 0.8), "h": (0.72, 0.77)}
            p = sample_params("dining_table", L.rng, small)
        cp = sample_params("chair", L.rng)
        xmin, ymin, xmax, ymax = L.room.bounds
        yaw = float(L.rng.choice([0.0, 90.0]))
        margin = cp["d"] + 0.4
        hw = (p["w"] if yaw == 0 else p["d"]) / 2 + margin
        hd = (p["d"] if yaw == 0 else p["w"]) / 2 + margin
        if xmax - xmin < 2 * hw or ymax - ymin < 2 * hd:
            continue
        x = float(L.rng.uniform(xmin + hw, xmax - hw))
        y = float(L.rng.uniform(ymin + hd, ymax - hd))
        zone = (
            -p["w"] / 2 - margin,
            -p["d"] / 2 - margin,
            p["w"] / 2 + margin,
            p["d"] / 2 + margin,
            False,
        )
        table = L.try_place("dining_table", p, x, y, yaw, zones=[zone])
        if table is None:
            continue
        out = [table]
        if "chair" in excl:
            return out
        per_side = max(1, min(3, int(p["w"] // 0.6)))
        xs = np.linspace(-p["w"] / 2, p["w"] / 2, 2 * per_side + 1)[1::2]
        rot = shapes.rot2(yaw)
        seats = [(float(lx), -1.0) for lx in xs] + [(float(lx), 1.0) for lx in xs]
        material = sample_material("chair", L.rng)
        for lx, side in seats:
            local = np.array([lx, side * (p["d"] / 2 + cp["d"] / 2 + 0.03)])
            c = rot @ local + np.array([x, y])
            # The chair's front (+y) points at the table: heading of -side * local y.
            chair_yaw = yaw + (0.0 if side < 0 else 180.0)
            ch = L.try_place(
                "chair",
                cp,
                float(c[0]),
                float(c[1]),
                chair_yaw,
                back=0.3,
                ignore=frozenset({table.name}),
                material=material,
            )
            if ch is not None:
                out.append(ch)
        return out
    return []


def _place_kitchen_run(L: RoomLayout, ctx: dict) -> list[ObjectSpec]:
    """Fridge, counters, sink and stove side by side along one wall."""
    excl = ctx.get("exclude", ())
    for _ in range(20):
        side = pick_side(L, L.rng)
        length = L.wall_length(side)
        items: list[tuple[str, dict]] = []
        for label in ("counter", "sink", "counter", "stove", "counter"):
            if label not in excl:
                items.append((label, sample_params(label, L.rng)))
        if L.rng.random() < 0.5:
            items = items[::-1]
        if "fridge" not in excl:
            fridge = ("fridge", sample_params("fridge", L.rng))
            items = [fridge, *items] if L.rng.random() < 0.5 else [*items, fridge]
        total = sum(p["w"] for _, p in items)
        while total > length - 0.2 and any(lbl == "counter" for lbl, _ in items):
            k = max(
                (i for i, (lbl, _) in enumerate(items) if lbl == "counter"),
                key=lambda i: items[i][1]["w"],
            )
            items.pop(k)
            total = sum(p["w"] for _, p in items)
        if not items or total > length - 0.02:
            continue
        start = float(L.rng.uniform(0.01, length - total - 0.01))
        saved = (len(L.placed), len(L.zones), len(L.specs), dict(L.counter or {}))
        out = []
        s = start
        ok = True
        mat = sample_material("counter", L.rng)
        for label, p in items:
            s += p["w"] / 2
            x, y, yaw = L.wall_pose(side, s, p["d"])
            spec = L.try_place(
                label,
                p,
                x,
                y,
                yaw,
                front=0.9,
                wall=(side, s),
                material=mat if label in ("counter", "sink") else None,
            )
            if spec is None:
                ok = False
                break
            out.append(spec)
            s += p["w"] / 2
        if ok:
            return out
        del L.placed[saved[0] :], L.zones[saved[1] :], L.specs[saved[2] :]
        L.counter.clear()
        L.counter.update(saved[3])
    return []


def _place_bathtub(L: RoomLayout, ctx: dict) -> list[ObjectSpec]:
    p = sample_params("bathtub", L.rng)
    b = L.against_wall("bathtub", p, front=0.5, corner=L.rng.random() < 0.7)
    return [b] if b else []


def _place_toilet(L: RoomLayout, ctx: dict) -> list[ObjectSpec]:
    p = sample_params("toilet", L.rng)
    t = L.against_wall("toilet", p, front=0.55, sides=0.15)
    return [t] if t else []


def _place_bath_sink(L: RoomLayout, ctx: dict) -> list[ObjectSpec]:
    p = sample_params("sink", L.rng, BATHROOM_SINK) | {"style": "bathroom", "basin": "glass"}
    t = L.against_wall("sink", p, front=0.6, material="chipboard")
    return [t] if t else []


def _place_kitchen_sink(L: RoomLayout, ctx: dict) -> list[ObjectSpec]:
    t = L.against_wall("sink", sample_params("sink", L.rng), front=0.9)
    return [t] if t else []


def _place_stairs(L: RoomLayout, ctx: dict) -> list[ObjectSpec]:
    """A straight flight against a short wall, reaching the ceiling (the ceiling gets a hole)."""
    for _ in range(20):
        p = sample_params("stairs", L.rng)
        p["steps"] = round(L.room.height / p["rise"])
        p["rise"] = round(L.room.height / p["steps"], 4)
        w, d = L.room.size_m
        sides = ("S", "N") if w <= d else ("W", "E")
        side = sides[int(L.rng.integers(2))]
        st = L.against_wall("stairs", p, side=side, front=0.9, corner=True, tries=4)
        if st is not None:
            return [st]
    return []


def _place_simple(label: str, front: float, corner_prob: float = 0.0, ranges: dict | None = None):
    def place(L: RoomLayout, ctx: dict) -> list[ObjectSpec]:
        p = sample_params(label, L.rng, ranges)
        o = L.against_wall(label, p, front=front, corner=L.rng.random() < corner_prob)
        return [o] if o else []

    return place


def _place_chair(L: RoomLayout, ctx: dict) -> list[ObjectSpec]:
    o = L.against_wall("chair", sample_params("chair", L.rng), front=0.4)
    return [o] if o else []


PLACERS = {
    "tv": _place_tv,
    "sofa": _place_sofa,
    "coffee_table": _place_coffee_table,
    "armchair": _place_armchair,
    "bed": _place_bed,
    "nightstand": _place_nightstands,
    "desk": _place_desk,
    "dining_table": _place_dining,
    "kitchen_run": _place_kitchen_run,
    "bathtub": _place_bathtub,
    "toilet": _place_toilet,
    "sink": _place_kitchen_sink,
    "bath_sink": _place_bath_sink,
    "stairs": _place_stairs,
    "chair": _place_chair,
    "office_chair": _place_simple("office_chair", 0.3),
    "cabinet": _place_simple("cabinet", 0.5),
    "wardrobe": _place_simple("wardrobe", 0.7),
    "bookshelf": _place_simple("bookshelf", 0.5),
    "counter": _place_simple("counter", 0.9),
    "stove": _place_simple("stove", 0.9),
    "fridge": _place_simple("fridge", 0.9),
    "plant": _place_simple("plant", 0.0, corner_prob=0.8),
    "lamp": _place_simple("lamp", 0.0, corner_prob=0.8),
}
# What each placer key produces (for prompt include / exclude).
PLACER_LABELS = {
    "nightstand": ("cabinet",),
    "kitchen_run": ("counter", "sink", "stove", "fridge"),
    "bath_sink": ("sink",),
    "desk": ("desk", "office_chair"),
    "dining_table": ("dining_table", "chair"),
}

# Per room type: (placer key, probability, max count). Probability 1 = required.
RECIPES: dict[str, tuple[tuple[str, float, int], ...]] = {
    "living_room": (
        ("tv", 1.0, 1), ("sofa", 1.0, 1), ("coffee_table", 0.7, 1), ("armchair", 0.5, 1),
        ("bookshelf", 0.4, 1), ("cabinet", 0.3, 1), ("plant", 0.7, 2), ("lamp", 0.5, 1),
    ),
    "bedroom": (
        ("bed", 1.0, 1), ("nightstand", 0.8, 1), ("wardrobe", 0.8, 1), ("desk", 0.3, 1),
        ("bookshelf", 0.2, 1), ("plant", 0.4, 1), ("lamp", 0.3, 1),
    ),
    "kitchen": (("kitchen_run", 1.0, 1), ("dining_table", 0.5, 1), ("cabinet", 0.2, 1), ("plant", 0.3, 1)),
    "bathroom": (("bathtub", 0.7, 1), ("toilet", 1.0, 1), ("bath_sink", 1.0, 1), ("cabinet", 0.4, 1), ("plant", 0.2, 1)),
    "office": (
        ("desk", 1.0, 1), ("bookshelf", 0.7, 1), ("cabinet", 0.6, 1), ("plant", 0.5, 1),
        ("armchair", 0.3, 1), ("lamp", 0.3, 1),
    ),
    "hallway": (("stairs", 1.0, 1), ("cabinet", 0.6, 1), ("plant", 0.4, 1), ("lamp", 0.2, 1), ("bookshelf", 0.2, 1)),
}  # fmt: skip


def furnish(L: RoomLayout, room_type: str, req: SceneRequest, rng: np.random.Generator) -> None:
    """Run the room type's recipe; items the prompt names become required, excluded ones are skipped."""
    ctx: dict[str, Any] = {"exclude": req.exclude}
    for key, prob, count in RECIPES[room_type]:
        primary = PLACER_LABELS.get(key, (key,))[0]
        if primary in req.exclude:
            continue
        wanted = primary in req.include
        if not wanted and rng.random() >= prob:
            continue
        n = max(1, int(rng.integers(1, count + 1)))
        for _ in range(n):
            placed = PLACERS[key](L, ctx)
            for spec in placed:
                ctx.setdefault(spec.label, spec)
            if not placed and (prob >= 1.0 or wanted):
                w, d = L.room.size_m
                raise LayoutError(
                    f"could not place {primary} in the {w:.1f} x {d:.1f} m {room_type}"
                )
    L.ctx = ctx


def add_requested(layouts: list[RoomLayout], req: SceneRequest) -> None:
    """Add what the prompt asks for and the recipes did not provide, in the first room whose recipe
    knows the item (else the first room)."""
    for label, n in req.include.items():
        if label in ("door", "window"):
            continue
        have = sum(1 for L in layouts for s in L.specs if s.label == label)
        if have >= n:
            continue
        L = next(
            (
                L
                for L in layouts
                if any(label in PLACER_LABELS.get(k, (k,)) for k, _, _ in RECIPES[L.room.room_type])
            ),
            layouts[0],
        )
        key = "bath_sink" if (label == "sink" and L.room.room_type == "bathroom") else label
        for _ in range(n - have):
            placed = PLACERS[key](L, L.ctx)
            if not any(s.label == label for s in placed):
                raise LayoutError(f"could not fit the requested {label} in the {L.room.room_type}")
