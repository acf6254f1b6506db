"""The daemon's structured logs: JSON lines with radar ids, and repeated warnings held back."""

from __future__ import annotations

import io
import json
import logging

from runtime.log import RepeatFilter, radar_logger, setup_logging


def test_json_lines_carry_the_radar_and_extras() -> None:
    out = io.StringIO()
    handler = setup_logging("INFO", "json", repeat_interval_s=0, stream=out)
    try:
        log = radar_logger(logging.getLogger("runtime.pipeline"), "hall")
        log.warning("source stalled after %.1f s", 5.2, extra={"stalls": 3})
        try:
            raise ValueError("bad frame")
        except ValueError:
            log.exception("DSP failed")
    finally:
        logging.getLogger().removeHandler(handler)
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["radar"] == "hall" and first["level"] == "WARNING"
    assert first["message"] == "source stalled after 5.2 s" and first["stalls"] == 3
    assert first["logger"] == "runtime.pipeline" and first["time"].endswith("+00:00")
    assert "ValueError: bad frame" in second["exception"]


def test_text_format_shows_the_radar() -> None:
    out = io.StringIO()
    handler = setup_logging("INFO", "text", stream=out)
    try:
        radar_logger(logging.getLogger("x"), "den").info("radar %s", "online")
    finally:
        logging.getLogger().removeHandler(handler)
    assert out.getvalue().rstrip().endswith("INFO x [den] radar online")


def test_repeat_filter_holds_back_identical_warnings_and_counts_them() -> None:
    now = [0.0]
    f = RepeatFilter(60.0, clock=lambda: now[0])

    def record(msg: str, level: int = logging.WARNING, radar: str = "a") -> logging.LogRecord:
        r = logging.LogRecord("runtime.pipeline", level, "", 0, msg, (1,), None)
        r.radar = radar
        return r

    assert f.filter(record("failed %s"))
    assert not f.filter(record("failed %s"))
    assert not f.filter(record("failed %s"))
    assert f.filter(record("failed %s", radar="b"))  # another radar
    assert f.filter(record("other %s"))
    assert f.filter(record("failed %s", level=logging.INFO))  # info is never held back
    now[0] = 61.0
    r = record("failed %s")
    assert f.filter(r) and r.repeated == 2
