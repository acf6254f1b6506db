"""The question service's life with the real LLM (Gemma 3 270M in llama.cpp): questions wait their
turn in order, a stop answers every waiting question (nobody is left hanging), and a stopped service
says so; answers become `answer` events with the question and the time range."""

from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path
from typing import Any

import pytest

from runtime.eventlog import EventLog
from runtime.events import Event
from runtime.llm import base_model as bm
from runtime.questions.service import QuestionService, Reply
from runtime.questions.settings import QuestionSettings

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None
    or importlib.util.find_spec(bm.BASE_MODEL_MODULE) is None,
    reason="needs llama-cpp-python (mmfm[llm]) and the base LLM package",
)


@pytest.fixture(scope="module")
def answerer(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from runtime.llm.answer import Answerer

    if os.environ.get("MMFM_CACHE"):
        gguf = bm.base_model_path()
    else:
        gguf = bm.assemble_base_model(tmp_path_factory.mktemp("cache") / "llm" / bm.BASE_MODEL_FILE)
    return Answerer(None, n_threads=1, gguf_path=gguf)


def test_queue_order_stop_and_answer_events(answerer: Any, tmp_path: Path) -> None:
    log = EventLog(tmp_path / "events.db")
    log.extend([Event("count", time.time() - 5, 1, 0.9, "den")])
    published: list[Event] = []
    service = QuestionService(
        QuestionSettings(max_tokens=6, queue=2),
        [answerer],
        radars=["den"],
        event_log=log,
        on_events=lambda radar, events: published.extend(events),
    )
    service.start()
    done: list[Reply] = []
    tickets = [
        service.ask(f"Question {i}: is anyone here in the last hour?", client=f"c{i}",
                    on_done=done.append)
        for i in range(3)
    ]  # fmt: skip
    replies = [t.wait(120) for t in tickets]
    assert [r.status for r in replies if r] == ["ok", "ok", "ok"]
    assert [r.question[:10] for r in done] == ["Question 0", "Question 1", "Question 2"]  # FIFO
    assert replies[2] is not None and replies[2].wait_s is not None and replies[2].wait_s > 0
    assert [e.attributes["question"][:10] for e in published] == [r.question[:10] for r in done]
    event = published[0]
    assert event.type == "answer" and event.radar == "den" and event.value == done[0].answer
    assert event.attributes["until"] - event.attributes["since"] == pytest.approx(3600)
    # a long answer in progress and two waiting; stop answers all of them
    service.settings = service.settings.model_copy(update={"max_tokens": 400})
    tickets = [service.ask(f"Tell me story {i}.", client=f"d{i}") for i in range(3)]
    deadline = time.monotonic() + 60
    while service.stats()["answering"] == 0:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert service.stop(timeout=30)
    replies = [t.wait(0) for t in tickets]
    assert all(r is not None for r in replies)
    assert [r.status for r in replies[1:]] == ["error", "error"]
    assert all("stopping" in (r.error or "") for r in replies[1:])
    late = service.ask("Anyone?", client="e").wait(0)
    assert late is not None and late.status == "busy" and "not running" in (late.error or "")
    log.close()


class _RecordingAnswerer:
    """Answers "ok" and keeps the keyword arguments it was called with."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def answer(self, question: str, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        yield "ok"


def test_the_radar_zones_reach_the_answer_as_the_room_line() -> None:
    from runtime.llm.context import format_context, zones_words

    rec = _RecordingAnswerer()
    room = zones_words(["sofa", "kitchen_counter"])
    service = QuestionService(
        QuestionSettings(max_tokens=4), [rec], radars=["den", "hall"], rooms={"den": room}
    )
    service.start()
    try:
        for radar in ("den", "hall"):
            reply = service.ask("Is anyone here?", client="c", radar=radar).wait(30)
            assert reply is not None and reply.status == "ok" and reply.answer == "ok"
    finally:
        assert service.stop(timeout=10)
    assert [c["room"] for c in rec.calls] == ["zones sofa, kitchen counter", None]
    assert format_context([], 0.0, room=rec.calls[0]["room"]).splitlines()[0] == (
        "Room: zones sofa, kitchen counter."
    )
