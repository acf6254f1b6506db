"""Static clutter removal, as TI's demo does when ``clutterRemoval`` is on.

Everything that does not move (walls, furniture, the radome's leakage) has the same complex value in
every chirp of a frame; subtracting the mean over loops per range bin (and antenna) removes it and
leaves the zero-Doppler bin empty. The operation is linear and acts on slow time only, so it gives the
same result before or after the range FFT (the chain applies it to the ADC samples, before windowing).
"""

from __future__ import annotations

import numpy as np


def remove_static_clutter(cube: np.ndarray, loop_axis: int = -2) -> np.ndarray:
    """Subtract the mean over loops.

    Args:
        cube: ``[tx, rx, loop, range]`` range-FFT output, or ``[tx, rx, loop, sample]`` ADC samples.
        loop_axis: the slow-time (loop) axis.

    Returns:
        a new array of the same shape and dtype.
    """
    return cube - cube.mean(axis=loop_axis, keepdims=True, dtype=cube.dtype)
