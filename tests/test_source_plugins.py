"""Sources as plugins: each type owns its settings model and ``from_settings()``; the daemon looks
the type up in the registry (no isinstance chain) and gets what the type's own code builds."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from mmfm.cli import build_parser
from runtime.config import parse_config
from runtime.pipeline import make_source
from runtime.sources import dca1000_wire as wire
from runtime.sources.base import SourceSettingsBase
from runtime.sources.dca1000 import DCA1000Source, Dca1000SourceSettings
from runtime.sources.dca1000_control import DCA1000Control
from runtime.sources.registry import SOURCE_TYPES, SourceSettings
from runtime.sources.replay import ReplaySource
from runtime.sources.uart import UartSource

REPLAY = Path(__file__).resolve().parents[1] / "runtime" / "examples" / "two_people_iwr1843.bin"


def test_registry_keys_are_the_settings_types_and_the_union_holds_them_all() -> None:
    union = typing.get_args(typing.get_args(SourceSettings)[0])
    assert {m for m in union} == {cls.settings_model for cls in SOURCE_TYPES.values()}
    for key, cls in SOURCE_TYPES.items():
        model = cls.settings_model
        assert issubclass(model, SourceSettingsBase)
        assert typing.get_args(model.model_fields["type"].annotation) == (key,)
        assert callable(cls.from_settings)
        for name, field in model.model_fields.items():
            assert field.title and field.description, f"{model.__name__}.{name}"


def _radar(source: str) -> object:
    text = f"""
radars:
  r:
    chirp_config: iwr1843boost_raw_activity
    source: {source}
"""
    return parse_config(text, env={}).radars["r"]


def test_the_daemon_builds_each_type_from_its_own_settings() -> None:
    settings = _radar(
        "{type: dca1000, fpga_ip: 10.0.0.2, fpga_config_port: 5000, host_ip: 10.0.0.1, "
        "data_port: 6000, cli_port: /dev/ttyX, packet_delay_us: 40}"
    )
    source, after_open = make_source("r", settings)()  # constructors open nothing
    assert isinstance(source, DCA1000Source) and callable(after_open)
    assert source.radar_config is settings.radar_config
    assert (source.host_ip, source.data_port, source.packet_delay_us) == ("10.0.0.1", 6000, 40.0)
    assert (source.control.fpga_ip, source.control.fpga_port) == ("10.0.0.2", 5000)

    settings = _radar("{type: serial, cli_port: /dev/ttyA, data_port: /dev/ttyB, configure: false}")
    source, after_open = make_source("r", settings)()
    assert isinstance(source, UartSource) and after_open is None
    assert source.data_port == "/dev/ttyB" and source.parser.dialect == "3.x"

    settings = _radar(f"{{type: replay, path: {REPLAY}, loop: true, timestamps: recorded}}")
    source, after_open = make_source("r", settings)()
    assert isinstance(source, ReplaySource) and after_open is None and source.loop
    assert settings.source.restamp == "recorded" and not settings.source.ends


def test_a_type_without_a_default_chirp_config_says_so() -> None:
    with pytest.raises(ValueError, match="required for a serial source"):
        SOURCE_TYPES["serial"].settings_model(type="serial").default_chirp_config()


def test_dca1000_factory_addresses_live_in_one_place() -> None:
    expect = (wire.DEFAULT_FPGA_IP, wire.DEFAULT_CONFIG_PORT, wire.DEFAULT_HOST_IP)
    s = Dca1000SourceSettings(type="dca1000")
    assert (s.fpga_ip, s.fpga_config_port, s.host_ip) == expect
    assert (s.host_config_port, s.data_port) == (wire.DEFAULT_CONFIG_PORT, wire.DEFAULT_DATA_PORT)
    ctl = DCA1000Control()
    assert (ctl.fpga_ip, ctl.fpga_port, ctl.host_ip, ctl.host_port) == (
        *expect,
        wire.DEFAULT_CONFIG_PORT,
    )
    args = build_parser().parse_args(["record", "--source", "dca1000", "--out", "x"])
    assert (args.fpga_ip, args.config_port, args.host_ip) == expect
    assert (args.adc_port, args.host_config_port) == (
        wire.DEFAULT_DATA_PORT,
        wire.DEFAULT_CONFIG_PORT,
    )
