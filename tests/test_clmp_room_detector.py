"""The kinematic detector "ti_room" (training.clmp.kinematic.RoomDetector): the TI demo's chain on a
synthesised range-Doppler cube of a person in a generated room.

Without clutter removal the demo reports the board's leakage (range bins 1-4, v = 0) and the room's
walls and furniture beside the person; with clutter removal and DC calibration on (an SDK 3.x-style
configuration) both are gone and only what moves is left. Windows are deterministic per sample.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from sim.dataset.scenario import sample_scenario
from training.clmp.factory import build_model
from training.clmp.kinematic import (
    DEFAULT_WEIGHTS,
    ROOM_MODEL,
    RoomDetector,
    kinematic_sample,
)


@pytest.fixture(scope="module")
def scenario():
    return sample_scenario(99, 0, setup="radhar", window_s=0.5, activities=DEFAULT_WEIGHTS)


def _points(sc, radar_config, frames=4):
    det = RoomDetector(sc.scene(), radar_config, np.random.default_rng(0), ROOM_MODEL)
    humans = sc.humans()
    t = float(sc.frame_starts_s()[0])
    return np.concatenate(det.frames([h.mesh_at(t) for h in humans], frames))


def _range(p):
    return np.sqrt(p["x"] ** 2 + p["y"] ** 2 + p["z"] ** 2)


def test_demo_without_clutter_removal_reports_leakage_room_and_person(scenario):
    rc = scenario.radar_config()
    assert not rc.demo.clutter_removal and not rc.demo.dc_range_calibration
    pts = _points(scenario, rc)
    r = _range(pts)
    assert len(pts) >= 20
    near = r < 0.2
    assert near.sum() >= 4  # leakage in every frame
    assert np.all(pts["v"][near] == 0)
    # the person stands 1.3-2.1 m ahead; the room's static surfaces lie beyond
    person = scenario.scene().radar.to_radar(np.array([(*scenario.people[0].start_position, 1.0)]))
    body = np.abs(r - np.linalg.norm(person)) < 0.6
    assert body.sum() >= 4
    assert (r > 2.8).sum() >= 4
    assert np.mean(pts["v"] == 0) > 0.6


def test_clutter_removal_and_dc_calibration_leave_only_what_moves(scenario):
    rc = scenario.radar_config()
    demo = rc.demo.model_copy(update={"clutter_removal": True, "dc_range_calibration": True})
    pts = _points(scenario, replace(rc, demo=demo))
    r = _range(pts)
    assert (r < 0.2).sum() == 0
    assert (r > 2.8).sum() <= 1  # noise may cross the threshold once in a while


def test_room_windows_are_deterministic_and_the_detector_is_checked():
    contract = build_model("clmp_points_v2").input_contract
    a = kinematic_sample(7, 1, contract, stride_s=1.0, frame_step=1, detector="ti_room")
    b = kinematic_sample(7, 1, contract, stride_s=1.0, frame_step=1, detector="ti_room")
    assert len(a[0]) > 0 and a[2] == b[2]
    for pa, pb in zip(a[0], b[0], strict=True):
        np.testing.assert_array_equal(pa, pb)
    weaker = replace(ROOM_MODEL, gain_db=ROOM_MODEL.gain_db - 30, leak_db=0.0)
    c = kinematic_sample(
        7, 1, contract, stride_s=1.0, frame_step=1, detector="ti_room", room_model=weaker
    )
    assert sum(m.sum() for m in c[1]) < 0.5 * sum(m.sum() for m in a[1])
    with pytest.raises(ValueError, match="unknown detector"):
        kinematic_sample(7, 1, contract, detector="physics")
