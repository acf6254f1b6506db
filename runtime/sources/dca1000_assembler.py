"""DCA1000EVM data packets -> whole frames (no sockets: fed datagrams), with loss, reordering,
duplicates and damage counted (:class:`FrameAssembler`). The packet header is described in
:mod:`runtime.sources.dca1000_wire`; the receiver assumes the stream starts at a frame boundary (start
recording before ``sensorStart``, as TI's tools do).
"""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass

from runtime.sources.base import SourceStats
from runtime.sources.dca1000_wire import DATA_HEAD, DATA_HEADER_BYTES, MAX_PAYLOAD_BYTES


# ---------------------------------------------------------------------------- frame assembly
@dataclass(slots=True)
class AssembledFrame:
    """One frame of the raw byte stream.

    Attributes:
        index: frame number since the first RECORD_START seen by the assembler (0-based).
        data: ``frame_bytes`` bytes in the capture layout; missing bytes are zero.
        zero_filled_bytes: bytes that never arrived (0 = intact).
        timestamp: when the frame was completed or given up on [s since the epoch].
    """

    index: int
    data: bytearray
    zero_filled_bytes: int
    timestamp: float

    @property
    def flags(self) -> dict[str, int]:
        return {"zero_filled_bytes": self.zero_filled_bytes} if self.zero_filled_bytes else {}


class _Slot:
    __slots__ = ("buf", "filled", "index", "mv")

    def __init__(self, index: int, buf: bytearray) -> None:
        self.index = index
        self.buf = buf
        self.mv = memoryview(buf)
        self.filled = 0


class FrameAssembler:
    """Datagrams of the DCA1000 data port -> whole frames, for any frame size (no sockets).

    Feed every datagram (header included) to :meth:`feed`; finished frames queue in :attr:`ready`
    (:meth:`pop`). The byte count of each packet is the ground truth of where its payload goes in the
    stream; frame ``k`` is stream bytes ``[k * frame_bytes, (k + 1) * frame_bytes)``.

    - **Reordering**: a frame stays open until it is complete or the stream has moved
      ``reorder_window_packets * 1456`` bytes past its end, so a late packet is put in place; at most
      ``max_open_frames`` frames are open at once.
    - **Loss**: a frame given up on is delivered with its holes zero-filled and
      ``zero_filled_bytes`` set; a frame of which nothing arrived is counted in ``frames_lost`` and
      not delivered. ``packets_lost`` = highest sequence number seen - distinct packets received
      (exact once the stream has ended; packets lost after the last received one cannot be known).
    - **Duplicates**: a sequence number seen among the last ``history_packets`` is dropped and counted.
    - **Damage**: a datagram shorter than its 10-byte header, with a payload over 1456 bytes or
      sequence number 0 is dropped; a truncated datagram (its payload ends before the next packet's
      byte count) is counted when its successor arrives; its missing bytes are zero-filled like a loss.
      A payload overlapping its predecessor's is dropped as damaged.
    - **Late**: a packet for a frame already delivered is dropped (:attr:`late_packets`, bytes in
      ``bytes_skipped``); its frame was delivered flagged.
    - **Restart**: ``seq == 1, byte count == 0`` far beyond the history starts a new stream (and
      :meth:`reset` does so explicitly, e.g. on RECORD_START); frame numbers keep counting up.

    Hot path: a packet that continues the stream in order inside the frame being filled costs one
    header unpack, three list stores and one memoryview copy into the frame buffer (~2-3 us per
    packet in CPython); everything else (straddling, gaps, reordering) takes the general path. Frame
    buffers are allocated per frame unless handed back with :meth:`recycle`.

    Args:
        frame_bytes: bytes per frame (``cfg.bytes_per_frame``).
        reorder_window_packets: how far past a frame's end [packets of 1456 B] to wait for stragglers.
        max_open_frames: frames assembled at once (>= 2).
        history_packets: sequence numbers remembered for duplicate detection (power of two).
        stats: counters to update (a fresh :class:`SourceStats` by default).
    """

    def __init__(
        self,
        frame_bytes: int,
        *,
        reorder_window_packets: int = 64,
        max_open_frames: int = 4,
        history_packets: int = 8192,
        stats: SourceStats | None = None,
    ) -> None:
        if frame_bytes <= 0:
            raise ValueError(f"frame_bytes must be positive, got {frame_bytes}")
        if max_open_frames < 2:
            raise ValueError("max_open_frames must be at least 2")
        if history_packets & (history_packets - 1):
            raise ValueError(f"history_packets must be a power of two, got {history_packets}")
        self.frame_bytes = frame_bytes
        self.window_bytes = reorder_window_packets * MAX_PAYLOAD_BYTES
        self.max_open_frames = max_open_frames
        self.stats = stats if stats is not None else SourceStats()
        self.ready: collections.deque[AssembledFrame] = collections.deque()
        self.late_packets = 0
        self.restarts = 0
        self._hsize = history_packets
        self._hmask = history_packets - 1
        self._zero = bytes(frame_bytes)
        self._pool: list[bytearray] = []
        self._frame_offset = 0
        self._lost_before = 0
        self._init_stream()

    def _init_stream(self) -> None:
        self._hseq = [0] * self._hsize  # sequence number stored in each history slot
        self._hstart = [0] * self._hsize  # its first stream byte
        self._hend = [0] * self._hsize  # one past its last stream byte
        self._max_seq = 0
        self._distinct = 0
        self._max_end = 0
        self._base = 0  # lowest frame index not yet delivered
        self._slots: collections.deque[_Slot] = collections.deque()
        self._deliver_at = self.frame_bytes + self.window_bytes  # give up on the base frame here
        self._cur: _Slot | None = None  # the frame the last payload went to (fast path)
        self._cur_lo = 0  # its first stream byte

    # -- public
    def reset(self) -> None:
        """Start a new stream (sequence numbers from 1 again): deliver what is open, keep counters."""
        self.flush()
        self._frame_offset += self._base
        self._lost_before = self.stats.packets_lost
        self._init_stream()

    def flush(self) -> None:
        """Deliver every open frame now (end of stream, idle link)."""
        while self._slots:
            self._deliver(self._slots.popleft())

    def pop(self) -> AssembledFrame | None:
        return self.ready.popleft() if self.ready else None

    def recycle(self, buf: bytearray) -> None:
        """Hand a delivered frame's buffer back for reuse (optional; saves an allocation per frame)."""
        if len(buf) == self.frame_bytes and len(self._pool) < self.max_open_frames + 2:
            self._pool.append(buf)

    @property
    def open_frames(self) -> int:
        return len(self._slots)

    def feed(self, datagram: bytes | bytearray | memoryview, nbytes: int | None = None) -> None:
        """Take one datagram (the first ``nbytes`` bytes of ``datagram`` when given)."""
        n = len(datagram) if nbytes is None else nbytes
        st = self.stats
        st.bytes_received += n
        if n < DATA_HEADER_BYTES:
            st.packets_damaged += 1
            st.bytes_skipped += n
            return
        seq, lo, hi = DATA_HEAD.unpack_from(datagram)
        plen = n - DATA_HEADER_BYTES
        start = lo | (hi << 32)
        end = start + plen
        # fast path: the next packet in order, contiguous, inside the frame being filled
        slot = self._cur
        if (
            slot is not None
            and seq == self._max_seq + 1
            and start == self._max_end
            and 0 < plen <= MAX_PAYLOAD_BYTES
        ):
            off = start - self._cur_lo
            if 0 <= off and off + plen <= self.frame_bytes:
                h = seq & self._hmask
                self._hseq[h] = seq
                self._hstart[h] = start
                self._hend[h] = end
                self._distinct += 1
                self._max_seq = seq
                self._max_end = end
                st.packets += 1
                slot.mv[off : off + plen] = datagram[DATA_HEADER_BYTES:n]
                slot.filled += plen
                if slot.filled >= self.frame_bytes or end >= self._deliver_at:
                    self._advance()
                return
        if plen > MAX_PAYLOAD_BYTES or seq == 0:
            st.packets_damaged += 1
            st.bytes_skipped += n
            return
        if seq + self._hsize <= self._max_seq:  # older than the history
            if seq == 1 and start == 0:  # the FPGA started a new recording
                self.reset()
                self.restarts += 1
            else:  # cannot tell a duplicate from a straggler: drop
                self.late_packets += 1
                st.bytes_skipped += plen
                return
        mask = self._hmask
        hseq = self._hseq
        h = seq & mask
        if hseq[h] == seq:
            st.packets_duplicate += 1
            st.bytes_skipped += plen
            return
        max_seq = self._max_seq
        hstart, hend = self._hstart, self._hend
        # a truncated datagram shows as a gap before its successor's byte count
        p = (seq - 1) & mask
        if hseq[p] == seq - 1:
            if hend[p] < start:
                st.packets_damaged += 1
            elif hend[p] > start:
                st.packets_damaged += 1  # overlaps its predecessor: a corrupt byte count
                st.bytes_skipped += plen
                hseq[h] = seq
                hstart[h] = hend[h] = start
                return
        s = (seq + 1) & mask
        if hseq[s] == seq + 1 and end < hstart[s]:
            st.packets_damaged += 1
        hseq[h] = seq
        hstart[h] = start
        hend[h] = end
        self._distinct += 1
        if seq > max_seq:
            self._max_seq = max_seq = seq
            reordered = False
        else:
            reordered = True
        st.packets += 1
        st.packets_lost = self._lost_before + max_seq - self._distinct
        if end > self._max_end:
            self._max_end = end
        if plen and self._place(datagram, start, plen) == 0:
            self.late_packets += 1  # its frame is gone: counted neither reordered nor lost
        elif reordered:
            st.packets_reordered += 1
        if self._max_end >= self._deliver_at:
            self._advance()

    # -- internals
    def _place(self, datagram: bytes | bytearray | memoryview, start: int, plen: int) -> int:
        """Copy the payload into its frame(s); returns the bytes placed (not late)."""
        F = self.frame_bytes
        src = memoryview(datagram)
        pos, src_off, remaining, placed = start, DATA_HEADER_BYTES, plen, 0
        while remaining:
            k, off = divmod(pos, F)
            take = min(remaining, F - off)
            i = k - self._base
            if i < 0:
                self.stats.bytes_skipped += take
            else:
                slots = self._slots
                slot = slots[i] if i < len(slots) else self._open_slot(k)
                slot.mv[off : off + take] = src[src_off : src_off + take]
                slot.filled += take
                self._cur, self._cur_lo = slot, k * F
                placed += take
                if slot.filled >= F and slot is slots[0]:
                    self._advance()
            pos += take
            src_off += take
            remaining -= take
        return placed

    def _open_slot(self, k: int) -> _Slot:
        slots = self._slots
        if k - self._base >= self.max_open_frames:
            # the stream ran ahead: give up on the oldest frames until k fits
            need_base = k - self.max_open_frames + 1
            while slots and slots[0].index < need_base:
                self._deliver(slots.popleft())
            if not slots and self._base < need_base:
                self.stats.frames_lost += need_base - self._base
                self._set_base(need_base)
        while self._base + len(slots) <= k:
            slots.append(self._new_slot(self._base + len(slots)))
        return slots[k - self._base]

    def _new_slot(self, index: int) -> _Slot:
        if self._pool:
            buf = self._pool.pop()
            buf[:] = self._zero
        else:
            buf = bytearray(self.frame_bytes)
        return _Slot(index, buf)

    def _set_base(self, base: int) -> None:
        self._base = base
        self._deliver_at = (base + 1) * self.frame_bytes + self.window_bytes

    def _advance(self) -> None:
        """Deliver base frames that are complete or that the stream has left behind."""
        slots, F = self._slots, self.frame_bytes
        while slots:
            slot = slots[0]
            if slot.filled >= F or self._max_end >= (slot.index + 1) * F + self.window_bytes:
                self._deliver(slots.popleft())
            else:
                break

    def _deliver(self, slot: _Slot) -> None:
        st = self.stats
        if slot is self._cur:
            self._cur = None
        self._set_base(slot.index + 1)
        if slot.filled == 0:
            st.frames_lost += 1
            self.recycle(slot.buf)
            return
        missing = max(self.frame_bytes - slot.filled, 0)
        st.frames += 1
        if missing:
            st.frames_flagged += 1
        self.ready.append(
            AssembledFrame(self._frame_offset + slot.index, slot.buf, missing, time.time())
        )
