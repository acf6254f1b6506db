"""Point clouds from the data port of TI's out-of-box demo (pyserial + :mod:`uart_parser`).

The data port carries only output; configure and start the radar on the CLI port first
(:class:`runtime.radar_control.RadarControl`). The constructor stores settings; :meth:`open` opens
the port. ``stats`` counts bytes, accepted and damaged packets, skipped bytes and frame-number gaps
exactly (see :class:`runtime.sources.uart_parser.UartPacketParser`).

    with UartSource("/dev/ttyACM1", radar_config=rc) as src:
        for frame in src.frames():
            ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from runtime.frames import PointCloudFrame
from runtime.sources.base import SourceBase
from runtime.sources.uart_parser import UartPacketParser
from runtime.sources.uart_tlv import UartFrame

__all__ = ["DATA_BAUD", "UartSource"]

DATA_BAUD = 921_600


class UartSource(SourceBase):
    """The demo's data port as a :class:`runtime.sources.base.Source` of point-cloud frames.

    Args:
        data_port: serial device (``/dev/ttyACM1``, ``COM4``, a pty path).
        baud: data-port baud rate [bit/s].
        radar_config: the :class:`firmware_cfg.RadarConfig` the radar runs; pins the parser's
            dialect and platform and gives the range/Doppler bins. None: auto-detect the dialect.
        read_size: bytes per read call.
        read_timeout: seconds one read may block; a read that times out marks a pause on the line
            (releases a packet held for its end check) and bounds the latency of :meth:`close`.
        parser_options: extra :class:`UartPacketParser` keyword arguments.
        tap: called with every chunk of bytes read, before parsing (a recorder keeps the raw
            stream, damage included).
    """

    name = "uart"

    def __init__(
        self,
        data_port: str,
        baud: int = DATA_BAUD,
        *,
        radar_config: Any = None,
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
