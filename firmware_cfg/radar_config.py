"""RadarConfig: one parsed ``.cfg`` file (chirp + demo settings + every command line) and its budgets.

Budgets answer "does this configuration fit the link that carries its output?":

* UART (processed point cloud from TI's out-of-box demo): bytes per frame from the mmWave SDK 3.x
  packet layout, SDK 3.x demo ``mmw_output.h`` / the SDK user guide "Output through the UART" section:
  a 40-byte header (magic word 8, version 4, total length 4, platform 4, frame number 4, CPU cycles 4,
  number of points 4, number of TLVs 4, subframe 4), 8 bytes per TLV header, TLV 1 points 16 B each
  (x, y, z, v float32), TLV 7 side info 4 B per point (snr, noise int16), TLV 2/3 range/noise profile
  2 B per range bin, TLV 4 zero-Doppler azimuth radar cube 4 B per range bin per azimuth virtual
  antenna (cmplx16), TLV 5 range-Doppler heat map 2 B per cell, TLV 6 stats 24 B; the packet is padded
  to a multiple of 32 bytes. The xWR14xx SDK 1.x demo has a 36-byte header (no subframe field) and
  TLV 1 = 4-byte descriptor + 12 B per object (int16 range idx, Doppler idx, peak, x, y, z), no TLV 7.
  The serial line is 8N1: 10 bits per byte.
* LVDS (raw ADC to a DCA1000): one chirp's samples must leave the chip within one chirp period. The
  per-chirp payload is rounded up to 256 bytes and, when ``lvdsStreamCfg`` enables the HSI header,
  52 header bytes are added first (the same rule as gaoweifan/pyRadar ``testParam.ipynb``, which
  follows TI's "Programming Chirp Parameters in TI Radar Devices", SWRA553).
* DCA1000 Ethernet: the average raw rate over frames must stay under the FPGA's sustained UDP
  throughput, which depends on the inter-packet delay set in the DCA1000 configuration. We use the fit
  ``delay_us = 138.57 * exp(-rate_Mbps / 179.157) + 2.73`` to the DCA1000EVM user's guide
  throughput-versus-packet-delay table, as published in gaoweifan/pyRadar ``testParam.ipynb``, capped
  at the 1 Gbit/s Ethernet line rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from firmware_cfg.chirp import ChirpConfig
from firmware_cfg.demo import DemoConfig
from firmware_cfg.errors import CfgWarning

UART_BITS_PER_BYTE = 10  # 8N1 framing
DEFAULT_BAUD = 921_600
DEFAULT_MAX_POINTS = 100  # budgeting assumption for a home scene, not a demo limit
DCA1000_DEFAULT_PACKET_DELAY_US = 25.0  # conservative DCA1000 inter-packet delay
ETHERNET_LINE_RATE_BPS = 1e9
LVDS_HSI_HEADER_BYTES = 52
LVDS_CHIRP_ALIGN_BYTES = 256


def _canonical(token: str) -> str:
    """Numbers compare by value ("77" == "77.0"), everything else by text."""
    try:
        value = float(token)
    except ValueError:
        return token
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


@dataclass(frozen=True, eq=False)
class CfgCommand:
    """One command line of a ``.cfg`` file.

    Equality compares the command name and the arguments by value; ``line`` and ``raw`` (the text as
    written) are provenance only, so a re-emitted file parses to equal commands.
    """

    name: str
    args: tuple[str, ...]
    line: int = 0
    raw: str = ""

    @property
    def key(self) -> tuple[str, tuple[str, ...]]:
        return (self.name, tuple(_canonical(a) for a in self.args))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CfgCommand):
            return NotImplemented
        return self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def text(self) -> str:
        """The command as one canonical line (no comment)."""
        return " ".join((self.name, *self.args))


def dca1000_throughput_bps(packet_delay_us: float = DCA1000_DEFAULT_PACKET_DELAY_US) -> float:
    """Sustained DCA1000 Ethernet throughput at a given inter-packet delay [bit/s].

    Inverts ``delay_us = 138.57 * exp(-rate_Mbps / 179.157) + 2.73`` (fit to the DCA1000EVM user's
    guide table, see the module docstring); 25 us gives ~327 Mbit/s, 5 us ~736 Mbit/s.
    """
    excess = max(packet_delay_us - 2.73, 1e-9)
    rate_mbps = -179.157 * math.log(excess / 138.57)
    return min(max(rate_mbps, 0.0) * 1e6, ETHERNET_LINE_RATE_BPS)


@dataclass(frozen=True)
class RadarConfig:
    """A parsed ``.cfg``: the typed chirp and demo settings plus every command, in file order.

    ``source``, ``comments`` and ``warnings`` do not take part in equality, so ``parse(emit(x)) == x``.
    """

    chirp: ChirpConfig
    demo: DemoConfig
    commands: tuple[CfgCommand, ...]
    dialect: str  # "3.x", "2.x" (xWR16xx SDK 2.x) or "1.x" (xWR14xx SDK 1.x)
    board: str
    board_inferred: bool = False
    source: str = field(default="<string>", compare=False)
    comments: tuple[tuple[int, str], ...] = field(default=(), compare=False)
    warnings: tuple[CfgWarning, ...] = field(default=(), compare=False)

    # ------------------------------------------------------------------ commands
    def find(self, name: str) -> tuple[CfgCommand, ...]:
        """All commands called ``name``, in file order."""
        return tuple(c for c in self.commands if c.name == name)

    @property
    def lvds_enabled(self) -> bool:
        """True when ``lvdsStreamCfg`` streams ADC data (dataFmt != 0)."""
        for cmd in self.find("lvdsStreamCfg"):
            if len(cmd.args) >= 3 and _canonical(cmd.args[2]) != "0":
                return True
        return False

    @property
    def lvds_header(self) -> bool:
        """True when ``lvdsStreamCfg`` enables the HSI header."""
        return any(
            len(c.args) >= 2 and _canonical(c.args[1]) != "0" for c in self.find("lvdsStreamCfg")
        )

    # ------------------------------------------------------------------ UART
    def uart_bytes_per_frame(self, max_points: int = DEFAULT_MAX_POINTS) -> int:
        """Bytes one frame puts on the UART data port with ``max_points`` detected points.

        Counts the TLVs that ``guiMonitor`` enables, with the SDK's packet sizes (module docstring),
        padded to a multiple of 32 bytes.
        """
        d, c = self.demo, self.chirp
        n_range = c.num_range_bins
        sdk1 = self.dialect in ("1.x", "2.x")  # Q-format points (12 B each + a 4 B descriptor)
        total = 36 if self.dialect == "1.x" else 40
        tlv = 8
        if d.send_points:
            total += tlv + (4 + 12 * max_points if sdk1 else 16 * max_points)
            if d.send_side_info and not sdk1:
                total += tlv + 4 * max_points
        if d.send_range_profile:
            total += tlv + 2 * n_range
        if d.send_noise_profile:
            total += tlv + 2 * n_range
        if d.send_azimuth_heatmap:
            total += tlv + 4 * n_range * self.num_azimuth_virtual
        if d.send_range_doppler_heatmap:
            total += tlv + 2 * n_range * c.doppler_fft_size
        if d.send_stats:
            total += tlv + 24
        return int(math.ceil(total / 32.0) * 32)

    @property
    def num_azimuth_virtual(self) -> int:
        """Virtual antennas on the azimuth row (TX at the board's lowest height) x RX."""
        board = self.chirp.board_spec
        try:
            order = self.chirp.tx_order
        except ValueError:
            return self.chirp.num_rx
        z0 = min(z for _, z in board.tx_positions)
        n_az = sum(1 for t in order if board.tx_positions[t][1] == z0)
        return max(n_az, 1) * self.chirp.num_rx

    def uart_rate_bps(self, max_points: int = DEFAULT_MAX_POINTS) -> float:
        """Line rate the data port needs [bit/s] (8N1: 10 bits per byte)."""
        return (
            self.uart_bytes_per_frame(max_points) * UART_BITS_PER_BYTE / self.chirp.frame_period_s
        )

    def fits_uart(self, baud: int = DEFAULT_BAUD, max_points: int = DEFAULT_MAX_POINTS) -> bool:
        """True when one frame's UART packet leaves within one frame period at ``baud``."""
        return self.uart_rate_bps(max_points) <= baud

    # ------------------------------------------------------------------ LVDS / DCA1000
    @property
    def lvds_bytes_per_chirp(self) -> int:
        """Bytes one chirp puts on LVDS (payload rounded to 256 B, + HSI header when enabled)."""
        payload = self.chirp.bytes_per_chirp + (LVDS_HSI_HEADER_BYTES if self.lvds_header else 0)
        return int(math.ceil(payload / LVDS_CHIRP_ALIGN_BYTES) * LVDS_CHIRP_ALIGN_BYTES)

    @property
    def lvds_rate_bps(self) -> float:
        """LVDS rate needed to move one chirp within one chirp period [bit/s]."""
        return 8.0 * self.lvds_bytes_per_chirp / self.chirp.chirp_period_s

    def fits_lvds(self) -> bool:
        """True when the per-chirp LVDS rate fits the board's lanes x lane rate."""
        return self.lvds_rate_bps <= self.chirp.lvds_capacity_bps

    def fits_dca1000(self, packet_delay_us: float = DCA1000_DEFAULT_PACKET_DELAY_US) -> bool:
        """True when the average raw ADC rate fits the DCA1000's sustained Ethernet throughput."""
        return self.chirp.raw_data_rate_bps <= dca1000_throughput_bps(packet_delay_us)

    def budgets(
        self,
        baud: int = DEFAULT_BAUD,
        max_points: int = DEFAULT_MAX_POINTS,
        packet_delay_us: float = DCA1000_DEFAULT_PACKET_DELAY_US,
    ) -> dict[str, Any]:
        """Every link budget by name (units in the names), for display and JSON."""
        return {
            "uart_baud": baud,
            "uart_max_points": max_points,
            "uart_bytes_per_frame": self.uart_bytes_per_frame(max_points),
            "uart_rate_bps": self.uart_rate_bps(max_points),
            "fits_uart": self.fits_uart(baud, max_points),
            "lvds_enabled": self.lvds_enabled,
            "lvds_bytes_per_chirp": self.lvds_bytes_per_chirp,
            "lvds_rate_bps": self.lvds_rate_bps,
            "lvds_capacity_bps": self.chirp.lvds_capacity_bps,
            "fits_lvds": self.fits_lvds(),
            "raw_data_rate_bps": self.chirp.raw_data_rate_bps,
            "dca1000_packet_delay_us": packet_delay_us,
            "dca1000_throughput_bps": dca1000_throughput_bps(packet_delay_us),
            "fits_dca1000": self.fits_dca1000(packet_delay_us),
        }
