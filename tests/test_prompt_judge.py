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
    SCHEMA_VOCABULARY,
    LLMJudge,
    compact_program,
    few_shot_text,
    judge_scene_program,
    program_grammar,
    prompt_vocabulary,
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
    for prompt in (*EXAMPLES, *PROMPTS, "grandpa takes a tumble", "three kids"):
        text = program_grammar(prompt_vocabulary(prompt))
        llama_cpp.LlamaGrammar.from_string(text, verbose=False)


PROMPTS = (  # phrasings like the benchmark's, not its prompts
    "an old lady falls near the stairs while two boys wave",
    "a girl stands up then walks",
    "a man sits on the bed",
)


def test_prompt_grammar_admits_what_the_words_attest() -> None:
    v = prompt_vocabulary("an old man sits down on the sofa then a girl walks")
    assert v.max_people == 2 and v.counts == (1,) and v.timings == ("while", "then")
    assert v.sexes == ("male", "female") and v.age_groups == ("child", "elderly")
    assert {"sit_down", "walk"} <= set(v.activities) and "fall" not in v.activities
    assert v.objects == ("sofa",)
    # "sits on": the action word admits every sit_* activity, the model picks one
    assert {"sit", "sit_down", "sit_to_stand"} <= set(
        prompt_vocabulary("she sits on it").activities
    )
    # sides are not actions: "left" alone admits no left_* activity
    swipe = prompt_vocabulary("a man swipes left").activities
    assert "swipe_left" in swipe and all(a.startswith("swipe_") for a in swipe)
    assert prompt_vocabulary("she raises her left arm").activities == ("left_arm_raise",)
    # nothing named: the whole registry is open (free text is what the LLM judge is for)
    free = prompt_vocabulary("grandpa takes a tumble")
    assert free.activities == SCHEMA_VOCABULARY.activities and free.max_activities == 3
    assert free.sexes == ("male",) and free.age_groups == ("elderly",) and free.objects == ()
    assert prompt_vocabulary("two people walking").counts == (1, 2, 3)
    assert prompt_vocabulary("a person walking in the office").admits_one_program()
    assert not prompt_vocabulary("a woman walking in the office").admits_one_program()
    # "bedroom" does not attest a bed, nor "wall" a walk
    bedroom = prompt_vocabulary("someone doing jumping jacks near the wall of the bedroom")
    assert bedroom.objects == () and set(bedroom.activities) == {"jump", "jumping_jacks"}


def test_prompt_grammar_admits_the_rule_parsers_program() -> None:
    """The narrowing never rules out the reference: every program the rule parser writes for these
    phrasings (the examples included) is one the prompt's grammar can write."""
    for prompt in (*EXAMPLES, *PROMPTS):
        program = parse_scene_program(prompt)
        assert prompt_vocabulary(prompt).admits(program), prompt
        assert SCHEMA_VOCABULARY.admits(program)
    assert not prompt_vocabulary("a man walking").admits(parse_scene_program("a woman walking"))


def test_prompt_grammar_shape() -> None:
    one = program_grammar(prompt_vocabulary("a person walking in the office"))
    assert 'place ::= "null"' in one.splitlines() and "person ::=" not in one
    assert 'sex ::= "null"' in one.splitlines() and '\\"walk\\"' in one and "fall" not in one
    first = next(line for line in one.splitlines() if line.startswith("first ::="))
    assert first.endswith('"\\"while\\"" "}"')  # nobody is before the first person
    two = program_grammar(prompt_vocabulary("a man sits near the window then a woman waves"))
    assert 'timing ::= "\\"while\\"" | "\\"then\\""' in two.splitlines()
    assert 'obj ::= "\\"window\\""' in two.splitlines()


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
