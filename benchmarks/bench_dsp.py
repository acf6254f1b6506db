"""Frames per second of the full DSP chain on one core, beside a plain reference implementation.

The frame is an AWR1843BOOST frame of 3 TX x 4 RX x 128 loops x 256 samples (complex ADC) holding a
realistic scene: a few moving and static point targets plus receiver noise. Both implementations run
in this process on the same frames; the figure is the median time per frame.

- ``chain``: ``runtime.dsp.process_frame`` (range FFT, Doppler FFT, detection map, CFAR range and
  Doppler, peak grouping, angle on detected cells, point cloud), complex64, ``scipy.fft`` workers=1.
- ``reference``: a straightforward version of the same steps: complex128, ``np.fft`` per virtual
  antenna, ``np.fft.fftshift``, a Python loop per cell for CA-CFAR, a 64-point angle FFT per
  detection.

Run (from the repository root; takes ~20 s)::

    .venv/bin/python benchmarks/bench_dsp.py            # default 200 frames for the chain
    .venv/bin/python benchmarks/bench_dsp.py --frames 50 --reference-frames 3   # quick

Threads are pinned to one (OMP/OPENBLAS/MKL) before numpy is imported.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from firmware_cfg import load_cfg  # noqa: E402
from firmware_cfg.chirp import ChirpConfig  # noqa: E402
from firmware_cfg.demo import DemoConfig  # noqa: E402
from runtime.dsp.chain import make_plan, process_frame  # noqa: E402

TARGET_FPS = 200.0


def bench_config() -> ChirpConfig:
    """The bundled ``iwr1843boost_raw_activity`` profile: 3 TX TDM x 4 RX, 128 loops x 256 samples."""
    return load_cfg("iwr1843boost_raw_activity").chirp


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


def reference_frame(frame: np.ndarray, cfg: ChirpConfig, demo: DemoConfig) -> list[tuple]:
    """Straightforward chain: complex128, np.fft per antenna, loop CFAR, per-detection angle FFT."""
    ntx, nrx, nl, ns = frame.shape
    w_r = np.blackman(ns)
    w_d = np.hanning(nl)
    cube = np.zeros((ntx * nrx, cfg.doppler_fft_size, cfg.range_fft_size), dtype=np.complex128)
    for t in range(ntx):
        for r in range(nrx):
            x = frame[t, r].astype(np.complex128)  # [loop, sample]
            rng = np.fft.fft(x * w_r[None, :], n=cfg.range_fft_size, axis=1)
            dop = np.fft.fft(rng * w_d[:, None], n=cfg.doppler_fft_size, axis=0)
            cube[t * nrx + r] = np.fft.fftshift(dop, axes=0)
    det = 10 * np.log10(np.mean(np.abs(cube) ** 2, axis=0) + 1e-30)  # [doppler, range]
    nd, nr = det.shape
    cr, cd = demo.cfar_range, demo.cfar_doppler
    found = []
    for d in range(nd):
        for r in range(nr):
            cut = det[d, r]
            g, w = cr.guard_len, cr.window_len
            left = det[d, max(0, r - g - w) : max(0, r - g)]
            right = det[d, r + g + 1 : r + g + 1 + w]
            sides = [s.mean() for s in (left, right) if len(s) == w]
            noise = max(sides) if sides else det[d].mean()
            if cut <= noise + cr.threshold_db:
                continue
            g, w = cd.guard_len, cd.window_len
            cells = [det[(d + k) % nd, r] for k in range(-g - w, -g)]
            cells += [det[(d + k) % nd, r] for k in range(g + 1, g + 1 + w)]
            if cut <= np.mean(cells) + cd.threshold_db:
                continue
            if (r > 0 and cut <= det[d, r - 1]) or (r < nr - 1 and cut < det[d, r + 1]):
                continue
            if cut <= det[(d - 1) % nd, r] or cut < det[(d + 1) % nd, r]:
                continue
            kd = d - nd // 2
            comp = np.exp(-2j * np.pi * kd * np.arange(ntx) / (nd * ntx))
            virt = cube[:, d, r].reshape(ntx, nrx) * comp[:, None]
            az_row = np.concatenate([virt[0], virt[2]])
            spec = np.abs(np.fft.fftshift(np.fft.fft(az_row, 64))) ** 2
            u = (np.argmax(spec) - 32) / 32
            found.append((r * cfg.range_bin_m, kd * cfg.velocity_bin_mps, np.rad2deg(np.arcsin(u))))
    return found


def median_seconds(func, frames: list[np.ndarray]) -> float:
    times = []
    for frame in frames:
        t0 = time.perf_counter()
        func(frame)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200, help="frames timed for the chain")
    parser.add_argument("--reference-frames", type=int, default=5, help="frames for the reference")
    args = parser.parse_args(argv)

    cfg = bench_config()
    demo = DemoConfig()
    frames = scene_frames(cfg, min(args.frames, 20))
    plan = make_plan(cfg, demo)
    buf = np.empty(cfg.frame_shape, dtype=np.complex64)  # reused cube buffer, as a daemon would
    for frame in frames[:3]:  # warm-up (plan cache, FFT plans)
        process_frame(frame, plan, out=buf)
    timed = [frames[i % len(frames)] for i in range(args.frames)]
    t_chain = median_seconds(lambda f: process_frame(f, plan, out=buf), timed)
    t_fresh = median_seconds(lambda f: process_frame(f, plan), timed)
    t_ref = median_seconds(lambda f: reference_frame(f, cfg, demo), frames[: args.reference_frames])

    n_det = len(process_frame(frames[0], plan).detections)
    n_ref = len(reference_frame(frames[0], cfg, demo))
    fps = 1.0 / t_chain
    print(f"frame {cfg.frame_shape} complex64, {n_det} detections (reference: {n_ref}), 1 thread")
    print(
        f"chain     : {t_chain * 1e3:8.2f} ms/frame  {fps:8.1f} frames/s (median of {len(timed)})"
    )
    print(f"chain, no reused buffer: {t_fresh * 1e3:.2f} ms/frame  {1 / t_fresh:.1f} frames/s")
    print(
        f"reference : {t_ref * 1e3:8.2f} ms/frame  {1 / t_ref:8.1f} frames/s "
        f"(median of {args.reference_frames})"
    )
    print(f"speed-up  : {t_ref / t_chain:8.1f}x")
    verdict = "met" if fps >= TARGET_FPS else "NOT met"
    print(f"target    : >= {TARGET_FPS:.0f} frames/s: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
