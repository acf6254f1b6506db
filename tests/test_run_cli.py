"""`mmfm run` as a real process: it starts, publishes, and on SIGTERM stops cleanly with every radar
offline on MQTT; after SIGKILL the broker's last wills leave every radar offline too; JSON logs carry
radar ids; it never imports sim, training or torch."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import zmq
from broker import MosquittoBroker, Subscriber, free_port

from runtime.fakes.uart_radar import FakeUartRadar

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "runtime" / "examples"

# Runs `mmfm run` with the subcommand listed even before mmfm.cli lists it, and reports whether sim,
# training or torch were imported when it exits.
LAUNCH = """
import sys, mmfm.cli as cli
if "mmfm.commands.run" not in cli.SUBCOMMANDS:
    cli.SUBCOMMANDS = (*cli.SUBCOMMANDS, "mmfm.commands.run")
code = cli.main(sys.argv[1:])
heavy = sorted(m for m in ("sim", "training", "torch") if m in sys.modules)
print("HEAVY=" + ",".join(heavy), flush=True)
sys.exit(code)
"""


def test_run_sigterm_leaves_every_radar_offline(
    mosquitto_broker: MosquittoBroker, tmp_path: Path
) -> None:
    config = tmp_path / "mmfm.yaml"
    config.write_text(
        f"mqtt: {{port: {mosquitto_broker.port}, client_id: mmfm-cli}}\n"
        "event_log: {path: events.db}\n"
        "logging: {format: json}\n"
        "radars:\n"
        "  den:\n"
        "    source:\n"
        "      type: replay\n"
        f"      path: {EXAMPLES / 'two_people_iwr1843.bin'}\n"
        "      loop: true\n",
        encoding="utf-8",
    )
    sub = Subscriber(mosquitto_broker.port, topics=("mmfm/#",)).start()
    proc = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, "run", "--config", str(config)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        sub.wait_payload("mmfm/den/available", "online", timeout=20)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    sub.wait_payload("mmfm/den/available", "offline")
    sub.wait_payload("mmfm/available", "offline")
    sub.stop()
    assert "HEAVY=\n" in out
    records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    messages = [r["message"] for r in records]
    # the start order is fixed and visible; the stop is the reverse
    starts = [m.split(":")[0] for m in messages if m.startswith("start ")]
    assert starts == [
        "start 1/7 config",
        "start 2/7 event log",
        "start 3/7 activities",
        "start 4/7 questions",
        "start 5/7 publishers",
        "start 6/7 pipelines",
        "start 7/7 watchdog",
    ]
    stops = [m for m in messages if m.startswith("stop: ")]
    assert [s.split(" ")[1] for s in stops] == ["watchdog", "pipelines", "publishers", "event"]
    assert any(r.get("radar") == "den" and r["message"] == "radar online" for r in records)
    assert any("received SIGTERM" in m for m in messages)


def _retained(port: int, topics: tuple[str, ...], expected: dict[str, str]) -> dict[str, str]:
    """The retained values a client that connects now reads, asking again for up to 10 s until it
    reads ``expected``."""
    deadline = time.monotonic() + 10
    while True:
        sub = Subscriber(port, topics=topics).start()
        time.sleep(0.3)
        sub.stop()
        seen = {m.topic: m.text for m in sub.messages if m.retain}
        if seen == expected or time.monotonic() > deadline:
            return seen


def test_run_sigkill_leaves_every_radar_offline_for_a_fresh_client(
    mosquitto_broker: MosquittoBroker, tmp_path: Path
) -> None:
    """SIGKILL gives the daemon no chance to say anything: every radar's availability is the last
    will of a connection of its own, so a client that connects afterwards reads 'offline' on the
    daemon topic and on every radar topic (not a stale retained 'online')."""
    capture = EXAMPLES / "two_people_iwr1843.bin"
    config = tmp_path / "mmfm.yaml"
    config.write_text(
        f"mqtt: {{port: {mosquitto_broker.port}, client_id: mmfm-kill, keepalive: 5}}\n"
        "event_log: {enabled: false}\n"
        "radars:\n"
        + "".join(
            f"  {radar}:\n    source: {{type: replay, path: {capture}, loop: true}}\n"
            for radar in ("den", "hall")
        ),
        encoding="utf-8",
    )
    topics = ("mmfm/available", "mmfm/den/available", "mmfm/hall/available")
    proc = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, "run", "--config", str(config)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        online = dict.fromkeys(topics, "online")
        assert _retained(mosquitto_broker.port, topics, online) == online
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        offline = dict.fromkeys(topics, "offline")
        assert _retained(mosquitto_broker.port, topics, offline) == offline
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL


def test_run_with_a_bad_config_exits_1(tmp_path: Path) -> None:
    config = tmp_path / "mmfm.yaml"
    config.write_text("radars: {}\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-c", LAUNCH, "run", "--config", str(config)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert f"{config}:1: radars: " in proc.stderr


def test_serial_radar_cli_json_log_names_the_radar(
    tmp_path: Path, mosquitto_broker: MosquittoBroker
) -> None:
    with FakeUartRadar(frame_period_s=0.05) as fake:
        config = tmp_path / "mmfm.yaml"
        config.write_text(
            f"mqtt: {{port: {mosquitto_broker.port}}}\n"
            "event_log: {enabled: false}\n"
            "radars:\n"
            "  hall:\n"
            "    chirp_config: iwr1843boost_presence\n"
            f"    source: {{type: serial, cli_port: {fake.cli_path}, data_port: {fake.data_path}}}\n",
            encoding="utf-8",
        )
        with Subscriber(mosquitto_broker.port, topics=("mmfm/hall/available",)) as sub:
            proc = subprocess.Popen(
                [sys.executable, "-c", LAUNCH, "run", "-c", str(config), "--log-format", "json"],
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            try:
                sub.wait_payload("mmfm/hall/available", "online", timeout=20)
                proc.send_signal(signal.SIGINT)
                _, err = proc.communicate(timeout=20)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate()
            sub.wait_payload("mmfm/hall/available", "offline")
        assert proc.returncode == 0, err
        records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
        assert any(
            r.get("radar") == "hall" and r["message"].startswith("chirp config") for r in records
        )
        assert "sensorStart" in fake.commands


def test_run_ends_by_itself_after_its_only_replay_and_answers_hostile_requests(
    tmp_path: Path,
) -> None:
    """The issue's repro against the real process: a 5,000-digit ping gets an error reply and the
    port keeps answering; once the non-looping replay has ended the daemon exits 0 by itself."""
    port = free_port()
    config = tmp_path / "mmfm.yaml"
    config.write_text(
        f"zeromq: {{request_endpoint: 'tcp://127.0.0.1:{port}', pub_endpoint: 'tcp://127.0.0.1:*'}}\n"
        "event_log: {enabled: false}\n"
        "watchdog: {check_interval_s: 0.1}\n"
        "radars:\n"
        "  den:\n"
        "    source:\n"
        "      type: replay\n"
        f"      path: {EXAMPLES / 'two_people_iwr1843.bin'}\n"
        "      speed: 0.1\n",  # 2 frames of 50 ms played over 1 s: time for the requests
        encoding="utf-8",
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, "run", "--config", str(config)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    try:
        dealer = ctx.socket(zmq.DEALER)
        dealer.setsockopt(zmq.RCVTIMEO, 20_000)
        dealer.setsockopt(zmq.LINGER, 0)
        dealer.connect(f"tcp://127.0.0.1:{port}")
        dealer.send(b'{"type":"ping","n":' + b"1" * 5000 + b"}")
        assert "error" in json.loads(dealer.recv())
        dealer.send(b'{"type":"ping"}')
        assert json.loads(dealer.recv())["type"] == "pong"
        dealer.close()
        _, err = proc.communicate(timeout=30)
    finally:
        ctx.destroy(linger=0)
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "every source has ended; stopping mmfm" in err
