"""The semantic judge: activity placements, layouts, re-sampling, and path planning across rooms."""

from __future__ import annotations

import collections
import dataclasses
import logging

import numpy as np
import pytest

from sim.scene import (
    Placement,
    PlacementError,
    generate_scene,
    judge_layout,
    judge_placement,
    place_activity,
    posture_of,
)
from sim.scene.furniture import build_object


@pytest.fixture(scope="module")
def bathroom():
    return generate_scene("a bathroom with a bathtub", seed=0)


@pytest.fixture(scope="module")
def bedroom():
    return generate_scene("a bedroom with a desk", seed=1)


def test_nobody_sleeps_in_the_sink(bathroom) -> None:
    sink = next(o for o in bathroom.objects if o.label == "sink")
    reasons = judge_placement(bathroom, Placement("lying_down", sink.position, 0.0))
    assert reasons and "sink" in reasons[0]
    stand_spot = sink.affordances[0]  # the sink's only affordance is to stand at it
    reasons = judge_placement(
        bathroom, Placement("sleeping", stand_spot.position[:2], 0.0, stand_spot)
    )
    assert reasons and "no lying area" in reasons[0]
    tub = next(o for o in bathroom.objects if o.label == "bathtub")
    reasons = judge_placement(
        bathroom, Placement("lying_down", tub.position, tub.footprint.yaw_deg + 90)
    )
    assert reasons and "bathtub" in reasons[0]
    with pytest.raises(PlacementError, match="no lie affordance in bathroom"):
        place_activity(bathroom, "sleep", np.random.default_rng(0))


def test_sitting_needs_a_seat(bathroom, bedroom) -> None:
    x, y = bedroom.free_space().sample_free(np.random.default_rng(1))
    reasons = judge_placement(bedroom, Placement("sit_down", (x, y), 0.0))
    assert reasons and "needs a seat" in reasons[0]
    chair = next(a for a in bedroom.affordances("sit") if a.label == "office_chair")
    assert (
        judge_placement(
            bedroom, Placement("sit_down", chair.position[:2], chair.heading_deg, chair)
        )
        == []
    )
    wrong_way = Placement("sit_down", chair.position[:2], chair.heading_deg + 180, chair)
    assert "heading" in judge_placement(bedroom, wrong_way)[0]
    far = Placement(
        "sitting", (chair.position[0] + 1.0, chair.position[1]), chair.heading_deg, chair
    )
    assert "from the sit spot" in judge_placement(bedroom, far)[0]
    toilet = bathroom.affordances("sit")[0]
    assert toilet.label == "toilet"
    assert (
        judge_placement(
            bathroom, Placement("sitting", toilet.position[:2], toilet.heading_deg, toilet)
        )
        == []
    )


def test_sleeping_on_the_bed_is_accepted(bedroom) -> None:
    bed = bedroom.affordances("lie")[0]
    assert (
        judge_placement(bedroom, Placement("sleeping", bed.position[:2], bed.heading_deg, bed))
        == []
    )
    p = place_activity(bedroom, "sleeping", np.random.default_rng(0))
    assert p.affordance is not None and p.affordance.label in ("bed", "sofa")


def test_walking_and_standing(bedroom) -> None:
    grid = bedroom.free_space(0.1, 0.2)
    x, y = grid.sample_free(np.random.default_rng(3))
    assert judge_placement(bedroom, Placement("walking", (x, y), 0.0)) == []
    bed = next(o for o in bedroom.objects if o.label == "bed")
    reasons = judge_placement(bedroom, Placement("waving", bed.position, 0.0))
    assert reasons and "inside bed" in reasons[0]
    reasons = judge_placement(bedroom, Placement("walking", (-5.0, -5.0), 0.0))
    assert reasons == ["(-5.00, -5.00) is outside every room"]
    with pytest.raises(ValueError, match="unknown activity"):
        posture_of("levitating")
    assert posture_of("Jumping Jacks") == "stand" and posture_of("sit-down") == "sit"


def test_radar_field_of_view_is_optional() -> None:
    from sim.geometry import RadarPose

    pose = RadarPose((1.0, 0.03, 1.8), 0.0, -5.0)  # on the south wall, looking north
    scene = generate_scene("a living room", size_m=(6.0, 4.5, 2.7), radar=pose, seed=0)
    grid = scene.free_space(0.1, 0.2)
    side = next(
        (x, y)
        for x, y in (grid.center_of(j, i) for j, i in np.argwhere(grid.free))
        if x > 4.0 and y < 0.6
    )
    p = Placement("standing", side, 0.0)  # ~80 deg off boresight
    assert not any("field of view" in s for s in judge_placement(scene, p))
    assert any("field of view" in s for s in judge_placement(scene, p, require_radar_fov=True))
    p = place_activity(scene, "walking", np.random.default_rng(0), require_radar_fov=True)
    assert scene.in_radar_fov((*p.position, 1.0))


def test_place_activity_logs_and_counts_rejections(caplog) -> None:
    scene = generate_scene("a living room with a sofa", seed=3)
    stats: collections.Counter = collections.Counter()
    with caplog.at_level(logging.INFO, logger="sim.scene.judge"):
        rng = np.random.default_rng(0)
        placements = [place_activity(scene, "lying_down", rng, stats=stats) for _ in range(10)]
    for p in placements:
        assert judge_placement(scene, p) == []
    rejected = sum(p.tries - 1 for p in placements)
    assert sum(stats.values()) >= rejected
    assert len([r for r in caplog.records if r.name == "sim.scene.judge"]) == rejected
    if rejected:
        assert "rejected lying_down" in caplog.records[0].getMessage()


def test_impossible_placement_raises_after_max_tries() -> None:
    scene = generate_scene("a kitchen with no dining table and no chair", seed=0)
    with pytest.raises(PlacementError, match="no sit affordance in kitchen"):
        place_activity(scene, "sit_down", np.random.default_rng(0))


def test_judge_layout_catches_bad_layouts(bedroom) -> None:
    assert judge_layout(bedroom) == []
    bed = next(o for o in bedroom.objects if o.label == "bed")
    other = next(o for o in bedroom.furniture() if o.label not in ("bed",))
    moved = build_object(dataclasses.replace(other.spec, position=(*bed.position, 0.0)))
    bad = dataclasses.replace(
        bedroom, objects=tuple(moved if o is other else o for o in bedroom.objects)
    )
    assert any("overlaps" in r for r in judge_layout(bad))
    no_bed = dataclasses.replace(
        bedroom, objects=tuple(o for o in bedroom.objects if o.label != "bed")
    )
    assert any("has no bed" in r for r in judge_layout(no_bed))
    door = bedroom.entrance
    blocker = build_object(
        dataclasses.replace(other.spec, position=(*door.inner_point(bedroom.rooms[0], 0.4), 0.0))
    )
    blocked = dataclasses.replace(
        bedroom, objects=tuple(blocker if o is other else o for o in bedroom.objects)
    )
    assert any(f"blocks {door.name}" in r for r in judge_layout(blocked))
    from sim.geometry import RadarPose

    inside = dataclasses.replace(bedroom, radar=RadarPose((*bed.position, 0.2), 0.0, 0.0))
    assert any("radar is inside bed" in r for r in judge_layout(inside))


def test_walk_between_apartment_rooms() -> None:
    scene = generate_scene("an apartment with a living room, a kitchen and a bedroom", seed=4)
    assert len(scene.rooms) == 3
    grid = scene.free_space(resolution_m=0.1, clearance_m=0.25)
    rng = np.random.default_rng(0)
    first, last = scene.rooms[0], scene.rooms[-1]

    def free_point_in(room):
        while True:
            x, y = grid.sample_free(rng)
            if room.contains(x, y, margin=0.3):
                return x, y

    a, b = free_point_in(first), free_point_in(last)
    path = grid.shortest_path(a, b)
    assert np.allclose(path[0], a) and np.allclose(path[-1], b)
    assert all(grid.is_free(x, y) for x, y in path[1:-1])
    steps = np.linalg.norm(np.diff(path, axis=0), axis=1)
    assert steps[1:-1].max() <= 0.1 * np.sqrt(2) + 1e-9
    length = steps.sum()
    assert np.linalg.norm(np.subtract(b, a)) <= length < 3 * np.linalg.norm(np.subtract(b, a)) + 5
    # The walk passes through both interior doors.
    for door in scene.doorways[1:]:
        assert min(np.hypot(*(path - np.asarray(door.center)).T)) < door.width / 2
    assert (
        grid.reachable(a, b)
        and scene.entrance_point()
        and grid.reachable(scene.entrance_point(), b)
    )
    with pytest.raises(ValueError, match="no walkable floor"):
        grid.shortest_path(a, (-10.0, -10.0))
