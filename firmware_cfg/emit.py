"""Emit a :class:`RadarConfig` back to ``.cfg`` text.

Known commands are regenerated from the typed values (ChirpConfig / DemoConfig) where those carry
the command's meaning; fields the typed models do not hold (profile id, TX phase shifter, trigger
select, subframe index, ...) are taken from the original arguments. Unknown commands are written
verbatim. Comments are kept in their original order. ``parse_cfg_text(emit_cfg(rc)) == rc``.
"""

from __future__ import annotations

import re

from firmware_cfg.boards import get_board
from firmware_cfg.chirp import AdcFormat
from firmware_cfg.demo import CfarConfig
from firmware_cfg.radar_config import CfgCommand, RadarConfig

_HPF1 = {175e3: 0, 235e3: 1, 350e3: 2, 700e3: 3}
_HPF2 = {350e3: 0, 700e3: 1, 1.4e6: 2, 2.8e6: 3}
_BITS = {12: 0, 14: 1, 16: 2}
_FMT = {AdcFormat.REAL: 0, AdcFormat.COMPLEX_1X: 1, AdcFormat.COMPLEX_2X: 2}
SDK1_CFAR_SCALE = 512.0 / 6.0
SDK2_CFAR_SCALE_PER_VIRTUAL = 256.0 / 6.0  # firmware_cfg.parser.SDK2_CFAR_SCALE_PER_VIRTUAL


def fmt(x: float | int | bool) -> str:
    """Shortest text that parses back to the same number (integers without a decimal point)."""
    if isinstance(x, bool):
        return "1" if x else "0"
    if isinstance(x, int):
        return str(x)
    r = round(x, 9)
    if r == int(r):
        return str(int(r))
    return f"{r:.9g}"


def _regen(rc: RadarConfig, cmd: CfgCommand) -> tuple[str, ...]:
    """Arguments of ``cmd`` rebuilt from the typed configuration (original ones where not typed)."""
    c, d, a = rc.chirp, rc.demo, list(cmd.args)
    sf = rc.dialect in ("3.x", "2.x")  # subframe index first
    off = 1 if sf else 0
    name = cmd.name
    if name == "channelCfg":
        a[0], a[1] = fmt(c.rx_mask), fmt(c.tx_mask)
    elif name == "adcCfg":
        a[0], a[1] = fmt(_BITS[c.adc_bits]), fmt(_FMT[c.adc_format])
    elif name == "adcbufCfg":
        a[off] = fmt(c.adc_format is AdcFormat.REAL)
        a[off + 1] = fmt(c.iq_swap)
        a[off + 2] = fmt(not c.rx_interleaved)
    elif name == "frameCfg" and cmd == rc.find("frameCfg")[-1]:
        a[2], a[3], a[4] = fmt(c.num_loops), fmt(c.num_frames), fmt(c.frame_period_s * 1e3)
    elif name == "profileCfg" and _is_frame_profile(rc, cmd):
        rx_gain_high = int(float(a[13])) & ~0x3F
        a[1] = fmt(c.start_freq_hz / 1e9)
        a[2] = fmt(c.idle_time_s * 1e6)
        a[3] = fmt(c.adc_start_time_s * 1e6)
        a[4] = fmt(c.ramp_end_time_s * 1e6)
        a[5] = fmt(c.tx_power_backoff_db)
        a[7] = fmt(c.freq_slope_hz_per_s / 1e12)
        a[8] = fmt(c.tx_start_time_s * 1e6)
        a[9] = fmt(c.num_samples)
        a[10] = fmt(c.sample_rate_hz / 1e3)
        a[11], a[12] = fmt(_HPF1[c.hpf1_corner_hz]), fmt(_HPF2[c.hpf2_corner_hz])
        a[13] = fmt(int(c.rx_gain_db) | rx_gain_high)
    elif name == "guiMonitor":
        pts = (1 if d.send_side_info or rc.dialect != "3.x" else 2) if d.send_points else 0
        flags = (
            pts,
            d.send_range_profile,
            d.send_noise_profile,
            d.send_azimuth_heatmap,
            d.send_range_doppler_heatmap,
            d.send_stats,
        )
        a[off:] = [fmt(int(v)) for v in flags]
    elif name == "cfarCfg":
        if rc.dialect == "2.x":
            cf = d.cfar_range if int(float(a[1])) == 0 else d.cfar_doppler
            scale = SDK2_CFAR_SCALE_PER_VIRTUAL * c.num_virtual
            a[2:] = [*_cfar_fields(cf), fmt(round(cf.threshold_db * scale))]
        elif sf:
            cf = d.cfar_range if int(float(a[1])) == 0 else d.cfar_doppler
            a[2:] = [*_cfar_fields(cf), fmt(cf.threshold_db), fmt(cf.peak_grouping)]
        else:
            cf = d.cfar_range
            a[:] = [*_cfar_fields(cf), fmt(round(cf.threshold_db * SDK1_CFAR_SCALE))]
    elif name == "multiObjBeamForming":
        a[off], a[off + 1] = fmt(d.multi_obj_beamforming), fmt(d.multi_obj_threshold)
    elif name == "clutterRemoval":
        a[off] = fmt(d.clutter_removal)
    return tuple(fmt(float(x)) if _is_num(x) else x for x in a)


def _cfar_fields(cf: CfarConfig) -> list[str]:
    return [
        fmt(int(cf.averaging)),
        fmt(cf.window_len),
        fmt(cf.guard_len),
        fmt(cf.noise_div_shift),
        fmt(cf.cyclic),
    ]


def _is_num(tok: str) -> bool:
    try:
        float(tok)
    except ValueError:
        return False
    return True


def _is_frame_profile(rc: RadarConfig, cmd: CfgCommand) -> bool:
    """True for the profileCfg that the frame's chirps use (the one ChirpConfig describes)."""
    frame = rc.find("frameCfg")[-1]
    start = int(float(frame.args[0]))
    pid = None
    for ch in rc.find("chirpCfg"):
        if int(float(ch.args[0])) <= start <= int(float(ch.args[1])):
            pid = int(float(ch.args[2]))
    profiles = [p for p in rc.find("profileCfg") if int(float(p.args[0])) == pid]
    return bool(profiles) and cmd is profiles[-1]


def emit_cfg(rc: RadarConfig) -> str:
    """``.cfg`` text for ``rc``: comments and commands in their original order, one per line."""
    comments = rc.comments
    if not rc.board_inferred:  # a board comment that names another board (--board overrode it)
        comments = tuple((line, _board_comment(text, rc.board)) for line, text in comments)
    items: list[tuple[int, int, str]] = [(line, 0, text) for line, text in comments]
    has_board_comment = any("mmfm-board" in text for _, text in rc.comments)
    if not rc.board_inferred and not has_board_comment:
        items.append((0, -1, f"% mmfm-board: {rc.board}"))
    for cmd in rc.commands:
        args = _regen(rc, cmd) if cmd.name in _REGEN else cmd.args
        items.append((cmd.line, 1, " ".join((cmd.name, *args))))
    items.sort(key=lambda t: (t[0], t[1]))
    return "\n".join(text for _, _, text in items) + "\n"


_BOARD_COMMENT = re.compile(r"(mmfm-board\s*:\s*)(\S+)", re.IGNORECASE)


def _board_comment(text: str, board: str) -> str:
    """``text`` with its ``mmfm-board:`` name replaced by ``board`` when it names another board (or
    none known), so the emitted file reads back as the board it was parsed for."""
    m = _BOARD_COMMENT.search(text)
    if m is None:
        return text
    try:
        if get_board(m.group(2)).name == board:
            return text
    except KeyError:
        pass
    return text[: m.start(2)] + board + text[m.end(2) :]


_REGEN = {
    "channelCfg",
    "adcCfg",
    "adcbufCfg",
    "frameCfg",
    "profileCfg",
    "guiMonitor",
    "cfarCfg",
    "multiObjBeamForming",
    "clutterRemoval",
}
