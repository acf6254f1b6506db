"""DCA1000 / mmWave Studio byte layout: reference vector, round trips, partial frames, real UDP payloads."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from conftest import require_shared, vector_cfg

from firmware_cfg import AdcFormat, ChirpConfig, load_cfg
from runtime.sources.dca1000_layout import (
    count_clipped,
    decode_frames,
    decode_samples_2lane,
    encode_frames,
    read_bin,
)


def small_cfg(**changes: object) -> ChirpConfig:
    base = dict(num_samples=16, num_loops=4, chirp_tx_masks=(1, 4), tx_mask=0b101)
    base.update(changes)
    return vector_cfg(**base)


def random_frames(cfg: ChirpConfig, num_frames: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shape = (num_frames, *cfg.frame_shape)
    x = rng.integers(-32768, 32768, size=shape).astype(np.float32)
    if cfg.adc_format.is_complex:
        x = x + 1j * rng.integers(-32768, 32768, size=shape).astype(np.float32)
    return x.astype(np.complex64)


# ---------------------------------------------------------------------------- reference vector
@pytest.mark.realdata
def test_reference_vector_decodes_and_round_trips_byte_exact() -> None:
    path = require_shared("vectors", "dca1000_iwr1843.bin")
    buf = path.read_bytes()
    cfg = load_cfg(path.with_suffix(".cfg")).chirp
    assert cfg.frame_shape == (3, 4, 64, 256)
    assert len(buf) == 1_572_864 == 2 * cfg.bytes_per_frame
    x = decode_frames(buf, cfg)
    assert x.shape == (2, 3, 4, 64, 256)
    assert x.dtype == np.complex64
    assert encode_frames(x, cfg) == buf
    np.testing.assert_array_equal(read_bin(path, cfg), x)
    np.testing.assert_array_equal(read_bin(path, cfg, start=1, count=1), x[1:])


@pytest.mark.realdata
def test_reference_vector_first_words_follow_the_2lane_rule() -> None:
    buf = require_shared("vectors", "dca1000_iwr1843.bin").read_bytes()
    q0, q1, i0, i1 = struct.unpack("<4h", buf[:8])
    x = decode_frames(buf, vector_cfg())
    assert x[0, 0, 0, 0, 0] == complex(i0, q0)  # frame 0, TX0, RX0, loop 0, sample 0
    assert x[0, 0, 0, 0, 1] == complex(i1, q1)
    # chirp 1 of the file is loop 0, TX1; RX1 starts 256 samples (1024 bytes) into a chirp
    chirp1_rx1 = vector_cfg().bytes_per_chirp + 1024
    q0, _, i0, _ = struct.unpack("<4h", buf[chirp1_rx1 : chirp1_rx1 + 8])
    assert x[0, 1, 1, 0, 0] == complex(i0, q0)


# ---------------------------------------------------------------------------- round trips
@pytest.mark.parametrize(
    "cfg",
    [
        small_cfg(),
        small_cfg(iq_swap=False),
        small_cfg(rx_interleaved=True),
        small_cfg(adc_format=AdcFormat.REAL),
        small_cfg(rx_mask=0b0101),
        small_cfg(board="IWR1443BOOST"),
        small_cfg(board="IWR1443BOOST", adc_format=AdcFormat.REAL),
        small_cfg(board="IWR1443BOOST", rx_mask=0b0011),
    ],
    ids=[
        "2lane",
        "2lane-noswap",
        "2lane-interleaved",
        "2lane-real",
        "2lane-2rx",
        "4lane",
        "4lane-real",
        "4lane-2rx",
    ],
)
def test_round_trip(cfg: ChirpConfig) -> None:
    x = random_frames(cfg, 3)
    buf = encode_frames(x, cfg)
    assert len(buf) == 3 * cfg.bytes_per_frame
    y = decode_frames(buf, cfg)
    np.testing.assert_array_equal(y, x)
    assert encode_frames(y, cfg) == buf
    if not cfg.adc_format.is_complex:
        assert not np.any(y.imag)


def test_2lane_sample_swap_exchanges_i_and_q() -> None:
    words = np.array([1, 2, 3, 4], dtype="<i2").tobytes()
    np.testing.assert_array_equal(decode_samples_2lane(words, iq_swap=True), [3 + 1j, 4 + 2j])
    np.testing.assert_array_equal(decode_samples_2lane(words, iq_swap=False), [1 + 3j, 2 + 4j])


def test_4lane_layout_is_i_block_then_q_block_per_sample_time() -> None:
    cfg = small_cfg(board="IWR1443BOOST", num_loops=1, chirp_tx_masks=(1,), tx_mask=1)
    x = np.zeros((1, *cfg.frame_shape), dtype=np.complex64)
    x[0, 0, :, 0, 0] = [1 + 11j, 2 + 12j, 3 + 13j, 4 + 14j]  # sample 0 of RX0..3
    x[0, 0, :, 0, 1] = [5 + 15j, 6 + 16j, 7 + 17j, 8 + 18j]  # sample 1
    words = np.frombuffer(encode_frames(x, cfg), dtype="<i2")
    np.testing.assert_array_equal(
        words[:16], [1, 2, 3, 4, 11, 12, 13, 14, 5, 6, 7, 8, 15, 16, 17, 18]
    )


def test_2lane_rx_blocks_within_a_chirp_in_transmit_order() -> None:
    cfg = small_cfg(num_samples=2, num_loops=2)  # 2 TX slots (TX0, TX2) x 4 RX
    x = np.zeros((1, *cfg.frame_shape), dtype=np.complex64)
    x[0, 1, 2, 1, 0] = 7 + 9j  # TX slot 1, RX2, loop 1, sample 0
    words = np.frombuffer(encode_frames(x, cfg), dtype="<i2")
    chirp = (1 * cfg.num_tx + 1) * cfg.num_rx * 4  # words before loop 1, slot 1
    start = chirp + 2 * 4  # RX2 block (2 samples = 4 words per RX)
    np.testing.assert_array_equal(words[start : start + 4], [9, 0, 7, 0])
    assert np.count_nonzero(words) == 2


def test_encode_rounds_clips_and_counts() -> None:
    cfg = small_cfg()
    x = np.zeros((1, *cfg.frame_shape), dtype=np.complex64)
    x[0, 0, 0, 0, :3] = [1.4 - 2.6j, 40000 + 0j, -40000 - 50000j]
    assert count_clipped(x) == 3
    with pytest.warns(RuntimeWarning, match="3 sample components"):
        buf = encode_frames(x, cfg)
    y = decode_frames(buf, cfg)
    np.testing.assert_array_equal(y[0, 0, 0, 0, :3], [1 - 3j, 32767 + 0j, -32768 - 32768j])
    with pytest.raises(ValueError, match="clipped"):
        encode_frames(x, cfg, on_clip="raise")
    # a single frame without the frame axis is accepted
    assert len(encode_frames(x[0], cfg, on_clip="ignore")) == cfg.bytes_per_frame


# ---------------------------------------------------------------------------- partial frames
def test_partial_frame_error_says_what_is_left(tmp_path) -> None:
    cfg = small_cfg()
    buf = encode_frames(random_frames(cfg, 2), cfg) + b"\x00" * 10
    with pytest.raises(ValueError, match=r"2 whole frames and 10 bytes left over"):
        decode_frames(buf, cfg)
    path = tmp_path / "cut.bin"
    path.write_bytes(buf)
    with pytest.raises(ValueError, match="10 bytes left over"):
        read_bin(path, cfg)
    with pytest.warns(RuntimeWarning, match="partial frame"):
        assert read_bin(path, cfg, partial="warn").shape[0] == 2
    assert read_bin(path, cfg, partial="ignore").shape[0] == 2


# ---------------------------------------------------------------------------- real UDP traffic
def udp_payloads(pcap: bytes, dst_port: int) -> list[bytes]:
    """UDP payloads to ``dst_port`` of a classic little-endian Ethernet/IPv4 pcap."""
    assert struct.unpack_from("<I", pcap)[0] == 0xA1B2C3D4, "not a little-endian microsecond pcap"
    payloads, pos = [], 24
    while pos + 16 <= len(pcap):
        incl_len = struct.unpack_from("<I", pcap, pos + 8)[0]
        packet = pcap[pos + 16 : pos + 16 + incl_len]
        pos += 16 + incl_len
        ihl = (packet[14] & 0x0F) * 4
        udp = packet[14 + ihl :]
        if struct.unpack_from(">H", udp, 2)[0] == dst_port:
            payloads.append(udp[8:])
    return payloads


@pytest.mark.realdata
def test_real_dca1000_udp_payloads_decode_to_known_samples() -> None:
    pcap = require_shared("realdata", "dca1000-pcap", "test_one_frame.pcap").read_bytes()
    packets = udp_payloads(pcap, 4098)
    assert len(packets) == 12
    data, sent = b"", 0
    for k, pkt in enumerate(packets, start=1):
        seq = struct.unpack_from("<I", pkt)[0]
        byte_count = int.from_bytes(pkt[4:10], "little")
        assert (seq, byte_count) == (k, sent)
        data += pkt[10:]
        sent += len(pkt) - 10
    assert len(data) == 16_384
    samples = decode_samples_2lane(data, iq_swap=True)
    assert samples.shape == (4096,)
    assert samples[4065] == 223 + 120j
    assert samples[3293] == -90 - 615j
