"""Bundled profiles validate cleanly; the benchmark profile is exactly what the benchmarks expect."""

from __future__ import annotations

import pytest

from firmware_cfg import AdcFormat, emit_cfg, get_board, load_cfg, parse_cfg_text
from firmware_cfg.errors import CfgErrors
from firmware_cfg.profiles import describe, list_profiles, profile_path

BOARDS = ("iwr1443boost", "iwr1843boost", "iwr6843isk", "iwr6843aop")
USES = ("presence", "raw_activity", "vitals")


def test_every_board_has_every_use() -> None:
    names = set(list_profiles())
    assert {f"{b}_{u}" for b in BOARDS for u in USES} <= names


@pytest.mark.parametrize("name", list_profiles())
def test_profile_validates_cleanly(name: str) -> None:
    rc = load_cfg(name)
    assert rc.warnings == ()
    assert not rc.board_inferred and rc.board == get_board(name.split("_")[0]).name
    assert describe(name)
    assert parse_cfg_text(emit_cfg(rc)) == rc
    if name.endswith("_presence"):
        assert rc.fits_uart(921600) and not rc.lvds_enabled
    if name.endswith("_raw_activity"):
        assert rc.lvds_enabled and rc.fits_lvds() and rc.fits_dca1000()
    if name.endswith("_vitals"):
        assert rc.demo.send_azimuth_heatmap and rc.fits_uart(921600)
        assert rc.chirp.range_resolution_m < 0.05


def test_benchmark_profile_is_exact() -> None:
    rc = load_cfg("iwr1843boost_raw_activity")
    c = rc.chirp
    assert rc.board == "IWR1843BOOST" and rc.dialect == "3.x"
    assert c.tx_order == (0, 1, 2) and c.rx_indices == (0, 1, 2, 3)
    assert c.frame_shape == (3, 4, 128, 256)
    assert c.adc_format is AdcFormat.COMPLEX_1X and c.adc_bits == 16
    assert c.frame_rate_hz == pytest.approx(20.0)
    assert c.bytes_per_frame == 3 * 4 * 128 * 256 * 4
    assert c.raw_data_rate_bps == pytest.approx(3 * 4 * 128 * 256 * 4 * 8 * 20)
    assert c.frame_active_time_s < c.frame_period_s
    assert rc.fits_lvds() and rc.fits_dca1000()


def test_xwr1642_profile_speaks_sdk_2x() -> None:
    """xWR1642BOOST, SDK 2.x: 2 TX x 4 RX, cfarCfg without the peak-grouping flag and with a
    thresholdScale of dB * 256 * virtual antennas / 6, peakGrouping and nearFieldCfg commands."""
    rc = load_cfg("iwr1642boost_raw_activity")
    c = rc.chirp
    assert rc.board == "IWR1642BOOST" and rc.dialect == "2.x" and rc.warnings == ()
    assert c.frame_shape == (2, 4, 128, 256) and c.tx_order == (0, 1)
    assert c.board_spec.num_tx == 2 and not c.board_spec.has_elevation
    assert rc.demo.cfar_range.threshold_db == pytest.approx(15.0)
    assert rc.demo.cfar_range.peak_grouping and rc.demo.cfar_doppler.peak_grouping
    text = emit_cfg(rc)
    assert "cfarCfg -1 0 2 8 4 3 0 5120" in text and "nearFieldCfg -1 0 0 0" in text
    louder = parse_cfg_text(
        text.replace("cfarCfg -1 0 2 8 4 3 0 5120", "cfarCfg -1 0 2 8 4 3 0 6144")
    )
    assert louder.demo.cfar_range.threshold_db == pytest.approx(18.0)
    # one TX: 4 virtual antennas, so the same 15 dB is thresholdScale 2560
    one_tx = (
        text.replace("channelCfg 15 3 0", "channelCfg 15 1 0")
        .replace("chirpCfg 1 1 0 0 0 0 0 2\n", "")
        .replace("frameCfg 0 1 128", "frameCfg 0 0 128")
    )
    rc1 = parse_cfg_text(one_tx)
    assert rc1.chirp.num_virtual == 4 and rc1.demo.cfar_range.threshold_db == pytest.approx(30.0)
    assert "cfarCfg -1 0 2 8 4 3 0 5120" in emit_cfg(rc1)
    with pytest.raises(CfgErrors, match=r"aoaFovCfg does not exist in the SDK 2\.x dialect"):
        parse_cfg_text(text.replace("sensorStart", "aoaFovCfg -1 -90 90 -90 90\nsensorStart"))
    mixed = text.replace("cfarCfg -1 1 0 4 2 3 1 5120", "cfarCfg -1 1 0 4 2 3 1 15 1")
    with pytest.raises(CfgErrors, match=r"dialect mix: cfarCfg here has SDK 3\.x arity"):
        parse_cfg_text(mixed)


def test_profile_path_accepts_suffix_and_rejects_unknown() -> None:
    assert profile_path("IWR1843BOOST_presence.cfg").name == "iwr1843boost_presence.cfg"
    with pytest.raises(KeyError, match="bundled"):
        profile_path("nope")
    with pytest.raises(FileNotFoundError):
        load_cfg("no_such_profile_or_file")
