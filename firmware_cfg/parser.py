"""Parse and validate TI mmWave SDK CLI ``.cfg`` files into a :class:`RadarConfig`.

Argument lists follow the mmWave SDK user guide CLI tables (SDK 2.x/3.x "Configuration (.cfg) File
Format"; the SDK 2.1 table is mirrored field by field in Chen-HR/Ti_MmWave_Demo_Driver
``Configuration.py``) and TI's example profiles (e.g. ``68xx_mmwave_sdk_hcc/hc_config_profile_2d.h``
in the mmWave industrial toolbox). Units on the command line: GHz, us, MHz/us, ksps, ms, dB.

Three dialects:

* ``"3.x"`` (SDK 2.x/3.x demos, xWR16xx/18xx/68xx and the SDK 3.x xWR14xx demo): per-subframe
  commands take the subframe index first (``-1`` = all), ``guiMonitor`` has 6 flags, ``cfarCfg`` has
  the threshold in dB and a peak-grouping flag.
* ``"2.x"`` (xWR16xx SDK 2.x demo, e.g. xWR1642BOOST): the subframe index as in 3.x, but ``cfarCfg``
  has no peak-grouping flag and takes a ``thresholdScale`` (:data:`SDK2_CFAR_SCALE_PER_VIRTUAL`),
  peak grouping is the ``peakGrouping`` command, ``nearFieldCfg`` exists and ``aoaFovCfg`` /
  ``cfarFovCfg`` do not.
* ``"1.x"`` (xWR14xx SDK 1.x demo): no subframe index, ``cfarCfg <mode> <noiseWin> <guardLen>
  <divShift> <cyclic> <thresholdScale>`` (range direction only) where the threshold is on the HWA's
  log2-magnitude scale in Q9: ``thresholdScale = round(T_dB * 512 / 6)``, so 1280 = 15 dB (TI's mmWave
  Demo Visualizer user guide via e2e thread 664615, "IWR1443BOOST: CFAR_THRESH"), and peak grouping is
  a separate ``peakGrouping`` command.

The dialect is read from the arity of the commands whose arity differs between the two; a file that
mixes them is an error. Without any such command it is the board's dialect, else "3.x".
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError

from firmware_cfg.boards import Board, get_board
from firmware_cfg.chirp import AdcFormat, ChirpConfig
from firmware_cfg.demo import CfarAveraging, CfarConfig, DemoConfig
from firmware_cfg.errors import CfgError, CfgErrors, CfgWarning
from firmware_cfg.radar_config import DEFAULT_BAUD, CfgCommand, RadarConfig

__all__ = ["load_cfg", "parse_cfg_text"]

_ANY = None  # marker: any arity
# Allowed argument counts per dialect ("both" when identical). Missing dialect key: the command does
# not exist in that dialect.
_ARITY: dict[str, dict[str, set[int] | None]] = {
    "sensorStop": {"both": {0}},
    "flushCfg": {"both": {0}},
    "sensorStart": {"both": {0, 1}},  # [doReconfig]
    "dfeDataOutputMode": {"both": {1}},  # 1 frame, 2 continuous, 3 advanced frame
    "channelCfg": {"both": {3}},  # rxChannelEn txChannelEn cascading
    "adcCfg": {"both": {2}},  # numADCBits (0:12,1:14,2:16) adcOutputFmt (0 real,1 cplx1x,2 cplx2x)
    # [subFrameIdx] adcOutputFmt (0 complex, 1 real) SampleSwap (1: Q in LSB) ChanInterleave
    # (0 interleaved, 1 non-interleaved) ChirpThreshold
    "adcbufCfg": {"3.x": {5}, "2.x": {5}, "1.x": {4}},
    # profileId startFreq[GHz] idleTime[us] adcStartTime[us] rampEndTime[us] txOutPower
    # txPhaseShifter freqSlopeConst[MHz/us] txStartTime[us] numAdcSamples digOutSampleRate[ksps]
    # hpfCornerFreq1 (0:175k 1:235k 2:350k 3:700k) hpfCornerFreq2 (0:350k 1:700k 2:1.4M 3:2.8M)
    # rxGain[dB] (OR'ed with the RF gain target in bits 6-7)
    "profileCfg": {"both": {14}},
    # chirpStartIdx chirpEndIdx profileId startFreqVar[Hz] freqSlopeVar[kHz/us] idleTimeVar[us]
    # adcStartTimeVar[us] txEnable (mask)
    "chirpCfg": {"both": {8}},
    # chirpStartIdx chirpEndIdx numLoops numFrames framePeriodicity[ms] triggerSelect
    # frameTriggerDelay[ms]
    "frameCfg": {"both": {7}},
    "advFrameCfg": {"both": {5}},
    "subFrameCfg": {"both": {10}},
    "lowPower": {"both": {2}},
    # [subFrameIdx] detectedObjects logMagRange noiseProfile rangeAzimuthHeatMap
    # rangeDopplerHeatMap statsInfo
    "guiMonitor": {"3.x": {7}, "2.x": {7}, "1.x": {6}},
    # 3.x: subFrameIdx procDirection averageMode winLen guardLen noiseDiv cyclicMode threshold[dB]
    #      peakGroupingEn; 2.x: the same without peakGroupingEn and with thresholdScale (see
    #      SDK2_CFAR_SCALE_PER_VIRTUAL); 1.x: averageMode winLen guardLen noiseDiv cyclicMode
    #      thresholdScale(Q9)
    "cfarCfg": {"3.x": {9}, "2.x": {8}, "1.x": {6}},
    # [subFrameIdx] scheme rangeDirEn dopplerDirEn startRangeIdx endRangeIdx
    "peakGrouping": {"3.x": {6}, "2.x": {6}, "1.x": {5}},
    "multiObjBeamForming": {"3.x": {3}, "2.x": {3}, "1.x": {2}},  # [sf] enabled threshold
    "clutterRemoval": {"3.x": {2}, "2.x": {2}, "1.x": {1}},  # [sf] enabled
    "calibDcRangeSig": {
        "3.x": {5},
        "2.x": {5},
        "1.x": {4},
    },  # [sf] enabled negBinIdx posBinIdx numAvg
    "extendedMaxVelocity": {"3.x": {2}, "2.x": {2}},  # sf enabled
    "aoaFovCfg": {"3.x": {5}},  # sf minAz maxAz minEl maxEl [deg]
    "cfarFovCfg": {"3.x": {4}},  # sf procDirection min max [m or m/s]
    "compRangeBiasAndRxChanPhase": {"both": _ANY},  # rangeBias[m] then (re im) per virtual antenna
    "measureRangeBiasAndRxChanPhase": {"both": {3}},  # enabled targetDistance[m] searchWin[m]
    "lvdsStreamCfg": {
        "3.x": {4},
        "2.x": {4},
    },  # sf enableHeader dataFmt (0 off,1 ADC,4 CP_ADC_CQ) enableSW
    "bpmCfg": {"3.x": {4}, "2.x": {4}},  # sf enabled chirp0Idx chirp1Idx
    "nearFieldCfg": {"2.x": {4}},  # sf enabled startRangeIdx endRangeIdx (SDK 2.x xWR16xx)
    "CQRxSatMonitor": {"both": {5}},  # profile satMonSel priSliceDuration numSlices rxChanMask
    "CQSigImgMonitor": {"both": {3}},  # profile numSlices numSamplePerSlice
    "analogMonitor": {"both": {2}},  # rxSaturation sigImgBand
    "calibData": {"both": {3}},  # save restore flashOffset
}
REQUIRED = ("channelCfg", "adcCfg", "profileCfg", "chirpCfg", "frameCfg")
_HPF1_HZ = (175e3, 235e3, 350e3, 700e3)
_HPF2_HZ = (350e3, 700e3, 1.4e6, 2.8e6)
_ADC_BITS = (12, 14, 16)
_ADC_FORMATS = (AdcFormat.REAL, AdcFormat.COMPLEX_1X, AdcFormat.COMPLEX_2X)
_MAX_CHIRP_INDEX = 511  # chirp RAM holds 512 chirps
_MAX_LOOPS = 255
_MAX_FRAMES = 65535
USABLE_IF_FRACTION = 0.8  # TI's SDK profile headers: "Max beat freq (80% of ADC sampling rate)"
_BOARD_COMMENT = re.compile(r"mmfm-board\s*:\s*(\S+)", re.IGNORECASE)
SDK1_CFAR_SCALE = 512.0 / 6.0  # 1.x thresholdScale per dB (Q9 log2 magnitude, 6 dB per log2 unit)
# 2.x (xWR16xx) thresholdScale per dB and per virtual antenna: the detection matrix sums log2
# magnitudes (Q8) over the virtual antennas, so thresholdScale = round(T_dB * 256 * numVirtual / 6).
# Inferred from TI mmWave Demo Visualizer-generated xWR1642 profiles (2 TX x 4 RX: "Range Detection
# Threshold (dB):9" with cfarCfg ... 3072, 15 dB with 5120); not read from the SDK 2.x source.
SDK2_CFAR_SCALE_PER_VIRTUAL = 256.0 / 6.0


class _Ctx:
    """Error/warning collector for one file."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.errors: list[CfgError] = []
        self.warnings: list[CfgWarning] = []

    def error(self, line: int, message: str) -> None:
        self.errors.append(CfgError(self.source, line, message))

    def warn(self, line: int, message: str) -> None:
        self.warnings.append(CfgWarning(self.source, line, message))


def _arity_for(name: str, dialect: str) -> set[int] | bool | None:
    """Allowed arities of ``name`` in ``dialect``; False when the command does not exist there."""
    spec = _ARITY[name]
    if "both" in spec:
        return spec["both"]
    return spec.get(dialect, False)


def _split_lines(text: str, ctx: _Ctx) -> tuple[list[CfgCommand], list[tuple[int, str]]]:
    commands: list[CfgCommand] = []
    comments: list[tuple[int, str]] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        body, _, comment = raw.partition("%")
        if "%" in raw:
            comments.append((lineno, "%" + comment))
        tokens = body.split()
        if not tokens:
            continue
        commands.append(CfgCommand(tokens[0], tuple(tokens[1:]), lineno, raw.rstrip("\r\n")))
    return commands, comments


_DIALECTS = ("3.x", "2.x", "1.x")


def _detect_dialect(commands: list[CfgCommand], ctx: _Ctx) -> set[str] | None:
    """The dialects every dialect-specific command's arity allows (None: no such command); a command
    that fits none of the earlier ones' dialects is a "dialect mix" error."""
    candidates = set(_DIALECTS)
    first: tuple[int, set[str], str] | None = None

    def shown(fits: set[str]) -> str:
        return "3.x" if "3.x" in fits else max(fits)

    for cmd in commands:
        spec = _ARITY.get(cmd.name)
        if spec is None or "both" in spec:
            continue
        n = len(cmd.args)
        fits = {d for d in _DIALECTS if (a := spec.get(d)) is not None and n in a}
        if not fits or fits == set(_DIALECTS):
            continue
        if first is None:
            first = (cmd.line, fits, cmd.name)
        if candidates & fits:
            candidates &= fits
        else:
            ctx.error(
                cmd.line,
                f"dialect mix: {cmd.name} here has SDK {shown(fits)} arity but {first[2]} on line "
                f"{first[0]} is SDK {shown(first[1])} (xWR14xx SDK 1.x has no subframe index; "
                "SDK 2.x cfarCfg has no peak-grouping flag)",
            )
    return None if first is None else candidates


def _check_arity_and_numbers(commands: list[CfgCommand], dialect: str, ctx: _Ctx) -> set[int]:
    """Report malformed lines; return the line numbers that are unusable."""
    bad: set[int] = set()
    for cmd in commands:
        if cmd.name not in _ARITY:
            continue
        allowed = _arity_for(cmd.name, dialect)
        n = len(cmd.args)
        if allowed is False:
            ctx.error(cmd.line, f"{cmd.name} does not exist in the SDK {dialect} dialect")
            bad.add(cmd.line)
            continue
        if cmd.name == "compRangeBiasAndRxChanPhase":
            if n < 3 or n % 2 == 0:
                ctx.error(
                    cmd.line,
                    f"{cmd.name} expects a range bias and (re, im) pairs, got {n} arguments",
                )
                bad.add(cmd.line)
        elif allowed is not None and n not in allowed:
            want = " or ".join(str(a) for a in sorted(allowed))
            ctx.error(cmd.line, f"{cmd.name} expects {want} arguments in SDK {dialect}, got {n}")
            bad.add(cmd.line)
            continue
        for i, tok in enumerate(cmd.args):
            try:
                value = float(tok)
            except ValueError:
                ctx.error(cmd.line, f"{cmd.name} argument {i + 1} is not a number: {tok!r}")
                bad.add(cmd.line)
                break
            if not math.isfinite(value):
                ctx.error(cmd.line, f"{cmd.name} argument {i + 1} is not finite: {tok!r}")
                bad.add(cmd.line)
                break
    return bad


def _int(cmd: CfgCommand, i: int, ctx: _Ctx) -> int:
    value = float(cmd.args[i])
    if value != int(value):
        ctx.error(cmd.line, f"{cmd.name} argument {i + 1} must be an integer, got {cmd.args[i]!r}")
    return int(value)


def _flt(cmd: CfgCommand, i: int) -> float:
    return float(cmd.args[i])


def _resolve_board(
    board: str | None,
    comments: list[tuple[int, str]],
    start_freq_hz: float | None,
    dialect: str,
    ctx: _Ctx,
) -> tuple[Board | None, bool]:
    if board is not None:
        try:
            return get_board(board), False
        except KeyError as exc:
            ctx.error(0, str(exc.args[0]))
            return None, False
    for line, text in comments:
        m = _BOARD_COMMENT.search(text)
        if m:
            try:
                return get_board(m.group(1)), False
            except KeyError as exc:
                ctx.error(line, str(exc.args[0]))
                return None, False
    if start_freq_hz is None:
        return None, True
    if 57e9 <= start_freq_hz < 65e9:
        return get_board("IWR6843ISK"), True
    if 76e9 <= start_freq_hz <= 81e9:
        guess = {"1.x": "IWR1443BOOST", "2.x": "IWR1642BOOST"}.get(dialect, "IWR1843BOOST")
        return get_board(guess), True
    return None, True


def _last(commands: list[CfgCommand], name: str, bad: set[int]) -> CfgCommand | None:
    found = [c for c in commands if c.name == name and c.line not in bad]
    return found[-1] if found else None


def _build_chirp(
    commands: list[CfgCommand], bad: set[int], dialect: str, board: Board, ctx: _Ctx
) -> ChirpConfig | None:
    """Turn channel/adc/profile/chirp/frame commands into a ChirpConfig, validating against ``board``."""
    n_err = len(ctx.errors)
    for name in ("advFrameCfg", "subFrameCfg"):
        for cmd in commands:
            if cmd.name == name:
                ctx.error(
                    cmd.line,
                    f"{name} (advanced frame) is kept but not supported by ChirpConfig: use frameCfg",
                )
    dfe = _last(commands, "dfeDataOutputMode", bad)
    if dfe is not None and _int(dfe, 0, ctx) != 1:
        ctx.error(dfe.line, "dfeDataOutputMode must be 1 (frame-based chirps) for ChirpConfig")

    channel = _last(commands, "channelCfg", bad)
    adc = _last(commands, "adcCfg", bad)
    frame = _last(commands, "frameCfg", bad)
    adcbuf = _last(commands, "adcbufCfg", bad)
    profiles = {
        _int(c, 0, ctx): c for c in commands if c.name == "profileCfg" and c.line not in bad
    }
    chirps = [c for c in commands if c.name == "chirpCfg" and c.line not in bad]
    if channel is None or adc is None or frame is None or not profiles or not chirps:
        return None

    # channelCfg
    rx_mask, tx_mask = _int(channel, 0, ctx), _int(channel, 1, ctx)
    if rx_mask <= 0 or rx_mask & ~board.rx_mask_all:
        ctx.error(
            channel.line,
            f"RX mask {rx_mask:#x} enables receivers {board.name} does not have "
            f"(it has {board.num_rx}: mask {board.rx_mask_all:#x})",
        )
    if tx_mask <= 0 or tx_mask & ~board.tx_mask_all:
        ctx.error(
            channel.line,
            f"TX mask {tx_mask:#x} enables transmitters {board.name} does not have "
            f"(it has {board.num_tx}: mask {board.tx_mask_all:#x})",
        )

    # adcCfg
    bits_code, fmt_code = _int(adc, 0, ctx), _int(adc, 1, ctx)
    if bits_code not in (0, 1, 2):
        ctx.error(adc.line, f"adcCfg numADCBits must be 0, 1 or 2 (12/14/16 bit), got {bits_code}")
    if fmt_code not in (0, 1, 2):
        ctx.error(adc.line, f"adcCfg adcOutputFmt must be 0, 1 or 2, got {fmt_code}")
    adc_bits = _ADC_BITS[bits_code] if bits_code in (0, 1, 2) else 16
    adc_format = _ADC_FORMATS[fmt_code] if fmt_code in (0, 1, 2) else AdcFormat.COMPLEX_1X

    # adcbufCfg
    iq_swap, rx_interleaved = True, False
    if adcbuf is not None:
        off = 0 if dialect == "1.x" else 1
        buf_real = _int(adcbuf, off, ctx) == 1
        if buf_real != (adc_format is AdcFormat.REAL):
            ctx.error(
                adcbuf.line,
                "adcbufCfg adcOutputFmt (0 complex, 1 real) disagrees with adcCfg's format",
            )
        iq_swap = _int(adcbuf, off + 1, ctx) == 1
        rx_interleaved = _int(adcbuf, off + 2, ctx) == 0

    # frameCfg
    start_idx, end_idx, loops = _int(frame, 0, ctx), _int(frame, 1, ctx), _int(frame, 2, ctx)
    num_frames, period_ms = _int(frame, 3, ctx), _flt(frame, 4)
    if not 0 <= start_idx <= end_idx <= _MAX_CHIRP_INDEX:
        ctx.error(
            frame.line,
            f"frameCfg chirp indices {start_idx}..{end_idx} out of range "
            f"(0 <= start <= end <= {_MAX_CHIRP_INDEX})",
        )
    if not 1 <= loops <= _MAX_LOOPS:
        ctx.error(frame.line, f"frameCfg numLoops {loops} out of range 1..{_MAX_LOOPS}")
    if not 0 <= num_frames <= _MAX_FRAMES:
        ctx.error(frame.line, f"frameCfg numFrames {num_frames} out of range 0..{_MAX_FRAMES}")
    if period_ms <= 0:
        ctx.error(frame.line, f"frameCfg framePeriodicity must be > 0 ms, got {period_ms}")

    # chirpCfg: index -> (profile id, tx mask, line)
    slots: dict[int, tuple[int, int, int]] = {}
    for c in chirps:
        a, b, pid, tx = _int(c, 0, ctx), _int(c, 1, ctx), _int(c, 2, ctx), _int(c, 7, ctx)
        if not 0 <= a <= b <= _MAX_CHIRP_INDEX:
            ctx.error(c.line, f"chirpCfg indices {a}..{b} out of range 0..{_MAX_CHIRP_INDEX}")
            continue
        if pid not in profiles:
            ctx.error(c.line, f"chirpCfg references profile {pid} but no profileCfg defines it")
        if tx <= 0 or tx & ~board.tx_mask_all:
            ctx.error(
                c.line, f"chirpCfg TX mask {tx:#x}: {board.name} has TX mask {board.tx_mask_all:#x}"
            )
        elif tx & ~tx_mask:
            ctx.error(
                c.line,
                f"chirpCfg TX mask {tx:#x} uses transmitters channelCfg does not enable ({tx_mask:#x})",
            )
        if any(float(x) != 0.0 for x in c.args[3:7]):
            ctx.warn(
                c.line,
                "chirpCfg per-chirp variations (start/slope/idle/ADC start) are ignored by ChirpConfig",
            )
        for i in range(a, b + 1):
            slots[i] = (pid, tx, c.line)
    missing = [i for i in range(start_idx, end_idx + 1) if i not in slots]
    if missing:
        shown = ", ".join(str(i) for i in missing[:8]) + (" ..." if len(missing) > 8 else "")
        ctx.error(frame.line, f"frameCfg uses chirp indices no chirpCfg defines: {shown}")
        return None
    frame_slots = [slots[i] for i in range(start_idx, end_idx + 1)]
    used_profiles = {pid for pid, _, _ in frame_slots}
    if len(used_profiles) != 1:
        ctx.error(
            frame.line,
            f"the frame's chirps use several profiles {sorted(used_profiles)}: ChirpConfig needs one",
        )
        return None
    pid = used_profiles.pop()
    if pid not in profiles:
        return None
    prof = profiles[pid]

    start_ghz, idle_us, adc_start_us, ramp_us = (_flt(prof, i) for i in (1, 2, 3, 4))
    tx_backoff, slope_mhz_us, tx_start_us = _flt(prof, 5), _flt(prof, 7), _flt(prof, 8)
    n_samples, fs_ksps = _int(prof, 9, ctx), _flt(prof, 10)
    hpf1, hpf2, rx_gain = _int(prof, 11, ctx), _int(prof, 12, ctx), _int(prof, 13, ctx)
    start_hz, slope = start_ghz * 1e9, slope_mhz_us * 1e12
    fs = fs_ksps * 1e3
    line = prof.line
    if hpf1 not in range(4) or hpf2 not in range(4):
        ctx.error(line, f"profileCfg HPF corner codes must be 0..3, got {hpf1} and {hpf2}")
    if n_samples <= 0 or fs <= 0 or ramp_us <= 0 or idle_us < 0 or adc_start_us < 0:
        ctx.error(
            line, "profileCfg needs positive samples, sample rate, ramp end and non-negative times"
        )
        return None
    if slope <= 0:
        ctx.error(
            line, f"profileCfg slope {slope_mhz_us} MHz/us: only positive slopes are supported"
        )
        return None
    if slope > board.max_slope_hz_per_s * (1 + 1e-9):
        ctx.error(
            line,
            f"slope {slope_mhz_us:g} MHz/us exceeds {board.name}'s {board.max_slope_hz_per_s / 1e12:g} MHz/us",
        )
    f_lo, f_hi = board.freq_min_hz, board.freq_max_hz
    if not f_lo <= start_hz <= f_hi:
        ctx.error(
            line,
            f"start frequency {start_ghz:g} GHz outside {board.name}'s band {f_lo / 1e9:g}-{f_hi / 1e9:g} GHz",
        )
    elif start_hz + slope * ramp_us * 1e-6 > f_hi * (1 + 1e-12):
        end = (start_hz + slope * ramp_us * 1e-6) / 1e9
        ctx.error(
            line,
            f"ramp ends at {end:.3f} GHz (start + slope x rampEnd), above {board.name}'s {f_hi / 1e9:g} GHz",
        )
    cplx1x = adc_format is AdcFormat.COMPLEX_1X
    max_fs = board.max_sample_rate_hz if cplx1x else board.max_sample_rate_real_hz
    if fs > max_fs * (1 + 1e-9):
        kind = "complex 1x" if cplx1x else "real/complex 2x"
        ctx.error(
            line,
            f"ADC rate {fs_ksps:g} ksps exceeds {board.name}'s {kind} maximum {max_fs / 1e3:g} ksps",
        )
    max_if = fs if adc_format is AdcFormat.COMPLEX_1X else fs / 2.0
    if USABLE_IF_FRACTION * max_if > board.max_if_bandwidth_hz * (1 + 1e-9):
        ctx.error(
            line,
            f"IF bandwidth {USABLE_IF_FRACTION * max_if / 1e6:g} MHz (80% of the ADC band) exceeds "
            f"{board.name}'s {board.max_if_bandwidth_hz / 1e6:g} MHz",
        )
    window_us = adc_start_us + n_samples / fs * 1e6
    if window_us > ramp_us * (1 + 1e-9):
        ctx.error(
            line,
            f"sampling window adcStart + samples/fs = {adc_start_us:g} + {n_samples / fs * 1e6:g} = "
            f"{window_us:g} us is longer than the ramp ({ramp_us:g} us)",
        )
    num_slots = len(frame_slots)
    active_ms = loops * num_slots * (idle_us + ramp_us) * 1e-3
    if period_ms > 0 and active_ms > period_ms * (1 + 1e-9):
        ctx.error(
            frame.line,
            f"frame period {period_ms:g} ms is shorter than the frame's chirps "
            f"({loops} loops x {num_slots} chirps x {idle_us + ramp_us:g} us = {active_ms:g} ms)",
        )
    if len(ctx.errors) > n_err:
        return None
    try:
        return ChirpConfig(
            board=board.name,
            start_freq_hz=start_hz,
            freq_slope_hz_per_s=slope,
            idle_time_s=idle_us * 1e-6,
            adc_start_time_s=adc_start_us * 1e-6,
            ramp_end_time_s=ramp_us * 1e-6,
            tx_start_time_s=tx_start_us * 1e-6,
            num_samples=n_samples,
            sample_rate_hz=fs,
            rx_gain_db=float(rx_gain & 0x3F),
            tx_power_backoff_db=tx_backoff,
            hpf1_corner_hz=_HPF1_HZ[hpf1],
            hpf2_corner_hz=_HPF2_HZ[hpf2],
            rx_mask=rx_mask,
            tx_mask=tx_mask,
            chirp_tx_masks=tuple(tx for _, tx, _ in frame_slots),
            num_loops=loops,
            num_frames=num_frames,
            frame_period_s=period_ms * 1e-3,
            adc_bits=adc_bits,
            adc_format=adc_format,
            iq_swap=iq_swap,
            rx_interleaved=rx_interleaved,
        )
    except ValidationError as exc:
        ctx.error(line, f"invalid chirp configuration: {exc.errors()[0]['msg']}")
        return None


def _build_demo(
    commands: list[CfgCommand], bad: set[int], dialect: str, ctx: _Ctx, num_virtual: int = 8
) -> DemoConfig:
    fields: dict[str, object] = {}
    off = 0 if dialect == "1.x" else 1
    defaults = DemoConfig()
    cfar = {0: defaults.cfar_range, 1: defaults.cfar_doppler}

    def guarded(cmd: CfgCommand, fn: Callable[[], None]) -> None:
        try:
            fn()
        except (ValidationError, ValueError, IndexError) as exc:
            msg = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
            ctx.error(cmd.line, f"{cmd.name}: {msg}")

    for cmd in commands:
        if cmd.line in bad or cmd.name not in _ARITY:
            continue
        a = cmd.args
        if cmd.name == "cfarCfg":

            def do_cfar(cmd: CfgCommand = cmd, a: tuple[str, ...] = a) -> None:
                if dialect in ("3.x", "2.x"):
                    direction = _int(cmd, 1, ctx)
                    if direction not in (0, 1):
                        raise ValueError(f"procDirection must be 0 or 1, got {direction}")
                    mode, win, guard, div, cyc = (_int(cmd, i, ctx) for i in (2, 3, 4, 5, 6))
                    if dialect == "3.x":
                        thr, grp = float(a[7]), _int(cmd, 8, ctx) == 1
                    else:
                        thr = float(a[7]) / (SDK2_CFAR_SCALE_PER_VIRTUAL * num_virtual)
                        grp = cfar[direction].peak_grouping
                else:
                    direction = 0
                    mode, win, guard, div, cyc = (_int(cmd, i, ctx) for i in (0, 1, 2, 3, 4))
                    thr = float(a[5]) / SDK1_CFAR_SCALE
                    grp = cfar[0].peak_grouping
                cfar[direction] = CfarConfig(
                    averaging=CfarAveraging(mode),
                    window_len=win,
                    guard_len=guard,
                    noise_div_shift=div,
                    cyclic=cyc == 1,
                    threshold_db=thr,
                    peak_grouping=grp,
                )

            guarded(cmd, do_cfar)
        elif cmd.name == "peakGrouping":
            rng, dop = _int(cmd, off + 1, ctx) == 1, _int(cmd, off + 2, ctx) == 1
            cfar[0] = cfar[0].model_copy(update={"peak_grouping": rng})
            cfar[1] = cfar[1].model_copy(update={"peak_grouping": dop})
            if dialect == "1.x":  # MmwDemo_peakGrouping: minRangeIdx <= rangeIdx <= maxRangeIdx
                fields["range_bin_limits"] = (_int(cmd, 3, ctx), _int(cmd, 4, ctx))
        elif cmd.name == "guiMonitor":
            v = [_int(cmd, i, ctx) for i in range(off, off + 6)]
            fields.update(
                send_points=v[0] in (1, 2),
                send_side_info=dialect == "3.x" and v[0] == 1,
                send_range_profile=v[1] == 1,
                send_noise_profile=v[2] == 1,
                send_azimuth_heatmap=v[3] == 1,
                send_range_doppler_heatmap=v[4] == 1,
                send_stats=v[5] == 1,
            )
        elif cmd.name == "multiObjBeamForming":
            fields["multi_obj_beamforming"] = _int(cmd, off, ctx) == 1
            fields["multi_obj_threshold"] = float(a[off + 1])
        elif cmd.name == "clutterRemoval":
            fields["clutter_removal"] = _int(cmd, off, ctx) == 1
        elif cmd.name == "calibDcRangeSig":
            fields["dc_range_calibration"] = _int(cmd, off, ctx) == 1
        elif cmd.name == "aoaFovCfg":
            fields["azimuth_fov_deg"] = (float(a[1]), float(a[2]))
            fields["elevation_fov_deg"] = (float(a[3]), float(a[4]))
        elif cmd.name == "cfarFovCfg":
            key = {0: "range_fov_m", 1: "doppler_fov_mps"}.get(_int(cmd, 1, ctx))
            if key is None:
                ctx.error(cmd.line, "cfarFovCfg procDirection must be 0 (range) or 1 (Doppler)")
            else:
                fields[key] = (float(a[2]), float(a[3]))
        elif cmd.name == "compRangeBiasAndRxChanPhase":
            vals = [float(x) for x in a]
            fields["range_bias_m"] = vals[0]
            fields["rx_channel_phase"] = tuple(
                complex(vals[i], vals[i + 1]) for i in range(1, len(vals), 2)
            )
    fields["cfar_range"], fields["cfar_doppler"] = cfar[0], cfar[1]
    if dialect == "1.x":
        # xWR14xx SDK 1.x demo (HWA): range-direction CFAR only, a 64-point azimuth FFT read at its
        # peak bin, and multiObjBeamForming's threshold on the HWA's magnitude output
        fields.update(doppler_cfar=False, angle_fft_size=64, multi_obj_on_magnitude=True)
    try:
        return DemoConfig(**fields)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else "demo"
        ctx.error(0, f"invalid demo setting {name}: {err['msg']}")
        return defaults


def _warnings(rc: RadarConfig, ctx: _Ctx) -> None:
    """Legal but questionable settings."""
    gui = rc.find("guiMonitor")
    line = gui[-1].line if gui else 0
    d = rc.demo
    heavy = d.send_azimuth_heatmap or d.send_range_doppler_heatmap
    if not rc.fits_uart(DEFAULT_BAUD):
        what = "with heat maps " if heavy else ""
        ctx.warn(
            line,
            f"frame output {what}needs {rc.uart_rate_bps() / 1e3:.0f} kbit/s, more than the "
            f"{DEFAULT_BAUD} baud UART carries ({rc.uart_bytes_per_frame()} B/frame at "
            f"{rc.chirp.frame_rate_hz:g} Hz)",
        )
    if rc.lvds_enabled:
        lv = rc.find("lvdsStreamCfg")[-1].line
        if not rc.fits_lvds():
            ctx.warn(
                lv,
                f"LVDS needs {rc.lvds_rate_bps / 1e6:.0f} Mbit/s per chirp, the board has {rc.chirp.lvds_capacity_bps / 1e6:.0f}",
            )
        if not rc.fits_dca1000():
            ctx.warn(
                lv,
                f"raw rate {rc.chirp.raw_data_rate_bps / 1e6:.0f} Mbit/s exceeds the DCA1000's sustained throughput",
            )
    if rc.chirp.duty_cycle > 0.9:
        fr = rc.find("frameCfg")[-1].line
        ctx.warn(
            fr,
            f"chirps fill {rc.chirp.duty_cycle:.0%} of the frame: little time left for processing",
        )


def parse_cfg_text(text: str, source: str = "<string>", board: str | None = None) -> RadarConfig:
    """Parse ``.cfg`` text.

    Args:
        text: the file content.
        source: name used in error messages.
        board: board name or alias; None = the file's ``% mmfm-board: NAME`` comment, else inferred
            from the start frequency and dialect (``RadarConfig.board_inferred``).

    Raises:
        CfgErrors: every error found, each ``source:line: message``.
    """
    ctx = _Ctx(source)
    commands, comments = _split_lines(text, ctx)
    detected = _detect_dialect(commands, ctx)
    board_hint: Board | None = None
    named = board or next(
        (m.group(1) for _, text in comments if (m := _BOARD_COMMENT.search(text))), None
    )
    if named is not None:
        try:
            board_hint = get_board(named)
        except KeyError:
            board_hint = None
    hinted = board_hint.sdk_dialect if board_hint else "3.x"
    if detected is None or hinted in detected:
        dialect = hinted
    else:
        dialect = "3.x" if "3.x" in detected else max(detected)
    bad = _check_arity_and_numbers(commands, dialect, ctx)
    names = {c.name for c in commands}
    for name in REQUIRED:
        if name not in names:
            ctx.error(0, f"missing required command {name}")
    start_freq_hz = None
    for cmd in commands:
        if cmd.name == "profileCfg" and cmd.line not in bad:
            start_freq_hz = float(cmd.args[1]) * 1e9
            break
    board_spec, inferred = _resolve_board(board, comments, start_freq_hz, dialect, ctx)
    if board_spec is None and start_freq_hz is not None and not ctx.errors:
        ctx.error(
            0,
            f"cannot infer the board from start frequency {start_freq_hz / 1e9:g} GHz; pass board=",
        )
    chirp = None
    if board_spec is not None:
        chirp = _build_chirp(commands, bad, dialect, board_spec, ctx)
    demo = _build_demo(commands, bad, dialect, ctx, chirp.num_virtual if chirp is not None else 8)
    if ctx.errors or chirp is None or board_spec is None:
        if not ctx.errors:
            ctx.error(0, "incomplete configuration")
        raise CfgErrors(ctx.errors)
    rc = RadarConfig(
        chirp=chirp,
        demo=demo,
        commands=tuple(commands),
        dialect=dialect,
        board=board_spec.name,
        board_inferred=inferred,
        source=source,
        comments=tuple(comments),
    )
    _warnings(rc, ctx)
    if ctx.warnings:
        rc = RadarConfig(**{**rc.__dict__, "warnings": tuple(ctx.warnings)})
    return rc


def load_cfg(path: str | Path, board: str | None = None) -> RadarConfig:
    """Load a ``.cfg`` file, or a bundled profile by name (``firmware_cfg.profiles.list_profiles()``).

    Raises:
        CfgErrors: every error of the file.
        FileNotFoundError: neither a file nor a bundled profile.
    """
    p = Path(path)
    if not p.exists():
        from firmware_cfg.profiles import list_profiles, profile_path

        if str(path) in list_profiles():
            p = profile_path(str(path))
        else:
            raise FileNotFoundError(
                f"{path}: no such file or bundled profile ({', '.join(list_profiles())})"
            )
    return parse_cfg_text(
        p.read_text(encoding="utf-8", errors="replace"), source=str(path), board=board
    )
