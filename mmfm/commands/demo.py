"""`mmfm demo`: the daemon on a simulated living room, with no hardware and no server.

    mmfm demo                       # render once (cached), stream in real time, print live events
    mmfm demo --speed 3             # three times faster than real time (if the machine keeps up)
    mmfm demo --duration 20         # only the first 20 s of the scene
    mmfm demo --no-cache --seed 1   # another room and plot, rendered afresh

The scene (``sim.demo.demo_scenario``): person A walks in through the door, sits down on the sofa and
sits still breathing, stands up, walks to the middle of the room, falls and lies still; then person B
walks in and around. Its raw ADC frames are rendered once by the simulator (cached under
``$XDG_CACHE_HOME/mmfm/demo``) and streamed by a fake DCA1000EVM (``runtime.fakes.dca1000``) on
loopback UDP at the chirp profile's frame rate. The daemon is the real one (``runtime.app.App`` on an
``MmfmConfig`` with one ``dca1000`` radar pointing at the fake, which it configures and starts over
the DCA1000 control protocol): capture -> DSP -> tracking -> events -> event log (a temporary SQLite
file) and, when a broker answers on ``--mqtt-host``/``--mqtt-port`` within a second, MQTT with
Home Assistant discovery (radar ``demo``, topics ``mmfm/demo/...``).

Live events are printed as they come, one line each (time into the scene, radar, type, value,
confidence), between the scene's ground-truth notes, including the learned ``activity`` events of the
CLMP encoder stage (zero-shot over the shipped ``home`` labels; ``--no-activities`` turns it off); at
the end a summary (events by type, frames, drops, latency p50/p99) and the checks. Exit code 0 when
the daemon saw what happened (occupancy on, a count of 1 then 2, a breathing rate close to the truth,
exactly one fall), 1 otherwise, naming what was missing: the demo doubles as a smoke test.

Questions (needs ``mmfm[llm]``; ``--no-questions`` skips them): after the last frame the demo asks
the daemon three questions through its ZeroMQ request endpoint, the same path as ``mmfm ask --zmq``
(:mod:`mmfm.commands.demo_questions`: "How many people are in the room?", "Did anyone fall?", "Is
anyone lying on the floor?"), and prints each answer next to the truth. The mm-LLM is ``--llm``
(default ``mmllm-default`` when installed); their checks count in the exit status then. Without a
trained mm-LLM the base Gemma 3 270M answers from the logged facts alone: its answers are printed
but not counted (a pretrained base model does not follow questions; judging it would test Gemma,
not mmfm).

At ``--speed 1`` frames carry their arrival time, exactly as under ``mmfm run``. At another speed the
source is the same DCA1000 source from the same config, wrapped (``sim.radar.scene_clock``) so that
each frame is stamped with its scene time (frame number x frame period): hold times, settle times and
fall speeds stay in scene seconds although the frames come faster. The events reach this command
through ``runtime.comms.console.ConsolePublisher``, a publisher beside MQTT.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import queue
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RADAR_ID = "demo"
#: The mm-LLM the demo answers with when it is installed (runtime.models.DEFAULT_MMLLM's name).
DEFAULT_LLM = "mmllm-default"

#: The daemon's configuration for the demo (a dca1000 radar on loopback); ``{...}`` filled in at run time.
CONFIG_TEMPLATE = """
event_log:
  path: {event_log}
logging:
  level: {log_level}
watchdog:
  stall_timeout_s: 5.0
stats:
  interval_s: 5.0
  latency_window: 100000
radars:
  demo:
    name: Demo living room
    board: IWR1843BOOST
    chirp_config: {profile}
    source:
      type: dca1000
      fpga_ip: 127.0.0.1
      fpga_config_port: {fpga_port}
      host_ip: 127.0.0.1
      host_config_port: 0
      data_port: {data_port}
      configure: true
      command_timeout_s: 1.0
    mounting:
      height_m: {height_m}
      tilt_deg: {tilt_deg}
    queues:
      capture: 8
      detections: 32
    events:
      # the demo profile's sparse frames (64 loops, 12 dB CFAR) give few points per person
      tracking: {{cluster_min_points: 2, birth_min_points: 3}}
      tracks_period_s: 1.0
"""

ACTIVITIES_TEMPLATE = """
activities:
  enabled: true
  labels: home
"""

QUESTIONS_TEMPLATE = """
questions:
  model: {model}
  max_tokens: 32
  queue: 3
"""

MQTT_TEMPLATE = """
mqtt:
  host: "{host}"
  port: {port}
  client_id: mmfm-demo-{pid}
  topic_prefix: mmfm
  stats_interval_s: 10.0
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo",
        help="the daemon on a simulated living room (no hardware, no server); exit 0 = it works",
        description="Render a scripted living-room scene once (cached), stream it through a fake "
        "DCA1000 on loopback into the real daemon and print its live events beside the truth. "
        "Exits 0 when the expected events happened.",
    )
    p.add_argument("--seed", type=int, default=0, help="scene and plot seed (default 0)")
    p.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="playback speed; > 1 is faster than real time if the machine keeps up (default 1)",
    )
    p.add_argument(
        "--duration",
        type=float,
        default=None,
        metavar="S",
        help="stop after this many seconds of the scene (default: the whole scene)",
    )
    p.add_argument("--no-cache", action="store_true", help="render the frames again")
    p.add_argument("--workers", type=int, default=None, help="render processes (default: all CPUs)")
    p.add_argument(
        "--mqtt-host", default="127.0.0.1", help="MQTT broker to publish to if it answers"
    )
    p.add_argument("--mqtt-port", type=int, default=1883, help="its port (default 1883)")
    p.add_argument("--no-mqtt", action="store_true", help="do not look for an MQTT broker")
    p.add_argument(
        "--log-level",
        type=str.upper,
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        default="WARNING",
        help="daemon log level on stderr (default WARNING)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar while rendering")
    p.add_argument("--no-activities", action="store_true", help="no CLMP activity events")
    p.add_argument(
        "--no-questions", action="store_true", help="do not ask the daemon questions at the end"
    )
    p.add_argument(
        "--llm",
        metavar="MODEL",
        help=f"mm-LLM model for the questions (default: {DEFAULT_LLM} if installed, else the "
        "base LLM, whose answers are shown but not checked)",
    )
    p.set_defaults(func=_run)


# ---------------------------------------------------------------------------- helpers
def mqtt_reachable(host: str, port: int, timeout_s: float = 1.0) -> bool:
    """Whether something accepts TCP connections on ``host:port`` within ``timeout_s``."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def format_value(event: Any) -> str:
    """An event's value in words."""
    v = event.value
    if event.type == "occupancy":
        zone = event.attributes.get("zone")
        return ("occupied" if v else "clear") + (f" (zone {zone})" if zone else "")
    if event.type == "count":
        return f"{v} {'person' if v == 1 else 'people'}"
    if event.type == "vitals":
        if not isinstance(v, dict) or v.get("breathing_per_min") is None:
            return f"unavailable ({v.get('quality') if isinstance(v, dict) else v})"
        heart = v.get("heart_per_min")
        text = f"breathing {v['breathing_per_min']:.1f}/min"
        text += f", heart {heart:.0f}/min" if heart is not None else ""
        return text + f" ({v.get('quality')})"
    if event.type == "fall":
        return "FALL DETECTED" if v else "fall cleared"
    if event.type == "tracks":
        return f"{len(v)} track(s)"
    if event.type == "activity":
        who = event.attributes.get("track_id")
        zone = event.attributes.get("zone") or event.attributes.get("track_zone")
        return (
            str(v)
            + (f" (person {who})" if who is not None else "")
            + (f" (zone {zone})" if zone else "")
        )
    return str(v)


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def check_events(
    events: list[Any], scene_time: Callable[[float], float], expect: Any
) -> list[Check]:
    """The demo's acceptance: occupancy on, count 1 then 2, breathing near the truth, one fall."""
    occ = [e for e in events if e.type == "occupancy" and "zone" not in e.attributes]
    counts = [e.value for e in events if e.type == "count"]
    vitals = [
        e
        for e in events
        if e.type == "vitals"
        and isinstance(e.value, dict)
        and e.value.get("breathing_per_min") is not None
    ]
    falls = [e for e in events if e.type == "fall" and e.value]
    checks = []
    on = [e for e in occ if e.value]
    checks.append(
        Check(
            "occupancy on",
            bool(on),
            f"at t={scene_time(on[0].time):.1f} s" if on else "no occupancy event turned on",
        )
    )
    seen_one = 1 in counts
    two_after = seen_one and expect.max_count in counts[counts.index(1) :]
    checks.append(
        Check(
            f"count 1 then {expect.max_count}",
            two_after,
            f"counts reported: {counts or 'none'}",
        )
    )
    tol = expect.breathing_tolerance_per_min
    good = [
        e for e in vitals if abs(e.value["breathing_per_min"] - expect.breathing_per_min) <= tol
    ]
    rates = ", ".join(f"{e.value['breathing_per_min']:.1f}" for e in vitals[:8])
    checks.append(
        Check(
            f"breathing {expect.breathing_per_min:g}/min +-{tol:g}",
            bool(good),
            f"reported: {rates or 'none'} /min",
        )
    )
    checks.append(
        Check(
            f"{expect.falls} fall",
            len(falls) == expect.falls,
            f"{len(falls)} fall alarm(s)"
            + (f" at t={', '.join(f'{scene_time(e.time):.1f}' for e in falls)} s" if falls else ""),
        )
    )
    return checks


def _progress_bar(total: int, enabled: bool) -> tuple[Callable[[int], None], Callable[[], None]]:
    if not enabled:
        return (lambda n: None), (lambda: None)
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm comes with the [sim] extra
        return (lambda n: None), (lambda: None)
    bar = tqdm(total=total, desc="rendering frames", unit="frame", file=sys.stderr)
    return bar.update, bar.close


# ---------------------------------------------------------------------------- main
def _run(args: argparse.Namespace) -> int:
    if args.speed <= 0:
        print("mmfm demo: --speed must be positive", file=sys.stderr)
        return 2
    from sim.demo import DEMO_PROFILE, cached_render, demo_scenario

    demo = demo_scenario(args.seed)
    sc = demo.scripted
    cfg = sc.rc.chirp
    period = cfg.frame_period_s
    print(
        f"mmfm demo: {sc.scene.room_type.replace('_', ' ')} "
        f"{sc.scene.size_m[0]:.1f} x {sc.scene.size_m[1]:.1f} m, {len(sc.actors)} people, "
        f"{sc.duration_s:.0f} s = {sc.num_frames} frames of {DEMO_PROFILE} "
        f"({' x '.join(map(str, cfg.frame_shape))} raw ADC, {cfg.frame_rate_hz:g} frames/s)",
        flush=True,
    )
    update, close_bar = _progress_bar(sc.num_frames, not args.no_progress)
    try:
        frames = cached_render(
            sc, use_cache=not args.no_cache, workers=args.workers, progress=update
        )
    finally:
        close_bar()
    if frames.from_cache:
        print(
            f"frames: from the cache {frames.path} ({frames.load_s * 1000:.0f} ms; "
            f"rendering took {frames.render_s:.0f} s)"
        )
    else:
        print(
            f"frames: rendered in {frames.render_s:.1f} s "
            f"({frames.render_s / sc.num_frames * 1000:.0f} ms/frame), cached in {frames.path}"
        )
    n_frames = sc.num_frames
    if args.duration is not None:
        n_frames = max(1, min(n_frames, round(args.duration / period)))
    with tempfile.TemporaryDirectory(prefix="mmfm-demo-") as tmp:
        return _stream(args, demo, frames, n_frames, Path(tmp))


def _stream(args: argparse.Namespace, demo: Any, frames: Any, n_frames: int, tmp: Path) -> int:
    from runtime.app import App, AppStartError
    from runtime.comms.console import ConsolePublisher
    from runtime.config import ConfigError, parse_config
    from runtime.fakes.dca1000 import FakeDCA1000, free_udp_port
    from runtime.log import setup_logging
    from runtime.pipeline import make_source
    from sim.demo import DEMO_PROFILE
    from sim.radar.scene_clock import SceneClockSource

    sc = demo.scripted
    period = sc.frame_period_s
    setup_logging(args.log_level, "text")

    stream_t0: list[float] = []

    def frame_source(k: int) -> Any:
        if k >= n_frames:
            return None
        if k == 0:
            stream_t0.append(time.time())
        return frames.frame(k)

    fake = FakeDCA1000(frame_source, frame_period_s=period / args.speed)
    fake.start()
    data_port = free_udp_port()
    fake.data_dest = ("127.0.0.1", data_port)
    text = CONFIG_TEMPLATE.format(
        event_log=tmp / "events.db",
        log_level=args.log_level,
        profile=DEMO_PROFILE,
        fpga_port=fake.config_port,
        data_port=data_port,
        **sc.mounting(),
    )
    if not args.no_activities:
        text += ACTIVITIES_TEMPLATE
    llm = None if args.no_questions else _pick_llm(args.llm)
    if llm is not None:
        model, _ = llm
        text += QUESTIONS_TEMPLATE.format(model="null" if model is None else f'"{model}"')
    use_mqtt = not args.no_mqtt and mqtt_reachable(args.mqtt_host, args.mqtt_port)
    if use_mqtt:
        text += MQTT_TEMPLATE.format(host=args.mqtt_host, port=args.mqtt_port, pid=os.getpid())
        print(
            f"MQTT: broker at {args.mqtt_host}:{args.mqtt_port} answers; publishing there "
            f"(topics mmfm/{RADAR_ID}/..., Home Assistant discovery)"
        )
    else:
        why = "--no-mqtt" if args.no_mqtt else f"no broker at {args.mqtt_host}:{args.mqtt_port}"
        print(f"MQTT: {why}; running without MQTT")
    try:
        config = parse_config(text, source="<mmfm demo>", env={})
    except ConfigError as exc:  # a bug in the template, not the user's doing
        print(f"mmfm demo: internal config error:\n{exc}", file=sys.stderr)
        fake.stop()
        return 1

    console = ConsolePublisher()
    comms: list[Any] = [console]
    if config.mqtt is not None:
        from runtime.comms.mqtt import MqttCommunicator

        infos = config.radar_infos()
        if config.questions is not None:  # Home Assistant's "Last answer" sensor
            infos = [dataclasses.replace(r, answers=True) for r in infos]
        comms.append(MqttCommunicator(config.mqtt, infos))
    zmq_comm = None
    if config.questions is not None:
        from runtime.comms.settings import ZeroMqSettings
        from runtime.comms.zeromq import ZeroMqCommunicator

        loopback = {"pub_endpoint": "tcp://127.0.0.1:*", "request_endpoint": "tcp://127.0.0.1:*"}
        zmq_comm = ZeroMqCommunicator(ZeroMqSettings.model_validate(loopback), [{"id": RADAR_ID}])
        comms.append(zmq_comm)

    clock_t0 = time.time()
    sources = None
    if args.speed != 1.0:
        factory = make_source(RADAR_ID, config.radars[RADAR_ID])
        sources = {
            RADAR_ID: lambda: SceneClockSource.from_factory(factory, clock_t0, period),
        }

    def scene_time(t: float) -> float:
        if sources is not None:
            return t - clock_t0
        t0 = stream_t0[0] if stream_t0 else clock_t0
        return t - t0

    def scene_clock() -> float:  # the frames' time base (scene time when faster than real time)
        if sources is None:
            return time.time()
        return clock_t0 + fake.report.frames * period

    app = App(config, communicators=comms, sources=sources, clock=scene_clock)
    print(
        f"daemon: radar '{RADAR_ID}' = fake DCA1000 on 127.0.0.1:{fake.config_port} "
        f"(data -> :{data_port}), {sc.frame_period_s * 1000:.0f} ms frames at x{args.speed:g}\n"
    )
    events: list[Any] = []
    answered: list[Any] | None = None
    notes = list(sc.notes)
    t_wall0 = time.monotonic()
    interrupted = False
    try:
        app.start()
        pipeline = app.pipelines[RADAR_ID]
        last_progress = time.monotonic()
        last_processed = -1
        while True:
            sent = fake.report.frames
            now_scene = sent * period
            _print_ready(console, notes, events, scene_time, now_scene)
            st = pipeline.stats()
            if st["frames_processed"] != last_processed:
                last_processed = st["frames_processed"]
                last_progress = time.monotonic()
            done = fake.wait_done(0.0) and sent >= n_frames
            idle = time.monotonic() - last_progress
            if done and (st["frames_processed"] >= n_frames or idle > 2.0):
                break
            if not done and idle > 30.0:
                print("mmfm demo: the daemon stopped processing frames", file=sys.stderr)
                break
            time.sleep(0.05)
        if zmq_comm is not None and zmq_comm.request_address and llm is not None:
            # the stream has ended: stop the radar (its watchdog would restart the finished fake)
            # and let the daemon's logs, encoder stage and question service answer
            pipeline.stop()
            _print_ready(console, notes, events, scene_time, float("inf"))
            answered = _ask_questions(zmq_comm.request_address, demo, n_frames * period, llm)
    except AppStartError as exc:
        print(f"mmfm demo: the daemon could not start: {exc}", file=sys.stderr)
        fake.stop()
        return 1
    except KeyboardInterrupt:
        interrupted = True
    finally:
        stats = app.stats()
        radar_stats = stats["radars"].get(RADAR_ID, {})
        app.stop()
        fake.stop()
    _print_ready(console, notes, events, scene_time, float("inf"))
    wall = time.monotonic() - t_wall0
    code = _summary(
        events, radar_stats, stats, demo, scene_time, n_frames, wall, use_mqtt, interrupted
    )
    if code == 0 and answered is not None and llm is not None and llm[1]:
        wrong = [a.question for a in answered if not a.ok]
        if wrong:
            print(f"mmfm demo: FAILED: wrong answers to {'; '.join(wrong)}")
            return 1
    return code


def _pick_llm(name: str | None) -> tuple[str | None, bool] | None:
    """``(model or None for the base LLM, answers checked)``, or None when no LLM can run here."""
    import importlib.util

    from runtime.llm import base_model as bm

    if importlib.util.find_spec("llama_cpp") is None:
        print("questions: skipped (llama-cpp-python is not installed: pip install 'mmfm[llm]')")
        return None
    if importlib.util.find_spec(bm.BASE_MODEL_MODULE) is None:
        print(f"questions: skipped (the base LLM package {bm.BASE_MODEL_PACKAGE} is missing)")
        return None
    if name is not None:
        return name, True
    from runtime.models import ModelError, find_model

    try:
        find_model(DEFAULT_LLM)
    except ModelError:
        print(
            f"questions: no trained mm-LLM ({DEFAULT_LLM} is not installed): the base LLM answers "
            "from the logged facts; its answers are shown, not checked"
        )
        return None, False
    return DEFAULT_LLM, True


def _ask_questions(url: str, demo: Any, t_end: float, llm: tuple[str | None, bool]) -> list[Any]:
    """Ask the daemon the demo's questions over ZeroMQ and print answers beside the truth."""
    from mmfm.commands.demo_questions import ask_all, truths
    from runtime.comms.ask_client import AskError, ask_zmq

    truth = truths(demo.scripted, list(demo.scripted.notes), t_end)
    model, checked = llm
    print(
        f"\nquestions (over ZeroMQ {url}; {model or 'base LLM, not checked'}):",
        flush=True,
    )

    def ask(question: str) -> dict[str, Any]:
        try:
            return ask_zmq(url, question, radar=RADAR_ID, timeout=120.0)
        except AskError as exc:
            return {"status": "error", "error": str(exc)}

    answered = ask_all(ask, truth, lambda line: print(line, flush=True))
    if checked:
        right = sum(a.ok for a in answered)
        print(f"  {right} of {len(answered)} answers right")
    return answered


def _print_ready(
    console: Any,
    notes: list[Any],
    events: list[Any],
    scene_time: Callable[[float], float],
    now_scene: float,
) -> None:
    """Print the truth notes up to ``now_scene`` and the events received, in scene-time order."""
    batch: list[tuple[float, int, str]] = []
    while True:
        try:
            item = console.events.get_nowait()
        except queue.Empty:
            break
        if item[0] != "event":
            continue
        e = item[1]
        events.append(e)
        if e.type in ("tracks", "answer"):  # answers are printed beside their question
            continue
        t = scene_time(e.time)
        line = (
            f"t={t:5.1f} s  {e.radar:<5} {e.type:<9} {format_value(e):<40} conf {e.confidence:.2f}"
        )
        batch.append((t, 1, line))
    while notes and notes[0].time_s <= now_scene:
        n = notes.pop(0)
        batch.append((n.time_s, 0, str(n)))
    for _, _, line in sorted(batch):
        print(line, flush=True)


def _summary(
    events: list[Any],
    radar_stats: dict[str, Any],
    stats: dict[str, Any],
    demo: Any,
    scene_time: Callable[[float], float],
    n_frames: int,
    wall: float,
    use_mqtt: bool,
    interrupted: bool,
) -> int:
    by_type = Counter(e.type for e in events)
    print("\nsummary")
    print("  events:   " + (", ".join(f"{k} {v}" for k, v in sorted(by_type.items())) or "none"))
    src = radar_stats.get("source", {})
    dropped = radar_stats.get("dropped", {})
    print(
        f"  frames:   {n_frames} sent, {radar_stats.get('frames', 0)} received, "
        f"{radar_stats.get('frames_processed', 0)} processed in {wall:.1f} s"
    )
    lost = src.get("packets_lost", 0) if isinstance(src, dict) else 0
    print(
        f"  drops:    capture queue {dropped.get('capture_queue', 0)}, detections queue "
        f"{dropped.get('detections_queue', 0)}, UDP packets lost {lost}"
    )
    lat = radar_stats.get("latency_ms", {})
    ev_lat = radar_stats.get("event_latency_ms", {})
    if lat.get("n"):
        print(
            f"  latency:  frame arrival -> events handed to the publishers p50 {lat['p50']:.1f} ms, "
            f"p99 {lat['p99']:.1f} ms (frames with events: p50 {ev_lat.get('p50', 0):.1f}, "
            f"p99 {ev_lat.get('p99', 0):.1f} ms)"
        )
    enc = stats.get("encoder")
    if enc:
        ms = enc.get("encode_ms", {})
        print(
            f"  encoder:  {enc['embedded']} windows embedded ({enc['dropped']} dropped, "
            f"{enc['skipped_sparse']} too sparse), p50 {ms.get('p50', 0):.1f} ms, p99 "
            f"{ms.get('p99', 0):.1f} ms per window; {enc['events']} activity events"
        )
    if use_mqtt:
        mq = stats.get("publishers", {}).get("mqtt", {})
        print(f"  mqtt:     {mq.get('sent', mq.get('published', '?'))} messages published")
    if interrupted:
        print("interrupted")
        return 130
    checks = check_events(events, scene_time, demo.expect)
    print("checks")
    for c in checks:
        print(f"  [{'ok' if c.ok else 'MISSING'}] {c.name}: {c.detail}")
    missing = [c.name for c in checks if not c.ok]
    if n_frames < demo.scripted.num_frames and missing:
        print(f"(only {n_frames} of {demo.scripted.num_frames} frames streamed: --duration)")
    if missing:
        print(f"mmfm demo: FAILED: missing {', '.join(missing)}")
        return 1
    print("mmfm demo: ok, the daemon saw what happened")
    return 0
