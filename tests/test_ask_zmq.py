"""Questions and search over ZeroMQ on loopback, with the real LLM (Gemma 3 270M in llama.cpp, base
model, a few tokens) and the real embedding log (faiss) searched with the shipped CLMP model's text
prototypes; plus the opt-in embedding PUB topic."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zmq
from conftest import REPO

from runtime.comms.ask_client import ask_zmq, zmq_request
from runtime.comms.settings import ZeroMqSettings
from runtime.comms.zeromq import ZeroMqCommunicator
from runtime.embeddinglog import EmbeddingLog
from runtime.eventlog import EventLog
from runtime.events import Event
from runtime.llm import base_model as bm
from runtime.models import load_model
from runtime.questions.search import Searcher
from runtime.questions.service import QuestionService
from runtime.questions.settings import QuestionSettings

needs_llm = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None
    or importlib.util.find_spec(bm.BASE_MODEL_MODULE) is None,
    reason="needs llama-cpp-python (mmfm[llm]) and the base LLM package",
)
ANY_PORT = {"pub_endpoint": "tcp://127.0.0.1:*", "request_endpoint": "tcp://127.0.0.1:*"}


@pytest.fixture(scope="module")
def answerer(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from runtime.llm.answer import Answerer

    if os.environ.get("MMFM_CACHE"):
        gguf = bm.base_model_path()
    else:
        gguf = bm.assemble_base_model(tmp_path_factory.mktemp("cache") / "llm" / bm.BASE_MODEL_FILE)
    return Answerer(None, n_threads=1, gguf_path=gguf)


@pytest.fixture
def daemon(answerer: Any, tmp_path: Path) -> Iterator[tuple[ZeroMqCommunicator, QuestionService]]:
    log = EventLog(tmp_path / "events.db")
    now = time.time()
    log.extend([Event("count", now - 30, 1, 0.9, "hall"), Event("fall", now - 10, True, 1, "hall")])
    comm = ZeroMqCommunicator(
        ZeroMqSettings.model_validate({**ANY_PORT, "publish_embeddings": True}), [{"id": "hall"}]
    )
    settings = QuestionSettings(max_tokens=8, queue=0, per_client_per_minute=50)

    def on_events(radar: str, events: list[Event]) -> None:
        log.extend(events)
        for e in events:
            comm.publish_event(e)

    service = QuestionService(
        settings, [answerer], radars=["hall"], event_log=log, on_events=on_events
    )
    comm.set_question_service(service)
    service.start()
    comm.start()
    yield comm, service
    comm.stop()
    service.stop()
    log.close()


@needs_llm
def test_ask_streams_to_a_dealer_and_answers_a_req_once(
    daemon: tuple[ZeroMqCommunicator, QuestionService],
) -> None:
    comm, _ = daemon
    assert comm.request_address
    pieces: list[str] = []
    reply = ask_zmq(comm.request_address, "Did anyone fall?", on_token=pieces.append, timeout=60)
    assert reply["type"] == "answer" and reply["status"] == "ok", reply
    assert reply["radar"] == "hall" and reply["events"] >= 2
    assert len(pieces) >= 2 and "".join(pieces).strip() == reply["answer"]
    # a REQ client gets exactly one reply (REQ allows no more), even when it asks for a stream
    ctx: zmq.Context[Any] = zmq.Context()
    req = ctx.socket(zmq.REQ)
    req.setsockopt(zmq.LINGER, 0)
    req.setsockopt(zmq.RCVTIMEO, 60_000)
    req.connect(comm.request_address)
    req.send(
        json.dumps({"type": "ask", "question": "Is anyone here?", "stream": True, "id": 7}).encode()
    )
    doc = json.loads(req.recv())
    assert doc["type"] == "answer" and doc["status"] == "ok" and doc["id"] == "7"
    req.send(json.dumps({"type": "ping"}).encode())  # the REQ socket is usable again
    assert json.loads(req.recv())["type"] == "pong"
    ctx.destroy(linger=0)


@needs_llm
def test_pings_are_answered_while_the_llm_works_and_limits_are_clear(
    daemon: tuple[ZeroMqCommunicator, QuestionService],
) -> None:
    comm, service = daemon
    assert comm.request_address
    ctx: zmq.Context[Any] = zmq.Context()
    dealer = ctx.socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 0)
    dealer.connect(comm.request_address)
    dealer.send(
        json.dumps({"type": "ask", "question": "What happened today?", "client": "a"}).encode()
    )
    deadline = time.monotonic() + 30
    while service.stats()["answering"] == 0:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    # the request thread is free while the LLM answers: a ping, a busy reply, a too-long refusal
    ping = zmq_request(comm.request_address, {"type": "ping"}, timeout=5)
    assert ping["type"] == "pong"
    busy = zmq_request(comm.request_address, {"type": "ask", "question": "And now?"}, timeout=5)
    assert busy["status"] == "busy" and "busy:" in busy["error"]
    long = zmq_request(comm.request_address, {"type": "ask", "question": "y" * 700}, timeout=5)
    assert long["status"] == "refused" and "question too long: 700 characters" in long["error"]
    assert dealer.poll(60_000)
    assert json.loads(dealer.recv())["status"] == "ok"
    ctx.destroy(linger=0)


def test_search_finds_the_matching_moment(tmp_path: Path) -> None:
    model = load_model(None)
    names = list(model.label_sets["home"])
    protos = model.prototypes("home")
    rng = np.random.default_rng(0)
    log = EmbeddingLog(tmp_path / "events.db")
    now = time.time()
    rows = []
    for i, label in enumerate(["walking", "sitting", "falling", "lying down", "standing"]):
        emb = protos[names.index(label)] + rng.normal(0, 0.01, protos.shape[1])
        rows.append((now - 100 + 10 * i, "hall", None, emb, label, 0.9))
    rows.append((now - 3 * 86400, "hall", None, protos[names.index("falling")], "falling", 0.9))
    log.extend(rows)
    comm = ZeroMqCommunicator(ZeroMqSettings.model_validate(ANY_PORT), [{"id": "hall"}])
    comm.set_searcher(Searcher(log))
    comm.start()
    try:
        assert comm.request_address
        req = {"type": "search", "text": "someone is falling", "since": "1h", "k": 3}
        doc = zmq_request(comm.request_address, req, timeout=10)
        assert doc["type"] == "search" and len(doc["moments"]) == 3
        best = doc["moments"][0]
        assert best["label"] == "falling" and best["time"] == pytest.approx(now - 80)
        assert best["score"] > doc["moments"][1]["score"]
        # 'since' in seconds, and bad requests answered with one clear line
        doc = zmq_request(comm.request_address, {**req, "since": 7 * 86400, "k": 10}, timeout=10)
        assert len(doc["moments"]) == 6
        bad = zmq_request(comm.request_address, {**req, "since": "yesterday"}, timeout=10)
        assert "give a positive age like 90s" in bad["error"]
        bad = zmq_request(comm.request_address, {"type": "search", "text": ""}, timeout=10)
        assert "non-empty 'text'" in bad["error"]
    finally:
        comm.stop()
        log.close()


def test_embeddings_are_published_only_when_asked() -> None:
    ctx: zmq.Context[Any] = zmq.Context()
    for opt_in in (True, False):
        comm = ZeroMqCommunicator(
            ZeroMqSettings.model_validate({**ANY_PORT, "publish_embeddings": opt_in}),
            [{"id": "hall"}],
        )
        comm.start()
        sub = ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt_string(zmq.SUBSCRIBE, "mmfm/hall/")
        assert comm.pub_address
        sub.connect(comm.pub_address)
        got: list[list[bytes]] = []
        for _ in range(100):  # slow joiner: publish until the subscription is in place
            comm.set_available("hall", True)
            comm.publish_embedding("hall", 1.5, np.ones(4) / 2, label="walking", confidence=0.8)
            while sub.poll(10):
                got.append(sub.recv_multipart())
            if any(t == b"mmfm/hall/available/" for t, _ in got):
                break
        topics = {t for t, _ in got}
        assert (b"mmfm/hall/embedding/" in topics) == opt_in
        if opt_in:
            doc = json.loads(next(p for t, p in got if t == b"mmfm/hall/embedding/"))
            assert doc["embedding"] == [0.5] * 4 and doc["label"] == "walking"
        comm.stop()
        sub.close()
    ctx.destroy(linger=0)


@needs_llm
def test_mmfm_ask_cli_over_zmq(daemon: tuple[ZeroMqCommunicator, QuestionService]) -> None:
    comm, _ = daemon
    proc = subprocess.run(
        [sys.executable, "-m", "mmfm", "ask", "How many people are here?", "--zmq",
         str(comm.request_address), "--timeout", "60"],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip()
    proc = subprocess.run(
        [sys.executable, "-m", "mmfm", "ask", "?", "--zmq", "tcp://127.0.0.1:1", "--timeout", "1"],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )  # fmt: skip
    assert proc.returncode == 1 and "no reply within 1 s" in proc.stderr
