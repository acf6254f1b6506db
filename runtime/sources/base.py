"""The one small interface every frame source implements.

A source is configured by its constructor, which never touches hardware, sockets or files; ``open()``
acquires them, ``frames()`` yields frames until the source ends or ``close()`` is called (from any
thread), and ``close()`` releases everything and is safe to call twice. Sources are context managers:

    with DCA1000Source(radar_config, ...) as src:
        for frame in src.frames():
            ...

A pty, a UDP socket on loopback, a file and the simulator are interchangeable behind it. Every source
keeps exact counters in ``stats`` (bytes, frames, damage) so that loss is counted and flagged, never
silent.

Sources are plugins (like frigate's detectors): a source type the daemon can build from its YAML owns,
beside its code, a settings model (a :class:`SourceSettingsBase` whose ``type`` is a ``Literal``) and a
``from_settings(settings, radar_config, log)`` classmethod returning what a :data:`SourceFactory`
returns; :mod:`runtime.sources.registry` maps each ``type`` to its source class.
"""

from __future__ import annotations

import abc
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from runtime.frames import PointCloudFrame, RawFrame


@dataclass
class SourceStats:
    """Counters every source keeps; each source documents which ones it can fill.

    Attributes:
        bytes_received: bytes read from the transport.
        bytes_skipped: bytes discarded while hunting for a sync word or after damage.
        packets: packets (UART packets or UDP datagrams) accepted.
        packets_damaged: packets rejected or truncated (bad length, bad TLV, bad padding...).
        packets_lost: packets known to be missing (sequence gaps).
        packets_duplicate: duplicates dropped.
        packets_reordered: packets that arrived out of order and were put back in place.
        frames: frames delivered.
        frames_flagged: frames delivered with damage flags (zero-filled bytes and so on).
        frames_lost: frames known to be missing (frame-number gaps, or dropped whole).
    """

    bytes_received: int = 0
    bytes_skipped: int = 0
    packets: int = 0
    packets_damaged: int = 0
    packets_lost: int = 0
    packets_duplicate: int = 0
    packets_reordered: int = 0
    frames: int = 0
    frames_flagged: int = 0
    frames_lost: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@runtime_checkable
class Source(Protocol):
    """What the daemon, `mmfm record` and `mmfm dsp` need from a source."""

    name: str
    stats: SourceStats

    def open(self) -> None: ...

    def frames(self) -> Iterator[RawFrame | PointCloudFrame]: ...

    def close(self) -> None: ...

    def __enter__(self) -> Source: ...

    def __exit__(self, *exc: object) -> None: ...


class SourceBase(abc.ABC):
    """Shared plumbing: the stop event, the counters and the context-manager protocol.

    Subclasses implement ``_open()``, ``_close()`` and ``frames()``; ``frames()`` should return when
    ``self.stopping`` is set.
    """

    name: str = "source"

    def __init__(self) -> None:
        self.stats = SourceStats()
        self._stop = threading.Event()
        self._opened = False

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def open(self) -> None:
        if not self._opened:
            self._stop.clear()
            self._open()
            self._opened = True

    def close(self) -> None:
        self._stop.set()
        if self._opened:
            self._opened = False
            self._close()

    def _open(self) -> None:  # noqa: B027 (optional hook)
        """Acquire hardware / sockets / files."""

    def _close(self) -> None:  # noqa: B027 (optional hook)
        """Release what ``_open`` acquired; must not raise."""

    @abc.abstractmethod
    def frames(self) -> Iterator[RawFrame | PointCloudFrame]:
        """Yield frames until the source ends or :meth:`close` is called."""

    def __enter__(self) -> SourceBase:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


#: Builds a fresh, unopened source and, optionally, what to run right after ``open()`` (send the
#: chirp config over the radar's CLI port). The daemon calls it again for every restart.
SourceFactory = Callable[[], tuple[Source, Callable[[], None] | None]]


class SourceSettingsBase(BaseModel):
    """What the settings model of every source type shares (the YAML's ``radars.<id>.source``).

    Subclasses add ``type: Literal["<name>"]`` (the key the registry and the YAML use) and their
    fields, each with a title and a description. The class attributes and properties tell the
    daemon how to treat the stream without knowing the type.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str = Field(title="Source type", description="the source type (a registry key)")

    #: Frames carry the time they were received (a live stream); else they are stamped on arrival.
    live: ClassVar[bool] = False
    #: The source may deliver raw ADC frames (the daemon builds the DSP plan before the first).
    raw_adc: ClassVar[bool] = False

    @property
    def ends(self) -> bool:
        """The stream ends by itself, and the radar with it (a replay without ``loop``)."""
        return False

    @property
    def restamp(self) -> str | None:
        """How the daemon restamps frames: None (keep), ``"arrival"`` or ``"recorded"``."""
        return None

    def default_chirp_config(self) -> str:
        """The ``.cfg`` to use when the radar names none.

        Raises:
            ValueError: this source type has none (the message says what to do).
        """
        raise ValueError(f"required for a {self.type} source")
