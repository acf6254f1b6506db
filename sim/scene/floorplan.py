"""The floor plan: one room, or two or three rooms in a row joined by doors, with walls, door and window
openings, door leaves, floor and ceiling; then each room is furnished (:mod:`sim.scene.furnishing`)
and the radar mounted (:mod:`sim.scene.mount`).

World frame: x east, y north, z up, floor at z = 0; the first room's south-west interior corner is the
origin. Units: metres and degrees.
"""

from __future__ import annotations

import numpy as np

from sim.geometry import RadarPose
from sim.scene.furnishing import RoomLayout, add_requested, furnish
from sim.scene.furniture import ObjectSpec, build_object
from sim.scene.mount import mount_radar
from sim.scene.prompt import SceneRequest
from sim.scene.roomtypes import (
    APARTMENT_DEPTH_M,
    APARTMENT_ROOM_TYPES,
    CEILING_HEIGHT_M,
    ROOM_SIZES,
)
from sim.scene.scene import Doorway, Room


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


def build_floor_plan(
    room_type: str,
    req: SceneRequest,
    rng: np.random.Generator,
    size_m: tuple[float, ...] | None,
    radar: RadarPose | None,
    grow: float = 1.0,
) -> tuple[tuple[Room, ...], tuple[Doorway, ...], list[ObjectSpec], RadarPose]:
    """One layout attempt: rooms, doorways, every object's spec (walls, doors, windows, furniture,
    floor, ceiling) and the radar pose (``radar``, or a sampled wall mount).

    Raises:
        LayoutError: something did not fit (:func:`sim.scene.generate_scene` re-samples).
    """
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
        L = RoomLayout(room, rng, keepouts, windows_by_room[room.name])
        L.counter = counter
        L.materials = {
            k2: v for k2, v in req.materials.items() if k2 not in ("walls", "floor", "ceiling")
        }
        for s in specs:
            if s.label == "door":
                L.placed.append((s.name, build_object(s).footprint))
        furnish(L, room.room_type, req, rng)
        layouts.append(L)
    add_requested(layouts, req)
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
        radar = mount_radar(
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
