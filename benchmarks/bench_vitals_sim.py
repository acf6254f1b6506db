"""Vital signs through the whole simulator and the runtime's estimator, over many subjects.

    .venv/bin/python benchmarks/bench_vitals_sim.py               # 13 subjects x 60 s, ~6-10 min
    .venv/bin/python benchmarks/bench_vitals_sim.py --cases 4 --jobs 1

Each case is one person standing still 1.5 m in front of the radar (at 1.2 m height, level), facing
it, with their own body (height, build, age group, sex), breathing and heart rates, amplitudes and
rate wander. Frames go the way a dataset's frames go: ``Human.mesh_at`` -> the scatterer backend ->
ADC synthesis with the calibrated receiver model (:class:`sim.radar.virtual_radar.VirtualRadar`),
with the bundled ``iwr1843boost_vitals`` profile (1 TX x 4 RX x 16 loops x 128 samples, 20 frames/s).
The runtime then estimates the rates (:mod:`runtime.dsp.vitals`) two ways:

- the runtime's way (the leading edge of the moving echo, :func:`runtime.dsp.vitals.chest_bin`, and
  the phase around the I/Q circle's centre, :func:`runtime.dsp.vitals.circle_centre`) and, for
  comparison, the plain way (the strongest bin in the gate, the phase around 0:
  ``edge_db=None, remove_static=False``), on the whole record;
- the event engine's way: 30 s windows (half-overlapping) with the leading edge, counting how many
  heart estimates would be reported at the engine's ``min_heart_quality`` and how many of those are
  more than 3/min off.

Truth is the mean of the ground-truth instantaneous rates over the analysed samples.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

#: (subject, breathing /min, heart /min, breathing p-p [m], heart p-p [m], seed)
CASES: list[tuple[dict[str, Any], float, float, float, float, int]] = [
    ({}, 15.0, 72.0, 0.007, 0.0004, 0),
    ({}, 12.0, 58.0, 0.005, 0.0003, 1),
    ({}, 18.0, 85.0, 0.006, 0.0004, 2),
    ({}, 20.0, 100.0, 0.004, 0.0005, 3),
    ({}, 10.0, 66.0, 0.008, 0.0003, 4),
    ({}, 16.0, 77.0, 0.005, 0.0002, 5),
    ({}, 14.0, 92.0, 0.007, 0.0004, 6),
    ({"height_m": 1.85, "build": "heavy", "sex": "male"}, 13.0, 62.0, 0.005, 0.0003, 11),
    ({"height_m": 1.60, "build": "slim"}, 17.0, 88.0, 0.006, 0.0004, 12),
    ({"height_m": 1.75, "sex": "male"}, 11.0, 74.0, 0.007, 0.0003, 13),
    ({"height_m": 1.65, "build": "heavy", "age_group": "elderly"}, 22.0, 95.0, 0.004, 0.0004, 14),
    ({"height_m": 1.78, "build": "slim", "sex": "male"}, 8.0, 57.0, 0.008, 0.0002, 15),
    ({"height_m": 1.68}, 15.0, 80.0, 0.006, 0.0003, 16),
]
GATE_M = (1.0, 2.0)
WINDOW_S = 30.0


def run_case(case: tuple, duration_s: float) -> dict[str, Any]:
    """Render one case and estimate its rates; returns figures for the table."""
    import numpy as np

    from firmware_cfg import load_cfg
    from runtime.dsp.range import range_axis_m
    from runtime.dsp.vitals import CHEST_EDGE_DB, chest_from_slow_time, slow_time, vital_rates
    from runtime.events.settings import VitalsSettings
    from sim.geometry import RadarPose
    from sim.humans import Human, Segment, Subject, Timeline
    from sim.radar.adc import frame_mid_time
    from sim.radar.virtual_radar import VirtualRadar

    subject, breathing, heart, b_amp, h_amp, seed = case
    rc = load_cfg("iwr1843boost_vitals")
    cfg = rc.chirp
    timeline = Timeline(
        [Segment("stand", 0.0, duration_s + 1.0, {"sway": 0.0})],
        start_position=(0.0, 1.5),
        start_heading=-np.pi / 2,
    )
    person = Human(
        Subject(**subject),
        timeline,
        breathing_per_min=breathing,
        heart_per_min=heart,
        breathing_amplitude_m=b_amp,
        heart_amplitude_m=h_amp,
        seed=seed,
    )
    radar = RadarPose((0.0, 0.0, 1.2), 0.0, 0.0)
    trace = {"density_per_m2": {"person": 600.0}, "max_bounces": 1}
    src = VirtualRadar(rc, lambda t: ([person.mesh_at(t)], radar), seed=0, trace_kwargs=trace)
    indices = range(round(duration_s / cfg.frame_period_s))
    t0 = time.perf_counter()
    z = np.concatenate([slow_time(src.frame(i).data[None], rc) for i in indices])
    render_s = time.perf_counter() - t0
    truth = person.ground_truth_series(
        [frame_mid_time(cfg, i * cfg.frame_period_s) for i in indices]
    )
    axis, fs = range_axis_m(rc), 1.0 / cfg.frame_period_s

    def estimate(lo: int, hi: int, plain: bool) -> tuple[float, float, float, float]:
        disp, _ = chest_from_slow_time(
            z[lo:hi],
            axis,
            GATE_M,
            cfg.wavelength_m,
            edge_db=None if plain else CHEST_EDGE_DB,
            remove_static=not plain,
        )
        r = vital_rates(disp, fs)
        return (
            r.breathing.per_min - float(truth["breathing_per_min"][lo:hi].mean()),
            r.heart.per_min - float(truth["heart_per_min"][lo:hi].mean()),
            r.heart.quality,
            r.breathing.quality,
        )

    n = z.shape[0]
    win = round(WINDOW_S * fs)
    min_q = VitalsSettings().min_heart_quality
    windows = [estimate(s, s + win, False) for s in range(0, n - win + 1, win // 2)]
    return {
        "case": case,
        "render_s": render_s,
        "frames": n,
        "edge": estimate(0, n, False),
        "strongest": estimate(0, n, True),
        "windows": len(windows),
        "win_breathing_ok": sum(abs(w[0]) < 1.0 for w in windows),
        "win_reported": sum(w[2] >= min_q for w in windows),
        "win_wrong": sum(w[2] >= min_q and abs(w[1]) >= 3.0 for w in windows),
        "win_heart_ok": sum(abs(w[1]) < 3.0 for w in windows),
        "min_q": min_q,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=len(CASES), help="first N cases")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds per case")
    ap.add_argument("--jobs", type=int, default=2, help="processes")
    args = ap.parse_args()
    cases = CASES[: args.cases]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(run_case, cases, [args.duration] * len(cases)))
    print(f"{len(cases)} cases x {args.duration:.0f} s, {time.perf_counter() - t0:.0f} s wall")
    print(
        "case subject                               br/min hr/min | runtime: d_br  d_hr  q_hr"
        " | plain: d_br  d_hr  q_hr | 30 s windows: br ok, hr ok, reported, wrong"
    )
    tally = {"edge_br": 0, "edge_hr": 0, "str_br": 0, "str_hr": 0, "w": 0, "wb": 0, "wh": 0}
    tally |= {"rep": 0, "wrong": 0}
    for i, r in enumerate(results):
        subject, br, hr, *_ = r["case"]
        e, s = r["edge"], r["strongest"]
        who = ",".join(f"{k}={v}" for k, v in subject.items()) or "default"
        print(
            f"{i:4d} {who:36s} {br:6.1f} {hr:6.1f} | {e[0]:+13.2f} {e[1]:+5.1f} {e[2]:5.1f}"
            f" | {s[0]:+10.2f} {s[1]:+5.1f} {s[2]:5.1f}"
            f" | {r['win_breathing_ok']}/{r['windows']}, {r['win_heart_ok']}/{r['windows']},"
            f" {r['win_reported']}, {r['win_wrong']}"
        )
        tally["edge_br"] += abs(e[0]) < 1.0
        tally["edge_hr"] += abs(e[1]) < 3.0
        tally["str_br"] += abs(s[0]) < 1.0
        tally["str_hr"] += abs(s[1]) < 3.0
        tally["w"] += r["windows"]
        tally["wb"] += r["win_breathing_ok"]
        tally["wh"] += r["win_heart_ok"]
        tally["rep"] += r["win_reported"]
        tally["wrong"] += r["win_wrong"]
    n = len(results)
    print(
        f"whole record, runtime: breathing within 1/min {tally['edge_br']}/{n}, "
        f"heart within 3/min {tally['edge_hr']}/{n}"
    )
    print(
        f"whole record, plain (strongest bin, phase around 0): breathing {tally['str_br']}/{n}, heart {tally['str_hr']}/{n}"
    )
    print(
        f"{WINDOW_S:.0f} s windows: breathing {tally['wb']}/{tally['w']}, heart {tally['wh']}/"
        f"{tally['w']}; at min_heart_quality {results[0]['min_q']:g}: {tally['rep']} reported, "
        f"{tally['wrong']} of them more than 3/min off"
    )
    print(f"render: median {sorted(r['render_s'] for r in results)[n // 2]:.1f} s per case")


if __name__ == "__main__":
    main()
