"""Encoder of the out-of-box demo's UART data-port packets (layout and dialects:
:mod:`runtime.sources.uart_tlv`): what the simulator and the fake radar send, byte for byte what the
demo would, in each SDK dialect (3.x float points; 2.x and 1.x Q-format points).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from runtime.sources.uart_tlv import (
    CPOINT_DTYPE,
    DIALECTS,
    HDR_1X,
    HDR_3X,
    HEADER_1X_BYTES,
    HEADER_3X_BYTES,
    MAGIC,
    QDESCR,
    QPOINT_DTYPE,
    SDK2_PAD_BYTE,
    SEGMENT_BYTES,
    STATS_FIELDS,
    STATS_STRUCT,
    TEMPERATURE_FIELDS,
    TEMPERATURE_STRUCT,
    TLV_HEADER,
    UNITS,
    VERSION_SDK1,
    VERSION_SDK2,
    VERSION_SDK3,
    sdk_q_format,
)

_DEFAULT_VERSION = {"3.x": VERSION_SDK3, "2.x": VERSION_SDK2, "1.x": VERSION_SDK1}


def _tlv(t: int, payload: bytes) -> bytes:
    return TLV_HEADER.pack(t, len(payload)) + payload


def _complex_payload(arr: np.ndarray) -> bytes:
    a = np.asarray(arr).reshape(-1)
    iq = np.empty((len(a), 2), dtype="<i2")
    iq[:, 0] = np.clip(np.round(a.imag), -32768, 32767)
    iq[:, 1] = np.clip(np.round(a.real), -32768, 32767)
    return iq.tobytes()


def _u16_payload(arr: np.ndarray) -> bytes:
    return np.clip(np.asarray(arr).reshape(-1), 0, 65535).astype("<u2").tobytes()


def _fields(values: Sequence[int] | Mapping[str, int] | None, names: tuple[str, ...]) -> list[int]:
    if values is None:
        return [0] * len(names)
    if isinstance(values, Mapping):
        return [int(values.get(k, 0)) for k in names]
    vals = [int(v) for v in values]
    if len(vals) != len(names):
        raise ValueError(f"expected {len(names)} values ({', '.join(names)}), got {len(vals)}")
    return vals


def _db_to_tenths(db: np.ndarray) -> np.ndarray:
    tenths = np.where(np.isfinite(db), np.round(np.asarray(db, np.float64) * 10.0), 0.0)
    return np.clip(tenths, -32768, 32767).astype("<i2")


def encode_packet(
    frame_number: int,
    points: np.ndarray,
    *,
    platform: int,
    version: int | None = None,
    dialect: str = "3.x",
    subframe: int = 0,
    cpu_cycles: int = 0,
    side_info: bool = True,
    range_profile: np.ndarray | None = None,
    noise_profile: np.ndarray | None = None,
    azimuth_heatmap: np.ndarray | None = None,
    range_doppler_heatmap: np.ndarray | None = None,
    azimuth_elevation_heatmap: np.ndarray | None = None,
    stats: Sequence[int] | Mapping[str, int] | None = None,
    temperature: Sequence[int] | Mapping[str, int] | None = None,
    compressed_units: tuple[float, float, float, float, float] | None = None,
    q_format: int | None = None,
    doppler_bin_mps: float | None = None,
    range_bin_m: float | None = None,
    peak_lsb_per_db: float | None = None,
) -> bytes:
    """One data-port packet exactly as the out-of-box demo sends it (layout: module docstring).

    TLV order follows the demos: SDK 3.x points (1 or 1020), side info (7), range profile (2),
    noise profile (3), azimuth heat map (4), range-Doppler heat map (5), azimuth/elevation heat map
    (8), stats (6), temperature (9); SDK 1.x and 2.x: 1, 2, 3, 4, 5, 6. A frame without points
    carries no points TLV. Padding bytes are zeros, 0x0F for SDK 2.x (its MSS fills them so; the
    other firmwares' are undefined).

    Args:
        frame_number: header frame counter.
        points: structured array with x, y, z [m], v [m/s] and optionally snr, noise [dB]
            (:data:`runtime.frames.POINT_DTYPE`).
        platform: header platform, e.g. ``ChirpConfig.board_spec.platform_id``.
        version: header version word (default per dialect: SDK 3.5.0.4, 2.1.0.4 or 1.2.0.5).
        dialect: ``"3.x"`` (40-byte header, float points), ``"2.x"`` (40-byte header, Q-format
            points, types 1-6) or ``"1.x"`` (36-byte header, Q-format points, types 1-6).
        subframe: subframe number (3.x and 2.x).
        cpu_cycles: header time [CPU cycles].
        side_info: send TLV 7 with snr/noise in 0.1 dB (3.x only, ``guiMonitor`` detectedObjects =
            1; the Q dialects have no side info and ignore it).
        range_profile, noise_profile: uint16 ``[num_range_bins]`` (log2 magnitude, the dialect's Q).
        azimuth_heatmap, azimuth_elevation_heatmap: complex ``[num_range_bins, num_virtual]``
            (sent as int16 imag, real); the latter 3.x only.
        range_doppler_heatmap: uint16 ``[num_range_bins, num_doppler_bins]``.
        stats: six values (:data:`STATS_FIELDS`), sequence or mapping.
        temperature: twelve values (:data:`TEMPERATURE_FIELDS`), sequence or mapping (3.x only).
        compressed_units: (elevation [rad], azimuth [rad], Doppler [m/s], range [m], snr [linear])
            per LSB: send the toolbox's compressed point cloud (1020) instead of TLV 1 (3.x only).
        q_format: Q dialects' coordinates are ``round(m * 2**q_format)``; None: the demo's
            ``ceil(log2(16 / range_bin_m))`` when ``range_bin_m`` is given, else the largest
            q <= 15 that fits the points.
        doppler_bin_mps: Q dialects' Doppler bin width [m/s] for the signed
            ``dopplerIdx = round(v / bin)`` (0 when None).
        range_bin_m: Q dialects' range bin width [m] for ``rangeIdx = round(|xyz| / bin)`` (0 when
            None) and the default ``q_format``.
        peak_lsb_per_db: Q dialects' ``peakVal`` LSBs per dB
            (:func:`runtime.sources.uart_tlv.log2_lsb_per_db`): ``peakVal = round((snr + noise)
            x this)``, the CFAR cell's level; 0 when None or the point has no snr/noise.

    Raises:
        ValueError: an unknown dialect, or a TLV the dialect does not have (temperature,
            azimuth/elevation heat map, compressed points in 1.x/2.x); a wrong stats/temperature
            count.
    """
    if dialect not in DIALECTS:
        raise ValueError(f"dialect must be one of {', '.join(DIALECTS)}, got {dialect!r}")
    q_points = dialect != "3.x"  # SDK 1.x and 2.x: Q-format TLV 1, types 1-6 only
    if q_points:
        extra = [
            name
            for name, value in (
                ("temperature", temperature),
                ("azimuth_elevation_heatmap", azimuth_elevation_heatmap),
                ("compressed_units", compressed_units),
            )
            if value is not None
        ]
        if extra:
            raise ValueError(f"SDK {dialect} packets have no {', '.join(extra)} (SDK 3.x TLVs)")
    if version is None:
        version = _DEFAULT_VERSION[dialect]
    pts = np.asarray(points)
    nobj = len(pts)
    names = pts.dtype.names or ()
    tlvs: list[bytes] = []

    if nobj:
        if q_points:
            payload = _encode_q_points(pts, q_format, doppler_bin_mps, range_bin_m, peak_lsb_per_db)
            tlvs.append(_tlv(1, payload))
        elif compressed_units is not None:
            tlvs.append(_tlv(1020, _encode_compressed(pts, compressed_units)))
        else:
            xyzv = np.empty((nobj, 4), dtype="<f4")
            for k, name in enumerate(("x", "y", "z", "v")):
                xyzv[:, k] = pts[name]
            tlvs.append(_tlv(1, xyzv.tobytes()))
            if side_info:
                si = np.zeros((nobj, 2), dtype="<i2")
                if "snr" in names:
                    si[:, 0] = _db_to_tenths(pts["snr"])
                if "noise" in names:
                    si[:, 1] = _db_to_tenths(pts["noise"])
                tlvs.append(_tlv(7, si.tobytes()))
    if range_profile is not None:
        tlvs.append(_tlv(2, _u16_payload(range_profile)))
    if noise_profile is not None:
        tlvs.append(_tlv(3, _u16_payload(noise_profile)))
    if azimuth_heatmap is not None:
        tlvs.append(_tlv(4, _complex_payload(azimuth_heatmap)))
    if range_doppler_heatmap is not None:
        tlvs.append(_tlv(5, _u16_payload(range_doppler_heatmap)))
    if azimuth_elevation_heatmap is not None:
        tlvs.append(_tlv(8, _complex_payload(azimuth_elevation_heatmap)))
    if stats is not None:
        tlvs.append(
            _tlv(6, STATS_STRUCT.pack(*[v & 0xFFFFFFFF for v in _fields(stats, STATS_FIELDS)]))
        )
    if temperature is not None:
        tlvs.append(_tlv(9, TEMPERATURE_STRUCT.pack(*_fields(temperature, TEMPERATURE_FIELDS))))

    body = b"".join(tlvs)
    sdk1 = dialect == "1.x"
    hdr_len = HEADER_1X_BYTES if sdk1 else HEADER_3X_BYTES
    total = hdr_len + len(body)
    total += (-total) % SEGMENT_BYTES
    head = (
        version & 0xFFFFFFFF,
        total,
        platform & 0xFFFFFFFF,
        frame_number & 0xFFFFFFFF,
        cpu_cycles & 0xFFFFFFFF,
        nobj,
        len(tlvs),
    )
    header = MAGIC + (HDR_1X.pack(*head)[8:] if sdk1 else HDR_3X.pack(*head, subframe)[8:])
    pad = bytes([SDK2_PAD_BYTE if dialect == "2.x" else 0]) * (total - hdr_len - len(body))
    return header + body + pad


def _encode_q_points(
    pts: np.ndarray,
    q_format: int | None,
    doppler_bin_mps: float | None,
    range_bin_m: float | None,
    peak_lsb_per_db: float | None,
) -> bytes:
    """TLV 1 of SDK 1.x/2.x: the ``{numDetetedObj, xyzQFormat}`` descriptor, then the records."""
    n = len(pts)
    xyz = np.stack([np.asarray(pts[k], np.float64) for k in ("x", "y", "z")], axis=1)
    if q_format is None and range_bin_m:
        q_format = sdk_q_format(range_bin_m)
    elif q_format is None:
        peak = float(np.max(np.abs(xyz))) if n else 0.0
        q_format = 15
        while q_format > 0 and peak * (1 << q_format) > 32767:
            q_format -= 1
    if not 0 <= q_format <= 15:
        raise ValueError(f"q_format must be 0..15, got {q_format}")
    rec = np.zeros(n, dtype=QPOINT_DTYPE)
    scaled = np.clip(np.round(xyz * (1 << q_format)), -32768, 32767).astype(np.int16)
    rec["x"], rec["y"], rec["z"] = scaled[:, 0], scaled[:, 1], scaled[:, 2]
    if doppler_bin_mps:
        v = np.asarray(pts["v"], np.float64)
        rec["doppler_idx"] = np.clip(np.round(np.nan_to_num(v) / doppler_bin_mps), -32768, 32767)
    if range_bin_m:
        r = np.linalg.norm(xyz, axis=1)
        rec["range_idx"] = np.clip(np.round(r / range_bin_m), 0, 65535)
    names = pts.dtype.names or ()
    if peak_lsb_per_db and "snr" in names and "noise" in names:
        level_db = np.asarray(pts["snr"], np.float64) + np.asarray(pts["noise"], np.float64)
        level_db = np.nan_to_num(level_db, nan=0.0, posinf=0.0, neginf=0.0)
        rec["peak_val"] = np.clip(np.round(level_db * peak_lsb_per_db), 0, 65535)
    return QDESCR.pack(n, q_format) + rec.tobytes()


def _encode_compressed(pts: np.ndarray, units: tuple[float, float, float, float, float]) -> bytes:
    el_u, az_u, dop_u, rng_u, snr_u = (float(u) for u in units)
    x, y, z = (np.asarray(pts[k], np.float64) for k in ("x", "y", "z"))
    r = np.sqrt(x * x + y * y + z * z)
    el = np.arcsin(np.divide(z, r, out=np.zeros_like(r), where=r > 0))
    az = np.arctan2(x, y)
    rec = np.zeros(len(pts), dtype=CPOINT_DTYPE)
    rec["range"] = np.clip(np.round(r / rng_u), 0, 65535)
    rec["elevation"] = np.clip(np.round(el / el_u), -128, 127)
    rec["azimuth"] = np.clip(np.round(az / az_u), -128, 127)
    rec["doppler"] = np.clip(
        np.round(np.nan_to_num(np.asarray(pts["v"], np.float64)) / dop_u), -32768, 32767
    )
    names = pts.dtype.names or ()
    if "snr" in names:
        snr_db = np.nan_to_num(np.asarray(pts["snr"], np.float64), nan=0.0)
        rec["snr"] = np.clip(np.round(10.0 ** (snr_db / 10.0) / snr_u), 0, 65535)
    return UNITS.pack(el_u, az_u, dop_u, rng_u, snr_u) + rec.tobytes()
