"""The second judge for scene prompts (sim.dataset.llm_judge): a grammar from the program schema, the
rule parser's examples, the fallback, and (slow tier) the real LLM writing a valid program."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest

from runtime.llm import base_model as bm
from sim.dataset.llm_judge import (
    EXAMPLES,
    LLMJudge,
    compact_program,
    few_shot_text,
    judge_scene_program,
    program_grammar,
)
from sim.dataset.people_prompt import parse_scene_program
from sim.dataset.program import validate_program

HAVE_LLAMA = importlib.util.find_spec("llama_cpp") is not None
HAVE_MODEL = importlib.util.find_spec(bm.BASE_MODEL_MODULE) is not None


def test_examples_round_trip_through_the_compact_form() -> None:
    for ex in EXAMPLES:
        program = parse_scene_program(ex)
        doc = json.loads(compact_program(program))
        again = validate_program({**doc, "room": ex}, "example")
        assert compact_program(again) == compact_program(program)
    text = few_shot_text("  a man   waving ")
    assert text.endswith("Scene: a man waving\nJSON: ")
    assert text.count("Scene: ") == len(EXAMPLES) + 1


@pytest.mark.skipif(not HAVE_LLAMA, reason="llama-cpp-python is not installed (mmfm[llm])")
def test_grammar_compiles_in_llama_cpp() -> None:
    import llama_cpp

    grammar = program_grammar()
    assert '"\\"fall\\""' in grammar and '"\\"sofa\\""' in grammar
    llama_cpp.LlamaGrammar.from_string(grammar, verbose=False)  # raises on a malformed grammar


def test_llm_judge_falls_back_to_the_rules(tmp_path: Path) -> None:
    prompt = "an elderly man falls in the kitchen while a woman sits on a chair"
    missing = tmp_path / "missing.gguf"
    judged = judge_scene_program(prompt, "llm", gguf=missing)
    assert judged.judge == "rules"
    assert "LLM judge failed" in judged.note and "missing.gguf" in judged.note
    assert compact_program(judged.program) == compact_program(parse_scene_program(prompt))
    with pytest.raises(ValueError, match="unknown judge"):
        judge_scene_program(prompt, "oracle")  # type: ignore[arg-type]


def test_generate_judge_needs_a_prompt(tmp_path: Path) -> None:
    from mmfm.cli import main

    assert (
        main(["sim", "generate", "--num", "1", "--out", str(tmp_path / "d"), "--judge", "llm"]) == 1
    )


@pytest.mark.slow
@pytest.mark.skipif(
    not (HAVE_LLAMA and HAVE_MODEL), reason="llama-cpp-python or the base LLM missing"
)
def test_real_llm_writes_a_valid_program(tmp_path_factory: pytest.TempPathFactory) -> None:
    if os.environ.get("MMFM_CACHE"):
        gguf = bm.base_model_path()
    else:
        gguf = bm.assemble_base_model(tmp_path_factory.mktemp("c") / "llm" / bm.BASE_MODEL_FILE)
    judge = LLMJudge(gguf, n_threads=2)
    prompt = "grandpa takes a tumble in the kitchen"
    program = judge.program(prompt)  # grammar-constrained: always a schema-valid program
    assert program.room == prompt
    both = judge_scene_program("a man walking in the living room", "both", llm=judge)
    assert both.judge == "llm" and both.other is not None
    assert both.note in ("judges agree", "judges disagree")
