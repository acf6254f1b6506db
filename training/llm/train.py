"""Supervised fine-tuning of the mm-LLM: projector (+ optional LoRA) on the instruction data set.

Stages (each optional but the last; :class:`TrainConfig`):

0. *anchor* (``anchor_steps``, no LLM pass, seconds): the projector alone is fitted so each train
   episode's soft tokens equal the token-embedding rows of its caption (:func:`window_caption`,
   "One person: walking."): the frozen LLM then reads the radar tokens as words from the start;
1. *align* (``align_steps``, LLaVA stage 1 style): the projector alone, through the frozen LLM, on
   short radar-only targets ("What does the radar show?" -> the caption; no context), cheap steps;
2. *SFT* (``steps``): projector + LoRA on the full QA mix (below).

Each SFT step draws ``batch_size`` QA pairs of the *train* split (``numpy.random.default_rng([seed,
step])``: deterministic, and a resumed run draws the same batches), and for each one:

- the context view: ``"history"`` (only what was logged before the window: the answer to a window
  question is then only in the radar tokens) with probability ``history_prob`` (for the
  radar-only types, :data:`RADAR_TYPES`, ``radar_history_prob`` when set), else ``"full"``
  (:mod:`training.llm.truth_events`);
- the radar tokens: dropped with probability ``radar_drop`` (so the model also answers sensibly
  without them, like the daemon's fallback), else the projector's soft tokens of the episode's
  CLMP embedding.

Loss: cross-entropy of the answer tokens + ``<end_of_turn>`` (:meth:`MMLLM.loss`), computed under
bfloat16 autocast (weights stay float32; about 2.5x faster on an AVX512-BF16 CPU, same loss to 3
digits) where the CPU has a bfloat16 unit (:func:`bf16_is_fast`), else in float32 (emulated
bfloat16 is 6.6x slower than float32 on an AVX2-only core). AdamW, linear warm-up then cosine decay. The checkpoint (``llm-contract``: ``projector.pt``, ``projector.json``,
``adapter/``, ``card.json``) is rewritten every ``save_every`` steps with ``state.pt`` (optimizer,
step, loss history): rerunning the same command resumes. ``loss.png`` plots the loss curve.

Under ``torchrun`` (:mod:`training.distributed`, gloo on CPU) every rank draws the same global batch
and keeps its slice (``batch[rank::world]``); each rank's loss is its answer tokens' summed
cross-entropy over the *global* token count, and the trainable gradients (projector, LoRA) are summed
across ranks, so W processes train exactly what one process does with the same ``batch_size``
(``tests/test_llm_train.py``). Rank 0 alone writes checkpoints and shows progress. ``batch_size`` is
the global batch and must be a multiple of the number of processes.

How to run (tiny, CPU)::

    python -m training.llm.data --out /tmp/mmllm-data --num 20
    mmfm train llm --data /tmp/mmllm-data --out /tmp/mmllm-ckpt --steps 4 --batch-size 2
    torchrun --standalone --nproc_per_node 2 -m mmfm train llm --data /tmp/mmllm-data \
        --out /tmp/mmllm-ckpt2 --steps 4 --batch-size 2      # the same run on two processes
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from runtime.checksums import sha256_file
from runtime.llm import BASE_MODEL_FILE, BASE_MODEL_SHA256
from runtime.llm.context import CONTEXT_VERSION
from training.distributed import DistEnv
from training.llm.data import LLMData
from training.llm.model import MMLLM, Projector, add_lora, load_base, table_rms

CHECKPOINT_FORMAT = "mmfm.mmllm.checkpoint/1"
#: Question types whose answer, in the ``"history"`` view, only the radar window holds.
RADAR_TYPES = ("activity", "presence", "counting")


@dataclass
class TrainConfig:
    """Settings of one run (recorded in the card)."""

    steps: int = 300
    batch_size: int = 4
    #: Stage 1 (alignment, LLaVA stage 1 style): steps that train only the projector on short
    #: radar-only targets (no context: "what does the radar show?" -> the window's caption).
    align_steps: int = 0
    align_batch_size: int = 16
    align_lr: float = 3e-3
    #: Stage 0 (no LLM pass, seconds): full-batch steps fitting the projector's soft tokens to the
    #: token-embedding rows of the window's caption (:func:`window_caption`), so before any LLM
    #: step the soft tokens already read like "One person: walking." to the frozen model.
    anchor_steps: int = 0
    anchor_lr: float = 3e-3
    lr: float = 2e-3
    lora_lr: float = 1e-3
    warmup: int = 10
    lora: bool = True
    lora_rank: int = 8
    num_tokens: int = 4
    hidden: int = 256
    history_prob: float = 0.4
    #: ``history_prob`` for the radar-only question types (:data:`RADAR_TYPES`); None: the same.
    radar_history_prob: float | None = None
    radar_drop: float = 0.15
    #: The projector's input scale (``Projector.input_scale``).
    input_scale: float = 1.0
    radar_type_weight: float = 2.0
    instruction: str | None = None
    seed: int = 0
    threads: int = 2
    save_every: int = 25
    bf16: bool = True


@dataclass
class TrainState:
    step: int = 0
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    align_step: int = 0
    align_losses: list[float] = field(default_factory=list)
    anchor_losses: list[float] = field(default_factory=list)


def example_views(
    rng: np.random.Generator, cfg: TrainConfig, qtype: str | None = None
) -> tuple[str, bool]:
    """(context mode, with radar) of one training example (of question type ``qtype``)."""
    p = cfg.history_prob
    if qtype in RADAR_TYPES and cfg.radar_history_prob is not None:
        p = cfg.radar_history_prob
    mode = "history" if rng.random() < p else "full"
    radar = bool(rng.random() >= cfg.radar_drop)
    return mode, radar


def draw_batch(
    data: LLMData, cfg: TrainConfig, step: int
) -> list[tuple[dict[str, Any], str, bool]]:
    """The step's examples: (QA row, context mode, with radar) (deterministic in ``step``)."""
    rows = data.qa["train"]
    w = np.array([cfg.radar_type_weight if r["type"] in RADAR_TYPES else 1.0 for r in rows])
    rng = np.random.default_rng([cfg.seed, step])
    idx = rng.choice(len(rows), size=cfg.batch_size, p=w / w.sum())
    out = []
    for i in idx:
        row = rows[int(i)]
        out.append((row, *example_views(rng, cfg, row["type"])))
    return out


#: Stage-1 questions (radar tokens only, no context); the answer is :func:`window_caption`.
ALIGN_QUESTIONS = (
    "What does the radar show?",
    "What is happening in front of the radar?",
    "Describe what the radar senses.",
    "Who is there and what are they doing?",
)


def window_caption(truth: dict[str, Any]) -> str:
    """The window's short caption from the truth: the count and each person's activity, nearest
    first (``"One person: walking."``, ``"Two people: sitting, waving."``, ``"Nobody."``)."""
    from training.llm.truth_events import ACTIVITY_LABELS

    people = sorted(
        truth.get("people", []), key=lambda p: float(np.hypot(*p["position_radar"][:2]))
    )
    if not people:
        return "Nobody."
    words = ("One person", "Two people", "Three people", "Four people", "Five people")
    n = len(people)
    head = words[n - 1] if n <= len(words) else f"{n} people"
    acts = [ACTIVITY_LABELS.get(str(p.get("activity")), str(p.get("activity"))) for p in people]
    return f"{head}: {', '.join(acts)}."


def draw_align_batch(data: LLMData, cfg: TrainConfig, step: int) -> list[tuple[int, str, str]]:
    """Stage-1 examples of ``step``: (episode row, question, caption) of train episodes."""
    rows = [i for i, e in enumerate(data.episodes) if e["split"] == "train"]
    rng = np.random.default_rng([cfg.seed, 7, step])
    idx = rng.choice(len(rows), size=cfg.align_batch_size)
    out = []
    for i in idx:
        row = rows[int(i)]
        q = ALIGN_QUESTIONS[int(rng.integers(len(ALIGN_QUESTIONS)))]
        out.append((row, q, window_caption(data.episodes[row]["truth"])))
    return out


def caption_rows(model: MMLLM, caption: str) -> torch.Tensor:
    """The ``[K, 640]`` token-embedding rows (table units) of ``caption``'s first K tokens,
    padded with the row of ``" "`` (what stage 0 fits the soft tokens to)."""
    k = model.projector.num_tokens
    ids = model._ids(caption)[:k]
    pad = model._ids(" ")[-1:] or [model.eot]
    ids = ids + pad * (k - len(ids))
    return model.lm.get_input_embeddings().weight[torch.tensor(ids)].detach().float()


def anchor_projector(
    model: MMLLM, data: LLMData, cfg: TrainConfig, log: Callable[[str], None] = print
) -> list[float]:
    """Stage 0 (:attr:`TrainConfig.anchor_steps`): fit the projector's soft tokens of every train
    episode to its caption's token rows (mean squared error over table units, full batch, AdamW
    with weight decay 0.01); no LLM pass. Returns the loss per step."""
    rows = [i for i, e in enumerate(data.episodes) if e["split"] == "train"]
    emb = torch.from_numpy(data.embeddings[rows])
    target = torch.stack(
        [caption_rows(model, window_caption(data.episodes[r]["truth"])) for r in rows]
    )
    scale = float(target.pow(2).mean())
    opt = torch.optim.AdamW(model.projector.parameters(), lr=cfg.anchor_lr, weight_decay=0.01)
    torch.manual_seed(cfg.seed)
    losses = []
    for step in range(cfg.anchor_steps):
        for g in opt.param_groups:
            g["lr"] = cfg.anchor_lr * _cosine(step, cfg.anchor_steps, cfg)
        loss = (model.projector(emb) - target).pow(2).mean() / scale
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    if losses:
        log(f"stage 0: caption-row fit {losses[0]:.3f} -> {losses[-1]:.3f} (relative MSE)")
    return losses


def build_model(gguf: Path, cfg: TrainConfig, *, resume: Path | None = None) -> MMLLM:
    """Base LM (+ LoRA) + projector; with ``resume``, their weights from that checkpoint."""
    lm, tok = load_base(gguf)
    if cfg.lora:
        lm = add_lora(lm, rank=cfg.lora_rank, alpha=2.0 * cfg.lora_rank)
    torch.manual_seed(cfg.seed)
    proj = Projector(256, cfg.hidden, cfg.num_tokens, 640, cfg.input_scale)
    proj.init_scale(table_rms(lm))
    model = MMLLM(lm, tok, proj, cfg.instruction)
    if resume is not None and (resume / "projector.pt").is_file():
        load_trained(model, resume, lora=cfg.lora)
    return model


def load_trained(model: MMLLM, ckpt: Path, *, lora: bool) -> None:
    """Load a checkpoint's projector (and LoRA adapter) weights into ``model``."""
    model.projector.load_state_dict(torch.load(ckpt / "projector.pt", weights_only=True))
    if lora:
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        state = load_file(ckpt / "adapter" / "adapter_model.safetensors")
        set_peft_model_state_dict(model.lm, state)


def batch_tensors(
    model: MMLLM, data: LLMData, batch: list[tuple[dict[str, Any], str, bool]]
) -> tuple[list[Any], torch.Tensor]:
    """Prompts and the ``[B, 256]`` embeddings of a batch."""
    prompts = []
    for qa, mode, radar in batch:
        ep = data.episodes[qa["episode"]]
        prompts.append(
            model.prompt(
                qa["question"], context=ep["context"][mode], radar=radar, answer=qa["answer"]
            )
        )
    emb = torch.from_numpy(np.stack([data.embeddings[qa["episode"]] for qa, _, _ in batch]))
    return prompts, emb


def lr_factor(step: int, cfg: TrainConfig) -> float:
    return _cosine(step, cfg.steps, cfg)


def plot_losses(losses: list[float], path: Path) -> None:
    """Loss per step and its 20-step running mean -> PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    x = np.arange(1, len(losses) + 1)
    ax.plot(x, losses, lw=0.6, alpha=0.5, label="step")
    if len(losses) >= 5:
        k = min(20, len(losses))
        run = np.convolve(losses, np.ones(k) / k, mode="valid")
        ax.plot(x[k - 1 :], run, lw=1.5, label=f"mean of {k}")
    ax.set_xlabel("step")
    ax.set_ylabel("answer cross-entropy [nats/token]")
    ax.set_title("mm-LLM SFT")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write_checkpoint(
    out: Path,
    model: MMLLM,
    cfg: TrainConfig,
    state: TrainState,
    data: LLMData,
    *,
    command: str,
    metrics: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The checkpoint files of the contract (module docstring); returns the card."""
    out.mkdir(parents=True, exist_ok=True)
    torch.save(model.projector.state_dict(), out / "projector.pt")
    (out / "projector.json").write_text(json.dumps(model.projector.config(), indent=1) + "\n")
    if cfg.lora:
        model.lm.save_pretrained(out / "adapter")
    losses = state.losses
    tail = losses[-20:]
    card_path = out / "card.json"
    old = json.loads(card_path.read_text()) if card_path.is_file() else {}
    card = {
        "format": CHECKPOINT_FORMAT,
        "base_model": {"file": BASE_MODEL_FILE, "sha256": BASE_MODEL_SHA256},
        "encoder": {
            "name": data.card["encoder"]["name"],
            "model": data.card["encoder"].get("model", data.card["encoder"]["name"]),
            "card_sha256": data.card["encoder"]["card_sha256"],
        },
        "context_version": CONTEXT_VERSION,
        "instructions": {
            "card_sha256": data.card_sha256(),
            "data": str(data.root),
            "format": data.card["format"],
            "instructions_version": data.card["instructions_version"],
            "episodes": data.card["num_episodes"],
            "split": data.card["split"],
        },
        "instruction": cfg.instruction,
        "projector": model.projector.config(),
        "lora": {"rank": cfg.lora_rank, "targets": ["q_proj", "v_proj"]} if cfg.lora else None,
        "num_soft_tokens": cfg.num_tokens,
        "training": {
            "command": command,
            "config": asdict(cfg),
            "steps_done": state.step,
            "anchor_loss": [state.anchor_losses[0], state.anchor_losses[-1]]
            if state.anchor_losses
            else None,
            "align_steps_done": state.align_step,
            "align_loss_last20": float(np.mean(state.align_losses[-20:]))
            if state.align_losses
            else None,
            "seconds": round(state.seconds, 1),
            "loss_first20": float(np.mean(losses[:20])) if losses else None,
            "loss_last20": float(np.mean(tail)) if tail else None,
        },
        "metrics": metrics if metrics is not None else old.get("metrics", {}),
    }
    card_path.write_text(json.dumps(card, indent=1, sort_keys=True) + "\n")
    if losses:
        plot_losses(losses, out / "loss.png")
    return card


def train(
    data_dir: str | Path,
    out: str | Path,
    cfg: TrainConfig,
    *,
    gguf: str | Path | None = None,
    model: MMLLM | None = None,
    command: str = "",
    progress: Callable[[int, int], Any] | None = None,
    log: Callable[[str], None] = print,
    env: DistEnv | None = None,
) -> tuple[MMLLM, TrainState]:
    """Train (or resume) into ``out``; returns the model and the final state.

    Args:
        data_dir: a :func:`training.llm.data.build_data` directory.
        out: the checkpoint directory.
        cfg: the settings.
        gguf: the base GGUF (``runtime.llm.base_model_path()``); or
        model: a ready model (tests: a tiny Gemma 3), resumed from ``out`` by :func:`load_trained`.
        command: the command line, for the card.
        progress: ``progress(done, total)`` returns a tqdm-like bar (``update``, ``set_postfix``).
        env: the torchrun session (:func:`training.distributed.distributed_session`); None: one
            process.
    """
    env = env or DistEnv()
    if cfg.batch_size % env.world_size:
        raise ValueError(
            f"--batch-size {cfg.batch_size} (the global batch) must be a multiple of the "
            f"{env.world_size} processes"
        )
    torch.set_num_threads(cfg.threads)
    if cfg.bf16 and not bf16_is_fast():
        log("no bfloat16 matrix unit on this CPU (avx512_bf16/amx): training in float32")
        cfg.bf16 = False
    out = Path(out)
    data = LLMData(data_dir)
    if not data.qa["train"]:
        raise ValueError(f"{data.root}: the train split has no QA pair")
    state = TrainState()
    resume = out if (out / "state.pt").is_file() else None
    if model is None:
        if gguf is None:
            raise ValueError("train() needs gguf or model")
        model = build_model(Path(gguf), cfg, resume=resume)
    elif resume is not None:
        load_trained(model, resume, lora=cfg.lora)
    proj_params = list(model.projector.parameters())
    params = [{"params": proj_params, "lr": cfg.lr}]
    if cfg.lora:
        lora = [p for p in model.lm.parameters() if p.requires_grad]
        params.append({"params": lora, "lr": cfg.lora_lr})
    trainable = [p for g in params for p in g["params"]]
    if env.distributed:  # every rank starts from rank 0's weights (LoRA's init draws at random)
        for p in trainable:
            torch.distributed.broadcast(p.data, src=0)
    opt = torch.optim.AdamW(params, weight_decay=0.0)
    align_opt = torch.optim.AdamW([{"params": proj_params, "lr": cfg.align_lr}], weight_decay=0.0)
    if resume is not None:
        st = torch.load(out / "state.pt", weights_only=False)
        opt.load_state_dict(st["optimizer"])
        if "align_optimizer" in st:
            align_opt.load_state_dict(st["align_optimizer"])
        state = TrainState(**st["state"])
        log(f"resuming {out} at step {state.align_step} (align) / {state.step}")

    def save() -> None:
        if env.is_main:
            write_checkpoint(out, model, cfg, state, data, command=command)
            torch.save(
                {
                    "optimizer": opt.state_dict(),
                    "align_optimizer": align_opt.state_dict(),
                    "state": asdict(state),
                },
                out / "state.pt",
            )
        env.barrier()

    model.projector.train()
    # ---- stage 0: soft tokens fitted to the caption's token rows (no LLM pass)
    if cfg.anchor_steps and not state.anchor_losses and state.align_step == 0 and state.step == 0:
        state.anchor_losses = anchor_projector(model, data, cfg, log)
        if env.distributed:
            for p in proj_params:
                torch.distributed.broadcast(p.data, src=0)
    # ---- stage 1: the projector alone, radar-only captions (short sequences: cheap steps)
    if state.align_step < cfg.align_steps:
        base = align_opt.param_groups[0]["lr"]
        bar = progress(state.align_step, cfg.align_steps) if progress and env.is_main else None
        for p in model.lm.parameters():  # LoRA stays as initialised (B = 0: no change)
            p.requires_grad_(False)
        while state.align_step < cfg.align_steps:
            t0 = time.perf_counter()
            align_opt.param_groups[0]["lr"] = base * _cosine(state.align_step, cfg.align_steps, cfg)
            batch = draw_align_batch(data, cfg, state.align_step)[env.rank :: env.world_size]
            prompts = [model.prompt(q, context=None, radar=True, answer=a) for _, q, a in batch]
            emb = torch.from_numpy(np.stack([data.embeddings[r] for r, _, _ in batch]))
            state.align_losses.append(
                _step(model, prompts, emb, align_opt, proj_params, env, cfg.bf16)
            )
            state.align_step += 1
            state.seconds += time.perf_counter() - t0
            if bar is not None:
                bar.update(1)
                bar.set_postfix(align_loss=f"{np.mean(state.align_losses[-10:]):.3f}")
            if state.align_step % cfg.save_every == 0 or state.align_step == cfg.align_steps:
                save()
        align_opt.param_groups[0]["lr"] = base
        if bar is not None:
            bar.close()
        if cfg.lora:
            for p in params[1]["params"]:
                p.requires_grad_(True)
    # ---- stage 2: projector + LoRA on the QA mix
    base_lrs = [g["lr"] for g in opt.param_groups]
    bar = progress(state.step, cfg.steps) if progress and env.is_main else None
    while state.step < cfg.steps:
        t0 = time.perf_counter()
        f = lr_factor(state.step, cfg)
        for g, lr in zip(opt.param_groups, base_lrs, strict=True):
            g["lr"] = lr * f
        mine = draw_batch(data, cfg, state.step)[env.rank :: env.world_size]
        prompts, emb = batch_tensors(model, data, mine)
        state.losses.append(_step(model, prompts, emb, opt, trainable, env, cfg.bf16))
        state.step += 1
        state.seconds += time.perf_counter() - t0
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{np.mean(state.losses[-10:]):.3f}")
        if state.step % cfg.save_every == 0 or state.step == cfg.steps:
            save()
    if bar is not None:
        bar.close()
    if env.is_main and resume is not None and state.step == cfg.steps:
        if not (out / "card.json").is_file():
            write_checkpoint(out, model, cfg, state, data, command=command)
    return model, state


def bf16_is_fast() -> bool:
    """Whether this CPU multiplies bfloat16 natively (AVX512-BF16 or AMX). Without it, bfloat16
    autocast is emulated and several times *slower* than float32 (6.6x on an AVX2-only core)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return torch.backends.cpu.get_cpu_capability().startswith("AVX512")
    return "avx512_bf16" in flags or "amx_bf16" in flags


def _cosine(step: int, total: int, cfg: TrainConfig) -> float:
    """Warm-up then cosine decay to 0.1 over ``total`` steps."""
    if step < cfg.warmup:
        return (step + 1) / cfg.warmup
    t = (step - cfg.warmup) / max(1, total - cfg.warmup)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))


def _step(
    model: MMLLM,
    prompts: list[Any],
    emb: torch.Tensor,
    opt: torch.optim.Optimizer,
    trainable: list[torch.nn.Parameter],
    env: DistEnv,
    bf16: bool,
) -> float:
    """One optimizer step on this rank's ``prompts``; returns the global mean answer loss."""
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        total, count = model.loss_terms(prompts, emb)
    sums = torch.tensor([total.item(), float(count)], dtype=torch.float64)
    if env.distributed:
        torch.distributed.all_reduce(sums)
    loss = total / sums[1].item()  # this rank's share of the global mean
    opt.zero_grad()
    loss.backward()
    if env.distributed:
        _sum_gradients(trainable)
    torch.nn.utils.clip_grad_norm_(trainable, 1.0)
    opt.step()
    return float(sums[0] / sums[1])


def _sum_gradients(params: list[torch.nn.Parameter]) -> None:
    """Sum the ranks' gradients of ``params``; a parameter no rank used keeps ``grad = None`` (as in
    one process: AdamW then leaves it alone), one that only some ranks used counts zeros elsewhere."""
    used = torch.tensor([p.grad is not None for p in params], dtype=torch.float32)
    torch.distributed.all_reduce(used)
    for p, n in zip(params, used.tolist(), strict=True):
        if n == 0:
            continue
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        torch.distributed.all_reduce(p.grad)


def checkpoint_files_sha256(out: str | Path) -> dict[str, str]:
    """sha256 of the checkpoint's files (for reports)."""
    root = Path(out)
    return {
        str(p.relative_to(root)): sha256_file(p)
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "state.pt"
    }
