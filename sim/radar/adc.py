"""FMCW TDM-MIMO raw ADC synthesis from propagation paths (:class:`~sim.propagation.paths.PathSet`).

Conventions are those of :mod:`sim.radar.point_targets` (pinned by the DCA1000 reference vector): chirp
slot ``k`` (TX ``cfg.tx_order[k]``) of loop ``l`` ramps at ``u = (l * num_tx + k) * chirp_period_s``
after the frame start, sample ``n`` is taken ``t = adc_start_time_s + n / sample_rate_hz`` after its
ramp start, and a path of round-trip delay ``tau`` contributes

    gain[tx, rx] * exp(+j 2 pi (f0 tau + S tau t - S tau^2 / 2))          (cycles in the exponent)

with ``tau = tau(absolute time of the sample)`` evolving from the snapshot as
``tau(t_abs) = delay_s + delay_rate * (t_abs - t_ref_s)``. The board's ``rx_phase_sign`` (an inverted RX
feed) is applied here, not by the propagation backends.

Exact fast synthesis (:func:`synthesize_paths`)
-----------------------------------------------
Write ``a = tau`` at the frame start and ``rho = delay_rate``; then ``tau = a + rho (u + t)`` and the
phase is *exactly* the quadratic form

    Phi = C0 + Cu u + Cuu u^2 + Ct t + Ctt t^2 + Cut u t
    C0 = f0 a - S a^2/2, Cu = rho (f0 - S a), Cuu = -S rho^2/2,
    Ct = f0 rho + S a - S a rho, Ctt = S rho (1 - rho/2), Cut = S rho (1 - rho).

The cross term ``Cut u t`` is range migration within the frame (a 4 m/s scatterer moves two range
bins in an AWR1843 frame and shifts its beat frequency by tens of kHz between the first and last
chirp): it cannot be dropped, and it is not separable into a [paths x samples] times
[paths x chirps] product. It and ``Ctt t^2`` are, however, almost the same for every path relative
to its Doppler term (``Cut / Cu`` and ``Ctt / Cu`` equal ``mu = S / f0`` up to 1e-4). With the
*Doppler time* ``tau_D(u, t) = u s(t) + mu t^2``, ``s(t) = 1 + mu t`` (the keystone form),

    Phi = A + B (t - t_m) + nu tau_D(u, t) + residual

holds with per-path phase ``A``, beat frequency ``B`` and Doppler ``nu`` chosen about the frame's
centre ``(u_m, t_m)`` so that the residual is only ``Cuu u'^2 + r u' t' + q t'^2`` (``u', t'``
centred; ``r = Cut - nu mu``, ``q = Ctt - nu mu``): below 1e-4 rad for 4 m/s at 10 m in an AWR1843
frame (:attr:`SynthesisInfo.max_neglected_phase_rad` reports the bound of each call). Every sample is
then a sum of two-dimensional exponentials ``exp(j 2 pi (B_p (t_n - t_m) + nu_p tau_D(u, t_n)))``:
uniform in ``n`` along range, at per-sample scaled chirp times along Doppler. A two-dimensional
type-1 non-uniform FFT with an exact per-sample evaluation along Doppler computes it:

1. per path, its complex amplitude ``gain exp(j 2 pi (A + nu tau_c + B / (2 fs)))`` (float64 phase)
   ``[P, virtual]``;
2. spreading of each path at (``B / fs`` modulo one sample, ``nu``) onto a ``[Doppler cell, range
   cell]`` grid oversampled twice along both (:data:`RANGE_SIGMA`, :data:`DOPPLER_SIGMA`) with the
   "exponential of semicircle" kernel of width :data:`KERNEL_WIDTH` (FINUFFT's kernel, error ~2e-5
   here): ``w^2`` cells per moving path, one sparse ``[cells, P] x [P, virtual]`` product. Static
   paths (``delay_rate == 0``: ``nu = 0`` exactly) are spread along range only, into one extra row
   that is spread along Doppler after step 3 (``w`` cells each);
3. an FFT over the ``2 N`` range cells per Doppler cell and virtual channel: its ``N`` centred
   modes are the samples ``n``;
4. per sample ``n``, the scaled DFT from the Doppler cells to the chirp times ``tau_D(u_{k,l}, t_n)``
   by Bluestein's chirp-z algorithm (FFTs); both kernels' deconvolution is in its post-factor.

Cost: ``P * num_virtual * w^2`` complex multiply-adds (spreading), ``M * num_virtual`` FFTs of
``2 N`` points (``M`` Doppler cells: twice the Doppler extent times the frame time, plus ``w``) and
``2 N * num_virtual`` FFTs of ~``num_loops + M`` points, instead of ``P * num_virtual * num_loops * N``
for a direct sum; no per-path work is proportional to ``N`` or ``num_loops``. The factors are cached
per config (:func:`_plan`), per grid size (:func:`_bluestein`) and per first Doppler cell
(:func:`_post`); the grid's extent is quantised to 8 cells so that a few plans serve a scene. The
arithmetic after the float64 phases is complex64: against :func:`synthesize_paths_reference` (the
exact formula per sample, plain loops over paths: tests, benchmark) the max error is 2e-5 - 8e-5 of
the peak (1e-3 allowed).

Receiver (:func:`synthesize_adc`): scaling to ADC counts, IF high-pass per path at its beat
frequency, LO phase noise (a per-chirp fast-time shift, by FFT), thermal noise (float32 Box-Muller,
:func:`_add_gaussian_noise`), IQ imbalance, DC offset, quantisation
(:class:`sim.radar.noise.NoiseModel`).

Not modelled: antenna patterns (isotropic; the gains are boresight gains), interpolation between two
snapshots for long frames (one snapshot per frame, evolved linearly), the fast-time phase-noise skirt.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.fft
import scipy.sparse

from firmware_cfg.chirp import ChirpConfig
from sim.propagation.paths import PathSet
from sim.radar.noise import FULL_SCALE_COUNTS, NoiseModel

#: Oversampling of the range (fast-time) and Doppler grids.
RANGE_SIGMA = 2.0
DOPPLER_SIGMA = 2.0
#: Spreading kernel width [grid cells] (its shape parameter: :func:`_es_beta`).
KERNEL_WIDTH = 6

PathInput = Sequence[PathSet] | PathSet | Callable[[float], PathSet]


@dataclass(frozen=True)
class SynthesisInfo:
    """Diagnostics of one fast synthesis.

    Attributes:
        num_paths: paths synthesised.
        grid_cells: Doppler grid cells used.
        range_cells: fast-time (range) grid cells.
        max_neglected_phase_rad: bound on the phase terms the keystone form drops [rad].
    """

    num_paths: int
    grid_cells: int
    range_cells: int
    max_neglected_phase_rad: float


# ---------------------------------------------------------------------------- timing
def chirp_start_times(cfg: ChirpConfig) -> np.ndarray:
    """Ramp start of every chirp slot relative to the frame start, float64 ``[num_tx, num_loops]`` [s]."""
    slot = np.arange(cfg.num_loops)[None, :] * cfg.num_tx + np.arange(cfg.num_tx)[:, None]
    return slot * cfg.chirp_period_s


def fast_times(cfg: ChirpConfig) -> np.ndarray:
    """Time of each ADC sample after its ramp start, float64 ``[num_samples]`` [s]."""
    return cfg.adc_start_time_s + np.arange(cfg.num_samples) / cfg.sample_rate_hz


def frame_mid_time(cfg: ChirpConfig, frame_start_s: float) -> float:
    """Middle of the frame's active (chirping) time [s]."""
    return frame_start_s + 0.5 * cfg.frame_active_time_s


# ---------------------------------------------------------------------------- paths
def _as_path_list(paths: PathInput, t_mid: float) -> list[PathSet]:
    if callable(paths) and not isinstance(paths, PathSet):
        return [paths(t_mid)]
    if isinstance(paths, PathSet):
        return [paths]
    return list(paths)


def _rx_signs(cfg: ChirpConfig) -> np.ndarray:
    return np.asarray([cfg.board_spec.rx_phase_sign[r] for r in cfg.rx_indices], dtype=np.float64)


def path_arrays(
    cfg: ChirpConfig, path_sets: Sequence[PathSet], frame_start_s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paths of one frame in chirp-slot order.

    Returns:
        ``(a, rho, g)``: delay at the frame start [s] ``[P]``, delay rate [s/s] ``[P]`` and complex gain
        per chirp slot and enabled RX ``[num_tx, num_rx, P]`` (``gain[tx_order[k], rx_indices[r]]``
        times the RX feed sign).
    """
    tx = list(cfg.tx_order)
    rx = list(cfg.rx_indices)
    signs = _rx_signs(cfg)
    a_list, r_list, g_list = [], [], []
    for ps in path_sets:
        if ps.num_paths == 0:
            continue
        rate = np.asarray(ps.delay_rate, dtype=np.float64)
        a_list.append(
            np.asarray(ps.delay_s, dtype=np.float64) + rate * (frame_start_s - ps.t_ref_s)
        )
        r_list.append(rate)
        g = np.asarray(ps.gain)[np.ix_(tx, rx)]  # [num_tx, num_rx, P]
        g_list.append(g * signs[None, :, None])
    if not a_list:
        z = np.zeros(0)
        return z, z, np.zeros((cfg.num_tx, cfg.num_rx, 0), np.complex128)
    return np.concatenate(a_list), np.concatenate(r_list), np.concatenate(g_list, axis=2)


def beat_frequency_hz(cfg: ChirpConfig, a: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """Beat frequency of each path at the middle of the frame and of the sampling window [Hz] ``[P]``."""
    f0, slope = cfg.start_freq_hz, cfg.freq_slope_hz_per_s
    u_m = 0.5 * cfg.frame_active_time_s
    t_m = float(fast_times(cfg).mean())
    ct = f0 * rho + slope * a - slope * a * rho
    return ct + 2.0 * slope * rho * (1.0 - rho / 2.0) * t_m + slope * rho * (1.0 - rho) * u_m


# ---------------------------------------------------------------------------- reference
def synthesize_paths_reference(
    cfg: ChirpConfig,
    paths: PathInput,
    *,
    frame_index: int = 0,
    frame_start_s: float | None = None,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Brute force: the exact formula at every sample's absolute time, one path at a time.

    Args:
        cfg: chirp configuration.
        paths: path sets (or a callable of time, called at the frame's mid time).
        frame_index: frame number (sets the start time when ``frame_start_s`` is None).
        frame_start_s: absolute frame start [s].
        weights: optional complex ``[P]`` factor per path (applied after concatenation).

    Returns:
        complex128 ``[num_tx, num_rx, num_loops, num_samples]``, noiseless analytic signal.
    """
    t0 = frame_index * cfg.frame_period_s if frame_start_s is None else frame_start_s
    a, rho, g = path_arrays(cfg, _as_path_list(paths, frame_mid_time(cfg, t0)), t0)
    if weights is not None:
        g = g * np.asarray(weights)[None, None, :]
    u = chirp_start_times(cfg)  # [tx, loop]
    t = fast_times(cfg)  # [sample]
    elapsed = u[:, :, None] + t[None, None, :]  # [tx, loop, sample] since the frame start
    f0, slope = cfg.start_freq_hz, cfg.freq_slope_hz_per_s
    out = np.zeros(cfg.frame_shape, dtype=np.complex128)
    for p in range(a.size):
        tau = a[p] + rho[p] * elapsed
        cycles = f0 * tau + slope * tau * t - 0.5 * slope * tau * tau
        beat = np.exp(2j * np.pi * np.mod(cycles, 1.0))  # [tx, loop, sample]
        out += g[:, :, p, None, None] * beat[:, None, :, :]
    return out


# ---------------------------------------------------------------------------- fast synthesis
def _es_beta(sigma: float) -> float:
    """FINUFFT's shape parameter for a grid oversampled by ``sigma``: ``0.97 pi w (1 - 1/(2 sigma))``."""
    return 0.97 * np.pi * KERNEL_WIDTH * (1.0 - 0.5 / sigma)


def _es_kernel(z: np.ndarray, beta: float) -> np.ndarray:
    """Exponential-of-semicircle kernel ``exp(beta (sqrt(1 - z^2) - 1))`` on ``[-1, 1]`` (0 outside)."""
    z = np.asarray(z, dtype=np.float64)
    return np.exp(beta * (np.sqrt(np.maximum(1.0 - z * z, 0.0)) - 1.0)) * (np.abs(z) <= 1.0)


@functools.lru_cache(maxsize=1)
def _gauss_legendre() -> tuple[np.ndarray, np.ndarray]:
    """200-point Gauss-Legendre nodes and weights on [-1, 1] (an eigenproblem: computed once)."""
    return np.polynomial.legendre.leggauss(200)


#: Degree of the Chebyshev interpolant of the kernel's transform (:func:`_es_transform`).
_CHEB_DEGREE = 64


def _es_transform(freq_cycles: np.ndarray, beta: float) -> np.ndarray:
    """Fourier transform of the kernel spread over ``KERNEL_WIDTH`` cells, at ``freq_cycles`` per cell.

    ``(w/2) int_{-1}^{1} psi(z) cos(pi w f z) dz`` by Gauss-Legendre quadrature (float64, shape of
    ``freq_cycles``); dividing by it deconvolves the spreading.
    """
    flat = np.asarray(freq_cycles, dtype=np.float64).reshape(-1)
    lo, hi = (float(flat.min()), float(flat.max())) if flat.size else (0.0, 0.0)
    if flat.size > 4 * _CHEB_DEGREE and hi > lo:
        # a smooth, slowly varying function of one variable: a Chebyshev interpolant through
        # quadratures at its nodes matches direct quadrature to ~1e-13 and costs O(points), not
        # O(points x 200) (1-2 s per chirp configuration before)
        cheb = np.polynomial.chebyshev.Chebyshev.interpolate(
            lambda f: _es_transform(f, beta), _CHEB_DEGREE, domain=[lo, hi]
        )
        return cheb(flat).reshape(np.shape(freq_cycles))
    zq, wq = _gauss_legendre()
    kern = _es_kernel(zq, beta) * wq  # [q]
    out = np.empty(flat.size)
    step = 8192
    for i in range(0, flat.size, step):
        arg = np.pi * KERNEL_WIDTH * flat[i : i + step, None] * zq[None, :]
        out[i : i + step] = np.cos(arg) @ kern
    return (0.5 * KERNEL_WIDTH * out).reshape(np.shape(freq_cycles))


def _spread_weights(x: np.ndarray, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """First grid cell (int64 ``[P]``) and float32 kernel weights ``[P, w]`` of positions ``x`` [cells]."""
    w = KERNEL_WIDTH
    first = np.floor(x - 0.5 * w).astype(np.int64) + 1
    z = (x - first)[:, None] - np.arange(w)[None, :]  # in (-w/2, w/2]
    z *= 2.0 / w
    psi = np.exp(beta * (np.sqrt(np.maximum(1.0 - z * z, 0.0)) - 1.0))
    return first, psi.astype(np.float32)


@dataclass(frozen=True, eq=False)
class _Plan:
    u_mid: float  # centre of the chirp start times [s]
    t_mid: float  # centre of the sampling window [s]
    u_half: float
    t_half: float
    mu: float  # keystone slope S / f0 [1/s]
    s: np.ndarray  # float64 [sample] 1 + mu t
    tau_c: float  # centre of the Doppler times tau = s(t) u + mu t^2 [s]
    dnu: float  # Doppler grid spacing [Hz]
    tau_s: np.ndarray  # float64 [sample, tx, loop] centred Doppler times tau - tau_c [s]
    range_cells: int  # fast-time grid cells R over one period fs of the beat frequency
    range_mod: np.ndarray  # complex64 [R] exp(-j 2 pi r (N/2) / R): output n = k + N/2
    range_corr: np.ndarray  # float64 [sample] range-kernel deconvolution
    doppler_corr: np.ndarray  # float64 [sample, tx, loop] Doppler-kernel deconvolution
    freqs: np.ndarray  # [sample] k * fs / N (phase-noise shift)


@functools.lru_cache(maxsize=16)
def _plan(cfg: ChirpConfig) -> _Plan:
    u = chirp_start_times(cfg)
    t = fast_times(cfg)
    ns = cfg.num_samples
    mu = cfg.freq_slope_hz_per_s / cfg.start_freq_hz
    s = 1.0 + mu * t
    tau = s[:, None, None] * u[None, :, :] + (mu * t * t)[:, None, None]  # [sample, tx, loop]
    lo, hi = float(tau.min()), float(tau.max())
    half = max(0.5 * (hi - lo), 0.5 * cfg.chirp_period_s)
    tau_c = 0.5 * (lo + hi)
    dnu = 1.0 / (DOPPLER_SIGMA * 2.0 * half)
    tau_s = tau - tau_c
    cells = scipy.fft.next_fast_len(int(np.ceil(RANGE_SIGMA * ns)))
    k = np.arange(ns) - ns // 2  # centred fast-time index of sample n
    return _Plan(
        u_mid=0.5 * float(u.max()),
        t_mid=float(0.5 * (t[0] + t[-1])),
        u_half=0.5 * float(u.max()),
        t_half=float(0.5 * (t[-1] - t[0])),
        mu=mu,
        s=s,
        tau_c=tau_c,
        dnu=dnu,
        tau_s=tau_s,
        range_cells=cells,
        range_mod=_exp2pi(-(ns // 2) * np.arange(cells) / cells),
        range_corr=1.0 / _es_transform(k / cells, _es_beta(cells / ns)),
        doppler_corr=1.0 / _es_transform(dnu * tau_s, _es_beta(DOPPLER_SIGMA)),
        freqs=np.arange(ns) * cfg.sample_rate_hz / ns,
    )


@functools.lru_cache(maxsize=16)
def _bluestein(cfg: ChirpConfig, m_cells: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Factors of the per-sample scaled DFT from Doppler cells ``m`` to chirps ``(k, l)``.

    ``sum_m x[m] exp(j 2 pi m dnu tau_s[n, k, l])`` with ``tau_s = s_n (l T_tdm + k T_c) + mu t_n^2
    - tau_c`` equals ``sum_m (x[m] exp(j 2 pi m dnu shift[n, k])) exp(j 2 pi b_n m l)``, ``b_n = dnu
    s_n T_tdm``, ``shift = s_n k T_c + mu t_n^2 - tau_c``; Bluestein: ``2 m l = m^2 + l^2 - (l - m)^2``.

    Returns:
        complex64 ``(pre [N, tx, M], kernel_fft [N, F])`` and the FFT length ``F``; the post-factor
        ``exp(j pi b_n l^2)`` is in :func:`_post`.
    """
    plan = _plan(cfg)
    nl, ntx = cfg.num_loops, cfg.num_tx
    nfft = scipy.fft.next_fast_len(nl + m_cells - 1, real=False)
    b = plan.dnu * plan.s * cfg.tdm_period_s  # [N] cycles per (cell x loop)
    m = np.arange(m_cells, dtype=np.float64)
    t = fast_times(cfg)
    shift = (
        plan.s[:, None] * (np.arange(ntx) * cfg.chirp_period_s)[None, :]
        + (plan.mu * t * t)[:, None]
        - plan.tau_c
    )  # [N, tx]
    pre = _exp2pi(
        0.5 * b[:, None, None] * m[None, None, :] ** 2
        + plan.dnu * shift[:, :, None] * m[None, None, :]
    )
    d = np.arange(nfft, dtype=np.float64)
    d = np.where(d < nl, d, d - nfft)  # circular index -> lag in [-(M-1), L-1] (and unused lags)
    kernel_fft = scipy.fft.fft(_exp2pi(-0.5 * b[:, None] * d[None, :] ** 2), axis=1, workers=1)
    return pre, kernel_fft.astype(np.complex64), nfft


@functools.lru_cache(maxsize=16)
def _post(cfg: ChirpConfig, g_lo: int) -> np.ndarray:
    """complex64 ``[tx, L, N]`` post-factor of the Doppler stage: Bluestein's ``exp(j pi b_n l^2)``,
    the first cell's share ``exp(j 2 pi g_lo dnu tau_s)`` and both kernel deconvolutions."""
    plan = _plan(cfg)
    b = plan.dnu * plan.s * cfg.tdm_period_s
    ll = np.arange(cfg.num_loops, dtype=np.float64)
    cycles = 0.5 * b[:, None, None] * ll[None, None, :] ** 2 + g_lo * plan.dnu * plan.tau_s
    post = _exp2pi(cycles) * (plan.doppler_corr * plan.range_corr[:, None, None])  # [N, tx, L]
    return np.ascontiguousarray(post.transpose(1, 2, 0), dtype=np.complex64)


def _exp2pi(cycles: np.ndarray) -> np.ndarray:
    """``exp(j 2 pi cycles)`` as complex64, reducing the float64 phase first (cheap float32 sin/cos)."""
    frac = (cycles - np.round(cycles)).astype(np.float32)
    frac *= np.float32(2.0 * np.pi)
    out = np.empty(frac.shape, dtype=np.complex64)
    out.real = np.cos(frac)
    out.imag = np.sin(frac)
    return out


def synthesize_paths(
    cfg: ChirpConfig,
    paths: PathInput,
    *,
    frame_index: int = 0,
    frame_start_s: float | None = None,
    weights: np.ndarray | None = None,
    return_info: bool = False,
) -> np.ndarray | tuple[np.ndarray, SynthesisInfo]:
    """Exact noiseless synthesis of all paths (module docstring), vectorised.

    Args:
        cfg: chirp configuration.
        paths: path sets (or a callable of time, called at the frame's mid time).
        frame_index: frame number (sets the start time when ``frame_start_s`` is None).
        frame_start_s: absolute frame start [s].
        weights: optional complex ``[P]`` factor per path (after concatenation).
        return_info: also return :class:`SynthesisInfo`.

    Returns:
        complex64 ``[num_tx, num_rx, num_loops, num_samples]`` analytic signal (same units as the gains).
    """
    t0 = frame_index * cfg.frame_period_s if frame_start_s is None else frame_start_s
    a, rho, g = path_arrays(cfg, _as_path_list(paths, frame_mid_time(cfg, t0)), t0)
    if weights is not None:
        g = g * np.asarray(weights)[None, None, :]
    out, info = _synthesize_arrays(cfg, a, rho, g)
    return (out, info) if return_info else out


def _synthesize_arrays(
    cfg: ChirpConfig, a: np.ndarray, rho: np.ndarray, g: np.ndarray
) -> tuple[np.ndarray, SynthesisInfo]:
    ntx, nrx, nl, ns = cfg.frame_shape
    nv = ntx * nrx
    num_p = a.size
    if num_p == 0:
        return np.zeros(cfg.frame_shape, np.complex64), SynthesisInfo(0, 0, 0, 0.0)
    plan = _plan(cfg)
    moving = rho != 0.0
    if not (moving[:-1] >= moving[1:]).all():  # moving paths first
        order = np.argsort(~moving, kind="stable")
        a, rho, g, moving = a[order], rho[order], g[:, :, order], moving[order]
    f0, slope, fs = cfg.start_freq_hz, cfg.freq_slope_hz_per_s, cfg.sample_rate_hz
    u_m, t_m, mu = plan.u_mid, plan.t_mid, plan.mu
    # ---- exact quadratic phase coefficients and the keystone form (module docstring); static
    # paths (rho == 0) get nu = q = r = 0 exactly
    c0 = f0 * a - 0.5 * slope * a * a
    cu = rho * (f0 - slope * a)
    cuu = -0.5 * slope * rho * rho
    ct = f0 * rho + slope * a - slope * a * rho
    ctt = slope * rho * (1.0 - 0.5 * rho)
    cut = slope * rho * (1.0 - rho)
    nu = (cu + 2.0 * cuu * u_m + cut * t_m) / (1.0 + mu * t_m)  # Doppler [Hz]
    r = cut - nu * mu
    q = ctt - nu * mu
    beat = ct + 2.0 * q * t_m + r * u_m  # beat frequency at the centre [Hz]
    phase0 = c0 + (cu - nu) * u_m + cuu * u_m**2 + ct * t_m + q * t_m**2 + r * u_m * t_m
    neglected = np.abs(cuu) * plan.u_half**2 + np.abs(q) * plan.t_half**2
    neglected += np.abs(r) * (plan.u_half * plan.t_half)
    # ---- complex amplitude per path [P, virtual]: phase at (u_m, t_m) and the offset of the
    # centred fast-time index k = n - N // 2 (t_n - t_m = (k + N // 2 - (N - 1) / 2) / fs)
    x_beat = beat / fs  # cycles per sample
    amp = g.reshape(nv, num_p).T.astype(np.complex64)
    amp *= _exp2pi(phase0 + nu * plan.tau_c + (ns // 2 - 0.5 * (ns - 1)) * x_beat)[:, None]
    # ---- 2-D spreading onto the [Doppler cell, range cell] grid, one sparse [cells, P] x
    # [P, virtual] product; moving paths come first (w x w cells each), then the static ones, which
    # are spread along range only into one extra row (and along Doppler after the range FFT)
    w = KERNEL_WIDTH
    cells_r = plan.range_cells
    r_first, psi_r = _spread_weights((x_beat - np.floor(x_beat)) * cells_r, _es_beta(cells_r / ns))
    r_idx = (r_first[:, None] + np.arange(w)[None, :]) % cells_r  # [P, w]
    val_r = psi_r * plan.range_mod[r_idx]  # [P, w] complex64
    n_mov = int(np.count_nonzero(moving))
    n_sta = num_p - n_mov
    nnz_mov = n_mov * w * w
    cols = np.empty(nnz_mov + n_sta * w, np.int32)
    vals = np.empty(cols.size, np.complex64)
    g_lo, m_cells = 0, 0
    if n_mov:
        beta_d = _es_beta(DOPPLER_SIGMA)
        d_first, psi_d = _spread_weights(nu[:n_mov] / plan.dnu, beta_d)
        s_first, psi_s = _spread_weights(np.zeros(1), beta_d)  # static paths: nu = 0
        lo, hi = int(d_first.min()), int(d_first.max()) + w
        if n_sta:
            lo, hi = min(lo, int(s_first[0])), max(hi, int(s_first[0]) + w)
        g_lo = lo // 8 * 8  # quantised: few cached Doppler plans
        m_cells = -(-(hi - g_lo) // 8) * 8
        d_idx = (d_first - g_lo)[:, None] + np.arange(w)[None, :]  # [Pm, w]
        cells_m = cols[:nnz_mov].reshape(n_mov, w, w)  # [Pm, w_r, w_d]
        np.add(d_idx[:, None, :] * cells_r, r_idx[:n_mov, :, None], out=cells_m)
        np.multiply(
            val_r[:n_mov, :, None], psi_d[:, None, :], out=vals[:nnz_mov].reshape(cells_m.shape)
        )
    cols[nnz_mov:] = (m_cells * cells_r + r_idx[n_mov:]).reshape(-1)
    vals[nnz_mov:] = val_r[n_mov:].reshape(-1)
    indptr = np.concatenate([np.arange(0, nnz_mov, w * w), np.arange(nnz_mov, cols.size + 1, w)])
    spread = scipy.sparse.csc_array(
        (vals, cols, indptr.astype(np.int32)), shape=((m_cells + 1) * cells_r, num_p)
    )
    grid = spread @ amp  # [Doppler cell x range cell, virtual]
    # ---- fast time: FFT over the range cells -> samples n (deconvolution in the post-factors)
    grid = grid.reshape(m_cells + 1, cells_r, nv)
    spec = scipy.fft.ifft(grid, axis=1, norm="forward", workers=1, overwrite_x=True)[:, :ns]
    info = SynthesisInfo(num_p, m_cells, cells_r, float(2.0 * np.pi * neglected.max()))
    if not n_mov:
        static = spec[0] * plan.range_corr[:, None].astype(np.float32)  # [N, virtual]
        return np.broadcast_to(static.T.reshape(ntx, nrx, 1, ns), cfg.frame_shape).copy(), info
    if n_sta:
        row = int(s_first[0]) - g_lo
        spec[row : row + w] += psi_s[0, :, None, None] * spec[m_cells]
    # ---- slow time: per-sample scaled DFT (Bluestein) from the Doppler cells to the chirps
    pre, kernel_fft, nfft = _bluestein(cfg, m_cells)
    post = _post(cfg, g_lo)  # [tx, L, N]
    buf = np.empty((ns, ntx, nrx, nfft), np.complex64)
    src = spec[:m_cells].reshape(m_cells, ns, ntx, nrx).transpose(1, 2, 3, 0)  # [N, tx, rx, M]
    np.multiply(src, pre[:, :, None, :], out=buf[..., :m_cells])
    buf[..., m_cells:] = 0.0
    buf = scipy.fft.fft(buf, axis=3, workers=1, overwrite_x=True)
    buf *= kernel_fft[:, None, None, :]
    buf = scipy.fft.ifft(buf, axis=3, workers=1, overwrite_x=True)
    out = np.empty(cfg.frame_shape, np.complex64)
    np.multiply(buf[..., :nl].transpose(1, 2, 3, 0), post[:, None, :, :], out=out)
    return out, info


# ---------------------------------------------------------------------------- receiver
def apply_phase_noise(
    frame: np.ndarray, cfg: ChirpConfig, noise: NoiseModel, rng: np.random.Generator
) -> np.ndarray:
    """LO phase noise, range-correlated (see :mod:`sim.radar.noise`), applied in place.

    The LO phase random walk's step over chirp ``c`` gives every path of delay ``tau`` the phase
    ``tau * step_c / T_chirp``, i.e. a shift of chirp ``c``'s beat signal by
    ``dt_c = step_c / (2 pi S T_chirp)`` in fast time (exact for a sum of beat tones, done by FFT).
    """
    std = noise.phase_step_std_rad(cfg)
    if std <= 0:
        return frame
    ntx, _, nl, _ = cfg.frame_shape
    steps = rng.standard_normal((nl, ntx)).T * std  # chirp order l * ntx + k -> [tx, loop]
    dt = steps / (2.0 * np.pi * cfg.freq_slope_hz_per_s * cfg.chirp_period_s)
    # f_k dt_c is ~1e-4 cycles: float32 sin/cos need no range reduction
    arg = (2.0 * np.pi * dt).astype(np.float32)[:, None, :, None] * _plan(cfg).freqs.astype(
        np.float32
    )
    shift = np.empty(arg.shape, np.complex64)  # [tx, 1, loop, sample]
    shift.real = np.cos(arg)
    shift.imag = np.sin(arg)
    spec = scipy.fft.fft(frame, axis=3, workers=1, overwrite_x=True)  # in place for complex64
    spec *= shift
    spec = scipy.fft.ifft(spec, axis=3, workers=1, overwrite_x=True)
    if not np.shares_memory(spec, frame):
        frame[...] = spec
    return frame


def _add_gaussian_noise(parts: np.ndarray, std: float, rng: np.random.Generator) -> None:
    """Add N(0, std^2) to every element of the C-contiguous float32 array ``parts``, in place.

    Box-Muller pairs ``std sqrt(-2 ln v) (cos 2 pi w, sin 2 pi w)`` from the two 32-bit halves of one
    raw 64-bit draw per pair (23-bit uniforms ``v`` in (0, 1], ``w`` in [0, 1)): exact normals up to
    float32 resolution, truncated at 5.6 std (``v >= 2**-23``: probability 1.2e-7 per pair). About 3x
    cheaper here than ``Generator.standard_normal(dtype=np.float32)`` (ziggurat).
    """
    if not parts.flags.c_contiguous:
        raise ValueError("parts must be C-contiguous (the noise is added in place)")
    flat = parts.reshape(-1)
    num = -(-flat.size // 2)
    bits = rng.bit_generator.random_raw(num).view(np.uint32)  # [2 num]: num pairs of uniforms
    bits >>= np.uint32(9)
    bits |= np.uint32(0x3F800000)  # float32 in [1, 2) with 23 random mantissa bits
    unif = bits.view(np.float32)
    rad = unif[:num]
    np.subtract(np.float32(2.0), rad, out=rad)  # (0, 1]
    np.log(rad, out=rad)
    rad *= np.float32(-2.0 * std * std)
    np.sqrt(rad, out=rad)
    ang = unif[num:]
    ang *= np.float32(2.0 * np.pi)  # [2 pi, 4 pi)
    half = flat.size // 2
    flat[0::2] += np.cos(ang) * rad
    flat[1::2] += np.sin(ang[:half]) * rad[:half]


def apply_receiver(
    frame: np.ndarray, cfg: ChirpConfig, noise: NoiseModel, rng: np.random.Generator
) -> np.ndarray:
    """Thermal noise, IQ imbalance, DC offset, real/complex format and quantisation.

    Args:
        frame: complex ``[tx, rx, loop, sample]`` analytic signal in counts (modified in place).

    Returns:
        complex64 frame (real formats: zero imaginary part).
    """
    out = np.asarray(frame, dtype=np.complex64)
    std = noise.noise_std_counts(cfg)
    complex_fmt = cfg.adc_format.is_complex
    if not complex_fmt:
        out = out.real.astype(np.complex64)
    if std > 0:
        if complex_fmt:
            _add_gaussian_noise(out.view(np.float32), std / np.sqrt(2.0), rng)
        else:
            real = np.ascontiguousarray(out.real)
            _add_gaussian_noise(real, std, rng)
            out.real = real
    if complex_fmt and (noise.iq_gain_imbalance_db or noise.iq_phase_imbalance_deg):
        gq = 10.0 ** (noise.iq_gain_imbalance_db / 20.0)
        ph = np.deg2rad(noise.iq_phase_imbalance_deg)
        i, q = out.real.copy(), out.imag.copy()
        out.imag = gq * (q * np.cos(ph) + i * np.sin(ph))
    if noise.dc_offset_counts:
        out += np.complex64(noise.dc_offset_counts if complex_fmt else noise.dc_offset_counts.real)
    if noise.quantize:
        lsb = 2.0 ** (16 - cfg.adc_bits)
        parts = out.view(np.float32)
        if lsb != 1.0:
            parts /= np.float32(lsb)
            np.rint(parts, out=parts)
            parts *= np.float32(lsb)
        else:
            np.rint(parts, out=parts)
        np.clip(parts, -FULL_SCALE_COUNTS, FULL_SCALE_COUNTS - 1.0, out=parts)
        if not complex_fmt:
            out.imag = 0.0
    return out


def synthesize_adc(
    cfg: ChirpConfig,
    path_sets: PathInput,
    *,
    frame_index: int = 0,
    frame_start_s: float | None = None,
    noise: NoiseModel | None = None,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """One raw ADC frame as the radar would deliver it.

    Args:
        cfg: chirp configuration (timing, TX order, enabled RX, board, gains, filters, ADC format).
        path_sets: path snapshots (joined), or a callable ``t -> PathSet`` called once at the frame's
            mid time (one snapshot per frame, evolved linearly by each path's delay rate).
        frame_index: absolute frame number (start time ``frame_index * frame_period_s`` by default).
        frame_start_s: absolute frame start [s], overriding ``frame_index``'s.
        noise: receiver model (default :class:`NoiseModel()`: calibrated, noisy, quantised).
        rng: random generator for noise (required for reproducible frames; a fresh one otherwise).

    Returns:
        complex64 ``[num_tx, num_rx, num_loops, num_samples]`` [ADC counts]; real ADC formats have a
        zero imaginary part.
    """
    noise = NoiseModel() if noise is None else noise
    rng = np.random.default_rng() if rng is None else rng
    t0 = frame_index * cfg.frame_period_s if frame_start_s is None else frame_start_s
    a, rho, g = path_arrays(cfg, _as_path_list(path_sets, frame_mid_time(cfg, t0)), t0)
    weight = noise.path_scale(cfg) * noise.hpf_response(cfg, beat_frequency_hz(cfg, a, rho))
    frame, _ = _synthesize_arrays(cfg, a, rho, g * weight[None, None, :])
    apply_phase_noise(frame, cfg, noise, rng)
    return apply_receiver(frame, cfg, noise, rng)
