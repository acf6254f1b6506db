"""Reader of mmfm radar datasets (what ``mmfm sim generate`` writes): numpy + json only.

It lives on the runtime floor so that the daemon's replay (and training) read simulated data without
importing ``sim``. The writer is ``sim.dataset.writer``; the full specification is
``sim/dataset/FORMAT.md``. In short::

    DIR/
      index.json                       # format, generation spec, shards, samples (written by every run)
      card.json, README.md             # dataset card: generator, command, seed, counts per activity/room/board
      shard-00000-of-00004/
        sample-00000000.npz            # arrays of sample 0 (k % 4 == 0 lives in shard 0)
        sample-00000000.json           # truth, captions, chirp config of sample 0
        sample-00000004.npz ...
        manifest.json                  # written last: spec, samples, size + sha256 of every file

One *sample* is a window of ``num_frames`` radar frames. Its ``.npz`` (deflate, fixed timestamps, keys
sorted) holds, where requested at generation time:

- ``adc``: int16 ``[frames, tx, rx, loop, sample, 2]`` (I, Q) ADC counts, the DCA1000's 2 x int16 per
  complex sample (the imaginary part is 0 for real ADC formats);
- ``points``: :data:`runtime.frames.POINT_DTYPE` ``[total_points]`` and ``points_offsets`` int64
  ``[frames + 1]`` (frame ``f`` is ``points[offsets[f]:offsets[f + 1]]``), radar frame;
- ``spectrogram``: float16 ``[frames, doppler]`` micro-Doppler power [dB] over the people's range gate,
  with ``spectrogram_velocity_mps`` float32 ``[doppler]``;

and always the dense ground truth: ``frame_times_s`` float64 ``[frames]`` (absolute simulation time of
each frame's start), ``joints`` float32 ``[people, frames, 24, 3]`` (SMPL joints, world frame [m], at each
frame's mid time), ``positions`` / ``velocities`` float32 ``[people, frames, 3]`` (pelvis, world [m],
[m/s]), ``positions_radar`` float32 ``[people, frames, 3]`` (pelvis in the radar frame: x right,
y boresight, z up [m]), ``breathing_per_min`` / ``heart_per_min`` float32 ``[people, frames]``.

The ``.json`` (UTF-8, sorted keys) holds ``format``, ``index``, ``id``, ``window``, ``truth`` (people
with subject, activity timeline, summary positions/velocities/vital rates, the room layout from
``Scene.describe()``), ``captions`` (``[{"granularity", "text"}]``), ``chirp`` (``cfg_text`` as
``firmware_cfg.emit_cfg`` writes it, ``config`` = ``ChirpConfig.model_dump(mode="json")``, ``profile``),
``scenario`` (what was sampled, enough to regenerate the sample alone) and ``arrays`` (dtype and shape
of each array in the ``.npz``).

Usage::

    ds = open_dataset("data/sim")
    len(ds); s = ds[0]                   # Sample(adc, points, spectrogram, truth, captions, chirp)
    for shard in ds.shards: ...          # shard names; ds.iter_shard(name) yields its samples
    ds.verify()                          # [] or the problems (missing/corrupt files, by name)

Every error names the file at fault (:class:`DatasetError`).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from firmware_cfg.chirp import ChirpConfig
from runtime.checksums import sha256_file

#: Format names written into the files; a reader refuses other major versions.
DATASET_FORMAT = "mmfm.dataset/1"
SAMPLE_FORMAT = "mmfm.dataset.sample/1"
MANIFEST_FORMAT = "mmfm.dataset.manifest/1"
INDEX_NAME = "index.json"
MANIFEST_NAME = "manifest.json"
CARD_NAME = "card.json"


class DatasetError(Exception):
    """A missing, corrupt or inconsistent dataset file; the message starts with the file's path."""


def shard_name(i: int, n: int) -> str:
    """Folder name of shard ``i`` of ``n`` (``shard-00000-of-00004``)."""
    return f"shard-{i:05d}-of-{n:05d}"


def sample_stem(index: int) -> str:
    """File stem of global sample ``index`` (``sample-00000042``)."""
    return f"sample-{index:08d}"


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_json(path: Path) -> Any:
    """Parse a JSON file; :class:`DatasetError` naming it when missing or malformed."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(f"{path}: missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{path}: not valid JSON ({exc})") from None


def adc_from_int16(iq: np.ndarray) -> np.ndarray:
    """int16 ``[..., 2]`` (I, Q) -> complex64 ``[...]``."""
    out = np.empty(iq.shape[:-1], dtype=np.complex64)
    out.real = iq[..., 0]
    out.imag = iq[..., 1]
    return out


@dataclass(slots=True)
class Sample:
    """One window of frames.

    Attributes:
        index: global sample index.
        adc: complex64 ``[frames, tx, rx, loop, sample]`` ADC counts, or None when not stored.
        points: one :data:`~runtime.frames.POINT_DTYPE` array per frame (empty list when not stored).
        spectrogram: float32 ``[frames, doppler]`` micro-Doppler power [dB], or None.
        spectrogram_velocity_mps: ``[doppler]`` velocity axis [m/s], or None.
        truth: the JSON truth (people, room, window) plus the dense arrays (``joints``,
            ``positions``, ``velocities``, ``positions_radar``, ``breathing_per_min``,
            ``heart_per_min``, ``frame_times_s``) as numpy arrays.
        captions: ``[{"granularity": str, "text": str}, ...]``.
        chirp: the :class:`ChirpConfig` the sample was simulated with.
        cfg_text: that configuration as ``.cfg`` text (parse it for the demo/CFAR settings).
        meta: the rest of the sample JSON (``window``, ``scenario``, ``backend``, ``arrays``...).
    """

    index: int
    adc: np.ndarray | None
    points: list[np.ndarray]
    spectrogram: np.ndarray | None
    spectrogram_velocity_mps: np.ndarray | None
    truth: dict[str, Any]
    captions: list[dict[str, str]]
    chirp: ChirpConfig
    cfg_text: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return int(self.meta.get("window", {}).get("num_frames", len(self.points)))


TRUTH_ARRAYS = (
    "frame_times_s",
    "joints",
    "positions",
    "velocities",
    "positions_radar",
    "breathing_per_min",
    "heart_per_min",
)


def _load_npz(path: Path, expected_sha: str | None) -> dict[str, np.ndarray]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"{path}: missing") from None
    if expected_sha is not None and _sha256_bytes(data) != expected_sha:
        raise DatasetError(f"{path}: checksum mismatch (file corrupt or modified)")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        raise DatasetError(f"{path}: unreadable .npz ({exc})") from None


def _load_sample_json(path: Path, expected_sha: str | None) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"{path}: missing") from None
    if expected_sha is not None and _sha256_bytes(data) != expected_sha:
        raise DatasetError(f"{path}: checksum mismatch (file corrupt or modified)")
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{path}: not valid JSON ({exc})") from None
    if doc.get("format") != SAMPLE_FORMAT:
        raise DatasetError(f"{path}: format {doc.get('format')!r}, expected {SAMPLE_FORMAT!r}")
    return doc


def decode_sample(
    index: int, doc: dict[str, Any], arrays: dict[str, np.ndarray], where: Path
) -> Sample:
    """Build a :class:`Sample` from its parsed JSON and ``.npz`` arrays (``where`` names the files)."""
    for name, spec in doc.get("arrays", {}).items():
        if name not in arrays:
            raise DatasetError(f"{where}.npz: array {name!r} missing")
        arr = arrays[name]
        if list(arr.shape) != list(spec["shape"]) or str(arr.dtype) != spec["dtype"]:
            raise DatasetError(
                f"{where}.npz: array {name!r} is {arr.dtype}{list(arr.shape)}, the JSON says "
                f"{spec['dtype']}{spec['shape']}"
            )
    try:
        chirp = ChirpConfig.model_validate(doc["chirp"]["config"])
        cfg_text = str(doc["chirp"]["cfg_text"])
    except Exception as exc:
        raise DatasetError(f"{where}.json: bad chirp config ({exc})") from None
    adc = adc_from_int16(arrays["adc"]) if "adc" in arrays else None
    points: list[np.ndarray] = []
    if "points" in arrays:
        pts, off = arrays["points"], arrays["points_offsets"]
        points = [pts[int(off[f]) : int(off[f + 1])] for f in range(len(off) - 1)]
    spec = arrays.get("spectrogram")
    truth = dict(doc.get("truth", {}))
    for name in TRUTH_ARRAYS:
        if name in arrays:
            truth[name] = arrays[name]
    meta = {k: v for k, v in doc.items() if k not in ("truth", "captions", "chirp")}
    return Sample(
        index=index,
        adc=adc,
        points=points,
        spectrogram=None if spec is None else spec.astype(np.float32),
        spectrogram_velocity_mps=arrays.get("spectrogram_velocity_mps"),
        truth=truth,
        captions=list(doc.get("captions", [])),
        chirp=chirp,
        cfg_text=cfg_text,
        meta=meta,
    )


class Dataset:
    """A dataset directory opened by :func:`open_dataset` (random access and iteration by shard).

    Args:
        root: the dataset directory.
        verify: check each file's sha256 against its shard manifest when reading it.
    """

    def __init__(self, root: Path, *, verify: bool = True) -> None:
        self.root = root
        self.verify_on_read = verify
        self.index = read_json(root / INDEX_NAME)
        if self.index.get("format") != DATASET_FORMAT:
            raise DatasetError(
                f"{root / INDEX_NAME}: format {self.index.get('format')!r}, expected {DATASET_FORMAT!r}"
            )
        self._samples: list[tuple[int, str, str]] = [
            (int(s["index"]), str(s["shard"]), str(s["stem"])) for s in self.index["samples"]
        ]
        self._manifests: dict[str, dict[str, Any]] = {}

    # ------------------------------------------------------------------ structure
    @property
    def spec(self) -> dict[str, Any]:
        """The generation settings (seed, num, backend, radar, window, outputs...)."""
        return dict(self.index.get("spec", {}))

    @property
    def shards(self) -> list[str]:
        """Names of the complete shards the index lists, in order."""
        return [s["name"] for s in self.index["shards"]]

    @property
    def complete(self) -> bool:
        """True when every shard of the generation is present."""
        return bool(self.index.get("complete", False))

    def __len__(self) -> int:
        return len(self._samples)

    def sample_indices(self) -> list[int]:
        """Global indices of the samples, in dataset order (by shard)."""
        return [i for i, _, _ in self._samples]

    def manifest(self, shard: str) -> dict[str, Any]:
        """The shard's parsed ``manifest.json`` (cached)."""
        if shard not in self._manifests:
            path = self.root / shard / MANIFEST_NAME
            doc = read_json(path)
            if doc.get("format") != MANIFEST_FORMAT:
                raise DatasetError(
                    f"{path}: format {doc.get('format')!r}, expected {MANIFEST_FORMAT!r}"
                )
            self._manifests[shard] = doc
        return self._manifests[shard]

    def _expected_sha(self, shard: str, name: str) -> str | None:
        if not self.verify_on_read:
            return None
        files = self.manifest(shard)["files"]
        if name not in files:
            raise DatasetError(f"{self.root / shard / name}: not listed in {MANIFEST_NAME}")
        return str(files[name]["sha256"])

    # ------------------------------------------------------------------ access
    def _read(self, index: int, shard: str, stem: str) -> Sample:
        base = self.root / shard / stem
        doc = _load_sample_json(
            base.with_suffix(".json"), self._expected_sha(shard, stem + ".json")
        )
        arrays = _load_npz(base.with_suffix(".npz"), self._expected_sha(shard, stem + ".npz"))
        return decode_sample(index, doc, arrays, base)

    def __getitem__(self, i: int) -> Sample:
        """The ``i``-th sample in dataset order (``i`` is a position, see :meth:`sample_indices`)."""
        if not -len(self) <= i < len(self):
            raise IndexError(f"sample {i} out of range (dataset has {len(self)})")
        return self._read(*self._samples[i])

    def __iter__(self) -> Iterator[Sample]:
        for shard in self.shards:
            yield from self.iter_shard(shard)

    def iter_shard(self, shard: str) -> Iterator[Sample]:
        """The samples of one shard, in index order."""
        for index, sh, stem in self._samples:
            if sh == shard:
                yield self._read(index, sh, stem)

    def verify(self) -> list[str]:
        """Check every listed file's size and sha256; returns the problems, each naming a file."""
        problems = []
        for shard in self.shards:
            try:
                files = self.manifest(shard)["files"]
            except DatasetError as exc:
                problems.append(str(exc))
                continue
            for name, info in sorted(files.items()):
                path = self.root / shard / name
                if not path.is_file():
                    problems.append(f"{path}: missing")
                elif path.stat().st_size != info["bytes"]:
                    problems.append(
                        f"{path}: size {path.stat().st_size}, manifest says {info['bytes']}"
                    )
                elif sha256_file(path) != info["sha256"]:
                    problems.append(f"{path}: checksum mismatch (file corrupt or modified)")
        return problems


def open_dataset(root: str | Path, *, verify: bool = True) -> Dataset:
    """Open a dataset directory written by ``mmfm sim generate``.

    Args:
        root: the directory holding ``index.json``.
        verify: check each sample file's sha256 against its shard manifest when it is read.

    Raises:
        DatasetError: missing or malformed ``index.json`` (the message names the file).
    """
    path = Path(root)
    if not path.is_dir():
        raise DatasetError(f"{path}: no such dataset directory")
    return Dataset(path, verify=verify)
