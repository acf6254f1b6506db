"""Scale-out of dataset generation: verify + repair, Ray and Slurm executors, the cost plan.

Every executor must give the bytes of the local one; ``mmfm sim verify`` must name a shard with one
changed byte, and a rerun must repair it to the original bytes.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO
from test_dataset import FAST, _hashes, tiny_cfg_text

from mmfm.cli import main
from sim.dataset.executors import sbatch_script, write_sbatch
from sim.dataset.plan import Cost, make_plan, read_cost
from sim.dataset.verify import verify_dataset
from sim.dataset.writer import GenerateSpec, generate


@pytest.fixture(scope="module")
def tiny_cfg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cfg") / "tiny.cfg"
    path.write_text(tiny_cfg_text(), encoding="utf-8")
    return path


def _spec(cfg: Path, num: int = 4) -> GenerateSpec:
    # points only, 0.1 s windows: a sample takes well under a second
    return GenerateSpec(
        num=num, seed=5, radar=str(cfg), window_s=0.1, outputs=("points",), trace=FAST
    )


@pytest.fixture(scope="module")
def local4(tiny_cfg: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 samples in 4 shards, written by the local executor."""
    root = tmp_path_factory.mktemp("local") / "ds"
    generate(root, _spec(tiny_cfg), num_shards=4)
    return root


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out + out.err


def test_verify_detects_one_changed_byte_and_rerun_repairs(
    tiny_cfg: Path, local4: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "ds"
    shutil.copytree(local4, root)
    before = _hashes(root, "**/*")
    rc, out = _cli(capsys, "sim", "verify", str(root))
    assert rc == 0 and out.count(": complete") == 4, out
    victim = root / "shard-00002-of-00004" / "sample-00000002.npz"
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit of one byte
    victim.write_bytes(bytes(data))
    rc, out = _cli(capsys, "sim", "verify", str(root))
    assert rc == 1
    lines = out.splitlines()
    assert "shard-00002-of-00004: corrupted (sample-00000002.npz sha256 mismatch)" in lines
    assert sum(line.endswith(": complete") for line in lines) == 3
    repair = [ln for ln in lines if ln.startswith("regenerate the damaged shard(s) with: ")]
    assert repair and f"--out {root} --num-shards 4" in repair[0]
    # the same generate command repairs exactly that shard, to the original bytes
    report = generate(root, _spec(tiny_cfg), num_shards=4)
    assert report.written == ["shard-00002-of-00004"] and len(report.skipped) == 3
    assert _hashes(root, "**/*") == before
    assert _cli(capsys, "sim", "verify", str(root))[0] == 0


def test_verify_names_incomplete_missing_and_truncated_shards(local4: Path, tmp_path: Path) -> None:
    root = tmp_path / "ds"
    shutil.copytree(local4, root)
    (root / "shard-00000-of-00004" / "manifest.json").unlink()  # interrupted before the manifest
    shutil.rmtree(root / "shard-00001-of-00004")  # never started
    (root / "shard-00003-of-00004" / "sample-00000003.json").write_text("{}")  # size differs
    got = {s.name: s for s in verify_dataset(root)}
    assert [s.status for s in got.values()] == ["incomplete", "incomplete", "complete", "corrupted"]
    assert "interrupted" in got["shard-00000-of-00004"].line()
    assert got["shard-00001-of-00004"].line() == "shard-00001-of-00004: incomplete (not started)"
    assert "sample-00000003.json 2 bytes, manifest " in got["shard-00003-of-00004"].line()


def test_verify_refuses_a_directory_without_a_dataset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out = _cli(capsys, "sim", "verify", str(tmp_path))
    assert (
        rc == 1
        and out.strip()
        == f"mmfm sim verify: error: {tmp_path}: not a dataset (no index.json, no shard-* directories)"
    )


def test_cost_is_recorded_outside_the_manifests(local4: Path) -> None:
    cost = json.loads((local4 / "cost.json").read_text())
    assert cost["samples"] == 4 and len(cost["shards"]) == 4
    assert cost["cpu_s_per_sample"] > 0
    sample_bytes = sum(p.stat().st_size for p in local4.glob("shard-*/sample-*"))
    assert cost["bytes"] == sample_bytes
    for man in local4.glob("shard-*/manifest.json"):
        assert "cost.json" not in json.loads(man.read_text())["files"]
    got = read_cost(local4)
    assert got.samples == 4 and got.bytes_per_sample == pytest.approx(sample_bytes / 4, abs=1)


def test_plan_projects_from_the_measured_cost(
    local4: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = make_plan(Cost(2.0, 50_000, 10, "test"), num=1_000_000, workers=100)
    assert plan.cpu_hours == pytest.approx(2e6 / 3600)
    assert plan.shards == 1000 and plan.wall_hours == pytest.approx(2e6 / 100 / 3600)
    assert plan.storage_bytes == 5e10
    # a last, partial wave of shards counts whole
    assert make_plan(Cost(1.0, 1, 1, "t"), num=3000, workers=2).wall_hours == pytest.approx(
        2 * 1000 / 3600
    )
    rc, out = _cli(
        capsys, "sim", "plan", "--num", "1000000", "--workers", "64", "--from", str(local4)
    )
    cost = read_cost(local4)
    assert rc == 0, out
    assert f"{cost.cpu_s_per_sample:.3f} CPU s/sample" in out
    assert f"1000000 samples: {cost.cpu_s_per_sample * 1e6 / 3600:.1f} CPU hours" in out
    rc, out = _cli(capsys, "sim", "plan", "--num", "10", "--workers", "1", "--from", "/nonexistent")
    assert rc == 1 and out.count("\n") == 1 and "cost.json: not found" in out


def test_slurm_script_passes_bash_n_and_its_tasks_write_the_same_bytes(
    tiny_cfg: Path, local4: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "ds"
    rc, out = _cli(
        capsys, "sim", "generate", "--out", str(root), "--num", "4", "--seed", "5",
        "--radar", str(tiny_cfg), "--window-s", "0.1", "--outputs", "points",
        "--max-bounces", "1", "--density", "300,10", "--num-shards", "4",
        "--executor", "slurm", "--dry-run",
    )  # fmt: skip
    script = root / "slurm" / "generate.sbatch"
    assert rc == 0 and str(script) in out
    text = script.read_text()
    assert "#SBATCH --array=0-3\n" in text
    subprocess.run(["bash", "-n", str(script)], check=True)
    assert text == sbatch_script(root, _spec(tiny_cfg), 4)  # the CLI's spec is the test's
    # run two array tasks the way Slurm would (one process per task)
    env = {**os.environ, "MMFM_PYTHON": sys.executable, "PYTHONPATH": str(REPO)}
    for task in ("1", "3"):
        subprocess.run(
            ["bash", str(script)], env={**env, "SLURM_ARRAY_TASK_ID": task}, check=True,
            capture_output=True, cwd=tmp_path,
        )  # fmt: skip
    got = _hashes(root)
    want = {k: v for k, v in _hashes(local4).items() if int(k[7:15]) in (1, 3)}
    assert got == want and len(got) == 4
    # without an array task id the script refuses to run
    bad = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True)
    assert bad.returncode != 0 and "run this script with sbatch" in bad.stderr


def test_executor_options_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["sim", "generate", "--out", str(tmp_path / "x"), "--num", "2"]
    rc, out = _cli(capsys, *base, "--dry-run")
    assert rc == 1 and out.strip() == "mmfm sim generate: error: --dry-run is for --executor slurm"
    rc, out = _cli(capsys, *base, "--address", "auto")
    assert rc == 1 and out.strip() == "mmfm sim generate: error: --address is for --executor ray"
    rc, out = _cli(capsys, *base, "--executor", "slurm", "--shard", "0/2")
    assert rc == 1 and "use --num-shards, not --shard" in out
    if shutil.which("sbatch") is None:
        # one line either way: submitit missing (the default test venv) or no sbatch to submit with
        rc, out = _cli(capsys, *base, "--executor", "slurm", "--no-progress")
        want = (
            "sbatch not found on PATH"
            if importlib.util.find_spec("submitit") is not None
            else "--executor slurm needs submitit"
        )
        assert rc == 1 and want in out and out.count("\n") == 1


def test_write_sbatch_options(tiny_cfg: Path, tmp_path: Path) -> None:
    path = write_sbatch(tmp_path, _spec(tiny_cfg), 100, partition="cpu", parallelism=20)
    text = path.read_text()
    assert "#SBATCH --array=0-99%20\n" in text and "#SBATCH --partition=cpu\n" in text
    assert '--shard "$SLURM_ARRAY_TASK_ID/100"' in text
    subprocess.run(["bash", "-n", str(path)], check=True)


needs_ray = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None, reason="ray not installed (pip install 'mmfm[scale]')"
)


@pytest.mark.slow  # a local Ray instance takes ~10 s to start and ~30 s in all on 2 cores
@needs_ray
def test_ray_writes_the_bytes_of_the_local_executor(
    tiny_cfg: Path, local4: Path, tmp_path: Path
) -> None:
    from sim.dataset.executors import ray_runner

    root = tmp_path / "ds"
    # one shard already complete: skipped in the driver, not submitted
    shutil.copytree(local4 / "shard-00001-of-00004", root / "shard-00001-of-00004")
    report = generate(root, _spec(tiny_cfg), num_shards=4, runner=ray_runner(num_cpus=2))
    assert report.skipped == ["shard-00001-of-00004"] and len(report.written) == 3
    assert _hashes(root, "**/*") == _hashes(local4, "**/*")
    assert all(s.status == "complete" for s in verify_dataset(root))


def _task_pids() -> list[int]:
    """Ray worker processes running a shard (their process title is ``ray::_shard_task``)."""
    pids = []
    for p in Path("/proc").iterdir():
        try:
            if p.name.isdigit() and b"ray::_shard_task" in (p / "cmdline").read_bytes():
                pids.append(int(p.name))
        except OSError:
            continue
    return pids


@pytest.mark.slow
@needs_ray
def test_ray_retries_the_shard_of_a_killed_worker(tiny_cfg: Path, tmp_path: Path) -> None:
    import signal
    import threading

    import ray

    from sim.dataset.executors import ray_runner

    spec = _spec(tiny_cfg, num=8)
    want = tmp_path / "local"
    generate(want, spec, num_shards=1)
    root = tmp_path / "ray"
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(REPO)}})  # fmt: skip
    try:
        result: dict[str, object] = {}
        run = threading.Thread(
            target=lambda: result.update(
                report=generate(root, spec, num_shards=1, runner=ray_runner(max_retries=2))
            )
        )
        run.start()
        killed = None
        shard = root / "shard-00000-of-00001"
        while run.is_alive() and killed is None:  # kill the worker once it has written a sample
            pids = _task_pids()
            if pids and any(shard.glob("sample-*.npz")):
                killed = pids[0]
                os.kill(killed, signal.SIGKILL)
            run.join(0.05)
        run.join(120)
    finally:
        ray.shutdown()
    assert killed is not None, "the shard finished before its worker could be killed"
    assert result["report"].written == ["shard-00000-of-00001"]  # type: ignore[attr-defined]
    assert _hashes(root, "**/*") == _hashes(want, "**/*")
