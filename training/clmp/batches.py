"""What each rank trains on per step: its slice of a global batch and the global caption positives.

The *global batch* of a step is ``B = b x world_size`` windows (``b`` = ``--batch-size``, windows per
rank). Each rank encodes its own ``b`` windows and captions; the contrastive loss then sees all ``B``
of them (``training.distributed.gather_with_grad``), so two ranks of 16 see the same negatives as one
process of 32.

Two sources, one :class:`Batch` type:

- :class:`MemoryBatches` (windows in memory): every rank draws the same permutation of the training
  windows from ``(seed, epoch)`` and the same captions for the whole global batch, then keeps its
  slice (``rank * b .. (rank + 1) * b``). With one rank this is the plain single-process loop, and
  with W ranks the global batches, captions and positives are exactly those of one process with
  ``W x b``.
- :class:`StreamBatches` (``--stream``, :mod:`training.clmp.stream`): each rank reads its own part of
  the shards through a ``DataLoader``; the ranks exchange the activities and captions of their
  windows (small), draw the captions of the global batch with the same generator and keep their
  slice. An epoch ends when any rank runs out of full batches (ranks stay in step).

Resuming: :class:`MemoryBatches` draws from one generator over the whole run (seeded ``(seed, 0)``),
whose state the checkpoint keeps (:meth:`MemoryBatches.rng_state`); :class:`StreamBatches` seeds
each epoch from ``(seed, epoch)``. Either way a run resumed after epoch ``k`` trains on the same
batches as one that never stopped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader

from training.clmp.data import CaptionSampler, WindowSet
from training.clmp.stream import WindowStream, collate_windows
from training.distributed import DistEnv, all_gather_objects, all_ranks_true


@dataclass
class Batch:
    """One rank's part of a global batch.

    Attributes:
        points: float32 ``[b, T, P, 5]`` this rank's windows (x, y, z [m], v [m/s], snr [dB]).
        mask: float32 ``[b, T, P]`` (1 = real point).
        texts: the caption drawn for each of this rank's ``b`` windows.
        pos: float32 ``[B, B]`` positives of the global batch (``pos[i, j]``: caption ``j`` is true of
            window ``i``; rows and columns in rank order).
    """

    points: torch.Tensor
    mask: torch.Tensor
    texts: list[str]
    pos: torch.Tensor


class MemoryBatches:
    """Global batches over windows in memory, sliced by rank (module docstring).

    Args:
        windows: the training windows (the same on every rank).
        sampler: caption sampler over ``windows``.
        batch_size: windows per rank ``b`` (capped so that one global batch fits the set).
        env: this rank's place.
        seed: run seed.
    """

    def __init__(
        self,
        windows: WindowSet,
        sampler: CaptionSampler,
        batch_size: int,
        env: DistEnv,
        seed: int,
    ) -> None:
        n = len(windows)
        self.windows, self.sampler, self.env, self.seed = windows, sampler, env, seed
        self.batch_size = max(1, min(batch_size, n // env.world_size))
        self.global_batch = self.batch_size * env.world_size
        self.steps_per_epoch = max(1, n // self.global_batch)
        self.rng = np.random.default_rng([seed, 0])

    def start(self, epoch: int, rng_state: dict | None = None) -> None:
        """Continue after ``epoch`` epochs: the saved generator state, else one seeded from it."""
        self.rng = np.random.default_rng([self.seed, epoch])
        if rng_state is not None:
            self.rng.bit_generator.state = rng_state

    def rng_state(self) -> dict | None:
        """The generator state to checkpoint (the same on every rank)."""
        return self.rng.bit_generator.state

    def epoch(self, epoch: int) -> Iterator[Batch]:
        rng = self.rng
        order = rng.permutation(len(self.windows))
        b, r = self.batch_size, self.env.rank
        for s in range(self.steps_per_epoch):
            gidx = order[s * self.global_batch : (s + 1) * self.global_batch]
            caps, pos = self.sampler.draw(gidx, rng)
            idx = gidx[r * b : (r + 1) * b]
            yield Batch(
                points=torch.from_numpy(self.windows.points[idx]),
                mask=torch.from_numpy(self.windows.mask[idx]),
                texts=caps[r * b : (r + 1) * b],
                pos=pos,
            )


class StreamBatches:
    """Global batches from a :class:`WindowStream`, one part per rank (module docstring).

    Args:
        stream: the training stream (built with this rank's ``rank``/``world_size``).
        batch_size: windows per rank ``b``.
        env: this rank's place.
        seed: run seed (caption draws).
        steps_per_epoch: at most this many steps per epoch (the LR schedule's estimate).
        workers: DataLoader worker processes per rank (0: read in the training process).
        prompt_prob: probability of a class-name prompt instead of a sample caption.
    """

    def __init__(
        self,
        stream: WindowStream,
        batch_size: int,
        env: DistEnv,
        seed: int,
        steps_per_epoch: int,
        workers: int = 0,
        prompt_prob: float = 0.5,
    ) -> None:
        self.stream, self.env, self.seed = stream, env, seed
        self.batch_size = batch_size
        self.global_batch = batch_size * env.world_size
        self.steps_per_epoch = max(1, steps_per_epoch)
        self.prompt_prob = prompt_prob
        self.loader = DataLoader(
            stream,
            batch_size=batch_size,
            num_workers=workers,
            collate_fn=collate_windows,
            drop_last=True,
        )

    def start(self, epoch: int, rng_state: dict | None = None) -> None:
        """Nothing to restore: every epoch is seeded from ``(seed, epoch)``."""

    def rng_state(self) -> dict | None:
        return None

    def epoch(self, epoch: int) -> Iterator[Batch]:
        self.stream.set_epoch(epoch)
        rng = np.random.default_rng([self.seed, epoch])
        it = iter(self.loader)
        b, r = self.batch_size, self.env.rank
        for _ in range(self.steps_per_epoch):
            local = next(it, None)
            if not all_ranks_true(local is not None, self.env):
                return
            assert local is not None
            parts = all_gather_objects((local["activity"], local["captions"]), self.env)
            acts = [a for p in parts for a in p[0]]
            caps = [c for p in parts for c in p[1]]
            n = len(acts)
            lite = WindowSet(
                points=np.zeros((n, 0), np.float32),
                mask=np.zeros((n, 0), np.float32),
                activity=acts,
                captions=caps,
                sample=np.arange(n),
            )
            texts, pos = CaptionSampler(lite, self.prompt_prob).draw(np.arange(n), rng)
            yield Batch(local["points"], local["mask"], texts[r * b : (r + 1) * b], pos)
