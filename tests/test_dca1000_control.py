"""DCA1000 control protocol: wire format, and the client against the fake FPGA on loopback UDP."""

from __future__ import annotations

import socket
import time

import pytest

from firmware_cfg import load_cfg
from runtime.fakes.dca1000 import FakeDCA1000
from runtime.sources.dca1000 import DCA1000Source
from runtime.sources.dca1000_control import DCA1000Control
from runtime.sources.dca1000_wire import (
    AsyncStatus,
    CaptureMode,
    Command,
    DataFormat,
    DCA1000Error,
    DCA1000Timeout,
    EepromConfig,
    FpgaConfig,
    FpgaVersion,
    LogMode,
    LvdsMode,
    PacketConfig,
    TransferMode,
    decode_command,
    decode_reply,
    describe_async,
    encode_command,
    encode_reply,
)

RC_1843 = load_cfg("iwr1843boost_raw_activity")
CFG_1843 = RC_1843.chirp


def client(fake: FakeDCA1000, **kw: object) -> DCA1000Control:
    args: dict = dict(
        fpga_ip="127.0.0.1",
        fpga_port=fake.config_port,
        host_ip="127.0.0.1",
        host_port=0,
        timeout_s=0.3,
        retries=1,
    )
    args.update(kw)
    return DCA1000Control(**args)


# ---------------------------------------------------------------------------- wire format
def test_command_packets_match_ti_cli_bytes() -> None:
    # bytes TI's CLI puts on the wire (the same sequences OpenRadar replays)
    assert encode_command(Command.SYSTEM_CONNECT) == bytes.fromhex("5aa509000000aaee")
    fpga = FpgaConfig.from_chirp(CFG_1843)
    assert encode_command(Command.CONFIG_FPGA_GEN, fpga.to_bytes()) == bytes.fromhex(
        "5aa50300060001020102031eaaee"
    )
    # 1470-byte packets, 25 us = 3125 ticks of 8 ns
    packet = encode_command(Command.CONFIG_PACKET_DATA, PacketConfig(25.0).to_bytes())
    assert packet == bytes.fromhex("5aa50b000600be05350c0000aaee")
    assert decode_command(packet) == (Command.CONFIG_PACKET_DATA, bytes.fromhex("be05350c0000"))
    assert PacketConfig.from_bytes(bytes.fromhex("be05350c0000")) == PacketConfig(25.0, 1470)


def test_decode_rejects_bad_framing_with_a_reason() -> None:
    with pytest.raises(ValueError, match="footer"):
        decode_command(bytes.fromhex("5aa509000000aaef"))
    with pytest.raises(ValueError, match="length field says 2 bytes"):
        decode_command(bytes.fromhex("5aa509000200aaee"))
    with pytest.raises(ValueError, match="framing"):
        decode_reply(bytes.fromhex("5aa509000000abee"))
    with pytest.raises(ValueError, match="shorter"):
        decode_reply(b"\x5a\xa5")
    assert decode_reply(encode_reply(Command.RECORD_STOP, 1) + bytes(10)).status == 1  # padding ok


def test_fpga_config_from_chirp_follows_lanes_and_bits() -> None:
    c18 = FpgaConfig.from_chirp(CFG_1843)
    assert (c18.log_mode, c18.lvds_mode, c18.transfer_mode, c18.capture_mode) == (
        LogMode.RAW,
        LvdsMode.TWO_LANE,
        TransferMode.LVDS_CAPTURE,
        CaptureMode.ETHERNET,
    )
    assert c18.data_format == DataFormat.BITS_16
    c14 = FpgaConfig.from_chirp(load_cfg("iwr1443boost_raw_activity").chirp)
    assert c14.lvds_mode == LvdsMode.FOUR_LANE
    c12 = FpgaConfig.from_chirp(CFG_1843.model_copy(update={"adc_bits": 12}))
    assert c12.data_format == DataFormat.BITS_12 and c12.to_bytes()[4] == 1
    assert FpgaConfig.from_bytes(c18.to_bytes()) == c18
    with pytest.raises(ValueError, match="not a valid LvdsMode"):
        FpgaConfig.from_bytes(bytes([1, 3, 1, 2, 3, 30]))


def test_version_eeprom_and_async_words() -> None:
    assert FpgaVersion.from_status(0x0402) == FpgaVersion(2, 8)
    assert FpgaVersion.from_status(0x4000 | 0x0402).playback
    assert FpgaVersion(2, 8).to_status() == 0x0402
    eeprom = EepromConfig(host_ip="192.168.33.30", fpga_ip="192.168.33.180")
    raw = eeprom.to_bytes()
    assert raw[:8] == bytes([30, 33, 168, 192, 180, 33, 168, 192])  # each address byte-reversed
    assert EepromConfig.from_bytes(raw) == eeprom
    assert describe_async(0x0100) == "RECORD_COMPLETED"
    assert describe_async(0x0201) == "NO_LVDS_DATA|LVDS_BUFFER_FULL"
    with pytest.raises(ValueError, match="packet delay"):
        PacketConfig(2.0).to_bytes()


# ---------------------------------------------------------------------------- client vs fake
def test_configure_start_stop_against_the_fake() -> None:
    with FakeDCA1000() as fake, client(fake) as ctl:
        version = ctl.configure(CFG_1843, packet_delay_us=10.0)
        ctl.record_start()
        ctl.record_stop()
        assert version == FpgaVersion(2, 8)
        assert [c for c, _ in fake.commands] == [
            Command.SYSTEM_CONNECT,
            Command.RESET_FPGA,
            Command.READ_FPGA_VERSION,
            Command.CONFIG_FPGA_GEN,
            Command.CONFIG_PACKET_DATA,
            Command.RECORD_START,
            Command.RECORD_STOP,
        ]
        assert fake.fpga_config == FpgaConfig.from_chirp(CFG_1843)
        assert fake.packet_config == PacketConfig(10.0)
        # the recording (of nothing) ended: the FPGA reports it asynchronously
        events = ctl.poll_async(timeout_s=1.0)
        assert [e.status for e in events] == [AsyncStatus.RECORD_COMPLETED]


def test_timeout_when_nothing_answers() -> None:
    with FakeDCA1000(mute={Command.SYSTEM_CONNECT}) as fake:
        ctl = client(fake, timeout_s=0.05, retries=2)
        with ctl:
            t0 = time.monotonic()
            with pytest.raises(
                DCA1000Timeout, match=r"SYSTEM_CONNECT: no reply .* after 3 attempt"
            ):
                ctl.system_connect()
            assert time.monotonic() - t0 < 1.0
        assert [c for c, _ in fake.commands] == [Command.SYSTEM_CONNECT] * 3


def test_timeout_with_no_peer_at_all() -> None:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))  # a port that reads nothing and answers nothing
    try:
        ctl = DCA1000Control(
            fpga_ip="127.0.0.1",
            fpga_port=probe.getsockname()[1],
            host_ip="127.0.0.1",
            host_port=0,
            timeout_s=0.05,
            retries=0,
        )
        with ctl, pytest.raises(TimeoutError, match="READ_FPGA_VERSION"):
            ctl.read_fpga_version()
    finally:
        probe.close()


def test_lost_reply_is_retried() -> None:
    with FakeDCA1000(drop_replies=1) as fake, client(fake, timeout_s=0.1, retries=1) as ctl:
        ctl.reset_fpga()
        assert [c for c, _ in fake.commands] == [Command.RESET_FPGA] * 2


def test_bad_status_is_a_readable_error() -> None:
    with FakeDCA1000(status_overrides={Command.CONFIG_FPGA_GEN: 1}) as fake, client(fake) as ctl:
        with pytest.raises(
            DCA1000Error,
            match=r"CONFIG_FPGA_GEN failed: status 1 \(the FPGA rejected the command\)",
        ):
            ctl.configure(CFG_1843)


def test_fake_rejects_a_bad_payload_like_the_fpga() -> None:
    with FakeDCA1000() as fake, client(fake) as ctl:
        with pytest.raises(DCA1000Error, match="CONFIG_FPGA_GEN failed: status 1"):
            ctl.command(Command.CONFIG_FPGA_GEN, bytes([1, 9, 1, 2, 3, 30]))
        assert ctl.command(Command.PLAYBACK_START, check=False) == 1


def test_async_status_between_commands_is_kept() -> None:
    with FakeDCA1000() as fake, client(fake) as ctl:
        ctl.system_connect()
        fake.send_async(AsyncStatus.LVDS_BUFFER_FULL)
        time.sleep(0.05)
        ctl.reset_fpga()  # reads the async packet while waiting for its own reply
        assert [e.status for e in ctl.async_events] == [AsyncStatus.LVDS_BUFFER_FULL]
        assert ctl.poll_async()[0].status == AsyncStatus.LVDS_BUFFER_FULL
        assert not ctl.async_events


def test_constructors_open_nothing_and_close_is_idempotent() -> None:
    ctl = DCA1000Control()  # factory addresses; nothing is bound
    src = DCA1000Source(RC_1843)
    src.close()
    src.close()
    ctl.close()
    with pytest.raises(DCA1000Error, match="not open"):
        ctl.system_connect()


def test_source_open_fails_cleanly_on_a_bad_status() -> None:
    with FakeDCA1000(status_overrides={Command.RECORD_START: 1}) as fake:
        ctl = client(fake)
        src = DCA1000Source(RC_1843, host_ip="127.0.0.1", data_port=0, control=ctl)
        with pytest.raises(DCA1000Error, match="RECORD_START failed: status 1"):
            src.open()
        with pytest.raises(DCA1000Error, match="not open"):
            _ = src.data_address
