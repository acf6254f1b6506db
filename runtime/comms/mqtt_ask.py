"""Questions over MQTT: one ``<prefix>/<radar>/ask`` message in, the answer out (the protocol is
in :mod:`runtime.comms.mqtt`'s docstring).

:func:`handle_ask` runs in paho's network thread and never waits: it reads the question, the MQTT 5
response topic and correlation data, and hands the question to the
:class:`~runtime.questions.service.QuestionService` with callbacks that publish the streamed pieces
and the final reply.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import paho.mqtt.client as mqtt

from runtime.comms.settings import topic_slug
from runtime.comms.topics import MqttTopics
from runtime.questions.service import QuestionService, Reply

__all__ = ["handle_ask", "parse_ask"]

#: publish(topic, JSON payload, correlation data or None)
Publish = Callable[[str, str, bytes | None], None]


def parse_ask(payload: bytes) -> tuple[Any, str | None, str | None]:
    """``(question, id, client)`` from an ask payload: plain UTF-8 text, or a JSON object with
    ``question`` (and optional ``id``, ``client``). A payload that is not UTF-8 gives a question
    that is not a text (the service refuses it)."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return b"", None, None
    if not text.lstrip().startswith("{"):
        return text, None, None
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return text, None, None
    if not isinstance(doc, dict):
        return text, None, None
    rid, who = doc.get("id"), doc.get("client")
    return (
        doc.get("question"),
        None if rid is None else str(rid)[:100],
        None if who is None else str(who)[:100],
    )


def handle_ask(
    msg: mqtt.MQTTMessage,
    service: QuestionService,
    topics: MqttTopics,
    radars: Sequence[str],
    publish: Publish,
) -> None:
    """Answer one ask message (see the module docstring)."""
    slug = msg.topic[len(topics.prefix) + 1 : -len("/ask")]
    radar = next((r for r in radars if topic_slug(r) == slug), None)
    props = getattr(msg, "properties", None)
    response_topic = getattr(props, "ResponseTopic", None) if props is not None else None
    correlation = getattr(props, "CorrelationData", None) if props is not None else None
    question, request_id, asker = parse_ask(msg.payload)
    asker = asker or response_topic or "mqtt"
    reply_topic = response_topic or topics.answer(radar or slug)

    def send(doc: dict[str, Any]) -> None:
        publish(reply_topic, json.dumps(doc, separators=(",", ":"), default=str), correlation)

    def on_token(piece: str) -> None:
        send({"type": "token", "text": piece})

    def on_done(reply: Reply) -> None:
        doc = reply.to_dict()
        if response_topic:
            send(doc)
        elif not reply.ok:  # MQTT 3.1.1: an ok answer arrives as the answer event
            send({**doc, "value": f"{reply.status}: {reply.error}"})

    if radar is None:
        on_done(
            Reply(
                "refused",
                str(question)[:200],
                asker,
                error=f"unknown radar {slug!r}; this daemon has {', '.join(radars)}",
                asked=time.time(),
                id=request_id,
            )
        )
        return
    service.ask(
        question,
        client=asker,
        radar=radar,
        request_id=request_id,
        on_token=on_token if response_topic else None,
        on_done=on_done,
    )
