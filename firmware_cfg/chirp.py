"""ChirpConfig: the one frozen, typed description of a TI FMCW TDM-MIMO frame.

Everything downstream (DSP, the simulator, the models, the daemon) takes a ``ChirpConfig`` explicitly;
no module keeps radar constants of its own. Fields are SI units (the unit is in the name); the vendor
names (``numAdcSamples``, ``freqSlopeConst``...) stay inside the ``.cfg`` parser.

The raw ADC frame that goes with a config is a complex64 array ``[num_tx, num_rx, num_loops,
num_samples]`` where ``num_tx`` is the number of chirp slots per loop (one TX each, in transmit order
``tx_order``) and ``num_rx`` the enabled receivers in index order (``rx_indices``).
"""

from __future__ import annotations

import math
from enum import StrEnum
from functools import cached_property
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from firmware_cfg.boards import Board, get_board, virtual_array

SPEED_OF_LIGHT_M_S = 299_792_458.0


class AdcFormat(StrEnum):
    """ADC output format (``adcCfg`` adcOutputFmt)."""

    REAL = "real"
    COMPLEX_1X = "complex_1x"
    COMPLEX_2X = "complex_2x"

    @property
    def is_complex(self) -> bool:
        return self is not AdcFormat.REAL


def _popcount(mask: int) -> int:
    return bin(mask).count("1")


def _bits(mask: int) -> tuple[int, ...]:
    return tuple(i for i in range(mask.bit_length()) if mask >> i & 1)


def _next_pow2(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


class ChirpConfig(BaseModel):
    """Timing, masks and ADC format of one TI chirp profile + frame.

    Derived quantities are properties; :meth:`derived` returns them all as a dict.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    board: str = Field(
        description="board name from firmware_cfg.boards (antenna layout, chip limits)"
    )
    start_freq_hz: float = Field(gt=0, description="chirp start frequency [Hz]")
    freq_slope_hz_per_s: float = Field(gt=0, description="chirp slope [Hz/s]")
    idle_time_s: float = Field(ge=0, description="idle time before each chirp [s]")
    adc_start_time_s: float = Field(ge=0, description="ADC start after ramp start [s]")
    ramp_end_time_s: float = Field(gt=0, description="ramp duration [s]")
    tx_start_time_s: float = Field(default=0.0, description="TX start relative to ramp start [s]")
    num_samples: int = Field(gt=0, description="ADC samples per chirp")
    sample_rate_hz: float = Field(gt=0, description="ADC sample rate [samples/s]")
    rx_gain_db: float = Field(default=30.0, description="RX gain [dB]")
    tx_power_backoff_db: float = Field(
        default=0.0, ge=0, description="TX output power back-off [dB]"
    )
    hpf1_corner_hz: float = Field(
        default=175e3, gt=0, description="IF high-pass filter 1 corner [Hz]"
    )
    hpf2_corner_hz: float = Field(
        default=350e3, gt=0, description="IF high-pass filter 2 corner [Hz]"
    )
    rx_mask: int = Field(gt=0, description="enabled receivers, bit i = RX i (channelCfg)")
    tx_mask: int = Field(gt=0, description="enabled transmitters, bit i = TX i (channelCfg)")
    chirp_tx_masks: tuple[int, ...] = Field(
        min_length=1, description="TX mask of each chirp slot in a loop, in transmit order"
    )
    num_loops: int = Field(gt=0, description="loops (chirps per TX) per frame")
    num_frames: int = Field(default=0, ge=0, description="frames to send, 0 = until stopped")
    frame_period_s: float = Field(gt=0, description="frame period [s]")
    adc_bits: int = Field(default=16, description="ADC resolution [bits]: 12, 14 or 16")
    adc_format: AdcFormat = Field(default=AdcFormat.COMPLEX_1X, description="ADC output format")
    iq_swap: bool = Field(
        default=True, description="adcbufCfg SampleSwap: True = Q in the low word"
    )
    rx_interleaved: bool = Field(
        default=False, description="adcbufCfg ChanInterleave: True = RX samples interleaved"
    )

    # ---------------------------------------------------------------- board and array
    @cached_property
    def board_spec(self) -> Board:
        """The :class:`~firmware_cfg.boards.Board` named by :attr:`board`."""
        return get_board(self.board)

    @property
    def rx_indices(self) -> tuple[int, ...]:
        """Enabled RX indices in ascending order (the frame's rx axis)."""
        return _bits(self.rx_mask)

    @property
    def tx_order(self) -> tuple[int, ...]:
        """TX index of each chirp slot (the frame's tx axis).

        Raises:
            ValueError: when a chirp enables several TX at once (BPM/beamforming is not TDM).
        """
        order = []
        for slot, mask in enumerate(self.chirp_tx_masks):
            if _popcount(mask) != 1:
                raise ValueError(f"chirp slot {slot} enables TX mask {mask:#x}: not a TDM chirp")
            order.append(mask.bit_length() - 1)
        return tuple(order)

    @property
    def num_tx(self) -> int:
        """Chirp slots per loop (one TX each in TDM)."""
        return len(self.chirp_tx_masks)

    @property
    def num_rx(self) -> int:
        return _popcount(self.rx_mask)

    @property
    def num_virtual(self) -> int:
        return self.num_tx * self.num_rx

    @property
    def frame_shape(self) -> tuple[int, int, int, int]:
        """Shape of one raw ADC frame ``(num_tx, num_rx, num_loops, num_samples)``."""
        return (self.num_tx, self.num_rx, self.num_loops, self.num_samples)

    def virtual_array(self) -> np.ndarray:
        """``[num_tx, num_rx, 2]`` virtual antenna (x, z) positions in half-wavelengths."""
        return virtual_array(self.board_spec, self.tx_order, self.rx_indices)

    # ---------------------------------------------------------------- frequencies
    @property
    def sampling_bandwidth_hz(self) -> float:
        """RF bandwidth swept while the ADC samples [Hz]."""
        return self.freq_slope_hz_per_s * self.num_samples / self.sample_rate_hz

    @property
    def ramp_bandwidth_hz(self) -> float:
        """RF bandwidth swept over the whole ramp [Hz]."""
        return self.freq_slope_hz_per_s * self.ramp_end_time_s

    @property
    def carrier_freq_hz(self) -> float:
        """RF frequency at the centre of the ADC sampling window [Hz] (used for wavelength)."""
        t_mid = self.adc_start_time_s + 0.5 * self.num_samples / self.sample_rate_hz
        return self.start_freq_hz + self.freq_slope_hz_per_s * t_mid

    @property
    def wavelength_m(self) -> float:
        """Wavelength at :attr:`carrier_freq_hz` [m]."""
        return SPEED_OF_LIGHT_M_S / self.carrier_freq_hz

    @property
    def start_wavelength_m(self) -> float:
        """Wavelength at the chirp start frequency [m] (what TI's SDK/Visualizer figures use)."""
        return SPEED_OF_LIGHT_M_S / self.start_freq_hz

    # ---------------------------------------------------------------- range
    @property
    def range_resolution_m(self) -> float:
        """c / (2 B_sampled) [m]."""
        return SPEED_OF_LIGHT_M_S / (2.0 * self.sampling_bandwidth_hz)

    @property
    def max_if_hz(self) -> float:
        """Highest beat frequency the ADC can represent [Hz] (fs complex, fs/2 real)."""
        fs = self.sample_rate_hz
        return fs if self.adc_format.is_complex else fs / 2.0

    @property
    def max_range_m(self) -> float:
        """Range whose beat frequency reaches :attr:`max_if_hz` [m]."""
        return self.max_if_hz * SPEED_OF_LIGHT_M_S / (2.0 * self.freq_slope_hz_per_s)

    @property
    def range_fft_size(self) -> int:
        """Range FFT length: next power of two >= num_samples."""
        return _next_pow2(self.num_samples)

    @property
    def num_range_bins(self) -> int:
        """Useful range bins: the FFT length (complex) or half of it (real)."""
        n = self.range_fft_size
        return n if self.adc_format.is_complex else n // 2

    @property
    def range_bin_m(self) -> float:
        """Range spacing of adjacent range-FFT bins [m] (equals the resolution when no padding)."""
        return (
            self.sample_rate_hz
            * SPEED_OF_LIGHT_M_S
            / (2.0 * self.freq_slope_hz_per_s * self.range_fft_size)
        )

    # ---------------------------------------------------------------- time
    @property
    def chirp_period_s(self) -> float:
        """Idle + ramp: start-to-start time of consecutive chirps [s]."""
        return self.idle_time_s + self.ramp_end_time_s

    @property
    def adc_sampling_time_s(self) -> float:
        """Duration of the ADC sampling window [s]."""
        return self.num_samples / self.sample_rate_hz

    @property
    def tdm_period_s(self) -> float:
        """Start-to-start time of consecutive chirps of the same TX (one loop) [s]."""
        return self.num_tx * self.chirp_period_s

    @property
    def frame_active_time_s(self) -> float:
        """Time spent chirping in one frame [s]."""
        return self.num_loops * self.tdm_period_s

    @property
    def duty_cycle(self) -> float:
        """Active chirping time / frame period."""
        return self.frame_active_time_s / self.frame_period_s

    @property
    def frame_rate_hz(self) -> float:
        return 1.0 / self.frame_period_s

    # ---------------------------------------------------------------- velocity
    @property
    def doppler_fft_size(self) -> int:
        """Doppler FFT length: next power of two >= num_loops."""
        return _next_pow2(self.num_loops)

    @property
    def max_velocity_mps(self) -> float:
        """Maximum unambiguous radial velocity lambda / (4 T_tdm) [m/s]."""
        return self.wavelength_m / (4.0 * self.tdm_period_s)

    @property
    def velocity_resolution_mps(self) -> float:
        """lambda / (2 N_loops T_tdm) [m/s]."""
        return self.wavelength_m / (2.0 * self.num_loops * self.tdm_period_s)

    @property
    def velocity_bin_mps(self) -> float:
        """Velocity spacing of adjacent Doppler-FFT bins [m/s]."""
        return self.wavelength_m / (2.0 * self.doppler_fft_size * self.tdm_period_s)

    # ---------------------------------------------------------------- data rates
    @property
    def bytes_per_sample(self) -> int:
        """Bytes per ADC sample on the wire (16-bit containers; I and Q when complex)."""
        return 4 if self.adc_format.is_complex else 2

    @property
    def bytes_per_chirp(self) -> int:
        return self.num_samples * self.num_rx * self.bytes_per_sample

    @property
    def bytes_per_frame(self) -> int:
        """Raw ADC bytes of one frame as the DCA1000 records it."""
        return self.bytes_per_chirp * self.num_tx * self.num_loops

    @property
    def lvds_rate_bps(self) -> float:
        """LVDS rate needed to move one chirp's samples out within one chirp period [bit/s]."""
        return 8.0 * self.bytes_per_chirp / self.chirp_period_s

    @property
    def lvds_capacity_bps(self) -> float:
        """LVDS capacity of the board [bit/s]."""
        return self.board_spec.lvds_lanes * self.board_spec.lvds_lane_rate_bps

    @property
    def raw_data_rate_bps(self) -> float:
        """Average raw ADC rate over frames [bit/s] (what the DCA1000 must sustain)."""
        return 8.0 * self.bytes_per_frame / self.frame_period_s

    def derived(self) -> dict[str, Any]:
        """Every derived quantity by name (units in the names), for display and JSON."""
        names = (
            "num_tx",
            "num_rx",
            "num_virtual",
            "tx_order_or_none",
            "rx_indices",
            "frame_shape",
            "carrier_freq_hz",
            "wavelength_m",
            "sampling_bandwidth_hz",
            "ramp_bandwidth_hz",
            "range_resolution_m",
            "max_if_hz",
            "max_range_m",
            "range_fft_size",
            "num_range_bins",
            "range_bin_m",
            "chirp_period_s",
            "adc_sampling_time_s",
            "tdm_period_s",
            "frame_active_time_s",
            "duty_cycle",
            "frame_rate_hz",
            "doppler_fft_size",
            "max_velocity_mps",
            "velocity_resolution_mps",
            "velocity_bin_mps",
            "bytes_per_chirp",
            "bytes_per_frame",
            "lvds_rate_bps",
            "lvds_capacity_bps",
            "raw_data_rate_bps",
        )
        out: dict[str, Any] = {}
        for name in names:
            if name == "tx_order_or_none":
                try:
                    out["tx_order"] = self.tx_order
                except ValueError:
                    out["tx_order"] = None
                continue
            value = getattr(self, name)
            if isinstance(value, float) and not math.isfinite(value):
                value = None
            out[name] = value
        return out
