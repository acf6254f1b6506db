"""Scatterer backend physics: occlusion, image-source multipath, static vs moving, a pulsating sphere.

The mesh helpers here (plates, a box room, an icosphere) are also used by ``test_sim_adc.py``.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import numpy as np

from firmware_cfg import SPEED_OF_LIGHT_M_S, load_cfg
from runtime.dsp.chain import make_plan, process_frame
from runtime.dsp.vitals import chest_signal, vital_rates
from sim.geometry import Mesh, RadarPose
from sim.propagation.scatter import occluded, trace_scatter
from sim.radar.adc import synthesize_adc

RADAR = RadarPose((0.0, 0.0, 1.0), 0.0, 0.0)  # at x = y = 0, 1 m high, looking along +y
DENSITY = {"plate": 3000.0, "default": 30.0}  # small test plates need more than the default


@cache
def rc_of(name: str):
    return load_cfg(name)


# ---------------------------------------------------------------------------- mesh helpers
def grid_quad(corners: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """An n x n triangulated quad from 4 corners (counter-clockwise seen from the front)."""
    a, b, c, d = np.asarray(corners, dtype=np.float64)
    s, t = np.meshgrid(np.linspace(0, 1, n + 1), np.linspace(0, 1, n + 1), indexing="ij")
    s, t = s.reshape(-1, 1), t.reshape(-1, 1)
    verts = (1 - s) * (1 - t) * a + s * (1 - t) * b + s * t * c + (1 - s) * t * d
    faces = []
    for i in range(n):
        for j in range(n):
            v0, v1 = i * (n + 1) + j, (i + 1) * (n + 1) + j
            faces += [[v0, v1, v1 + 1], [v0, v1 + 1, v0 + 1]]
    return verts, np.asarray(faces, dtype=np.int64)


def plate(
    name: str,
    center: np.ndarray,
    size: float,
    facing: np.ndarray,
    *,
    velocity: np.ndarray | None = None,
    material: str = "metal",
    label: str = "plate",
    n: int = 4,
) -> Mesh:
    """A square plate of side ``size`` [m] whose front faces direction ``facing``."""
    center = np.asarray(center, dtype=np.float64)
    nrm = np.asarray(facing, dtype=np.float64)
    nrm = nrm / np.linalg.norm(nrm)
    ref = np.array([0.0, 0.0, 1.0]) if abs(nrm[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    right = np.cross(nrm, ref)
    right /= np.linalg.norm(right)
    up = np.cross(right, nrm)
    h = 0.5 * size
    corners = [
        center + h * (sx * right + sy * up) for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))
    ]
    verts, faces = grid_quad(np.asarray(corners), n)
    tri = verts[faces]
    if np.cross(tri[0, 1] - tri[0, 0], tri[0, 2] - tri[0, 0]) @ nrm < 0:
        faces = faces[:, ::-1].copy()
    vel = None if velocity is None else np.tile(np.asarray(velocity, np.float64), (len(verts), 1))
    return Mesh(name, label, verts, faces, material, vel)


def plate_toward_radar(
    name: str, range_m: float, azimuth_deg: float, size: float, velocity_mps: float = 0.0, **kw
) -> Mesh:
    """A plate at (range, azimuth) from :data:`RADAR` at its height, facing it, moving radially."""
    az = np.deg2rad(azimuth_deg)
    u = np.array([np.sin(az), np.cos(az), 0.0])
    center = np.asarray(RADAR.position) + range_m * u
    vel = velocity_mps * u if velocity_mps else None
    return plate(name, center, size, -u, velocity=vel, **kw)


def box_room(
    x: tuple[float, float],
    y: tuple[float, float],
    z: tuple[float, float],
    material: str = "concrete",
) -> list[Mesh]:
    """Six inward-facing surfaces (walls, floor, ceiling) of a box room, one mesh each."""
    (x0, x1), (y0, y1), (z0, z1) = x, y, z
    specs = {
        "wall_west": ([x0, y0, z0], [x0, y0, z1], [x0, y1, z1], [x0, y1, z0]),
        "wall_east": ([x1, y0, z0], [x1, y1, z0], [x1, y1, z1], [x1, y0, z1]),
        "wall_south": ([x0, y0, z0], [x1, y0, z0], [x1, y0, z1], [x0, y0, z1]),
        "wall_north": ([x0, y1, z0], [x0, y1, z1], [x1, y1, z1], [x1, y1, z0]),
        "floor": ([x0, y0, z0], [x0, y1, z0], [x1, y1, z0], [x1, y0, z0]),
        "ceiling": ([x0, y0, z1], [x1, y0, z1], [x1, y1, z1], [x0, y1, z1]),
    }
    out = []
    for name, corners in specs.items():
        verts, faces = grid_quad(np.asarray(corners, np.float64), 1)
        label = "wall" if name.startswith("wall") else name
        out.append(Mesh(name, label, verts, faces, material))
    return out


def icosphere(subdivisions: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Unit icosphere: vertices ``[V, 3]``, outward counter-clockwise faces ``[F, 3]``."""
    t = (1.0 + 5**0.5) / 2.0
    v = [[-1, t, 0], [1, t, 0], [-1, -t, 0], [1, -t, 0], [0, -1, t], [0, 1, t], [0, -1, -t],
         [0, 1, -t], [t, 0, -1], [t, 0, 1], [-t, 0, -1], [-t, 0, 1]]  # fmt: skip
    f = [[0, 11, 5], [0, 5, 1], [0, 1, 7], [0, 7, 10], [0, 10, 11], [1, 5, 9], [5, 11, 4],
         [11, 10, 2], [10, 7, 6], [7, 1, 8], [3, 9, 4], [3, 4, 2], [3, 2, 6], [3, 6, 8],
         [3, 8, 9], [4, 9, 5], [2, 4, 11], [6, 2, 10], [8, 6, 7], [9, 8, 1]]  # fmt: skip
    verts = [np.asarray(p, np.float64) / np.linalg.norm(p) for p in v]
    faces = f
    for _ in range(subdivisions):
        cache_mid: dict[tuple[int, int], int] = {}

        def mid(i: int, j: int, cache_mid: dict[tuple[int, int], int] = cache_mid) -> int:
            key = (min(i, j), max(i, j))
            if key not in cache_mid:
                p = verts[i] + verts[j]
                verts.append(p / np.linalg.norm(p))
                cache_mid[key] = len(verts) - 1
            return cache_mid[key]

        new = []
        for a, b, c in faces:
            ab, bc, ca = mid(a, b), mid(b, c), mid(c, a)
            new += [[a, ab, ca], [b, bc, ab], [c, ca, bc], [ab, bc, ca]]
        faces = new
    return np.asarray(verts), np.asarray(faces, dtype=np.int64)


# ---------------------------------------------------------------------------- tests
def test_occluded_segment() -> None:
    tri = np.array([[[-1.0, 1.0, -1.0], [1.0, 1.0, -1.0], [0.0, 1.0, 1.0]]])
    targets = np.array([[0.0, 2.0, 0.0], [0.0, 0.5, 0.0], [3.0, 2.0, 0.0]])
    assert occluded(np.zeros(3), targets, tri).tolist() == [True, False, False]


def test_plate_behind_wall_is_invisible() -> None:
    cfg = rc_of("iwr1843boost_raw_activity").chirp
    target = plate_toward_radar("target", 3.0, 0.0, 0.2)
    wall = plate("screen", [0.0, 1.5, 1.0], 1.0, [0, -1, 0], material="concrete", label="cabinet")
    alone = trace_scatter([target], RADAR, cfg, 0.0, density_per_m2=2000)
    assert alone.num_paths > 0
    hidden = trace_scatter([target, wall], RADAR, cfg, 0.0, density_per_m2=2000)
    assert not np.any(hidden.object_ids == 0), "the plate behind the screen must give no path"
    assert np.any(hidden.object_ids == 1)


def test_image_source_adds_path_at_mirrored_range() -> None:
    cfg = rc_of("iwr1843boost_raw_activity").chirp
    target = plate_toward_radar("target", 3.0, 0.0, 0.1, velocity_mps=0.5)
    # one side wall at x = 1.0 (inward normal -x), from y = 0 to 6 m
    verts, faces = grid_quad(
        np.array([[1.0, -0.5, 0.0], [1.0, 6.0, 0.0], [1.0, 6.0, 2.5], [1.0, -0.5, 2.5]]), 1
    )
    wall = Mesh("wall_east", "wall", verts, faces, "concrete")
    ps = trace_scatter(
        [target, wall], RADAR, cfg, 0.0, density_per_m2={"plate": 3000, "wall": 20}, max_bounces=3
    )
    mover = ps.object_ids == 0
    direct = mover & (ps.bounces == 1)
    single = mover & (ps.bounces == 2)
    double = mover & (ps.bounces == 3)
    assert direct.any() and single.any() and double.any()
    # geometry: radar (0, 0, 1), target (0, 3, 1), mirrored radar (2, 0, 1)
    r1, r2 = 3.0, float(np.hypot(2.0, 3.0))
    c = SPEED_OF_LIGHT_M_S
    assert np.allclose(np.median(ps.delay_s[direct]), 2 * r1 / c, atol=0.03 / c)
    assert np.allclose(np.median(ps.delay_s[single]), (r1 + r2) / c, atol=0.03 / c)
    assert np.allclose(np.median(ps.delay_s[double]), 2 * r2 / c, atol=0.03 / c)
    # weaker than the direct path (wall loss + longer path), and Doppler along both legs
    assert np.abs(ps.gain[0, 0, single]).mean() < np.abs(ps.gain[0, 0, direct]).mean()
    v_single = np.median(ps.delay_rate[single]) * c
    assert abs(v_single - 0.5 * (1 + 3.0 / r2)) < 0.05


def test_clutter_removal_keeps_the_mover_only() -> None:
    rc = rc_of("iwr1843boost_raw_activity")
    cfg = rc.chirp
    room = box_room((-2.0, 2.0), (-0.2, 5.0), (0.0, 2.6))
    mover = plate_toward_radar("mover", 2.5, -15.0, 0.15, velocity_mps=-1.2)
    ps = trace_scatter([*room, mover], RADAR, cfg, 0.0, max_bounces=1, density_per_m2=DENSITY)
    frame = synthesize_adc(cfg, ps, rng=np.random.default_rng(0))
    demo_on = rc.demo.model_copy(update={"clutter_removal": True})
    det_on = process_frame(frame, make_plan(replace(rc, demo=demo_on))).detections
    assert det_on.size
    d = det_on[0]
    assert abs(d["velocity_mps"] - (-1.2)) <= cfg.velocity_bin_mps
    assert abs(d["range_m"] - 2.5) <= 2 * cfg.range_bin_m
    # (mean subtraction leaves a small zero-Doppler image of the mover itself, as on a real radar)
    static_on = det_on[np.abs(det_on["velocity_mps"]) < 0.5 * cfg.velocity_bin_mps]
    assert np.all(np.abs(static_on["range_m"] - 2.5) < 0.3), "a static wall survived"
    # without clutter removal the back wall (5 m) is there, at zero Doppler
    det_off = process_frame(frame, make_plan(rc)).detections
    static = det_off[np.abs(det_off["velocity_mps"]) < 0.5 * cfg.velocity_bin_mps]
    assert np.any(np.abs(static["range_m"] - 5.0) < 0.3)


def test_pulsating_sphere_rate_through_vitals() -> None:
    rc = rc_of("iwr1843boost_vitals")
    cfg = rc.chirp
    unit, faces = icosphere(2)
    center = np.asarray(RADAR.position) + np.array([0.0, 1.2, 0.0])
    r0, amp, f_hz = 0.15, 0.005, 0.25  # 15 per minute

    def sphere(t: float) -> Mesh:
        r = r0 + amp * np.sin(2 * np.pi * f_hz * t)
        dr = amp * 2 * np.pi * f_hz * np.cos(2 * np.pi * f_hz * t)
        return Mesh("chest", "person", center + r * unit, faces, "skin", dr * unit)

    num = 240  # 12 s at 20 frames/s: three breaths
    frames = np.empty((num, *cfg.frame_shape), np.complex64)
    for i in range(num):
        t0 = i * cfg.frame_period_s
        ps = trace_scatter([sphere(t0)], RADAR, cfg, t0, max_bounces=1)
        frames[i] = synthesize_adc(cfg, ps, frame_start_s=t0, rng=np.random.default_rng(i))
    chest = chest_signal(frames, rc, range_gate_m=(0.8, 1.6))
    rates = vital_rates(chest.displacement_m, chest.sample_rate_hz)
    assert abs(rates.breathing.per_min - 60 * f_hz) < 1.0
    # the front of the sphere moves +-5 mm (the cap's average a little less)
    assert 0.008 < np.ptp(chest.displacement_m) < 0.011


def test_sampling_is_deterministic_and_sticks_to_the_surface() -> None:
    cfg = rc_of("iwr1843boost_raw_activity").chirp
    m = plate_toward_radar("target", 2.0, 10.0, 0.3)
    a = trace_scatter([m], RADAR, cfg, 0.0, rng=3)
    b = trace_scatter([m], RADAR, cfg, 0.0, rng=3)
    c = trace_scatter([m], RADAR, cfg, 0.0, rng=4)
    assert np.array_equal(a.delay_s, b.delay_s) and np.array_equal(a.gain, b.gain)
    assert not np.array_equal(a.delay_s, c.delay_s)
    moved = Mesh(m.name, m.label, m.vertices + np.array([0.0, 0.01, 0.0]), m.faces, m.material)
    d = trace_scatter([moved], RADAR, cfg, 0.0, rng=3)
    assert d.num_paths == a.num_paths  # same scatterers, shifted with the surface
