"""Raw ADC frames from a DCA1000EVM over UDP: the source (binds the data port, drives the assembler).

The pieces, each usable alone:

- :mod:`runtime.sources.dca1000_wire`: the factory addresses and ports, control packets, the data
  packet header (pure functions);
- :mod:`runtime.sources.dca1000_control`: :class:`~runtime.sources.dca1000_control.DCA1000Control`,
  the UDP control client;
- :mod:`runtime.sources.dca1000_assembler`: datagrams -> frames
  (:class:`~runtime.sources.dca1000_assembler.FrameAssembler`);
- :mod:`runtime.sources.dca1000_layout`: frame bytes <-> complex samples;
- here: :class:`DCA1000Source` (``recv_into`` a preallocated buffer, the assembler, decoding).

Nothing opens a socket at import time or in a constructor. The daemon builds the source from
:class:`Dca1000SourceSettings` (``type: dca1000``) with :meth:`DCA1000Source.from_settings`.
"""

from __future__ import annotations

import errno
import logging
import select
import socket
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any, Literal

from pydantic import Field

from firmware_cfg.radar_config import DCA1000_DEFAULT_PACKET_DELAY_US, RadarConfig
from runtime.frames import RawFrame
from runtime.radar_control import CLI_BAUD, chirp_config_sender
from runtime.sources.base import Source, SourceBase, SourceSettingsBase
from runtime.sources.dca1000_assembler import AssembledFrame, FrameAssembler
from runtime.sources.dca1000_control import DCA1000Control
from runtime.sources.dca1000_layout import decode_frames
from runtime.sources.dca1000_wire import (
    DEFAULT_CONFIG_PORT,
    DEFAULT_DATA_PORT,
    DEFAULT_FPGA_IP,
    DEFAULT_HOST_IP,
    PACKET_DELAY_RANGE_US,
    DCA1000Error,
    FpgaVersion,
)

log = logging.getLogger(__name__)

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


class Dca1000SourceSettings(SourceSettingsBase):
    """Raw ADC through a DCA1000EVM (UDP), the radar started over its CLI port."""

    live = True
    raw_adc = True

    type: Literal["dca1000"] = Field(
        title="Source type", description="dca1000: raw ADC over the DCA1000EVM's Ethernet port"
    )
    fpga_ip: str = Field(
        default=DEFAULT_FPGA_IP, title="FPGA address", description="the DCA1000's IP address"
    )
    fpga_config_port: int = Field(
        default=DEFAULT_CONFIG_PORT,
        ge=1,
        le=65535,
        title="FPGA config port",
        description="its UDP control port",
    )
    host_ip: str = Field(
        default=DEFAULT_HOST_IP,
        title="Host address",
        description="this hub's address on the DCA1000 link (binds the control and data sockets)",
    )
    host_config_port: int = Field(
        default=DEFAULT_CONFIG_PORT,
        ge=0,
        le=65535,
        title="Host config port",
        description="local UDP port the FPGA replies to (4096 on a real board; 0 = any)",
    )
    data_port: int = Field(
        default=DEFAULT_DATA_PORT,
        ge=0,
        le=65535,
        title="Data port",
        description="local UDP port the ADC data arrives on (0 = any: only with a fake)",
    )
    packet_delay_us: float = Field(
        default=DCA1000_DEFAULT_PACKET_DELAY_US,
        ge=PACKET_DELAY_RANGE_US[0],
        le=PACKET_DELAY_RANGE_US[1],
        title="Packet delay",
        description="inter-packet delay configured on the FPGA [us] (smaller = faster link)",
    )
    configure: bool = Field(
        default=True,
        title="Configure the FPGA",
        description="send connect / reset / FPGA config / RECORD_START on start (and stop on close)",
    )
    cli_port: str | None = Field(
        default=None,
        title="Radar CLI port",
        description="serial CLI port of the radar: chirp_config is sent there after recording "
        "starts (and after every reconnect); null = something else starts the radar",
    )
    cli_baud: int = Field(
        default=CLI_BAUD, gt=0, title="CLI baud rate", description="CLI baud rate [bit/s]"
    )
    command_timeout_s: float = Field(
        default=1.0, gt=0, title="Control timeout", description="wait per control command [s]"
    )
    rcvbuf_mib: int = Field(
        default=32,
        ge=1,
        le=1024,
        title="Receive buffer",
        description="UDP receive buffer to ask the kernel for [MiB] (capped by net.core.rmem_max)",
    )


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
        radar_config: the configuration the radar runs (frame size and period, FPGA settings).
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
    settings_model = Dca1000SourceSettings

    def __init__(
        self,
        radar_config: RadarConfig,
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
        self.radar_config = radar_config
        self.chirp = radar_config.chirp
        self.host_ip = host_ip
        self.data_port = data_port
        self.configure = configure
        self.control = control
        self.packet_delay_us = packet_delay_us
        self.rcvbuf_bytes = rcvbuf_bytes
        self.rcvbuf_granted = 0
        self.idle_flush_s = (
            2 * self.chirp.frame_period_s + 0.1 if idle_flush_s is None else idle_flush_s
        )
        self.poll_s = poll_s
        self.fpga_version: FpgaVersion | None = None
        self.assembler = FrameAssembler(
            self.chirp.bytes_per_frame,
            reorder_window_packets=reorder_window_packets,
            max_open_frames=max_open_frames,
            stats=self.stats,
        )
        self._sock: socket.socket | None = None
        self._scratch = bytearray(2048)
        self._recording = False

    @classmethod
    def from_settings(
        cls, settings: Dca1000SourceSettings, radar_config: RadarConfig, log: Any
    ) -> tuple[Source, Callable[[], None] | None]:
        """The source with its control client, and the chirp-config sender (``cli_port``)."""
        control = DCA1000Control(
            fpga_ip=settings.fpga_ip,
            fpga_port=settings.fpga_config_port,
            host_ip=settings.host_ip,
            host_port=settings.host_config_port,
            timeout_s=settings.command_timeout_s,
        )
        source = cls(
            radar_config,
            host_ip=settings.host_ip,
            data_port=settings.data_port,
            control=control,
            configure=settings.configure,
            packet_delay_us=settings.packet_delay_us,
            rcvbuf_bytes=settings.rcvbuf_mib << 20,
        )
        if settings.cli_port is None:
            return source, None
        return source, chirp_config_sender(
            settings.cli_port, settings.cli_baud, radar_config, settings.command_timeout_s, log
        )

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
                self.chirp, packet_delay_us=self.packet_delay_us
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
            data = decode_frames(af.data, self.chirp)[0]
            recycle(af.data)
            yield RawFrame(data=data, frame_number=af.index, timestamp=af.timestamp, flags=af.flags)
