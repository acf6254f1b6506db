"""DCA1000EVM over UDP: the control protocol (port 4096), the data receiver (port 4098) and the source.

Three layers, each usable alone:

- **Wire format** (pure functions): :func:`encode_command`, :func:`decode_command`, :func:`encode_reply`,
  :func:`decode_reply`, :class:`FpgaConfig`, :class:`PacketConfig`, :class:`EepromConfig`,
  :class:`FpgaVersion`.
- :class:`DCA1000Control`: a UDP client that sends commands and waits for replies, with a timeout,
  retries and readable errors; collects the FPGA's asynchronous status packets.
- :class:`FrameAssembler` (no sockets: fed datagrams) and :class:`DCA1000Source` (binds the data port,
  ``recv_into`` a preallocated buffer, drives the assembler, decodes frames with
  :mod:`runtime.sources.dca1000_layout`).

Nothing here opens a socket at import time or in a constructor; every address and port is a constructor
argument whose default is the DCA1000's factory setting (FPGA 192.168.33.180:4096, host 192.168.33.30,
config port 4096, data port 4098).

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
frame boundaries and only the byte count says where a payload goes. The receiver assumes the stream
starts at a frame boundary (start recording before ``sensorStart``, as TI's tools do).
"""

from __future__ import annotations

import collections
import enum
import errno
import logging
import select
import socket
import struct
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

from firmware_cfg.chirp import ChirpConfig
from firmware_cfg.radar_config import DCA1000_DEFAULT_PACKET_DELAY_US, RadarConfig
from runtime.frames import RawFrame
from runtime.sources.base import SourceBase, SourceStats
from runtime.sources.dca1000_layout import decode_frames

log = logging.getLogger(__name__)

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
_DATA_HEAD = struct.Struct("<IIH")  # seq, byte count low 32 bits, byte count high 16 bits


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


def _command_name(cmd: int) -> str:
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
            f"{_command_name(cmd)}: data length field says {length} bytes but the packet holds "
            f"{len(buf) - 8}"
        )
    (footer,) = _U16.unpack_from(buf, 6 + length)
    if footer != FOOTER_MAGIC:
        raise ValueError(f"{_command_name(cmd)}: footer 0x{footer:04x}, not 0x{FOOTER_MAGIC:04x}")
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
        return f"{_command_name(self.cmd)} status 0x{self.status:04x} ({describe_status(self.cmd, self.status)})"


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


# ---------------------------------------------------------------------------- control client
@dataclass(frozen=True, slots=True)
class AsyncEvent:
    """An asynchronous status packet and when it arrived [s since the epoch]."""

    status: AsyncStatus
    time: float


class DCA1000Control:
    """UDP client for the DCA1000's control port.

    The constructor stores addresses only; :meth:`open` binds the host socket (the FPGA sends replies
    to the configured host config port, 4096 by default), :meth:`close` releases it. Every command
    method sends one packet, waits ``timeout_s`` for the matching reply and resends up to ``retries``
    times; a status other than success raises :class:`DCA1000Error` naming the command, the status
    and its meaning. Async status packets that arrive meanwhile are kept in :attr:`async_events`.

    Args:
        fpga_ip: FPGA address.
        fpga_port: FPGA config port.
        host_ip: local address to bind ("" = every interface).
        host_port: local config port (0 = any free port; the real FPGA replies to 4096).
        timeout_s: wait per attempt [s].
        retries: extra attempts after the first.
    """

    def __init__(
        self,
        *,
        fpga_ip: str = DEFAULT_FPGA_IP,
        fpga_port: int = DEFAULT_CONFIG_PORT,
        host_ip: str = DEFAULT_HOST_IP,
        host_port: int = DEFAULT_CONFIG_PORT,
        timeout_s: float = 1.0,
        retries: int = 2,
    ) -> None:
        self.fpga_ip = fpga_ip
        self.fpga_port = fpga_port
        self.host_ip = host_ip
        self.host_port = host_port
        self.timeout_s = timeout_s
        self.retries = retries
        self.async_events: collections.deque[AsyncEvent] = collections.deque(maxlen=256)
        self.fpga_version: FpgaVersion | None = None
        self.stray_packets = 0  # unreadable packets or replies to other commands
        self._sock: socket.socket | None = None
        self._fpga_addr_ip = fpga_ip

    # -- lifecycle
    def open(self) -> None:
        if self._sock is not None:
            return
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((self.host_ip, self.host_port))
            self._fpga_addr_ip = socket.gethostbyname(self.fpga_ip)
        except OSError as exc:
            sock.close()
            raise DCA1000Error(
                f"cannot bind the DCA1000 control socket to {self.host_ip}:{self.host_port}: {exc} "
                "(is the host interface configured with this address, or another capture tool running?)"
            ) from exc
        self._sock = sock

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> DCA1000Control:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def host_address(self) -> tuple[str, int]:
        """The bound local (address, port); opens nothing."""
        if self._sock is None:
            raise DCA1000Error("DCA1000Control is not open")
        return self._sock.getsockname()

    # -- core
    def command(
        self,
        cmd: Command | int,
        data: bytes = b"",
        *,
        check: bool = True,
        timeout_s: float | None = None,
        retries: int | None = None,
    ) -> int:
        """Send ``cmd`` with ``data`` and return the reply status.

        Raises:
            DCA1000Timeout: no matching reply after every attempt.
            DCA1000Error: the reply status is not success (when ``check``), or the control socket is closed.
        """
        if self._sock is None:
            raise DCA1000Error(f"{_command_name(cmd)}: DCA1000Control is not open")
        timeout = self.timeout_s if timeout_s is None else timeout_s
        attempts = 1 + (self.retries if retries is None else retries)
        packet = encode_command(cmd, data)
        for attempt in range(attempts):
            self._sock.sendto(packet, (self.fpga_ip, self.fpga_port))
            reply = self._wait_reply(int(cmd), time.monotonic() + timeout)
            if reply is None:
                if attempt + 1 < attempts:
                    log.debug("%s: no reply in %.3g s, resending", _command_name(cmd), timeout)
                continue
            if check and reply.status != STATUS_SUCCESS:
                raise DCA1000Error(
                    f"{_command_name(cmd)} failed: status {reply.status} "
                    f"({describe_status(int(cmd), reply.status)})"
                )
            return reply.status
        raise DCA1000Timeout(
            f"{_command_name(cmd)}: no reply from the DCA1000 at {self.fpga_ip}:{self.fpga_port} "
            f"after {attempts} attempt(s) of {timeout:g} s (is it powered, is the Ethernet cable on "
            f"its FPGA port and is this host {self.host_ip}?)"
        )

    def _wait_reply(self, cmd: int, deadline: float) -> Reply | None:
        assert self._sock is not None
        while (remaining := deadline - time.monotonic()) > 0:
            self._sock.settimeout(remaining)
            try:
                buf, addr = self._sock.recvfrom(2048)
            except TimeoutError:
                return None
            if addr[0] != self._fpga_addr_ip:
                self.stray_packets += 1
                continue
            try:
                reply = decode_reply(buf)
            except ValueError as exc:
                log.debug("unreadable control packet from %s: %s", addr, exc)
                self.stray_packets += 1
                continue
            if reply.is_async and cmd != Command.SYSTEM_ASYNC_STATUS:
                self._note_async(reply.status)
                continue
            if reply.cmd != cmd:
                self.stray_packets += 1  # a late reply to an earlier, retried command
                continue
            return reply
        return None

    def _note_async(self, status: int) -> None:
        event = AsyncEvent(AsyncStatus(status), time.time())
        self.async_events.append(event)
        level = logging.INFO if status == AsyncStatus.RECORD_COMPLETED else logging.WARNING
        log.log(level, "DCA1000 async status 0x%04x (%s)", status, describe_async(status))

    def poll_async(self, timeout_s: float = 0.0) -> list[AsyncEvent]:
        """Return (and clear) the async events, waiting up to ``timeout_s`` [s] when there are none yet."""
        if self._sock is None:
            raise DCA1000Error("DCA1000Control is not open")
        deadline = time.monotonic() + (0.0 if self.async_events else timeout_s)
        while True:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self._sock], [], [], max(remaining, 0.0))
            if not ready:
                break
            buf, addr = self._sock.recvfrom(2048)
            try:
                reply = decode_reply(buf)
            except ValueError:
                self.stray_packets += 1
                continue
            if reply.is_async and addr[0] == self._fpga_addr_ip:
                self._note_async(reply.status)
                if timeout_s > 0:
                    break
            else:
                self.stray_packets += 1
        events = list(self.async_events)
        self.async_events.clear()
        return events

    # -- one method per command
    def system_connect(self) -> None:
        """SYSTEM_CONNECT: is the FPGA there?"""
        self.command(Command.SYSTEM_CONNECT)

    def reset_fpga(self) -> None:
        self.command(Command.RESET_FPGA)

    def reset_radar(self) -> None:
        """RESET_AR_DEV: pulse the radar device's reset line."""
        self.command(Command.RESET_AR_DEV)

    def configure_fpga(self, config: FpgaConfig) -> None:
        self.command(Command.CONFIG_FPGA_GEN, config.to_bytes())

    def configure_eeprom(self, config: EepromConfig) -> None:
        """CONFIG_EEPROM: new addresses, used after the next power cycle."""
        self.command(Command.CONFIG_EEPROM, config.to_bytes())

    def configure_packets(self, config: PacketConfig | None = None) -> None:
        self.command(Command.CONFIG_PACKET_DATA, (config or PacketConfig()).to_bytes())

    def record_start(self) -> None:
        self.command(Command.RECORD_START)

    def record_stop(self) -> None:
        self.command(Command.RECORD_STOP)

    def read_fpga_version(self) -> FpgaVersion:
        self.fpga_version = FpgaVersion.from_status(
            self.command(Command.READ_FPGA_VERSION, check=False)
        )
        return self.fpga_version

    def configure(
        self,
        cfg: ChirpConfig,
        *,
        packet_delay_us: float = DCA1000_DEFAULT_PACKET_DELAY_US,
        timer_s: int = 30,
    ) -> FpgaVersion:
        """The sequence TI's CLI sends before recording: connect, reset, version, FPGA and packet config.

        Returns:
            The FPGA version.
        """
        self.system_connect()
        self.reset_fpga()
        version = self.read_fpga_version()
        self.configure_fpga(FpgaConfig.from_chirp(cfg, timer_s=timer_s))
        self.configure_packets(PacketConfig(delay_us=packet_delay_us))
        log.info(
            "DCA1000 FPGA %s configured (%d lanes, %d-bit)",
            version,
            cfg.board_spec.lvds_lanes,
            cfg.adc_bits,
        )
        return version


# ---------------------------------------------------------------------------- frame assembly
@dataclass(slots=True)
class AssembledFrame:
    """One frame of the raw byte stream.

    Attributes:
        index: frame number since the first RECORD_START seen by the assembler (0-based).
        data: ``frame_bytes`` bytes in the capture layout; missing bytes are zero.
        zero_filled_bytes: bytes that never arrived (0 = intact).
        timestamp: when the frame was completed or given up on [s since the epoch].
    """

    index: int
    data: bytearray
    zero_filled_bytes: int
    timestamp: float

    @property
    def flags(self) -> dict[str, int]:
        return {"zero_filled_bytes": self.zero_filled_bytes} if self.zero_filled_bytes else {}


class _Slot:
    __slots__ = ("buf", "filled", "index", "mv")

    def __init__(self, index: int, buf: bytearray) -> None:
        self.index = index
        self.buf = buf
        self.mv = memoryview(buf)
        self.filled = 0


class FrameAssembler:
    """Datagrams of the DCA1000 data port -> whole frames, for any frame size (no sockets).

    Feed every datagram (header included) to :meth:`feed`; finished frames queue in :attr:`ready`
    (:meth:`pop`). The byte count of each packet is the ground truth of where its payload goes in the
    stream; frame ``k`` is stream bytes ``[k * frame_bytes, (k + 1) * frame_bytes)``.

    - **Reordering**: a frame stays open until it is complete or the stream has moved
      ``reorder_window_packets * 1456`` bytes past its end, so a late packet is put in place; at most
      ``max_open_frames`` frames are open at once.
    - **Loss**: a frame given up on is delivered with its holes zero-filled and
      ``zero_filled_bytes`` set; a frame of which nothing arrived is counted in ``frames_lost`` and
      not delivered. ``packets_lost`` = highest sequence number seen - distinct packets received
      (exact once the stream has ended; packets lost after the last received one cannot be known).
    - **Duplicates**: a sequence number seen among the last ``history_packets`` is dropped and counted.
    - **Damage**: a datagram shorter than its 10-byte header, with a payload over 1456 bytes or
      sequence number 0 is dropped; a truncated datagram (its payload ends before the next packet's
      byte count) is counted when its successor arrives; its missing bytes are zero-filled like a loss.
      A payload overlapping its predecessor's is dropped as damaged.
    - **Late**: a packet for a frame already delivered is dropped (:attr:`late_packets`, bytes in
      ``bytes_skipped``); its frame was delivered flagged.
    - **Restart**: ``seq == 1, byte count == 0`` far beyond the history starts a new stream (and
      :meth:`reset` does so explicitly, e.g. on RECORD_START); frame numbers keep counting up.

    Hot path: a packet that continues the stream in order inside the frame being filled costs one
    header unpack, three list stores and one memoryview copy into the frame buffer (~2-3 us per
    packet in CPython); everything else (straddling, gaps, reordering) takes the general path. Frame
    buffers are allocated per frame unless handed back with :meth:`recycle`.

    Args:
        frame_bytes: bytes per frame (``cfg.bytes_per_frame``).
        reorder_window_packets: how far past a frame's end [packets of 1456 B] to wait for stragglers.
        max_open_frames: frames assembled at once (>= 2).
        history_packets: sequence numbers remembered for duplicate detection (power of two).
        stats: counters to update (a fresh :class:`SourceStats` by default).
    """

    def __init__(
        self,
        frame_bytes: int,
        *,
        reorder_window_packets: int = 64,
        max_open_frames: int = 4,
        history_packets: int = 8192,
        stats: SourceStats | None = None,
    ) -> None:
        if frame_bytes <= 0:
            raise ValueError(f"frame_bytes must be positive, got {frame_bytes}")
        if max_open_frames < 2:
            raise ValueError("max_open_frames must be at least 2")
        if history_packets & (history_packets - 1):
            raise ValueError(f"history_packets must be a power of two, got {history_packets}")
        self.frame_bytes = frame_bytes
        self.window_bytes = reorder_window_packets * MAX_PAYLOAD_BYTES
        self.max_open_frames = max_open_frames
        self.stats = stats if stats is not None else SourceStats()
        self.ready: collections.deque[AssembledFrame] = collections.deque()
        self.late_packets = 0
        self.restarts = 0
        self._hsize = history_packets
        self._hmask = history_packets - 1
        self._zero = bytes(frame_bytes)
        self._pool: list[bytearray] = []
        self._frame_offset = 0
        self._lost_before = 0
        self._init_stream()

    def _init_stream(self) -> None:
        self._hseq = [0] * self._hsize  # sequence number stored in each history slot
        self._hstart = [0] * self._hsize  # its first stream byte
        self._hend = [0] * self._hsize  # one past its last stream byte
        self._max_seq = 0
        self._distinct = 0
        self._max_end = 0
        self._base = 0  # lowest frame index not yet delivered
        self._slots: collections.deque[_Slot] = collections.deque()
        self._deliver_at = self.frame_bytes + self.window_bytes  # give up on the base frame here
        self._cur: _Slot | None = None  # the frame the last payload went to (fast path)
        self._cur_lo = 0  # its first stream byte

    # -- public
    def reset(self) -> None:
        """Start a new stream (sequence numbers from 1 again): deliver what is open, keep counters."""
        self.flush()
        self._frame_offset += self._base
        self._lost_before = self.stats.packets_lost
        self._init_stream()

    def flush(self) -> None:
        """Deliver every open frame now (end of stream, idle link)."""
        while self._slots:
            self._deliver(self._slots.popleft())

    def pop(self) -> AssembledFrame | None:
        return self.ready.popleft() if self.ready else None

    def recycle(self, buf: bytearray) -> None:
        """Hand a delivered frame's buffer back for reuse (optional; saves an allocation per frame)."""
        if len(buf) == self.frame_bytes and len(self._pool) < self.max_open_frames + 2:
            self._pool.append(buf)

    @property
    def open_frames(self) -> int:
        return len(self._slots)

    def feed(self, datagram: bytes | bytearray | memoryview, nbytes: int | None = None) -> None:
        """Take one datagram (the first ``nbytes`` bytes of ``datagram`` when given)."""
        n = len(datagram) if nbytes is None else nbytes
        st = self.stats
        st.bytes_received += n
        if n < DATA_HEADER_BYTES:
            st.packets_damaged += 1
            st.bytes_skipped += n
            return
        seq, lo, hi = _DATA_HEAD.unpack_from(datagram)
        plen = n - DATA_HEADER_BYTES
        start = lo | (hi << 32)
        end = start + plen
        # fast path: the next packet in order, contiguous, inside the frame being filled
        slot = self._cur
        if (
            slot is not None
            and seq == self._max_seq + 1
            and start == self._max_end
            and 0 < plen <= MAX_PAYLOAD_BYTES
        ):
            off = start - self._cur_lo
            if 0 <= off and off + plen <= self.frame_bytes:
                h = seq & self._hmask
                self._hseq[h] = seq
                self._hstart[h] = start
                self._hend[h] = end
                self._distinct += 1
                self._max_seq = seq
                self._max_end = end
                st.packets += 1
                slot.mv[off : off + plen] = datagram[DATA_HEADER_BYTES:n]
                slot.filled += plen
                if slot.filled >= self.frame_bytes or end >= self._deliver_at:
                    self._advance()
                return
        if plen > MAX_PAYLOAD_BYTES or seq == 0:
            st.packets_damaged += 1
            st.bytes_skipped += n
            return
        if seq + self._hsize <= self._max_seq:  # older than the history
            if seq == 1 and start == 0:  # the FPGA started a new recording
                self.reset()
                self.restarts += 1
            else:  # cannot tell a duplicate from a straggler: drop
                self.late_packets += 1
                st.bytes_skipped += plen
                return
        mask = self._hmask
        hseq = self._hseq
        h = seq & mask
        if hseq[h] == seq:
            st.packets_duplicate += 1
            st.bytes_skipped += plen
            return
        max_seq = self._max_seq
        hstart, hend = self._hstart, self._hend
        # a truncated datagram shows as a gap before its successor's byte count
        p = (seq - 1) & mask
        if hseq[p] == seq - 1:
            if hend[p] < start:
                st.packets_damaged += 1
            elif hend[p] > start:
                st.packets_damaged += 1  # overlaps its predecessor: a corrupt byte count
                st.bytes_skipped += plen
                hseq[h] = seq
                hstart[h] = hend[h] = start
                return
        s = (seq + 1) & mask
        if hseq[s] == seq + 1 and end < hstart[s]:
            st.packets_damaged += 1
        hseq[h] = seq
        hstart[h] = start
        hend[h] = end
        self._distinct += 1
        if seq > max_seq:
            self._max_seq = max_seq = seq
            reordered = False
        else:
            reordered = True
        st.packets += 1
        st.packets_lost = self._lost_before + max_seq - self._distinct
        if end > self._max_end:
            self._max_end = end
        if plen and self._place(datagram, start, plen) == 0:
            self.late_packets += 1  # its frame is gone: counted neither reordered nor lost
        elif reordered:
            st.packets_reordered += 1
        if self._max_end >= self._deliver_at:
            self._advance()

    # -- internals
    def _place(self, datagram: bytes | bytearray | memoryview, start: int, plen: int) -> int:
        """Copy the payload into its frame(s); returns the bytes placed (not late)."""
        F = self.frame_bytes
        src = memoryview(datagram)
        pos, src_off, remaining, placed = start, DATA_HEADER_BYTES, plen, 0
        while remaining:
            k, off = divmod(pos, F)
            take = min(remaining, F - off)
            i = k - self._base
            if i < 0:
                self.stats.bytes_skipped += take
            else:
                slots = self._slots
                slot = slots[i] if i < len(slots) else self._open_slot(k)
                slot.mv[off : off + take] = src[src_off : src_off + take]
                slot.filled += take
                self._cur, self._cur_lo = slot, k * F
                placed += take
                if slot.filled >= F and slot is slots[0]:
                    self._advance()
            pos += take
            src_off += take
            remaining -= take
        return placed

    def _open_slot(self, k: int) -> _Slot:
        slots = self._slots
        if k - self._base >= self.max_open_frames:
            # the stream ran ahead: give up on the oldest frames until k fits
            need_base = k - self.max_open_frames + 1
            while slots and slots[0].index < need_base:
                self._deliver(slots.popleft())
            if not slots and self._base < need_base:
                self.stats.frames_lost += need_base - self._base
                self._set_base(need_base)
        while self._base + len(slots) <= k:
            slots.append(self._new_slot(self._base + len(slots)))
        return slots[k - self._base]

    def _new_slot(self, index: int) -> _Slot:
        if self._pool:
            buf = self._pool.pop()
            buf[:] = self._zero
        else:
            buf = bytearray(self.frame_bytes)
        return _Slot(index, buf)

    def _set_base(self, base: int) -> None:
        self._base = base
        self._deliver_at = (base + 1) * self.frame_bytes + self.window_bytes

    def _advance(self) -> None:
        """Deliver base frames that are complete or that the stream has left behind."""
        slots, F = self._slots, self.frame_bytes
        while slots:
            slot = slots[0]
            if slot.filled >= F or self._max_end >= (slot.index + 1) * F + self.window_bytes:
                self._deliver(slots.popleft())
            else:
                break

    def _deliver(self, slot: _Slot) -> None:
        st = self.stats
        if slot is self._cur:
            self._cur = None
        self._set_base(slot.index + 1)
        if slot.filled == 0:
            st.frames_lost += 1
            self.recycle(slot.buf)
            return
        missing = max(self.frame_bytes - slot.filled, 0)
        st.frames += 1
        if missing:
            st.frames_flagged += 1
        self.ready.append(
            AssembledFrame(self._frame_offset + slot.index, slot.buf, missing, time.time())
        )


# ---------------------------------------------------------------------------- the source
_SO_RCVBUFFORCE = getattr(
    socket, "SO_RCVBUFFORCE", 33 if sys.platform.startswith("linux") else None
)


def _set_rcvbuf(sock: socket.socket, nbytes: int) -> None:
    """Ask for an ``nbytes`` receive buffer: SO_RCVBUFFORCE (Linux, needs CAP_NET_ADMIN, ignores
    ``net.core.rmem_max``) when allowed, else SO_RCVBUF (capped at ``rmem_max``)."""
    if _SO_RCVBUFFORCE is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, nbytes)
            return
        except OSError:
            pass
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, nbytes)


def _chirp_of(cfg: ChirpConfig | RadarConfig) -> ChirpConfig:
    return cfg.chirp if isinstance(cfg, RadarConfig) else cfg


class DCA1000Source(SourceBase):
    """Raw ADC frames from a DCA1000EVM over UDP (the :class:`~runtime.sources.base.Source` interface).

    ``open()`` binds the data port with a large receive buffer (asks for ``rcvbuf_bytes``; without
    CAP_NET_ADMIN the kernel caps it at ``net.core.rmem_max``, see :attr:`rcvbuf_granted`, the value
    getsockopt reports, which Linux doubles for its bookkeeping) and, when ``configure``, opens
    ``control`` and sends connect / reset / version / FPGA config / packet config / RECORD_START.
    ``close()`` sends RECORD_STOP (errors are logged, not raised) and releases the sockets.

    ``frames()`` yields :class:`~runtime.frames.RawFrame` (complex64 ``[tx, rx, loop, sample]``,
    decoded by ``dca1000_layout.decode_frames``); ``raw_frames()`` yields the undecoded
    :class:`AssembledFrame` bytes (for recording). Both receive in the caller's thread: the kernel
    buffer absorbs what arrives while the consumer works. Open frames are flushed (delivered, flagged
    if incomplete) after ``idle_flush_s`` without a packet.

    Args:
        cfg: the chirp configuration the radar runs (or its RadarConfig).
        host_ip: local address to bind the data port ("" = every interface).
        data_port: local data port (0 = any free port, see :attr:`data_address`).
        control: the control client; None = ``DCA1000Control(host_ip=host_ip)`` when ``configure``.
        configure: send the configure / start / stop sequence on open and close.
        packet_delay_us: inter-packet delay to configure [us].
        rcvbuf_bytes: SO_RCVBUF to ask for [bytes].
        reorder_window_packets, max_open_frames: see :class:`FrameAssembler`.
        idle_flush_s: silence after which open frames are delivered [s]; default
            ``2 * frame period + 0.1 s`` (the FPGA holds a frame's last partial packet until the next
            frame's data arrives).
        poll_s: how often a blocked ``frames()`` checks for ``close()`` [s].
    """

    name = "dca1000"

    def __init__(
        self,
        cfg: ChirpConfig | RadarConfig,
        *,
        host_ip: str = DEFAULT_HOST_IP,
        data_port: int = DEFAULT_DATA_PORT,
        control: DCA1000Control | None = None,
        configure: bool = True,
        packet_delay_us: float = DCA1000_DEFAULT_PACKET_DELAY_US,
        rcvbuf_bytes: int = 32 * 1024 * 1024,
        reorder_window_packets: int = 64,
        max_open_frames: int = 4,
        idle_flush_s: float | None = None,
        poll_s: float = 0.05,
    ) -> None:
        super().__init__()
        self.cfg = _chirp_of(cfg)
        self.host_ip = host_ip
        self.data_port = data_port
        self.configure = configure
        self.control = control
        self.packet_delay_us = packet_delay_us
        self.rcvbuf_bytes = rcvbuf_bytes
        self.rcvbuf_granted = 0
        self.idle_flush_s = (
            2 * self.cfg.frame_period_s + 0.1 if idle_flush_s is None else idle_flush_s
        )
        self.poll_s = poll_s
        self.fpga_version: FpgaVersion | None = None
        self.assembler = FrameAssembler(
            self.cfg.bytes_per_frame,
            reorder_window_packets=reorder_window_packets,
            max_open_frames=max_open_frames,
            stats=self.stats,
        )
        self._sock: socket.socket | None = None
        self._scratch = bytearray(2048)
        self._recording = False

    @property
    def data_address(self) -> tuple[str, int]:
        """The bound (address, port) of the data socket (after ``open``)."""
        if self._sock is None:
            raise DCA1000Error("DCA1000Source is not open")
        return self._sock.getsockname()

    def _open(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            _set_rcvbuf(sock, self.rcvbuf_bytes)
            sock.bind((self.host_ip, self.data_port))
        except OSError as exc:
            sock.close()
            raise DCA1000Error(
                f"cannot bind the DCA1000 data port {self.host_ip}:{self.data_port}: {exc}"
            ) from exc
        # what getsockopt reports (Linux doubles the request to cover its bookkeeping)
        self.rcvbuf_granted = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        if self.rcvbuf_granted < self.rcvbuf_bytes:  # Linux reports 2x what it reserves
            log.warning(
                "asked for a %d MiB receive buffer, the kernel gave %.1f MiB "
                "(raise net.core.rmem_max to avoid loss in bursts)",
                self.rcvbuf_bytes >> 20,
                self.rcvbuf_granted / 2**20,
            )
        sock.setblocking(False)
        self._sock = sock
        self.assembler.reset()
        if not self.configure:
            return
        if self.control is None:
            self.control = DCA1000Control(host_ip=self.host_ip)
        try:
            self.control.open()
            self.fpga_version = self.control.configure(
                self.cfg, packet_delay_us=self.packet_delay_us
            )
            self.control.record_start()
            self._recording = True
        except BaseException:
            self.control.close()
            sock.close()
            self._sock = None
            raise

    def _close(self) -> None:
        if self.control is not None and self.configure:
            if self._recording:
                try:
                    self.control.record_stop()
                except DCA1000Error as exc:
                    log.warning("RECORD_STOP on close: %s", exc)
                self._recording = False
            self.control.close()
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def raw_frames(self) -> Iterator[AssembledFrame]:
        """Assembled frames (bytes in the capture layout) until ``close()``."""
        if self._sock is None:
            raise DCA1000Error("DCA1000Source.raw_frames() before open()")
        sock, asm = self._sock, self.assembler
        scratch = self._scratch
        view = memoryview(scratch)
        recv_into, feed, ready = sock.recv_into, asm.feed, asm.ready
        poll = select.poll()
        poll.register(sock.fileno(), select.POLLIN)
        poll_ms = max(1, int(self.poll_s * 1000))
        last_packet = time.monotonic()
        while not self._stop.is_set():
            try:
                n = recv_into(scratch)
            except BlockingIOError:
                if ready:
                    yield ready.popleft()
                    continue
                if not poll.poll(poll_ms):
                    if asm.open_frames and time.monotonic() - last_packet >= self.idle_flush_s:
                        asm.flush()
                continue
            except OSError as exc:
                if self._stop.is_set() or exc.errno == errno.EBADF:
                    break
                raise
            feed(view, n)
            last_packet = time.monotonic()
            while ready:
                yield ready.popleft()
        while ready:  # frames completed before close
            yield ready.popleft()

    def frames(self) -> Iterator[RawFrame]:
        """Decoded raw ADC frames until ``close()``; damaged frames carry ``flags``."""
        recycle = self.assembler.recycle
        for af in self.raw_frames():
            data = decode_frames(af.data, self.cfg)[0]
            recycle(af.data)
            yield RawFrame(data=data, frame_number=af.index, timestamp=af.timestamp, flags=af.flags)
