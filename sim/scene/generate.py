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

import logging

import numpy as np

from sim.geometry import RadarPose
from sim.scene.floorplan import build_floor_plan
from sim.scene.furnishing import LayoutError
from sim.scene.furniture import build_object
from sim.scene.judge import judge_layout
from sim.scene.materials import check_valid_band
from sim.scene.prompt import SceneRequest, normalise_room_type, parse_prompt
from sim.scene.roomtypes import ROOM_TYPES, SINGLE_ROOM_TYPES
from sim.scene.scene import Scene

log = logging.getLogger(__name__)

MAX_LAYOUT_ATTEMPTS = 25


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
            rooms, doorways, specs, pose = build_floor_plan(rtype, req, rng, size_m, radar, grow)
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
