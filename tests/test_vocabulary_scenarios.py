"""Every activity of the motion vocabulary can be asked for from a prompt and from a scene program:
the scene judge knows its posture, a scenario places the person, and the truth names the activity.
Scenario sampling only (no rendering), seeded."""

from __future__ import annotations

import math

import pytest

from sim.dataset.people import IN_PLACE, NEAR_RADAR_REGION, REGION_ACTIVITIES
from sim.dataset.program import PersonSpec, SceneProgram
from sim.dataset.scenario import sample_scenario
from sim.humans.motion.vocabulary import ACTIVITIES, PLACE, VOCABULARY, parse_activity
from sim.scene.judge import ACTIVITY_POSTURE, posture_of

GESTURES = sorted(a for a, p in PLACE.items() if p == "near_radar")
BED = sorted(a for a, p in PLACE.items() if p == "bed")


def _phrase(activity: str) -> str:
    phrase = activity.replace("_", " ")
    assert parse_activity(phrase) == activity, f"{phrase!r} names another activity"
    return phrase


def _horizontal_distance_to_radar(sc: object, xy: tuple[float, float]) -> float:
    scene = sc.scene()  # type: ignore[attr-defined]
    return math.dist(xy, (float(scene.radar.position[0]), float(scene.radar.position[1])))


def test_vocabulary_places_are_known() -> None:
    assert set(PLACE.values()) <= {"bed", "near_radar"}
    assert {"swipe_up", "swipe_down", "circle_clockwise", "push", "pull"} <= set(GESTURES)
    assert BED == ["get_into_bed", "get_out_of_bed"]
    assert "wave" not in GESTURES  # waving is done anywhere in the room


def test_every_activity_has_a_posture_derived_from_its_spec() -> None:
    assert set(ACTIVITIES) <= set(ACTIVITY_POSTURE)
    assert posture_of("vacuuming") == "stand"
    assert posture_of("sit_to_stand") == "sit"
    assert posture_of("reading") == "sit"
    assert posture_of("get_into_bed") == posture_of("get_out_of_bed") == "sleep"
    # the hand-written words still win over the derivation
    assert posture_of("walk") == "walk" and posture_of("fall") == "lie"


def test_standing_activities_can_be_placed_in_a_region() -> None:
    for name in ("vacuuming", "side_lunge_left", "left_leg_extension", "swipe_up", "stretching"):
        assert name in IN_PLACE and name in REGION_ACTIVITIES
    for name in ("get_into_bed", "get_out_of_bed", "sit_to_stand", "reading", "lie_down"):
        assert name not in REGION_ACTIVITIES


@pytest.mark.parametrize("activity", ACTIVITIES)
def test_a_prompt_with_the_activity_samples_a_scenario(activity: str) -> None:
    sc = sample_scenario(5, 1, prompt=f"a person {_phrase(activity)}")
    (person,) = sc.people
    assert person.activity == activity
    assert activity in [s["activity"] for s in person.segments]
    if activity in GESTURES:
        (d0, d1), _ = NEAR_RADAR_REGION
        d = _horizontal_distance_to_radar(sc, person.start_position)
        assert d0 - 1e-6 <= d <= d1 + 1e-6, f"{activity} at {d:.2f} m from the radar"
    if activity in BED:
        assert person.support == "bed"
    if VOCABULARY[activity].requires == "sitting":
        assert person.support is not None  # on a seat


@pytest.mark.parametrize("activity", ACTIVITIES)
def test_a_scene_program_with_the_activity_samples_a_scenario(activity: str) -> None:
    program = SceneProgram(people=[PersonSpec(activities=[activity])])
    sc = sample_scenario(2, 0, program=program)
    (person,) = sc.people
    assert person.activity == activity
    if activity in GESTURES:
        (d0, d1), _ = NEAR_RADAR_REGION
        assert d0 - 1e-6 <= _horizontal_distance_to_radar(sc, person.start_position) <= d1 + 1e-6


def test_getting_into_bed_ends_lying_on_the_bed() -> None:
    sc = sample_scenario(0, 0, prompt="a person gets into bed")
    human = sc.people[0].build()
    segs = sc.people[0].segments
    end = segs[-1]["end_s"]
    assert [s["activity"] for s in segs][-2:] == ["get_into_bed", "sleep"]
    bed_height = next(s for s in segs if s["activity"] == "get_into_bed")["params"]["height"]
    pelvis = human.joints_at(end - 0.1)[0]  # world [m], z up
    assert abs(pelvis[2] - bed_height) < 0.35, pelvis
