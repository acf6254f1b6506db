"""The encoder stage: sliding point-cloud windows per radar -> CLMP embeddings -> activity events.

::

    engine thread (per radar)          [bounded queue]          encoder thread (one, shared)
    EncoderStage.submit(radar, frame) ──► (radar, frames) ──► point_window -> PointEncoder.embed
      keeps the last window_s of frames   full: drop oldest,     -> zero-shot probabilities
      a window every stride_s             counted                -> ActivityTracker -> on_events
                                                                 -> EmbeddingLog (optional)

:meth:`EncoderStage.submit` only copies frame references and never waits, so a slow encoder costs
dropped windows (``dropped`` in :meth:`EncoderStage.stats`), never delayed occupancy or fall events.
Activities are per radar (the whole cloud), not yet per track or zone.

:class:`ActivityTracker` turns per-window probabilities into events that do not flap: a label is
published once it has been the most likely one, with probability >= ``min_confidence`` and at least
``margin`` above the current activity's, for ``min_duration_s`` of radar time in a row.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from runtime.embeddinglog import EmbeddingLog, Row
from runtime.events import Event
from runtime.frames import PointCloudFrame
from runtime.inference.encoder import PointEncoder, zero_shot_probabilities
from runtime.inference.window import point_window

__all__ = ["ActivityTracker", "EncoderStage"]

logger = logging.getLogger(__name__)


class ActivityTracker:
    """Hysteresis and minimum duration over per-window label probabilities (module docstring).

    Args:
        labels: the L labels, in probability-column order.
        min_confidence: probability a label needs to become the activity (0..1).
        margin: how much more probable than the current activity it must be (0..1).
        min_duration_s: how long it must hold, by window time [s].
    """

    def __init__(
        self,
        labels: Sequence[str],
        *,
        min_confidence: float = 0.4,
        margin: float = 0.1,
        min_duration_s: float = 1.0,
    ) -> None:
        self.labels = list(labels)
        self.min_confidence = min_confidence
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


class EncoderStage:
    """Embeds sliding windows of every radar in one thread (module docstring).

    Args:
        encoder: the point encoder (its model's input contract sets the window).
        labels: the L activity labels.
        prototypes: float32 ``[L, D]`` text prototypes of ``labels``.
        on_events: called from the encoder thread with ``(radar_id, events)``.
        embedding_log: where window embeddings go (None = not stored).
        stride_s: a window every this many seconds of radar time [s].
        queue_size: windows waiting for the encoder; the oldest is dropped when full.
        min_points: windows with fewer points are skipped (counted), not embedded.
        tracker: keyword arguments for each radar's :class:`ActivityTracker`.
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
        self.encoder = encoder
        self.labels = list(labels)
        self.prototypes = np.asarray(prototypes, np.float32)
        self.logit_scale = encoder.model.logit_scale
        self.contract = encoder.model.input_contract
        self.window_s = float(self.contract["window_s"])
        self.stride_s = stride_s
        self.min_points = min_points
        self._on_events = on_events
        self.embedding_log = embedding_log
        self._tracker_args = dict(tracker or {})
        self._queue: queue.Queue[tuple[str, list[PointCloudFrame]]] = queue.Queue(queue_size)
        self._buffers: dict[str, deque[PointCloudFrame]] = {}
        self._next_at: dict[str, float] = {}
        self.trackers: dict[str, ActivityTracker] = {}
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
        }

    # ------------------------------------------------------------------ engine side
    def submit(self, radar: str, frame: PointCloudFrame) -> None:
        """Add a frame of ``radar`` (called from its engine thread; never blocks)."""
        buf = self._buffers.setdefault(radar, deque())
        buf.append(frame)
        t = frame.timestamp
        while buf and buf[0].timestamp <= t - self.window_s:
            buf.popleft()
        start = self._next_at.setdefault(radar, t + self.window_s)  # first full window
        if t < start:
            return
        self._next_at[radar] = max(start + self.stride_s, t)
        item = (radar, list(buf))
        with self._lock:
            self.counters["windows"] += 1
        while True:
            try:
                self._queue.put_nowait(item)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    continue
                with self._lock:
                    self.counters["dropped"] += 1

    # ------------------------------------------------------------------ life
    def start(self) -> None:
        """Start the encoder thread."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="encoder", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread (the window being embedded finishes; queued ones are dropped)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def idle(self) -> bool:
        """True when no window waits or is being embedded."""
        with self._lock:
            return self._queue.empty() and not self._busy

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                radar, frames = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            with self._lock:
                self._busy = True
            try:
                self._process(radar, frames)
            except Exception as exc:
                with self._lock:
                    self.counters["errors"] += 1
                logger.warning(
                    "encoder failed on a window of %s, skipped: %s: %s",
                    radar,
                    type(exc).__name__,
                    exc,
                )
            finally:
                with self._lock:
                    self._busy = False

    def _process(self, radar: str, frames: list[PointCloudFrame]) -> None:
        t0 = time.perf_counter()
        points, mask = point_window(frames, self.contract)  # [T, P, 5], [T, P]
        if mask.sum() < self.min_points:
            with self._lock:
                self.counters["skipped_sparse"] += 1
            return
        emb = self.encoder.embed(points[None], mask[None])  # [1, D]
        probs = zero_shot_probabilities(emb, self.prototypes, self.logit_scale)[0]  # [L]
        t = frames[-1].timestamp
        best = int(probs.argmax())
        tracker = self.trackers.get(radar)
        if tracker is None:
            tracker = self.trackers[radar] = ActivityTracker(self.labels, **self._tracker_args)
        change = tracker.update(t, probs)
        with self._lock:
            self.counters["embedded"] += 1
            self._times.append(time.perf_counter() - t0)
        if self.embedding_log is not None:
            row: Row = (t, radar, None, emb[0], self.labels[best], float(probs[best]))
            self.embedding_log.extend([row])
        if change is not None:
            label, confidence, since = change
            event = Event(
                type="activity",
                time=t,
                value=label,
                confidence=min(1.0, max(0.0, confidence)),
                radar=radar,
                attributes={"since": since, "labels": len(self.labels)},
            )
            with self._lock:
                self.counters["events"] += 1
            self._on_events(radar, [event])

    def stats(self) -> dict[str, Any]:
        """Counters and the encoder's time per window [ms] (p50/p99)."""
        with self._lock:
            doc: dict[str, Any] = dict(self.counters)
            times = np.fromiter(self._times, np.float64) * 1000.0
        doc["queue_depth"] = self._queue.qsize()
        if times.size:
            p50, p99 = np.percentile(times, [50, 99])
            doc["encode_ms"] = {
                "n": int(times.size),
                "p50": round(float(p50), 2),
                "p99": round(float(p99), 2),
            }
        return doc


def resolve_labels(model: Any, labels: str | Sequence[str]) -> tuple[list[str], np.ndarray]:
    """``(labels, prototypes [L, D])`` for ``activities.labels``.

    Args:
        model: the :class:`~runtime.models.ModelArtifact`.
        labels: a label set shipped with the model, or free labels (need its text tower).

    Raises:
        ModelError: one line naming the ``activities.labels`` key and what to do.
    """
    from runtime.models import ModelError

    if isinstance(labels, str):
        if labels not in model.label_sets:
            shipped = ", ".join(model.label_sets) or "none"
            raise ModelError(
                f"activities.labels: model {model.name} ships no label set {labels!r} "
                f"(shipped: {shipped}); name one of them or list free labels"
            )
        return list(model.label_sets[labels]), model.prototypes(labels)
    if not model.has_text_encoder:
        raise ModelError(
            f"activities.labels: free labels need a text tower, and model {model.name} ships none; "
            f"use a label set ({', '.join(model.label_sets)}) or a model exported with "
            "'mmfm export onnx --text'"
        )
    from runtime.inference.text import TextEncoder  # needs the optional tokenizers package

    return list(labels), TextEncoder(model).prototypes(list(labels))


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
