"""DCA1000 data path: frame assembly (fed datagrams), and fake DCA1000 -> DCA1000Source on loopback.

The loss tests compare the receiver's counters with what the fake really sent (its FaultReport) and
check every delivered frame both ways: its bytes equal the sent frame with exactly the never-sent
ranges zeroed, and ``zero_filled_bytes`` equals the size of those ranges (so an unflagged frame is
bit-identical and a flagged frame really lost something).
"""

from __future__ import annotations

import struct
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest
from conftest import radar_config_of

from firmware_cfg import ChirpConfig, load_cfg
from runtime.fakes.dca1000 import FakeDCA1000, Faults
from runtime.sources.dca1000 import DCA1000Source
from runtime.sources.dca1000_assembler import AssembledFrame, FrameAssembler
from runtime.sources.dca1000_control import DCA1000Control
from runtime.sources.dca1000_layout import decode_frames, encode_frames
from sim.radar.point_targets import PointTarget, synthesize_frame

PAYLOAD = 1456


def packetise(stream: bytes, payload: int = PAYLOAD, first_seq: int = 1) -> list[bytes]:
    """The FPGA's packets for a byte stream (independent of the fake's code)."""
    out = []
    for i, off in enumerate(range(0, len(stream), payload)):
        seq = first_seq + i
        out.append(
            struct.pack("<IIH", seq, off & 0xFFFFFFFF, off >> 32) + stream[off : off + payload]
        )
    return out


def random_stream(nbytes: int, seed: int = 0) -> bytes:
    return np.random.default_rng(seed).integers(1, 256, nbytes, dtype=np.uint8).tobytes()


def drain(asm: FrameAssembler) -> list[AssembledFrame]:
    out = []
    while (f := asm.pop()) is not None:
        out.append(f)
    return out


# ---------------------------------------------------------------------------- assembler (no sockets)
@pytest.mark.parametrize("frame_bytes", [1, 999, 1456, 1457, 2912, 4000, 25_600, 100_003])
def test_any_frame_size_reassembles_exactly(frame_bytes: int) -> None:
    frames = 7
    stream = random_stream(frames * frame_bytes, seed=frame_bytes)
    asm = FrameAssembler(frame_bytes, max_open_frames=64)
    for d in packetise(stream):
        asm.feed(d)
    asm.flush()
    got = drain(asm)
    assert [f.index for f in got] == list(range(frames))
    assert all(f.zero_filled_bytes == 0 for f in got)
    assert b"".join(bytes(f.data) for f in got) == stream
    assert asm.stats.frames == frames and asm.stats.frames_flagged == 0


def test_frames_are_delivered_as_soon_as_complete() -> None:
    F = 4000  # packets straddle every frame boundary
    stream = random_stream(3 * F)
    asm = FrameAssembler(F)
    delivered_after = []
    for i, d in enumerate(packetise(stream)):
        asm.feed(d)
        delivered_after += [i] * len(drain(asm))
    # frame k is complete with the packet holding its last byte
    assert delivered_after == [(F * (k + 1) - 1) // PAYLOAD for k in range(3)]


def test_lost_packet_straddling_two_frames_flags_both() -> None:
    F = 2000
    stream = random_stream(4 * F)
    packets = packetise(stream)
    asm = FrameAssembler(F)
    for i, d in enumerate(packets):
        if i != 1:  # bytes 1456..2911: 544 B of frame 0, 912 B of frame 1
            asm.feed(d)
    asm.flush()
    got = drain(asm)
    assert [f.flags for f in got] == [
        {"zero_filled_bytes": 544},
        {"zero_filled_bytes": 912},
        {},
        {},
    ]
    expect = bytearray(stream)
    expect[1456:2912] = bytes(1456)
    assert b"".join(bytes(f.data) for f in got) == bytes(expect)
    st = asm.stats
    assert (st.packets_lost, st.frames, st.frames_flagged) == (1, 4, 2)


def test_reordered_packets_are_put_in_place_and_duplicates_dropped() -> None:
    F = 5000
    stream = random_stream(3 * F)
    p = packetise(stream)
    order = [0, 2, 1, 3, 3, 5, 4, 0, 6, 9, 7, 8, 10]
    assert sorted(set(order)) == list(range(len(p)))
    asm = FrameAssembler(F)
    for i in order:
        asm.feed(p[i])
    asm.flush()
    got = drain(asm)
    assert b"".join(bytes(f.data) for f in got) == stream
    st = asm.stats
    assert (st.packets_reordered, st.packets_duplicate, st.packets_lost) == (4, 2, 0)  # 1, 4, 7, 8
    assert st.frames_flagged == 0


def test_truncated_datagram_is_damaged_zero_filled_and_flagged() -> None:
    F = 3000
    stream = random_stream(2 * F)
    p = packetise(stream)
    asm = FrameAssembler(F)
    for i, d in enumerate(p):
        asm.feed(d[: 10 + 1000] if i == 1 else d)  # packet 2 loses 456 payload bytes
    asm.flush()
    got = drain(asm)
    st = asm.stats
    assert st.packets_damaged == 1 and st.packets_lost == 0
    assert [f.flags for f in got] == [{"zero_filled_bytes": 456}, {}]
    expect = bytearray(stream)
    expect[1456 + 1000 : 2912] = bytes(456)
    assert b"".join(bytes(f.data) for f in got) == bytes(expect)


def test_runts_and_oversize_datagrams_are_damaged_not_fatal() -> None:
    asm = FrameAssembler(1456)
    asm.feed(b"\x01\x00")  # shorter than the header
    asm.feed(struct.pack("<IIH", 1, 0, 0) + bytes(2000))  # more than 1456 bytes of payload
    asm.feed(struct.pack("<IIH", 0, 0, 0) + bytes(100))  # sequence numbers start at 1
    assert asm.stats.packets_damaged == 3 and asm.stats.packets == 0
    for d in packetise(random_stream(1456)):
        asm.feed(d)
    assert drain(asm)[0].zero_filled_bytes == 0


def test_late_packet_after_delivery_is_dropped_not_misplaced() -> None:
    F = 1456 * 2
    stream = random_stream(10 * F)
    p = packetise(stream)
    asm = FrameAssembler(F, reorder_window_packets=2)
    for d in p[:1] + p[2:]:
        asm.feed(d)
    late = drain(asm)
    asm.feed(p[1])  # frame 0 was given up on long ago
    assert asm.late_packets == 1 and asm.stats.packets_lost == 0
    assert late[0].flags == {"zero_filled_bytes": 1456}
    assert all(f.zero_filled_bytes == 0 for f in late[1:])


def test_burst_loss_of_whole_frames_counts_frames_lost() -> None:
    F = 3000
    stream = random_stream(40 * F)
    p = packetise(stream)
    asm = FrameAssembler(F, max_open_frames=3)
    gone = range(5, 50)  # ~ 66 kB: frames 3..23 lose everything, 2 and 24 lose a part
    for i, d in enumerate(p):
        if i not in gone:
            asm.feed(d)
    asm.flush()
    got = drain(asm)
    lost_lo, lost_hi = 5 * PAYLOAD, 50 * PAYLOAD
    whole_lost = [k for k in range(40) if k * F >= lost_lo and (k + 1) * F <= lost_hi]
    assert asm.stats.frames_lost == len(whole_lost)
    assert [f.index for f in got] == [k for k in range(40) if k not in whole_lost]
    assert asm.stats.packets_lost == len(gone)


def test_restart_of_the_sequence_starts_a_new_stream() -> None:
    F = 1456
    asm = FrameAssembler(F, history_packets=16)
    for d in packetise(random_stream(40 * F)):
        asm.feed(d)
    second = random_stream(3 * F, seed=9)
    for d in packetise(second):  # a new RECORD_START: seq 1, byte count 0 again
        asm.feed(d)
    got = drain(asm)
    assert [f.index for f in got] == list(range(43))
    assert bytes(got[-1].data) == second[-F:]
    assert asm.restarts == 1


# ---------------------------------------------------------------------------- loopback end to end
def small_cfg() -> ChirpConfig:
    """2 TX x 4 RX x 16 loops x 50 samples: 25,600 B per frame (17.6 packets)."""
    return load_cfg("iwr1843boost_raw_activity").chirp.model_copy(
        update=dict(num_samples=50, num_loops=16, chirp_tx_masks=(1, 4), tx_mask=0b101)
    )


class Rig:
    """Fake DCA1000 + DCA1000Source on loopback, with a watchdog that closes the source."""

    def __init__(self, cfg: ChirpConfig, fake: FakeDCA1000, **source_kw: object) -> None:
        self.fake = fake
        fake.data_dest = lambda: self.src.data_address
        fake.start()
        self.ctl = DCA1000Control(
            fpga_ip="127.0.0.1",
            fpga_port=fake.config_port,
            host_ip="127.0.0.1",
            host_port=0,
            timeout_s=0.5,
        )
        self.src = DCA1000Source(
            radar_config_of(cfg), host_ip="127.0.0.1", data_port=0, control=self.ctl, **source_kw
        )

    def collect(self, n: int, raw: bool = True, timeout: float = 20.0) -> list:
        timer = threading.Timer(timeout, self.src.close)
        timer.start()
        out: list = []
        try:
            with self.src:
                frames: Iterator = self.src.raw_frames() if raw else self.src.frames()
                for f in frames:
                    out.append(bytes(f.data) if raw else f)
                    if raw:
                        out[-1] = (f.index, out[-1], f.zero_filled_bytes)
                    if len(out) == n:
                        break
        finally:
            timer.cancel()
            self.fake.stop()
        return out


def test_round_trip_sim_frames_through_the_fake_are_identical() -> None:
    cfg = load_cfg("iwr1843boost_raw_activity").chirp
    rng = np.random.default_rng(1)
    targets = [
        PointTarget(2.0, 1.0, 10.0, amplitude=3000.0),
        PointTarget(4.5, -0.5, -30.0, amplitude=800.0),
    ]
    sim = np.stack(
        [synthesize_frame(cfg, targets, frame_index=k, noise_std=20.0, rng=rng) for k in range(3)]
    )
    wire = [encode_frames(sim[k], cfg) for k in range(3)]
    rig = Rig(cfg, FakeDCA1000(wire, frame_period_s=cfg.frame_period_s))
    got = rig.collect(3, raw=False)
    assert [f.frame_number for f in got] == [0, 1, 2]
    for k, f in enumerate(got):
        assert f.flags == {} and f.data.dtype == np.complex64 and f.data.shape == cfg.frame_shape
        np.testing.assert_array_equal(f.data, decode_frames(wire[k], cfg)[0])
        assert np.abs(f.data - sim[k]).max() <= 0.5 * np.sqrt(2) + 1e-3  # int16 quantisation only
    st = rig.src.stats
    assert (st.frames, st.frames_flagged, st.packets_lost, st.packets_duplicate) == (3, 0, 0, 0)
    assert st.packets == rig.fake.report.packets == -(-3 * cfg.bytes_per_frame // PAYLOAD)
    assert rig.src.rcvbuf_granted > 0


def run_with_faults(
    faults: Faults, num_frames: int = 300, **source_kw: object
) -> tuple[Rig, list, list[bytes]]:
    cfg = small_cfg()
    F = cfg.bytes_per_frame
    sent = [random_stream(F, seed=1000 + k) for k in range(num_frames)]
    rig = Rig(cfg, FakeDCA1000(sent, rate_bps=100e6, faults=faults), idle_flush_s=0.3, **source_kw)
    got = rig.collect(num_frames)
    return rig, got, sent


def check_frames_both_ways(rig: Rig, got: list, sent: list[bytes]) -> None:
    F = len(sent[0])
    rep = rig.fake.report
    flagged = 0
    for index, data, zero_filled in got:
        missing = rep.missing_in(index * F, (index + 1) * F)
        expect = bytearray(sent[index])
        for a, b in missing:
            expect[a - index * F : b - index * F] = bytes(b - a)
        assert data == bytes(expect), f"frame {index}: bytes differ from what was sent"
        assert zero_filled == sum(b - a for a, b in missing), f"frame {index}: wrong flag"
        flagged += bool(missing)
    assert rig.src.stats.frames_flagged == flagged


@pytest.mark.parametrize("seed", [1, 2])
def test_loss_reorder_duplicates_counters_are_exact(seed: int) -> None:
    faults = Faults(loss=0.01, reorder=0.02, reorder_window=4, duplicate=0.01, seed=seed)
    rig, got, sent = run_with_faults(faults)
    rep, st = rig.fake.report, rig.src.stats
    assert len(rep.dropped) > 20 and rep.reordered > 40 and rep.duplicated > 20  # faults happened
    assert [g[0] for g in got] == list(range(len(sent)))  # every frame delivered, in order
    assert st.packets_lost == rep.lost_detectable()
    assert st.packets_duplicate == rep.duplicated
    assert st.packets_reordered == rep.reordered
    assert st.packets == rep.packets - len(rep.dropped)
    assert st.packets_damaged == 0 and st.frames_lost == 0
    assert st.frames == len(sent)
    check_frames_both_ways(rig, got, sent)
    assert 0 < st.frames_flagged < len(sent)


def test_truncated_datagrams_are_damaged_zero_filled_and_flagged() -> None:
    rig, got, sent = run_with_faults(Faults(truncate=0.01, loss=0.005, seed=7), num_frames=200)
    rep, st = rig.fake.report, rig.src.stats
    assert len(rep.truncated) > 10
    assert st.packets_damaged == rep.truncated_detectable() > 0
    assert st.packets_lost == rep.lost_detectable()
    check_frames_both_ways(rig, got, sent)


def test_close_from_another_thread_ends_frames() -> None:
    cfg = small_cfg()
    src = DCA1000Source(
        radar_config_of(cfg), host_ip="127.0.0.1", data_port=0, configure=False, poll_s=0.02
    )
    src.open()
    threading.Timer(0.2, src.close).start()
    t0 = time.monotonic()
    assert list(src.frames()) == []
    assert time.monotonic() - t0 < 2.0
