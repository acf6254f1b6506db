"""The daemon's YAML config: the example loads, every error names its key path and line, secrets come
from the environment, and `mmfm run --validate-config` prints ok or the errors."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from pydantic import BaseModel

import mmfm.cli
from firmware_cfg.profiles import profile_path
from runtime.comms.settings import MqttSettings, ZeroMqSettings
from runtime.config import (
    ConfigError,
    EventLogSettings,
    LoggingSettings,
    MmfmConfig,
    QueueSettings,
    RadarSettings,
    StatsSettings,
    WatchdogSettings,
    load_config,
    parse_config,
)
from runtime.events.settings import EventSettings
from runtime.questions.settings import QuestionSettings
from runtime.sources.dca1000 import Dca1000SourceSettings
from runtime.sources.replay import ReplaySourceSettings
from runtime.sources.uart import SerialSourceSettings
from runtime.web.settings import WebSettings

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "runtime" / "examples" / "mmfm.yaml"

MINIMAL = """\
radars:
  hall:
    chirp_config: iwr1843boost_presence
    source:
      type: serial
      cli_port: /dev/ttyACM0
      data_port: /dev/ttyACM1
"""


def errors(text: str, tmp_path: Path, name: str = "mmfm.yaml", **env: str) -> list[str]:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, env=env)
    return [str(i) for i in info.value.issues]


def cli_main(argv: list[str]) -> int:
    """`mmfm.cli.main` with the run subcommand listed (until the CLI lists it itself)."""
    if "mmfm.commands.run" not in mmfm.cli.SUBCOMMANDS:
        saved = mmfm.cli.SUBCOMMANDS
        mmfm.cli.SUBCOMMANDS = (*saved, "mmfm.commands.run")
        try:
            return mmfm.cli.main(argv)
        finally:
            mmfm.cli.SUBCOMMANDS = saved
    return mmfm.cli.main(argv)


# ---------------------------------------------------------------------------- the example
def test_example_config_loads_with_every_source_type() -> None:
    cfg = load_config(EXAMPLE, env={})
    assert set(cfg.radars) == {"living_room", "bedroom", "den_replay"}
    types = {rid: r.source.type for rid, r in cfg.radars.items()}
    assert types == {"living_room": "serial", "bedroom": "dca1000", "den_replay": "replay"}
    assert list(cfg.enabled_radars) == ["living_room"]
    assert cfg.radars["living_room"].radar_config.chirp.board == "IWR1843BOOST"
    # the replay's chirp config defaults to the .cfg beside the capture
    assert cfg.radars["den_replay"].chirp_config.endswith("two_people_iwr1843.cfg")
    assert cfg.radars["den_replay"].source.path == str(EXAMPLE.parent / "two_people_iwr1843.bin")
    assert [z.name for z in cfg.radars["living_room"].events.zones] == ["sofa", "door"]
    assert cfg.mqtt is not None and cfg.mqtt.host == "127.0.0.1"  # ${MMFM_MQTT_HOST:-127.0.0.1}


def _fields(model: type[BaseModel], seen: set[type]) -> set[str]:
    out: set[str] = set()
    if model in seen:
        return out
    seen.add(model)
    for name, field in model.model_fields.items():
        out.add(name)
        for sub in _models_in(field.annotation):
            out |= _fields(sub, seen)
    return out


def _models_in(annotation: object) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for a in getattr(annotation, "__args__", ()) for m in _models_in(a)]


def test_example_documents_every_option() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    keys = set(re.findall(r"^\s*(?:#\s*)?(?:- )?([a-z_0-9]+):", text, flags=re.M))
    models = (
        MmfmConfig,
        MqttSettings,
        ZeroMqSettings,
        EventLogSettings,
        LoggingSettings,
        WatchdogSettings,
        StatsSettings,
        RadarSettings,
        SerialSourceSettings,
        Dca1000SourceSettings,
        ReplaySourceSettings,
        QueueSettings,
        EventSettings,
        WebSettings,
        QuestionSettings,
    )
    seen: set[type] = set()
    wanted = set().union(*(_fields(m, seen) for m in models))
    assert not wanted - keys, f"options missing from {EXAMPLE.name}: {sorted(wanted - keys)}"


def test_every_field_has_a_title_or_description() -> None:
    seen: set[type] = set()
    for model in (MmfmConfig, RadarSettings):
        _fields(model, seen)
    ours = [m for m in seen if m.__module__ == "runtime.config"]
    assert ours
    for model in ours:
        for name, field in model.model_fields.items():
            assert field.title and field.description, f"{model.__name__}.{name}"


# ---------------------------------------------------------------------------- error classes
def test_unknown_key_names_path_and_line(tmp_path: Path) -> None:
    text = MINIMAL.replace("      data_port: /dev/ttyACM1\n", "      data_prot: /dev/ttyACM1\n")
    assert errors(text, tmp_path) == [
        f"{tmp_path / 'mmfm.yaml'}:7: radars.hall.source.data_prot: unknown key "
        "(not allowed here; check the spelling against the example config)"
    ]


def test_missing_key_is_reported_on_its_parents_line(tmp_path: Path) -> None:
    text = """\
    radars:
      hall:
        chirp_config: iwr1843boost_presence
        source:
          type: replay
          realtime: false
    """
    (msg,) = errors(text, tmp_path)
    assert msg.endswith(":4: radars.hall.source.path: required key missing")


def test_missing_radars_section(tmp_path: Path) -> None:
    (msg,) = errors("logging: {level: INFO}\n", tmp_path)
    assert msg.endswith(": radars: required key missing")


def test_wrong_type_and_bad_enum(tmp_path: Path) -> None:
    text = MINIMAL + "logging:\n  format: xml\nwatchdog:\n  stall_timeout_s: soon\n"
    msgs = errors(text, tmp_path)
    assert len(msgs) == 2
    assert msgs[0].endswith(":9: logging.format: Input should be 'text' or 'json'")
    assert ":11: watchdog.stall_timeout_s: Input should be a valid number" in msgs[1]


def test_unknown_source_type_lists_the_known_ones(tmp_path: Path) -> None:
    text = MINIMAL.replace("type: serial", "type: usb")
    (msg,) = errors(text, tmp_path)
    assert ":4: radars.hall.source: " in msg
    assert "'serial', 'dca1000', 'replay'" in msg


def test_unknown_board(tmp_path: Path) -> None:
    text = MINIMAL.replace("  hall:\n", "  hall:\n    board: IWR9999\n")
    (msg,) = errors(text, tmp_path)
    assert ":3: radars.hall.board: unknown board 'IWR9999'; known boards: " in msg
    assert "IWR1843BOOST" in msg


def test_bad_chirp_config_passes_firmware_cfg_file_and_line_through(tmp_path: Path) -> None:
    lines = profile_path("iwr1843boost_presence").read_text(encoding="utf-8").splitlines()
    bad_line = next(i for i, line in enumerate(lines, 1) if line.startswith("profileCfg"))
    fields = lines[bad_line - 1].split()
    fields[5] = "500"  # a slope no board can do [MHz/us]
    lines[bad_line - 1] = " ".join(fields)
    (tmp_path / "mine.cfg").write_text("\n".join(lines) + "\n", encoding="utf-8")
    text = MINIMAL.replace("iwr1843boost_presence", "mine.cfg")
    (msg,) = errors(text, tmp_path)
    head, *cfg_errors = msg.splitlines()
    assert head.endswith(":3: radars.hall.chirp_config: chirp config mine.cfg has errors:")
    assert any(e.startswith(f"{tmp_path / 'mine.cfg'}:{bad_line}: ") for e in cfg_errors), msg


def test_missing_chirp_config_file(tmp_path: Path) -> None:
    (msg,) = errors(MINIMAL.replace("iwr1843boost_presence", "nowhere.cfg"), tmp_path)
    assert ":3: radars.hall.chirp_config: nowhere.cfg: no such file or bundled profile" in msg


def test_chirp_config_required_for_live_sources(tmp_path: Path) -> None:
    text = MINIMAL.replace("    chirp_config: iwr1843boost_presence\n", "")
    (msg,) = errors(text, tmp_path)
    assert msg.endswith(": radars.hall.chirp_config: required for a serial source")


def test_bad_radar_id_duplicate_key_and_yaml_syntax(tmp_path: Path) -> None:
    (msg,) = errors(MINIMAL.replace("  hall:", "  hall/2:"), tmp_path)
    assert "radars: radar ids may hold letters" in msg
    dup = MINIMAL + "logging: {level: INFO}\nlogging: {level: DEBUG}\n"
    (msg,) = errors(dup, tmp_path)
    assert msg.endswith(":9: logging: duplicate key (first on line 8)")
    (msg,) = errors("radars:\n  hall: [\n", tmp_path)
    assert "YAML syntax error" in msg and re.search(r"mmfm\.yaml:\d+: ", msg)


def test_events_mounting_belongs_to_the_radar(tmp_path: Path) -> None:
    text = MINIMAL + "    events:\n      mounting: {height_m: 2.0}\n"
    (msg,) = errors(text, tmp_path)
    assert ":8: radars.hall.events: set the mounting under the radar" in msg


def test_event_settings_errors_pass_through_with_lines(tmp_path: Path) -> None:
    text = MINIMAL + "    events:\n      occupancy:\n        hold_s: -1\n        colour: red\n"
    msgs = errors(text, tmp_path)
    assert any(
        m.endswith(":10: radars.hall.events.occupancy.hold_s: Input should be greater than 0")
        for m in msgs
    )
    assert any(":11: radars.hall.events.occupancy.colour: unknown key" in m for m in msgs)


# ---------------------------------------------------------------------------- secrets
def test_password_comes_from_the_environment_and_is_never_printed(tmp_path: Path) -> None:
    text = MINIMAL + "mqtt:\n  username: mmfm\n  password_env: MMFM_MQTT_PASSWORD\n"
    (msg,) = errors(text, tmp_path)
    assert msg.endswith(": mqtt.password_env: environment variable MMFM_MQTT_PASSWORD is not set")
    path = tmp_path / "mmfm.yaml"
    cfg = load_config(path, env={"MMFM_MQTT_PASSWORD": "hunter2"})
    assert cfg.mqtt is not None and cfg.mqtt.password_env == "MMFM_MQTT_PASSWORD"
    assert "hunter2" not in cfg.model_dump_json()


def test_env_substitution(tmp_path: Path) -> None:
    text = MINIMAL + "mqtt:\n  host: ${BROKER}\n  topic_prefix: ${PREFIX:-home}\n"
    path = tmp_path / "mmfm.yaml"
    path.write_text(text, encoding="utf-8")
    cfg = load_config(path, env={"BROKER": "hub.local"})
    assert cfg.mqtt is not None and (cfg.mqtt.host, cfg.mqtt.topic_prefix) == ("hub.local", "home")
    (msg,) = errors(text, tmp_path)
    assert msg.endswith(":9: mqtt.host: environment variable BROKER is not set")


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    text = MINIMAL + "event_log:\n  path: state/events.db\n"
    cfg = parse_config(text, source="x.yaml", base_dir=tmp_path, env={})
    assert cfg.event_log.path == str(tmp_path / "state" / "events.db")


# ---------------------------------------------------------------------------- --validate-config
def test_validate_config_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "mmfm.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    assert cli_main(["run", "--config", str(path), "--validate-config"]) == 0
    assert capsys.readouterr().out == "ok\n"
    assert cli_main(["run", "--config", str(EXAMPLE), "--validate-config"]) == 0


def test_validate_config_errors_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "mmfm.yaml"
    path.write_text(
        MINIMAL.replace("type: serial", "type: serial\n      speed: 2"), encoding="utf-8"
    )
    assert cli_main(["run", "--config", str(path), "--validate-config"]) == 1
    out = capsys.readouterr()
    assert out.out == ""
    assert "1 error(s)" in out.err
    assert f"{path}:6: radars.hall.source.speed: unknown key" in out.err
    assert cli_main(["run", "--config", str(tmp_path / "absent.yaml"), "--validate-config"]) == 1
    assert "cannot read" in capsys.readouterr().err


# ---------------------------------------------------------------------------- hostile files
ALIAS_BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9 if prev else ['lol'] * 9)}]\n"
    for prev, name in zip(["", *"abcdefgh"], "abcdefghi", strict=True)
)


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("binary", bytes(range(256)) * 12, "not UTF-8 text (byte 0x80 at offset 128)"),
        ("deep list", b"radars: " + b"[" * 5000 + b"]" * 5000, ":1: refused: nested deeper than"),
        ("deep map", b"radars: " + b"{a: " * 3000 + b"1" + b"}" * 3000, "nested deeper than"),
        ("alias bomb", ALIAS_BOMB.encode(), "values once YAML aliases are expanded"),
        ("recursive alias", b"radars: &r [*r]\n", "refers to a node that contains it"),
        ("huge number", b"radars: " + b"7" * 5000 + b"\n", "a number too long to read"),
        ("mapping as key", b"? {a: 1}\n: 2\n", ":1: refused: a mapping key must be"),
        ("NUL byte", b"radars:\x00\n", "YAML error: unacceptable character #x0000"),
    ],
)
def test_hostile_config_files_are_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: bytes, expected: str
) -> None:
    assert len(ALIAS_BOMB) < 400  # the issue's 400-byte bomb took 14 s to validate
    path = tmp_path / "x.yaml"
    path.write_bytes(content)
    assert cli_main(["run", "--config", str(path), "--validate-config"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "mmfm run: 1 error(s) in the config:"
    assert len(err) == 2 and expected in err[1] and err[1].startswith(f"  {path}")
    # the daemon's start reads the file the same way
    assert cli_main(["run", "--config", str(path)]) == 1
    assert expected in capsys.readouterr().err


def test_a_few_aliases_and_merge_keys_still_work(tmp_path: Path) -> None:
    text = (
        MINIMAL.replace("    source:\n", "    source: &src\n")
        + "  den:\n    chirp_config: iwr1843boost_presence\n    source:\n      <<: *src\n"
    )
    cfg = parse_config(text, source="x.yaml", env={})
    assert cfg.radars["den"].source == cfg.radars["hall"].source


def test_replay_capture_must_exist(tmp_path: Path) -> None:
    text = """\
    radars:
      den:
        chirp_config: iwr1843boost_presence
        source:
          type: replay
          path: captures/gone.bin
    """
    (msg,) = errors(text, tmp_path)
    gone = tmp_path / "captures" / "gone.bin"
    assert msg.endswith(
        f":6: radars.den.source.path: {gone}: no such capture (file or recording directory)"
    )


def test_zeromq_endpoints_are_checked_with_their_key(tmp_path: Path) -> None:
    for endpoint, expected in [
        ("tcp://127.0.0.1:70000", "port 70000 in 'tcp://127.0.0.1:70000' is outside 1-65535"),
        ("tcp://127.0.0.1:0", "port 0 in"),
        ("tcp://127.0.0.1", "'tcp://127.0.0.1' is not tcp://HOST:PORT, ipc://PATH or inproc://"),
        ("udp://127.0.0.1:5556", "'udp://127.0.0.1:5556' is not tcp://HOST:PORT"),
        ("ipc://", "'ipc://' names no path"),
    ]:
        (msg,) = errors(MINIMAL + f'zeromq:\n  pub_endpoint: "{endpoint}"\n', tmp_path)
        assert f":9: zeromq.pub_endpoint: {expected}" in msg, msg
    for ok in ("tcp://127.0.0.1:65535", "tcp://127.0.0.1:*", "ipc:///tmp/mmfm.pub", "inproc://x"):
        cfg = parse_config(MINIMAL + f'zeromq:\n  pub_endpoint: "{ok}"\n', env={})
        assert cfg.zeromq is not None and cfg.zeromq.pub_endpoint == ok
