"""firmware_cfg: parsing real files, TI's published figures, round trips, board inference."""

from __future__ import annotations

import math

import pytest
from conftest import require_shared

from firmware_cfg import (
    SPEED_OF_LIGHT_M_S,
    AdcFormat,
    CfgCommand,
    emit_cfg,
    load_cfg,
    parse_cfg_text,
)
from firmware_cfg.demo import CfarAveraging

# TI mmWave industrial toolbox 4.7, labs/out_of_box_demo/68xx_mmwave_sdk_hcc/src/mss/
# hc_config_profile_2d.h: TI's xwr68xx profile_2d with TI's figures in the header (subset below).
TI_68XX_PROFILE_2D = """\
sensorStop
flushCfg
dfeDataOutputMode 1
channelCfg 15 5 0
adcCfg 2 1
adcbufCfg -1 0 1 1 1
lowPower 0 0
profileCfg 0 60 7 3 24 0 0 166 1 256 12500 0 0 30
chirpCfg 0 0 0 0 0 0 0 1
chirpCfg 1 1 0 0 0 0 0 4
frameCfg 0 1 32 0 100 1 0
guiMonitor -1 1 1 1 0 0 1
cfarCfg -1 0 2 8 4 3 0 15.0 0
cfarCfg -1 1 0 4 2 3 1 15.0 0
multiObjBeamForming -1 1 0.5
calibDcRangeSig -1 0 -5 8 256
clutterRemoval -1 0
compRangeBiasAndRxChanPhase 0.0 1 0 1 0 1 0 1 0 1 0 1 0 1 0 1 0 1 0 1 0 1 0 1 0
measureRangeBiasAndRxChanPhase 0 1. 0.2
aoaFovCfg -1 -90 90 -90 90
cfarFovCfg -1 0 0.25 9.0
cfarFovCfg -1 1 -20.16 20.16
extendedMaxVelocity -1 0
CQRxSatMonitor 0 3 4 63 0
CQSigImgMonitor 0 127 4
analogMonitor 0 0
lvdsStreamCfg -1 0 0 0
bpmCfg -1 0 0 0
sensorStart
"""
# TI's header figures for it ("% Sweep BW (useful) MHz 3399.68" etc.).
TI_68XX_FIGURES = {
    "adc_collection_us": 20.48,
    "sweep_bw_useful_mhz": 3399.68,
    "total_bw_mhz": 3984,
    "max_distance_80_m": 9.04,
    "range_resolution_m": 0.044,
    "frame_time_ms": 1.984,  # TI's "Frame time (total)": 64 chirps x (idle + ramp end)
    "range_fft": 256,
    "doppler_fft": 32,
    "velocity_resolution_mps": 1.26,
    "velocity_max_mps": 20.16,
}

# SDK 1.x xWR14xx syntax (no subframe index; Q9 CFAR threshold): the profile shape of TI's SDK 1.x
# xwr14xx profile_2d.cfg, written here for the dialect tests.
SDK1_XWR14XX = """\
sensorStop
flushCfg
dfeDataOutputMode 1
channelCfg 15 7 0
adcCfg 2 1
adcbufCfg 0 1 0 1
profileCfg 0 77 7 7 58 0 0 68 1 256 5500 0 0 30
chirpCfg 0 0 0 0 0 0 0 1
chirpCfg 1 1 0 0 0 0 0 4
chirpCfg 2 2 0 0 0 0 0 2
frameCfg 0 2 16 0 33.333 1 0
guiMonitor 1 1 0 0 0 1
cfarCfg 2 8 4 3 0 1280
peakGrouping 1 0 1 1 229
multiObjBeamForming 1 0.5
clutterRemoval 0
calibDcRangeSig 0 -5 8 256
compRangeBiasAndRxChanPhase 0.0 1 0 1 0 1 0 1 0 1 0 1 0 1 0 1 0 1 0 1 0 1 0 1 0
measureRangeBiasAndRxChanPhase 0 1.5 0.2
sensorStart
"""

TI_C = 3e8  # TI's headers use c = 3e8 m/s


def test_vector_cfg_matches_its_readme() -> None:
    rc = load_cfg(require_shared("vectors", "dca1000_iwr1843.cfg"))
    c = rc.chirp
    assert rc.board == "IWR1843BOOST" and rc.board_inferred and rc.dialect == "3.x"
    assert c.frame_shape == (3, 4, 64, 256)
    assert c.tx_order == (0, 1, 2) and c.rx_indices == (0, 1, 2, 3)
    assert c.adc_format is AdcFormat.COMPLEX_1X and c.adc_bits == 16
    assert c.iq_swap and not c.rx_interleaved
    assert c.idle_time_s == pytest.approx(7e-6) and c.ramp_end_time_s == pytest.approx(60e-6)
    assert c.sample_rate_hz == pytest.approx(5e6) and c.frame_period_s == pytest.approx(0.05)
    assert rc.lvds_enabled and rc.fits_lvds() and rc.fits_dca1000()
    assert len(rc.commands) == 23 and rc.commands[0] == CfgCommand("sensorStop", ())


def test_realdata_visualizer_cfg_and_ti_header_figures() -> None:
    """Visualizer 3.6 / SDK 3.06 file; its header states TI's figures for it."""
    path = require_shared("realdata", "dca1000-pcap", "xwr18xx_profile_2023_01_01T00_00_00_000.cfg")
    rc = load_cfg(path)
    c = rc.chirp
    assert c.frame_shape == (2, 4, 16, 256) and c.tx_order == (0, 2)
    names = [cmd.name for cmd in rc.commands]
    assert (
        "CQRxSatMonitor" in names
        and "calibData" in names
        and "measureRangeBiasAndRxChanPhase" in names
    )
    # "% Range Resolution(m):0.044" (3 decimals).
    assert c.range_resolution_m == pytest.approx(0.044, abs=0.0005)
    # TI uses the wavelength at the start frequency (77 GHz) and c = 3e8; we compare like with like.
    tdm = c.tdm_period_s
    vmax_ti = TI_C / c.start_freq_hz / (4 * tdm)
    assert vmax_ti == pytest.approx(1.0, abs=0.005)  # "% Maximum Radial Velocity(m/s):1"
    vres_ti = TI_C / c.start_freq_hz / (2 * c.num_loops * tdm)
    assert vres_ti == pytest.approx(0.13, abs=0.006)  # "% Radial velocity resolution(m/s):0.13"
    assert c.start_wavelength_m == pytest.approx(SPEED_OF_LIGHT_M_S / 77e9)
    # "% Maximum unambiguous Range(m):9.02" is the Visualizer's requested value, not a derived one;
    # the 80 %-of-IF range the chosen sample rate gives is within 1.5 % of it.
    assert 0.8 * c.max_range_m == pytest.approx(9.02, rel=0.015)
    assert (
        rc.demo.cfar_range.threshold_db == 15 and rc.demo.cfar_range.averaging is CfarAveraging.CASO
    )


def test_ti_68xx_profile_2d_figures() -> None:
    rc = parse_cfg_text(TI_68XX_PROFILE_2D, source="ti_68xx_profile_2d")
    c, f = rc.chirp, TI_68XX_FIGURES
    assert rc.board == "IWR6843ISK" and rc.board_inferred
    assert c.adc_sampling_time_s * 1e6 == pytest.approx(f["adc_collection_us"], abs=0.005)
    assert c.sampling_bandwidth_hz / 1e6 == pytest.approx(f["sweep_bw_useful_mhz"], abs=0.005)
    assert c.ramp_bandwidth_hz / 1e6 == pytest.approx(f["total_bw_mhz"], abs=0.5)
    assert c.range_resolution_m == pytest.approx(f["range_resolution_m"], abs=0.0005)
    assert c.frame_active_time_s * 1e3 == pytest.approx(f["frame_time_ms"], abs=0.0005)
    assert c.range_fft_size == f["range_fft"] and c.doppler_fft_size == f["doppler_fft"]
    # TI: "Max distance (80%)" with c = 3e8 -> compare the same convention.
    assert 0.8 * c.max_range_m * TI_C / SPEED_OF_LIGHT_M_S == pytest.approx(
        f["max_distance_80_m"], abs=0.005
    )
    # TI: lambda at the start frequency and c = 3e8 (ours: at the centre of the ADC window, 3.7 %
    # shorter here, so the like-for-like figure uses start_wavelength_m).
    lam_ti = TI_C / c.start_freq_hz
    assert lam_ti / (4 * c.tdm_period_s) == pytest.approx(f["velocity_max_mps"], abs=0.005)
    assert lam_ti / (2 * c.num_loops * c.tdm_period_s) == pytest.approx(
        f["velocity_resolution_mps"], abs=0.005
    )
    assert c.max_velocity_mps < f["velocity_max_mps"]  # carrier at window centre is higher


def test_sdk1_dialect_and_board_inference() -> None:
    rc = parse_cfg_text(SDK1_XWR14XX)
    assert rc.dialect == "1.x" and rc.board == "IWR1443BOOST" and rc.board_inferred
    assert rc.demo.cfar_range.threshold_db == pytest.approx(15.0)  # 1280 * 6 / 512
    assert rc.demo.cfar_range.peak_grouping is False and rc.demo.cfar_doppler.peak_grouping is True
    assert rc.demo.send_points and not rc.demo.send_side_info and rc.demo.send_stats
    assert rc.chirp.rx_interleaved and rc.chirp.tx_order == (0, 2, 1)
    assert rc.uart_bytes_per_frame(10) % 32 == 0


@pytest.mark.parametrize(
    ("text", "board", "inferred"),
    [
        (TI_68XX_PROFILE_2D, "IWR6843ISK", True),
        (SDK1_XWR14XX, "IWR1443BOOST", True),
        (
            TI_68XX_PROFILE_2D.replace("0 60 7 3 24 0 0 166", "0 77 7 3 24 0 0 60"),
            "IWR1843BOOST",
            True,
        ),
        (
            "% mmfm-board: awr1843\n"
            + TI_68XX_PROFILE_2D.replace("0 60 7 3 24 0 0 166", "0 77 7 3 24 0 0 60"),
            "IWR1843BOOST",
            False,
        ),
    ],
)
def test_board_inference(text: str, board: str, inferred: bool) -> None:
    rc = parse_cfg_text(text)
    assert (rc.board, rc.board_inferred) == (board, inferred)


def test_board_argument_overrides() -> None:
    text = TI_68XX_PROFILE_2D.replace("0 60 7 3 24 0 0 166", "0 77 7 3 24 0 0 90")
    rc = parse_cfg_text(text, board="IWR1443BOOST")
    assert rc.board == "IWR1443BOOST" and not rc.board_inferred


@pytest.mark.parametrize("text", [TI_68XX_PROFILE_2D, SDK1_XWR14XX])
def test_round_trip(text: str) -> None:
    rc = parse_cfg_text(text)
    out = emit_cfg(rc)
    rc2 = parse_cfg_text(out)
    assert rc2 == rc
    assert emit_cfg(rc2) == out  # canonical form is a fixed point


def test_round_trip_real_files_and_unknown_commands() -> None:
    path = require_shared("realdata", "dca1000-pcap", "xwr18xx_profile_2023_01_01T00_00_00_000.cfg")
    text = path.read_text() + "someFutureCmd 1 two 3\n"
    rc = parse_cfg_text(text, source=str(path))
    assert rc.find("someFutureCmd")[0].args == ("1", "two", "3")
    out = emit_cfg(rc)
    assert "someFutureCmd 1 two 3" in out and "% Platform:xWR18xx" in out
    assert parse_cfg_text(out) == rc


def test_board_argument_survives_round_trip() -> None:
    rc = parse_cfg_text(TI_68XX_PROFILE_2D, board="IWR6843ISK")
    assert not rc.board_inferred
    assert parse_cfg_text(emit_cfg(rc)) == rc


def test_emit_regenerates_from_typed_values() -> None:
    rc = parse_cfg_text(
        TI_68XX_PROFILE_2D.replace("profileCfg 0 60 7 3 24", "profileCfg 0 60.000 7.0 3 24")
    )
    out = emit_cfg(rc)
    assert "profileCfg 0 60 7 3 24 0 0 166 1 256 12500 0 0 30" in out
    assert "cfarCfg -1 0 2 8 4 3 0 15 0" in out


def test_uart_packet_size_sdk3() -> None:
    rc = parse_cfg_text(TI_68XX_PROFILE_2D)
    # header 40 + points (8 + 16 n) + side info (8 + 4 n) + range (8 + 2*256) + noise (8 + 2*256)
    # + stats (8 + 24), padded to 32.
    n = 10
    raw = 40 + 8 + 16 * n + 8 + 4 * n + 2 * (8 + 512) + 8 + 24
    assert rc.uart_bytes_per_frame(n) == math.ceil(raw / 32) * 32
