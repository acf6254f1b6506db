"""What the radar would send: point clouds and UART packets through the shared runtime DSP, DCA1000 bytes.

Nothing here re-implements signal processing: point clouds come from :func:`runtime.dsp.chain.process_frame`
with the ``.cfg``'s demo settings, packets from :func:`runtime.sources.uart_encoder.encode_packet`, raw
bytes from :func:`runtime.sources.dca1000_layout.encode_frames`, exactly as the daemon and the replay
source use them.
"""

from __future__ import annotations

import numpy as np

from firmware_cfg.chirp import ChirpConfig
from firmware_cfg.radar_config import RadarConfig
from runtime.dsp.chain import FrameResult, make_plan, process_frame
from runtime.sources.dca1000_layout import encode_frames
from runtime.sources.uart_encoder import encode_packet
from runtime.sources.uart_tlv import log2_lsb_per_db


def process_adc(frame: np.ndarray, rc: RadarConfig) -> FrameResult:
    """The runtime DSP chain on one raw frame ``[tx, rx, loop, sample]`` with the ``.cfg``'s demo settings."""
    return process_frame(frame, make_plan(rc))


def point_cloud_from_adc(frame: np.ndarray, rc: RadarConfig) -> np.ndarray:
    """Detected points of one raw frame: :data:`runtime.frames.POINT_DTYPE` ``[n]``, strongest first."""
    return process_adc(frame, rc).points


def _range_profile(result: FrameResult, rc: RadarConfig) -> np.ndarray:
    """TI's range profile TLV: the zero-Doppler log2 magnitude, ``[num_range_bins]`` uint16.

    The chain's detection map at zero Doppler (10 log10 of the mean power over antennas, i.e. the
    level ``L`` [dB] of each antenna's magnitude) is written as the demo writes it: the mean of
    log2 magnitudes in Q9 (SDK 1.x/3.x: ``L / (20 log10 2) x 512``) or, SDK 2.x xWR16xx, their sum
    over the virtual antennas in Q8 (:func:`runtime.sources.uart_tlv.log2_lsb_per_db`).
    """
    zero = result.detection_db.shape[0] // 2
    dialect = "2.x" if rc.dialect == "2.x" else "1.x"
    per_db = log2_lsb_per_db(dialect, rc.chirp.num_virtual)
    return np.clip(np.round(result.detection_db[zero] * per_db), 0, 65535).astype(np.uint16)


def uart_packet_from_adc(frame: np.ndarray, frame_number: int, rc: RadarConfig) -> bytes:
    """One out-of-box demo data-port packet for a raw frame, in the ``.cfg``'s SDK dialect.

    Points and range profile follow ``guiMonitor``; side info (SNR/noise, TLV 7) in SDK 3.x only.
    SDK 1.x/2.x (Q-format points) carry each point's range and signed Doppler bin indices, its
    coordinates in the demo's ``xyzQFormat`` and its CFAR cell level as ``peakVal``.

    Args:
        frame: raw ADC ``[tx, rx, loop, sample]``.
        frame_number: header frame counter (the demo starts at 1).
        rc: the parsed ``.cfg`` (dialect, board platform, guiMonitor settings).
    """
    result = process_adc(frame, rc)
    cfg, demo = rc.chirp, rc.demo
    points = result.points if demo.send_points else result.points[:0]
    q_points = rc.dialect in ("1.x", "2.x")
    return encode_packet(
        frame_number,
        points,
        platform=cfg.board_spec.platform_id,
        dialect=rc.dialect,
        side_info=demo.send_side_info,
        range_profile=_range_profile(result, rc) if demo.send_range_profile else None,
        doppler_bin_mps=cfg.velocity_bin_mps,
        range_bin_m=cfg.range_bin_m,
        peak_lsb_per_db=log2_lsb_per_db(rc.dialect, cfg.num_virtual) if q_points else None,
    )


def dca1000_bytes(frame: np.ndarray, cfg: ChirpConfig) -> bytes:
    """The bytes a DCA1000 would record for one frame ``[tx, rx, loop, sample]`` or several ``[f, ...]``."""
    return encode_frames(frame, cfg)
