"""Evaluation boards: chip limits and antenna geometry.

Antenna positions are in half-wavelength units at the board's design frequency, seen from the radar
looking out along +y (boresight): ``x`` grows to the right (positive azimuth), ``z`` grows upward
(positive elevation). The virtual array of a TDM-MIMO frame is ``tx + rx`` for every enabled pair, so
DSP and the simulator build it from the same numbers (:func:`virtual_array`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Board:
    """One radar evaluation board (chip + antenna layout).

    Frequencies in [Hz], rates in [samples/s] or [bit/s], positions in half-wavelengths.
    """

    name: str
    chip: str  # e.g. "xWR18xx"
    aliases: tuple[str, ...]
    freq_min_hz: float  # lowest RF frequency the chip synthesises
    freq_max_hz: float  # highest RF frequency the chip synthesises
    max_slope_hz_per_s: float
    max_sample_rate_hz: float  # complex 1x ADC (DFE output) rate limit [samples/s]
    max_if_bandwidth_hz: float
    tx_positions: tuple[tuple[float, float], ...]  # [(x, z)] per TX, half-wavelengths
    rx_positions: tuple[tuple[float, float], ...]  # [(x, z)] per RX, half-wavelengths
    rx_phase_sign: tuple[int, ...]  # +1/-1 per RX: feed polarity (AOP boards flip some)
    lvds_lanes: int
    lvds_lane_rate_bps: float
    sdk_dialect: str  # "3.x", "2.x" (xWR16xx SDK 2.x) or "1.x" (xWR14xx SDK 1.x): see the parser
    platform_id: int  # value of the UART header's platform field
    notes: str = ""
    max_sample_rate_real_hz: float = 0.0  # real / complex 2x DFE output rate limit; 0 = 2 x complex

    def __post_init__(self) -> None:
        if not self.max_sample_rate_real_hz:
            object.__setattr__(self, "max_sample_rate_real_hz", 2.0 * self.max_sample_rate_hz)

    @property
    def num_tx(self) -> int:
        return len(self.tx_positions)

    @property
    def num_rx(self) -> int:
        return len(self.rx_positions)

    @property
    def has_elevation(self) -> bool:
        """True when the virtual array spans more than one height."""
        zs = {z for _, z in self.tx_positions} | {z for _, z in self.rx_positions}
        return len(zs) > 1

    @property
    def tx_mask_all(self) -> int:
        return (1 << self.num_tx) - 1

    @property
    def rx_mask_all(self) -> int:
        return (1 << self.num_rx) - 1


# xWR14xx / xWR18xx / xWR68xx ISK boards share one layout: four RX spaced lambda/2 in azimuth,
# TX0 and TX2 two wavelengths apart in azimuth, TX1 between them raised by lambda/2 (the elevation TX).
_RX_LINE = ((0.0, 0.0), (1.0, 0.0), (2.0, 0.0), (3.0, 0.0))
_TX_BOOST = ((0.0, 0.0), (2.0, 1.0), (4.0, 0.0))

# xWR1642BOOST: 2 TX x 4 RX on one azimuth line. TI's antenna_geometry.c (below) defines the xWR16xx
# ``gAntDef_default`` as TX {0,0} {4,0}, RX {0,0} {1,0} {2,0} {3,0}: an 8-element lambda/2 virtual
# array, no elevation. Chip limits (IWR1642 data sheet SWRS212, "Receive Subsystem"): 76-81 GHz,
# IF bandwidth 5 MHz, complex 1x ADC 6.25 Msps / real 12.5 Msps; slope 100 MHz/us as the other 77 GHz
# chips (SWRA553A). The rates were not re-read from the data sheet within this change.
_TX_1642 = ((0.0, 0.0), (4.0, 0.0))

# IWR6843AOPEVM (antenna on package): a 2D array. TI's mmWave SDK 3.x ``packages/ti/board/
# antenna_geometry.c`` (the file TI's app note SWRA656C, "MMWAVE-SDK 3.2.0.6 vs MMWAVE-SDK 3.4", lists)
# defines ``gAntDef_IWR6843AOP`` as {azimuthOffset, elevationOffset} in lambda/2 (``antenna_geometry.h``):
# TX {0,0} {2,2} {0,2}, RX {1,1} {1,0} {0,1} {0,0}, with ``gAntennaSpacing = 2.5e-3`` m for AOP (lambda/2 at
# 60 GHz). The same file gives the standard EVMs (xWR1843/xWR6843 ISK) TX {0,1} {2,0} {4,1}: TX1, the
# raised one, has the smaller elevation offset, so TI's elevation offset grows downward and z = -offset
# here. The AOP's virtual array is then a 4 x 4 grid missing one 2 x 2 corner (x 0..3, z 0..-3).
# RX feed polarity: TI's AOP out-of-box profiles compensate RX1 and RX3 with -1
# (``compRangeBiasAndRxChanPhase 0.0 1 0 -1 0 1 0 -1 0 ...``); here it is the board's ``rx_phase_sign``
# (the DSP applies it, so mmfm's AOP profiles keep +1 coefficients). Read from public copies of TI's
# file and profiles (TI copyright headers); the AOP EVM user guide itself was not available here.
_TX_AOP = ((0.0, 0.0), (2.0, -2.0), (0.0, -2.0))
_RX_AOP = ((1.0, -1.0), (1.0, 0.0), (0.0, -1.0), (0.0, 0.0))

# Chip limits, with their sources:
# * RF band 76-81 GHz (xWR14xx/18xx), 60-64 GHz (xWR68xx): TI data sheets SWRS211 (IWR1443),
#   SWRS228 (IWR1843), SWRS219 (IWR6843), "FMCW transceiver" feature lists.
# * IF bandwidth: IWR1843 and IWR6843 data sheets, "Receive Subsystem": "can support bandwidths up to
#   10 MHz"; xWR1443/AWR1243 class: 15 MHz (TI SWRA553A "Programming Chirp Parameters in TI Radar
#   Devices", section 2.1.1).
# * ADC (DFE output) rate: IWR1443 complex 18.75 Msps, real 37.5 Msps (TI e2e thread 613071,
#   "IWR1443 ADC sample rate"); xWR18xx/68xx complex 1x 12.5 Msps, real/complex 2x 25 Msps (TI data
#   sheets; TI's own 68xx profile_2d runs 12500 ksps complex with "Max beat freq (80% of ADC sampling
#   rate) 10 MHz" = the IF limit).
# * Slope: 100 MHz/us for the 77 GHz chips (SWRA553A; gaoweifan/pyRadar testParam.ipynb checks the
#   same). For the 60 GHz IWR6843 TI's SDK example profile_2d uses 166 MHz/us, so 100 MHz/us cannot be
#   its limit; 250 MHz/us is used here as an upper bound NOT confirmed against a data sheet.
# * LVDS: xWR18xx/68xx 2 lanes, xWR14xx 4 lanes, 600 Mbit/s per lane (the rule in pyRadar
#   testParam.ipynb after SWRA553A: "max bytes per chirp = chirp time x lanes x 600 / 8").
BOARDS: dict[str, Board] = {
    b.name: b
    for b in (
        Board(
            name="IWR1443BOOST",
            chip="xWR14xx",
            aliases=("AWR1443BOOST", "IWR1443", "AWR1443", "xWR14xx"),
            freq_min_hz=76e9,
            freq_max_hz=81e9,
            max_slope_hz_per_s=100e12,
            max_sample_rate_hz=18.75e6,
            max_sample_rate_real_hz=37.5e6,
            max_if_bandwidth_hz=15e6,
            tx_positions=_TX_BOOST,
            rx_positions=_RX_LINE,
            rx_phase_sign=(1, 1, 1, 1),
            lvds_lanes=4,
            lvds_lane_rate_bps=600e6,
            sdk_dialect="1.x",
            platform_id=0xA1443,
        ),
        Board(
            name="IWR1843BOOST",
            chip="xWR18xx",
            aliases=("AWR1843BOOST", "IWR1843", "AWR1843", "xWR18xx"),
            freq_min_hz=76e9,
            freq_max_hz=81e9,
            max_slope_hz_per_s=100e12,
            max_sample_rate_hz=12.5e6,
            max_if_bandwidth_hz=10e6,
            tx_positions=_TX_BOOST,
            rx_positions=_RX_LINE,
            rx_phase_sign=(1, 1, 1, 1),
            lvds_lanes=2,
            lvds_lane_rate_bps=600e6,
            sdk_dialect="3.x",
            platform_id=0xA1843,
        ),
        Board(
            name="IWR1642BOOST",
            chip="xWR16xx",
            aliases=("AWR1642BOOST", "IWR1642", "AWR1642", "xWR16xx"),
            freq_min_hz=76e9,
            freq_max_hz=81e9,
            max_slope_hz_per_s=100e12,
            max_sample_rate_hz=6.25e6,
            max_sample_rate_real_hz=12.5e6,
            max_if_bandwidth_hz=5e6,
            tx_positions=_TX_1642,
            rx_positions=_RX_LINE,
            rx_phase_sign=(1, 1, 1, 1),
            lvds_lanes=2,
            lvds_lane_rate_bps=600e6,
            sdk_dialect="2.x",
            platform_id=0xA1642,
            notes="SDK 2.x out-of-box demo: Q-format UART points (runtime.sources.uart_tlv)",
        ),
        Board(
            name="IWR6843ISK",
            chip="xWR68xx",
            aliases=("IWR6843ISK-ODS", "IWR6843", "AWR6843ISK", "xWR68xx"),
            freq_min_hz=60e9,
            freq_max_hz=64e9,
            max_slope_hz_per_s=250e12,  # unverified, see the note above BOARDS
            max_sample_rate_hz=12.5e6,
            max_if_bandwidth_hz=10e6,
            tx_positions=_TX_BOOST,
            rx_positions=_RX_LINE,
            rx_phase_sign=(1, 1, 1, 1),
            lvds_lanes=2,
            lvds_lane_rate_bps=600e6,
            sdk_dialect="3.x",
            platform_id=0xA6843,
        ),
        Board(
            name="IWR6843AOPEVM",
            chip="xWR68xx",
            aliases=("IWR6843AOP", "AWR6843AOPEVM", "AWR6843AOP"),
            freq_min_hz=60e9,
            freq_max_hz=64e9,
            max_slope_hz_per_s=250e12,  # unverified, see the note above BOARDS
            max_sample_rate_hz=12.5e6,
            max_if_bandwidth_hz=10e6,
            tx_positions=_TX_AOP,
            rx_positions=_RX_AOP,
            rx_phase_sign=(1, -1, 1, -1),
            lvds_lanes=2,
            lvds_lane_rate_bps=600e6,
            sdk_dialect="3.x",
            platform_id=0xA6843,
            notes="antenna on package; raw ADC needs the MMWAVEICBOOST carrier + DCA1000",
        ),
    )
}


def get_board(name: str) -> Board:
    """Look a board up by name or alias (case-insensitive).

    Raises:
        KeyError: with the list of known boards when ``name`` is unknown.
    """
    key = name.strip().upper()
    for board in BOARDS.values():
        if key == board.name.upper() or key in (a.upper() for a in board.aliases):
            return board
    known = ", ".join(sorted(BOARDS))
    raise KeyError(f"unknown board {name!r}; known boards: {known}")


def virtual_array(
    board: Board, tx_order: tuple[int, ...], rx_indices: tuple[int, ...]
) -> np.ndarray:
    """Virtual antenna positions of a TDM-MIMO frame.

    Args:
        board: the board whose antennas are used.
        tx_order: TX index of each chirp slot in a loop (``ChirpConfig.tx_order``).
        rx_indices: enabled RX indices (``ChirpConfig.rx_indices``).

    Returns:
        ``[num_tx, num_rx, 2]`` float64 array of (x, z) in half-wavelengths; axis order matches the raw ADC
        frame ``[tx, rx, loop, sample]``.
    """
    tx = np.asarray([board.tx_positions[t] for t in tx_order], dtype=np.float64)  # [num_tx, 2]
    rx = np.asarray([board.rx_positions[r] for r in rx_indices], dtype=np.float64)  # [num_rx, 2]
    return tx[:, None, :] + rx[None, :, :]
