"""Motion library: parsing, timelines, gait physics, sitting, falling, smooth transitions, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from sim.humans import ACTIVITIES, Human, Segment, Subject, Timeline, parse_activity
from sim.humans.body import load_body
from sim.humans.motion import Motion

SEAT = {"position": [3.0, 1.6], "heading": -np.pi / 2, "height": 0.45}


def _timeline(*items: tuple[str, float, dict], start=(0.0, 0.0), heading=0.0) -> Timeline:
    segs, t = [], 0.0
    for activity, duration, params in items:
        segs.append(Segment(activity, t, t + duration, params))
        t += duration
    return Timeline(segs, start_position=start, start_heading=heading)


@pytest.mark.parametrize(
    ("text", "activity"),
    [
        ("walking", "walk"),
        ("walks to the sofa", "walk"),
        ("doing squats", "squats"),
        ("jumping jacks", "jumping_jacks"),
        ("swipe left", "swipe_left"),
        ("swiping to the right", "swipe_right"),
        ("sits down on the chair", "sit_down"),
        ("falls backwards", "fall"),
        ("is sleeping", "sleep"),
        ("types on a keyboard", "typing"),
        ("waves hello", "wave"),
        ("gets up", "get_up"),
        ("shadow boxing", "boxing"),
        ("draws a circle", "circle"),
    ],
)
def test_parse_activity(text: str, activity: str) -> None:
    assert parse_activity(text) == activity


def test_unknown_activity_lists_the_known_ones() -> None:
    with pytest.raises(ValueError) as err:
        parse_activity("juggling flaming torches")
    assert "juggling" in str(err.value) and all(a in str(err.value) for a in ACTIVITIES)
    with pytest.raises(ValueError, match="known activities"):
        Segment("moonwalk", 0.0, 1.0)


def test_timeline_rejects_impossible_sequences() -> None:
    with pytest.raises(ValueError, match="needs a sitting person but the person is standing"):
        _timeline(("typing", 3.0, {}))
    with pytest.raises(ValueError, match="contiguous"):
        Timeline([Segment("stand", 0, 1), Segment("wave", 2, 3)])
    body = load_body(None, Subject())
    with pytest.raises(ValueError, match="needs a seat"):
        Motion(body, _timeline(("sit_down", 2.0, {})), np.random.default_rng(0))
    tl = Timeline.from_text(
        "a person walks in, sits on the sofa, then falls",
        np.random.default_rng(0),
        waypoints=[[3, 0], [3, 2]],
        seat=SEAT,
    )
    assert [s.activity for s in tl.segments] == [
        "walk",
        "sit_down",
        "sit",
        "stand_up",
        "fall",
        "sleep",
    ]
    assert tl.activity_at(tl.segments[2].start_s + 0.1) == "sit"


def test_walking_speed_heading_and_alternating_feet() -> None:
    speed = 1.2
    tl = _timeline(("walk", 9.0, {"waypoints": [[6.0, 0.0], [6.0, 3.0]], "speed": speed}))
    person = Human(Subject(1.75), tl, seed=2)
    # Straight leg from x=0 to x=6 (ramp 0.6 s): pelvis speed along the path.
    for t in (1.5, 2.5, 3.5):
        a, b = person.pose_at(t - 0.5).position, person.pose_at(t + 0.5).position
        assert (b[0] - a[0]) / 1.0 == pytest.approx(speed, rel=0.05)
        assert person.ground_truth(t)["heading"] == pytest.approx(0.0, abs=0.1)
    gt = person.ground_truth(7.0)
    assert gt["heading"] == pytest.approx(np.pi / 2, abs=0.1) and gt["speed"] == pytest.approx(
        speed, rel=0.08
    )
    assert person.pose_at(9.0).position[:2] == pytest.approx([6.0, 3.0], abs=0.03)
    # Feet alternate: the left-minus-right ankle offset along x changes sign twice per gait cycle.
    ts = np.arange(1.0, 4.5, 0.02)
    lead = np.array([(j := person.joints_at(t))[7, 0] - j[8, 0] for t in ts])
    crossings = np.count_nonzero(np.diff(np.sign(lead)) != 0)
    steps_per_s = crossings / (ts[-1] - ts[0])
    assert 1.4 < steps_per_s < 2.6  # cadence ~ 90-150 steps/min at 1.2 m/s
    assert np.ptp(lead) > 0.4  # real strides (m)
    # The feet touch the floor; nothing sinks into it.
    lows = [person.mesh_at(t).vertices[:, 2].min() for t in ts[::10]]
    assert min(lows) > -0.02 and max(lows) < 0.03


def test_sit_down_ends_on_the_seat() -> None:
    tl = _timeline(
        ("walk", 3.5, {"waypoints": [[3.0, 0.0], [3.0, 1.2]], "speed": 1.1}),
        ("sit_down", 2.5, SEAT),
        ("sit", 3.0, {}),
    )
    person = Human(Subject(1.70), tl, seed=1)
    pose = person.pose_at(8.0)
    assert pose.position[:2] == pytest.approx(SEAT["position"], abs=0.02)
    assert pose.heading == pytest.approx(SEAT["heading"], abs=0.02)
    mesh = person.mesh_at(8.0)
    seat_parts = np.isin(mesh.part_ids, [0, 1, 2])  # buttocks and thighs rest on the seat
    assert mesh.vertices[seat_parts, 2].min() == pytest.approx(SEAT["height"], abs=0.015)
    assert SEAT["height"] + 0.05 < pose.position[2] < SEAT["height"] + 0.25
    assert person.ground_truth(8.0)["activity"] == "sit"


@pytest.mark.parametrize("direction", ["forward", "backward", "left", "right"])
def test_fall_drops_pelvis_and_head_to_the_floor(direction: str) -> None:
    tl = _timeline(("stand", 1.0, {}), ("fall", 3.0, {"direction": direction, "drop_s": 1.0}))
    person = Human(Subject(1.72), tl, seed=4)
    standing = person.ground_truth(0.9)
    assert standing["pelvis_height"] > 0.8 and standing["head_height"] > 1.4
    ts = np.arange(1.0, 4.0, 0.05)
    series = person.ground_truth_series(ts)
    down = ts[(series["pelvis_height"] < 0.4) & (series["head_height"] < 0.4)]
    assert down.size and 0.8 <= down[0] - 1.0 <= 1.5  # fast drop, ~1 s
    assert series["pelvis_height"][-1] < 0.3
    assert min(person.mesh_at(t).vertices[:, 2].min() for t in ts[::6]) > -0.02


def test_transitions_never_teleport() -> None:
    tl = _timeline(
        ("walk", 3.5, {"waypoints": [[3.0, 0.0], [3.0, 1.2]], "speed": 1.1}),
        ("sit_down", 2.5, SEAT),
        ("typing", 2.0, {}),
        ("stand_up", 2.0, {}),
        ("wave", 1.5, {}),
        ("squats", 3.0, {}),
        ("jumping_jacks", 2.0, {}),
        ("fall", 2.5, {}),
        ("get_up", 4.0, {}),
        ("boxing", 2.0, {}),
    )
    person = Human(Subject(1.68), tl, seed=9)
    ts = np.arange(0.0, tl.end_s, 0.01)
    joints = np.array([person.joints_at(t) for t in ts])
    step = np.linalg.norm(np.diff(joints, axis=0), axis=2).max()
    assert step < 0.12  # < 12 m/s for any joint (punches and waves included), never a jump


def test_same_seed_same_motion_and_all_activities_run() -> None:
    def make(seed: int) -> Human:
        return Human(Subject(1.7), _timeline(("jump", 2.0, {}), ("circle", 2.0, {})), seed=seed)

    a, b, c = make(5), make(5), make(6)
    for t in (0.3, 1.1, 2.7):
        assert np.array_equal(a.mesh_at(t).vertices, b.mesh_at(t).vertices)
    assert a.motion.params == b.motion.params and a.motion.params != c.motion.params


@pytest.mark.parametrize("seed", [0, 3, 7])
def test_jump_is_in_place_hopping(seed: int) -> None:
    """Jumping in place (Farley et al. 1991: two-legged hopping about 2.2 Hz, contact about half the
    cycle): the feet stay on one spot, the pelvis bounces at the jump rate by a few centimetres, the
    vertical speed never jumps, and no hand swings faster than a hop can carry it."""
    person = Human(Subject(1.72), _timeline(("jump", 4.0, {})), seed=seed)
    params = person.motion.params[0]
    dt = 0.004
    ts = np.arange(0.5, 3.5, dt)
    joints = np.array([person.joints_at(t) for t in ts])  # [T, 24, 3]
    pelvis, feet = joints[:, 0], 0.5 * (joints[:, 7] + joints[:, 8])
    # In place: no travel of the feet, the pelvis sways by a few centimetres at most.
    assert np.linalg.norm(feet[:, :2] - feet[0, :2], axis=1).max() < 0.02
    assert np.linalg.norm(pelvis[:, :2] - pelvis[:, :2].mean(0), axis=1).max() < 0.08
    # Bounces at the jump rate, 3-25 cm peak to peak (crouch plus flight).
    z = pelvis[:, 2]
    spec = np.abs(np.fft.rfft((z - z.mean()) * np.hanning(z.size), 8 * z.size))
    hz = np.fft.rfftfreq(8 * z.size, dt)[np.argmax(spec[1:]) + 1]
    assert hz == pytest.approx(params["rate_hz"], rel=0.05)
    assert 0.03 < np.ptp(z) < 0.25
    # Vertical speed continuous: the pelvis's acceleration stays within a few g (hopping's ground
    # reaction force peaks at a few body weights).
    acc = np.diff(z, 2) / dt**2
    assert np.abs(acc).max() < 5 * 9.81
    # Hands: body speed plus a small arm swing (the old broad jump threw them at 11-13 m/s).
    wrist_speed = np.linalg.norm(np.diff(joints[:, [20, 21]], axis=0), axis=2) / dt
    assert wrist_speed.max() < 5.0


def test_boxing_fist_speeds_within_published_punch_speeds() -> None:
    """Straight punches: peak fist speeds of a few m/s up to the elite range (Walilko, Viano & Bir
    2005, Br. J. Sports Med. 39:710: Olympic boxers' straight punches 9.1 +- 2.1 m/s); the feet
    stay planted."""
    person = Human(Subject(1.75), _timeline(("boxing", 4.0, {})), seed=1)
    dt = 0.004
    ts = np.arange(0.5, 3.5, dt)
    joints = np.array([person.joints_at(t) for t in ts])
    speed = np.linalg.norm(np.diff(joints[:, [20, 21]], axis=0), axis=2) / dt  # [T-1, 2]
    peaks = speed.max(0)
    assert np.all(peaks > 2.5) and np.all(peaks < 9.1 + 2.1)
    feet = 0.5 * (joints[:, 7] + joints[:, 8])
    assert np.linalg.norm(feet[:, :2] - feet[0, :2], axis=1).max() < 0.02
