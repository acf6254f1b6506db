"""Dataset writer: deterministic, sharded, resumable (format: ``sim/dataset/FORMAT.md``, reader:
``runtime.dataset``).

- **Deterministic.** Sample ``k`` depends only on ``(spec, k)``: its files hold no timestamps, JSON keys
  are sorted, ``.npz`` members are deflated at a fixed level with a fixed zip date. The same spec and
  shard give identical bytes; a sample's bytes do not depend on how the dataset is sharded.
- **Sharded.** Shard ``i`` of ``n`` holds the samples ``k`` with ``k % n == i``, so a fan-out (Ray, a
  Slurm array) is ``n`` independent processes each writing one shard into the same directory.
- **Resumable.** A shard's ``manifest.json`` (sizes + sha256 of its files) is written last. A shard
  whose manifest verifies is skipped; any other shard (no manifest, a file missing or changed) is
  regenerated from scratch.

After its shards, a run rewrites ``index.json`` and the dataset card (``card.json``, ``README.md``)
from every complete shard in the directory.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import logging
import os
import re
import resource
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtime.dataset import (
    DATASET_FORMAT,
    INDEX_NAME,
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    SAMPLE_FORMAT,
    sample_stem,
    sha256_file,
    shard_name,
)
from sim.dataset.card import write_card
from sim.dataset.files import json_bytes, npz_bytes, sha256_bytes, write_atomic
from sim.dataset.people_prompt import parse_scene_program
from sim.dataset.program import ProgramError, SceneProgram, validate_program
from sim.dataset.scenario import (
    SETUPS,
    ScenarioError,
    check_mount,
    resolve_radar,
    sample_scenario,
    scene_program,
)
from sim.dataset.simulate import BACKENDS, OUTPUTS, SampleData, TraceOptions, simulate_sample
from sim.propagation.raycast import set_embree_threads

log = logging.getLogger(__name__)
COST_NAME = "cost.json"
COST_FORMAT = "mmfm.dataset.cost/1"
_SHARD_RE = re.compile(r"^shard-(\d{5})-of-(\d{5})$")


#: Threads of the Embree device in each ``workers > 1`` process (0: Embree's default, every CPU):
#: the processes are the parallelism (:func:`sim.propagation.raycast.set_embree_threads`).
WORKER_EMBREE_THREADS = 1


def generator_version() -> str:
    """``mmfm <version>`` of the installed package (``unknown`` when not installed)."""
    try:
        return f"mmfm {importlib.metadata.version('mmfm')}"
    except importlib.metadata.PackageNotFoundError:
        return "mmfm unknown"


@dataclass(frozen=True)
class GenerateSpec:
    """What a dataset is generated from; every shard of a directory must share it.

    Attributes:
        num: number of samples.
        seed: dataset seed (sample ``k`` draws from ``default_rng([seed, k])``).
        backend: ``"scatter"`` or ``"sionna"``.
        radar: ``"random"``, a bundled profile name or a ``.cfg`` path.
        window_s: window length [s].
        outputs: sorted subset of ``("adc", "points", "spectrogram")``.
        prompt: fixes the room and the people (None: sampled).
        trace: propagation settings.
        scene: path of the ``--scene`` program file (for the card's command); ``program`` holds
            its content (the spec compares content, not the path).
        program: the scene program (``SceneProgram`` as a dict) or None.
        setup: ``"radhar"`` (:data:`sim.dataset.scenario.SETUPS`) or None (``home``: the scene's
            own wall mount).
        mount_height_m: radar height above the floor [m] or None.
        tilt_deg: downward tilt of the radar's boresight [deg] or None.
        person_range_m: (min, max) horizontal distance of each person from the radar [m] or None.
        person_azimuth_deg: (min, max) azimuth of each person from boresight [deg] or None.

    The options after ``trace`` appear in :meth:`to_dict` (the manifests' spec) only when set, so
    datasets made without them keep their spec and bytes.
    """

    num: int
    seed: int
    backend: str = "scatter"
    radar: str = "random"
    window_s: float = 2.0
    outputs: tuple[str, ...] = ("points", "spectrogram")
    prompt: str | None = None
    trace: TraceOptions = field(default_factory=TraceOptions)
    scene: str | None = None
    program: dict[str, Any] | None = None
    setup: str | None = None
    mount_height_m: float | None = None
    tilt_deg: float | None = None
    person_range_m: tuple[float, float] | None = None
    person_azimuth_deg: tuple[float, float] | None = None

    def scene_program(self) -> SceneProgram | None:
        """The ``--scene`` program, validated (None without one)."""
        if self.program is None:
            return None
        try:
            return validate_program(self.program, self.scene or "scene program")
        except ProgramError as exc:
            raise ScenarioError(str(exc)) from None

    def scenario_options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`sim.dataset.scenario.sample_scenario` for this spec."""
        return {
            "radar": self.radar,
            "prompt": self.prompt,
            "window_s": self.window_s,
            "program": self.scene_program(),
            "setup": self.setup,
            "mount_height_m": self.mount_height_m,
            "tilt_deg": self.tilt_deg,
            "distance_m": self.person_range_m,
            "azimuth_deg": self.person_azimuth_deg,
        }

    def unused_words(self) -> list[str]:
        """Words of ``prompt`` the scene parser did not use (empty without a prompt)."""
        return parse_scene_program(self.prompt).unused_words if self.prompt else []

    def validate(self) -> None:
        """Raise :class:`ScenarioError` (one line) for bad settings."""
        if self.num < 1:
            raise ScenarioError(f"--num must be >= 1, got {self.num}")
        if self.backend not in BACKENDS:
            raise ScenarioError(f"unknown backend {self.backend!r}; known: {', '.join(BACKENDS)}")
        if self.backend == "sionna":
            # Installed? (found without importing: Dr.Jit is set up in the processes that trace)
            missing = [m for m in ("mitsuba", "sionna") if importlib.util.find_spec(m) is None]
            if missing:
                raise ScenarioError(
                    f"the sionna backend needs {' and '.join(missing)} (pip install 'mmfm[sim]')"
                )
        bad = sorted(set(self.outputs) - set(OUTPUTS))
        if bad or not self.outputs:
            raise ScenarioError(f"unknown outputs {bad}; choose from {', '.join(OUTPUTS)}")
        if not 0 < self.window_s <= 60:
            raise ScenarioError(f"window length must be within (0, 60] s, got {self.window_s}")
        resolve_radar(self.radar)
        if self.setup is not None and self.setup not in SETUPS:
            raise ScenarioError(
                f"unknown setup {self.setup!r}; known: home, {', '.join(sorted(SETUPS))}"
            )
        check_mount(self.mount_height_m, self.tilt_deg)
        program = scene_program(self.prompt, self.scene_program())
        if program is not None and program.unused_words:
            log.info("%s: words not used: %s", self.prompt, ", ".join(program.unused_words))
        if program is not None or self.setup or self.person_range_m or self.person_azimuth_deg:
            # A dry run of the first sample: an impossible placement fails here, before any file.
            sample_scenario(self.seed, 0, **self.scenario_options())

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GenerateSpec:
        """Inverse of :meth:`to_dict` (``radar_sha256`` and ``format`` are derived, not read)."""
        return cls(
            num=d["num"],
            seed=d["seed"],
            backend=d["backend"],
            radar=d["radar"],
            window_s=d["window_s"],
            outputs=tuple(d["outputs"]),
            prompt=d["prompt"],
            trace=TraceOptions(**d["trace"]),
            scene=d.get("scene"),
            program=d.get("program"),
            setup=d.get("setup"),
            mount_height_m=d.get("mount_height_m"),
            tilt_deg=d.get("tilt_deg"),
            person_range_m=_pair(d.get("person_range_m")),
            person_azimuth_deg=_pair(d.get("person_azimuth_deg")),
        )

    def to_dict(self) -> dict[str, Any]:
        radar_sha = None
        if self.radar != "random" and Path(self.radar).is_file():
            radar_sha = sha256_file(Path(self.radar))
        return {
            "num": self.num,
            "seed": self.seed,
            "backend": self.backend,
            "radar": self.radar,
            "radar_sha256": radar_sha,
            "window_s": self.window_s,
            "outputs": sorted(self.outputs),
            "prompt": self.prompt,
            "trace": self.trace.to_dict(),
            "format": DATASET_FORMAT,
            **{k: v for k, v in self._options().items() if v is not None},
        }

    def _options(self) -> dict[str, Any]:
        pairs = {
            "person_range_m": self.person_range_m,
            "person_azimuth_deg": self.person_azimuth_deg,
        }
        return {
            "scene": self.scene,
            "program": self.program,
            "setup": self.setup,
            "mount_height_m": self.mount_height_m,
            "tilt_deg": self.tilt_deg,
            **{k: list(v) if v is not None else None for k, v in pairs.items()},
        }

    def command(self) -> str:
        """The canonical ``mmfm sim generate`` command line (without ``--out`` and ``--shard``).

        Propagation settings that differ from the defaults are included (``--max-bounces``,
        ``--density``, ``--rays``, ``--raycaster``): they are part of the spec, so the card's command regenerates the
        same bytes.
        """
        parts = [
            "mmfm sim generate",
            f"--num {self.num}",
            f"--seed {self.seed}",
            f"--backend {self.backend}",
            f"--radar {self.radar}",
            f"--window-s {self.window_s:g}",
            f"--outputs {','.join(sorted(self.outputs))}",
        ]
        default = TraceOptions()
        if self.trace.max_bounces != default.max_bounces:
            parts.append(f"--max-bounces {self.trace.max_bounces}")
        density = self.trace.density_per_m2
        if density is not None and set(density) == {"person", "default"}:
            parts.append(f"--density {density['person']:g},{density['default']:g}")
        if self.trace.samples_per_src != default.samples_per_src:
            parts.append(f"--rays {self.trace.samples_per_src}")
        if self.trace.raycaster != default.raycaster:
            parts.append(f"--raycaster {self.trace.raycaster}")
        if self.prompt:
            parts.append(f"--prompt {json.dumps(self.prompt)}")
        if self.scene:
            parts.append(f"--scene {json.dumps(self.scene)}")
        if self.setup:
            parts.append(f"--setup {self.setup}")
        if self.mount_height_m is not None:
            parts.append(f"--mount-height {self.mount_height_m:g}")
        if self.tilt_deg is not None:
            parts.append(f"--tilt {self.tilt_deg:g}")
        if self.person_range_m is not None:
            parts.append(f"--person-range {self.person_range_m[0]:g},{self.person_range_m[1]:g}")
        if self.person_azimuth_deg is not None:
            a0, a1 = self.person_azimuth_deg
            parts.append(f"--person-azimuth={a0:g},{a1:g}")
        return " ".join(parts)


@dataclass
class GenerateReport:
    """What a run did: shards written and skipped (names), samples written."""

    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    samples_written: int = 0
    frames_written: int = 0


def _pair(v: Any) -> tuple[float, float] | None:
    return None if v is None else (float(v[0]), float(v[1]))


# ---------------------------------------------------------------------------------------- samples
def sample_files(spec: GenerateSpec, index: int) -> tuple[bytes, bytes, dict[str, Any]]:
    """``(npz bytes, json bytes, summary)`` of sample ``index`` (deterministic)."""
    sc = sample_scenario(spec.seed, index, **spec.scenario_options())
    data: SampleData = simulate_sample(
        sc, backend=spec.backend, outputs=spec.outputs, trace_options=spec.trace
    )
    doc = {"format": SAMPLE_FORMAT, **data.doc}
    people = doc["truth"]["people"]
    summary = {
        "activities": [p["activity"] for p in people],
        "room_type": doc["truth"]["room"]["room_type"],
        "board": sc.board,
        "profile": sc.radar_profile,
        "num_people": len(people),
        "num_frames": sc.num_frames,
        "num_points": int(data.arrays["points_offsets"][-1])
        if "points_offsets" in data.arrays
        else None,
    }
    return npz_bytes(data.arrays), json_bytes(doc), summary


def _sample_job(args: tuple[GenerateSpec, int]) -> tuple[int, bytes, bytes, dict[str, Any]]:
    spec, index = args
    npz, js, summary = sample_files(spec, index)
    return index, npz, js, summary


# ---------------------------------------------------------------------------------------- shards
def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` -> ``(i, n)``; :class:`ScenarioError` unless ``0 <= i < n``."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not m or not int(m.group(1)) < int(m.group(2)):
        raise ScenarioError(f"--shard must be i/n with 0 <= i < n (e.g. 0/4), got {text!r}")
    return int(m.group(1)), int(m.group(2))


def existing_shards(out: Path) -> list[tuple[Path, int, int]]:
    """``(directory, i, n)`` of every ``shard-i-of-n`` directory in ``out``, sorted."""
    found = []
    for p in sorted(out.iterdir()) if out.is_dir() else []:
        m = _SHARD_RE.match(p.name)
        if m and p.is_dir():
            found.append((p, int(m.group(1)), int(m.group(2))))
    return found


def _read_manifest(shard_dir: Path) -> dict[str, Any] | None:
    path = shard_dir / MANIFEST_NAME
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and doc.get("format") == MANIFEST_FORMAT else None


def shard_problems(shard_dir: Path) -> tuple[str, list[str]]:
    """``(status, problems)`` of a shard directory, checking every file against its manifest.

    ``status`` is ``"complete"`` (manifest present, every file has its size and sha256),
    ``"incomplete"`` (no directory, no manifest: an interrupted or never started shard, or a file
    listed by the manifest is gone) or ``"corrupted"`` (an unreadable manifest, or a file whose size
    or sha256 differs). ``problems`` names each damaged file with what is wrong.
    """
    if not shard_dir.is_dir():
        return "incomplete", ["not started"]
    path = shard_dir / MANIFEST_NAME
    if not path.is_file():
        n = sum(1 for p in shard_dir.iterdir() if p.name.startswith("sample-"))
        return "incomplete", [f"no {MANIFEST_NAME} ({n} sample files: interrupted)"]
    man = _read_manifest(shard_dir)
    if man is None or not isinstance(man.get("files"), dict):
        return "corrupted", [f"{MANIFEST_NAME} unreadable"]
    missing, bad = [], []
    for name, info in sorted(man["files"].items()):
        f = shard_dir / name
        if not f.is_file():
            missing.append(f"{name} missing")
        elif f.stat().st_size != info["bytes"]:
            bad.append(f"{name} {f.stat().st_size} bytes, manifest {info['bytes']}")
        elif sha256_file(f) != info["sha256"]:
            bad.append(f"{name} sha256 mismatch")
    if bad:
        return "corrupted", bad + missing
    if missing:
        return "incomplete", missing
    return "complete", []


def shard_is_complete(shard_dir: Path, spec_dict: dict[str, Any]) -> bool:
    """True when the shard's manifest exists, matches the spec and every file verifies."""
    man = _read_manifest(shard_dir)
    if man is None or man.get("spec") != spec_dict:
        return False
    return shard_problems(shard_dir)[0] == "complete"


def _check_compatible(out: Path, spec_dict: dict[str, Any], n: int) -> None:
    for shard_dir, _, m in existing_shards(out):
        if m != n:
            raise ScenarioError(
                f"{out} already holds shards of {m} ({shard_dir.name}); this run writes shards of {n}: use another --out"
            )
        man = _read_manifest(shard_dir)
        if man is not None and man.get("spec") != spec_dict:
            diff = sorted(k for k in spec_dict if man["spec"].get(k) != spec_dict[k])
            raise ScenarioError(
                f"{shard_dir}: generated with different settings ({', '.join(diff)}); use another --out"
            )


def _clear_shard(shard_dir: Path) -> None:
    for p in shard_dir.iterdir():
        if (
            p.name in (MANIFEST_NAME, COST_NAME)
            or p.name.endswith(".tmp")
            or re.match(r"^sample-\d{8}\.(npz|json)$", p.name)
        ):
            p.unlink()


def _cpu_seconds() -> float:
    """CPU time [s] of this process and its finished children (user + system)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def write_shard(
    out: Path,
    spec: GenerateSpec,
    i: int,
    n: int,
    *,
    workers: int = 1,
    progress: Callable[[Iterable[Any], int, str], Iterable[Any]] | None = None,
) -> tuple[bool, int, int]:
    """Write shard ``i`` of ``n`` unless it is complete; returns ``(written, samples, frames)``.

    Besides the samples and the manifest, a written shard gets ``cost.json``: the CPU seconds
    (this process and its sample workers) and wall seconds it took. It is not in the manifest
    (timings differ between runs; everything the manifest lists is identical bytes).
    """
    spec_dict = spec.to_dict()
    shard_dir = out / shard_name(i, n)
    if shard_is_complete(shard_dir, spec_dict):
        return False, 0, 0
    shard_dir.mkdir(parents=True, exist_ok=True)
    _clear_shard(shard_dir)
    indices = list(range(i, spec.num, n))
    files: dict[str, dict[str, Any]] = {}
    summaries: dict[str, Any] = {}
    frames = 0
    jobs = [(spec, k) for k in indices]
    cpu0, wall0 = _cpu_seconds(), time.perf_counter()
    wrap = progress or (lambda it, total, desc: it)
    if workers > 1 and len(jobs) > 1:
        pool = ProcessPoolExecutor(
            max_workers=workers,
            initializer=set_embree_threads,
            initargs=(WORKER_EMBREE_THREADS,),
        )
        results: Iterable[Any] = pool.map(_sample_job, jobs)
    else:
        pool = None
        results = map(_sample_job, jobs)
    try:
        for index, npz, js, summary in wrap(results, len(jobs), shard_dir.name):
            stem = sample_stem(index)
            for suffix, data in ((".npz", npz), (".json", js)):
                write_atomic(shard_dir / (stem + suffix), data)
                files[stem + suffix] = {"bytes": len(data), "sha256": sha256_bytes(data)}
            summaries[str(index)] = summary
            frames += int(summary["num_frames"])
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)  # waits: the workers' CPU time is counted
    cost = {
        "format": COST_FORMAT,
        "shard": shard_dir.name,
        "samples": len(indices),
        "bytes": sum(int(f["bytes"]) for f in files.values()),
        "cpu_s": round(_cpu_seconds() - cpu0, 3),
        "wall_s": round(time.perf_counter() - wall0, 3),
        "workers": workers,
        "host": os.uname().nodename,
    }
    write_atomic(shard_dir / COST_NAME, json_bytes(cost))
    manifest = {
        "format": MANIFEST_FORMAT,
        "shard": shard_dir.name,
        "shard_index": i,
        "num_shards": n,
        "spec": spec_dict,
        "generator": generator_version(),
        "samples": indices,
        "files": files,
        "summaries": summaries,
    }
    write_atomic(shard_dir / MANIFEST_NAME, json_bytes(manifest))
    return True, len(indices), frames


def write_index(out: Path) -> dict[str, Any]:
    """Rewrite ``index.json`` and the dataset card from the complete shards in ``out``."""
    shards, samples = [], []
    spec: dict[str, Any] | None = None
    generator = None
    n = None
    summaries: dict[int, dict[str, Any]] = {}
    for shard_dir, _i, m in existing_shards(out):
        man = _read_manifest(shard_dir)
        if man is None:
            continue
        spec = spec or man["spec"]
        generator = generator or man.get("generator")
        n = m
        raw = json_bytes(man)
        size = sum(int(f["bytes"]) for f in man["files"].values())
        shards.append(
            {
                "name": shard_dir.name,
                "num_samples": len(man["samples"]),
                "bytes": size,
                "manifest_sha256": sha256_bytes(raw),
            }
        )
        for k in man["samples"]:
            samples.append({"index": int(k), "shard": shard_dir.name, "stem": sample_stem(int(k))})
            summaries[int(k)] = man["summaries"][str(k)]
    missing = (
        [
            shard_name(i, n)
            for i in range(n or 0)
            if shard_name(i, n) not in {s["name"] for s in shards}
        ]
        if n
        else []
    )
    index = {
        "format": DATASET_FORMAT,
        "spec": spec,
        "generator": generator,
        "num_shards": n,
        "complete": bool(shards) and not missing,
        "missing_shards": missing,
        "num_samples": len(samples),
        "shards": shards,
        "samples": samples,
    }
    write_atomic(out / INDEX_NAME, json_bytes(index))
    write_cost(out, [s["name"] for s in shards])
    command = None
    if spec:
        command = GenerateSpec.from_dict(spec).command() + f" --out DIR --shard i/{n}"
    write_card(out, index, summaries, command)
    return index


def write_cost(out: Path, shard_names: Sequence[str]) -> dict[str, Any] | None:
    """Sum the shards' ``cost.json`` into ``out/cost.json`` (the dataset's generation cost).

    Returns the document (None when no shard has a cost record, e.g. shards written before costs
    were recorded). ``cpu_s_per_sample`` is the CPU time per sample [s], ``bytes_per_sample`` the
    storage per sample [bytes], over the shards that have a record.
    """
    rows = []
    for name in shard_names:
        try:
            doc = json.loads((out / name / COST_NAME).read_text(encoding="utf-8"))
            rows.append({k: doc[k] for k in ("shard", "samples", "bytes", "cpu_s", "wall_s")})
        except (OSError, ValueError, KeyError, TypeError):
            continue
    if not rows:
        return None
    samples = sum(int(r["samples"]) for r in rows)
    cpu = sum(float(r["cpu_s"]) for r in rows)
    size = sum(int(r["bytes"]) for r in rows)
    doc = {
        "format": COST_FORMAT,
        "samples": samples,
        "cpu_s": round(cpu, 3),
        "cpu_s_per_sample": round(cpu / samples, 4) if samples else None,
        "bytes": size,
        "bytes_per_sample": round(size / samples) if samples else None,
        "shards": rows,
    }
    write_atomic(out / COST_NAME, json_bytes(doc))
    return doc


ShardRunner = Callable[[Path, GenerateSpec, Sequence[int], int], list[tuple[int, bool, int, int]]]
"""``(out, spec, shard indices, n) -> [(i, written, samples, frames)]``: runs shards somewhere."""


def generate(
    out: str | Path,
    spec: GenerateSpec,
    *,
    shards: Sequence[int] | None = None,
    num_shards: int = 1,
    workers: int = 1,
    progress: Callable[[Iterable[Any], int, str], Iterable[Any]] | None = None,
    runner: ShardRunner | None = None,
) -> GenerateReport:
    """Generate (or resume) shards of a dataset into ``out``.

    Args:
        out: dataset directory (created).
        spec: the generation settings.
        shards: which shards of ``num_shards`` to write (None: all of them).
        num_shards: ``n`` of ``--shard i/n``.
        workers: processes per shard (samples in parallel; bytes are unchanged).
        progress: ``(iterable, total, description) -> iterable`` wrapper (e.g. tqdm).
        runner: runs the shards elsewhere (``sim.dataset.executors``: Ray, Slurm); None: one
            after the other in this process, ``workers`` processes per shard.

    Raises:
        ScenarioError: bad settings, or ``out`` holds a dataset generated differently.
    """
    spec.validate()
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    _check_compatible(root, spec.to_dict(), num_shards)
    report = GenerateReport()
    todo = list(shards if shards is not None else range(num_shards))
    if runner is None:
        results = [
            (i, *write_shard(root, spec, i, num_shards, workers=workers, progress=progress))
            for i in todo
        ]
    else:
        results = runner(root, spec, todo, num_shards)
    for i, written, ns, nf in sorted(results):
        (report.written if written else report.skipped).append(shard_name(i, num_shards))
        report.samples_written += ns
        report.frames_written += nf
    write_index(root)
    return report
