"""CLMP under DDP (two gloo processes on this CPU) against one process, and resuming.

Two ranks of ``b`` windows must train exactly what one process of ``2 b`` trains: the same global
batches, captions and negatives (embeddings gathered with gradients), gradients averaged by DDP. The
only differences are floating-point summation orders (the all-reduce, the gathered gradient), so
the per-epoch losses agree to ``REL_TOL`` (measured: 2-6e-8 relative), far below what a real
difference gives (a global batch of 8 instead of 16 moves them by 30-45 %). Adam would hide a gradient
that is only scaled, so the gradients themselves are compared too, before any optimiser step.
Augmentation is off here: each rank augments its slice with its own generator
(``training.distributed.rank_seed``), so with it on the curves agree only statistically.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from broker import free_port

from training.clmp.data import TextCache, WindowSet
from training.clmp.train import Split, TrainSettings, train_on
from training.distributed import (
    DistEnv,
    distributed_session,
    env_from_torchrun,
    gather_with_grad,
)

REL_TOL = 1e-5
CAPTIONS = {
    "walk": ["a person is walking", "someone walks toward the radar"],
    "stand": ["a person is standing still", "someone stands in front of the radar"],
}


def windows(n_per: int, seed: int = 0) -> WindowSet:
    """Point clusters ``[N, 10, 32, 5]``: approaching walkers (v = -1 m/s) and standing people."""
    rng = np.random.default_rng(seed)
    pts, msk, acts, caps = [], [], [], []
    for act, texts in CAPTIONS.items():
        for _ in range(n_per):
            p = np.zeros((10, 32, 5), np.float32)
            m = np.zeros((10, 32), np.float32)
            y0 = rng.uniform(1.5, 3.5)
            for f in range(10):
                k = int(rng.integers(8, 32))
                walk = act == "walk"
                p[f, :k, 0] = rng.normal(0, 0.15, k)
                p[f, :k, 1] = y0 - (0.2 * f if walk else 0.0) + rng.normal(0, 0.1, k)
                p[f, :k, 2] = rng.uniform(-0.9, 0.7, k)
                p[f, :k, 3] = (-1.0 if walk else 0.0) + rng.normal(0, 0.1, k)
                p[f, :k, 4] = rng.uniform(10, 30, k)
                m[f, :k] = 1
            pts.append(p)
            msk.append(m)
            acts.append(act)
            caps.append(texts)
    n = len(acts)
    return WindowSet(np.stack(pts), np.stack(msk), acts, caps, np.arange(n), ["synthetic"] * n)


def settings(out: Path, batch_size: int, epochs: int = 3) -> TrainSettings:
    return TrainSettings(
        data=["synthetic"],
        out=str(out),
        model="clmp_points_tiny",
        epochs=epochs,
        batch_size=batch_size,
        lr=3e-3,
        warmup_steps=2,
        augment=False,
        threads=1,
        device="cpu",
        command="test",
    )


class Interrupted(Exception):
    """Raised by the log callback to stop a run the way a kill between epochs would."""


def _rank(rank: int, world: int, port: int, st: TrainSettings, ws: WindowSet, stop: int) -> None:
    """One torchrun-like rank: the variables torchrun sets, then the real session and loop."""
    os.environ.update(
        RANK=str(rank),
        WORLD_SIZE=str(world),
        LOCAL_RANK=str(rank),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
    )
    torch.set_num_threads(1)

    def log(line: str) -> None:
        if stop and f'"epoch": {stop + 1},' in line:
            raise Interrupted(line)

    with distributed_session(device="cpu") as env:
        assert env.world_size == world and env.backend == "gloo"
        try:
            train_on(Split(train=ws, val=None), st, log=log, env=env)
        except Interrupted:
            os._exit(0)  # rank 0 dies before writing epoch stop + 1
        except RuntimeError:
            if not stop:
                raise
            os._exit(0)  # the other rank loses its peer in the next collective


def _grad_rank(rank: int, world: int, port: int, ws: WindowSet, cache: Path, out: Path) -> None:
    """One rank's gradients of the gathered CLIP loss over a global batch of all of ``ws``."""
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))  # fmt: skip
    torch.set_num_threads(1)
    with distributed_session(device="cpu") as env:
        torch.save(_grads(ws, cache, env), out / f"grads-{rank}.pt")


def _grads(ws: WindowSet, cache: Path, env: DistEnv) -> dict[str, torch.Tensor]:
    from training.clmp.data import CaptionSampler
    from training.clmp.factory import build_model
    from training.clmp.loss import ClipLoss

    torch.manual_seed(0)
    model = build_model("clmp_points_tiny")
    model.logit_bias.requires_grad_(False)
    net = env.wrap(model)
    idx = np.arange(len(ws))
    texts, pos = CaptionSampler(ws).draw(idx, np.random.default_rng(0))
    b = len(ws) // env.world_size
    mine = idx[env.rank * b : (env.rank + 1) * b]
    out = net(torch.from_numpy(ws.points[mine]), torch.from_numpy(ws.mask[mine]),
              TextCache(cache).get([texts[i] for i in mine]))  # fmt: skip
    radar, text = gather_with_grad(out["radar"], env), gather_with_grad(out["text"], env)
    ClipLoss()(radar, text, out["logit_scale"], None, pos).backward()
    return {k: p.grad.clone() for k, p in model.named_parameters() if p.grad is not None}


def test_two_ranks_get_the_one_process_gradient(tmp_path: Path, text_cache: Path) -> None:
    ws = windows(6)  # 12 windows: one global batch, 2 x 6
    one = _grads(ws, text_cache, DistEnv())
    mp.start_processes(_grad_rank, args=(2, free_port(), ws, text_cache, tmp_path), nprocs=2,
                       join=True, start_method="fork")  # fmt: skip
    for rank in (0, 1):  # DDP leaves the same averaged gradient on every rank
        two = torch.load(tmp_path / f"grads-{rank}.pt", weights_only=True)
        assert two.keys() == one.keys() and len(one) > 10
        for k in one:
            torch.testing.assert_close(two[k], one[k], rtol=1e-4, atol=1e-7)


def run_ranks(st: TrainSettings, ws: WindowSet, world: int = 2, stop: int = 0) -> None:
    # fork: the ranks inherit the imported modules (a spawned rank re-imports torch and mmfm, ~5-20 s
    # on a busy machine); the parent holds no process group and runs one torch thread
    mp.start_processes(
        _rank, args=(world, free_port(), st, ws, stop), nprocs=world, join=True, start_method="fork"
    )


def curve(out: Path) -> list[float]:
    state = torch.load(out / "state.pt", map_location="cpu", weights_only=False)
    return [h["train_loss"] for h in state["history"]]


@pytest.fixture(scope="module")
def text_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The frozen MiniLM embeddings of every caption, computed once (the ranks only read them)."""
    from training.clmp.data import CaptionSampler

    path = tmp_path_factory.mktemp("cache") / "text_cache.pt"
    TextCache(path).ensure(CaptionSampler(windows(1)).all_texts())
    return path


def with_cache(out: Path, cache: Path) -> Path:
    out.mkdir(parents=True)
    shutil.copy(cache, out / "text_cache.pt")
    return out


def test_torchrun_environment_is_read() -> None:
    assert env_from_torchrun({}) == (0, 1, 0)
    full = {
        "RANK": "1",
        "WORLD_SIZE": "2",
        "LOCAL_RANK": "1",
        "MASTER_ADDR": "h",
        "MASTER_PORT": "1",
    }
    assert env_from_torchrun(full) == (1, 2, 1)
    from training.distributed import DistributedError

    with pytest.raises(DistributedError, match="MASTER_ADDR"):
        env_from_torchrun({"RANK": "1", "WORLD_SIZE": "2"})
    with pytest.raises(DistributedError, match="outside"):
        env_from_torchrun({**full, "RANK": "2"})


def test_gather_with_grad_is_identity_for_one_process() -> None:
    x = torch.ones(3, 2, requires_grad=True)
    assert gather_with_grad(x, DistEnv()) is x


def test_two_gloo_ranks_train_the_one_process_curve(tmp_path: Path, text_cache: Path) -> None:
    ws = windows(24)  # 48 windows: 3 global batches of 16 per epoch
    one = with_cache(tmp_path / "one", text_cache)
    train_on(Split(train=ws, val=None), settings(one, 16), log=lambda s: None)
    two = with_cache(tmp_path / "two", text_cache)
    run_ranks(settings(two, 8), ws)  # 2 ranks x 8 = the same global batch
    a, b = curve(one), curve(two)
    assert len(a) == len(b) == 3
    assert a[-1] < a[0]  # it learns
    np.testing.assert_allclose(b, a, rtol=REL_TOL)
    # the weights agree too, and rank 0 alone wrote the checkpoint
    wa = torch.load(one / "model.pt", weights_only=True)
    wb = torch.load(two / "model.pt", weights_only=True)
    for k in wa:
        torch.testing.assert_close(wb[k], wa[k], rtol=1e-4, atol=1e-5)
    state = torch.load(two / "state.pt", weights_only=False)
    assert len(state["gen_states"]) == 2
    # another global batch (8) gives a visibly different curve: the comparison can fail
    other = with_cache(tmp_path / "other", text_cache)
    train_on(Split(train=ws, val=None), settings(other, 8), log=lambda s: None)
    assert not np.allclose(curve(other), a, rtol=1e-3)


def test_resume_gives_the_uninterrupted_curve(tmp_path: Path, text_cache: Path) -> None:
    ws = windows(12)
    st = settings(tmp_path / "whole", 8, epochs=4)
    st.augment = True  # the augmentation generator is checkpointed as well
    whole = with_cache(tmp_path / "whole", text_cache)
    train_on(Split(train=ws, val=None), st, log=lambda s: None)

    def stop_after_2(line: str) -> None:
        if '"epoch": 3,' in line:
            raise Interrupted(line)

    cut = with_cache(tmp_path / "cut", text_cache)
    st.out = str(cut)
    with pytest.raises(Interrupted):
        train_on(Split(train=ws, val=None), st, log=stop_after_2)
    assert len(curve(cut)) == 2
    lines: list[str] = []
    train_on(Split(train=ws, val=None), st, log=lines.append)
    assert any(line.startswith("resuming after epoch 2") for line in lines)
    assert curve(cut) == curve(whole)  # bit for bit


def test_two_gloo_ranks_resume_after_an_interruption(tmp_path: Path, text_cache: Path) -> None:
    ws = windows(16)
    whole = with_cache(tmp_path / "whole", text_cache)
    run_ranks(settings(whole, 8, epochs=3), ws)
    cut = with_cache(tmp_path / "cut", text_cache)
    run_ranks(settings(cut, 8, epochs=3), ws, stop=1)
    assert len(curve(cut)) == 1
    run_ranks(settings(cut, 8, epochs=3), ws)
    np.testing.assert_allclose(curve(cut), curve(whole), rtol=REL_TOL)


def test_siglip_two_ranks_match_one_process(tmp_path: Path, text_cache: Path) -> None:
    """SigLIP trains its bias too (the parameter CLIP leaves frozen), under DDP as in one process."""
    ws = windows(16)
    curves = []
    for name, batch, ranks in (("one", 16, 1), ("two", 8, 2)):
        st = settings(with_cache(tmp_path / name, text_cache), batch, epochs=2)
        st.loss = "siglip"
        if ranks == 1:
            train_on(Split(train=ws, val=None), st, log=lambda s: None)
        else:
            run_ranks(st, ws)
        curves.append(curve(tmp_path / name))
        bias = torch.load(tmp_path / name / "model.pt", weights_only=True)["logit_bias"]
        assert float(bias) != -10.0  # trained away from its initial value
    np.testing.assert_allclose(curves[1], curves[0], rtol=REL_TOL)


@pytest.mark.gpu
def test_cuda_bf16_run_learns_and_loads_on_a_cpu(tmp_path: Path, text_cache: Path) -> None:
    """On a GPU: the same loop on ``cuda:0`` with bf16 autocast; the checkpoint loads on a CPU."""
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    from training.clmp.factory import load_checkpoint
    from training.distributed import current

    assert current("auto", "auto").precision == "bf16"
    ws = windows(24)
    st = settings(with_cache(tmp_path / "gpu", text_cache), 16, epochs=4)
    st.device = "auto"
    train_on(Split(train=ws, val=None), st, log=lambda s: None)
    losses = curve(tmp_path / "gpu")
    assert losses[-1] < losses[0]
    model, _ = load_checkpoint(tmp_path / "gpu")
    assert next(model.parameters()).device.type == "cpu"
