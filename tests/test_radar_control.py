"""Radar control against the fake radar on a real pty; port discovery on described ports."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from firmware_cfg import load_cfg
from runtime.fakes.uart_radar import FakeUartRadar
from runtime.radar_control import (
    PortDiscoveryError,
    RadarCommandError,
    RadarControl,
    RadarControlError,
    pick_ports,
)


@pytest.fixture
def fake():
    radar = FakeUartRadar(frame_period_s=0.05).start()
    yield radar
    radar.stop()


def test_bundled_profile_goes_through(fake: FakeUartRadar) -> None:
    rc = load_cfg("iwr1843boost_presence")
    with RadarControl(fake.cli_path, timeout=2.0) as ctl:
        info = ctl.send_config(rc)
        assert info == ["Ignored: Sensor is already stopped"]  # the cfg starts with sensorStop
        assert fake.running
        assert fake.config is not None
        assert (fake.config.chirp, fake.config.demo) == (rc.chirp, rc.demo)
        assert fake.commands == [c.text() for c in rc.commands]
        ctl.sensor_stop()
        assert not fake.running
        ctl.sensor_start(reconfigure=False)
        assert fake.running
        ctl.sensor_stop()


def test_bad_line_names_the_cfg_line(fake: FakeUartRadar, tmp_path: Path) -> None:
    from firmware_cfg.profiles import profile_path

    text = profile_path("iwr1843boost_presence").read_text()
    lines = text.splitlines()
    n = next(i for i, line in enumerate(lines) if line.startswith("guiMonitor"))
    lines.insert(n + 1, "fancyNewCmd 1 2 3   % a command this firmware does not have")
    cfg = tmp_path / "bad.cfg"
    cfg.write_text("\n".join(lines) + "\n")
    # firmware_cfg keeps unknown commands; the radar refuses it
    rc = load_cfg(cfg)
    with RadarControl(fake.cli_path) as ctl:
        with pytest.raises(RadarCommandError) as err:
            ctl.send_config(rc)
    e = err.value
    assert (e.line, e.code, e.command) == (n + 2, -1, "fancyNewCmd 1 2 3")
    assert str(e).startswith(f"{cfg}:{n + 2}: radar answered Error -1 to 'fancyNewCmd 1 2 3'")
    assert "is not recognized as a CLI command" in str(e)
    assert not fake.running

    # a wrong argument count, sent without local validation
    lines[n + 1] = "clutterRemoval -1"
    cfg.write_text("\n".join(lines) + "\n")
    with RadarControl(fake.cli_path) as ctl:
        with pytest.raises(RadarCommandError) as err:
            ctl.send_config(cfg, validate=False)
    assert err.value.line == n + 2 and err.value.command == "clutterRemoval -1"
    assert "clutterRemoval" in " ".join(err.value.reply)


def test_banner_echo_prompt_and_stray_bytes_are_tolerated(fake: FakeUartRadar) -> None:
    rc = load_cfg("iwr1843boost_presence")
    with RadarControl(fake.cli_path) as ctl:
        fake.print_banner()  # the board reset while the port was open
        fake.inject_cli(b"\x00\xff\xfe garbage \r\nmmwDemo:/>\x1b[0m\r\n")
        ctl.sensor_stop()
        fake.inject_cli(b"\xaa\x55 Done-ish but not Done\r\n")
        info = ctl.send_config(rc)
        assert any(line.endswith("Done-ish but not Done") for line in info)
        assert fake.running
        assert any("MMW Demo" in line for line in ctl.transcript)


def test_timeout_and_closed_port() -> None:
    radar = FakeUartRadar().start()
    try:
        ctl = RadarControl(radar.cli_path, timeout=0.3)
        with pytest.raises(RadarControlError, match="not open"):
            ctl.sensor_stop()
        ctl.open()
        radar._stop.set()  # the CLI thread stops answering
        radar._threads[0].join(2)
        with pytest.raises(RadarControlError, match="no Done/Error within"):
            ctl.sensor_stop()
        ctl.close()
        ctl.close()
    finally:
        radar.stop()


def _port(
    device: str, vid: int | None, pid: int | None, sn: str = "R001", loc: str = "", desc: str = ""
):
    return SimpleNamespace(
        device=device, vid=vid, pid=pid, serial_number=sn, location=loc, description=desc
    )


def test_pick_ports_xds110_and_cp2105() -> None:
    xds = [
        _port(
            "/dev/ttyACM1", 0x0451, 0xBEF3, loc="1-1.2:1.3", desc="XDS110 Class Auxiliary Data Port"
        ),
        _port(
            "/dev/ttyACM0",
            0x0451,
            0xBEF3,
            loc="1-1.2:1.0",
            desc="XDS110 Class Application/User UART",
        ),
        _port("/dev/ttyS0", None, None, sn=""),
    ]
    assert pick_ports(xds) == ("/dev/ttyACM0", "/dev/ttyACM1")
    mac = [
        _port("/dev/cu.usbmodemR00110", 0x0451, 0xBEF3),
        _port("/dev/cu.usbmodemR00113", 0x0451, 0xBEF3),
    ]
    assert pick_ports(mac) == ("/dev/cu.usbmodemR00110", "/dev/cu.usbmodemR00113")
    cp = [
        _port(
            "COM7",
            0x10C4,
            0xEA70,
            desc="Silicon Labs Dual CP2105 USB to UART Bridge: Standard COM Port (COM7)",
        ),
        _port(
            "COM8",
            0x10C4,
            0xEA70,
            desc="Silicon Labs Dual CP2105 USB to UART Bridge: Enhanced COM Port (COM8)",
        ),
    ]
    assert pick_ports(cp) == ("COM8", "COM7")


def test_pick_ports_errors_list_what_was_seen() -> None:
    with pytest.raises(PortDiscoveryError, match=r"/dev/ttyUSB0 \(0403:6001"):
        pick_ports([_port("/dev/ttyUSB0", 0x0403, 0x6001, desc="FT232R")])
    with pytest.raises(PortDiscoveryError, match="no serial ports at all"):
        pick_ports([])
    two = [
        _port("/dev/ttyACM0", 0x0451, 0xBEF3, sn="A"),
        _port("/dev/ttyACM1", 0x0451, 0xBEF3, sn="A"),
        _port("/dev/ttyACM2", 0x0451, 0xBEF3, sn="B"),
        _port("/dev/ttyACM3", 0x0451, 0xBEF3, sn="B"),
    ]
    with pytest.raises(PortDiscoveryError, match="several radars"):
        pick_ports(two)
    assert pick_ports(two, serial_number="B") == ("/dev/ttyACM2", "/dev/ttyACM3")
    with pytest.raises(PortDiscoveryError, match="expected 2"):
        pick_ports(two[:1])
