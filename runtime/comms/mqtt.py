"""MQTT publisher (paho-mqtt 2.x) with Home Assistant discovery.

Topic layout (``<prefix>`` = ``MqttSettings.topic_prefix``, ``<radar>`` and ``<zone>`` made topic-safe
with :func:`~runtime.comms.settings.topic_slug`; the table is :class:`~runtime.comms.topics.MqttTopics`)::

    <prefix>/available                     online/offline, retained; the MQTT last will (daemon alive)
    <prefix>/<radar>/available             online/offline, retained (the radar's pipeline is up);
                                           the last will of the radar's own connection
    <prefix>/<radar>/<type>                Event.to_json(); QoS event_qos; retained for state types
    <prefix>/<radar>/<type>/<zone>         events with attributes["zone"] (zone occupancy)
    <prefix>/<radar>/tracks                tracks, QoS 0, never retained
    <prefix>/<radar>/stats                 periodic stats, QoS 0
    <prefix>/<radar>/ask                   (inbound) questions, when the daemon answers them
    <prefix>/<radar>/answer                answers (an ``answer`` event; the MQTT 3.1.1 reply topic)
    homeassistant/...                      discovery, see :mod:`runtime.comms.homeassistant`

Availability survives a killed daemon. One MQTT connection has one last will, so each radar's
``<prefix>/<radar>/available`` is published by a small connection of its own
(:class:`~runtime.comms.availability.RadarAvailability`: same broker, credentials, TLS and
protocol; client id ``<client_id>-radar-<radar>``) whose last will sets it ``offline`` (retained),
while the main connection's will covers ``<prefix>/available``. When the daemon is killed (SIGKILL,
power loss) the broker sends every will: a client that connects afterwards reads ``offline`` on the
daemon topic and on every radar topic. Home Assistant's discovery lists both topics
(``availability_mode: all``: the radar entities need the daemon and the radar up), and a restarted
daemon publishes every radar as ``offline`` as soon as it connects, before its frames flow. Retained
event states (occupancy, count, ...) are valid while their radar's topic says ``online``.

TLS: the broker's certificate is checked against ``tls_ca_certs`` (or the system CAs) and the host
name; a failed check is logged as such ("the TLS certificate of HOST:PORT failed verification
against CA: unable to get local issuer certificate"), counted in ``stats()["tls_failures"]`` and
given by :meth:`MqttCommunicator.connect_problem`, never as an unreachable broker.

Inbound topics are routed through one table (:meth:`MqttCommunicator._routes`) that is subscribed
after every (re)connect: Home Assistant's ``homeassistant/status`` and, once a question service is
set (:meth:`MqttCommunicator.set_question_service`), ``<prefix>/+/ask``.

Questions: the payload of ``<prefix>/<radar>/ask`` is the question as plain UTF-8 text, or a JSON
object ``{"question": ..., "id": ..., "client": ...}`` (``id`` is echoed back; ``client`` names the
asker for the per-client rate limit). An MQTT 5 asker sets the *response topic* (and usually
*correlation data*): the answer streams there as ``{"type": "token", "text": piece}`` messages
followed by one final ``{"type": "answer", "status": "ok"|"refused"|"busy"|"error", "answer" or
"error", "question", "id", "range", ...}`` (QoS 1, each with the request's correlation data).
Every successful answer is also an ``answer`` event on ``<prefix>/<radar>/answer`` (value = the
text, ``attributes`` = question, client, id, status ``ok``, time range) -- the reply topic of MQTT
3.1.1 askers, who cannot name a response topic; a 3.1.1 asker's refusal goes there too, as the final
message above plus ``"value"`` (the refusal in words, for Home Assistant's "Last answer" sensor).
The rate-limit key is ``client`` from the JSON, else the response topic, else ``mqtt``: limit who
may publish on ``<prefix>/+/ask`` with the broker's ACL (``runtime/examples/mosquitto.acl``).

Reliability: paho reconnects with exponential backoff (``reconnect_*_delay_s``). While the broker is
away, QoS>0 messages wait in paho's in-memory queue (at most ``max_queued_messages``; beyond that new
ones are dropped and counted) and go out when it returns; QoS 0 messages (tracks, stats) are dropped
and counted. After every connect the communicator republishes ``<prefix>/available`` = online, each
radar's availability, the discovery configs and (after a reconnect) the latest retained states, in
case the broker lost its retained messages. A refused connection (bad user name or password, not
authorised) is logged as an error and counted in ``stats()["auth_failures"]``; ``start(wait=True)``
raises :class:`MqttAuthError` for it.
"""

from __future__ import annotations

import json
import logging
import os
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from runtime.comms.availability import RadarAvailability
from runtime.comms.base import StateProvider
from runtime.comms.homeassistant import Discovery
from runtime.comms.mqtt_ask import handle_ask
from runtime.comms.settings import MqttSettings, RadarInfo, radar_infos, topic_slug
from runtime.comms.topics import OFFLINE, ONLINE, MqttTopics
from runtime.events import Event
from runtime.process_stats import ProcessStats
from runtime.questions.service import QuestionService

logger = logging.getLogger(__name__)

#: CONNACK reason codes that mean "your credentials are wrong" (MQTT 5 values; paho maps the
#: 3.1.1 return codes 4 and 5 onto them).
AUTH_REASON_CODES = {134: "bad user name or password", 135: "not authorized"}


class MqttError(RuntimeError):
    """The MQTT publisher could not do what was asked."""


class MqttAuthError(MqttError):
    """The broker refused our credentials."""


class MqttConnectError(MqttError):
    """No connection within the time ``start(wait=True)`` was given."""


def mmfm_version() -> str:
    """The installed mmfm version (``runtime`` must not import the ``mmfm`` CLI package)."""
    try:
        return metadata.version("mmfm")
    except metadata.PackageNotFoundError:
        return "unknown"


class MqttCommunicator:
    """Publishes events, tracks, stats and availability over MQTT, with Home Assistant discovery.

    Args:
        settings: validated :class:`MqttSettings`.
        radars: the radars (``RadarInfo`` or dicts with ``id``, ``name``, ``board``, ``zones``).

    The constructor touches no network; :meth:`start` connects. Every publish method is thread-safe
    (paho's ``publish`` is) and never blocks: offline, QoS>0 messages are queued (bounded, counted)
    and QoS 0 messages dropped (counted).
    """

    name = "mqtt"

    def __init__(
        self, settings: MqttSettings, radars: Sequence[RadarInfo | Mapping[str, Any]]
    ) -> None:
        self.settings = settings
        self.radars = {r.id: r for r in radar_infos(radars)}
        slugs = [topic_slug(r) for r in self.radars]
        if len(set(slugs)) != len(slugs):
            raise ValueError(f"radar ids collide once made topic-safe: {sorted(self.radars)}")
        for radar in self.radars.values():
            zone_slugs = [topic_slug(z) for z in radar.zones]
            if len(set(zone_slugs)) != len(zone_slugs):
                raise ValueError(f"radar {radar.id!r}: zone names collide once made topic-safe")
        self.topics = MqttTopics(settings.topic_prefix)
        self.discovery = Discovery(
            self.topics, settings.discovery_prefix, mmfm_version(), qos=settings.event_qos
        )
        self._client: mqtt.Client | None = None
        self._state_provider: StateProvider | None = None
        self._questions: QuestionService | None = None
        self._lock = threading.Lock()  # guards the fields below; never held while calling paho
        # Serialises publishing availability and retained states, so that a republish after a
        # reconnect never overtakes a newer value published from another thread.
        self._order = threading.RLock()
        self._available: dict[str, bool] = dict.fromkeys(self.radars, False)
        self._links: dict[str, RadarAvailability] = {}  # radar id -> its availability connection
        self._removed: set[str] = set()
        self._retained: dict[str, str] = {}  # latest retained state payload per topic
        self._app_stats: dict[str, dict[str, Any]] = {}
        self._connected = threading.Event()
        self._first_reason: ReasonCode | None = None
        self._tls_error: Exception | None = None  # the last failed TLS handshake's error
        self._last_problem: str | None = None
        self._stopping = False
        self._stats_stop = threading.Event()
        self._stats_thread: threading.Thread | None = None
        self._process = ProcessStats()
        self._counters = dict.fromkeys(
            (
                "connects",
                "reconnects",
                "disconnects",
                "connect_failures",
                "auth_failures",
                "published",
                "delivered",
                "dropped_queue_full",
                "dropped_offline",
                "tls_failures",
                "discovery_announcements",
                "ha_restarts",
                "questions",
            ),
            0,
        )

    # -- Communicator -----------------------------------------------------------------------------

    def start(self, wait: bool = False, timeout: float = 10.0) -> None:
        """Connect in the background (paho's network thread) and keep reconnecting.

        Args:
            wait: block until the first connection is accepted.
            timeout: how long to wait [s].

        Raises:
            MqttAuthError: (``wait``) the broker refused the credentials.
            MqttConnectError: (``wait``) no accepted connection within ``timeout``, or the
                password's environment variable is missing.
        """
        if self._client is not None:
            raise MqttError("MqttCommunicator.start() called twice")
        s = self.settings
        client = self.new_client(s.client_id)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message_unrouted
        for topic, handler in self._routes():
            client.message_callback_add(topic, handler)
        client.max_queued_messages_set(s.max_queued_messages)
        # The last will is registered with the CONNECT packet, so before connecting.
        client.will_set(self.topics.available(), OFFLINE, qos=1, retain=True)
        self._client = client
        self._stopping = False
        self._stats_stop.clear()
        self._first_reason = None
        logger.info(
            "MQTT: connecting to %s:%d as %r (user %r, TLS %s, MQTT %s)",
            s.host,
            s.port,
            s.client_id,
            s.username,
            "on" if s.use_tls else "off",
            s.protocol,
        )
        client.connect_async(s.host, s.port, keepalive=s.keepalive)
        client.loop_start()
        with self._lock:
            available = dict(self._available)
        for radar in self.radars:
            link = RadarAvailability(
                self.new_client(f"{s.client_id}-radar-{topic_slug(radar)}"),
                self.topics.available(radar),
                s.host,
                s.port,
                s.keepalive,
            )
            link.set(available[radar])
            self._links[radar] = link
            link.start()
        if s.stats_interval_s > 0:
            self._stats_thread = threading.Thread(
                target=self._stats_loop, name="mqtt-stats", daemon=True
            )
            self._stats_thread.start()
        if not wait:
            return
        deadline = time.monotonic() + timeout
        while not self._connected.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.stop()
                raise MqttConnectError(
                    f"MQTT: no connection to {s.host}:{s.port} within {timeout:g} s"
                )
            self._connected.wait(min(remaining, 0.05))
            reason = self._first_reason
            if reason is not None and reason.value in AUTH_REASON_CODES:
                self.stop()
                raise MqttAuthError(self._auth_message(reason))
        # Each radar's will is registered once its connection is up: wait for them a little.
        for radar, link in self._links.items():
            if not link.wait_connected(max(0.0, deadline - time.monotonic())):
                logger.warning("MQTT: availability connection of radar %r not up yet", radar)

    def new_client(self, client_id: str) -> mqtt.Client:
        """An unconnected paho client with this daemon's broker settings: protocol, credentials,
        TLS and reconnect backoff (the main connection and every radar's availability connection).

        Raises:
            MqttConnectError: the password's environment variable is missing.
        """
        s = self.settings
        password = None
        if s.password_env:
            password = os.environ.get(s.password_env)
            if password is None:
                raise MqttConnectError(
                    f"mqtt.password_env names ${s.password_env}, which is not set in the environment"
                )
        protocol = MQTTProtocolVersion.MQTTv5 if s.protocol == "5" else MQTTProtocolVersion.MQTTv311
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=protocol,
        )
        client.reconnect_delay_set(s.reconnect_min_delay_s, s.reconnect_max_delay_s)  # type: ignore[arg-type]
        if s.username:
            client.username_pw_set(s.username, password)
        if s.use_tls:
            client.tls_set_context(self._tls_context())
            client.tls_insecure_set(s.tls_insecure)
        client.suppress_exceptions = True  # a failing callback is logged, never ends paho's thread
        return client

    def _tls_context(self) -> ssl.SSLContext:
        """The TLS context paho connects with; its sockets remember why a handshake failed, so a
        certificate that fails verification is reported as such (paho says only "failed")."""
        s = self.settings
        context = ssl.create_default_context(cafile=s.tls_ca_certs)
        if s.tls_certfile:
            context.load_cert_chain(s.tls_certfile, s.tls_keyfile)
        owner = self

        class _Socket(ssl.SSLSocket):
            def do_handshake(self, block: bool = False) -> None:
                try:
                    super().do_handshake(block)
                except (ssl.SSLError, ssl.CertificateError) as err:
                    owner._tls_error = err
                    raise
                owner._tls_error = None

        context.sslsocket_class = _Socket
        return context

    def connect_problem(self) -> str | None:
        """Why the last connection attempt failed, in words (None: no failure seen)."""
        return self._last_problem

    def check_threads(self) -> list[str]:
        """Restart the stats thread if it died (called by the daemon's watchdog); nothing is left
        dead, so the list is always empty."""
        thread = self._stats_thread
        if thread is None or thread.is_alive() or self._stats_stop.is_set():
            return []
        logger.error("MQTT: the stats thread died; starting it again")
        self._stats_thread = threading.Thread(
            target=self._stats_loop, name="mqtt-stats", daemon=True
        )
        self._stats_thread.start()
        return []

    def stop(self, timeout: float = 5.0) -> None:
        """Publish ``offline`` for every radar and the daemon, then disconnect (no last will)."""
        client = self._client
        self._stopping = True
        self._stats_stop.set()
        if self._stats_thread is not None:
            self._stats_thread.join(timeout)
            self._stats_thread = None
        if client is None:
            return
        with self._lock:
            links, self._links = self._links, {}
        if not self._connected.is_set():
            # nothing to say: close the main connection first, so that it stops retrying now
            self._close(client, daemon_offline_sent=False)
        for radar, link in links.items():  # radars first, then the daemon
            was_online = link.online
            if not link.stop(timeout, self.settings.protocol == "5") and was_online:
                logger.warning("MQTT: could not say that radar %r is offline", radar)
        if self._client is None:
            return  # closed above
        with self._order:
            info = client.publish(self.topics.available(), OFFLINE, qos=1, retain=True)
        deadline = time.monotonic() + timeout
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            self._count("dropped_queue_full")  # the queue is full of older messages
        else:
            self._count("published")
            while not info.is_published() and time.monotonic() < deadline:
                time.sleep(0.01)
        self._close(client, daemon_offline_sent=info.rc == 0 and info.is_published())

    def _close(self, client: mqtt.Client, daemon_offline_sent: bool) -> None:
        """Disconnect the main connection (asking for the will when MQTT 5 and 'offline' was not
        delivered) and stop its network thread."""
        unsent = self.stats()["queued"]
        if unsent:
            logger.warning("MQTT: stopping with %d queued messages unsent", unsent)
        if self._connected.is_set() and not daemon_offline_sent and self.settings.protocol == "5":
            # Could not say 'offline' ourselves: ask the broker to send the last will instead.
            client.disconnect(
                reasoncode=ReasonCode(PacketTypes.DISCONNECT, "Disconnect with will message")
            )
        else:
            client.disconnect()
        client.loop_stop()
        self._client = None
        self._connected.clear()
        logger.info("MQTT: stopped")

    def set_available(self, radar: str, online: bool) -> None:
        """Publish ``radar``'s availability on its own connection (whose last will is ``offline``)."""
        with self._order:
            with self._lock:
                self._available[radar] = online
                link = self._links.get(radar)
            if link is not None:
                link.set(online)

    def publish_event(self, event: Event) -> None:
        topic = self.topics.event(event)
        payload = event.to_json()
        if event.type == "tracks":
            self._publish(topic, payload, 0, False)
            return
        retain = self.settings.retain_state and event.type in self.settings.state_event_types
        if not retain:
            self._publish(topic, payload, self.settings.event_qos, False)
            return
        with self._order:
            with self._lock:
                self._retained[topic] = payload
            self._publish(topic, payload, self.settings.event_qos, True)

    def publish_stats(self, radar: str, stats: dict[str, Any]) -> None:
        """Keep the pipeline's latest stats; they go out every ``stats_interval_s`` (or now if 0)."""
        with self._lock:
            self._app_stats[radar] = dict(stats)
        if self.settings.stats_interval_s == 0:
            self._send_stats(radar)

    def set_state_provider(self, provider: StateProvider) -> None:
        """Kept for request/reply over MQTT (questions); nothing queries it over MQTT yet."""
        self._state_provider = provider

    def set_question_service(self, service: QuestionService) -> None:
        """Answer questions on ``<prefix>/+/ask`` (set before :meth:`start`; see the module
        docstring)."""
        self._questions = service

    def stats(self) -> dict[str, int]:
        """Counters: connects, reconnects, disconnects, connect_failures, auth_failures, published
        (accepted by paho), delivered (QoS>0 acknowledged by the broker, QoS 0 written), queued
        (published, not yet delivered: waiting for the broker), dropped_queue_full (over
        max_queued_messages), dropped_offline (QoS 0 while away, or before start), tls_failures
        (a TLS handshake failed: the broker's certificate did not verify, and so on),
        discovery_announcements, ha_restarts, questions (ask messages received), connected (0/1)."""
        with self._lock:
            out = dict(self._counters)
        out["queued"] = max(0, out["published"] - out["delivered"])
        out["connected"] = int(self._connected.is_set())
        return out

    # -- Home Assistant ---------------------------------------------------------------------------

    def announce(self) -> None:
        """Publish (retained) discovery for the hub and every radar not removed."""
        if not self.settings.discovery:
            return
        messages = self.discovery.hub_messages()
        with self._lock:
            radars = [r for rid, r in self.radars.items() if rid not in self._removed]
            self._counters["discovery_announcements"] += 1
        for radar in radars:
            messages += self.discovery.radar_messages(radar)
        for topic, payload in messages:
            self._publish(topic, json.dumps(payload, sort_keys=True), 1, True)

    def remove_discovery(self, radar: str) -> None:
        """Delete ``radar``'s entities from Home Assistant (empty retained configs); it is not
        re-announced until :meth:`restore_discovery`."""
        info = self.radars[radar]
        with self._lock:
            self._removed.add(radar)
        for topic in self.discovery.radar_config_topics(info):
            self._publish(topic, "", 1, True)

    def restore_discovery(self, radar: str) -> None:
        """Undo :meth:`remove_discovery` and announce again."""
        with self._lock:
            self._removed.discard(radar)
        self.announce()

    # -- internals --------------------------------------------------------------------------------

    def _routes(self) -> list[tuple[str, Callable[[mqtt.Client, Any, mqtt.MQTTMessage], None]]]:
        """Inbound topics and their handlers, subscribed after every connect."""
        routes = []
        if self.settings.discovery:
            routes.append((self.discovery.status_topic, self._on_ha_status))
        if self._questions is not None:
            routes.append((f"{self.topics.prefix}/+/ask", self._on_ask))
        return routes

    def _on_ask(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        """A question on ``<prefix>/<radar>/ask`` (paho's network thread; never waits)."""
        if self._questions is None or msg.retain:
            return  # a retained question is stale: never answer it on subscribe
        self._count("questions")
        handle_ask(msg, self._questions, self.topics, list(self.radars), self._publish_reply)

    def _publish_reply(self, topic: str, payload: str, correlation: bytes | None) -> None:
        """One reply message (QoS 1, never retained), with MQTT 5 correlation data if given."""
        client = self._client
        if client is None:
            self._count("dropped_offline")
            return
        properties = None
        if correlation is not None and self.settings.protocol == "5":
            properties = mqtt.Properties(PacketTypes.PUBLISH)
            properties.CorrelationData = correlation
        info = client.publish(topic, payload, qos=1, properties=properties)
        ok = info.rc in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN)
        self._count("published" if ok else "dropped_queue_full")

    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self._counters[key] += n

    def _publish(self, topic: str, payload: str, qos: int, retain: bool) -> None:
        client = self._client
        if client is None:
            self._count("dropped_offline")
            logger.debug("MQTT: not started, dropped %s", topic)
            return
        info = client.publish(topic, payload, qos=qos, retain=retain)
        rc = info.rc
        if rc == MQTTErrorCode.MQTT_ERR_QUEUE_SIZE:
            self._count("dropped_queue_full")
            logger.debug(
                "MQTT: queue full (%d), dropped %s", self.settings.max_queued_messages, topic
            )
        elif qos == 0 and rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            self._count("dropped_offline")
        elif rc in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            self._count("published")
        else:
            self._count("dropped_offline")
            logger.warning("MQTT: publish to %s failed: %s", topic, mqtt.error_string(rc))

    def _auth_message(self, reason: ReasonCode) -> str:
        s = self.settings
        who = f"user {s.username!r}" if s.username else "anonymous access"
        hint = (
            f"check mqtt.username and the password in ${s.password_env}"
            if s.password_env
            else "check mqtt.username / mqtt.password_env"
        )
        return (
            f"MQTT broker {s.host}:{s.port} refused {who}: "
            f"{AUTH_REASON_CODES.get(reason.value, str(reason))} ({hint})"
        )

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: Any,
    ) -> None:
        self._last_problem = None
        if reason.is_failure:
            if reason.value in AUTH_REASON_CODES:
                self._count("auth_failures")
                logger.error("%s", self._auth_message(reason))
            else:
                self._count("connect_failures")
                logger.error("MQTT: broker refused the connection: %s", reason)
            self._first_reason = reason
            return
        with self._lock:
            self._counters["connects"] += 1
            reconnect = self._counters["connects"] > 1
            if reconnect:
                self._counters["reconnects"] += 1
        logger.info("MQTT: %s to %s:%d", "reconnected" if reconnect else "connected",
                    self.settings.host, self.settings.port)  # fmt: skip
        for topic, _ in self._routes():
            client.subscribe(topic, qos=1)
        self._republish(states=reconnect)
        self.announce()
        self._first_reason = reason
        self._connected.set()  # after the announcements, so start(wait=True) returns after them

    def _republish(self, states: bool) -> None:
        """Daemon and radar availability, and (``states``) the latest retained states, in case the
        broker lost its retained messages. Messages paho queued while the broker was away go out
        after these, in order, so a queued newer value still wins."""
        with self._order:
            with self._lock:
                links = list(self._links.values())
                retained = dict(self._retained) if states else {}
            self._publish(self.topics.available(), ONLINE, 1, True)
            for link in links:  # each radar's own connection (it also republishes on connect)
                link.republish()
            for topic, payload in retained.items():
                self._publish(topic, payload, self.settings.event_qos, True)

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        self._count("connect_failures")
        s = self.settings
        err, self._tls_error = self._tls_error, None
        if isinstance(err, ssl.SSLCertVerificationError):
            self._count("tls_failures")
            ca = s.tls_ca_certs or "the system CA certificates"
            self._last_problem = (
                f"the TLS certificate of {s.host}:{s.port} failed verification against {ca}: "
                f"{err.verify_message or err.reason} (check mqtt.tls_ca_certs and mqtt.host)"
            )
        elif isinstance(err, ssl.CertificateError):
            self._count("tls_failures")
            self._last_problem = (
                f"the TLS certificate of {s.host}:{s.port} does not match the host: {err}"
            )
        elif err is not None:
            self._count("tls_failures")
            self._last_problem = f"the TLS handshake with {s.host}:{s.port} failed: {err}"
        else:
            self._last_problem = f"broker {s.host}:{s.port} not reachable"
        logger.warning("MQTT: %s; retrying", self._last_problem)

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        properties: Any,
    ) -> None:
        if not self._connected.is_set():
            return  # a refused CONNACK, already reported
        self._connected.clear()
        self._count("disconnects")
        if not self._stopping:
            logger.warning("MQTT: lost the broker (%s); reconnecting with backoff", reason)

    def _on_publish(
        self, client: mqtt.Client, userdata: Any, mid: int, reason: ReasonCode, properties: Any
    ) -> None:
        # QoS>0: acknowledged by the broker; QoS 0: written to the socket.
        self._count("delivered")

    def _on_ha_status(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.retain:
            return  # a retained birth arrives on every subscribe; the connect already announced
        status = msg.payload.decode("utf-8", "replace").strip()
        if status != ONLINE:
            logger.info("MQTT: Home Assistant went %s", status or "away")
            return
        logger.info("MQTT: Home Assistant (re)started; re-announcing discovery and availability")
        self._count("ha_restarts")
        self._republish(states=False)
        self.announce()

    def _on_message_unrouted(
        self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage
    ) -> None:
        logger.debug("MQTT: ignored message on %s", msg.topic)

    def _send_stats(self, radar: str) -> None:
        with self._lock:
            app = dict(self._app_stats.get(radar, {}))
        doc = {
            "radar": radar,
            "time": time.time(),
            "pipeline": app,
            "mqtt": self.stats(),
            "process": self._process.sample(),
        }
        self._publish(
            self.topics.stats(radar), json.dumps(doc, sort_keys=True, default=str), 0, False
        )

    def _stats_loop(self) -> None:
        while not self._stats_stop.wait(self.settings.stats_interval_s):
            with self._lock:
                radars = list(self._app_stats)
            for radar in radars:
                self._send_stats(radar)
