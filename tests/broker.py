"""A private Mosquitto for tests: its own port, config, password file, pid file and persistence.

Never the system broker on 1883. Use the class directly or the ``mosquitto_broker`` fixture
(import it into ``conftest.py`` to share it)::

    broker = MosquittoBroker(tmp_path, users={"mmfm": "secret"})
    broker.start()
    ...
    broker.restart()  # same port, retained messages kept (persistence on)
    broker.stop()

:class:`Subscriber` records what a real MQTT client would see. Tests that need a broker skip (with a message) where mosquitto is not installed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def hash_password(password: str, salt: bytes | None = None) -> str:
    """A mosquitto 2 password-file hash: ``$7$<iterations>$<salt>$<digest>`` (PBKDF2-SHA512, base64),
    what ``mosquitto_passwd`` writes; used when that tool is not installed."""
    salt = os.urandom(12) if salt is None else salt
    iterations = 101
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    b64 = base64.b64encode
    return f"$7${iterations}${b64(salt).decode()}${b64(digest).decode()}"


@dataclass(frozen=True)
class TlsFiles:
    """A private CA and a server certificate it signed (PEM files), made by :func:`make_tls_files`."""

    ca_cert: Path
    server_cert: Path
    server_key: Path


def have_openssl() -> bool:
    return shutil.which("openssl") is not None


def make_tls_files(directory: Path, name: str = "ca") -> TlsFiles:
    """A self-signed CA and a server certificate for 127.0.0.1/localhost signed by it (openssl)."""
    d = Path(directory) / f"tls-{name}"
    d.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = d / "ca.key", d / "ca.pem"
    key, csr, cert, ext = d / "server.key", d / "server.csr", d / "server.pem", d / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n", encoding="utf-8")

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out",
        str(ca_cert), "-days", "2", "-subj", f"/CN=mmfm test {name}")  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
        "-subj", "/CN=127.0.0.1")  # fmt: skip
    run("x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key),
        "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext))  # fmt: skip
    return TlsFiles(ca_cert, cert, key)


def have_mosquitto() -> bool:
    return os.access(MOSQUITTO, os.X_OK)


class MosquittoBroker:
    """One mosquitto process on 127.0.0.1.

    Args:
        directory: where the config, password file, pid file, persistence and log go.
        port: TCP port; None = a free one (kept across restarts).
        users: ``{name: password}``; when given, anonymous access is refused.
        persistence: keep retained messages across :meth:`restart` (saved on a clean stop).
        tls: :class:`TlsFiles` to listen with TLS (server certificate and key) instead of plain TCP.
    """

    def __init__(
        self,
        directory: Path,
        port: int | None = None,
        users: dict[str, str] | None = None,
        persistence: bool = True,
        tls: TlsFiles | None = None,
    ) -> None:
        self.dir = Path(directory) / f"mosquitto-{id(self):x}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.users = users
        self.persistence = persistence
        self.tls = tls
        self.log_path = self.dir / "mosquitto.log"
        self.conf_path = self.dir / "mosquitto.conf"
        self._proc: subprocess.Popen[bytes] | None = None
        self._write_config()

    def _write_config(self) -> None:
        lines = [
            f"listener {self.port} 127.0.0.1",
            *(
                [
                    f"certfile {self.tls.server_cert}",
                    f"keyfile {self.tls.server_key}",
                    "tls_version tlsv1.2",
                ]
                if self.tls is not None
                else []
            ),
            f"pid_file {self.dir / 'mosquitto.pid'}",
            f"persistence {'true' if self.persistence else 'false'}",
            f"persistence_location {self.dir}/",
            f"log_dest file {self.log_path}",
            "log_type all",
            "connection_messages true",
        ]
        if os.geteuid() == 0:
            lines.append("user root")  # else mosquitto drops to 'mosquitto' and cannot write here
        if self.users is not None:
            passwd = self.dir / "passwd"
            self._write_passwords(passwd)
            lines += ["allow_anonymous false", f"password_file {passwd}"]
        else:
            lines.append("allow_anonymous true")
        self.conf_path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def _write_passwords(self, path: Path) -> None:
        assert self.users is not None
        path.write_text("", encoding="utf-8")
        path.chmod(0o600)
        if os.access(MOSQUITTO_PASSWD, os.X_OK):
            for name, password in self.users.items():
                subprocess.run(
                    [MOSQUITTO_PASSWD, "-b", str(path), name, password],
                    check=True,
                    capture_output=True,
                )
        else:
            path.write_text(
                "".join(f"{n}:{hash_password(p)}\n" for n, p in self.users.items()),
                encoding="utf-8",
            )

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log(self) -> str:
        """The broker's log so far (for assertion messages)."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def start(self, timeout: float = 10.0) -> MosquittoBroker:
        """Start and wait until the port accepts connections."""
        if self.running:
            return self
        self._proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
                raise RuntimeError(
                    f"mosquitto exited with {self._proc.returncode}: {err}\n{self.log()[-2000:]}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"mosquitto did not listen on {self.port} within {timeout} s")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop cleanly (SIGTERM: persistence is saved); SIGKILL if it does not exit."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stderr:
            proc.stderr.close()

    def restart(self) -> MosquittoBroker:
        self.stop()
        return self.start()

    def __enter__(self) -> MosquittoBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool
    qos: int

    @property
    def text(self) -> str:
        return self.payload.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.payload)


class Subscriber:
    """A paho client that records every message on ``topics`` (for assertions).

    Args:
        port: the broker's port on 127.0.0.1.
        topics: filters subscribed with QoS 1 after every (re)connect.
        client_id: fixed id; with ``persistent=True`` the broker keeps the session (and queues QoS 1
            messages for it) while the subscriber or the broker is away.
        auth: ``(user, password)``.
    """

    def __init__(
        self,
        port: int,
        topics: tuple[str, ...] = ("#",),
        client_id: str = "",
        persistent: bool = False,
        auth: tuple[str, str] | None = None,
    ) -> None:
        self.messages: list[Received] = []
        self._cond = threading.Condition()
        self.topics = topics
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id or f"test-sub-{os.getpid()}-{id(self):x}",
            protocol=MQTTProtocolVersion.MQTTv311,
            clean_session=not persistent,
        )
        if auth:
            self.client.username_pw_set(*auth)
        self.client.reconnect_delay_set(1, 1)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.subscribed = threading.Event()
        self.port = port

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any
    ) -> None:
        if not rc.is_failure:
            client.subscribe([(t, 1) for t in self.topics])
            self.subscribed.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self._cond:
            self.messages.append(Received(msg.topic, bytes(msg.payload), bool(msg.retain), msg.qos))
            self._cond.notify_all()

    def start(self, timeout: float = 5.0) -> Subscriber:
        self.client.connect("127.0.0.1", self.port, keepalive=30)
        self.client.loop_start()
        if not self.subscribed.wait(timeout):
            raise TimeoutError("subscriber did not connect")
        time.sleep(0.1)  # let the SUBACK (and retained messages) arrive
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self) -> Subscriber:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def on(self, topic: str) -> list[Received]:
        with self._cond:
            return [m for m in self.messages if m.topic == topic]

    def wait_for(
        self, predicate: Callable[[list[Received]], bool], timeout: float = 5.0
    ) -> list[Received]:
        """Wait until ``predicate(messages)`` holds; returns the messages (AssertionError if not)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.messages):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    topics = sorted({m.topic for m in self.messages})
                    raise AssertionError(f"timed out; received topics: {topics}")
                self._cond.wait(remaining)
            return list(self.messages)

    def wait_payload(self, topic: str, payload: str, timeout: float = 5.0) -> Received:
        """Wait for ``payload`` on ``topic``."""
        msgs = self.wait_for(
            lambda ms: any(m.topic == topic and m.payload == payload.encode() for m in ms), timeout
        )
        return next(m for m in msgs if m.topic == topic and m.payload == payload.encode())


@pytest.fixture
def mosquitto_broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    """A started anonymous broker on a free port, stopped after the test."""
    if not have_mosquitto():
        pytest.skip(f"needs mosquitto at {MOSQUITTO} (apt-get install mosquitto)")
    broker = MosquittoBroker(tmp_path)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
