"""Structured logs for the daemon: text for people or JSON lines for log shippers, with radar ids.

Every record may carry ``radar`` (and any other field) through ``extra``; :func:`radar_logger` wraps a
logger so each record of one radar's threads carries its id::

    log = radar_logger(logging.getLogger("runtime.pipeline"), "hall")
    log.warning("source stalled", extra={"stall_s": 5.2})

    text: 2026-11-25 10:00:00,123 WARNING runtime.pipeline [hall] source stalled stall_s=5.2
    json: {"time": "2026-11-25T10:00:00.123+00:00", "level": "WARNING", "logger": "runtime.pipeline",
           "thread": "hall-capture", "radar": "hall", "message": "source stalled", "stall_s": 5.2}

:class:`RepeatFilter` shows an identical warning (same logger, same message template, same radar) at
most once per interval and says how many it held back, so a radar that fails every second does not
flood the journal.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import Any, TextIO

__all__ = ["JsonFormatter", "RepeatFilter", "TextFormatter", "radar_logger", "setup_logging"]

# Attributes every LogRecord has; anything else came through ``extra``.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}
_HANDLER_NAME = "mmfm"


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD and k != "radar"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (ISO 8601, UTC), level, logger, thread, radar, message, extras,
    and ``exception`` (the traceback text) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "thread": record.threadName,
        }
        radar = getattr(record, "radar", None)
        if radar is not None:
            doc["radar"] = radar
        doc["message"] = record.getMessage()
        doc.update(_extras(record))
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``time LEVEL logger [radar] message key=value ...``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        saved = record.msg, record.args
        radar = getattr(record, "radar", None)
        text = record.getMessage()
        extras = " ".join(f"{k}={v}" for k, v in _extras(record).items())
        record.msg = " ".join(p for p in (f"[{radar}]" if radar else "", text, extras) if p)
        record.args = None
        try:
            return super().format(record)
        finally:
            record.msg, record.args = saved


class RepeatFilter(logging.Filter):
    """Passes an identical WARNING-or-worse record at most once per ``interval_s``.

    Identical = same logger, level, message template (``record.msg``, before ``%`` arguments) and
    radar. The first record after a quiet interval says how many were held back
    (``repeated=N`` field). ``interval_s = 0`` passes everything.
    """

    def __init__(self, interval_s: float = 60.0, clock: Any = time.monotonic) -> None:
        super().__init__()
        self.interval_s = interval_s
        self._clock = clock
        self._seen: dict[tuple[Any, ...], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.interval_s <= 0 or record.levelno < logging.WARNING:
            return True
        key = (record.name, record.levelno, str(record.msg), getattr(record, "radar", None))
        now = self._clock()
        with self._lock:
            last, held = self._seen.get(key, (None, 0))
            if last is not None and now - last < self.interval_s:
                self._seen[key] = (last, held + 1)
                return False
            self._seen[key] = (now, 0)
            if len(self._seen) > 4096:  # forget old keys
                cutoff = now - self.interval_s
                self._seen = {k: v for k, v in self._seen.items() if v[0] >= cutoff}
        if held:
            record.repeated = held
        return True


class _RadarAdapter(logging.LoggerAdapter):  # type: ignore[type-arg]
    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, Any]:
        extra = dict(kwargs.get("extra") or {})
        extra.setdefault("radar", self.extra["radar"] if self.extra else None)
        kwargs["extra"] = extra
        return msg, kwargs


def radar_logger(logger: logging.Logger, radar: str) -> logging.LoggerAdapter:  # type: ignore[type-arg]
    """``logger`` with ``radar`` attached to every record."""
    return _RadarAdapter(logger, {"radar": radar})


def setup_logging(
    level: str = "INFO",
    fmt: str = "text",
    *,
    repeat_interval_s: float = 60.0,
    stream: TextIO | None = None,
) -> logging.Handler:
    """Install the daemon's handler on the root logger (replacing a previous one from here).

    Args:
        level: DEBUG, INFO, WARNING or ERROR.
        fmt: 'text' or 'json'.
        repeat_interval_s: see :class:`RepeatFilter` (0 = off).
        stream: where to write (default stderr).

    Returns:
        the handler (tests read what it wrote through ``stream``).
    """
    root = logging.getLogger()
    for h in list(root.handlers):
        if h.get_name() == _HANDLER_NAME:
            root.removeHandler(h)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    if repeat_interval_s > 0:
        handler.addFilter(RepeatFilter(repeat_interval_s))
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler
