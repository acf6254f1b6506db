"""One call from a raw ADC frame to its TI-style point cloud or detection list.

The pipeline (as TI's out-of-box demo, xWR18xx SDK 3.x): range FFT -> Doppler FFT -> detection map =
log-magnitude of the non-coherent sum over virtual antennas -> CFAR along Doppler (a bit mask) and
along range (the list); a cell is kept when both detect it (the demo ANDs the two passes, so their
order does not matter), it survives peak grouping and lies inside the range/Doppler field of view ->
TDM-MIMO phase compensation of the cell's antennas -> azimuth/elevation -> point (see
:mod:`runtime.dsp.detection`). Points outside the angle field of view are dropped.

The whole chain lives in :mod:`runtime.dsp.chain` and the detection record in
:mod:`runtime.dsp.detection`; this module offers the one-call conveniences :func:`point_cloud` and
:func:`detections`.
"""

from __future__ import annotations

import numpy as np

from firmware_cfg.chirp import ChirpConfig
from firmware_cfg.demo import DemoConfig
from runtime.dsp.chain import make_plan, process_frame


def point_cloud(frame: np.ndarray, cfg: ChirpConfig, demo: DemoConfig | None = None) -> np.ndarray:
    """One raw ADC frame -> TI-style point cloud.

    Args:
        frame: complex ``[tx, rx, loop, sample]`` (``cfg.frame_shape``).
        cfg: chirp configuration.
        demo: processing settings (default ``DemoConfig()``).

    Returns:
        structured ``[n]`` of :data:`~runtime.frames.POINT_DTYPE`, strongest first.
    """
    return process_frame(frame, make_plan(cfg, demo or DemoConfig())).points


def detections(
    frame: np.ndarray,
    cfg: ChirpConfig,
    demo: DemoConfig | None = None,
    *,
    top: int | None = None,
) -> np.ndarray:
    """The detected objects of one frame, strongest (detection-map power) first.

    Args:
        frame: complex ``[tx, rx, loop, sample]``.
        cfg: chirp configuration.
        demo: processing settings (default ``DemoConfig()``).
        top: keep the ``top`` strongest (all when None).

    Returns:
        structured ``[n]`` of :data:`~runtime.dsp.detection.DETECTION_DTYPE`.
    """
    det = process_frame(frame, make_plan(cfg, demo or DemoConfig())).detections
    return det if top is None else det[:top]
