"""Human: the Mesh contract, Doppler-ready velocities, breathing/heartbeat seen on the mesh, truth."""

from __future__ import annotations

import numpy as np
import pytest

from sim.geometry import Mesh
from sim.humans import Human, Segment, Subject, Timeline


def _sleeper(**kwargs) -> Human:
    tl = Timeline([Segment("sleep", 0.0, 200.0)], start_position=(1.0, 2.0), start_posture="lying")
    return Human(Subject(1.75), tl, seed=11, **kwargs)


def _spectrum_peak(x: np.ndarray, fs: float, band: tuple[float, float]) -> float:
    """Frequency [1/min] of the largest spectral peak in ``band`` [1/min] (zero-padded, Hann)."""
    x = (x - x.mean()) * np.hanning(len(x))
    n = 16 * len(x)
    spec = np.abs(np.fft.rfft(x, n))
    f = np.fft.rfftfreq(n, 1 / fs) * 60
    sel = (f >= band[0]) & (f <= band[1])
    return float(f[sel][np.argmax(spec[sel])])


def _normal_displacement(person: Human, vertex: int, times: np.ndarray) -> np.ndarray:
    rest = person.mesh_at(float(times[0]))
    normal = person.body.normals_rest[vertex]
    normal = person.pose_at(float(times[0])).rotmats[0] @ normal  # lying still: root rotation only
    return np.array(
        [
            (person.mesh_at(float(t)).vertices[vertex] - rest.vertices[vertex]) @ normal
            for t in times
        ]
    )


def test_mesh_contract() -> None:
    tl = Timeline([Segment("walk", 0.0, 3.0, {"waypoints": [[3.0, 0.0]], "speed": 1.0})])
    mesh = Human(Subject(), tl, name="person_3", seed=0).mesh_at(1.0)
    assert isinstance(mesh, Mesh) and mesh.name == "person_3"
    assert mesh.label == "person" and mesh.material == "skin"
    v = mesh.vertices.shape[0]
    assert (
        mesh.vertices.shape == (v, 3)
        and mesh.velocities.shape == (v, 3)
        and mesh.part_ids.shape == (v,)
    )
    assert mesh.faces.max() < v and set(np.unique(mesh.part_ids)) <= set(range(24))
    assert np.isfinite(mesh.velocities).all() and not mesh.is_static


def test_walking_torso_velocity_matches_the_path_speed() -> None:
    speed = 1.3
    tl = Timeline([Segment("walk", 0.0, 6.0, {"waypoints": [[0.0, 6.0]], "speed": speed})])
    person = Human(Subject(1.8, "heavy", "adult", "male"), tl, seed=3)
    torso = np.isin(person.body.part_ids, [0, 3, 6, 9])
    ts = np.arange(1.0, 4.0, 0.05)
    vel = np.array([person.mesh_at(t).velocities[torso].mean(0) for t in ts])
    assert vel[:, 1].mean() == pytest.approx(speed, rel=0.05)  # north
    assert abs(vel[:, 0].mean()) < 0.05 and abs(vel[:, 2].mean()) < 0.05
    # Velocities are the time derivative of the vertices (what Doppler within a frame needs).
    t, dt = 2.0, 0.002
    fd = (person.mesh_at(t + dt).vertices - person.mesh_at(t - dt).vertices) / (2 * dt)
    assert np.abs(fd - person.mesh_at(t).velocities).max() < 0.02


def test_breathing_on_the_chest_has_the_requested_rate_and_amplitude() -> None:
    person = _sleeper(breathing_per_min=15.0, heart_per_min=70.0, breathing_amplitude_m=0.005)
    chest = int(np.argmax(person.body.chest_weight))
    times = np.arange(0.0, 120.0, 0.2)
    disp = _normal_displacement(person, chest, times)
    truth = person.vitals.breathing_rate(
        times
    ).mean()  # the rate wanders (5 %): compare with the truth
    assert _spectrum_peak(disp, 5.0, (4, 40)) == pytest.approx(truth, abs=0.5)
    assert truth == pytest.approx(15.0, rel=0.05)
    assert np.ptp(disp) == pytest.approx(0.005, rel=0.15)
    assert person.ground_truth(10.0)["breathing_per_min"] == pytest.approx(15.0, rel=0.1)


def test_heartbeat_on_the_chest_front_has_the_requested_rate_and_amplitude() -> None:
    person = _sleeper(
        breathing_per_min=12.0,
        heart_per_min=80.0,
        breathing_amplitude_m=0.0,
        heart_amplitude_m=0.0003,
        vital_variability=0.0,  # constant mean rate (breathing still modulates it, +-3 %)
    )
    heart = int(np.argmax(person.body.heart_weight))
    times = np.arange(0.0, 60.0, 0.05)
    disp = _normal_displacement(person, heart, times)
    assert _spectrum_peak(disp, 20.0, (40, 130)) == pytest.approx(80.0, abs=0.5)
    assert np.ptp(disp) == pytest.approx(0.0003, rel=0.1)
    velocity = person.mesh_at(3.0).velocities[heart]
    assert 1e-5 < np.linalg.norm(velocity) < 0.01  # sub-mm motion: mm/s


def test_ground_truth_and_determinism() -> None:
    tl = Timeline([Segment("stand", 0.0, 2.0), Segment("wave", 2.0, 4.0)])
    a, b = Human(Subject(), tl, seed=7), Human(Subject(), tl, seed=7)
    series = a.ground_truth_series([0.5, 3.0])
    assert list(series["activity"]) == ["stand", "wave"]
    assert series["position"].shape == (2, 3) and 45 <= series["heart_per_min"][0] <= 120
    for key in ("heading", "speed", "pelvis_height", "head_height", "breathing_per_min"):
        assert np.isfinite(series[key]).all()
    assert np.array_equal(a.mesh_at(3.3).vertices, b.mesh_at(3.3).vertices)
    assert np.array_equal(a.mesh_at(3.3).velocities, b.mesh_at(3.3).velocities)
    assert a.describe()["segments"][1]["activity"] == "wave"
