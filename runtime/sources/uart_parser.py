"""Incremental parser of the out-of-box demo's UART data-port byte stream (layout:
:mod:`runtime.sources.uart_tlv`). Pure ``struct`` + numpy; it never raises on any input.

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
import time
from collections import Counter
from typing import Any

import numpy as np

from firmware_cfg import RadarConfig
from runtime.frames import POINT_DTYPE
from runtime.sources.base import SourceStats
from runtime.sources.uart_tlv import (
    CPOINT_DTYPE,
    HDR_1X,
    HDR_3X,
    HDR_PREFIX,
    HEADER_1X_BYTES,
    HEADER_3X_BYTES,
    KNOWN_TLVS,
    MAGIC,
    MAX_SUBFRAMES,
    MAX_TLVS,
    POINT_TLVS,
    Q_FORMAT_TLVS,
    QDESCR,
    QPOINT_DTYPE,
    SEGMENT_BYTES,
    STATS_FIELDS,
    STATS_STRUCT,
    TEMPERATURE_FIELDS,
    TEMPERATURE_STRUCT,
    TLV_HEADER,
    TLV_HEADER_BYTES,
    UNITS,
    UartFrame,
    sdk_major,
)

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


class _Damaged(Exception):
    """Internal: the packet under test is inconsistent (the message says why)."""


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
            40-byte header; major 1 and 2 = Q-format points), ``"3.x"`` (40-byte header, SDK 2.x or
            later; the version decides the points format), ``"2.x"`` (xWR16xx SDK 2.x: major 2
            only) or ``"1.x"`` (xWR14xx SDK 1.x: major 1 only). The dialects are described in
            :mod:`runtime.sources.uart_tlv`; a Q-format packet (SDK 1.x/2.x) with a TLV type
            above 6 is damaged (those types do not exist there) unless ``allow_unknown_tlvs``.
        platform: expected header platform (e.g. ``ChirpConfig.board_spec.platform_id``); None
            accepts any ``0xAxxxx`` platform.
        num_range_bins: used to shape the heat maps (flat arrays when None or inconsistent).
        doppler_bin_mps: Doppler bin width [m/s] to turn SDK 1.x/2.x (signed) Doppler indices
            into v.
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
        if dialect not in ("auto", "3.x", "2.x", "1.x"):
            raise ValueError(f"dialect must be 'auto', '3.x', '2.x' or '1.x', got {dialect!r}")
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
    def for_config(cls, radar_config: RadarConfig, **kwargs: Any) -> UartPacketParser:
        """A parser pinned to the radar's dialect and board (and its range/Doppler bins)."""
        chirp = radar_config.chirp
        opts: dict[str, Any] = {
            "dialect": radar_config.dialect,
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
        pending packet whose subframe has a confirmed layout was already checked against it).

        What is left after that can never complete: a packet cut off by the end of the stream is
        counted in ``packets_damaged`` (reason ``truncated``), and every byte left (that packet, or
        the start of a magic word) in ``bytes_skipped``; the parser then buffers nothing.
        """
        out = self.feed(b"", timestamp, final=True)
        if self._pending:
            out += self._resolve_pending(unverified_ok=True)
        buf = self._buf
        if buf:
            if buf.startswith(MAGIC):  # _drain leaves an incomplete packet at the buffer's start
                self._damage(f"truncated: the stream ended {len(buf)} B into a packet")
            self.stats.bytes_skipped += len(buf)
            buf.clear()
            self._scanned = 0
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
            version, length = HDR_PREFIX.unpack_from(buf, pos + 8)
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
        major = sdk_major(version)
        if self.dialect == "1.x":
            if major != 1:
                raise _Damaged(f"version: {version:#010x} is not SDK 1.x")
            hdr = HEADER_1X_BYTES
        elif self.dialect == "2.x":
            if major != 2:
                raise _Damaged(f"version: {version:#010x} is not SDK 2.x")
            hdr = HEADER_3X_BYTES
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
            version, _, platform, fn, cycles, nobj, ntlv, subframe = HDR_3X.unpack_from(pkt)
        else:
            version, _, platform, fn, cycles, nobj, ntlv = HDR_1X.unpack_from(pkt)
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
        q_points = hdr_len == HEADER_1X_BYTES or sdk_major(version) < 3
        known = Q_FORMAT_TLVS if q_points else KNOWN_TLVS  # SDK 1.x/2.x define types 1-6

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
            t, n = TLV_HEADER.unpack_from(pkt, off)
            off += TLV_HEADER_BYTES
            if n > length - off:
                raise _Damaged(f"tlv length: type {t} claims {n} B, {length - off} B left")
            if t not in known:
                if not self.allow_unknown_tlvs:
                    sdk = f" in SDK {sdk_major(version)}.x" if t in KNOWN_TLVS else ""
                    raise _Damaged(f"tlv type: unknown {t}{sdk}")
                unknown += 1
            elif t in tlvs:
                raise _Damaged(f"tlv type: {t} repeated")
            else:
                self._check_size(t, n, nobj, q_points)
                tlvs[t] = (off, n)
            if t in POINT_TLVS and t in known:
                point_types.append(t)
            else:  # an unknown TLV's size may vary: its type only
                fixed.append((t, n if t in known else -1))
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
            frame.stats = dict(
                zip(STATS_FIELDS, STATS_STRUCT.unpack_from(pkt, tlvs[6][0]), strict=True)
            )
        if 9 in tlvs:
            vals = TEMPERATURE_STRUCT.unpack_from(pkt, tlvs[9][0])
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
            if n != STATS_STRUCT.size:
                raise _Damaged(f"tlv size: stats {n} B")
        elif t == 9:
            if n != TEMPERATURE_STRUCT.size:
                raise _Damaged(f"tlv size: temperature {n} B")
        elif t == 1020 and n != UNITS.size + 8 * nobj:
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
        count, qfmt = QDESCR.unpack_from(pkt, o)
        if count != nobj:
            raise _Damaged(f"points descriptor: {count} objects, header says {nobj}")
        if qfmt > 15:
            raise _Damaged(f"points descriptor: Q format {qfmt}")
        rec = np.frombuffer(pkt, QPOINT_DTYPE, nobj, o + QDESCR.size)
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
        units = UNITS.unpack_from(pkt, o)
        if not all(math.isfinite(u) for u in units) or units[3] <= 0:
            raise _Damaged("compressed points: invalid units")
        el_u, az_u, dop_u, rng_u, snr_u = (np.float64(u) for u in units)
        rec = np.frombuffer(pkt, CPOINT_DTYPE, nobj, o + UNITS.size)
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
