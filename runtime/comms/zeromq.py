"""ZeroMQ publisher: a PUB socket for events, tracks and stats, and a request socket for queries.

PUB messages are two frames, ``[topic, JSON]``; topics end with ``/`` so that a prefix subscription
(``mmfm/kitchen/``) never matches another radar (``mmfm/kitchen2/``)::

    <prefix>/<radar>/event/<type>/            Event.to_json()
    <prefix>/<radar>/event/<type>/<zone>/     events with attributes["zone"] (zone occupancy)
    <prefix>/<radar>/tracks/                  tracks (a ``tracks`` event's JSON)
    <prefix>/<radar>/stats/                   {"radar", "time", "pipeline": {...}, "zeromq": {...}}
    <prefix>/<radar>/available/               {"radar", "time", "online": bool}
    <prefix>/<radar>/embedding/               (opt-in: publish_embeddings) {"time", "radar",
                                              "track", "zone", "label", "confidence",
                                              "embedding": [D]}

Activity events (``event/activity/``) and answers (``event/answer/``) go out like every event.

The PUB socket's high-water mark is ``sndhwm``. With ``count_drops`` (default) the socket is made
``ZMQ_XPUB_NODROP``, so a send that would overflow a subscriber's queue raises ``zmq.Again`` under
``NOBLOCK``: the message is then dropped for every subscriber and counted in ``stats()["dropped_hwm"]``
(libzmq's default would drop it silently for that subscriber only). Sends never block the pipeline.

Requests: a ROUTER socket (clients use REQ, or DEALER for several requests in flight) takes one JSON
object per message, ``{"type": ...}``, and answers one JSON object:

* ``{"type": "ping"}`` -> ``{"type": "pong", "time": ..., "radars": [...]}``
* ``{"type": "state"}`` -> the state provider's JSON (per radar: occupancy, count, tracks, vitals...)
* ``{"type": "ask", "question": "...", "radar": id?, "client": name?, "id": any?, "stream": bool?}``
  (when the daemon answers questions) -> the final reply ``{"type": "answer", "status": "ok" |
  "refused" | "busy" | "error", "answer" or "error", "question", "range", ...}`` once the LLM is
  done; with ``"stream": true`` a DEALER client first gets ``{"type": "token", "text": piece}``
  messages as the answer streams (a REQ client only ever gets the final reply, REQ allows one).
  The rate-limit key is ``client``, else the peer's ZeroMQ identity.
* ``{"type": "search", "text": "...", "since": "24h" | seconds?, "k": 10?, "radar": id?}`` (when
  embeddings are logged) -> ``{"type": "search", "moments": [{"time", "radar", "track", "score",
  "label", "confidence"}, ...]}`` best first, like ``mmfm search``
* anything else -> ``{"error": "unknown request type 'x'; known: state, ping, ..."}``

Request types live in one table (:meth:`ZeroMqCommunicator._request_handlers`). ROUTER rather than
REP so that a slow answer is sent when it is ready without holding up pings and state queries: the
question service's worker thread queues the reply messages in an outbox that the request thread
(the socket's owner) sends.

Hostile requests: every body gets a JSON answer. Bodies that ``json`` cannot take (a 5,000-digit
number, 50,000 nested ``[``, bad UTF-8) are answered ``{"error": ...}`` and counted in
``request_errors``; a reply that cannot be encoded becomes an error reply too. Nothing a peer sends
ends the request thread.

Threads: one background thread (``zmq-requests``) owns the ROUTER socket (zmq sockets are not
thread-safe); PUB sends from any thread go through a lock. Should that thread die anyway (a bug), the
daemon's watchdog calls :meth:`ZeroMqCommunicator.check_threads`, which logs it, binds the request
endpoint again and starts a new thread (``stats()["request_thread_restarts"]``); if the endpoint cannot
be bound again it says so and the daemon stops with an error.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import zmq

from runtime.comms.base import StateProvider
from runtime.comms.settings import RadarInfo, ZeroMqSettings, radar_infos, topic_slug
from runtime.events import Event
from runtime.questions.search import Searcher
from runtime.questions.service import QuestionService, Reply

logger = logging.getLogger(__name__)

_REBIND_TRIES = 20  # binding a dead request thread's endpoint again: tries 0.1 s apart

#: A request's JSON -> the reply's, or None when the reply comes later (through the outbox).
RequestHandler = Callable[[dict[str, Any]], dict[str, Any] | None]


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):  # numpy arrays and scalars
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")


def _dumps(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":"), default=_json_default).encode("utf-8")


class ZeroMqCommunicator:
    """Publishes over a ZeroMQ PUB socket and answers JSON requests on a ROUTER socket.

    Args:
        settings: validated :class:`ZeroMqSettings`.
        radars: the radars (``RadarInfo`` or dicts); their ids are listed in ``pong``.

    The constructor opens nothing; :meth:`start` binds (and raises ``zmq.ZMQError`` if an endpoint
    is taken). Publish methods are thread-safe and never block.
    """

    name = "zeromq"

    def __init__(
        self, settings: ZeroMqSettings, radars: Sequence[RadarInfo | Mapping[str, Any]]
    ) -> None:
        self.settings = settings
        self.radars = {r.id: r for r in radar_infos(radars)}
        self._ctx: zmq.Context[zmq.Socket[bytes]] | None = None
        self._pub: zmq.Socket[bytes] | None = None
        self._pub_lock = threading.Lock()
        self._router: zmq.Socket[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._state_provider: StateProvider | None = None
        self._counts_lock = threading.Lock()
        self._counters = dict.fromkeys(
            (
                "sent",
                "dropped_hwm",
                "dropped_not_started",
                "send_errors",
                "requests",
                "request_errors",
                "request_thread_restarts",
                "questions",
                "searches",
                "embeddings",
            ),
            0,
        )
        self.pub_address: str | None = None  # the bound endpoint (a '*' port resolved)
        self.request_address: str | None = None
        self._thread_error: str | None = None  # why the request thread ended, if it failed
        self._questions: QuestionService | None = None
        self._searcher: Searcher | None = None
        self._envelope: list[bytes] | None = None  # the request being handled (request thread)
        self._outbox: queue.SimpleQueue[tuple[list[bytes], bytes]] = queue.SimpleQueue()
        self._in_flight = 0  # questions whose final reply has not been queued yet

    # -- Communicator -----------------------------------------------------------------------------

    def start(self) -> None:
        """Bind the PUB and request sockets and start the request thread."""
        if self._ctx is not None:
            raise RuntimeError("ZeroMqCommunicator.start() called twice")
        s = self.settings
        ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        linger_ms = int(s.linger_s * 1000)
        try:
            pub = ctx.socket(zmq.PUB)
            pub.setsockopt(zmq.LINGER, linger_ms)
            pub.setsockopt(zmq.SNDHWM, s.sndhwm)
            if s.count_drops:
                pub.setsockopt(zmq.XPUB_NODROP, 1)
            pub.bind(s.pub_endpoint)
            self.pub_address = pub.getsockopt_string(zmq.LAST_ENDPOINT)
            if s.request_endpoint is not None:
                self._router = self._bind_router(ctx, s.request_endpoint)
                self.request_address = self._router.getsockopt_string(zmq.LAST_ENDPOINT)
        except zmq.ZMQError:
            ctx.destroy(linger=0)
            raise
        self._ctx, self._pub = ctx, pub
        self._stop.clear()
        if self._router is not None:
            self._start_request_thread(self._router)
        logger.info(
            "ZeroMQ: publishing on %s (SNDHWM %d), requests on %s",
            self.pub_address,
            s.sndhwm,
            self.request_address or "off",
        )

    def _bind_router(self, ctx: zmq.Context[zmq.Socket[bytes]], endpoint: str) -> zmq.Socket[bytes]:
        router = ctx.socket(zmq.ROUTER)
        router.setsockopt(zmq.LINGER, int(self.settings.linger_s * 1000))
        router.setsockopt(zmq.MAXMSGSIZE, self.settings.max_request_bytes)
        try:
            router.bind(endpoint)
        except zmq.ZMQError:
            router.close(linger=0)
            raise
        return router

    def _start_request_thread(self, router: zmq.Socket[bytes]) -> None:
        # The socket moves to its owning thread here (thread start is a full memory barrier).
        self._thread_error = None
        self._thread = threading.Thread(
            target=self._serve, args=(router,), name="zmq-requests", daemon=True
        )
        self._thread.start()

    def check_threads(self) -> list[str]:
        """Restart the request thread if it died; the names of dead threads it could not restart.

        Called by the daemon's watchdog. A restart binds the request endpoint again (the port a
        ``*`` endpoint resolved to, so clients reconnect to the same address).
        """
        thread, ctx = self._thread, self._ctx
        if thread is None or ctx is None or self._stop.is_set() or thread.is_alive():
            return []
        why = self._thread_error or "ended without an error"
        endpoint = self.request_address or self.settings.request_endpoint
        assert endpoint is not None
        logger.error("ZeroMQ: the request thread died (%s); binding %s again", why, endpoint)
        for attempt in range(_REBIND_TRIES):  # the old socket's port is released asynchronously
            try:
                router = self._bind_router(ctx, endpoint)
                break
            except zmq.ZMQError as err:
                if attempt == _REBIND_TRIES - 1:
                    logger.error("ZeroMQ: cannot bind %s again: %s", endpoint, err)
                    return ["zmq-requests"]
                time.sleep(0.1)
        self._router = router
        self._count("request_thread_restarts")
        self._start_request_thread(router)
        return []

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the request thread and close the sockets (unsent messages get ``linger_s``)."""
        self._stop.set()
        stuck = False
        if self._thread is not None:
            self._thread.join(timeout)
            stuck = self._thread.is_alive()
            if stuck:
                logger.warning("ZeroMQ: the request thread did not stop within %g s", timeout)
            self._thread = None
        self._router = None  # closed by its thread
        with self._pub_lock:
            pub, self._pub = self._pub, None
            if pub is not None:
                pub.close()
        ctx, self._ctx = self._ctx, None
        if ctx is not None:
            if stuck:
                ctx.destroy(linger=0)  # last resort: closes the thread's socket from here
            else:
                ctx.term()  # every socket is closed: returns once linger has passed
        logger.info("ZeroMQ: stopped")

    def set_available(self, radar: str, online: bool) -> None:
        doc = {"radar": radar, "time": time.time(), "online": online}
        self._send(f"{self._radar_topic(radar)}available/", _dumps(doc))

    def publish_event(self, event: Event) -> None:
        if event.type == "tracks":
            topic = f"{self._radar_topic(event.radar)}tracks/"
        else:
            topic = f"{self._radar_topic(event.radar)}event/{event.type}/"
            zone = event.attributes.get("zone")
            if zone is not None:
                topic += f"{topic_slug(str(zone))}/"
        self._send(topic, event.to_json().encode("utf-8"))

    def publish_stats(self, radar: str, stats: dict[str, Any]) -> None:
        doc = {"radar": radar, "time": time.time(), "pipeline": stats, "zeromq": self.stats()}
        try:
            payload = _dumps(doc)
        except TypeError as err:
            self._count("send_errors")
            logger.warning("ZeroMQ: stats for %s not sent: %s", radar, err)
            return
        self._send(f"{self._radar_topic(radar)}stats/", payload)

    def set_state_provider(self, provider: StateProvider) -> None:
        self._state_provider = provider

    def set_question_service(self, service: QuestionService) -> None:
        """Answer ``ask`` requests with ``service``."""
        self._questions = service

    def set_searcher(self, searcher: Searcher) -> None:
        """Answer ``search`` requests with ``searcher``."""
        self._searcher = searcher

    def publish_embedding(
        self,
        radar: str,
        t: float,
        embedding: Any,
        *,
        track: int | None = None,
        label: str | None = None,
        confidence: float | None = None,
        zone: str | None = None,
    ) -> None:
        """One window embedding on ``<prefix>/<radar>/embedding/`` (only with
        ``publish_embeddings``; never blocks)."""
        if not self.settings.publish_embeddings:
            return
        doc = {
            "time": t,
            "radar": radar,
            "track": track,
            "zone": zone,
            "label": label,
            "confidence": confidence,
            "embedding": [round(float(v), 6) for v in embedding],
        }
        self._count("embeddings")
        self._send(f"{self._radar_topic(radar)}embedding/", _dumps(doc))

    def stats(self) -> dict[str, int]:
        """Counters: sent, dropped_hwm (a subscriber's queue was full), dropped_not_started,
        send_errors, requests, request_errors (malformed or unknown requests, failed handlers),
        request_thread_restarts (the request thread died and the watchdog started a new one)."""
        with self._counts_lock:
            return dict(self._counters)

    # -- publishing -------------------------------------------------------------------------------

    def _radar_topic(self, radar: str) -> str:
        return f"{self.settings.topic_prefix}/{topic_slug(radar)}/"

    def _count(self, key: str) -> None:
        with self._counts_lock:
            self._counters[key] += 1

    def _send(self, topic: str, payload: bytes) -> None:
        with self._pub_lock:
            pub = self._pub
            if pub is None:
                self._count("dropped_not_started")
                return
            try:
                pub.send_multipart([topic.encode("utf-8"), payload], flags=zmq.NOBLOCK)
            except zmq.Again:
                self._count("dropped_hwm")
                return
            except zmq.ZMQError as err:
                self._count("send_errors")
                logger.warning("ZeroMQ: send on %s failed: %s", topic, err)
                return
        self._count("sent")

    # -- requests ---------------------------------------------------------------------------------

    def _request_handlers(self) -> dict[str, RequestHandler]:
        """Request types and their handlers (``ask``/``search`` when a service is set)."""
        handlers: dict[str, RequestHandler] = {
            "state": self._handle_state,
            "ping": self._handle_ping,
        }
        if self._questions is not None:
            handlers["ask"] = self._handle_ask
        if self._searcher is not None:
            handlers["search"] = self._handle_search
        return handlers

    def _handle_search(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self._searcher is not None
        self._count("searches")
        try:
            return self._searcher.search(
                request.get("text"),
                since=request.get("since", "24h"),
                k=request.get("k", 10),
                radar=request.get("radar"),
            )
        except ValueError as err:  # bad text/since/k, or the model cannot embed free text
            self._count("request_errors")
            return {"type": "search", "error": str(err)}

    def _handle_ask(self, request: dict[str, Any]) -> dict[str, Any] | None:
        service = self._questions
        envelope = self._envelope
        assert service is not None
        self._count("questions")
        if envelope is None:
            return {"type": "answer", "status": "error", "error": "ask needs the request socket"}
        radar = request.get("radar")
        if radar is not None and not isinstance(radar, str):
            return {"type": "answer", "status": "refused", "error": "radar must be a radar id"}
        who = request.get("client")
        client = str(who)[:100] if who is not None else "zmq-" + envelope[0].hex()
        rid = request.get("id")
        is_req = len(envelope) > 1 and envelope[-1] == b""  # REQ puts an empty delimiter
        stream = bool(request.get("stream")) and not is_req
        with self._counts_lock:
            self._in_flight += 1

        def on_token(piece: str) -> None:
            self._outbox.put((envelope, _dumps({"type": "token", "text": piece})))

        def on_done(reply: Reply) -> None:
            self._outbox.put((envelope, _dumps(reply.to_dict())))
            with self._counts_lock:
                self._in_flight -= 1

        service.ask(
            request.get("question"),
            client=client,
            radar=radar,
            request_id=None if rid is None else str(rid)[:100],
            on_token=on_token if stream else None,
            on_done=on_done,
        )
        return None

    def _handle_ping(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"type": "pong", "time": time.time(), "radars": list(self.radars)}

    def _handle_state(self, request: dict[str, Any]) -> dict[str, Any]:
        provider = self._state_provider
        if provider is None:
            self._count("request_errors")
            return {"error": "no state yet: the daemon has not set a state provider"}
        return provider()

    def handle_request(self, body: bytes, envelope: list[bytes] | None = None) -> bytes | None:
        """The JSON reply to one request body (also usable without sockets); never raises.
        None: the reply comes later through the outbox (``ask`` with an ``envelope``)."""
        self._envelope = envelope
        try:
            return self._answer(body)
        except Exception as err:  # a reply that cannot be encoded, or a bug: answer, never die
            self._count("request_errors")
            logger.warning("ZeroMQ: request failed: %s: %s", type(err).__name__, err)
            return _dumps({"error": f"request failed: {type(err).__name__}"})

    def _answer(self, body: bytes) -> bytes | None:
        handlers = self._request_handlers()
        known = ", ".join(handlers)
        try:
            request = json.loads(body)
        except (ValueError, RecursionError) as err:
            # ValueError covers bad UTF-8, bad JSON and integers past sys.get_int_max_str_digits();
            # RecursionError deep nesting. Their messages are short and name no input.
            self._count("request_errors")
            reason = "nested too deeply" if isinstance(err, RecursionError) else str(err)[:200]
            return _dumps({"error": f"request is not JSON: {reason}"})
        if not isinstance(request, dict) or "type" not in request:
            self._count("request_errors")
            return _dumps({"error": f"a request is a JSON object with a 'type'; known: {known}"})
        kind = request["type"]
        handler = handlers.get(kind) if isinstance(kind, str) else None
        if handler is None:
            self._count("request_errors")
            return _dumps({"error": f"unknown request type {kind!r}; known: {known}"})
        try:
            doc = handler(request)
            return None if doc is None else _dumps(doc)
        except Exception as err:  # a failing provider must not kill the request thread
            self._count("request_errors")
            logger.exception("ZeroMQ: %r request failed", kind)
            return _dumps({"error": f"{kind} request failed: {type(err).__name__}: {err}"})

    def _serve(self, router: zmq.Socket[bytes]) -> None:
        poller = zmq.Poller()
        poller.register(router, zmq.POLLIN)
        try:
            while not self._stop.is_set():
                self._send_outbox(router)
                # [ms]: how soon stop() (and a streamed answer's next piece) is noticed
                if not poller.poll(10 if self._in_flight else 50):
                    continue
                frames = router.recv_multipart(zmq.NOBLOCK)
                if len(frames) < 2:
                    continue  # a ROUTER always prefixes the peer identity
                self._count("requests")
                envelope, body = frames[:-1], frames[-1]  # REQ: [id, b"", body]; DEALER: [id, body]
                reply = self.handle_request(body, envelope)
                if reply is None:
                    continue  # an answer to come (outbox)
                try:
                    router.send_multipart([*envelope, reply], flags=zmq.NOBLOCK)
                except zmq.ZMQError as err:  # the peer went away
                    logger.debug("ZeroMQ: reply not sent: %s", err)
        except BaseException as err:
            if not self._stop.is_set():
                self._thread_error = f"{type(err).__name__}: {err}"
                logger.error("ZeroMQ: request thread failed: %s", self._thread_error)
            if not isinstance(err, Exception):
                raise
        finally:
            router.close()

    def _send_outbox(self, router: zmq.Socket[bytes]) -> None:
        """Send the replies the question service queued (request thread only)."""
        while True:
            try:
                envelope, payload = self._outbox.get_nowait()
            except queue.Empty:
                return
            try:
                router.send_multipart([*envelope, payload], flags=zmq.NOBLOCK)
            except zmq.ZMQError as err:  # the asker went away
                logger.debug("ZeroMQ: answer not sent: %s", err)
