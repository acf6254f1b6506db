"""A simulated radar behind the runtime's source interface (:class:`runtime.sources.base.SourceBase`).

Each frame: ``scene_fn(t_mid)`` gives the meshes and radar pose at the frame's mid time, the scatterer
backend traces one :class:`~sim.propagation.paths.PathSet` there, and the ADC synthesis evolves it over the
frame's chirps (:func:`sim.radar.adc.synthesize_adc`). ``output="points"`` runs the shared DSP chain on
the frame (:mod:`sim.radar.outputs`). Frames are deterministic for a seed: the scatterer sampling uses
``seed`` and frame ``i``'s noise ``np.random.default_rng([seed, i])``.

Timestamps are simulation time [s] from frame 0 (``frame_number * frame_period_s``) plus the wall-clock
time at ``open()`` when ``realtime`` (which also paces frames at the frame period).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Literal

import numpy as np

from firmware_cfg.radar_config import RadarConfig
from runtime.frames import PointCloudFrame, RawFrame
from runtime.sources.base import SourceBase
from sim.geometry import Mesh, RadarPose
from sim.propagation.scatter import trace_scatter
from sim.radar.adc import frame_mid_time, synthesize_adc
from sim.radar.noise import NoiseModel
from sim.radar.outputs import point_cloud_from_adc

SceneFn = Callable[[float], tuple[Sequence[Mesh], RadarPose]]


class VirtualRadar(SourceBase):
    """Simulated frames from a scene function.

    Args:
        radar_config: parsed ``.cfg`` (chirp and demo settings).
        scene_fn: ``t [s] -> (meshes, radar pose)`` at simulation time ``t``.
        output: ``"raw_adc"`` (:class:`RawFrame`) or ``"points"`` (:class:`PointCloudFrame`).
        realtime: pace frames at the frame period.
        seed: scatterer sampling and noise seed.
        num_frames: stop after this many frames (None: until closed).
        noise: receiver model (default :class:`NoiseModel()`).
        trace_kwargs: extra keyword arguments of :func:`sim.propagation.scatter.trace_scatter`.
    """

    name = "sim"

    def __init__(
        self,
        radar_config: RadarConfig,
        scene_fn: SceneFn,
        *,
        output: Literal["raw_adc", "points"] = "raw_adc",
        realtime: bool = False,
        seed: int = 0,
        num_frames: int | None = None,
        noise: NoiseModel | None = None,
        trace_kwargs: dict | None = None,
    ) -> None:
        super().__init__()
        if output not in ("raw_adc", "points"):
            raise ValueError(f"output must be 'raw_adc' or 'points', got {output!r}")
        if num_frames is not None and num_frames < 0:
            raise ValueError(f"num_frames must be >= 0, got {num_frames}")
        self.radar_config = radar_config
        self.scene_fn = scene_fn
        self.output = output
        self.realtime = realtime
        self.seed = seed
        self.num_frames = num_frames
        self.noise = noise or NoiseModel()
        self.trace_kwargs = dict(trace_kwargs or {})
        self._wall0 = 0.0

    def _open(self) -> None:
        self._wall0 = time.time()

    def frame(self, index: int) -> RawFrame | PointCloudFrame:
        """Frame ``index`` (pure function of the arguments; no pacing, no counters)."""
        cfg = self.radar_config.chirp
        t0 = index * cfg.frame_period_s
        t_mid = frame_mid_time(cfg, t0)
        meshes, pose = self.scene_fn(t_mid)
        paths = trace_scatter(meshes, pose, cfg, t_mid, rng=self.seed, **self.trace_kwargs)
        data = synthesize_adc(
            cfg,
            [paths],
            frame_start_s=t0,
            noise=self.noise,
            rng=np.random.default_rng([self.seed, index]),
        )
        stamp = t0 + (self._wall0 if self.realtime else 0.0)
        if self.output == "points":
            return PointCloudFrame(point_cloud_from_adc(data, self.radar_config), index, stamp)
        return RawFrame(data, index, stamp)

    def frames(self) -> Iterator[RawFrame | PointCloudFrame]:
        """Yield frames 0, 1, ... until ``num_frames`` or :meth:`close` (paced when ``realtime``)."""
        self.open()
        period = self.radar_config.chirp.frame_period_s
        start = time.monotonic()
        index = 0
        while not self.stopping and (self.num_frames is None or index < self.num_frames):
            if self.realtime:
                delay = start + index * period - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    return
            frame = self.frame(index)
            if self.stopping:
                return
            self.stats.frames += 1
            yield frame
            index += 1
