"""Seconds per frame of the Sionna RT backend on a furnished room with one walking person.

How to run (repository root, project venv)::

    .venv/bin/python benchmarks/bench_sionna_rt.py                      # 20 frames, 20k rays/frame
    .venv/bin/python benchmarks/bench_sionna_rt.py --frames 5 --samples 5000   # quick

Scene: a 5 m x 4 m x 2.7 m box room (concrete walls, floorboard floor, ceiling board), five furniture
boxes (wood, chipboard, glass, metal), and a person-sized body of ~4.6k triangles in 6 parts (skin)
walking across the room at 1 m/s with swinging arms (per-vertex velocities), re-posed every frame.
The radar (IWR1843BOOST, ``iwr1843boost_raw_activity``) hangs on the south wall at 2 m, tilted 10 deg down.

Figure: the median wall time of ``SionnaTracer.trace`` over the frames after two warm-up frames (the
first call compiles Dr.Jit kernels, several seconds on a CPU), split into scene sync / solve /
conversion; beside it the scatterer backend (``sim.propagation.scatter.trace_scatter``) on the same
meshes when that module exists, as a ratio. Target: <= 0.25 s per frame on a CPU.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from firmware_cfg import load_cfg
from firmware_cfg.profiles import profile_path
from sim.geometry import Mesh, RadarPose


def box(
    center: tuple[float, float, float], size: tuple[float, float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Closed axis-aligned box: vertices ``[8, 3]`` [m], faces ``[12, 3]`` (outward, CCW)."""
    c, h = np.asarray(center, float), np.asarray(size, float) / 2
    v = np.array([[x, y, z] for z in (-1, 1) for y in (-1, 1) for x in (-1, 1)], float) * h + c
    f = [
        (0, 2, 1), (1, 2, 3), (4, 5, 6), (5, 7, 6),  # bottom, top
        (0, 1, 4), (1, 5, 4), (2, 6, 3), (3, 6, 7),  # south, north
        (0, 4, 2), (2, 4, 6), (1, 3, 5), (3, 7, 5),  # west, east
    ]  # fmt: skip
    return v, np.array(f)


def quad(corners: list[tuple[float, float, float]]) -> tuple[np.ndarray, np.ndarray]:
    return np.array(corners, float), np.array([[0, 1, 2], [0, 2, 3]])


def ellipsoid(
    center: np.ndarray, radii: tuple[float, float, float], n: int = 20
) -> tuple[np.ndarray, np.ndarray]:
    """UV ellipsoid: ``n`` latitude x ``n`` longitude cells (2 n (n - 1) triangles)."""
    lat = np.linspace(0, np.pi, n + 1)[1:-1]
    lon = np.linspace(0, 2 * np.pi, n, endpoint=False)
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    ring = np.stack([np.sin(la) * np.cos(lo), np.sin(la) * np.sin(lo), np.cos(la)], -1).reshape(
        -1, 3
    )
    v = np.concatenate([[[0, 0, 1]], ring, [[0, 0, -1]]]) * np.asarray(radii) + center
    faces = []
    for j in range(n):
        faces.append((0, 1 + j, 1 + (j + 1) % n))
    for i in range(n - 2):
        for j in range(n):
            a, b = 1 + i * n + j, 1 + i * n + (j + 1) % n
            faces += [(a, a + n, b), (b, a + n, b + n)]
    last = len(v) - 1
    base = 1 + (n - 2) * n
    for j in range(n):
        faces.append((last, base + (j + 1) % n, base + j))
    return v, np.array(faces)


def room() -> list[Mesh]:
    """Static part of the benchmark scene: walls, floor, ceiling and five furniture boxes."""
    w, d, h = 5.0, 4.0, 2.7
    out = [
        Mesh("floor", "floor", *quad([(0, 0, 0), (w, 0, 0), (w, d, 0), (0, d, 0)]), "floorboard"),
        Mesh(
            "ceiling",
            "ceiling",
            *quad([(0, 0, h), (0, d, h), (w, d, h), (w, 0, h)]),
            "ceiling_board",
        ),
        Mesh("wall_s", "wall", *quad([(0, 0, 0), (0, 0, h), (w, 0, h), (w, 0, 0)]), "concrete"),
        Mesh("wall_n", "wall", *quad([(0, d, 0), (w, d, 0), (w, d, h), (0, d, h)]), "concrete"),
        Mesh("wall_w", "wall", *quad([(0, 0, 0), (0, d, 0), (0, d, h), (0, 0, h)]), "plasterboard"),
        Mesh("wall_e", "wall", *quad([(w, 0, 0), (w, 0, h), (w, d, h), (w, d, 0)]), "plasterboard"),
    ]
    furniture = [
        ("sofa_0", "sofa", (1.2, 3.5, 0.4), (2.0, 0.8, 0.8), "chipboard"),
        ("table_0", "table", (1.2, 2.4, 0.25), (1.0, 0.6, 0.5), "wood"),
        ("cabinet_0", "cabinet", (4.6, 3.0, 0.9), (0.5, 1.2, 1.8), "chipboard"),
        ("tv_0", "tv", (4.9, 1.5, 1.2), (0.06, 1.2, 0.7), "glass"),
        ("radiator_0", "radiator", (2.5, 3.9, 0.4), (1.0, 0.1, 0.6), "metal"),
    ]
    out += [Mesh(n, lab, *box(c, s), m) for n, lab, c, s, m in furniture]
    return out


def person(t: float, n: int = 20) -> Mesh:
    """A 1.75 m body of 6 ellipsoids (~4.6k triangles) walking along +x at 1 m/s, arms swinging."""
    speed, swing_hz = 1.0, 1.0
    root = np.array([1.0 + speed * t, 1.8, 0.0])
    parts = [  # (offset from root, radii, swing amplitude [m] along x)
        ((0.0, 0.0, 1.25), (0.18, 0.12, 0.30), 0.0),  # torso
        ((0.0, 0.0, 1.65), (0.10, 0.10, 0.12), 0.0),  # head
        ((0.0, -0.25, 1.20), (0.05, 0.05, 0.30), 0.25),  # left arm
        ((0.0, 0.25, 1.20), (0.05, 0.05, 0.30), -0.25),  # right arm
        ((0.0, -0.10, 0.45), (0.07, 0.07, 0.45), -0.15),  # left leg
        ((0.0, 0.10, 0.45), (0.07, 0.07, 0.45), 0.15),  # right leg
    ]
    vs, fs, vels, ids, base = [], [], [], [], 0
    w = 2 * np.pi * swing_hz
    for i, (off, radii, amp) in enumerate(parts):
        dx = amp * np.sin(w * t)
        v, f = ellipsoid(root + np.asarray(off) + [dx, 0, 0], radii, n)
        vel = np.tile([speed + amp * w * np.cos(w * t), 0.0, 0.0], (len(v), 1))
        vs.append(v)
        fs.append(f + base)
        vels.append(vel)
        ids.append(np.full(len(v), i))
        base += len(v)
    return Mesh(
        "person_0", "person", np.concatenate(vs), np.concatenate(fs), "skin",
        np.concatenate(vels), np.concatenate(ids),
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--frames", type=int, default=20, help="timed frames (after 2 warm-up frames)"
    )
    parser.add_argument(
        "--samples", type=int, default=20_000, help="rays per frame (samples_per_src)"
    )
    parser.add_argument("--depth", type=int, default=2, help="max interactions per path")
    parser.add_argument("--profile", default="iwr1843boost_raw_activity")
    args = parser.parse_args(argv)

    from sim.propagation._mitsuba import import_sionna
    from sim.propagation.sionna_rt import SionnaTracer

    mi, _dr, _rt = import_sionna()
    cfg = load_cfg(profile_path(args.profile)).chirp
    pose = RadarPose((2.5, 0.05, 2.0), yaw_deg=0.0, pitch_deg=-10.0)
    static = room()
    dt = cfg.frame_period_s
    num_tris = sum(m.faces.shape[0] for m in static) + person(0.0).faces.shape[0]
    print(
        f"variant {mi.variant()}, {os.cpu_count()} CPUs; scene {len(static) + 1} meshes, {num_tris} "
        f"triangles (person {person(0.0).faces.shape[0]}); rays {args.samples}, depth {args.depth}; "
        f"frame period {dt * 1e3:.0f} ms"
    )
    times, stages, npaths = [], [], []
    with SionnaTracer(cfg, max_depth=args.depth, samples_per_src=args.samples) as tracer:
        for i in range(args.frames + 2):
            meshes = [*static, person(i * dt)]
            t0 = time.perf_counter()
            ps = tracer.trace(meshes, pose, i * dt)
            elapsed = time.perf_counter() - t0
            if i < 2:
                print(f"warm-up frame {i}: {elapsed:.2f} s ({ps.num_paths} paths)")
                continue
            times.append(elapsed)
            stages.append(tracer.last_timing)
            npaths.append(ps.num_paths)
    med = statistics.median(times)
    split = {k: statistics.median(s[k] for s in stages) for k in stages[0]}
    on_person = ps.object_names.index("person_0")
    print(
        f"sionna_rt: median {med:.3f} s/frame (min {min(times):.3f}, max {max(times):.3f}) over "
        f"{len(times)} frames; sync {split['sync_s']:.3f} solve {split['solve_s']:.3f} convert "
        f"{split['convert_s']:.3f}; paths/frame median {int(statistics.median(npaths))} "
        f"({int(np.sum(ps.object_ids == on_person))} on the person in the last frame)"
    )
    print(f"target <= 0.25 s/frame: {'met' if med <= 0.25 else 'NOT met'}")

    try:
        from sim.propagation.scatter import trace_scatter
    except ImportError:
        print("scatterer backend (sim.propagation.scatter) not available: no ratio")
        return 0
    st = []
    for i in range(args.frames + 1):
        meshes = [*static, person(i * dt)]
        t0 = time.perf_counter()
        ps_s = trace_scatter(meshes, pose, cfg, i * dt)
        if i:
            st.append(time.perf_counter() - t0)
    med_s = statistics.median(st)
    print(
        f"scatter:   median {med_s:.3f} s/frame, {ps_s.num_paths} paths; "
        f"sionna_rt / scatter = {med / med_s:.1f}x"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
