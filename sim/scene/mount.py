"""The radar's wall mount: where a presence radar goes in the (first) room of a generated scene.

A spot is rejected when it is over a door or window, inside furniture, or where an open door leaf or a
tall object right in front of it hides much of the radar's view (:func:`sim.scene.judge.radar_view_problem`).
Rejected spots are logged (logger ``sim.scene.mount``, DEBUG) with their reasons.
"""

from __future__ import annotations

import logging

import numpy as np

from sim.geometry import RadarPose
from sim.scene.furnishing import SIDE_YAW, LayoutError, RoomLayout, pick_side
from sim.scene.furniture import ObjectSpec, build_object
from sim.scene.judge import radar_view_problem, reason_key, view_blockers
from sim.scene.scene import Doorway, Room

log = logging.getLogger(__name__)


def mount_radar(
    room: Room,
    doorways: tuple | list,
    windows: list[tuple],
    L: RoomLayout,
    rng: np.random.Generator,
    doors: list[ObjectSpec],
) -> RadarPose:
    """Wall mount at 1.5-2.2 m, tilted 3-15 degrees down, looking at the room centre (+-15 degrees),
    not over a door or window, not inside furniture, and not where an open door leaf (``doors``) or a
    tall object right in front of it hides much of its view (:func:`sim.scene.judge.radar_view_problem`);
    30 % of mounts sit in a corner. Rejected spots are logged (DEBUG) with their reasons."""
    xmin, ymin, xmax, ymax = room.bounds
    centre = np.array([(xmin + xmax) / 2, (ymin + ymax) / 2])
    objs = [build_object(s) for s in L.specs]
    blockers = view_blockers(objs + [build_object(s) for s in doors])
    rejected: dict[str, int] = {}
    for _ in range(200):
        side = pick_side(L, rng)
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
            normal = SIDE_YAW[side]
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
        key = reason_key(why)
        rejected[key] = rejected.get(key, 0) + 1
    common = max(rejected, key=lambda k: rejected[k]) if rejected else "?"
    raise LayoutError(f"no free wall spot for the radar (most common rejection: {common})")


def _near_opening(d: Doorway, x: float, y: float, z: float) -> bool:
    return z < d.height + 0.15 and d.approach(depth=0.3).contains(x, y, margin=0.2)
