"""`mmfm ask`: ask a running daemon a question (over MQTT or ZeroMQ) and print the answer as it streams.

    mmfm ask "How many people are in the room?" --mqtt mqtt://hub.local:1883 --radar living
    mmfm ask "Did anyone fall in the last hour?" --zmq tcp://127.0.0.1:5557
    mmfm ask "Is anyone in the kitchen?" --mqtt mqtt://127.0.0.1 --json   # one JSON reply

The daemon must answer questions (a ``questions:`` section in its YAML). ``--mqtt
mqtt://[USER@]HOST[:PORT][/PREFIX]`` asks on ``<prefix>/<radar>/ask`` with an MQTT 5 response topic
(password from ``$MMFM_MQTT_PASSWORD``); without ``--radar`` the one radar online is used.
``--zmq tcp://HOST:PORT`` is the daemon's ZeroMQ request endpoint (``zeromq.request_endpoint``).
Exit status: 0 answered; 1 refused (too long, too frequent, busy), failed, or no reply in
``--timeout`` seconds; 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "ask",
        help="ask a running daemon a question (answered by the mm-LLM over MQTT or ZeroMQ)",
        description="Ask the mmfm daemon a question about what its radars saw; the answer streams "
        "to stdout.",
    )
    p.add_argument("question", help='the question, e.g. "Did anyone fall today?"')
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--mqtt", metavar="URL", help="ask over MQTT: mqtt://[USER@]HOST[:PORT][/PREFIX]"
    )
    where.add_argument("--zmq", metavar="URL", help="ask over ZeroMQ: tcp://HOST:PORT")
    p.add_argument("--radar", help="the radar asked about (MQTT default: the one online)")
    p.add_argument(
        "--timeout", type=float, default=60.0, metavar="S", help="wait this long (default 60 s)"
    )
    p.add_argument("--json", action="store_true", help="print the daemon's final reply as JSON")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from runtime.comms.ask_client import AskError, ask_mqtt, ask_zmq

    if args.mqtt is None and args.zmq is None:
        print("mmfm ask: give --mqtt URL or --zmq URL (the daemon to ask)", file=sys.stderr)
        return 2
    if args.timeout <= 0:
        print("mmfm ask: --timeout must be positive", file=sys.stderr)
        return 2
    streamed: list[str] = []

    def on_token(piece: str) -> None:
        if args.json:
            return
        if not streamed:
            piece = piece.lstrip()
        streamed.append(piece)
        sys.stdout.write(piece)
        sys.stdout.flush()

    try:
        if args.mqtt is not None:
            reply: dict[str, Any] = ask_mqtt(
                args.mqtt, args.question, radar=args.radar, timeout=args.timeout, on_token=on_token
            )
        else:
            reply = ask_zmq(
                args.zmq, args.question, radar=args.radar, timeout=args.timeout, on_token=on_token
            )
    except AskError as exc:
        if streamed:
            print()
        print(f"mmfm ask: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(reply))
    elif reply.get("status") == "ok":
        print("" if streamed else str(reply.get("answer", "")))
    if reply.get("status") != "ok":
        what = reply.get("status", "error")
        print(f"mmfm ask: {what}: {reply.get('error', reply)}", file=sys.stderr)
        return 1
    return 0
