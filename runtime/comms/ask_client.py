"""Clients for a running daemon's question path: ask over MQTT or ZeroMQ, stream the answer.

    reply = ask_mqtt("mqtt://127.0.0.1:1883", "Did anyone fall?", radar="living")
    reply = ask_zmq("tcp://127.0.0.1:5557", "How many people are here?", on_token=print)
    reply["status"], reply.get("answer"), reply.get("error")

Both return the daemon's final reply (``{"type": "answer", "status": ...}``, see
:mod:`runtime.comms.mqtt` and :mod:`runtime.comms.zeromq`) and call ``on_token`` with each piece as
it streams. MQTT URLs: ``mqtt://[USER@]HOST[:PORT][/PREFIX]`` (prefix default ``mmfm``; the password
from ``$MMFM_MQTT_PASSWORD``). MQTT 5 (default) asks with a response topic
``<prefix>/reply/<client id>`` and correlation data; ``protocol="3.1.1"`` asks with a JSON ``id``
and reads the plain ``<prefix>/<radar>/answer`` topic. Without ``radar``, the MQTT client reads the
retained ``<prefix>/+/available`` topics and takes the one radar online (else it says which exist).
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from runtime.comms.settings import topic_slug

__all__ = ["AskError", "ask_mqtt", "ask_zmq", "parse_mqtt_url"]

TokenCallback = Callable[[str], None]


class AskError(RuntimeError):
    """No reply: the daemon is not reachable, timed out, or the request was wrong (one line)."""


def parse_mqtt_url(url: str) -> tuple[str, int, str, str | None]:
    """``(host, port, prefix, user)`` of ``mqtt://[USER@]HOST[:PORT][/PREFIX]``.

    Raises:
        AskError: not such a URL.
    """
    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    if parts.scheme != "mqtt" or not parts.hostname:
        raise AskError(f"--mqtt {url!r}: expected mqtt://HOST[:PORT][/PREFIX]")
    try:
        port = parts.port or 1883
    except ValueError as exc:
        raise AskError(f"--mqtt {url!r}: {exc}") from None
    prefix = parts.path.strip("/") or "mmfm"
    return parts.hostname, port, prefix, parts.username


def ask_mqtt(
    url: str,
    question: str,
    *,
    radar: str | None = None,
    timeout: float = 60.0,
    on_token: TokenCallback | None = None,
    protocol: str = "5",
) -> dict[str, Any]:
    """Ask the daemon behind the broker at ``url`` (module docstring); the final reply.

    Raises:
        AskError: broker unreachable or refused, no radar, or no reply within ``timeout`` [s].
    """
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
    from paho.mqtt.packettypes import PacketTypes

    host, port, prefix, user = parse_mqtt_url(url)
    v5 = protocol == "5"
    client_id = f"mmfm-ask-{uuid.uuid4().hex[:12]}"
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
    )
    if user:
        client.username_pw_set(user, os.environ.get("MMFM_MQTT_PASSWORD"))
    request_id = uuid.uuid4().hex
    reply_topic = f"{prefix}/reply/{client_id}"
    cond = threading.Condition()
    box: dict[str, Any] = {"available": {}, "final": None, "connected": None, "subscribed": 0}

    def on_connect(c: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        with cond:
            box["connected"] = reason
            cond.notify_all()

    def on_subscribe(c: Any, userdata: Any, mid: int, reasons: Any, props: Any) -> None:
        with cond:
            box["subscribed"] += 1
            cond.notify_all()

    def on_message(c: Any, userdata: Any, msg: Any) -> None:
        if msg.topic.endswith("/available"):
            with cond:
                box["available"][msg.topic[len(prefix) + 1 : -len("/available")]] = msg.payload
                cond.notify_all()
            return
        try:
            doc = json.loads(msg.payload)
        except ValueError:
            return
        if not isinstance(doc, dict):
            return
        if not v5:  # the plain topic: our id, in an answer event or a refusal
            attrs = doc.get("attributes") if isinstance(doc.get("attributes"), dict) else {}
            if doc.get("id") != request_id and attrs.get("id") != request_id:
                return
            if "status" not in doc:  # an answer event
                doc = {"type": "answer", "status": "ok", "answer": doc.get("value"), **attrs}
        elif msg.properties is None or getattr(msg.properties, "CorrelationData", None) != (
            request_id.encode()
        ):
            return
        if doc.get("type") == "token":
            if on_token is not None:
                on_token(str(doc.get("text", "")))
            return
        with cond:
            box["final"] = doc
            cond.notify_all()

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    deadline = time.monotonic() + timeout

    def wait(predicate: Callable[[], bool], what: str) -> None:
        with cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AskError(f"MQTT {host}:{port}: {what} within {timeout:g} s")
                cond.wait(min(left, 0.1))

    try:
        client.connect(host, port, keepalive=30)
    except OSError as exc:
        raise AskError(f"MQTT broker {host}:{port} not reachable: {exc}") from None
    client.loop_start()
    try:
        wait(lambda: box["connected"] is not None, "no connection")
        if box["connected"].is_failure:
            raise AskError(f"MQTT broker {host}:{port} refused the connection: {box['connected']}")
        if radar is None:
            client.subscribe(f"{prefix}/+/available", qos=1)
            wait(lambda: box["subscribed"] >= 1, "no subscription")
            # the retained availability follows the SUBACK: wait for the first, then the rest
            first = time.monotonic() + min(2.0, max(0.0, deadline - time.monotonic()))
            with cond:
                while not box["available"] and time.monotonic() < first:
                    cond.wait(0.05)
            time.sleep(0.2)
            with cond:
                online = sorted(r for r, p in box["available"].items() if p == b"online")
                known = sorted(box["available"])
            if len(online) != 1:
                raise AskError(
                    f"give --radar: radars online under {prefix}/: {', '.join(online) or 'none'}"
                    + (f" (known: {', '.join(known)})" if known and known != online else "")
                )
            radar = online[0]
        subscribed = box["subscribed"]
        client.subscribe(reply_topic if v5 else f"{prefix}/{topic_slug(radar)}/answer", qos=1)
        wait(lambda: box["subscribed"] > subscribed, "no subscription")
        if v5:
            props = mqtt.Properties(PacketTypes.PUBLISH)
            props.ResponseTopic = reply_topic
            props.CorrelationData = request_id.encode()
            payload = json.dumps({"question": question})
            client.publish(f"{prefix}/{topic_slug(radar)}/ask", payload, qos=1, properties=props)
        else:
            payload = json.dumps({"question": question, "id": request_id, "client": client_id})
            client.publish(f"{prefix}/{topic_slug(radar)}/ask", payload, qos=1)
        wait(lambda: box["final"] is not None, "no answer (is the daemon answering questions?)")
        return dict(box["final"])
    finally:
        client.disconnect()
        client.loop_stop()


def ask_zmq(
    url: str,
    question: str,
    *,
    radar: str | None = None,
    timeout: float = 60.0,
    on_token: TokenCallback | None = None,
) -> dict[str, Any]:
    """Ask the daemon's ZeroMQ request endpoint ``url`` (``tcp://HOST:PORT``); the final reply.

    Raises:
        AskError: no reply within ``timeout`` [s] (ZeroMQ cannot tell "not running" from "slow").
    """
    request: dict[str, Any] = {"type": "ask", "question": question, "stream": True}
    if radar is not None:
        request["radar"] = radar
    return zmq_request(url, request, timeout=timeout, on_token=on_token)


def zmq_request(
    url: str,
    request: dict[str, Any],
    *,
    timeout: float = 60.0,
    on_token: TokenCallback | None = None,
) -> dict[str, Any]:
    """Send one JSON request on a DEALER socket; pass ``token`` messages to ``on_token`` and return
    the first other reply.

    Raises:
        AskError: no reply within ``timeout`` [s].
    """
    import zmq

    ctx: zmq.Context[Any] = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    try:
        sock.connect(url)
        sock.send(json.dumps(request).encode("utf-8"))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not sock.poll(int(min(left, 1.0) * 1000)):
                if left <= 0:
                    raise AskError(
                        f"ZeroMQ {url}: no reply within {timeout:g} s (is mmfm running?)"
                    )
                continue
            doc = json.loads(sock.recv())
            if isinstance(doc, dict) and doc.get("type") == "token":
                if on_token is not None:
                    on_token(str(doc.get("text", "")))
                continue
            return doc if isinstance(doc, dict) else {"error": f"unexpected reply {doc!r}"}
    except zmq.ZMQError as exc:
        raise AskError(f"ZeroMQ {url}: {exc}") from None
    finally:
        sock.close(0)
        ctx.term()
