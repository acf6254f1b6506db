"""One person of a scenario: where they start and what they do (a place the scene's judge accepts, in
the radar's view and range, with the lead-in that brings them there), their vital signs, and the
stored :class:`PersonPlan`.

Headings: the scene judge gives degrees counter-clockwise from +y; the motion library wants radians
counter-clockwise from +x; :func:`sim.geometry.motion_heading_rad` converts.
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.dataset.program import Place
from sim.geometry import motion_heading_rad
from sim.humans import Human, Segment, Subject, Timeline, sample_vitals
from sim.humans.motion.vocabulary import ENDS_IN, PLACE, REQUIRES, VOCABULARY
from sim.scene import Placement, PlacementError, Scene, judge_placement, place_activity
from sim.scene.judge import ACTIVITY_POSTURE, posture_of, reason_key

#: Activities done in place, standing (or standing or seated): every vocabulary activity that starts
#: standing (or either), ends in the posture it started in and needs no bed; walking aside.
IN_PLACE: tuple[str, ...] = tuple(
    name
    for name, spec in VOCABULARY.items()
    if name != "walk" and spec.requires in ("standing", "any") and spec.ends_in is None
    and spec.place != "bed"
)  # fmt: skip
#: Activities that raise breathing and heart rates.
EXERCISE = (
    "walk",
    "boxing",
    "jumping_jacks",
    "jump",
    "squats",
    "side_lunge_left",
    "side_lunge_right",
    "front_lunge_left",
    "front_lunge_right",
)
MIN_SEPARATION_M = 0.8
#: Activities that can be placed in a distance/azimuth region (done standing, no furniture needed).
REGION_ACTIVITIES = (*IN_PLACE, "walk", "fall")
#: Where an activity placed ``"near_radar"`` (hand gestures,
#: :attr:`~sim.humans.motion.activity.ActivitySpec.place`) starts when no region is asked:
#: ((min, max) horizontal distance [m], (min, max) azimuth [deg]) from the radar.
NEAR_RADAR_REGION = ((0.8, 2.0), (-30.0, 30.0))
#: ... and how far from facing the radar the person turns, at most [rad].
NEAR_RADAR_FACING_RAD = 0.3
#: A walk inside a region goes at least this far [m] (or 0.8 of the region's depth, if less).
REGION_MIN_WALK_M = 1.0
#: "near the window": the person stands (or sits) within this of the object's footprint edge [m].
NEAR_M = 1.2
#: Activities whose segment needs a place of its own (a path, a seat, a bed): only first in a sequence.
NEEDS_PLACE = ("walk", "sit_down", "lie_down", "get_into_bed")
#: What a person holds after a sequence, by posture.
_HOLD = {"standing": "stand", "sitting": "sit", "lying": "sleep"}


@dataclass(frozen=True)
class PlannedMotion:
    """Where one person is placed and what they do, before the people's timelines are aligned.

    Attributes:
        segments: ``[{"activity", "start_s", "end_s", "params"}]`` in the person's own time [s]
            (their motion starts at 0).
        lead_s: when the lead-in (walking to a seat, lying down...) ends and the window may start [s].
        position: start (x, y) world [m].
        heading: start heading [rad] counter-clockwise from +x.
        posture: start posture (``"standing"`` or ``"lying"``).
        support: label of the object sat or lain on (None: floor).
    """

    segments: list[dict[str, Any]]
    lead_s: float
    position: tuple[float, float]
    heading: float
    posture: str
    support: str | None


@dataclass(frozen=True)
class PersonPlan:
    """One person of a scenario (JSON-able); made by :meth:`planned`.

    Attributes:
        name: mesh name (``person_0``...).
        subject: ``sim.humans.Subject`` fields.
        activity: main activity in the window.
        segments: ``[{"activity", "start_s", "end_s", "params"}]`` (absolute times [s]).
        start_position: (x, y) world [m]; start_heading: [rad] CCW from +x; start_posture.
        support: label of the object sat or lain on (None: floor).
        vitals: ``breathing_per_min``, ``heart_per_min``, amplitudes [m].
        seed: the person's motion/vitals seed.
        place: ``{"relation", "object"}`` the scene program asked for (None: none asked).
    """

    name: str
    subject: dict[str, Any]
    activity: str
    segments: list[dict[str, Any]]
    start_position: tuple[float, float]
    start_heading: float
    start_posture: str
    support: str | None
    vitals: dict[str, float]
    seed: int
    place: dict[str, str] | None = None

    @classmethod
    def planned(
        cls,
        motion: PlannedMotion,
        *,
        name: str,
        subject: dict[str, Any],
        activity: str,
        vitals: dict[str, float],
        seed: int,
        window: tuple[float, float] | None = None,
        place: dict[str, str] | None = None,
    ) -> PersonPlan:
        """The person doing ``motion``.

        Args:
            window: None: in the person's own time, as planned (the placement's visibility check, at
                ``motion.lead_s``); ``(window_start, end)`` [s]: the stored plan, segments shifted so
                the lead-in ends at ``window_start`` and extended to ``end``, times and start pose
                rounded to 1e-6.
        """
        if window is None:
            segments, position, heading = motion.segments, motion.position, motion.heading
        else:
            segments = _align(motion, *window)
            position = (round(motion.position[0], 6), round(motion.position[1], 6))
            heading = round(float(motion.heading), 6)
        return cls(
            name=name,
            subject=subject,
            activity=activity,
            segments=segments,
            start_position=position,
            start_heading=heading,
            start_posture=motion.posture,
            support=motion.support,
            vitals=vitals,
            seed=seed,
            place=place,
        )

    def build(self) -> Human:
        """The :class:`sim.humans.Human`."""
        segs = [
            Segment(s["activity"], s["start_s"], s["end_s"], dict(s["params"]))
            for s in self.segments
        ]
        timeline = Timeline(
            segs,
            start_position=self.start_position,
            start_heading=self.start_heading,
            start_posture=self.start_posture,
        )
        return Human(
            Subject(**self.subject),
            timeline,
            name=self.name,
            seed=self.seed,
            breathing_per_min=self.vitals["breathing_per_min"],
            heart_per_min=self.vitals["heart_per_min"],
            breathing_amplitude_m=self.vitals.get("breathing_amplitude_m"),
            heart_amplitude_m=self.vitals.get("heart_amplitude_m"),
        )


def _toward(a: tuple[float, float], b: tuple[float, float]) -> float:
    return math.atan2(b[1] - a[1], b[0] - a[0])


def _seg(
    activity: str, t0: float, t1: float, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {"activity": activity, "start_s": float(t0), "end_s": float(t1), "params": params or {}}


def count_rejection(stats: collections.Counter | None, reason: str) -> None:
    """Count ``reason`` (numbers blanked) in ``stats`` when given."""
    if stats is not None:
        stats[reason_key(reason)] += 1


def _region_point(
    scene: Scene, region: tuple[tuple[float, float], tuple[float, float]], rng: np.random.Generator
) -> tuple[float, float]:
    """A floor point (x, y) at a uniform distance [m] and azimuth [deg] in ``region`` from the radar."""
    (d0, d1), (a0, a1) = region
    d, az = float(rng.uniform(d0, d1)), math.radians(float(rng.uniform(a0, a1)))
    yaw = math.radians(scene.radar.yaw_deg)
    boresight, right = (-math.sin(yaw), math.cos(yaw)), (math.cos(yaw), math.sin(yaw))
    x0, y0 = float(scene.radar.position[0]), float(scene.radar.position[1])
    return (
        x0 + d * (math.cos(az) * boresight[0] + math.sin(az) * right[0]),
        y0 + d * (math.cos(az) * boresight[1] + math.sin(az) * right[1]),
    )


def _place_in_region(
    scene: Scene,
    activity: str,
    rng: np.random.Generator,
    region: tuple[tuple[float, float], tuple[float, float]],
    max_range_m: float,
    tries: int = 60,
    stats: collections.Counter | None = None,
) -> Placement:
    """A :class:`sim.scene.Placement` inside ``region`` accepted by the judge (rejections counted in
    ``stats`` like :func:`sim.scene.place_activity` does).

    Raises:
        sim.scene.PlacementError: ``tries`` candidates rejected (the first reason is given).
    """
    first = ""
    for k in range(1, tries + 1):
        pos = _region_point(scene, region, rng)
        cand = Placement(activity, pos, 0.0, None, k)
        reasons = judge_placement(scene, cand, require_radar_fov=True, max_range_m=max_range_m)
        if not reasons:
            return cand
        for r in reasons:
            count_rejection(stats, r)
        first = first or reasons[0]
    raise PlacementError(
        f"no free floor for {activity!r} at {region[0][0]}-{region[0][1]} m, "
        f"{region[1][0]}-{region[1][1]} deg from the radar after {tries} tries ({first})"
    )


def _place_at(
    scene: Scene,
    activity: str,
    rng: np.random.Generator,
    asked: Place,
    max_range_m: float,
    tries: int = 60,
    stats: collections.Counter | None = None,
) -> Placement:
    """A judge-accepted :class:`sim.scene.Placement` for ``activity`` (the judge's name for it) at
    the asked place: on the object (its seat or lying area) or near it (within :data:`NEAR_M` of its
    footprint, on free floor or on a seat/bed there).

    Raises:
        sim.scene.PlacementError: the room has no such object, it offers nothing for the activity, or
            ``tries`` candidates were rejected (the first reason is given).
    """
    objects = [o for o in scene.objects if o.label == asked.object]
    where = f"{asked.relation} the {asked.object.replace('_', ' ')}"
    if not objects:
        raise PlacementError(f"no {asked.object} in the {scene.room_type} for {activity!r} {where}")
    need = {"sit": "sit", "sleep": "lie"}.get(posture_of(activity))

    def near(x: float, y: float) -> bool:
        return any(o.footprint.contains(x, y, margin=NEAR_M) for o in objects)

    affs: list = []
    if need is not None:
        if asked.relation == "on":
            affs = [a for o in objects for a in o.affordances if a.kind == need]
        else:
            affs = [a for a in scene.affordances(need) if near(a.position[0], a.position[1])]
        if not affs:
            raise PlacementError(f"nothing to {need} on {where} in the {scene.room_type}")
    first = ""
    for k in range(1, tries + 1):
        if affs:
            a = affs[int(rng.integers(len(affs)))]
            cand = Placement(activity, a.position[:2], a.heading_deg, a, k)
        else:
            o = objects[int(rng.integers(len(objects)))]
            radius = 0.5 * float(np.hypot(*o.footprint.size)) + float(rng.uniform(0.2, NEAR_M))
            ang = float(rng.uniform(-math.pi, math.pi))
            cx, cy = o.footprint.center
            cand = Placement(
                activity,
                (cx + radius * math.cos(ang), cy + radius * math.sin(ang)),
                float(rng.uniform(-180.0, 180.0)),
                None,
                k,
            )
            if not near(*cand.position):
                continue
        reasons = judge_placement(scene, cand, require_radar_fov=True, max_range_m=max_range_m)
        if not reasons:
            return cand
        for r in reasons:
            count_rejection(stats, r)
        first = first or reasons[0]
    raise PlacementError(f"no place for {activity!r} {where} after {tries} tries ({first})")


def extend_sequence(motion: PlannedMotion, activity: str, follow_ups: list[str]) -> PlannedMotion:
    """``motion`` (planned for ``activity``) followed by ``follow_ups`` (the person's later activities,
    in order): an in-place main activity lasts the middle of its duration range first; each follow-up
    lasts the
    middle of its :attr:`~sim.humans.motion.activity.ActivitySpec.duration_s`, then holding the posture
    they leave the person in.

    Raises:
        ValueError: a follow-up that needs a place of its own (:data:`NEEDS_PLACE`) or another posture
            than the one the person is in.
    """
    if not follow_ups:
        return motion
    segs = [dict(s) for s in motion.segments]
    last = segs[-1]
    if last["activity"] == activity:
        mid = sum(VOCABULARY[activity].duration_s) / 2
        last["end_s"] = max(last["end_s"], last["start_s"] + mid)
    posture = motion.posture
    for s in segs:
        posture = ENDS_IN.get(s["activity"], _posture_of_segment(s["activity"], posture))
    t = last["end_s"]
    prev = last["activity"]
    for act in follow_ups:
        need = REQUIRES[act]
        if act in NEEDS_PLACE:
            raise ValueError(
                f"{act!r} cannot follow {prev!r}: it needs a place of its own (a path, a seat or a "
                "bed); give it as the person's first activity"
            )
        if need != posture and not (need == "any" and posture in ("standing", "sitting")):
            raise ValueError(
                f"{act!r} cannot follow {prev!r}: it needs the person {need}, {prev!r} leaves them "
                f"{posture}"
            )
        dur = sum(VOCABULARY[act].duration_s) / 2
        segs.append(_seg(act, t, t + dur))
        t += dur
        posture = ENDS_IN.get(act, posture)
        prev = act
    segs.append(_seg(_HOLD[posture], t, t + 1.0))
    return PlannedMotion(
        segs, motion.lead_s, motion.position, motion.heading, motion.posture, motion.support
    )


def _posture_of_segment(activity: str, current: str) -> str:
    need = REQUIRES.get(activity, "any")
    return current if need == "any" else need


def main_activity_end(motion: PlannedMotion, activity: str) -> float:
    """How long after the end of the lead-in [s] the person's first ``activity`` segment ends (at
    least the middle of its duration range)."""
    for s in motion.segments:
        if s["activity"] == activity and s["end_s"] > motion.lead_s - 1e-9:
            end = max(s["end_s"], s["start_s"] + sum(VOCABULARY[activity].duration_s) / 2)
            return max(0.0, end - motion.lead_s)
    return 0.0


def delay(motion: PlannedMotion, seconds: float) -> PlannedMotion:
    """``motion`` started ``seconds`` later: the person holds their start posture (standing, or lying
    for a start on the floor) until then; the lead-in end (the window start) does not move."""
    if seconds <= 1e-9:
        return motion
    hold = "sleep" if motion.posture == "lying" else "stand"
    segs = [_seg(hold, 0.0, seconds)] + [
        dict(s, start_s=s["start_s"] + seconds, end_s=s["end_s"] + seconds) for s in motion.segments
    ]
    return PlannedMotion(
        segs, motion.lead_s, motion.position, motion.heading, motion.posture, motion.support
    )


def plan_person(
    scene: Scene,
    activity: str,
    rng: np.random.Generator,
    *,
    max_range_m: float,
    taken: list[tuple[float, float]],
    region: tuple[tuple[float, float], tuple[float, float]] | None = None,
    face_radar_rad: float | None = None,
    stats: collections.Counter | None = None,
    place: Place | None = None,
) -> PlannedMotion:
    """Where the person starts and what they do, in their own time (see :class:`PlannedMotion`).

    Args:
        region: ((min, max) distance [m], (min, max) azimuth [deg]) from the radar for the start
            position (and a walk's goal); None: anywhere the judge accepts in view.
        face_radar_rad: an in-place activity faces the radar within +- this [rad] (None: the
            default, facing it with probability 0.7).
        stats: counts the judge's rejections (reason -> count).
        place: the scene program's place ("on the sofa", "near the window"); None: anywhere.

    Raises:
        sim.scene.PlacementError / ValueError: no acceptable place.
    """
    judge_activity = {
        "typing": "sit",
        "sit_down": "sit",
        "stand_up": "sit",
        "lie_down": "sleeping",
        "get_up": "lying",
    }.get(activity, activity)
    if judge_activity not in ACTIVITY_POSTURE:
        # a registered activity the judge has no word for (a new motion family): by its posture
        judge_activity = {"sitting": "sit", "lying": "lying"}.get(
            REQUIRES.get(activity, ""), "stand"
        )
    near_radar = PLACE.get(activity) == "near_radar"
    if near_radar and region is None and place is None:
        # hand gestures: close in front of the radar, facing it
        region = NEAR_RADAR_REGION
        if face_radar_rad is None:
            face_radar_rad = NEAR_RADAR_FACING_RAD
    on_bed = PLACE.get(activity) == "bed"
    asked, place = place, None
    for _ in range(10):
        if asked is not None:
            place = _place_at(scene, judge_activity, rng, asked, max_range_m, stats=stats)
        elif region is not None:
            place = _place_in_region(scene, judge_activity, rng, region, max_range_m, stats=stats)
        else:
            place = place_activity(
                scene,
                judge_activity,
                rng,
                require_radar_fov=True,
                max_range_m=max_range_m,
                stats=stats,
            )
        if activity == "get_up" and place.affordance is not None:
            # the motion library gets up from the floor (after a fall): a bed or sofa's lying
            # area would put the body inside the furniture
            continue
        if on_bed and (place.affordance is None or place.affordance.label != "bed"):
            continue  # getting into or out of bed: a bed, not a sofa
        if all(math.dist(place.position, q) >= MIN_SEPARATION_M for q in taken):
            break
    else:
        raise PlacementError(
            f"no place for {activity!r} at least {MIN_SEPARATION_M} m from the others"
            + (" on free floor" if activity == "get_up" else "")
            + (" on a bed" if on_bed else "")
        )
    assert place is not None
    pos = (float(place.position[0]), float(place.position[1]))
    radar_xy = (float(scene.radar.position[0]), float(scene.radar.position[1]))
    aff = place.affordance
    support = aff.label if aff is not None and activity not in (*IN_PLACE, "walk", "fall") else None
    heading = motion_heading_rad(place.heading_deg)
    posture = "standing"
    if activity == "walk":
        grid = scene.free_space(0.1, 0.2)
        for _ in range(30):
            if region is None:
                goal, min_walk = grid.sample_free(rng), 2.0
            else:
                depth = region[0][1] - region[0][0]
                goal = _region_point(scene, region, rng)
                min_walk = min(REGION_MIN_WALK_M, 0.8 * depth)
            if (
                math.dist(goal, pos) >= min_walk
                and (region is None or grid.is_free(*goal))
                and scene.in_radar_fov((goal[0], goal[1], 1.0), max_range_m=max_range_m)
            ):
                break
        else:
            raise PlacementError(f"no walking goal {min_walk:g} m away inside the radar's view")
        path = grid.shortest_path(pos, goal)
        wps = [[float(x), float(y)] for x, y in path[1:]]
        speed = float(rng.uniform(0.7, 1.5))
        length = float(np.linalg.norm(np.diff(np.vstack([pos, path[1:]]), axis=0), axis=1).sum())
        dur = length / speed + min(0.6, length / speed)
        segs = [_seg("walk", 0.0, dur, {"waypoints": wps, "speed": speed})]
        lead, heading = 0.3, _toward(pos, tuple(path[1]))
    elif activity in IN_PLACE:
        if face_radar_rad is not None:
            heading = _toward(pos, radar_xy) + float(rng.uniform(-face_radar_rad, face_radar_rad))
        elif rng.random() < 0.7:
            heading = _toward(pos, radar_xy) + float(rng.uniform(-0.5, 0.5))
        segs, lead = [_seg(activity, 0.0, 1.0)], 0.5
    elif activity == "fall":
        heading = float(rng.uniform(-math.pi, math.pi))
        segs, lead = [_seg("stand", 0.0, 1.0), _seg("fall", 1.0, 4.0), _seg("sleep", 4.0, 5.0)], 0.8
    elif activity in ("sit", "typing", "sit_down", "stand_up") or (
        REQUIRES.get(activity) == "sitting" and aff is not None and activity not in IN_PLACE
    ):
        assert aff is not None
        seat = {
            "position": [float(aff.position[0]), float(aff.position[1])],
            "heading": motion_heading_rad(aff.heading_deg),
            "height": float(aff.position[2]),
        }
        fwd = (math.cos(seat["heading"]), math.sin(seat["heading"]))
        pos = (pos[0] + 0.45 * fwd[0], pos[1] + 0.45 * fwd[1])
        heading = seat["heading"] + math.pi
        if activity not in ("sit_down", "stand_up"):  # sit, typing, other seated activities
            segs, lead = [_seg("sit_down", 0.0, 2.0, seat), _seg(activity, 2.0, 3.0)], 2.5
        elif activity == "sit_down":
            segs, lead = (
                [_seg("stand", 0.0, 0.5), _seg("sit_down", 0.5, 2.5, seat), _seg("sit", 2.5, 3.5)],
                0.3,
            )
        else:
            segs = [
                _seg("sit_down", 0.0, 2.0, seat),
                _seg("sit", 2.0, 2.5),
                _seg("stand_up", 2.5, 4.5),
                _seg("stand", 4.5, 5.5),
            ]
            lead = 2.3
    elif activity in ("sleep", "lie_down"):
        assert aff is not None
        bed = {
            "position": [float(aff.position[0]), float(aff.position[1])],
            "head_direction": motion_heading_rad(aff.heading_deg),
            "height": float(aff.position[2]),
        }
        if activity == "sleep":
            segs, lead = [_seg("lie_down", 0.0, 4.0, bed), _seg("sleep", 4.0, 5.0)], 4.3
        else:
            segs, lead = (
                [_seg("stand", 0.0, 0.5), _seg("lie_down", 0.5, 4.5, bed), _seg("sleep", 4.5, 5.5)],
                0.3,
            )
    elif on_bed:
        assert aff is not None
        bed = {
            "position": [float(aff.position[0]), float(aff.position[1])],
            "head_direction": motion_heading_rad(aff.heading_deg),
            "height": float(aff.position[2]),
        }
        dur = sum(VOCABULARY[activity].duration_s) / 2
        if activity == "get_into_bed":
            # standing beside the bed, facing it, on a random side
            across = bed["head_direction"] + math.pi / 2 * (1 if rng.random() < 0.5 else -1)
            pos = (pos[0] + 1.1 * math.cos(across), pos[1] + 1.1 * math.sin(across))
            heading = across + math.pi
            params = {**bed, "side": str(rng.choice(["back", "back", "left", "right"]))}
            segs = [
                _seg("stand", 0.0, 0.5),
                _seg(activity, 0.5, 0.5 + dur, params),
                _seg("sleep", 0.5 + dur, 1.5 + dur),
            ]
            lead = 0.3
        else:  # get_out_of_bed: lying on the bed (lying down first), then out of it
            exit_side = str(rng.choice(["left", "right"]))
            segs = [
                _seg("lie_down", 0.0, 4.0, bed),
                _seg("sleep", 4.0, 5.0),
                _seg(activity, 5.0, 5.0 + dur, {"exit": exit_side}),
                _seg("stand", 5.0 + dur, 6.0 + dur),
            ]
            lead = 4.8
    elif activity == "get_up":
        posture = "lying"
        heading = float(rng.uniform(-math.pi, math.pi))
        segs, lead = (
            [_seg("sleep", 0.0, 1.0), _seg("get_up", 1.0, 5.0), _seg("stand", 5.0, 6.0)],
            0.8,
        )
    elif REQUIRES.get(activity) in ("standing", "any") and activity not in NEEDS_PLACE:
        # a registered activity done standing in place that has no plan of its own (new families)
        if face_radar_rad is not None:
            heading = _toward(pos, radar_xy) + float(rng.uniform(-face_radar_rad, face_radar_rad))
        elif rng.random() < 0.7:
            heading = _toward(pos, radar_xy) + float(rng.uniform(-0.5, 0.5))
        segs, lead = [_seg(activity, 0.0, 1.0)], 0.5
    else:
        raise ValueError(f"activity {activity!r} has no scenario plan")
    return PlannedMotion(segs, lead, pos, heading, posture, support)


def _align(motion: PlannedMotion, window_start: float, end: float) -> list[dict[str, Any]]:
    """Shift a person's segments so their lead-in ends at ``window_start``; extend to ``end``."""
    offset = window_start - motion.lead_s
    segs = [
        dict(s, start_s=s["start_s"] + offset, end_s=s["end_s"] + offset) for s in motion.segments
    ]
    if offset > 1e-9:
        first = "sleep" if motion.posture == "lying" else "stand"
        segs.insert(0, _seg(first, 0.0, offset))
    last = segs[-1]
    if last["end_s"] < end:
        if last["activity"] == "walk":
            segs.append(_seg("stand", last["end_s"], end))
        else:
            segs[-1] = dict(last, end_s=end)
    return [dict(s, start_s=round(s["start_s"], 6), end_s=round(s["end_s"], 6)) for s in segs]


def sample_person_vitals(
    rng: np.random.Generator, age_group: str, activity: str
) -> dict[str, float]:
    """Breathing and heart rates [1/min] and amplitudes [m] for a person of ``age_group`` doing
    ``activity`` (raised for exercise), rounded to 1e-4."""
    v = sample_vitals(rng, age_group)
    if activity in EXERCISE:
        v["breathing_per_min"] = min(29.0, v["breathing_per_min"] * 1.3)
        v["heart_per_min"] = min(118.0, v["heart_per_min"] * 1.3)
    return {
        k: round(float(v[k]), 4)
        for k in (
            "breathing_per_min",
            "heart_per_min",
            "breathing_amplitude_m",
            "heart_amplitude_m",
        )
    }
