"""mm-LLM SFT: the training loop lowers the loss, writes the contract checkpoint and resumes; a projector
trained here makes a radar-only question answerable (vs the same model without the radar tokens).

These use a *tiny* Gemma 3 (2 layers, hidden 64, the real 262k vocabulary and the base GGUF's real
tokenizer), so the mechanics run in seconds; one test fine-tunes the real 270M model for a few steps.
All are in the slow tier: the tokenizer is rebuilt from the GGUF (about a minute) unless
``$MMFM_CACHE`` already holds it (``training.llm.model.load_tokenizer``); with it cached the tiny tests
take ~20 s each on a quiet core.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")

from runtime.llm import base_model as bm  # noqa: E402
from training.llm.model import MMLLM, Projector, add_lora, load_tokenizer  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The base GGUF: from $MMFM_CACHE when the caller set it, else assembled into a temp cache."""
    try:
        if os.environ.get("MMFM_CACHE"):
            return bm.base_model_path()
        return bm.assemble_base_model(tmp_path_factory.mktemp("cache") / "llm" / bm.BASE_MODEL_FILE)
    except bm.BaseModelError as exc:
        pytest.skip(f"base GGUF unavailable: {exc}")


@pytest.fixture(scope="module")
def tokenizer(gguf: Path):
    return load_tokenizer(gguf)


def tiny_model(tokenizer, *, num_tokens: int = 2, lora: bool = True, seed: int = 0) -> MMLLM:
    """A 2-layer Gemma 3 (random init, frozen) + LoRA + projector, with the real tokenizer."""
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(seed)
    cfg = Gemma3TextConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=32,
        layer_types=["sliding_attention", "full_attention"],
        sliding_window=512,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=0,
        initializer_range=0.2,  # expressive logits from the start (the real model's are trained)
    )
    lm = Gemma3ForCausalLM(cfg).eval()
    for p in lm.parameters():
        p.requires_grad_(False)
    if lora:
        lm = add_lora(lm, rank=4, alpha=8.0)
    proj = Projector(256, 64, num_tokens, 64)
    return MMLLM(lm, tokenizer, proj)


def test_tiny_sft_lowers_the_loss_writes_the_checkpoint_and_resumes(tmp_path, tokenizer) -> None:
    from training.llm.data import build_data
    from training.llm.train import TrainConfig, train

    build_data(tmp_path / "data", num=4, seed=3)
    cfg = TrainConfig(
        steps=16, batch_size=4, lr=3e-2, lora_lr=3e-2, warmup=2, save_every=8, bf16=False, hidden=64
    )
    model = tiny_model(tokenizer)
    out = tmp_path / "ckpt"
    _, state = train(tmp_path / "data", out, cfg, model=model, command="test", log=lambda s: None)
    first, last = np.mean(state.losses[:4]), np.mean(state.losses[-4:])
    assert last < first - 0.5, " ".join(f"{x:.2f}" for x in state.losses)
    pj = json.loads((out / "projector.json").read_text())
    assert pj == {**model.projector.config()} and pj["type"] == "mlp" and pj["out_dim"] == 64
    sd = torch.load(out / "projector.pt", weights_only=True)
    assert set(sd) == {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}
    assert (out / "adapter" / "adapter_config.json").is_file()
    assert (out / "adapter" / "adapter_model.safetensors").is_file()
    card = json.loads((out / "card.json").read_text())
    assert card["format"] == "mmfm.mmllm.checkpoint/1" and card["training"]["steps_done"] == 16
    assert card["base_model"]["sha256"] == bm.BASE_MODEL_SHA256 and card["context_version"]
    assert (out / "loss.png").stat().st_size > 1000
    # resuming: a fresh model picks up the saved weights and goes on from step 16
    cfg.steps = 18
    m2 = tiny_model(tokenizer, seed=1)
    _, st2 = train(tmp_path / "data", out, cfg, model=m2, command="test", log=lambda s: None)
    assert st2.step == 18 and len(st2.losses) == 18 and st2.losses[:16] == state.losses
    for k, v in torch.load(out / "projector.pt", weights_only=True).items():
        assert v.shape == sd[k].shape


def test_align_stage_trains_only_the_projector_then_sft_resumes(tmp_path, tokenizer) -> None:
    """Stage 0 (soft tokens fitted to the caption's token rows) and stage 1 (projector alone on
    radar-only captions) lower their losses and leave the LoRA untouched; stage 2 then runs and a
    rerun resumes after them."""
    from peft import get_peft_model_state_dict

    from training.llm.data import build_data
    from training.llm.train import TrainConfig, train, window_caption

    build_data(tmp_path / "data", num=4, seed=3)
    cfg = TrainConfig(
        steps=2,
        batch_size=2,
        align_steps=12,
        align_batch_size=4,
        anchor_steps=150,
        anchor_lr=1e-2,
        align_lr=3e-2,
        warmup=2,
        save_every=6,
        bf16=False,
        hidden=64,
        input_scale=16.0,
        radar_history_prob=1.0,
    )
    model = tiny_model(tokenizer)
    model.projector.input_scale = cfg.input_scale  # build_model does this for the real model
    lora0 = {k: v.clone() for k, v in get_peft_model_state_dict(model.lm).items()}
    out = tmp_path / "ckpt"
    stopped = TrainConfig(**{**cfg.__dict__, "align_steps": 6, "steps": 0})
    _, st0 = train(tmp_path / "data", out, stopped, model=model, command="t", log=lambda s: None)
    assert st0.align_step == 6 and st0.step == 0
    assert st0.anchor_losses[-1] < 0.5 * st0.anchor_losses[0]  # stage 0 fits the caption rows
    for k, v in get_peft_model_state_dict(model.lm).items():  # stage 1 leaves the LoRA alone
        assert torch.equal(v, lora0[k]), k
    _, state = train(tmp_path / "data", out, cfg, model=model, command="t", log=lambda s: None)
    assert state.align_step == 12 and state.step == 2 and state.align_losses[:6] == st0.align_losses
    assert np.all(np.isfinite(state.align_losses)) and len(state.losses) == 2
    card = json.loads((out / "card.json").read_text())
    assert card["training"]["align_steps_done"] == 12
    assert json.loads((out / "projector.json").read_text())["input_scale"] == 16.0
    assert window_caption({"people": []}) == "Nobody."
    two = [
        {"activity": "walk", "position_radar": [0.0, 3.0, 0.0]},
        {"activity": "sit", "position_radar": [0.0, 1.0, 0.0]},
    ]
    assert window_caption({"people": two}) == "Two people: sitting, walking."


def test_projector_makes_a_radar_only_question_answerable(tokenizer) -> None:
    """Three activities, two windows each (real kinematic windows through the real CLMP encoder): a
    projector (+ LoRA) trained here answers "What is the person doing?" from the radar tokens; the
    same model without them can name at most one activity."""
    from runtime.inference.encoder import PointEncoder
    from runtime.models import load_model
    from training.llm.episodes import make_episode
    from training.llm.evaluate import key_correct

    art = load_model("clmp-default")
    enc = PointEncoder(art, precision="fp32", threads=1)
    answers = {"walk": "Walking.", "boxing": "Boxing.", "squats": "Doing squats."}
    items = []
    for act in answers:
        for i in range(2):
            ep = make_episode(21, i, art.input_contract, setup="radhar", activities={act: 1.0})
            emb = enc.embed(ep.points[None], ep.mask[None])[0]
            items.append((act, torch.from_numpy(emb)))
    model = tiny_model(tokenizer, num_tokens=2)
    q = "What is the person doing?"
    prompts = [model.prompt(q, context=None, radar=True, answer=answers[a]) for a, _ in items]
    emb = torch.stack([e for _, e in items])
    params = list(model.projector.parameters()) + [
        p for p in model.lm.parameters() if p.requires_grad
    ]
    opt = torch.optim.Adam(params, lr=3e-2)
    torch.manual_seed(0)
    for _ in range(120):
        loss = model.loss(prompts, emb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with_radar = [
        key_correct(
            "activity",
            a,
            model.generate(model.prompt(q, context=None, radar=True), e[None], max_new_tokens=6),
        )
        for a, e in items
    ]
    text_only = model.generate(model.prompt(q, context=None, radar=False), None, max_new_tokens=6)
    without = [key_correct("activity", a, text_only) for a, _ in items]
    assert np.mean(with_radar) - np.mean(without) >= 0.5, (with_radar, text_only)


def test_real_model_few_steps_lower_the_loss(gguf) -> None:
    """The real Gemma 3 270M (frozen) + LoRA + projector: 6 steps on one fixed batch lower its loss."""
    from training.llm.model import load_base, table_rms

    lm, tok = load_base(gguf)
    lm = add_lora(lm, rank=4, alpha=8.0)
    proj = Projector(256, 64, 2, 640)
    proj.init_scale(table_rms(lm))
    model = MMLLM(lm, tok, proj)
    rng = np.random.default_rng(0)
    emb = torch.from_numpy(rng.normal(size=(2, 256)).astype(np.float32))
    emb = emb / emb.norm(dim=1, keepdim=True)
    prompts = [
        model.prompt(
            "How many people are there?", context="Now: 2 people.", radar=True, answer="Two people."
        ),
        model.prompt("Is anyone there?", context=None, radar=True, answer="No one is there."),
    ]
    params = list(proj.parameters()) + [p for p in lm.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=2e-3)
    losses = []
    for _ in range(6):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = model.loss(prompts, emb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0], losses


def _llm_rank(rank: int, world: int, port: int, model, data: Path, out: Path, cfg) -> None:
    """One torchrun-like rank training the (forked) tiny model."""
    from training.distributed import distributed_session
    from training.llm.train import train

    os.environ.update(
        RANK=str(rank),
        WORLD_SIZE=str(world),
        LOCAL_RANK=str(rank),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
    )
    torch.set_num_threads(1)
    with distributed_session(device="cpu", precision="fp32") as env:
        assert env.world_size == world
        train(data, out, cfg, model=model, command="test", log=lambda s: None, env=env)


def test_two_gloo_ranks_train_the_one_process_curve(tmp_path, tokenizer) -> None:
    """2 ranks x 2 examples = 1 process x 4: the same per-step losses and projector."""
    from broker import free_port

    from training.llm.data import build_data
    from training.llm.train import TrainConfig, train

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    build_data(tmp_path / "data", num=4, seed=3)
    cfg = TrainConfig(steps=6, batch_size=4, lr=3e-2, lora_lr=3e-2, warmup=2, save_every=6)
    cfg.bf16, cfg.hidden, cfg.threads = False, 64, 1
    _, one = train(
        tmp_path / "data", tmp_path / "one", cfg, model=tiny_model(tokenizer), log=lambda s: None
    )
    port = free_port()
    model = tiny_model(tokenizer)  # forked into both ranks: the same weights
    torch.multiprocessing.start_processes(
        _llm_rank,
        args=(2, port, model, tmp_path / "data", tmp_path / "two", cfg),
        nprocs=2,
        join=True,
        start_method="fork",
    )
    two = torch.load(tmp_path / "two" / "state.pt", weights_only=False)["state"]["losses"]
    np.testing.assert_allclose(two, one.losses, rtol=1e-4)
    a = torch.load(tmp_path / "one" / "projector.pt", weights_only=True)
    b = torch.load(tmp_path / "two" / "projector.pt", weights_only=True)
    for k in a:
        # Adam normalises each step (lr 3e-2 per element): float sums in another order move a few
        # near-zero-gradient weights by ~1e-5
        torch.testing.assert_close(b[k], a[k], rtol=1e-3, atol=1e-4)
    # and the comparison can fail: a global batch of 2 follows another curve
    cfg.batch_size, cfg.steps = 2, 6
    _, small = train(
        tmp_path / "data", tmp_path / "small", cfg, model=tiny_model(tokenizer), log=lambda s: None
    )
    assert not np.allclose(small.losses, one.losses, rtol=1e-4)
