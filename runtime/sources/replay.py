"""Replay recorded captures through the same :class:`~runtime.sources.base.Source` interface.

What it reads (picked by :func:`detect_kind`):

- an mmfm recording directory (``meta.json`` + ``radar.cfg`` + ``adc.bin``/``uart.dat`` +
  ``frames.csv``, see :mod:`runtime.sources.recording`): frames, flags and timestamps as recorded;
- a DCA1000 / mmWave Studio ``.bin`` with its ``.cfg`` (given, or beside it with the same stem):
  :class:`~runtime.frames.RawFrame` at ``frame_number * frame_period_s``;
- a UART data-port byte dump (``.dat``/``.uart``): :class:`~runtime.frames.PointCloudFrame` re-parsed
  with :class:`~runtime.sources.uart_parser.UartPacketParser` (damage counted, never emitted);
- a RadHAR text dump (``.txt``): :class:`~runtime.frames.PointCloudFrame` with the recorded stamps;
- a simulated dataset directory (``index.json``, :mod:`runtime.dataset`): its samples' frames in index
  order, raw ADC when the dataset stores it (else point clouds), each sample's window following the
  previous one a frame period later. Every sample must share one chirp configuration.

``realtime=True`` paces frames at their recorded spacing (divided by ``speed``); otherwise they come
as fast as the consumer takes them. ``close()`` from another thread ends a paced wait at once.

The daemon builds it from :class:`ReplaySourceSettings` (``type: replay``) with
:meth:`ReplaySource.from_settings`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator

from firmware_cfg import RadarConfig, load_cfg, parse_cfg_text
from runtime.dataset import INDEX_NAME, Dataset, open_dataset
from runtime.frames import PointCloudFrame, RawFrame
from runtime.sources.base import Source, SourceBase, SourceSettingsBase
from runtime.sources.dca1000_layout import read_bin
from runtime.sources.radhar import read_radhar
from runtime.sources.recording import DATA_FILE, RecordingMeta, read_frame_rows
from runtime.sources.uart_parser import UartPacketParser

ReplayKind = Literal["recording", "dataset", "dca1000_bin", "uart_bytes", "radhar"]
_CHUNK = 4096  # bytes fed to the UART parser at a time (like a serial read)


def detect_kind(path: str | Path) -> ReplayKind:
    """What kind of capture ``path`` is.

    Raises:
        ValueError: naming the path when it is none of the kinds above.
    """
    p = Path(path)
    if p.is_dir():
        if (p / "meta.json").exists():
            return "recording"
        if (p / INDEX_NAME).exists():
            return "dataset"
        raise ValueError(
            f"{p}: a directory without meta.json (recording) or {INDEX_NAME} (dataset) is not a capture"
        )
    suffix = p.suffix.lower()
    if suffix == ".bin":
        return "dca1000_bin"
    if suffix in (".dat", ".uart"):
        return "uart_bytes"
    if suffix == ".txt":
        return "radhar"
    raise ValueError(
        f"{p}: unknown capture type {suffix or '(no suffix)'!r}; expected a recording directory, "
        "a DCA1000 .bin, a UART .dat or a RadHAR .txt"
    )


class ReplaySourceSettings(SourceSettingsBase):
    """A recorded capture played back (DCA1000 .bin, UART .dat, RadHAR .txt, mmfm recording)."""

    raw_adc = True  # a .bin, a raw recording or a raw dataset

    type: Literal["replay"] = Field(title="Source type", description="replay: a recorded capture")
    path: str = Field(
        min_length=1,
        title="Capture path",
        description="the capture (relative paths are relative to this config file)",
    )
    realtime: bool = Field(
        default=True,
        title="Real-time pacing",
        description="pace frames at their recorded spacing (false: as fast as processed)",
    )
    speed: float = Field(
        default=1.0, gt=0, title="Speed", description="playback speed factor with realtime"
    )
    loop: bool = Field(
        default=False, title="Loop", description="start again at the end (else the radar ends)"
    )
    timestamps: Literal["arrival", "recorded"] = Field(
        default="arrival",
        title="Frame timestamps",
        description="'arrival': stamp frames with the time they are played (events carry today's "
        "time); 'recorded': keep the capture's stamps (made increasing across loops)",
    )

    @field_validator("path")
    @classmethod
    def _capture_exists(cls, value: str) -> str:
        # checked at load time: a missing capture would otherwise be retried forever at run time
        if not Path(value).exists():
            raise ValueError(f"{value}: no such capture (file or recording directory)")
        return value

    @property
    def ends(self) -> bool:
        return not self.loop

    @property
    def restamp(self) -> str | None:
        return self.timestamps

    def default_chirp_config(self) -> str:
        """The ``.cfg`` beside the capture (``radar.cfg`` in a recording directory).

        Raises:
            ValueError: there is none.
        """
        p = Path(self.path)
        cand = p / "radar.cfg" if p.is_dir() else p.with_suffix(".cfg")
        if not cand.exists():
            raise ValueError(
                f"none given and no .cfg beside the capture {self.path!r}; "
                "name a bundled profile or a .cfg path"
            )
        return str(cand)


class ReplaySource(SourceBase):
    """Frames from a file or recording directory.

    Args:
        path: the capture (see the module docstring).
        radar_config: the configuration the capture was taken with (needed for a bare ``.bin``
            without a ``.cfg`` beside it; optional for ``.dat``, where it pins the UART dialect and
            platform). None: the recording's ``radar.cfg``, the dataset's, or the ``.cfg`` beside
            the capture.
        board: board name for a ``.cfg`` found beside the capture that does not say.
        realtime: pace frames at their recorded spacing.
        speed: playback speed factor for ``realtime`` (2.0 = twice as fast).
        loop: start again at the end (frame numbers keep counting up).

    Attributes:
        tap: UART byte dumps and recordings only: called with every chunk of bytes read, before
            parsing (what :class:`~runtime.sources.uart.UartSource` ``tap`` is for a serial port),
            so ``mmfm record`` can keep the bytes as they were received.
    """

    settings_model = ReplaySourceSettings

    def __init__(
        self,
        path: str | Path,
        *,
        radar_config: RadarConfig | None = None,
        board: str | None = None,
        realtime: bool = False,
        speed: float = 1.0,
        loop: bool = False,
    ) -> None:
        super().__init__()
        if speed <= 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self.path = Path(path)
        self.kind = detect_kind(self.path)
        self.name = f"replay:{self.path.name}"
        self._given_config = radar_config
        self._board = board
        self.realtime = realtime
        self.speed = speed
        self.loop = loop
        self.radar_config: RadarConfig | None = None
        self.meta: RecordingMeta | None = None
        self._parser_counts = False  # the UART parser keeps the frame counters itself
        self.dataset: Dataset | None = None
        self.tap: Callable[[bytes], None] | None = None

    @classmethod
    def from_settings(
        cls, settings: ReplaySourceSettings, radar_config: RadarConfig, log: Any
    ) -> tuple[Source, Callable[[], None] | None]:
        """The replay of ``settings.path``; nothing to send after ``open()``."""
        source = cls(
            settings.path,
            radar_config=radar_config,
            realtime=settings.realtime,
            speed=settings.speed,
            loop=settings.loop,
        )
        return source, None

    # ------------------------------------------------------------------ set-up
    def _resolve_cfg(self) -> RadarConfig | None:
        if self._given_config is not None:
            return self._given_config
        if self.kind == "recording":
            assert self.meta is not None
            if self.meta.kind == "uart" and not (self.path / "radar.cfg").exists():
                return None  # a UART dump re-recorded without its config (see recording.py)
            return load_cfg(self.path / "radar.cfg", board=self.meta.board)
        if self.kind == "dataset":
            assert self.dataset is not None
            if len(self.dataset) == 0:
                raise ValueError(f"{self.path}: the dataset holds no sample")
            first = self.dataset[self.dataset.sample_indices()[0]]
            return parse_cfg_text(first.cfg_text, source=f"{self.path} (sample {first.index})")
        sibling = self.path.with_suffix(".cfg")
        if sibling.exists():
            return load_cfg(sibling, board=self._board)
        if self.kind == "dca1000_bin":
            raise ValueError(
                f"{self.path}: a raw .bin needs its .cfg (give it, or put {sibling.name} beside it)"
            )
        return None

    def _open(self) -> None:
        if not self.path.exists():
            raise FileNotFoundError(f"{self.path}: no such file or directory")
        if self.kind == "recording":
            self.meta = RecordingMeta.read(self.path)
        if self.kind == "dataset":
            self.dataset = open_dataset(self.path)
        self.radar_config = self._resolve_cfg()

    # ------------------------------------------------------------------ frames
    def _raw_frames(self, path: Path, rows: dict[int, tuple[float, dict]]) -> Iterator[RawFrame]:
        assert self.radar_config is not None
        data = read_bin(
            path, self.radar_config.chirp, partial="warn"
        )  # [frames, tx, rx, loop, sample]
        period = self.radar_config.chirp.frame_period_s
        numbers = sorted(rows) if rows else range(data.shape[0])
        for index, number in enumerate(numbers):
            if index >= data.shape[0]:
                break
            stamp, flags = rows.get(number, (number * period, {}))
            yield RawFrame(
                data=data[index], frame_number=number, timestamp=stamp, flags=dict(flags)
            )

    def _uart_frames(
        self, path: Path, rows: dict[int, tuple[float, dict]]
    ) -> Iterator[PointCloudFrame]:
        self._parser_counts = True
        parser = (
            UartPacketParser.for_config(self.radar_config, stats=self.stats)
            if self.radar_config is not None
            else UartPacketParser(stats=self.stats)
        )
        period = self.radar_config.chirp.frame_period_s if self.radar_config is not None else 0.0
        with path.open("rb") as fh:
            while True:
                chunk = fh.read(_CHUNK)
                if chunk and self.tap is not None:
                    self.tap(chunk)
                # at the end of the file, release the packet held for its end check
                parsed = parser.feed(chunk, timestamp=0.0) if chunk else parser.flush(0.0)
                for uf in parsed:
                    frame = uf.to_point_cloud()
                    if uf.frame_number in rows:
                        frame.timestamp = rows[uf.frame_number][0]
                    else:
                        frame.timestamp = uf.frame_number * period
                    yield frame
                if not chunk:
                    return

    def _dataset_frames(self) -> Iterator[RawFrame | PointCloudFrame]:
        """Every frame of every sample, windows back to back (see the module docstring)."""
        assert self.dataset is not None and self.radar_config is not None
        chirp = self.radar_config.chirp
        number, t_next = 0, 0.0
        for index in self.dataset.sample_indices():
            sample = self.dataset[index]
            if sample.chirp != chirp:
                raise ValueError(
                    f"{self.path}: sample {index} uses another radar configuration than sample "
                    f"{self.dataset.sample_indices()[0]}; replay needs one (generate with --radar PROFILE)"
                )
            times = np.asarray(sample.truth["frame_times_s"], dtype=np.float64)
            times = times - times[0] + t_next
            for f in range(sample.num_frames):
                if sample.adc is not None:
                    yield RawFrame(data=sample.adc[f], frame_number=number, timestamp=times[f])
                else:
                    yield PointCloudFrame(
                        points=sample.points[f], frame_number=number, timestamp=times[f]
                    )
                number += 1
            t_next = times[-1] + chirp.frame_period_s

    def _pass(self) -> Iterator[RawFrame | PointCloudFrame]:
        """One pass over the capture (counters are updated by the caller)."""
        if self.kind == "recording":
            assert self.meta is not None
            rows = {r.frame_number: (r.timestamp, r.flags) for r in read_frame_rows(self.path)}
            data = self.path / DATA_FILE[self.meta.kind]
            if self.meta.kind == "raw_adc":
                yield from self._raw_frames(data, rows)
            else:
                yield from self._uart_frames(data, rows)
        elif self.kind == "dataset":
            yield from self._dataset_frames()
        elif self.kind == "dca1000_bin":
            yield from self._raw_frames(self.path, {})
        elif self.kind == "uart_bytes":
            yield from self._uart_frames(self.path, {})
        else:
            yield from read_radhar(self.path)

    def frames(self) -> Iterator[RawFrame | PointCloudFrame]:
        """Yield the capture's frames (paced when ``realtime``); see the class docstring.

        With ``loop``, every pass continues the previous one: frame numbers keep counting up and
        timestamps keep increasing, the first frame of a pass one frame period after the last frame
        of the previous pass (the config's frame period, else the capture's median frame spacing).
        """
        self.open()
        offset = 0  # frame-number offset added on each loop pass
        shift = 0.0  # timestamp offset added on each loop pass [s]
        wall0: float | None = None
        t0 = 0.0
        while not self.stopping:
            stamps: list[float] = []
            last_number = -1
            for frame in self._pass():
                if self.stopping:
                    return
                stamps.append(frame.timestamp)
                frame.timestamp += shift
                if self.realtime:
                    if wall0 is None:
                        wall0, t0 = time.monotonic(), frame.timestamp
                    delay = wall0 + (frame.timestamp - t0) / self.speed - time.monotonic()
                    if delay > 0 and self._stop.wait(delay):
                        return
                last_number = frame.frame_number
                frame.frame_number += offset
                if not self._parser_counts:
                    self.stats.frames += 1
                    if frame.flags:
                        self.stats.frames_flagged += 1
                yield frame
            if not self.loop or last_number < 0:
                return
            offset += last_number + 1
            shift += stamps[-1] - stamps[0] + self._frame_spacing(stamps)

    def _frame_spacing(self, stamps: list[float]) -> float:
        """Time from the last frame of a pass to the first of the next [s]."""
        if self.radar_config is not None:
            return self.radar_config.chirp.frame_period_s
        if len(stamps) > 1:
            return float(np.median(np.diff(stamps)))
        return 0.0
