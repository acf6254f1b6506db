"""Data-parallel training under ``torchrun`` (DDP): the parts every mmfm trainer shares.

One process is one *rank*; ``torchrun`` starts ``--nproc_per_node`` of them per machine and tells each
its place through environment variables (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``,
``MASTER_PORT``). Without them (a plain ``python -m mmfm ...``) the same code runs as a world of one
and nothing here touches ``torch.distributed``. So a trainer written against :class:`DistEnv` runs
unchanged on one CPU process, on two gloo processes on this machine, or on NCCL GPUs of a cluster::

    with distributed_session(device="auto") as env:   # reads the torchrun variables
        model = env.wrap(model)                       # DistributedDataParallel when world > 1
        torch.manual_seed(rank_seed(seed, env.rank))  # rank-aware seeding where ranks must differ
        emb = gather_with_grad(local_emb, env)        # [world * b, D], gradients flow back
        if env.is_main: save(...)                     # rank-0-only logging, progress, checkpoints
        env.barrier()

Backends: ``nccl`` when the ranks use CUDA devices, ``gloo`` on CPUs. Each rank uses
``cuda:LOCAL_RANK`` when CUDA is there and the device is ``auto``/``cuda``.

Mixed precision: :meth:`DistEnv.autocast` is bf16 autocast on CUDA (no loss scaling needed for bf16)
and a no-op on CPUs (``precision="auto"``); ``"fp32"`` turns it off, ``"bf16"`` asks for it.
"""

from __future__ import annotations

import contextlib
import datetime
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.distributed as dist

#: Environment variables torchrun sets for every rank.
TORCHRUN_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


class DistributedError(RuntimeError):
    """A bad launch (missing torchrun variables, an unknown device or precision); one line."""


@dataclass(frozen=True)
class DistEnv:
    """Where this process stands in the data-parallel world.

    Attributes:
        rank: this process's global rank, 0 .. world_size - 1.
        world_size: number of processes (1 without torchrun).
        local_rank: rank on this machine (picks the CUDA device).
        device: the torch device this rank computes on.
        backend: ``"gloo"``, ``"nccl"`` or ``None`` for a world of one.
        precision: ``"bf16"`` (autocast on CUDA) or ``"fp32"``.
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    backend: str | None = None
    precision: str = "fp32"

    @property
    def is_main(self) -> bool:
        """True on rank 0: the rank that logs, shows progress and writes checkpoints."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """True when a process group of more than one rank is running."""
        return self.world_size > 1

    def barrier(self) -> None:
        """Wait until every rank gets here (no-op in a world of one)."""
        if self.distributed:
            dist.barrier()

    def wrap(self, model: torch.nn.Module, **ddp_kwargs: Any) -> torch.nn.Module:
        """``model`` on this rank's device, wrapped in ``DistributedDataParallel`` when world > 1.

        DDP broadcasts rank 0's parameters at construction, so every rank starts from the same
        weights, and averages gradients over ranks in ``backward()``. Parameters that do not take
        part in the loss must have ``requires_grad=False`` before wrapping (DDP waits for a gradient
        of every trainable parameter).
        """
        model = model.to(self.device)
        if not self.distributed:
            return model
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids, **ddp_kwargs)

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """bf16 autocast on CUDA when ``precision == "bf16"``, else a no-op context."""
        if self.precision == "bf16" and self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The plain module inside a ``DistributedDataParallel`` wrapper (or ``model`` itself)."""
    return getattr(model, "module", model)


def backend_for(device: torch.device) -> str:
    """``"nccl"`` for CUDA devices, ``"gloo"`` otherwise."""
    return "nccl" if device.type == "cuda" else "gloo"


def pick_device(device: str, local_rank: int = 0) -> torch.device:
    """``auto``: ``cuda:LOCAL_RANK`` when CUDA is there, else ``cpu``; ``cpu``; ``cuda``."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        return torch.device("cpu")
    if device == "cuda":
        if not torch.cuda.is_available():
            raise DistributedError("--device cuda: no CUDA device visible to torch")
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    raise DistributedError(f"unknown device {device!r} (auto, cpu, cuda)")


def pick_precision(precision: str, device: torch.device) -> str:
    """``auto``: ``bf16`` on CUDA, ``fp32`` on CPU; ``bf16`` needs CUDA (CPU bf16 is slower here)."""
    if precision == "auto":
        return "bf16" if device.type == "cuda" else "fp32"
    if precision == "fp32":
        return "fp32"
    if precision == "bf16":
        if device.type != "cuda":
            raise DistributedError("--precision bf16 needs a CUDA device (CPU runs use fp32)")
        return "bf16"
    raise DistributedError(f"unknown precision {precision!r} (auto, fp32, bf16)")


def env_from_torchrun(environ: dict[str, str] | None = None) -> tuple[int, int, int]:
    """``(rank, world_size, local_rank)`` from torchrun's variables; ``(0, 1, 0)`` without them.

    Raises:
        DistributedError: ``WORLD_SIZE`` > 1 but another variable is missing or not an integer.
    """
    env = os.environ if environ is None else environ
    if "WORLD_SIZE" not in env:
        return 0, 1, 0
    try:
        world = int(env["WORLD_SIZE"])
        rank = int(env.get("RANK", "0"))
        local = int(env.get("LOCAL_RANK", str(rank)))
    except ValueError as exc:
        raise DistributedError(f"bad torchrun environment: {exc}") from None
    if world > 1:
        missing = [v for v in TORCHRUN_VARS if v not in env]
        if missing:
            raise DistributedError(
                f"WORLD_SIZE={world} but {', '.join(missing)} unset: start with torchrun"
            )
    if not 0 <= rank < world:
        raise DistributedError(f"RANK={rank} outside WORLD_SIZE={world}")
    return rank, world, local


def current(device: str = "auto", precision: str = "auto") -> DistEnv:
    """The :class:`DistEnv` of this process: from an initialised process group, else a world of one.

    Does not initialise anything (see :func:`distributed_session`).
    """
    if dist.is_available() and dist.is_initialized():
        rank, world = dist.get_rank(), dist.get_world_size()
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
        backend = str(dist.get_backend())
        # a gloo group computes on CPUs; an NCCL group on this rank's GPU
        dev = pick_device("cuda", local) if backend == "nccl" else torch.device("cpu")
        return DistEnv(rank, world, local, dev, backend, pick_precision(precision, dev))
    dev = pick_device(device)
    return DistEnv(0, 1, 0, dev, None, pick_precision(precision, dev))


@contextlib.contextmanager
def distributed_session(
    device: str = "auto", precision: str = "auto", timeout_s: float = 1800.0
) -> Iterator[DistEnv]:
    """Initialise the process group from torchrun's variables (when world > 1) and tear it down.

    Args:
        device: ``auto``, ``cpu`` or ``cuda`` (:func:`pick_device`).
        precision: ``auto``, ``fp32`` or ``bf16`` (:func:`pick_precision`).
        timeout_s: collective timeout [s] (a rank that died stalls the others this long at most).

    Yields:
        this process's :class:`DistEnv`; a world of one when torchrun did not start it (or an
        already initialised group's, which is left running).
    """
    rank, world, local = env_from_torchrun()
    if world == 1 or (dist.is_available() and dist.is_initialized()):
        yield current(device, precision)
        return
    dev = pick_device(device, local)
    backend = backend_for(dev)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    dist.init_process_group(
        backend=backend,
        rank=rank,
        world_size=world,
        timeout=datetime.timedelta(seconds=timeout_s),
    )
    try:
        yield DistEnv(rank, world, local, dev, backend, pick_precision(precision, dev))
    finally:
        dist.destroy_process_group()


def rank_seed(seed: int, rank: int) -> int:
    """A per-rank seed derived from ``seed`` (rank 0 keeps ``seed``, so one process = rank 0).

    For randomness that must differ between ranks (augmentation of each rank's slice); randomness that
    must agree (model init, the global batch order, caption draws) uses ``seed`` itself.
    """
    return int(seed) + 7919 * int(rank)


class _GatherWithGrad(torch.autograd.Function):
    """all_gather in forward; in backward each rank gets the sum over ranks of its slice's gradient."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        world = dist.get_world_size()
        ctx.rank, ctx.n = dist.get_rank(), x.shape[0]
        parts = [torch.empty_like(x) for _ in range(world)]
        dist.all_gather(parts, x.contiguous())
        return torch.cat(parts)  # [world * b, ...]

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        grad = grad.contiguous()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)  # every rank's loss depends on every slice
        return grad[ctx.rank * ctx.n : (ctx.rank + 1) * ctx.n]


def gather_with_grad(x: torch.Tensor, env: DistEnv) -> torch.Tensor:
    """``x [b, ...]`` of every rank concatenated in rank order -> ``[world * b, ...]``, differentiable.

    Every rank must pass the same ``b``. For a loss that every rank computes identically on the
    gathered tensors (a contrastive loss over the global batch), the gradient that reaches each
    rank's parameters after DDP's averaging equals the one-process gradient of that loss: the
    backward sums the ranks' identical gradients (x world) and DDP divides by world.
    Works on gloo and NCCL (all_gather + all_reduce only). A world of one returns ``x``.
    """
    if not env.distributed:
        return x
    return _GatherWithGrad.apply(x)


def all_reduce_mean(value: float, env: DistEnv) -> float:
    """Mean of a Python float over ranks (``value`` in a world of one)."""
    if not env.distributed:
        return float(value)
    t = torch.tensor([float(value)], dtype=torch.float64, device=_comm_device(env))
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return float(t.item()) / env.world_size


def all_ranks_true(flag: bool, env: DistEnv) -> bool:
    """True when ``flag`` is true on every rank (e.g. "I still have a full batch")."""
    if not env.distributed:
        return bool(flag)
    t = torch.tensor([1 if flag else 0], dtype=torch.int64, device=_comm_device(env))
    dist.all_reduce(t, op=dist.ReduceOp.MIN)
    return bool(t.item())


def all_gather_objects(obj: Any, env: DistEnv) -> list[Any]:
    """Picklable ``obj`` of every rank, in rank order (``[obj]`` in a world of one)."""
    if not env.distributed:
        return [obj]
    out: list[Any] = [None] * env.world_size
    dist.all_gather_object(out, obj)
    return out


def _comm_device(env: DistEnv) -> torch.device:
    return env.device if env.backend == "nccl" else torch.device("cpu")
