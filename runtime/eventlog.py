"""A local event log in SQLite, so events survive restarts and can be queried.

One file, WAL journal (readers do not block the writer), one connection shared by the daemon's threads
behind a lock. Schema version in a ``meta`` table; a file written by a newer mmfm is refused rather than
misread. Retention: rows older than ``retention_days`` (by event time) and the oldest rows beyond
``max_rows`` are deleted on open, every ``prune_every`` appends and on :meth:`EventLog.prune`.

Errors (unreadable, corrupt, read-only or foreign files) are raised as :class:`EventLogError` with the
path and what to do.
"""

from __future__ import annotations

import abc
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType

from runtime.events import Event

#: Version of the table layout written by this module.
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    type TEXT NOT NULL,
    radar TEXT NOT NULL,
    value TEXT NOT NULL,
    confidence REAL NOT NULL,
    attributes TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_time ON events (time);
CREATE INDEX IF NOT EXISTS events_radar_type_time ON events (radar, type, time);
"""


class EventLogError(RuntimeError):
    """The event log file cannot be opened, read or written."""


class RetainedTable(abc.ABC):
    """One SQLite table of timestamped rows kept for ``retention_days`` and at most ``max_rows``.

    The event log and the embedding log share this: a WAL connection used from several threads behind
    one lock, inserts in one transaction each, and retention enforced every ``prune_every`` rows.
    Subclasses name the table (``_table``), say what they are in messages (``_what``) and open the
    connection with their schema (``_open``).

    Raises:
        EventLogError: the file cannot be opened or written (the subclass's ``_open`` says why).
    """

    _table: str
    _what: str

    def __init__(
        self,
        path: str | Path,
        retention_days: float,
        max_rows: int,
        *,
        prune_every: int = 1000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if retention_days <= 0 or max_rows <= 0 or prune_every <= 0:
            raise ValueError("retention_days, max_rows and prune_every must be positive")
        self.path = Path(path)
        self.retention_days = retention_days
        self.max_rows = max_rows
        self.prune_every = prune_every
        self._clock = clock
        self._lock = threading.Lock()
        self._since_prune = 0
        self._conn = self._open()
        self.prune()

    @abc.abstractmethod
    def _open(self) -> sqlite3.Connection:
        """Connect, apply the schema and check its version."""

    def _insert(self, sql: str, rows: list[tuple[object, ...]]) -> None:
        """Insert ``rows`` with ``sql`` in one transaction; prune when ``prune_every`` is reached."""
        if not rows:
            return
        with self._lock:
            try:
                with self._conn:
                    self._conn.execute("BEGIN")
                    self._conn.executemany(sql, rows)
            except sqlite3.Error as e:
                raise EventLogError(f"{self._what} {self.path}: cannot write ({e})") from e
            self._since_prune += len(rows)
            due = self._since_prune >= self.prune_every
        if due:
            self.prune()

    def prune(self) -> int:
        """Enforce ``retention_days`` and ``max_rows`` now; return the number of rows deleted."""
        cutoff = self._clock() - self.retention_days * 86400.0
        table = self._table
        with self._lock:
            try:
                with self._conn:
                    self._conn.execute("BEGIN")
                    n = self._conn.execute(
                        f"DELETE FROM {table} WHERE time < ?", (cutoff,)
                    ).rowcount
                    n += self._conn.execute(
                        f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} "
                        "ORDER BY time DESC, id DESC LIMIT -1 OFFSET ?)",
                        (self.max_rows,),
                    ).rowcount
            except sqlite3.Error as e:
                raise EventLogError(f"{self._what} {self.path}: cannot prune ({e})") from e
            self._since_prune = 0
        return n

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute(f"SELECT COUNT(*) FROM {self._table}").fetchone()[0])

    def close(self) -> None:
        """Close the database (idempotent)."""
        with self._lock:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass


class EventLog(RetainedTable):
    """SQLite event log.

    Args:
        path: the database file (created with its folder when missing).
        retention_days: keep events this many days (by event time) [days].
        max_rows: keep at most this many events (the oldest go first).
        prune_every: enforce retention every this many appends.
        clock: the current time [s since the epoch] for retention (``time.time``).

    Raises:
        EventLogError: the file is not an mmfm event log, is corrupt, newer, or cannot be written.
    """

    _table = "events"
    _what = "event log"

    def __init__(
        self,
        path: str | Path,
        retention_days: float = 30.0,
        max_rows: int = 1_000_000,
        *,
        prune_every: int = 1000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(path, retention_days, max_rows, prune_every=prune_every, clock=clock)

    # ------------------------------------------------------------------ open
    def _open(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise EventLogError(f"event log {self.path}: cannot create its folder ({e})") from e
        try:
            conn = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=10.0
            )
        except sqlite3.Error as e:
            raise EventLogError(
                f"event log {self.path}: cannot open ({e}); check the path and its permissions"
            ) from e
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
            elif int(row[0]) > SCHEMA_VERSION:
                raise EventLogError(
                    f"event log {self.path}: schema version {row[0]} is newer than this mmfm's "
                    f"({SCHEMA_VERSION}); upgrade mmfm or point the log elsewhere"
                )
        except sqlite3.DatabaseError as e:
            conn.close()
            if isinstance(e, sqlite3.OperationalError) and "readonly" in str(e).lower():
                raise EventLogError(
                    f"event log {self.path}: the file is read-only ({e}); fix its permissions "
                    "or point the log elsewhere"
                ) from e
            raise EventLogError(
                f"event log {self.path}: not a usable SQLite event log ({e}); it may be corrupt: "
                "move it aside (mmfm starts a new one) or point the log elsewhere"
            ) from e
        except (EventLogError, ValueError) as e:
            conn.close()
            if isinstance(e, EventLogError):
                raise
            raise EventLogError(f"event log {self.path}: bad schema version ({e})") from e
        return conn

    # ------------------------------------------------------------------ write
    def append(self, event: Event) -> None:
        """Store one event (see :meth:`extend`)."""
        self.extend((event,))

    def extend(self, events: Iterable[Event]) -> None:
        """Store events in one transaction; enforces retention every ``prune_every`` appends.

        Raises:
            EventLogError: the database cannot be written (read-only, disk full, closed).
        """
        rows = [
            (
                e.time,
                e.type,
                e.radar,
                json.dumps(e.value, separators=(",", ":")),
                e.confidence,
                json.dumps(e.attributes, separators=(",", ":"), sort_keys=True),
            )
            for e in events
        ]
        self._insert(
            "INSERT INTO events (time, type, radar, value, confidence, attributes) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )

    # ------------------------------------------------------------------ read
    def query(
        self,
        radar: str | None = None,
        type: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int | None = 1000,
    ) -> list[Event]:
        """Events matching all given filters, oldest first.

        Args:
            radar: radar id.
            type: event type.
            since: ``time >= since`` [s since the epoch].
            until: ``time < until`` [s since the epoch].
            limit: at most this many: the newest ones (None = all).
        """
        where, args = [], []
        for clause, arg in (
            ("radar = ?", radar),
            ("type = ?", type),
            ("time >= ?", since),
            ("time < ?", until),
        ):
            if arg is not None:
                where.append(clause)
                args.append(arg)
        sql = "SELECT time, type, radar, value, confidence, attributes, id FROM events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY time DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        with self._lock:
            try:
                rows = self._conn.execute(sql, args).fetchall()
            except sqlite3.Error as e:
                raise EventLogError(f"event log {self.path}: cannot read ({e})") from e
        return [
            Event(
                type=r[1],
                time=r[0],
                value=json.loads(r[3]),
                confidence=r[4],
                radar=r[2],
                attributes=json.loads(r[5]),
            )
            for r in reversed(rows)
        ]

    # ------------------------------------------------------------------ life
    def __enter__(self) -> EventLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
