"""`mmfm sim generate` end to end: samples/s of the scatter backend, numpy vs embree occlusion.

    .venv/bin/python benchmarks/bench_sim_generate.py                 # ~10 min on 2 busy cores
    .venv/bin/python benchmarks/bench_sim_generate.py --num 4 --repeats 3 --window-s 2

Through the real CLI code path (``sim.dataset.writer.generate``) with the CLI's defaults (``--radar
random``: the default profile mix, 2 s windows, outputs points + spectrogram, default density and wall
multipath), in one run and side by side:

1. ``raycaster="numpy"`` (today's path: every frame traced from scratch, the angular-grid
   Moller-Trumbore occlusion) against ``"embree"`` (Embree BVH, static scene prepared once per sample),
   the same samples, alternating, ``--repeats`` times; medians and their ratio.
2. ``--workers 1`` against ``--workers 2`` (embree), twice the samples; the scaling ratio, with
   one Embree thread per worker process (what ``generate`` does) and with Embree's default (every
   CPU per process: 2 processes x 2 threads on 2 cores), ``--worker-repeats`` times, medians.
3. On a fixed scene (seed 0, sample 0, 0.5 s, ADC output): the maximum difference of the synthesised
   ADC between the two raycasters, and the hit/miss decisions on the scene's scatterer rays.

With ``--baseline-tree DIR`` (a checkout of an older commit, e.g. ``git archive f845a89 | tar -x -C
DIR``) that commit's code runs the same samples in a subprocess as a third column of part 1, and part 3
also prints the ADC difference between it and embree (that commit's occlusion grid missed triangles
whose edges pass over the radar, so it differs by more than ties).

Speed figures depend on the machine's load: say whether it was shared.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


#: CPU seconds per sample by configuration (this process's CPU time: one worker only).
CPU: dict[str, list[float]] = {}


def run(label: str, spec: object, out: Path, workers: int = 1) -> float:
    """Generate ``spec`` into ``out``; print and return samples/s."""
    from sim.dataset.writer import generate

    t0, c0 = time.perf_counter(), time.process_time()
    report = generate(out, spec, num_shards=1, workers=workers)  # type: ignore[arg-type]
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    rate = report.samples_written / dt
    cpu_txt = f"  {cpu / report.samples_written:6.2f} CPU s/sample" if workers == 1 else ""
    print(
        f"  {label:34s} {report.samples_written:3d} samples {report.frames_written:5d} frames "
        f"{dt:7.1f} s  {rate:7.3f} samples/s{cpu_txt}",
        flush=True,
    )
    if workers == 1:
        CPU.setdefault(label.split(" ")[0], []).append(cpu / report.samples_written)
    return rate


BASELINE_CODE = """
import json, sys, tempfile, time
from pathlib import Path
from sim.dataset.simulate import TraceOptions
from sim.dataset.writer import GenerateSpec, generate
num, seed, window_s, adc_out = json.loads(sys.argv[1])
if adc_out:
    import numpy as np
    from sim.dataset.scenario import sample_scenario
    from sim.dataset.simulate import simulate_sample
    d = simulate_sample(sample_scenario(0, 0, window_s=0.5), outputs=("adc",))
    np.save(adc_out, d.arrays["adc"])
    raise SystemExit(0)
spec = GenerateSpec(num=num, seed=seed, window_s=window_s, outputs=("points", "spectrogram"),
                    trace=TraceOptions())
with tempfile.TemporaryDirectory() as tmp:
    t0, c0 = time.perf_counter(), time.process_time()
    rep = generate(Path(tmp) / "d", spec, num_shards=1)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
print(json.dumps([rep.samples_written, rep.frames_written, dt, cpu]))
"""


def run_baseline(tree: Path, num: int, seed: int, window_s: float, adc_out: str = "") -> float:
    """Samples/s of the code in ``tree`` (a subprocess; imports not timed), or write its ADC."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    args = json.dumps([num, seed, window_s, adc_out])
    res = subprocess.run(
        [sys.executable, "-c", BASELINE_CODE, args],
        env=env,
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    )
    if adc_out:
        return 0.0
    n, nf, dt, cpu = json.loads(res.stdout.strip().splitlines()[-1])
    rate = n / dt
    print(
        f"  {'baseline tree':34s} {n:3d} samples {nf:5d} frames {dt:7.1f} s  {rate:7.3f} samples/s"
        f"  {cpu / n:6.2f} CPU s/sample",
        flush=True,
    )
    CPU.setdefault("baseline", []).append(cpu / n)
    return rate


def accuracy(baseline: Path | None) -> None:
    """ADC and ray decisions of numpy vs embree on a fixed scene."""
    import numpy as np

    from sim.dataset.scenario import sample_scenario
    from sim.dataset.simulate import TraceOptions, simulate_sample
    from sim.propagation.raycast import make_occluder
    from sim.propagation.scatter import (
        DEFAULT_DENSITY_PER_M2,
        _scene_triangles,
        sample_scatterers,
    )

    sc = sample_scenario(0, 0, window_s=0.5)
    adc = {}
    for rc in ("numpy", "embree"):
        data = simulate_sample(sc, outputs=("adc",), trace_options=TraceOptions(raycaster=rc))
        adc[rc] = data.arrays["adc"].astype(np.int64)
    diff = np.abs(adc["numpy"] - adc["embree"]).max()
    print(
        f"fixed scene (seed 0 sample 0, {sc.radar_profile}, 0.5 s): max |ADC numpy - embree| = "
        f"{diff} LSB (ADC max |x| = {np.abs(adc['numpy']).max()} LSB)"
    )
    scene = sc.scene()
    meshes = scene.static_meshes() + [h.mesh_at(0.1) for h in sc.humans()]
    origin = np.asarray(scene.radar.position)
    tris = _scene_triangles(meshes)
    pts = sample_scatterers(meshes, DEFAULT_DENSITY_PER_M2, sc.scatter_seed).position
    a = make_occluder("numpy", origin, tris).occluded(pts)
    b = make_occluder("embree", origin, tris).occluded(pts)
    print(
        f"  ray decisions on its {len(pts)} scatterer rays: {int((a != b).sum())} differ "
        f"({int(a.sum())} hidden)"
    )
    if baseline is not None:
        with tempfile.TemporaryDirectory() as tmp:
            out = str(Path(tmp) / "adc.npy")
            run_baseline(baseline, 0, 0, 0.5, adc_out=out)
            old = np.load(out).astype(np.int64)
        d_old = np.abs(old - adc["embree"])
        print(
            f"  baseline tree vs embree: max |dADC| = {d_old.max()} LSB, rms {np.sqrt((d_old**2).mean()):.1f}"
            f" LSB (rms ADC {np.sqrt((old**2).mean()):.1f} LSB)"
        )


def main() -> int:
    from sim.dataset.simulate import TraceOptions
    from sim.dataset.writer import GenerateSpec

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--num", type=int, default=3, help="samples per run (default 3)")
    ap.add_argument("--repeats", type=int, default=2, help="runs per raycaster (default 2)")
    ap.add_argument("--window-s", type=float, default=2.0, help="window [s] (default 2, the CLI's)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-workers", action="store_true", help="skip the workers scaling part")
    ap.add_argument(
        "--worker-repeats", type=int, default=1, help="runs per workers setting (default 1)"
    )
    ap.add_argument("--skip-accuracy", action="store_true", help="skip part 3")
    ap.add_argument("--baseline-tree", type=Path, help="checkout of an older commit to run too")
    ap.add_argument("--skip-numpy", action="store_true", help="no numpy raycaster runs in part 1")
    args = ap.parse_args()

    def spec(rc: str, num: int) -> GenerateSpec:
        return GenerateSpec(
            num=num,
            seed=args.seed,
            window_s=args.window_s,
            outputs=("points", "spectrogram"),
            trace=TraceOptions(raycaster=rc),
        )

    rates: dict[str, list[float]] = {"numpy": [], "embree": [], "baseline": []}
    with tempfile.TemporaryDirectory() as tmp:
        print(f"1. raycaster, default profile mix, {args.num} samples of {args.window_s:g} s:")
        for r in range(args.repeats):
            for rc in ("embree",) if args.skip_numpy else ("numpy", "embree"):
                out = Path(tmp) / f"{rc}{r}"
                rates[rc].append(run(f"{rc} (run {r + 1})", spec(rc, args.num), out))
            if args.baseline_tree is not None:
                rates["baseline"].append(
                    run_baseline(args.baseline_tree, args.num, args.seed, args.window_s)
                )
        med = {k: statistics.median(v) for k, v in rates.items() if v}
        cpu = {k: statistics.median(v) for k, v in CPU.items() if v}
        for ref in ("numpy", "baseline"):
            if ref in med:
                print(
                    f"   median samples/s: {ref} {med[ref]:.3f}, embree {med['embree']:.3f}: "
                    f"ratio embree/{ref} {med['embree'] / med[ref]:.2f}x; CPU s/sample "
                    f"{cpu[ref]:.2f} vs {cpu['embree']:.2f}: {cpu[ref] / cpu['embree']:.2f}x"
                )
        if not args.skip_workers:
            n2 = 2 * args.num
            print(f"2. workers (embree), {n2} samples:")
            from sim.dataset import writer

            w1, w2, w2_all = [], [], []
            for r in range(args.worker_repeats):
                w1.append(run("--workers 1", spec("embree", n2), Path(tmp) / f"w1-{r}", workers=1))
                writer.WORKER_EMBREE_THREADS = 0  # the reference: Embree's default threads
                w2_all.append(
                    run(
                        "--workers 2, Embree all threads",
                        spec("embree", n2),
                        Path(tmp) / f"w2a-{r}",
                        workers=2,
                    )
                )
                writer.WORKER_EMBREE_THREADS = 1
                w2.append(
                    run(
                        "--workers 2, Embree 1 thread each",
                        spec("embree", n2),
                        Path(tmp) / f"w2-{r}",
                        workers=2,
                    )
                )
            m1, m2, m2a = (statistics.median(v) for v in (w1, w2, w2_all))
            print(
                f"   median scaling workers 2/1: {m2 / m1:.2f}x with 1 Embree thread per worker, "
                f"{m2a / m1:.2f}x with Embree's default threads (ratio {m2 / m2a:.2f}x); "
                f"CPUs: {os.cpu_count()}"
            )
    if not args.skip_accuracy:
        print("3. accuracy:")
        accuracy(args.baseline_tree)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
