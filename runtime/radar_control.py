"""Radar control over the CLI port of TI's out-of-box demo, and serial-port discovery.

The demo's CLI (115200 baud, 8N1) reads one command per line, echoes it, runs it and answers
``Done`` or ``Error <code>`` (a negative number), possibly preceded by informational lines
(``Ignored: Sensor is already stopped``, ``'foo' is not recognized as a CLI command``), then
prints its prompt ``mmwDemo:/>`` without a newline. After a reset it prints a boot banner. This
module sends a ``.cfg`` line by line, waits for each answer, tolerates the banner, the echo, the
prompt and stray bytes, and raises :class:`RadarCommandError` naming the ``.cfg`` line and the
radar's reply.

Port discovery: an XDS110 debug probe (VID 0x0451, PID 0xBEF3; IWR/AWR BOOST and ISK with the
MMWAVEICBOOST carrier) enumerates two CDC-ACM ports of one USB device: the lower interface is the
CLI ("Application/User UART"), the higher the data port ("Auxiliary Data Port"). A Silicon Labs
CP2105 (VID 0x10C4, PID 0xEA70; standalone ISK/AOP EVMs) gives an "Enhanced" port (CLI) and a
"Standard" port (data).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from firmware_cfg import RadarConfig, load_cfg

__all__ = [
    "CLI_BAUD",
    "PortDiscoveryError",
    "RadarCommandError",
    "RadarControl",
    "RadarControlError",
    "RadarTimeoutError",
    "chirp_config_sender",
    "discover_ports",
    "pick_ports",
]

CLI_BAUD = 115_200
PROMPT_RE = re.compile(rb"[A-Za-z0-9_]*:/>\s*")  # mmwDemo:/> and the toolbox demos' prompts
_ERROR_RE = re.compile(r"^Error\s+(-?\d+)\s*$")
XDS110_VID_PID = (0x0451, 0xBEF3)
CP2105_VID_PID = (0x10C4, 0xEA70)


class RadarControlError(RuntimeError):
    """Base class of radar-control failures."""


class RadarCommandError(RadarControlError):
    """The radar answered ``Error <code>`` to a command.

    Attributes:
        source: the ``.cfg`` file (or ``"<command>"``).
        line: 1-based line in ``source`` (0 when the command did not come from a file).
        command: the command as sent.
        code: the radar's error code (negative).
        reply: every reply line between the echo and the ``Error`` line (the radar's reasons).
    """

    def __init__(
        self, source: str, line: int, command: str, code: int, reply: Sequence[str]
    ) -> None:
        self.source = source
        self.line = line
        self.command = command
        self.code = code
        self.reply = tuple(reply)
        why = "; ".join(r for r in self.reply if r) or "no reason given"
        super().__init__(f"{source}:{line}: radar answered Error {code} to {command!r} ({why})")


class RadarTimeoutError(RadarControlError):
    """No ``Done``/``Error`` within the timeout."""


class PortDiscoveryError(RadarControlError):
    """No (or more than one) radar found among the serial ports."""


@dataclass(frozen=True)
class _Reply:
    ok: bool
    code: int
    lines: tuple[str, ...]


class RadarControl:
    """The demo's CLI port. The constructor stores settings only; :meth:`open` opens the port.

    Args:
        cli_port: serial device (``/dev/ttyACM0``, ``COM3``, a pty path).
        baud: CLI baud rate [bit/s] (115200 for every TI demo).
        timeout: seconds to wait for each command's ``Done``/``Error`` (``sensorStart`` gets
            ``start_timeout``).
        start_timeout: seconds to wait for ``sensorStart`` (the radar calibrates first).
    """

    def __init__(
        self,
        cli_port: str,
        baud: int = CLI_BAUD,
        timeout: float = 2.0,
        *,
        start_timeout: float = 10.0,
    ) -> None:
        self.cli_port = cli_port
        self.baud = baud
        self.timeout = timeout
        self.start_timeout = start_timeout
        self.transcript: list[str] = []  # every line received, for diagnostics
        self._serial: Any = None
        self._pending = b""

    # ------------------------------------------------------------------ lifecycle
    def open(self) -> None:
        """Open the CLI port and drop whatever the radar printed before (boot banner)."""
        if self._serial is not None:
            return
        import serial  # pyserial, imported here so that the module loads without it

        self._serial = serial.Serial(self.cli_port, self.baud, timeout=0.05)
        self.drain()

    def close(self) -> None:
        """Close the port; safe to call twice."""
        if self._serial is not None:
            try:
                self._serial.close()
            finally:
                self._serial = None

    def __enter__(self) -> RadarControl:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def drain(self, quiet_s: float = 0.05) -> bytes:
        """Read and discard input until the port is quiet for ``quiet_s`` [s]; return the bytes."""
        ser = self._require()
        got = bytearray(self._pending)
        self._pending = b""
        deadline = time.monotonic() + max(self.timeout, quiet_s)
        while time.monotonic() < deadline:
            chunk = ser.read(4096)
            if not chunk:
                break
            got += chunk
        for raw in bytes(got).splitlines():
            text = _clean(raw)
            if text:
                self.transcript.append(text)
        return bytes(got)

    # ------------------------------------------------------------------ commands
    def send_command(
        self,
        command: str,
        *,
        source: str = "<command>",
        line: int = 0,
        timeout: float | None = None,
    ) -> list[str]:
        """Send one command; return the informational reply lines.

        Raises:
            RadarCommandError: the radar answered ``Error <code>``.
            RadarTimeoutError: no answer within the timeout.
        """
        command = command.strip()
        ser = self._require()
        ser.write(command.encode("ascii", errors="replace") + b"\n")
        ser.flush()
        if timeout is None:
            is_start = command.split()[:1] == ["sensorStart"]
            timeout = self.start_timeout if is_start else self.timeout
        reply = self._await_reply(command, timeout)
        if not reply.ok:
            raise RadarCommandError(source, line, command, reply.code, reply.lines)
        return list(reply.lines)

    def send_config(self, cfg: RadarConfig | str | Path, *, validate: bool = True) -> list[str]:
        """Send every command of a ``.cfg`` in file order, each waiting for ``Done``.

        Args:
            cfg: a parsed :class:`firmware_cfg.RadarConfig`, a ``.cfg`` path or a bundled profile
                name.
            validate: parse paths with :func:`firmware_cfg.load_cfg` first (raising
                :class:`firmware_cfg.CfgErrors` before anything is sent); False sends the file's
                lines as written (comments stripped), for firmware-specific commands.

        Returns:
            the informational reply lines of all commands.

        Raises:
            RadarCommandError: naming the ``.cfg`` file and line the radar refused.
        """
        if isinstance(cfg, RadarConfig):
            lines = [(c.line, c.text()) for c in cfg.commands]
            source = cfg.source
        elif validate:
            rc = load_cfg(cfg)
            lines = [(c.line, c.text()) for c in rc.commands]
            source = rc.source
        else:
            source = str(cfg)
            text = Path(cfg).read_text(encoding="utf-8", errors="replace")
            lines = []
            for n, raw in enumerate(text.splitlines(), start=1):
                body = raw.partition("%")[0].strip()
                if body:
                    lines.append((n, " ".join(body.split())))
        info: list[str] = []
        for lineno, command in lines:
            info += self.send_command(command, source=source, line=lineno)
        return info

    def sensor_stop(self) -> list[str]:
        """``sensorStop`` (answered ``Done``, with ``Ignored: ...`` when already stopped)."""
        return self.send_command("sensorStop")

    def sensor_start(self, reconfigure: bool = True) -> list[str]:
        """``sensorStart`` (``sensorStart 0`` restarts without reconfiguring)."""
        return self.send_command("sensorStart" if reconfigure else "sensorStart 0")

    # ------------------------------------------------------------------ internals
    def _require(self) -> Any:
        if self._serial is None:
            raise RadarControlError(f"{self.cli_port}: not open (call open() first)")
        return self._serial

    def _await_reply(self, command: str, timeout: float) -> _Reply:
        ser = self._require()
        deadline = time.monotonic() + timeout
        buf = self._pending
        info: list[str] = []
        echo_seen = False
        while True:
            while b"\n" in buf:
                raw, _, buf = buf.partition(b"\n")
                text = _clean(raw)
                if not text:
                    continue
                self.transcript.append(text)
                if text == "Done":
                    self._pending = buf
                    return _Reply(True, 0, tuple(info))
                m = _ERROR_RE.match(text)
                if m:
                    self._pending = buf
                    return _Reply(False, int(m.group(1)), tuple(info))
                if not echo_seen and text == command:
                    echo_seen = True
                    continue
                info.append(text)
            if time.monotonic() >= deadline:
                self._pending = buf
                seen = " | ".join(info[-5:]) or "nothing"
                raise RadarTimeoutError(
                    f"{self.cli_port}: no Done/Error within {timeout:g} s after {command!r} "
                    f"(received: {seen}); is the radar powered, flashed with the demo and on "
                    "this port?"
                )
            chunk = ser.read(max(1, ser.in_waiting or 1))
            if chunk:
                buf += chunk


def _clean(raw: bytes) -> str:
    """One received line without prompts, control characters and undecodable bytes."""
    raw = PROMPT_RE.sub(b"", raw)
    text = raw.decode("ascii", errors="ignore")
    return "".join(ch for ch in text if ch.isprintable()).strip()


# ---------------------------------------------------------------------- discovery
def _describe(p: Any) -> str:
    vid, pid = getattr(p, "vid", None), getattr(p, "pid", None)
    ids = f"{vid:04x}:{pid:04x}" if vid is not None and pid is not None else "no usb id"
    return f"{p.device} ({ids}, {getattr(p, 'description', '') or 'no description'})"


def _interface_key(p: Any) -> tuple[int, int, str]:
    """Sort key: the USB interface number from ``location`` ("1-1.2:1.3" -> 3), then the name
    in natural order (ttyACM9 before ttyACM10)."""
    loc = getattr(p, "location", None) or ""
    m = re.search(r":\d+\.(\d+)$", loc)
    num = int(m.group(1)) if m else 1 << 16
    dev = str(p.device)
    return (num, len(dev), dev)


def pick_ports(ports: Iterable[Any], serial_number: str | None = None) -> tuple[str, str]:
    """Choose (cli, data) from ``serial.tools.list_ports`` entries (see the module docstring).

    Raises:
        PortDiscoveryError: no radar, several radars (pass ``serial_number``), or an incomplete
            pair; the message lists every port seen.
    """
    ports = list(ports)
    groups: dict[tuple[str, str], list[Any]] = {}
    for p in ports:
        vid_pid = (getattr(p, "vid", None), getattr(p, "pid", None))
        if vid_pid == XDS110_VID_PID:
            kind = "XDS110"
        elif vid_pid == CP2105_VID_PID:
            kind = "CP2105"
        else:
            continue
        sn = getattr(p, "serial_number", None) or ""
        if serial_number is not None and sn != serial_number:
            continue
        groups.setdefault((kind, sn), []).append(p)
    seen = "; ".join(_describe(p) for p in ports) or "no serial ports at all"
    if not groups:
        raise PortDiscoveryError(
            "no TI radar found (looked for XDS110 0451:bef3 and CP2105 10c4:ea70 port pairs); "
            f"ports seen: {seen}. Pass --cli-port/--data-port explicitly, check the USB cable "
            "and that the board is powered (Linux: are you in the dialout group?)."
        )
    if len(groups) > 1:
        radars = ", ".join(f"{k} serial {sn or '?'}" for k, sn in groups)
        raise PortDiscoveryError(
            f"several radars found ({radars}); pass serial_number= or the ports explicitly. "
            f"Ports seen: {seen}"
        )
    (kind, _), members = next(iter(groups.items()))
    if len(members) != 2:
        raise PortDiscoveryError(
            f"{kind} radar has {len(members)} serial port(s), expected 2 (CLI + data): "
            f"{', '.join(_describe(p) for p in members)}"
        )
    if kind == "CP2105":
        enhanced = [
            p for p in members if "enhanced" in (getattr(p, "description", "") or "").lower()
        ]
        standard = [
            p for p in members if "standard" in (getattr(p, "description", "") or "").lower()
        ]
        if len(enhanced) == 1 and len(standard) == 1:
            return str(enhanced[0].device), str(standard[0].device)
    cli, data = sorted(members, key=_interface_key)
    return str(cli.device), str(data.device)


def discover_ports(serial_number: str | None = None) -> tuple[str, str]:
    """Find the radar's (cli, data) serial ports with ``serial.tools.list_ports``.

    Raises:
        PortDiscoveryError: with the list of ports seen (see :func:`pick_ports`).
    """
    from serial.tools import list_ports

    return pick_ports(list_ports.comports(), serial_number=serial_number)


def chirp_config_sender(
    cli_port: str, baud: int, radar_config: RadarConfig, timeout_s: float, log: Any
) -> Callable[[], None]:
    """What a source's factory runs right after ``open()``: send ``radar_config`` on ``cli_port``.

    Args:
        cli_port: the radar's CLI serial port.
        baud: its baud rate [bit/s].
        radar_config: the configuration to send (``sensorStop`` ... ``sensorStart``).
        timeout_s: wait for each command's reply [s].
        log: where to say it was sent (a logger or a radar's logger adapter).
    """

    def send() -> None:
        with RadarControl(cli_port, baud, timeout=timeout_s) as ctl:
            ctl.send_config(radar_config)
        log.info("chirp config %s sent on %s", radar_config.source, cli_port)

    return send
