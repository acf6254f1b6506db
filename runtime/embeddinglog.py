"""Window embeddings beside the event log (same SQLite file), searchable by nearest neighbour.

Each row is one encoder window: its end time [s since the epoch], radar, track (None = the whole
radar's cloud), the zone the track was in (None = none, or a whole-radar window), the activity label the zero-shot classifier gave it with its probability, and the
L2-normalised float32 embedding (a BLOB of ``dim`` values). Retention like the event log: rows
older than ``retention_days`` and the oldest beyond ``max_rows`` go on open, every ``prune_every``
appends and on :meth:`EmbeddingLog.prune`.

Search (:meth:`EmbeddingLog.search`) loads the rows of the time range and asks a faiss inner-product
index (exact, ``IndexFlatIP``; on unit vectors the score is the cosine similarity) for the nearest
ones. sqlite-vec was the first choice, but this CPython's ``sqlite3`` is built without loadable
extensions, so it cannot load it.

    log = EmbeddingLog("events.db")
    log.extend([(t, "living", 3, emb, "walking", 0.8, "sofa")])   # the zone may be left out
    log.search(query_vec, since=time.time() - 86400, k=5)   # -> [Moment, ...], best first
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from runtime.eventlog import EventLogError, RetainedTable

#: Version of the ``embeddings`` table layout (``meta`` key ``embeddings_schema_version``).
SCHEMA_VERSION = 2  # 2: the zone column (a version-1 table gets it on open)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS embeddings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    radar TEXT NOT NULL,
    track INTEGER,
    zone TEXT,
    label TEXT,
    confidence REAL,
    dim INTEGER NOT NULL,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS embeddings_time ON embeddings (time);
"""

#: One row to store: (time [s], radar, track or None, embedding [D], label or None, probability,
#: zone or None); the zone may be left out (a 6-tuple).
Row = (
    tuple[float, str, int | None, np.ndarray, str | None, float | None]
    | tuple[float, str, int | None, np.ndarray, str | None, float | None, str | None]
)


@dataclass(frozen=True)
class Moment:
    """One search hit: a window and how well it matches the query (cosine similarity, -1..1)."""

    time: float
    radar: str
    track: int | None
    score: float
    label: str | None
    confidence: float | None
    zone: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "time": self.time,
            "radar": self.radar,
            "track": self.track,
            "zone": self.zone,
            "score": round(self.score, 4),
            "label": self.label,
            "confidence": None if self.confidence is None else round(self.confidence, 4),
        }


class EmbeddingLog(RetainedTable):
    """The ``embeddings`` table of an mmfm SQLite database.

    Args:
        path: the database file (usually the event log's; created with its folder when missing).
        retention_days: keep embeddings this many days [days].
        max_rows: keep at most this many rows (the oldest go first).
        prune_every: enforce retention every this many appends.
        clock: the current time [s since the epoch] for retention.

    Raises:
        EventLogError: the file cannot be opened/written, is corrupt or newer.
    """

    _table = "embeddings"
    _what = "embedding log"

    def __init__(
        self,
        path: str | Path,
        retention_days: float = 7.0,
        max_rows: int = 200_000,
        *,
        prune_every: int = 1000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(path, retention_days, max_rows, prune_every=prune_every, clock=clock)

    def _open(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=10.0
            )
        except (OSError, sqlite3.Error) as e:
            raise EventLogError(f"embedding log {self.path}: cannot open ({e})") from e
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            key = "embeddings_schema_version"
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?)", (key, str(SCHEMA_VERSION))
                )
            elif int(row[0]) < SCHEMA_VERSION:
                columns = {r[1] for r in conn.execute("PRAGMA table_info(embeddings)")}
                if "zone" not in columns:  # a version-1 table
                    conn.execute("ALTER TABLE embeddings ADD COLUMN zone TEXT")
                conn.execute("UPDATE meta SET value = ? WHERE key = ?", (str(SCHEMA_VERSION), key))
            elif int(row[0]) > SCHEMA_VERSION:
                raise EventLogError(
                    f"embedding log {self.path}: schema version {row[0]} is newer than this "
                    f"mmfm's ({SCHEMA_VERSION}); upgrade mmfm or point the log elsewhere"
                )
        except (sqlite3.DatabaseError, ValueError) as e:
            conn.close()
            raise EventLogError(
                f"embedding log {self.path}: not a usable mmfm database ({e}); move it aside "
                "or point the log elsewhere"
            ) from e
        except EventLogError:
            conn.close()
            raise
        return conn

    # ------------------------------------------------------------------ write
    def extend(self, rows: Iterable[Row]) -> None:
        """Store windows in one transaction (see :data:`Row`); embeddings are stored L2-normalised.

        Raises:
            EventLogError: the database cannot be written.
        """
        data = []
        for row in rows:
            t, radar, track, emb, label, conf = row[:6]
            zone = row[6] if len(row) > 6 else None
            vec = np.asarray(emb, dtype=np.float64).reshape(-1)
            vec = (vec / max(float(np.linalg.norm(vec)), 1e-12)).astype(np.float32)
            data.append(
                (
                    float(t),
                    radar,
                    None if track is None else int(track),
                    None if zone is None else str(zone),
                    label,
                    None if conf is None else float(conf),
                    int(vec.size),
                    vec.tobytes(),
                )
            )
        self._insert(
            "INSERT INTO embeddings (time, radar, track, zone, label, confidence, dim, vector) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            data,
        )

    # ------------------------------------------------------------------ read
    def search(
        self,
        query: np.ndarray,
        *,
        k: int = 10,
        since: float | None = None,
        until: float | None = None,
        radar: str | None = None,
    ) -> list[Moment]:
        """The ``k`` windows most similar to ``query``, best first.

        Args:
            query: float ``[D]`` (normalised here).
            k: how many.
            since / until: ``since <= time < until`` [s since the epoch].
            radar: only this radar.

        Raises:
            ValueError: ``query`` has another dimension than the stored embeddings.
        """
        q = np.asarray(query, np.float32).reshape(1, -1)
        q = q / max(float(np.linalg.norm(q)), 1e-12)
        where, args = ["dim = ?"], [int(q.shape[1])]
        for clause, arg in (("time >= ?", since), ("time < ?", until), ("radar = ?", radar)):
            if arg is not None:
                where.append(clause)
                args.append(arg)
        sql = (
            "SELECT time, radar, track, label, confidence, vector, zone FROM embeddings WHERE "
            + " AND ".join(where)
        )
        with self._lock:
            try:
                rows = self._conn.execute(sql, args).fetchall()
                other = self._conn.execute(
                    "SELECT DISTINCT dim FROM embeddings WHERE dim != ? LIMIT 1", (q.shape[1],)
                ).fetchone()
            except sqlite3.Error as e:
                raise EventLogError(f"embedding log {self.path}: cannot read ({e})") from e
        if not rows:
            if other is not None:
                raise ValueError(
                    f"the query has {q.shape[1]} dimensions, the stored embeddings {other[0]} "
                    "(another model wrote them)"
                )
            return []
        vectors = np.frombuffer(b"".join(r[5] for r in rows), dtype=np.float32).reshape(
            len(rows), q.shape[1]
        )
        import faiss  # delayed: only search needs it, not the daemon writing rows

        index = faiss.IndexFlatIP(q.shape[1])
        index.add(np.ascontiguousarray(vectors))
        scores, ids = index.search(q, min(k, len(rows)))
        return [
            Moment(
                time=rows[i][0],
                radar=rows[i][1],
                track=rows[i][2],
                score=float(s),
                label=rows[i][3],
                confidence=rows[i][4],
                zone=rows[i][6],
            )
            for s, i in zip(scores[0], ids[0], strict=True)
            if i >= 0
        ]

    def window(
        self,
        query: np.ndarray | None = None,
        *,
        since: float | None = None,
        until: float | None = None,
        radar: str | None = None,
    ) -> tuple[float, np.ndarray] | None:
        """One logged window and its embedding: the newest in the range, or (``query`` given) the
        one most similar to ``query``.

        Args:
            query: float ``[D]`` or None (= the newest window).
            since / until: ``since <= time < until`` [s since the epoch].
            radar: only this radar.

        Returns:
            ``(time [s], embedding float32 [D])``, or None when no window is logged in the range.
        """
        where, args = [], []
        for clause, arg in (("time >= ?", since), ("time < ?", until), ("radar = ?", radar)):
            if arg is not None:
                where.append(clause)
                args.append(arg)
        if query is not None:
            best = self.search(query, k=1, since=since, until=until, radar=radar)
            if not best:
                return None
            where.append("time = ?")
            args.append(best[0].time)
            where.append("radar = ?")
            args.append(best[0].radar)
        sql = "SELECT time, vector FROM embeddings"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY time DESC, id DESC LIMIT 1"
        with self._lock:
            try:
                row = self._conn.execute(sql, args).fetchone()
            except sqlite3.Error as e:
                raise EventLogError(f"embedding log {self.path}: cannot read ({e})") from e
        if row is None:
            return None
        return float(row[0]), np.frombuffer(row[1], dtype=np.float32).copy()
