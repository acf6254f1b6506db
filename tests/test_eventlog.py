"""SQLite event log: append/query, restart, retention, schema version, clear errors, threads."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from runtime.eventlog import SCHEMA_VERSION, EventLog, EventLogError
from runtime.events import Event

NOW = 1_700_000_000.0


def ev(t: float, type: str = "occupancy", radar: str = "hall", value: object = True) -> Event:
    return Event(type, t, value, 0.9, radar, {"zone": "sofa"} if type == "occupancy" else {})


def test_append_and_query_filters(tmp_path: Path) -> None:
    with EventLog(tmp_path / "events.db", clock=lambda: NOW) as log:
        log.append(ev(NOW - 30))
        log.extend(
            [
                ev(NOW - 20, "count", value=2),
                ev(NOW - 10, "vitals", "bedroom", {"breathing_per_min": 14.8, "quality": "good"}),
                ev(NOW - 5, "fall", "bedroom", True),
            ]
        )
        assert len(log) == 4
        everything = log.query()
        assert [e.time for e in everything] == [NOW - 30, NOW - 20, NOW - 10, NOW - 5]
        assert everything[0] == ev(NOW - 30)  # value, confidence and attributes round-trip
        assert [e.type for e in log.query(radar="bedroom")] == ["vitals", "fall"]
        assert log.query(type="count")[0].value == 2
        assert [e.type for e in log.query(since=NOW - 20, until=NOW - 5)] == ["count", "vitals"]
        assert [e.type for e in log.query(limit=2)] == ["vitals", "fall"]  # the newest two
        assert log.query(radar="bedroom", type="vitals")[0].value["breathing_per_min"] == 14.8
        assert log.query(radar="kitchen") == []


def test_events_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "events.db"  # the folder is created
    log = EventLog(path, clock=lambda: NOW)
    log.extend([ev(NOW - 3), ev(NOW - 2, "count", value=1)])
    log.close()
    with EventLog(path, clock=lambda: NOW) as again:
        assert [e.type for e in again.query()] == ["occupancy", "count"]
        again.append(ev(NOW - 1, "count", value=0))
        assert len(again) == 3
    con = sqlite3.connect(path)
    assert con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == (
        str(SCHEMA_VERSION),
    )
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()


def test_retention_by_age_and_rows(tmp_path: Path) -> None:
    now = [NOW]
    path = tmp_path / "events.db"
    with EventLog(path, retention_days=1, max_rows=5, prune_every=3, clock=lambda: now[0]) as log:
        log.extend([ev(NOW - 2 * 86400), ev(NOW - 3600)])
        assert log.prune() == 1  # older than a day
        assert [e.time for e in log.query()] == [NOW - 3600]
        for i in range(7):  # enforced on append every 3 rows: never more than 5 + 2 rows
            log.append(ev(NOW + i))
            assert len(log) <= 5 + 2
        log.prune()
        assert [e.time for e in log.query()] == [NOW + i for i in range(2, 7)]
        now[0] = NOW + 2 * 86400
    # retention also runs on open
    with EventLog(path, retention_days=1, clock=lambda: now[0]) as log:
        assert len(log) == 0


def test_corrupt_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    path.write_bytes(b"this is not an sqlite database, just some bytes " * 100)
    with pytest.raises(EventLogError, match=r"events\.db.*(corrupt|not a usable)"):
        EventLog(path)


def test_unwritable_path_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(EventLogError, match="cannot create its folder"):
        EventLog(blocker / "events.db")  # its "folder" is a file
    with pytest.raises(EventLogError, match=r"cannot open|not a usable"):
        EventLog(tmp_path)  # a directory, not a file


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    EventLog(path).close()
    con = sqlite3.connect(path)
    con.execute(
        "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),)
    )
    con.commit()
    con.close()
    with pytest.raises(EventLogError, match="newer than this mmfm"):
        EventLog(path)


def test_concurrent_writers_and_readers(tmp_path: Path) -> None:
    with EventLog(tmp_path / "events.db", clock=lambda: NOW) as log:

        def writer(k: int) -> None:
            for i in range(100):
                log.append(ev(NOW - 1000 + i, radar=f"r{k}"))

        def reader() -> None:
            for _ in range(50):
                log.query(limit=10)

        threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
        threads.append(threading.Thread(target=reader))
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert len(log) == 400
        assert len(log.query(radar="r2", limit=None)) == 100
