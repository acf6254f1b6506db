"""Point-cloud frames -> the fixed-size tensor a CLMP point encoder reads (numpy only).

The same function prepares training windows (simulated samples), evaluation windows (RadHAR dumps) and
the hub's live windows, so the three see identical inputs.

A window of ``window_s`` seconds is cut into ``frames`` equal time slots (``contract["frames"]``); each
slot holds the points of every radar frame whose timestamp falls in it, so a 30 Hz radar and a 10 Hz
radar fill the same slots (a 30 Hz stream puts about three radar frames in each 0.1 s slot). A slot with
more than ``max_points`` points keeps the strongest ones (highest SNR); fewer are zero-padded and masked.

Input contract (``CLMP.input_contract``)::

    {"kind": "points", "frames": T, "max_points": P, "channels": ["x", "y", "z", "v", "snr"],
     "frame_rate_hz": F, "window_s": W}

Channels are in the radar frame of :data:`runtime.frames.POINT_DTYPE`: ``x`` right, ``y`` boresight,
``z`` up [m], ``v`` radial velocity [m/s] (+ = away), ``snr`` [dB].
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from runtime.frames import PointCloudFrame

CHANNELS = ("x", "y", "z", "v", "snr")


def check_contract(contract: dict[str, Any]) -> tuple[int, int, float]:
    """``(frames T, max_points P, window_s W)`` of a points input contract.

    Raises:
        ValueError: not a points contract, or channels other than :data:`CHANNELS`.
    """
    if contract.get("kind") != "points":
        raise ValueError(f"not a point-cloud input contract: kind={contract.get('kind')!r}")
    if tuple(contract.get("channels", ())) != CHANNELS:
        raise ValueError(f"channels must be {list(CHANNELS)}, got {contract.get('channels')}")
    t, p, w = int(contract["frames"]), int(contract["max_points"]), float(contract["window_s"])
    if t < 1 or p < 1 or w <= 0:
        raise ValueError(f"bad contract sizes: frames={t} max_points={p} window_s={w}")
    return t, p, w


def slot_of_frames(timestamps: np.ndarray, num_slots: int, window_s: float) -> np.ndarray:
    """Time slot ``[0, num_slots)`` of each frame.

    Args:
        timestamps: ``[F]`` frame timestamps [s] (any origin). When they do not increase (missing
            stamps), frames are spread evenly over the window by their order instead.
        num_slots: ``T``.
        window_s: window length [s]; the window starts at the first frame.

    Returns:
        int64 ``[F]``.
    """
    n = len(timestamps)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    ts = np.asarray(timestamps, dtype=np.float64)
    span = ts[-1] - ts[0]
    if n > 1 and np.all(np.diff(ts) >= 0) and span > 0:
        # Frame period from the stamps, so the last frame's slot ends the window.
        period = span / (n - 1)
        rel = (ts - ts[0]) / max(window_s, period * n) * num_slots
    else:
        rel = np.arange(n, dtype=np.float64) * num_slots / n
    return np.clip(np.floor(rel + 1e-9).astype(np.int64), 0, num_slots - 1)


def points_window_arrays(
    clouds: Sequence[np.ndarray], timestamps: np.ndarray, contract: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """Structured point arrays per radar frame -> ``(points [T, P, 5], mask [T, P])`` float32.

    Args:
        clouds: one :data:`~runtime.frames.POINT_DTYPE` array per radar frame (same order as
            ``timestamps``).
        timestamps: ``[F]`` frame timestamps [s].
        contract: the input contract (module docstring).
    """
    t_slots, p_max, window_s = check_contract(contract)
    points = np.zeros((t_slots, p_max, len(CHANNELS)), dtype=np.float32)  # [T, P, 5]
    mask = np.zeros((t_slots, p_max), dtype=np.float32)  # [T, P]
    slots = slot_of_frames(np.asarray(timestamps), t_slots, window_s)
    for s in range(t_slots):
        members = [clouds[i] for i in np.flatnonzero(slots == s)]
        if not members:
            continue
        cloud = np.concatenate(members)
        if len(cloud) == 0:
            continue
        xyzvs = np.stack([cloud[c].astype(np.float32) for c in CHANNELS], axis=1)  # [n, 5]
        xyzvs = xyzvs[np.all(np.isfinite(xyzvs), axis=1)]
        if len(xyzvs) > p_max:
            keep = np.argsort(-xyzvs[:, 4], kind="stable")[:p_max]
            xyzvs = xyzvs[np.sort(keep)]
        points[s, : len(xyzvs)] = xyzvs
        mask[s, : len(xyzvs)] = 1.0
    return points, mask


def point_window(
    frames: Sequence[PointCloudFrame], contract: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """Frames of one window -> ``(points float32 [T, P, 5], mask float32 [T, P])`` (module docstring).

    ``frames`` should cover ``contract["window_s"]`` seconds; a shorter run fills the first slots.
    """
    stamps = np.array([f.timestamp for f in frames], dtype=np.float64)
    return points_window_arrays([f.points for f in frames], stamps, contract)


def frame_windows(num_frames: int, window_frames: int, stride_frames: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` frame ranges of sliding windows over a recording (full windows only)."""
    if window_frames < 1 or stride_frames < 1:
        raise ValueError("window and stride must be at least one frame")
    return [(s, s + window_frames) for s in range(0, num_frames - window_frames + 1, stride_frames)]
