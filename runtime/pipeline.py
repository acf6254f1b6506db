"""One radar's pipeline: capture -> DSP -> event engine, three threads joined by bounded queues.

::

    capture thread          [capture queue]        dsp thread         [detections queue]   engine thread
    source.frames() ──► (frame, arrival) ──► process_frame (raw ADC) ──► (frame, result) ──► EventEngine
                                             (point clouds pass)                              ──► on_events

- **Capture** builds the source (:func:`make_source`), opens it, sends the chirp config over the CLI
  port (serial; DCA1000 when ``cli_port`` is set) and pumps frames. On an exception, the end of a live
  stream or a watchdog request (:meth:`RadarPipeline.check_stall`) it closes the source, goes
  offline, waits (exponential backoff, reset once frames flow again) and builds a new source, so the
  chirp config is sent again after every reconnect. A replay without ``loop`` ends the pipeline once
  every frame it delivered has been through DSP and the engine (:attr:`RadarPipeline.ended`).
- **Queues** are bounded. For live sources (and paced replays) a full queue drops its oldest item,
  counted (``dropped.capture_queue`` / ``dropped.detections_queue``): a slow consumer never blocks
  the source, and the newest frames win. A non-paced replay (``realtime: false``) applies
  backpressure instead: the source waits for room, so every frame is processed and none dropped.
- **DSP** runs :func:`runtime.dsp.chain.process_frame` on raw ADC; an exception on one frame is
  counted (``dsp_errors``) and the frame skipped.
- **Engine** runs :meth:`EventEngine.update_raw` / :meth:`~EventEngine.update_points` under a lock
  (state queries come from other threads), hands the events to ``on_events`` and records the latency
  from frame arrival to that hand-over.

Frame arrival: the source's own receive stamp for live sources (``RawFrame.timestamp`` of the DCA1000
receiver, the UART parser's packet-completion time), the moment the frame is yielded otherwise.
Frame timestamps of a non-paced replay with ``timestamps: arrival`` are the start time plus the
recorded offset (the time the frame would have been played), so tracking and vitals see the
capture's own timing however fast it is read.

A thread that dies of an exception nobody expected (a bug) is logged with its traceback and listed
by :meth:`RadarPipeline.dead_threads`; the daemon's watchdog then stops the daemon with an error.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

import numpy as np

from runtime.config import RadarSettings, WatchdogSettings
from runtime.dsp.chain import DspPlan, make_plan, process_frame
from runtime.events import Event
from runtime.events.engine import EventEngine
from runtime.frames import PointCloudFrame, RawFrame
from runtime.inference.tracks import TrackCut, cut_tracks
from runtime.log import radar_logger
from runtime.sources import registry
from runtime.sources.base import Source, SourceFactory

#: The per-frame hook (the encoder stage's submit): ``(radar_id, cloud, cuts or None)``.
FrameHook = Callable[[str, PointCloudFrame, "list[TrackCut] | None"], None]

__all__ = ["RadarPipeline", "make_source"]

logger = logging.getLogger(__name__)

_POLL_S = 0.1  # how often blocked threads look at the stop flag [s]


def make_source(radar_id: str, settings: RadarSettings) -> SourceFactory:
    """The factory of ``settings.source``, looked up by its ``type``; opens nothing itself."""
    return registry.source_factory(
        settings.source, settings.radar_config, radar_logger(logger, radar_id)
    )


def _percentiles(values: deque[float]) -> dict[str, float | int]:
    if not values:
        return {"n": 0}
    arr = np.fromiter(values, dtype=np.float64) * 1000.0
    p50, p99 = np.percentile(arr, [50, 99])
    return {
        "n": int(arr.size),
        "p50": round(float(p50), 2),
        "p99": round(float(p99), 2),
        "max": round(float(arr.max()), 2),
    }


class _Restamp:
    """Replay timestamps: 'arrival' = now; 'recorded' = as recorded, kept increasing across loops.

    With ``paced=False`` (a replay read as fast as it is processed) 'arrival' is the time of the
    first frame plus each frame's recorded offset from it.
    """

    def __init__(self, mode: str | None, period_s: float, paced: bool = True) -> None:
        self.mode = mode
        self.period_s = period_s
        self.paced = paced
        self._offset = 0.0
        self._last: float | None = None
        self._shift: float | None = None  # non-paced 'arrival': start time - first recorded stamp

    def __call__(self, frame: RawFrame | PointCloudFrame, now: float) -> None:
        if self.mode is None or (self.mode == "arrival" and self.paced):
            if self.mode == "arrival":
                frame.timestamp = now
            return
        t = frame.timestamp + self._offset
        if self._last is not None and t <= self._last:
            self._offset += self._last - t + self.period_s
            t = frame.timestamp + self._offset
        self._last = t
        if self.mode == "arrival":
            if self._shift is None:
                self._shift = now - t
            t += self._shift
        frame.timestamp = t


class RadarPipeline:
    """Capture, DSP and event-engine threads of one radar (see the module docstring).

    Args:
        radar_id: the radar's id (events, logs, topics).
        settings: its validated settings.
        watchdog: stall timeout and restart backoff.
        on_events: called from the engine thread with ``(radar_id, events)`` for every frame that
            produced events; must not block for long.
        on_available: called with ``(radar_id, online)`` when frames start flowing (True) and when
            the source stalls, fails or ends (False).
        source_factory: overrides the source built from ``settings.source`` (the demo plugs a
            virtual radar in here).
        latency_window: latency percentiles cover this many latest frames.
        on_frame: called from the engine thread with ``(radar_id, frame, cuts)`` for every
            point-cloud frame (raw ADC: the DSP chain's points) after its events went out (the
            encoder stage's non-blocking :meth:`~runtime.inference.stage.EncoderStage.submit`);
            ``cuts`` are the confirmed tracks' points and zones
            (:func:`runtime.inference.tracks.cut_tracks`) when ``track_radius_m`` is set, else
            None. An exception is counted (``frame_hook_errors``).
        track_radius_m: how far from a track its points may lie for ``on_frame``'s per-track cuts
            [m]; None = no cuts (windows of the whole cloud).
    """

    def __init__(
        self,
        radar_id: str,
        settings: RadarSettings,
        *,
        watchdog: WatchdogSettings,
        on_events: Callable[[str, list[Event]], None],
        on_available: Callable[[str, bool], None],
        source_factory: SourceFactory | None = None,
        latency_window: int = 1000,
        on_frame: FrameHook | None = None,
        track_radius_m: float | None = None,
    ) -> None:
        self.radar_id = radar_id
        self.settings = settings
        self.radar_config = settings.radar_config
        self.watchdog = watchdog
        self._on_events = on_events
        self._on_available = on_available
        self._on_frame = on_frame
        self.track_radius_m = track_radius_m
        self._factory = source_factory or make_source(radar_id, settings)
        src = settings.source
        self.source_type = src.type if source_factory is None else "custom"
        self._live_stamps = src.live and source_factory is None
        #: a non-paced replay: the source waits for room in the queues (never drops a frame)
        self.backpressure = (
            source_factory is None and src.type == "replay" and not getattr(src, "realtime", True)
        )
        self._restamp = _Restamp(
            src.restamp, self.radar_config.chirp.frame_period_s, paced=not self.backpressure
        )
        self._ends = src.ends
        period = self.radar_config.chirp.frame_period_s
        self.stall_timeout_s = max(settings.stall_timeout_s or watchdog.stall_timeout_s, 3 * period)
        events = settings.events.model_copy(update={"mounting": settings.mounting})
        self.engine = EventEngine(radar_id, events, self.radar_config)
        self.log = radar_logger(logger, radar_id)
        self._capture_q: queue.Queue[tuple[Any, float]] = queue.Queue(settings.queues.capture)
        self._detect_q: queue.Queue[tuple[Any, Any, float]] = queue.Queue(
            settings.queues.detections
        )
        self._plan: DspPlan | None = None
        self._stop = threading.Event()
        self._restart = threading.Event()
        self._restart_reason = ""
        self._capture_done = threading.Event()
        self._dsp_done = threading.Event()
        self._engine_done = threading.Event()
        self._dead: dict[str, str] = {}  # thread -> the exception that ended it
        self._engine_lock = threading.Lock()
        self._lock = threading.Lock()  # counters, phase, source
        self._threads: list[threading.Thread] = []
        self._source: Source | None = None
        self.phase = "idle"  # idle, opening, streaming, backoff, ended, stopped
        self.online = False
        self._last_frame = time.monotonic()
        self._started_at: float | None = None
        self._latency: deque[float] = deque(maxlen=latency_window)
        self._event_latency: deque[float] = deque(maxlen=latency_window)
        self._dsp_time: deque[float] = deque(maxlen=latency_window)
        self._engine_time: deque[float] = deque(maxlen=latency_window)
        self._wait_time: deque[float] = deque(maxlen=latency_window)  # arrival -> DSP start
        self.counters = Counter(
            {
                k: 0
                for k in (
                    "frames",
                    "frames_processed",
                    "dropped_capture_queue",
                    "dropped_detections_queue",
                    "dsp_errors",
                    "engine_errors",
                    "publish_errors",
                    "frame_hook_errors",
                    "source_starts",
                    "source_errors",
                    "source_restarts",
                    "stalls",
                    "chirp_configs_sent",
                    "events",
                )
            }
        )
        self.event_counts: Counter[str] = Counter()
        #: the latest frame's point cloud (POINT_DTYPE ``[n]``, radar frame) for the live web view
        self.latest_points: Any = None
        #: the latest raw-ADC frame's detection map (float32 ``[doppler, range]`` [dB]) or None
        self.latest_range_doppler_db: Any = None

    # ------------------------------------------------------------------ life
    def start(self) -> None:
        """Build the DSP plan (raw-ADC sources) and start the three threads."""
        if self._threads:
            raise RuntimeError(f"pipeline {self.radar_id} started twice")
        if self.settings.source.raw_adc:
            self._plan = make_plan(self.radar_config)
        self._started_at = time.monotonic()
        self._stop.clear()
        for name, target in (
            ("capture", self._capture_loop),
            ("dsp", self._dsp_loop),
            ("engine", self._engine_loop),
        ):
            t = threading.Thread(
                target=self._guarded,
                args=(target,),
                name=f"{self.radar_id}-{name}",
                daemon=True,
            )
            self._threads.append(t)
            t.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Close the source, drain and join the threads (each within ``timeout``), go offline."""
        self._stop.set()
        self._close_source()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
            if t.is_alive():
                self.log.warning("thread %s did not stop within %g s", t.name, timeout)
        self._threads = []
        self._set_online(False)
        self.phase = "stopped"

    @property
    def alive(self) -> bool:
        """True while the capture thread runs (False once a replay ended or after stop)."""
        return bool(self._threads) and self._threads[0].is_alive()

    @property
    def ended(self) -> bool:
        """True once a replay without ``loop`` has ended and every frame it delivered has been
        processed (or dropped and counted, for a paced replay)."""
        return self.phase == "ended"

    def dead_threads(self) -> dict[str, str]:
        """Threads that died of an unexpected exception: name -> ``"Type: message"``."""
        with self._lock:
            return dict(self._dead)

    def _guarded(self, target: Callable[[], None]) -> None:
        """Run a thread's loop; an exception that escapes it is logged and recorded, never silent."""
        try:
            target()
        except BaseException as exc:
            name = threading.current_thread().name
            with self._lock:
                self._dead[name] = f"{type(exc).__name__}: {exc}"
            self.log.critical(
                "thread %s died: %s: %s", name, type(exc).__name__, exc, exc_info=True
            )
            if not isinstance(exc, Exception):
                raise

    @property
    def source(self) -> Source | None:
        """The source in use right now (None between restarts)."""
        return self._source

    # ------------------------------------------------------------------ watchdog
    def check_stall(self, now: float | None = None) -> bool:
        """Restart the source if it has delivered no frame for ``stall_timeout_s``; True if so."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if self.phase != "streaming":
                return False
            quiet = now - self._last_frame
            if quiet < self.stall_timeout_s:
                return False
            self.counters["stalls"] += 1
        self.log.warning(
            "source stalled: no frame for %.1f s (timeout %.1f s); restarting it",
            quiet,
            self.stall_timeout_s,
        )
        self.request_restart(f"no frame for {quiet:.1f} s")
        return True

    def request_restart(self, reason: str) -> None:
        """Close the source now; the capture thread restarts it after the backoff."""
        self._restart_reason = reason
        self._restart.set()
        self._set_online(False)
        self._close_source()

    def _close_source(self) -> None:
        with self._lock:
            source = self._source
        if source is not None:
            try:
                source.close()
            except Exception:  # closing must not raise into the watchdog
                self.log.exception("closing the source failed")

    def _set_online(self, online: bool) -> None:
        with self._lock:
            if self.online == online:
                return
            self.online = online
        self.log.info("radar %s", "online" if online else "offline")
        try:
            self._on_available(self.radar_id, online)
        except Exception:
            self.log.exception("availability callback failed")

    # ------------------------------------------------------------------ capture
    def _capture_loop(self) -> None:
        backoff = self.watchdog.restart_backoff_s
        try:
            while not self._stop.is_set():
                streamed, reason = self._run_source_once()
                if self._stop.is_set():
                    break
                if reason is None:  # a replay reached its end
                    self._finish_replay()
                    return
                self._set_online(False)
                if streamed:
                    backoff = self.watchdog.restart_backoff_s
                with self._lock:
                    self.phase = "backoff"
                    self.counters["source_restarts"] += 1
                self.log.warning("restarting the source in %.1f s (%s)", backoff, reason)
                if self._stop.wait(backoff):
                    break
                backoff = min(backoff * 2, self.watchdog.restart_backoff_max_s)
        finally:
            self._capture_done.set()

    def _finish_replay(self) -> None:
        """Let DSP and the engine take every queued frame, then go offline and count as ended."""
        self._capture_done.set()
        with self._lock:
            self.phase = "draining"
        while not self._engine_done.wait(_POLL_S):
            if self._stop.is_set():
                return
        self._set_online(False)
        self.log.info(
            "capture ended (replay without loop): %d frames, %d processed",
            self.counters["frames"],
            self.counters["frames_processed"],
        )
        self.phase = "ended"

    def _run_source_once(self) -> tuple[bool, str | None]:
        """Build, open and pump one source; (frames flowed, why it ended: None = a finished replay)."""
        self._restart.clear()
        streamed = False
        source: Source | None = None
        with self._lock:
            self.phase = "opening"
        try:
            source, after_open = self._factory()
            with self._lock:
                self._source = source
            if self._stop.is_set():
                return False, "stopping"
            source.open()
            if after_open is not None:
                after_open()
                self._count("chirp_configs_sent")
            with self._lock:
                self.counters["source_starts"] += 1
                self._last_frame = time.monotonic()
                self.phase = "streaming"
            self.log.info(
                "source %s started (start #%d)", source.name, self.counters["source_starts"]
            )
            for frame in source.frames():
                now = time.time()
                with self._lock:
                    self._last_frame = time.monotonic()
                    self.counters["frames"] += 1
                self._restamp(frame, now)
                arrival = frame.timestamp if self._live_stamps else now
                if not streamed:
                    streamed = True
                    self._set_online(True)
                self._put(self._capture_q, (frame, arrival), "dropped_capture_queue")
                if self._stop.is_set() or self._restart.is_set():
                    break
            if self._restart.is_set():
                return streamed, self._restart_reason
            if self._ends and not self._stop.is_set():
                return streamed, None
            return streamed, "the source stopped delivering"
        except Exception as exc:
            if self._stop.is_set() or self._restart.is_set():
                return streamed, self._restart_reason or "stopping"
            self._count("source_errors")
            self.log.error(
                "source failed: %s: %s",
                type(exc).__name__,
                exc,
                exc_info=self.log.isEnabledFor(logging.DEBUG),
            )
            return streamed, f"{type(exc).__name__}: {exc}"
        finally:
            with self._lock:
                self._source = None
                if self.phase == "streaming" or self.phase == "opening":
                    self.phase = "closing"
            if source is not None:
                try:
                    source.close()
                except Exception:
                    self.log.exception("closing the source failed")

    def _count(self, key: str) -> None:
        with self._lock:
            self.counters[key] += 1

    def _put(self, q: queue.Queue[Any], item: Any, drop_counter: str) -> None:
        """Put without blocking; when full, drop the oldest item (counted). With backpressure
        (a non-paced replay), wait for room instead (until the pipeline stops)."""
        if self.backpressure:
            while not self._stop.is_set():
                try:
                    q.put(item, timeout=_POLL_S)
                    return
                except queue.Full:
                    continue
            return
        while True:
            try:
                q.put_nowait(item)
                return
            except queue.Full:
                try:
                    q.get_nowait()
                except queue.Empty:
                    continue
                with self._lock:
                    self.counters[drop_counter] += 1

    # ------------------------------------------------------------------ DSP
    def _dsp_loop(self) -> None:
        try:
            while True:
                try:
                    frame, arrival = self._capture_q.get(timeout=_POLL_S)
                except queue.Empty:
                    if self._capture_done.is_set() or self._stop.is_set():
                        return
                    continue
                t_start = time.time()
                if isinstance(frame, RawFrame):
                    if self._plan is None:
                        self._plan = make_plan(self.radar_config)
                    try:
                        result = process_frame(frame.data, self._plan)
                    except Exception as exc:
                        self._count("dsp_errors")
                        self.log.warning(
                            "DSP failed on frame %d, skipped: %s: %s",
                            frame.frame_number,
                            type(exc).__name__,
                            exc,
                        )
                        continue
                else:
                    result = None
                with self._lock:
                    self._wait_time.append(t_start - arrival)
                    if result is not None:
                        self._dsp_time.append(time.time() - t_start)
                self._put(self._detect_q, (frame, result, arrival), "dropped_detections_queue")
        finally:
            self._dsp_done.set()

    # ------------------------------------------------------------------ engine
    def _engine_loop(self) -> None:
        try:
            self._engine_frames()
        finally:
            self._engine_done.set()

    def _engine_frames(self) -> None:
        while True:
            try:
                frame, result, arrival = self._detect_q.get(timeout=_POLL_S)
            except queue.Empty:
                if self._dsp_done.is_set() or self._stop.is_set():
                    return
                continue
            t_start = time.time()
            try:
                with self._engine_lock:
                    if result is not None:
                        events = self.engine.update_raw(frame, result)
                    else:
                        events = self.engine.update_points(frame)
            except Exception as exc:
                self._count("engine_errors")
                self.log.warning(
                    "event engine failed on frame %d, skipped: %s: %s",
                    frame.frame_number,
                    type(exc).__name__,
                    exc,
                )
                continue
            self.latest_points = result.points if result is not None else frame.points
            if result is not None:
                self.latest_range_doppler_db = result.detection_db
            if events:
                try:
                    self._on_events(self.radar_id, events)
                except Exception:
                    self._count("publish_errors")
                    self.log.exception("publishing %d events failed", len(events))
            if self._on_frame is not None:
                try:
                    cloud = None
                    if isinstance(frame, PointCloudFrame):
                        cloud = frame
                    elif result is not None:  # raw ADC: the DSP chain's points
                        cloud = PointCloudFrame(result.points, frame.frame_number, frame.timestamp)
                    if cloud is not None:
                        self._on_frame(self.radar_id, cloud, self._cuts(cloud))
                except Exception:
                    self._count("frame_hook_errors")
                    self.log.exception("the frame hook failed")
            done = time.time()
            latency = done - arrival
            with self._lock:
                self._engine_time.append(done - t_start)
                self.counters["frames_processed"] += 1
                self._latency.append(latency)
                if events:
                    self.counters["events"] += len(events)
                    self.event_counts.update(e.type for e in events)
                    self._event_latency.append(latency)

    def _cuts(self, cloud: PointCloudFrame) -> list[TrackCut] | None:
        """The confirmed tracks' shares of ``cloud`` for the per-track encoder windows (engine
        thread, after the engine saw the frame)."""
        if self.track_radius_m is None:
            return None
        ev = self.engine.settings  # the radar's events, with its mounting
        return cut_tracks(
            cloud.points, self.engine.tracks, ev.mounting, ev.zones, self.track_radius_m
        )

    # ------------------------------------------------------------------ reports
    def stats(self) -> dict[str, Any]:
        """Counters, queue depths, latency percentiles [ms] and the source's own counters."""
        with self._lock:
            c = dict(self.counters)
            latency = _percentiles(self._latency)
            event_latency = _percentiles(self._event_latency)
            stages = {
                "queue_wait_ms": _percentiles(self._wait_time),
                "dsp_ms": _percentiles(self._dsp_time),
                "engine_ms": _percentiles(self._engine_time),
            }
            events = dict(self.event_counts)
            source = self._source
        uptime = time.monotonic() - self._started_at if self._started_at else 0.0
        doc: dict[str, Any] = {
            "radar": self.radar_id,
            "source_type": self.source_type,
            "phase": self.phase,
            "backpressure": self.backpressure,
            "online": self.online,
            "uptime_s": round(uptime, 1),
            "frames": c["frames"],
            "frames_processed": c["frames_processed"],
            "dropped": {
                "capture_queue": c["dropped_capture_queue"],
                "detections_queue": c["dropped_detections_queue"],
            },
            "queue_depth": {
                "capture": self._capture_q.qsize(),
                "detections": self._detect_q.qsize(),
            },
            "errors": {
                "dsp": c["dsp_errors"],
                "engine": c["engine_errors"],
                "publish": c["publish_errors"],
                "frame_hook": c["frame_hook_errors"],
                "source": c["source_errors"],
            },
            "source_starts": c["source_starts"],
            "source_restarts": c["source_restarts"],
            "stalls": c["stalls"],
            "chirp_configs_sent": c["chirp_configs_sent"],
            "events": c["events"],
            "events_by_type": events,
            "latency_ms": latency,
            "event_latency_ms": event_latency,
            "stages": stages,
        }
        if source is not None:
            doc["source"] = source.stats.as_dict()
        return doc

    def state(self) -> dict[str, Any]:
        """The engine's state (occupancy, count, tracks, vitals, fall) plus availability."""
        with self._engine_lock:
            state = self.engine.state()
        state["online"] = self.online
        return state
