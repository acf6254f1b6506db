"""Procedural indoor scenes for the radar simulator: rooms, furniture, mmWave materials and the judge.

    from sim.scene import generate_scene, place_activity
    scene = generate_scene("a small bedroom with a desk", seed=3)
    meshes = scene.static_meshes()                      # for the propagation backends
    grid = scene.free_space()                           # walkable floor for people
    spot = place_activity(scene, "sleeping", rng)       # a bed, accepted by the semantic judge

Modules: ``materials`` (ITU-R P.2040 at 60-81 GHz + skin), ``shapes`` (primitives, footprints),
``furniture`` (procedural objects with affordances), ``scene`` (``Scene``, ``Room``, ``Doorway``: the data),
``floorplan`` (rooms, walls, doors, windows), ``furnishing`` (per-room-type recipes and placement rules),
``mount`` (the radar's wall mount), ``generate`` (``generate_scene``: all of it, judged),
``occupancy`` (walkable grid, A*), ``prompt`` (text -> request), ``judge`` (plausibility rules).
"""

from sim.scene.furniture import Affordance, ObjectSpec, SceneObject, build_object
from sim.scene.generate import generate_scene
from sim.scene.judge import (
    Placement,
    PlacementError,
    judge_layout,
    judge_placement,
    place_activity,
    posture_of,
)
from sim.scene.materials import (
    MATERIALS,
    complex_permittivity,
    permittivity_conductivity,
    reflection_coefficient,
    sionna_name,
)
from sim.scene.occupancy import OccupancyGrid
from sim.scene.prompt import SceneRequest, parse_prompt
from sim.scene.roomtypes import ROOM_TYPES
from sim.scene.scene import Doorway, Room, Scene
from sim.scene.shapes import Footprint

__all__ = [
    "MATERIALS",
    "ROOM_TYPES",
    "Affordance",
    "Doorway",
    "Footprint",
    "ObjectSpec",
    "OccupancyGrid",
    "Placement",
    "PlacementError",
    "Room",
    "Scene",
    "SceneObject",
    "SceneRequest",
    "build_object",
    "complex_permittivity",
    "generate_scene",
    "judge_layout",
    "judge_placement",
    "parse_prompt",
    "permittivity_conductivity",
    "place_activity",
    "posture_of",
    "reflection_coefficient",
    "sionna_name",
]
