"""Receiver model of a TI mmWave front end: gain to ADC counts, thermal noise and impairments.

The propagation backends return unitless field ratios (``PathSet.gain``: the square root of the
radar-equation power ratio for isotropic antennas, with the path's phase). :class:`NoiseModel` turns
them into ADC counts and adds what a real receiver adds. Reference levels (documented defaults, TI
xWR18xx/68xx data sheets SWRS228 / SWRS219, "RF specification"):

- **TX power** 12 dBm per transmitter (minus ``ChirpConfig.tx_power_backoff_db``).
- **Antenna gains** 10.5 dBi TX and RX (the BOOST/ISK patch arrays' boresight gain, TI's antenna
  application notes give 10-11 dBi); the pattern is isotropic otherwise (not modelled).
- **Noise figure** 14 dB (76-77 GHz; the data sheets quote 14-15 dB for 76-81 GHz, 12-13 dB for 60 GHz).
- **Full scale** (calibrated, see below). A tone whose power at the RX input equals
  ``full_scale_input_dbm`` (default -23 dBm) at ``rx_gain_db = 30`` reaches the 16-bit ADC's full
  scale (32768 counts amplitude). Every dB of RX gain above 30 dB lowers that input level by a dB.

So a sample in counts is ``x_counts = x_sqrtW * 10**((rx_gain_db - 30) / 20) * 32768 / sqrt(P_fs)``
with ``x_sqrtW`` the complex amplitude in sqrt(W) (``|x|^2`` = tone power at the RX input) and
``P_fs`` the full-scale input power [W]. Thermal noise is ``k T0 F B`` (B = sample rate for complex
sampling, half of it for real): -96 dBm at 14 dB NF and 2.5 Msps, i.e. about 7.3 counts rms at 30 dB
gain; a 1 m^2 target at 1 m sits near -48 dBm at the input, about 1900 counts.

Calibration of the full scale (:data:`CALIBRATION`). The data sheets give the noise figure but not
the ADC's full scale referred to the RX input. It is set from a real capture: the IWR1443 frame
``openradar-adc/doppler_example_1.npy`` (``../shared/realdata``; 2.5 Msps complex, 30 dB RX gain,
HPF 175/350 kHz) has a white noise floor of 7.0 counts rms per complex sample, measured by
:func:`estimate_noise_std_counts` (range-Doppler cells away from zero Doppler, 0.5-5.6 m; 6.9-7.4
counts beyond 1.2 m, 5.3-6.3 below). With the data-sheet noise figure that places full scale at -23 dBm
(was -8 dBm, the data sheets' *out-of-band* 1-dB compression point for the TX leakage that the
HPF removes; TI's in-band figure is -23 dBm at 24 dB RX gain, one dB lower per dB of gain, i.e.
-29 dBm at 30 dB (TI E2E thread 702363): the ADC clips about 6 dB above the IF chain's 1-dB point,
whose compression is not modelled). The simulated floor at
that profile is then 7.3 counts (+0.4 dB; ``tests/test_fidelity_noise.py`` pins it within 3 dB).
Only the product (noise figure x full-scale gain) is pinned by a noise measurement; signal levels
also depend on the TX power, antenna gains and the scene's reflectivity, which one frame of an
unknown room cannot separate (``benchmarks/README.md``, fidelity section).

The real floor is shaped where the sim's is not: 1.5-3 dB lower below 1.2 m (beat frequencies
below 500 kHz, near the HPF corners: the IF high-pass acts on the part of the noise made before it;
the sim filters the paths only) and 6-7 dB lower in the top 8 % of the IF band (the decimation
filter's edge). Neither is modelled; both are outside the 1.2-5.6 m where people are.

Impairments (all small and configurable; zero disables each):

- IF high-pass filters: ``hpf1_corner_hz`` and ``hpf2_corner_hz`` of the config as two cascaded
  first-order high-pass sections ``H(f) = (j f / fc) / (1 + j f / fc)``, applied to each path at its
  beat frequency (amplitude and phase). The filters do not shape the thermal noise (not modelled).
- DC offset per receiver [counts] and IQ imbalance (gain and phase of Q relative to I).
- LO phase noise: the LO phase is a random walk sampled at each chirp start (linear in between) with
  per-chirp step std ``sqrt(D * T_chirp)``, ``D = 4 pi^2 f^2 L(f)`` from the single-sideband level
  ``L(f)`` at ``phase_noise_offset_hz``. A path of delay ``tau`` sees ``theta(t) - theta(t - tau)``
  = ``tau * step / T_chirp``: proportional to range, so it cancels at short range. Only this
  slow-time (chirp-to-chirp) part is modelled; the fast-time skirt within a chirp is not.
- ADC quantisation: rounding to the ``adc_bits`` grid of a 16-bit container (``2**(16 - bits)``
  counts per step) and clipping at full scale (-32768 .. 32767).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from firmware_cfg.chirp import ChirpConfig

BOLTZMANN_J_PER_K = 1.380649e-23
REFERENCE_TEMPERATURE_K = 290.0
FULL_SCALE_COUNTS = 32768.0
#: RX gain at which ``full_scale_input_dbm`` is specified [dB].
REFERENCE_RX_GAIN_DB = 30.0
#: Where the default full scale comes from (module docstring): the real capture, its profile and its
#: measured noise floor [counts rms per complex sample].
CALIBRATION = {
    "capture": "openradar-adc/doppler_example_1.npy (IWR1443, PreSenseRadar/OpenRadar @ 65bcd62)",
    "profile": "77.42 GHz, 60 MHz/us, 2500 ksps complex, 128 samples, RX gain 30 dB, HPF 175/350 kHz",
    "noise_std_counts": 7.0,
}
#: The calibration capture, relative to the shared folder (:func:`load_openradar_frame`).
OPENRADAR_CAPTURE = Path("realdata", "openradar-adc", "doppler_example_1.npy")


def db_to_power(db: float) -> float:
    return float(10.0 ** (db / 10.0))


@dataclass(frozen=True)
class NoiseModel:
    """Receiver: scaling to counts, noise and impairments (defaults: see the module docstring).

    Attributes:
        calibrated: apply the radar equation scaling (TX power, antenna gains, RX gain, full scale).
            False treats ``PathSet.gain`` as ADC counts already (the analytic reference convention).
        tx_power_dbm: TX output power [dBm] before ``tx_power_backoff_db``.
        tx_antenna_gain_dbi, rx_antenna_gain_dbi: boresight antenna gains [dBi].
        full_scale_input_dbm: RX input tone power that reaches ADC full scale at 30 dB RX gain [dBm]
            (calibrated against a real capture, see the module docstring).
        noise_figure_db: receiver noise figure [dB]; ``None`` = no thermal noise.
        hpf: apply the config's IF high-pass filters to each path.
        dc_offset_counts: complex DC offset added to every sample [counts] (one value, all RX).
        iq_gain_imbalance_db: Q gain relative to I [dB].
        iq_phase_imbalance_deg: Q phase error [deg].
        phase_noise_dbc_hz: SSB phase noise at ``phase_noise_offset_hz`` [dBc/Hz]; ``None`` = off.
        phase_noise_offset_hz: offset frequency of that figure [Hz].
        quantize: round to the ADC grid and clip at full scale.
    """

    calibrated: bool = True
    tx_power_dbm: float = 12.0
    tx_antenna_gain_dbi: float = 10.5
    rx_antenna_gain_dbi: float = 10.5
    full_scale_input_dbm: float = -23.0
    noise_figure_db: float | None = 14.0
    hpf: bool = True
    dc_offset_counts: complex = 0j
    iq_gain_imbalance_db: float = 0.0
    iq_phase_imbalance_deg: float = 0.0
    phase_noise_dbc_hz: float | None = -93.0
    phase_noise_offset_hz: float = 1e6
    quantize: bool = True

    @classmethod
    def ideal(cls) -> NoiseModel:
        """No scaling (gains are counts), no noise, no filters, no impairments, no quantisation."""
        return cls(
            calibrated=False,
            noise_figure_db=None,
            hpf=False,
            phase_noise_dbc_hz=None,
            quantize=False,
        )

    # ------------------------------------------------------------------ levels
    def counts_per_sqrt_watt(self, cfg: ChirpConfig) -> float:
        """ADC counts per sqrt(W) of RX-input tone amplitude (1.0 when not ``calibrated``)."""
        if not self.calibrated:
            return 1.0
        p_fs_w = db_to_power(self.full_scale_input_dbm - 30.0)
        gain = 10.0 ** ((cfg.rx_gain_db - REFERENCE_RX_GAIN_DB) / 20.0)
        return float(FULL_SCALE_COUNTS * gain / np.sqrt(p_fs_w))

    def path_scale(self, cfg: ChirpConfig) -> float:
        """Counts per unit of ``PathSet.gain`` (TX power, antenna gains, RX gain, full scale)."""
        if not self.calibrated:
            return 1.0
        p_tx_w = db_to_power(self.tx_power_dbm - cfg.tx_power_backoff_db - 30.0)
        g_ant = db_to_power(self.tx_antenna_gain_dbi + self.rx_antenna_gain_dbi)
        return float(np.sqrt(p_tx_w * g_ant) * self.counts_per_sqrt_watt(cfg))

    def noise_bandwidth_hz(self, cfg: ChirpConfig) -> float:
        """Noise bandwidth of one ADC sample [Hz]: fs (complex sampling) or fs/2 (real)."""
        return cfg.sample_rate_hz if cfg.adc_format.is_complex else 0.5 * cfg.sample_rate_hz

    def noise_std_counts(self, cfg: ChirpConfig) -> float:
        """Total thermal-noise standard deviation per sample [counts] (0 when disabled).

        ``sqrt(k T0 F B)`` [sqrt(W)] times :meth:`counts_per_sqrt_watt`; complex formats split it
        equally between I and Q.
        """
        if self.noise_figure_db is None:
            return 0.0
        p_n = (
            BOLTZMANN_J_PER_K
            * REFERENCE_TEMPERATURE_K
            * db_to_power(self.noise_figure_db)
            * self.noise_bandwidth_hz(cfg)
        )
        return float(np.sqrt(p_n) * self.counts_per_sqrt_watt(cfg))

    def phase_step_std_rad(self, cfg: ChirpConfig) -> float:
        """Std of the LO phase random walk per chirp period [rad] (0 when disabled).

        A Wiener phase with diffusion ``D`` [rad^2/s] has ``L(f) = D / (4 pi^2 f^2)``; one step lasts
        ``chirp_period_s``.
        """
        if self.phase_noise_dbc_hz is None:
            return 0.0
        diffusion = (
            4.0 * np.pi**2 * self.phase_noise_offset_hz**2 * db_to_power(self.phase_noise_dbc_hz)
        )
        return float(np.sqrt(diffusion * cfg.chirp_period_s))

    def hpf_response(self, cfg: ChirpConfig, beat_hz: np.ndarray) -> np.ndarray:
        """Complex response of the two cascaded first-order IF high-pass sections.

        Args:
            beat_hz: ``[...]`` beat frequencies [Hz] (the sign is ignored: the filters are real).

        Returns:
            complex128 ``[...]``; all ones when ``hpf`` is off.
        """
        f = np.abs(np.asarray(beat_hz, dtype=np.float64))
        if not self.hpf:
            return np.ones(f.shape, dtype=np.complex128)
        out = np.ones(f.shape, dtype=np.complex128)
        for fc in (cfg.hpf1_corner_hz, cfg.hpf2_corner_hz):
            x = 1j * f / fc
            out *= x / (1.0 + x)
        return out


def estimate_noise_std_counts(
    frame: np.ndarray,
    *,
    min_doppler_fraction: float = 0.15,
    range_fraction: tuple[float, float] = (0.08, 0.9),
) -> float:
    """White-noise level of a raw frame: standard deviation per sample [counts].

    Range-Doppler power (Blackman along fast time, Hann along slow time, per virtual antenna, per
    chirp DC removed) in the cells away from zero Doppler (``|doppler bin| >= min_doppler_fraction
    * num_loops``) and inside ``range_fraction`` of the range bins; their median divided by
    ``ln 2`` (thermal noise power per cell is exponential) and by the windows' energy. Static
    clutter and its leakage sit at zero Doppler and a few moving targets hardly move a median, so
    this is the receiver's noise even in a frame of a real room.

    Args:
        frame: complex ``[tx, rx, loop, sample]`` (or any ``[..., loop, sample]``) [counts].

    Returns:
        ``sqrt(E|x|^2)`` of the noise per sample [counts] (I and Q together for complex frames).
    """
    x = np.asarray(frame)
    nl, ns = x.shape[-2:]
    x = x.reshape(-1, nl, ns).astype(np.complex128)  # [virtual, loop, sample]
    x = x - x.mean(axis=2, keepdims=True)
    w_d, w_r = np.hanning(nl), np.blackman(ns)
    cube = np.fft.fft(np.fft.fft(x * w_d[:, None] * w_r[None, :], axis=2), axis=1)
    power = np.abs(np.fft.fftshift(cube, axes=1)) ** 2  # [virtual, doppler, range]
    dop = np.abs(np.arange(nl) - nl // 2)
    lo, hi = (round(f * ns) for f in range_fraction)
    cells = power[:, dop >= max(1, round(min_doppler_fraction * nl)), lo:hi]
    energy = float(np.sum(w_d**2) * np.sum(w_r**2))
    return float(np.sqrt(np.median(cells) / np.log(2.0) / energy))


def load_openradar_frame(path: str | Path | None = None) -> np.ndarray:
    """The calibration capture (:data:`CALIBRATION`) as a complex ``[tx, rx, loop, sample]`` frame.

    ``openradar-adc/doppler_example_1.npy`` holds one IWR1443 frame of 128 chirps x 8 virtual
    antennas (2 TX TDM x 4 RX) x 128 samples, I and Q stored as uint16 wrap-around values inside
    complex128; they are cast back to int16 here. Its noise floor is
    ``estimate_noise_std_counts(load_openradar_frame())`` (``CALIBRATION["noise_std_counts"]``).

    Args:
        path: the ``.npy`` file; None = :data:`OPENRADAR_CAPTURE` under the shared folder
            (``$MMFM_SHARED``, else ``shared/`` beside the checkout).

    Returns:
        complex128 ``[tx=2, rx=4, loop=128, sample=128]`` [counts].

    Raises:
        FileNotFoundError: the file is absent (the message names it and ``MMFM_SHARED``).
        ValueError: not ``[loop, 8 virtual antennas, sample]``.
    """
    if path is None:
        repo = Path(__file__).resolve().parents[2]
        path = Path(os.environ.get("MMFM_SHARED", repo.parent / "shared")) / OPENRADAR_CAPTURE
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"needs {path} (the openradar-adc capture in the shared real-data folder beside the "
            "checkout; set MMFM_SHARED to point elsewhere)"
        )
    data = np.load(path)  # [loop, virtual, sample]
    if data.ndim != 3 or data.shape[1] != 8:
        raise ValueError(f"{path}: expected [loop, 8 virtual, sample], got shape {data.shape}")

    def wrap(part: np.ndarray) -> np.ndarray:  # uint16 wrap-around values -> int16
        return part.astype(np.int64).astype(np.uint16).view(np.int16).astype(np.float64)

    frame = wrap(data.real) + 1j * wrap(data.imag)
    num_loops, _, num_samples = data.shape
    return frame.reshape(num_loops, 2, 4, num_samples).transpose(1, 2, 0, 3)
