"""The semantic judge: explicit constraints that reject implausible layouts and activity placements.

The proposal's VLM judge, written as rules a person would state: a sitting person needs a seat, nobody
sleeps in a sink, a walker needs free floor connected to the door, furniture does not overlap or block
doors, a bedroom has a bed. Each rule returns a human-readable reason; an empty list means accepted.
:func:`place_activity` samples candidate placements until the judge accepts one, logging every
rejection (logger ``sim.scene.judge``) and counting reasons.

Activities map onto postures (:data:`ACTIVITY_POSTURE`): ``sit`` (needs a seat), ``sleep`` (needs a bed
or sofa), ``lie`` (bed, sofa or free floor, e.g. after a fall), ``walk`` (free floor), ``stand`` (free
floor; the in-place activities: waving, boxing, gestures...). Every activity of the motion vocabulary
has one, derived from its :class:`~sim.humans.motion.activity.ActivitySpec` (:func:`spec_posture`);
the word table adds the synonyms prompts use ("napping", "seated"...) and fixes a few by hand.

The radar's mount is judged too (:func:`radar_view_problem`): a presence radar is not mounted where an
open door leaf or a tall object right in front of it hides much of its field of view.
"""

from __future__ import annotations

import collections
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.humans.motion.activity import ActivitySpec
from sim.humans.motion.vocabulary import VOCABULARY
from sim.propagation.scatter import occluded, scene_triangles
from sim.scene import shapes
from sim.scene.furniture import Affordance, SceneObject
from sim.scene.occupancy import OccupancyGrid
from sim.scene.prompt import parse_prompt
from sim.scene.roomtypes import REQUIRED_LABELS
from sim.scene.scene import Room, Scene

log = logging.getLogger(__name__)

_POSTURE_WORDS: dict[str, tuple[str, ...]] = {
    "sit": ("sit", "sitting", "sit_down", "sitting_down", "seated", "typing", "reading", "eating", "working"),
    "sleep": ("sleep", "sleeping", "nap", "napping"),
    "lie": ("lie", "lying", "lie_down", "lying_down", "fall", "falling", "fallen", "lying_on_floor"),
    "walk": ("walk", "walking", "run", "running", "jog", "jogging", "pace", "pacing"),
    "stand": (
        "stand", "standing", "get_up", "getting_up", "wave", "waving", "box", "boxing", "jumping_jacks",
        "jump", "jumping", "squat", "squats", "squatting", "gesture", "hand_gesture", "swipe_left",
        "swipe_right", "push", "pull", "circle", "clap", "clapping", "stretch", "stretching", "exercise",
        "cooking", "washing",
    ),
}  # fmt: skip


def spec_posture(spec: ActivitySpec) -> str:
    """The judge's posture for a vocabulary activity, from its declared postures and place: ``sleep``
    for one done on a bed (its lying area), ``sit`` for one that starts seated, ``lie`` for one that
    starts or ends lying (on a bed, a sofa or the floor), ``stand`` otherwise (free floor)."""
    if spec.place == "bed":
        return "sleep"
    if spec.requires == "sitting":
        return "sit"
    if "lying" in (spec.requires, spec.ends_in):
        return "lie"
    return "stand"


#: Posture of every vocabulary activity (:func:`spec_posture`) and of the words of the table above
#: (which win: "walk" walks, "get_up" starts on the floor but is judged where the person stands).
ACTIVITY_POSTURE: dict[str, str] = {
    **{name: spec_posture(spec) for name, spec in VOCABULARY.items()},
    **{w: p for p, words in _POSTURE_WORDS.items() for w in words},
}

# Things nobody lies on, whatever the prompt says.
_NOT_FOR_LYING = {
    "sink",
    "bathtub",
    "dining_table",
    "coffee_table",
    "desk",
    "counter",
    "stove",
    "toilet",
}
BODY_LENGTH_M = 1.8  # floor area a lying person needs [m]
BODY_WIDTH_M = 0.6
GRID_RES_M = 0.1
WALK_CLEARANCE_M = 0.2  # body radius for walking / reachability [m]
STAND_CLEARANCE_M = 0.15
REACH_M = 1.0  # a seat or bed counts as reachable if free, connected floor lies within this [m]

# The radar's view (radar_view_blockage): a fan of rays over the azimuth field of view, from the radar
# to the room's walls at the heights where people's heads, chests and legs are.
RADAR_VIEW_AZ_DEG = 120.0  # full azimuth field of view, as Scene.in_radar_fov's default [deg]
RADAR_VIEW_RAYS_PER_ROW = 25  # azimuths, 5 deg apart
RADAR_VIEW_HEIGHTS_M = (1.6, 1.0, 0.4)  # heights the rays end at on the walls [m]
RADAR_VIEW_NEAR_M = 1.5  # furniture this close in front of the radar blocks its view [m]
RADAR_VIEW_MIN_RAY_M = 0.3  # azimuths whose wall is closer (the mount wall's) are left out [m]
MAX_RADAR_VIEW_BLOCKED = 0.2  # largest fraction of the fan that may be blocked
_NOT_BLOCKERS = ("wall", "floor", "ceiling", "window")


@dataclass(frozen=True)
class Placement:
    """Where a person does an activity.

    Attributes:
        activity: e.g. ``"sit_down"``, ``"sleeping"``, ``"walking"``, ``"waving"``.
        position: world (x, y) [m] (the seat / lying-area centre for sit / lie).
        heading_deg: where the person faces (feet-to-head direction when lying), CCW from +y [deg].
        affordance: the seat / lying area / standing spot used, if any.
        tries: how many candidates :func:`place_activity` drew to find it.
    """

    activity: str
    position: tuple[float, float]
    heading_deg: float
    affordance: Affordance | None = None
    tries: int = 1


class PlacementError(ValueError):
    """No acceptable placement exists or none was found."""


def posture_of(activity: str) -> str:
    """Posture ("sit", "sleep", "lie", "walk", "stand") of an activity; unknown ones raise ValueError."""
    key = "_".join(activity.lower().replace("-", " ").split())
    if key in ACTIVITY_POSTURE:
        return ACTIVITY_POSTURE[key]
    raise ValueError(f"unknown activity {activity!r}; known: {', '.join(sorted(ACTIVITY_POSTURE))}")


def _angle_diff(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


def _walk_grid(scene: Scene) -> OccupancyGrid:
    return scene.free_space(GRID_RES_M, WALK_CLEARANCE_M)


def _entrance_component(scene: Scene) -> int:
    return _walk_grid(scene).component(*scene.entrance_point(), max_dist_m=0.6)


def _reachable_near(scene: Scene, x: float, y: float, radius: float = REACH_M) -> bool:
    grid = _walk_grid(scene)
    comp = _entrance_component(scene)
    return comp != 0 and grid.component(x, y, max_dist_m=radius) == comp


def _furniture_at(scene: Scene, x: float, y: float, margin: float = 0.0) -> list:
    return [
        o
        for o in scene.objects
        if o.label not in ("wall", "floor", "ceiling", "window")
        and o.footprint.contains(x, y, margin)
    ]


def _body_height(posture: str, placement: Placement) -> float:
    aff = placement.affordance
    if posture == "sit":
        return (aff.position[2] if aff else 0.45) + 0.3
    if posture in ("lie", "sleep"):
        return (aff.position[2] if aff else 0.0) + 0.12
    return 1.0


def judge_placement(
    scene: Scene,
    placement: Placement,
    *,
    require_radar_fov: bool = False,
    fov_az_deg: float = 120.0,
    fov_el_deg: float = 60.0,
    max_range_m: float | None = None,
) -> list[str]:
    """Reasons to reject ``placement`` in ``scene`` (empty: accepted).

    Args:
        require_radar_fov: also require the body centre inside the radar's field of view (for radar
            datasets), with the given full angles [deg] and maximum range [m] (None: unlimited).
    """
    posture = posture_of(placement.activity)
    x, y = float(placement.position[0]), float(placement.position[1])
    aff = placement.affordance
    reasons: list[str] = []
    room = scene.room_at(x, y)
    if room is None:
        return [f"({x:.2f}, {y:.2f}) is outside every room"]
    where = f"{room.room_type} {room.name}" if room.name != room.room_type else room.room_type

    if posture == "sit":
        if aff is None or aff.kind != "sit":
            got = "none given" if aff is None else f"{aff.label} offers {aff.kind}, not sit"
            reasons.append(
                f"{placement.activity} needs a seat (chair, sofa, bed edge, toilet); {got}"
            )
        else:
            reasons += _check_affordance(scene, placement, aff, tol_m=0.3, tol_deg=45.0)
    elif posture in ("lie", "sleep"):
        if aff is not None:
            if aff.kind != "lie":
                reasons.append(
                    f"nobody {placement.activity.replace('_', ' ')} on the {aff.label} ({aff.object_name}): it offers no lying area"
                )
            else:
                reasons += _check_affordance(scene, placement, aff, tol_m=0.5, tol_deg=45.0)
        elif posture == "sleep":
            reasons.append(
                f"{placement.activity} needs a bed or a sofa (a lie affordance); none given in {where}"
            )
        else:
            reasons += _check_floor_lying(scene, placement)
    else:  # walk, stand
        if aff is not None and aff.kind != "stand_at":
            reasons.append(f"{placement.activity} is done standing, not on a {aff.kind} affordance")
        inside = _furniture_at(scene, x, y)
        if inside:
            reasons.append(f"({x:.2f}, {y:.2f}) is inside {inside[0].label} {inside[0].name}")
        clearance = WALK_CLEARANCE_M if posture == "walk" else STAND_CLEARANCE_M
        if not inside and not scene.free_space(GRID_RES_M, clearance).is_free(x, y):
            reasons.append(
                f"no free floor at ({x:.2f}, {y:.2f}) for {placement.activity} (needs {clearance} m around)"
            )

    if not reasons:
        # Reachable from the entrance door (seat / bed: some connected floor next to it).
        if not _reachable_near(
            scene, x, y, REACH_M if aff is not None or posture == "lie" else 0.3
        ):
            reasons.append(
                f"({x:.2f}, {y:.2f}) in {where} cannot be reached from the entrance door"
            )
    if require_radar_fov:
        z = _body_height(posture, placement)
        if not scene.in_radar_fov((x, y, z), fov_az_deg, fov_el_deg, max_range_m):
            reasons.append(f"({x:.2f}, {y:.2f}, {z:.2f}) is outside the radar's field of view")
    return reasons


def _check_affordance(
    scene: Scene, p: Placement, aff: Affordance, tol_m: float, tol_deg: float
) -> list[str]:
    try:
        obj = scene.get(aff.object_name)
    except KeyError:
        return [f"{aff.object_name} (the {aff.label} to use) is not in the scene"]
    if aff not in obj.affordances:
        return [f"{aff.object_name} offers no such {aff.kind} spot"]
    out = []
    d = float(np.hypot(p.position[0] - aff.position[0], p.position[1] - aff.position[1]))
    if d > tol_m:
        out.append(
            f"position is {d:.2f} m from the {aff.kind} spot of {aff.object_name} (max {tol_m} m)"
        )
    diff = _angle_diff(p.heading_deg, aff.heading_deg)
    if diff > tol_deg:
        out.append(
            f"heading differs by {diff:.0f} deg from the {aff.kind} direction of {aff.object_name}"
        )
    return out


def _check_floor_lying(scene: Scene, p: Placement) -> list[str]:
    """A body of BODY_LENGTH_M x BODY_WIDTH_M along the heading, centred at the position, on free floor."""
    x, y = p.position
    fp = shapes.Footprint((float(x), float(y)), (BODY_WIDTH_M, BODY_LENGTH_M), p.heading_deg)
    for o in scene.objects:
        if o.label in ("wall", "floor", "ceiling", "window"):
            continue
        if shapes.overlap(fp, o.footprint):
            if o.label in _NOT_FOR_LYING:
                return [f"nobody lies on or in the {o.label} ({o.name})"]
            return [f"a body lying at ({x:.2f}, {y:.2f}) would overlap {o.label} {o.name}"]
    grid = scene.free_space(GRID_RES_M, 0.05)
    corners = fp.corners()
    pts = np.vstack(
        [corners, (corners[0] + corners[3]) / 2, (corners[1] + corners[2]) / 2, [[x, y]]]
    )
    if not all(grid.is_free(float(a), float(b)) for a, b in pts):
        return [
            f"not enough free floor at ({x:.2f}, {y:.2f}) to lie down ({BODY_LENGTH_M} x {BODY_WIDTH_M} m)"
        ]
    return []


@dataclass(frozen=True)
class ViewBlockage:
    """How much of the radar's view is blocked (:func:`radar_view_blockage`).

    Attributes:
        fraction: blocked fraction of the ray fan (0-1).
        blocker: name of the object that blocks the most rays (None: nothing blocks).
        label: its label (``"door"`` for an open door leaf).
        blocker_fraction: the fraction of the fan that object alone blocks.
    """

    fraction: float
    blocker: str | None = None
    label: str | None = None
    blocker_fraction: float = 0.0


@dataclass(frozen=True)
class ViewBlockers:
    """What can block the radar's view (:func:`view_blockers`): the door leaves' and the other objects'
    triangles ``[T, 3, 3]`` [m], each with its owner's index into ``names`` / ``labels``."""

    names: tuple[str, ...]
    labels: tuple[str, ...]
    door_triangles: np.ndarray
    door_owner: np.ndarray
    other_triangles: np.ndarray
    other_owner: np.ndarray


def view_blockers(objects: Sequence[SceneObject]) -> ViewBlockers:
    """The objects that can block the radar's view (all but walls, floor, ceiling and windows; label
    ``"door"``: open door leaves), for :func:`radar_view_blockage`."""
    objs = [o for o in objects if o.label not in _NOT_BLOCKERS]
    tris = [scene_triangles(o.meshes) for o in objs]
    owner = np.repeat(np.arange(len(objs)), np.array([len(t) for t in tris], dtype=np.int64))
    allt = np.concatenate([np.zeros((0, 3, 3)), *tris])
    door = np.array([o.label == "door" for o in objs], dtype=bool)[owner]
    return ViewBlockers(
        tuple(o.name for o in objs),
        tuple(o.label for o in objs),
        allt[door],
        owner[door],
        allt[~door],
        owner[~door],
    )


def _fan(position: np.ndarray, yaw_deg: float, room: Room) -> np.ndarray:
    """Ends ``[R, 3]`` of the ray fan on the room's walls [m] (see :func:`radar_view_blockage`)."""
    az = np.radians(
        yaw_deg
        + np.linspace(-RADAR_VIEW_AZ_DEG / 2, RADAR_VIEW_AZ_DEG / 2, RADAR_VIEW_RAYS_PER_ROW)
    )
    d = np.stack([-np.sin(az), np.cos(az)], axis=-1)  # [n, 2] horizontal directions
    xmin, ymin, xmax, ymax = room.bounds
    lo, hi = np.array([xmin, ymin]), np.array([xmax, ymax])
    with np.errstate(divide="ignore", invalid="ignore"):
        t_hi = np.where(d > 1e-9, (hi - position[:2]) / d, np.inf)
        t_lo = np.where(d < -1e-9, (lo - position[:2]) / d, np.inf)
    reach = np.minimum(t_hi, t_lo).min(axis=1)  # horizontal distance to the wall [m]
    keep = reach >= RADAR_VIEW_MIN_RAY_M
    wall = position[:2] + d[keep] * reach[keep, None]  # [n', 2]
    heights = np.minimum(np.asarray(RADAR_VIEW_HEIGHTS_M), room.height)
    return np.concatenate([np.column_stack([wall, np.full(len(wall), h)]) for h in heights])


def _near_box(origin: np.ndarray, ends: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Which triangles ``[T]`` meet the bounding box of the segments ``origin -> ends``."""
    if ends.shape[0] == 0:
        return np.zeros(triangles.shape[0], dtype=bool)
    lo = np.minimum(ends.min(axis=0), origin) - 1e-6
    hi = np.maximum(ends.max(axis=0), origin) + 1e-6
    return np.all((triangles.max(axis=1) >= lo) & (triangles.min(axis=1) <= hi), axis=1)


def _hits(origin: np.ndarray, ends: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Which segments ``origin -> ends`` ``[R]`` cross one of ``triangles``: the scatter backend's
    :func:`sim.propagation.scatter.occluded`, with coarse acceleration cells as the fan's rays are
    5 deg apart (the same answer, far fewer cell pairs)."""
    return occluded(origin, ends, triangles, cell_deg=5.0)


def _blocked_rays(
    position: Sequence[float], yaw_deg: float, room: Room, blockers: ViewBlockers
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Origin ``[3]``, the fan's far and near ray ends ``[R, 3]`` and which rays are blocked ``[R]``."""
    o = np.asarray(position, dtype=np.float64)
    far = _fan(o, yaw_deg, room)
    length = np.linalg.norm(far - o, axis=1)
    near = o + (far - o) * np.minimum(1.0, RADAR_VIEW_NEAR_M / np.maximum(length, 1e-9))[:, None]
    doors, others = blockers.door_triangles, blockers.other_triangles
    blocked = _hits(o, far, doors[_near_box(o, far, doors)]) | _hits(
        o, near, others[_near_box(o, near, others)]
    )
    return o, far, near, blocked


def _main_blocker(
    o: np.ndarray, far: np.ndarray, near: np.ndarray, blocked: np.ndarray, blockers: ViewBlockers
) -> tuple[int, int]:
    """Index (into ``blockers.names``) of the object that blocks the most rays, and how many."""
    counts = np.zeros(len(blockers.names), dtype=np.int64)
    for tri, owner, ends in (
        (blockers.door_triangles, blockers.door_owner, far[blocked]),
        (blockers.other_triangles, blockers.other_owner, near[blocked]),
    ):
        box = _near_box(o, ends, tri)
        tri, owner = tri[box], owner[box]
        for k in np.unique(owner):
            counts[k] = int(_hits(o, ends, tri[owner == k]).sum())
    k = int(np.argmax(counts))  # first of the most blocking
    return k, int(counts[k])


def radar_view_blockage(
    position: Sequence[float],
    yaw_deg: float,
    room: Room,
    blockers: ViewBlockers,
) -> ViewBlockage:
    """How much of a radar's view an open door leaf or a tall object right in front of it blocks.

    A fan of rays leaves ``position``: for each of :data:`RADAR_VIEW_RAYS_PER_ROW` azimuths over the
    field of view (:data:`RADAR_VIEW_AZ_DEG` centred on ``yaw_deg``), one ray to the room's wall in
    that direction at each height of :data:`RADAR_VIEW_HEIGHTS_M` (where a person's head, chest and
    legs would be; azimuths whose wall is within :data:`RADAR_VIEW_MIN_RAY_M`, i.e. the wall the radar
    hangs on, are left out). A ray is blocked when it crosses a door leaf anywhere in the room, or any
    other object (furniture, stairs) within its first :data:`RADAR_VIEW_NEAR_M`: far furniture hiding
    what is behind it is how rooms are, a tall object at arm's length in front of the radar or an open
    door leaf casting its shadow over the room is not where an installer would mount a presence radar.
    The occlusion test is the scatter backend's (:func:`sim.propagation.scatter.occluded`).
    Deterministic.

    Args:
        position: radar (x, y, z) [m].
        yaw_deg: boresight heading, CCW from +y [deg] (as :class:`sim.geometry.RadarPose`).
        room: the room the radar is in (rays end at its walls).
        blockers: from :func:`view_blockers`.
    """
    o, far, near, blocked = _blocked_rays(position, yaw_deg, room, blockers)
    if not blocked.any():
        return ViewBlockage(0.0)
    k, n = _main_blocker(o, far, near, blocked, blockers)
    return ViewBlockage(
        float(blocked.mean()), blockers.names[k], blockers.labels[k], n / blocked.size
    )


def radar_view_problem(
    position: Sequence[float],
    yaw_deg: float,
    room: Room,
    blockers: ViewBlockers,
    max_blocked: float | None = None,
) -> str | None:
    """Why a radar at ``position`` looking along ``yaw_deg`` is badly mounted (None: its view is clear
    enough): more than ``max_blocked`` of :func:`radar_view_blockage`'s fan is blocked. The reason
    names the object blocking the most. ``max_blocked``: None for :data:`MAX_RADAR_VIEW_BLOCKED`."""
    if max_blocked is None:
        max_blocked = MAX_RADAR_VIEW_BLOCKED
    o, far, near, blocked = _blocked_rays(position, yaw_deg, room, blockers)
    fraction = float(blocked.mean()) if blocked.size else 0.0
    if fraction <= max_blocked:
        return None
    k, n = _main_blocker(o, far, near, blocked, blockers)
    label = blockers.labels[k]
    what = "the open door leaf" if label == "door" else f"the {label}"
    return (
        f"{100 * fraction:.0f} % of the radar's view is blocked (max {100 * max_blocked:.0f} %), "
        f"{100 * n / blocked.size:.0f} % by {what} {blockers.names[k]}"
    )


def judge_layout(scene: Scene, *, radar_view: bool = True) -> list[str]:
    """Reasons the scene's layout is implausible (empty: accepted).

    Checks: furniture inside rooms and not overlapping; door approaches clear; every room and every
    seat / bed / counter reachable from the entrance; the radar inside a room, below the ceiling and not
    inside furniture; with ``radar_view``, the radar's view not blocked by an open door leaf or a tall
    object right in front of it (:func:`radar_view_problem`; :func:`sim.scene.generate_scene` runs
    that test on every spot it samples for the mount, and keeps a pose it was given as it is); each
    room has what its type needs (a bedroom a bed...) unless the prompt said "no <it>".
    """
    reasons: list[str] = []
    movable = [o for o in scene.objects if o.label not in ("wall", "floor", "ceiling", "window")]
    furniture = [o for o in movable if o.label != "door"]
    for o in furniture:
        if not any(shapes.inside(o.footprint, r.footprint, tol=0.01) for r in scene.rooms):
            reasons.append(f"{o.name} is not inside a room")
    for i, a in enumerate(movable):
        for b in movable[i + 1 :]:
            if shapes.overlap(a.footprint, b.footprint, tol=0.005):
                reasons.append(f"{a.name} overlaps {b.name}")
    for d in scene.doorways:
        zone = d.approach(depth=0.6)
        for o in furniture:
            if shapes.overlap(zone, o.footprint, tol=0.005):
                reasons.append(f"{o.name} blocks {d.name}")

    grid = _walk_grid(scene)
    comp = _entrance_component(scene)
    if comp == 0:
        reasons.append("no free floor inside the entrance door")
    else:
        labels = grid._labels
        for r in scene.rooms:
            j0 = grid.cell_of(r.bounds[0] + 1e-6, r.bounds[1] + 1e-6)
            j1 = grid.cell_of(r.bounds[2] - 1e-6, r.bounds[3] - 1e-6)
            assert j0 is not None and j1 is not None
            if not np.any(labels[j0[0] : j1[0] + 1, j0[1] : j1[1] + 1] == comp):
                reasons.append(f"{r.name} cannot be reached from the entrance")
        for o in furniture:
            if o.affordances and not any(
                _reachable_near(scene, *a.position[:2]) for a in o.affordances
            ):
                reasons.append(f"{o.name} cannot be reached from the entrance")

    rx, ry, rz = scene.radar.position
    room = scene.room_at(rx, ry)
    if room is None:
        reasons.append(f"radar at ({rx:.2f}, {ry:.2f}) is outside every room")
    elif not 0.0 < rz < room.height:
        reasons.append(f"radar height {rz:.2f} m is outside 0-{room.height:.2f} m")
    for o in furniture:
        if o.footprint.contains(rx, ry) and rz < o.height:
            reasons.append(f"radar is inside {o.name}")
    if radar_view and room is not None:
        problem = radar_view_problem(
            scene.radar.position, scene.radar.yaw_deg, room, view_blockers(scene.objects)
        )
        if problem:
            reasons.append(problem)

    excluded = parse_prompt(scene.prompt).exclude if scene.prompt else frozenset()
    for r in scene.rooms:
        need = REQUIRED_LABELS.get(r.room_type, ())
        if not need or all(n in excluded for n in need):
            continue
        present = {o.label for o in furniture if r.contains(*o.position)}
        if not present & set(need):
            reasons.append(f"{r.name} has no {' or '.join(need)}")
    return reasons


def reason_key(reason: str) -> str:
    """A reason with its numbers blanked, so that rejections of one kind are counted together."""
    return re.sub(r"-?\d+(?:\.\d+)?", "#", reason)


def _candidates(scene: Scene, posture: str, rng: np.random.Generator) -> Placement | None:
    """One random candidate for ``posture`` (None: nothing to try)."""
    if posture == "sit":
        affs = scene.affordances("sit")
        a = affs[int(rng.integers(len(affs)))]
        return Placement("", a.position[:2], a.heading_deg, a)
    if posture == "sleep" or (posture == "lie" and scene.affordances("lie") and rng.random() < 0.6):
        affs = scene.affordances("lie")
        a = affs[int(rng.integers(len(affs)))]
        return Placement("", a.position[:2], a.heading_deg, a)
    # Floor: a lying body needs more room around its centre than a standing one.
    grid = (
        scene.free_space(GRID_RES_M, BODY_WIDTH_M / 2 + 0.05)
        if posture == "lie"
        else _walk_grid(scene)
    )
    if not grid.free.any():
        grid = _walk_grid(scene)
    x, y = grid.sample_free(rng)
    return Placement("", (x, y), float(rng.uniform(-180.0, 180.0)), None)


def place_activity(
    scene: Scene,
    activity: str,
    rng: np.random.Generator,
    *,
    max_tries: int = 50,
    require_radar_fov: bool = False,
    max_range_m: float | None = None,
    stats: collections.Counter | None = None,
) -> Placement:
    """Sample placements for ``activity`` until :func:`judge_placement` accepts one.

    Every rejection is logged (``sim.scene.judge``, INFO) with its reason and counted in ``stats``
    (reason -> count) when given.

    Raises:
        ValueError: unknown activity.
        PlacementError: the scene has no affordance the activity needs (e.g. "no lie affordance in
            bathroom ..." for sleep without a bed), or ``max_tries`` candidates were all rejected.
    """
    posture = posture_of(activity)
    where = scene.room_type
    need = {"sit": "sit", "sleep": "lie"}.get(posture)
    if need and not scene.affordances(need):
        labels = sorted({o.label for o in scene.furniture()})
        raise PlacementError(
            f"no {need} affordance in {where} for {activity!r} "
            f"(it has: {', '.join(labels) or 'no furniture'}; {need} needs "
            f"{'a chair, sofa, bed or toilet' if need == 'sit' else 'a bed or a sofa'})"
        )
    counts: collections.Counter = collections.Counter()
    for k in range(1, max_tries + 1):
        cand = _candidates(scene, posture, rng)
        assert cand is not None
        cand = Placement(activity, cand.position, cand.heading_deg, cand.affordance, k)
        reasons = judge_placement(
            scene, cand, require_radar_fov=require_radar_fov, max_range_m=max_range_m
        )
        if not reasons:
            return cand
        for r in reasons:
            key = reason_key(r)
            counts[key] += 1
            if stats is not None:
                stats[key] += 1
        log.info(
            "rejected %s at (%.2f, %.2f) in %s: %s",
            activity,
            *cand.position,
            where,
            "; ".join(reasons),
        )
    top = "; ".join(f"{n}x {r}" for r, n in counts.most_common(3))
    raise PlacementError(
        f"no acceptable placement for {activity!r} in {where} after {max_tries} tries: {top}"
    )
