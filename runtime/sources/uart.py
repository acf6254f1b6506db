"""Point clouds from the data port of TI's out-of-box demo (pyserial + :mod:`uart_parser`).

The data port carries only output; configure and start the radar on the CLI port first
(:class:`runtime.radar_control.RadarControl`). The constructor stores settings; :meth:`open` opens
the port. ``stats`` counts bytes, accepted and damaged packets, skipped bytes and frame-number gaps
exactly (see :class:`runtime.sources.uart_parser.UartPacketParser`).

    with UartSource("/dev/ttyACM1", radar_config=radar_config) as src:
        for frame in src.frames():
            ...

The daemon builds it from :class:`SerialSourceSettings` (``type: serial``) with
:meth:`UartSource.from_settings`: the data port, and the chirp config sent on the CLI port after
every (re)open; ``auto`` ports are found by USB ids when the source is built.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Literal

from pydantic import Field

from firmware_cfg import RadarConfig
from runtime.frames import PointCloudFrame
from runtime.radar_control import CLI_BAUD, chirp_config_sender, discover_ports
from runtime.sources.base import Source, SourceBase, SourceSettingsBase
from runtime.sources.uart_parser import UartPacketParser
from runtime.sources.uart_tlv import UartFrame

__all__ = ["DATA_BAUD", "SerialSourceSettings", "UartSource"]

DATA_BAUD = 921_600


class SerialSourceSettings(SourceSettingsBase):
    """A radar running TI's out-of-box demo over USB: CLI port (config) + data port (point clouds)."""

    live = True

    type: Literal["serial"] = Field(title="Source type", description="serial: TI's out-of-box demo")
    cli_port: str = Field(
        default="auto",
        min_length=1,
        title="CLI port",
        description="serial device of the demo's CLI (/dev/ttyACM0, COM3) or 'auto' to find the "
        "XDS110 / CP2105 port pair",
    )
    data_port: str = Field(
        default="auto",
        min_length=1,
        title="Data port",
        description="serial device of the demo's data output (/dev/ttyACM1) or 'auto'",
    )
    serial_number: str | None = Field(
        default=None,
        title="USB serial number",
        description="with 'auto' ports: pick the radar with this USB serial number (several "
        "radars on one hub)",
    )
    cli_baud: int = Field(
        default=CLI_BAUD, gt=0, title="CLI baud rate", description="CLI baud rate [bit/s]"
    )
    data_baud: int = Field(
        default=DATA_BAUD, gt=0, title="Data baud rate", description="data-port baud rate [bit/s]"
    )
    configure: bool = Field(
        default=True,
        title="Send the chirp config",
        description="send chirp_config over the CLI port on start and after every reconnect "
        "(false: something else configures the radar)",
    )
    command_timeout_s: float = Field(
        default=2.0,
        gt=0,
        title="CLI command timeout",
        description="wait for each CLI command's Done/Error [s] (sensorStart gets 10 s)",
    )


class UartSource(SourceBase):
    """The demo's data port as a :class:`runtime.sources.base.Source` of point-cloud frames.

    Args:
        data_port: serial device (``/dev/ttyACM1``, ``COM4``, a pty path).
        baud: data-port baud rate [bit/s].
        radar_config: the configuration the radar runs; pins the parser's dialect and platform
            and gives the range/Doppler bins. None: auto-detect the dialect.
        read_size: bytes per read call.
        read_timeout: seconds one read may block; a read that times out marks a pause on the line
            (releases a packet held for its end check) and bounds the latency of :meth:`close`.
        parser_options: extra :class:`UartPacketParser` keyword arguments.
        tap: called with every chunk of bytes read, before parsing (a recorder keeps the raw
            stream, damage included).
    """

    name = "uart"
    settings_model = SerialSourceSettings

    def __init__(
        self,
        data_port: str,
        baud: int = DATA_BAUD,
        *,
        radar_config: RadarConfig | None = None,
        read_size: int = 4096,
        read_timeout: float = 0.02,
        parser_options: dict[str, Any] | None = None,
        tap: Callable[[bytes], None] | None = None,
    ) -> None:
        super().__init__()
        self.data_port = data_port
        self.baud = baud
        self.read_size = read_size
        self.read_timeout = read_timeout
        opts = dict(parser_options or {})
        if radar_config is not None:
            self.parser = UartPacketParser.for_config(radar_config, stats=self.stats, **opts)
        else:
            self.parser = UartPacketParser(stats=self.stats, **opts)
        self.tap = tap
        self._serial: Any = None

    @classmethod
    def from_settings(
        cls, settings: SerialSourceSettings, radar_config: RadarConfig, log: Any
    ) -> tuple[Source, Callable[[], None] | None]:
        """The source on the settings' data port, and the chirp-config sender (``configure``).

        ``auto`` ports are looked up now (:func:`runtime.radar_control.discover_ports`), so a
        radar plugged into another USB port is found again on the next restart.
        """
        cli, data = settings.cli_port, settings.data_port
        if "auto" in (cli, data):
            found_cli, found_data = discover_ports(settings.serial_number)
            cli = found_cli if cli == "auto" else cli
            data = found_data if data == "auto" else data
            log.info("serial ports: CLI %s, data %s", cli, data)
        source = cls(data, settings.data_baud, radar_config=radar_config)
        if not settings.configure:
            return source, None
        return source, chirp_config_sender(
            cli, settings.cli_baud, radar_config, settings.command_timeout_s, log
        )

    def _open(self) -> None:
        import serial  # pyserial

        self._serial = serial.Serial(self.data_port, self.baud, timeout=self.read_timeout)
        self._serial.reset_input_buffer()  # bytes from before open() belong to no one

    def _close(self) -> None:
        ser, self._serial = self._serial, None
        if ser is not None:
            try:
                ser.close()
            except Exception:  # closing must not raise
                pass

    def uart_frames(self) -> Iterator[UartFrame]:
        """Yield every accepted packet with all its TLVs until :meth:`close` (or the port fails).

        Raises:
            serial.SerialException: the port failed while the source was not being closed
                (device unplugged).
        """
        if not self._opened:
            self.open()
        import serial

        while not self.stopping:
            ser = self._serial
            if ser is None:
                return
            try:
                data = ser.read(max(1, min(self.read_size, ser.in_waiting or 1)))
            except (serial.SerialException, OSError, TypeError, AttributeError):
                if self.stopping:
                    return
                raise
            if data and self.tap is not None:
                self.tap(data)
            # an empty read is a pause on the line: a packet is sent as one burst, so a complete
            # packet held for its end check is released
            yield from self.parser.feed(data, final=not data)

    def frames(self) -> Iterator[PointCloudFrame]:
        """Yield :class:`runtime.frames.PointCloudFrame` (points with snr/noise, flags)."""
        for frame in self.uart_frames():
            yield frame.to_point_cloud()
