"""Real DCA1000EVM traffic (../shared/realdata/dca1000-pcap): command replies and data reassembly.

The pcap files are read with plain ``struct``: global header 24 B, then per record a 16-byte header
(ts_sec, ts_usec, incl_len, orig_len) and the frame: Ethernet 14 B + IPv4 20 B (no options here) +
UDP 8 B. The UDP length field trims the Ethernet padding of short frames (8-byte replies arrive
padded to 18 bytes).
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from conftest import require_shared

from runtime.sources.dca1000_assembler import FrameAssembler
from runtime.sources.dca1000_layout import decode_samples_2lane
from runtime.sources.dca1000_wire import AsyncStatus, Command, FpgaVersion, decode_reply

pytestmark = pytest.mark.realdata

FRAME_BYTES = 16_384  # the one capture in test_one_frame.pcap: 4,096 complex int16 samples


@dataclass(frozen=True)
class Udp:
    src: str
    sport: int
    dst: str
    dport: int
    payload: bytes


def read_pcap_udp(path: Path) -> list[Udp]:
    """UDP datagrams of a little-endian, microsecond, Ethernet pcap file."""
    blob = path.read_bytes()
    magic, _, _, _, _, _, linktype = struct.unpack_from("<IHHiIII", blob, 0)
    assert magic == 0xA1B2C3D4 and linktype == 1, (hex(magic), linktype)
    out, off = [], 24
    while off + 16 <= len(blob):
        _, _, incl, _ = struct.unpack_from("<IIII", blob, off)
        frame = blob[off + 16 : off + 16 + incl]
        off += 16 + incl
        (ethertype,) = struct.unpack_from(">H", frame, 12)
        ip = frame[14:]
        ihl = (ip[0] & 0x0F) * 4
        if ethertype != 0x0800 or ip[9] != 17:  # IPv4 / UDP only
            continue
        sport, dport, ulen = struct.unpack_from(">HHH", ip, ihl)
        payload = ip[ihl + 8 : ihl + ulen]
        src, dst = ".".join(map(str, ip[12:16])), ".".join(map(str, ip[16:20]))
        out.append(Udp(src, sport, dst, dport, bytes(payload)))
    return out


def pcap(name: str) -> list[Udp]:
    return read_pcap_udp(require_shared("realdata", "dca1000-pcap", name))


def test_cmd_pcap_replies_decode_to_commands_and_statuses() -> None:
    replies = [decode_reply(u.payload) for u in pcap("test_cmd.pcap") if u.dport == 4096]
    assert [r.cmd for r in replies] == [
        Command.RESET_FPGA,
        Command.RESET_AR_DEV,
        Command.RECORD_START,
        Command.RECORD_STOP,
        Command.CONFIG_PACKET_DATA,
        Command.CONFIG_FPGA_GEN,
        Command.CONFIG_EEPROM,
        Command.SYSTEM_CONNECT,
        Command.SYSTEM_ASYNC_STATUS,
        Command.READ_FPGA_VERSION,
    ]
    assert all(r.status == 0 for r in replies[:-1])
    version = replies[-1]
    assert version.status == 0x0402
    # bits 0-6 major, bits 7-13 minor: 0x0402 = 2 | 8 << 7 -> v2.8, record (not playback) bitfile
    assert FpgaVersion.from_status(version.status) == FpgaVersion(2, 8, playback=False)
    assert str(version) == "READ_FPGA_VERSION status 0x0402 (version 2.8)"


def test_one_frame_pcap_replies_then_data_then_record_completed() -> None:
    packets = pcap("test_one_frame.pcap")
    assert {(u.src, u.sport) for u in packets} == {
        ("192.168.33.180", 1024)
    }  # FPGA answers from 1024
    control = [decode_reply(u.payload) for u in packets if u.dport == 4096]
    assert [(r.cmd, r.status) for r in control[:-1]] == [
        (Command.SYSTEM_CONNECT, 0),
        (Command.RESET_FPGA, 0),
        (Command.CONFIG_FPGA_GEN, 0),
        (Command.CONFIG_PACKET_DATA, 0),
        (Command.RECORD_START, 0),
    ]
    last = control[-1]
    assert last.is_async and AsyncStatus(last.status) == AsyncStatus.RECORD_COMPLETED
    assert packets[-1].dport == 4096  # the async status comes after the data


def data_packets() -> list[bytes]:
    return [u.payload for u in pcap("test_one_frame.pcap") if u.dport == 4098]


def check_known_samples(frame: bytes | bytearray) -> None:
    samples = decode_samples_2lane(frame, iq_swap=True)
    assert samples.shape == (4096,)
    assert samples[4065] == 223 + 120j
    assert samples[3293] == -90 - 615j


def test_data_packets_headers() -> None:
    datagrams = data_packets()
    assert len(datagrams) == 12
    heads = [struct.unpack_from("<IIH", d) for d in datagrams]
    assert [seq for seq, _, _ in heads] == list(range(1, 13))
    assert [lo | hi << 32 for _, lo, hi in heads] == [1456 * i for i in range(12)]
    assert [len(d) - 10 for d in datagrams] == [1456] * 11 + [368]


def test_data_packets_reassemble_to_the_known_samples() -> None:
    asm = FrameAssembler(FRAME_BYTES)
    for d in data_packets():
        asm.feed(d)
    frame = asm.pop()  # complete after the 12th packet: delivered without a flush
    assert frame is not None and asm.pop() is None
    assert frame.index == 0 and frame.zero_filled_bytes == 0 and frame.flags == {}
    assert bytes(frame.data) == b"".join(d[10:] for d in data_packets())
    check_known_samples(frame.data)
    st = asm.stats
    assert (st.packets, st.packets_lost, st.packets_duplicate, st.packets_reordered) == (
        12,
        0,
        0,
        0,
    )
    assert (st.frames, st.frames_flagged, st.frames_lost, st.packets_damaged) == (1, 0, 0, 0)
    assert st.bytes_received == 11 * 1466 + 378


def test_data_packets_shuffled_and_duplicated_reassemble_identically() -> None:
    datagrams = data_packets()
    order = list(range(12))
    random.Random(3).shuffle(order)
    asm = FrameAssembler(FRAME_BYTES, reorder_window_packets=16)
    for i in [*order[:5], order[0], order[4], *order[5:]]:
        asm.feed(memoryview(datagrams[i]))
    frame = asm.pop()
    assert frame is not None and frame.zero_filled_bytes == 0
    check_known_samples(frame.data)
    assert asm.stats.packets_duplicate == 2
    expected_reordered = sum(1 for j, i in enumerate(order) if i < max(order[: j + 1]))
    assert asm.stats.packets_reordered == expected_reordered > 0


def test_data_packets_lost_packet_is_zero_filled_and_flagged() -> None:
    datagrams = data_packets()
    asm = FrameAssembler(FRAME_BYTES)
    for i, d in enumerate(datagrams):
        if i != 6:
            asm.feed(d)
    assert asm.pop() is None  # incomplete, and the stream has not moved past it
    asm.flush()
    frame = asm.pop()
    assert frame is not None and frame.flags == {"zero_filled_bytes": 1456}
    assert bytes(frame.data[6 * 1456 : 7 * 1456]) == bytes(1456)
    check_known_samples(frame.data)  # 4065 and 3293 live outside packet 7
    assert asm.stats.packets_lost == 1 and asm.stats.frames_flagged == 1


@pytest.mark.parametrize("frame_bytes", [4096, 5000, 1456, 16_384 * 2])
def test_data_packets_cut_into_any_frame_size(frame_bytes: int) -> None:
    stream = b"".join(d[10:] for d in data_packets())
    asm = FrameAssembler(frame_bytes)
    for d in data_packets():
        asm.feed(d)
    asm.flush()
    frames = list(asm.ready)
    whole, part = divmod(len(stream), frame_bytes)
    assert len(frames) == whole + (1 if part else 0)
    for f in frames:
        sl = stream[f.index * frame_bytes : (f.index + 1) * frame_bytes]
        assert bytes(f.data[: len(sl)]) == sl
        assert f.zero_filled_bytes == frame_bytes - len(sl)
    joined = np.frombuffer(b"".join(bytes(f.data) for f in frames)[: len(stream)], np.uint8)
    check_known_samples(joined.tobytes())
