"""firmware_cfg: every malformed-config case reports file:line: reason."""

from __future__ import annotations

import pytest

from firmware_cfg import CfgError, CfgErrors, parse_cfg_text

BASE = """\
sensorStop
flushCfg
dfeDataOutputMode 1
channelCfg 15 7 0
adcCfg 2 1
adcbufCfg -1 0 1 1 1
profileCfg 0 77 7 6 60 0 0 60 1 256 5000 0 0 30
chirpCfg 0 0 0 0 0 0 0 1
chirpCfg 1 1 0 0 0 0 0 2
chirpCfg 2 2 0 0 0 0 0 4
frameCfg 0 2 64 0 50 1 0
guiMonitor -1 1 0 0 0 0 0
cfarCfg -1 0 2 8 4 3 0 15 1
sensorStart
"""
# line numbers in BASE
L_CHANNEL, L_ADCBUF, L_PROFILE, L_CHIRP0, L_CHIRP2, L_FRAME, L_GUI = 4, 6, 7, 8, 10, 11, 12


def errors_of(text: str, board: str | None = "IWR1843BOOST") -> list[CfgError]:
    with pytest.raises(CfgErrors) as info:
        parse_cfg_text(text, source="t.cfg", board=board)
    return info.value.errors


def sub(old: str, new: str, text: str = BASE) -> str:
    assert old in text
    return text.replace(old, new, 1)


def test_base_is_valid() -> None:
    rc = parse_cfg_text(BASE, source="t.cfg")
    assert rc.chirp.frame_shape == (3, 4, 64, 256) and rc.warnings == ()


def test_error_string_format() -> None:
    err = CfgError("a/b.cfg", 7, "bad thing")
    assert str(err) == "a/b.cfg:7: bad thing" and isinstance(err, ValueError)
    assert (err.path, err.line, err.message) == ("a/b.cfg", 7, "bad thing")


@pytest.mark.parametrize(
    ("old", "new", "line", "needle"),
    [
        ("channelCfg 15 7 0", "channelCfg 15 7", L_CHANNEL, "channelCfg expects 3 arguments"),
        (
            "profileCfg 0 77 7",
            "profileCfg 0 77GHz 7",
            L_PROFILE,
            "argument 2 is not a number: '77GHz'",
        ),
        (
            "profileCfg 0 77 7",
            "profileCfg 0 70 7",
            L_PROFILE,
            "start frequency 70 GHz outside IWR1843BOOST's band 76-81 GHz",
        ),
        ("0 0 60 1 256 5000", "0 0 80 1 256 5000", L_PROFILE, "ramp ends at 81.800 GHz"),
        (
            "256 5000 0 0 30",
            "256 13000 0 0 30",
            L_PROFILE,
            "ADC rate 13000 ksps exceeds IWR1843BOOST's complex 1x maximum",
        ),
        (
            "0 0 60 1 256 5000",
            "0 0 60 1 256 4000",
            L_PROFILE,
            "sampling window adcStart + samples/fs = 6 + 64 = 70 us is longer than the ramp (60 us)",
        ),
        ("0 0 60 1 256 5000", "0 0 120 1 256 5000", L_PROFILE, "exceeds IWR1843BOOST's 100 MHz/us"),
        (
            "frameCfg 0 2 64",
            "frameCfg 0 3 64",
            L_FRAME,
            "frameCfg uses chirp indices no chirpCfg defines: 3",
        ),
        (
            "chirpCfg 0 0 0 0",
            "chirpCfg 0 0 1 0",
            L_CHIRP0,
            "chirpCfg references profile 1 but no profileCfg defines it",
        ),
        (
            "chirpCfg 2 2 0 0 0 0 0 4",
            "chirpCfg 2 2 0 0 0 0 0 8",
            L_CHIRP2,
            "chirpCfg TX mask 0x8: IWR1843BOOST has TX mask 0x7",
        ),
        (
            "channelCfg 15 7 0",
            "channelCfg 15 3 0",
            L_CHIRP2,
            "uses transmitters channelCfg does not enable (0x3)",
        ),
        (
            "channelCfg 15 7 0",
            "channelCfg 31 7 0",
            L_CHANNEL,
            "RX mask 0x1f enables receivers IWR1843BOOST does not have",
        ),
        (
            "frameCfg 0 2 64 0 50",
            "frameCfg 0 2 64 0 10",
            L_FRAME,
            "frame period 10 ms is shorter than the frame's chirps (64 loops x 3 chirps x 67 us = 12.864 ms)",
        ),
        (
            "frameCfg 0 2 64",
            "frameCfg 0 2 300",
            L_FRAME,
            "frameCfg numLoops 300 out of range 1..255",
        ),
        ("frameCfg 0 2 64", "frameCfg 0 600 64", L_FRAME, "chirp indices 0..600 out of range"),
        (
            "adcbufCfg -1 0 1 1 1",
            "adcbufCfg 0 1 1 1",
            L_GUI,
            "dialect mix: guiMonitor here has SDK 3.x arity but adcbufCfg on line 6 is SDK 1.x",
        ),
        ("dfeDataOutputMode 1", "dfeDataOutputMode 3", 3, "dfeDataOutputMode must be 1"),
        (
            "adcbufCfg -1 0 1 1 1",
            "adcbufCfg -1 1 1 1 1",
            L_ADCBUF,
            "adcbufCfg adcOutputFmt (0 complex, 1 real) disagrees",
        ),
    ],
)
def test_malformed(old: str, new: str, line: int, needle: str) -> None:
    errs = errors_of(sub(old, new))
    hits = [e for e in errs if needle in e.message]
    assert hits, [str(e) for e in errs]
    assert hits[0].line == line and str(hits[0]).startswith(f"t.cfg:{line}: ")


def test_if_bandwidth_above_chip() -> None:
    # real ADC at 22 Msps: rate legal (25 Msps real) but 80% of 11 MHz = 8.8 MHz ok; 2x at 25 Msps
    # is legal too; the IF limit bites on IWR1443 complex 1x beyond 18.75 Msps (rate error first).
    text = sub("adcCfg 2 1", "adcCfg 2 0", sub("adcbufCfg -1 0 1 1 1", "adcbufCfg -1 1 1 1 1"))
    text = sub("256 5000 0 0 30", "256 30000 0 0 30", text).replace("0 0 60 1 256", "0 0 60 1 256")
    errs = errors_of(text)
    assert any(
        "ADC rate 30000 ksps exceeds IWR1843BOOST's real/complex 2x maximum 25000" in e.message
        for e in errs
    )
    assert any(
        "IF bandwidth 12 MHz (80% of the ADC band) exceeds IWR1843BOOST's 10 MHz" in e.message
        for e in errs
    )


@pytest.mark.parametrize("name", ["channelCfg", "adcCfg", "profileCfg", "chirpCfg", "frameCfg"])
def test_missing_required(name: str) -> None:
    text = "\n".join(ln if not ln.startswith(name) else "% removed" for ln in BASE.splitlines())
    errs = errors_of(text)
    assert any(e.line == 0 and e.message == f"missing required command {name}" for e in errs)


def test_unknown_board_argument_and_comment() -> None:
    errs = errors_of(BASE, board="IWR9999")
    assert errs[0].line == 0 and "unknown board 'IWR9999'" in errs[0].message
    errs = errors_of("% mmfm-board: NOPE\n" + BASE, board=None)
    assert errs[0].line == 1 and "unknown board 'NOPE'" in errs[0].message


def test_all_errors_collected() -> None:
    text = sub(
        "channelCfg 15 7 0", "channelCfg 15 x 0", sub("frameCfg 0 2 64", "frameCfg 0 2 64 1")
    )
    errs = errors_of(text)
    assert [e.line for e in errs] == [L_CHANNEL, L_FRAME]
    assert str(CfgErrors(errs)).count("\n") == 1


def test_advanced_frame_rejected_for_chirpconfig() -> None:
    errs = errors_of(BASE + "advFrameCfg 1 0 0 1 0\n")
    assert any(
        "advFrameCfg (advanced frame) is kept but not supported by ChirpConfig" in e.message
        for e in errs
    )


def test_uart_warning_for_heatmaps() -> None:
    text = sub("guiMonitor -1 1 0 0 0 0 0", "guiMonitor -1 1 1 1 1 1 1")
    rc = parse_cfg_text(text, source="t.cfg")
    assert not rc.fits_uart()
    (w,) = rc.warnings
    assert w.line == L_GUI and "with heat maps" in w.message and "921600 baud" in w.message
    assert str(w).startswith(f"t.cfg:{L_GUI}: warning: ")
