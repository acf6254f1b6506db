"""`mmfm ask`: ask the mm-LLM a question about a capture (offline) or a running daemon.

    mmfm ask "How many people are in the room?" --mqtt mqtt://hub.local:1883 --radar living
    mmfm ask "Did anyone fall in the last hour?" --zmq tcp://127.0.0.1:5557
    mmfm ask "Is anyone in the room?" --capture runtime/examples/two_people_iwr1843.bin
    mmfm ask "What is she doing?" --capture rec/ --model mmllm-default --json
    mmfm ask "How many people came in?" --capture data/sim --sample 3     # a simulated sample
    mmfm ask "Is he jumping?" --capture radhar/jump/20_jump_1.txt       # a RadHAR dump

The capture is any kind the daemon's replay reads (``runtime.sources.replay``): a recording made by
``mmfm record``, a DCA1000 ``.bin`` with its ``.cfg`` (``--cfg`` or beside it), a UART byte dump, a
RadHAR text dump, or a simulated dataset (one sample, ``--sample``, default the first). It is
processed as the daemon would (no torch):

1. raw ADC frames -> the runtime DSP chain -> point clouds; every frame -> the event engine
   (occupancy, count, tracks, falls, vitals) with default event settings;
2. sliding windows (the CLMP model's ``window_s``, a window every ``--stride`` s) -> the CLMP ONNX
   encoder -> zero-shot ``home`` activities (activity events, like the daemon's encoder stage);
3. the question is asked at the capture's last frame time with the logged events as context
   (``runtime.llm.context``) and the last window with points as the radar's soft tokens
   (``runtime.llm.answer.Answerer``: projector ONNX + llama.cpp, the answer streams).

Model: ``--model`` (a name or directory, kind ``mmllm``), else ``models/mmllm-default`` when it is
installed; without one the base model answers from the context alone (said on stderr).
``--json`` prints one object instead of the stream. Bad input (no capture, an empty or over-long
question, an unknown capture format, a refused model) is one line on stderr, exit 1.

A running daemon (a ``questions:`` section in its YAML) is asked with ``--mqtt
mqtt://[USER@]HOST[:PORT][/PREFIX]`` (on ``<prefix>/<radar>/ask`` with an MQTT 5 response topic;
password from ``$MMFM_MQTT_PASSWORD``; without ``--radar`` the one radar online is used) or ``--zmq
tcp://HOST:PORT`` (its ``zeromq.request_endpoint``); the answer streams as it comes, ``--json``
prints the daemon's final reply, ``--timeout`` bounds the wait. Exit status 0 answered; 1 refused
(too long, too frequent, busy), failed or no reply in time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmfm.commands.common import InputError

#: Windows with fewer points are not embedded (the daemon's encoder stage default).
MIN_POINTS = 8
RADAR_ID = "capture"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "ask",
        help="ask the mm-LLM a question about a capture (offline, streams the answer)",
        description="Answer a natural-language question about a capture (recording, DCA1000 "
        ".bin + .cfg, UART dump, RadHAR dump, simulated dataset sample): the runtime's DSP and "
        "event engine log what happened, the CLMP encoder embeds the last window, and the mm-LLM "
        "(llama.cpp) answers from both. Offline, no torch.",
    )
    p.add_argument("question", help="the question (1..500 characters)")
    src = p.add_argument_group("question about a capture")
    src.add_argument("--capture", metavar="PATH", help="recording dir, .bin, .dat, .txt or dataset")
    src.add_argument("--cfg", help=".cfg of a bare .bin (default: the .cfg beside it)")
    src.add_argument(
        "--sample", type=int, metavar="INDEX", help="dataset sample index (default: the first)"
    )
    src.add_argument(
        "--stride", type=float, default=0.5, help="a CLMP window every this many seconds [s]"
    )
    d = p.add_argument_group("question to a running daemon")
    d.add_argument(
        "--mqtt", metavar="URL", help="ask over MQTT: mqtt://[USER@]HOST[:PORT][/PREFIX]"
    )
    d.add_argument("--zmq", metavar="URL", help="ask over ZeroMQ: tcp://HOST:PORT")
    d.add_argument("--radar", help="the radar asked about (MQTT default: the one online)")
    d.add_argument(
        "--timeout", type=float, default=60.0, metavar="S", help="wait this long (default 60 s)"
    )
    m = p.add_argument_group("model")
    m.add_argument("--model", help="mm-LLM model name or directory (default: mmllm-default)")
    m.add_argument(
        "--no-radar", action="store_true", help="answer without radar soft tokens (context only)"
    )
    m.add_argument("--max-tokens", type=int, default=64, help="most answer tokens (1..512)")
    m.add_argument("--threads", type=int, default=2, help="llama.cpp / ONNX Runtime threads")
    p.add_argument("--json", action="store_true", help="print one JSON object (no streaming)")
    p.set_defaults(func=_ask)


def _fail(message: str) -> int:
    print(f"mmfm ask: {message}", file=sys.stderr)
    return 1


def _ask(args: Any) -> int:
    from runtime.llm.answer import check_question

    try:
        check_question(args.question)
    except ValueError as exc:
        return _fail(str(exc))
    given = [o for o in ("capture", "mqtt", "zmq") if getattr(args, o)]
    if len(given) > 1:
        return _fail(f"give one of --capture, --mqtt, --zmq (got --{' and --'.join(given)})")
    if args.mqtt or args.zmq:
        return _ask_daemon(args)
    if args.capture:
        return _ask_capture(args)
    return _fail(
        "no capture: give --capture PATH (a recording, .bin + .cfg, RadHAR .txt, dataset), "
        "or ask a running daemon with --mqtt URL or --zmq URL"
    )


# ---------------------------------------------------------------------- a running daemon
def _ask_daemon(args: Any) -> int:
    """Ask the daemon over MQTT or ZeroMQ (``runtime.comms.ask_client``); stream the answer."""
    from runtime.comms.ask_client import AskError, ask_mqtt, ask_zmq

    if args.timeout <= 0:
        return _fail("--timeout must be positive")
    streamed: list[str] = []

    def on_token(piece: str) -> None:
        if args.json:
            return
        piece = piece if streamed else piece.lstrip()
        streamed.append(piece)
        print(piece, end="", flush=True)

    try:
        if args.mqtt:
            reply = ask_mqtt(
                args.mqtt, args.question, radar=args.radar, timeout=args.timeout, on_token=on_token
            )
        else:
            reply = ask_zmq(
                args.zmq, args.question, radar=args.radar, timeout=args.timeout, on_token=on_token
            )
    except AskError as exc:
        if streamed:
            print()
        return _fail(str(exc))
    if args.json:
        print(json.dumps(reply))
    elif reply.get("status") == "ok":
        print("" if streamed else str(reply.get("answer", "")))
    if reply.get("status") != "ok":
        return _fail(f"{reply.get('status', 'error')}: {reply.get('error', reply)}")
    return 0


# ---------------------------------------------------------------------- the capture
@dataclass
class CaptureLog:
    """What the runtime logged while reading a capture.

    Attributes:
        kind: the capture kind (``runtime.sources.replay.detect_kind``).
        frames: frames read.
        events: events of the event engine and the activity tracker, in time order.
        now: the last frame's time [s] (the time the question is asked at).
        embedding: float32 ``[D]`` CLMP embedding of the last window with points, or None.
        window: ``(start, end)`` of that window [s], or None.
        windows: windows embedded.
    """

    kind: str
    frames: int = 0
    events: list[Any] = field(default_factory=list)
    now: float = 0.0
    embedding: Any = None
    window: tuple[float, float] | None = None
    windows: int = 0


def _frames_of(path: Path, cfg: Any, sample: int | None) -> tuple[str, Any, Any]:
    """``(kind, radar_config or None, frame iterator)`` of a capture (the replay's readers)."""
    from runtime.sources.replay import ReplaySource, detect_kind

    kind = detect_kind(path)
    if sample is not None and kind != "dataset":
        raise InputError(f"--sample: {path} is a {kind}, not a dataset")
    if kind != "dataset":
        source = ReplaySource(path, radar_config=cfg)
        source.open()
        return kind, source.radar_config, source.frames()
    return kind, *_dataset_sample_frames(path, sample)


def _dataset_sample_frames(path: Path, sample: int | None) -> tuple[Any, Any]:
    from firmware_cfg import parse_cfg_text
    from runtime.dataset import open_dataset
    from runtime.frames import PointCloudFrame, RawFrame

    ds = open_dataset(path)
    indices = ds.sample_indices()
    if not indices:
        raise InputError(f"{path}: the dataset holds no sample")
    index = indices[0] if sample is None else sample
    if index not in indices:
        raise InputError(f"--sample {index}: {path} holds samples {indices[0]}..{indices[-1]}")
    s = ds[index]
    rc = parse_cfg_text(s.cfg_text, source=f"{path} (sample {index})")
    times = [float(t) for t in s.truth["frame_times_s"]]

    def frames() -> Any:
        for f in range(s.num_frames):
            if s.adc is not None:
                yield RawFrame(data=s.adc[f], frame_number=f, timestamp=times[f])
            else:
                yield PointCloudFrame(points=s.points[f], frame_number=f, timestamp=times[f])

    return rc, frames()


def read_capture(
    path: Path,
    *,
    cfg: Any = None,
    sample: int | None = None,
    encoder: Any = None,
    labels: list[str] | None = None,
    prototypes: Any = None,
    stride_s: float = 0.5,
) -> CaptureLog:
    """Run a capture through the runtime (DSP, event engine, CLMP windows); see the module doc.

    Args:
        path: the capture.
        cfg: its ``RadarConfig`` (None: the recording's / dataset's / the ``.cfg`` beside it).
        sample: dataset sample index (None: the first).
        encoder: a ``runtime.inference.encoder.PointEncoder`` (None: no windows, no activities).
        labels, prototypes: zero-shot activity labels and their ``[L, D]`` text prototypes.
        stride_s: a window every this many seconds of capture time [s].
    """
    from runtime.dsp.chain import make_plan, process_frame
    from runtime.events.engine import EventEngine
    from runtime.events.settings import EventSettings
    from runtime.frames import PointCloudFrame, RawFrame
    from runtime.inference.stage import ActivityTracker

    kind, rc, frames = _frames_of(path, cfg, sample)
    log = CaptureLog(kind=kind)
    engine = EventEngine(RADAR_ID, EventSettings(), rc)
    plan = None
    window_s = float(encoder.model.input_contract["window_s"]) if encoder is not None else 0.0
    buf: deque[Any] = deque()
    next_at: float | None = None
    tracker = ActivityTracker(labels) if labels else None
    for frame in frames:
        log.frames += 1
        if isinstance(frame, RawFrame):
            plan = plan or make_plan(rc)
            result = process_frame(frame.data, plan)
            log.events += engine.update_raw(frame, result)
            cloud = PointCloudFrame(result.points, frame.frame_number, frame.timestamp)
        else:
            log.events += engine.update_points(frame)
            cloud = frame
        log.now = float(cloud.timestamp)
        if encoder is None:
            continue
        buf.append(cloud)
        while buf and buf[0].timestamp <= cloud.timestamp - window_s:
            buf.popleft()
        next_at = cloud.timestamp + window_s if next_at is None else next_at
        if cloud.timestamp >= next_at:
            next_at = max(next_at + stride_s, cloud.timestamp)
            _embed(log, list(buf), encoder, tracker, prototypes)
    if encoder is not None and log.embedding is None and buf:  # shorter than one window
        _embed(log, list(buf), encoder, tracker, prototypes)
    log.events.sort(key=lambda e: e.time)
    return log


def _embed(log: CaptureLog, frames: list[Any], encoder: Any, tracker: Any, prototypes: Any) -> None:
    """Embed one window; keep it as the latest embedding; feed the activity tracker."""
    import numpy as np

    from runtime.events import Event
    from runtime.inference.encoder import zero_shot_probabilities
    from runtime.inference.window import point_window

    points, mask = point_window(frames, encoder.model.input_contract)  # [T, P, 5], [T, P]
    if mask.sum() < MIN_POINTS:
        return
    emb = encoder.embed(points[None], mask[None])  # [1, D]
    log.windows += 1
    log.embedding = np.asarray(emb[0], np.float32)
    log.window = (float(frames[0].timestamp), float(frames[-1].timestamp))
    if tracker is None:
        return
    probs = zero_shot_probabilities(emb, prototypes, encoder.model.logit_scale)[0]
    change = tracker.update(frames[-1].timestamp, probs)
    if change is not None:
        label, confidence, since = change
        conf = min(1.0, max(0.0, float(confidence)))
        attrs = {"since": since, "labels": len(prototypes)}
        log.events.append(Event("activity", frames[-1].timestamp, label, conf, RADAR_ID, attrs))


# ---------------------------------------------------------------------- models
def _answerer(args: Any) -> tuple[Any, str | None]:
    """The Answerer of ``--model`` (or the default mm-LLM, or the base model) and a note."""
    from runtime.llm.answer import Answerer
    from runtime.models import DEFAULT_MMLLM, ModelError, find_model

    model: str | None = args.model
    note = None
    if model is None:
        try:
            find_model(DEFAULT_MMLLM)
            model = DEFAULT_MMLLM
        except ModelError:
            note = (
                f"no mm-LLM model installed ({DEFAULT_MMLLM}): the base model answers from the "
                "logged context only (export one with 'mmfm export llm')"
            )
    return Answerer(model, n_threads=args.threads), note


def _clmp_encoder(name: str | None, threads: int) -> tuple[Any, list[str], Any, str | None]:
    """``(PointEncoder, labels, prototypes, note)`` of the CLMP model ``name`` (card name or
    directory name; None = the default), or ``(None, [], None, note)`` when none is installed."""
    from runtime.inference.encoder import PointEncoder
    from runtime.models import DEFAULT_MODEL, ModelError, list_models, load_model

    try:
        try:
            artifact = load_model(name)
        except ModelError:
            if name is None:
                raise
            # an installed model whose card carries that name (the mm-LLM card names the
            # encoder's architecture, e.g. clmp_points_s, not its directory)
            named = [e.artifact for e in list_models() if e.artifact and e.artifact.name == name]
            if not named:
                raise ModelError(
                    f"the mm-LLM expects CLMP model {name!r}, which is not installed "
                    f"(the default is {load_model(DEFAULT_MODEL).name!r})"
                ) from None
            artifact = named[0]
    except ModelError as exc:
        if name is not None:
            raise
        return None, [], None, f"no CLMP model ({exc}): no radar window, no activities"
    encoder = PointEncoder(artifact, threads=threads)
    if "home" in artifact.label_sets:
        return encoder, artifact.label_sets["home"], artifact.prototypes("home"), None
    return encoder, [], None, None


def _ask_capture(args: Any) -> int:
    from mmfm.commands.common import load_radar_config
    from runtime.llm import BaseModelError, LLMError
    from runtime.models import ModelError

    path = Path(args.capture)
    if not path.exists():
        return _fail(f"{path}: no such capture")
    if not 1 <= args.max_tokens <= 512:
        return _fail(f"--max-tokens {args.max_tokens}: must be 1..512")
    if args.threads < 1 or args.stride <= 0:
        return _fail("--threads must be >= 1 and --stride > 0")
    from runtime.sources.replay import detect_kind

    try:
        kind = detect_kind(path)  # before loading any model: an unknown format fails at once
    except ValueError as exc:
        return _fail(str(exc))
    if args.sample is not None and kind != "dataset":
        return _fail(f"--sample: {path} is a {kind}, not a dataset")
    t0 = time.perf_counter()
    notes: list[str] = []
    try:
        cfg = load_radar_config(args.cfg) if args.cfg else None
        answerer, note = _answerer(args)
        notes += [note] if note else []
        encoder, labels, prototypes, note = _clmp_encoder(answerer.encoder_name, args.threads)
        notes += [note] if note else []
        log = read_capture(
            path,
            cfg=cfg,
            sample=args.sample,
            encoder=encoder,
            labels=labels,
            prototypes=prototypes,
            stride_s=args.stride,
        )
    except (InputError, ValueError, ModelError, LLMError, BaseModelError, OSError) as exc:
        return _fail(str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc))
    radar = answerer.uses_radar and not args.no_radar and log.embedding is not None
    if answerer.uses_radar and not args.no_radar and log.embedding is None:
        notes.append("no window with points in the capture: answering without radar tokens")
    for n in notes if not args.json else []:
        print(f"note: {n}", file=sys.stderr)
    try:
        stream = answerer.answer(
            args.question,
            events=log.events,
            now=log.now,
            embedding=log.embedding if radar else None,
            max_tokens=args.max_tokens,
        )
        pieces = []
        for piece in stream:
            if not args.json:
                print(piece.lstrip() if not pieces else piece, end="", flush=True)
            pieces.append(piece)
    except (ValueError, LLMError) as exc:
        return _fail(str(exc))
    finally:
        answerer.close()
    answer = "".join(pieces).strip()
    if not args.json:
        print()
        return 0
    from runtime.llm.context import format_context

    doc = {
        "question": args.question.strip(),
        "answer": answer,
        "capture": str(path),
        "capture_kind": log.kind,
        "model": answerer.model.name if answerer.model else None,
        "radar_tokens": radar,
        "frames": log.frames,
        "windows": log.windows,
        "window_s": list(log.window) if log.window and radar else None,
        "events": len(log.events),
        "context": format_context(log.events, log.now),
        "now": log.now,
        "seconds": round(time.perf_counter() - t0, 3),
        "notes": notes,
    }
    print(json.dumps(doc))
    return 0
