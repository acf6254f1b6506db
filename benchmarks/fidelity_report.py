"""Fidelity report: statistics of simulated radar data next to real recordings.

    .venv/bin/python benchmarks/fidelity_report.py                 # defaults (~1-2 min on one core)
    .venv/bin/python benchmarks/fidelity_report.py --samples 3 --window-s 2.0

1. **Raw ADC vs ``../shared/realdata/openradar-adc/doppler_example_1.npy``** (IWR1443, 2 TX x 4 RX x
   128 chirps x 128 samples, a walking person at ~2.9 m). The simulator runs a person walking in a
   living room with the same chirp profile (from the folder's README); for both: the range-Doppler
   power map (Blackman x Hann, summed over virtual antennas) -> noise floor (10th percentile) [dB],
   median, peak, dynamic range (peak - floor), the range profile's slope [dB/decade of range] over
   0.5 m to 80 % of max range (how fast the return rolls off with distance), the same slope of the
   noise floor alone (median of the cells away from zero Doppler per range bin), the white-noise
   level per sample [counts] (``sim.radar.noise.estimate_noise_std_counts``, what the receiver
   calibration matches) and the strongest moving cell (|Doppler bin| > 4) over the noise floor [dB].
2. **Point clouds vs ``../shared/realdata/radhar-fewshot/<activity>``** (IWR1443 out-of-box demo
   points): for boxing, jumping jacks, jump, squats and walk, simulated windows of one person doing the
   activity, the runtime DSP chain -> points per frame, |radial velocity|, range; mean and
   10/50/90th percentiles each, the 1-D Wasserstein distance (W1) and the KS statistic between real
   and simulated. Twice:

   a. *broad*: IWR1443BOOST presence profile (clutter removal on, 10 frames/s), the person anywhere
      in a sampled living room in view (what ``mmfm sim generate`` does by default);
   b. *RadHAR-like*: ``sample_scenario(setup="radhar")``: RadHAR's radar as far as the recordings
      show it (IWR1443BOOST, SDK 1.x demo CFAR, clutter removal off, 16 Doppler bins, 30 frames/s,
      on a tripod at 1 m), one person 1-3 m away within +-20 deg facing it, in an office.

   A summary table gives W1 of both per activity (lower is closer).

Skips with a message when ``../shared`` (or ``$MMFM_SHARED``) is absent.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("MMFM_SHARED", REPO.parent / "shared"))

#: RadHAR folder -> simulator activity.
RADHAR_ACTIVITIES = {
    "boxing": "boxing",
    "jack": "jumping_jacks",
    "jump": "jump",
    "squats": "squats",
    "walk": "walk",
}


def openradar_cfg_text() -> str:
    """The openradar-adc capture's chirp (bundled profile ``iwr1443boost_openradar``) as ``.cfg`` text."""
    from firmware_cfg import emit_cfg, load_cfg

    return emit_cfg(load_cfg("iwr1443boost_openradar"))


def rd_stats(frame: np.ndarray, cfg: object) -> dict[str, float]:
    """Range-Doppler statistics of one complex ``[tx, rx, loop, sample]`` frame (module docstring)."""
    from runtime.dsp.windows import make_window
    from sim.radar.noise import estimate_noise_std_counts

    ntx, nrx, nl, ns = frame.shape
    x = frame.reshape(ntx * nrx, nl, ns).astype(np.complex128)
    x = x - x.mean(axis=2, keepdims=True)  # DC per chirp
    w = make_window("hann", nl)[:, None] * make_window("blackman", ns)[None, :]
    cube = np.fft.fftshift(np.fft.fft(np.fft.fft(x * w, axis=2), axis=1), axes=1)
    power = (np.abs(cube) ** 2).sum(axis=0)  # [doppler, range]
    db = 10 * np.log10(np.maximum(power, 1e-12))
    floor = float(np.percentile(db, 10))
    profile = 10 * np.log10(np.maximum(power.sum(axis=0), 1e-12))
    rbin = cfg.range_bin_m  # type: ignore[attr-defined]
    r = np.arange(ns) * rbin
    sel = (r >= 0.5) & (r <= 0.8 * cfg.max_range_m)  # type: ignore[attr-defined]
    slope = float(np.polyfit(np.log10(r[sel]), profile[sel], 1)[0])
    far = np.abs(np.arange(nl) - nl // 2) >= round(0.15 * nl)  # away from zero Doppler
    floor_profile = 10 * np.log10(np.maximum(np.median(power[far], axis=0), 1e-12))
    floor_slope = float(np.polyfit(np.log10(r[sel]), floor_profile[sel], 1)[0])
    moving = np.abs(np.arange(nl) - nl // 2) > 4
    return {
        "noise_floor_db": floor,
        "median_db": float(np.median(db)),
        "peak_db": float(db.max()),
        "dynamic_range_db": float(db.max() - floor),
        "profile_slope_db_per_decade": slope,
        "floor_slope_db_per_decade": floor_slope,
        "noise_std_counts": estimate_noise_std_counts(frame),
        "moving_peak_over_floor_db": float(db[moving].max() - floor),
    }


def simulate_frames(
    radar: str,
    prompt: str,
    seed: int,
    window_s: float,
    samples: int,
    setup: str | None = None,
) -> list[tuple[np.ndarray, object, list[np.ndarray]]]:
    """``[(frames [F, tx, rx, loop, sample], cfg, points per frame)]`` for ``samples`` scenarios."""
    from sim.dataset.scenario import sample_scenario
    from sim.dataset.simulate import simulate_sample

    out = []
    for k in range(samples):
        sc = sample_scenario(seed, k, radar=radar, prompt=prompt, window_s=window_s, setup=setup)
        data = simulate_sample(sc, outputs=("points",), keep_frames=True)
        off = data.arrays["points_offsets"]
        pts = [data.arrays["points"][off[f] : off[f + 1]] for f in range(len(off) - 1)]
        out.append((data.frames_adc, sc.radar_config().chirp, pts))
    return out


def _pct(x: np.ndarray) -> str:
    if len(x) == 0:
        return "n/a"
    p10, p50, p90 = np.percentile(x, [10, 50, 90])
    return f"mean {np.mean(x):6.2f}  p10 {p10:6.2f}  p50 {p50:6.2f}  p90 {p90:6.2f}"


def point_stats(frames: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Points per frame, |radial velocity| [m/s] and range [m] over frames of POINT_DTYPE."""
    allp = np.concatenate(frames) if frames else np.zeros(0)
    rng = np.sqrt(allp["x"] ** 2 + allp["y"] ** 2 + allp["z"] ** 2) if len(allp) else np.zeros(0)
    return {
        "points_per_frame": np.array([len(f) for f in frames], dtype=float),
        "abs_velocity_mps": np.abs(allp["v"]).astype(float) if len(allp) else np.zeros(0),
        "range_m": rng.astype(float),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--samples", type=int, default=2, help="simulated windows per activity (default 2)"
    )
    ap.add_argument("--window-s", type=float, default=1.0, help="window length [s] (default 1.0)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if not (SHARED / "realdata").is_dir():
        print(f"fidelity report skipped: {SHARED / 'realdata'} is absent (set MMFM_SHARED)")
        return 0
    from scipy.stats import ks_2samp, wasserstein_distance

    t_start = time.perf_counter()
    # ------------------------------------------------------------------ 1. raw ADC
    print(
        "== 1. raw ADC: range-Doppler statistics, simulated vs openradar-adc/doppler_example_1.npy"
    )
    import tempfile

    from firmware_cfg import parse_cfg_text
    from sim.radar.noise import OPENRADAR_CAPTURE, load_openradar_frame

    cfg_text = openradar_cfg_text()
    with tempfile.TemporaryDirectory() as tmp:
        cfg_path = Path(tmp) / "openradar_iwr1443.cfg"
        cfg_path.write_text(cfg_text)
        cfg = parse_cfg_text(cfg_text).chirp
        real = rd_stats(load_openradar_frame(SHARED / OPENRADAR_CAPTURE), cfg)
        sims = simulate_frames(
            str(cfg_path),
            "a person walking in the living room",
            args.seed,
            3 * cfg.frame_period_s,
            2,
        )
    sim_rows = [rd_stats(fr, cfg) for frames, _, _ in sims for fr in frames]
    print(
        f"   profile: {cfg.num_tx} TX x {cfg.num_rx} RX x {cfg.num_loops} loops x {cfg.num_samples} samples, range bin {cfg.range_bin_m * 100:.2f} cm, {len(sim_rows)} simulated frames"
    )
    print(
        f"   {'metric':32s} {'real':>9s} {'sim mean':>9s} {'sim min':>9s} {'sim max':>9s} {'sim-real':>9s}"
    )
    for key in real:
        vals = np.array([r[key] for r in sim_rows])
        print(
            f"   {key:32s} {real[key]:9.2f} {vals.mean():9.2f} {vals.min():9.2f} {vals.max():9.2f} {vals.mean() - real[key]:+9.2f}"
        )

    # ------------------------------------------------------------------ 2. point clouds
    from sim.radar.noise import NoiseModel

    print(
        f"   receiver model: {NoiseModel().noise_std_counts(cfg):.2f} counts rms thermal noise at this "
        f"profile (full scale at {NoiseModel().full_scale_input_dbm:g} dBm, NF {NoiseModel().noise_figure_db:g} dB)"
    )
    from runtime.sources.radhar import read_radhar

    real_stats = {
        folder: point_stats(
            [
                f.points
                for path in sorted((SHARED / "realdata/radhar-fewshot" / folder).glob("*.txt"))
                for f in read_radhar(path)
            ]
        )
        for folder in RADHAR_ACTIVITIES
    }
    variants = (
        (
            "broad",
            "iwr1443boost_presence, anywhere in a living room",
            "iwr1443boost_presence",
            "in the living room",
            None,
        ),
        (
            "radhar",
            'setup="radhar": RadHAR-like cfg, 1-3 m, +-20 deg, facing the radar',
            "random",
            "in the office",
            "radhar",
        ),
    )
    w1: dict[tuple[str, str, str], float] = {}
    for part, (tag, title, radar, room, setup) in zip("ab", variants, strict=True):
        print(f"\n== 2{part}. point clouds, {title}: simulated vs radhar-fewshot, per activity")
        for folder, activity in RADHAR_ACTIVITIES.items():
            sim_frames = [
                p
                for _, _, pts in simulate_frames(
                    radar,
                    f"a person {activity.replace('_', ' ')} {room}",
                    args.seed,
                    args.window_s,
                    args.samples,
                    setup=setup,
                )
                for p in pts
            ]
            rs, ss = real_stats[folder], point_stats(sim_frames)
            print(
                f"-- {folder} ({activity}): real {len(rs['points_per_frame'])} frames, "
                f"sim {len(sim_frames)} frames"
            )
            for key in rs:
                a, b = rs[key], ss[key]
                dist = "n/a"
                if len(a) and len(b):
                    w1[tag, folder, key] = wasserstein_distance(a, b)
                    dist = f"W1 {w1[tag, folder, key]:6.3f}  KS {ks_2samp(a, b).statistic:5.3f}"
                print(f"   {key:18s} real {_pct(a)}")
                print(f"   {'':18s} sim  {_pct(b)}   {dist}")

    print("\n== summary: W1 real vs sim per activity (broad -> RadHAR-like)")
    keys = ("points_per_frame", "abs_velocity_mps", "range_m")
    print(f"   {'activity':8s} " + " ".join(f"{k:>22s}" for k in keys))
    for folder in RADHAR_ACTIVITIES:
        cells = []
        for key in keys:
            a, b = w1.get(("broad", folder, key)), w1.get(("radhar", folder, key))
            cells.append(
                f"{a:9.3f} -> {b:9.3f}" if a is not None and b is not None else f"{'n/a':>22s}"
            )
        print(f"   {folder:8s} " + " ".join(f"{c:>22s}" for c in cells))
    print(f"\n(total {time.perf_counter() - t_start:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
