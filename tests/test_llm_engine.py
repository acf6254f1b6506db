"""llama.cpp with soft tokens (real llama.cpp, real Gemma 3 270M): the bare model answers, and soft
tokens equal to the model's own token embeddings give the logits of the tokens themselves."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

from runtime.llm import (
    LlamaEngine,
    LLMError,
    SamplingSettings,
    base_model_path,
    chat_segments,
    chat_text,
)
from runtime.llm import base_model as bm
from runtime.llm.gguf_rows import GGUFRows

if importlib.util.find_spec("llama_cpp") is None:
    pytest.skip(
        "llama-cpp-python is not installed (CMAKE_ARGS=-DGGML_NATIVE=OFF pip install 'mmfm[llm]')",
        allow_module_level=True,
    )
if importlib.util.find_spec(bm.BASE_MODEL_MODULE) is None:
    pytest.skip(
        f"the base LLM package {bm.BASE_MODEL_PACKAGE} is not installed", allow_module_level=True
    )


@pytest.fixture(scope="module")
def gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The base GGUF: from $MMFM_CACHE when the caller set it, else assembled into a temp cache."""
    if os.environ.get("MMFM_CACHE"):
        return base_model_path()
    return bm.assemble_base_model(tmp_path_factory.mktemp("cache") / "llm" / bm.BASE_MODEL_FILE)


@pytest.fixture(scope="module")
def engine(gguf: Path) -> LlamaEngine:
    # one thread: on a loaded machine, llama.cpp's spinning worker threads only slow things down
    with LlamaEngine(gguf, n_threads=1, n_ctx=512) as eng:
        yield eng


def token_embeddings(gguf: Path, ids: list[int]) -> np.ndarray:
    """Rows ``ids`` of the GGUF's token-embedding table, dequantised: float32 [len(ids), n_embd]."""
    with GGUFRows(gguf) as g:
        return g.rows("token_embd.weight", ids)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_model_facts(engine: LlamaEngine) -> None:
    assert engine.architecture == "gemma3"
    assert engine.n_embd == 640 and engine.n_vocab == 262144
    assert engine.embed_scale == pytest.approx(np.sqrt(640))
    assert engine.tokenize("<start_of_turn>")[0] == engine.tokenize("<start_of_turn>user")[0]
    assert len(engine.tokenize("<start_of_turn>")) == 1  # a control token, not text


def test_bare_model_answers_and_streams(engine: LlamaEngine) -> None:
    # The package holds google/gemma-3-270m, the *pretrained* model (not -it): it completes text and
    # follows a few-shot pattern, but not yet Gemma's chat turns (the mm-LLM's SFT teaches those).
    prompt = ["Q: What is the capital of Italy?\nA: Rome\nQ: What is the capital of France?\nA:"]
    pieces = list(engine.generate(prompt, SamplingSettings(max_tokens=6)))
    answer = "".join(pieces)
    assert answer.lstrip().startswith("Paris"), answer
    assert len(pieces) >= 2 and engine.answer(prompt, SamplingSettings(max_tokens=6)) == answer
    # sampling with a seed is reproducible; the chat layout runs end to end
    hot = SamplingSettings(temperature=0.8, max_tokens=12, seed=3)
    chat = chat_segments("Is anyone in the kitchen?")
    assert engine.answer(chat, hot) == engine.answer(chat, hot)


def test_soft_tokens_equal_token_embeddings(engine: LlamaEngine, gguf: Path) -> None:
    text = chat_text("Is anyone in the living room right now? Answer yes or no.")
    ids = [engine.bos, *engine.tokenize(text)]
    engine.reset()
    ref = engine.feed_tokens(ids)
    # the question's middle tokens as soft tokens: token batch, embedding batch, token batch
    a, b = 4, len(ids) - 6
    soft = token_embeddings(gguf, ids[a:b])  # [b - a, 640], table units
    engine.reset()
    engine.feed_tokens(ids[:a])
    engine.feed_embeddings(soft)
    got = engine.feed_tokens(ids[b:])
    assert engine.n_past == len(ids)
    assert cosine(got, ref) >= 0.99
    assert int(np.argmax(got)) == int(np.argmax(ref))
    # without the sqrt(n_embd) scale the injection is wrong: the logits move away
    engine.reset()
    engine.feed_tokens(ids[:a])
    engine.feed_embeddings(soft, scaled=True)
    wrong = engine.feed_tokens(ids[b:])
    assert cosine(wrong, ref) < cosine(got, ref) - 0.01


def test_soft_token_segments_through_the_chat_layout(engine: LlamaEngine, gguf: Path) -> None:
    q = "How many people are there?"
    words = "two people"
    soft = token_embeddings(gguf, engine.tokenize(words))
    with_soft = chat_segments(q, soft_tokens=soft, context="one person sat down at 10:02")
    assert isinstance(with_soft[1], np.ndarray) and with_soft[0].endswith("Radar: ")
    engine.reset()
    got = engine.feed(with_soft)
    engine.reset()
    text = "".join(s if isinstance(s, str) else words for s in with_soft)
    ref = engine.feed_tokens([engine.bos, *engine.tokenize(text)])
    assert cosine(got, ref) >= 0.99


def test_bad_inputs_are_one_line_errors(engine: LlamaEngine, gguf: Path, tmp_path: Path) -> None:
    engine.reset()
    with pytest.raises(LLMError, match=r"soft tokens must be \[n >= 1, 640\]"):
        engine.feed_embeddings(np.zeros((2, 64), np.float32))
    with pytest.raises(LLMError, match="NaN"):
        engine.feed_embeddings(np.full((1, 640), np.nan, np.float32))
    with pytest.raises(LLMError, match="context full"):
        engine.feed_tokens([engine.bos] * 600)
    with pytest.raises(LLMError, match="no such GGUF"):
        LlamaEngine(tmp_path / "missing.gguf")
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(LLMError, match="could not load"):
        LlamaEngine(bad)
    with pytest.raises(ValueError, match="empty question"):
        chat_segments("   ")
