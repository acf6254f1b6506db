"""`mmfm dsp`: run the DSP chain on a raw ADC capture and print the strongest detections.

mmfm dsp --example                                   # bundled two-people IWR1843 capture
mmfm dsp capture.bin --cfg iwr1843boost_raw_activity --all --top 5
mmfm dsp frame.npy --cfg my.cfg --board IWR1443BOOST --json
mmfm dsp adc.npy --cfg my.cfg --layout openradar --int16-wrap --png out.png
mmfm dsp rec/                                        # a raw-ADC recording from mmfm record

FILE is a DCA1000 ``.bin`` (decoded with the config) or a ``.npy`` holding complex
``[tx, rx, loop, sample]`` / ``[frames, tx, rx, loop, sample]`` (``--layout frame``) or OpenRadar's
``[loops, virtual, samples]`` / ``[frames, loops, virtual, samples]`` with the virtual axis tx-major
(``--layout openradar``), or an ``mmfm record`` directory of raw ADC (its ``radar.cfg`` is the
default ``--cfg``). Detections are listed strongest first with their range-Doppler cell power.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from mmfm.commands.common import InputError as _InputError
from mmfm.commands.common import load_radar_config

EXAMPLE = "two_people_iwr1843"
#: What the table's power column is (detections are sorted by it).
POWER_NOTE = (
    "power: the range-Doppler cell, 10 log10 of |2-D FFT|^2 averaged over the virtual antennas, "
    "dB re 1 ADC count^2"
)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "dsp",
        help="run the DSP chain on a raw ADC capture (.bin, .npy, recording) and print detections",
        description="Run the DSP chain on a raw ADC capture and print the strongest detections "
        "(range, radial velocity, angles, SNR and cell power). Try: mmfm dsp --example",
    )
    p.add_argument(
        "file",
        nargs="?",
        metavar="FILE",
        help="capture: DCA1000 .bin, .npy, or a raw-ADC mmfm record directory",
    )
    p.add_argument(
        "--cfg",
        help="the capture's .cfg path or a bundled profile name (default: FILE's .cfg beside it "
        "with the same name, or a recording's own radar.cfg)",
    )
    p.add_argument(
        "--board", help="board, e.g. IWR1843BOOST (default: the .cfg's comment, else inferred)"
    )
    which = p.add_mutually_exclusive_group()
    which.add_argument("--frame", type=int, default=0, help="frame index (default 0)")
    which.add_argument("--all", action="store_true", help="every frame of the capture")
    p.add_argument(
        "--top", type=int, default=10, help="strongest detections per frame (default 10)"
    )
    p.add_argument("--json", action="store_true", help="machine-readable JSON")
    p.add_argument("--png", help="save range-Doppler and range-azimuth images (needs matplotlib)")
    p.add_argument(
        "--layout",
        choices=("frame", "openradar"),
        default="frame",
        help=".npy axis order: frame = [tx, rx, loop, sample]; openradar = [loop, virtual, sample]",
    )
    p.add_argument(
        "--int16-wrap",
        action="store_true",
        help=".npy I/Q stored as uint16 wrap-around values (OpenRadar's files): cast to int16",
    )
    p.add_argument(
        "--example",
        action="store_true",
        help=f"run on the bundled runtime/examples/{EXAMPLE} capture (ignores FILE and --cfg)",
    )
    p.set_defaults(func=_run)


def _example_paths() -> tuple[Path, Path]:
    from importlib.resources import files

    root = Path(str(files("runtime").joinpath("examples")))
    return root / f"{EXAMPLE}.bin", root / f"{EXAMPLE}.cfg"


def _is_recording(path: Path) -> bool:
    return path.is_dir() and (path / "meta.json").is_file()


def _recording_paths(directory: Path, cfg: str | None) -> tuple[Path, str]:
    """``(adc.bin, its .cfg)`` of an ``mmfm record`` directory (``--cfg`` overrides radar.cfg)."""
    from runtime.sources.recording import DATA_FILE, RecordingMeta

    try:
        meta = RecordingMeta.read(directory)
    except ValueError as exc:
        raise _InputError(str(exc)) from None
    if meta.kind != "raw_adc":
        raise _InputError(
            f"{directory}: a {meta.kind} recording holds the radar's point clouds, not raw ADC "
            "(replay it with mmfm run)"
        )
    return directory / DATA_FILE["raw_adc"], cfg or str(directory / "radar.cfg")


def _load_frames(path: Path, chirp: Any, layout: str, int16_wrap: bool) -> Any:
    """The capture as complex64 ``[frames, tx, rx, loop, sample]``."""
    import numpy as np

    if path.is_dir():
        raise _InputError(
            f"{path}: is a directory, not a capture (give a DCA1000 .bin, a .npy or an "
            "mmfm record directory)"
        )
    if not path.is_file():
        raise _InputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".bin":
        from runtime.sources.dca1000_layout import read_bin

        try:
            return read_bin(path, chirp)
        except (ValueError, OSError) as exc:
            msg = str(exc)
            raise _InputError(msg if msg.startswith(str(path)) else f"{path}: {msg}") from None
    if suffix != ".npy":
        raise _InputError(f"{path}: unknown capture type {suffix!r} (expected .bin or .npy)")
    data = _load_numeric_npy(path)
    wrapped = not int16_wrap and _looks_uint16_wrapped(data)
    wrap_hint = "add --int16-wrap (I/Q stored as uint16 wrap-around values, as OpenRadar's files)"
    ntx, nrx, nl, ns = chirp.frame_shape
    shapes = {"frame": tuple(chirp.frame_shape), "openradar": (nl, ntx * nrx, ns)}
    want = shapes[layout]
    if not _fits(data, want):
        axes = {"frame": "tx x rx x loops x samples", "openradar": "loops x virtual x samples"}
        msg = (
            f"{path}: shape {data.shape} does not match the config's [frames,] {axes[layout]} = "
            f"{want} (--layout {layout})"
        )
        fits = [name for name, shape in shapes.items() if name != layout and _fits(data, shape)]
        if fits:
            msg += f"; it fits --layout {fits[0]} ({axes[fits[0]]})"
            if wrapped:
                msg += f"; also {wrap_hint}"
        raise _InputError(msg)
    if wrapped:
        top = int(max(data.real.max(), data.imag.max()))
        raise _InputError(f"{path}: I/Q values run from 0 to {top}, beyond int16: {wrap_hint}")
    if int16_wrap:
        if not np.iscomplexobj(data):
            raise _InputError(f"{path}: --int16-wrap expects complex I/Q, got {data.dtype}")
        wrap = lambda part: part.astype(np.int64).astype(np.uint16).view(np.int16)  # noqa: E731
        data = wrap(data.real) + 1j * wrap(data.imag).astype(np.float32)
    if not np.iscomplexobj(data) and chirp.adc_format.is_complex:
        raise _InputError(f"{path}: real {data.dtype} samples but the config's ADC is complex")
    data = np.asarray(data, dtype=np.complex64)
    if data.ndim == len(want):
        data = data[None]
    if layout == "openradar":
        data = data.reshape(data.shape[0], nl, ntx, nrx, ns).transpose(0, 2, 3, 1, 4)
    return np.ascontiguousarray(data)


def _looks_uint16_wrapped(data: Any) -> bool:
    """Complex whole-number I/Q, none negative, some above 32767: int16 samples stored as uint16."""
    import numpy as np

    if not np.iscomplexobj(data) or data.size == 0:
        return False
    parts = (data.real, data.imag)
    return (
        all(part.min() >= 0 for part in parts)
        and max(part.max() for part in parts) > np.iinfo(np.int16).max
        and all(np.array_equal(part, np.round(part)) for part in parts)
    )


def _fits(data: Any, shape: tuple[int, ...]) -> bool:
    """``data`` (one frame, or frames with a leading axis) has frames of ``shape``."""
    return tuple(data.shape[-len(shape) :]) == shape and data.ndim in (len(shape), len(shape) + 1)


def _load_numeric_npy(path: Path) -> Any:
    """A ``.npy`` holding a plain numeric array, checked from its header before loading: never
    unpickles (pickled object arrays are refused, not loaded)."""
    import numpy as np

    fmt = np.lib.format
    try:
        with path.open("rb") as fh:
            major, _ = fmt.read_magic(fh)
            read_header = fmt.read_array_header_1_0 if major == 1 else fmt.read_array_header_2_0
            _, _, dtype = read_header(fh)
    except (ValueError, OSError, EOFError):
        raise _InputError(f"{path}: not a numeric array (no NumPy .npy header)") from None
    if dtype.hasobject or dtype.kind not in "biufc":
        what = "Python objects" if dtype.hasobject else f"dtype {dtype}"
        raise _InputError(
            f"{path}: not a numeric array (holds {what}); expected complex I/Q samples"
        )
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise _InputError(f"{path}: unreadable .npy ({exc})") from None


def _detection_rows(det: Any) -> list[dict[str, float]]:
    return [
        {
            "range_m": round(float(d["range_m"]), 4),
            "velocity_mps": round(float(d["velocity_mps"]), 4),
            "azimuth_deg": round(float(d["azimuth_deg"]), 2),
            "elevation_deg": round(float(d["elevation_deg"]), 2),
            "snr_db": round(float(d["snr_db"]), 2),
            "power_db": round(float(d["power_db"]), 2),
        }
        for d in det
    ]


def _print_table(path: Path, results: list[tuple[int, list[dict[str, float]]]]) -> None:
    print(f"{path} (strongest first; {POWER_NOTE})")
    print(
        f"{'frame':>5} {'#':>3} {'range m':>8} {'vel m/s':>8} {'az deg':>7} {'el deg':>7} "
        f"{'snr dB':>7} {'power dB':>9}"
    )
    for frame, rows in results:
        if not rows:
            print(f"{frame:>5}   -  (no detections)")
        for i, r in enumerate(rows):
            print(
                f"{frame:>5} {i:>3} {r['range_m']:>8.3f} {r['velocity_mps']:>8.3f} "
                f"{r['azimuth_deg']:>7.1f} {r['elevation_deg']:>7.1f} {r['snr_db']:>7.1f} "
                f"{r['power_db']:>9.1f}"
            )


def _print_example_truth(truth_path: Path) -> None:
    """Print the targets the bundled example was synthesised with, to compare by eye."""
    truth = json.loads(truth_path.read_text())
    print(f"truth ({truth_path.name}; noise std {truth['noise_std']} ADC counts):")
    for t in truth["targets"]:
        print(
            f"{'':>9} {t['range_m']:>8.3f} {t['velocity_mps']:>8.3f} "
            f"{t['azimuth_deg']:>7.1f} {t['elevation_deg']:>7.1f}"
        )


def _save_png(out: str, result: Any, plan: Any, title: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise _InputError(
            "--png needs matplotlib, which is not installed (pip install 'mmfm[viz]')"
        ) from None
    import numpy as np

    from runtime.dsp.angle import range_azimuth_map

    rng = plan.range_axis_m
    vel = plan.velocity_axis_mps
    ra = range_azimuth_map(result.cube, plan.geometry, plan.tdm_table)  # [range, grid]
    u = plan.geometry.grid_u
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(12, 5))
    im0 = ax0.imshow(
        result.range_doppler_db,
        origin="lower",
        aspect="auto",
        extent=(vel[0], vel[-1], rng[0], rng[-1]),
        cmap="viridis",
    )
    det = result.detections
    ax0.scatter(det["velocity_mps"], det["range_m"], s=30, facecolors="none", edgecolors="r")
    ax0.set_xlabel("radial velocity [m/s] (+ = away)")
    ax0.set_ylabel("range [m]")
    ax0.set_title("range-Doppler [dB]")
    fig.colorbar(im0, ax=ax0)
    az_deg = np.rad2deg(np.arcsin(u))
    ra_db = 10 * np.log10(np.maximum(ra, np.finfo(np.float32).tiny))
    mesh = ax1.pcolormesh(az_deg, rng, ra_db, shading="auto", cmap="viridis")
    ax1.scatter(det["azimuth_deg"], det["range_m"], s=30, facecolors="none", edgecolors="r")
    ax1.set_xlabel("azimuth [deg] (+ = right)")
    ax1.set_ylabel("range [m]")
    ax1.set_title("range-azimuth [dB] (summed over Doppler)")
    fig.colorbar(mesh, ax=ax1)
    fig.suptitle(title)
    fig.tight_layout()
    try:
        fig.savefig(out, dpi=100)
    except OSError as exc:
        raise _InputError(f"{out}: cannot write ({exc.strerror or exc})") from None
    finally:
        plt.close(fig)


def _run(args: argparse.Namespace) -> int:
    try:
        return _run_checked(args)
    except _InputError as exc:
        print(f"mmfm dsp: error: {exc}", file=sys.stderr)
        return 1


def _run_checked(args: argparse.Namespace) -> int:
    if args.example:
        path, cfg_path = _example_paths()
        cfg_arg = str(cfg_path)
    elif args.file and Path(args.file).is_dir() and not _is_recording(Path(args.file)):
        _load_frames(Path(args.file), None, args.layout, args.int16_wrap)  # says it is a directory
    elif args.file and _is_recording(Path(args.file)):
        path, cfg_arg = _recording_paths(Path(args.file), args.cfg)
    else:
        cfg = args.cfg
        if args.file and not cfg and Path(args.file).with_suffix(".cfg").is_file():
            cfg = str(Path(args.file).with_suffix(".cfg"))  # capture.bin + capture.cfg, as replay
        if not args.file or not cfg:
            raise _InputError(
                "give FILE and --cfg CFG (or put FILE's .cfg beside it with the same name; "
                "or --example)"
            )
        path, cfg_arg = Path(args.file), cfg
    if args.top < 1:
        raise _InputError(f"--top must be >= 1, got {args.top}")
    rc = load_radar_config(cfg_arg, args.board)
    frames = _load_frames(path, rc.chirp, args.layout, args.int16_wrap)
    if frames.shape[0] == 0:
        raise _InputError(f"{path}: no whole frame in the capture")
    if args.all:
        indices = list(range(frames.shape[0]))
    else:
        if not -frames.shape[0] <= args.frame < frames.shape[0]:
            raise _InputError(f"{path}: frame {args.frame} outside its {frames.shape[0]} frames")
        indices = [args.frame % frames.shape[0]]

    from runtime.dsp.chain import make_plan, process_frame

    plan = make_plan(rc)
    results = []
    last = None
    for i in indices:
        last = process_frame(frames[i], plan)
        results.append((i, _detection_rows(last.detections[: args.top])))
    if args.json:
        doc = {
            "file": str(path),
            "cfg": cfg_arg,
            "board": rc.chirp.board,
            "frame_shape": list(rc.chirp.frame_shape),
            "frames": [{"frame": i, "detections": rows} for i, rows in results],
        }
        print(json.dumps(doc, indent=2))
    else:
        _print_table(path, results)
        if args.example:
            _print_example_truth(path.with_suffix(".truth.json"))
    if args.png and last is not None:
        _save_png(args.png, last, plan, f"{path.name} frame {indices[-1]}")
    return 0
