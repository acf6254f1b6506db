"""Frames per second of the DSP chain on one core, beside OpenRadar's demo chain in the same run.

The reference is ``../shared/tools/openradar_dsp_bench.py`` (OpenRadar's ``mmwave.dsp`` demo chain:
range FFT, Doppler FFT with clutter removal, CA-CFAR in both dimensions, peak pruning and grouping,
naive xyz + Bartlett beamforming) on an AWR1843-sized frame, 3 TX x 4 RX x 128 loops x 256 samples.
OpenRadar needs numpy 1.23 and scipy < 1.12, so it runs in a venv of its own, in a child process;
this script alternates rounds of OpenRadar (child) and of the project's chain (this process) so that
both see the same machine load, and quotes the ratio of the medians.

The project's chain (``runtime.dsp.chain.process_frame``: clutter removal, fused window, range and
Doppler FFTs, detection map, CFAR along range and Doppler, peak grouping, fields of view, TDM
compensation and angles on the detected cells, point cloud) runs with the bundled
``iwr1843boost_raw_activity`` profile (the same frame shape, its own ``.cfg`` CFAR and field-of-view
settings, clutter removal on as in OpenRadar's chain) on

- ``openradar frame``: the very frame OpenRadar's script builds (three targets in noise), rebuilt
  here from the same seed and converted to ``[tx, rx, loop, sample]`` (checked by its sha256);
- ``scene frames``: 20 distinct frames of five point targets in noise, cycled so the input is not
  hot in cache, through a fresh cube per frame (what the daemon does) and a reused one (``out=``).

Every figure is a median over frames within a round, then the median over rounds. Threads are pinned
to one (OMP/OPENBLAS/MKL/NUMEXPR/NUMBA, ``scipy.fft`` workers=1) in both processes.

Set up OpenRadar once (PyPI's ``openradar`` is PreSenseRadar/OpenRadar)::

    python3 -m venv /tmp/orvenv
    /tmp/orvenv/bin/pip install "numpy==1.23.5" "scipy<1.12" numba
    /tmp/orvenv/bin/pip install --no-deps openradar

Run from the repository root (about a minute; ``--rounds 3`` for a quick look)::

    .venv/bin/python benchmarks/bench_dsp.py [--openradar-python /tmp/orvenv/bin/python]

Targets: >= 10x OpenRadar's frames/s measured in the same run, and >= 300 frames/s.
"""

from __future__ import annotations

import os

for _var in (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "NUMBA_NUM_THREADS",
):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import hashlib  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from firmware_cfg import load_cfg  # noqa: E402
from firmware_cfg.chirp import ChirpConfig  # noqa: E402
from firmware_cfg.radar_config import RadarConfig  # noqa: E402
from runtime.dsp.chain import DspPlan, make_plan, process_frame  # noqa: E402

TARGET_RATIO = 10.0
TARGET_FPS = 300.0
OPENRADAR_SCRIPT = REPO.parent / "shared" / "tools" / "openradar_dsp_bench.py"
OPENRADAR_PYTHON = Path("/tmp/orvenv/bin/python")
#: sha256 (first 16 hex digits) of the complex64 frame OpenRadar's script builds.
OPENRADAR_FRAME_SHA = "f781d19fe38f134b"
_OPENRADAR_LINE = re.compile(r"OpenRadar chain: (\d+) detections, median ([\d.]+) ms/frame")


def bench_settings() -> RadarConfig:
    """The bundled ``iwr1843boost_raw_activity`` profile (3 TX TDM x 4 RX, 128 loops x 256 samples)
    with clutter removal on, as in OpenRadar's chain."""
    rc = load_cfg("iwr1843boost_raw_activity")
    return dataclasses.replace(rc, demo=rc.demo.model_copy(update={"clutter_removal": True}))


def openradar_frame(cfg: ChirpConfig) -> np.ndarray:
    """The frame of ``openradar_dsp_bench.py`` as ``[tx, rx, loop, sample]`` complex64.

    The script draws receiver noise (std 30 per I and Q) from ``default_rng(0)`` as
    ``[chirp, rx, sample]`` (chirp = loop * num_tx + tx), adds three targets with fractional range
    and Doppler bins and a phase step of ``0.3 pi`` per virtual antenna, and rounds to integers.
    """
    ntx, nrx, nl, ns = cfg.frame_shape
    rng = np.random.default_rng(0)
    shape = (nl * ntx, nrx, ns)
    x = rng.normal(0, 30, shape) + 1j * rng.normal(0, 30, shape)  # [chirp, rx, sample]
    chirp = np.arange(nl * ntx)
    loop, tx = chirp // ntx, chirp % ntx  # [chirp]
    antenna = tx[:, None] * nrx + np.arange(nrx)[None, :]  # [chirp, rx]
    s = np.arange(ns)
    for rbin, dbin, amp in ((40.3, 10.2, 3000), (90.7, -20.4, 2000), (150.1, 3.3, 1500)):
        phase = 2 * np.pi * (rbin * s / ns + dbin * loop[:, None, None] / nl)  # [chirp, 1, sample]
        x += amp * np.exp(1j * (phase + np.pi * 0.3 * antenna[:, :, None]))
    x = (np.round(x.real) + 1j * np.round(x.imag)).astype(np.complex64)
    digest = hashlib.sha256(x.tobytes()).hexdigest()[:16]
    if digest != OPENRADAR_FRAME_SHA:
        raise SystemExit(f"the rebuilt OpenRadar frame differs from the script's ({digest})")
    # [loop * tx, rx, sample] -> [tx, rx, loop, sample]
    return np.ascontiguousarray(x.reshape(nl, ntx, nrx, ns).transpose(1, 2, 0, 3))


def scene_frames(cfg: ChirpConfig, num_frames: int, seed: int = 0) -> list[np.ndarray]:
    """Frames of a few point targets + noise (a compact synthesiser: benchmarks must not import sim).

    Each target is ``exp(j (2 pi f_b t + 2 pi f_d t_chirp + pi x u))`` per virtual element.
    """
    rng = np.random.default_rng(seed)
    ntx, _nrx, nl, ns = cfg.frame_shape
    va = cfg.virtual_array()  # [tx, rx, 2]
    t_fast = np.arange(ns) / cfg.sample_rate_hz
    t_chirp = (np.arange(nl)[None, :] * ntx + np.arange(ntx)[:, None]) * cfg.chirp_period_s
    targets = [  # range m, velocity m/s, azimuth deg, amplitude
        (1.5, 0.0, -20.0, 60.0),
        (2.4, 0.8, 10.0, 20.0),
        (3.1, -1.2, 30.0, 15.0),
        (4.6, 0.3, -5.0, 10.0),
        (6.0, 0.0, 45.0, 30.0),
    ]
    frames = []
    for _ in range(num_frames):
        x = (rng.standard_normal(cfg.frame_shape) + 1j * rng.standard_normal(cfg.frame_shape)) * 0.7
        for r, v, az, amp in targets:
            f_b = 2 * r * cfg.freq_slope_hz_per_s / 299_792_458.0
            f_d = 2 * v / cfg.wavelength_m
            u = np.sin(np.deg2rad(az))
            ph_space = np.pi * va[..., 0] * u  # [tx, rx]
            slow = np.exp(2j * np.pi * f_d * t_chirp)  # [tx, loop]
            fast = np.exp(2j * np.pi * f_b * t_fast)  # [sample]
            x += (
                amp
                * np.exp(1j * rng.uniform(0, 2 * np.pi))
                * np.exp(1j * ph_space)[:, :, None, None]
                * slow[:, None, :, None]
                * fast
            )
        frames.append(x.astype(np.complex64))
    return frames


def median_ms(func: Callable[[np.ndarray], object], frames: list[np.ndarray], n: int) -> float:
    """Median wall time [ms] of ``func`` over ``n`` calls, cycling through ``frames``."""
    times = []
    for i in range(n):
        frame = frames[i % len(frames)]
        t0 = time.perf_counter()
        func(frame)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def openradar_round(python: Path, script: Path, frames: int) -> tuple[int, float]:
    """One run of OpenRadar's script in its venv -> ``(detections, median ms/frame)``."""
    proc = subprocess.run(
        [str(python), str(script), "--installed", str(frames)],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ.copy(),
    )
    match = _OPENRADAR_LINE.search(proc.stdout)
    if proc.returncode != 0 or match is None:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:]
        raise SystemExit(f"OpenRadar's benchmark failed (exit {proc.returncode}): {tail}")
    return int(match.group(1)), float(match.group(2))


def _spread(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9, help="alternating rounds (default 9)")
    parser.add_argument("--frames", type=int, default=100, help="chain frames per round")
    parser.add_argument(
        "--openradar-frames", type=int, default=15, help="OpenRadar frames per round"
    )
    parser.add_argument(
        "--openradar-python",
        type=Path,
        default=Path(os.environ.get("MMFM_OPENRADAR_PYTHON", OPENRADAR_PYTHON)),
        help="python of the OpenRadar venv (env MMFM_OPENRADAR_PYTHON; default /tmp/orvenv)",
    )
    parser.add_argument("--openradar-script", type=Path, default=OPENRADAR_SCRIPT)
    args = parser.parse_args(argv)
    if not args.openradar_script.is_file():
        print(f"OpenRadar's benchmark script not found: {args.openradar_script}", file=sys.stderr)
        return 2
    if not args.openradar_python.is_file():
        print(
            f"no OpenRadar venv at {args.openradar_python}: create it as this script's docstring "
            "says, or pass --openradar-python",
            file=sys.stderr,
        )
        return 2

    rc = bench_settings()
    cfg = rc.chirp
    plan: DspPlan = make_plan(rc)
    or_frame = [openradar_frame(cfg)]
    scene = scene_frames(cfg, 20)
    buf = np.empty(cfg.frame_shape, dtype=np.complex64)

    def chain(frame: np.ndarray) -> object:
        return process_frame(frame, plan)

    def chain_reused(frame: np.ndarray) -> object:
        return process_frame(frame, plan, out=buf)

    for frame in (*or_frame, *scene[:3]):  # warm-up: plan cache, FFT plans
        chain(frame)
        chain_reused(frame)

    load_before = os.getloadavg()
    rows: dict[str, list[float]] = {"openradar": [], "ours": [], "scene": [], "scene_out": []}
    or_det = 0
    for _ in range(args.rounds):
        or_det, or_ms = openradar_round(
            args.openradar_python, args.openradar_script, args.openradar_frames
        )
        rows["openradar"].append(or_ms)
        rows["ours"].append(median_ms(chain, or_frame, args.frames))
        rows["scene"].append(median_ms(chain, scene, args.frames))
        rows["scene_out"].append(median_ms(chain_reused, scene, args.frames))
    load_after = os.getloadavg()

    med = {k: statistics.median(v) for k, v in rows.items()}
    ratios = [o / c for o, c in zip(rows["openradar"], rows["ours"], strict=True)]
    ours_det = len(process_frame(or_frame[0], plan).detections)
    print(
        f"frame {cfg.frame_shape} complex64, 1 thread, {args.rounds} alternating rounds; "
        f"{platform.processor() or platform.machine()}, load average {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after"
    )
    print(f"{'':34s} {'ms/frame':>9s} {'frames/s':>9s}   round medians [ms]")
    table = [
        ("OpenRadar demo chain, its frame", "openradar", f"{or_det} detections"),
        ("mmfm chain, the same frame", "ours", f"{ours_det} detections"),
        ("mmfm chain, 20 scene frames", "scene", "fresh cube per frame"),
        ("mmfm chain, 20 scene frames, out=", "scene_out", "reused cube buffer"),
    ]
    for label, key, note in table:
        print(f"{label:34s} {med[key]:9.2f} {1e3 / med[key]:9.1f}   {_spread(rows[key])}  ({note})")
    ratio = med["openradar"] / med["ours"]
    fps = 1e3 / med["ours"]
    print(
        f"speed-up over OpenRadar (ratio of medians): {ratio:.1f}x "
        f"(per round {min(ratios):.1f}-{max(ratios):.1f}x)"
    )
    print(
        f"targets: >= {TARGET_RATIO:.0f}x OpenRadar: {'met' if ratio >= TARGET_RATIO else 'NOT met'}"
        f"; >= {TARGET_FPS:.0f} frames/s: {'met' if fps >= TARGET_FPS else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
