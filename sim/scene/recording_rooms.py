"""Rooms of real recordings that setups imitate (``sample_scenario(setup=...)``, ``Setup.room``).

A setup's room is built from what the recording's *static* points say about the room, label-free (every
recording of the set pooled, no activity label used): how far the nearest wall straight ahead is, where
nothing static is seen, how high the radar stands. It is scene calibration, like the radar model's: the
people and their motion are never fitted to the recordings.

``radhar_lab`` (nesl/RadHAR, ``../shared/realdata/radhar-fewshot``, IWR1443BOOST on a tripod): the
static points of the ten recordings (about 20 per frame) sit at fixed places in every frame: 6 at
0.04-0.17 m (the TX->RX leakage), 4 at 1.27-1.44 m, 3 at 2.82-2.90 m and 2-7 at 4.58-4.95 m ahead
within about 2 m of the boresight (a wall facing the radar), and *none* at 0.3-1.2 m or at 3.2-4.4 m
at any azimuth (0.00 per frame). So: an open room, the wall ahead 4.55-4.6 m away, side walls far
enough that the radar's +-60 deg view meets them beyond its 5.1 m window, and nothing in that view up
to the wall (the furniture of an office along the walls outside it). The radar stands on a tripod,
boresight level, at the height :data:`sim.dataset.scenario.SETUPS` gives (1.27 m: the floor's echo
straight below, range bins 1.27-1.35 m with elevation +-90 deg, ``|z| > 0.8 r``, in every recording).
The points at 2.82-2.90 m (three range bins, every frame, ``x = 0.18-0.27 m``, ``z = +1.16 m``: 24 deg
up) are a small strong reflector 2.6 m ahead and 1.16 m above the radar that this room does not
have: a metal ceiling-light box there (0.6 x 0.3 x 0.08 m) was not detected at all (its faces see the
radar 24-66 deg off their normals), and nothing says what the object is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from sim.geometry import RadarPose
from sim.scene.generate import generate_scene
from sim.scene.roomtypes import CEILING_HEIGHT_M
from sim.scene.scene import Scene

#: RadHAR lab: distance from the radar to the wall it faces [m] (the nearest far static points sit
#: in the 4.58 m range bin in every recording; a wall at distance d returns from d at boresight and
#: further off it).
RADHAR_FRONT_WALL_M = (4.55, 4.6)
#: RadHAR lab: distance from the wall behind the radar [m] (nothing static at 0.3-1.2 m; the
#: radar's back lobe is weak).
RADHAR_BACK_WALL_M = (1.0, 2.0)
#: RadHAR lab width [m]: side walls at +-4-5 m meet the +-60 deg view beyond 4.6 m.
RADHAR_WIDTH_M = (8.0, 10.0)
#: Furniture is kept out of the radar's view (azimuth within this [deg], range below
#: ``RADHAR_CLEAR_RANGE_M``) and off the tripod's spot (``RADHAR_TRIPOD_CLEAR_M``).
RADHAR_CLEAR_AZIMUTH_DEG = 65.0
RADHAR_CLEAR_RANGE_M = 5.3
RADHAR_TRIPOD_CLEAR_M = 0.6


def _in_view(scene_radar: RadarPose, xy: np.ndarray) -> np.ndarray:
    """Whether floor points ``xy [N, 2]`` [m] lie in the radar's cleared view (module constants)."""
    rel = np.c_[xy, np.full(len(xy), scene_radar.position[2])]
    local = scene_radar.to_radar(rel)  # [N, 3] radar frame: x right, y boresight
    rng_m = np.hypot(local[:, 0], local[:, 1])
    az = np.degrees(np.arctan2(local[:, 0], local[:, 1]))
    view = (np.abs(az) <= RADHAR_CLEAR_AZIMUTH_DEG) & (rng_m <= RADHAR_CLEAR_RANGE_M)
    return view | (rng_m <= RADHAR_TRIPOD_CLEAR_M)


def radhar_lab(seed: int, radar_height_m: float = 1.0) -> Scene:
    """RadHAR's recording room (module docstring): an office-furnished room of 8-10 m x 5.55-6.6 m with
    the radar on a tripod ``radar_height_m`` [m] up, facing the far wall 4.55-4.6 m away and no
    furniture in its view.

    Raises:
        RuntimeError: no valid layout (from :func:`sim.scene.generate_scene`).
    """
    rng = np.random.default_rng([seed, 1443])
    front = float(rng.uniform(*RADHAR_FRONT_WALL_M))
    back = float(rng.uniform(*RADHAR_BACK_WALL_M))
    width = float(rng.uniform(*RADHAR_WIDTH_M))
    height = float(rng.uniform(*CEILING_HEIGHT_M))
    x = width / 2 + float(rng.uniform(-0.5, 0.5))
    radar = RadarPose((round(x, 3), round(back, 3), float(radar_height_m)), 0.0, 0.0)
    scene = generate_scene(
        None,
        seed=seed,
        room_type="office",
        size_m=(round(width, 3), round(front + back, 3), round(height, 3)),
        radar=radar,
    )
    kept = []
    for obj in scene.objects:
        if not obj.is_structural:
            x0, y0, x1, y1 = obj.footprint.aabb()
            gx, gy = np.meshgrid(np.linspace(x0, x1, 6), np.linspace(y0, y1, 6))
            probe = np.r_[np.c_[gx.ravel(), gy.ravel()], obj.footprint.corners()]
            if _in_view(radar, probe).any():
                continue
        kept.append(obj)
    return dataclasses.replace(scene, objects=tuple(kept))


#: Recording rooms by name (``Setup.room``): ``builder(seed, radar_height_m) -> Scene``.
RECORDING_ROOMS: dict[str, Callable[[int, float], Scene]] = {"radhar_lab": radhar_lab}


def recording_room(name: str, seed: int, radar_height_m: float) -> Scene:
    """The recording room ``name`` (:data:`RECORDING_ROOMS`); ValueError naming the known ones."""
    if name not in RECORDING_ROOMS:
        raise ValueError(f"unknown recording room {name!r}; known: {', '.join(RECORDING_ROOMS)}")
    return RECORDING_ROOMS[name](seed, radar_height_m)
