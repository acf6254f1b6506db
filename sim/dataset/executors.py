"""Run dataset shards on a cluster: one Ray task or one Slurm array task per shard.

Every executor calls :func:`sim.dataset.writer.write_shard` for each shard, so all of them give the
same bytes for the same spec and shard set (``local`` runs the shards in this process, see
:func:`sim.dataset.writer.generate`). The dataset directory must be on a file system every worker
sees (NFS, Lustre, a local disk for a one-machine Ray instance), and every node needs the same mmfm
and software stack installed (the bytes are identical only on one stack, FORMAT.md); a local Ray
instance's workers import this checkout (``PYTHONPATH``).

- **Ray** (``pip install 'mmfm[scale]'``): :func:`ray_runner` connects to ``address`` (``"auto"``,
  ``"ray://host:10001"``) or starts a local instance, skips complete shards in the driver, submits
  one task per remaining shard with ``max_retries`` (a worker process that dies is retried; so is a
  task that raises ``OSError``, e.g. a full or flaky file system) and waits for all of them.
- **Slurm**: :func:`sbatch_script` writes an ``sbatch`` array script (one array task per shard, each
  running ``mmfm sim generate --shard $SLURM_ARRAY_TASK_ID/n``); :func:`slurm_runner` submits the same
  work through ``submitit`` and waits.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from shutil import which
from typing import Any

from runtime.dataset import shard_name
from sim.dataset.scenario import ScenarioError
from sim.dataset.writer import GenerateSpec, ShardRunner, shard_is_complete, write_shard

EXECUTORS = ("local", "ray", "slurm")


def _shard_task(out: str, spec_dict: dict[str, Any], i: int, n: int) -> tuple[int, bool, int, int]:
    """One shard in a worker process; the spec travels as its JSON dict."""
    written, ns, nf = write_shard(Path(out), GenerateSpec.from_dict(spec_dict), i, n)
    return i, written, ns, nf


def _project_root() -> str:
    """Directory holding the ``sim`` package (for workers of a local Ray instance)."""
    return str(Path(__file__).resolve().parents[2])


def ray_runner(
    address: str | None = None, *, max_retries: int = 3, num_cpus: int | None = None
) -> ShardRunner:
    """A shard runner on Ray.

    Args:
        address: ``"auto"`` (the cluster this node belongs to), a ``ray://`` or ``host:port``
            address, or None: start a local Ray instance (stopped again afterwards).
        max_retries: times a shard is retried after its worker died or it raised ``OSError``.
        num_cpus: CPUs of a local instance (None: all of this machine's).

    Raises:
        ScenarioError: Ray is not installed (one line naming the extra).
    """
    try:
        import ray
    except ImportError:
        raise ScenarioError("--executor ray needs Ray (pip install 'mmfm[scale]')") from None

    def run(
        out: Path, spec: GenerateSpec, shards: Sequence[int], n: int
    ) -> list[tuple[int, bool, int, int]]:
        spec_dict = spec.to_dict()
        done = [
            (i, False, 0, 0) for i in shards if shard_is_complete(out / shard_name(i, n), spec_dict)
        ]
        todo = [i for i in shards if i not in {d[0] for d in done}]
        if not todo:
            return done
        started = not ray.is_initialized()
        if started:
            if address is None:  # local instance: its workers import this checkout
                path = os.pathsep.join(
                    filter(None, [_project_root(), os.environ.get("PYTHONPATH")])
                )
                ray.init(
                    num_cpus=num_cpus,
                    include_dashboard=False,
                    log_to_driver=False,
                    runtime_env={"env_vars": {"PYTHONPATH": path}},
                )
            else:
                try:
                    ray.init(address=address, log_to_driver=False)
                except (ConnectionError, RuntimeError, ValueError) as exc:
                    first = (
                        str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    )
                    raise ScenarioError(f"--address {address}: cannot reach Ray: {first}") from None
        try:
            task = ray.remote(num_cpus=1, max_retries=max_retries, retry_exceptions=[OSError])(
                _shard_task
            )
            refs = {i: task.remote(str(out.resolve()), spec_dict, i, n) for i in todo}
            results, failed = [], []
            for i, ref in refs.items():
                try:
                    results.append(ray.get(ref))
                except ray.exceptions.RayError as exc:
                    failed.append(f"{shard_name(i, n)}: {_first_line(exc)}")
            if failed:
                raise ScenarioError(
                    f"{len(failed)} shard(s) failed after {max_retries} retries (rerun to resume): "
                    + "; ".join(failed)
                )
            return done + results
        finally:
            if started:
                ray.shutdown()

    return run


def _first_line(exc: BaseException) -> str:
    """The root cause of a task's failure in one line."""
    cause = getattr(exc, "cause", None) or exc
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[-1] if text else ''}"


def _generate_argv(spec: GenerateSpec) -> list[str]:
    """``mmfm sim generate`` arguments of ``spec`` (without ``--out`` and ``--shard``)."""
    return shlex.split(spec.command())[3:]


def sbatch_script(
    out: str | Path,
    spec: GenerateSpec,
    num_shards: int,
    *,
    python: str | None = None,
    time_min: int = 60,
    cpus: int = 1,
    mem_gb: int = 4,
    partition: str | None = None,
    parallelism: int | None = None,
) -> str:
    """An ``sbatch`` array script: array task ``i`` writes shard ``i`` of ``num_shards``.

    Args:
        out: dataset directory (on a shared file system).
        spec: the generation settings (written as ``mmfm sim generate`` options).
        num_shards: array size ``n`` (tasks ``0..n-1``).
        python: interpreter with mmfm installed (default: this one; ``$MMFM_PYTHON`` overrides
            it when the script runs).
        time_min: time limit per task [min]; cpus, mem_gb: per task.
        partition: Slurm partition (None: the cluster's default).
        parallelism: most tasks running at once (``--array=0-N%P``; None: no limit).

    Rerunning the script, or the same command without ``--shard``, skips complete shards; after the
    array, ``mmfm sim verify DIR`` checks every shard and the command without ``--shard`` rewrites
    ``index.json`` and the card.
    """
    python = python or sys.executable
    argv = ["-m", "mmfm", "sim", "generate", *_generate_argv(spec), "--out", str(out)]
    array = f"0-{num_shards - 1}" + (f"%{parallelism}" if parallelism else "")
    lines = [
        "#!/bin/bash",
        f"# mmfm dataset generation: {num_shards} shard(s), one Slurm array task per shard.",
        f"# Submit: sbatch {{this file}}; afterwards: mmfm sim verify {shlex.quote(str(out))}",
        "#SBATCH --job-name=mmfm-sim",
        f"#SBATCH --array={array}",
        f"#SBATCH --time={time_min}",
        f"#SBATCH --cpus-per-task={cpus}",
        f"#SBATCH --mem={mem_gb}G",
        f"#SBATCH --output={Path(out) / 'slurm'}/%A_%a.log",
    ]
    if partition:
        lines.append(f"#SBATCH --partition={partition}")
    lines += [
        "set -euo pipefail",
        f"PYTHON=${{MMFM_PYTHON:-{shlex.quote(python)}}}",
        ': "${SLURM_ARRAY_TASK_ID:?run this script with sbatch (or set SLURM_ARRAY_TASK_ID)}"',
        f'exec "$PYTHON" {shlex.join(argv)} --no-progress \\',
        f'  --shard "$SLURM_ARRAY_TASK_ID/{num_shards}"',
        "",
    ]
    return "\n".join(lines)


def write_sbatch(out: str | Path, spec: GenerateSpec, num_shards: int, **options: Any) -> Path:
    """Write :func:`sbatch_script` to ``out/slurm/generate.sbatch`` (and its log folder)."""
    folder = Path(out) / "slurm"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "generate.sbatch"
    path.write_text(sbatch_script(out, spec, num_shards, **options), encoding="utf-8")
    path.chmod(0o755)
    return path


def slurm_runner(
    *, time_min: int = 60, mem_gb: int = 4, partition: str | None = None
) -> ShardRunner:
    """A shard runner on Slurm through ``submitit`` (one array task per shard; waits for them).

    Raises:
        ScenarioError: submitit is not installed or ``sbatch`` is not on ``PATH`` (one line).
    """
    try:
        import submitit
    except ImportError:
        raise ScenarioError("--executor slurm needs submitit (pip install 'mmfm[scale]')") from None

    def run(
        out: Path, spec: GenerateSpec, shards: Sequence[int], n: int
    ) -> list[tuple[int, bool, int, int]]:
        if which("sbatch") is None:
            raise ScenarioError(
                "--executor slurm: sbatch not found on PATH (run on a Slurm login node, or use "
                "--dry-run to write the sbatch script)"
            )
        ex = submitit.AutoExecutor(folder=str(out / "slurm" / "%j"), cluster="slurm")
        params: dict[str, Any] = {"timeout_min": time_min, "mem_gb": mem_gb, "cpus_per_task": 1}
        if partition:
            params["slurm_partition"] = partition
        ex.update_parameters(**params)
        spec_dict = spec.to_dict()
        todo = list(shards)
        jobs = ex.map_array(
            _shard_task,
            [str(out.resolve())] * len(todo),
            [spec_dict] * len(todo),
            todo,
            [n] * len(todo),
        )
        results, failed = [], []
        for i, job in zip(todo, jobs, strict=True):
            try:
                results.append(job.result())
            except (
                submitit.core.utils.FailedJobError,
                submitit.core.utils.UncompletedJobError,
            ) as exc:
                failed.append(f"{shard_name(i, n)} (job {job.job_id}): {_first_line(exc)}")
        if failed:
            raise ScenarioError(
                f"{len(failed)} shard(s) failed (rerun to resume): " + "; ".join(failed)
            )
        return results

    return run
