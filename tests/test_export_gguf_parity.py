"""Logit parity PyTorch vs llama.cpp for the exported mm-LLM (slow: transformers' GGUF loader takes
minutes on a loaded 2-core machine).

PyTorch: Hugging Face Gemma 3 loaded from the base GGUF (dequantised) + a real peft LoRA on every
attention/MLP projection with non-zero random B + a random projector. Exported with
``exporters.gguf.export_mmllm`` (projector ONNX + adapter GGUF), run by the runtime's ``Answerer``
(onnxruntime soft tokens, llama.cpp with the adapter on the Q4_K_M base). Same prompt (the runtime's
chat layout with K soft tokens): the last-position logits agree (cosine >= 0.99), and the adapter
really changes llama.cpp's logits (so the agreement is not the base model's alone).
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

from runtime.llm import base_model as bm

for _mod in ("llama_cpp", "torch", "transformers", "peft", "gguf", "onnx"):
    if importlib.util.find_spec(_mod) is None:
        pytest.skip(
            f"{_mod} is not installed (pip install 'mmfm[train,llm]')", allow_module_level=True
        )
if importlib.util.find_spec(bm.BASE_MODEL_MODULE) is None:
    pytest.skip(
        f"the base LLM package {bm.BASE_MODEL_PACKAGE} is not installed", allow_module_level=True
    )

import torch  # noqa: E402

from exporters.gguf import MLPProjector, export_mmllm  # noqa: E402
from runtime.events import Event  # noqa: E402
from runtime.llm import LlamaEngine, base_model_path  # noqa: E402
from runtime.llm.answer import Answerer  # noqa: E402
from runtime.llm.context import CONTEXT_VERSION  # noqa: E402

pytestmark = pytest.mark.slow
K = 4


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture(scope="module")
def gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("MMFM_CACHE"):
        return base_model_path()
    return bm.assemble_base_model(tmp_path_factory.mktemp("cache") / "llm" / bm.BASE_MODEL_FILE)


def test_torch_and_llama_cpp_agree_with_adapter_and_soft_tokens(gguf: Path, tmp_path: Path) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    lm = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    lm.eval()
    torch.manual_seed(0)
    config = LoraConfig(
        r=4,
        lora_alpha=8,
        lora_dropout=0.0,
        target_modules=[
            "q_proj",
            "k_proj",
            "v_proj",
            "o_proj",
            "gate_proj",
            "up_proj",
            "down_proj",
        ],
        bias="none",
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(lm, config)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0.0, 0.05)  # peft starts B at zero: make the adapter do something
    proj = MLPProjector(256, 128, K, 640).eval()
    with torch.no_grad():  # soft tokens of about a table row's size (rms ~0.03)
        proj.fc2.weight.mul_(0.5)

    ckpt = tmp_path / "ckpt"
    model.save_pretrained(ckpt / "adapter")
    torch.save(proj.state_dict(), ckpt / "projector.pt")
    cfg = {"type": "mlp", "in_dim": 256, "hidden": 128, "num_tokens": K, "out_dim": 640}
    (ckpt / "projector.json").write_text(json.dumps(cfg))
    card = {
        "format": "mmfm.mmllm.checkpoint/1",
        "base_model": {"file": bm.BASE_MODEL_FILE, "sha256": bm.BASE_MODEL_SHA256},
        "encoder": {"name": "clmp_points_s", "card_sha256": "0" * 64},
        "context_version": CONTEXT_VERSION,
        "instruction": None,
    }
    (ckpt / "card.json").write_text(json.dumps(card))
    out = export_mmllm(ckpt, tmp_path / "model")

    emb = np.random.default_rng(1).normal(size=256).astype(np.float32)
    emb /= np.linalg.norm(emb)
    events = [Event("count", 90.0, 2, 0.9, "r1")]
    with Answerer(out, gguf_path=gguf, n_ctx=256) as ans:
        segs = ans.prompt(
            "How many people are in the room?", events=events, now=100.0, embedding=emb
        )
        ans.engine.reset()
        llama_adapted = ans.engine.feed(segs)
        ids_before = [ans.engine.bos, *ans.engine.tokenize(segs[0])]
        ids_after = ans.engine.tokenize(segs[2])
        soft = segs[1]
    with LlamaEngine(gguf, n_ctx=256) as base:
        llama_base = base.feed(segs)

    table = model.get_input_embeddings()  # Gemma's scaled embedding: rows x sqrt(640)
    with torch.no_grad():
        ref_soft = proj(torch.from_numpy(emb[None]))[0]
        np.testing.assert_allclose(soft, ref_soft.numpy(), atol=1e-5)
        x = torch.cat(
            [
                table(torch.tensor(ids_before)),
                ref_soft * math.sqrt(640),
                table(torch.tensor(ids_after)),
            ]
        )[None]
        torch_adapted = model(inputs_embeds=x).logits[0, -1].float().numpy()
        with model.disable_adapter():
            torch_base = model(inputs_embeds=x).logits[0, -1].float().numpy()

    parity = cosine(llama_adapted, torch_adapted)
    moved = cosine(llama_adapted, llama_base)
    assert parity >= 0.99, parity
    assert cosine(llama_base, torch_base) >= 0.99
    assert moved < 0.995, moved  # the adapter matters in llama.cpp ...
    assert (
        parity > moved
    )  # ... and llama.cpp + adapter is closer to torch + adapter than to the base
    assert cosine(torch_adapted, torch_base) < 0.995
