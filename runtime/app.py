"""The daemon: starts its parts in a fixed, visible order, watches them, and stops them in reverse.

Start order (each step logged as ``start i/7``)::

    1 config       the validated MmfmConfig (radars, sources, chirp profiles)
    2 event log    SQLite (runtime.eventlog.EventLog)
    3 activities   the CLMP encoder stage and the embedding log (opt-in: ``activities.enabled``)
    4 questions    the mm-LLM question service (``questions:``; needs the ``mmfm[llm]`` extra):
                   the LLMs are loaded here, each answering in a thread of its own
    5 publishers   MQTT (+ Home Assistant discovery), ZeroMQ, the web view (``web:``, needs the
                   ``mmfm[web]`` extra); the state provider and the question service are set here
    6 pipelines    one RadarPipeline per radar (capture -> DSP -> event engine threads)
    7 watchdog     restarts stalled sources; hands periodic stats to the publishers; watches every
                   worker thread; ends the daemon when every source has ended

Stop (SIGTERM/SIGINT set an event; :meth:`App.run` returns after :meth:`App.stop`): watchdog,
pipelines (each radar goes offline), encoder stage, question service, publishers (MQTT publishes offline and disconnects), event log.

The daemon never runs on silently with a part missing. Every check the watchdog makes:

- a stalled source is closed and started again (:meth:`RadarPipeline.check_stall`);
- a publisher's worker thread that died is restarted by the publisher (``check_threads()``, e.g.
  ZeroMQ's request thread); one it cannot restart, a dead pipeline thread, or a dead watchdog stops
  the daemon with a CRITICAL log line and :meth:`App.run` returns 1 (systemd restarts it);
- once every radar's source has ended (replays without ``loop``, every frame processed) the daemon
  stops (after the encoder stage has embedded every queued window) and :meth:`App.run` returns
  0, unless ``keep_running`` is set.

Events from every pipeline go to the event log (except ``event_log.exclude_types``) and to every
publisher; a failing sink is counted and logged, never fatal. The ZeroMQ state request answers
:meth:`App.state`: per radar the engine's state, availability and stats.

An MQTT broker that cannot be reached at start is reported once; the daemon runs on and paho keeps
reconnecting in the background. Refused credentials stop the start (a configuration error).

    app = App(load_config("mmfm.yaml"))
    app.run()            # blocks until SIGTERM/SIGINT or app.request_stop()
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from runtime.comms.base import Communicator
from runtime.comms.mqtt import MqttAuthError, MqttCommunicator
from runtime.comms.zeromq import ZeroMqCommunicator
from runtime.config import MmfmConfig
from runtime.embeddinglog import EmbeddingLog
from runtime.eventlog import EventLog, EventLogError
from runtime.events import Event
from runtime.pipeline import RadarPipeline
from runtime.process_stats import ProcessStats
from runtime.sources.base import Source, SourceFactory

if TYPE_CHECKING:
    from runtime.inference.stage import EncoderStage
    from runtime.questions.service import QuestionService

__all__ = ["App", "AppStartError"]

logger = logging.getLogger(__name__)

#: How long the start waits for a first MQTT connection before saying it runs without one [s].
MQTT_CONNECT_WAIT_S = 2.0


#: How much nicer (lower CPU priority) the background threads run than the radar pipeline: the
#: encoder stage and the LLMs take what the frame path leaves (Linux: per-thread nice values).
BACKGROUND_NICE = 5


def lower_priority(thread_name: str, nice: int) -> int:
    """Make every live thread named ``thread_name`` ``nice`` steps nicer (threads it starts later
    inherit that); returns how many were changed. A no-op where per-thread priorities are not
    available."""
    changed = 0
    for thread in threading.enumerate():
        if thread.name != thread_name or thread.native_id is None:
            continue
        try:
            current = os.getpriority(os.PRIO_PROCESS, thread.native_id)
            os.setpriority(os.PRIO_PROCESS, thread.native_id, min(19, current + nice))
            changed += 1
        except (AttributeError, OSError) as exc:  # not Linux, or not allowed
            logger.debug("cannot lower the priority of %s: %s", thread_name, exc)
    return changed


def limit_blas_threads(n: int) -> str:
    """Limit numpy's BLAS to ``n`` threads for this process (threadpoolctl); returns what was done.

    The daemon calls numpy from several threads at once (capture, DSP, event engine, encoder
    stage); a multi-threaded OpenBLAS then spins and serialises them, which costs the frame path far
    more than the parallel BLAS gains (measured: frame -> event p50 5 ms with one BLAS thread,
    ~800 ms with two, ``mmfm demo --speed 3`` on a loaded 2-core machine).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return "BLAS threads: not limited (threadpoolctl missing)"
    threadpool_limits(limits=n, user_api="blas")
    return f"BLAS threads: {n}"


class AppStartError(RuntimeError):
    """A part could not start (event log not writable, endpoint taken, MQTT credentials refused)."""


def _plain_factory(make: Callable[[], Source]) -> SourceFactory:
    """A :data:`SourceFactory` for a source that needs nothing sent after ``open()``."""

    def factory() -> tuple[Source, None]:
        return make(), None

    return factory


class _EmbeddingSink:
    """Where the encoder stage's window embeddings go: the embedding log (if kept) and every
    publisher that publishes embeddings (ZeroMQ's ``publish_embeddings``)."""

    def __init__(self, log: EmbeddingLog | None, app: App) -> None:
        self.log = log
        self.app = app

    def extend(self, rows: Sequence[Any]) -> None:
        if self.log is not None:
            self.log.extend(rows)
        for comm in list(self.app.communicators):
            publish = getattr(comm, "publish_embedding", None)
            if publish is None:
                continue
            for row in rows:
                t, radar, track, emb, label, conf = row[:6]
                zone = row[6] if len(row) > 6 else None
                publish(radar, t, emb, track=track, label=label, confidence=conf, zone=zone)


class App:
    """The mmfm daemon.

    Args:
        config: the validated configuration.
        communicators: publishers to use instead of those built from ``config.mqtt`` /
            ``config.zeromq`` (tests, embedding).
        sources: radar id -> a callable returning a fresh, unopened source; replaces that radar's
            configured source (``mmfm demo`` plugs the simulator's virtual radar in here).
        clock: the time questions are asked at [s since the epoch] (default ``time.time``;
            ``mmfm demo`` faster than real time passes its scene clock, the frames' time base).
    """

    def __init__(
        self,
        config: MmfmConfig,
        *,
        communicators: Sequence[Communicator] | None = None,
        sources: Mapping[str, Callable[[], Source]] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.config = config
        self._clock = clock or time.time
        self._given_communicators = list(communicators) if communicators is not None else None
        self._sources = dict(sources or {})
        unknown = set(self._sources) - set(config.enabled_radars)
        if unknown:
            raise ValueError(f"sources for radars not in the config: {sorted(unknown)}")
        self.communicators: list[Communicator] = []
        self.event_log: EventLog | None = None
        self.encoder_stage: EncoderStage | None = None
        self.embedding_log: EmbeddingLog | None = None
        self.questions: QuestionService | None = None
        self.pipelines: dict[str, RadarPipeline] = {}
        self._stop_event = threading.Event()
        self._watchdog: threading.Thread | None = None
        self._watchdog_stop = threading.Event()
        self._started: list[str] = []
        self._process = ProcessStats()
        self._said_ended = False
        self._lock = threading.Lock()
        self.sink_errors = {"event_log": 0, "publish": 0}
        self.started_at: float | None = None
        #: what :meth:`run` returns: 0, or 1 once a part died (see the module docstring)
        self.exit_code = 0

    # ------------------------------------------------------------------ start
    def start(self) -> None:
        """Start every part in order; on failure stop what started and raise :class:`AppStartError`."""
        if self._started:
            raise RuntimeError("App.start() called twice")
        self._stop_event.clear()
        steps: list[tuple[str, Callable[[], str]]] = [
            ("config", self._start_config),
            ("event log", self._start_event_log),
            ("activities", self._start_activities),
            ("questions", self._start_questions),
            ("publishers", self._start_publishers),
            ("pipelines", self._start_pipelines),
            ("watchdog", self._start_watchdog),
        ]
        for i, (name, step) in enumerate(steps, start=1):
            try:
                detail = step()
            except AppStartError:
                self.stop()
                raise
            except Exception as exc:
                self.stop()
                raise AppStartError(f"{name}: {type(exc).__name__}: {exc}") from exc
            self._started.append(name)
            logger.info("start %d/%d %s: %s", i, len(steps), name, detail)
        self.started_at = time.time()
        logger.info("mmfm running with %d radar(s)", len(self.pipelines))

    def _start_config(self) -> str:
        blas = limit_blas_threads(1)
        parts = []
        for rid, r in self.config.enabled_radars.items():
            kind = "custom" if rid in self._sources else r.source.type
            parts.append(f"{rid} ({kind}, {r.radar_config.chirp.board}, {r.chirp_config})")
        disabled = [rid for rid, r in self.config.radars.items() if not r.enabled]
        text = "; ".join(parts) or "no enabled radars"
        text += f"; disabled: {', '.join(disabled)}" if disabled else ""
        return text + f"; {blas}"

    def _start_event_log(self) -> str:
        settings = self.config.event_log
        if not settings.enabled:
            return "off"
        try:
            self.event_log = EventLog(
                settings.path, retention_days=settings.retention_days, max_rows=settings.max_rows
            )
        except EventLogError as exc:
            raise AppStartError(str(exc)) from exc
        return f"{settings.path} ({settings.retention_days:g} days, {len(self.event_log)} events)"

    def _start_activities(self) -> str:
        settings = self.config.activities
        if not settings.enabled:
            return "off"
        # onnxruntime is loaded only when activities are on (delayed heavy imports)
        from runtime.inference.encoder import PointEncoder
        from runtime.inference.stage import EncoderStage, resolve_labels
        from runtime.models import ModelError, load_model

        try:
            model = load_model(settings.model)
            if model.input_contract.get("kind") != "points":
                raise ModelError(
                    f"model {model.name!r} ({model.kind}) reads raw-ADC windows; the encoder stage "
                    "embeds point-cloud windows only: pick a clmp-points model for activities"
                )
            labels, prototypes = resolve_labels(model, settings.labels, settings.prompt_templates)
            encoder = PointEncoder(model, precision=settings.precision, threads=settings.threads)
        except (ModelError, FileNotFoundError) as exc:
            raise AppStartError(str(exc)) from exc
        if settings.log_embeddings and self.event_log is not None:
            try:
                self.embedding_log = EmbeddingLog(
                    self.config.event_log.path,
                    retention_days=settings.embedding_retention_days,
                    max_rows=settings.embedding_max_rows,
                )
            except EventLogError as exc:
                raise AppStartError(str(exc)) from exc
        sink: Any = self.embedding_log
        if self.config.zeromq is not None and self.config.zeromq.publish_embeddings:
            sink = _EmbeddingSink(self.embedding_log, self)
        self.encoder_stage = EncoderStage(
            encoder,
            labels,
            prototypes,
            self._on_events,
            embedding_log=sink,
            stride_s=settings.stride_s,
            queue_size=settings.queue,
            min_points=settings.min_points,
            tracker={
                "min_confidence": settings.min_confidence,
                "margin": settings.margin,
                "min_duration_s": settings.min_duration_s,
            },
        )
        self.encoder_stage.start()
        lower_priority("encoder", BACKGROUND_NICE)
        logged = f", embeddings -> {self.embedding_log.path}" if self.embedding_log else ""
        return (
            f"{model.name} {encoder.precision}, {len(labels)} labels, per {settings.per}, "
            f"window {self.encoder_stage.window_s:g} s every {settings.stride_s:g} s{logged}"
        )

    def _start_questions(self) -> str:
        settings = self.config.questions
        if settings is None:
            return "off"
        from runtime.llm.context import zones_words
        from runtime.questions.loader import load_answerers, text_query
        from runtime.questions.service import QuestionService

        stage = self.encoder_stage
        names = stage.encoder.model.names if stage is not None else None
        answerers, described = load_answerers(settings, names)
        wanted = getattr(answerers[0], "encoder_name", None)
        if wanted is not None and names is not None and wanted not in names:
            raise AppStartError(
                f"questions.model expects embeddings of the CLMP model {wanted!r}, but "
                f"activities.model is {stage.encoder.model.name!r}: use the same encoder"
            )
        query = None
        if settings.window == "nearest" and self.config.activities.enabled:
            query = text_query(self.config.activities.model)
        self.questions = QuestionService(
            settings,
            answerers,
            radars=list(self.config.enabled_radars),
            event_log=self.event_log,
            embedding_log=self.embedding_log,
            state_provider=self.state,
            query_vector=query,
            on_events=self._on_events,
            clock=self._clock,
            rooms={i.id: zones_words(i.zones) for i in self.config.radar_infos()},
        )
        self.questions.start()
        for i in range(settings.instances):  # llama.cpp's threads inherit it
            lower_priority(f"llm-{i}", settings.nice)
        return (
            f"{described}, {settings.instances} x {settings.n_threads} thread(s), "
            f"queue {settings.queue}, {settings.per_client_per_minute}/min per client"
        )

    def _start_publishers(self) -> str:
        if self._given_communicators is not None:
            comms = self._given_communicators
        else:
            comms = self._build_communicators()
        if self.config.web is not None:
            comms = [*comms, self._build_web()]
        described = []
        for comm in comms:
            comm.set_state_provider(self.state)
            set_questions = getattr(comm, "set_question_service", None)
            if set_questions is not None and self.questions is not None:
                set_questions(self.questions)
            set_searcher = getattr(comm, "set_searcher", None)
            if set_searcher is not None and self.embedding_log is not None:
                from runtime.questions.search import Searcher

                set_searcher(Searcher(self.embedding_log, self.config.activities.model))
            comm.start()
            self.communicators.append(comm)
            described.append(self._describe(comm))
        self._await_mqtt()
        return ", ".join(described) or "none"

    def _build_communicators(self) -> list[Communicator]:
        radars = self.config.radar_infos()
        if self.encoder_stage is not None:
            options = tuple(self.encoder_stage.labels)
            radars = [dataclasses.replace(r, activity_labels=options) for r in radars]
        if self.questions is not None:
            radars = [dataclasses.replace(r, answers=True) for r in radars]
        comms: list[Communicator] = []
        if self.config.mqtt is not None:
            comms.append(MqttCommunicator(self.config.mqtt, radars))
        if self.config.zeromq is not None:
            comms.append(ZeroMqCommunicator(self.config.zeromq, radars))
        return comms

    def _build_web(self) -> Communicator:
        """The live web view (``runtime.web``); starlette/uvicorn are imported only when it is on."""
        settings = self.config.web
        assert settings is not None
        try:
            from runtime.web.server import WebView
        except ImportError as exc:
            raise AppStartError(
                f"web: the web view needs the optional extra: pip install 'mmfm[web]' ({exc})"
            ) from exc
        token = os.environ.get(settings.token_env) if settings.token_env else None
        if settings.token_env and not token:
            raise AppStartError(
                f"web.token_env: environment variable {settings.token_env} is empty"
            )
        return WebView(settings, self.config, token=token, live_provider=self.live_frames)

    def live_frames(self) -> dict[str, dict[str, Any]]:
        """Radar id -> the latest frame's ``points`` (radar frame) and ``range_doppler_db`` (raw-ADC
        sources, else None), for the web view."""
        return {
            rid: {"points": p.latest_points, "range_doppler_db": p.latest_range_doppler_db}
            for rid, p in list(self.pipelines.items())
        }

    @staticmethod
    def _describe(comm: Any) -> str:
        s = getattr(comm, "settings", None)
        if comm.name == "mqtt" and s is not None:
            return f"mqtt {s.host}:{s.port} (prefix {s.topic_prefix})"
        if comm.name == "zeromq":
            return f"zeromq pub {comm.pub_address}, requests {comm.request_address or 'off'}"
        if comm.name == "web":
            return f"web {comm.url}"
        return str(comm.name)

    def _await_mqtt(self) -> None:
        """Give MQTT a moment to connect; refused credentials fail the start, an unreachable broker
        is said once (paho reconnects in the background)."""
        mqtts = [c for c in self.communicators if c.name == "mqtt"]
        if not mqtts:
            return
        deadline = time.monotonic() + MQTT_CONNECT_WAIT_S
        while time.monotonic() < deadline:
            stats = [c.stats() for c in mqtts]
            if any(s.get("auth_failures") for s in stats):
                msg = "MQTT broker refused the credentials"
                comm = mqtts[0]
                auth_message = getattr(comm, "_auth_message", None)
                reason = getattr(comm, "_first_reason", None)
                if auth_message is not None and reason is not None:
                    msg = auth_message(reason)
                raise AppStartError(str(MqttAuthError(msg)))
            if all(s.get("connected") for s in stats):
                return
            time.sleep(0.05)
        for comm in mqtts:
            if not comm.stats().get("connected"):
                s = getattr(comm, "settings", None)
                where = f"{s.host}:{s.port}" if s is not None else "the broker"
                problem_of = getattr(comm, "connect_problem", None)
                problem = (problem_of() if problem_of is not None else None) or (
                    f"MQTT broker {where} not reachable"
                )
                logger.warning(
                    "MQTT: %s; mmfm runs without it and keeps reconnecting in the background "
                    "(events wait in a bounded queue)",
                    problem,
                )

    def _start_pipelines(self) -> str:
        for rid, radar in self.config.enabled_radars.items():
            factory = _plain_factory(self._sources[rid]) if rid in self._sources else None
            self.pipelines[rid] = RadarPipeline(
                rid,
                radar,
                watchdog=self.config.watchdog,
                on_events=self._on_events,
                on_available=self._on_available,
                source_factory=factory,
                latency_window=self.config.stats.latency_window,
                on_frame=self.encoder_stage.submit if self.encoder_stage is not None else None,
                track_radius_m=(
                    self.config.activities.track_radius_m
                    if self.config.activities.per == "track"
                    else None
                ),
            )
        for pipeline in self.pipelines.values():
            self._on_available(pipeline.radar_id, False)
            pipeline.start()
        return ", ".join(
            f"{rid} (stall timeout {p.stall_timeout_s:g} s)" for rid, p in self.pipelines.items()
        )

    def _start_watchdog(self) -> str:
        self._watchdog_stop.clear()
        self._watchdog = threading.Thread(target=self._watch, name="watchdog", daemon=True)
        self._watchdog.start()
        wd = self.config.watchdog
        return (
            f"every {wd.check_interval_s:g} s, backoff {wd.restart_backoff_s:g}-"
            f"{wd.restart_backoff_max_s:g} s, stats every {self.config.stats.interval_s:g} s"
        )

    # ------------------------------------------------------------------ run / stop
    def run(self, *, install_signal_handlers: bool = True) -> int:
        """Start, block until SIGTERM/SIGINT, :meth:`request_stop`, every source ending or a part
        dying, then stop. Returns :attr:`exit_code` (0, or 1 when a part died)."""
        old: dict[int, Any] = {}
        if install_signal_handlers and threading.current_thread() is threading.main_thread():

            def on_signal(signum: int, frame: Any) -> None:
                logger.info("received %s; stopping", signal.Signals(signum).name)
                self._stop_event.set()

            old = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.start()
            while not self._stop_event.wait(0.5):
                watchdog = self._watchdog
                if watchdog is not None and not watchdog.is_alive():
                    self.fail("the watchdog thread died")
        finally:
            self.stop()
            for s, handler in old.items():
                signal.signal(s, handler)
        return self.exit_code

    def fail(self, reason: str) -> None:
        """Stop the daemon because a part died: log it loudly; :meth:`run` returns 1."""
        if self.exit_code == 1 and self.stopping:
            return  # said already; the watchdog may see the same dead thread once more
        logger.critical("%s; stopping mmfm (exit status 1)", reason)
        self.exit_code = 1
        self._stop_event.set()

    def request_stop(self) -> None:
        """Make :meth:`run` return (thread-safe, signal-safe)."""
        self._stop_event.set()

    @property
    def stopping(self) -> bool:
        return self._stop_event.is_set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every started part in reverse order (idempotent)."""
        self._stop_event.set()
        if "watchdog" in self._started or self._watchdog is not None:
            self._watchdog_stop.set()
            if self._watchdog is not None:
                self._watchdog.join(timeout)
                self._watchdog = None
            logger.info("stop: watchdog")
        if self.pipelines:
            for pipeline in self.pipelines.values():
                pipeline.stop(timeout)
            logger.info("stop: pipelines (%s)", ", ".join(self.pipelines))
        if self.encoder_stage is not None:
            self.encoder_stage.stop(timeout)
            self.encoder_stage = None
            logger.info("stop: encoder stage")
        if self.questions is not None:
            ended = self.questions.stop(timeout)
            for answerer in self.questions.answerers if ended else []:  # the LLMs the app loaded
                close = getattr(answerer, "close", None)
                if close is not None:
                    close()
            self.questions = None
            logger.info("stop: question service")
        if self.communicators:
            for comm in reversed(self.communicators):
                try:
                    comm.stop()
                except Exception:
                    logger.exception("stopping %s failed", comm.name)
            logger.info("stop: publishers (%s)", ", ".join(c.name for c in self.communicators))
            self.communicators = []
        if self.embedding_log is not None:
            self.embedding_log.close()
            self.embedding_log = None
        if self.event_log is not None:
            self.event_log.close()
            self.event_log = None
            logger.info("stop: event log")
        if self._started:
            logger.info("mmfm stopped")
        self._started = []
        self.pipelines = {}

    # ------------------------------------------------------------------ sinks
    def _on_events(self, radar: str, events: list[Event]) -> None:
        log = self.event_log
        if log is not None:
            keep = [e for e in events if e.type not in self.config.event_log.exclude_types]
            if keep:
                try:
                    log.extend(keep)
                except Exception as exc:
                    with self._lock:
                        self.sink_errors["event_log"] += 1
                    logger.error("event log write failed: %s", exc, extra={"radar": radar})
        for comm in self.communicators:
            for event in events:
                try:
                    comm.publish_event(event)
                except Exception as exc:
                    with self._lock:
                        self.sink_errors["publish"] += 1
                    logger.error(
                        "%s: publishing a %s event failed: %s",
                        comm.name,
                        event.type,
                        exc,
                        extra={"radar": radar},
                    )

    def _on_available(self, radar: str, online: bool) -> None:
        for comm in self.communicators:
            try:
                comm.set_available(radar, online)
            except Exception as exc:
                logger.error("%s: availability failed: %s", comm.name, exc, extra={"radar": radar})

    # ------------------------------------------------------------------ watchdog
    def _watch(self) -> None:
        wd = self.config.watchdog
        next_stats = time.monotonic() + self.config.stats.interval_s
        while not self._watchdog_stop.wait(wd.check_interval_s):
            now = time.monotonic()
            try:
                self._check_parts(now)
                if now >= next_stats:
                    next_stats = now + self.config.stats.interval_s
                    self.publish_stats()
            except Exception:  # a bug in a check must not end the watchdog
                logger.exception("watchdog round failed")

    def _check_parts(self, now: float) -> None:
        """One watchdog round: stalls, dead threads, the end of every source."""
        pipelines = list(self.pipelines.values())
        for pipeline in pipelines:
            try:
                pipeline.check_stall(now)
            except Exception:
                logger.exception("watchdog check failed", extra={"radar": pipeline.radar_id})
            for thread, why in pipeline.dead_threads().items():
                self.fail(f"radar {pipeline.radar_id}: thread {thread} died ({why})")
        for comm in list(self.communicators):
            check = getattr(comm, "check_threads", None)
            dead = check() if check is not None else []
            if dead:
                self.fail(f"{comm.name}: thread(s) {', '.join(dead)} died and cannot restart")
        if self.questions is not None:
            self.questions.check_threads()
        stage = self.encoder_stage
        if stage is not None and not stage.alive and not self.stopping:
            self.fail("the encoder stage's thread died")
        drained = stage is None or stage.idle()
        if pipelines and all(p.ended for p in pipelines) and drained and not self.stopping:
            if self.config.keep_running:
                if not self._said_ended:
                    self._said_ended = True
                    logger.info("every source has ended; keep_running is set, so mmfm stays up")
            else:
                logger.info("every source has ended; stopping mmfm (keep_running is off)")
                self._stop_event.set()

    def publish_stats(self) -> dict[str, dict[str, Any]]:
        """Hand every radar's stats (plus process CPU/RSS) to the publishers; returns them."""
        process = self._process.sample()
        out = {}
        for rid, pipeline in list(self.pipelines.items()):
            stats = {**pipeline.stats(), "process": process}
            out[rid] = stats
            for comm in self.communicators:
                try:
                    comm.publish_stats(rid, stats)
                except Exception as exc:
                    logger.error("%s: stats failed: %s", comm.name, exc, extra={"radar": rid})
        return out

    # ------------------------------------------------------------------ queries
    def state(self) -> dict[str, Any]:
        """Current state for request/reply queries: per radar the engine state and stats."""
        radars = {}
        for rid, pipeline in list(self.pipelines.items()):
            try:
                radars[rid] = {**pipeline.state(), "stats": pipeline.stats()}
                self._add_activities(rid, radars[rid])
            except Exception as exc:  # a query must never break the daemon
                radars[rid] = {"error": f"{type(exc).__name__}: {exc}"}
        return {"time": time.time(), "started": self.started_at, "radars": radars}

    def _add_activities(self, radar: str, state: dict[str, Any]) -> None:
        """Each live track's learned ``activity`` and ``zone`` (the encoder stage's), in place."""
        stage = self.encoder_stage
        if stage is None:
            return
        known = stage.activities(radar)
        for track in state.get("tracks") or []:
            label, zone = known.get(track.get("id"), (None, None))
            if label is not None:
                track["activity"] = label
            if zone is not None:
                track["zone"] = zone
        whole = known.get(None)
        if whole is not None and whole[0] is not None:
            state["activity"] = whole[0]

    def stats(self) -> dict[str, Any]:
        """Every radar's stats, publisher counters and sink errors."""
        return {
            "radars": {rid: p.stats() for rid, p in self.pipelines.items()},
            "publishers": {c.name: c.stats() for c in self.communicators},
            "sink_errors": dict(self.sink_errors),
            "encoder": self.encoder_stage.stats() if self.encoder_stage is not None else None,
            "questions": self.questions.stats() if self.questions is not None else None,
        }
