"""ZeroMQ publisher over real loopback sockets: PUB/SUB topics, high-water mark, requests, shutdown."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import zmq
from pydantic import ValidationError

from runtime.comms.base import Communicator
from runtime.comms.settings import ZeroMqSettings
from runtime.comms.zeromq import ZeroMqCommunicator
from runtime.events import Event

RADARS = [{"id": "kitchen", "zones": ["table"]}, {"id": "kitchen2"}]
ANY_PORT = {"pub_endpoint": "tcp://127.0.0.1:*", "request_endpoint": "tcp://127.0.0.1:*"}


@pytest.fixture
def ctx() -> Iterator[zmq.Context[zmq.Socket[bytes]]]:
    c: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    yield c
    c.destroy(linger=0)


@pytest.fixture
def comm() -> Iterator[ZeroMqCommunicator]:
    c = ZeroMqCommunicator(ZeroMqSettings.model_validate(ANY_PORT), RADARS)
    c.start()
    yield c
    c.stop()


def _sub(ctx: zmq.Context[zmq.Socket[bytes]], comm: ZeroMqCommunicator, *prefixes: str) -> Any:
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.RCVTIMEO, 2000)
    sub.setsockopt(zmq.LINGER, 0)
    for p in prefixes:
        sub.setsockopt_string(zmq.SUBSCRIBE, p)
    sub.setsockopt_string(zmq.SUBSCRIBE, "sync/")
    assert comm.pub_address
    sub.connect(comm.pub_address)
    # the slow-joiner problem: publish a marker until the subscription is in place
    for _ in range(200):
        comm._send("sync/", b"{}")
        if sub.poll(10):
            while sub.poll(50):
                sub.recv_multipart()
            return sub
    raise AssertionError("SUB never received the sync marker")


def _req(ctx: zmq.Context[zmq.Socket[bytes]], comm: ZeroMqCommunicator, request: Any) -> Any:
    req = ctx.socket(zmq.REQ)
    req.setsockopt(zmq.RCVTIMEO, 2000)
    req.setsockopt(zmq.LINGER, 0)
    assert comm.request_address
    req.connect(comm.request_address)
    req.send(request if isinstance(request, bytes) else json.dumps(request).encode())
    reply = json.loads(req.recv())
    req.close()
    return reply


def test_settings_keep_loopback_unless_configured() -> None:
    assert ZeroMqSettings().pub_endpoint == "tcp://127.0.0.1:5556"
    with pytest.raises(ValidationError, match="not a loopback address"):
        ZeroMqSettings(pub_endpoint="tcp://0.0.0.0:5556")
    with pytest.raises(ValidationError, match="not a loopback address"):
        ZeroMqSettings(request_endpoint="tcp://*:5557")
    assert ZeroMqSettings(pub_endpoint="tcp://*:5556", allow_remote=True).allow_remote
    assert ZeroMqSettings(pub_endpoint="tcp://[::1]:5556").pub_endpoint
    with pytest.raises(ValidationError, match="extra"):
        ZeroMqSettings.model_validate({"hwm": 5})
    assert all(f.description for f in ZeroMqSettings.model_fields.values())


def test_sub_receives_events_with_prefix_filtering(
    ctx: zmq.Context[zmq.Socket[bytes]], comm: ZeroMqCommunicator
) -> None:
    assert isinstance(comm, Communicator)
    sub = _sub(ctx, comm, "mmfm/kitchen/")  # must not match mmfm/kitchen2/
    events = [
        Event("occupancy", 1.0, True, 0.9, "kitchen"),
        Event("occupancy", 1.5, True, 0.9, "kitchen", {"zone": "table"}),
        Event("count", 2.0, 3, 0.8, "kitchen2"),
        Event("fall", 3.0, True, 0.99, "kitchen"),
    ]
    for e in events:
        comm.publish_event(e)
    comm.publish_event(Event("tracks", 4.0, [{"id": 1, "x": 0.5}], 1.0, "kitchen"))
    comm.publish_stats("kitchen", {"frames": 10})
    comm.set_available("kitchen", True)
    got = [sub.recv_multipart() for _ in range(6)]
    assert not sub.poll(100)  # kitchen2's count was filtered out
    topics = [t.decode() for t, _ in got]
    assert topics == [
        "mmfm/kitchen/event/occupancy/",
        "mmfm/kitchen/event/occupancy/table/",
        "mmfm/kitchen/event/fall/",
        "mmfm/kitchen/tracks/",
        "mmfm/kitchen/stats/",
        "mmfm/kitchen/available/",
    ]
    assert json.loads(got[0][1]) == events[0].to_dict()
    assert json.loads(got[2][1]) == events[3].to_dict()
    assert json.loads(got[3][1])["value"] == [{"id": 1, "x": 0.5}]
    assert json.loads(got[4][1])["pipeline"] == {"frames": 10}
    assert json.loads(got[5][1])["online"] is True

    only_falls = _sub(ctx, comm, "mmfm/kitchen/event/fall/")
    comm.publish_event(events[0])
    comm.publish_event(events[3])
    topic, _ = only_falls.recv_multipart()
    assert topic == b"mmfm/kitchen/event/fall/"
    assert not only_falls.poll(100)


def test_high_water_mark_is_set_and_drops_are_counted(ctx: zmq.Context[zmq.Socket[bytes]]) -> None:
    settings = ZeroMqSettings.model_validate({**ANY_PORT, "sndhwm": 10, "request_endpoint": None})
    comm = ZeroMqCommunicator(settings, RADARS)
    comm.start()
    try:
        assert comm._pub is not None and comm._pub.getsockopt(zmq.SNDHWM) == 10
        sub = ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.RCVHWM, 10)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt_string(zmq.SUBSCRIBE, "")
        assert comm.pub_address
        sub.connect(comm.pub_address)
        for _ in range(200):  # wait for the subscription
            comm._send("sync/", b"{}")
            if sub.poll(10):
                break
        big = Event("activity", 0.0, "x" * 100_000, 1.0, "kitchen")  # never read: queues fill
        n = 1000
        t0 = time.monotonic()
        for _ in range(n):
            comm.publish_event(big)
        assert time.monotonic() - t0 < 5  # never blocks
        stats = comm.stats()
        assert stats["dropped_hwm"] > 0
        assert stats["sent"] + stats["dropped_hwm"] >= n
        sub.close()
    finally:
        comm.stop()


def test_requests_state_ping_and_errors(
    ctx: zmq.Context[zmq.Socket[bytes]], comm: ZeroMqCommunicator
) -> None:
    assert "error" in _req(ctx, comm, {"type": "state"})  # no provider yet
    state = {"kitchen": {"occupancy": True, "count": 1, "tracks": [{"id": 2}]}}
    comm.set_state_provider(lambda: state)
    assert _req(ctx, comm, {"type": "state"}) == state
    pong = _req(ctx, comm, {"type": "ping"})
    assert pong["type"] == "pong" and pong["radars"] == ["kitchen", "kitchen2"]
    assert _req(ctx, comm, {"type": "ask", "question": "who is here?"}) == {
        "error": "unknown request type 'ask'; known: state, ping"
    }
    assert "not JSON" in _req(ctx, comm, b"{nope")["error"]
    assert "'type'" in _req(ctx, comm, [1, 2])["error"]

    def broken() -> dict[str, Any]:
        raise RuntimeError("tracker restarting")

    comm.set_state_provider(broken)
    assert "tracker restarting" in _req(ctx, comm, {"type": "state"})["error"]
    assert _req(ctx, comm, {"type": "ping"})["type"] == "pong"  # the thread survived
    stats = comm.stats()
    assert stats["requests"] == 8 and stats["request_errors"] == 5


def test_dealer_clients_get_replies_too(
    ctx: zmq.Context[zmq.Socket[bytes]], comm: ZeroMqCommunicator
) -> None:
    dealer = ctx.socket(zmq.DEALER)
    dealer.setsockopt(zmq.RCVTIMEO, 2000)
    dealer.setsockopt(zmq.LINGER, 0)
    assert comm.request_address
    dealer.connect(comm.request_address)
    for _ in range(3):  # several in flight
        dealer.send(b'{"type": "ping"}')
    assert [json.loads(dealer.recv())["type"] for _ in range(3)] == ["pong"] * 3
    dealer.close()


def test_publishing_from_many_threads(
    ctx: zmq.Context[zmq.Socket[bytes]], comm: ZeroMqCommunicator
) -> None:
    sub = _sub(ctx, comm, "mmfm/")
    per_thread, n_threads = 200, 4

    def work(k: int) -> None:
        for i in range(per_thread):
            comm.publish_event(Event("count", float(i), k, 1.0, "kitchen"))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    received = [sub.recv_multipart() for _ in range(per_thread * n_threads)]
    assert all(len(frames) == 2 for frames in received)
    assert comm.stats()["dropped_hwm"] == 0


def test_clean_shutdown_releases_ports_and_never_hangs(
    ctx: zmq.Context[zmq.Socket[bytes]],
) -> None:
    comm = ZeroMqCommunicator(ZeroMqSettings.model_validate(ANY_PORT), RADARS)
    comm.publish_event(Event("count", 0.0, 1, 1.0, "kitchen"))  # before start: counted, no error
    assert comm.stats()["dropped_not_started"] == 1
    comm.start()
    pub, rep = comm.pub_address, comm.request_address
    sub = _sub(ctx, comm, "mmfm/")
    req = ctx.socket(zmq.REQ)  # a client waiting for nothing in particular
    req.setsockopt(zmq.LINGER, 0)
    assert rep
    req.connect(rep)
    t0 = time.monotonic()
    comm.stop()
    assert time.monotonic() - t0 < 2
    comm.stop()  # twice is fine
    comm.publish_event(Event("count", 0.0, 1, 1.0, "kitchen"))  # after stop: counted, no error
    sub.close()
    req.close()
    # the same endpoints can be bound again at once
    again = ZeroMqCommunicator(
        ZeroMqSettings(pub_endpoint=str(pub), request_endpoint=str(rep)), RADARS
    )
    again.start()
    again.stop()
    with pytest.raises(zmq.ZMQError):  # a taken endpoint is an error at start, not later
        a = ZeroMqCommunicator(ZeroMqSettings(pub_endpoint=str(pub), request_endpoint=None), [])
        b = ZeroMqCommunicator(ZeroMqSettings(pub_endpoint=str(pub), request_endpoint=None), [])
        a.start()
        try:
            b.start()
        finally:
            a.stop()


def _dealer_ask(ctx: zmq.Context[zmq.Socket[bytes]], address: str, body: bytes) -> Any:
    dealer = ctx.socket(zmq.DEALER)
    dealer.setsockopt(zmq.RCVTIMEO, 3000)
    dealer.setsockopt(zmq.LINGER, 0)
    dealer.connect(address)
    try:
        dealer.send(body)
        return json.loads(dealer.recv())
    finally:
        dealer.close()


HOSTILE_BODIES = {
    "5000-digit number": b'{"type":"ping","n":' + b"1" * 5000 + b"}",
    "50000 nested [": b"[" * 50_000,
    "10000 nested objects": b'{"a":' * 10_000 + b"1" + b"}" * 10_000,  # < max_request_bytes
    "not UTF-8": b'{"type":"\xff\xfe"}',
    "NaN in a state request": b'{"type":"state","x":NaN}',
}


@pytest.mark.parametrize("name", list(HOSTILE_BODIES))
def test_hostile_requests_are_answered_and_the_endpoint_lives_on(
    ctx: zmq.Context[zmq.Socket[bytes]], comm: ZeroMqCommunicator, name: str
) -> None:
    assert comm.request_address
    reply = _dealer_ask(ctx, comm.request_address, HOSTILE_BODIES[name])
    assert "error" in reply or "time" in reply  # NaN is valid for Python's json: a state answer
    assert len(json.dumps(reply)) < 1000  # the answer does not echo the input
    # the port still answers
    assert _dealer_ask(ctx, comm.request_address, b'{"type":"ping"}')["type"] == "pong"
    assert comm.check_threads() == []
    assert comm.stats()["request_thread_restarts"] == 0


def test_an_unencodable_state_is_an_error_reply(
    ctx: zmq.Context[zmq.Socket[bytes]], comm: ZeroMqCommunicator
) -> None:
    deep: Any = []
    for _ in range(100_000):
        deep = [deep]
    comm.set_state_provider(lambda: {"odd": object(), "deep": deep})
    assert "error" in _req(ctx, comm, {"type": "state"})
    assert _req(ctx, comm, {"type": "ping"})["type"] == "pong"


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_dead_request_thread_is_restarted_on_the_same_address(
    ctx: zmq.Context[zmq.Socket[bytes]], comm: ZeroMqCommunicator
) -> None:
    def fatal() -> dict[str, Any]:
        raise SystemExit("a bug that ends the thread")  # not an Exception: nothing catches it

    comm.set_state_provider(fatal)
    address = comm.request_address
    assert address
    dealer = ctx.socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 0)
    dealer.connect(address)
    dealer.send(b'{"type":"state"}')
    thread = comm._thread
    assert thread is not None
    thread.join(3)
    assert not thread.is_alive()
    dealer.close()
    assert comm.check_threads() == []  # what the daemon's watchdog calls
    assert comm.stats()["request_thread_restarts"] == 1
    assert comm.request_address == address
    assert _dealer_ask(ctx, address, b'{"type":"ping"}')["type"] == "pong"
