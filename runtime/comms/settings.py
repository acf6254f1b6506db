"""Settings of the publishers (embedded in the daemon's YAML config under ``mqtt:`` and ``zeromq:``).

Every model rejects unknown keys (``extra="forbid"``) and describes each field, so the app can print a
readable error naming the key and its line. Secrets never live in the file: the MQTT password is read
from the environment variable that ``password_env`` names, when the publisher starts.

:class:`RadarInfo` is what the app tells a publisher about each radar (id, display name, board, zones):
enough for topics and Home Assistant devices, nothing about the radar's chirps.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from runtime.events import EVENT_TYPES

_STRICT = ConfigDict(extra="forbid", frozen=True)

#: Event types whose latest value is a state (Home Assistant shows it after a restart when retained).
STATE_EVENT_TYPES = ("occupancy", "count", "vitals", "activity", "fall")


_SLUG = re.compile(r"[^A-Za-z0-9_-]+")


def topic_slug(text: str) -> str:
    """``text`` made safe as one topic level and a Home Assistant id: runs of anything but
    ``[A-Za-z0-9_-]`` (spaces, ``/``, MQTT wildcards) become ``_``."""
    out = _SLUG.sub("_", text).strip("_")
    return out or "_"


def _check_topic_prefix(value: str, key: str) -> str:
    if not value or value.startswith("/") or value.endswith("/"):
        raise ValueError(f"{key} must be non-empty and must not start or end with '/': {value!r}")
    if any(c in value for c in "+#\x00"):
        raise ValueError(f"{key} must not contain MQTT wildcards ('+', '#') or NUL: {value!r}")
    return value


class MqttSettings(BaseModel):
    """The MQTT publisher (:class:`runtime.comms.mqtt.MqttCommunicator`) and Home Assistant discovery."""

    model_config = _STRICT

    host: str = Field(default="127.0.0.1", min_length=1, description="broker host name or address")
    port: int = Field(default=1883, ge=1, le=65535, description="broker TCP port (8883 for TLS)")
    client_id: str = Field(
        default="mmfm",
        min_length=1,
        max_length=128,
        description="MQTT client id; unique per broker (a second daemon with the same id kicks "
        "the first off); each radar's availability connection uses <client_id>-radar-<radar>",
    )
    topic_prefix: str = Field(
        default="mmfm",
        description="first level of every mmfm topic: <prefix>/<radar>/<event>; also names the "
        "Home Assistant node, so two daemons on one broker need two prefixes",
    )
    username: str | None = Field(default=None, description="broker user name; None = anonymous")
    password_env: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="name of the environment variable holding the broker password (read at start, "
        "never logged); needs username",
    )
    tls: bool = Field(
        default=False,
        description="connect with TLS using the system CA certificates (implied by tls_ca_certs)",
    )
    tls_ca_certs: str | None = Field(
        default=None, description="PEM file of the CA certificates that signed the broker's cert"
    )
    tls_certfile: str | None = Field(
        default=None, description="PEM client certificate for TLS client authentication"
    )
    tls_keyfile: str | None = Field(
        default=None, description="PEM private key of tls_certfile (if not inside it)"
    )
    tls_insecure: bool = Field(
        default=False,
        description="skip the check that the broker's certificate matches host (testing only)",
    )
    keepalive: int = Field(
        default=60,
        ge=5,
        le=65535,
        description="MQTT keepalive [s]; the broker sends the last will after about 1.5x this "
        "without traffic",
    )
    protocol: Literal["5", "3.1.1"] = Field(
        default="5",
        description="MQTT protocol version: '5' (answers use response topic + correlation data) or "
        "'3.1.1'",
    )
    event_qos: Literal[0, 1, 2] = Field(
        default=1, description="QoS of events and availability (tracks and stats always use 0)"
    )
    retain_state: bool = Field(
        default=True,
        description="retain the latest value of state-like events (state_event_types) so Home "
        "Assistant shows them after a restart",
    )
    state_event_types: tuple[str, ...] = Field(
        default=STATE_EVENT_TYPES,
        description="event types whose topics hold a state (retained when retain_state); others "
        "(tracks, answer) are never retained",
    )
    reconnect_min_delay_s: float = Field(
        default=1.0, gt=0, description="first wait before reconnecting to a lost broker [s]"
    )
    reconnect_max_delay_s: float = Field(
        default=60.0,
        gt=0,
        description="the wait doubles after each failed attempt up to this [s]",
    )
    max_queued_messages: int = Field(
        default=10000,
        ge=1,
        description="QoS>0 messages kept in memory while the broker is away (delivered when it "
        "returns); beyond this new ones are dropped and counted",
    )
    stats_interval_s: float = Field(
        default=60.0,
        ge=0,
        description="publish <prefix>/<radar>/stats this often with the latest pipeline stats [s]; "
        "0 = on every publish_stats call",
    )
    discovery: bool = Field(default=True, description="announce Home Assistant MQTT discovery")
    discovery_prefix: str = Field(
        default="homeassistant",
        description="Home Assistant's discovery prefix (its birth topic is <prefix>/status)",
    )

    @field_validator("protocol", mode="before")
    @classmethod
    def _protocol_as_text(cls, value: Any) -> Any:
        # YAML reads `protocol: 5` as an int.
        return str(value) if isinstance(value, int) else value

    @field_validator("topic_prefix")
    @classmethod
    def _topic_prefix(cls, value: str) -> str:
        return _check_topic_prefix(value, "topic_prefix")

    @field_validator("discovery_prefix")
    @classmethod
    def _discovery_prefix(cls, value: str) -> str:
        return _check_topic_prefix(value, "discovery_prefix")

    @field_validator("state_event_types")
    @classmethod
    def _state_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [t for t in value if t not in EVENT_TYPES or t in ("tracks", "answer")]
        if bad:
            allowed = [t for t in EVENT_TYPES if t not in ("tracks", "answer")]
            raise ValueError(f"not a state event type: {', '.join(bad)}; allowed: {allowed}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.password_env and not self.username:
            raise ValueError("mqtt.password_env needs mqtt.username (MQTT has no password alone)")
        if self.tls_keyfile and not self.tls_certfile:
            raise ValueError("mqtt.tls_keyfile needs mqtt.tls_certfile")
        if self.reconnect_max_delay_s < self.reconnect_min_delay_s:
            raise ValueError("mqtt.reconnect_max_delay_s must not be below reconnect_min_delay_s")
        return self

    @property
    def use_tls(self) -> bool:
        """TLS is on when asked for or when any TLS file is given."""
        return self.tls or bool(self.tls_ca_certs or self.tls_certfile)


_TCP = re.compile(r"^tcp://(?P<host>\[[^\]]+\]|[^:/\[\]]+):(?P<port>\d+|\*)$")


def check_endpoint(endpoint: str) -> str:
    """``endpoint`` if it is a ZeroMQ bind address mmfm accepts, else ``ValueError`` saying why
    (pydantic names the key).

    Accepted: ``tcp://HOST:PORT`` (HOST a name, an address, ``[IPv6]``, ``*`` or an interface;
    PORT 1-65535 or ``*`` for any free one), ``ipc://PATH`` and ``inproc://NAME`` (non-empty).
    libzmq itself takes a port past 65535 modulo 65536 (70000 binds 4464), hence the range check.
    """
    forms = "tcp://HOST:PORT, ipc://PATH or inproc://NAME"
    if endpoint.startswith(("ipc://", "inproc://")):
        if endpoint.split("://", 1)[1].strip() == "":
            raise ValueError(f"{endpoint!r} names no path; expected {forms}")
        return endpoint
    match = _TCP.match(endpoint)
    if match is None:
        raise ValueError(f"{endpoint!r} is not {forms}")
    port = match["port"]
    if port != "*" and not 1 <= int(port) <= 65535:
        raise ValueError(f"port {port} in {endpoint!r} is outside 1-65535 ('*' = any free port)")
    return endpoint


def _is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # '*', an interface name or a host name


class ZeroMqSettings(BaseModel):
    """The ZeroMQ publisher (:class:`runtime.comms.zeromq.ZeroMqCommunicator`)."""

    model_config = _STRICT

    pub_endpoint: str = Field(
        default="tcp://127.0.0.1:5556",
        description="where the PUB socket binds (events, tracks, stats); tcp://, ipc:// or inproc://",
    )
    request_endpoint: str | None = Field(
        default="tcp://127.0.0.1:5557",
        description="where the request socket (ROUTER; clients use REQ or DEALER) binds for JSON "
        'requests such as {"type": "state"}; None = no requests',
    )
    allow_remote: bool = Field(
        default=False,
        description="allow tcp endpoints that are not loopback (the sockets have no "
        "authentication: only on a trusted network)",
    )
    topic_prefix: str = Field(
        default="mmfm", description="first part of every PUB topic: <prefix>/<radar>/event/<type>/"
    )
    sndhwm: int = Field(
        default=10000,
        ge=1,
        description="PUB high-water mark: messages queued per subscriber before sends are dropped "
        "(and counted)",
    )
    count_drops: bool = Field(
        default=True,
        description="make a full subscriber queue visible (ZMQ_XPUB_NODROP): the message is then "
        "dropped for every subscriber and counted; False = libzmq drops silently per subscriber",
    )
    max_request_bytes: int = Field(
        default=65536, ge=64, description="largest request accepted; a peer sending more is cut off"
    )
    linger_s: float = Field(
        default=0.5, ge=0, description="time given to unsent messages when the publisher stops [s]"
    )
    publish_embeddings: bool = Field(
        default=False,
        description="also publish every window embedding of the encoder stage on "
        "<prefix>/<radar>/embedding/ (about 3 kB of JSON per window; needs activities)",
    )

    @field_validator("pub_endpoint", "request_endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        return None if value is None else check_endpoint(value)

    @field_validator("topic_prefix")
    @classmethod
    def _topic_prefix(cls, value: str) -> str:
        if not value or value != value.strip("/"):
            raise ValueError(
                f"topic_prefix must be non-empty without leading/trailing '/': {value!r}"
            )
        return value

    @model_validator(mode="after")
    def _loopback(self) -> Self:
        for key in ("pub_endpoint", "request_endpoint"):
            endpoint = getattr(self, key)
            if endpoint is None:
                continue
            match = _TCP.match(endpoint)
            if match is None:
                continue  # ipc:// or inproc:// (the form was checked field by field)
            if not self.allow_remote and not _is_loopback(match["host"]):
                raise ValueError(
                    f"zeromq.{key}: {endpoint!r} is not a loopback address; set "
                    "zeromq.allow_remote: true to listen beyond this machine"
                )
        if self.pub_endpoint == self.request_endpoint and not self.pub_endpoint.endswith(":*"):
            raise ValueError("zeromq.pub_endpoint and zeromq.request_endpoint must differ")
        return self


@dataclass(frozen=True)
class RadarInfo:
    """What a publisher knows about one radar.

    Attributes:
        id: the radar id from the daemon config (topics, unique ids).
        name: display name (the Home Assistant device name).
        board: TI board, e.g. ``AWR1843BOOST`` (the device model).
        zones: names of the radar's zones (one occupancy entity each).
        activity_labels: the activity labels when the encoder stage runs (the Home Assistant
            activity sensor's options); empty = activities off.
        answers: the daemon answers questions about this radar (Home Assistant gets a "Last
            answer" sensor; MQTT subscribes to its ask topic).
    """

    id: str
    name: str = ""
    board: str = ""
    zones: tuple[str, ...] = field(default_factory=tuple)
    activity_labels: tuple[str, ...] = field(default_factory=tuple)
    answers: bool = False

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("radar id must be non-empty")
        object.__setattr__(self, "zones", tuple(self.zones))
        object.__setattr__(self, "activity_labels", tuple(self.activity_labels))
        if not self.name:
            object.__setattr__(self, "name", self.id)

    @classmethod
    def coerce(cls, radar: RadarInfo | Mapping[str, Any]) -> RadarInfo:
        """A :class:`RadarInfo` from itself or a dict with the same keys."""
        if isinstance(radar, RadarInfo):
            return radar
        return cls(**dict(radar))


def radar_infos(radars: Sequence[RadarInfo | Mapping[str, Any]]) -> list[RadarInfo]:
    """Coerce the app's radar list, rejecting repeated ids."""
    infos = [RadarInfo.coerce(r) for r in radars]
    ids = [r.id for r in infos]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ValueError(f"radar ids must be unique; repeated: {', '.join(dup)}")
    return infos
