"""The encoder stage: sliding point-cloud windows per track (or per radar) -> CLMP embeddings ->
activity events per track, per zone and per radar.

::

    engine thread (per radar)              [bounded queue]            encoder thread (one, shared)
    EncoderStage.submit(radar, frame, cuts) ──► window of a track ──► point_window -> embed
      keeps each track's last window_s        full: drop the oldest    -> zero-shot probabilities
      of points (runtime.inference.tracks)    window, counted          -> ActivityTracker per track
      a window every stride_s per track       (track ends never         -> ActivityBoard -> on_events
                                               dropped)                 -> EmbeddingLog (optional)

:meth:`EncoderStage.submit` only copies frame references and never waits, so a slow encoder costs
dropped windows (``dropped`` in :meth:`EncoderStage.stats`), never delayed occupancy or fall events.

**Per track** (``activities.per: track``, the default): every confirmed track gets its own windows,
made of the points near it in each frame (:func:`runtime.inference.tracks.cut_tracks`), so two people
doing different things get different labels; the window's zone is where the track stood at its end.
**Per radar** (``per: radar``): one window of the whole cloud, as a single-person room needs.

:class:`ActivityTracker` turns a track's per-window probabilities into changes that do not flap: a
label is taken once it has been the most likely one, with probability >= ``min_confidence`` (by
default twice the chance level, 2 / L) and at least ``margin`` above the current activity's, for
``min_duration_s`` of radar time in a row.

:class:`ActivityBoard` turns the tracks' changes into the ``activity`` events of a radar:

- every change of a track's activity is an event for the radar (``attributes``: ``track_id``,
  ``track_zone`` = the zone it is in, ``since``, ``labels``; like the fall and vitals events); the radar's Home Assistant sensor thus
  shows the latest change of anyone in its view;
- each zone shows the activity of the track in it that changed last, as an event with
  ``attributes["zone"]`` (and ``track_id``) (published on ``<prefix>/<radar>/activity/<zone>``) whenever that label
  changes: a track changing activity inside, a labelled track walking in, or the zone's last
  labelled track leaving or ending (the zone then shows :data:`NO_ACTIVITY`);
- when a track ends (leaves the view) and the radar showed its label, the radar falls back to the
  latest label of the tracks still there, or :data:`NO_ACTIVITY` when none has one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from runtime.embeddinglog import EmbeddingLog
from runtime.events import NO_ACTIVITY, Event
from runtime.frames import PointCloudFrame
from runtime.inference.encoder import PointEncoder, zero_shot_probabilities
from runtime.inference.tracks import TrackCut
from runtime.inference.window import point_window

__all__ = ["NO_ACTIVITY", "ActivityBoard", "ActivityTracker", "EncoderStage"]

logger = logging.getLogger(__name__)


class ActivityTracker:
    """Hysteresis and minimum duration over per-window label probabilities (module docstring).

    Args:
        labels: the L labels, in probability-column order.
        min_confidence: probability a label needs to become the activity (0..1); None = twice
            the chance level, 2 / L (0.4 for 5 labels, 0.1 for 20): a softmax over many labels
            spreads a still window's probability thin (sitting on a sofa reads sitting 0.27-0.36
            over the 20 ``home`` labels with the shipped model), so one absolute threshold would
            suit one label count only.
        margin: how much more probable than the current activity it must be (0..1).
        min_duration_s: how long it must hold, by window time [s].
    """

    def __init__(
        self,
        labels: Sequence[str],
        *,
        min_confidence: float | None = None,
        margin: float = 0.1,
        min_duration_s: float = 1.0,
    ) -> None:
        self.labels = list(labels)
        self.min_confidence = 2.0 / len(self.labels) if min_confidence is None else min_confidence
        self.margin = margin
        self.min_duration_s = min_duration_s
        self.current: int | None = None
        self._candidate: int | None = None
        self._since = 0.0
        self._probs: list[float] = []

    def update(self, t: float, probs: np.ndarray) -> tuple[str, float, float] | None:
        """Feed one window's probabilities ``[L]`` at time ``t`` [s].

        Returns:
            ``(label, confidence, since)`` when the activity changes (confidence = the label's mean
            probability over the windows that confirmed it; since = when it started [s]), else None.
        """
        probs = np.asarray(probs, dtype=np.float64)
        best = int(probs.argmax())
        p = float(probs[best])
        ok = best != self.current and p >= self.min_confidence
        if ok and self.current is not None:
            ok = p - float(probs[self.current]) >= self.margin
        if not ok:
            self._candidate = None
            return None
        if best != self._candidate:
            self._candidate, self._since, self._probs = best, t, []
        self._probs.append(p)
        if t - self._since < self.min_duration_s:
            return None
        self.current, self._candidate = best, None
        return self.labels[best], float(np.mean(self._probs)), self._since


@dataclass
class _TrackActivity:
    label: str | None = None
    confidence: float = 0.0
    since: float = 0.0
    changed_at: float = float("-inf")  # when its label last changed [s]
    zone: str | None = None


@dataclass
class ActivityBoard:
    """What the radar and each of its zones show, from their tracks' activities (module docstring).

    Args:
        radar: the radar id (the events' ``radar``).
        num_labels: L (the events' ``attributes["labels"]``).
    """

    radar: str
    num_labels: int
    tracks: dict[int | None, _TrackActivity] = field(default_factory=dict)
    shown: dict[str | None, str] = field(default_factory=dict)  # None = the radar, else a zone

    def _event(self, t: float, value: str, confidence: float, **attributes: Any) -> Event:
        attributes.setdefault("labels", self.num_labels)
        return Event(
            type="activity",
            time=t,
            value=value,
            confidence=min(1.0, max(0.0, confidence)),
            radar=self.radar,
            attributes=attributes,
        )

    def _latest(self, zone: str | None, *, anywhere: bool) -> tuple[int | None, _TrackActivity]:
        """The labelled track (in ``zone``, or ``anywhere``) whose label changed last."""
        best: tuple[int | None, _TrackActivity] | None = None
        for tid, act in self.tracks.items():
            if act.label is None or (not anywhere and act.zone != zone):
                continue
            if best is None or act.changed_at > best[1].changed_at:
                best = (tid, act)
        return best if best is not None else (None, _TrackActivity())

    def _zones(self, t: float, zones: set[str]) -> list[Event]:
        out = []
        for zone in sorted(zones):
            tid, act = self._latest(zone, anywhere=False)
            value = act.label if act.label is not None else NO_ACTIVITY
            if self.shown.get(zone, NO_ACTIVITY) == value:
                continue
            self.shown[zone] = value
            out.append(
                self._event(
                    t,
                    value,
                    act.confidence if act.label is not None else 1.0,
                    zone=zone,
                    track_id=tid,
                    since=act.since if act.label is not None else t,
                )
            )
        return out

    def update(
        self,
        t: float,
        track: int | None,
        zone: str | None,
        change: tuple[str, float, float] | None,
    ) -> list[Event]:
        """A window of ``track`` (None = the whole radar) ended at ``t`` in ``zone``, with its
        tracker's ``change`` (``(label, confidence, since)`` or None)."""
        act = self.tracks.setdefault(track, _TrackActivity())
        touched = {z for z in (act.zone, zone) if z is not None}
        act.zone = zone
        out = []
        if change is not None:
            act.label, act.confidence, act.since = change
            act.changed_at = t
            self.shown[None] = act.label
            attributes: dict[str, Any] = {"since": act.since}
            if track is not None:
                attributes.update(track_id=track, track_zone=zone)
            out.append(self._event(t, act.label, act.confidence, **attributes))
        return out + self._zones(t, touched)

    def end(self, t: float, track: int) -> list[Event]:
        """``track`` ended (left the view) at ``t``."""
        act = self.tracks.pop(track, None)
        if act is None:
            return []
        out = []
        if act.label is not None and self.shown.get(None) == act.label:
            tid, latest = self._latest(None, anywhere=True)
            value = latest.label if latest.label is not None else NO_ACTIVITY
            if value != act.label:
                self.shown[None] = value
                out.append(
                    self._event(
                        t,
                        value,
                        latest.confidence if latest.label is not None else 1.0,
                        track_id=tid,
                        track_zone=latest.zone,
                        since=latest.since if latest.label is not None else t,
                        ended_track=track,
                    )
                )
        return out + self._zones(t, {act.zone} if act.zone is not None else set())


@dataclass(frozen=True, slots=True)
class _Window:
    radar: str
    track: int | None
    zone: str | None
    frames: list[PointCloudFrame]


@dataclass(frozen=True, slots=True)
class _End:
    radar: str
    track: int
    time: float


class _TrackBuffer:
    """The last ``window_s`` of one track's (or radar's) points and when its next window is due."""

    __slots__ = ("frames", "next_at", "zone")

    def __init__(self) -> None:
        self.frames: deque[PointCloudFrame] = deque()
        self.next_at: float | None = None
        self.zone: str | None = None


class EncoderStage:
    """Embeds sliding windows of every track (or radar) in one thread (module docstring).

    Args:
        encoder: the point encoder (its model's input contract sets the window).
        labels: the L activity labels.
        prototypes: float32 ``[L, D]`` text prototypes of ``labels``.
        on_events: called from the encoder thread with ``(radar_id, events)``.
        embedding_log: where window embeddings go (None = not stored).
        stride_s: a window every this many seconds of radar time [s].
        queue_size: windows waiting for the encoder; the oldest is dropped when full.
        min_points: windows with fewer points are skipped (counted), not embedded.
        tracker: keyword arguments for each track's :class:`ActivityTracker`.
    """

    def __init__(
        self,
        encoder: PointEncoder,
        labels: Sequence[str],
        prototypes: np.ndarray,
        on_events: Callable[[str, list[Event]], None],
        *,
        embedding_log: EmbeddingLog | None = None,
        stride_s: float = 0.5,
        queue_size: int = 4,
        min_points: int = 8,
        tracker: dict[str, float] | None = None,
    ) -> None:
        if NO_ACTIVITY in labels:
            raise ValueError(f"{NO_ACTIVITY!r} cannot be an activity label (it means nobody)")
        self.encoder = encoder
        self.labels = list(labels)
        self.prototypes = np.asarray(prototypes, np.float32)
        self.logit_scale = encoder.model.logit_scale
        self.contract = encoder.model.input_contract
        self.window_s = float(self.contract["window_s"])
        self.stride_s = stride_s
        self.queue_size = queue_size
        self.min_points = min_points
        self._on_events = on_events
        self.embedding_log = embedding_log
        self._tracker_args = dict(tracker or {})
        # engine side (one engine thread per radar; each touches only its radar's entries)
        self._buffers: dict[tuple[str, int | None], _TrackBuffer] = {}
        # the queue: windows (bounded, the oldest dropped) and track ends (never dropped)
        self._items: deque[_Window | _End] = deque()
        self._waiting = 0  # windows in _items
        self._cv = threading.Condition()
        # encoder side
        self.trackers: dict[tuple[str, int | None], ActivityTracker] = {}
        self.boards: dict[str, ActivityBoard] = {}
        self._board_lock = threading.Lock()  # boards: written by the encoder, read by state()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._busy = False
        self._times: deque[float] = deque(maxlen=1000)
        self.counters = {
            "windows": 0,
            "embedded": 0,
            "dropped": 0,
            "skipped_sparse": 0,
            "errors": 0,
            "events": 0,
            "tracks_ended": 0,
        }

    # ------------------------------------------------------------------ engine side
    def submit(
        self, radar: str, frame: PointCloudFrame, cuts: Sequence[TrackCut] | None = None
    ) -> None:
        """Add a frame of ``radar`` (called from its engine thread; never blocks).

        Args:
            radar: the radar id.
            frame: its point cloud (radar frame).
            cuts: per confirmed track, its points and zone (:func:`~runtime.inference.tracks.
                cut_tracks`): windows per track; None = one window of the whole cloud.
        """
        t = frame.timestamp
        if cuts is None:
            self._add(radar, None, None, frame)
            return
        for cut in cuts:
            part = PointCloudFrame(cut.points, frame.frame_number, t)
            self._add(radar, cut.track, cut.zone, part)
        live = {cut.track for cut in cuts}
        gone = [k for k in self._buffers if k[0] == radar and k[1] is not None and k[1] not in live]
        for key in gone:
            del self._buffers[key]
            assert key[1] is not None
            self._put(_End(radar, key[1], t))

    def _add(self, radar: str, track: int | None, zone: str | None, frame: PointCloudFrame) -> None:
        buf = self._buffers.get((radar, track))
        if buf is None:
            buf = self._buffers[(radar, track)] = _TrackBuffer()
        buf.frames.append(frame)
        buf.zone = zone
        t = frame.timestamp
        while buf.frames and buf.frames[0].timestamp <= t - self.window_s:
            buf.frames.popleft()
        if buf.next_at is None:
            buf.next_at = t + self.window_s  # the first full window
        if t < buf.next_at:
            return
        buf.next_at = max(buf.next_at + self.stride_s, t)
        with self._lock:
            self.counters["windows"] += 1
        self._put(_Window(radar, track, zone, list(buf.frames)))

    def _put(self, item: _Window | _End) -> None:
        dropped = 0
        with self._cv:
            self._items.append(item)
            if isinstance(item, _Window):
                self._waiting += 1
                while self._waiting > self.queue_size:  # drop the oldest window, keep the ends
                    oldest = next(i for i, x in enumerate(self._items) if isinstance(x, _Window))
                    del self._items[oldest]
                    self._waiting -= 1
                    dropped += 1
            self._cv.notify()
        if dropped:
            with self._lock:
                self.counters["dropped"] += dropped

    # ------------------------------------------------------------------ life
    def start(self) -> None:
        """Start the encoder thread."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="encoder", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread (the window being embedded finishes; queued ones are dropped)."""
        self._stop.set()
        with self._cv:
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def idle(self) -> bool:
        """True when no window waits or is being embedded."""
        with self._cv:
            waiting = bool(self._items)
        with self._lock:
            return not waiting and not self._busy

    def _next(self) -> _Window | _End | None:
        with self._cv:
            if not self._items:
                self._cv.wait(0.1)
            if not self._items:
                return None
            item = self._items.popleft()
            if isinstance(item, _Window):
                self._waiting -= 1
            with self._lock:
                self._busy = True
            return item

    def _loop(self) -> None:
        while not self._stop.is_set():
            item = self._next()
            if item is None:
                continue
            try:
                if isinstance(item, _End):
                    self._end(item)
                else:
                    self._process(item)
            except Exception as exc:
                with self._lock:
                    self.counters["errors"] += 1
                logger.warning(
                    "encoder failed on a window of %s, skipped: %s: %s",
                    item.radar,
                    type(exc).__name__,
                    exc,
                )
            finally:
                with self._lock:
                    self._busy = False

    def _board(self, radar: str) -> ActivityBoard:
        board = self.boards.get(radar)
        if board is None:
            board = self.boards[radar] = ActivityBoard(radar, len(self.labels))
        return board

    def _publish(self, radar: str, events: list[Event]) -> None:
        if events:
            with self._lock:
                self.counters["events"] += len(events)
            self._on_events(radar, events)

    def _end(self, item: _End) -> None:
        self.trackers.pop((item.radar, item.track), None)
        with self._lock:
            self.counters["tracks_ended"] += 1
        with self._board_lock:
            events = self._board(item.radar).end(item.time, item.track)
        self._publish(item.radar, events)

    def _process(self, item: _Window) -> None:
        t0 = time.perf_counter()
        frames = item.frames
        points, mask = point_window(frames, self.contract)  # [T, P, 5], [T, P]
        if mask.sum() < self.min_points:
            with self._lock:
                self.counters["skipped_sparse"] += 1
            return
        emb = self.encoder.embed(points[None], mask[None])  # [1, D]
        probs = zero_shot_probabilities(emb, self.prototypes, self.logit_scale)[0]  # [L]
        t = frames[-1].timestamp
        best = int(probs.argmax())
        key = (item.radar, item.track)
        tracker = self.trackers.get(key)
        if tracker is None:
            tracker = self.trackers[key] = ActivityTracker(self.labels, **self._tracker_args)
        change = tracker.update(t, probs)
        with self._lock:
            self.counters["embedded"] += 1
            self._times.append(time.perf_counter() - t0)
        if self.embedding_log is not None:
            row = (
                t,
                item.radar,
                item.track,
                emb[0],
                self.labels[best],
                float(probs[best]),
                item.zone,
            )
            self.embedding_log.extend([row])
        with self._board_lock:
            events = self._board(item.radar).update(t, item.track, item.zone, change)
        self._publish(item.radar, events)

    def activities(self, radar: str) -> dict[int | None, tuple[str | None, str | None]]:
        """``track id -> (activity label or None, zone or None)`` of ``radar``'s tracks now
        (None = the whole radar when ``per: radar``); any thread."""
        with self._board_lock:
            board = self.boards.get(radar)
            if board is None:
                return {}
            return {tid: (a.label, a.zone) for tid, a in board.tracks.items()}

    def stats(self) -> dict[str, Any]:
        """Counters and the encoder's time per window [ms] (p50/p99)."""
        with self._lock:
            doc: dict[str, Any] = dict(self.counters)
            times = np.fromiter(self._times, np.float64) * 1000.0
        with self._cv:
            doc["queue_depth"] = self._waiting
        doc["tracks"] = len(self.trackers)
        if times.size:
            p50, p99 = np.percentile(times, [50, 99])
            doc["encode_ms"] = {
                "n": int(times.size),
                "p50": round(float(p50), 2),
                "p99": round(float(p99), 2),
            }
        return doc


def resolve_labels(
    model: Any, labels: str | Sequence[str], templates: Sequence[str] | None = None
) -> tuple[list[str], np.ndarray]:
    """``(labels, prototypes [L, D])`` for ``activities.labels``.

    Each prototype is a prompt ensemble: the normalised mean text embedding of the label in every
    prompt template ("a person is {}", "someone is {}", ...). A shipped label set comes with its
    prototypes made with the card's ``prompt_templates``; free labels, or other ``templates``,
    are embedded here with the model's text tower.

    Args:
        model: the :class:`~runtime.models.ModelArtifact`.
        labels: a label set shipped with the model, or free labels (need its text tower).
        templates: ``activities.prompt_templates`` (None = the card's).

    Raises:
        ModelError: one line naming the ``activities`` key and what to do.
    """
    from runtime.models import ModelError

    if not isinstance(labels, str) and NO_ACTIVITY in labels:
        raise ModelError(
            f"activities.labels: {NO_ACTIVITY!r} is what the sensors show when nobody has an "
            "activity; name that label otherwise"
        )
    if isinstance(labels, str):
        if labels not in model.label_sets:
            shipped = ", ".join(model.label_sets) or "none"
            raise ModelError(
                f"activities.labels: model {model.name} ships no label set {labels!r} "
                f"(shipped: {shipped}); name one of them or list free labels"
            )
        if templates is None:
            return list(model.label_sets[labels]), model.prototypes(labels)
        labels = list(model.label_sets[labels])
    if not model.has_text_encoder:
        key = "free labels" if templates is None else "prompt_templates"
        raise ModelError(
            f"activities.{'labels' if templates is None else 'prompt_templates'}: {key} need a "
            f"text tower, and model {model.name} ships none; use a label set "
            f"({', '.join(model.label_sets)}) with the card's templates, or a model exported with "
            "'mmfm export onnx --text'"
        )
    from runtime.inference.text import TextEncoder  # needs the optional tokenizers package

    return list(labels), TextEncoder(model).prototypes(list(labels), templates)


def query_vector(model: Any, text: str) -> np.ndarray:
    """float32 ``[D]`` embedding of a search text.

    A text that is a label of a shipped label set, alone or in one of the card's prompt templates
    ("someone is falling"), uses that label's shipped prototype; any other text needs the model's
    text tower.

    Raises:
        ModelError: free text and no text tower (one line saying so and what works instead).
    """
    from runtime.models import ModelError

    wanted = " ".join(text.lower().split())
    templates = ["{}", *(model.card.get("prompt_templates") or [])]
    for name, labels in model.label_sets.items():
        for i, label in enumerate(labels):
            if any(wanted == t.format(label).lower() for t in templates):
                return model.prototypes(name)[i]
    if not model.has_text_encoder:
        known = sorted({label for labels in model.label_sets.values() for label in labels})
        raise ModelError(
            f"free-text search needs a text tower and model {model.name} ships none (export one "
            f"with 'mmfm export onnx --text'); search for a label instead: {', '.join(known)}"
        )
    from runtime.inference.text import TextEncoder

    return TextEncoder(model).prototypes([text])[0]
