"""Tracker: clustering, floor frame, N-of-M birth, death timeout, crossing people keep their ids, heights."""

from __future__ import annotations

import numpy as np
import pytest
from test_events_synthetic import FPS, MOUNTING, T0, Person, frame_points, scene_frames

from runtime.events.settings import Mounting, TrackingSettings
from runtime.frames import POINT_DTYPE
from runtime.tracking import Track, Tracker, cluster_points, from_floor, to_floor


def run(tracker: Tracker, frames) -> list[list[Track]]:
    return [tracker.update(f.points, f.timestamp) for f in frames]


def confirmed(tracks: list[Track]) -> list[Track]:
    return [t for t in tracks if t.state == "confirmed"]


def test_dbscan_finds_two_blobs_and_noise() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal([0, 0], 0.1, (20, 2))
    b = rng.normal([3, 0], 0.1, (15, 2))
    noise = np.array([[10.0, 10.0], [-10.0, 5.0]])
    labels = cluster_points(np.vstack([a, b, noise]), eps=0.4, min_points=3)
    assert len(set(labels[:20])) == 1 and len(set(labels[20:35])) == 1
    assert labels[0] != labels[20] and labels[0] >= 0 and labels[20] >= 0
    assert (labels[35:] == -1).all()
    assert (cluster_points(np.empty((0, 2)), 0.4, 3) == -1).all()


def test_floor_frame_tilt_and_height() -> None:
    m = Mounting(height_m=2.0, tilt_deg=30.0)
    p = np.zeros(1, dtype=POINT_DTYPE)
    p["y"] = 4.0  # on the boresight, 4 m away
    xyz = to_floor(p, m)[0]
    assert np.allclose(xyz, [0.0, 4.0 * np.cos(np.pi / 6), 2.0 - 4.0 * np.sin(np.pi / 6)])
    rng = np.random.default_rng(1)
    floor = rng.uniform(-3, 3, (50, 3))
    radar = from_floor(floor, m)
    pts = np.zeros(50, dtype=POINT_DTYPE)
    pts["x"], pts["y"], pts["z"] = radar.T
    assert np.allclose(to_floor(pts, m), floor, atol=1e-5)


def test_walking_person_position_velocity_height() -> None:
    p = Person(path=[(0, -2.0, 3.0), (8, 2.0, 3.0)])  # 0.5 m/s along +x
    tracker = Tracker(TrackingSettings(), MOUNTING)
    history = run(tracker, scene_frames([p], 6.0, seed=2))
    tracks = confirmed(history[-1])
    assert len(tracks) == 1
    tr = tracks[0]
    truth = p.position(6.0)
    assert np.hypot(tr.position[0] - truth[0], tr.position[1] - truth[1]) < 0.2
    assert abs(tr.velocity[0] - 0.5) < 0.2 and abs(tr.velocity[1]) < 0.2
    assert 1.35 < tr.height_m < 1.75
    doc = tr.to_dict()
    assert doc["state"] == "confirmed" and doc["num_points"] > 0


def test_birth_needs_n_of_m_hits() -> None:
    s = TrackingSettings(confirm_hits=3, confirm_window=5)
    p = Person(path=[(0, 0.0, 2.0), (10, 0.0, 7.0)])
    rng = np.random.default_rng(3)

    def feed(pattern: list[bool]) -> list[Track]:
        tracker = Tracker(s, MOUNTING)
        out: list[Track] = []
        for i, seen in enumerate(pattern):
            t = i / FPS
            pts = frame_points([p], t, rng, clutter=0) if seen else np.zeros(0, POINT_DTYPE)
            out = tracker.update(pts, T0 + t)
        return out

    # 2 hits in the first 5 frames: the tentative track is dropped, and the next hit starts a new one
    two = feed([True, False, True, False, False])
    assert not confirmed(two)
    # 3 hits in the first 5 frames: confirmed, even with misses in between
    three = feed([True, False, True, False, True])
    assert len(confirmed(three)) == 1
    # a track is never confirmed before its Nth hit
    assert not confirmed(feed([True, True]))


def test_static_cluster_does_not_start_a_track_but_keeps_one() -> None:
    s = TrackingSettings()
    sofa = Person(path=[(0, 1.0, 3.0)], heights=[(0, 0.8)])  # never moves: static points only
    tracker = Tracker(s, MOUNTING)
    assert not confirmed(run(tracker, scene_frames([sofa], 3.0, seed=4))[-1])
    assert not tracker.tracks()
    # someone walks in and stops: the track lives on on static points
    walker = Person(path=[(0, -2.0, 3.0), (3, 0.0, 3.0)])
    tracker = Tracker(s, MOUNTING)
    history = run(tracker, scene_frames([walker], 30.0, seed=5))
    assert len(confirmed(history[-1])) == 1
    assert confirmed(history[-1])[0].speed_mps < 0.1


def test_track_dies_after_timeout() -> None:
    s = TrackingSettings(max_unseen_s=1.5, max_unseen_static_s=6.0)
    # a walker who vanishes in mid-stride (left through a door): dies after max_unseen_s
    walker = Person(path=[(0, -2.0, 3.0), (10, 3.0, 3.0)], present=(0.0, 4.0))
    tracker = Tracker(s, MOUNTING)
    history = run(tracker, scene_frames([walker], 8.0, seed=6))
    alive = [bool(confirmed(h)) for h in history]
    last_seen = int(4.0 * FPS) - 1  # frame index of the last points
    gone = alive.index(False, last_seen)
    assert (gone - last_seen) / FPS == np.float64(1.6)  # first frame with > 1.5 s unseen
    # a still person whose points stop (clutter removal) lives for max_unseen_static_s
    still = Person(path=[(0, -2.0, 3.0), (2, 0.0, 3.0)], present=(0.0, 6.0))
    tracker = Tracker(s, MOUNTING)
    history = run(tracker, scene_frames([still], 16.0, seed=7))
    alive = [bool(confirmed(h)) for h in history]
    last_seen = int(6.0 * FPS) - 1
    gone = alive.index(False, last_seen)
    assert abs((gone - last_seen) / FPS - 6.1) < 1e-6


CROSSINGS = {
    # an X at right angles, meeting at (0, 3.5) at t = 4 s
    "x": ([(0, -2.0, 1.5), (8, 2.0, 5.5)], [(0, -2.0, 5.5), (8, 2.0, 1.5)]),
    # walking toward each other and passing 0.5 m apart at t = 4 s
    "head-on": ([(0, -3.0, 3.2), (8, 3.0, 3.2)], [(0, 3.0, 3.7), (8, -3.0, 3.7)]),
}


@pytest.mark.parametrize("case", sorted(CROSSINGS))
@pytest.mark.parametrize("seed", range(3))
def test_crossing_people_keep_their_ids(case: str, seed: int) -> None:
    a, b = (Person(path=p) for p in CROSSINGS[case])
    tracker = Tracker(TrackingSettings(), MOUNTING)
    frames = scene_frames([a, b], 8.0, seed=10 + seed)
    history = run(tracker, frames)
    ids_a, ids_b = set(), set()
    for f, tracks in zip(frames, history, strict=True):
        t = f.timestamp - T0
        if t < 1.0 or 3.3 < t < 4.7:  # birth, and the moment they overlap
            continue
        for tr in confirmed(tracks):
            da = np.hypot(*(np.array(tr.position[:2]) - a.position(t)))
            db = np.hypot(*(np.array(tr.position[:2]) - b.position(t)))
            assert min(da, db) < 0.4, (t, tr)
            (ids_a if da < db else ids_b).add(tr.id)
    assert len(ids_a) == 1 and len(ids_b) == 1 and ids_a != ids_b, (ids_a, ids_b)
    assert len(confirmed(history[-1])) == 2


def test_heights_standing_sitting_lying() -> None:
    s = TrackingSettings()
    for h_top, lo, hi in ((1.7, 1.35, 1.75), (1.1, 0.8, 1.15), (0.35, 0.15, 0.45)):
        p = Person(path=[(0, -2.0, 3.0), (2, 0.0, 3.0)], heights=[(0, 1.7), (2, 1.7), (3, h_top)])
        tracker = Tracker(s, MOUNTING)
        tr = confirmed(run(tracker, scene_frames([p], 8.0, seed=20))[-1])
        assert len(tr) == 1 and lo < tr[0].height_m < hi, (h_top, tr)


def test_a_still_person_without_points_is_held_in_place_not_coasted() -> None:
    s = TrackingSettings(max_unseen_s=1.5, max_unseen_static_s=40.0)
    # walks 2 m at 1 m/s, stops at (0, 3) and stands still; from t = 4 s no more points (sitting
    # still beside the sofa: no Doppler, no CFAR detection)
    p = Person(path=[(0, -2.0, 3.0), (2, 0.0, 3.0)], present=(0.0, 4.0))
    tracker = Tracker(s, MOUNTING)
    history = run(tracker, scene_frames([p], 30.0, seed=30))
    last_seen = confirmed(history[int(4.0 * FPS) - 1])[0]
    for tracks in history[int(4.0 * FPS) :]:
        (tr,) = confirmed(tracks)  # lives for max_unseen_static_s, no drift, no second track
        assert tr.held and not tr.detected
        assert np.hypot(*(np.array(tr.position[:2]) - last_seen.position[:2])) < 0.05
        assert tr.speed_mps < 0.05 and tr.height_m == pytest.approx(last_seen.height_m)


def test_a_walker_who_vanishes_coasts_and_a_presence_check_holds_a_track() -> None:
    s = TrackingSettings(max_unseen_s=1.5, max_unseen_static_s=6.0)
    # a walker who vanishes in mid-stride (0.5 m/s along +x) coasts at the last velocity
    walker = Person(path=[(0, -2.0, 3.0), (10, 3.0, 3.0)], present=(0.0, 4.0))
    tracker = Tracker(s, MOUNTING)
    history = run(tracker, scene_frames([walker], 5.2, seed=31))
    before = confirmed(history[int(4.0 * FPS) - 1])[0]
    after = confirmed(history[int(5.0 * FPS)])[0]
    assert not after.held and after.position[0] - before.position[0] > 0.35

    # the same walker with a presence check that finds someone at x < 0.3 m (stopped there):
    # held (stops within a few cm) and kept alive while the check says so, then dies
    # max_unseen_static_s after the last positive check
    seen: list[int] = []

    def presence(xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        seen.append(xyz.shape[0])
        return np.full(xyz.shape[0], t_now[0] < 20.0), np.full(xyz.shape[0], np.nan)

    t_now = [0.0]
    tracker = Tracker(s, MOUNTING)
    out: list[list[Track]] = []
    for f in scene_frames([walker], 30.0, seed=31):
        t_now[0] = f.timestamp - T0
        out.append(tracker.update(f.points, f.timestamp, presence))
    assert seen and max(seen) == 1  # only the confirmed track without points is checked
    held = confirmed(out[int(10.0 * FPS)])[0]
    assert held.held and held.presence and held.speed_mps < 0.01
    x_first_miss = confirmed(out[int(4.0 * FPS)])[0].position[0]
    assert abs(held.position[0] - x_first_miss) < 0.15  # no drift: decays within ~tau
    alive = [bool(confirmed(h)) for h in out]
    assert all(alive[int(4.0 * FPS) : int(25.9 * FPS)])  # 20 s (last positive) + 6 s
    assert not any(alive[int(26.2 * FPS) :])


def test_a_passer_by_does_not_take_over_a_lying_persons_track() -> None:
    s = TrackingSettings(max_unseen_static_s=8.0)
    # A walks to (0, 3) and lies down (no points from t = 4 s); the presence check measures A's
    # chest at 0.2 m. B walks past 0.4 m from A from t = 8 s.
    a = Person(path=[(0, -2.0, 3.0), (2, 0.0, 3.0)], present=(0.0, 4.0))
    b = Person(path=[(8, -2.5, 3.4), (13, 2.5, 3.4)], present=(8.0, 13.0))

    def presence(xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        near = np.hypot(xyz[:, 0], xyz[:, 1] - 3.0) < 0.3
        return near, np.where(near, 0.2, np.nan)

    tracker = Tracker(s, MOUNTING)
    out = [
        tracker.update(f.points, f.timestamp, presence) for f in scene_frames([a, b], 13.0, seed=32)
    ]
    a_id = confirmed(out[int(4.0 * FPS)])[0].id
    final = {tr.id: tr for tr in confirmed(out[-1])}
    assert a_id in final and final[a_id].held and final[a_id].height_m < 0.3
    assert np.hypot(final[a_id].position[0], final[a_id].position[1] - 3.0) < 0.2
    assert len(final) == 2  # B has a track of its own


def _nobody(positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A raw-ADC presence check that finds no micro-motion anywhere."""
    return np.zeros(len(positions), bool), np.full(len(positions), np.nan)


@pytest.mark.parametrize("static_map", [True, False])
def test_a_walker_leaving_past_a_door_leaf_does_not_latch_onto_it(static_map: bool) -> None:
    """A door leaf gives static points every frame (clutter removal off); a walker walks up to it and
    leaves (no more points). With the static clutter map the track dies; without it, it latches onto
    the leaf's static points and lives on (the e2e walk scene's failure)."""
    s = TrackingSettings(static_map=static_map)
    door = Person(path=[(0, 1.0, 4.0)], heights=[(0, 2.0)])
    walker = Person(path=[(0, -2.0, 2.0), (4, 0.0, 3.0), (6, 0.9, 3.9)], present=(0.0, 6.0))
    tracker = Tracker(s, MOUNTING)
    history = [
        tracker.update(f.points, f.timestamp, _nobody)
        for f in scene_frames([door, walker], 20.0, seed=8)
    ]
    assert confirmed(history[int(3.0 * FPS)])  # the walker was tracked
    late = confirmed(history[-1])
    if static_map:
        assert not late, late
    else:
        assert late and np.hypot(late[0].position[0] - 1.0, late[0].position[1] - 4.0) < 0.5


def test_the_static_map_does_not_learn_a_still_persons_spot() -> None:
    """Someone who walks in and stands still for 20 s stays tracked: static points next to a track
    never teach the map, so their own points keep their track."""
    walker = Person(path=[(0, -2.0, 3.0), (3, 0.0, 3.0)])
    tracker = Tracker(TrackingSettings(), MOUNTING)
    history = [
        tracker.update(f.points, f.timestamp, _nobody) for f in scene_frames([walker], 25.0, seed=9)
    ]
    late = confirmed(history[-1])
    assert len(late) == 1 and late[0].detected


# ---------------------------------------------------------------------------- point-cloud sources
# (UART, RadHAR dumps: no presence check, clutter removal off, a coarse Doppler resolution)


def _radar_points(floor: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Floor-frame ``[n, 4]`` (x, y, z [m], v [m/s]) -> POINT_DTYPE in the radar frame."""
    out = np.zeros(floor.shape[0], dtype=POINT_DTYPE)
    out["x"], out["y"], out["z"] = from_floor(floor[:, :3], MOUNTING).T
    out["v"] = floor[:, 3]
    out["snr"] = rng.uniform(10, 25, floor.shape[0])
    return out


def _fixed_reflector(rng: np.random.Generator, at=(0.3, 2.6, 2.15)) -> np.ndarray:
    """A fixed reflector as TI's demo reports it with clutter removal off: three zero-Doppler points
    in neighbouring range bins at one angle, their reported positions jittering by about a cm."""
    base = np.array(at) + np.array([[0.0, -0.05, 0.0], [0.0, 0.0, 0.0], [0.0, 0.05, 0.0]])
    xyz = base + rng.normal(0.0, 0.01, base.shape)
    return np.column_stack([xyz, np.zeros(3)])


def _with(frames, extra) -> list:
    """``frames`` with ``extra(i, t, rng)`` (floor-frame ``[k, 4]``) added to each frame's points."""
    rng = np.random.default_rng(99)
    out = []
    for i, f in enumerate(frames):
        add = _radar_points(extra(i, f.timestamp - T0, rng), rng)
        f.points = np.concatenate([f.points, add])
        out.append(f)
    return out


@pytest.mark.parametrize("fixed_map", [True, False])
def test_a_persistent_static_cluster_does_not_hold_a_walkers_track(fixed_map: bool) -> None:
    """A walker walks up to a fixed reflector (a lamp: zero-Doppler points at the same place every
    frame) and leaves (no more points from t = 6 s). With the fixed-reflector map its points are
    dropped and the walker's track ends; without it the track latches onto them and holds there
    (the ghost of the RadHAR walking recordings)."""
    s = TrackingSettings(fixed_map=fixed_map)
    walker = Person(path=[(0, -2.0, 1.5), (4, 0.0, 2.2), (6, 0.3, 2.6)], present=(0.0, 6.0))
    frames = _with(scene_frames([walker], 20.0, seed=40), lambda i, t, rng: _fixed_reflector(rng))
    tracker = Tracker(s, MOUNTING)
    history = run(tracker, frames)
    assert confirmed(history[int(3.0 * FPS)])  # the walker was tracked
    late = confirmed(history[-1])
    if fixed_map:
        assert not late, late
    else:
        assert late and np.hypot(late[0].position[0] - 0.3, late[0].position[1] - 2.6) < 0.3


def test_the_fixed_map_keeps_a_still_persons_points() -> None:
    """A body's scattering centres move from frame to frame (a person who walked in and stands
    still, zero-Doppler points only): the fixed-reflector map never takes their points, their
    track stays detected for 25 s."""
    walker = Person(path=[(0, -2.0, 3.0), (3, 0.0, 3.0)])
    tracker = Tracker(TrackingSettings(), MOUNTING)
    history = run(tracker, scene_frames([walker], 28.0, seed=41))
    late = confirmed(history[-1])
    assert len(late) == 1 and late[0].detected and late[0].points.shape[0] >= 8


def _mirror(p: Person, extra_range_m: float, share: float):
    """A multipath mirror image of person ``p``: a share of their points moved ``extra_range_m``
    further along each point's horizontal bearing, with the same radial velocity."""

    def extra(i: int, t: float, rng: np.random.Generator) -> np.ndarray:
        from test_events_synthetic import person_points

        pts = person_points(p, t, rng)
        pts = pts[rng.random(pts.shape[0]) < share]
        rho = np.hypot(pts[:, 0], pts[:, 1])
        pts[:, :2] *= ((rho + extra_range_m) / rho)[:, None]
        return pts

    return extra


@pytest.mark.parametrize("ghost_bearing_deg", [10.0, 0.0])
def test_a_mirror_ghost_behind_a_person_is_not_a_second_person(ghost_bearing_deg: float) -> None:
    """A walker crossing 2.5 m in front of the radar and their mirror image (a wall behind them):
    60 % of their points, 1.2 m further along the same bearing, same Doppler. One person."""
    s = TrackingSettings(ghost_bearing_deg=ghost_bearing_deg)
    walker = Person(path=[(0, -1.5, 2.5), (8, 1.5, 2.5)])
    frames = _with(scene_frames([walker], 8.0, seed=42), _mirror(walker, 1.2, 0.6))
    history = run(Tracker(s, MOUNTING), frames)
    counts = [len(confirmed(h)) for h in history[int(1.0 * FPS) :]]
    if ghost_bearing_deg > 0:
        assert max(counts) == 1 and min(counts) == 1, counts
    else:  # the rule off: the mirror image becomes a second person
        assert max(counts) == 2


def test_a_second_person_beside_the_first_is_still_counted() -> None:
    """The ghost rule only looks behind a person along their bearing: someone 1.5 m to the side at
    the same range is a second person."""
    a = Person(path=[(0, -1.0, 2.5), (8, -1.0, 4.0)])
    b = Person(path=[(0, 1.0, 2.5), (8, 1.0, 4.0)])
    history = run(Tracker(TrackingSettings(), MOUNTING), scene_frames([a, b], 8.0, seed=43))
    assert all(len(confirmed(h)) == 2 for h in history[int(1.0 * FPS) :])


def _split_body(walker: Person):
    """The walker's legs as a second group of points: at the body, their Doppler 2.5 m/s above the
    torso's (a stride), so clustering separates the two groups; for the first 0.8 s the group is
    1.2 m away (the body entered as two separate patches), then it closes in within 1 s."""

    def extra(i: int, t: float, rng: np.random.Generator) -> np.ndarray:
        pos = walker.position(t)
        off = 1.2 * float(np.clip((1.8 - t) / 1.0, 0.0, 1.0))
        xy = pos + np.array([off, 0.0]) + rng.normal(0, 0.08, (10, 2))
        z = rng.uniform(0.1, 0.8, 10)
        xyz = np.column_stack([xy, z])
        los = xyz - np.array([0.0, 0.0, MOUNTING.height_m])
        los /= np.linalg.norm(los, axis=1, keepdims=True)
        v = los @ walker.velocity(t) + 2.5
        return np.column_stack([xyz, v])

    return extra


@pytest.mark.parametrize("merge_distance_m", [0.6, 0.0])
def test_a_walking_bodys_spread_of_points_stays_one_track(merge_distance_m: float) -> None:
    """One walker whose points come as two groups (torso, and legs at another Doppler): two tracks
    born while the groups were apart merge once they move together as one body."""
    s = TrackingSettings(merge_distance_m=merge_distance_m)
    walker = Person(path=[(0, -1.0, 4.0), (10, -1.0, 1.0)])  # walking toward the radar
    frames = _with(scene_frames([walker], 10.0, seed=44), _split_body(walker))
    history = run(Tracker(s, MOUNTING), frames)
    assert len(confirmed(history[int(1.0 * FPS)])) == 2  # born apart
    late = [len(confirmed(h)) for h in history[int(4.0 * FPS) :]]
    if merge_distance_m > 0:
        assert set(late) == {1}, late
    else:
        assert 2 in late


def test_a_person_jumping_in_place_with_zero_doppler_points_is_counted() -> None:
    """At a coarse Doppler resolution (0.6 m/s) a person jumping or squatting in place gives
    zero-Doppler points nearly every frame and a moving point now and then: the recent moving points
    around them start the track. Furniture (never moving) still starts none."""
    jumper = Person(path=[(0, 0.0, 2.2)], heights=[(0, 1.7)])

    def moving_now_and_then(i: int, t: float, rng: np.random.Generator) -> np.ndarray:
        if i % 7:
            return np.empty((0, 4))
        return np.array([[rng.normal(0, 0.1), 2.2 + rng.normal(0, 0.1), 0.8, 0.6]])

    frames = _with(scene_frames([jumper], 6.0, seed=45), moving_now_and_then)
    history = run(Tracker(TrackingSettings(), MOUNTING), frames)
    assert [len(confirmed(h)) for h in history[int(3.0 * FPS) :]] == [1] * len(
        history[int(3.0 * FPS) :]
    )
    sofa = Person(path=[(0, 1.0, 3.0)], heights=[(0, 0.8)])
    history = run(Tracker(TrackingSettings(), MOUNTING), scene_frames([sofa], 6.0, seed=46))
    assert not any(confirmed(h) for h in history)


def test_two_people_sitting_side_by_side_are_not_merged() -> None:
    """Two people who walk to a sofa and sit 0.5 m apart for 10 s stay two tracks: only moving
    tracks merge."""
    a = Person(path=[(0, -2.0, 2.0), (3, -0.25, 3.0)])
    b = Person(path=[(0, 2.0, 2.0), (3, 0.25, 3.0)])
    history = run(Tracker(TrackingSettings(), MOUNTING), scene_frames([a, b], 14.0, seed=47))
    assert all(len(confirmed(h)) == 2 for h in history[int(1.0 * FPS) :])
