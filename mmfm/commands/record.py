"""`mmfm record`: capture from a radar (or a replay) into an mmfm recording directory.

    mmfm record --source serial --cfg iwr6843isk_presence --out rec/ --duration 60
    mmfm record --source serial --cli-port /dev/ttyACM0 --data-port /dev/ttyACM1 --cfg my.cfg --out rec/
    mmfm record --source dca1000 --cfg iwr1843boost_raw_activity --cli-port /dev/ttyACM0 --out rec/ --frames 200
    mmfm record --source dca1000 --cfg my.cfg --no-configure --out rec/ --duration 10   # data only
    mmfm record --source replay --input capture.bin --cfg capture.cfg --out rec/
    mmfm record --source replay --input uart.dat --out rec/

The recording (``meta.json``, ``radar.cfg``, ``adc.bin`` or ``uart.dat``, ``frames.csv``; see
:mod:`runtime.sources.recording`) replays with ``runtime.sources.replay.ReplaySource`` (``mmfm run``);
``mmfm dsp`` reads raw-ADC ones. Serial: the chirp config is sent over the CLI port first
(``sensorStop`` ... ``sensorStart``), then the data port is recorded byte for byte. DCA1000: the FPGA
is configured and recording started before the radar is started over the CLI port (``--cli-port``;
leave it out when something else starts the radar). ``--no-configure`` sends nothing to either: data
only, the YAML's ``configure: false``. Replay: raw ADC is re-encoded frame by frame, a UART byte dump
or recording is kept byte for byte (without ``--cfg`` a dump's recording has no ``radar.cfg``).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
import warnings
from typing import Any

from mmfm.commands.common import InputError, check_board, load_radar_config
from runtime.sources.dca1000_wire import (
    DEFAULT_CONFIG_PORT,
    DEFAULT_DATA_PORT,
    DEFAULT_FPGA_IP,
    DEFAULT_HOST_IP,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "record",
        help="record a radar (serial or DCA1000) or a replay into a recording directory",
        description="Record raw captures plus their config and a JSON sidecar that replay reads "
        "back. Stops after --frames, after --duration, or on Ctrl-C.",
    )
    p.add_argument(
        "--source",
        required=True,
        choices=("serial", "dca1000", "replay"),
        help="serial: TI's out-of-box demo over its USB ports (point clouds, bytes kept); "
        "dca1000: raw ADC through a DCA1000EVM over Ethernet; replay: re-record a capture file",
    )
    p.add_argument("--out", required=True, help="recording directory (created; must not hold one)")
    p.add_argument(
        "--cfg",
        help=".cfg path or bundled profile name (required for serial/dca1000; replay: a .bin's "
        "config when none lies beside it, optional for a UART .dat)",
    )
    p.add_argument("--board", help="board name when the .cfg does not say")
    p.add_argument("--frames", type=int, help="stop after this many frames")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument(
        "--no-configure",
        action="store_true",
        help="data only: send nothing to the radar (serial: no .cfg over the CLI port) or the "
        "DCA1000 (no FPGA set-up, RECORD_START/STOP, nor radar start); something else, e.g. "
        "mmWave Studio, configures and starts them (the YAML's configure: false)",
    )
    g = p.add_argument_group("serial (TI out-of-box demo)")
    g.add_argument("--cli-port", help="CLI port (default: discovered); dca1000: starts the radar")
    g.add_argument("--data-port", help="data port (default: discovered)")
    g.add_argument(
        "--data-baud", type=int, default=921_600, help="data-port baud rate (default %(default)s)"
    )
    d = p.add_argument_group("dca1000")
    d.add_argument(
        "--fpga-ip", default=DEFAULT_FPGA_IP, help="DCA1000 address (default %(default)s)"
    )
    d.add_argument(
        "--host-ip",
        default=DEFAULT_HOST_IP,
        help="this host's address on that link (default %(default)s)",
    )
    d.add_argument(
        "--config-port",
        type=int,
        default=DEFAULT_CONFIG_PORT,
        help="DCA1000 control port (default %(default)s)",
    )
    d.add_argument(
        "--adc-port",
        type=int,
        default=DEFAULT_DATA_PORT,
        help="local UDP port the ADC data arrives on (default %(default)s)",
    )
    d.add_argument(
        "--host-config-port",
        type=int,
        default=DEFAULT_CONFIG_PORT,
        help="local port the DCA1000 replies to (default %(default)s; 0 = any)",
    )
    r = p.add_argument_group("replay")
    r.add_argument(
        "--input",
        help="capture to re-record: a DCA1000 .bin (+ .cfg), a UART .dat (bytes kept as they are), "
        "a recording directory, or a dataset with raw ADC",
    )
    p.set_defaults(func=_run)


class _Stop:
    """Ends the capture on SIGINT/SIGTERM, on a frame count or on a deadline."""

    def __init__(self, frames: int | None, duration: float | None) -> None:
        self.frames, self.deadline = frames, None
        if duration is not None:
            self.deadline = time.monotonic() + duration
        self.signalled = False

    def done(self, count: int) -> bool:
        if self.signalled or (self.frames is not None and count >= self.frames):
            return True
        return self.deadline is not None and time.monotonic() >= self.deadline


def _run(args: argparse.Namespace) -> int:
    if args.frames is not None and args.frames < 1:
        return _fail(f"--frames must be >= 1, got {args.frames}")
    if args.duration is not None and args.duration <= 0:
        return _fail(f"--duration must be > 0, got {args.duration}")
    if args.source != "replay" and not args.cfg:
        return _fail(f"--source {args.source} needs --cfg (a .cfg path or a bundled profile name)")
    if args.source == "replay" and not args.input:
        return _fail("--source replay needs --input")
    try:
        check_board(args.board)
        rc = load_radar_config(args.cfg, args.board) if args.cfg else None
    except InputError as exc:
        return _fail(str(exc))
    stop = _Stop(args.frames, args.duration)
    current: list[Any] = []  # the source being recorded, so that a signal can close it

    def on_signal(signum: int, frame: Any) -> None:
        stop.signalled = True
        for src in current:
            src.close()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    # a deadline must also end a capture that receives nothing
    timer = threading.Timer(args.duration, on_signal, (0, None)) if args.duration else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    record = {"serial": _record_serial, "dca1000": _record_dca1000, "replay": _record_replay}
    try:
        return record[args.source](args, rc, stop, current.append)
    except FileExistsError as exc:
        return _fail(str(exc))
    finally:
        if timer is not None:
            timer.cancel()
        for s, handler in old.items():
            signal.signal(s, handler)


def _fail(message: str) -> int:
    print(f"mmfm record: error: {message}", file=sys.stderr)
    return 1


def _capture(source: Any, recorder: Any, stop: _Stop) -> int:
    """Pump frames from an open source into the recorder until told to stop."""
    count = 0
    if stop.done(count):
        return count
    for frame in source.frames():
        recorder.add_frame(frame)
        count += 1
        if stop.done(count):
            break
    return count


def _summary(recorder: Any, stats: dict[str, int]) -> None:
    lost = {k: v for k, v in stats.items() if k != "bytes_received" and v and "lost" in k}
    damaged = stats.get("packets_damaged", 0)
    print(
        f"recorded {recorder.meta.frames} frames to {recorder.directory} "
        f"({stats.get('bytes_received', 0)} bytes received, {damaged} damaged packets"
        + (f", {lost}" if lost else "")
        + ")"
    )


def _record_serial(args: argparse.Namespace, rc: Any, stop: _Stop, register: Any) -> int:
    from runtime.radar_control import (
        PortDiscoveryError,
        RadarControl,
        RadarControlError,
        discover_ports,
    )
    from runtime.sources.recording import Recorder
    from runtime.sources.uart import UartSource

    cli, data = args.cli_port, args.data_port
    if not (cli and data):
        try:
            found_cli, found_data = discover_ports()
        except PortDiscoveryError as exc:
            return _fail(f"{exc} (give --cli-port and --data-port)")
        cli, data = cli or found_cli, data or found_data
    recorder = Recorder(args.out, rc, "uart", source=f"serial {data}")
    source = UartSource(data, args.data_baud, radar_config=rc)
    register(source)
    try:
        if not args.no_configure:
            with RadarControl(cli) as control:
                control.send_config(rc)
        with recorder:
            source.tap = recorder.write_bytes
            with source:
                count = _capture(source, recorder, stop)
                source.parser.flush()
            recorder.close(stats=source.stats.as_dict())
    except RadarControlError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"{data}: {exc}")
    _summary(recorder, source.stats.as_dict())
    return 0 if count else 1


def _record_dca1000(args: argparse.Namespace, rc: Any, stop: _Stop, register: Any) -> int:
    from runtime.radar_control import RadarControl, RadarControlError
    from runtime.sources.dca1000 import DCA1000Source
    from runtime.sources.dca1000_control import DCA1000Control
    from runtime.sources.dca1000_wire import DCA1000Error
    from runtime.sources.recording import Recorder

    configure = not args.no_configure
    control = DCA1000Control(
        fpga_ip=args.fpga_ip,
        fpga_port=args.config_port,
        host_ip=args.host_ip,
        host_port=args.host_config_port,
    )
    source = DCA1000Source(
        rc,
        host_ip=args.host_ip,
        data_port=args.adc_port,
        control=control if configure else None,
        configure=configure,
    )
    register(source)
    recorder = Recorder(args.out, rc, "raw_adc", source=f"dca1000 {args.fpga_ip}")
    try:
        with recorder, source:
            if source.fpga_version is not None:
                recorder.meta.firmware_version = f"FPGA {source.fpga_version}"
            if args.cli_port and configure:
                with RadarControl(args.cli_port) as radar:
                    radar.send_config(rc)
            count = _capture(source, recorder, stop)
            recorder.close(stats=source.stats.as_dict())
    except (DCA1000Error, RadarControlError, TimeoutError) as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"{args.host_ip}:{args.adc_port}: {exc}")
    _summary(recorder, source.stats.as_dict())
    return 0 if count else 1


def _record_replay(args: argparse.Namespace, rc: Any, stop: _Stop, register: Any) -> int:
    from runtime.frames import RawFrame
    from runtime.sources.recording import Recorder
    from runtime.sources.replay import ReplaySource

    # a damaged capture warns (a partial last frame, ...): one line each, never Python's format
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            source = ReplaySource(args.input, radar_config=rc, board=args.board)
            source.open()
        except (ValueError, OSError) as exc:
            return _fail(str(exc))
        register(source)
        uart = source.kind == "uart_bytes" or (
            source.meta is not None and source.meta.kind == "uart"
        )
        pending: list[bytes] = []  # bytes read before the first frame (kept: bytes as received)
        source.tap = pending.append
        frames = source.frames()
        try:
            first = next(frames, None)
        except ValueError as exc:
            return _fail(str(exc))
        if first is None:
            why = "; ".join(_strip_path(str(w.message), args.input) for w in caught)
            return _fail(f"{args.input}: no whole frame to record" + (f" ({why})" if why else ""))
        if not uart and not isinstance(first, RawFrame):
            return _fail(
                f"{args.input}: holds point clouds, not raw ADC or UART bytes; only those re-record"
            )
        if source.radar_config is None and not uart:
            return _fail(f"{args.input}: give --cfg so the recording carries its chirp config")
        recorder = Recorder(
            args.out,
            source.radar_config,
            "uart" if uart else "raw_adc",
            source=f"replay {args.input}",
            board=args.board or "unknown",
        )
        with recorder:
            for chunk in pending:
                recorder.write_bytes(chunk)
            if uart:
                source.tap = recorder.write_bytes
            recorder.add_frame(first)
            count = 1
            if not stop.done(count):
                for frame in frames:
                    recorder.add_frame(frame)
                    count += 1
                    if stop.done(count):
                        break
            recorder.close(stats=source.stats.as_dict())
    for w in caught:
        print(f"mmfm record: warning: {w.message}", file=sys.stderr)
    _summary(recorder, source.stats.as_dict())
    return 0


def _strip_path(message: str, path: str) -> str:
    """``message`` without a leading ``"path: "`` (the error line names the path once)."""
    return message[len(path) + 2 :] if message.startswith(f"{path}: ") else message
