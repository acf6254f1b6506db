"""The semantic judge: explicit constraints that reject implausible layouts and activity placements.

The proposal's VLM judge, written as rules a person would state: a sitting person needs a seat, nobody
sleeps in a sink, a walker needs free floor connected to the door, furniture does not overlap or block
doors, a bedroom has a bed. Each rule returns a human-readable reason; an empty list means accepted.
:func:`place_activity` samples candidate placements until the judge accepts one, logging every
rejection (logger ``sim.scene.judge``) and counting reasons.

Activities map onto postures (:data:`ACTIVITY_POSTURE`): ``sit`` (needs a seat), ``sleep`` (needs a bed
or sofa), ``lie`` (bed, sofa or free floor, e.g. after a fall), ``walk`` (free floor), ``stand`` (free
floor; the in-place activities: waving, boxing, gestures...).
"""

from __future__ import annotations

import collections
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.scene import shapes
from sim.scene.furniture import Affordance
from sim.scene.occupancy import OccupancyGrid
from sim.scene.prompt import parse_prompt
from sim.scene.roomtypes import REQUIRED_LABELS

if TYPE_CHECKING:
    from sim.scene.rooms import Scene

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
ACTIVITY_POSTURE: dict[str, str] = {w: p for p, words in _POSTURE_WORDS.items() for w in words}

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


def judge_layout(scene: Scene) -> list[str]:
    """Reasons the scene's layout is implausible (empty: accepted).

    Checks: furniture inside rooms and not overlapping; door approaches clear; every room and every
    seat / bed / counter reachable from the entrance; the radar inside a room, below the ceiling and not
    inside furniture; each room has what its type needs (a bedroom a bed...) unless the prompt said
    "no <it>".
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

    excluded = parse_prompt(scene.prompt).exclude if scene.prompt else frozenset()
    for r in scene.rooms:
        need = REQUIRED_LABELS.get(r.room_type, ())
        if not need or all(n in excluded for n in need):
            continue
        present = {o.label for o in furniture if r.contains(*o.position)}
        if not present & set(need):
            reasons.append(f"{r.name} has no {' or '.join(need)}")
    return reasons


def _reason_key(reason: str) -> str:
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
            key = _reason_key(r)
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
