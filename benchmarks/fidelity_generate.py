"""Generate simulated RadHAR-setup windows for ``benchmarks/fidelity_report.py`` (one code tree).

    python benchmarks/fidelity_generate.py --code-root /work/main --out /work/data/fidelity/before \
        --samples 2 --window-s 1.0

Runs the simulator of the code tree ``--code-root`` (default: this checkout; ``/work/main`` or a ref
checkout gives the "before" figures) on ``sample_scenario(setup="radhar", prompt="a person <activity>
in the office")`` with ``simulate_sample(outputs=("points",))`` (6-8 s per 1 s window with
the embree ray caster on the shared, loaded 2-core machine) and writes one ``<activity>_<k>.npz``
per window: ``points`` (structured POINT_DTYPE fields x, y, z, v, snr as plain arrays),
``offsets [frames + 1]``, ``pelvis_radar [frames, 3]`` (the person's mean position in the radar frame
[m]). Existing files are kept (a cache), so an interrupted run resumes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ACTIVITIES = ("boxing", "jumping_jacks", "jump", "squats", "walk")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--code-root", type=Path, default=Path(__file__).resolve().parents[1])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--samples", type=int, default=2, help="windows per activity")
    ap.add_argument("--window-s", type=float, default=1.0, help="window length [s]")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--activities", default=",".join(ACTIVITIES))
    args = ap.parse_args(argv)
    sys.path.insert(0, str(args.code_root.resolve()))
    import numpy as np

    from sim.dataset.scenario import sample_scenario
    from sim.dataset.simulate import simulate_sample

    args.out.mkdir(parents=True, exist_ok=True)
    for k in range(args.samples):
        for act in args.activities.split(","):
            path = args.out / f"{act}_{k}.npz"
            if path.exists():
                continue
            t0 = time.perf_counter()
            prompt = f"a person {act.replace('_', ' ')} in the office"
            sc = sample_scenario(
                args.seed, k, radar="random", prompt=prompt, window_s=args.window_s, setup="radhar"
            )
            data = simulate_sample(sc, outputs=("points",))
            pts = data.arrays["points"]
            tmp = path.with_suffix(".tmp.npz")
            np.savez(
                tmp,
                **{f: np.asarray(pts[f], np.float32) for f in ("x", "y", "z", "v", "snr")},
                offsets=data.arrays["points_offsets"],
                pelvis_radar=data.arrays["positions_radar"][0],
                frame_period_s=np.float64(sc.radar_config().chirp.frame_period_s),
            )
            tmp.rename(path)
            print(f"{path.name}: {len(pts)} points, {time.perf_counter() - t0:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
