"""A fake TI radar running the out-of-box demo, on two pseudo-terminals (CLI + data port).

It is a protocol peer, not a mock: clients open ``cli_path`` and ``data_path`` with pyserial
exactly as they would open ``/dev/ttyACM0`` and ``/dev/ttyACM1``.

CLI (what the SDK demo does, as far as a host can see it):

* prints a boot banner and the ``mmwDemo:/>`` prompt when started;
* echoes every line, then answers ``Done`` or ``Error -1`` and prints the prompt again;
* refuses unknown commands (``'x' is not recognized as a CLI command``), wrong argument counts
  and values that :mod:`firmware_cfg` rejects on that line; errors that only show once the whole
  configuration is known (e.g. a slope the board cannot do, checked when the frame is complete)
  are reported by ``sensorStart``, as the real firmware does when ``mmWave_config`` fails;
* ``sensorStop`` on a stopped sensor answers ``Ignored: Sensor is already stopped`` and ``Done``;
  configuration commands while the sensor runs are refused; ``flushCfg`` forgets the config.

Data port: after a successful ``sensorStart`` it sends one packet per frame period (or
``frame_period_s``) built by :func:`runtime.sources.uart_encoder.encode_packet` from
``points_for_frame(frame_number)`` and the ``guiMonitor`` selection, paced at the configured baud
(8N1: 10 bits per byte) because a pty itself has no baud rate. When the host does not read and the
pty buffer stays full, the rest of the packet is dropped, as a real UART overruns.

Fault injection (:class:`Faults`) drops or mutates packets (:func:`mutate_packet`) and inserts
garbage, so the parser's counters can be checked against what was really sent.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import select
import struct
import threading
import time
import tty
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from firmware_cfg import CfgError, RadarConfig, get_board, load_cfg, parse_cfg_text
from runtime.frames import POINT_DTYPE
from runtime.sources.uart_encoder import encode_packet
from runtime.sources.uart_tlv import (
    MAGIC,
    VERSION_SDK1,
    VERSION_SDK2,
    VERSION_SDK3,
    log2_lsb_per_db,
)

__all__ = ["MUTATIONS", "FakeUartRadar", "Faults", "FuzzCase", "make_fuzz_case", "mutate_packet"]

log = logging.getLogger(__name__)

PROMPT = b"mmwDemo:/>"
# The demo's CLI command table (SDK 3.x xWR18xx/68xx, SDK 2.x xWR16xx and SDK 1.x xWR14xx demos,
# union; which arguments a command takes in each dialect is firmware_cfg's check).
KNOWN_COMMANDS = frozenset(
    {
        "sensorStop",
        "sensorStart",
        "flushCfg",
        "dfeDataOutputMode",
        "channelCfg",
        "adcCfg",
        "adcbufCfg",
        "profileCfg",
        "chirpCfg",
        "frameCfg",
        "advFrameCfg",
        "subFrameCfg",
        "lowPower",
        "guiMonitor",
        "cfarCfg",
        "peakGrouping",
        "multiObjBeamForming",
        "clutterRemoval",
        "calibDcRangeSig",
        "extendedMaxVelocity",
        "aoaFovCfg",
        "cfarFovCfg",
        "compRangeBiasAndRxChanPhase",
        "measureRangeBiasAndRxChanPhase",
        "CQRxSatMonitor",
        "CQSigImgMonitor",
        "analogMonitor",
        "lvdsStreamCfg",
        "bpmCfg",
        "nearFieldCfg",
        "calibData",
        "help",
        "version",
    }
)
_CONTROL = frozenset({"sensorStop", "sensorStart", "flushCfg", "help", "version"})
MUTATIONS = ("flip", "overwrite", "insert", "delete", "truncate", "splice")


def mutate_packet(
    packet: bytes,
    rng: np.random.Generator,
    *,
    other: bytes | None = None,
    kind: str | None = None,
) -> tuple[bytes, str, tuple[int, int] | None]:
    """Damage one packet the way a serial link does.

    Kinds: ``flip`` (1-8 bits of one byte), ``overwrite`` (1-8 consecutive bytes replaced),
    ``insert`` (1-64 random bytes, sometimes a partial magic word), ``delete`` (1-64 bytes lost),
    ``truncate`` (the tail lost), ``splice`` (the tail lost and ``other``'s head lost, joined).

    Returns:
        (damaged bytes, kind, in-place span): the span ``(start, end)`` of bytes changed in place
        (``flip``, ``overwrite``, a ``splice`` that happens to keep the length) or None when the
        length changed.
    """
    n = len(packet)
    kind = kind or MUTATIONS[int(rng.integers(len(MUTATIONS)))]
    if n == 0:
        return packet, kind, None
    at = int(rng.integers(n))
    if kind == "flip":
        b = bytearray(packet)
        b[at] ^= int(rng.integers(1, 256))
        return bytes(b), kind, (at, at + 1)
    if kind == "overwrite":
        k = min(int(rng.integers(1, 9)), n - at)
        b = bytearray(packet)
        b[at : at + k] = rng.integers(0, 256, k, dtype=np.uint8).tobytes()
        return bytes(b), kind, (at, at + k)
    if kind == "insert":
        k = int(rng.integers(1, 65))
        junk = rng.integers(0, 256, k, dtype=np.uint8).tobytes()
        if rng.random() < 0.3:
            junk = packet[: int(rng.integers(1, 8))] + junk  # a partial magic word
        return packet[:at] + junk + packet[at:], kind, None
    if kind == "delete":
        k = int(rng.integers(1, 65))
        return packet[:at] + packet[at + k :], kind, None
    if kind == "truncate":
        return packet[:at], kind, None
    if kind == "splice":
        tail = other if other is not None else packet
        cut = int(rng.integers(1, len(tail))) if len(tail) > 1 else 0
        out = packet[:at] + tail[cut:]
        # a splice that keeps the length is an overwrite of the tail, in place
        return out, kind, ((at, n) if len(out) == n else None)
    raise ValueError(f"unknown mutation {kind!r} (one of {', '.join(MUTATIONS)})")


@dataclass(frozen=True)
class Faults:
    """Data-port fault injection, per packet.

    Attributes:
        drop_packet: probability that a whole packet is not sent (the frame number still
            advances, so the parser must count it as lost).
        mutate: probability that a packet is damaged by :func:`mutate_packet`.
        garbage: probability that 1-64 random bytes are sent before a packet.
        seed: random seed (deterministic runs).
    """

    drop_packet: float = 0.0
    mutate: float = 0.0
    garbage: float = 0.0
    seed: int = 0


def _open_pty() -> tuple[int, int, str]:
    master, slave = os.openpty()
    tty.setraw(slave)
    os.set_blocking(master, False)
    return master, slave, os.ttyname(slave)


class FakeUartRadar:
    """A fake radar with the demo's CLI and data port on two ptys.

    Args:
        points_for_frame: ``frame_number -> POINT_DTYPE array`` for each frame (None: no points).
        board: board name or alias (:func:`firmware_cfg.get_board`); sets the platform, the SDK
            dialect and the banner, and validates the configuration.
        baud: data-port baud rate [bit/s] used for pacing (921600 in the demo).
        frame_period_s: override the ``frameCfg`` period [s] (fast tests); None uses the cfg.
        pace: pace writes at ``baud``; False writes each packet at once.
        banner: print the boot banner when started.
        faults: data-port fault injection.
        write_stall_s: how long a full pty may block a write before the rest of the packet is
            dropped [s].
    """

    def __init__(
        self,
        points_for_frame: Callable[[int], np.ndarray] | None = None,
        *,
        board: str = "IWR1843BOOST",
        baud: int = 921_600,
        frame_period_s: float | None = None,
        pace: bool = True,
        banner: bool = True,
        faults: Faults | None = None,
        write_stall_s: float = 1.0,
    ) -> None:
        self.points_for_frame = points_for_frame
        self.board = get_board(board)
        self.baud = baud
        self.frame_period_s = frame_period_s
        self.pace = pace
        self.banner = banner
        self.faults = faults or Faults()
        self.write_stall_s = write_stall_s
        self.dialect = self.board.sdk_dialect
        self.version = {"1.x": VERSION_SDK1, "2.x": VERSION_SDK2}.get(self.dialect, VERSION_SDK3)
        self.cli_path = ""
        self.data_path = ""
        self.config: RadarConfig | None = None  # the configuration of the running sensor
        self.commands: list[str] = []  # every command line received
        self.frames_sent = 0  # packets fully written
        self.frames_dropped = 0  # packets not sent (fault injection or overrun)
        self.bytes_sent = 0
        self.bytes_dropped = 0
        self.sent_frame_numbers: list[int] = []
        self._lines: list[str] = []  # accepted configuration lines since flushCfg
        self._fds: list[int] = []
        self._cli_m = self._data_m = -1
        self._stop = threading.Event()
        self._streaming = threading.Event()
        self._stream_gen = 0
        self._threads: list[threading.Thread] = []
        self._cli_lock = threading.Lock()
        self._data_lock = threading.Lock()
        self._rng = np.random.default_rng(self.faults.seed)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> FakeUartRadar:
        """Create the ptys, print the banner and start the CLI and data threads."""
        if self._threads:
            return self
        self._stop.clear()
        self._cli_m, cli_s, self.cli_path = _open_pty()
        self._data_m, data_s, self.data_path = _open_pty()
        self._fds = [self._cli_m, cli_s, self._data_m, data_s]
        if self.banner:
            self.print_banner()
        self._threads = [
            threading.Thread(target=self._cli_loop, name="fake-radar-cli", daemon=True),
            threading.Thread(target=self._data_loop, name="fake-radar-data", daemon=True),
        ]
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        """Stop the threads and close the ptys (clients then read EOF/EIO); safe to call twice."""
        self._stop.set()
        self._streaming.set()  # wake the data thread
        for t in self._threads:
            t.join(timeout=5.0)
        self._threads = []
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds = []
        self._streaming.clear()

    def __enter__(self) -> FakeUartRadar:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """True while the sensor is started (streaming)."""
        return self._streaming.is_set() and not self._stop.is_set()

    # ------------------------------------------------------------------ test hooks
    def print_banner(self) -> None:
        """Print the boot banner and prompt on the CLI port, as the demo does after a reset."""
        ver = ".".join(str((self.version >> s) & 0xFF) for s in (24, 16, 8, 0))
        self._cli_write(
            b"\r\n******************************************\r\n"
            + f"{self.board.chip} MMW Demo {ver}\r\n".encode()
            + b"******************************************\r\n"
            + PROMPT
        )

    def inject_cli(self, data: bytes) -> None:
        """Write raw bytes to the CLI port (stray bytes, a second banner...)."""
        self._cli_write(data)

    def inject_data(self, data: bytes) -> None:
        """Write raw bytes to the data port."""
        with self._data_lock:
            self._write_all(self._data_m, data, paced=False)

    def configure(self, cfg: RadarConfig | str, start: bool = True) -> None:
        """Load a configuration directly (as if its lines had been sent) and optionally start."""
        rc = cfg if isinstance(cfg, RadarConfig) else _load(cfg)
        self._lines = [c.text() for c in rc.commands if c.name not in _CONTROL]
        if start:
            self.config = rc
            self._start_stream()

    # ------------------------------------------------------------------ CLI
    def _cli_write(self, data: bytes) -> None:
        with self._cli_lock:
            self._write_all(self._cli_m, data, paced=False)

    def _cli_loop(self) -> None:
        pending = b""
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._cli_m], [], [], 0.05)
                if not ready:
                    continue
                chunk = os.read(self._cli_m, 4096)
            except OSError:
                if self._stop.is_set():
                    return
                time.sleep(0.01)
                continue
            pending += chunk
            while True:
                cut = min(
                    (i for i in (pending.find(b"\n"), pending.find(b"\r")) if i >= 0), default=-1
                )
                if cut < 0:
                    break
                raw, pending = pending[:cut], pending[cut + 1 :]
                line = raw.decode("ascii", errors="replace").strip()
                if line:
                    self._handle(line)

    def _handle(self, line: str) -> None:
        self.commands.append(line)
        info, code = self._execute(line)
        out = line.encode() + b"\r\n"
        for text in info:
            out += text.encode() + b"\r\n"
        out += b"Done\r\n" if code == 0 else f"Error {code}\r\n".encode()
        self._cli_write(out + PROMPT)

    def _execute(self, line: str) -> tuple[list[str], int]:
        tokens = line.split()
        name, args = tokens[0], tokens[1:]
        if name not in KNOWN_COMMANDS:
            return [f"'{name}' is not recognized as a CLI command"], -1
        if name == "sensorStop":
            if args:
                return ["Error: Invalid usage of the CLI command"], -1
            if not self.running:
                return ["Ignored: Sensor is already stopped"], 0
            self._streaming.clear()
            return [], 0
        if name == "sensorStart":
            if len(args) > 1 or (args and args[0] not in ("0", "1")):
                return ["Error: Invalid usage of the CLI command"], -1
            if self.running:
                return ["Ignored: Sensor is already started"], 0
            if args == ["0"] and self.config is not None:
                self._start_stream()
                return [], 0
            try:
                rc = parse_cfg_text("\n".join(self._lines), source="<radar>", board=self.board.name)
            except CfgError as exc:
                first = getattr(exc, "errors", [exc])[0]
                return [f"Error: mmWave config failed: {first.message}"], -1
            self.config = rc
            self._start_stream()
            return [], 0
        if name == "flushCfg":
            if self.running:
                return ["Error: sensor is running, stop it first"], -1
            self._lines = []
            return [], 0
        if name == "version":
            ver = ".".join(str((self.version >> s) & 0xFF) for s in (24, 16, 8, 0))
            return [f"Platform: {self.board.chip}", f"mmWave SDK Version: {ver}"], 0
        if name == "help":
            return sorted(KNOWN_COMMANDS), 0
        if self.running:
            return ["Error: configuration is not allowed while the sensor is running"], -1
        problem = self._line_problem(line)
        if problem:
            return [f"Error: {problem}"], -1
        self._lines.append(" ".join(tokens))
        return [], 0

    def _line_problem(self, line: str) -> str:
        """firmware_cfg's complaint about ``line`` itself, given the lines accepted so far."""
        text = "\n".join([*self._lines, line])
        lineno = len(self._lines) + 1
        try:
            parse_cfg_text(text, source="<radar>", board=self.board.name)
        except CfgError as exc:
            for err in getattr(exc, "errors", [exc]):
                if err.line == lineno:
                    return err.message
        except Exception as exc:  # firmware_cfg bug: do not let it kill the CLI thread
            log.debug("cfg check failed: %s", exc)
        return ""

    # ------------------------------------------------------------------ data
    def _start_stream(self) -> None:
        self._stream_gen += 1
        self._streaming.set()

    def _period(self) -> float:
        if self.frame_period_s is not None:
            return float(self.frame_period_s)
        assert self.config is not None
        return self.config.chirp.frame_period_s

    def _data_loop(self) -> None:
        while not self._stop.is_set():
            self._streaming.wait(0.1)
            if self._stop.is_set():
                return
            if not self._streaming.is_set() or self.config is None:
                continue
            gen = self._stream_gen
            rc = self.config
            period = self._period()
            t0 = time.monotonic()
            frame = 0
            prev = b""
            while self._streaming.is_set() and not self._stop.is_set() and gen == self._stream_gen:
                # frame k starts at t0 + k * period; a late sender skips frames as the demo would
                now = time.monotonic()
                due = int((now - t0) / period)
                if due <= frame:
                    self._stop.wait(min(period, t0 + (frame + 1) * period - now))
                    continue
                frame = due
                if rc.chirp.num_frames and frame > rc.chirp.num_frames:
                    self._streaming.clear()
                    break
                prev = self._send_frame(rc, frame, prev)

    def _points(self, frame: int) -> np.ndarray:
        if self.points_for_frame is None:
            return np.zeros(0, dtype=POINT_DTYPE)
        try:
            return np.asarray(self.points_for_frame(frame))
        except Exception:
            log.exception("points_for_frame(%d) failed; sending an empty frame", frame)
            return np.zeros(0, dtype=POINT_DTYPE)

    def build_packet(self, radar_config: RadarConfig, frame: int) -> bytes:
        """The packet the demo would send for ``frame`` under ``radar_config`` (no faults)."""
        d, c = radar_config.demo, radar_config.chirp
        pts = self._points(frame) if d.send_points else np.zeros(0, dtype=POINT_DTYPE)
        nrb = c.num_range_bins
        bins = np.arange(nrb)
        q_points = self.dialect != "3.x"  # SDK 1.x/2.x: Q-format points with bin indices
        per_db = log2_lsb_per_db(self.dialect, c.num_virtual) if q_points else None
        # a plausible log2-magnitude floor (Q9 mean over antennas; SDK 2.x: Q8 sum over them)
        per_q9 = 256 * c.num_virtual / 512 if self.dialect == "2.x" else 1.0
        floor_q9 = 4000 + 2000 * np.exp(-bins / 8.0)
        profile = np.clip(np.round(floor_q9 * per_q9), 0, 65535).astype(np.uint16)
        noise = np.clip(np.round((floor_q9 - 500) * per_q9), 0, 65535).astype(np.uint16)
        return encode_packet(
            frame,
            pts,
            platform=self.board.platform_id,
            version=self.version,
            dialect=self.dialect,
            cpu_cycles=(frame * 2_000_003) & 0xFFFFFFFF,
            side_info=d.send_side_info,
            range_profile=profile if d.send_range_profile else None,
            noise_profile=noise if d.send_noise_profile else None,
            azimuth_heatmap=np.zeros((nrb, radar_config.num_azimuth_virtual), np.complex64)
            if d.send_azimuth_heatmap
            else None,
            range_doppler_heatmap=np.zeros((nrb, c.doppler_fft_size), np.uint16)
            if d.send_range_doppler_heatmap
            else None,
            stats=(1500, 300, int(c.frame_period_s * 1e6) - 1800, 10, 35, 12)
            if d.send_stats
            else None,
            doppler_bin_mps=c.velocity_bin_mps if q_points else None,
            range_bin_m=c.range_bin_m if q_points else None,
            peak_lsb_per_db=per_db,
        )

    def _send_frame(self, radar_config: RadarConfig, frame: int, prev: bytes) -> bytes:
        packet = self.build_packet(radar_config, frame)
        f, rng = self.faults, self._rng
        if f.drop_packet and rng.random() < f.drop_packet:
            self.frames_dropped += 1
            return packet
        wire = packet
        if f.mutate and rng.random() < f.mutate:
            wire, _, _ = mutate_packet(packet, rng, other=prev or None)
        if f.garbage and rng.random() < f.garbage:
            wire = rng.integers(0, 256, int(rng.integers(1, 65)), dtype=np.uint8).tobytes() + wire
        with self._data_lock:
            sent = self._write_all(self._data_m, wire, paced=self.pace)
        if sent == len(wire):
            self.frames_sent += 1
            self.sent_frame_numbers.append(frame)
        else:
            self.frames_dropped += 1
        return packet

    def _write_all(self, fd: int, data: bytes, *, paced: bool) -> int:
        """Write ``data`` (paced at ``self.baud`` when asked); return the bytes written."""
        if fd < 0:
            return 0
        byte_s = 10.0 / self.baud  # 8N1
        chunk = max(64, int(self.baud / 10 / 1000))  # about 1 ms of line time
        t0 = time.monotonic()
        done = 0
        view = memoryview(data)
        while done < len(data):
            if self._stop.is_set():
                break
            try:
                n = os.write(fd, view[done : done + chunk])
            except BlockingIOError:
                n = 0
            except OSError as exc:
                if exc.errno in (errno.EIO, errno.EBADF):
                    break
                raise
            if n == 0:
                try:
                    _, ready, _ = select.select([], [fd], [], self.write_stall_s)
                except (OSError, ValueError):
                    break
                if not ready:  # the host is not reading: the UART overruns
                    break
                continue
            done += n
            if paced:
                ahead = t0 + done * byte_s - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
        if fd == self._data_m:
            self.bytes_sent += done
            self.bytes_dropped += len(data) - done
        return done


def _load(cfg: str) -> RadarConfig:
    return load_cfg(cfg)


# ---------------------------------------------------------------------- fuzzing support
def _last_tlv(packet: bytes) -> int | None:
    """Type of the last TLV of an intact packet (None without TLVs)."""
    version = struct.unpack_from("<I", packet, 8)[0]
    off = 36 if (version >> 24) == 1 else 40
    last = None
    for _ in range(struct.unpack_from("<I", packet, 32)[0]):
        last, n = struct.unpack_from("<II", packet, off)
        off += 8 + n
    return last


def _points_span(packet: bytes) -> tuple[int, int, int] | None:
    """(payload start, payload end, record size) of the points TLV (1 or 1020) of an intact packet;
    the leading descriptor/units block, if any, is ``end - start - n * record`` bytes."""
    version = struct.unpack_from("<I", packet, 8)[0]
    hdr = 36 if (version >> 24) == 1 else 40
    ntlv = struct.unpack_from("<I", packet, 32)[0]
    off = hdr
    for _ in range(ntlv):
        t, n = struct.unpack_from("<II", packet, off)
        off += 8
        if t == 1:
            return off, off + n, (12 if hdr == 36 or (version >> 24) < 3 else 16)
        if t == 1020:
            return off, off + n, 8
        off += n
    return None


@dataclass
class FuzzCase:
    """A stream of packets, some damaged, and what a correct parser may emit from it.

    Attributes:
        stream: the bytes on the wire.
        clean: every packet before damage, in order.
        damage: packet index -> (mutation kind, in-place span or None).
        offsets: where each packet's (possibly damaged) bytes start in ``stream``.
    """

    stream: bytes
    clean: list[bytes]
    damage: dict[int, tuple[str, tuple[int, int] | None]]
    offsets: list[int]

    def must_recover(self, i: int) -> bool:
        """An undamaged packet must come out when the next magic word (or the end of the stream)
        follows it, or when it ends with a fixed-size TLV (stats, temperature): see the parser's
        damage policy for packets followed by stray bytes."""
        if i in self.damage:
            return False
        end = self.offsets[i] + len(self.clean[i])
        follow = self.stream[end : end + 8]
        if follow == MAGIC or MAGIC.startswith(follow):
            return True
        return _last_tlv(self.clean[i]) in (6, 9)

    def problems(self, frames: list, expected: list[np.ndarray]) -> list[str]:
        """What is wrong with ``frames`` (parser output for ``stream``).

        ``expected[i]`` is the x, y, z, v array (float32 ``[n, 4]``) of ``clean[i]`` decoded
        alone. Every emitted frame must equal a sent packet's points exactly, except that a
        packet changed *in place* inside its points TLV (undetectable: no checksum) may differ in
        the records the change touched. Every undamaged packet must be recovered.
        """
        out: list[str] = []
        by_number: dict[int, list[int]] = {}
        for i, pkt in enumerate(self.clean):
            by_number.setdefault(struct.unpack_from("<I", pkt, 20)[0], []).append(i)
        recovered: set[int] = set()
        for f in frames:
            got = np.stack([f.points[k] for k in ("x", "y", "z", "v")], axis=1).astype(np.float32)
            cands = list(by_number.get(f.frame_number, []))
            cands += [i for i, (_, span) in self.damage.items() if span is not None]
            match = None
            for i in cands:
                want = expected[i]
                if want.shape == got.shape and np.array_equal(want, got, equal_nan=True):
                    match = i
                    break
                span = self.damage.get(i, ("", None))[1]
                if span is None or want.shape != got.shape:
                    continue
                ps = _points_span(self.clean[i])
                if ps is None:
                    continue
                start, end, rec = ps
                lo, hi = span
                if hi <= start - 8 or lo >= end:
                    continue  # the change was not in the points TLV
                head = end - start - rec * len(want)
                differ = np.flatnonzero(
                    ~np.all((want == got) | (np.isnan(want) & np.isnan(got)), axis=1)
                )
                if lo < start + head:  # descriptor / units / TLV header touched: any record
                    match = i
                    break
                rows = set(
                    range(max(0, (lo - start - head) // rec), (hi - 1 - start - head) // rec + 1)
                )
                if set(differ.tolist()) <= rows:
                    match = i
                    break
            if match is None:
                out.append(f"frame {f.frame_number}: {len(got)} points match no sent packet")
            else:
                recovered.add(match)
        for i in range(len(self.clean)):
            if self.must_recover(i) and i not in recovered:
                out.append(f"intact packet {i} not recovered")
        return out


def make_fuzz_case(
    packets: list[bytes], rng: np.random.Generator, damage: float = 0.5, kind: str | None = None
) -> FuzzCase:
    """Join ``packets`` into a stream, damaging each with probability ``damage``."""
    wire: list[bytes] = []
    offsets: list[int] = []
    dmg: dict[int, tuple[str, tuple[int, int] | None]] = {}
    pos = 0
    for i, pkt in enumerate(packets):
        offsets.append(pos)
        if rng.random() < damage:
            other = packets[(i + 1) % len(packets)]
            bad, k, span = mutate_packet(pkt, rng, other=other, kind=kind)
            dmg[i] = (k, span)
            wire.append(bad)
        else:
            wire.append(pkt)
        pos += len(wire[-1])
    return FuzzCase(b"".join(wire), list(packets), dmg, offsets)
