"""CFAR detectors: exact noise estimates, edges, false-alarm rate, OS vs CA near a strong neighbour,
peak grouping."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_cfg.demo import CfarAveraging, CfarConfig
from runtime.dsp.cfar import ca_threshold_db_for_pfa, cfar, cfar_at, cfar_noise, os_cfar
from runtime.dsp.peaks import interval_mask, local_max_at, local_max_mask


def _loop_noise(x: np.ndarray, mode: str, g: int, w: int, cyclic: bool) -> np.ndarray:
    """Cell-by-cell reference (TI semantics, see runtime.dsp.cfar)."""
    n = x.size
    out = np.empty(n)
    for i in range(n):
        if cyclic:
            left = [x[(i - g - w + k) % n] for k in range(w)]
            right = [x[(i + g + 1 + k) % n] for k in range(w)]
        else:
            left = [x[j] for j in range(i - g - w, i - g) if 0 <= j < n]
            right = [x[j] for j in range(i + g + 1, i + g + 1 + w) if 0 <= j < n]
        full_l, full_r = len(left) == w, len(right) == w
        if full_l and full_r:
            ml, mr = np.mean(left), np.mean(right)
            out[i] = {"CA": (ml + mr) / 2, "CAGO": max(ml, mr), "CASO": min(ml, mr)}[mode]
        elif full_l:
            out[i] = np.mean(left)
        elif full_r:
            out[i] = np.mean(right)
        else:
            out[i] = np.mean(left + right)
    return out


@pytest.mark.parametrize("mode", ["CA", "CAGO", "CASO"])
@pytest.mark.parametrize("cyclic", [False, True])
@pytest.mark.parametrize(("g", "w", "n"), [(4, 8, 64), (2, 4, 32), (1, 3, 9), (3, 8, 10)])
def test_noise_matches_cell_loop(mode: str, cyclic: bool, g: int, w: int, n: int) -> None:
    x = np.random.default_rng(n + g).random((3, n)).astype(np.float32) * 40
    got = cfar_noise(x, averaging=CfarAveraging[mode], guard_len=g, window_len=w, cyclic=cyclic)
    for row in range(3):
        np.testing.assert_allclose(got[row], _loop_noise(x[row], mode, g, w, cyclic), rtol=1e-4)


def test_two_sided_means_exact() -> None:
    x = np.zeros(41)
    x[20 - 2 - 4 : 20 - 2] = 1.0  # left window of cell 20
    x[20 + 3 : 20 + 3 + 4] = 3.0  # right window
    kw = dict(guard_len=2, window_len=4, cyclic=False)
    assert cfar_noise(x, averaging=CfarAveraging.CA, **kw)[20] == pytest.approx(2.0)
    assert cfar_noise(x, averaging=CfarAveraging.CAGO, **kw)[20] == pytest.approx(3.0)
    assert cfar_noise(x, averaging=CfarAveraging.CASO, **kw)[20] == pytest.approx(1.0)
    # TI's divisor: CAGO sums one side (4 cells) and shifts by 1 -> twice the mean
    got = cfar_noise(x, averaging=CfarAveraging.CAGO, noise_div_shift=1, **kw)[20]
    assert got == pytest.approx(6.0)
    # the edge cell uses its complete side only
    edge = cfar_noise(x, averaging=CfarAveraging.CA, **kw)[0]
    assert edge == pytest.approx(x[3:7].mean())


def test_axis_argument_is_a_transpose() -> None:
    x = np.random.default_rng(0).random((16, 40)).astype(np.float32)
    cfg = CfarConfig(averaging=CfarAveraging.CAGO, window_len=4, guard_len=1, cyclic=True)
    hit0, n0 = cfar(x, cfg, axis=0)
    hit1, n1 = cfar(x.T, cfg, axis=1)
    np.testing.assert_array_equal(hit0, hit1.T)
    np.testing.assert_allclose(n0, n1.T)


def test_false_alarm_rate_as_designed() -> None:
    """CA-CFAR on exponential noise: Pfa = (1 + alpha/N)^-N exactly; measured over 400k cells."""
    rng = np.random.default_rng(7)
    power = rng.exponential(2.5, size=(200, 2048))  # any floor: CFAR is scale-invariant
    w, pfa = 16, 1e-3
    cfg = CfarConfig(
        averaging=CfarAveraging.CA,
        window_len=w,
        guard_len=2,
        noise_div_shift=5,  # log2(2 w)
        cyclic=True,
        threshold_db=ca_threshold_db_for_pfa(pfa, 2 * w),
    )
    hit, _ = cfar(power, cfg, axis=1, scale="power")
    measured = hit.mean()
    assert 0.7 * pfa < measured < 1.4 * pfa, measured


def test_injected_peaks_found_on_db_map() -> None:
    rng = np.random.default_rng(3)
    floor_db = 10 * np.log10(rng.exponential(1.0, size=512) + 1e-12) + 40.0
    peaks = [50, 200, 333, 480]
    x = floor_db.copy()
    x[peaks] = 40.0 + 25.0
    cfg = CfarConfig(averaging=CfarAveraging.CAGO, window_len=8, guard_len=4, threshold_db=15.0)
    hit, noise = cfar(x, cfg, scale="db")
    assert set(peaks) <= set(np.flatnonzero(hit))
    assert hit.sum() <= len(peaks) + 2  # log-domain averaging leaves few false alarms at 15 dB
    # mean of 10 log10 of exponential noise = 10 log10(mean) - 2.51 dB; 8-cell averages scatter ~2 dB
    assert np.all(np.abs(noise[peaks] - (40.0 - 2.51)) < 6.0)


def test_os_beats_ca_next_to_a_strong_neighbour() -> None:
    rng = np.random.default_rng(5)
    power = rng.exponential(1.0, size=256)
    strong, weak = 120, 127  # the strong target sits inside the weak one's noise window
    power[strong] = 1e5
    power[weak] = 200.0  # 23 dB over the floor
    g, w, thr = 2, 8, 13.0
    ca = CfarConfig(averaging=CfarAveraging.CA, window_len=w, guard_len=g, threshold_db=thr)
    hit_ca, _ = cfar(power, ca, scale="power")
    hit_os, _ = os_cfar(
        power, guard_len=g, window_len=w, rank=12, threshold_db=thr, cyclic=False, scale="power"
    )
    assert hit_ca[strong] and not hit_ca[weak]  # masked by the neighbour in its window
    assert hit_os[strong] and hit_os[weak]


def test_os_noise_is_the_order_statistic() -> None:
    x = np.arange(40, dtype=np.float64)[::-1].copy()
    noise = cfar_noise(x, averaging="os", guard_len=1, window_len=3, cyclic=False, rank=2)
    cells = [x[16], x[17], x[18], x[22], x[23], x[24]]
    assert noise[20] == sorted(cells)[1]
    with pytest.raises(ValueError, match="rank"):
        cfar_noise(x, averaging="os", guard_len=1, window_len=3, cyclic=False, rank=7)


def test_peak_grouping_keeps_one_cell_per_peak() -> None:
    x = np.array([0, 1, 5, 4, 4, 6, 6, 2, 9], dtype=float)
    assert np.flatnonzero(local_max_mask(x, axis=0, cyclic=False)).tolist() == [2, 5, 8]
    # cyclic: the last cell compares with the first
    y = np.array([3, 0, 0, 2], dtype=float)
    assert np.flatnonzero(local_max_mask(y, axis=0, cyclic=True)).tolist() == [0]
    assert interval_mask(np.array([-1.0, 0.5, 2.0]), (0.0, 1.0)).tolist() == [False, True, False]
    assert interval_mask(np.array([1.0, 2.0]), None).all()


@pytest.mark.parametrize("mode", list(CfarAveraging))
@pytest.mark.parametrize("cyclic", [False, True])
@pytest.mark.parametrize("shape", [(64, 48), (9, 40), (40, 7)])  # short axes: partial windows
@pytest.mark.parametrize("axis", [0, 1])
def test_cells_only_equals_whole_map(
    mode: CfarAveraging, cyclic: bool, shape: tuple[int, int], axis: int
) -> None:
    """``cfar_at`` and ``local_max_at`` at chosen cells agree with the whole-map functions."""
    rng = np.random.default_rng(7)
    x = (10 * np.log10(rng.exponential(1.0, size=shape)) + 40).astype(np.float32)
    x[rng.integers(0, shape[0], 6), rng.integers(0, shape[1], 6)] += 25.0  # a few targets
    cfg = CfarConfig(averaging=mode, window_len=4, guard_len=2, cyclic=cyclic, threshold_db=6.0)
    hit, noise = cfar(x, cfg, axis=axis)
    cells = np.nonzero(rng.random(shape) < 0.3)
    hit_at, noise_at = cfar_at(x, cfg, cells, axis=axis)
    np.testing.assert_allclose(noise_at, noise[cells], rtol=1e-6)
    np.testing.assert_array_equal(hit_at, hit[cells])
    for wrap in (False, True):
        peaks = local_max_mask(x, axis=axis, cyclic=wrap)
        np.testing.assert_array_equal(local_max_at(x, cells, axis, cyclic=wrap), peaks[cells])
