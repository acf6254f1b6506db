"""The DCA1000EVM's control client: commands over UDP with a timeout, retries and readable errors.

:class:`DCA1000Control` sends the packets of :mod:`runtime.sources.dca1000_wire` to the FPGA's config
port and waits for the matching reply; asynchronous status packets that arrive meanwhile are kept.
The constructor stores addresses only (defaults: the board's factory settings); :meth:`open` binds.
"""

from __future__ import annotations

import collections
import logging
import select
import socket
import time
from dataclasses import dataclass

from firmware_cfg.chirp import ChirpConfig
from firmware_cfg.radar_config import DCA1000_DEFAULT_PACKET_DELAY_US
from runtime.sources.dca1000_wire import (
    DEFAULT_CONFIG_PORT,
    DEFAULT_FPGA_IP,
    DEFAULT_HOST_IP,
    STATUS_SUCCESS,
    AsyncStatus,
    Command,
    DCA1000Error,
    DCA1000Timeout,
    EepromConfig,
    FpgaConfig,
    FpgaVersion,
    PacketConfig,
    Reply,
    command_name,
    decode_reply,
    describe_async,
    describe_status,
    encode_command,
)

log = logging.getLogger(__name__)


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
            raise DCA1000Error(f"{command_name(cmd)}: DCA1000Control is not open")
        timeout = self.timeout_s if timeout_s is None else timeout_s
        attempts = 1 + (self.retries if retries is None else retries)
        packet = encode_command(cmd, data)
        for attempt in range(attempts):
            self._sock.sendto(packet, (self.fpga_ip, self.fpga_port))
            reply = self._wait_reply(int(cmd), time.monotonic() + timeout)
            if reply is None:
                if attempt + 1 < attempts:
                    log.debug("%s: no reply in %.3g s, resending", command_name(cmd), timeout)
                continue
            if check and reply.status != STATUS_SUCCESS:
                raise DCA1000Error(
                    f"{command_name(cmd)} failed: status {reply.status} "
                    f"({describe_status(int(cmd), reply.status)})"
                )
            return reply.status
        raise DCA1000Timeout(
            f"{command_name(cmd)}: no reply from the DCA1000 at {self.fpga_ip}:{self.fpga_port} "
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
