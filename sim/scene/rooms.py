"""Procedural rooms and apartments: walls, doors, windows, furniture by rules, and the radar mount.

``generate_scene(prompt, seed=...)`` builds a :class:`Scene` in the spirit of ProcTHOR / Holodeck without
their asset stores: a floor plan (one room, or two or three rooms in a row joined by doors), walls with
door and window openings, then furniture placed by per-room-type rules (a sofa faces the TV with a
coffee table between, chairs around the dining table, a bed's head against a wall with room on its
sides, a kitchen run of fridge / counters / sink / stove along one wall...). Every placement is checked
against the room, other furniture, their clearance zones and the doors' approach zones, and re-sampled on
failure; a finished scene must pass :func:`sim.scene.judge.judge_layout`, else the whole layout is
re-sampled. The radar goes on a wall where nothing hides much of its view: spots where an open door
leaf, or a tall object within 1.5 m in front of it, blocks more than 20 % of a ray fan over its field
of view are re-sampled (:func:`sim.scene.judge.radar_view_problem`, logged). Everything is drawn from
``numpy.random.default_rng(seed)``: the same arguments give the same scene.

World frame: x east, y north, z up, floor at z = 0; the first room's south-west interior corner is the
origin. Units: metres and degrees.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.geometry import Mesh, RadarPose
from sim.scene import shapes
from sim.scene.furniture import (
    BATHROOM_SINK,
    NIGHTSTAND,
    Affordance,
    ObjectSpec,
    SceneObject,
    build_object,
    sample_material,
    sample_params,
)
from sim.scene.materials import check_valid_band
from sim.scene.occupancy import OccupancyGrid, build_grid
from sim.scene.prompt import SceneRequest, normalise_room_type, parse_prompt
from sim.scene.roomtypes import (
    APARTMENT_DEPTH_M,
    APARTMENT_ROOM_TYPES,
    CEILING_HEIGHT_M,
    ROOM_SIZES,
    ROOM_TYPES,
    SINGLE_ROOM_TYPES,
)
from sim.scene.shapes import Footprint, rect_from_bounds

log = logging.getLogger(__name__)

SCENE_FORMAT = "mmfm.scene/1"
MAX_LAYOUT_ATTEMPTS = 25
DOOR_APPROACH_M = 0.9  # depth kept clear of furniture on each side of a doorway [m]


@dataclass(frozen=True)
class Room:
    """One room: interior ``bounds`` (xmin, ymin, xmax, ymax) [m] and ceiling ``height`` [m]."""

    name: str
    room_type: str
    bounds: tuple[float, float, float, float]
    height: float

    @property
    def footprint(self) -> Footprint:
        return rect_from_bounds(*self.bounds)

    @property
    def size_m(self) -> tuple[float, float]:
        return (self.bounds[2] - self.bounds[0], self.bounds[3] - self.bounds[1])

    def contains(self, x: float, y: float, margin: float = 0.0) -> bool:
        """Whether (x, y) [m] is at least ``margin`` [m] inside the room (negative: outside allowed)."""
        xmin, ymin, xmax, ymax = self.bounds
        return xmin + margin <= x <= xmax - margin and ymin + margin <= y <= ymax - margin

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "room_type": self.room_type,
            "bounds": list(self.bounds),
            "height": self.height,
        }


@dataclass(frozen=True)
class Doorway:
    """A door opening.

    Attributes:
        name: e.g. ``"door_0"`` (the entrance is always ``door_0``).
        rooms: the two sides (room names, ``"outside"`` for an entrance).
        center: (x, y) of the opening on the wall's mid-plane [m].
        width: opening width [m].
        height: opening height [m].
        axis: ``"x"`` if the wall runs along x (people pass along y), else ``"y"``.
        thickness: wall thickness [m].
    """

    name: str
    rooms: tuple[str, str]
    center: tuple[float, float]
    width: float
    height: float
    axis: str
    thickness: float

    def opening(self) -> Footprint:
        """The hole through the wall [m] (walkable)."""
        if self.axis == "x":
            return Footprint(self.center, (self.width, self.thickness + 0.02))
        return Footprint(self.center, (self.thickness + 0.02, self.width))

    def approach(self, depth: float = DOOR_APPROACH_M) -> Footprint:
        """Zone on both sides of the opening that furniture must leave clear [m]."""
        across = self.thickness + 2 * depth
        if self.axis == "x":
            return Footprint(self.center, (self.width + 0.1, across))
        return Footprint(self.center, (across, self.width + 0.1))

    def inner_point(self, room: Room, depth: float = 0.6) -> tuple[float, float]:
        """A point ``depth`` [m] inside ``room`` in front of the opening."""
        x, y = self.center
        if self.axis == "x":
            return (x, y + depth if room.contains(x, y + depth) else y - depth)
        return (x + depth if room.contains(x + depth, y) else x - depth, y)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self) | {"rooms": list(self.rooms), "center": list(self.center)}

    @classmethod
    def from_dict(cls, d: dict) -> Doorway:
        return cls(
            d["name"],
            tuple(d["rooms"]),
            tuple(d["center"]),
            d["width"],
            d["height"],
            d["axis"],
            d["thickness"],
        )


@dataclass(frozen=True, eq=False)
class Scene:
    """A generated indoor scene (see the module docstring).

    Attributes:
        room_type: one of :data:`ROOM_TYPES`.
        size_m: (width x, depth y, ceiling height) of the interior's bounding box [m].
        rooms: the rooms (one, or two-three for an apartment).
        doorways: door openings; ``doorways[0]`` is the entrance.
        objects: walls, floor, ceiling, doors, windows, stairs and furniture.
        radar: where the radar is mounted and looks.
        prompt: the prompt it was made from (None: sampled).
        seed: the seed it was made from.
    """

    room_type: str
    size_m: tuple[float, float, float]
    rooms: tuple[Room, ...]
    doorways: tuple[Doorway, ...]
    objects: tuple[SceneObject, ...]
    radar: RadarPose
    prompt: str | None = None
    seed: int = 0
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    # ----------------------------------------------------------------------------------- queries
    @property
    def entrance(self) -> Doorway:
        return self.doorways[0]

    def entrance_point(self) -> tuple[float, float]:
        """A point 0.6 m inside the entrance door [m] (where people come in)."""
        room = self.room_named(self.entrance.rooms[0])
        return self.entrance.inner_point(room)

    def room_named(self, name: str) -> Room:
        for room in self.rooms:
            if room.name == name:
                return room
        raise KeyError(f"no room {name!r}; rooms: {', '.join(r.name for r in self.rooms)}")

    def room_at(self, x: float, y: float) -> Room | None:
        """The room whose interior contains (x, y) [m], or None."""
        for room in self.rooms:
            if room.contains(x, y):
                return room
        return None

    def get(self, name: str) -> SceneObject:
        for obj in self.objects:
            if obj.name == name:
                return obj
        raise KeyError(f"no object {name!r} in the scene")

    def furniture(self) -> list[SceneObject]:
        """Objects that are not part of the building (no walls, floor, ceiling, doors, windows)."""
        return [o for o in self.objects if not o.is_structural]

    def labels(self) -> list[str]:
        return [o.label for o in self.objects]

    def static_meshes(self) -> list[Mesh]:
        """Every mesh of the scene (for propagation backends)."""
        return [m for o in self.objects for m in o.meshes]

    def affordances(self, kind: str | None = None) -> list[Affordance]:
        """Affordances of all objects, optionally of one ``kind`` ("sit", "lie", "stand_at")."""
        if kind is not None and kind not in ("sit", "lie", "stand_at"):
            raise ValueError(f"unknown affordance kind {kind!r}; known: sit, lie, stand_at")
        return [a for o in self.objects for a in o.affordances if kind is None or a.kind == kind]

    def obstacles(self) -> list[Footprint]:
        """Floor footprints people cannot walk through (furniture, stairs, open door leaves) [m]."""
        return [
            o.footprint
            for o in self.objects
            if o.label not in ("wall", "floor", "ceiling", "window")
        ]

    def free_space(self, resolution_m: float = 0.1, clearance_m: float = 0.25) -> OccupancyGrid:
        """Walkable floor for a body of radius ``clearance_m`` [m] on a ``resolution_m`` [m] grid (cached)."""
        key = ("free", resolution_m, clearance_m)
        if key not in self._cache:
            xs = [b for r in self.rooms for b in (r.bounds[0], r.bounds[2])]
            ys = [b for r in self.rooms for b in (r.bounds[1], r.bounds[3])]
            pad = 0.5
            bounds = (min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad)
            floor = [r.footprint for r in self.rooms] + [d.opening() for d in self.doorways]
            self._cache[key] = build_grid(
                floor, self.obstacles(), bounds, resolution_m, clearance_m
            )
        return self._cache[key]

    def in_radar_fov(
        self,
        point: tuple[float, float, float] | np.ndarray,
        fov_az_deg: float = 120.0,
        fov_el_deg: float = 60.0,
        max_range_m: float | None = None,
    ) -> bool:
        """Whether a world ``point`` (x, y, z) [m] lies in the radar's field of view.

        Args:
            fov_az_deg / fov_el_deg: full azimuth / elevation fields of view [deg].
            max_range_m: maximum range [m] (take it from the ``ChirpConfig``); None: unlimited.
        """
        p = self.radar.to_radar(np.asarray(point, dtype=float))
        x, y, z = float(p[0]), float(p[1]), float(p[2])
        if y <= 0:
            return False
        rng = float(np.sqrt(x * x + y * y + z * z))
        if max_range_m is not None and rng > max_range_m:
            return False
        az = np.degrees(np.arctan2(x, y))
        el = np.degrees(np.arctan2(z, np.hypot(x, y)))
        return bool(abs(az) <= fov_az_deg / 2 and abs(el) <= fov_el_deg / 2)

    # --------------------------------------------------------------------------------- editing
    def with_material(self, object_name: str, material: str) -> Scene:
        """A copy where ``object_name``'s main material is ``material`` (valid over 60-81 GHz, else
        :class:`ValueError`). Secondary parts (a TV's screen, a bed's mattress) keep theirs."""
        check_valid_band(material)
        target = self.get(object_name)
        new = build_object(dataclasses.replace(target.spec, material=material))
        objects = tuple(new if o.name == object_name else o for o in self.objects)
        return dataclasses.replace(self, objects=objects)

    # ------------------------------------------------------------------------------ description
    def describe(self) -> dict[str, Any]:
        """Ground truth for captions: room type and size, rooms, surfaces, objects, doors, radar."""
        surfaces: dict[str, list[str]] = {}
        objects = []
        for o in self.objects:
            if o.label in ("wall", "floor", "ceiling"):
                surfaces.setdefault(o.label, [])
                if o.material not in surfaces[o.label]:
                    surfaces[o.label].append(o.material)
                continue
            room = self.room_at(*o.position)
            objects.append(
                {
                    "name": o.name,
                    "label": o.label,
                    "position": [round(v, 3) for v in o.position],
                    "yaw_deg": round(o.footprint.yaw_deg, 1),
                    "size_m": [
                        round(o.footprint.size[0], 3),
                        round(o.footprint.size[1], 3),
                        round(o.height, 3),
                    ],
                    "material": o.material,
                    "room": room.name if room else None,
                }
            )
        return {
            "room_type": self.room_type,
            "size_m": [round(v, 3) for v in self.size_m],
            "rooms": [r.to_dict() for r in self.rooms],
            "surfaces": surfaces,
            "objects": objects,
            "doors": [d.to_dict() for d in self.doorways],
            "radar": _radar_dict(self.radar),
        }

    # ---------------------------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form. Meshes are not stored: each object keeps the parameters it was built
        from (:class:`ObjectSpec`) and :meth:`from_dict` re-builds identical meshes."""
        return {
            "format": SCENE_FORMAT,
            "room_type": self.room_type,
            "size_m": [float(v) for v in self.size_m],
            "rooms": [r.to_dict() for r in self.rooms],
            "doorways": [d.to_dict() for d in self.doorways],
            "objects": [o.spec.to_dict() for o in self.objects],
            "radar": _radar_dict(self.radar),
            "prompt": self.prompt,
            "seed": int(self.seed),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Scene:
        """Inverse of :meth:`to_dict`."""
        if d.get("format") != SCENE_FORMAT:
            raise ValueError(
                f"not a scene dict of format {SCENE_FORMAT!r} (got {d.get('format')!r})"
            )
        r = d["radar"]
        return cls(
            room_type=d["room_type"],
            size_m=tuple(d["size_m"]),
            rooms=tuple(
                Room(x["name"], x["room_type"], tuple(x["bounds"]), x["height"]) for x in d["rooms"]
            ),
            doorways=tuple(Doorway.from_dict(x) for x in d["doorways"]),
            objects=tuple(build_object(ObjectSpec.from_dict(x)) for x in d["objects"]),
            radar=RadarPose(tuple(r["position"]), r["yaw_deg"], r["pitch_deg"]),
            prompt=d.get("prompt"),
            seed=d.get("seed", 0),
        )


def _radar_dict(r: RadarPose) -> dict:
    return {
        "position": [float(v) for v in r.position],
        "yaw_deg": float(r.yaw_deg),
        "pitch_deg": float(r.pitch_deg),
    }


# ===================================================================================================
# Layout


class LayoutError(RuntimeError):
    """A layout attempt failed (re-sampled by :func:`generate_scene`)."""


_SIDES = ("S", "N", "W", "E")
_SIDE_YAW = {"S": 0.0, "N": 180.0, "W": -90.0, "E": 90.0}  # heading pointing into the room


@dataclass
class _Zone:
    owner: str
    footprint: Footprint
    must_inside: bool


class _RoomLayout:
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
            return xmin + s, ymin + off, _SIDE_YAW[side]
        if side == "N":
            return xmin + s, ymax - off, _SIDE_YAW[side]
        if side == "W":
            return xmin + off, ymin + s, _SIDE_YAW[side]
        return xmax - off, ymin + s, _SIDE_YAW[side]

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
            sd = side or _pick_side(self, self.rng)
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


def _pick_side(layout: _RoomLayout, rng: np.random.Generator) -> str:
    lengths = np.array([layout.wall_length(s) for s in _SIDES])
    return _SIDES[int(rng.choice(4, p=lengths / lengths.sum()))]


def _opposite(side: str) -> str:
    return {"S": "N", "N": "S", "W": "E", "E": "W"}[side]


def _side_of(layout: _RoomLayout, spec: ObjectSpec) -> str:
    return {0.0: "S", 180.0: "N", -90.0: "W", 90.0: "E"}[float(spec.yaw_deg)]


def _along(layout: _RoomLayout, side: str, x: float, y: float) -> float:
    xmin, ymin = layout.room.bounds[:2]
    return x - xmin if side in ("S", "N") else y - ymin


# ---------------------------------------------------------------------------- placement rules per label


def _place_tv(L: _RoomLayout, ctx: dict) -> list[ObjectSpec]:
    p = sample_params("tv", L.rng)
    tv = L.against_wall("tv", p, front=0.8)
    return [tv] if tv else []


def _place_sofa(L: _RoomLayout, ctx: dict) -> list[ObjectSpec]:
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


def _place_coffee_table(L: _RoomLayout, ctx: dict) -> list[ObjectSpec]:
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


def _place_armchair(L: _RoomLayout, ctx: dict) -> list[ObjectSpec]:
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


def _place_bed(L: _RoomLayout, ctx: dict) -> list[ObjectSpec]:
    p = sample_params("bed", L.rng)
    for _ in range(30):
        side = _pick_side(L, L.rng)
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


def _place_nightstands(L: _RoomLayout, ctx: dict) -> list[ObjectSpec]:
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
    L: _RoomLayout, ctx: dict, chair: bool = True, chair_label: str = "office_chair"
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


def _place_dining(L: _RoomLayout, ctx: dict) -> list[ObjectSpec]:
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


def _place_kitchen_run(L: _RoomLayout, ctx: dict) -> list[ObjectSpec]:
    """Fridge, counters, sink and stove side by side along one wall."""
    excl = ctx.get("exclude", ())
    for _ in range(20):
        side = _pick_side(L, L.rng)
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


def _place_bathtub(L: _RoomLayout, ctx: dict) -> list[ObjectSpec]:
    p = sample_params("bathtub", L.rng)
    b = L.against_wall("bathtub", p, front=0.5, corner=L.rng.random() < 0.7)
    return [b] if b else []


def _place_toilet(L: _RoomLayout, ctx: dict) -> list[ObjectSpec]:
    p = sample_params("toilet", L.rng)
    t = L.against_wall("toilet", p, front=0.55, sides=0.15)
    return [t] if t else []


def _place_bath_sink(L: _RoomLayout, ctx: dict) -> list[ObjectSpec]:
    p = sample_params("sink", L.rng, BATHROOM_SINK) | {"style": "bathroom", "basin": "glass"}
    t = L.against_wall("sink", p, front=0.6, material="chipboard")
    return [t] if t else []


def _place_kitchen_sink(L: _RoomLayout, ctx: dict) -> list[ObjectSpec]:
    t = L.against_wall("sink", sample_params("sink", L.rng), front=0.9)
    return [t] if t else []


def _place_stairs(L: _RoomLayout, ctx: dict) -> list[ObjectSpec]:
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
    def place(L: _RoomLayout, ctx: dict) -> list[ObjectSpec]:
        p = sample_params(label, L.rng, ranges)
        o = L.against_wall(label, p, front=front, corner=L.rng.random() < corner_prob)
        return [o] if o else []

    return place


def _place_chair(L: _RoomLayout, ctx: dict) -> list[ObjectSpec]:
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


def _furnish(L: _RoomLayout, room_type: str, req: SceneRequest, rng: np.random.Generator) -> None:
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


def _add_requested(layouts: list[_RoomLayout], req: SceneRequest) -> None:
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


# ===================================================================================================
# Floor plan


def _sample_size(
    room_type: str, req: SceneRequest, rng: np.random.Generator, grow: float = 1.0
) -> tuple[float, float]:
    """Interior (width, depth) [m]; ``grow`` > 1 scales the ranges up when a crowded request keeps
    failing to fit."""
    (w0, w1), (d0, d1) = ROOM_SIZES[room_type]
    w0, w1, d0, d1 = w0 * grow, w1 * grow, d0 * grow, d1 * grow
    if req.size_class == "small":
        w1, d1 = w0 + (w1 - w0) / 3, d0 + (d1 - d0) / 3
    elif req.size_class == "large":
        w0, d0 = w1 - (w1 - w0) / 3, d1 - (d1 - d0) / 3
    elif req.size_class == "medium":
        w0, w1 = w0 + (w1 - w0) / 3, w1 - (w1 - w0) / 3
        d0, d1 = d0 + (d1 - d0) / 3, d1 - (d1 - d0) / 3
    return round(float(rng.uniform(w0, w1)), 2), round(float(rng.uniform(d0, d1)), 2)


def _plan(
    room_type: str,
    req: SceneRequest,
    rng: np.random.Generator,
    size_m: tuple[float, ...] | None,
    grow: float = 1.0,
) -> tuple[list[tuple[str, float]], float, float]:
    """Room types with widths, common depth and ceiling height [m]."""
    height = size_m[2] if size_m is not None and len(size_m) > 2 else req.height_m
    if height is None:
        height = round(float(rng.uniform(*CEILING_HEIGHT_M)), 2)
    given = size_m[:2] if size_m is not None else req.size_m
    if room_type != "apartment":
        w, d = given if given is not None else _sample_size(room_type, req, rng, grow)
        return [(room_type, float(w))], float(d), float(height)
    types = list(req.apartment_rooms)
    if "hallway" in types:
        raise ValueError(
            "a hallway (with its staircase) cannot be part of an apartment; ask for it alone"
        )
    if len(types) > 3:
        raise ValueError(
            f"an apartment has at most three rooms; the prompt names {len(types)}: {types}"
        )
    if not types:  # a living room and one or two other rooms
        k = int(rng.integers(1, 3))
        picks = sorted(rng.choice(len(APARTMENT_ROOM_TYPES), k, replace=False))
        types = ["living_room", *[APARTMENT_ROOM_TYPES[i] for i in picks]]
    if len(types) < 2 and "living_room" not in types:
        types = ["living_room", *types]
    widths = [_sample_size(t, req, rng, grow)[0] for t in types]
    depth = round(float(rng.uniform(*APARTMENT_DEPTH_M)), 2)
    if given is not None:
        scale = (given[0] - 0.1 * (len(types) - 1)) / sum(widths)
        widths = [round(w * scale, 2) for w in widths]
        depth = float(given[1])
    return list(zip(types, widths, strict=True)), depth, float(height)


def _build(
    room_type: str,
    req: SceneRequest,
    rng: np.random.Generator,
    size_m: tuple[float, ...] | None,
    radar: RadarPose | None,
    grow: float = 1.0,
) -> tuple[tuple[Room, ...], tuple[Doorway, ...], list[ObjectSpec], RadarPose]:
    plan, depth, height = _plan(room_type, req, rng, size_m, grow)
    t_ext = round(float(rng.uniform(0.15, 0.25)), 3)
    t_int = 0.1
    rooms: list[Room] = []
    x = 0.0
    for k, (rtype, width) in enumerate(plan):
        rooms.append(
            Room(
                f"{rtype}_{k}" if len(plan) > 1 else rtype,
                rtype,
                (x, 0.0, x + width, depth),
                height,
            )
        )
        x += width + t_int
    x_end = rooms[-1].bounds[2]

    # Openings per wall line: key -> list of [along0, along1, z0, z1].
    openings: dict[str, list[list[float]]] = {}
    doorways: list[Doorway] = []
    specs: list[ObjectSpec] = []

    def door_dims() -> tuple[float, float]:
        return round(float(rng.uniform(0.9, 1.0)), 3), round(
            min(float(rng.uniform(2.0, 2.1)), height - 0.15), 3
        )

    # Entrance on an exterior wall of the first room.
    r0 = rooms[0]
    ext_sides = ["S", "N", "W"] + (["E"] if len(rooms) == 1 else [])
    side = ext_sides[int(rng.integers(len(ext_sides)))]
    dw, dh = door_dims()
    length = r0.size_m[0] if side in ("S", "N") else r0.size_m[1]
    s = float(rng.uniform(0.15 + dw / 2, length - 0.15 - dw / 2))
    doorways.append(_doorway("door_0", (r0.name, "outside"), r0, side, s, dw, dh, t_ext))
    openings.setdefault(_wall_key(r0, side, rooms), []).append(_opening(r0, side, s, dw, 0.0, dh))
    # Interior doors on each partition (wall at the east of room k).
    for k in range(len(rooms) - 1):
        a, b = rooms[k], rooms[k + 1]
        dw, dh = door_dims()
        s = float(rng.uniform(0.2 + dw / 2, depth - 0.2 - dw / 2))
        doorways.append(_doorway(f"door_{k + 1}", (a.name, b.name), a, "E", s, dw, dh, t_int))
        openings.setdefault(f"P{k}", []).append([s - dw / 2, s + dw / 2, 0.0, dh])

    # Door leaves, opened 90 degrees into the first named room, hinged on the opening's low end.
    for dwy in doorways:
        room = next(r for r in rooms if r.name == dwy.rooms[0])
        specs.append(_door_leaf(dwy, room, req.materials.get("door", "wood")))

    # Windows on exterior walls, away from doors.
    windows_by_room: dict[str, list[tuple]] = {r.name: [] for r in rooms}
    n_windows = 0
    if "window" not in req.exclude:
        for k, room in enumerate(rooms):
            sides = ["S", "N"] + (["W"] if k == 0 else []) + (["E"] if k == len(rooms) - 1 else [])
            lo, hi = (0, 2) if room.room_type in ("bathroom", "hallway") else (1, 3)
            count = int(rng.integers(lo, hi))
            if req.include.get("window") and k == 0:
                count = max(count, req.include["window"])
            for _ in range(count):
                for _try in range(10):
                    side = sides[int(rng.integers(len(sides)))]
                    length = room.size_m[0] if side in ("S", "N") else room.size_m[1]
                    ww = round(float(rng.uniform(0.8, min(1.6, length - 0.6))), 3)
                    sill = round(float(rng.uniform(0.8, 1.0)), 3)
                    top = round(min(sill + float(rng.uniform(1.0, 1.4)), height - 0.2), 3)
                    s = float(rng.uniform(0.3 + ww / 2, length - 0.3 - ww / 2))
                    key = _wall_key(room, side, rooms)
                    op = _opening(room, side, s, ww, sill, top)
                    if any(
                        op[0] - 0.3 < o[1] and o[0] - 0.3 < op[1] for o in openings.get(key, [])
                    ):
                        continue
                    openings.setdefault(key, []).append(op)
                    windows_by_room[room.name].append((side, s - ww / 2, s + ww / 2, sill))
                    specs.append(
                        _window_spec(
                            f"window_{n_windows}", room, side, s, ww, sill, top, t_ext, req
                        )
                    )
                    n_windows += 1
                    break

    # Walls.
    wall_ext = req.materials.get("walls") or ("concrete" if rng.random() < 0.5 else "plasterboard")
    wall_int = req.materials.get("walls") or "plasterboard"
    xs0, xs1 = -t_ext, x_end + t_ext
    specs += [
        _wall_spec(
            "wall_south", "x", -t_ext, 0.0, xs0, xs1, height, openings.get("S", []), wall_ext
        ),
        _wall_spec(
            "wall_north",
            "x",
            depth,
            depth + t_ext,
            xs0,
            xs1,
            height,
            openings.get("N", []),
            wall_ext,
        ),
        _wall_spec(
            "wall_west", "y", -t_ext, 0.0, 0.0, depth, height, openings.get("W", []), wall_ext
        ),
        _wall_spec(
            "wall_east",
            "y",
            x_end,
            x_end + t_ext,
            0.0,
            depth,
            height,
            openings.get("E", []),
            wall_ext,
        ),
    ]
    for k in range(len(rooms) - 1):
        c0 = rooms[k].bounds[2]
        specs.append(
            _wall_spec(
                f"wall_partition_{k}",
                "y",
                c0,
                c0 + t_int,
                0.0,
                depth,
                height,
                openings.get(f"P{k}", []),
                wall_int,
            )
        )

    # Furniture.
    counter: dict[str, int] = {}
    layouts = []
    for room in rooms:
        keepouts = [d.approach() for d in doorways]
        L = _RoomLayout(room, rng, keepouts, windows_by_room[room.name])
        L.counter = counter
        L.materials = {
            k2: v for k2, v in req.materials.items() if k2 not in ("walls", "floor", "ceiling")
        }
        for s in specs:
            if s.label == "door":
                L.placed.append((s.name, build_object(s).footprint))
        _furnish(L, room.room_type, req, rng)
        layouts.append(L)
    _add_requested(layouts, req)
    for L in layouts:
        specs += L.specs

    # Floor and ceiling (with a hole above stairs).
    floor_mat = req.materials.get("floor") or ("floorboard" if rng.random() < 0.6 else "concrete")
    ceil_mat = (
        req.materials.get("ceiling")
        or ("ceiling_board", "plasterboard", "concrete")[int(rng.integers(3))]
    )
    outer = [xs0, -t_ext, xs1, depth + t_ext]
    hole = None
    stairs = [s for s in specs if s.label == "stairs"]
    if stairs:
        hole = [round(v, 4) for v in build_object(stairs[0]).footprint.aabb()]
    specs.append(
        ObjectSpec(
            "floor",
            "floor",
            "slab",
            {"bounds": outer, "z0": -0.1, "z1": 0.0},
            (0.0, 0.0, 0.0),
            0.0,
            floor_mat,
        )
    )
    specs.append(
        ObjectSpec(
            "ceiling",
            "ceiling",
            "slab",
            {"bounds": outer, "z0": height, "z1": height + 0.1, "hole": hole},
            (0.0, 0.0, 0.0),
            0.0,
            ceil_mat,
        )
    )

    if radar is None:
        doors = [s for s in specs if s.label == "door"]
        radar = _mount_radar(
            rooms[0], doorways, windows_by_room[rooms[0].name], layouts[0], rng, doors
        )
    return tuple(rooms), tuple(doorways), specs, radar


def _wall_key(room: Room, side: str, rooms: list[Room]) -> str:
    """Wall line of ``room``'s ``side`` (exterior "S"/"N"/"W"/"E" or partition "P<k>")."""
    k = rooms.index(room)
    if side == "E" and k < len(rooms) - 1:
        return f"P{k}"
    if side == "W" and k > 0:
        return f"P{k - 1}"
    return side


def _opening(room: Room, side: str, s: float, width: float, z0: float, z1: float) -> list[float]:
    """Opening ``[along0, along1, z0, z1]`` in the wall line's own along-coordinate (world x or y)."""
    xmin, ymin = room.bounds[:2]
    c = xmin + s if side in ("S", "N") else ymin + s
    return [round(c - width / 2, 4), round(c + width / 2, 4), z0, z1]


def _doorway(
    name: str,
    rooms: tuple[str, str],
    room: Room,
    side: str,
    s: float,
    width: float,
    height: float,
    t: float,
) -> Doorway:
    xmin, ymin, xmax, ymax = room.bounds
    if side == "S":
        c, axis = (xmin + s, ymin - t / 2), "x"
    elif side == "N":
        c, axis = (xmin + s, ymax + t / 2), "x"
    elif side == "W":
        c, axis = (xmin - t / 2, ymin + s), "y"
    else:
        c, axis = (xmax + t / 2, ymin + s), "y"
    return Doorway(name, rooms, (round(c[0], 4), round(c[1], 4)), width, height, axis, t)


def _door_leaf(dwy: Doorway, room: Room, material: str) -> ObjectSpec:
    """The door's leaf, opened 90 degrees into ``room``, hinged on the opening's low end."""
    leaf_w = dwy.width - 0.05
    t = 0.04
    ix, iy = dwy.inner_point(room, depth=1.0)
    into = np.sign([ix - dwy.center[0], iy - dwy.center[1]])
    if dwy.axis == "x":
        cx = dwy.center[0] - dwy.width / 2 - t / 2 - 0.005
        cy = dwy.center[1] + into[1] * (dwy.thickness / 2 + leaf_w / 2)
        sx, sy = t, leaf_w
    else:
        cx = dwy.center[0] + into[0] * (dwy.thickness / 2 + leaf_w / 2)
        cy = dwy.center[1] - dwy.width / 2 - t / 2 - 0.005
        sx, sy = leaf_w, t
    return ObjectSpec(
        dwy.name.replace("door", "door_leaf"), "door", "panel", {"sx": sx, "sy": sy, "h": dwy.height - 0.02},
        (float(cx), float(cy), 0.0), 0.0, material,
    )  # fmt: skip


def _window_spec(
    name: str,
    room: Room,
    side: str,
    s: float,
    w: float,
    sill: float,
    top: float,
    t: float,
    req: SceneRequest,
) -> ObjectSpec:
    xmin, ymin, xmax, ymax = room.bounds
    pane = 0.012
    if side == "S":
        c, size = (xmin + s, ymin - t / 2), (w, pane)
    elif side == "N":
        c, size = (xmin + s, ymax + t / 2), (w, pane)
    elif side == "W":
        c, size = (xmin - t / 2, ymin + s), (pane, w)
    else:
        c, size = (xmax + t / 2, ymin + s), (pane, w)
    params = {"sx": size[0], "sy": size[1], "h": round(top - sill, 4)}
    return ObjectSpec(
        name,
        "window",
        "panel",
        params,
        (c[0], c[1], sill),
        0.0,
        req.materials.get("window", "glass"),
    )


def _wall_spec(
    name: str,
    axis: str,
    c0: float,
    c1: float,
    a0: float,
    a1: float,
    h: float,
    openings: list,
    material: str,
) -> ObjectSpec:
    params = {
        "axis": axis,
        "c0": c0,
        "c1": c1,
        "a0": a0,
        "a1": a1,
        "h": h,
        "openings": sorted(openings),
    }
    return ObjectSpec(name, "wall", "wall", params, (0.0, 0.0, 0.0), 0.0, material)


def _mount_radar(
    room: Room,
    doorways: tuple | list,
    windows: list[tuple],
    L: _RoomLayout,
    rng: np.random.Generator,
    doors: list[ObjectSpec],
) -> RadarPose:
    """Wall mount at 1.5-2.2 m, tilted 3-15 degrees down, looking at the room centre (+-15 degrees),
    not over a door or window, not inside furniture, and not where an open door leaf (``doors``) or a
    tall object right in front of it hides much of its view (:func:`sim.scene.judge.radar_view_problem`);
    30 % of mounts sit in a corner. Rejected spots are logged (DEBUG) with their reasons."""
    from sim.scene.judge import _reason_key, radar_view_problem, view_blockers

    xmin, ymin, xmax, ymax = room.bounds
    centre = np.array([(xmin + xmax) / 2, (ymin + ymax) / 2])
    objs = [build_object(s) for s in L.specs]
    blockers = view_blockers(objs + [build_object(s) for s in doors])
    rejected: dict[str, int] = {}
    for _ in range(200):
        side = _pick_side(L, rng)
        length = L.wall_length(side)
        if rng.random() < 0.3:
            s = 0.25 if rng.random() < 0.5 else length - 0.25
        else:
            s = float(rng.uniform(0.3, length - 0.3))
        x, y, _ = L.wall_pose(side, s, 0.06, gap=0.0)
        z = float(min(rng.uniform(1.5, 2.2), room.height - 0.15))
        why = None
        near = next((d for d in doorways if _near_opening(d, x, y, z)), None)
        if near is not None:
            why = f"over {near.name}"
        elif any(
            ws == side and w0 - 0.15 < s < w1 + 0.15 and z > sill - 0.1
            for ws, w0, w1, sill in windows
        ):
            why = "over a window"
        else:
            inside = next(
                (o for o in objs if o.footprint.contains(x, y, margin=0.08) and z < o.height + 0.1),
                None,
            )
            if inside is not None:
                why = f"inside {inside.name}"
        if why is None:
            to_c = centre - np.array([x, y])
            yaw_c = float(np.degrees(np.arctan2(-to_c[0], to_c[1])))
            normal = _SIDE_YAW[side]
            dev = (yaw_c - normal + 180.0) % 360.0 - 180.0
            dev = float(np.clip(dev + rng.uniform(-15, 15), -60.0, 60.0))
            yaw = (normal + dev + 180.0) % 360.0 - 180.0
            pitch = float(-rng.uniform(3.0, 15.0))
            pose = RadarPose(
                (round(x, 4), round(y, 4), round(z, 4)), round(yaw, 3), round(pitch, 3)
            )
            why = radar_view_problem(pose.position, pose.yaw_deg, room, blockers)
            if why is None:
                return pose
        log.debug("radar spot (%.2f, %.2f, %.2f) on the %s wall rejected: %s", x, y, z, side, why)
        key = _reason_key(why)
        rejected[key] = rejected.get(key, 0) + 1
    common = max(rejected, key=lambda k: rejected[k]) if rejected else "?"
    raise LayoutError(f"no free wall spot for the radar (most common rejection: {common})")


def _near_opening(d: Doorway, x: float, y: float, z: float) -> bool:
    return z < d.height + 0.15 and d.approach(depth=0.3).contains(x, y, margin=0.2)


# ===================================================================================================


def generate_scene(
    prompt: str | None = None,
    *,
    seed: int = 0,
    room_type: str | None = None,
    size_m: tuple[float, float, float] | tuple[float, float] | None = None,
    radar: RadarPose | None = None,
) -> Scene:
    """Generate a furnished indoor scene.

    Args:
        prompt: text such as ``"a small bedroom with a desk and no wardrobe, concrete walls"`` (see
            :mod:`sim.scene.prompt`); None: everything sampled.
        seed: seeds ``numpy.random.default_rng``; the same arguments give the same scene.
        room_type: overrides the prompt's room type (``"living_room"``, ``"living room"``...).
        size_m: interior (width x, depth y[, ceiling height]) [m]; for an apartment the total width.
        radar: radar pose; None: a wall mount in the (first) room is sampled.

    Raises:
        ValueError: unknown room type, implausible size, a material not valid at 60-81 GHz.
        RuntimeError: no layout satisfied the rules and the judge after ``MAX_LAYOUT_ATTEMPTS`` tries.
    """
    from sim.scene.judge import judge_layout  # the judge needs Scene; import here to avoid a cycle

    req = parse_prompt(prompt) if prompt else SceneRequest()
    for target, material in req.materials.items():
        try:
            check_valid_band(material)
        except ValueError as e:
            raise ValueError(f"prompt asks for {material} {target}: {e}") from None
    rng = np.random.default_rng(seed)
    if room_type is not None:
        rtype = normalise_room_type(room_type)
    elif req.room_type is not None:
        rtype = req.room_type
    else:
        rtype = (
            SINGLE_ROOM_TYPES[int(rng.integers(len(SINGLE_ROOM_TYPES)))]
            if rng.random() < 0.85
            else "apartment"
        )
    if rtype not in ROOM_TYPES:
        raise ValueError(f"unknown room type {rtype!r}")
    if size_m is not None and not all(1.2 <= v <= 30 for v in size_m[:2]):
        raise ValueError(f"size_m {size_m} is implausible (1.2-30 m per side)")
    reasons: list[str] = []
    for attempt in range(MAX_LAYOUT_ATTEMPTS):
        try:
            # A crowded request that keeps failing gets a room up to 40 % larger (no effect on an
            # explicit size).
            grow = 1.0 + 0.04 * max(0, attempt - 14)
            rooms, doorways, specs, pose = _build(rtype, req, rng, size_m, radar, grow)
        except LayoutError as e:
            reasons.append(str(e))
            log.debug("layout attempt %d failed: %s", attempt, e)
            continue
        objects = tuple(build_object(s) for s in specs)
        xmax = max(r.bounds[2] for r in rooms)
        ymax = max(r.bounds[3] for r in rooms)
        scene = Scene(
            rtype,
            (round(xmax, 4), round(ymax, 4), rooms[0].height),
            rooms,
            doorways,
            objects,
            pose,
            prompt,
            seed,
        )
        # The radar's view: a sampled mount was checked by _mount_radar (the same test), a given pose
        # is the caller's choice.
        problems = judge_layout(scene, radar_view=False)
        if not problems:
            return scene
        reasons.extend(problems)
        log.debug("layout attempt %d rejected by the judge: %s", attempt, "; ".join(problems))
    common = max(set(reasons), key=reasons.count) if reasons else "?"
    raise RuntimeError(
        f"no valid {rtype} layout in {MAX_LAYOUT_ATTEMPTS} attempts (prompt {prompt!r}, seed {seed}); "
        f"most common reason: {common}"
    )
