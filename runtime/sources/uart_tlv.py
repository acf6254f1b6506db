"""TI mmWave out-of-box demo UART data-port packets: the wire layout (header, TLVs) and the decoded frame.

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

The parser is :mod:`runtime.sources.uart_parser` (with the damage policy), the encoder
:mod:`runtime.sources.uart_encoder`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

from runtime.frames import PointCloudFrame

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

HDR_PREFIX = struct.Struct("<II")  # version, total length (offset 8)
HDR_3X = struct.Struct("<8x8I")
HDR_1X = struct.Struct("<8x7I")
TLV_HEADER = struct.Struct("<II")
STATS_STRUCT = struct.Struct("<6I")
TEMPERATURE_STRUCT = struct.Struct("<iI10h")
QDESCR = struct.Struct("<HH")
UNITS = struct.Struct("<5f")
QPOINT_DTYPE = np.dtype(
    [
        ("range_idx", "<u2"),
        ("doppler_idx", "<i2"),
        ("peak_val", "<u2"),
        ("x", "<i2"),
        ("y", "<i2"),
        ("z", "<i2"),
    ]
)
CPOINT_DTYPE = np.dtype(
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


KNOWN_TLVS = frozenset(int(t) for t in TlvType)
POINT_TLVS = frozenset((1, 7, 1020))  # their sizes follow the point count


def sdk_major(version: int) -> int:
    """The SDK major version of a header version word (3 for 0x03050004)."""
    return (version >> 24) & 0xFF


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
