"""Train CLMP on simulated datasets (``mmfm train clmp``).

How to run (CPU)::

    mmfm sim generate --out /data/sim --num 2000 --radar iwr1443boost_radhar --outputs points
    mmfm train clmp --data /data/sim --out /data/ckpt/clmp        # default model clmp_points_s
    # tiny smoke run (a minute):
    mmfm train clmp --data /data/sim --model clmp_points_tiny --epochs 2 --out /tmp/clmp-smoke

What it does: every dataset is cut into windows (``training.clmp.data``), about one sample in
``holdout_every`` is held out (``training.clmp.data.holdout_mask``) (their rooms and subjects are not in training), the frozen
MiniLM embeds every caption and class prompt once (``OUT/text_cache.pt``), then AdamW with a cosine
schedule trains the point encoder, the text projection and the temperature on augmented windows
(``training.clmp.augment``) with the symmetric InfoNCE (or SigLIP) loss. After each epoch: held-out
loss, zero-shot accuracy over the activities present and R@1 radar->text, a checkpoint in ``OUT/``
(``model.pt`` + ``card.json``), the resumable state ``OUT/state.pt`` and ``OUT/curves.png``. Rerunning
the same command resumes after the last finished epoch.

Several processes (DDP, :mod:`training.distributed`): the same command under
``torchrun --nproc_per_node N -m mmfm train clmp ...``. ``batch_size`` is per process, the global
batch ``batch_size x N``; each rank encodes its slice (:mod:`training.clmp.batches`), the loss sees
the gathered embeddings of the whole global batch, rank 0 alone logs, evaluates and writes ``OUT/``.
In memory every rank loads all windows; ``stream=True`` (``--stream``) reads the shards as a stream
instead (:mod:`training.clmp.stream`), each rank its own part. The checkpoint keeps the batch and
augmentation generators, so a resumed run repeats the curve of one that never stopped.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from training.clmp.adc_data import windows_loader
from training.clmp.augment import augment_preset
from training.clmp.batches import MemoryBatches, StreamBatches
from training.clmp.data import (
    CaptionSampler,
    TextCache,
    WindowSet,
    dataset_card_sha256,
    dataset_version,
    holdout_mask,
    load_saved_windows,
)
from training.clmp.factory import DEFAULT_MODEL, build_model, save_checkpoint
from training.clmp.labels import label_prompts
from training.clmp.loss import make_loss
from training.clmp.model import CLMP
from training.clmp.stream import WindowStream, is_url, load_stream_windows, windows_per_sample
from training.distributed import (
    DistEnv,
    all_gather_objects,
    current,
    gather_with_grad,
    rank_seed,
)


@dataclass
class TrainSettings:
    """Everything a run depends on (stored in ``state.pt`` and the card)."""

    data: list[str]
    out: str
    windows: list[str] = field(default_factory=list)  # prepared windows (.npz, e.g. kinematic)
    model: str = DEFAULT_MODEL
    epochs: int = 30
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 0.05
    warmup_steps: int = 50
    loss: str | None = None  # None: the config's
    stride_s: float = 1.0
    holdout_every: int = 10
    prompt_prob: float = 0.5
    augment: bool = True
    augment_preset: str = "default"  # training.clmp.augment.AUGMENT_PRESETS
    seed: int = 0
    threads: int = 1
    stream: bool = False  # read the shards as a stream (training.clmp.stream), not into memory
    workers: int = 0  # DataLoader workers per rank when streaming
    shuffle_buffer: int = 1024  # windows per stream reader's shuffle buffer
    val_max: int = 2048  # held-out windows kept in memory when streaming
    device: str = "auto"  # auto (cuda:LOCAL_RANK when there), cpu, cuda
    precision: str = "auto"  # auto (bf16 autocast on CUDA, fp32 on CPU), fp32, bf16
    command: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    init: str | None = None  # checkpoint dir whose weights start a fresh run (fine-tuning)


@dataclass
class Split:
    train: WindowSet
    val: WindowSet | None


def prepare(settings: TrainSettings, contract: dict[str, Any]) -> Split:
    """Load every dataset and split off the held-out samples."""
    load = windows_loader(contract)  # raw-ADC models read the samples' ADC (adc_data)
    sets = [load(d, contract, stride_s=settings.stride_s) for d in settings.data]
    sets += [load_saved_windows(w, contract) for w in settings.windows]
    allw = WindowSet.concat(sets)
    # sample indices repeat across datasets: hold out by (dataset, sample)
    held = np.zeros(len(allw), dtype=bool)
    for d in sorted(set(allw.source)):
        sel = np.array([s == d for s in allw.source])
        held[sel] = holdout_mask(allw.sample[sel], settings.holdout_every)
    val = allw.subset(np.flatnonzero(held)) if held.any() else None
    return Split(train=allw.subset(np.flatnonzero(~held)), val=val)


def single_activities(windows: WindowSet) -> list[str]:
    """Sorted single-person activities present (zero-shot classes of the held-out check)."""
    return sorted({a for a in windows.activity if "+" not in a and a != "empty"})


@torch.no_grad()
def prototypes_from_cache(model: CLMP, cache: TextCache, labels: Sequence[str]) -> torch.Tensor:
    """Prompt-ensemble prototypes ``[L, D]`` from cached frozen embeddings."""
    dev = model.logit_scale.device
    out = []
    for lab in labels:
        emb = model.encode_sentence_embeddings(cache.get(label_prompts(lab)).to(dev)).cpu()
        out.append(torch.nn.functional.normalize(emb.mean(0), dim=0))
    return torch.stack(out)


@torch.no_grad()
def embed_windows(model: CLMP, windows: WindowSet, batch: int = 256) -> torch.Tensor:
    """``[N, D]`` radar embeddings of prepared windows (eval mode)."""
    model.eval()
    dev = model.logit_scale.device
    out = []
    for i in range(0, len(windows), batch):
        p = torch.from_numpy(windows.points[i : i + batch]).to(dev)
        m = torch.from_numpy(windows.mask[i : i + batch]).to(dev)
        out.append(model.encode_points(p, m).float().cpu())
    return torch.cat(out) if out else torch.zeros(0, model.embedding_dim)


@torch.no_grad()
def evaluate_windows(
    model: CLMP, windows: WindowSet, cache: TextCache, labels: Sequence[str]
) -> dict[str, float]:
    """Held-out figures: zero-shot accuracy over ``labels`` and R@1/R@5 radar->caption."""
    emb = embed_windows(model, windows)
    res: dict[str, float] = {}
    keep = [i for i, a in enumerate(windows.activity) if a in labels]
    if keep and labels:
        protos = prototypes_from_cache(model, cache, labels)
        pred = (emb[keep] @ protos.t()).argmax(1).numpy()
        truth = np.array([list(labels).index(windows.activity[i]) for i in keep])
        res["zeroshot_acc"] = float((pred == truth).mean())
    # retrieval: one caption per window (the first), pool = the windows
    texts = [c[0] for c in windows.captions]
    temb = model.encode_sentence_embeddings(cache.get(texts).to(model.logit_scale.device)).cpu()
    sims = emb @ temb.t()
    ranks = (sims > sims.diag().unsqueeze(1)).sum(1)
    res["r2t_r1"] = float((ranks < 1).float().mean())
    res["r2t_r5"] = float((ranks < 5).float().mean())
    return res


def _lr(step: int, total: int, base: float, warmup: int) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    frac = (step - warmup) / max(1, total - warmup)
    return base * 0.5 * (1.0 + math.cos(math.pi * min(1.0, frac)))


def plot_curves(history: list[dict[str, Any]], path: Path) -> None:
    """Loss and accuracy per epoch as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ep = [h["epoch"] for h in history]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
    a.plot(ep, [h["train_loss"] for h in history], label="train")
    if any("val_loss" in h for h in history):
        a.plot(ep, [h.get("val_loss", np.nan) for h in history], label="held-out")
    a.set_xlabel("epoch")
    a.set_ylabel("contrastive loss")
    a.legend()
    for key, name in (("zeroshot_acc", "zero-shot acc"), ("r2t_r1", "R@1 radar->text")):
        if any(key in h for h in history):
            b.plot(ep, [h.get(key, np.nan) for h in history], label=name)
    b.set_xlabel("epoch")
    b.set_ylim(0, 1)
    if b.get_lines():
        b.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def train_clmp(
    settings: TrainSettings,
    progress: Callable[..., Any] | None = None,
    log: Callable[[str], None] = lambda s: print(s, file=sys.stderr),
    env: DistEnv | None = None,
) -> dict[str, Any]:
    """Train (or resume) a CLMP model; returns the final card (module docstring).

    Under torchrun every rank calls this with its :class:`~training.distributed.DistEnv` (default:
    :func:`training.distributed.current`); ``settings.stream`` reads the shards as a stream.
    """
    env = env or current(settings.device, settings.precision)
    contract = build_model(settings.model).input_contract
    if settings.stream:
        return train_stream(settings, contract, progress=progress, log=log, env=env)
    return train_on(prepare(settings, contract), settings, progress=progress, log=log, env=env)


def train_on(
    split: Split,
    settings: TrainSettings,
    progress: Callable[..., Any] | None = None,
    log: Callable[[str], None] = lambda s: print(s, file=sys.stderr),
    env: DistEnv | None = None,
) -> dict[str, Any]:
    """The training loop on prepared windows (``train_clmp`` without the loading)."""
    env = env or current(settings.device, settings.precision)
    out = Path(settings.out)
    log(
        f"windows: {len(split.train)} train, {len(split.val) if split.val else 0} held-out; "
        f"activities: {', '.join(sorted(set(split.train.activity)))}"
    )
    if len(split.train) < 2 * env.world_size:
        raise ValueError(f"fewer than {2 * env.world_size} training windows")
    sampler = CaptionSampler(split.train, prompt_prob=settings.prompt_prob)
    labels = single_activities(split.val) if split.val is not None else []
    texts = sampler.all_texts()
    if split.val is not None:
        texts += [t for caps in split.val.captions for t in caps]
        texts += [p for lab in labels for p in label_prompts(lab)]
    if env.is_main:  # rank 0 embeds the captions once; the others read its file
        out.mkdir(parents=True, exist_ok=True)
        TextCache(out / "text_cache.pt").ensure(texts)
    env.barrier()
    cache = TextCache(out / "text_cache.pt")
    batches = MemoryBatches(split.train, sampler, settings.batch_size, env, settings.seed)
    log(
        f"global batch {batches.global_batch} = {batches.batch_size} x {env.world_size} "
        f"process(es), {batches.steps_per_epoch} steps per epoch on {env.device}"
    )
    return fit(batches, split.val, len(split.train), cache, labels, settings, progress, log, env)


def train_stream(
    settings: TrainSettings,
    contract: dict[str, Any],
    progress: Callable[..., Any] | None = None,
    log: Callable[[str], None] = lambda s: print(s, file=sys.stderr),
    env: DistEnv | None = None,
) -> dict[str, Any]:
    """The training loop on shards read as a stream (``--stream``, :mod:`training.clmp.stream`).

    Held-out figures use up to ``settings.val_max`` windows of the held-out samples (rank 0 reads
    them into memory); captions are embedded as they first appear.
    """
    env = env or current(settings.device, settings.precision)
    if settings.windows:
        raise ValueError("--windows (prepared windows in memory) cannot be combined with --stream")
    common = dict(stride_s=settings.stride_s, seed=settings.seed, verify=False)
    stream = WindowStream(
        settings.data,
        contract,
        rank=env.rank,
        world_size=env.world_size,
        holdout_every=settings.holdout_every,
        shuffle_buffer=settings.shuffle_buffer,
        **common,
    )
    n_est = stream.count_samples() * windows_per_sample(stream)
    val = None
    if env.is_main and settings.holdout_every > 0:
        held = WindowStream(settings.data, contract, select="heldout", shuffle_buffer=0, **common)
        val = load_stream_windows(held, limit=settings.val_max)
    global_batch = settings.batch_size * env.world_size
    if n_est < global_batch:
        raise ValueError(f"about {n_est} training windows: fewer than one global batch")
    log(
        f"streaming about {n_est} training windows from {len(settings.data)} dataset(s), "
        f"{len(val) if val else 0} held-out windows in memory; global batch {global_batch} "
        f"= {settings.batch_size} x {env.world_size} rank(s)"
    )
    out = Path(settings.out)
    labels = single_activities(val) if val is not None else []
    cache = TextCache(out / "text_cache.pt")  # read the existing table
    cache.path = None  # rank 0 writes it at checkpoints, not at every new caption
    if env.is_main and val is not None:
        cache.ensure([t for caps in val.captions for t in caps])
        cache.ensure([p for lab in labels for p in label_prompts(lab)])
    batches = StreamBatches(
        stream,
        settings.batch_size,
        env,
        settings.seed,
        steps_per_epoch=n_est // global_batch,
        workers=settings.workers,
        prompt_prob=settings.prompt_prob,
    )
    return fit(batches, val, n_est, cache, labels, settings, progress, log, env)


def fit(
    batches: MemoryBatches | StreamBatches,
    val: WindowSet | None,
    n_train: int,
    cache: TextCache,
    labels: list[str],
    settings: TrainSettings,
    progress: Callable[..., Any] | None,
    log: Callable[[str], None],
    env: DistEnv,
) -> dict[str, Any]:
    """AdamW + cosine schedule over ``batches`` on every rank; rank 0 evaluates and checkpoints.

    The loss of a step is computed on the gathered embeddings of the global batch (the same value
    on every rank); DDP averages the gradients. Resumes from ``OUT/state.pt`` after its epoch.
    """
    torch.set_num_threads(max(1, settings.threads))
    out = Path(settings.out)
    if env.is_main:
        out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(settings.seed)  # the same initial weights on every rank
    model = build_model(settings.model)
    if settings.init:  # fine-tuning: start from a trained checkpoint of the same config
        from training.clmp.factory import load_checkpoint

        model.load_state_dict(load_checkpoint(settings.init)[0].state_dict())
        log(f"initial weights from {settings.init}")
    loss_name = settings.loss or str(model.config.get("loss", "clip"))
    loss_fn = make_loss(loss_name)
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    opt = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": settings.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=settings.lr,
    )
    steps_per_epoch = batches.steps_per_epoch
    total = steps_per_epoch * settings.epochs
    history: list[dict[str, Any]] = []
    start_epoch = 0
    state_path = out / "state.pt"
    state: dict[str, Any] = {}
    if state_path.is_file():
        state = torch.load(state_path, map_location="cpu", weights_only=False)
        same = state.get("data") == settings.data and state.get("windows", []) == settings.windows
        if state.get("model") == settings.model and same:
            model.load_state_dict(state["model_state"])
            opt.load_state_dict(state["opt_state"])
            history = state["history"]
            start_epoch = int(state["epoch"])
            log(f"resuming after epoch {start_epoch} from {state_path}")
        else:
            log(f"{state_path} belongs to another run (model/data differ): starting afresh")
            state = {}
    # generators: the batch order and captions (the same on every rank) and this rank's augmentation
    batches.start(start_epoch, state.get("batch_rng"))
    gen = torch.Generator().manual_seed(rank_seed(settings.seed, env.rank) + 1000 * start_epoch)
    gen_states = state.get("gen_states") or []
    if len(gen_states) == env.world_size:
        gen.set_state(gen_states[env.rank])
    if loss_name != "siglip":  # the bias is SigLIP's; DDP needs every trainable parameter used
        model.logit_bias.requires_grad_(False)
    net = env.wrap(model)  # on env.device; DistributedDataParallel when world > 1
    for group in opt.state.values():  # resumed optimiser moments follow the parameters' device
        for k, v in group.items():
            if torch.is_tensor(v) and k != "step":
                group[k] = v.to(env.device)
    card: dict[str, Any] = {}
    for epoch in range(start_epoch, settings.epochs):
        model.train()
        losses = []
        it = batches.epoch(epoch)
        if progress and env.is_main:
            it = progress(it, total=steps_per_epoch, desc=f"epoch {epoch + 1}")
        t0 = time.time()
        for b, batch in enumerate(it):
            step = epoch * steps_per_epoch + b
            for g in opt.param_groups:
                g["lr"] = _lr(step, total, settings.lr, min(settings.warmup_steps, total // 10 + 1))
            pts, msk = batch.points, batch.mask
            if settings.augment and pts.ndim == 5:  # raw-ADC map windows (clmp_adc_*)
                from training.clmp.adc_model import augment_adc

                pts, msk = augment_adc(pts, msk, gen)
            elif settings.augment:
                pts, msk = augment_preset(pts, msk, gen, settings.augment_preset)
            cache.ensure(batch.texts)
            text_in = cache.get(batch.texts).to(env.device)
            with env.autocast():
                outp = net(pts.to(env.device), msk.to(env.device), text_in)
            radar = gather_with_grad(outp["radar"].float(), env)  # [B, D] the global batch
            text = gather_with_grad(outp["text"].float(), env)  # [B, D]
            loss = loss_fn(radar, text, outp["logit_scale"], outp["logit_bias"], batch.pos)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            opt.step()
            losses.append(loss.item())
            if progress and hasattr(it, "set_postfix"):
                it.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
        rec: dict[str, Any] = {
            "epoch": epoch + 1,
            "train_loss": float(np.mean(losses)),
            "seconds": round(time.time() - t0, 1),
            "logit_scale": model.logit_scale.exp().item(),
        }
        if env.distributed:
            rec["steps"], rec["world_size"] = len(losses), env.world_size
        gen_states = all_gather_objects(gen.get_state(), env)
        if env.is_main:
            if val is not None and len(val) > 1:
                rec.update(evaluate_windows(model, val, cache, labels))
                rec["val_loss"] = _val_loss(model, val, cache, loss_fn, settings.seed)
            history.append(rec)
            log(json.dumps(rec))
            card = _card(settings, rec, labels, n_train, len(val) if val else 0, loss_name)
            card["training"].update(epochs_done=epoch + 1, world_size=env.world_size)
            save_checkpoint(model, card, out)
            torch.save(
                {
                    "model": settings.model,
                    "data": settings.data,
                    "windows": settings.windows,
                    "model_state": model.state_dict(),
                    "opt_state": opt.state_dict(),
                    "history": history,
                    "epoch": epoch + 1,
                    "batch_rng": batches.rng_state(),
                    "gen_states": gen_states,
                },
                out / "state.pt.tmp",
            )
            (out / "state.pt.tmp").replace(state_path)
            if cache.path is None:  # streaming: the captions embedded so far
                torch.save(cache.table, out / "text_cache.pt.tmp")
                (out / "text_cache.pt.tmp").replace(out / "text_cache.pt")
            plot_curves(history, out / "curves.png")
        env.barrier()  # every rank ends the epoch after its checkpoint is on disk
    if not card:  # resumed a finished run, or a rank other than 0
        from training.clmp.factory import read_card

        card = read_card(out)
    return card


def _card(
    settings: TrainSettings,
    rec: dict[str, Any],
    labels: list[str],
    n_train: int,
    n_val: int,
    loss_name: str,
) -> dict[str, Any]:
    local = [d for d in settings.data if not is_url(d)]
    return {
        "dataset": {
            "path": ",".join(
                [d if is_url(d) else str(Path(d).resolve()) for d in settings.data]
                + [str(Path(w).resolve()) for w in settings.windows]
            ),
            "card_sha256": ",".join(str(dataset_card_sha256(d)) for d in local),
            "version": ",".join(str(dataset_version(d)) for d in local),
        },
        "command": settings.command,
        "training": {**asdict(settings), "loss": loss_name},
        "metrics": {
            "held_out": {k: v for k, v in rec.items() if k not in ("epoch", "seconds")},
            "held_out_labels": labels,
            "windows": {"train": n_train, "held_out": n_val},
        },
    }


@torch.no_grad()
def _val_loss(
    model: CLMP, val: WindowSet, cache: TextCache, loss_fn: torch.nn.Module, seed: int
) -> float:
    model.eval()
    dev = model.logit_scale.device
    sampler = CaptionSampler(val, prompt_prob=0.5)
    rng = np.random.default_rng([seed, 77])
    losses = []
    for i in range(0, len(val), 128):
        idx = np.arange(i, min(len(val), i + 128))
        if len(idx) < 2:
            continue
        caps, pos = sampler.draw(idx, rng)
        cache.ensure(caps)
        outp = model(
            torch.from_numpy(val.points[idx]).to(dev),
            torch.from_numpy(val.mask[idx]).to(dev),
            cache.get(caps).to(dev),
        )
        losses.append(
            float(
                loss_fn(outp["radar"], outp["text"], outp["logit_scale"], outp["logit_bias"], pos)
            )
        )
    return float(np.mean(losses)) if losses else float("nan")
