"""Search of the embedding log by text, for requests over the daemon's transports (ZeroMQ
``{"type": "search", "text": ..., "since": ...}``), like ``mmfm search`` does from the shell.

The text is embedded with the activity model's text tower, or, for a label of a shipped label set
(alone or in a prompt template), with its shipped prototype (:func:`runtime.inference.stage.
query_vector`); the model is loaded on the first search.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from runtime.embeddinglog import EmbeddingLog

__all__ = ["Searcher", "parse_age"]

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
#: Most moments one search returns.
MAX_K = 100


def parse_age(value: Any) -> float:
    """An age [s] from ``"24h"``, ``"30m"``, ``"90s"``, ``"7d"``, ``"2w"`` or a number of seconds.

    Raises:
        ValueError: anything else, or not positive.
    """
    if isinstance(value, bool):
        raise ValueError(f"since {value!r}: give a positive age like 90s, 30m, 24h or 7d")
    if isinstance(value, int | float):
        if value > 0:
            return float(value)
        raise ValueError(f"since {value!r}: the age must be positive")
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", str(value))
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"since {value!r}: give a positive age like 90s, 30m, 24h or 7d")
    return float(m.group(1)) * _UNITS[m.group(2)]


class Searcher:
    """Text -> the best-matching logged moments.

    Args:
        embedding_log: the daemon's embedding log.
        model: the activity model's name or folder (None = the shipped default).
    """

    def __init__(self, embedding_log: EmbeddingLog, model: str | None = None) -> None:
        self.embedding_log = embedding_log
        self.model_name = model
        self._model: Any = None
        self._lock = threading.Lock()

    def search(
        self, text: Any, *, since: Any = "24h", k: Any = 10, radar: Any = None
    ) -> dict[str, Any]:
        """``{"type": "search", "text", "since", "moments": [Moment.to_dict(), ...]}`` best first.

        Raises:
            ValueError: bad text, age or k (one line); ModelError: free text and no text tower.
        """
        from runtime.inference.stage import query_vector
        from runtime.models import load_model

        if not isinstance(text, str) or not text.strip():
            raise ValueError("search needs a non-empty 'text'")
        if len(text) > 500:
            raise ValueError(f"search text too long: {len(text)} characters, at most 500")
        age = parse_age(since)
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
            raise ValueError(f"k must be an integer in 1..{MAX_K}, got {k!r}")
        if radar is not None and not isinstance(radar, str):
            raise ValueError("radar must be a radar id")
        with self._lock:
            if self._model is None:
                self._model = load_model(self.model_name)
            model = self._model
        query = query_vector(model, text)
        start = time.time() - age
        moments = self.embedding_log.search(query, k=k, since=start, radar=radar)
        return {
            "type": "search",
            "text": text,
            "since": start,
            "moments": [m.to_dict() for m in moments],
        }
