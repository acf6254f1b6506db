"""One radar's availability topic, owned by its own small MQTT connection.

An MQTT connection has exactly one last will. The daemon's main connection uses it for
``<prefix>/available``; so that a killed daemon (SIGKILL, power loss, a cut cable) also turns every
``<prefix>/<radar>/available`` to ``offline``, each radar's availability is published by a connection
of its own whose last will is that radar's topic (``offline``, retained, QoS 1). When the process
dies, the broker closes every connection and sends every will: a client that connects afterwards
reads ``offline`` on each radar topic, not a stale ``online``.

The connection carries nothing but its radar's availability (a few bytes per change). It is built
by :class:`~runtime.comms.mqtt.MqttCommunicator` with the same broker, credentials, TLS settings
and protocol as the main connection (:meth:`~runtime.comms.mqtt.MqttCommunicator.new_client`), and
reconnects on its own with the same backoff.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from runtime.comms.topics import OFFLINE, ONLINE

logger = logging.getLogger(__name__)


class RadarAvailability:
    """The retained ``online``/``offline`` of one radar, on a connection whose will is ``offline``.

    Args:
        client: a configured, unconnected paho client (credentials, TLS, protocol, backoff set);
            this object owns it from now on.
        topic: the radar's availability topic (``<prefix>/<radar>/available``).
        host, port, keepalive: where to connect; keepalive [s] (the broker sends the will after
            about 1.5x this without traffic from a hung process).
    """

    def __init__(
        self, client: mqtt.Client, topic: str, host: str, port: int, keepalive: int
    ) -> None:
        self.client = client
        self.topic = topic
        self._host, self._port, self._keepalive = host, port, keepalive
        self._online = False
        self._connected = threading.Event()
        # Held across the check of the state and the publish, in set() and on connect, so that a
        # (re)connect never publishes an older value after a newer one.
        self._order = threading.RLock()
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        # The will is registered with the CONNECT packet, so before connecting.
        client.will_set(topic, OFFLINE, qos=1, retain=True)

    @property
    def online(self) -> bool:
        """The last value set."""
        return self._online

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self) -> None:
        """Connect in the background (paho's network thread) and keep reconnecting."""
        self.client.connect_async(self._host, self._port, keepalive=self._keepalive)
        self.client.loop_start()

    def wait_connected(self, timeout: float) -> bool:
        """Block until connected (the will is registered) or ``timeout`` [s] passes."""
        return self._connected.wait(timeout)

    def set(self, online: bool) -> None:
        """Publish the radar's availability now (or as soon as the connection is up)."""
        with self._order:
            self._online = online
            if self._connected.is_set():
                self._send()

    def republish(self) -> None:
        """Publish the current value again (Home Assistant restarted, the broker lost it)."""
        with self._order:
            if self._connected.is_set():
                self._send()

    def stop(self, timeout: float, protocol_5: bool) -> bool:
        """Publish ``offline``, wait up to ``timeout`` [s] for the broker's ack, disconnect.

        Returns:
            True when the broker acknowledged ``offline`` (or, MQTT 5, was asked to send the
            will instead); False when the radar's topic may still read ``online``.
        """
        said = False
        if self._connected.is_set():
            with self._order:
                self._online = False
                info = self.client.publish(self.topic, OFFLINE, qos=1, retain=True)
            deadline = time.monotonic() + timeout
            while (
                info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS
                and not info.is_published()
                and time.monotonic() < deadline
            ):
                time.sleep(0.01)
            said = info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS and info.is_published()
        if self._connected.is_set() and not said and protocol_5:
            # Could not say 'offline' ourselves: ask the broker to send the will instead.
            self.client.disconnect(
                reasoncode=ReasonCode(PacketTypes.DISCONNECT, "Disconnect with will message")
            )
            said = True
        else:
            self.client.disconnect()
        self.client.loop_stop()
        self._connected.clear()
        return said

    def _send(self) -> None:
        info = self.client.publish(self.topic, ONLINE if self._online else OFFLINE, 1, True)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            logger.warning(
                "MQTT: availability %s not sent: %s", self.topic, mqtt.error_string(info.rc)
            )

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, properties: Any
    ) -> None:
        if reason.is_failure:
            # the main connection reports refusals (same broker, same credentials)
            logger.debug("MQTT: availability connection for %s refused: %s", self.topic, reason)
            return
        with self._order:
            self._connected.set()
            self._send()

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, properties: Any
    ) -> None:
        self._connected.clear()
