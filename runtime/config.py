"""The daemon's YAML configuration (``mmfm run --config mmfm.yaml``): one validated pydantic tree.

Every model rejects unknown keys (``extra="forbid"``) and has a title and a description on every field
(``runtime/examples/mmfm.yaml`` documents each one). :func:`load_config` reads the YAML with node line
numbers, so every problem is reported as ``FILE:LINE: key.path: message``::

    mmfm.yaml:12: radars.living_room.source.data_port: Field required
    mmfm.yaml:30: radars.hall.chirp_config: mmfm.cfg:7: profileCfg: ...   (firmware_cfg's file:line)

Secrets never live in the file: ``mqtt.password_env`` names an environment variable, and any string
value may use ``${VAR}`` (or ``${VAR:-default}``), substituted from the environment at load time; a
missing variable is an error naming the key and its line, never its value.

Layout (see :class:`MmfmConfig`): ``mqtt``, ``zeromq`` (publishers, optional), ``event_log``,
``logging``, ``watchdog``, ``stats`` and ``radars`` (id -> :class:`RadarSettings` with a ``source``
picked by its ``type``: ``serial``, ``dca1000`` or ``replay``; each source type's settings model lives
beside its code, see :mod:`runtime.sources.registry`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Self

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from firmware_cfg import CfgError, RadarConfig, get_board, load_cfg
from runtime.comms.settings import MqttSettings, RadarInfo, ZeroMqSettings
from runtime.events.settings import EventSettings, Mounting
from runtime.questions.settings import QuestionSettings
from runtime.sources.registry import SOURCE_TYPES, SourceSettings
from runtime.web.settings import WebSettings

__all__ = [
    "ActivitySettings",
    "ConfigError",
    "ConfigIssue",
    "EventLogSettings",
    "LoggingSettings",
    "MmfmConfig",
    "QueueSettings",
    "RadarSettings",
    "StatsSettings",
    "WatchdogSettings",
    "load_config",
    "parse_config",
]

_STRICT = ConfigDict(extra="forbid", frozen=True)
_RADAR_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


# ---------------------------------------------------------------------------- errors
@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a config file.

    Attributes:
        file: the config file (or ``"<string>"``).
        line: 1-based line of the key (of its parent when the key is missing); 0 = unknown.
        path: dotted key path, e.g. ``radars.hall.source.data_port`` ("" for the whole file).
        message: what is wrong.
    """

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(ValueError):
    """Every problem found in one config file (``issues``, in line order)."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = sorted(issues, key=lambda i: (i.line, i.path))
        super().__init__("\n".join(str(i) for i in self.issues))


# ---------------------------------------------------------------------------- sections
class QueueSettings(BaseModel):
    """Bounded queues between a radar's threads; when one is full the oldest frame is dropped
    (and counted in the stats)."""

    model_config = _STRICT

    capture: int = Field(
        default=4,
        ge=1,
        le=1024,
        title="Capture queue",
        description="frames waiting between capture and DSP (a raw AWR1843 frame is 3 MiB)",
    )
    detections: int = Field(
        default=16,
        ge=1,
        le=4096,
        title="Detections queue",
        description="processed frames waiting between DSP and the event engine",
    )


class RadarSettings(BaseModel):
    """One radar: its chirp profile, where its frames come from, where it hangs, its events."""

    model_config = _STRICT

    name: str | None = Field(
        default=None,
        title="Display name",
        description="shown in Home Assistant (default: the radar id)",
    )
    enabled: bool = Field(
        default=True, title="Enabled", description="false: keep the section but do not run it"
    )
    board: str | None = Field(
        default=None,
        title="Board",
        description="TI board (IWR1843BOOST, IWR6843ISK, ...); default: the chirp config's "
        "'% mmfm-board:' line",
    )
    source: SourceSettings = Field(
        title="Source",
        description="where frames come from; 'type' picks the source type: "
        + ", ".join(SOURCE_TYPES),
    )
    chirp_config: str | None = Field(
        default=None,
        validate_default=True,
        title="Chirp config",
        description="bundled profile name (iwr1843boost_presence, ...) or .cfg path (relative to "
        "this file); checked at load time. Replay only: default = the .cfg beside the capture",
    )
    mounting: Mounting = Field(
        default_factory=Mounting,
        title="Mounting",
        description="antenna height above the floor [m] and downward tilt [deg]",
    )
    events: EventSettings = Field(
        default_factory=EventSettings,
        title="Events",
        description="tracking, occupancy, zones, count, vitals, falls (mounting goes above)",
    )
    queues: QueueSettings = Field(
        default_factory=QueueSettings, title="Queues", description="bounded queue sizes"
    )
    stall_timeout_s: float | None = Field(
        default=None,
        gt=0,
        title="Stall timeout",
        description="this radar's watchdog.stall_timeout_s (null = the global one)",
    )
    _radar_config: RadarConfig | None = PrivateAttr(default=None)

    @field_validator("board")
    @classmethod
    def _known_board(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            return get_board(value).name
        except KeyError as exc:
            raise ValueError(str(exc.args[0])) from None

    @field_validator("events")
    @classmethod
    def _no_events_mounting(cls, value: EventSettings) -> EventSettings:
        if "mounting" in value.model_fields_set:
            raise ValueError("set the mounting under the radar (radars.<id>.mounting), not events")
        return value

    @field_validator("chirp_config")
    @classmethod
    def _check_chirp(cls, value: str | None, info: ValidationInfo) -> str | None:
        # runs after board and source (field order), so both are in info.data when valid
        if "source" not in info.data or "board" not in info.data:
            return value  # their own errors are reported; the chirp config cannot be resolved
        base = Path((info.context or {}).get("base_dir", "."))
        source = info.data["source"]
        if value is None:
            value = source.default_chirp_config()  # ValueError: the source type has none
        target = _resolve(base, value) if Path(base, value).exists() else value
        try:
            load_cfg(target, board=info.data["board"])
        except CfgError as exc:
            raise ValueError(f"chirp config {value} has errors:\n{exc}") from None
        except FileNotFoundError as exc:
            raise ValueError(str(exc)) from None
        except KeyError as exc:  # an unknown board named inside the .cfg
            raise ValueError(f"chirp config {value}: {exc.args[0]}") from None
        return target

    @model_validator(mode="after")
    def _parse_chirp(self) -> Self:
        assert self.chirp_config is not None
        self._radar_config = load_cfg(self.chirp_config, board=self.board)
        return self

    @property
    def radar_config(self) -> RadarConfig:
        """The parsed chirp configuration (validated at load time)."""
        assert self._radar_config is not None
        return self._radar_config


def _resolve(base: Path, path: str) -> str:
    p = Path(os.path.expanduser(path))
    return str(p if p.is_absolute() else base / p)


class EventLogSettings(BaseModel):
    """The local SQLite event log (events survive restarts and can be queried)."""

    model_config = _STRICT

    enabled: bool = Field(default=True, title="Enabled", description="keep an event log")
    path: str = Field(
        default="/var/lib/mmfm/events.db",
        min_length=1,
        title="Database file",
        description="SQLite file (created with its folder; relative = beside this config file)",
    )
    retention_days: float = Field(
        default=30.0, gt=0, title="Retention", description="keep events this many days [days]"
    )
    max_rows: int = Field(
        default=1_000_000, ge=1, title="Row limit", description="keep at most this many events"
    )
    exclude_types: tuple[str, ...] = Field(
        default=("tracks",),
        title="Types not logged",
        description="event types not stored (tracks come every second while someone is there)",
    )


class ActivitySettings(BaseModel):
    """Learned activity events: the CLMP encoder on sliding windows, zero-shot over a label set.

    Opt-in (``enabled: false`` by default): the encoder costs a CPU core on a small hub. It runs in
    its own thread behind a bounded queue, so it never delays occupancy or fall events.
    """

    model_config = _STRICT

    enabled: bool = Field(
        default=False, title="Enabled", description="embed windows and publish activity events"
    )
    model: str | None = Field(
        default=None,
        title="Model",
        description="model name or folder (mmfm models list); null = the shipped default",
    )
    precision: Literal["int8", "fp32"] = Field(
        default="int8", title="Precision", description="encoder weights (int8 is ~4x smaller)"
    )
    threads: int = Field(
        default=1, ge=1, le=64, title="Threads", description="ONNX Runtime intra-op threads"
    )
    labels: str | list[str] = Field(
        default="home",
        title="Labels",
        description="a label set shipped with the model (e.g. home, radhar), or a list of free "
        "labels (needs a model with a text tower: mmfm export onnx --text)",
    )
    prompt_templates: list[str] | None = Field(
        default=None,
        title="Prompt templates",
        description="how each label is put into words for zero-shot, '{}' standing for the "
        "label (e.g. ['a person is {}', 'someone is {}']); the prototypes average them. null = "
        "the model card's (other templates need the model's text tower)",
    )
    per: Literal["track", "radar"] = Field(
        default="track",
        title="Windows per",
        description="'track': each tracked person gets windows of their own points, and activity "
        "events per track, per zone and per radar; 'radar': one window of the whole cloud "
        "(a single-person room, or sources without tracks)",
    )
    track_radius_m: float = Field(
        default=0.8,
        gt=0,
        le=5,
        title="Track radius",
        description="points within this floor distance of a track are its window's [m] "
        "(per: track)",
    )
    stride_s: float = Field(
        default=0.5,
        gt=0,
        le=60,
        title="Stride",
        description="embed a window every this many seconds of radar time [s]",
    )
    queue: int = Field(
        default=4,
        ge=1,
        le=1000,
        title="Queue",
        description="windows waiting for the encoder; when full the oldest is dropped (counted)",
    )
    min_confidence: float | None = Field(
        default=None,
        ge=0,
        le=1,
        title="Minimum confidence",
        description="a label must reach this probability to become the activity; null = twice "
        "the chance level, 2 / number of labels (0.1 for the 20 home labels, 0.4 for 5)",
    )
    margin: float = Field(
        default=0.1,
        ge=0,
        le=1,
        title="Hysteresis margin",
        description="a new label must beat the current one by this much probability",
    )
    min_duration_s: float = Field(
        default=1.0,
        ge=0,
        title="Minimum duration",
        description="a new label must hold this long (radar time) before it is published [s]",
    )
    min_points: int = Field(
        default=8,
        ge=0,
        title="Minimum points",
        description="windows with fewer points (an empty room) are not embedded",
    )
    log_embeddings: bool = Field(
        default=True,
        title="Log embeddings",
        description="store window embeddings in the event log's database (mmfm search)",
    )
    embedding_retention_days: float = Field(
        default=7.0, gt=0, title="Embedding retention", description="keep embeddings [days]"
    )
    embedding_max_rows: int = Field(
        default=200_000,
        ge=1,
        title="Embedding row limit",
        description="keep at most this many embeddings (about 1 kB each)",
    )

    @field_validator("prompt_templates")
    @classmethod
    def _templates(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("give at least one template, or null for the model card's")
        for t in value:
            if t.count("{}") != 1 or "{" in t.replace("{}", "") or "}" in t.replace("{}", ""):
                raise ValueError(f"template {t!r} must hold '{{}}' (the label) exactly once")
        return value

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, str):
            if not value.strip():
                raise ValueError("a label set name must not be empty")
            return value
        if len(value) < 2:
            raise ValueError("give at least two labels (zero-shot picks one of them)")
        if any(not v.strip() for v in value) or len(set(value)) != len(value):
            raise ValueError("labels must be non-empty and distinct")
        return value


class LoggingSettings(BaseModel):
    """The daemon's logs (stderr; journald under systemd)."""

    model_config = _STRICT

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", title="Level", description="least severe level shown"
    )
    format: Literal["text", "json"] = Field(
        default="text",
        title="Format",
        description="'text' for people, 'json' for one JSON object per line (log shippers)",
    )
    repeat_interval_s: float = Field(
        default=60.0,
        ge=0,
        title="Repeat interval",
        description="an identical warning or error is shown at most once per this [s], with a "
        "count of those suppressed (0 = show every one)",
    )

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class WatchdogSettings(BaseModel):
    """Restarts a source that delivers no frame for a while (unplugged cable, crashed firmware)."""

    model_config = _STRICT

    stall_timeout_s: float = Field(
        default=5.0,
        gt=0,
        title="Stall timeout",
        description="a source without a frame for this long is closed and restarted [s] (at "
        "least 3 frame periods are allowed)",
    )
    check_interval_s: float = Field(
        default=0.5, gt=0, title="Check interval", description="how often the watchdog looks [s]"
    )
    restart_backoff_s: float = Field(
        default=1.0,
        gt=0,
        title="Restart backoff",
        description="wait before the first restart [s]; doubles after each failed one",
    )
    restart_backoff_max_s: float = Field(
        default=60.0, gt=0, title="Maximum backoff", description="the wait stops doubling here [s]"
    )

    @model_validator(mode="after")
    def _order(self) -> Self:
        if self.restart_backoff_max_s < self.restart_backoff_s:
            raise ValueError("restart_backoff_max_s must not be below restart_backoff_s")
        return self


class StatsSettings(BaseModel):
    """Periodic pipeline statistics (frames, drops, latency, CPU, memory) to the publishers."""

    model_config = _STRICT

    interval_s: float = Field(
        default=10.0,
        gt=0,
        title="Interval",
        description="hand the stats to the publishers this often [s] (MQTT sends them every "
        "mqtt.stats_interval_s)",
    )
    latency_window: int = Field(
        default=1000,
        ge=10,
        title="Latency window",
        description="latency percentiles are over this many latest frames",
    )


class MmfmConfig(BaseModel):
    """The whole daemon configuration (``mmfm run --config mmfm.yaml``)."""

    model_config = _STRICT

    mqtt: MqttSettings | None = Field(
        default=None,
        title="MQTT",
        description="MQTT publisher and Home Assistant discovery (null/absent = off)",
    )
    zeromq: ZeroMqSettings | None = Field(
        default=None, title="ZeroMQ", description="ZeroMQ PUB + state requests (absent = off)"
    )
    web: WebSettings | None = Field(
        default=None,
        title="Web view",
        description="the live web page (absent/null = off; loopback unless a token is set)",
    )
    event_log: EventLogSettings = Field(
        default_factory=EventLogSettings, title="Event log", description="the SQLite event log"
    )
    activities: ActivitySettings = Field(
        default_factory=ActivitySettings,
        title="Activities",
        description="learned activity events and the embedding log (opt-in)",
    )
    questions: QuestionSettings | None = Field(
        default=None,
        title="Questions",
        description="answer questions with the mm-LLM over MQTT, ZeroMQ and the web view "
        "(absent/null = off; needs the mmfm[llm] extra)",
    )
    logging: LoggingSettings = Field(
        default_factory=LoggingSettings, title="Logging", description="log level and format"
    )
    watchdog: WatchdogSettings = Field(
        default_factory=WatchdogSettings, title="Watchdog", description="stalled-source restarts"
    )
    stats: StatsSettings = Field(
        default_factory=StatsSettings, title="Stats", description="periodic pipeline statistics"
    )
    radars: dict[str, RadarSettings] = Field(
        min_length=1, title="Radars", description="radar id -> radar; ids name MQTT topics"
    )
    keep_running: bool = Field(
        default=False,
        title="Keep running",
        description="stay up after every radar's source has ended (replays without loop); "
        "false: the daemon exits with status 0 once the last frame is processed "
        "(mmfm run --keep-running sets it)",
    )

    @field_validator("radars")
    @classmethod
    def _ids(cls, value: dict[str, RadarSettings]) -> dict[str, RadarSettings]:
        bad = [k for k in value if not _RADAR_ID.match(k)]
        if bad:
            raise ValueError(
                f"radar ids may hold letters, digits, '_' and '-' only (1-64 chars): {bad}"
            )
        return value

    @model_validator(mode="after")
    def _secrets(self, info: ValidationInfo) -> Self:
        env = (info.context or {}).get("env", os.environ)
        if self.mqtt is not None and self.mqtt.password_env:
            if self.mqtt.password_env not in env:
                raise ValueError(
                    f"mqtt.password_env: environment variable {self.mqtt.password_env} is not set"
                )
        if self.web is not None and self.web.token_env:
            if not env.get(self.web.token_env):
                raise ValueError(
                    f"web.token_env: environment variable {self.web.token_env} is not set or empty"
                )
        return self

    @property
    def enabled_radars(self) -> dict[str, RadarSettings]:
        """The radars to run."""
        return {k: r for k, r in self.radars.items() if r.enabled}

    def radar_infos(self) -> list[RadarInfo]:
        """What the publishers need about each enabled radar."""
        return [
            RadarInfo(
                id=rid,
                name=r.name or rid,
                board=r.radar_config.chirp.board,
                zones=tuple(z.name for z in r.events.zones),
            )
            for rid, r in self.enabled_radars.items()
        ]


# ---------------------------------------------------------------------------- YAML limits
#: Deepest nesting of a config (aliases expanded); mmfm's own configs are about 6 deep.
MAX_YAML_DEPTH = 50
#: Most values (scalars, lists, mappings) a config may hold once its aliases are expanded.
MAX_YAML_VALUES = 100_000
#: Most alias uses (``*name``) in one config.
MAX_YAML_ALIASES = 100


class _Refused(Exception):
    """A YAML document past the limits above (line 0 = unknown)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


class _GuardedLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses deep nesting and many aliases while composing, before its
    recursive composer can hit Python's recursion limit."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        mark = self.peek_event().start_mark
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_YAML_ALIASES:
                raise _Refused(mark.line + 1, f"more than {MAX_YAML_ALIASES} YAML aliases")
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise _Refused(mark.line + 1, f"nested deeper than {MAX_YAML_DEPTH} levels")
            return super().compose_node(parent, index)  # type: ignore[no-untyped-call]
        finally:
            self._depth -= 1


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a node graph that aliases make too large, too deep or recursive (a "billion laughs"
    bomb), in time linear in the number of distinct nodes.

    Raises:
        _Refused: naming the line and the limit.
    """
    done: dict[int, tuple[int, int]] = {}  # id(node) -> (values once expanded, height)
    active: set[int] = set()

    def walk(node: yaml.Node, depth: int) -> tuple[int, int]:
        line = node.start_mark.line + 1
        key = id(node)
        if key in active:
            raise _Refused(line, "a YAML alias refers to a node that contains it")
        if key not in done:
            if depth > MAX_YAML_DEPTH:
                raise _Refused(line, f"nested deeper than {MAX_YAML_DEPTH} levels")
            active.add(key)
            if isinstance(node, yaml.MappingNode):
                children = [n for pair in node.value for n in pair]
            elif isinstance(node, yaml.SequenceNode):
                children = list(node.value)
            else:
                children = []
            size, height = 1, 1
            for child in children:
                s, h = walk(child, depth + 1)
                size, height = size + s, max(height, h + 1)
                if size > MAX_YAML_VALUES:
                    raise _Refused(
                        line, f"more than {MAX_YAML_VALUES:,} values once YAML aliases are expanded"
                    )
            active.discard(key)
            done[key] = (size, height)
        size, height = done[key]
        if depth + height - 1 > MAX_YAML_DEPTH:
            raise _Refused(line, f"nested deeper than {MAX_YAML_DEPTH} levels (through an alias)")
        return size, height

    walk(root, 1)


# ---------------------------------------------------------------------------- YAML with lines
class _Doc:
    """A YAML document as plain data plus the line of every key path."""

    def __init__(self, source: str, env: Mapping[str, str]) -> None:
        self.source = source
        self.env = env
        self.lines: dict[tuple[Any, ...], int] = {(): 1}
        self.issues: list[ConfigIssue] = []

    def build(self, loader: yaml.SafeLoader, node: yaml.Node, path: tuple[Any, ...]) -> Any:
        if isinstance(node, yaml.MappingNode):
            loader.flatten_mapping(node)  # YAML merge keys (<<)
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = loader.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                if isinstance(key, list):
                    key = tuple(key)
                try:
                    hash(key)
                except TypeError:
                    raise _Refused(line, "a mapping key must be a plain value") from None
                sub = (*path, key)
                if key in out:
                    self.issues.append(
                        ConfigIssue(
                            self.source,
                            line,
                            _dotted(sub),
                            f"duplicate key (first on line {self.lines[sub]})",
                        )
                    )
                self.lines[sub] = line
                out[key] = self.build(loader, value_node, sub)
            return out
        if isinstance(node, yaml.SequenceNode):
            items = []
            for i, item in enumerate(node.value):
                self.lines[(*path, i)] = item.start_mark.line + 1
                items.append(self.build(loader, item, (*path, i)))
            return items
        value = loader.construct_object(node, deep=True)
        if isinstance(value, str) and "${" in value:
            value = self._substitute(value, path, node.start_mark.line + 1)
        return value

    def _substitute(self, text: str, path: tuple[Any, ...], line: int) -> str:
        def repl(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in self.env:
                return self.env[name]
            if default is not None:
                return default
            self.issues.append(
                ConfigIssue(
                    self.source, line, _dotted(path), f"environment variable {name} is not set"
                )
            )
            return ""

        return _ENV_REF.sub(repl, text)

    def line_of(self, loc: tuple[Any, ...]) -> tuple[int, str]:
        """The line and displayed key path of a pydantic error location."""
        path: tuple[Any, ...] = ()
        shown: list[Any] = []
        for i, part in enumerate(loc):
            if (*path, part) in self.lines:
                path = (*path, part)
                shown.append(part)
            elif i == len(loc) - 1:
                shown.append(part)  # a missing key: reported on its parent's line
            # else: a union tag ('serial', 'function-after[...]'): not a key of the file
        return self.lines.get(path, 0), _dotted(tuple(shown))


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _dotted(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _message(err: Mapping[str, Any]) -> str:
    msg = str(err.get("msg", ""))
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
    if err.get("type") == "extra_forbidden":
        msg = "unknown key (not allowed here; check the spelling against the example config)"
    elif err.get("type") == "missing":
        msg = "required key missing"
    return msg


def parse_config(
    text: str,
    *,
    source: str = "<string>",
    base_dir: str | Path | None = None,
    env: Mapping[str, str] | None = None,
) -> MmfmConfig:
    """Validate YAML text into :class:`MmfmConfig`.

    Args:
        text: the YAML document.
        source: the file name used in messages.
        base_dir: relative paths (chirp configs, captures, the event log) are relative to this
            (default: the current directory).
        env: environment for ``${VAR}`` substitution (default ``os.environ``).

    Raises:
        ConfigError: every problem, each with file, line, key path and message.
    """
    doc = _Doc(source, os.environ if env is None else env)
    try:
        loader = _GuardedLoader(text)
        try:
            node = loader.get_single_node()
            if node is not None:
                _check_expansion(node)
            data = {} if node is None else doc.build(loader, node, ())
        finally:
            loader.dispose()
    except _Refused as exc:
        raise ConfigError([ConfigIssue(source, exc.line, "", f"refused: {exc}")]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        problem = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise ConfigError(
            [ConfigIssue(source, line, "", f"YAML syntax error: {_one_line(problem)}")]
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError([ConfigIssue(source, 0, "", f"YAML error: {_one_line(exc)}")]) from None
    except (ValueError, RecursionError, MemoryError) as exc:  # e.g. an int past 4300 digits
        reason = _one_line(exc)[:200]
        if "Exceeds the limit" in reason:
            reason = "a number too long to read (more than 4300 digits)"
        raise ConfigError([ConfigIssue(source, 0, "", f"cannot read the YAML: {reason}")]) from None
    if not isinstance(data, dict):
        raise ConfigError(
            [ConfigIssue(source, 1, "", "the config must be a mapping of sections (radars: ...)")]
        )
    if doc.issues:
        raise ConfigError(doc.issues)
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    data = _resolve_paths(data, base)
    try:
        return MmfmConfig.model_validate(data, context={"base_dir": str(base), "env": doc.env})
    except ValidationError as exc:
        issues = []
        for err in exc.errors(include_url=False, include_input=False):
            line, path = doc.line_of(tuple(err["loc"]))
            issues.append(ConfigIssue(source, line, path, _message(err)))
        raise ConfigError(issues) from None


def _resolve_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """Make the event log's and replay captures' relative paths relative to ``base``."""
    log = data.get("event_log")
    if isinstance(log, dict) and isinstance(log.get("path"), str):
        data["event_log"] = {**log, "path": _resolve(base, log["path"])}
    radars = data.get("radars")
    if isinstance(radars, dict):
        for rid, radar in radars.items():
            src = radar.get("source") if isinstance(radar, dict) else None
            if isinstance(src, dict) and src.get("type") == "replay":
                if isinstance(src.get("path"), str):
                    radars[rid] = {**radar, "source": {**src, "path": _resolve(base, src["path"])}}
    return data


def load_config(path: str | Path, *, env: Mapping[str, str] | None = None) -> MmfmConfig:
    """Read and validate a config file (see :func:`parse_config`).

    Raises:
        ConfigError: the file cannot be read, or any problem in it.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError([ConfigIssue(str(p), 0, "", f"cannot read: {exc.strerror}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            [
                ConfigIssue(
                    str(p),
                    line,
                    "",
                    f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
                    "a config is a YAML text file",
                )
            ]
        ) from None
    return parse_config(text, source=str(p), base_dir=p.resolve().parent, env=env)
