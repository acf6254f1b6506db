"""mm-LLM export (fast tier): a checkpoint in the contract format (random projector + a peft-format
LoRA with non-zero B, made here) -> projector.onnx + adapter.gguf + card; the runtime verifies it,
llama.cpp loads the adapter and its logits move, the Answerer streams with soft tokens.

The logit parity against PyTorch (Hugging Face Gemma 3 + peft) is in test_export_gguf_parity.py
(slow: loading Gemma from the GGUF into transformers takes minutes on a loaded machine)."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest

from runtime.llm import base_model as bm

for _mod in ("llama_cpp", "torch", "gguf", "onnx", "safetensors"):
    if importlib.util.find_spec(_mod) is None:
        pytest.skip(
            f"{_mod} is not installed (pip install 'mmfm[train,llm]')", allow_module_level=True
        )
if importlib.util.find_spec(bm.BASE_MODEL_MODULE) is None:
    pytest.skip(
        f"the base LLM package {bm.BASE_MODEL_PACKAGE} is not installed", allow_module_level=True
    )

import torch  # noqa: E402
from safetensors.numpy import save_file  # noqa: E402

from exporters.gguf import (  # noqa: E402
    LoraExportError,
    MLPProjector,
    MMLLMExportError,
    export_mmllm,
    write_lora_gguf,
)
from runtime.llm import (  # noqa: E402
    LlamaEngine,
    LLMError,
    SamplingSettings,
    base_model_path,
    chat_segments,
)
from runtime.llm.answer import Answerer  # noqa: E402
from runtime.llm.context import CONTEXT_VERSION  # noqa: E402
from runtime.models import ModelError, load_mmllm  # noqa: E402

K = 3
#: Gemma 3 270M: width 640; q_proj 4 heads x 256 = 1024 out; v_proj 1 kv head x 256 = 256 out.
SHAPES = {"self_attn.q_proj": (1024, 640), "self_attn.v_proj": (256, 640)}


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture(scope="module")
def gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("MMFM_CACHE"):
        return base_model_path()
    return bm.assemble_base_model(tmp_path_factory.mktemp("cache") / "llm" / bm.BASE_MODEL_FILE)


def write_peft_adapter(
    out: Path, *, rank: int = 4, alpha: float = 8.0, b_std: float = 0.05, seed: int = 0, **extra
) -> dict[str, np.ndarray]:
    """A peft LoRA adapter directory on Gemma 3's q/v projections (peft's on-disk layout)."""
    rng = np.random.default_rng(seed)
    tensors = {}
    for layer in range(18):
        for module, (n_out, n_in) in SHAPES.items():
            key = f"base_model.model.model.layers.{layer}.{module}"
            tensors[f"{key}.lora_A.weight"] = rng.normal(0, 0.05, (rank, n_in)).astype(np.float32)
            tensors[f"{key}.lora_B.weight"] = rng.normal(0, b_std, (n_out, rank)).astype(np.float32)
    out.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out / "adapter_model.safetensors"))
    config = {
        "peft_type": "LORA",
        "r": rank,
        "lora_alpha": alpha,
        "target_modules": ["q_proj", "v_proj"],
        "bias": "none",
        "use_rslora": False,
        "task_type": "CAUSAL_LM",
        **extra,
    }
    (out / "adapter_config.json").write_text(json.dumps(config), encoding="utf-8")
    return tensors


def write_checkpoint(out: Path, *, lora: bool = True, seed: int = 0) -> MLPProjector:
    """A checkpoint in the contract format: projector.pt/.json, adapter/, card.json."""
    torch.manual_seed(seed)
    proj = MLPProjector(256, 64, K, 640).eval()
    out.mkdir(parents=True, exist_ok=True)
    torch.save(proj.state_dict(), out / "projector.pt")
    config = {"type": "mlp", "in_dim": 256, "hidden": 64, "num_tokens": K, "out_dim": 640}
    (out / "projector.json").write_text(json.dumps({**config, "activation": "gelu"}), "utf-8")
    if lora:
        write_peft_adapter(out / "adapter", seed=seed)
    card = {
        "format": "mmfm.mmllm.checkpoint/1",
        "base_model": {"file": bm.BASE_MODEL_FILE, "sha256": bm.BASE_MODEL_SHA256},
        "encoder": {"name": "clmp_points_s", "card_sha256": "0" * 64},
        "context_version": CONTEXT_VERSION,
        "instruction": "Answer from the radar and the log.",
        "command": "test",
        "metrics": {"loss": 1.5},
    }
    (out / "card.json").write_text(json.dumps(card), "utf-8")
    return proj


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, MLPProjector]:
    root = tmp_path_factory.mktemp("mmllm")
    proj = write_checkpoint(root / "ckpt")
    return export_mmllm(root / "ckpt", root / "model", name="mmllm-test"), proj


def test_export_writes_a_verified_model(exported: tuple[Path, MLPProjector]) -> None:
    path, proj = exported
    art = load_mmllm(path)
    card = art.card
    assert art.kind == "mmllm" and art.name == "mmllm-test"
    assert sorted(card["files"]) == ["adapter.gguf", "projector.onnx"]
    assert card["num_soft_tokens"] == K and card["soft_token_dim"] == 640
    assert card["encoder"] == "clmp_points_s" and card["context_version"] == CONTEXT_VERSION
    assert card["base_model"]["sha256"] == bm.BASE_MODEL_SHA256
    assert card["lora"]["rank"] == [4] and card["lora"]["alpha"] == 8.0
    assert card["lora"]["modules"] == ["attn_q", "attn_v"] and card["lora"]["layers"] == 18
    assert card["instruction"] == "Answer from the radar and the log."
    # the projector ONNX: dynamic batch, same numbers as torch
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path / "projector.onnx"), providers=["CPUExecutionProvider"])
    for batch in (1, 7):
        x = np.random.default_rng(batch).normal(size=(batch, 256)).astype(np.float32)
        (got,) = sess.run(["soft_tokens"], {"embedding": x})
        with torch.no_grad():
            ref = proj(torch.from_numpy(x)).numpy()
        assert got.shape == (batch, K, 640)
        np.testing.assert_allclose(got, ref, atol=1e-5)


def test_int8_projector(tmp_path: Path, exported: tuple[Path, MLPProjector]) -> None:
    proj = write_checkpoint(tmp_path / "ckpt", lora=False)
    out = export_mmllm(tmp_path / "ckpt", tmp_path / "m8", int8=True)
    card = load_mmllm(out).card
    assert card["projector_precision"]["precision"] == "int8"
    assert card["projector_precision"]["min_cosine"] >= 0.995
    fp32 = exported[0] / "projector.onnx"
    assert (out / "projector.onnx").stat().st_size < fp32.stat().st_size / 2
    import onnxruntime as ort

    sess = ort.InferenceSession(str(out / "projector.onnx"), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).normal(size=(4, 256)).astype(np.float32)
    (got,) = sess.run(["soft_tokens"], {"embedding": x})
    with torch.no_grad():
        ref = proj(torch.from_numpy(x)).numpy()
    assert got.shape == (4, K, 640) and cosine(got.ravel(), ref.ravel()) > 0.999


def test_tampered_or_mismatched_models_are_refused(
    exported: tuple[Path, MLPProjector], tmp_path: Path
) -> None:
    import shutil

    path, _ = exported
    bad = tmp_path / "bad"
    shutil.copytree(path, bad)
    with (bad / "adapter.gguf").open("r+b") as fh:
        fh.seek(-8, 2)
        fh.write(b"\x01" * 8)
    with pytest.raises(ModelError, match=r"adapter\.gguf: sha256 mismatch"):
        load_mmllm(bad)
    shutil.rmtree(bad)
    shutil.copytree(path, bad)
    card = json.loads((bad / "card.json").read_text())
    card["num_soft_tokens"] = K + 1
    (bad / "card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="num_soft_tokens"):
        load_mmllm(bad)
    card["num_soft_tokens"] = K
    card["context_version"] = "0"
    (bad / "card.json").write_text(json.dumps(card))
    load_mmllm(bad)  # the card itself is fine; the answerer refuses the old context layout
    with pytest.raises(ModelError, match="context layout"):
        Answerer(bad)


def test_adapter_loads_and_moves_the_logits(
    exported: tuple[Path, MLPProjector], gguf: Path
) -> None:
    path, _ = exported
    soft = np.random.default_rng(0).normal(0, 0.03, (K, 640)).astype(np.float32)
    segs = chat_segments("Is anyone sitting?", soft_tokens=soft, context="Now: 1 person.")
    with (
        LlamaEngine(gguf, n_ctx=256) as base,
        LlamaEngine(gguf, n_ctx=256, lora_path=path / "adapter.gguf") as adapted,
    ):
        assert adapted.lora_path == path / "adapter.gguf" and base.lora_path is None
        l0, la = base.feed(segs), adapted.feed(segs)
        assert cosine(l0, la) < 0.999  # the adapter changes what llama.cpp computes
        assert np.isfinite(la).all()
        text = adapted.answer(segs, SamplingSettings(max_tokens=4))
        assert isinstance(text, str)


def test_alpha_and_zero_b_reach_llama_cpp(tmp_path: Path, gguf: Path) -> None:
    """B = 0 changes nothing; alpha x2 == B x2 (llama.cpp applies alpha / r like peft)."""
    segs = ["The kitchen is empty and the living room has"]
    write_peft_adapter(tmp_path / "zero", b_std=0.0)
    write_peft_adapter(tmp_path / "a16", alpha=16.0, seed=1)
    tensors = write_peft_adapter(tmp_path / "b2", alpha=8.0, seed=1)
    doubled = {k: v * 2 if ".lora_B." in k else v for k, v in tensors.items()}
    save_file(doubled, str(tmp_path / "b2" / "adapter_model.safetensors"))
    logits = {}
    for name in ("zero", "a16", "b2"):
        write_lora_gguf(tmp_path / name, tmp_path / f"{name}.gguf")
        with LlamaEngine(gguf, n_ctx=64, lora_path=tmp_path / f"{name}.gguf") as eng:
            logits[name] = eng.feed(segs)
    with LlamaEngine(gguf, n_ctx=64) as eng:
        base = eng.feed(segs)
    assert cosine(logits["zero"], base) > 0.99999
    assert cosine(logits["a16"], logits["b2"]) > 0.9999
    assert cosine(logits["a16"], base) < 0.9999


def test_answerer_streams_with_soft_tokens(exported: tuple[Path, MLPProjector], gguf: Path) -> None:
    path, proj = exported
    emb = np.random.default_rng(3).normal(size=256).astype(np.float32)
    emb /= np.linalg.norm(emb)
    with Answerer(path, gguf_path=gguf, n_ctx=512) as ans:
        assert ans.uses_radar and ans.num_soft_tokens == K and ans.encoder_name == "clmp_points_s"
        assert ans.engine.lora_path == path / "adapter.gguf"
        soft = ans.soft_tokens(emb)
        with torch.no_grad():
            np.testing.assert_allclose(
                soft, proj(torch.from_numpy(emb[None]))[0].numpy(), atol=1e-5
            )
        segs = ans.prompt("Is anyone here?", events=[], now=0.0, embedding=emb)
        assert segs[0].startswith(
            "<start_of_turn>user\nAnswer from the radar and the log.\nRadar: "
        )
        assert isinstance(segs[1], np.ndarray) and segs[1].shape == (K, 640)
        pieces = list(
            ans.answer("Is anyone here?", events=[], now=0.0, embedding=emb, max_tokens=6)
        )
        assert all(isinstance(p, str) for p in pieces)
        with pytest.raises(ValueError, match=r"embedding must be \[256\]"):
            ans.answer("Is anyone here?", events=[], now=0.0, embedding=np.zeros(128))
        with pytest.raises(ValueError, match="NaN"):
            ans.answer("Is anyone here?", events=[], now=0.0, embedding=np.full(256, np.nan))


def test_bad_checkpoints_and_adapters_are_refused(tmp_path: Path, gguf: Path) -> None:
    write_checkpoint(tmp_path / "c", lora=False)
    card = json.loads((tmp_path / "c" / "card.json").read_text())
    (tmp_path / "c" / "card.json").write_text(json.dumps({**card, "format": "other/1"}))
    with pytest.raises(MMLLMExportError, match="format 'other/1'"):
        export_mmllm(tmp_path / "c", tmp_path / "out")
    (tmp_path / "c" / "card.json").write_text(json.dumps(card))
    out = export_mmllm(tmp_path / "c", tmp_path / "out")  # no adapter/: projector only
    assert load_mmllm(out).card["adapter"] is None
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "x.txt").write_text("mine")
    with pytest.raises(MMLLMExportError, match="refusing to overwrite"):
        export_mmllm(tmp_path / "c", tmp_path / "junk")
    # LoRA on the embeddings, DoRA: refused with the file and key
    write_peft_adapter(tmp_path / "dora", use_dora=True)
    with pytest.raises(LoraExportError, match="DoRA"):
        write_lora_gguf(tmp_path / "dora", tmp_path / "dora.gguf")
    tensors = write_peft_adapter(tmp_path / "emb")
    tensors["base_model.model.model.embed_tokens.lora_A.weight"] = np.zeros((4, 8), np.float32)
    save_file(tensors, str(tmp_path / "emb" / "adapter_model.safetensors"))
    with pytest.raises(LoraExportError, match="embed_tokens"):
        write_lora_gguf(tmp_path / "emb", tmp_path / "emb.gguf")
    # an adapter GGUF for another architecture: llama.cpp refuses it, one LLMError line
    write_peft_adapter(tmp_path / "ok")
    write_lora_gguf(tmp_path / "ok", tmp_path / "llama.gguf", architecture="llama")
    with pytest.raises(LLMError, match="could not load this LoRA adapter"):
        LlamaEngine(gguf, n_ctx=64, lora_path=tmp_path / "llama.gguf")


@pytest.mark.slow  # writes and hashes a 290 MB GGUF: ~35 s on a loaded 2-core machine
def test_merged_gguf_matches_base_plus_adapter(
    exported: tuple[Path, MLPProjector], gguf: Path, tmp_path: Path
) -> None:
    """--merged: the base GGUF with the LoRA merged (Q8_0 where adapted) runs alone and gives the
    logits of base + adapter."""
    write_checkpoint(tmp_path / "ckpt")
    out = export_mmllm(tmp_path / "ckpt", tmp_path / "m", merged_from=gguf)
    card = load_mmllm(out).card
    assert card["merged"] == "model.gguf" and "model.gguf" in card["files"]
    soft = np.random.default_rng(0).normal(0, 0.03, (K, 640)).astype(np.float32)
    segs = chat_segments("Is anyone sitting?", soft_tokens=soft, context="Now: 1 person.")
    with Answerer(out, gguf_path=gguf, n_ctx=256) as ans:
        assert ans.engine.path == out / "model.gguf" and ans.engine.lora_path is None
        merged = ans.engine.feed(segs)
    with LlamaEngine(gguf, n_ctx=256, lora_path=exported[0] / "adapter.gguf") as eng:
        adapted = eng.feed(segs)
    with LlamaEngine(gguf, n_ctx=256) as eng:
        base = eng.feed(segs)
    assert cosine(merged, adapted) > 0.999
    assert cosine(merged, adapted) > cosine(merged, base)
