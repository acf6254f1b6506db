"""CFAR detectors: CA, CAGO, CASO and OS, in 1-D and along either axis of a map.

TI semantics (``cfarCfg``): each cell under test (CUT) has ``guard_len`` guard cells and then
``window_len`` noise cells on *each* side. The noise estimate is

- CA: the sum of both windows divided by ``2**noise_div_shift`` (TI sets ``noise_div_shift =
  log2(2 * window_len)`` so that this is the mean),
- CAGO / CASO: the greater / smaller of the two one-sided sums divided by ``2**noise_div_shift``
  (``log2(window_len)`` gives the mean),
- OS (not in TI's demo): the ``rank``-th smallest of the ``2 * window_len`` noise cells.

Without ``cyclic`` a cell whose window would leave the axis uses its complete side only (TI does the
same at the edges); an axis too short for either side falls back to the mean of the cells available.
A cell is detected when it exceeds the noise by ``threshold_db``: additively on a map in dB (TI runs
CFAR on the log-magnitude detection matrix), multiplicatively (``10**(dB/10)``) on a power map.

Everything is vectorised: sliding window sums built by doubling (CA family; a cumulative sum for
axes too short for a complete side) or a sliding-window sort (OS).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from firmware_cfg.demo import CfarAveraging, CfarConfig

Scale = Literal["db", "power"]


def _cumsum0(x: np.ndarray) -> np.ndarray:
    """Cumulative sum along the last axis with a leading zero: ``c[..., i] = sum(x[..., :i])``."""
    c = np.empty((*x.shape[:-1], x.shape[-1] + 1), dtype=np.result_type(x.dtype, np.float32))
    c[..., 0] = 0
    np.cumsum(x, axis=-1, out=c[..., 1:])
    return c


def _sliding_sums(x: np.ndarray, window_len: int) -> np.ndarray:
    """``S[..., j] = sum(x[..., j : j + window_len])`` along the last axis, ``[..., n - window_len + 1]``.

    Built by doubling (sums of 2, 4, 8, ... cells, then the binary digits of ``window_len`` added at
    their offsets): ``log2(window_len)`` vectorised additions of contiguous slices, no sequential
    cumulative sum, and pairwise (more accurate) float rounding. Float32 or wider.
    """
    x = np.asarray(x)
    x = x.astype(np.result_type(x.dtype, np.float32), copy=False)
    out_len = x.shape[-1] - window_len + 1
    total: np.ndarray | None = None
    part, width, pos, rest = x, 1, 0, window_len  # part[..., j] = sum(x[..., j : j + width])
    while True:
        if rest & 1:
            seg = part[..., pos : pos + out_len]
            total = seg.copy() if total is None else np.add(total, seg, out=total)
            pos += width
        rest >>= 1
        if not rest:
            return total
        part = part[..., :-width] + part[..., width:]
        width *= 2


def _window_sums(
    x: np.ndarray, guard_len: int, window_len: int, cyclic: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Left/right noise-window sums and cell counts along the last axis.

    Returns ``(sum_left, count_left, sum_right, count_right)``: sums ``[..., n]``, counts ``[n]``.
    Wrapping around: slices of one sliding sum; otherwise (short axes, partial windows) slices and
    gathers of one cumulative sum.
    """
    n = x.shape[-1]
    g, w = guard_len, window_len
    if cyclic:
        reach = g + w
        reps = -(-reach // n)  # wrap as many times as the reach needs
        tiled = np.concatenate([x] * (2 * reps + 1), axis=-1) if reps > 1 else None
        if tiled is None:
            pad = np.concatenate([x[..., n - reach :], x, x[..., :reach]], axis=-1)
        else:
            pad = tiled[..., reps * n - reach : reps * n + n + reach]
        sums = _sliding_sums(pad, w)  # cell i of x sits at i + reach of pad
        left = sums[..., :n]
        right = sums[..., reach + g + 1 : reach + g + 1 + n]
        full = np.full(n, w)
        return left, full, right, full
    c = _cumsum0(x)
    idx = np.arange(n)
    lo_start = np.clip(idx - g - w, 0, n)
    lo_stop = np.clip(idx - g, 0, n)
    hi_start = np.clip(idx + g + 1, 0, n)
    hi_stop = np.clip(idx + g + 1 + w, 0, n)
    left = np.zeros(x.shape, dtype=c.dtype)
    right = np.zeros(x.shape, dtype=c.dtype)
    a = g + w  # first cell with a complete left window
    if a < n:
        left[..., a:] = c[..., w : n - g] - c[..., : n - a]
    b = n - a - 1  # last cell with a complete right window (exclusive end b + 1)
    if b >= 0:
        right[..., : b + 1] = c[..., a + 1 : n + 1] - c[..., g + 1 : g + 2 + b]
    # partial windows at the ends (only used when neither side is complete)
    partial = np.flatnonzero((lo_stop - lo_start < w) & (hi_stop - hi_start < w))
    if partial.size:
        left[..., partial] = c[..., lo_stop[partial]] - c[..., lo_start[partial]]
        right[..., partial] = c[..., hi_stop[partial]] - c[..., hi_start[partial]]
    return left, lo_stop - lo_start, right, hi_stop - hi_start


def cfar_noise(
    x: np.ndarray,
    *,
    averaging: CfarAveraging | Literal["os"],
    guard_len: int,
    window_len: int,
    cyclic: bool,
    axis: int = -1,
    noise_div_shift: int | None = None,
    rank: int | None = None,
) -> np.ndarray:
    """Noise estimate of every cell along ``axis``.

    Args:
        x: real map (dB or power), any shape.
        averaging: :class:`~firmware_cfg.demo.CfarAveraging` (CA, CAGO, CASO) or ``"os"``.
        guard_len: guard cells on each side of the CUT.
        window_len: noise cells on each side.
        cyclic: wrap the windows around the ends of the axis.
        axis: axis along which the windows slide.
        noise_div_shift: TI divisor ``2**shift`` of the sum (CA: both sides; CAGO/CASO: one side).
            None divides by the number of cells (the plain mean), which equals TI's choice
            ``log2(2 window_len)`` / ``log2(window_len)``.
        rank: OS-CFAR order statistic, 1-based, among ``2 * window_len`` cells (e.g. ``3/4`` of them).

    Returns:
        float ``[...]`` shaped like ``x``.
    """
    x = np.asarray(x)
    last = axis in (-1, x.ndim - 1)
    if not last:
        x = np.moveaxis(x, axis, -1)
    if averaging == "os":
        if rank is None or not 1 <= rank <= 2 * window_len:
            raise ValueError(f"OS-CFAR rank must be in 1..{2 * window_len}, got {rank}")
        noise = _os_noise(x, guard_len, window_len, cyclic, rank)
        return noise if last else np.moveaxis(noise, -1, axis)
    mode = CfarAveraging(averaging)
    reach = guard_len + window_len
    if cyclic or x.shape[-1] < 2 * reach:
        noise = _ca_noise_general(x, mode, guard_len, window_len, cyclic)
    else:
        noise = _ca_noise_edges(x, mode, guard_len, window_len)
    if noise_div_shift is not None:
        cells = 2 * window_len if mode is CfarAveraging.CA else window_len
        factor = cells / float(1 << noise_div_shift)
        if factor != 1.0:
            noise *= factor
    noise = noise.astype(x.dtype, copy=False)
    return noise if last else np.moveaxis(noise, -1, axis)


def _combine(mode: CfarAveraging, s_l: np.ndarray, s_r: np.ndarray, window_len: int) -> np.ndarray:
    """Noise of cells with both windows complete: CA mean of both, CAGO/CASO greater/smaller mean."""
    if mode is CfarAveraging.CA:
        noise = s_l + s_r
        noise *= 1.0 / (2 * window_len)
    elif mode is CfarAveraging.CAGO:
        noise = np.maximum(s_l, s_r)
        noise *= 1.0 / window_len
    else:
        noise = np.minimum(s_l, s_r)
        noise *= 1.0 / window_len
    return noise


def _ca_noise_edges(
    x: np.ndarray, mode: CfarAveraging, guard_len: int, window_len: int
) -> np.ndarray:
    """CA-family noise along the last axis without wrap-around, for an axis of at least
    ``2 (guard_len + window_len)`` cells (every cell has at least one complete side).

    Every window sum is a slice of one array ``S[j] = sum(x[..., j : j + window_len])``: the left
    window of cell ``i`` is ``S[i - reach]``, the right one ``S[i + guard_len + 1]``. Cells near an end
    use their complete side only.
    """
    n = x.shape[-1]
    g, w = guard_len, window_len
    a = g + w  # first cell with a complete left window
    b = n - a  # end (exclusive) of the cells with a complete right window
    sums = _sliding_sums(x, w)  # [..., n - w + 1]
    noise = np.empty(x.shape, dtype=sums.dtype)
    if a < b:
        noise[..., a:b] = _combine(mode, sums[..., : b - a], sums[..., a + g + 1 :], w)
    # right side only (left incomplete): cells [0, a); left side only: cells [b, n) (b >= a)
    noise[..., :a] = sums[..., g + 1 : a + g + 1] / w
    noise[..., b:] = sums[..., b - a : n - a] / w
    return noise


def _ca_noise_general(
    x: np.ndarray, mode: CfarAveraging, guard_len: int, window_len: int, cyclic: bool
) -> np.ndarray:
    """CA-family noise along the last axis: wrap-around, or axes too short for a complete side."""
    s_l, n_l, s_r, n_r = _window_sums(x, guard_len, window_len, cyclic)
    noise = _combine(mode, s_l, s_r, window_len)
    if cyclic:  # every window is complete
        return noise
    full_l, full_r = n_l == window_len, n_r == window_len
    edge = np.flatnonzero(~(full_l & full_r))  # only without cyclic: cells near the ends
    if edge.size:
        only_l = edge[full_l[edge]]
        only_r = edge[full_r[edge]]
        neither = edge[~full_l[edge] & ~full_r[edge]]
        noise[..., only_l] = s_l[..., only_l] / window_len
        noise[..., only_r] = s_r[..., only_r] / window_len
        count = np.maximum(n_l[neither] + n_r[neither], 1)
        noise[..., neither] = (s_l[..., neither] + s_r[..., neither]) / count
    return noise


def _os_noise(
    x: np.ndarray, guard_len: int, window_len: int, cyclic: bool, rank: int
) -> np.ndarray:
    """OS-CFAR noise along the last axis (see :func:`cfar_noise`)."""
    n = x.shape[-1]
    reach = guard_len + window_len
    if cyclic:
        pad = np.take(x, np.arange(-reach, n + reach) % n, axis=-1)
    else:
        inf = np.full((*x.shape[:-1], reach), np.inf, dtype=np.float64)
        pad = np.concatenate([inf, x.astype(np.float64), inf], axis=-1)
    win = sliding_window_view(pad, 2 * reach + 1, axis=-1)  # [..., n, 2 reach + 1]
    train = np.concatenate([win[..., :window_len], win[..., -window_len:]], axis=-1)
    train = np.sort(train, axis=-1)  # inf (outside the axis) sorts last
    count = np.isfinite(train).sum(axis=-1)  # [..., n]
    k = np.clip(np.rint(rank * count / (2 * window_len)).astype(int) - 1, 0, None)
    return np.take_along_axis(train, k[..., None], axis=-1)[..., 0].astype(x.dtype)


def threshold_exceeded(
    x: np.ndarray, noise: np.ndarray, threshold_db: float, scale: Scale
) -> np.ndarray:
    """``x > noise + threshold_db`` (dB maps) or ``x > noise * 10**(threshold_db/10)`` (power maps)."""
    if scale == "db":
        return x > noise + threshold_db
    if scale == "power":
        return x > noise * 10.0 ** (threshold_db / 10.0)
    raise ValueError(f"scale must be 'db' or 'power', got {scale!r}")


def cfar(
    x: np.ndarray, cfg: CfarConfig, *, axis: int = -1, scale: Scale = "db"
) -> tuple[np.ndarray, np.ndarray]:
    """CA/CAGO/CASO-CFAR along one axis with the settings of one ``cfarCfg`` line.

    Args:
        x: real map, e.g. the detection map in dB ``[doppler, range]``; 1-D works too.
        cfg: averaging mode, guard/window lengths, divisor shift, cyclic flag, threshold [dB].
            (Peak grouping is applied by the chain, see :mod:`runtime.dsp.peaks`.)
        axis: the CFAR direction.
        scale: ``"db"`` (log-magnitude map, TI) or ``"power"`` (linear power map).

    Returns:
        ``(detected, noise)``: bool and float arrays shaped like ``x``.
    """
    noise = cfar_noise(
        x,
        averaging=cfg.averaging,
        guard_len=cfg.guard_len,
        window_len=cfg.window_len,
        cyclic=cfg.cyclic,
        axis=axis,
        noise_div_shift=cfg.noise_div_shift,
    )
    return threshold_exceeded(x, noise, cfg.threshold_db, scale), noise


def cfar_at(
    x: np.ndarray,
    cfg: CfarConfig,
    cells: tuple[np.ndarray, ...],
    *,
    axis: int,
    scale: Scale = "db",
) -> tuple[np.ndarray, np.ndarray]:
    """CA/CAGO/CASO-CFAR of chosen cells only: what :func:`cfar` gives at ``x[cells]``.

    For a few candidate cells (e.g. the second CFAR direction after the first one), gathering their
    ``2 * window_len`` noise cells is far cheaper than sliding windows over the whole map. Sums may
    differ from :func:`cfar`'s in the last float bit (summation order).

    Args:
        x: real map, e.g. the detection map in dB ``[doppler, range]``.
        cfg: the ``cfarCfg`` settings of this direction.
        cells: index arrays into ``x``, one per dimension (as ``np.nonzero`` returns), each ``[n]``.
        axis: the CFAR direction.
        scale: ``"db"`` or ``"power"``.

    Returns:
        ``(detected, noise)``: bool and float ``[n]``.
    """
    x = np.asarray(x)
    axis = axis % x.ndim
    n = x.shape[axis]
    g, w = cfg.guard_len, cfg.window_len
    pos = np.asarray(cells[axis])[:, None]  # [n_cells, 1]
    steps = np.arange(g + 1, g + w + 1)  # [w]
    sums, counts = [], []
    for side in (pos - steps, pos + steps):  # [n_cells, w] positions along the axis
        if cfg.cyclic:
            valid = None
            side %= n
        else:
            valid = (side >= 0) & (side < n)
            np.clip(side, 0, n - 1, out=side)
        index = tuple(side if k == axis else np.asarray(c)[:, None] for k, c in enumerate(cells))
        values = x[index].astype(np.result_type(x.dtype, np.float32), copy=False)
        if valid is None:
            sums.append(values.sum(axis=1))
            counts.append(np.full(values.shape[0], w))
        else:
            sums.append(np.where(valid, values, 0).sum(axis=1))
            counts.append(valid.sum(axis=1))
    (s_l, s_r), (n_l, n_r) = sums, counts
    mode = CfarAveraging(cfg.averaging)
    noise = _combine(mode, s_l, s_r, w)
    full_l, full_r = n_l == w, n_r == w
    if not cfg.cyclic and not (full_l.all() and full_r.all()):
        only_l, only_r = full_l & ~full_r, full_r & ~full_l
        neither = ~full_l & ~full_r
        noise[only_l] = s_l[only_l] / w
        noise[only_r] = s_r[only_r] / w
        noise[neither] = (s_l[neither] + s_r[neither]) / np.maximum(n_l + n_r, 1)[neither]
    if cfg.noise_div_shift is not None:
        factor = (2 * w if mode is CfarAveraging.CA else w) / float(1 << cfg.noise_div_shift)
        if factor != 1.0:
            noise *= factor
    noise = noise.astype(x.dtype, copy=False)
    return threshold_exceeded(x[cells], noise, cfg.threshold_db, scale), noise


def os_cfar(
    x: np.ndarray,
    *,
    guard_len: int,
    window_len: int,
    rank: int,
    threshold_db: float,
    cyclic: bool,
    axis: int = -1,
    scale: Scale = "db",
) -> tuple[np.ndarray, np.ndarray]:
    """Ordered-statistic CFAR along one axis: noise = ``rank``-th smallest of the noise cells.

    Robust next to strong neighbours (a target inside the window raises only the top order
    statistics, which a rank below ``2 window_len`` ignores). Returns ``(detected, noise)``.
    """
    noise = cfar_noise(
        x,
        averaging="os",
        guard_len=guard_len,
        window_len=window_len,
        cyclic=cyclic,
        axis=axis,
        rank=rank,
    )
    return threshold_exceeded(x, noise, threshold_db, scale), noise


def ca_threshold_db_for_pfa(pfa: float, num_cells: int) -> float:
    """CA-CFAR threshold [dB] on a *power* map of exponential (complex Gaussian) noise.

    With ``N = num_cells`` averaged cells, ``Pfa = (1 + alpha / N) ** -N`` for the multiplier
    ``alpha``; this inverts it and returns ``10 log10(alpha)``.
    """
    alpha = num_cells * (pfa ** (-1.0 / num_cells) - 1.0)
    return float(10.0 * np.log10(alpha))
