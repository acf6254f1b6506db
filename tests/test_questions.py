"""The question service's pure parts: the time range a question implies, the per-client rate limit,
and the facts (logged events, carried-in states, live tracks, one window embedding) a question is
answered from, read from a real SQLite event and embedding log."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from runtime.embeddinglog import EmbeddingLog
from runtime.eventlog import EventLog
from runtime.events import Event
from runtime.llm.context import format_context
from runtime.questions.facts import gather
from runtime.questions.service import RateLimiter
from runtime.questions.settings import QuestionSettings
from runtime.questions.timerange import time_range

NOW = datetime(2026, 3, 14, 15, 0, 0).timestamp()  # a Saturday, 15:00 local time


@pytest.mark.parametrize(
    ("question", "span_s", "words"),
    [
        ("How many people were here in the last hour?", 3600, "last hour"),
        ("Did anyone fall in the past 3 days?", 3 * 86400, "past 3 days"),
        ("What happened since 10 minutes?", 600, "since 10 minutes"),
        ("Anyone in the last 10 min?", 600, "last 10 min"),
        ("Who came in half an hour ago?", 1800, "half an hour ago"),
        ("Was it busy over the last couple of hours?", 7200, "last couple of hours"),
        ("Did anyone come in the last five minutes?", 300, "last five minutes"),
        ("Is anyone in the kitchen right now?", 60, "is anyone"),
        ("What is the cat doing now?", 60, "now"),
        ("Did anyone fall?", 900, ""),
    ],
)
def test_spans_back_from_now(question: str, span_s: float, words: str) -> None:
    r = time_range(question, NOW)
    assert r.until == NOW and r.span_s == pytest.approx(span_s) and r.words == words


def test_calendar_words_use_local_midnight() -> None:
    midnight = datetime(2026, 3, 14).timestamp()
    today = time_range("Did anyone fall today?", NOW)
    assert (today.since, today.until) == (midnight, NOW)
    yesterday = time_range("How often did the cat come in yesterday?", NOW)
    assert yesterday.since == datetime(2026, 3, 13).timestamp() and yesterday.until == midnight
    morning = time_range("Was anyone up this morning?", NOW)
    assert morning.since == midnight and morning.until == datetime(2026, 3, 14, 12).timestamp()
    # the range never reaches into the future, and is cut to max_span_s
    assert time_range("this evening?", NOW).span_s == 0
    assert time_range("in the last 900 days?", NOW, max_span_s=86400).span_s == 86400


def test_rate_limiter_is_a_sliding_window_per_key() -> None:
    lim = RateLimiter(2, period_s=60.0, max_keys=3)
    for t in (0.0, 10.0):
        assert lim.wait_s("a", t) == 0
        lim.record("a", t)
    assert lim.wait_s("a", 20.0) == pytest.approx(40.0)  # the first one leaves the window at 60
    assert lim.wait_s("b", 20.0) == 0
    assert lim.wait_s("a", 60.5) == 0
    for key in "bcde":  # bounded memory: the stalest key ("a") is forgotten
        lim.record(key, 70.0)
    assert "a" not in lim._seen and len(lim._seen) == 3


def test_settings_are_strict_and_bounded() -> None:
    with pytest.raises(ValidationError, match="extra"):
        QuestionSettings.model_validate({"threads": 2})
    with pytest.raises(ValidationError):
        QuestionSettings(max_question_chars=501)  # the LLM's own limit is 500
    assert all(f.title and f.description for f in QuestionSettings.model_fields.values())


def test_facts_carry_states_in_and_pick_the_window(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    log, emb = EventLog(db), EmbeddingLog(db)
    t0 = time.time()
    log.extend(
        [
            Event("count", t0 - 3600, 2, 0.9, "living"),  # long before the range: still holds
            Event("fall", t0 - 3000, True, 1.0, "living"),
            Event("count", t0 - 1800, 5, 0.9, "garage"),  # another radar
            Event("activity", t0 - 120, "sitting", 0.8, "living"),
            Event("occupancy", t0 - 60, True, 0.9, "living"),
        ]
    )
    rng = np.random.default_rng(1)
    vecs = rng.normal(size=(3, 16)).astype(np.float32)
    emb.extend([(t0 - 100 + 10 * i, "living", None, v, "x", 0.5) for i, v in enumerate(vecs)])
    emb.extend([(t0 - 5, "garage", None, vecs[0], "y", 0.5)])
    state = {"time": t0, "radars": {"living": {"tracks": [{"id": 3, "position": [0.5, 2.0, 1.0]}]}}}
    r = time_range("What is happening?", t0, default_span_s=300)
    facts = gather(r, radar="living", event_log=log, embedding_log=emb, state=state)
    kinds = [(e.type, e.value) for e in facts.events]
    assert ("count", 2) in kinds and ("fall", True) in kinds and ("count", 5) not in kinds
    assert facts.logged == 2 and kinds[-1][0] == "tracks"
    assert facts.window_time == pytest.approx(t0 - 80)  # the newest window of this radar
    assert np.allclose(facts.embedding, vecs[2] / np.linalg.norm(vecs[2]), atol=1e-6)
    text = format_context(facts.events, t0)
    assert "2 people" in text and "Person 3" in text and "fall" in text
    # nearest to a query vector instead of the newest; none at all
    near = gather(r, radar="living", event_log=log, embedding_log=emb, window="nearest",
                  query=lambda: vecs[0])  # fmt: skip
    assert near.window_time == pytest.approx(t0 - 100)
    none = gather(r, radar="living", event_log=log, embedding_log=emb, window="none")
    assert none.embedding is None and none.window_time is None
    # an empty range: no window; every radar when none is named
    old = time_range("in the last 1 s", t0 - 10_000)
    assert gather(old, radar=None, event_log=log, embedding_log=emb).embedding is None
    log.close()
    emb.close()
