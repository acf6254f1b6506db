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


def process_adc(frame: np.ndarray, rc: RadarConfig) -> FrameResult:
    """The runtime DSP chain on one raw frame ``[tx, rx, loop, sample]`` with the ``.cfg``'s demo settings."""
    return process_frame(frame, make_plan(rc))


def point_cloud_from_adc(frame: np.ndarray, rc: RadarConfig) -> np.ndarray:
    """Detected points of one raw frame: :data:`runtime.frames.POINT_DTYPE` ``[n]``, strongest first."""
    return process_adc(frame, rc).points


def _range_profile_q9(result: FrameResult) -> np.ndarray:
    """TI's range profile TLV: zero-Doppler log2 magnitude in Q9, ``[num_range_bins]`` uint16.

    The demo sums log2 magnitudes over antennas; here the chain's detection map at zero Doppler
    (10 log10 of the mean power) is converted to log2 of the magnitude: ``dB / (20 log10 2)``.
    """
    zero = result.detection_db.shape[0] // 2
    log2_mag = result.detection_db[zero] / (20.0 * np.log10(2.0))
    return np.clip(np.round(log2_mag * 512.0), 0, 65535).astype(np.uint16)


def uart_packet_from_adc(frame: np.ndarray, frame_number: int, rc: RadarConfig) -> bytes:
    """One out-of-box demo data-port packet for a raw frame (points, side info, range profile per guiMonitor).

    Args:
        frame: raw ADC ``[tx, rx, loop, sample]``.
        frame_number: header frame counter (the demo starts at 1).
        rc: the parsed ``.cfg`` (dialect, board platform, guiMonitor settings).
    """
    result = process_adc(frame, rc)
    cfg, demo = rc.chirp, rc.demo
    points = result.points if demo.send_points else result.points[:0]
    return encode_packet(
        frame_number,
        points,
        platform=cfg.board_spec.platform_id,
        dialect=rc.dialect,
        side_info=demo.send_side_info,
        range_profile=_range_profile_q9(result) if demo.send_range_profile else None,
        doppler_bin_mps=cfg.velocity_bin_mps,
        range_bin_m=cfg.range_bin_m,
    )


def dca1000_bytes(frame: np.ndarray, cfg: ChirpConfig) -> bytes:
    """The bytes a DCA1000 would record for one frame ``[tx, rx, loop, sample]`` or several ``[f, ...]``."""
    return encode_frames(frame, cfg)
