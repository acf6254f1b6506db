"""RadHAR text dumps (TI out-of-box demo points recorded through the ROS driver) -> point-cloud frames.

Format (one YAML-like block per detected point, blocks separated by ``---``)::

    header:
      seq: 1332214
      stamp:
        secs: 1561683369
        nsecs: 983682118
      frame_id: "ti_mmwave"
    point_id: 0          # 0 starts a new radar frame
    x: 0.0117            # [m] ROS frame: x forward (boresight), y left, z up
    y: -0.0390
    z: -0.0078
    range: 0.0436        # [m]
    velocity: 0.0        # [m/s] radial
    doppler_bin: 8
    bearing: -73.30      # [deg] atan2(y, x), positive to the left
    intensity: 30.75     # [dB]
    ---

Points are converted to mmfm's radar frame (``runtime.frames.POINT_DTYPE``: ``y`` boresight, ``x`` right,
``z`` up): ``x = -y_ros``, ``y = x_ros``, ``z = z_ros``; ``v`` is the radial velocity as recorded; ``snr``
is the intensity [dB]; ``noise`` is NaN (not recorded). A frame's timestamp is the stamp of its first
point. The parser is strict: a block missing a field or holding a non-number raises ``ValueError`` naming
the file and line.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from runtime.frames import POINT_DTYPE, PointCloudFrame

_FIELDS = ("point_id", "x", "y", "z", "velocity", "intensity", "secs", "nsecs")


def _blocks(path: Path) -> Iterator[tuple[int, dict[str, float]]]:
    """Yield (line number of the block start, {field: value}) per point block."""
    block: dict[str, float] = {}
    start = 1
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, 1):
            text = line.strip()
            if text == "---":
                if block:
                    yield start, block
                block, start = {}, lineno + 1
                continue
            key, sep, value = text.partition(":")
            if not sep or key not in _FIELDS:
                continue
            try:
                block[key] = float(value)
            except ValueError:
                raise ValueError(
                    f"{path}:{lineno}: {key}: not a number: {value.strip()!r}"
                ) from None
    if block:
        yield start, block


def read_radhar(path: str | Path) -> list[PointCloudFrame]:
    """Every frame of a RadHAR text dump, in file order.

    Returns:
        frames with ``frame_number`` counting from 0 in the file and ``timestamp`` [s since the epoch].

    Raises:
        ValueError: ``file:line: reason`` for a block that is missing a field or holds a non-number.
    """
    path = Path(path)
    frames: list[PointCloudFrame] = []
    rows: list[tuple[float, float, float, float, float]] = []
    stamp = 0.0

    def flush() -> None:
        pts = np.empty(len(rows), dtype=POINT_DTYPE)
        if rows:
            arr = np.asarray(rows, dtype=np.float64)
            pts["x"], pts["y"], pts["z"] = -arr[:, 1], arr[:, 0], arr[:, 2]
            pts["v"], pts["snr"] = arr[:, 3], arr[:, 4]
        pts["noise"] = np.nan
        frames.append(PointCloudFrame(points=pts, frame_number=len(frames), timestamp=stamp))

    for lineno, block in _blocks(path):
        missing = [f for f in _FIELDS if f not in block]
        if missing:
            raise ValueError(f"{path}:{lineno}: point block without {', '.join(missing)}")
        if block["point_id"] == 0 and rows:
            flush()
            rows = []
        if not rows:
            stamp = block["secs"] + 1e-9 * block["nsecs"]
        rows.append((block["x"], block["y"], block["z"], block["velocity"], block["intensity"]))
    if rows:
        flush()
    return frames
