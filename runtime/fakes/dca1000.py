"""A fake DCA1000EVM on loopback UDP: the control protocol and the data stream, with seeded faults.

It answers the control port like the FPGA (8-byte replies, status 0/1, the version word for
READ_FPGA_VERSION, an async RECORD_COMPLETED status when a recording ends) and, on RECORD_START,
streams the frames it was given exactly as the FPGA packetises them: the frames back to back as one
byte stream cut into 1456-byte payloads behind ``u32 sequence number (from 1), u48 byte count``, the
last partial packet of a frame held until the next frame's bytes arrive (and sent short when the
recording ends). Wire formats: :mod:`runtime.sources.dca1000_wire`.

Faults (:class:`Faults`, seeded) apply to data packets: loss, reordering (a packet held back by 1 to
``reorder_window`` packets, never across a frame burst), duplication (the copy goes through the same
delay line) and truncation (the datagram keeps its header and loses part of its payload). The fake
records what it really sent in :attr:`FakeDCA1000.report` so a test can compare the receiver's counters
exactly.

Runs in background threads; ``start()`` binds, ``stop()`` releases. Binds to the given ports on
127.0.0.1 by default (0 = ephemeral: read :attr:`FakeDCA1000.config_port` after ``start()``). Nothing
happens at import or construction time.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from runtime.sources.dca1000_wire import (
    DATA_HEAD,
    DATA_HEADER_BYTES,
    DEFAULT_DATA_PORT,
    MAX_PAYLOAD_BYTES,
    PACKET_DELAY_RANGE_US,
    STATUS_FAILURE,
    STATUS_SUCCESS,
    AsyncStatus,
    Command,
    EepromConfig,
    FpgaConfig,
    FpgaVersion,
    PacketConfig,
    decode_command,
    encode_reply,
)

DEFAULT_VERSION = FpgaVersion(2, 8)  # what the pcap in ../shared/realdata reports (0x0402)

FrameBytes = Callable[[int], "bytes | bytearray | memoryview | None"]


def free_udp_port(host: str = "127.0.0.1") -> int:
    """A UDP port on ``host`` that nothing is bound to right now (for the receiver's data port;
    the fake binds its own control port itself)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Faults:
    """Seeded fault injection on the data stream (probabilities per packet, 0 = never).

    Attributes:
        loss: a packet is never sent.
        reorder: a packet is held back and sent after 1 .. ``reorder_window`` later packets.
        reorder_window: the longest hold-back [packets].
        duplicate: a packet is sent twice (the copy is held back like a reordered packet).
        truncate: the datagram keeps its 10-byte header and 0 .. payload-1 bytes of payload.
        seed: random seed.
    """

    loss: float = 0.0
    reorder: float = 0.0
    reorder_window: int = 4
    duplicate: float = 0.0
    truncate: float = 0.0
    seed: int = 0

    @property
    def any(self) -> bool:
        return bool(self.loss or self.reorder or self.duplicate or self.truncate)


@dataclass
class FaultReport:
    """What the fake really put on the wire during its recordings (sequence numbers are per recording).

    Attributes:
        packets: packets cut from the stream (distinct sequence numbers).
        datagrams: datagrams sent (duplicates included, dropped ones not).
        stream_bytes: ADC bytes cut into packets.
        max_seq_sent: highest sequence number sent.
        dropped: sequence numbers never sent.
        duplicated: sends of a sequence number already sent.
        reordered: first sends of a sequence number lower than one already sent.
        truncated: sequence number -> payload bytes cut off.
        missing: stream byte ranges ``[start, end)`` that never left the fake (dropped packets and
            truncated tails), in stream order.
        frames: frames taken from the frame source.
    """

    packets: int = 0
    datagrams: int = 0
    stream_bytes: int = 0
    max_seq_sent: int = 0
    dropped: list[int] = field(default_factory=list)
    duplicated: int = 0
    reordered: int = 0
    truncated: dict[int, int] = field(default_factory=dict)
    missing: list[tuple[int, int]] = field(default_factory=list)
    frames: int = 0

    def lost_detectable(self) -> int:
        """Dropped packets a receiver can know about (below the highest sequence number sent)."""
        return sum(1 for s in self.dropped if s < self.max_seq_sent)

    def truncated_detectable(self) -> int:
        """Truncated packets whose successor was sent (the receiver sees the gap in byte counts)."""
        dropped = set(self.dropped)
        return sum(1 for s in self.truncated if s + 1 <= self.max_seq_sent and s + 1 not in dropped)

    def missing_in(self, start: int, end: int) -> list[tuple[int, int]]:
        """Missing byte ranges clipped to ``[start, end)``."""
        out = []
        for a, b in self.missing:
            lo, hi = max(a, start), min(b, end)
            if lo < hi:
                out.append((lo, hi))
        return out


class FakeDCA1000:
    """A DCA1000EVM peer on loopback UDP.

    Args:
        frames: the ADC byte stream, one frame at a time: a callable ``frame_bytes(frame_number)``
            (return None to end) or an iterable of frames (e.g. ``encode_frames`` output per frame).
            Frames need not all be the same size; the fake only packetises bytes.
        num_frames: stop after this many frames (None = until the source ends or RECORD_STOP).
        frame_period_s: pace frame bursts at this period [s]; None = as fast as possible.
        rate_bps: cap the average data rate [bit/s] (payload + header); None = no cap.
        faults: fault injection on data packets.
        bind_ip: address to bind both sockets.
        config_port: control port to bind (0 = ephemeral).
        data_dest: where data goes: ``(ip, port)``, a callable returning it (evaluated at
            RECORD_START, e.g. ``lambda: source.data_address``), or None = the host that sent
            RECORD_START, port 4098.
        version: what READ_FPGA_VERSION reports.
        status_overrides: command -> status to answer instead of the real one (failure injection).
        mute: commands not answered at all (timeout injection).
        drop_replies: the first N replies are swallowed (retry tests).
    """

    def __init__(
        self,
        frames: FrameBytes | Iterable[bytes | bytearray | memoryview] | None = None,
        *,
        num_frames: int | None = None,
        frame_period_s: float | None = None,
        rate_bps: float | None = None,
        faults: Faults | None = None,
        bind_ip: str = "127.0.0.1",
        config_port: int = 0,
        data_dest: tuple[str, int] | Callable[[], tuple[str, int]] | None = None,
        version: FpgaVersion = DEFAULT_VERSION,
        status_overrides: dict[int, int] | None = None,
        mute: Iterable[int] = (),
        drop_replies: int = 0,
    ) -> None:
        self.frame_source = frames
        self.num_frames = num_frames
        self.frame_period_s = frame_period_s
        self.rate_bps = rate_bps
        self.faults = faults or Faults()
        self.bind_ip = bind_ip
        self.config_port = config_port
        self.data_dest = data_dest
        self.version = version
        self.status_overrides = dict(status_overrides or {})
        self.mute = {int(c) for c in mute}
        self.drop_replies = drop_replies
        self.data_source_port = 0
        self.report = FaultReport()
        self.commands: list[tuple[int, bytes]] = []  # every command received, in order
        self.bad_packets = 0  # control packets that did not parse
        self.fpga_config: FpgaConfig | None = None
        self.packet_config: PacketConfig | None = None
        self.eeprom_config: EepromConfig | None = None
        self.recordings = 0
        self._rng = random.Random(self.faults.seed)
        self._ctrl: socket.socket | None = None
        self._data: socket.socket | None = None
        self._host: tuple[str, int] | None = None  # where replies and async status go
        self._stop = threading.Event()
        self._stop_stream = threading.Event()
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._completion_due = False
        self._ctrl_thread: threading.Thread | None = None
        self._stream_thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> FakeDCA1000:
        """Bind the sockets and serve the control port in a background thread."""
        if self._ctrl is not None:
            return self
        self._stop.clear()
        ctrl = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        ctrl.bind((self.bind_ip, self.config_port))
        ctrl.settimeout(0.05)
        data = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        data.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * 1024 * 1024)
        data.bind((self.bind_ip, 0))
        self._ctrl, self._data = ctrl, data
        self.config_port = ctrl.getsockname()[1]
        self.data_source_port = data.getsockname()[1]
        self._ctrl_thread = threading.Thread(
            target=self._serve, name="fake-dca1000-ctrl", daemon=True
        )
        self._ctrl_thread.start()
        return self

    def stop(self) -> None:
        """Stop streaming and serving; close the sockets. Safe to call twice."""
        self._stop.set()
        self.stop_recording(notify=False)
        if self._ctrl_thread is not None:
            self._ctrl_thread.join(timeout=2)
            self._ctrl_thread = None
        for sock in (self._ctrl, self._data):
            if sock is not None:
                sock.close()
        self._ctrl = self._data = None

    def __enter__(self) -> FakeDCA1000:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def recording(self) -> bool:
        return self._stream_thread is not None and self._stream_thread.is_alive()

    def wait_done(self, timeout: float | None = None) -> bool:
        """Wait until the current recording has sent its last frame; True when it has."""
        return self._done.wait(timeout)

    # ------------------------------------------------------------------ control port
    def _serve(self) -> None:
        assert self._ctrl is not None
        sock = self._ctrl
        while not self._stop.is_set():
            try:
                buf, addr = sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                break
            self._handle(buf, addr)

    def _handle(self, buf: bytes, addr: tuple[str, int]) -> None:
        try:
            cmd, data = decode_command(buf)
        except ValueError:
            self.bad_packets += 1
            if len(buf) >= 4 and buf[:2] == b"\x5a\xa5":
                self._reply(int.from_bytes(buf[2:4], "little"), STATUS_FAILURE, addr)
            return
        self.commands.append((cmd, data))
        self._host = addr
        if cmd in self.mute:
            return
        if cmd == Command.RECORD_STOP:
            self.stop_recording(notify=False)
            self._reply(cmd, self.status_overrides.get(cmd, STATUS_SUCCESS), addr)
            self._record_completed()
            return
        status = self.status_overrides.get(cmd, self._execute(cmd, data))
        self._reply(cmd, status, addr)
        if cmd == Command.RECORD_START and status == STATUS_SUCCESS:
            self.start_recording()

    def _reply(self, cmd: int, status: int, addr: tuple[str, int]) -> None:
        if self.drop_replies > 0:
            self.drop_replies -= 1
            return
        if self._ctrl is not None:
            self._ctrl.sendto(encode_reply(cmd, status), addr)

    def _execute(self, cmd: int, data: bytes) -> int:
        try:
            if cmd in (Command.SYSTEM_CONNECT, Command.RESET_AR_DEV, Command.RECORD_START):
                return STATUS_SUCCESS
            if cmd == Command.RESET_FPGA:
                self.stop_recording(notify=False)
                return STATUS_SUCCESS
            if cmd == Command.READ_FPGA_VERSION:
                return self.version.to_status()
            if cmd == Command.CONFIG_FPGA_GEN:
                self.fpga_config = FpgaConfig.from_bytes(data)
                return STATUS_SUCCESS
            if cmd == Command.CONFIG_PACKET_DATA:
                config = PacketConfig.from_bytes(data)
                lo, hi = PACKET_DELAY_RANGE_US
                if not lo <= config.delay_us <= hi:
                    return STATUS_FAILURE
                self.packet_config = config
                return STATUS_SUCCESS
            if cmd == Command.CONFIG_EEPROM:
                self.eeprom_config = EepromConfig.from_bytes(data)
                return STATUS_SUCCESS
        except ValueError:
            return STATUS_FAILURE
        return STATUS_FAILURE  # playback and unknown commands

    def send_async(self, status: AsyncStatus | int) -> None:
        """Send an async status packet (cmd 0x0A) to the last host that sent a command."""
        if self._host is not None and self._ctrl is not None:
            try:
                self._ctrl.sendto(
                    encode_reply(Command.SYSTEM_ASYNC_STATUS, int(status)), self._host
                )
            except OSError:
                pass

    def _record_completed(self) -> None:
        """Send RECORD_COMPLETED once per recording (end of data or RECORD_STOP, whichever is first)."""
        with self._lock:
            if self._completion_due:
                self._completion_due = False
                self.send_async(AsyncStatus.RECORD_COMPLETED)

    # ------------------------------------------------------------------ data stream
    def start_recording(self) -> None:
        """Start streaming (what RECORD_START does); sequence numbers and byte count restart."""
        self.stop_recording(notify=False)
        dest = self.data_dest() if callable(self.data_dest) else self.data_dest
        if dest is None:
            host = self._host[0] if self._host else self.bind_ip
            dest = (host, DEFAULT_DATA_PORT)
        self._stop_stream.clear()
        self._done.clear()
        self._completion_due = True
        self.recordings += 1
        self._stream_thread = threading.Thread(
            target=self._stream, args=(dest,), name="fake-dca1000-data", daemon=True
        )
        self._stream_thread.start()

    def stop_recording(self, notify: bool = True) -> None:
        """Stop streaming (what RECORD_STOP does); with ``notify``, send RECORD_COMPLETED."""
        thread = self._stream_thread
        if thread is not None and thread.is_alive():
            self._stop_stream.set()
            thread.join(timeout=5)
            if notify:
                self._record_completed()
        self._stream_thread = None

    def _frames(self) -> Iterator[bytes | bytearray | memoryview]:
        src = self.frame_source
        if src is None:
            return
        if callable(src):
            k = 0
            while self.num_frames is None or k < self.num_frames:
                data = src(k)
                if data is None:
                    return
                yield data
                k += 1
        else:
            for k, data in enumerate(src):
                if self.num_frames is not None and k >= self.num_frames:
                    return
                yield data

    def _stream(self, dest: tuple[str, int]) -> None:
        assert self._data is not None
        sock = self._data
        sock.connect(dest)
        sender = _Sender(sock, self.faults, self._rng, self.report, self.rate_bps)
        carry = b""
        t0 = time.monotonic()
        completed = True
        for k, frame in enumerate(self._frames()):
            if self._stop_stream.is_set() or self._stop.is_set():
                completed = False
                break
            if self.frame_period_s:
                delay = t0 + k * self.frame_period_s - time.monotonic()
                if delay > 0 and self._stop_stream.wait(delay):
                    completed = False
                    break
            self.report.frames += 1
            stream = memoryview(carry + bytes(frame)) if carry else memoryview(frame).cast("B")
            whole = len(stream) - len(stream) % MAX_PAYLOAD_BYTES
            for off in range(0, whole, MAX_PAYLOAD_BYTES):
                sender.packet(stream[off : off + MAX_PAYLOAD_BYTES])
            carry = bytes(stream[whole:])
            sender.flush_held()
        if carry:  # the FPGA sends the last partial packet when the recording ends
            sender.packet(memoryview(carry))
        sender.flush_held()
        self._done.set()
        if completed and not self._stop_stream.is_set():
            self._record_completed()


class _Sender:
    """Packetiser with fault injection and exact bookkeeping of what was sent."""

    def __init__(
        self,
        sock: socket.socket,
        faults: Faults,
        rng: random.Random,
        report: FaultReport,
        rate_bps: float | None,
    ) -> None:
        self.send = sock.send
        self.faults = faults
        self.rng = rng
        self.report = report
        self.seq = 0
        self.count = 0  # stream bytes packetised so far
        self.buf = bytearray(DATA_HEADER_BYTES + MAX_PAYLOAD_BYTES)
        self.view = memoryview(self.buf)
        self.held: list[list] = []  # [countdown, datagram bytes, seq]
        self.sent: set[int] = set()
        self.max_sent = 0
        self.rate_bps = rate_bps
        self.t0 = time.perf_counter()
        self.bits = 0

    def packet(self, payload: memoryview) -> None:
        self.seq += 1
        n = len(payload)
        start = self.count
        self.count += n
        rep = self.report
        rep.packets += 1
        rep.stream_bytes += n
        buf = self.buf
        DATA_HEAD.pack_into(buf, 0, self.seq, start & 0xFFFFFFFF, start >> 32)
        buf[DATA_HEADER_BYTES : DATA_HEADER_BYTES + n] = payload
        size = DATA_HEADER_BYTES + n
        f = self.faults
        if not f.any:
            self._send(self.view[:size], self.seq)
            return
        rng = self.rng
        if rng.random() < f.loss:
            rep.dropped.append(self.seq)
            rep.missing.append((start, start + n))
            self._tick()
            return
        if n and rng.random() < f.truncate:
            keep = rng.randrange(0, n)
            rep.truncated[self.seq] = n - keep
            rep.missing.append((start + keep, start + n))
            size = DATA_HEADER_BYTES + keep
        datagram = bytes(buf[:size])
        if rng.random() < f.duplicate:
            self.held.append([rng.randint(1, f.reorder_window), datagram, self.seq])
        if rng.random() < f.reorder:
            self.held.append([rng.randint(1, f.reorder_window), datagram, self.seq])
        else:
            self._send(datagram, self.seq)
        self._tick()

    def _tick(self) -> None:
        """One packet slot has passed: release held datagrams whose countdown ran out."""
        if not self.held:
            return
        due = []
        for item in self.held:
            item[0] -= 1
            if item[0] <= 0:
                due.append(item)
        if due:
            self.held = [item for item in self.held if item[0] > 0]
            for _, datagram, seq in due:
                self._send(datagram, seq)

    def flush_held(self) -> None:
        for _, datagram, seq in self.held:
            self._send(datagram, seq)
        self.held = []

    def _send(self, datagram: bytes | memoryview, seq: int) -> None:
        rep = self.report
        if self.faults.any:
            if seq in self.sent:
                rep.duplicated += 1
            else:
                if seq < self.max_sent:
                    rep.reordered += 1
                self.sent.add(seq)
        if seq > self.max_sent:
            self.max_sent = seq
            rep.max_seq_sent = seq
        rep.datagrams += 1
        for _ in range(3):
            try:
                self.send(datagram)
                break
            except ConnectionRefusedError:
                # an ICMP port-unreachable for an earlier datagram (nobody listening then) is
                # reported on this send and consumed: send again
                continue
        if self.rate_bps:
            self.bits += 8 * len(datagram)
            if not rep.datagrams & 0xF:
                ahead = self.bits / self.rate_bps - (time.perf_counter() - self.t0)
                if ahead > 0:
                    time.sleep(ahead)
