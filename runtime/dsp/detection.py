"""The detection record the chain produces and its conversion to a TI-style point.

A detection is one range-Doppler cell that passed CFAR, peak grouping and the fields of view, with the
angles estimated from its virtual antennas. Its point is
``x = r cos(el) sin(az), y = r cos(el) cos(az), z = r sin(el)``, ``v`` radial (+ = away), ``snr`` =
cell over range-CFAR noise [dB], ``noise`` = range-CFAR noise [dB].

A leaf module: :mod:`runtime.dsp.chain` builds these records, :mod:`runtime.dsp.pointcloud` offers
the one-call conveniences on top of the chain.
"""

from __future__ import annotations

import numpy as np

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
    r_cos_el = r * np.cos(el)
    pts["x"] = r_cos_el * np.sin(az)
    pts["y"] = r_cos_el * np.cos(az)
    pts["z"] = r * np.sin(el)
    pts["v"] = det["velocity_mps"]
    pts["snr"] = det["snr_db"]
    pts["noise"] = det["noise_db"]
    return pts
