"""Scene data: rooms, doorways and the generated :class:`Scene` (queries, editing, serialisation).

A :class:`Scene` is what :func:`sim.scene.generate_scene` returns and what every consumer reads: the
rooms and their door openings, the objects (walls, floor, ceiling, doors, windows, stairs, furniture)
with their meshes, and the radar's pose. It is plain data: :meth:`Scene.to_dict` / :meth:`Scene.from_dict`
round-trip it through JSON (objects are re-built from the parameters they were made from).

World frame: x east, y north, z up, floor at z = 0; the first room's south-west interior corner is the
origin. Units: metres and degrees.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.geometry import Mesh, RadarPose
from sim.scene.furniture import Affordance, ObjectSpec, SceneObject, build_object
from sim.scene.materials import check_valid_band
from sim.scene.occupancy import OccupancyGrid, build_grid
from sim.scene.shapes import Footprint, rect_from_bounds

SCENE_FORMAT = "mmfm.scene/1"
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
