"""`mmfm cfg`: show, validate, emit and list TI mmWave ``.cfg`` chirp configurations.

mmfm cfg list
mmfm cfg show iwr1843boost_raw_activity [--json]
mmfm cfg validate my.cfg other.cfg --board IWR6843ISK
mmfm cfg emit my.cfg -o normalised.cfg
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from mmfm.commands.common import InputError, check_board

# (key in ChirpConfig.derived() / budgets(), label, scale, unit)
_ROWS: tuple[tuple[str, str, float, str], ...] = (
    ("carrier_freq_hz", "carrier (centre of ADC window)", 1e-9, "GHz"),
    ("wavelength_m", "wavelength at carrier", 1e3, "mm"),
    ("sampling_bandwidth_hz", "sampled bandwidth", 1e-9, "GHz"),
    ("ramp_bandwidth_hz", "ramp bandwidth", 1e-9, "GHz"),
    ("range_resolution_m", "range resolution", 100.0, "cm"),
    ("range_bin_m", "range bin", 100.0, "cm"),
    ("max_if_hz", "max IF (ADC band)", 1e-6, "MHz"),
    ("max_range_m", "max range (full ADC band)", 1.0, "m"),
    ("max_range_80_m", "max range (80% IF, TI convention)", 1.0, "m"),
    ("range_fft_size", "range FFT size", 1.0, ""),
    ("num_range_bins", "range bins", 1.0, ""),
    ("chirp_period_s", "chirp period", 1e6, "us"),
    ("adc_sampling_time_s", "ADC sampling time", 1e6, "us"),
    ("tdm_period_s", "TDM loop period", 1e6, "us"),
    ("frame_active_time_s", "frame active time", 1e3, "ms"),
    ("duty_cycle", "duty cycle", 100.0, "%"),
    ("frame_rate_hz", "frame rate", 1.0, "Hz"),
    ("doppler_fft_size", "Doppler FFT size", 1.0, ""),
    ("max_velocity_mps", "max velocity", 1.0, "m/s"),
    ("velocity_resolution_mps", "velocity resolution", 1.0, "m/s"),
    ("velocity_bin_mps", "velocity bin", 1.0, "m/s"),
    ("bytes_per_chirp", "raw bytes per chirp", 1.0, "B"),
    ("bytes_per_frame", "raw bytes per frame", 1.0, "B"),
    ("raw_data_rate_bps", "raw data rate (average)", 1e-6, "Mbit/s"),
    ("uart_bytes_per_frame", "UART bytes per frame", 1.0, "B"),
    ("uart_rate_bps", "UART rate needed", 1e-3, "kbit/s"),
    ("fits_uart", "fits UART", 1.0, ""),
    ("lvds_bytes_per_chirp", "LVDS bytes per chirp", 1.0, "B"),
    ("lvds_rate_bps", "LVDS rate needed (per chirp)", 1e-6, "Mbit/s"),
    ("lvds_capacity_bps", "LVDS capacity", 1e-6, "Mbit/s"),
    ("fits_lvds", "fits LVDS", 1.0, ""),
    ("dca1000_throughput_bps", "DCA1000 sustained throughput", 1e-6, "Mbit/s"),
    ("fits_dca1000", "fits DCA1000", 1.0, ""),
)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "cfg",
        help="show, validate, emit and list TI .cfg chirp configs",
        description="Parse TI mmWave SDK .cfg chirp configurations (a file path or a bundled "
        "profile name from 'mmfm cfg list'): show what they imply, validate them, re-emit them.",
    )
    sub = p.add_subparsers(dest="cfg_command", metavar="ACTION", required=True)
    board_help = (
        "board, e.g. IWR1843BOOST (default: the file's '%% mmfm-board:' comment, else inferred "
        "from the start frequency)"
    )
    s = sub.add_parser("show", help="print the configuration and every derived quantity")
    s.add_argument("file", metavar="CFG", help="a .cfg path or a bundled profile name")
    s.add_argument("--board", help=board_help)
    s.add_argument("--json", action="store_true", help="machine-readable JSON")
    s.set_defaults(func=_show)
    v = sub.add_parser("validate", help="check files; print ok or file:line: message")
    v.add_argument("files", nargs="+", metavar="CFG", help=".cfg paths or bundled profile names")
    v.add_argument("--board", help=board_help)
    v.set_defaults(func=_validate)
    e = sub.add_parser("emit", help="re-emit a .cfg in canonical form")
    e.add_argument("file", metavar="CFG", help="a .cfg path or a bundled profile name")
    e.add_argument("--board", help=board_help)
    e.add_argument("-o", "--output", help="output file (default: stdout)")
    e.set_defaults(func=_emit)
    ls = sub.add_parser("list", help="bundled profiles with one-line descriptions")
    ls.set_defaults(func=_list)


def _load(path: str, board: str | None) -> Any:
    from firmware_cfg import load_cfg

    if Path(path).is_dir():
        raise IsADirectoryError(f"{path}: is a directory, not a .cfg file")
    return load_cfg(path, board=board)


def _bad_board(args: argparse.Namespace) -> bool:
    """Print one line and say so when ``--board`` names no known board (blamed on the flag, not on
    line 0 of each file)."""
    try:
        check_board(args.board)
    except InputError as exc:
        print(f"mmfm cfg {args.cfg_command}: error: {exc}", file=sys.stderr)
        return True
    return False


def _summary(rc: Any) -> dict[str, Any]:
    derived = rc.chirp.derived()
    derived["max_range_80_m"] = 0.8 * rc.chirp.max_range_m
    derived["start_wavelength_m"] = rc.chirp.start_wavelength_m
    derived.update(rc.budgets())
    return {
        "source": rc.source,
        "board": rc.board,
        "board_inferred": rc.board_inferred,
        "dialect": rc.dialect,
        "chirp": rc.chirp.model_dump(mode="json"),
        "demo": json.loads(rc.demo.model_dump_json()),
        "derived": derived,
        "warnings": [str(w) for w in rc.warnings],
    }


def _show(args: argparse.Namespace) -> int:
    from firmware_cfg import CfgError

    if _bad_board(args):
        return 1
    try:
        rc = _load(args.file, args.board)
    except (CfgError, OSError) as exc:
        print(exc, file=sys.stderr)
        return 1
    info = _summary(rc)
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    how = " (inferred from start frequency and dialect)" if rc.board_inferred else ""
    print(f"{rc.source}: board {rc.board}{how}, SDK {rc.dialect} dialect")
    c = rc.chirp
    print(
        f"  chirp: {c.start_freq_hz / 1e9:g} GHz, {c.freq_slope_hz_per_s / 1e12:g} MHz/us, "
        f"{c.num_samples} samples at {c.sample_rate_hz / 1e6:g} Msps ({c.adc_format.value}, "
        f"{c.adc_bits} bit), idle {c.idle_time_s * 1e6:g} us, ADC start "
        f"{c.adc_start_time_s * 1e6:g} us, ramp end {c.ramp_end_time_s * 1e6:g} us"
    )
    order = info["derived"]["tx_order"]
    print(
        f"  frame: TX order {order}, RX {list(c.rx_indices)}, {c.num_loops} loops, "
        f"period {c.frame_period_s * 1e3:g} ms, shape {list(c.frame_shape)}"
    )
    d = info["derived"]
    for key, label, scale, unit in _ROWS:
        value = d.get(key)
        if isinstance(value, bool):
            text = "yes" if value else "NO"
        elif isinstance(value, int | float):
            text = f"{value * scale:.4g}"
        else:
            text = str(value)
        print(f"  {label:<36} {text:>12} {unit}")
    for w in rc.warnings:
        print(w)
    return 0


def _validate(args: argparse.Namespace) -> int:
    from firmware_cfg import CfgError, CfgErrors

    if _bad_board(args):
        return 1
    status = 0
    for path in args.files:
        try:
            rc = _load(path, args.board)
        except CfgErrors as exc:
            for err in exc.errors:
                print(err, file=sys.stderr)
            status = 1
            continue
        except (CfgError, OSError) as exc:
            print(exc, file=sys.stderr)
            status = 1
            continue
        for w in rc.warnings:
            print(w, file=sys.stderr)
        print(f"{path}: ok")
    return status


def _emit(args: argparse.Namespace) -> int:
    from firmware_cfg import CfgError, emit_cfg

    if _bad_board(args):
        return 1
    try:
        text = emit_cfg(_load(args.file, args.board))
    except (CfgError, OSError) as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            print(f"mmfm cfg emit: error: {args.output}: cannot write ({exc.strerror or exc})",
                  file=sys.stderr)  # fmt: skip
            return 1
    else:
        sys.stdout.write(text)
    return 0


def _list(args: argparse.Namespace) -> int:
    from firmware_cfg.profiles import describe, list_profiles

    for name in list_profiles():
        print(f"{name:<32} {describe(name)}")
    return 0
