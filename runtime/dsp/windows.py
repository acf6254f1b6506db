"""Tapering windows used by the range and Doppler FFTs."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

_WINDOWS: dict[str, Callable[[int], np.ndarray]] = {
    "rect": np.ones,
    "hann": np.hanning,
    "hamming": np.hamming,
    "blackman": np.blackman,
}

WINDOW_NAMES: tuple[str, ...] = tuple(_WINDOWS)


def make_window(kind: str, n: int) -> np.ndarray:
    """A symmetric tapering window of length ``n`` as float32 ``[n]``.

    Args:
        kind: one of :data:`WINDOW_NAMES` (``rect``, ``hann``, ``hamming``, ``blackman``).
        n: number of samples.

    Raises:
        ValueError: when ``kind`` is unknown.
    """
    try:
        func = _WINDOWS[kind]
    except KeyError:
        raise ValueError(f"unknown window {kind!r}; known: {', '.join(WINDOW_NAMES)}") from None
    return np.asarray(func(n), dtype=np.float32)
