"""Frame types every source produces and every consumer reads.

A raw ADC frame is complex64 ``[num_tx, num_rx, num_loops, num_samples]`` (DESIGN.md); the simulator,
the DCA1000 receiver and replay all produce exactly this. A point cloud is a structured array with the
fields of TI's out-of-box demo (``POINT_DTYPE``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# x, y, z [m] (y = boresight, x = right, z = up), v = radial velocity [m/s] (+ = moving away),
# snr and noise [dB] as TI's side-info TLV reports them.
POINT_DTYPE = np.dtype(
    [
        ("x", np.float32),
        ("y", np.float32),
        ("z", np.float32),
        ("v", np.float32),
        ("snr", np.float32),
        ("noise", np.float32),
    ]
)


def empty_points(n: int = 0) -> np.ndarray:
    """A zeroed point cloud of ``n`` points with :data:`POINT_DTYPE`."""
    return np.zeros(n, dtype=POINT_DTYPE)


@dataclass(slots=True)
class RawFrame:
    """One raw ADC frame with its provenance.

    Attributes:
        data: complex64 ``[num_tx, num_rx, num_loops, num_samples]``.
        frame_number: radar frame counter (0-based unless the source says otherwise).
        timestamp: arrival time [s since the epoch] (``time.time()`` of the receiver).
        flags: damage flags from the source, e.g. ``{"zero_filled_bytes": 1456}``; empty when intact.
    """

    data: np.ndarray
    frame_number: int
    timestamp: float
    flags: dict[str, int] = field(default_factory=dict)

    @property
    def intact(self) -> bool:
        return not self.flags


@dataclass(slots=True)
class PointCloudFrame:
    """One frame of detected points (structured array of :data:`POINT_DTYPE`)."""

    points: np.ndarray
    frame_number: int
    timestamp: float
    flags: dict[str, int] = field(default_factory=dict)
