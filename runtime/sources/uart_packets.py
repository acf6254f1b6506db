"""TI mmWave out-of-box demo UART data-port packets: an encoder and an incremental parser.

Pure ``struct`` + numpy. The layouts follow the mmWave SDK demo sources (``mmw_output.h``, the
demo's ``MmwDemo_transmitProcessedOutput``) and the SDK user guide section "Output through the
UART"; the compressed point cloud (1020) follows the mmWave industrial toolbox's
``MmwDemo_output_message_compressedPoint``. Everything is little-endian.

Packet header
-------------
SDK 2.x / 3.x (40 bytes)::

    off size field
      0   8  magic word 02 01 04 03 06 05 08 07
      8   4  version: major << 24 | minor << 16 | bugfix << 8 | build (SDK 3.5.0.4 = 0x03050004)
     12   4  total packet length [B], header + TLVs + padding, a multiple of 32
     16   4  platform (0xA1443, 0xA1642, 0xA1843, 0xA6843, ...)
     20   4  frame number (1 for the first frame after sensorStart)
     24   4  time [CPU cycles] when the message was created
     28   4  number of detected objects (points)
     32   4  number of TLVs
     36   4  subframe number (advanced frame config; 0 otherwise)

xWR14xx SDK 1.x (36 bytes): the same without the subframe number.

TLV: ``uint32 type, uint32 length`` (8 bytes) then ``length`` payload bytes (the length excludes
the TLV header). After the last TLV the demo pads the packet with fewer than 32 bytes of undefined
value so that the total length is a multiple of 32. A frame without detections carries no TLV 1
(and no TLV 7).

TLV payloads (N = number of detected objects from the header, R = range bins)::

    1    SDK 3.x: N x {float32 x, y, z [m], v [m/s]}                          16 N B
         SDK 1.x/2.x: {uint16 numObj, uint16 xyzQFormat} then
                      N x {uint16 rangeIdx, int16 dopplerIdx, uint16 peakVal,
                           int16 x, y, z (metres x 2^xyzQFormat)}           4 + 12 N B
    2    range profile, R x uint16 (log2 magnitude, Q9)                        2 R B
    3    noise profile, R x uint16 (Q9)                                        2 R B
    4    zero-Doppler azimuth radar cube, R x virtual(az) x {int16 imag, int16 real}
    5    range-Doppler heat map, R x Doppler x uint16 (range-major)
    6    stats: 6 x uint32 (inter-frame processing time [us], transmit output time [us],
         inter-frame margin [us], inter-chirp margin [us], active-frame CPU load [%],
         inter-frame CPU load [%])                                             24 B
    7    side info, N x {int16 snr, int16 noise} [0.1 dB]                       4 N B (SDK 3.x)
    8    azimuth/elevation static heat map, R x virtual x {int16 imag, int16 real}
    9    temperature: int32 reportValid, uint32 time [ms], 10 x int16 [deg C]
         (RX0..3, TX0..2, PM, DIG0, DIG1)                                      28 B
    1020 compressed points: float32 elevationUnit [rad], azimuthUnit [rad], dopplerUnit [m/s],
         rangeUnit [m], snrUnit (linear), then N x {int8 elevation, int8 azimuth,
         int16 doppler, uint16 range, uint16 snr} (in those units)            20 + 8 N B

Damage policy
-------------
TI's protocol has no checksum, so structural consistency is the only evidence of integrity. A
packet is accepted only when *every* check passes: version and platform plausible, total length
a multiple of 32 and within bounds, no magic word starting inside the packet (a cut-short packet
with the next one right behind it), every TLV header inside the packet, every TLV type known and
not repeated, every TLV payload size consistent with the header's point count (and with the other
TLVs), fewer than 32 bytes of padding left after the last TLV, and every point finite and inside a
plausible box. **A packet with any damaged TLV emits nothing** (it is counted in
``packets_damaged``): after one inconsistent TLV nothing in the packet can be trusted. After a
damaged packet the parser resynchronises on the next magic word *after the first byte* of the
damaged packet, so the packet right behind a cut-short one is recovered.

The end of a packet is confirmed by the next magic word right behind it (or by the end/pause of
the stream, ``final=True``): bytes inserted into the last TLV would otherwise be absorbed by the
padding unnoticed. When other bytes follow (stray bytes, or the next packet's head damaged), the
packet is kept only if all of these hold, else it is damaged:

* its last TLV has a fixed size (stats, temperature), which pins the TLV walk; that last TLV is
  dropped and the frame flagged ``last_tlv_dropped``;
* the points are pinned (reason ``unpinned points`` otherwise): no points, or side info (TLV 7,
  4 B per point) after the points TLV. A fixed-size TLV pins the walk, not where the bytes came
  from: when one packet loses its tail and the next its head, the second's TLV headers can land
  exactly where the first's were, and the first's points TLV then holds records of both packets.
  Without a point-count-sized TLV after the points, two packets of one layout with different point
  counts splice that way (16 B per point apart), indistinguishable from an intact packet;
* its *layout* is that of one of the last :data:`MAX_LAYOUTS` distinct packets of its subframe
  confirmed by a magic word (reason ``layout`` otherwise): the same header length, TLV types in
  the same order, and sizes of the TLVs whose size does not follow the point count (profiles, heat
  maps, stats, temperature); the point TLVs 1, 7, 1020 are compared by type only, and not at all
  when either frame has no points. The layout follows ``guiMonitor`` and does not change during a
  run; a new configuration's layout is learnt from a packet confirmed by a magic word. This stops
  splices of two layouts (the second's stats TLV where the first's temperature TLV began). While
  no layout is known (start of the stream, after :meth:`reset`), the packet is held (``pending``,
  at most :data:`MAX_PENDING`) until the next confirmed packet: released before it when the
  layouts match, dropped otherwise. When the stream ends first (:meth:`flush`, not a pause), a
  packet still pending has nothing to contradict it and is released: the one unchecked case, in a
  stream in which no packet at all was confirmed.

Not detectable by any parser (no checksum): bytes changed in place inside a point record (a bit
flip), or a splice that happens to keep the packet length (the next magic word then confirms it),
or one between two packets of the same layout that keeps the point TLVs intact and mixes only
side info or heat-map contents. These are the limits of the wire format, not of this parser.
"""

from __future__ import annotations

import math
import struct
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np

from runtime.frames import POINT_DTYPE, PointCloudFrame
from runtime.sources.base import SourceStats

__all__ = [
    "HEADER_1X_BYTES",
    "HEADER_3X_BYTES",
    "MAGIC",
    "SEGMENT_BYTES",
    "TlvType",
    "UartFrame",
    "UartPacketParser",
    "encode_packet",
]

MAGIC = b"\x02\x01\x04\x03\x06\x05\x08\x07"
HEADER_3X_BYTES = 40
HEADER_1X_BYTES = 36
SEGMENT_BYTES = 32  # MMWDEMO_OUTPUT_MSG_SEGMENT_LEN: packets are padded to a multiple of this
TLV_HEADER_BYTES = 8
VERSION_SDK3 = 0x03050004  # mmWave SDK 3.5.0.4
VERSION_SDK1 = 0x01020005  # mmWave SDK 1.2.0.5
MAX_TLVS = 32
MAX_SUBFRAMES = 4
STATS_FIELDS = (
    "inter_frame_processing_time_us",
    "transmit_output_time_us",
    "inter_frame_processing_margin_us",
    "inter_chirp_processing_margin_us",
    "active_frame_cpu_load_pct",
    "inter_frame_cpu_load_pct",
)
TEMPERATURE_FIELDS = (
    "report_valid",
    "time_ms",
    "rx0_c",
    "rx1_c",
    "rx2_c",
    "rx3_c",
    "tx0_c",
    "tx1_c",
    "tx2_c",
    "pm_c",
    "dig0_c",
    "dig1_c",
)

_HDR_PREFIX = struct.Struct("<II")  # version, total length (offset 8)
_HDR_3X = struct.Struct("<8x8I")
_HDR_1X = struct.Struct("<8x7I")
_TLV = struct.Struct("<II")
_STATS = struct.Struct("<6I")
_TEMPERATURE = struct.Struct("<iI10h")
_QDESCR = struct.Struct("<HH")
_UNITS = struct.Struct("<5f")
_QPOINT = np.dtype(
    [
        ("range_idx", "<u2"),
        ("doppler_idx", "<i2"),
        ("peak_val", "<u2"),
        ("x", "<i2"),
        ("y", "<i2"),
        ("z", "<i2"),
    ]
)
_CPOINT = np.dtype(
    [("elevation", "i1"), ("azimuth", "i1"), ("doppler", "<i2"), ("range", "<u2"), ("snr", "<u2")]
)


class TlvType(IntEnum):
    """TLV types of the out-of-box demo (1-9) and the toolbox's compressed point cloud."""

    DETECTED_POINTS = 1
    RANGE_PROFILE = 2
    NOISE_PROFILE = 3
    AZIMUTH_STATIC_HEATMAP = 4
    RANGE_DOPPLER_HEATMAP = 5
    STATS = 6
    SIDE_INFO = 7
    AZIMUTH_ELEVATION_HEATMAP = 8
    TEMPERATURE = 9
    COMPRESSED_POINTS = 1020


_KNOWN_TLVS = frozenset(int(t) for t in TlvType)
_POINT_TLVS = frozenset((1, 7, 1020))  # their sizes follow the point count
MAX_PENDING = 8  # unconfirmed packets held while no confirmed layout is known
MAX_LAYOUTS = 4  # recent confirmed layouts per subframe an unconfirmed packet may match

# TLV layout of a packet: (header bytes, ((type, size), ...) of the TLVs whose
# size does not depend on the point count, in order; types of the point TLVs in order, or None for
# a frame without points (the demo then sends none))
_Layout = tuple[int, tuple[tuple[int, int], ...], tuple[int, ...] | None]


def _same_layout(ref: _Layout, layout: _Layout) -> bool:
    """The same guiMonitor layout (point TLVs compared only when both frames have points)."""
    return (
        ref[0] == layout[0]
        and ref[1] == layout[1]
        and (ref[2] is None or layout[2] is None or ref[2] == layout[2])
    )


def _points_pinned(layout: _Layout) -> bool:
    """No points, or the side info (TLV 7, 4 B per point) follows the points TLV: a splice inside
    the points must then bring a side-info TLV of the same point count, i.e. keep the length."""
    pts = layout[2]
    return pts is None or (1 in pts and 7 in pts and pts.index(7) > pts.index(1))


def _layout_str(layout: _Layout) -> str:
    fixed = ",".join(f"{t}:{n}" for t, n in layout[1])
    pts = "-" if layout[2] is None else ",".join(map(str, layout[2]))
    return f"[{layout[0]} B header, points {pts}, fixed {fixed}]"


@dataclass(slots=True)
class UartFrame:
    """One accepted packet.

    Attributes:
        frame_number: the demo's frame counter (header field).
        subframe: subframe index (0 for SDK 1.x and for plain frame configs).
        timestamp: host time the packet was completed [s since the epoch].
        points: :data:`runtime.frames.POINT_DTYPE` ``[num_points]``; snr/noise [dB] from TLV 7 (or the
            1020 SNR), NaN when absent; v is NaN for SDK 1.x/2.x points when the parser does not
            know the Doppler bin width.
        cpu_cycles: header time [CPU cycles].
        platform: header platform (e.g. 0xA1843).
        version: header version word.
        range_profile, noise_profile: uint16 ``[num_range_bins]`` (log2 magnitude, Q9).
        azimuth_heatmap: complex64 zero-Doppler azimuth cube, ``[num_range_bins, num_virtual_az]``
            when the parser knows ``num_range_bins``, else flat.
        range_doppler_heatmap: uint16 ``[num_range_bins, num_doppler_bins]`` (or flat).
        azimuth_elevation_heatmap: complex64 ``[num_range_bins, num_virtual]`` (or flat).
        stats: :data:`STATS_FIELDS` -> value, or None.
        temperature: :data:`TEMPERATURE_FIELDS` -> value, or None.
        extras: SDK 1.x/2.x per-point ``range_idx``, ``doppler_idx``, ``peak_val`` arrays.
        flags: anything unusual about an accepted frame (e.g. ``{"unknown_tlvs": 1}``); empty when
            the packet is exactly what the demo sends.
    """

    frame_number: int
    subframe: int
    timestamp: float
    points: np.ndarray
    cpu_cycles: int = 0
    platform: int = 0
    version: int = 0
    range_profile: np.ndarray | None = None
    noise_profile: np.ndarray | None = None
    azimuth_heatmap: np.ndarray | None = None
    range_doppler_heatmap: np.ndarray | None = None
    azimuth_elevation_heatmap: np.ndarray | None = None
    stats: dict[str, int] | None = None
    temperature: dict[str, int] | None = None
    extras: dict[str, np.ndarray] = field(default_factory=dict)
    flags: dict[str, int] = field(default_factory=dict)

    def to_point_cloud(self) -> PointCloudFrame:
        """The :class:`runtime.frames.PointCloudFrame` view of this packet."""
        return PointCloudFrame(
            points=self.points,
            frame_number=self.frame_number,
            timestamp=self.timestamp,
            flags=dict(self.flags),
        )


class _Damaged(Exception):
    """Internal: the packet under test is inconsistent (the message says why)."""


def _sdk_major(version: int) -> int:
    return (version >> 24) & 0xFF


class UartPacketParser:
    """Incremental parser for the demo's data-port byte stream.

    Feed it bytes as they arrive, in chunks of any size; it returns the frames completed by each
    chunk. It never raises on any input (an internal error drops the buffer and is counted in
    ``internal_errors``), resynchronises on the magic word at any byte offset, and holds at most
    ``max_packet_bytes`` plus the last chunk in memory.

    Counters (``stats``, a :class:`runtime.sources.base.SourceStats`):
        ``bytes_received`` every byte fed; ``bytes_skipped`` bytes that were not part of an
        accepted packet (garbage, damaged packets); ``packets`` / ``frames`` accepted packets;
        ``packets_damaged`` magic words whose packet failed a check; ``frames_lost`` frame-number
        gaps between accepted packets. ``bytes_received == bytes_accepted + bytes_skipped +
        buffered`` holds after every call (``buffered`` includes ``pending`` packets).

    Args:
        dialect: ``"auto"`` (from the header version: major 1 = SDK 1.x 36-byte header, else the
            40-byte header), ``"3.x"`` (SDK 2.x/3.x) or ``"1.x"`` (xWR14xx SDK 1.x).
        platform: expected header platform (e.g. ``ChirpConfig.board_spec.platform_id``); None
            accepts any ``0xAxxxx`` platform.
        num_range_bins: used to shape the heat maps (flat arrays when None or inconsistent).
        doppler_bin_mps: Doppler bin width [m/s] to turn SDK 1.x/2.x Doppler indices into v.
        max_packet_bytes: larger total lengths are damage.
        max_abs_position_m, max_abs_velocity_mps: a point outside this box (or not finite) makes
            the packet damaged.
        allow_unknown_tlvs: skip TLV types this parser does not know (flagged as
            ``unknown_tlvs``) instead of rejecting the packet (toolbox demos send more types).
        max_frame_gap: a forward frame-number jump larger than this is a discontinuity (counted
            in ``discontinuities``), not loss; a backward jump is a radar restart (``restarts``).
        stats: counters to fill (a source passes its own); a new one when None.
    """

    def __init__(
        self,
        *,
        dialect: str = "auto",
        platform: int | None = None,
        num_range_bins: int | None = None,
        doppler_bin_mps: float | None = None,
        max_packet_bytes: int = 1 << 20,
        max_abs_position_m: float = 1000.0,
        max_abs_velocity_mps: float = 1000.0,
        allow_unknown_tlvs: bool = False,
        max_frame_gap: int = 100_000,
        stats: SourceStats | None = None,
    ) -> None:
        if dialect not in ("auto", "3.x", "1.x"):
            raise ValueError(f"dialect must be 'auto', '3.x' or '1.x', got {dialect!r}")
        self.dialect = dialect
        self.platform = platform
        self.num_range_bins = num_range_bins
        self.doppler_bin_mps = doppler_bin_mps
        self.max_packet_bytes = int(max_packet_bytes)
        self.max_abs_position_m = float(max_abs_position_m)
        self.max_abs_velocity_mps = float(max_abs_velocity_mps)
        self.allow_unknown_tlvs = allow_unknown_tlvs
        self.max_frame_gap = int(max_frame_gap)
        self.stats = stats if stats is not None else SourceStats()
        self.bytes_accepted = 0
        self.restarts = 0
        self.discontinuities = 0
        self.internal_errors = 0
        self.damage_reasons: Counter[str] = Counter()
        self.last_damage = ""
        self._buf = bytearray()
        self._scanned = 0  # buffer offset up to which the pending packet has no magic inside
        self._held: tuple[UartFrame, int | None, _Layout] | None = None  # decoded, at offset 0
        self._last_frame: int | None = None
        # TLV layout of the last end-confirmed packet per subframe, and unconfirmed packets
        # waiting for one (frame, layout, length): see the damage policy
        self._layouts: dict[int, list[_Layout]] = {}
        self._pending: list[tuple[UartFrame, _Layout, int]] = []
        self._pending_bytes = 0

    @classmethod
    def for_config(cls, rc: Any, **kwargs: Any) -> UartPacketParser:
        """A parser pinned to a :class:`firmware_cfg.RadarConfig`'s dialect and board."""
        chirp = rc.chirp
        opts: dict[str, Any] = {
            "dialect": rc.dialect,
            "platform": chirp.board_spec.platform_id,
            "num_range_bins": chirp.num_range_bins,
            "doppler_bin_mps": chirp.velocity_bin_mps,
        }
        opts.update(kwargs)
        return cls(**opts)

    # ------------------------------------------------------------------ public
    @property
    def buffered(self) -> int:
        """Bytes held while waiting for the rest of a packet (or a possible magic prefix)."""
        return len(self._buf) + self._pending_bytes

    @property
    def pending(self) -> int:
        """Packets not confirmed by a magic word, waiting for a confirmed layout to compare with."""
        return len(self._pending)

    def reset(self) -> None:
        """Forget buffered bytes, the frame-number and layout history (counters are kept)."""
        self.stats.bytes_skipped += len(self._buf) + self._pending_bytes
        self._buf.clear()
        self._scanned = 0
        self._held = None
        self._last_frame = None
        self._layouts.clear()
        self._pending.clear()
        self._pending_bytes = 0

    def feed(
        self,
        data: bytes | bytearray | memoryview = b"",
        timestamp: float | None = None,
        *,
        final: bool = False,
    ) -> list[UartFrame]:
        """Add bytes; return the frames they complete, in stream order. Never raises.

        A structurally valid packet is released once the 8 bytes after it are known: the next
        magic word confirms its end. Until then it is held, because bytes inserted into its last
        TLV would be absorbed by the padding unnoticed. ``final=True`` says that nothing follows
        for now (end of a file, or the port went quiet: a packet is sent as one burst), which
        releases a held packet. A packet followed by stray bytes instead is checked against the
        last confirmed layout, or held until a confirmed packet shows one (module docstring).

        Args:
            data: the next bytes from the data port.
            timestamp: arrival time [s since the epoch] for the completed frames;
                ``time.time()`` when None.
            final: the stream ended or paused after ``data``.
        """
        try:
            self.stats.bytes_received += len(data)
            self._buf += data
            return self._drain(time.time() if timestamp is None else float(timestamp), final)
        except Exception:  # pragma: no cover - a bug; keep the stream alive and count it
            self.internal_errors += 1
            self.stats.bytes_skipped += len(self._buf) + self._pending_bytes
            self._buf.clear()
            self._scanned = 0
            self._held = None
            self._pending.clear()
            self._pending_bytes = 0
            return []

    def flush(self, timestamp: float | None = None) -> list[UartFrame]:
        """The stream ended: release a packet held for its end check, and packets still pending
        because no packet was ever confirmed for their subframe (nothing contradicts them; a
        pending packet whose subframe has a confirmed layout was already checked against it)."""
        out = self.feed(b"", timestamp, final=True)
        if self._pending:
            out += self._resolve_pending(unverified_ok=True)
        return out

    # ------------------------------------------------------------------ framing
    def _damage(self, reason: str) -> None:
        self.stats.packets_damaged += 1
        self.damage_reasons[reason.split(":")[0]] += 1
        self.last_damage = reason

    def _drain(self, ts: float, final: bool) -> list[UartFrame]:
        buf = self._buf
        out: list[UartFrame] = []
        held, self._held = self._held, None
        pos = 0
        skipped = 0
        while True:
            i = buf.find(MAGIC, pos)
            if i < 0:
                # keep a tail that may be the start of a magic word split across chunks
                keep = max(pos, len(buf) - (len(MAGIC) - 1))
                skipped += keep - pos
                pos = keep
                break
            if i > pos:
                skipped += i - pos
                pos = i
                self._scanned = 0
            avail = len(buf) - pos
            if avail < 16:
                break
            version, length = _HDR_PREFIX.unpack_from(buf, pos + 8)
            try:
                hdr_len = self._header_len(version, length)
            except _Damaged as exc:
                self._damage(str(exc))
                pos += 1
                skipped += 1
                self._scanned = 0
                continue
            # a cut-short packet: the next magic word starts inside the claimed length (it may
            # reach up to 7 bytes beyond it)
            end = min(len(buf), pos + length + len(MAGIC) - 1)
            start = max(pos + 1, self._scanned)
            j = buf.find(MAGIC, start, end)
            if j >= 0:
                self._damage(f"truncated: next magic word {j - pos} B into a {length} B packet")
                skipped += j - pos
                pos = j
                self._scanned = 0
                continue
            if avail < length:
                self._scanned = max(pos + 1, end - (len(MAGIC) - 1))
                break
            try:
                if pos == 0 and held is not None:
                    frame, last, layout = held
                else:
                    frame, last, layout = self._decode(bytes(buf[pos : pos + length]), hdr_len, ts)
                held = None
                # the packet's end is confirmed by the next magic word right behind it
                if avail < length + len(MAGIC) and not final:
                    self._held = (frame, last, layout)
                    self._scanned = 0
                    break
                follow = bytes(buf[pos + length : pos + length + len(MAGIC)])
                confirmed = follow == MAGIC or (final and MAGIC.startswith(follow))
                if not confirmed:
                    self._drop_last_tlv(frame, last, len(follow))
                    if not _points_pinned(layout):
                        raise _Damaged(
                            f"unpinned points: stray bytes after a packet whose point count no TLV "
                            f"after the points confirms {_layout_str(layout)}"
                        )
                    if self._pending or frame.subframe not in self._layouts:
                        # nothing to compare with yet: wait for the next confirmed packet
                        self._defer(frame, layout, length)
                        pos += length
                        self._scanned = 0
                        continue
                    refs = self._layouts[frame.subframe]
                    if not any(_same_layout(ref, layout) for ref in refs):
                        raise _Damaged(
                            f"layout: unconfirmed packet {_layout_str(layout)}, "
                            f"last confirmed {_layout_str(refs[0])}"
                        )
            except _Damaged as exc:
                self._damage(str(exc))
                pos += 1
                skipped += 1
                self._scanned = 0
                continue
            if confirmed:
                self._confirm_layout(frame.subframe, layout)
                if self._pending:
                    out += self._resolve_pending()
            self._count_frame(frame)
            out.append(frame)
            self.bytes_accepted += length
            pos += length
            self._scanned = 0
        if pos:
            del buf[:pos]
            if self._scanned:
                self._scanned = max(0, self._scanned - pos)
        self.stats.bytes_skipped += skipped
        return out

    def _defer(self, frame: UartFrame, layout: _Layout, length: int) -> None:
        """Hold an unconfirmed packet until a confirmed one gives a layout to compare it with."""
        self._pending.append((frame, layout, length))
        self._pending_bytes += length
        while len(self._pending) > MAX_PENDING:
            _, lay, n = self._pending.pop(0)
            self._pending_bytes -= n
            self.stats.bytes_skipped += n
            self._damage(f"layout: unconfirmed packet {_layout_str(lay)} never verified")

    def _confirm_layout(self, subframe: int, layout: _Layout) -> None:
        """Remember a confirmed layout (the most recent first, :data:`MAX_LAYOUTS` distinct ones:
        a confirmed packet with a flipped header bit must not make the real layout unknown)."""
        refs = self._layouts.setdefault(subframe, [])
        if layout[2] is None:  # a frame without points says nothing about the points TLVs
            for ref in refs:
                if ref[:2] == layout[:2]:
                    layout = ref
                    break
        if refs and refs[0] == layout:
            return
        if layout in refs:
            refs.remove(layout)
        refs.insert(0, layout)
        del refs[MAX_LAYOUTS:]

    def _resolve_pending(self, *, unverified_ok: bool = False) -> list[UartFrame]:
        """A packet was confirmed: release the deferred packets whose layout matches the last
        confirmed one of their subframe, drop the others (they are damaged)."""
        out = []
        for frame, layout, n in self._pending:
            self._pending_bytes -= n
            refs = self._layouts.get(frame.subframe)
            if (refs is None and unverified_ok) or (
                refs is not None and any(_same_layout(ref, layout) for ref in refs)
            ):
                self._count_frame(frame)
                out.append(frame)
                self.bytes_accepted += n
            else:
                self.stats.bytes_skipped += n
                why = (
                    "no confirmed packet"
                    if refs is None
                    else f"last confirmed {_layout_str(refs[0])}"
                )
                self._damage(f"layout: unconfirmed packet {_layout_str(layout)}, {why}")
        self._pending.clear()
        return out

    @staticmethod
    def _drop_last_tlv(frame: UartFrame, last: int | None, n: int) -> None:
        """Bytes that are not a magic word follow the packet: stray bytes between packets, or a
        packet that lost or gained bytes and still walks (a misaligned TLV header can look valid).
        Only a packet whose last TLV is a fixed-size one (stats, temperature) is kept: the TLVs
        before it are pinned by its exact size, and the last TLV itself, which an insertion
        absorbed by the padding could have shifted, is dropped (flag ``last_tlv_dropped``). The
        caller then checks the layout (a splice of two packets can pin the walk too)."""
        if last == 6:
            frame.stats = None
        elif last == 9:
            frame.temperature = None
        else:
            raise _Damaged(f"trailing bytes: {n}+ B after a packet ending with TLV {last}")
        frame.flags["last_tlv_dropped"] = int(last)

    def _header_len(self, version: int, length: int) -> int:
        major = _sdk_major(version)
        if self.dialect == "1.x":
            if major != 1:
                raise _Damaged(f"version: {version:#010x} is not SDK 1.x")
            hdr = HEADER_1X_BYTES
        elif self.dialect == "3.x":
            if not 2 <= major <= 9:
                raise _Damaged(f"version: {version:#010x} is not SDK 2.x/3.x")
            hdr = HEADER_3X_BYTES
        else:
            if not 1 <= major <= 9:
                raise _Damaged(f"version: implausible {version:#010x}")
            hdr = HEADER_1X_BYTES if major == 1 else HEADER_3X_BYTES
        if length % SEGMENT_BYTES or not hdr <= length <= self.max_packet_bytes:
            raise _Damaged(f"length: total {length} B not a multiple of 32 within bounds")
        return hdr

    def _count_frame(self, frame: UartFrame) -> None:
        st = self.stats
        st.packets += 1
        st.frames += 1
        if frame.flags:
            st.frames_flagged += 1
        last = self._last_frame
        fn = frame.frame_number
        if last is not None:
            gap = fn - last
            if 1 < gap <= self.max_frame_gap + 1:
                st.frames_lost += gap - 1
            elif gap > self.max_frame_gap + 1:
                self.discontinuities += 1
            elif gap < 0:
                self.restarts += 1
        self._last_frame = fn

    # ------------------------------------------------------------------ decoding
    def _decode(self, pkt: bytes, hdr_len: int, ts: float) -> tuple[UartFrame, int | None, _Layout]:
        length = len(pkt)
        if hdr_len == HEADER_3X_BYTES:
            version, _, platform, fn, cycles, nobj, ntlv, subframe = _HDR_3X.unpack_from(pkt)
        else:
            version, _, platform, fn, cycles, nobj, ntlv = _HDR_1X.unpack_from(pkt)
            subframe = 0
        if self.platform is not None:
            if platform != self.platform:
                raise _Damaged(f"platform: {platform:#x}, expected {self.platform:#x}")
        elif platform >> 16 != 0xA:
            raise _Damaged(f"platform: implausible {platform:#x}")
        if ntlv > MAX_TLVS:
            raise _Damaged(f"tlv count: {ntlv}")
        if subframe >= MAX_SUBFRAMES:
            raise _Damaged(f"subframe: {subframe}")
        if nobj * 8 > length:
            raise _Damaged(f"point count: {nobj} points cannot fit {length} B")
        q_points = hdr_len == HEADER_1X_BYTES or _sdk_major(version) < 3

        # ---- walk the TLVs: every header inside the packet, sizes consistent
        tlvs: dict[int, tuple[int, int]] = {}
        fixed: list[tuple[int, int]] = []
        point_types: list[int] = []
        unknown = 0
        last: int | None = None
        off = hdr_len
        for _ in range(ntlv):
            if off + TLV_HEADER_BYTES > length:
                raise _Damaged("tlv header: beyond the packet")
            t, n = _TLV.unpack_from(pkt, off)
            off += TLV_HEADER_BYTES
            if n > length - off:
                raise _Damaged(f"tlv length: type {t} claims {n} B, {length - off} B left")
            if t not in _KNOWN_TLVS:
                if not self.allow_unknown_tlvs:
                    raise _Damaged(f"tlv type: unknown {t}")
                unknown += 1
            elif t in tlvs:
                raise _Damaged(f"tlv type: {t} repeated")
            else:
                self._check_size(t, n, nobj, q_points)
                tlvs[t] = (off, n)
            if t in _POINT_TLVS:
                point_types.append(t)
            else:  # an unknown TLV's size may vary: its type only
                fixed.append((t, n if t in _KNOWN_TLVS else -1))
            last = t
            off += n
        if length - off >= SEGMENT_BYTES:
            raise _Damaged(f"padding: {length - off} B after the last TLV")
        if 1 in tlvs and 1020 in tlvs:
            raise _Damaged("tlv type: both 1 and 1020")
        if 7 in tlvs and 1 not in tlvs:
            raise _Damaged("tlv type: side info without points")
        rp, npf = tlvs.get(2), tlvs.get(3)
        if rp is not None and npf is not None and rp[1] != npf[1]:
            raise _Damaged("tlv length: range and noise profiles differ")

        # ---- decode
        extras: dict[str, np.ndarray] = {}
        if 1 in tlvs:
            o, n = tlvs[1]
            if q_points:
                points = self._q_points(pkt, o, n, nobj, extras)
            else:
                points = np.empty(nobj, dtype=POINT_DTYPE)
                flat = points.view(np.float32).reshape(nobj, 6)
                flat[:, :4] = np.frombuffer(pkt, "<f4", 4 * nobj, o).reshape(nobj, 4)
                if 7 in tlvs:
                    o7 = tlvs[7][0]
                    flat[:, 4:] = np.frombuffer(pkt, "<i2", 2 * nobj, o7).reshape(
                        nobj, 2
                    ) * np.float32(0.1)
                else:
                    flat[:, 4:] = np.nan
        elif 1020 in tlvs:
            o, n = tlvs[1020]
            points = self._compressed_points(pkt, o, nobj)
        else:
            points = np.zeros(0, dtype=POINT_DTYPE)
        if len(points):
            self._check_box(points)

        frame = UartFrame(
            frame_number=fn,
            subframe=subframe,
            timestamp=ts,
            points=points,
            cpu_cycles=cycles,
            platform=platform,
            version=version,
            extras=extras,
        )
        if unknown:
            frame.flags["unknown_tlvs"] = unknown
        if rp is not None:
            frame.range_profile = np.frombuffer(pkt, "<u2", rp[1] // 2, rp[0]).copy()
        if npf is not None:
            frame.noise_profile = np.frombuffer(pkt, "<u2", npf[1] // 2, npf[0]).copy()
        if 4 in tlvs:
            frame.azimuth_heatmap = self._complex_map(pkt, *tlvs[4])
        if 8 in tlvs:
            frame.azimuth_elevation_heatmap = self._complex_map(pkt, *tlvs[8])
        if 5 in tlvs:
            o, n = tlvs[5]
            rd = np.frombuffer(pkt, "<u2", n // 2, o).copy()
            frame.range_doppler_heatmap = self._shape(rd)
        if 6 in tlvs:
            frame.stats = dict(zip(STATS_FIELDS, _STATS.unpack_from(pkt, tlvs[6][0]), strict=True))
        if 9 in tlvs:
            vals = _TEMPERATURE.unpack_from(pkt, tlvs[9][0])
            frame.temperature = dict(zip(TEMPERATURE_FIELDS, vals, strict=True))
        layout: _Layout = (
            hdr_len,
            tuple(fixed),
            tuple(point_types) if nobj else None,
        )
        return frame, last, layout

    @staticmethod
    def _check_size(t: int, n: int, nobj: int, q_points: bool) -> None:
        if t == 1:
            want = 4 + 12 * nobj if q_points else 16 * nobj
            if n != want:
                raise _Damaged(f"tlv size: points TLV {n} B, {nobj} points need {want} B")
        elif t == 7:
            if q_points or n != 4 * nobj:
                raise _Damaged(f"tlv size: side info {n} B for {nobj} points")
        elif t in (2, 3, 5):
            # range bins (and Doppler bins) are FFT sizes: powers of two
            if n < 2 or n % 2 or (n // 2) & (n // 2 - 1):
                raise _Damaged(f"tlv size: type {t} has {n} B, not 2 x a power of two")
        elif t in (4, 8):
            # range bins (a power of two) x virtual antennas (1..16) x 4 B
            m = n // 4
            if (
                n == 0
                or n % 4
                or not any(m % k == 0 and (m // k) & (m // k - 1) == 0 for k in range(1, 17))
            ):
                raise _Damaged(f"tlv size: type {t} has {n} B")
        elif t == 6:
            if n != _STATS.size:
                raise _Damaged(f"tlv size: stats {n} B")
        elif t == 9:
            if n != _TEMPERATURE.size:
                raise _Damaged(f"tlv size: temperature {n} B")
        elif t == 1020 and n != _UNITS.size + 8 * nobj:
            raise _Damaged(f"tlv size: compressed points {n} B for {nobj} points")

    def _check_box(self, points: np.ndarray) -> None:
        flat = points.view(np.float32).reshape(len(points), 6)
        pos = flat[:, :3]
        vel = flat[:, 3]
        if not np.all(np.abs(pos) <= self.max_abs_position_m):  # False for NaN too
            raise _Damaged("point: position not finite or outside the plausible box")
        if not np.all(np.isnan(vel) | (np.abs(vel) <= self.max_abs_velocity_mps)):
            raise _Damaged("point: velocity not finite or implausible")
        if np.isinf(flat[:, 4:]).any():
            raise _Damaged("point: infinite snr/noise")

    def _q_points(
        self, pkt: bytes, o: int, n: int, nobj: int, extras: dict[str, np.ndarray]
    ) -> np.ndarray:
        count, qfmt = _QDESCR.unpack_from(pkt, o)
        if count != nobj:
            raise _Damaged(f"points descriptor: {count} objects, header says {nobj}")
        if qfmt > 15:
            raise _Damaged(f"points descriptor: Q format {qfmt}")
        rec = np.frombuffer(pkt, _QPOINT, nobj, o + _QDESCR.size)
        scale = np.float32(1.0 / (1 << qfmt))
        points = np.empty(nobj, dtype=POINT_DTYPE)
        points["x"] = rec["x"] * scale
        points["y"] = rec["y"] * scale
        points["z"] = rec["z"] * scale
        if self.doppler_bin_mps is None:
            points["v"] = np.nan
        else:
            points["v"] = rec["doppler_idx"] * np.float32(self.doppler_bin_mps)
        points["snr"] = np.nan
        points["noise"] = np.nan
        extras["range_idx"] = rec["range_idx"].copy()
        extras["doppler_idx"] = rec["doppler_idx"].copy()
        extras["peak_val"] = rec["peak_val"].copy()
        return points

    @staticmethod
    def _compressed_points(pkt: bytes, o: int, nobj: int) -> np.ndarray:
        units = _UNITS.unpack_from(pkt, o)
        if not all(math.isfinite(u) for u in units) or units[3] <= 0:
            raise _Damaged("compressed points: invalid units")
        el_u, az_u, dop_u, rng_u, snr_u = (np.float64(u) for u in units)
        rec = np.frombuffer(pkt, _CPOINT, nobj, o + _UNITS.size)
        r = rec["range"] * rng_u
        el = rec["elevation"] * el_u
        az = rec["azimuth"] * az_u
        points = np.empty(nobj, dtype=POINT_DTYPE)
        with np.errstate(all="ignore"):  # huge units overflow float32: the box check rejects them
            points["x"] = r * np.cos(el) * np.sin(az)
            points["y"] = r * np.cos(el) * np.cos(az)
            points["z"] = r * np.sin(el)
            points["v"] = rec["doppler"] * dop_u
            lin = rec["snr"] * snr_u
            points["snr"] = np.where(lin > 0, 10.0 * np.log10(np.where(lin > 0, lin, 1.0)), np.nan)
        points["noise"] = np.nan
        return points

    def _shape(self, arr: np.ndarray) -> np.ndarray:
        nrb = self.num_range_bins
        if nrb and len(arr) % nrb == 0:
            return arr.reshape(nrb, -1)
        return arr

    def _complex_map(self, pkt: bytes, o: int, n: int) -> np.ndarray:
        iq = np.frombuffer(pkt, "<i2", n // 2, o).reshape(-1, 2)  # {imag, real}
        out = (iq[:, 1] + 1j * iq[:, 0]).astype(np.complex64)
        return self._shape(out)


# ---------------------------------------------------------------------- encoder
def _tlv(t: int, payload: bytes) -> bytes:
    return _TLV.pack(t, len(payload)) + payload


def _complex_payload(arr: np.ndarray) -> bytes:
    a = np.asarray(arr).reshape(-1)
    iq = np.empty((len(a), 2), dtype="<i2")
    iq[:, 0] = np.clip(np.round(a.imag), -32768, 32767)
    iq[:, 1] = np.clip(np.round(a.real), -32768, 32767)
    return iq.tobytes()


def _u16_payload(arr: np.ndarray) -> bytes:
    return np.clip(np.asarray(arr).reshape(-1), 0, 65535).astype("<u2").tobytes()


def _fields(values: Sequence[int] | Mapping[str, int] | None, names: tuple[str, ...]) -> list[int]:
    if values is None:
        return [0] * len(names)
    if isinstance(values, Mapping):
        return [int(values.get(k, 0)) for k in names]
    vals = [int(v) for v in values]
    if len(vals) != len(names):
        raise ValueError(f"expected {len(names)} values ({', '.join(names)}), got {len(vals)}")
    return vals


def _db_to_tenths(db: np.ndarray) -> np.ndarray:
    tenths = np.where(np.isfinite(db), np.round(np.asarray(db, np.float64) * 10.0), 0.0)
    return np.clip(tenths, -32768, 32767).astype("<i2")


def encode_packet(
    frame_number: int,
    points: np.ndarray,
    *,
    platform: int,
    version: int | None = None,
    dialect: str = "3.x",
    subframe: int = 0,
    cpu_cycles: int = 0,
    side_info: bool = True,
    range_profile: np.ndarray | None = None,
    noise_profile: np.ndarray | None = None,
    azimuth_heatmap: np.ndarray | None = None,
    range_doppler_heatmap: np.ndarray | None = None,
    azimuth_elevation_heatmap: np.ndarray | None = None,
    stats: Sequence[int] | Mapping[str, int] | None = None,
    temperature: Sequence[int] | Mapping[str, int] | None = None,
    compressed_units: tuple[float, float, float, float, float] | None = None,
    q_format: int | None = None,
    doppler_bin_mps: float | None = None,
    range_bin_m: float | None = None,
) -> bytes:
    """One data-port packet exactly as the out-of-box demo sends it (layout: module docstring).

    TLV order follows the SDK 3.x demo: points (1 or 1020), side info (7), range profile (2),
    noise profile (3), azimuth heat map (4), range-Doppler heat map (5), azimuth/elevation heat map
    (8), stats (6), temperature (9); SDK 1.x: 1, 2, 3, 4, 5, 6. A frame without points carries no
    points TLV. Padding bytes are zeros (the firmware's are undefined).

    Args:
        frame_number: header frame counter.
        points: structured array with x, y, z [m], v [m/s] and optionally snr, noise [dB]
            (:data:`runtime.frames.POINT_DTYPE`).
        platform: header platform, e.g. ``ChirpConfig.board_spec.platform_id``.
        version: header version word (default SDK 3.5.0.4, or 1.2.0.5 for ``dialect="1.x"``).
        dialect: ``"3.x"`` (40-byte header, float points) or ``"1.x"`` (36-byte header, Q-format).
        subframe: subframe number (3.x only).
        cpu_cycles: header time [CPU cycles].
        side_info: send TLV 7 with snr/noise in 0.1 dB (3.x, ``guiMonitor`` detectedObjects = 1).
        range_profile, noise_profile: uint16 ``[num_range_bins]`` (Q9 log2 magnitude).
        azimuth_heatmap, azimuth_elevation_heatmap: complex ``[num_range_bins, num_virtual]``
            (sent as int16 imag, real).
        range_doppler_heatmap: uint16 ``[num_range_bins, num_doppler_bins]``.
        stats: six values (:data:`STATS_FIELDS`), sequence or mapping.
        temperature: twelve values (:data:`TEMPERATURE_FIELDS`), sequence or mapping.
        compressed_units: (elevation [rad], azimuth [rad], Doppler [m/s], range [m], snr [linear])
            per LSB: send the toolbox's compressed point cloud (1020) instead of TLV 1 (3.x).
        q_format: SDK 1.x coordinates are ``round(m * 2**q_format)``; None picks the largest
            q <= 15 that fits the points.
        doppler_bin_mps: SDK 1.x Doppler bin width [m/s] for ``dopplerIdx = round(v / bin)``
            (0 when None).
        range_bin_m: SDK 1.x range bin width [m] for ``rangeIdx`` (0 when None).
    """
    if dialect not in ("3.x", "1.x"):
        raise ValueError(f"dialect must be '3.x' or '1.x', got {dialect!r}")
    sdk1 = dialect == "1.x"
    if version is None:
        version = VERSION_SDK1 if sdk1 else VERSION_SDK3
    pts = np.asarray(points)
    nobj = len(pts)
    names = pts.dtype.names or ()
    tlvs: list[bytes] = []

    if nobj:
        if sdk1:
            tlvs.append(_tlv(1, _encode_q_points(pts, q_format, doppler_bin_mps, range_bin_m)))
        elif compressed_units is not None:
            tlvs.append(_tlv(1020, _encode_compressed(pts, compressed_units)))
        else:
            xyzv = np.empty((nobj, 4), dtype="<f4")
            for k, name in enumerate(("x", "y", "z", "v")):
                xyzv[:, k] = pts[name]
            tlvs.append(_tlv(1, xyzv.tobytes()))
            if side_info:
                si = np.zeros((nobj, 2), dtype="<i2")
                if "snr" in names:
                    si[:, 0] = _db_to_tenths(pts["snr"])
                if "noise" in names:
                    si[:, 1] = _db_to_tenths(pts["noise"])
                tlvs.append(_tlv(7, si.tobytes()))
    if range_profile is not None:
        tlvs.append(_tlv(2, _u16_payload(range_profile)))
    if noise_profile is not None:
        tlvs.append(_tlv(3, _u16_payload(noise_profile)))
    if azimuth_heatmap is not None:
        tlvs.append(_tlv(4, _complex_payload(azimuth_heatmap)))
    if range_doppler_heatmap is not None:
        tlvs.append(_tlv(5, _u16_payload(range_doppler_heatmap)))
    if azimuth_elevation_heatmap is not None and not sdk1:
        tlvs.append(_tlv(8, _complex_payload(azimuth_elevation_heatmap)))
    if stats is not None:
        tlvs.append(_tlv(6, _STATS.pack(*[v & 0xFFFFFFFF for v in _fields(stats, STATS_FIELDS)])))
    if temperature is not None and not sdk1:
        tlvs.append(_tlv(9, _TEMPERATURE.pack(*_fields(temperature, TEMPERATURE_FIELDS))))

    body = b"".join(tlvs)
    hdr_len = HEADER_1X_BYTES if sdk1 else HEADER_3X_BYTES
    total = hdr_len + len(body)
    total += (-total) % SEGMENT_BYTES
    head = (
        version & 0xFFFFFFFF,
        total,
        platform & 0xFFFFFFFF,
        frame_number & 0xFFFFFFFF,
        cpu_cycles & 0xFFFFFFFF,
        nobj,
        len(tlvs),
    )
    header = MAGIC + (_HDR_1X.pack(*head)[8:] if sdk1 else _HDR_3X.pack(*head, subframe)[8:])
    return header + body + bytes(total - hdr_len - len(body))


def _encode_q_points(
    pts: np.ndarray, q_format: int | None, doppler_bin_mps: float | None, range_bin_m: float | None
) -> bytes:
    n = len(pts)
    xyz = np.stack([np.asarray(pts[k], np.float64) for k in ("x", "y", "z")], axis=1)
    if q_format is None:
        peak = float(np.max(np.abs(xyz))) if n else 0.0
        q_format = 15
        while q_format > 0 and peak * (1 << q_format) > 32767:
            q_format -= 1
    rec = np.zeros(n, dtype=_QPOINT)
    scaled = np.clip(np.round(xyz * (1 << q_format)), -32768, 32767).astype(np.int16)
    rec["x"], rec["y"], rec["z"] = scaled[:, 0], scaled[:, 1], scaled[:, 2]
    if doppler_bin_mps:
        v = np.asarray(pts["v"], np.float64)
        rec["doppler_idx"] = np.clip(np.round(np.nan_to_num(v) / doppler_bin_mps), -32768, 32767)
    if range_bin_m:
        r = np.linalg.norm(xyz, axis=1)
        rec["range_idx"] = np.clip(np.round(r / range_bin_m), 0, 65535)
    return _QDESCR.pack(n, q_format) + rec.tobytes()


def _encode_compressed(pts: np.ndarray, units: tuple[float, float, float, float, float]) -> bytes:
    el_u, az_u, dop_u, rng_u, snr_u = (float(u) for u in units)
    x, y, z = (np.asarray(pts[k], np.float64) for k in ("x", "y", "z"))
    r = np.sqrt(x * x + y * y + z * z)
    el = np.arcsin(np.divide(z, r, out=np.zeros_like(r), where=r > 0))
    az = np.arctan2(x, y)
    rec = np.zeros(len(pts), dtype=_CPOINT)
    rec["range"] = np.clip(np.round(r / rng_u), 0, 65535)
    rec["elevation"] = np.clip(np.round(el / el_u), -128, 127)
    rec["azimuth"] = np.clip(np.round(az / az_u), -128, 127)
    rec["doppler"] = np.clip(
        np.round(np.nan_to_num(np.asarray(pts["v"], np.float64)) / dop_u), -32768, 32767
    )
    names = pts.dtype.names or ()
    if "snr" in names:
        snr_db = np.nan_to_num(np.asarray(pts["snr"], np.float64), nan=0.0)
        rec["snr"] = np.clip(np.round(10.0 ** (snr_db / 10.0) / snr_u), 0, 65535)
    return _UNITS.pack(el_u, az_u, dop_u, rng_u, snr_u) + rec.tobytes()
