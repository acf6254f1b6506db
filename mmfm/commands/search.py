"""`mmfm search`: the logged moments (window embeddings) that best match a text.

    mmfm search "someone is falling" --since 24h              # table, best first
    mmfm search "walking" --since 7d --json --db events.db    # JSON array

The database is the daemon's event log file (``event_log.path``; ``--config mmfm.yaml`` reads it from
there), where the encoder stage stores window embeddings (``activities.log_embeddings``). The text is
embedded with the model's text tower, or, for a label of a shipped label set (alone or in a prompt
template), with its shipped prototype.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

DEFAULT_DB = "/var/lib/mmfm/events.db"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "search", help="find the logged moments that best match a text (embedding search)"
    )
    p.add_argument("text", help='what to look for, e.g. "someone is falling"')
    p.add_argument("--since", default="24h", help="how far back: 90s, 30m, 24h, 7d (default 24h)")
    p.add_argument("-k", "--top", type=int, default=10, help="how many moments (default 10)")
    p.add_argument("--radar", help="only this radar")
    p.add_argument(
        "--db", help=f"the event log database (default: from --config, else {DEFAULT_DB})"
    )
    p.add_argument("--config", help="the daemon's YAML (its event_log.path and activities.model)")
    p.add_argument("--model", help="model name or folder (default: the config's, else shipped)")
    p.add_argument("--json", action="store_true", help="one JSON array")
    p.set_defaults(func=_search)


def _search(args: Any) -> int:
    from runtime.config import ConfigError, load_config
    from runtime.embeddinglog import EmbeddingLog
    from runtime.eventlog import EventLogError
    from runtime.inference.stage import query_vector
    from runtime.models import ModelError, load_model
    from runtime.questions.search import parse_age

    try:
        since = time.time() - parse_age(args.since)
    except ValueError as exc:
        print(f"mmfm search: --{exc}", file=sys.stderr)
        return 2
    if args.top < 1:
        print("mmfm search: --top must be at least 1", file=sys.stderr)
        return 2
    db, model_name = args.db, args.model
    if args.config:
        try:
            cfg = load_config(args.config)
        except ConfigError as exc:
            print(str(exc), file=sys.stderr)
            return 2
        db = db or cfg.event_log.path
        model_name = model_name or cfg.activities.model
    db = db or DEFAULT_DB
    try:
        model = load_model(model_name)
        query = query_vector(model, args.text)
    except (ModelError, FileNotFoundError) as exc:
        print(f"mmfm search: {exc}", file=sys.stderr)
        return 2
    if not Path(db).is_file():
        print(f"mmfm search: no database at {db} (give --db or --config)", file=sys.stderr)
        return 2
    try:
        log = EmbeddingLog(db)
        try:
            moments = log.search(query, k=args.top, since=since, radar=args.radar)
        finally:
            log.close()
    except (EventLogError, ValueError) as exc:
        print(f"mmfm search: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([m.to_dict() for m in moments]))
        return 0
    if not moments:
        print(f"no logged moments since {args.since} ago in {db}")
        return 0
    print(f"{'score':>6}  {'time':19}  {'radar':10} {'track':>5}  {'zone':12} label (p)")
    for m in moments:
        when = datetime.fromtimestamp(m.time).strftime("%Y-%m-%d %H:%M:%S")
        track = "-" if m.track is None else str(m.track)
        zone = m.zone or "-"
        label = f"{m.label} ({m.confidence:.2f})" if m.label is not None else "-"
        print(f"{m.score:6.3f}  {when}  {m.radar:10} {track:>5}  {zone:12} {label}")
    return 0
