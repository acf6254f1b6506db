"""The on-disk recording format that ``mmfm record`` writes and replay reads back.

A recording is a directory::

    DIR/meta.json    sidecar: format, kind ("raw_adc" | "uart"), board, firmware version, source,
                     start/end time, frame count, the source's loss counters
    DIR/radar.cfg    the chirp configuration that was sent to the radar (mmWave SDK .cfg text); absent
                     only from a uart recording whose configuration is unknown (a re-recorded
                     byte dump: its packets say the platform, not the chirp)
    DIR/adc.bin      kind raw_adc: frames back to back in the DCA1000 / mmWave Studio layout
    DIR/uart.dat     kind uart: the data-port bytes exactly as received (damage included)
    DIR/frames.csv   one row per delivered frame: frame_number, timestamp [s since the epoch],
                     flags (JSON object, empty when intact)

Raw ADC frames are stored as int16 (what the DCA1000 delivers), so replay returns exactly the frames the
source delivered. UART recordings keep the bytes, not the parsed points, so a better parser can re-read
old recordings; replay re-parses them and takes each frame's timestamp from ``frames.csv``.
"""

from __future__ import annotations

import csv
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

from firmware_cfg import RadarConfig, emit_cfg
from runtime.frames import PointCloudFrame, RawFrame
from runtime.sources.dca1000_layout import encode_frames

FORMAT = "mmfm-recording/1"
Kind = Literal["raw_adc", "uart"]
DATA_FILE: dict[str, str] = {"raw_adc": "adc.bin", "uart": "uart.dat"}


@dataclass
class RecordingMeta:
    """Contents of ``meta.json``."""

    kind: Kind
    board: str
    source: str
    firmware_version: str | None = None
    started: float = 0.0
    ended: float | None = None
    frames: int = 0
    stats: dict[str, int] = field(default_factory=dict)
    notes: str = ""
    format: str = FORMAT

    @classmethod
    def read(cls, directory: Path) -> RecordingMeta:
        path = directory / "meta.json"
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{exc.lineno}: not JSON ({exc.msg})") from None
        if doc.get("format") != FORMAT:
            raise ValueError(f"{path}: format {doc.get('format')!r} is not {FORMAT!r}")
        if doc.get("kind") not in DATA_FILE:
            raise ValueError(f"{path}: kind {doc.get('kind')!r} is not one of {sorted(DATA_FILE)}")
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in doc.items() if k in known})

    def write(self, directory: Path) -> None:
        tmp = directory / "meta.json.tmp"
        tmp.write_text(json.dumps(self.__dict__, indent=2) + "\n", encoding="utf-8")
        tmp.replace(directory / "meta.json")


@dataclass(frozen=True)
class FrameRow:
    frame_number: int
    timestamp: float
    flags: dict[str, int]


def read_frame_rows(directory: Path) -> list[FrameRow]:
    """Rows of ``frames.csv`` (empty when the file is absent)."""
    path = directory / "frames.csv"
    if not path.exists():
        return []
    rows = []
    with path.open(newline="", encoding="utf-8") as fh:
        for lineno, row in enumerate(csv.DictReader(fh), 2):
            try:
                rows.append(
                    FrameRow(
                        int(row["frame_number"]), float(row["timestamp"]), json.loads(row["flags"])
                    )
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{path}:{lineno}: bad row ({exc})") from None
    return rows


class Recorder:
    """Writes one recording directory; use as a context manager.

    Args:
        directory: created if missing; must not already hold a recording.
        radar_config: the radar configuration in use (written as ``radar.cfg``); None only for
            ``"uart"`` when it is unknown (no ``radar.cfg``; ``meta.board`` is then ``board``).
        kind: ``"raw_adc"`` or ``"uart"``.
        source: a short description of where the data came from (e.g. ``"dca1000 192.168.33.30"``).
        firmware_version: what the radar or FPGA reported, when known.
    """

    def __init__(
        self,
        directory: str | Path,
        radar_config: RadarConfig | None,
        kind: Kind,
        *,
        source: str,
        firmware_version: str | None = None,
        board: str = "unknown",
    ) -> None:
        if kind not in DATA_FILE:
            raise ValueError(f"kind must be one of {sorted(DATA_FILE)}, got {kind!r}")
        if radar_config is None and kind != "uart":
            raise ValueError("a raw_adc recording needs its radar configuration")
        self.directory = Path(directory)
        self.radar_config = radar_config
        self.meta = RecordingMeta(
            kind=kind,
            board=radar_config.chirp.board if radar_config is not None else board,
            source=source,
            firmware_version=firmware_version,
        )
        self._data: BinaryIO | None = None
        self._rows: Any = None
        self._rows_file: Any = None

    def __enter__(self) -> Recorder:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        d = self.directory
        d.mkdir(parents=True, exist_ok=True)
        if (d / "meta.json").exists():
            raise FileExistsError(
                f"{d} already holds a recording (meta.json); choose another --out"
            )
        if self.radar_config is not None:
            (d / "radar.cfg").write_text(emit_cfg(self.radar_config), encoding="utf-8")
        self.meta.started = time.time()
        self.meta.write(d)
        self._data = (d / DATA_FILE[self.meta.kind]).open("wb")
        self._rows_file = (d / "frames.csv").open("w", newline="", encoding="utf-8")
        self._rows = csv.writer(self._rows_file)
        self._rows.writerow(["frame_number", "timestamp", "flags"])

    def write_bytes(self, data: bytes | bytearray | memoryview) -> None:
        """UART recordings: append data-port bytes exactly as received."""
        if self.meta.kind != "uart":
            raise ValueError("write_bytes is for uart recordings")
        assert self._data is not None, "Recorder.open() first"
        self._data.write(data)

    def add_frame(self, frame: RawFrame | PointCloudFrame) -> None:
        """Note a delivered frame; raw ADC frames are also appended to ``adc.bin``."""
        assert self._data is not None, "Recorder.open() first"
        if self.meta.kind == "raw_adc":
            if not isinstance(frame, RawFrame):
                raise TypeError("a raw_adc recording takes RawFrame")
            assert self.radar_config is not None
            self._data.write(
                encode_frames(frame.data[None], self.radar_config.chirp, on_clip="ignore")
            )
        self._rows.writerow(
            [frame.frame_number, repr(frame.timestamp), json.dumps(frame.flags, sort_keys=True)]
        )
        self.meta.frames += 1

    def close(self, stats: dict[str, int] | None = None) -> None:
        """Flush everything and finish ``meta.json`` (with the source's counters when given)."""
        if self._data is None:
            return
        self._data.close()
        self._rows_file.close()
        self._data = None
        self.meta.ended = time.time()
        if stats is not None:
            self.meta.stats = dict(stats)
        self.meta.write(self.directory)
