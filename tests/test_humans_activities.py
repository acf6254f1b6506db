"""Activity families added for public radar datasets' labels: limb exercises by side (arm raises and
extensions, leg extensions, front and side lunges, sit-to-stand, stretching), directional hand
gestures (standing or seated) and household activities (cooking, vacuuming, getting into and out of
bed, reading).

Every activity of the vocabulary is checked against the shared joint limits and rendered through the
scatterer backend for two frames; each new activity has a pose-level test in the person's body frame
(heading 0: forward = +x, left = +y, up = +z).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from test_sim_human_physics import TRACE, vitals_rc

from sim.captions import ACTIVITY_PHRASES, GRANULARITIES, make_captions
from sim.geometry import RadarPose
from sim.humans import ACTIVITIES, Human, Segment, Subject, Timeline, parse_activity
from sim.humans.motion import REQUIRES
from sim.humans.motion.dofs import DEG, STANDING, D
from sim.humans.motion.limits import limit_violations
from sim.radar.virtual_radar import VirtualRadar

SEAT = {"position": [0.5, 0.0], "heading": 0.0, "height": 0.45}
BED = {"position": [1.2, 0.0], "head_direction": np.pi / 2, "height": 0.5}
LEAD_S = 2.5  # the lead-in (sit_down / get_into_bed) before a seated / lying activity
NEW = (
    "swipe_up",
    "swipe_down",
    "circle_clockwise",
    "circle_counterclockwise",
    "both_arm_raise",
    "left_arm_raise",
    "right_arm_raise",
    "both_arm_extension",
    "left_arm_extension",
    "right_arm_extension",
    "left_leg_extension",
    "right_leg_extension",
    "front_lunge_left",
    "front_lunge_right",
    "side_lunge_left",
    "side_lunge_right",
    "sit_to_stand",
    "stretching",
    "cooking",
    "vacuuming",
    "get_into_bed",
    "get_out_of_bed",
    "reading",
)
L_WRIST, R_WRIST, L_SH, R_SH, L_ANKLE, R_ANKLE, HEAD = 20, 21, 16, 17, 7, 8, 15


def perform(
    activity: str,
    params: dict | None = None,
    duration: float = 6.0,
    *,
    seated: bool = False,
    seed: int = 0,
) -> tuple[Human, float]:
    """A person doing ``activity`` (after the lead-in its posture needs) and when it starts [s]."""
    need = REQUIRES[activity]
    segs: list[Segment] = []
    t = 0.0
    if need == "sitting" or (need == "any" and seated):
        segs.append(Segment("sit_down", 0.0, LEAD_S, SEAT))
        t = LEAD_S
    elif need == "lying":
        segs.append(Segment("get_into_bed", 0.0, 6.0, BED))
        t = 6.0
    segs.append(Segment(activity, t, t + duration, params or {}))
    return Human(Subject(1.72), Timeline(segs), seed=seed), t


def track(person: Human, t0: float, t1: float, dt: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    """Times ``[T]`` and joints ``[T, 24, 3]`` from ``t0`` to ``t1`` [s]."""
    ts = np.arange(t0, t1, dt)
    return ts, np.array([person.joints_at(t) for t in ts])


def dominant_hz(x: np.ndarray, dt: float) -> float:
    spec = np.abs(np.fft.rfft((x - x.mean()) * np.hanning(len(x)), 8 * len(x)))
    return float(np.fft.rfftfreq(8 * len(x), dt)[np.argmax(spec[1:]) + 1])


# ------------------------------------------------------------------------------ vocabulary, captions
@pytest.mark.parametrize(
    ("text", "activity"),
    [
        ("raises the left arm", "left_arm_raise"),
        ("right arm raise", "right_arm_raise"),
        ("raises both arms", "both_arm_raise"),
        ("raises a hand", "right_arm_raise"),
        ("left upper limb extension", "left_arm_extension"),
        ("extends both arms", "both_arm_extension"),
        ("extends the left leg", "left_leg_extension"),
        ("right lower limb extension", "right_leg_extension"),
        ("lunge toward left side", "side_lunge_left"),
        ("side lunges to the right", "side_lunge_right"),
        ("lunge toward left-front", "front_lunge_left"),
        ("doing lunges", "front_lunge_right"),
        ("sit-to-stand", "sit_to_stand"),
        ("stretching", "stretching"),
        ("swipe up", "swipe_up"),
        ("swiping downwards", "swipe_down"),
        ("draws a circle clockwise", "circle_clockwise"),
        ("circles counter-clockwise", "circle_counterclockwise"),
        ("draws a circle", "circle"),
        ("cooking in the kitchen", "cooking"),
        ("vacuuming the floor", "vacuuming"),
        ("gets into bed", "get_into_bed"),
        ("gets out of bed", "get_out_of_bed"),
        ("reads a book", "reading"),
        ("goes to bed", "lie_down"),
        ("gets up", "get_up"),
        ("swipe left", "swipe_left"),
    ],
)
def test_parse_new_activities(text: str, activity: str) -> None:
    assert parse_activity(text) == activity


@pytest.mark.parametrize("activity", NEW)
def test_captions_at_every_granularity(activity: str) -> None:
    person = {
        "subject": {"age_group": "adult", "sex": "female"},
        "activity": activity,
        "activities": [activity],
        "position_world": [1.0, 2.0, 0.9],
        "position_radar": [0.2, 2.0, -0.6],
        "radial_velocity_mps": 0.0,
        "speed_mps": 0.05,
        "lateral_velocity_mps": 0.0,
        "support": "sofa" if REQUIRES[activity] == "sitting" else None,
        "micro_doppler": {"limb_speed_mps": 0.8, "dominant_hz": 0.9},
        "breathing_per_min": 15.0,
        "heart_per_min": 70.0,
    }
    room = {"room_type": "living_room", "objects": [{"label": "sofa", "position": [1.0, 2.1]}]}
    for seed in range(4):
        caps = make_captions({"room": room, "people": [person]}, seed=seed)
        assert {c["granularity"] for c in caps} == set(GRANULARITIES)
        text = {c["granularity"]: c["text"].lower() for c in caps}
        assert any(p in text["activity"] for p in ACTIVITY_PHRASES[activity])
        assert any(p in text["summary"] for p in ACTIVITY_PHRASES[activity]) or (
            "sitting" in text["summary"]
        )


# ------------------------------------------------------------------------------ joint limits
def test_limit_check_flags_implausible_poses() -> None:
    assert limit_violations(STANDING) == []
    bad = STANDING.copy()
    bad[D["knee_l"]] = 170 * DEG
    bad[D["elbow_r"]] = -30 * DEG
    found = limit_violations(bad)
    assert len(found) == 2 and found[0].startswith("knee_l = 170.0 deg")


@pytest.mark.parametrize("activity", ACTIVITIES)
def test_every_activity_within_joint_limits(activity: str) -> None:
    params = {"walk": {"waypoints": [[2.0, 0.0]], "speed": 1.0}, "sit_down": SEAT}
    for seed in (0, 1):
        if activity in ("sit_down", "lie_down", "fall"):
            tl = Timeline([Segment(activity, 0.0, 5.0, params.get(activity, {}))])
            person, t0 = Human(Subject(1.7), tl, seed=seed), 0.0
        else:
            person, t0 = perform(activity, params.get(activity), 8.0, seed=seed)
        motion = person.motion
        for t in np.arange(t0, person.timeline.end_s, 0.05):
            assert limit_violations(motion.frame_at(t).dofs) == [], (activity, seed, t)


# ------------------------------------------------------------------------------ limb exercises
@pytest.mark.parametrize("side", ["left", "right", "both"])
@pytest.mark.parametrize("seated", [False, True], ids=["standing", "seated"])
def test_arm_raise_lifts_only_that_arm(side: str, seated: bool) -> None:
    person, t0 = perform(f"{side}_arm_raise", {"period_s": 3.0}, 3.0, seated=seated)
    _, j = track(person, t0 + 0.5, t0 + 3.0)
    above_l = (j[:, L_WRIST, 2] - j[:, L_SH, 2]).max()
    above_r = (j[:, R_WRIST, 2] - j[:, R_SH, 2]).max()
    raised = {"left": (above_l,), "right": (above_r,), "both": (above_l, above_r)}[side]
    still = {"left": (above_r,), "right": (above_l,), "both": ()}[side]
    assert all(a > 0.3 for a in raised)  # the wrist well above the shoulder
    assert all(a < -0.2 for a in still)  # the other stays down


@pytest.mark.parametrize("side", ["left", "right", "both"])
def test_arm_extension_reaches_out_sideways(side: str) -> None:
    person, t0 = perform(f"{side}_arm_extension", {"period_s": 3.0}, 4.0)
    _, j = track(person, t0, t0 + 4.0)
    out_l = j[:, L_WRIST, 1] - j[:, L_SH, 1]  # the left wrist to the left of its shoulder [m]
    out_r = j[:, R_SH, 1] - j[:, R_WRIST, 1]
    for sd, out in (("left", out_l), ("right", out_r)):
        if side in (sd, "both"):
            assert out.max() > 0.45 and np.ptp(out[25:]) > 0.3  # bent at the shoulder <-> straight
        else:
            assert out.max() < 0.2  # the other arm stays by the side


@pytest.mark.parametrize("side", ["left", "right"])
def test_leg_extension_standing_and_seated(side: str) -> None:
    ank, other = (L_ANKLE, R_ANKLE) if side == "left" else (R_ANKLE, L_ANKLE)
    person, t0 = perform(f"{side}_leg_extension", {"period_s": 3.0, "amplitude": 1.0}, 3.0)
    _, j = track(person, t0, t0 + 3.0)
    assert j[:, ank, 2].max() - j[0, ank, 2] > 0.25 and j[:, ank, 0].max() - j[0, ank, 0] > 0.3
    assert j[:, other, 2].max() < 0.12  # the standing foot stays on the floor
    person, t0 = perform(f"{side}_leg_extension", {"period_s": 3.0}, 3.0, seated=True)
    _, j = track(person, t0, t0 + 3.0)
    assert j[:, ank, 2].max() - j[:, ank, 2].min() > 0.25  # the shank swings up to horizontal
    assert np.ptp(j[:, other, 2]) < 0.03


@pytest.mark.parametrize("side", ["left", "right"])
def test_front_lunge_bends_the_front_knee_and_lowers_the_pelvis(side: str) -> None:
    person, t0 = perform(f"front_lunge_{side}", {"period_s": 4.0, "depth": 1.0}, 4.0)
    ts, j = track(person, t0, t0 + 4.0)
    sd, od = ("l", "r") if side == "left" else ("r", "l")
    front, rear = (L_ANKLE, R_ANKLE) if side == "left" else (R_ANKLE, L_ANKLE)
    k = int(np.argmin(j[:, 0, 2]))  # the bottom of the lunge
    bottom = person.motion.frame_at(ts[k]).dofs
    assert j[0, 0, 2] - j[k, 0, 2] > 0.2  # the pelvis lowers
    assert bottom[D[f"knee_{sd}"]] > 70 * DEG and bottom[D[f"hip_flex_{sd}"]] > 60 * DEG
    assert bottom[D[f"hip_flex_{od}"]] < 0  # the rear hip extends
    assert j[k, front, 0] - j[k, rear, 0] > 0.6  # a real step forward
    assert j[k, front, 2] < 0.15  # the front foot on the floor
    rear_foot = person.mesh_at(ts[k])
    feet = np.isin(rear_foot.part_ids, [7 if od == "l" else 8, 10 if od == "l" else 11])
    assert rear_foot.vertices[feet, 2].min() < 0.05  # the rear toes on the floor too
    assert np.ptp(j[:, rear, :2], axis=0).max() < 0.12  # the rear foot stays put


@pytest.mark.parametrize("side", ["left", "right"])
def test_side_lunge_shifts_towards_that_side(side: str) -> None:
    person, t0 = perform(f"side_lunge_{side}", {"period_s": 4.0, "depth": 1.0}, 4.0)
    ts, j = track(person, t0, t0 + 4.0)
    sd, od = ("l", "r") if side == "left" else ("r", "l")
    sgn = 1.0 if side == "left" else -1.0
    k = int(np.argmin(j[:, 0, 2]))
    bottom = person.motion.frame_at(ts[k]).dofs
    assert j[0, 0, 2] - j[k, 0, 2] > 0.12
    assert sgn * (j[k, 0, 1] - j[0, 0, 1]) > 0.15  # the pelvis moves to that side
    assert bottom[D[f"knee_{sd}"]] > 60 * DEG and bottom[D[f"knee_{od}"]] < 15 * DEG
    assert abs(j[k, L_ANKLE, 1] - j[k, R_ANKLE, 1]) > 0.6  # a wide stance
    assert max(j[k, L_ANKLE, 2], j[k, R_ANKLE, 2]) < 0.2  # both feet down


def test_sit_to_stand_repeats_rising_and_sitting() -> None:
    person, t0 = perform("sit_to_stand", {"period_s": 3.0}, 9.0)
    _, j = track(person, t0, t0 + 9.0, 0.05)
    z = j[:, 0, 2]
    assert np.ptp(z) > 0.3 and z[0] < 0.75  # seated pelvis -> standing pelvis
    mid = 0.5 * (z.min() + z.max())
    rises = np.count_nonzero((z[1:] > mid) & (z[:-1] <= mid))
    assert rises == 3
    assert j[:, HEAD, 2].max() > 1.5  # really standing up


def test_stretching_reaches_up_and_bends_both_ways() -> None:
    person, t0 = perform("stretching", {"period_s": 10.0}, 10.0)
    _, j = track(person, t0, t0 + 10.0, 0.05)
    assert (np.minimum(j[:, L_WRIST, 2], j[:, R_WRIST, 2]) - j[:, HEAD, 2]).max() > 0.25
    lean = j[:, HEAD, 1] - j[:, 0, 1]  # the head to the left of the pelvis [m]
    assert lean.max() > 0.15 and lean.min() < -0.15
    assert (j[:, HEAD, 2]).min() < 1.3  # the forward fold


# ------------------------------------------------------------------------------ hand gestures
def _stroke(activity: str, hand: str, seated: bool) -> np.ndarray:
    """Wrist path ``[T, 3]`` of the first gesture's stroke (gesture_s = 1: t = 0.25-0.75 s)."""
    params = {"hand": hand, "gesture_s": 1.0, "pause_s": 0.6, "amplitude": 1.0}
    person, t0 = perform(activity, params, 2.0, seated=seated)
    _, j = track(person, t0 + 0.25, t0 + 0.76, 0.01)
    return j[:, L_WRIST if hand == "left" else R_WRIST]


@pytest.mark.parametrize("seated", [False, True], ids=["standing", "seated"])
@pytest.mark.parametrize("hand", ["left", "right"])
@pytest.mark.parametrize(
    ("activity", "axis", "sign"),
    [
        ("swipe_left", 1, 1.0),
        ("swipe_right", 1, -1.0),
        ("swipe_up", 2, 1.0),
        ("swipe_down", 2, -1.0),
        ("push", 0, 1.0),
        ("pull", 0, -1.0),
    ],
)
def test_swipes_push_pull_move_the_hand_that_way(
    activity: str, axis: int, sign: float, hand: str, seated: bool
) -> None:
    path = _stroke(activity, hand, seated)
    assert sign * (path[-1, axis] - path[0, axis]) >= 0.2  # >= 20 cm in the body frame


@pytest.mark.parametrize("seated", [False, True], ids=["standing", "seated"])
@pytest.mark.parametrize("hand", ["left", "right"])
@pytest.mark.parametrize("activity", ["circle_clockwise", "circle_counterclockwise"])
def test_circles_turn_the_named_way(activity: str, hand: str, seated: bool) -> None:
    path = _stroke(activity, hand, seated)
    x, y = -path[:, 1], path[:, 2]  # the person's view: right, up
    area = 0.5 * np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y)  # > 0: counter-clockwise
    assert abs(area) > 0.015  # a real circle (radius > ~7 cm)
    assert np.sign(area) == (-1 if activity == "circle_clockwise" else 1)


# ------------------------------------------------------------------------------ household
def test_cooking_stirs_at_the_counter() -> None:
    person, t0 = perform("cooking", {"hand": "right", "stir_hz": 1.2, "reach_every_s": 20}, 8.0)
    _, j = track(person, t0 + 0.5, t0 + 8.0, 0.05)
    w = j[:, R_WRIST]
    assert np.all(w[:, 0] - j[:, 0, 0] > 0.2)  # in front of the body
    assert np.all((w[:, 2] > 0.85) & (w[:, 2] < 1.3))  # at counter height
    assert dominant_hz(w[:, 1], 0.05) == pytest.approx(1.2, abs=0.1)
    assert np.ptp(w[:, 1]) > 0.04  # a visible stir


def test_cooking_reaches_to_the_side_now_and_then() -> None:
    person, t0 = perform("cooking", {"hand": "right", "reach_every_s": 4.0}, 8.0)
    _, j = track(person, t0, t0 + 8.0, 0.05)
    assert np.ptp(j[:, L_WRIST, 1]) > 0.15 or np.ptp(j[:, L_WRIST, 0]) > 0.15


@pytest.mark.parametrize("hand", ["left", "right"])
def test_vacuuming_reciprocates_at_a_plausible_rate(hand: str) -> None:
    rate = 0.7
    params = {"hand": hand, "stroke_hz": rate, "reach_m": 0.4}
    person, t0 = perform("vacuuming", params, 10.0)
    _, j = track(person, t0, t0 + 10.0, 0.05)
    w = j[:, L_WRIST if hand == "left" else R_WRIST]
    fwd = w[:, 0]  # along the start heading (+x)
    assert np.ptp(fwd) > 0.3  # the handle travels 30+ cm
    assert dominant_hz(fwd, 0.05) == pytest.approx(rate, abs=0.1)
    assert np.all(w[:, 2] < 1.2)  # holding the handle low, not waving


def test_get_into_bed_ends_lying_on_it() -> None:
    tl = Timeline([Segment("stand", 0.0, 1.0), Segment("get_into_bed", 1.0, 7.0, BED)])
    person = Human(Subject(1.72), tl, seed=3)
    j = person.joints_at(7.0)
    assert j[0, :2] == pytest.approx(BED["position"], abs=0.05)
    assert BED["height"] < j[0, 2] < BED["height"] + 0.3 and abs(j[HEAD, 2] - j[0, 2]) < 0.25
    head_dir = np.array([np.cos(BED["head_direction"]), np.sin(BED["head_direction"])])
    assert np.dot(j[HEAD, :2] - j[0, :2], head_dir) > 0.4  # the head towards head_direction
    edge = person.joints_at(1.0 + 0.35 * 6.0)  # sitting on the edge first, feet on the floor
    assert edge[HEAD, 2] > 1.0 and min(edge[L_ANKLE, 2], edge[R_ANKLE, 2]) < 0.25  # legs down
    mesh = person.mesh_at(7.0)
    assert mesh.vertices[:, 2].min() == pytest.approx(BED["height"], abs=0.03)


def test_get_out_of_bed_ends_standing_beside_it() -> None:
    person, t0 = perform("get_out_of_bed", {"exit": "left"}, 6.0)
    j0, j1 = person.joints_at(t0), person.joints_at(t0 + 6.0)
    assert j0[HEAD, 2] < 0.9 and j1[HEAD, 2] > 1.5
    assert np.linalg.norm(j1[0, :2] - np.asarray(BED["position"])) > 0.5
    assert person.ground_truth(t0 + 6.0)["activity"] == "get_out_of_bed"
    with pytest.raises(ValueError, match="lying on a bed"):
        Human(
            Subject(1.7),
            Timeline(
                [Segment("fall", 0.0, 3.0), Segment("get_out_of_bed", 3.0, 8.0)],
            ),
        )


def test_reading_holds_a_book_and_turns_pages() -> None:
    person, t0 = perform("reading", {"page_every_s": 3.0}, 8.0)
    _, j = track(person, t0 + 0.5, t0 + 8.0, 0.05)
    assert person.motion.frame_at(t0 + 1.0).dofs[D["head_flex"]] >= 20 * DEG  # looking down
    assert np.all(j[:, L_WRIST, 0] - j[:, 0, 0] > 0.15)  # the book in front of the body
    gap = np.linalg.norm(j[:, L_WRIST] - j[:, R_WRIST], axis=1)
    assert np.median(gap) < 0.5
    assert np.ptp(j[:, R_WRIST, 1]) > 0.08  # a page turn moves the right hand across


# ------------------------------------------------------------------------------ radar smoke test
@cache
def _smoke_rc():
    return vitals_rc()  # 1 TX x 4 RX x 4 loops x 128 samples


@pytest.mark.parametrize("activity", ACTIVITIES)
def test_every_activity_renders_through_the_scatter_backend(activity: str) -> None:
    params = {"walk": {"waypoints": [[2.0, 0.0]], "speed": 1.0}, "sit_down": SEAT}
    if activity in ("sit_down", "lie_down", "fall"):
        person = Human(
            Subject(1.7), Timeline([Segment(activity, 0.0, 3.0, params.get(activity, {}))])
        )
        t0 = 0.0
    else:
        person, t0 = perform(activity, params.get(activity), 3.0)
    radar = RadarPose((0.0, -2.5, 1.2), 0.0, 0.0)  # 2.5 m in front (looking along +y)
    rc = _smoke_rc()
    src = VirtualRadar(
        rc, lambda t: ([person.mesh_at(t0 + 1.0 + t)], radar), seed=0, trace_kwargs=TRACE
    )
    frames = np.stack([src.frame(i).data for i in (0, 1)])
    assert frames.shape[1:] == rc.chirp.frame_shape
    assert np.all(np.isfinite(frames)) and np.abs(frames).max() > 0
