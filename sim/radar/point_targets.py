"""Exact analytic FMCW TDM-MIMO synthesis of ideal point targets.

The reference signal for the DSP physics tests: every sample of a raw ADC frame is computed in closed
form from the target's range at that sample's absolute time, so range, Doppler, TDM-MIMO motion and
antenna phase are all exact (no far-field range-Doppler approximation beyond the plane wave across the
array).

Conventions (pinned by ``shared/vectors/dca1000_iwr1843.bin``, see ``tests/test_point_targets.py``):

- **Timing.** Frame ``f`` starts at ``t = f * frame_period_s``. Chirp slot ``k`` (transmitter
  ``cfg.tx_order[k]``) of loop ``l`` ramps from ``(l * num_tx + k) * chirp_period_s`` after the frame
  start; ADC sample ``n`` is taken ``adc_start_time_s + n / sample_rate_hz`` after that ramp start
  (``t_fast``). Where the idle time sits inside a chirp period is a constant time offset and is ignored.
- **Beat phase.** With round-trip delay ``tau(t) = 2 R(t) / c`` evaluated at each sample's absolute time
  ``t`` (``R(t) = range_m + velocity_mps * t + displacement(t)``), a target contributes
  ``amplitude * exp(+j * (2 pi (f0 tau + S tau t_fast - S tau^2 / 2) + phase_rad + antenna_phase))``
  with ``f0 = start_freq_hz`` and ``S = freq_slope_hz_per_s``: the TX chirp times the conjugate of the
  echo. Consequences: a target sits at a **positive** beat frequency ``S tau`` (range-FFT bin
  ``+2 S R / (c * bin spacing)``), and a target moving **away** (``velocity_mps > 0``) has a phase that
  **grows** from chirp to chirp (positive Doppler bin, step ``+4 pi v T / lambda``).
- **Antenna phase.** Virtual antenna ``(x, z)`` in half-wavelengths (``cfg.virtual_array()``, x right,
  z up) sees ``+pi * (x * sin(az) * cos(el) + z * sin(el))`` [rad], plus ``pi`` where the board's
  ``rx_phase_sign[rx]`` is -1 (an inverted feed flips the polarity, as the DSP compensates): the phase
  **grows** along +x for a target at positive azimuth (toward +x). The vector fixes the azimuth sign; the
  elevation sign follows the same plane-wave rule (the vector holds targets at elevation 0 only).
- **ADC format.** Complex formats return the analytic signal above. ``AdcFormat.REAL`` returns its real
  part ``amplitude * cos(...)`` in the same complex64 container with a zero imaginary part, so every
  source hands the DSP one dtype; the negative-frequency image is then the DSP's business.
- **Noise.** ``noise_std`` is the total standard deviation of the added noise: complex Gaussian with
  ``noise_std / sqrt(2)`` per component (complex formats), real Gaussian of ``noise_std`` (real format).

Evidence: against the reference vector (2 frames, two targets, noise) the per-frame normalised correlation
is 0.9986. That vector was made with range held constant within each chirp (stop-and-hop at the ramp
start) and without the residual video phase ``-S tau^2 / 2``; with those two simplifications the
correlation would be 0.99994 (noise-limited). The exact model is kept on purpose: the difference is a
~0.5 kHz intra-chirp Doppler shift (0.03 range bins) and < 0.1 rad of constant phase per target.

No quantisation here: :mod:`runtime.sources.dca1000_layout` rounds and clips to int16 when writing bytes.

Command line (writes a DCA1000 / mmWave Studio ``.bin``; deterministic for a given seed)::

    python -m sim.radar.point_targets --cfg runtime/examples/two_people_iwr1843.cfg \\
        --target 1.5,0.6,20 --target 3.2,-1.0,-30 --frames 2 --noise 20 --seed 0 \\
        --out /tmp/capture.bin --truth /tmp/capture.truth.json

An ``--out`` ending in ``.dat`` or ``.uart`` writes what the out-of-box demo would send on its UART
data port for those frames instead (the runtime DSP chain's points in the ``.cfg``'s SDK dialect,
:func:`sim.radar.outputs.uart_packet_from_adc`; frame numbers from 1), a byte dump that ``mmfm record
--source replay`` and the replay source read::

    python -m sim.radar.point_targets --cfg firmware_cfg/profiles/iwr1642boost_raw_activity.cfg \\
        --target 2.0,1.0,15,0,200 --frames 20 --noise 5 --out /tmp/xwr1642.dat
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from firmware_cfg.chirp import SPEED_OF_LIGHT_M_S, ChirpConfig
from firmware_cfg.radar_config import RadarConfig


@dataclass(frozen=True)
class PointTarget:
    """One ideal point reflector.

    Attributes:
        range_m: range at ``t = 0`` (frame 0, chirp 0 ramp start) [m].
        velocity_mps: radial velocity [m/s], + = moving away; ``R(t) = range_m + velocity_mps * t``.
        azimuth_deg: azimuth [deg], + toward +x (right).
        elevation_deg: elevation [deg], + up.
        amplitude: linear amplitude [ADC counts].
        phase_rad: extra constant phase [rad].
        displacement: extra radial displacement [m] as a function of absolute time [s] (e.g. a breathing
            chest); called with a float64 array of times and must return an array of the same shape
            (or something that broadcasts to it).
    """

    range_m: float
    velocity_mps: float = 0.0
    azimuth_deg: float = 0.0
    elevation_deg: float = 0.0
    amplitude: float = 1.0
    phase_rad: float = 0.0
    displacement: Callable[[np.ndarray], np.ndarray] | None = None


def sample_times(cfg: ChirpConfig, frame_index: int = 0) -> np.ndarray:
    """Absolute time of every ADC sample of one frame.

    Returns:
        float64 ``[num_tx, num_loops, num_samples]`` [s] (the same for every RX).
    """
    slot = (
        np.arange(cfg.num_loops)[None, :] * cfg.num_tx + np.arange(cfg.num_tx)[:, None]
    )  # [tx, loop]
    ramp_start = frame_index * cfg.frame_period_s + slot * cfg.chirp_period_s  # [tx, loop]
    t_fast = cfg.adc_start_time_s + np.arange(cfg.num_samples) / cfg.sample_rate_hz  # [sample]
    return ramp_start[:, :, None] + t_fast[None, None, :]


def antenna_phase(cfg: ChirpConfig, azimuth_deg: float, elevation_deg: float) -> np.ndarray:
    """Plane-wave phase of each virtual antenna for a target at (azimuth, elevation).

    Returns:
        float64 ``[num_tx, num_rx]`` [rad]:
        ``pi * (x sin(az) cos(el) + z sin(el))``, plus ``pi`` on receivers whose feed polarity
        (``rx_phase_sign``) is -1 (see the module docstring).
    """
    az, el = np.deg2rad(azimuth_deg), np.deg2rad(elevation_deg)
    pos = cfg.virtual_array()  # [num_tx, num_rx, 2] half-wavelengths
    phase = np.pi * (pos[..., 0] * np.sin(az) * np.cos(el) + pos[..., 1] * np.sin(el))
    sign = np.asarray([cfg.board_spec.rx_phase_sign[r] for r in cfg.rx_indices], dtype=np.float64)
    return phase + np.where(sign < 0, np.pi, 0.0)[None, :]


def synthesize_frame(
    cfg: ChirpConfig,
    targets: Sequence[PointTarget],
    *,
    frame_index: int = 0,
    noise_std: float = 0.0,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """One raw ADC frame of ideal point targets (+ optional Gaussian noise).

    Args:
        cfg: chirp configuration (timing, TX order, enabled RX, board, ADC format).
        targets: point targets; an empty sequence gives noise only.
        frame_index: absolute frame number (sets the frame's start time ``frame_index * frame_period``).
        noise_std: total noise standard deviation [ADC counts].
        rng: noise generator; required for reproducible noise (a fresh default generator otherwise).

    Returns:
        complex64 ``[num_tx, num_rx, num_loops, num_samples]``; real ADC formats have a zero imaginary part.
    """
    t = sample_times(cfg, frame_index)  # [tx, loop, sample] absolute time [s]
    t_fast = cfg.adc_start_time_s + np.arange(cfg.num_samples) / cfg.sample_rate_hz  # [sample]
    f0, slope = cfg.start_freq_hz, cfg.freq_slope_hz_per_s
    out = np.zeros(cfg.frame_shape, dtype=np.complex128)  # [tx, rx, loop, sample]
    for target in targets:
        r = target.range_m + target.velocity_mps * t  # [tx, loop, sample]
        if target.displacement is not None:
            r = r + np.broadcast_to(np.asarray(target.displacement(t), dtype=np.float64), t.shape)
        tau = 2.0 * r / SPEED_OF_LIGHT_M_S
        # Phase in cycles; f0*tau is ~1e3 cycles per metre, so keep the sum in float64.
        cycles = f0 * tau + slope * tau * t_fast - 0.5 * slope * tau * tau
        beat = np.exp(
            1j * (2.0 * np.pi * np.mod(cycles, 1.0) + target.phase_rad)
        )  # [tx, loop, sample]
        ant = target.amplitude * np.exp(
            1j * antenna_phase(cfg, target.azimuth_deg, target.elevation_deg)
        )  # [tx, rx]
        out += ant[:, :, None, None] * beat[:, None, :, :]
    if noise_std > 0:
        rng = rng if rng is not None else np.random.default_rng()
        if cfg.adc_format.is_complex:
            scale = noise_std / np.sqrt(2.0)
            out += scale * (rng.standard_normal(out.shape) + 1j * rng.standard_normal(out.shape))
        else:
            out += noise_std * rng.standard_normal(out.shape)
    if not cfg.adc_format.is_complex:
        out = out.real.astype(np.complex128)
    return out.astype(np.complex64)


def synthesize_frames(
    cfg: ChirpConfig,
    targets: Sequence[PointTarget],
    num_frames: int,
    *,
    start_frame: int = 0,
    noise_std: float = 0.0,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Consecutive frames ``start_frame .. start_frame + num_frames - 1``.

    Equal to calling :func:`synthesize_frame` once per frame with the same ``rng``.

    Returns:
        complex64 ``[num_frames, num_tx, num_rx, num_loops, num_samples]``.
    """
    if noise_std > 0 and rng is None:
        rng = np.random.default_rng()
    out = np.empty((num_frames, *cfg.frame_shape), dtype=np.complex64)
    for i in range(num_frames):
        out[i] = synthesize_frame(
            cfg, targets, frame_index=start_frame + i, noise_std=noise_std, rng=rng
        )
    return out


# ---------------------------------------------------------------------------- command line
CLI_DEFAULT_AMPLITUDE = 1000.0  # ADC counts when --target leaves AMP out
UART_SUFFIXES = (".dat", ".uart")  # --out suffixes that write UART packets (as replay reads them)


def parse_target(text: str) -> PointTarget:
    """``R,V,AZ[,EL,AMP]`` -> :class:`PointTarget` (m, m/s, deg, deg, ADC counts).

    EL defaults to 0 and AMP to :data:`CLI_DEFAULT_AMPLITUDE`.
    """
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"target {text!r}: expected numbers R,V,AZ[,EL,AMP]"
        ) from exc
    if not 3 <= len(values) <= 5:
        raise argparse.ArgumentTypeError(
            f"target {text!r}: expected R,V,AZ[,EL,AMP], got {len(values)}"
        )
    values += [0.0, CLI_DEFAULT_AMPLITUDE][len(values) - 3 :]
    r, v, az, el, amp = values
    return PointTarget(range_m=r, velocity_mps=v, azimuth_deg=az, elevation_deg=el, amplitude=amp)


def target_to_json(target: PointTarget) -> dict[str, float]:
    """A target's numeric fields (the displacement callable cannot be written)."""
    return {
        f.name: getattr(target, f.name)
        for f in dataclasses.fields(target)
        if f.name != "displacement"
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sim.radar.point_targets",
        description="Synthesise point targets and write a DCA1000 / mmWave Studio raw ADC capture (.bin).",
    )
    parser.add_argument(
        "--cfg", required=True, type=Path, help="TI mmWave .cfg (starts with '% mmfm-board: ...')"
    )
    parser.add_argument(
        "--target",
        action="append",
        type=parse_target,
        default=[],
        metavar="R,V,AZ[,EL,AMP]",
        help="range [m], radial velocity [m/s, + away], azimuth [deg, + right], elevation [deg], amplitude [counts] (default 1000)",
    )
    parser.add_argument("--frames", type=int, default=1, help="number of frames")
    parser.add_argument("--noise", type=float, default=0.0, help="total noise std [ADC counts]")
    parser.add_argument("--seed", type=int, default=0, help="noise seed")
    parser.add_argument(
        "--out",
        required=True,
        type=Path,
        help="output .bin (raw ADC), or .dat/.uart (the demo's UART data-port bytes)",
    )
    parser.add_argument(
        "--truth", type=Path, help="also write the targets and this command as JSON"
    )
    args = parser.parse_args(argv)

    from firmware_cfg import load_cfg  # the .cfg parser (firmware_cfg/parser.py)

    command = "python -m sim.radar.point_targets " + shlex.join(
        list(argv) if argv is not None else sys.argv[1:]
    )
    rc = load_cfg(args.cfg)
    cfg = rc.chirp
    write = write_uart_dump if args.out.suffix.lower() in UART_SUFFIXES else write_capture
    nbytes = write(
        rc if write is write_uart_dump else cfg,
        args.target,
        args.frames,
        out=args.out,
        noise_std=args.noise,
        seed=args.seed,
        truth=args.truth,
        truth_extra={"cfg": str(args.cfg), "command": command},
    )
    what = f"SDK {rc.dialect} UART packets" if write is write_uart_dump else f"{cfg.frame_shape}"
    print(f"wrote {args.out} ({nbytes} bytes, {args.frames} frames of {what})")
    return 0


def write_capture(
    cfg: ChirpConfig,
    targets: Sequence[PointTarget],
    num_frames: int,
    *,
    out: Path,
    noise_std: float = 0.0,
    seed: int = 0,
    truth: Path | None = None,
    truth_extra: dict[str, object] | None = None,
) -> int:
    """Synthesise frames and write them as a DCA1000 ``.bin`` (+ an optional truth JSON).

    Noise comes from ``np.random.default_rng(seed)``, so the bytes depend only on the arguments.

    Returns:
        bytes written to ``out``.
    """
    from runtime.sources.dca1000_layout import encode_frames

    frames = synthesize_frames(
        cfg, targets, num_frames, noise_std=noise_std, rng=np.random.default_rng(seed)
    )
    data = encode_frames(frames, cfg)
    Path(out).write_bytes(data)
    _write_truth(truth, cfg, targets, num_frames, len(data), noise_std, seed, truth_extra)
    return len(data)


def write_uart_dump(
    rc: RadarConfig,
    targets: Sequence[PointTarget],
    num_frames: int,
    *,
    out: Path,
    noise_std: float = 0.0,
    seed: int = 0,
    truth: Path | None = None,
    truth_extra: dict[str, object] | None = None,
) -> int:
    """Synthesise frames and write the out-of-box demo's UART data-port bytes for them (a ``.dat``).

    Each frame goes through the runtime DSP chain with the ``.cfg``'s demo settings and becomes one
    packet in the ``.cfg``'s SDK dialect (:func:`sim.radar.outputs.uart_packet_from_adc`), frame
    numbers ``1 .. num_frames``; the same noise as :func:`write_capture` for the same arguments.

    Returns:
        bytes written to ``out``.
    """
    from sim.radar.outputs import uart_packet_from_adc

    cfg = rc.chirp
    frames = synthesize_frames(
        cfg, targets, num_frames, noise_std=noise_std, rng=np.random.default_rng(seed)
    )
    data = b"".join(uart_packet_from_adc(f, k + 1, rc) for k, f in enumerate(frames))
    Path(out).write_bytes(data)
    extra = {"dialect": rc.dialect, **(truth_extra or {})}
    _write_truth(truth, cfg, targets, num_frames, len(data), noise_std, seed, extra)
    return len(data)


def _write_truth(
    truth: Path | None,
    cfg: ChirpConfig,
    targets: Sequence[PointTarget],
    num_frames: int,
    nbytes: int,
    noise_std: float,
    seed: int,
    truth_extra: dict[str, object] | None,
) -> None:
    if truth is not None:
        record: dict[str, object] = {
            "frames": num_frames,
            "bytes": nbytes,
            "frame_shape": list(cfg.frame_shape),
            "noise_std": noise_std,
            "seed": seed,
            "targets": [target_to_json(t) for t in targets],
            "units": "range_m at t = 0 [m]; velocity_mps [m/s], + = moving away; azimuth_deg [deg], "
            "+ toward +x (right); elevation_deg [deg], + up; amplitude [ADC counts]; phase_rad [rad]",
        }
        record.update(truth_extra or {})
        Path(truth).write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
