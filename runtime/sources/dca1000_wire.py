"""DCA1000EVM wire format: the factory addresses, the control packets and the data packet header.

Pure data and functions, no sockets. The factory settings of the board live here and nowhere else
(FPGA 192.168.33.180:4096, host 192.168.33.30, config port 4096, data port 4098): the control client,
the source and the daemon's settings take their defaults from these constants.

Control packets (DCA1000EVM user's guide SPRUIJ4, TI ``DCA1000EVM_CLI`` ``RF_API``), little-endian::

    command (host -> FPGA):  u16 0xA55A | u16 cmd | u16 data_len | data[data_len] | u16 0xEEAA
    reply   (FPGA -> host):  u16 0xA55A | u16 cmd | u16 status   | u16 0xEEAA            (8 bytes)

``status`` is 0 for success and 1 for failure, except READ_FPGA_VERSION where it carries the version
(bits 0-6 major, bits 7-13 minor, bit 14 set for the playback bitfile: 0x0402 = v2.8, record) and the
asynchronous SYSTEM_ASYNC_STATUS packets (cmd 0x0A) where it is a bit mask ``1 << STS_*``
(:class:`AsyncStatus`: 0x0100 = record completed). The FPGA answers from UDP port 1024, not 4096, so
replies are matched by address only, not by port.

Data packets (FPGA -> host port 4098)::

    u32 sequence number (1 for the first packet after RECORD_START)
    u48 byte count: bytes of ADC data sent before this packet (0 for the first)
    payload: up to 1456 bytes of the raw ADC byte stream (the capture layout of ``dca1000_layout``)

The stream is the frames back to back; frames are not multiples of 1456 bytes, so packets straddle
frame boundaries and only the byte count says where a payload goes
(:class:`runtime.sources.dca1000_assembler.FrameAssembler`).
"""

from __future__ import annotations

import enum
import socket
import struct
from dataclasses import dataclass

from firmware_cfg.chirp import ChirpConfig
from firmware_cfg.radar_config import DCA1000_DEFAULT_PACKET_DELAY_US

# ---------------------------------------------------------------------------- factory settings
DEFAULT_FPGA_IP = "192.168.33.180"
DEFAULT_HOST_IP = "192.168.33.30"
DEFAULT_CONFIG_PORT = 4096
DEFAULT_DATA_PORT = 4098
DEFAULT_FPGA_MAC = "12:34:56:78:90:12"

HEADER_MAGIC = 0xA55A
FOOTER_MAGIC = 0xEEAA
STATUS_SUCCESS = 0
STATUS_FAILURE = 1

DATA_HEADER_BYTES = 10  # u32 sequence number + u48 byte count
MAX_PAYLOAD_BYTES = 1456  # ADC bytes per data packet
MAX_DATAGRAM_BYTES = DATA_HEADER_BYTES + MAX_PAYLOAD_BYTES
RECORD_PACKET_BYTES = (
    1470  # packet size TI's CLI sends in CONFIG_PACKET_DATA (RF_API MAX_BYTES_PER_PACKET)
)
FPGA_CLOCK_NS = 8  # packet delay unit of CONFIG_PACKET_DATA [ns]
PACKET_DELAY_RANGE_US = (5.0, 500.0)  # user's guide limits for the inter-packet delay [us]

_CMD_HEAD = struct.Struct("<HHH")  # magic, cmd, data_len
_U16 = struct.Struct("<H")
_REPLY = struct.Struct("<HHHH")  # magic, cmd, status, footer
DATA_HEAD = struct.Struct("<IIH")  # seq, byte count low 32 bits, byte count high 16 bits


class Command(enum.IntEnum):
    """Control command codes (``RF_API`` ``*_CMD_CODE``)."""

    RESET_FPGA = 0x01
    RESET_AR_DEV = 0x02
    CONFIG_FPGA_GEN = 0x03
    CONFIG_EEPROM = 0x04
    RECORD_START = 0x05
    RECORD_STOP = 0x06
    PLAYBACK_START = 0x07
    PLAYBACK_STOP = 0x08
    SYSTEM_CONNECT = 0x09
    SYSTEM_ASYNC_STATUS = 0x0A  # TI: SYSTEM_ERROR_CMD_CODE; sent by the FPGA unprompted
    CONFIG_PACKET_DATA = 0x0B
    CONFIG_DATA_MODE_AR_DEV = 0x0C
    INIT_FPGA_PLAYBACK = 0x0D
    READ_FPGA_VERSION = 0x0E


class AsyncStatus(enum.IntFlag):
    """Bits of the status word of a SYSTEM_ASYNC_STATUS packet (``1 << STS_*`` of ``RF_API``)."""

    NO_LVDS_DATA = 1 << 0
    NO_HEADER = 1 << 1
    EEPROM_FAILURE = 1 << 2
    SD_CARD_DETECTED = 1 << 3
    SD_CARD_REMOVED = 1 << 4
    SD_CARD_FULL = 1 << 5
    MODE_CONFIG_FAILURE = 1 << 6
    DDR_FULL = 1 << 7
    RECORD_COMPLETED = 1 << 8
    LVDS_BUFFER_FULL = 1 << 9
    PLAYBACK_COMPLETED = 1 << 10
    PLAYBACK_OUT_OF_SEQUENCE = 1 << 11


class LogMode(enum.IntEnum):
    RAW = 1
    MULTI = 2


class LvdsMode(enum.IntEnum):
    FOUR_LANE = 1  # xWR12xx / xWR14xx ("AR1243")
    TWO_LANE = 2  # xWR16xx / xWR18xx / xWR68xx ("AR1642")


class TransferMode(enum.IntEnum):
    LVDS_CAPTURE = 1
    PLAYBACK = 2


class CaptureMode(enum.IntEnum):
    SD_CARD = 1
    ETHERNET = 2


class DataFormat(enum.IntEnum):
    BITS_12 = 1
    BITS_14 = 2
    BITS_16 = 3


_BITS_TO_FORMAT = {12: DataFormat.BITS_12, 14: DataFormat.BITS_14, 16: DataFormat.BITS_16}
_LANES_TO_MODE = {4: LvdsMode.FOUR_LANE, 2: LvdsMode.TWO_LANE}


class DCA1000Error(RuntimeError):
    """A DCA1000 command failed, timed out, or the FPGA answered something unreadable."""


class DCA1000Timeout(DCA1000Error, TimeoutError):
    """No reply to a command within the timeout, after every retry."""


def describe_status(cmd: int, status: int) -> str:
    """Human text for a reply status."""
    if cmd == Command.READ_FPGA_VERSION:
        return f"version {FpgaVersion.from_status(status)}"
    if cmd == Command.SYSTEM_ASYNC_STATUS:
        return describe_async(status)
    if status == STATUS_SUCCESS:
        return "success"
    if status == STATUS_FAILURE:
        return "the FPGA rejected the command"
    return "unknown status code"


def describe_async(status: int) -> str:
    """Names of the bits set in an async status word, e.g. ``"RECORD_COMPLETED"``."""
    names = [flag.name or "" for flag in AsyncStatus if status & flag]
    unknown = status & ~sum(AsyncStatus)
    if unknown:
        names.append(f"unknown bits 0x{unknown:04x}")
    return "|".join(names) if names else "none"


def command_name(cmd: int) -> str:
    try:
        return Command(cmd).name
    except ValueError:
        return f"command 0x{cmd:02x}"


# ---------------------------------------------------------------------------- wire format
def encode_command(cmd: int, data: bytes = b"") -> bytes:
    """``u16 0xA55A, u16 cmd, u16 len(data), data, u16 0xEEAA`` (little-endian)."""
    if len(data) > 0xFFFF:
        raise ValueError(f"command data of {len(data)} bytes does not fit a u16 length")
    return _CMD_HEAD.pack(HEADER_MAGIC, cmd, len(data)) + bytes(data) + _U16.pack(FOOTER_MAGIC)


def decode_command(buf: bytes | bytearray | memoryview) -> tuple[int, bytes]:
    """A command packet -> ``(cmd, data)``.

    Raises:
        ValueError: bad magic, footer or length (the message says which).
    """
    if len(buf) < 8:
        raise ValueError(f"command packet of {len(buf)} bytes is shorter than the 8-byte minimum")
    magic, cmd, length = _CMD_HEAD.unpack_from(buf)
    if magic != HEADER_MAGIC:
        raise ValueError(f"command packet starts with 0x{magic:04x}, not 0x{HEADER_MAGIC:04x}")
    if len(buf) != 8 + length:
        raise ValueError(
            f"{command_name(cmd)}: data length field says {length} bytes but the packet holds "
            f"{len(buf) - 8}"
        )
    (footer,) = _U16.unpack_from(buf, 6 + length)
    if footer != FOOTER_MAGIC:
        raise ValueError(f"{command_name(cmd)}: footer 0x{footer:04x}, not 0x{FOOTER_MAGIC:04x}")
    return cmd, bytes(buf[6 : 6 + length])


def encode_reply(cmd: int, status: int) -> bytes:
    """``u16 0xA55A, u16 cmd, u16 status, u16 0xEEAA`` (what the FPGA sends)."""
    return _REPLY.pack(HEADER_MAGIC, cmd, status, FOOTER_MAGIC)


@dataclass(frozen=True, slots=True)
class Reply:
    """One FPGA reply or async status packet."""

    cmd: int
    status: int

    @property
    def is_async(self) -> bool:
        return self.cmd == Command.SYSTEM_ASYNC_STATUS

    def __str__(self) -> str:
        return f"{command_name(self.cmd)} status 0x{self.status:04x} ({describe_status(self.cmd, self.status)})"


def decode_reply(buf: bytes | bytearray | memoryview) -> Reply:
    """An 8-byte reply -> :class:`Reply` (trailing bytes, e.g. Ethernet padding, are ignored).

    Raises:
        ValueError: too short, bad magic or footer.
    """
    if len(buf) < _REPLY.size:
        raise ValueError(f"reply of {len(buf)} bytes is shorter than 8 bytes")
    magic, cmd, status, footer = _REPLY.unpack_from(buf)
    if magic != HEADER_MAGIC or footer != FOOTER_MAGIC:
        raise ValueError(
            f"reply framing 0x{magic:04x} .. 0x{footer:04x}, expected 0x{HEADER_MAGIC:04x} .. "
            f"0x{FOOTER_MAGIC:04x}"
        )
    return Reply(cmd, status)


@dataclass(frozen=True, slots=True)
class FpgaVersion:
    """FPGA bitfile version from the READ_FPGA_VERSION status word."""

    major: int
    minor: int
    playback: bool = False

    @classmethod
    def from_status(cls, status: int) -> FpgaVersion:
        """Bits 0-6 major, 7-13 minor, bit 14 playback bitfile (``RF_API`` VERSION_BITS_DECODE)."""
        return cls(status & 0x7F, (status >> 7) & 0x7F, bool(status & 0x4000))

    def to_status(self) -> int:
        return (self.major & 0x7F) | ((self.minor & 0x7F) << 7) | (0x4000 if self.playback else 0)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}" + (" (playback)" if self.playback else "")


@dataclass(frozen=True, slots=True)
class FpgaConfig:
    """CONFIG_FPGA_GEN payload: six bytes, one per field, in this order.

    Attributes:
        log_mode: raw (1) or multi (2) data logging.
        lvds_mode: 4 lanes (1) or 2 lanes (2).
        transfer_mode: LVDS capture (1) or playback (2).
        capture_mode: SD card (1) or Ethernet streaming (2).
        data_format: 12 (1), 14 (2) or 16 (3) bit ADC samples.
        timer_s: LVDS timeout [s] (u8).
    """

    log_mode: LogMode = LogMode.RAW
    lvds_mode: LvdsMode = LvdsMode.TWO_LANE
    transfer_mode: TransferMode = TransferMode.LVDS_CAPTURE
    capture_mode: CaptureMode = CaptureMode.ETHERNET
    data_format: DataFormat = DataFormat.BITS_16
    timer_s: int = 30

    @classmethod
    def from_chirp(cls, cfg: ChirpConfig, *, timer_s: int = 30) -> FpgaConfig:
        """Raw logging over Ethernet with the board's LVDS lane count and the config's ADC bits."""
        lanes = cfg.board_spec.lvds_lanes
        if lanes not in _LANES_TO_MODE:
            raise ValueError(f"{cfg.board}: {lanes} LVDS lanes; the DCA1000 takes 2 or 4")
        if cfg.adc_bits not in _BITS_TO_FORMAT:
            raise ValueError(
                f"ADC resolution of {cfg.adc_bits} bits; the DCA1000 takes 12, 14 or 16"
            )
        return cls(
            lvds_mode=_LANES_TO_MODE[lanes],
            data_format=_BITS_TO_FORMAT[cfg.adc_bits],
            timer_s=timer_s,
        )

    def to_bytes(self) -> bytes:
        if not 0 <= self.timer_s <= 255:
            raise ValueError(f"LVDS timer of {self.timer_s} s does not fit a u8")
        return bytes(
            (
                self.log_mode,
                self.lvds_mode,
                self.transfer_mode,
                self.capture_mode,
                self.data_format,
                self.timer_s,
            )
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> FpgaConfig:
        """Parse and validate a CONFIG_FPGA_GEN payload (ValueError names the bad field)."""
        if len(data) != 6:
            raise ValueError(f"CONFIG_FPGA_GEN payload of {len(data)} bytes, expected 6")
        fields = (LogMode, LvdsMode, TransferMode, CaptureMode, DataFormat)
        values = []
        for kind, value in zip(fields, data[:5], strict=True):
            try:
                values.append(kind(value))
            except ValueError:
                raise ValueError(
                    f"CONFIG_FPGA_GEN: {value} is not a valid {kind.__name__}"
                ) from None
        return cls(*values, timer_s=data[5])


@dataclass(frozen=True, slots=True)
class PacketConfig:
    """CONFIG_PACKET_DATA payload ``<u16 packet size, u16 delay [8 ns ticks], u16 0>``.

    Attributes:
        delay_us: inter-packet delay [us], 5 .. 500 (sets the FPGA's throughput, see
            ``firmware_cfg.dca1000_throughput_bps``).
        packet_bytes: the size TI's CLI always sends (1470).
    """

    delay_us: float = DCA1000_DEFAULT_PACKET_DELAY_US
    packet_bytes: int = RECORD_PACKET_BYTES

    @property
    def delay_ticks(self) -> int:
        return int(self.delay_us * 1000 / FPGA_CLOCK_NS)

    def to_bytes(self) -> bytes:
        lo, hi = PACKET_DELAY_RANGE_US
        if not lo <= self.delay_us <= hi:
            raise ValueError(f"packet delay of {self.delay_us} us outside {lo:g} .. {hi:g} us")
        return struct.pack("<HHH", self.packet_bytes, self.delay_ticks, 0)

    @classmethod
    def from_bytes(cls, data: bytes) -> PacketConfig:
        if len(data) != 6:
            raise ValueError(f"CONFIG_PACKET_DATA payload of {len(data)} bytes, expected 6")
        size, ticks, _ = struct.unpack("<HHH", data)
        return cls(delay_us=ticks * FPGA_CLOCK_NS / 1000, packet_bytes=size)


@dataclass(frozen=True, slots=True)
class EepromConfig:
    """CONFIG_EEPROM payload (18 bytes): host IP, FPGA IP and FPGA MAC, each byte-reversed, then
    ``u16 config port, u16 data port``. Takes effect after the DCA1000 is power-cycled."""

    host_ip: str = DEFAULT_HOST_IP
    fpga_ip: str = DEFAULT_FPGA_IP
    fpga_mac: str = DEFAULT_FPGA_MAC
    config_port: int = DEFAULT_CONFIG_PORT
    data_port: int = DEFAULT_DATA_PORT

    def to_bytes(self) -> bytes:
        mac = bytes(int(part, 16) for part in self.fpga_mac.replace("-", ":").split(":"))
        if len(mac) != 6:
            raise ValueError(f"MAC address {self.fpga_mac!r} is not six bytes")
        if self.config_port == self.data_port:
            raise ValueError(f"config and data port are both {self.data_port}")
        return (
            socket.inet_aton(self.host_ip)[::-1]
            + socket.inet_aton(self.fpga_ip)[::-1]
            + mac[::-1]
            + struct.pack("<HH", self.config_port, self.data_port)
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> EepromConfig:
        if len(data) != 18:
            raise ValueError(f"CONFIG_EEPROM payload of {len(data)} bytes, expected 18")
        config_port, data_port = struct.unpack_from("<HH", data, 14)
        return cls(
            host_ip=socket.inet_ntoa(data[0:4][::-1]),
            fpga_ip=socket.inet_ntoa(data[4:8][::-1]),
            fpga_mac=":".join(f"{b:02x}" for b in data[8:14][::-1]),
            config_port=config_port,
            data_port=data_port,
        )
