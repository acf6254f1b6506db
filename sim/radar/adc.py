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
[paths x chirps] product. It is, however, almost the same for every path relative to its Doppler
term (``Cut / Cu = S / f0`` up to 1e-5): the *keystone* form

    Phi = A + nu * u * s(t) + B t + Ctt t^2 + residual,   s(t) = 1 + (S / f0) t

holds with per-path ``nu, A, B`` chosen so that the residual is only ``Cuu u'^2 + r u' t'`` (``u', t'``
centred; ``r = Cut - nu S / f0``): below 1e-4 rad for 4 m/s at 10 m in an AWR1843 frame
(:attr:`SynthesisInfo.max_neglected_phase_rad` reports the bound of each call). For each sample ``n``
the slow-time signal is then a sum of exponentials ``exp(j 2 pi nu_p tau)`` evaluated at the scaled
times ``tau = u * s(t_n)``; the path-dependent part becomes path-independent after a non-uniform FFT
along Doppler:

1. per path, the fast-time factor ``exp(j 2 pi (A + B t_n + Ctt t_n^2 + nu tau_c))`` (exact, float64
   phase) ``[P, N]``;
2. spreading of each path's Doppler ``nu_p`` onto an oversampled uniform grid (``SIGMA`` = 2) with
   the "exponential of semicircle" kernel of width ``KERNEL_WIDTH`` (FINUFFT's kernel, error ~1e-5),
   as small dense matrix products per tile of grid cells: ``Q[n, tx, rx, g]``;
3. per sample ``n``, the scaled DFT from the grid to the chirp times ``s(t_n) u_{k,l}`` by Bluestein's
   chirp-z algorithm (FFTs), then the kernel's deconvolution.

Cost: ``P * N`` exponentials, ``P * N * num_virtual * (TILE_CELLS + KERNEL_WIDTH - 1)`` complex
multiply-adds for the spreading and ``N * num_virtual`` FFTs of ~``num_loops + grid cells`` points,
instead of ``P * num_virtual * num_loops * N`` for a direct sum. Static paths (``delay_rate == 0``)
take an exact shortcut (one ``[virtual, P] x [P, N]`` product, the same in every chirp).
:func:`synthesize_paths_reference` evaluates the exact formula per sample with plain loops over paths (tests, benchmark).

Receiver (:func:`synthesize_adc`): scaling to ADC counts, IF high-pass per path at its beat
frequency, LO phase noise, thermal noise, IQ imbalance, DC offset, quantisation
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

from firmware_cfg.chirp import ChirpConfig
from sim.propagation.paths import PathSet
from sim.radar.noise import FULL_SCALE_COUNTS, NoiseModel

#: Oversampling of the Doppler grid.
SIGMA = 2.0
#: Kernel width [grid cells] and shape parameter (FINUFFT's choice for SIGMA = 2: beta = 2.30 w).
KERNEL_WIDTH = 6
KERNEL_BETA = 2.30 * KERNEL_WIDTH
#: Grid cells per spreading tile.
TILE_CELLS = 8

PathInput = Sequence[PathSet] | PathSet | Callable[[float], PathSet]


@dataclass(frozen=True)
class SynthesisInfo:
    """Diagnostics of one fast synthesis.

    Attributes:
        num_paths: paths synthesised.
        grid_cells: Doppler grid cells used.
        max_neglected_phase_rad: bound on the phase terms the keystone form drops [rad].
    """

    num_paths: int
    grid_cells: int
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
def _es_kernel(z: np.ndarray) -> np.ndarray:
    """Exponential-of-semicircle kernel on ``[-1, 1]`` (zero outside)."""
    z = np.asarray(z, dtype=np.float64)
    inside = np.abs(z) <= 1.0
    out = np.zeros(z.shape)
    out[inside] = np.exp(KERNEL_BETA * (np.sqrt(1.0 - z[inside] ** 2) - 1.0))
    return out


@dataclass(frozen=True, eq=False)
class _Plan:
    u: np.ndarray  # [tx, loop] ramp starts [s]
    t: np.ndarray  # [sample] fast times [s]
    u_mid: float
    t_mid: float
    u_half: float
    t_half: float
    mu: float  # keystone slope S / f0 [1/s]
    s: np.ndarray  # [sample] 1 + mu t
    tau_c: float  # centre of the scaled slow time [s]
    dnu: float  # Doppler grid spacing [Hz]
    tau_s: (
        np.ndarray
    )  # float64 [sample, tx, loop] centred scaled chirp times s_n u_{k,l} - tau_c [s]
    corr: np.ndarray  # float64 [sample, tx, loop] kernel deconvolution
    freqs: np.ndarray  # [sample] k * fs / N (phase-noise shift)


@functools.lru_cache(maxsize=16)
def _plan(cfg: ChirpConfig) -> _Plan:
    u = chirp_start_times(cfg)
    t = fast_times(cfg)
    mu = cfg.freq_slope_hz_per_s / cfg.start_freq_hz
    s = 1.0 + mu * t
    u_max = float(u.max())
    half = 0.5 * max(u_max * float(s.max()), cfg.chirp_period_s)
    dnu = 1.0 / (SIGMA * 2.0 * half)
    tau = s[:, None, None] * u[None, :, :] - half  # [sample, tx, loop] centred scaled times
    # corr = 1 / ((w/2) int_{-1}^{1} psi(z) cos(pi w dnu tau z) dz), Gauss-Legendre quadrature.
    zq, wq = np.polynomial.legendre.leggauss(200)
    kern = _es_kernel(zq) * wq  # [q]
    flat = tau.reshape(-1)
    integral = np.empty(flat.size)
    step = 8192
    for i in range(0, flat.size, step):
        arg = np.pi * KERNEL_WIDTH * dnu * flat[i : i + step, None] * zq[None, :]
        integral[i : i + step] = np.cos(arg) @ kern
    corr = (1.0 / (0.5 * KERNEL_WIDTH * integral)).reshape(tau.shape)
    return _Plan(
        u=u,
        t=t,
        u_mid=0.5 * u_max,
        t_mid=float(0.5 * (t[0] + t[-1])),
        u_half=0.5 * u_max,
        t_half=float(0.5 * (t[-1] - t[0])),
        mu=mu,
        s=s,
        tau_c=half,
        dnu=dnu,
        tau_s=tau,
        corr=corr,
        freqs=np.arange(cfg.num_samples) * cfg.sample_rate_hz / cfg.num_samples,
    )


@functools.lru_cache(maxsize=32)
def _bluestein(cfg: ChirpConfig, m_cells: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Factors of the per-sample scaled DFT from grid cells ``m`` to chirps ``(k, l)``.

    ``sum_m x[m] exp(j 2 pi m dnu (s_n u_{k,l} - tau_c))`` with ``u_{k,l} = l T_tdm + k T_c``
    = ``exp(j 2 pi m dnu (s_n k T_c - tau_c)) * sum_m x[m] exp(j 2 pi b_n m l)``, ``b_n = dnu s_n T_tdm``,
    and Bluestein: ``2 m l = m^2 + l^2 - (l - m)^2``.

    Returns:
        ``(pre [N, tx, M], post [N, tx, L], kernel_fft [N, F], F)``; ``post`` includes the kernel
        deconvolution.
    """
    plan = _plan(cfg)
    nl, ntx = cfg.num_loops, cfg.num_tx
    nfft = scipy.fft.next_fast_len(max(nl + m_cells - 1, m_cells + TILE_CELLS), real=False)
    b = plan.dnu * plan.s * cfg.tdm_period_s  # [N] cycles per (cell x loop)
    m = np.arange(m_cells, dtype=np.float64)
    ll = np.arange(nl, dtype=np.float64)
    shift = plan.s[:, None] * (np.arange(ntx) * cfg.chirp_period_s)[None, :] - plan.tau_c  # [N, tx]
    pre = _exp2pi(
        0.5 * b[:, None, None] * m[None, None, :] ** 2
        + plan.dnu * shift[:, :, None] * m[None, None, :]
    )
    post = _exp2pi(0.5 * b[:, None] * ll[None, :] ** 2)[:, None, :] * plan.corr  # [N, tx, L]
    d = np.arange(nfft, dtype=np.float64)
    d = np.where(d < nl, d, d - nfft)  # circular index -> lag in [-(M-1), L-1] (and unused lags)
    h = _exp2pi(-0.5 * b[:, None] * d[None, :] ** 2)
    kernel_fft = scipy.fft.fft(h, axis=1, workers=1)
    return pre, post.astype(np.complex64), kernel_fft.astype(np.complex64), nfft


def _exp2pi(cycles: np.ndarray) -> np.ndarray:
    """``exp(j 2 pi cycles)`` as complex64, reducing the float64 phase first (cheap float32 sin/cos)."""
    frac = (cycles - np.round(cycles)).astype(np.float32)
    frac *= np.float32(2.0 * np.pi)
    out = np.empty(frac.shape, dtype=np.complex64)
    out.real = np.cos(frac)
    out.imag = np.sin(frac)
    return out


def _exp2pi_linear(cycles0: np.ndarray, step: np.ndarray, num: int) -> np.ndarray:
    """``exp(j 2 pi (cycles0 + step * n))`` for ``n < num`` as complex64 ``[P, num]``.

    Outer product of a coarse and a fine table (``n = 16 h + l``): one complex multiply per element.
    """
    fine_n = 16
    coarse_n = -(-num // fine_n)
    fine = _exp2pi(step[:, None] * np.arange(fine_n)[None, :])  # [P, 16]
    coarse = _exp2pi(cycles0[:, None] + step[:, None] * (fine_n * np.arange(coarse_n))[None, :])
    out = (coarse[:, :, None] * fine[:, None, :]).reshape(step.size, coarse_n * fine_n)
    return out[:, :num]


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
    static = rho == 0.0
    out_static = None
    if static.any():
        # Static paths are the same in every chirp: one exact [virtual, P] x [P, N] product.
        a_s = a[static]
        slope = cfg.freq_slope_hz_per_s
        cyc0 = (
            cfg.start_freq_hz * a_s - 0.5 * slope * a_s * a_s + slope * a_s * cfg.adc_start_time_s
        )
        fast_s = _exp2pi_linear(cyc0, slope * a_s / cfg.sample_rate_hz, ns)  # [Ps, N]
        gs = g[:, :, static].reshape(ntx * nrx, -1).astype(np.complex64)
        out_static = (gs @ fast_s).reshape(ntx, nrx, 1, ns)
        a, rho, g = a[~static], rho[~static], g[:, :, ~static]
    num_p = a.size
    if num_p == 0:
        out = np.zeros(cfg.frame_shape, np.complex64)
        if out_static is not None:
            out += out_static
        return out, SynthesisInfo(int(static.sum()), 0, 0.0)
    plan = _plan(cfg)
    f0, slope = cfg.start_freq_hz, cfg.freq_slope_hz_per_s
    # ---- exact quadratic phase coefficients and the keystone form (module docstring)
    c0 = f0 * a - 0.5 * slope * a * a
    cu = rho * (f0 - slope * a)
    cuu = -0.5 * slope * rho * rho
    ct = f0 * rho + slope * a - slope * a * rho
    ctt = slope * rho * (1.0 - 0.5 * rho)
    cut = slope * rho * (1.0 - rho)
    nu = (cu + 2.0 * cuu * plan.u_mid + cut * plan.t_mid) / (1.0 + plan.mu * plan.t_mid)
    r = cut - nu * plan.mu
    b_coef = ct + r * plan.u_mid
    a_coef = c0 + (cu - nu) * plan.u_mid + cuu * plan.u_mid**2
    neglected = 2.0 * np.pi * (np.abs(cuu) * plan.u_half**2 + np.abs(r) * plan.u_half * plan.t_half)
    # ---- 1. fast-time factor per path [P, N]
    t = plan.t
    cyc = (a_coef + nu * plan.tau_c)[:, None] + b_coef[:, None] * t[None, :]
    cyc += ctt[:, None] * (t * t)[None, :]
    fast = _exp2pi(cyc)  # [P, N]
    # ---- 2. spreading on the Doppler grid, per tile of cells: q[n, cell, virtual]
    w = KERNEL_WIDTH
    x = nu / plan.dnu
    g_first = np.floor(x - 0.5 * w).astype(np.int64) + 1
    kern = _es_kernel((x[:, None] - g_first[:, None] - np.arange(w)[None, :]) / (0.5 * w))
    g_lo = int(g_first.min())
    m_cells = -(-(int(g_first.max()) - g_lo + w) // 32) * 32  # rounded up: few Bluestein plans
    pre, post, kernel_fft, nfft = _bluestein(cfg, m_cells)
    tile_len = TILE_CELLS + w - 1
    tile = (g_first - g_lo) // TILE_CELLS
    order = np.argsort(tile, kind="stable")
    bounds = np.flatnonzero(np.diff(tile[order])) + 1
    nv = ntx * nrx
    gv = g.reshape(nv, num_p).astype(np.complex64)
    q = np.zeros((ns, nv, nfft), dtype=np.complex64)  # nfft >= m_cells + TILE_CELLS
    psi_all = np.zeros((num_p, tile_len), dtype=np.float32)
    off = g_first - g_lo - tile * TILE_CELLS  # [P] in [0, TILE_CELLS)
    psi_all[np.arange(num_p)[:, None], off[:, None] + np.arange(w)[None, :]] = kern
    fast_t = fast.T  # [N, P]
    for idx in np.split(order, bounds):
        base = int(tile[idx[0]]) * TILE_CELLS
        left = gv[:, None, idx] * psi_all[idx].T[None, :, :]  # [virtual, cell, p]
        res = fast_t[:, idx] @ left.reshape(nv * tile_len, idx.size).T  # [n, virtual * cell]
        q[:, :, base : base + tile_len] += res.reshape(ns, nv, tile_len)
    # ---- 3. per-sample scaled DFT (Bluestein) to the chirp times s_n * u_{k,l}
    q4 = q.reshape(ns, ntx, nrx, nfft)
    q4[..., :m_cells] *= pre[:, :, None, :]
    spec = scipy.fft.fft(q, axis=2, workers=1, overwrite_x=True)
    spec *= kernel_fft[:, None, :]
    y = scipy.fft.ifft(spec, axis=2, workers=1, overwrite_x=True)  # [N, virtual, nfft]
    # g_lo's share of the pre- and post-factors: exp(j 2 pi g_lo dnu (s_n u_{k,l} - tau_c))
    lo = _exp2pi(g_lo * plan.dnu * plan.tau_s)  # [N, tx, L]
    factor = post * lo  # [N, tx, L]
    y4 = y.reshape(ns, ntx, nrx, nfft)[..., :nl] * factor[:, :, None, :]
    out = np.ascontiguousarray(y4.transpose(1, 2, 3, 0))  # [tx, rx, loop, sample]
    if out_static is not None:
        out += out_static
    return out, SynthesisInfo(int(static.size), m_cells, float(neglected.max()))


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
    spec = scipy.fft.fft(frame, axis=3, workers=1)
    spec *= _exp2pi(dt[:, None, :, None] * _plan(cfg).freqs[None, None, None, :])
    frame[...] = scipy.fft.ifft(spec, axis=3, workers=1, overwrite_x=True)
    return frame


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
            parts = out.view(np.float32)
            parts += rng.standard_normal(parts.shape, dtype=np.float32) * np.float32(
                std / np.sqrt(2.0)
            )
        else:
            out.real += rng.standard_normal(out.shape, dtype=np.float32) * np.float32(std)
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
