"""TI mmWave out-of-box demo UART data-port packets: the wire layout (header, TLVs) and the decoded frame.

Pure ``struct`` + numpy. The layouts follow the mmWave SDK demo sources (``mmw_output.h``, the
demo's ``MmwDemo_transmitProcessedOutput``) and the SDK user guide section "Output through the
UART"; the compressed point cloud (1020) follows the mmWave industrial toolbox's
``MmwDemo_output_message_compressedPoint``. Everything is little-endian.

Dialects
--------
Three wire dialects, named like the ``.cfg`` dialects of :mod:`firmware_cfg.parser` and picked by the
header's SDK major version (``version >> 24``):

* **SDK 3.x** (xWR14xx/16xx/18xx/68xx, SDK 3.x demos): 40-byte header, TLV 1 = float32 points,
  TLV 7 side info (SNR/noise), TLVs 8 and 9, and the toolbox's 1020.
* **SDK 2.x** (the xWR16xx demo of SDK 2.x, e.g. xWR1642BOOST; platform ``0xA1642``): the 40-byte
  header (with ``subFrameNumber``), but TLV 1 is the Q-format list of SDK 1.x (a ``{numDetetedObj,
  xyzQFormat}`` descriptor, then 12 B per point with a *signed* Doppler index, range index and CFAR
  peak value) and only TLV types 1-6 exist (no side info, no temperature). Read from the SDK 2.x
  xWR16xx demo: ``mmw_output.h`` (header, ``MmwDemo_output_message_dataObjDescr``, TLV types up to
  ``MMWDEMO_OUTPUT_MSG_STATS``), ``detected_obj.h`` (``MmwDemo_detectedObj``: ``uint16 rangeIdx,
  int16 dopplerIdx, uint16 peakVal, int16 x, y, z``; the Doppler index made signed by
  ``DOPPLER_IDX_TO_SIGNED``), ``dss_main.c`` ``MmwDemo_dssSendProcessOutputToMSS`` (TLV order 1-6,
  no TLV 1 when nothing was detected, frame number = frame-start interrupt count, 1 first) and
  ``mss_main.c`` (header, then each TLV, then padding bytes of value 0x0F up to a multiple of 32).
  ``xyzQFormat = ceil(log2(16 / range resolution [m]))`` (``dss_main.c`` data path config: 9 for
  4.9 cm bins, so coordinates reach +-64 m). TLV 2 and 3 and ``peakVal`` are sums over the virtual
  antennas of log2 magnitudes in Q8 (the demo's detection matrix), where SDK 1.x has their mean in Q9.
* **SDK 1.x** (xWR14xx, SDK 1.x demo): a 36-byte header without ``subFrameNumber``, Q-format TLV 1,
  types 1-6.

:func:`log2_lsb_per_db` gives the LSB of the log2-magnitude values per dB for each Q dialect.

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
                      N x {uint16 rangeIdx, int16 dopplerIdx (signed: v = idx x
                           Doppler bin), uint16 peakVal, int16 x, y, z
                           (metres x 2^xyzQFormat)}                          4 + 12 N B
    2    range profile, R x uint16 (log2 magnitude at zero Doppler: SDK 1.x
         mean over antennas in Q9, SDK 2.x xWR16xx sum in Q8)                  2 R B
    3    noise profile, R x uint16 (as TLV 2, at the highest Doppler bin)      2 R B
    4    zero-Doppler azimuth radar cube, R x virtual(az) x {int16 imag, int16 real}
    5    range-Doppler heat map, R x Doppler x uint16 (range-major)
    6    stats: 6 x uint32 (inter-frame processing time [us], transmit output time [us],
         inter-frame margin [us], inter-chirp margin [us], active-frame CPU load [%],
         inter-frame CPU load [%])                                             24 B
    7    side info, N x {int16 snr, int16 noise} [0.1 dB]                       4 N B (SDK 3.x)
    (7, 8, 9 and 1020 exist only in SDK 3.x; SDK 1.x and 2.x send types 1-6.)
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

import math
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
VERSION_SDK2 = 0x02010004  # mmWave SDK 2.1.0.4
VERSION_SDK1 = 0x01020005  # mmWave SDK 1.2.0.5
DIALECTS = ("3.x", "2.x", "1.x")
SDK2_PAD_BYTE = 0x0F  # the SDK 2.x xWR16xx MSS fills the padding with 0x0F (mss_main.c)
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
Q_FORMAT_TLVS = frozenset(range(1, 7))  # the types SDK 1.x and 2.x define
POINT_TLVS = frozenset((1, 7, 1020))  # their sizes follow the point count


def sdk_major(version: int) -> int:
    """The SDK major version of a header version word (3 for 0x03050004)."""
    return (version >> 24) & 0xFF


def sdk_q_format(range_bin_m: float) -> int:
    """The demo's ``xyzQFormat`` for a range bin width [m]: ``ceil(log2(16 / bin))`` clipped to
    0..15 (9 for 4.9 cm bins, so int16 coordinates reach +-64 m)."""
    if not range_bin_m > 0:
        raise ValueError(f"range bin must be > 0 m, got {range_bin_m}")
    return max(0, min(15, math.ceil(math.log2(16.0 / range_bin_m))))


def log2_lsb_per_db(dialect: str, num_virtual: int) -> float:
    """LSBs per dB of the Q dialects' log2-magnitude values (range/noise profile, ``peakVal``).

    SDK 1.x (xWR14xx): mean over antennas of log2 |X| in Q9, so ``512 / (20 log10 2)`` per dB.
    SDK 2.x (xWR16xx): sum over the ``num_virtual`` virtual antennas of log2 |X| in Q8, so
    ``256 num_virtual / (20 log10 2)`` per dB (a level ``L`` dB on every antenna).
    """
    per_log2 = {"1.x": 512.0, "2.x": 256.0 * num_virtual}.get(dialect)
    if per_log2 is None:
        raise ValueError(
            f"log2-magnitude values are a Q-format dialect's (1.x, 2.x), not {dialect!r}"
        )
    return per_log2 / (20.0 * math.log10(2.0))


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
