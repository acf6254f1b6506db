"""The shard stream (``mmfm train clmp --stream``): every sample once per epoch over ranks x workers,
the windows of the in-memory loader, fsspec URLs (``file://``, ``memory://``), WebDataset-style tar
shards, the CLI.

One small dataset simulated by the real writer (8 samples of 0.5 s in 4 shards, point clouds only)
and a model contract of 0.4 s windows (3 windows per sample at a 0.05 s stride).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import fsspec
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from mmfm.cli import main
from runtime.dataset import DatasetError
from sim.dataset.simulate import TraceOptions
from sim.dataset.writer import GenerateSpec, generate
from training.clmp.data import holdout_mask, load_windows
from training.clmp.factory import model_config
from training.clmp.stream import (
    ShardReader,
    WindowStream,
    collate_windows,
    load_stream_windows,
    windows_per_sample,
)
from training.clmp.tarshards import pack

FAST = TraceOptions(density_per_m2={"person": 300.0, "default": 10.0}, max_bounces=1)
STRIDE = 0.05
NUM = 8


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("stream") / "sim"
    spec = GenerateSpec(
        num=NUM,
        seed=5,
        radar="iwr1443boost_radhar",
        window_s=0.5,
        outputs=("points",),
        trace=FAST,
    )
    generate(root, spec, num_shards=4)
    return root


@pytest.fixture(scope="module")
def contract() -> dict:
    cfg = model_config("clmp_points_tiny")
    cfg["input_contract"].update(window_s=0.4, frames=4, frame_rate_hz=10.0)
    return cfg["input_contract"]


def _read_all(root: str, contract: dict, world: int, workers: int, epoch: int, **kw) -> list:
    """(rank, worker-order sample) of every window every rank's DataLoader yields in one epoch."""
    got = []
    for rank in range(world):
        stream = WindowStream([root], contract, stride_s=STRIDE, rank=rank, world_size=world, **kw)
        stream.set_epoch(epoch)
        loader = DataLoader(stream, batch_size=None, num_workers=workers)
        got += [(rank, item["sample"]) for item in loader]
    return got


def test_each_sample_once_per_epoch_over_two_ranks_and_two_workers(dataset: Path, contract: dict):
    per = windows_per_sample(WindowStream([str(dataset)], contract, stride_s=STRIDE))
    assert per == 3
    orders = []
    for epoch in (0, 1):
        got = _read_all(str(dataset), contract, 2, 2, epoch, holdout_every=0, shuffle_buffer=4)
        # every sample's windows exactly once: 8 samples x 3 windows, none twice, none missing
        assert Counter(s for _, s in got) == {k: per for k in range(NUM)}
        # a sample is read by one reader only, and the ranks share the work evenly
        by_rank = {r: {s for rr, s in got if rr == r} for r in (0, 1)}
        assert not by_rank[0] & by_rank[1]
        assert len(by_rank[0]) == len(by_rank[1]) == NUM // 2
        orders.append([s for _, s in got])
    assert orders[0] != orders[1]  # shard order and buffers are drawn per epoch
    again = _read_all(str(dataset), contract, 2, 2, 1, holdout_every=0, shuffle_buffer=4)
    assert [s for _, s in again] == orders[1]  # ... from the seed: reproducible


def test_held_out_samples_stay_out_of_the_training_stream(dataset: Path, contract: dict):
    train = {s for _, s in _read_all(str(dataset), contract, 2, 0, 0, holdout_every=3)}
    held_stream = WindowStream([str(dataset)], contract, stride_s=STRIDE, select="heldout",
                               holdout_every=3, shuffle_buffer=0)  # fmt: skip
    held = {int(s) for s in load_stream_windows(held_stream).sample}
    expect = {k for k in range(NUM) if holdout_mask(np.array([k]), 3)[0]}
    assert held == expect and held and train == set(range(NUM)) - expect


def test_stream_windows_are_the_in_memory_windows(dataset: Path, contract: dict):
    ref = load_windows(dataset, contract, stride_s=STRIDE)
    stream = WindowStream([str(dataset)], contract, stride_s=STRIDE, holdout_every=0,
                          shuffle_buffer=0)  # fmt: skip
    got = load_stream_windows(stream)
    assert got is not None and len(got) == len(ref)
    key = lambda ws, i: (int(ws.sample[i]), ws.points[i].tobytes())  # noqa: E731
    assert sorted(key(got, i) for i in range(len(got))) == sorted(
        key(ref, i) for i in range(len(ref))
    )
    i = int(np.flatnonzero(got.sample == ref.sample[0])[0])
    assert got.captions[i] == ref.captions[0] and got.activity[i] == ref.activity[0]
    batch = collate_windows([stream_item for stream_item in stream][:5])
    assert batch["points"].shape == (5, 4, contract["max_points"], 5)
    assert batch["mask"].dtype == torch.float32 and len(batch["captions"]) == 5


def test_fsspec_urls_stream_the_same_windows(dataset: Path, contract: dict):
    # a memory:// copy (fsspec's in-memory object store) and a file:// URL of the directory
    mem = fsspec.filesystem("memory")
    for p in dataset.rglob("*"):
        if p.is_file():
            mem.pipe_file(f"/sim-copy/{p.relative_to(dataset).as_posix()}", p.read_bytes())
    seen = {}
    for url in (str(dataset), dataset.as_uri(), "memory://sim-copy"):
        stream = WindowStream([url], contract, stride_s=STRIDE, holdout_every=0, seed=3)
        seen[url] = [(i["sample"], i["points"].tobytes()) for i in stream]
    first, *rest = seen.values()
    assert len(first) == NUM * 3 and all(r == first for r in rest)
    # a changed byte is caught with verify=True, and a missing index names the file
    name = next(n for n in mem.ls("/sim-copy/shard-00000-of-00004", detail=False)
                if n.endswith(".npz"))  # fmt: skip
    data = bytearray(mem.cat_file(name))
    data[-30] ^= 1
    mem.pipe_file(name, bytes(data))
    with pytest.raises(DatasetError, match="checksum mismatch"):
        list(WindowStream(["memory://sim-copy"], contract, stride_s=STRIDE, holdout_every=0,
                          verify=True))  # fmt: skip
    with pytest.raises(DatasetError, match=r"index\.json: missing"):
        ShardReader("memory://nowhere")
    mem.rm("/sim-copy", recursive=True)


def test_tar_shards_stream_each_sample_once_with_the_same_windows(
    dataset: Path, contract: dict, tmp_path: Path
):
    tars = tmp_path / "tars"
    doc = pack(str(dataset), str(tars))
    assert [t["samples"] for t in doc["tars"]] == [[0, 4], [1, 5], [2, 6], [3, 7]]
    assert pack(str(dataset), "memory://tars-again") == doc  # deterministic bytes (sha256 listed)
    fsspec.filesystem("memory").rm("/tars-again", recursive=True)
    # 4 tars over 2 ranks x 2 workers: one tar each, every sample's windows once
    got = _read_all(str(tars), contract, 2, 2, 0, holdout_every=0, shuffle_buffer=4)
    assert Counter(s for _, s in got) == {k: 3 for k in range(NUM)}
    by_rank = {r: {s for rr, s in got if rr == r} for r in (0, 1)}
    assert not by_rank[0] & by_rank[1] and len(by_rank[0]) == 4
    key = lambda i: (i["sample"], i["points"].tobytes())  # noqa: E731
    plain = WindowStream([str(dataset)], contract, stride_s=STRIDE, holdout_every=0)
    packed = WindowStream([tars.as_uri()], contract, stride_s=STRIDE, holdout_every=0)
    assert sorted(map(key, packed)) == sorted(map(key, plain))
    # a tar changed where the reader would not notice (a block appended after the archive's end)
    # still fails its sha256 with verify=True
    path = tars / doc["tars"][1]["name"]
    path.write_bytes(path.read_bytes() + bytes(512))
    assert len(list(WindowStream([str(tars)], contract, stride_s=STRIDE, holdout_every=0))) == 24
    bad = WindowStream([str(tars)], contract, stride_s=STRIDE, holdout_every=0, verify=True)
    with pytest.raises(DatasetError, match=r"shard-00001-of-00004\.tar: checksum mismatch"):
        list(bad)


def test_cli_trains_from_a_url_stream_and_resumes(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    cfg = model_config("clmp_points_tiny")
    cfg["input_contract"].update(window_s=0.4, frames=4, frame_rate_hz=10.0)
    model = tmp_path / "short.json"
    model.write_text(json.dumps(cfg))
    out = tmp_path / "ck"
    argv = ["train", "clmp", "--data", dataset.as_uri(), "--stream", "--model", str(model),
            "--out", str(out), "--epochs", "2", "--batch-size", "6", "--stride-s", str(STRIDE),
            "--holdout-every", "4", "--no-progress", "--device", "cpu"]  # fmt: skip
    assert main(argv) == 0
    card = json.loads((out / "card.json").read_text())
    assert card["dataset"]["path"] == dataset.as_uri() and card["training"]["stream"]
    assert card["training"]["epochs_done"] == 2 and card["training"]["world_size"] == 1
    assert (out / "text_cache.pt").is_file() and (out / "curves.png").is_file()
    capsys.readouterr()
    assert main([*argv[:10], "4", *argv[11:]]) == 0  # --epochs 4: resumes after epoch 2
    assert "resuming after epoch 2" in capsys.readouterr().err
    state = torch.load(out / "state.pt", weights_only=False)
    assert [h["epoch"] for h in state["history"]] == [1, 2, 3, 4]


def test_cli_refuses_bad_stream_input(dataset: Path, tmp_path: Path, capsys):
    base = ["train", "clmp", "--out", str(tmp_path / "x"), "--no-progress"]
    assert main([*base, "--data", dataset.as_uri()]) == 1
    assert "a URL is read with --stream only" in capsys.readouterr().err
    assert main([*base, "--data", "memory://none", "--stream"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "memory://none/index.json: missing" in err[0]
    assert main([*base, "--data", str(dataset), "--stream", "--workers", "-1"]) == 1
    assert "--workers" in capsys.readouterr().err


@pytest.mark.slow
def test_torchrun_two_processes_stream_through_the_cli(dataset: Path, tmp_path: Path):
    """``torchrun -m mmfm train clmp --stream``: two gloo ranks, rank 0 alone prints and writes."""
    import os
    import subprocess
    import sys

    cfg = model_config("clmp_points_tiny")
    cfg["input_contract"].update(window_s=0.4, frames=4, frame_rate_hz=10.0)
    model = tmp_path / "short.json"
    model.write_text(json.dumps(cfg))
    out = tmp_path / "ck"
    repo = Path(__file__).resolve().parents[1]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "mmfm", "train", "clmp", "--data", dataset.as_uri(), "--stream", "--workers", "1",
           "--model", str(model), "--out", str(out), "--epochs", "2", "--batch-size", "4",
           "--stride-s", str(STRIDE), "--holdout-every", "4", "--no-progress"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(repo)}
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=repo, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.count("checkpoint: ") == 1  # rank 0 only
    assert "global batch 8 = 4 x 2 rank(s)" in res.stderr
    card = json.loads((out / "card.json").read_text())
    assert card["training"]["world_size"] == 2 and card["training"]["epochs_done"] == 2
