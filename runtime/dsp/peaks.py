"""Peak grouping and field-of-view filtering of CFAR detections (TI demo semantics).

TI's peak grouping keeps a detected cell only when it is a local maximum of the detection matrix along
the CFAR direction (range and/or Doppler, per ``CfarConfig.peak_grouping``); a target's skirt of
neighbouring cells then yields one point per peak.
"""

from __future__ import annotations

import numpy as np


def local_max_mask(x: np.ndarray, axis: int, *, cyclic: bool) -> np.ndarray:
    """True where ``x`` is a local maximum along ``axis``.

    A cell qualifies when it is ``>`` its lower neighbour and ``>=`` its upper neighbour (one cell per
    plateau). Without ``cyclic`` the ends compare with their single neighbour.

    Args:
        x: real array (e.g. the detection map in dB, ``[doppler, range]``).
        axis: axis along which neighbours are compared.
        cyclic: wrap around the ends (Doppler is cyclic).

    Returns:
        bool array shaped like ``x``.
    """
    x = np.asarray(x)
    last = axis in (-1, x.ndim - 1)
    if not last:
        x = np.moveaxis(x, axis, -1)
    mask = np.ones(x.shape, dtype=bool)
    if x.shape[-1] < 2:
        return mask if last else np.moveaxis(mask, -1, axis)
    np.greater(x[..., 1:], x[..., :-1], out=mask[..., 1:])  # > lower neighbour
    mask[..., :-1] &= x[..., :-1] >= x[..., 1:]  # >= upper neighbour
    if cyclic:
        mask[..., 0] &= x[..., 0] > x[..., -1]
        mask[..., -1] &= x[..., -1] >= x[..., 0]
    return mask if last else np.moveaxis(mask, -1, axis)


def local_max_at(
    x: np.ndarray, cells: tuple[np.ndarray, ...], axis: int, *, cyclic: bool
) -> np.ndarray:
    """:func:`local_max_mask` at chosen cells only: bool ``[n]`` for ``x[cells]``.

    ``cells``: index arrays into ``x``, one per dimension (as ``np.nonzero`` returns).
    """
    x = np.asarray(x)
    axis = axis % x.ndim
    n = x.shape[axis]
    pos = np.asarray(cells[axis])
    value = x[cells]
    ok = np.ones(value.shape, dtype=bool)
    for step, strict in ((-1, True), (1, False)):
        nb = pos + step
        inside = (nb >= 0) & (nb < n)
        nb = nb % n
        index = tuple(nb if k == axis else c for k, c in enumerate(cells))
        beats = value > x[index] if strict else value >= x[index]
        ok &= beats if cyclic else (beats | ~inside)
    return ok


def interval_mask(axis_values: np.ndarray, fov: tuple[float, float] | None) -> np.ndarray:
    """True where ``fov[0] <= value <= fov[1]`` (all True when ``fov`` is None). ``[n]`` bool."""
    values = np.asarray(axis_values)
    if fov is None:
        return np.ones(values.shape, dtype=bool)
    lo, hi = fov
    return (values >= lo) & (values <= hi)
