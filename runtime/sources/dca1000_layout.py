"""DCA1000 / mmWave Studio raw ADC byte layout <-> raw ADC frames (pure numpy).

A capture (``adc_data.bin`` or the concatenated UDP payloads) is frames back to back; a frame is
``num_loops x num_tx`` chirps in transmit order (loop 0: slot 0, 1, ..., loop 1: ...); a chirp holds the
samples of every enabled RX. All words are little-endian int16. Frames come out as complex64
``[num_frames, num_tx, num_rx, num_loops, num_samples]`` (the raw ADC frame contract of DESIGN.md).

How samples sit in a chirp depends on the LVDS lane count of the board (``cfg.board_spec.lvds_lanes``):

- **2 lanes** (xWR16xx / xWR18xx / xWR68xx), complex: the flat sample stream comes in int16 groups of
  four, ``[Q0, Q1, I0, I1]`` when ``cfg.iq_swap`` (adcbufCfg SampleSwap = 1, Q in the low word), i.e.
  ``s0 = I0 + jQ0``, ``s1 = I1 + jQ1``; ``[I0, I1, Q0, Q1]`` when SampleSwap = 0.
  Non-interleaved (``cfg.rx_interleaved`` False, the SDK default): the stream of a chirp is RX0's samples,
  then RX1's, ...; interleaved: sample 0 of every RX, then sample 1, ...
- **4 lanes** (xWR12xx / xWR14xx), complex: one lane per enabled RX, always RX-interleaved; per sample
  time the words are ``[I(rx0) .. I(rxN-1), Q(rx0) .. Q(rxN-1)]`` (TI's ``readDCA1000.m``: reshape to
  ``2 * lanes`` rows, rows 1-4 real, rows 5-8 imaginary).
- **Real** ADC format: one int16 per sample, same sample order (2 lanes: the chirp's RX blocks or
  interleave as above; 4 lanes: ``[rx0 .. rxN-1]`` per sample time). Real frames decode to complex64
  with a zero imaginary part.

Complex 1x and 2x formats share the byte layout.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Literal

import numpy as np

from firmware_cfg.chirp import ChirpConfig

_INT16 = np.dtype("<i2")
_I16_MIN, _I16_MAX = -32768, 32767


def _as_int16(buf: bytes | bytearray | memoryview | np.ndarray) -> np.ndarray:
    """A flat little-endian int16 view of ``buf`` (no copy where possible)."""
    if isinstance(buf, np.ndarray):
        arr = np.ascontiguousarray(buf).reshape(-1)
        if arr.dtype == _INT16:
            return arr
        raw = arr.view(np.uint8)
    else:
        raw = np.frombuffer(buf, dtype=np.uint8)
    if raw.size % 2:
        raise ValueError(f"{raw.size} bytes is not a whole number of int16 words")
    return raw.view(_INT16)


# ---------------------------------------------------------------------------- flat samples
def decode_samples_2lane(
    buf: bytes | bytearray | memoryview | np.ndarray, iq_swap: bool = True
) -> np.ndarray:
    """A flat stream of complex int16 samples in the 2-lane xWR16xx/18xx/68xx order.

    Args:
        buf: bytes (or an int16/uint8 array) whose length is a multiple of 8 bytes (two samples).
        iq_swap: SampleSwap = 1 (groups ``[Q0, Q1, I0, I1]``); False: ``[I0, I1, Q0, Q1]``.

    Returns:
        complex64 ``[num_samples]``.
    """
    words = _as_int16(buf)
    if words.size % 4:
        raise ValueError(
            f"{words.size * 2} bytes is not a whole number of 8-byte sample pairs "
            f"({(words.size % 4) * 2} bytes left over)"
        )
    groups = words.reshape(-1, 4)
    i_cols, q_cols = ((2, 3), (0, 1)) if iq_swap else ((0, 1), (2, 3))
    out = np.empty(groups.shape[0] * 2, dtype=np.complex64)
    parts = out.view(np.float32).reshape(-1, 2, 2)  # [pair, sample in pair, re/im]
    parts[:, :, 0] = groups[:, i_cols]
    parts[:, :, 1] = groups[:, q_cols]
    return out


def encode_samples_2lane(samples: np.ndarray, iq_swap: bool = True) -> np.ndarray:
    """Inverse of :func:`decode_samples_2lane` for an even number of samples already in int16 range.

    Returns:
        int16 ``[2 * num_samples]`` in wire order.
    """
    pairs = np.asarray(samples).reshape(-1, 2)
    groups = np.empty((pairs.shape[0], 4), dtype=_INT16)
    i_cols, q_cols = ((2, 3), (0, 1)) if iq_swap else ((0, 1), (2, 3))
    groups[:, i_cols] = pairs.real
    groups[:, q_cols] = pairs.imag
    return groups.reshape(-1)


# ---------------------------------------------------------------------------- frames
def _chirp_axes(cfg: ChirpConfig) -> tuple[tuple[int, ...], tuple[int, int]]:
    """Shape of one chirp's samples in file order and the (rx, sample) axes in that shape."""
    rx_first = cfg.board_spec.lvds_lanes == 2 and not cfg.rx_interleaved
    if rx_first:
        return (cfg.num_rx, cfg.num_samples), (0, 1)
    return (cfg.num_samples, cfg.num_rx), (1, 0)


def _check_length(num_bytes: int, cfg: ChirpConfig) -> int:
    per_frame = cfg.bytes_per_frame
    frames, left = divmod(num_bytes, per_frame)
    if left:
        raise ValueError(
            f"{num_bytes} bytes is not a whole number of frames of {per_frame} bytes "
            f"({cfg.frame_shape} {cfg.adc_format.value}): {frames} whole frames and {left} bytes left over"
        )
    return frames


def decode_frames(buf: bytes | bytearray | memoryview | np.ndarray, cfg: ChirpConfig) -> np.ndarray:
    """Raw capture bytes -> frames.

    Args:
        buf: whole frames of a capture (bytes, or an int16/uint8 array such as a memory map).
        cfg: the chirp configuration the capture was taken with.

    Returns:
        complex64 ``[num_frames, num_tx, num_rx, num_loops, num_samples]``.

    Raises:
        ValueError: when ``buf`` is not a whole number of frames (the message says how many bytes are left).
    """
    words = _as_int16(buf)
    num_frames = _check_length(words.size * 2, cfg)
    chirp_shape, (rx_ax, s_ax) = _chirp_axes(cfg)
    if (
        cfg.adc_format.is_complex
        and cfg.board_spec.lvds_lanes == 2
        and not cfg.rx_interleaved
        and cfg.num_samples % 2 == 0
    ):
        return _decode_2lane_blocks(words, cfg, num_frames)
    if not cfg.adc_format.is_complex:
        samples = words.astype(np.complex64)
    elif cfg.board_spec.lvds_lanes == 4:
        # per sample time: [I rx0..rxN-1, Q rx0..rxN-1]
        iq = words.reshape(-1, 2, cfg.num_rx)  # [time, I/Q, rx]
        samples = np.empty(iq.shape[0] * cfg.num_rx, dtype=np.complex64)
        parts = samples.view(np.float32).reshape(-1, cfg.num_rx, 2)
        parts[:, :, 0] = iq[:, 0, :]
        parts[:, :, 1] = iq[:, 1, :]
    else:
        samples = decode_samples_2lane(words, iq_swap=cfg.iq_swap)
    # [frame, loop, tx, *chirp_shape] -> [frame, tx, rx, loop, sample]
    x = samples.reshape(num_frames, cfg.num_loops, cfg.num_tx, *chirp_shape)
    x = x.transpose(0, 2, 3 + rx_ax, 1, 3 + s_ax)
    return np.ascontiguousarray(x)


def _decode_2lane_blocks(words: np.ndarray, cfg: ChirpConfig, num_frames: int) -> np.ndarray:
    """Fast path of :func:`decode_frames` (2 lanes, complex, RX blocks): one strided pass per I and Q."""
    f, t, r, lp, s = num_frames, cfg.num_tx, cfg.num_rx, cfg.num_loops, cfg.num_samples
    # file order [frame, loop, tx, rx, sample pair, low/high word, sample in pair]
    w = words.reshape(f, lp, t, r, s // 2, 2, 2).transpose(0, 2, 3, 1, 4, 5, 6)
    i_word, q_word = (1, 0) if cfg.iq_swap else (0, 1)
    out = np.empty((f, t, r, lp, s), dtype=np.complex64)
    parts = out.view(np.float32).reshape(f, t, r, lp, s // 2, 2, 2)  # [..., sample in pair, re/im]
    parts[..., 0] = w[..., i_word, :]
    parts[..., 1] = w[..., q_word, :]
    return out


def encode_frames(
    frames: np.ndarray,
    cfg: ChirpConfig,
    *,
    on_clip: Literal["warn", "raise", "ignore"] = "warn",
) -> bytes:
    """Frames -> raw capture bytes (inverse of :func:`decode_frames`).

    Values are rounded to the nearest integer and clipped to int16; the number of clipped components
    (I and Q counted separately) is reported per ``on_clip`` (see :func:`count_clipped`).

    Args:
        frames: ``[num_frames, num_tx, num_rx, num_loops, num_samples]`` or one frame
            ``[num_tx, num_rx, num_loops, num_samples]``, any real or complex dtype. For the real ADC format
            only the real part is written.
        cfg: chirp configuration.
        on_clip: what to do when values exceed int16: warn (default), raise ``ValueError`` or ignore.

    Returns:
        ``num_frames * cfg.bytes_per_frame`` bytes.
    """
    x = np.asarray(frames)
    if x.shape == cfg.frame_shape:
        x = x[None]
    if x.ndim != 5 or x.shape[1:] != cfg.frame_shape:
        raise ValueError(
            f"frames of shape {x.shape} do not match the config's frame shape {cfg.frame_shape}"
        )
    clipped = count_clipped(x if cfg.adc_format.is_complex else x.real)
    if clipped and on_clip != "ignore":
        msg = f"{clipped} sample components outside int16 were clipped"
        if on_clip == "raise":
            raise ValueError(msg)
        warnings.warn(msg, RuntimeWarning, stacklevel=2)
    _, (rx_ax, s_ax) = _chirp_axes(cfg)
    # [frame, tx, rx, loop, sample] -> [frame, loop, tx, *chirp in file order]
    order = (0, 3, 1, 2, 4) if (rx_ax, s_ax) == (0, 1) else (0, 3, 1, 4, 2)
    x = x.transpose(order)
    if not cfg.adc_format.is_complex:
        words = _to_int16(x.real).reshape(-1)
    elif cfg.board_spec.lvds_lanes == 4:
        iq = np.stack([_to_int16(x.real), _to_int16(x.imag)], axis=-2)  # [..., time, I/Q, rx]
        words = iq.reshape(-1)
    else:
        c = x.reshape(-1)
        words = encode_samples_2lane(
            _to_int16(c.real) + 1j * _to_int16(c.imag), iq_swap=cfg.iq_swap
        )
    return words.astype(_INT16, copy=False).tobytes()


def _to_int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), _I16_MIN, _I16_MAX).astype(_INT16)


def count_clipped(frames: np.ndarray) -> int:
    """Number of real/imaginary components that int16 rounding would clip."""
    x = np.asarray(frames)
    parts = (x.real, x.imag) if np.iscomplexobj(x) else (x,)
    return int(
        sum(np.count_nonzero((np.rint(p) < _I16_MIN) | (np.rint(p) > _I16_MAX)) for p in parts)
    )


def read_bin(
    path: str | Path,
    cfg: ChirpConfig,
    *,
    partial: Literal["raise", "warn", "ignore"] = "raise",
    start: int = 0,
    count: int | None = None,
) -> np.ndarray:
    """Whole frames of a ``.bin`` capture (memory-mapped; only the frames asked for are decoded).

    Args:
        path: capture file.
        cfg: the chirp configuration it was taken with.
        partial: a trailing partial frame raises ``ValueError`` (default), warns, or is dropped silently.
        start: first frame to return.
        count: frames to return (default: all from ``start``).

    Returns:
        complex64 ``[num_frames, num_tx, num_rx, num_loops, num_samples]``.
    """
    path = Path(path)
    size = path.stat().st_size
    per_frame = cfg.bytes_per_frame
    total, left = divmod(size, per_frame)
    if left:
        msg = (
            f"{path}: {size} bytes is {total} whole frames of {per_frame} bytes "
            f"and {left} bytes left over (a partial frame)"
        )
        if partial == "raise":
            raise ValueError(msg)
        if partial == "warn":
            warnings.warn(msg + "; dropped", RuntimeWarning, stacklevel=2)
    stop = total if count is None else min(total, start + count)
    if not 0 <= start <= stop:
        raise ValueError(f"{path}: frames {start}..{stop} outside the capture's {total} frames")
    if stop == start:
        return np.empty((0, *cfg.frame_shape), dtype=np.complex64)
    mm = np.memmap(
        path,
        dtype=np.uint8,
        mode="r",
        offset=start * per_frame,
        shape=((stop - start) * per_frame,),
    )
    try:
        return decode_frames(mm, cfg)
    finally:
        del mm
