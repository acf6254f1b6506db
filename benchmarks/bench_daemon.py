"""The whole daemon at 20 frames/s of AWR1843 raw ADC: latency, CPU and memory beside the ingest rate.

A fake DCA1000 (``runtime.fakes.dca1000``) in a child process streams ``iwr1843boost_raw_activity``
frames (3 TX x 4 RX x 128 loops x 256 samples, complex int16, 1.5 MiB per frame) paced at the chirp's
frame period (50 ms = 20 frames/s) over loopback UDP. The frames are a person walking back and forth
(a cluster of point scatterers from ``sim.radar.point_targets.synthesize_frame`` plus noise), made and
encoded once in the child, so this process holds only the daemon. This process runs the real daemon
(``runtime.app.App``: DCA1000Source -> DSP -> event engine -> MQTT to a private Mosquitto and the
SQLite event log) and reports, over the measurement window:

- latency from frame arrival (the source's ``RawFrame.timestamp``) to the hand-over of the frame's
  events to the publishers, p50/p99 over every frame and over frames that published events;
- the same seen by an MQTT subscriber (receive time - the event's ``time``, which is the frame's
  arrival stamp): frame arrival -> broker -> subscriber;
- CPU use of the daemon process (process CPU time / wall time; 100 % = one core), peak and final RSS;
- frames received / processed / dropped.

In ``--soak`` mode the latency figures cover the latest 1000 frames / subscriber messages only
(bounded, so the harness itself does not grow over the soak).

Beside it, measured in the same run with the same fake: the **ingest-only** rate, ``DCA1000Source``
alone (receive + decode, no DSP) with an unpaced sender, in frames/s and as a multiple of 20 frames/s.

Targets (issue 5): p99 <= 100 ms, under one core, <= 300 MB RSS.

With ``--encoder`` the CLMP encoder stage runs too (activities on the shipped model, int8, embeddings
logged), and with ``--llm`` the question service (Gemma 3 270M in llama.cpp, ``--llm-threads``
threads; the base model, or ``--llm-model`` an mm-LLM) answers one question after another for the
whole measurement (each ``--answer-tokens`` tokens): the issue-14 run. It then also reports the
encoder stage's time per window and drops, the questions' time to first token and answer time
(p50/p99), and checks p99 frame -> event <= 100 ms while questions are answered and RSS <= 700 MB
(the LLM's weights are mapped into this process).

Run (from the repository root; needs mosquitto)::

    .venv/bin/python benchmarks/bench_daemon.py                  # 60 s at 20 frames/s + 5 s ingest
    .venv/bin/python benchmarks/bench_daemon.py --duration 15    # quick
    .venv/bin/python benchmarks/bench_daemon.py --soak 3600 --sample-s 30   # one-hour soak: MB/hour
    .venv/bin/python benchmarks/bench_daemon.py --duration 30 --encoder --llm   # encoder + LLM

``--question-interval S`` spaces the questions (one every S seconds after the previous answer)
instead of back to back, e.g. for the soak::

    nice -n 5 .venv/bin/python benchmarks/bench_daemon.py --soak 3600 --sample-s 30 \
        --encoder --llm --question-interval 10

``--soak SECONDS`` runs the daemon that long instead, sampling RSS every ``--sample-s`` and reporting
the memory growth (least-squares slope after the first 10 % of the run, MB/hour) beside the figures
above. Loopback only.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections import deque
from multiprocessing.connection import Connection
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))  # the private Mosquitto helper (tests/broker.py)

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

PROFILE = "iwr1843boost_raw_activity"
LOOP_FRAMES = 80  # distinct frames cycled by the fake (4 s of walking, there and back)


# ---------------------------------------------------------------------------- the fake (child)
def _walker_frames(n: int) -> list[bytes]:
    """``n`` encoded frames of a person walking 2.0 -> 3.0 m and back at 0.5 m/s, 10 deg right."""
    import numpy as np

    from firmware_cfg import load_cfg
    from runtime.sources.dca1000_layout import encode_frames
    from sim.radar.point_targets import PointTarget, synthesize_frame

    cfg = load_cfg(PROFILE).chirp
    rng = np.random.default_rng(1843)
    body = [  # (range offset [m], azimuth offset [deg], elevation [deg], amplitude)
        (0.0, 0.0, 0.0, 400),
        (0.1, 3.0, 15.0, 300),
        (-0.1, -3.0, -15.0, 300),
        (0.05, 6.0, 30.0, 250),
        (-0.05, -6.0, -30.0, 250),
        (0.15, 0.0, -40.0, 200),
        (0.0, -8.0, 8.0, 200),
        (-0.12, 5.0, 20.0, 200),
    ]
    wire = []
    half = n // 2
    for k in range(n):
        speed = 0.5 if k < half else -0.5
        r = 2.0 + 0.5 * cfg.frame_period_s * (k if k < half else n - k)
        targets = [
            PointTarget(
                range_m=r + dr,
                velocity_mps=speed + float(rng.normal(0, 0.25)),
                azimuth_deg=10.0 + daz,
                elevation_deg=el,
                amplitude=amp,
            )
            for dr, daz, el, amp in body
        ]
        frame = synthesize_frame(cfg, targets, noise_std=20.0, rng=rng)
        wire.append(encode_frames(frame[None], cfg, on_clip="ignore"))
    return wire


def _fake_main(conn: Connection, data_port: int, paced: bool, frames: int) -> None:
    """Child: build the frames, start the fake, report its control port, serve until told to stop."""
    from firmware_cfg import load_cfg
    from runtime.fakes.dca1000 import FakeDCA1000

    wire = _walker_frames(frames)
    period = load_cfg(PROFILE).chirp.frame_period_s if paced else None
    fake = FakeDCA1000(
        lambda i: wire[i % len(wire)],
        frame_period_s=period,
        data_dest=("127.0.0.1", data_port),
    )
    fake.start()
    conn.send(fake.config_port)
    conn.recv()  # stop
    fake.stop()
    conn.send(fake.report.frames)


class FakeProcess:
    """The fake DCA1000 in a child process (its frames and CPU do not count against the daemon)."""

    def __init__(self, data_port: int, paced: bool, frames: int = LOOP_FRAMES) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(
            target=_fake_main, args=(child, data_port, paced, frames), daemon=True
        )
        self.proc.start()
        if not self.conn.poll(300):
            raise RuntimeError("the fake DCA1000 did not start")
        self.config_port: int = self.conn.recv()

    def stop(self) -> int:
        self.conn.send("stop")
        sent = self.conn.recv() if self.conn.poll(10) else -1
        self.proc.join(10)
        return sent


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------------------- ingest only
def ingest_only(seconds: float) -> dict[str, float]:
    """DCA1000Source alone (receive + decode to complex64, no DSP), unpaced sender."""
    from firmware_cfg import load_cfg
    from runtime.sources.dca1000 import DCA1000Source
    from runtime.sources.dca1000_control import DCA1000Control

    radar_config = load_cfg(PROFILE)
    cfg = radar_config.chirp
    port = _free_udp_port()
    fake = FakeProcess(port, paced=False)
    control = DCA1000Control(
        fpga_ip="127.0.0.1",
        fpga_port=fake.config_port,
        host_ip="127.0.0.1",
        host_port=0,
        timeout_s=1.0,
    )
    src = DCA1000Source(radar_config, host_ip="127.0.0.1", data_port=port, control=control)
    count, t_first, t_last = 0, 0.0, 0.0
    cpu0 = time.thread_time()
    timer = threading.Timer(seconds + 2.0, src.close)
    timer.start()
    try:
        with src:
            for _frame in src.frames():
                now = time.monotonic()
                if count == 0:
                    t_first = now
                    cpu0 = time.thread_time()
                count += 1
                t_last = now
                if now - t_first >= seconds:
                    break
    finally:
        timer.cancel()
        fake.stop()
    cpu = time.thread_time() - cpu0
    span = max(t_last - t_first, 1e-9)
    return {
        "frames": count,
        "fps": (count - 1) / span,
        "mbps": (count - 1) * cfg.bytes_per_frame * 8 / span / 1e6,
        "cpu_s_per_frame_ms": 1000 * cpu / max(count - 1, 1),
        "lost_packets": src.stats.packets_lost,
        "flagged": src.stats.frames_flagged,
    }


# ---------------------------------------------------------------------------- the daemon
def _extra_sections(args: argparse.Namespace | None) -> str:
    """The YAML of the encoder stage and the question service, as the flags ask."""
    if args is None:
        return ""
    text = ""
    if args.encoder:
        text += "activities: {enabled: true, labels: home}\n"
    if args.llm:
        model = "null" if args.llm_model is None else f'"{args.llm_model}"'
        text += (
            f"questions: {{model: {model}, n_threads: {args.llm_threads}, nice: {args.llm_nice}, "
            f"max_tokens: {args.answer_tokens}, per_client_per_minute: 10000, queue: 1}}\n"
        )
    return text


QUESTIONS = (
    "How many people are in the room?",
    "Did anyone fall in the last hour?",
    "What is the person doing right now?",
    "Is anyone lying on the floor?",
)


def _asker(
    app: object, stop: threading.Event, answered: list[float], interval_s: float = 0.0
) -> None:
    """Ask the daemon's question service one question after another until ``stop``, waiting
    ``interval_s`` between an answer and the next question (0 = back to back)."""
    service = app.questions  # type: ignore[attr-defined]
    i = 0
    while not stop.is_set():
        ticket = service.ask(QUESTIONS[i % len(QUESTIONS)], client="bench")
        reply = ticket.wait(300)
        if reply is not None and reply.ok:
            answered.append(time.monotonic())
        i += 1
        if interval_s > 0:
            stop.wait(interval_s)


def run_daemon(
    duration: float,
    warmup: float,
    sample_s: float,
    soak: bool,
    args: argparse.Namespace | None = None,
) -> dict[str, object]:
    from broker import MosquittoBroker, Subscriber, have_mosquitto

    from runtime.app import App
    from runtime.config import parse_config
    from runtime.process_stats import rss_mb

    if not have_mosquitto():
        raise SystemExit("needs mosquitto (apt-get install mosquitto)")
    tmp = Path(tempfile.mkdtemp(prefix="bench-daemon-"))
    data_port = _free_udp_port()
    fake = FakeProcess(data_port, paced=True)
    broker = MosquittoBroker(tmp, persistence=False).start()
    # Latency percentiles cover every frame of a normal run. A soak keeps only the daemon's default
    # window (the latest 1000 frames, as deployed): a window sized to the whole soak (60 k frames for
    # 40 min) fills five float deques at 20 frames/s for the entire run, ~0.1 MB per 30 s (~12
    # MB/hour) of RSS creep that is the harness's, not the daemon's.
    window = 1000 if soak else int((duration + warmup) * 25) + 100
    text = f"""
mqtt: {{port: {broker.port}, client_id: mmfm-bench, stats_interval_s: 0}}
event_log: {{path: {tmp / "events.db"}}}
logging: {{level: WARNING}}
stats: {{interval_s: 5, latency_window: {window}}}
watchdog: {{stall_timeout_s: 5}}
radars:
  bench:
    chirp_config: {PROFILE}
    source:
      type: dca1000
      fpga_ip: 127.0.0.1
      fpga_config_port: {fake.config_port}
      host_ip: 127.0.0.1
      host_config_port: 0
      data_port: {data_port}
    mounting: {{height_m: 1.0, tilt_deg: 0}}
    events:
      tracking: {{birth_min_points: 3, cluster_min_points: 2}}
      tracks_period_s: 0.05
""" + _extra_sections(args)
    cfg = parse_config(text, source="bench.yaml", env={})
    from runtime.log import setup_logging

    setup_logging("WARNING")
    received: deque[float] = deque(maxlen=window if soak else None)  # subscriber latency [s]
    lock = threading.Lock()

    sub = Subscriber(broker.port, topics=("mmfm/bench/#",))

    def on_message(client: object, userdata: object, msg: object) -> None:
        now = time.time()
        topic = msg.topic  # type: ignore[attr-defined]
        if topic.endswith(("/stats", "/available")):
            return
        try:
            t = json.loads(msg.payload)["time"]  # type: ignore[attr-defined]
        except (ValueError, KeyError, TypeError):
            return
        with lock:
            received.append(now - t)

    sub.client.on_message = on_message
    sub.start()
    app = App(cfg)
    rss_samples: list[tuple[float, float]] = []
    load_samples: list[float] = []  # the machine's 1-minute load average at each RSS sample
    try:
        app.start()
        pipe = app.pipelines["bench"]
        deadline = time.monotonic() + 60
        while pipe.stats()["frames"] == 0:
            if time.monotonic() > deadline:
                raise RuntimeError("no frame from the fake DCA1000 within 60 s")
            time.sleep(0.1)
        time.sleep(warmup)
        asking = threading.Event()
        answered: list[float] = []
        asker = None
        if app.questions is not None:
            interval = args.question_interval if args is not None else 0.0
            asker = threading.Thread(
                target=_asker, args=(app, asking, answered, interval), daemon=True
            )
            asker.start()
            while app.questions.stats()["answering"] == 0:  # measure while the LLM works
                time.sleep(0.01)
        with lock:
            received.clear()
        s0 = pipe.stats()
        q0 = app.questions.stats() if app.questions is not None else None
        t0, cpu0 = time.monotonic(), time.process_time()
        next_sample = t0
        while True:
            now = time.monotonic()
            if now >= next_sample:
                rss_samples.append((now - t0, rss_mb()))
                load_samples.append(os.getloadavg()[0])
                next_sample += sample_s
                if soak:
                    print(
                        f"  t={now - t0:7.0f} s  RSS {rss_samples[-1][1]:7.1f} MB  "
                        f"load {load_samples[-1]:.2f}",
                        flush=True,
                    )
            if now - t0 >= duration:
                break
            time.sleep(min(0.5, max(0.01, next_sample - now)))
        wall = time.monotonic() - t0
        cpu = time.process_time() - cpu0
        s1 = pipe.stats()
        publishers = {c.name: c.stats() for c in app.communicators}
        encoder = app.encoder_stage.stats() if app.encoder_stage is not None else None
        questions = app.questions.stats() if app.questions is not None else None
        if questions is not None and q0 is not None:
            questions["answered_in_window"] = questions["answered"] - q0["answered"]
        asking.set()
    finally:
        app.stop()
        sub.stop()
        broker.stop()
        fake.stop()
    with lock:
        sub_lat = sorted(received)
    return {
        "wall": wall,
        "cpu_fraction": cpu / wall,
        "frames": s1["frames"] - s0["frames"],
        "processed": s1["frames_processed"] - s0["frames_processed"],
        "dropped": {k: s1["dropped"][k] - s0["dropped"][k] for k in s1["dropped"]},
        "errors": s1["errors"],
        "restarts": s1["source_restarts"],
        "latency": s1["latency_ms"],
        "event_latency": s1["event_latency_ms"],
        "stages": s1["stages"],
        "events": s1["events_by_type"],
        "source": s1.get("source", {}),
        "subscriber": sub_lat,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_samples": rss_samples,
        "load_samples": load_samples,
        "mqtt": publishers.get("mqtt", {}),
        "encoder": encoder,
        "questions": questions,
    }


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    k = min(len(values) - 1, max(0, round(q / 100 * (len(values) - 1))))
    return sorted(values)[k]


def _growth_mb_per_hour(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of RSS over time after the first 10 % of the run [MB/hour]."""
    if len(samples) < 3:
        return float("nan")
    t_end = samples[-1][0]
    pts = [(t, r) for t, r in samples if t >= 0.1 * t_end]
    if len(pts) < 2:
        return float("nan")
    ts, rs = [p[0] for p in pts], [p[1] for p in pts]
    tm, rm = statistics.fmean(ts), statistics.fmean(rs)
    den = sum((t - tm) ** 2 for t in ts)
    return 3600 * sum((t - tm) * (r - rm) for t, r in zip(ts, rs, strict=True)) / den


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=60.0, help="measurement window [s]")
    ap.add_argument("--warmup", type=float, default=3.0, help="run before measuring [s]")
    ap.add_argument("--ingest-s", type=float, default=5.0, help="ingest-only measurement [s]")
    ap.add_argument("--soak", type=float, default=0.0, help="soak mode: run this long [s]")
    ap.add_argument("--sample-s", type=float, default=10.0, help="RSS sample period [s]")
    ap.add_argument("--encoder", action="store_true", help="run the CLMP encoder stage too")
    ap.add_argument("--llm", action="store_true", help="answer questions all along (llama.cpp)")
    ap.add_argument("--llm-threads", type=int, default=1, help="llama.cpp threads (default 1)")
    ap.add_argument("--llm-nice", type=int, default=5, help="the LLM threads' nice (5)")
    ap.add_argument("--llm-model", help="mm-LLM model (default: the base LLM, no radar tokens)")
    ap.add_argument("--answer-tokens", type=int, default=48, help="tokens per answer (48)")
    ap.add_argument(
        "--question-interval",
        type=float,
        default=0.0,
        metavar="S",
        help="with --llm: wait S seconds after each answer before the next question "
        "(default 0 = back to back; a soak uses e.g. 10 so the LLM does not hold a core for an hour)",
    )
    args = ap.parse_args(argv)
    soak = args.soak > 0
    duration = args.soak if soak else args.duration
    print(f"bench_daemon: {PROFILE} (3 TX x 4 RX x 128 loops x 256 samples) at 20 frames/s")
    print(f"  CPUs: {os.cpu_count()}, measuring {duration:g} s after {args.warmup:g} s warm-up")
    d = run_daemon(duration, args.warmup, args.sample_s, soak, args)
    ingest = ingest_only(args.ingest_s)

    lat, elat = d["latency"], d["event_latency"]
    sub = d["subscriber"]
    fps = d["frames"] / d["wall"]
    print()
    print("daemon (DCA1000Source -> DSP -> event engine -> MQTT + event log), one process:")
    print(
        f"  frames {d['frames']} in {d['wall']:.1f} s = {fps:.2f} frames/s; processed "
        f"{d['processed']}; dropped {d['dropped']}; errors {d['errors']}; restarts {d['restarts']}"
    )
    src = d["source"]
    print(
        f"  source: packets lost {src.get('packets_lost')}, frames flagged "
        f"{src.get('frames_flagged')}, frames lost {src.get('frames_lost')}"
    )
    print(f"  events published: {d['events']}")
    print(
        f"  latency arrival -> events handed to publishers, all frames: p50 {lat.get('p50')} ms, "
        f"p99 {lat.get('p99')} ms, max {lat.get('max')} ms (n={lat.get('n')})"
    )
    st = d["stages"]
    print(
        "  stages (p50/p99 ms): arrival -> DSP start "
        + f"{st['queue_wait_ms'].get('p50')}/{st['queue_wait_ms'].get('p99')}, DSP "
        + f"{st['dsp_ms'].get('p50')}/{st['dsp_ms'].get('p99')}, engine + publish "
        + f"{st['engine_ms'].get('p50')}/{st['engine_ms'].get('p99')}"
    )
    print(
        f"  same, frames that published events: p50 {elat.get('p50')} ms, "
        f"p99 {elat.get('p99')} ms (n={elat.get('n')})"
    )
    print(
        f"  arrival -> MQTT subscriber (via Mosquitto): p50 {1000 * _pct(sub, 50):.1f} ms, "
        f"p99 {1000 * _pct(sub, 99):.1f} ms (n={len(sub)})"
    )
    rss_final = d["rss_samples"][-1][1] if d["rss_samples"] else float("nan")
    print(
        f"  CPU {100 * d['cpu_fraction']:.1f} % of one core; RSS peak {d['peak_rss_mb']:.0f} MB, "
        f"final {rss_final:.0f} MB"
    )
    print()
    print("ingest only (DCA1000Source receive + decode, no DSP; unpaced sender), same run:")
    print(
        f"  {ingest['fps']:.1f} frames/s = {ingest['mbps']:.0f} Mbit/s "
        f"({ingest['fps'] / 20:.1f}x the 20 frames/s stream); "
        f"{ingest['cpu_s_per_frame_ms']:.2f} ms CPU per frame; lost packets "
        f"{ingest['lost_packets']}, flagged frames {ingest['flagged']}"
    )
    print()
    p99 = float(lat.get("p99", float("nan")))
    checks = [
        ("p99 latency <= 100 ms", p99 <= 100.0, f"{p99:.1f} ms"),
        ("CPU under one core", d["cpu_fraction"] < 1.0, f"{100 * d['cpu_fraction']:.0f} %"),
        ("RSS <= 300 MB", d["peak_rss_mb"] <= 300.0, f"{d['peak_rss_mb']:.0f} MB peak"),
        ("keeps up with 20 frames/s", fps >= 19.0, f"{fps:.2f} frames/s"),
    ]
    enc, qs = d["encoder"], d["questions"]
    if enc is not None:
        ms = enc.get("encode_ms", {})
        print(
            f"  encoder stage: {enc['embedded']} windows embedded, {enc['dropped']} dropped, "
            f"{enc['skipped_sparse']} sparse; time per window p50 {ms.get('p50')} ms, p99 "
            f"{ms.get('p99')} ms; activity events {enc['events']}"
        )
    if qs is not None:
        ttft, total = qs.get("ttft_ms", {}), qs.get("answer_ms", {})
        print(
            f"  questions: {qs['answered_in_window']} answered in the window ({qs['answered']} in "
            f"all, {qs['busy']} busy, {qs['errors']} errors); time to first token p50 "
            f"{ttft.get('p50')} ms, p99 {ttft.get('p99')} ms; answer time p50 {total.get('p50')} "
            f"ms, p99 {total.get('p99')} ms ({args.answer_tokens} tokens max, "
            f"{args.llm_threads} thread(s))"
        )
    if enc is not None or qs is not None:
        checks = [c for c in checks if not c[0].startswith("RSS")]
        checks.append(
            ("RSS <= 700 MB (encoder + LLM)", d["peak_rss_mb"] <= 700.0,
             f"{d['peak_rss_mb']:.0f} MB peak")
        )  # fmt: skip
        if qs is not None:
            checks[0] = ("p99 latency <= 100 ms while answering", p99 <= 100.0, f"{p99:.1f} ms")
    for name, ok, value in checks:
        print(f"  [{'ok' if ok else 'MISS'}] {name}: {value}")
    if soak:
        growth = _growth_mb_per_hour(d["rss_samples"])
        print(
            f"  soak: RSS {d['rss_samples'][0][1]:.1f} -> {rss_final:.1f} MB over "
            f"{d['wall'] / 3600:.2f} h; growth {growth:+.1f} MB/hour "
            f"({len(d['rss_samples'])} samples every {args.sample_s:g} s)"
        )
    loads = d["load_samples"]
    if loads:
        print(
            f"  machine load (1-min average) over the run: mean {statistics.fmean(loads):.2f}, "
            f"max {max(loads):.2f} on {os.cpu_count()} CPUs"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
