"""`mmfm run`: the edge daemon (radars -> DSP -> events -> MQTT / ZeroMQ / event log).

    mmfm run --config /etc/mmfm/mmfm.yaml
    mmfm run --config mmfm.yaml --validate-config     # prints "ok" or every error (exit 1)
    mmfm run --config mmfm.yaml --log-level DEBUG --log-format json
    mmfm run --config replay.yaml --keep-running      # stay up after the replays have ended

The config is documented option by option in ``runtime/examples/mmfm.yaml``. Errors name the file,
the line and the key path. SIGTERM/SIGINT stop the daemon cleanly (radars go offline on MQTT).
When every radar's source has ended (replays without ``loop``) the daemon exits with status 0 unless
``--keep-running`` (or ``keep_running: true``) is given; a part that dies makes it exit with 1.
Imports only ``runtime`` (never sim, training or torch), so it runs on an edge install.
"""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "run",
        help="run the daemon: radars -> events -> MQTT / ZeroMQ / event log",
        description="Run the mmfm edge daemon on a YAML config (see runtime/examples/mmfm.yaml).",
    )
    p.add_argument("--config", "-c", required=True, metavar="FILE", help="the YAML config")
    p.add_argument(
        "--validate-config",
        action="store_true",
        help="check the config (YAML, keys, types, chirp profiles, secrets) and exit: "
        "prints 'ok' (exit 0) or the errors (exit 1)",
    )
    p.add_argument(
        "--log-level",
        type=str.upper,
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="override logging.level",
    )
    p.add_argument("--log-format", choices=("text", "json"), help="override logging.format")
    p.add_argument(
        "--keep-running",
        action="store_true",
        help="stay up after every source has ended (replays without loop); default: exit 0 "
        "once the last frame is processed (the config's keep_running)",
    )
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from runtime.config import ConfigError, load_config

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"mmfm run: {len(exc.issues)} error(s) in the config:", file=sys.stderr)
        for issue in exc.issues:
            print(f"  {issue}", file=sys.stderr)
        return 1
    if args.validate_config:
        print("ok")
        return 0
    if args.keep_running:
        config = config.model_copy(update={"keep_running": True})

    from runtime.app import App, AppStartError
    from runtime.log import setup_logging

    log = config.logging
    setup_logging(
        args.log_level or log.level,
        args.log_format or log.format,
        repeat_interval_s=log.repeat_interval_s,
    )
    try:
        return App(config).run()
    except AppStartError as exc:
        print(f"mmfm run: cannot start: {exc}", file=sys.stderr)
        return 1
