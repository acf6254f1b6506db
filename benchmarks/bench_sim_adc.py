"""ADC synthesis frames/s from paths, against a brute-force per-sample reference on the same paths.

How to run (from the repository root)::

    .venv/bin/python benchmarks/bench_sim_adc.py                 # 20 frames x 3, 48 reference paths
    .venv/bin/python benchmarks/bench_sim_adc.py --frames 5 --repeats 1 --reference-paths 16  # quick

Scene: a 4 m x 5 m x 2.6 m concrete box room and one human-sized body built here (a 1.75 m column of
ellipsoids: head, torso, two arms, two legs, skin) walking at 1.2 m/s diagonally with swinging limbs
(limb speeds up to ~3.5 m/s), seen by an AWR1843BOOST frame of 3 TX x 4 RX x 128 loops x 256 samples.
The scatterer backend (:func:`sim.propagation.scatter.trace_scatter`, default densities, single wall
reflections) traces one PathSet per frame; the benchmark times only the ADC synthesis:

* ``synthesize_paths``: the exact fast path synthesis (noiseless), median over ``--repeats`` passes
  over the frames (interleaved with the next);
* ``synthesize_adc``: the same plus the receiver (scaling, HPF, phase noise, thermal noise, quantisation);
* the reference: :func:`sim.radar.adc.synthesize_paths_reference` (plain loop over paths, the exact formula
  at every sample's absolute time) on a random subset of ``--reference-paths`` paths of the first
  frame, scaled per path to the full path count (its cost is linear in paths); the error is measured on
  that subset (fast synthesis of the same subset vs the reference, max |diff| / max |ref|).

Threads are pinned to one (OMP/OPENBLAS/MKL and ``scipy.fft`` workers=1). Wall time and the thread's
CPU time are both reported: on a shared machine the CPU time is the steadier of the two (other jobs
still slow it through the shared caches).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from firmware_cfg import load_cfg  # noqa: E402
from sim.geometry import Mesh, RadarPose  # noqa: E402
from sim.propagation.paths import PathSet  # noqa: E402
from sim.propagation.scatter import trace_scatter  # noqa: E402
from sim.radar.adc import (  # noqa: E402
    synthesize_adc,
    synthesize_paths,
    synthesize_paths_reference,
)


def ellipsoid(center, radii, n_lat: int = 10, n_lon: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """A UV ellipsoid: vertices [V, 3], outward faces [F, 3]."""
    lat = np.linspace(0, np.pi, n_lat + 1)[1:-1]
    lon = np.linspace(0, 2 * np.pi, n_lon, endpoint=False)
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    unit = np.stack([np.sin(la) * np.cos(lo), np.sin(la) * np.sin(lo), np.cos(la)], -1).reshape(
        -1, 3
    )
    verts = np.vstack([[0, 0, 1], unit, [0, 0, -1]]) * radii + center
    faces = []
    ring = lambda i, j: 1 + i * n_lon + (j % n_lon)  # noqa: E731
    for j in range(n_lon):
        faces.append([0, ring(0, j), ring(0, j + 1)])
        faces.append([len(verts) - 1, ring(n_lat - 2, j + 1), ring(n_lat - 2, j)])
    for i in range(n_lat - 2):
        for j in range(n_lon):
            a, b, c, d = ring(i, j), ring(i + 1, j), ring(i + 1, j + 1), ring(i, j + 1)
            faces += [[a, b, c], [a, c, d]]
    return verts, np.asarray(faces, dtype=np.int64)


def walker(t: float) -> Mesh:
    """A walking body at time t: torso translating at 1.2 m/s, limbs swinging at 1 Hz."""
    heading = np.array([0.6, 0.8, 0.0])  # walking away from the radar, diagonally
    v_body = 1.2 * heading
    base = np.array([-1.0, 1.5, 0.0]) + v_body * t
    parts = []  # (center, radii, velocity) in world coordinates
    parts.append((base + np.array([0.0, 0.0, 1.62]), (0.10, 0.11, 0.12), v_body))  # head
    parts.append((base + np.array([0.0, 0.0, 1.20]), (0.18, 0.12, 0.30), v_body))  # torso
    swing = 0.45 * np.sin(2 * np.pi * 1.0 * t)
    dswing = 0.45 * 2 * np.pi * np.cos(2 * np.pi * 1.0 * t)
    side = np.array([0.8, -0.6, 0.0])
    for sgn, z, radii, amp in (
        (1, 1.15, (0.05, 0.05, 0.30), 1.0),
        (1, 0.45, (0.08, 0.08, 0.42), -1.0),
    ):
        for lr in (-1, 1):
            phase = sgn * lr * amp
            off = heading * (phase * swing * 0.5)
            vel = v_body + heading * (phase * dswing * 0.5)
            width = 0.24 if z > 1 else 0.10
            parts.append((base + lr * width * side + off + [0, 0, z], radii, vel))
    verts, faces, vels, pids = [], [], [], []
    n = 0
    for pid, (c, r, v) in enumerate(parts):
        vv, ff = ellipsoid(np.asarray(c), np.asarray(r), 12, 20)
        verts.append(vv)
        faces.append(ff + n)
        vels.append(np.tile(v, (len(vv), 1)))
        pids.append(np.full(len(vv), pid))
        n += len(vv)
    return Mesh("person_0", "person", np.vstack(verts), np.vstack(faces), "skin", np.vstack(vels),
                np.concatenate(pids))  # fmt: skip


def room() -> list[Mesh]:
    x0, x1, y0, y1, z0, z1 = -2.0, 2.0, -0.2, 5.0, 0.0, 2.6
    quads = {
        "wall_west": ([x0, y0, z0], [x0, y0, z1], [x0, y1, z1], [x0, y1, z0]),
        "wall_east": ([x1, y0, z0], [x1, y1, z0], [x1, y1, z1], [x1, y0, z1]),
        "wall_north": ([x0, y1, z0], [x0, y1, z1], [x1, y1, z1], [x1, y1, z0]),
        "wall_south": ([x0, y0, z0], [x1, y0, z0], [x1, y0, z1], [x0, y0, z1]),
        "floor": ([x0, y0, z0], [x0, y1, z0], [x1, y1, z0], [x1, y0, z0]),
        "ceiling": ([x0, y0, z1], [x1, y0, z1], [x1, y1, z1], [x0, y1, z1]),
    }
    out = []
    for name, c in quads.items():
        label = "wall" if name.startswith("wall") else name
        out.append(
            Mesh(name, label, np.asarray(c, float), np.array([[0, 1, 2], [0, 2, 3]]), "concrete")
        )
    return out


def subset(ps: PathSet, idx: np.ndarray) -> PathSet:
    return PathSet(ps.t_ref_s, ps.delay_s[idx], ps.delay_rate[idx], ps.gain[:, :, idx],
                   ps.object_ids[idx], ps.part_ids[idx], ps.bounces[idx], ps.object_names)  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--reference-paths", type=int, default=48)
    ap.add_argument("--repeats", type=int, default=3, help="timed passes over the frames")
    args = ap.parse_args()
    rc = load_cfg("iwr1843boost_raw_activity")
    cfg = rc.chirp
    pose = RadarPose((0.0, 0.0, 1.2), 0.0, -5.0)
    walls = room()
    sets = []
    t_trace = []
    for i in range(args.frames):
        t0 = i * cfg.frame_period_s
        t_mid = t0 + 0.5 * cfg.frame_active_time_s
        tic = time.perf_counter()
        sets.append(trace_scatter([*walls, walker(t_mid)], pose, cfg, t_mid, rng=0))
        t_trace.append(time.perf_counter() - tic)
    ps0 = sets[0]
    moving = int(np.count_nonzero(ps0.delay_rate))
    print(f"frame {cfg.frame_shape}, paths per frame {np.mean([s.num_paths for s in sets]):.0f} "
          f"(frame 0: {ps0.num_paths}, moving {moving}, multipath {int(np.sum(ps0.bounces > 1))}); "
          f"trace median {1e3 * np.median(t_trace):.0f} ms")  # fmt: skip
    synthesize_paths(cfg, ps0, frame_index=0)  # plans and caches
    rng = np.random.default_rng(0)
    wall: dict[str, list[float]] = {"paths": [], "adc": []}
    cpu: dict[str, list[float]] = {"paths": [], "adc": []}
    for _ in range(args.repeats):
        for i, ps in enumerate(sets):
            for name, synthesize, kwargs in (
                ("paths", synthesize_paths, {}),
                ("adc", synthesize_adc, {"rng": rng}),
            ):
                tic, tic_cpu = time.perf_counter(), time.thread_time()
                synthesize(cfg, ps, frame_index=i, **kwargs)
                cpu[name].append(time.thread_time() - tic_cpu)
                wall[name].append(time.perf_counter() - tic)
    idx = np.sort(
        rng.choice(ps0.num_paths, min(args.reference_paths, ps0.num_paths), replace=False)
    )
    sub = subset(ps0, idx)
    tic, tic_cpu = time.perf_counter(), time.thread_time()
    ref = synthesize_paths_reference(cfg, sub, frame_index=0)
    scale = ps0.num_paths / idx.size
    ref_s = (time.perf_counter() - tic) * scale
    ref_cpu_s = (time.thread_time() - tic_cpu) * scale
    err = float(np.abs(synthesize_paths(cfg, sub, frame_index=0) - ref).max() / np.abs(ref).max())
    med = {k: float(np.median(v)) for k, v in wall.items()}
    med_cpu = {k: float(np.median(v)) for k, v in cpu.items()}
    for name, label, note in (
        ("paths", "synthesize_paths", ""),
        ("adc", "synthesize_adc", "; + receiver"),
    ):
        print(f"{label:17s} median {1e3 * med[name]:6.1f} ms = {1 / med[name]:5.1f} frames/s wall, "
              f"{1e3 * med_cpu[name]:6.1f} ms = {1 / med_cpu[name]:5.1f} frames/s CPU "
              f"(min {1e3 * min(wall[name]):.1f} ms{note})")  # fmt: skip
    print(f"reference         {ref_s:.1f} s wall, {ref_cpu_s:.1f} s CPU per frame of {ps0.num_paths} "
          f"paths (timed on {idx.size}, scaled per path)")  # fmt: skip
    print(f"speed-up wall {ref_s / med['paths']:.0f}x (synthesize_paths) / {ref_s / med['adc']:.0f}x "
          f"(synthesize_adc), CPU {ref_cpu_s / med_cpu['paths']:.0f}x / {ref_cpu_s / med_cpu['adc']:.0f}x; "
          f"max relative error on the subset {err:.2e}")  # fmt: skip
    print("targets: >= 30 frames/s, >= 1000x, <= 1e-3")


if __name__ == "__main__":
    main()
