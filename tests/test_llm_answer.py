"""The runtime answerer (real llama.cpp, real Gemma 3 270M): the base model + context answers and
streams; bad questions are refused at call time with one clear ValueError."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

from runtime.events import Event
from runtime.llm import MAX_QUESTION_CHARS, base_model_path
from runtime.llm import base_model as bm

if importlib.util.find_spec("llama_cpp") is None:
    pytest.skip(
        "llama-cpp-python is not installed (CMAKE_ARGS=-DGGML_NATIVE=OFF pip install 'mmfm[llm]')",
        allow_module_level=True,
    )
if importlib.util.find_spec(bm.BASE_MODEL_MODULE) is None:
    pytest.skip(
        f"the base LLM package {bm.BASE_MODEL_PACKAGE} is not installed", allow_module_level=True
    )

from runtime.llm.answer import Answerer, check_question

NOW = 1_000_000.0


@pytest.fixture(scope="module")
def gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The base GGUF: from $MMFM_CACHE when the caller set it, else assembled into a temp cache."""
    if os.environ.get("MMFM_CACHE"):
        return base_model_path()
    return bm.assemble_base_model(tmp_path_factory.mktemp("cache") / "llm" / bm.BASE_MODEL_FILE)


@pytest.fixture(scope="module")
def answerer(gguf: Path) -> Answerer:
    with Answerer(None, gguf_path=gguf, n_threads=1, n_ctx=512) as a:
        yield a


def _events() -> list[Event]:
    return [
        Event("count", NOW - 200, 2, 0.9, "r1"),
        Event("activity", NOW - 40, "sitting", 0.8, "r1", {"track_id": 1, "zone": "sofa"}),
        Event("fall", NOW - 300, True, 0.9, "r1", {"track_id": 2, "zone": "kitchen"}),
    ]


def test_base_model_answers_from_context_and_streams(answerer: Answerer) -> None:
    assert not answerer.uses_radar and answerer.num_soft_tokens == 0
    segments = answerer.prompt(
        "How many people are here?", events=_events(), now=NOW, embedding=None
    )
    assert len(segments) == 1 and isinstance(segments[0], str)
    assert "Context: Now: 2 people." in segments[0] and "5 min ago fall" in segments[0]
    assert segments[0].rstrip().endswith("<start_of_turn>model")
    pieces = list(
        answerer.answer(
            "How many people are here?", events=_events(), now=NOW, embedding=None, max_tokens=8
        )
    )
    assert pieces and all(isinstance(p, str) for p in pieces)
    text = "".join(pieces)
    assert text.strip()
    # greedy by default: the same question gives the same answer
    again = answerer.answer_text(
        "How many people are here?", events=_events(), now=NOW, embedding=None, max_tokens=8
    )
    assert again == text.strip()
    # an embedding without an mm-LLM model is ignored (no soft tokens), not an error
    emb = np.ones(256, np.float32) / 16
    same = answerer.prompt("How many people are here?", events=_events(), now=NOW, embedding=emb)
    assert same == segments


def test_base_model_answers_one_line(answerer: Answerer, gguf: Path) -> None:
    """The pretrained base never ends its turn: without an mm-LLM model the answer is its first
    line (one_line); one_line=False lets it run on to max_tokens."""
    assert answerer.one_line
    ev = _events()
    text = answerer.answer_text(
        "How many people are here?", events=ev, now=NOW, embedding=None, max_tokens=48
    )
    assert text and "\n" not in text
    with Answerer(None, gguf_path=gguf, n_ctx=512, one_line=False) as free:
        long = free.answer_text(
            "How many people are here?", events=ev, now=NOW, embedding=None, max_tokens=48
        )
    assert long.startswith(text) and len(long) > len(text)


def test_first_line_cuts_streams() -> None:
    from runtime.llm.answer import _first_line

    def cut(pieces: list[str]) -> str:
        return "".join(_first_line(iter(pieces)))

    assert cut(["\n", " Two", " people", ".\nQ:", " more"]) == "\n Two people."
    assert cut([" yes\nno"]) == " yes"
    assert cut(["a", "b\n", "c"]) == "ab"
    assert cut(["only"]) == "only"


def test_no_events_still_answers(answerer: Answerer) -> None:
    (text,) = answerer.prompt("Is anyone in the kitchen?", events=[], now=NOW, embedding=None)
    assert "Context: Now: nothing logged." in text
    out = answerer.answer_text(
        "Is anyone in the kitchen?", events=[], now=NOW, embedding=None, max_tokens=4
    )
    assert isinstance(out, str)


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("", "empty question"),
        ("   \n\t ", "empty question"),
        ("x" * (MAX_QUESTION_CHARS + 1), f"question too long: {MAX_QUESTION_CHARS + 1} characters"),
    ],
)
def test_bad_questions_refused_at_call_time(
    answerer: Answerer, question: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        answerer.answer(
            question, events=[], now=NOW, embedding=None
        )  # not iterated: raises eagerly
    with pytest.raises(ValueError, match=message):
        check_question(question)


def test_limits_and_bad_arguments(answerer: Answerer) -> None:
    assert check_question("  Is anyone here? ") == "Is anyone here?"
    assert check_question("y" * MAX_QUESTION_CHARS) == "y" * MAX_QUESTION_CHARS
    with pytest.raises(ValueError, match="max_tokens"):
        answerer.answer("Is anyone here?", events=[], now=NOW, embedding=None, max_tokens=0)
    with pytest.raises(ValueError, match="must be text"):
        check_question(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no mm-LLM model"):
        answerer.soft_tokens(np.zeros(256, np.float32))
