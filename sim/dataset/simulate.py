"""One dataset sample: scenario -> frames (propagation, ADC, DSP) + dense ground truth + captions.

Per frame ``k`` (start ``t_k``, mid time ``t_mid``): meshes = the scene's static meshes + each person's
``mesh_at(t_mid)`` -> backend trace at ``t_mid`` -> ``synthesize_adc`` (noise drawn from
``default_rng([seed, index, 11, k])``) -> the runtime DSP chain (point cloud; micro-Doppler column over
the people's range gate). Ground truth is sampled at the frame mid times; the micro-Doppler truth used
by the captions (limb radial speeds relative to the pelvis, their dominant frequency) is sampled at
:data:`TRUTH_RATE_HZ` over at least ``MIN_ANALYSIS_S``. Each person's ``line_of_sight`` (the fraction of
their joints the radar sees directly, :func:`sim.dataset.visibility.line_of_sight`) is measured at the
mid times of the first, middle and last frames (:func:`visibility_frames`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.dataset.scenario import MIN_ANALYSIS_S, Scenario
from sim.dataset.visibility import line_of_sight

#: Array outputs a sample can carry besides the truth arrays.
OUTPUTS = ("adc", "points", "spectrogram")
BACKENDS = ("scatter", "sionna")
#: Sampling rate of the dense truth used for micro-Doppler statistics [Hz].
TRUTH_RATE_HZ = 50.0
#: SMPL joints of the limbs (knees, ankles, elbows, wrists).
LIMB_JOINTS = (4, 5, 7, 8, 18, 19, 20, 21)
#: Range gate margin around the people for the micro-Doppler spectrogram [m].
GATE_MARGIN_M = 0.6


@dataclass(frozen=True)
class TraceOptions:
    """Propagation settings (passed to the backend; part of the dataset spec).

    Attributes:
        density_per_m2: scatterer density per label (scatter backend; None = its default).
        max_bounces: 1 = direct only, 2 = + wall multipath (scatter) / max depth (sionna).
        samples_per_src: rays per frame (sionna).
        raycaster: occlusion test of the scatter backend, ``"embree"`` (a BVH, the static scene
            prepared once per sample) or ``"numpy"`` (the reference: everything per frame);
            :mod:`sim.propagation.raycast`.
    """

    density_per_m2: dict[str, float] | None = None
    max_bounces: int = 2
    samples_per_src: int = 20_000
    raycaster: str = "embree"

    def to_dict(self) -> dict[str, Any]:
        return {
            "density_per_m2": self.density_per_m2,
            "max_bounces": self.max_bounces,
            "samples_per_src": self.samples_per_src,
            "raycaster": self.raycaster,
        }


@dataclass
class SampleData:
    """A simulated sample before it is written: arrays (``.npz``) and the JSON document."""

    arrays: dict[str, np.ndarray]
    doc: dict[str, Any]
    frames_adc: np.ndarray | None = field(default=None, repr=False)
    range_doppler_db: np.ndarray | None = field(default=None, repr=False)


def _r(x: Any, nd: int = 4) -> Any:
    """Round floats (and lists/arrays of them) for the JSON."""
    if isinstance(x, dict):
        return {k: _r(v, nd) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_r(v, nd) for v in x]
    if isinstance(x, np.ndarray):
        return _r(x.tolist(), nd)
    if isinstance(x, float | np.floating):
        return round(float(x), nd)
    if isinstance(x, np.integer):
        return int(x)
    return x


def make_tracer(
    backend: str,
    scenario: Scenario,
    options: TraceOptions,
    static_meshes: Sequence[Any] = (),
) -> tuple[Callable[..., Any], Callable[[], None]]:
    """``(trace(meshes, pose, t) -> PathSet, close())`` for ``backend``.

    ``static_meshes``: meshes that lead every frame's list unchanged (the same objects); the scatter
    backend with the embree raycaster prepares them once.
    """
    cfg = scenario.radar_config().chirp
    if backend == "scatter":
        from sim.propagation.scatter import trace_scatter
        from sim.propagation.scatter_tracer import ScatterTracer

        kwargs = {
            "density_per_m2": options.density_per_m2,
            "max_bounces": options.max_bounces,
            "rng": scenario.scatter_seed,
            "raycaster": options.raycaster,
        }
        static = list(static_meshes)
        tracers: dict[Any, ScatterTracer] = {}

        def trace(meshes: Sequence[Any], pose: Any, t: float) -> Any:
            n = len(static)
            leading = len(meshes) >= n and all(
                a is b for a, b in zip(meshes[:n], static, strict=True)
            )
            if options.raycaster == "numpy" or not leading:
                return trace_scatter(meshes, pose, cfg, t, **kwargs)
            tracer = tracers.get(id(pose))
            if tracer is None:
                tracer = tracers[id(pose)] = ScatterTracer(static, pose, cfg, **kwargs)
            return tracer.trace(meshes[n:], t)

        return trace, tracers.clear
    if backend == "sionna":
        from sim.propagation.sionna_rt import SionnaTracer

        tracer = SionnaTracer(
            cfg,
            max_depth=options.max_bounces,
            samples_per_src=options.samples_per_src,
            seed=scenario.scatter_seed % (2**31),
        )
        return tracer.trace, tracer.close
    raise ValueError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")


def _micro_doppler_truth(
    human: Any, radar_pos: np.ndarray, t0: float, span_s: float
) -> dict[str, float | None]:
    """rms radial speed of the limbs relative to the pelvis [m/s] and its dominant frequency [Hz]."""
    times = t0 + np.arange(round(span_s * TRUTH_RATE_HZ) + 1) / TRUTH_RATE_HZ
    joints = np.stack([human.joints_at(float(t)) for t in times])  # [T, 24, 3]
    ranges = np.linalg.norm(joints - radar_pos, axis=-1)  # [T, 24]
    radial = np.gradient(ranges, 1.0 / TRUTH_RATE_HZ, axis=0)  # [T, 24] [m/s]
    micro = radial[:, LIMB_JOINTS] - radial[:, :1]  # [T, limbs]
    rms = float(np.sqrt(np.mean(micro**2)))
    x = (micro - micro.mean(axis=0)) * np.hanning(len(times))[:, None]
    nfft = 4096
    power = (np.abs(np.fft.rfft(x, n=nfft, axis=0)) ** 2).sum(axis=1)
    freqs = np.fft.rfftfreq(nfft, 1.0 / TRUTH_RATE_HZ)
    band = (freqs >= 0.2) & (freqs <= 6.0)
    dominant = float(freqs[band][np.argmax(power[band])]) if rms >= 0.1 else None
    return {"limb_speed_mps": rms, "dominant_hz": dominant}


def _window_activities(human: Any, t0: float, t1: float, main: str) -> tuple[list[str], str]:
    overlaps: list[tuple[str, float]] = []
    for seg in human.timeline.segments:
        ov = min(seg.end_s, t1) - max(seg.start_s, t0)
        if ov > 1e-9:
            overlaps.append((seg.activity, ov))
    acts = list(dict.fromkeys(a for a, _ in overlaps))
    if main in acts:
        return acts, main
    return acts, max(overlaps, key=lambda x: x[1])[0] if overlaps else main


def visibility_frames(num_frames: int) -> list[int]:
    """Frames whose mid times give a person's ``line_of_sight``: the first, middle and last."""
    return sorted({0, num_frames // 2, num_frames - 1})


def person_truth(
    scenario: Scenario, k: int, human: Any, scene: Any, mid_times: np.ndarray
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Per-person JSON summary and dense arrays at the frame mid times."""
    plan = scenario.people[k]
    pose = scene.radar
    rows = [human.ground_truth(float(t)) for t in mid_times]
    joints = np.stack([human.joints_at(float(t)) for t in mid_times])  # [F, 24, 3]
    pos = np.stack([r["position"] for r in rows])  # [F, 3]
    vel = np.stack([r["velocity"] for r in rows])  # [F, 3]
    pos_r = pose.to_radar(pos)  # [F, 3]
    vel_r = pose.to_radar_vectors(vel)  # [F, 3]
    rng_m = np.linalg.norm(pos_r, axis=1)
    radial = np.einsum("fi,fi->f", vel_r, pos_r / np.maximum(rng_m, 1e-9)[:, None])
    br = np.array([r["breathing_per_min"] for r in rows])
    hr = np.array([r["heart_per_min"] for r in rows])
    t0, t1 = scenario.window_start_s, scenario.window_start_s + scenario.window_s
    acts, main = _window_activities(human, t0, t1, plan.activity)
    mean_r = pos_r.mean(axis=0)
    room = scene.room_at(float(pos[:, 0].mean()), float(pos[:, 1].mean()))
    summary = {
        "name": plan.name,
        "subject": plan.subject,
        "body_height_m": float(human.body.height),
        "activity": main,
        "activities": acts,
        "timeline": [
            {"activity": s.activity, "start_s": s.start_s, "end_s": s.end_s}
            for s in human.timeline.segments
        ],
        "support": plan.support,
        "room_type": room.room_type if room is not None else scene.room_type,
        "position_world": pos.mean(axis=0),
        "position_radar": mean_r,
        "range_m": float(rng_m.mean()),
        "azimuth_deg": float(np.degrees(np.arctan2(mean_r[0], mean_r[1]))),
        "velocity_world": vel.mean(axis=0),
        "radial_velocity_mps": float(radial.mean()),
        "lateral_velocity_mps": float(vel_r[:, 0].mean()),
        "speed_mps": float(np.hypot(vel[:, 0], vel[:, 1]).mean()),
        "breathing_per_min": float(br.mean()),
        "heart_per_min": float(hr.mean()),
        "micro_doppler": _micro_doppler_truth(
            human, np.asarray(pose.position), t0, max(scenario.window_s, MIN_ANALYSIS_S)
        ),
        "in_fov": bool(scene.in_radar_fov(tuple(pos.mean(axis=0)))),
    }
    if plan.place is not None:
        summary["place"] = dict(plan.place)
    arrays = {
        "joints": joints,
        "positions": pos,
        "velocities": vel,
        "positions_radar": pos_r,
        "breathing_per_min": br,
        "heart_per_min": hr,
    }
    return _r(summary), arrays


def simulate_sample(
    scenario: Scenario,
    *,
    backend: str = "scatter",
    outputs: Sequence[str] = ("points", "spectrogram"),
    trace_options: TraceOptions | None = None,
    keep_frames: bool = False,
) -> SampleData:
    """Simulate one scenario into arrays + JSON (see ``runtime.dataset`` for the layout).

    Args:
        scenario: from :func:`sim.dataset.scenario.sample_scenario`.
        backend: ``"scatter"`` or ``"sionna"``.
        outputs: subset of :data:`OUTPUTS`.
        trace_options: propagation settings.
        keep_frames: also return the complex frames and the middle frame's range-Doppler map
            (for previews).
    """
    from runtime.dsp.chain import make_plan, process_frame
    from runtime.dsp.micro_doppler import micro_doppler
    from sim.captions import make_captions
    from sim.propagation.paths import PathSet
    from sim.radar.adc import frame_mid_time, synthesize_adc
    from sim.radar.antenna import coupling_paths

    unknown = sorted(set(outputs) - set(OUTPUTS))
    if unknown:
        raise ValueError(f"unknown outputs {unknown}; known: {', '.join(OUTPUTS)}")
    options = trace_options or TraceOptions()
    rc = scenario.radar_config()
    cfg = rc.chirp
    scene = scenario.scene()
    humans = scenario.humans()
    starts = scenario.frame_starts_s()
    mids = np.array([frame_mid_time(cfg, float(t)) for t in starts])

    people, dense = [], []
    for k, h in enumerate(humans):
        s, a = person_truth(scenario, k, h, scene, mids)
        people.append(s)
        dense.append(a)
    visibility = line_of_sight(scene, humans, mids[visibility_frames(scenario.num_frames)])
    for s, v in zip(people, visibility, strict=True):
        s["line_of_sight"] = round(v.line_of_sight, 4)
        s["occluded_by"] = v.occluder
    ranges = np.concatenate([np.linalg.norm(a["positions_radar"], axis=1) for a in dense])
    gate = (
        max(0.0, float(ranges.min()) - GATE_MARGIN_M),
        min(cfg.max_range_m, float(ranges.max()) + GATE_MARGIN_M),
    )

    plan = make_plan(rc)
    static = scene.static_meshes()
    trace, close = make_tracer(backend, scenario, options, static)
    nf = scenario.num_frames
    adc = np.zeros((nf, *cfg.frame_shape, 2), np.int16) if "adc" in outputs else None
    frames = np.zeros((nf, *cfg.frame_shape), np.complex64) if keep_frames else None
    point_list: list[np.ndarray] = []
    spec_cols: list[np.ndarray] = []
    velocity_axis = None
    rd_db = None
    try:
        for f in range(nf):
            meshes = list(static) + [h.mesh_at(float(mids[f])) for h in humans]
            paths = trace(meshes, scene.radar, float(mids[f]))
            if not rc.demo.dc_range_calibration:  # the board's TX->RX leakage stays in the data
                paths = PathSet.concat([paths, coupling_paths(cfg, paths.t_ref_s)])
            frame = synthesize_adc(
                cfg,
                paths,
                frame_start_s=float(starts[f]),
                rng=np.random.default_rng([scenario.seed, scenario.index, 11, f]),
            )
            if adc is not None:
                adc[f, ..., 0] = np.clip(np.rint(frame.real), -32768, 32767)
                adc[f, ..., 1] = np.clip(np.rint(frame.imag), -32768, 32767)
            if frames is not None:
                frames[f] = frame
            if "points" in outputs or keep_frames:
                res = process_frame(frame, plan)
                point_list.append(res.points.copy())
                if keep_frames and f == nf // 2:
                    rd_db = res.detection_db.copy()
            if "spectrogram" in outputs or keep_frames:
                sg = micro_doppler(frame[None], rc, range_gate_m=gate)
                spec_cols.append(sg.power_db[0])
                velocity_axis = sg.velocity_mps
    finally:
        close()

    arrays: dict[str, np.ndarray] = {"frame_times_s": starts.astype(np.float64)}
    arrays["joints"] = np.stack([a["joints"] for a in dense]).astype(np.float32)
    for name in (
        "positions",
        "velocities",
        "positions_radar",
        "breathing_per_min",
        "heart_per_min",
    ):
        arrays[name] = np.stack([a[name] for a in dense]).astype(np.float32)
    if adc is not None:
        arrays["adc"] = adc
    if "points" in outputs:
        offsets = np.zeros(nf + 1, np.int64)
        offsets[1:] = np.cumsum([len(p) for p in point_list])
        arrays["points"] = np.concatenate(point_list)
        arrays["points_offsets"] = offsets
    if "spectrogram" in outputs:
        arrays["spectrogram"] = np.stack(spec_cols).astype(np.float16)
        arrays["spectrogram_velocity_mps"] = np.asarray(velocity_axis, dtype=np.float32)

    truth = {
        "room": scene.describe(),
        "people": people,
        "num_people": len(people),
        "window": {
            "start_s": scenario.window_start_s,
            "duration_s": _r(nf * cfg.frame_period_s),
            "num_frames": nf,
        },
        "spectrogram_range_gate_m": _r(list(gate)),
    }
    if scenario.unused_words():
        truth["prompt_unused_words"] = scenario.unused_words()
    captions = make_captions(truth, seed=[scenario.seed, scenario.index, 7])
    doc = {
        "index": scenario.index,
        "id": f"{scenario.seed}-{scenario.index}",
        "window": truth["window"],
        "truth": truth,
        "captions": captions,
        "chirp": {
            "cfg_text": scenario.cfg_text,
            "config": cfg.model_dump(mode="json"),
            "profile": scenario.radar_profile,
            "board": scenario.board,
        },
        "backend": {"name": backend, **options.to_dict()},
        "scenario": scenario.to_dict(),
        "arrays": {
            k: {"dtype": str(v.dtype), "shape": list(v.shape)} for k, v in sorted(arrays.items())
        },
    }
    return SampleData(arrays, doc, frames, rd_db)
