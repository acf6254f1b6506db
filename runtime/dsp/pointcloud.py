"""Detections and TI-style point clouds.

The pipeline (as TI's out-of-box demo, xWR18xx SDK 3.x): range FFT -> Doppler FFT -> detection map =
log-magnitude of the non-coherent sum over virtual antennas -> CFAR along Doppler (a bit mask) and
along range (the list); a cell is kept when both detect it (the demo ANDs the two passes, so their
order does not matter), it survives peak grouping and lies inside the range/Doppler field of view ->
TDM-MIMO phase compensation of the cell's antennas -> azimuth/elevation -> point
``x = r cos(el) sin(az), y = r cos(el) cos(az), z = r sin(el)``, ``v`` radial (+ = away), ``snr`` =
cell over range-CFAR noise [dB], ``noise`` = range-CFAR noise [dB]. Points outside the angle field of
view are dropped.

The whole chain lives in :mod:`runtime.dsp.chain`; this module assembles its outputs and offers the
one-call conveniences :func:`point_cloud` and :func:`detections`.
"""

from __future__ import annotations

import numpy as np

from firmware_cfg.chirp import ChirpConfig
from firmware_cfg.demo import DemoConfig
from runtime.frames import POINT_DTYPE

#: One detected object: range [m], radial velocity [m/s] (+ = away), angles [deg], SNR and noise [dB],
#: detection-map power [dB] and the range-Doppler cell (``doppler_bin`` fftshifted, zero at N/2).
DETECTION_DTYPE = np.dtype(
    [
        ("range_m", np.float32),
        ("velocity_mps", np.float32),
        ("azimuth_deg", np.float32),
        ("elevation_deg", np.float32),
        ("snr_db", np.float32),
        ("noise_db", np.float32),
        ("power_db", np.float32),
        ("range_bin", np.int32),
        ("doppler_bin", np.int32),
    ]
)


def detections_to_points(det: np.ndarray) -> np.ndarray:
    """Structured :data:`DETECTION_DTYPE` ``[n]`` -> :data:`~runtime.frames.POINT_DTYPE` ``[n]``."""
    r = det["range_m"].astype(np.float64)
    az = np.deg2rad(det["azimuth_deg"].astype(np.float64))
    el = np.deg2rad(det["elevation_deg"].astype(np.float64))
    pts = np.empty(det.shape[0], dtype=POINT_DTYPE)
    pts["x"] = r * np.cos(el) * np.sin(az)
    pts["y"] = r * np.cos(el) * np.cos(az)
    pts["z"] = r * np.sin(el)
    pts["v"] = det["velocity_mps"]
    pts["snr"] = det["snr_db"]
    pts["noise"] = det["noise_db"]
    return pts


def point_cloud(frame: np.ndarray, cfg: ChirpConfig, demo: DemoConfig | None = None) -> np.ndarray:
    """One raw ADC frame -> TI-style point cloud.

    Args:
        frame: complex ``[tx, rx, loop, sample]`` (``cfg.frame_shape``).
        cfg: chirp configuration.
        demo: processing settings (default ``DemoConfig()``).

    Returns:
        structured ``[n]`` of :data:`~runtime.frames.POINT_DTYPE`, strongest first.
    """
    from runtime.dsp.chain import make_plan, process_frame

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
        structured ``[n]`` of :data:`DETECTION_DTYPE`.
    """
    from runtime.dsp.chain import make_plan, process_frame

    det = process_frame(frame, make_plan(cfg, demo or DemoConfig())).detections
    return det if top is None else det[:top]
