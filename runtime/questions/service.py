"""The question service: questions in, streamed answers out, one question at a time per LLM.

::

    transport thread (MQTT, ZeroMQ, web)        worker thread per LLM ("llm-0", ...)
    QuestionService.ask(question, client) ──►  [pending: at most `queue` waiting] ──►
      refused at once: empty, too long,           gather(): time range -> logged events +
      unknown radar, too many from this client,   live tracks + one window embedding
      busy (every LLM busy and the queue full)    Answerer.answer(...) -> pieces -> on_token
                                                  -> answer Event (on_events) -> on_done(Reply)

:meth:`QuestionService.ask` never waits: it checks the question and either queues it or calls
``on_done`` at once with a refusal (``status`` ``refused`` or ``busy``). Answers stream through
``on_token`` (one text piece per call) from the worker thread, then ``on_done`` gets the final
:class:`Reply`. Every successful answer is also an ``answer`` :class:`~runtime.events.Event`
(value = the answer text) handed to ``on_events``: the app logs it and publishes it (MQTT's plain
``<prefix>/<radar>/answer`` topic, ZeroMQ PUB, the web page's event list).

Limits: at most ``max_question_chars`` characters; at most ``per_client_per_minute`` accepted
questions per client in any 60 s (the refusal says how long to wait); ``queue`` questions waiting
beyond those being answered. The radar pipeline never waits for any of this.

The answerer is the contract's :class:`runtime.llm.answer.Answerer` (llama.cpp, no torch); anything
with the same ``answer`` method works (:class:`AnswererLike`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from runtime.embeddinglog import EmbeddingLog
from runtime.eventlog import EventLog
from runtime.events import Event
from runtime.questions.facts import gather
from runtime.questions.settings import QuestionSettings
from runtime.questions.timerange import TimeRange, time_range

__all__ = ["AnswererLike", "QuestionService", "RateLimiter", "Reply", "Ticket"]

logger = logging.getLogger(__name__)

#: Reply statuses: answered, refused (bad question, too many), busy (queue full), error (LLM failed).
STATUSES = ("ok", "refused", "busy", "error")


class AnswererLike(Protocol):
    """What the service needs of an LLM (``runtime.llm.answer.Answerer``)."""

    def answer(
        self,
        question: str,
        *,
        events: Sequence[Event],
        now: float,
        embedding: np.ndarray | None,
        max_tokens: int = 64,
        room: str | None = None,
    ) -> Iterator[str]: ...


@dataclass
class Reply:
    """The outcome of one question (JSON via :meth:`to_dict`).

    Attributes:
        status: ``ok``, ``refused``, ``busy`` or ``error``.
        question: the question as asked (cut to 200 characters in refusals of long ones).
        client: who asked (rate limits are per client).
        radar: the radar asked about (None = all).
        answer: the answer text (``ok``).
        error: why there is no answer (other statuses), one line.
        asked: when it was asked [s since the epoch].
        id: the asker's request id, echoed (MQTT 3.1.1 askers match answers by it).
        range: the time range the answer covers.
        events: events the answer was made from.
        window_time: end time of the radar window shown to the mm-LLM [s], or None.
        wait_s / ttft_s / total_s: queue wait, time to the first piece, ask to done [s].
    """

    status: str
    question: str
    client: str
    radar: str | None = None
    answer: str = ""
    error: str | None = None
    asked: float = 0.0
    id: str | None = None
    range: TimeRange | None = None
    events: int = 0
    window_time: float | None = None
    wait_s: float | None = None
    ttft_s: float | None = None
    total_s: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "type": "answer",
            "status": self.status,
            "question": self.question,
            "client": self.client,
            "radar": self.radar,
            "asked": self.asked,
        }
        if self.id is not None:
            doc["id"] = self.id
        if self.ok:
            doc["answer"] = self.answer
        else:
            doc["error"] = self.error
        if self.range is not None:
            doc["range"] = self.range.to_dict()
            doc["events"] = self.events
            doc["window_time"] = self.window_time
        for key in ("wait_s", "ttft_s", "total_s"):
            value = getattr(self, key)
            if value is not None:
                doc[key] = round(value, 4)
        return doc


@dataclass
class Ticket:
    """A question handed to the service; :meth:`wait` for its :class:`Reply`."""

    question: str
    client: str
    radar: str | None
    asked: float
    id: str | None = None
    on_token: Callable[[str], None] | None = None
    on_done: Callable[[Reply], None] | None = None
    reply: Reply | None = None
    _done: threading.Event = field(default_factory=threading.Event)

    def wait(self, timeout: float | None = None) -> Reply | None:
        """The reply once there is one (None if ``timeout`` [s] passed first)."""
        self._done.wait(timeout)
        return self.reply

    @property
    def done(self) -> bool:
        return self._done.is_set()


class RateLimiter:
    """At most ``limit`` accepted actions per key in any ``period_s`` (a sliding window).

    Args:
        limit: actions per key per window.
        period_s: the window [s].
        max_keys: keys remembered; the stalest are forgotten beyond this (bounded memory).
    """

    def __init__(self, limit: int, period_s: float = 60.0, max_keys: int = 10_000) -> None:
        self.limit, self.period_s, self.max_keys = limit, period_s, max_keys
        self._seen: dict[str, deque[float]] = {}

    def wait_s(self, key: str, now: float) -> float:
        """0 when ``key`` may act now, else how long until it may [s]."""
        times = self._seen.get(key)
        if times is None:
            return 0.0
        while times and times[0] <= now - self.period_s:
            times.popleft()
        if len(times) < self.limit:
            return 0.0
        return times[0] + self.period_s - now

    def record(self, key: str, now: float) -> None:
        times = self._seen.pop(key, None) or deque()
        times.append(now)
        self._seen[key] = times  # re-inserted: dict order = staleness
        while len(self._seen) > self.max_keys:
            self._seen.pop(next(iter(self._seen)))


class QuestionService:
    """Answers questions with one or more LLMs, each in its own thread (module docstring).

    Args:
        settings: the ``questions:`` settings.
        answerers: one LLM per worker thread (``settings.instances`` of them, usually).
        radars: the daemon's radar ids (questions about others are refused).
        event_log / embedding_log: where facts and windows come from (None = not kept).
        state_provider: the app's live state (tracks), or None.
        query_vector: the question text -> its CLMP text embedding ``[D]`` (``window: nearest``).
        on_events: ``(radar, [answer event])`` for the app's event log and publishers.
        clock: the current time [s since the epoch].
        rooms: radar -> the context's ``Room:`` text (``runtime.llm.context.zones_words`` of its
            zones); a radar without one gets no Room line.
    """

    def __init__(
        self,
        settings: QuestionSettings,
        answerers: Sequence[AnswererLike],
        *,
        radars: Sequence[str],
        event_log: EventLog | None = None,
        embedding_log: EmbeddingLog | None = None,
        state_provider: Callable[[], dict[str, Any]] | None = None,
        query_vector: Callable[[str], np.ndarray] | None = None,
        on_events: Callable[[str, list[Event]], None] | None = None,
        clock: Callable[[], float] = time.time,
        rooms: Mapping[str, str | None] | None = None,
    ) -> None:
        if not answerers:
            raise ValueError("the question service needs at least one answerer")
        if not radars:
            raise ValueError("the question service needs at least one radar")
        self.settings = settings
        self.answerers = list(answerers)
        self.radars = list(radars)
        self.event_log = event_log
        self.embedding_log = embedding_log
        self.state_provider = state_provider
        self.query_vector = query_vector
        self.on_events = on_events
        self.rooms = dict(rooms or {})
        self._clock = clock
        self._limiter = RateLimiter(settings.per_client_per_minute)
        self._pending: deque[Ticket] = deque()
        self._cond = threading.Condition()
        self._busy = 0  # workers answering now
        self._stop = threading.Event()
        self._threads: dict[int, threading.Thread] = {}
        self._ttft: deque[float] = deque(maxlen=1000)
        self._total: deque[float] = deque(maxlen=1000)
        self.counters = dict.fromkeys(
            ("asked", "answered", "refused", "busy", "errors", "tokens", "thread_restarts"), 0
        )

    # ------------------------------------------------------------------ life
    def start(self) -> None:
        """Start one worker thread per answerer."""
        self._stop.clear()
        for i in range(len(self.answerers)):
            self._start_worker(i)

    def _start_worker(self, i: int) -> None:
        thread = threading.Thread(target=self._work, args=(i,), name=f"llm-{i}", daemon=True)
        self._threads[i] = thread
        thread.start()

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop the workers (an answer being generated finishes its current token); questions
        still waiting get an ``error`` reply. True when every worker thread has ended (only then
        may the answerers be closed)."""
        self._stop.set()
        with self._cond:
            waiting = list(self._pending)
            self._pending.clear()
            self._cond.notify_all()
        for ticket in waiting:
            self._finish(ticket, self._reply(ticket, "error", error="the daemon is stopping"))
        for thread in self._threads.values():
            thread.join(timeout)
        ended = not any(t.is_alive() for t in self._threads.values())
        self._threads = {}
        return ended

    def check_threads(self) -> list[str]:
        """Restart dead worker threads (the daemon's watchdog calls this); nothing stays dead."""
        if self._stop.is_set():
            return []
        for i, thread in list(self._threads.items()):
            if not thread.is_alive():
                logger.error("questions: the LLM thread %s died; starting it again", thread.name)
                self._count("thread_restarts")
                self._start_worker(i)
        return []

    # ------------------------------------------------------------------ asking
    def ask(
        self,
        question: Any,
        *,
        client: str = "anonymous",
        radar: str | None = None,
        request_id: str | None = None,
        on_token: Callable[[str], None] | None = None,
        on_done: Callable[[Reply], None] | None = None,
    ) -> Ticket:
        """Queue a question (never waits); refusals reach ``on_done`` before this returns.

        Args:
            question: the question text (anything else is refused).
            client: who asks (the rate limit's key): an MQTT client, a ZeroMQ peer, an address.
            radar: the radar asked about; None = every radar (one radar: that one).
            request_id: echoed in the reply.
            on_token: called with each answer piece as it streams (worker thread).
            on_done: called once with the final :class:`Reply` (worker thread, or the caller's
                for refusals).
        """
        now = self._clock()
        text = question.strip() if isinstance(question, str) else ""
        if radar is None and len(self.radars) == 1:
            radar = self.radars[0]
        ticket = Ticket(text, str(client), radar, now, request_id, on_token, on_done)
        self._count("asked")
        s = self.settings
        why = None
        if not isinstance(question, str):
            why = "a question is a text"
        elif not text:
            why = "empty question"
        elif len(text) > s.max_question_chars:
            ticket.question = text[:200]
            why = (
                f"question too long: {len(text)} characters, at most {s.max_question_chars}; "
                "ask something shorter"
            )
        elif radar is not None and radar not in self.radars:
            why = f"unknown radar {radar!r}; this daemon has {', '.join(self.radars)}"
        if why is not None:
            self._count("refused")
            self._finish(ticket, self._reply(ticket, "refused", error=why))
            return ticket
        with self._cond:
            wait = self._limiter.wait_s(ticket.client, now)
            if wait > 0:
                status = "refused"
                why = (
                    f"too many questions from {ticket.client}: at most "
                    f"{s.per_client_per_minute} a minute; ask again in {max(1, round(wait))} s"
                )
            elif self._stop.is_set() or not self._threads:
                status, why = "busy", "the question service is not running"
            elif len(self._pending) >= s.queue + (len(self.answerers) - self._busy):
                status = "busy"
                why = (
                    f"busy: {self._busy} question(s) being answered and {len(self._pending)} "
                    "waiting; ask again in a moment"
                )
            else:
                self._limiter.record(ticket.client, now)
                self._pending.append(ticket)
                self._cond.notify()
                return ticket
        self._count("busy" if status == "busy" else "refused")
        self._finish(ticket, self._reply(ticket, status, error=why))
        return ticket

    # ------------------------------------------------------------------ answering
    def _work(self, i: int) -> None:
        answerer = self.answerers[i]
        while not self._stop.is_set():
            with self._cond:
                while not self._pending and not self._stop.is_set():
                    self._cond.wait(0.5)
                if self._stop.is_set():
                    return
                ticket = self._pending.popleft()
                self._busy += 1
            try:
                reply = self._answer(answerer, ticket)
            except Exception as exc:  # a bug here must not end the thread
                logger.exception("questions: answering failed")
                reply = self._reply(ticket, "error", error=f"{type(exc).__name__}: {exc}")
            finally:
                with self._cond:
                    self._busy -= 1
            self._count({"ok": "answered", "error": "errors"}.get(reply.status, "refused"))
            if reply.ok:
                self._publish(reply)
            self._finish(ticket, reply)

    def _answer(self, answerer: AnswererLike, ticket: Ticket) -> Reply:
        s = self.settings
        start = self._clock()
        t0 = time.monotonic()
        trange = time_range(
            ticket.question, start, default_span_s=s.default_span_s, now_span_s=s.now_span_s
        )
        state = None
        if self.state_provider is not None:
            try:
                state = self.state_provider()
            except Exception as exc:
                logger.warning("questions: no live state (%s)", exc)
        query = None
        if self.query_vector is not None:
            qv = self.query_vector
            query = lambda: qv(ticket.question)  # noqa: E731
        facts = gather(
            trange,
            radar=ticket.radar,
            event_log=self.event_log,
            embedding_log=self.embedding_log,
            state=state,
            max_events=s.max_events,
            window=s.window,
            query=query,
        )
        pieces: list[str] = []
        ttft = None
        try:
            for piece in answerer.answer(
                ticket.question,
                events=facts.events,
                now=trange.until,
                embedding=facts.embedding,
                max_tokens=s.max_tokens,
                room=self.rooms.get(ticket.radar),
            ):
                if ttft is None:
                    ttft = time.monotonic() - t0
                pieces.append(piece)
                self._count("tokens")
                if ticket.on_token is not None:
                    try:
                        ticket.on_token(piece)
                    except Exception as exc:  # a gone asker must not stop the answer
                        logger.debug("questions: on_token failed: %s", exc)
                if self._stop.is_set():
                    break
        except ValueError as exc:  # the answerer refuses the question (empty, too long)
            return self._reply(ticket, "refused", error=str(exc), trange=trange)
        except Exception as exc:
            logger.error("questions: the LLM failed: %s: %s", type(exc).__name__, exc)
            return self._reply(ticket, "error", error=f"the LLM failed: {type(exc).__name__}")
        total = time.monotonic() - t0
        with self._cond:
            self._total.append(total)
            if ttft is not None:
                self._ttft.append(ttft)
        reply = self._reply(ticket, "ok", trange=trange)
        reply.answer = "".join(pieces).strip()
        reply.events = len(facts.events)
        reply.window_time = facts.window_time
        reply.wait_s = start - ticket.asked
        reply.ttft_s = ttft
        reply.total_s = self._clock() - ticket.asked
        return reply

    def _reply(
        self,
        ticket: Ticket,
        status: str,
        *,
        error: str | None = None,
        trange: TimeRange | None = None,
    ) -> Reply:
        return Reply(
            status=status,
            question=ticket.question,
            client=ticket.client,
            radar=ticket.radar,
            error=error,
            asked=ticket.asked,
            id=ticket.id,
            range=trange,
        )

    def _publish(self, reply: Reply) -> None:
        if self.on_events is None:
            return
        radar = reply.radar or self.radars[0]
        attributes: dict[str, Any] = {
            "question": reply.question,
            "client": reply.client,
            "status": reply.status,
            "since": reply.range.since if reply.range else None,
            "until": reply.range.until if reply.range else None,
            "events": reply.events,
            "window_time": reply.window_time,
        }
        if reply.radar is None:
            attributes["radars"] = "all"
        if reply.id is not None:
            attributes["id"] = reply.id
        event = Event("answer", self._clock(), reply.answer, 1.0, radar, attributes)
        try:
            self.on_events(radar, [event])
        except Exception as exc:
            logger.error("questions: publishing an answer failed: %s", exc)

    def _finish(self, ticket: Ticket, reply: Reply) -> None:
        ticket.reply = reply
        ticket._done.set()
        if ticket.on_done is not None:
            try:
                ticket.on_done(reply)
            except Exception as exc:
                logger.warning("questions: on_done failed: %s: %s", type(exc).__name__, exc)

    def _count(self, key: str) -> None:
        with self._cond:
            self.counters[key] += 1

    # ------------------------------------------------------------------ stats
    def stats(self) -> dict[str, Any]:
        """Counters, queue depth, LLMs busy, and time to first token / answer time [ms] p50/p99."""
        with self._cond:
            doc: dict[str, Any] = dict(self.counters)
            doc["waiting"] = len(self._pending)
            doc["answering"] = self._busy
            series = {"ttft_ms": list(self._ttft), "answer_ms": list(self._total)}
        for key, values in series.items():
            if values:
                p50, p99 = np.percentile(np.asarray(values) * 1000.0, [50, 99])
                doc[key] = {
                    "n": len(values),
                    "p50": round(float(p50), 1),
                    "p99": round(float(p99), 1),
                }
        return doc
