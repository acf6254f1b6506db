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

from firmware_cfg.radar_config import RadarConfig
from runtime.dsp.chain import make_plan, process_frame


def point_cloud(frame: np.ndarray, radar_config: RadarConfig) -> np.ndarray:
    """One raw ADC frame -> TI-style point cloud.

    Args:
        frame: complex ``[tx, rx, loop, sample]`` (``radar_config.chirp.frame_shape``).
        radar_config: the radar's chirp and demo (processing) settings.

    Returns:
        structured ``[n]`` of :data:`~runtime.frames.POINT_DTYPE`, strongest first.
    """
    return process_frame(frame, make_plan(radar_config)).points


def detections(
    frame: np.ndarray,
    radar_config: RadarConfig,
    *,
    top: int | None = None,
) -> np.ndarray:
    """The detected objects of one frame, strongest (detection-map power) first.

    Args:
        frame: complex ``[tx, rx, loop, sample]``.
        radar_config: the radar's chirp and demo (processing) settings.
        top: keep the ``top`` strongest (all when None).

    Returns:
        structured ``[n]`` of :data:`~runtime.dsp.detection.DETECTION_DTYPE`.
    """
    det = process_frame(frame, make_plan(radar_config)).detections
    return det if top is None else det[:top]
