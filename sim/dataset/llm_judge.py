"""Second judge for scene prompts: a local LLM writes the scene program, constrained by a grammar.

The rule parser (:mod:`sim.dataset.people_prompt`) reads the phrasings it was written for. Free text
that it does not cover ("grandpa takes a tumble in the kitchen") can go to a local LLM instead: the
base Gemma 3 270M of the mm-LLM (``runtime.llm.base_model``), run by llama.cpp through
llama-cpp-python with a **GBNF grammar** generated from the scene-program schema
(:func:`program_grammar`). Whatever the model writes is then a syntactically valid program whose
activity names, objects, counts and timings are the schema's own: an LLM cannot invent an activity the
motion library lacks. The program is then validated like a ``--scene`` file
(:func:`sim.dataset.program.validate_program`).

The prompt is few-shot (:data:`EXAMPLES`, each answer written by the rule parser itself, so the examples
and the schema cannot drift apart), decoding is greedy: the same prompt, model and llama.cpp build give
the same program.

:func:`judge_scene_program` is the entry point: ``judge="rules"`` is the rule parser; ``"llm"`` asks
the LLM and falls back to the rule parser (with the reason) when llama.cpp or the model is missing or
the LLM's program does not validate; ``"both"`` runs both and reports whether they agree. How often
the two agree is measured in ``benchmarks/bench_prompt_judge.py``.
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sim.dataset.people_prompt import parse_scene_program
from sim.dataset.program import PLACE_OBJECTS, ProgramError, SceneProgram, validate_program
from sim.humans.motion.vocabulary import ACTIVITIES

log = logging.getLogger(__name__)

Judge = Literal["rules", "llm", "both"]
JUDGES: tuple[str, ...] = ("rules", "llm", "both")

#: Few-shot prompts; their programs come from the rule parser (:func:`few_shot_text`).
EXAMPLES: tuple[str, ...] = (
    "a man walking in the living room",
    "an elderly woman falls in the kitchen while a man sits on the sofa",
    "two children jumping in the bedroom",
    "a woman sits down on a chair, then a man waves near the window",
    "someone doing squats then boxing",
)
#: Most tokens the LLM may write for one program (three people with places fit in ~150).
MAX_PROGRAM_TOKENS = 200


def _alt(values: tuple[str, ...] | list[str]) -> str:
    return " | ".join(json.dumps(json.dumps(v)) for v in values)


def program_grammar() -> str:
    """The GBNF grammar of a compact scene-program JSON (people only; the room is the prompt).

    One to three person entries (the schema's ``MAX_PEOPLE``), each with count 1-3, optional sex and
    age group, one to three activities from the motion registry, an optional place (relation and an
    object of :data:`sim.dataset.program.PLACE_OBJECTS`) and the timing. Keys come in a fixed order
    without whitespace, as :func:`compact_program` writes them.
    """

    def lit(text: str) -> str:  # a GBNF string literal
        return json.dumps(text)

    person = " ".join(
        [
            lit('{"count":'),
            "count",
            lit(',"sex":'),
            "sex",
            lit(',"age_group":'),
            "age",
            lit(',"activities":['),
            "act",
            f"({lit(',')} act ({lit(',')} act)?)?",
            lit('],"place":'),
            "place",
            lit(',"timing":'),
            "timing",
            lit("}"),
        ]
    )
    place = " ".join([lit('{"relation":'), "rel", lit(',"object":'), "obj", lit("}")])
    root = " ".join(
        [lit('{"people":['), "person", f"({lit(',')} person ({lit(',')} person)?)?", lit("]}")]
    )
    return "\n".join(
        [
            f"root ::= {root}",
            f"person ::= {person}",
            'count ::= "1" | "2" | "3"',
            f'sex ::= "null" | {_alt(["male", "female"])}',
            f'age ::= "null" | {_alt(["child", "adult", "elderly"])}',
            f"act ::= {_alt(list(ACTIVITIES))}",
            f'place ::= "null" | {place}',
            f"rel ::= {_alt(['on', 'near'])}",
            f"obj ::= {_alt(list(PLACE_OBJECTS))}",
            f"timing ::= {_alt(['while', 'then'])}",
        ]
    )


def compact_program(program: SceneProgram) -> str:
    """``program``'s people as the compact JSON the grammar describes (fixed key order)."""
    people = []
    for p in program.people:
        place = (
            None if p.place is None else {"relation": p.place.relation, "object": p.place.object}
        )
        people.append(
            {
                "count": p.count,
                "sex": p.sex,
                "age_group": p.age_group,
                "activities": list(p.activities),
                "place": place,
                "timing": p.timing,
            }
        )
    return json.dumps({"people": people}, separators=(",", ":"))


@functools.cache
def _few_shot_head() -> str:
    """The instruction and the examples with their programs (the rule parser's; built once)."""
    lines = [
        "Turn each scene description into JSON: the people, what each does in order, where, "
        "and whether they act at the same time (while) or after the previous person (then).",
        "",
    ]
    for ex in EXAMPLES:
        lines += [f"Scene: {ex}", f"JSON: {compact_program(parse_scene_program(ex))}", ""]
    return "\n".join(lines) + "\n"


def few_shot_text(prompt: str) -> str:
    """The completion prompt: an instruction, the examples with their programs, then ``prompt``."""
    return f"{_few_shot_head()}Scene: {' '.join(prompt.split())}\nJSON: "


class LLMJudge:
    """The base LLM behind a grammar: prompt text in, :class:`SceneProgram` out.

    Args:
        gguf: the GGUF file (None: the mm-LLM's base model, assembled into the cache if needed).
        n_threads: llama.cpp CPU threads.

    Raises:
        RuntimeError: llama-cpp-python or the model is missing (one line saying which).
    """

    def __init__(self, gguf: str | Path | None = None, *, n_threads: int = 2) -> None:
        from runtime.llm import BaseModelError, LLMError, base_model_path, import_llama_cpp

        try:
            llama_cpp = import_llama_cpp()
            path = base_model_path(gguf)
        except (LLMError, BaseModelError) as exc:
            raise RuntimeError(str(exc)) from None
        self._llama = llama_cpp.Llama(
            model_path=str(path), n_ctx=1024, n_threads=n_threads, verbose=False, seed=0
        )
        self._grammar = llama_cpp.LlamaGrammar.from_string(program_grammar(), verbose=False)

    def raw(self, prompt: str) -> str:
        """The grammar-constrained JSON the model writes for ``prompt`` (greedy)."""
        out = self._llama.create_completion(
            few_shot_text(prompt),
            max_tokens=MAX_PROGRAM_TOKENS,
            temperature=0.0,
            grammar=self._grammar,
        )
        return str(out["choices"][0]["text"])

    def program(self, prompt: str) -> SceneProgram:
        """The validated scene program of ``prompt``.

        Raises:
            ProgramError: the model's JSON is cut off (token limit) or does not validate.
        """
        text = self.raw(prompt)
        try:
            doc: dict[str, Any] = json.loads(text)
        except json.JSONDecodeError:
            raise ProgramError(
                f"LLM judge: unfinished program after {MAX_PROGRAM_TOKENS} tokens"
            ) from None
        doc["room"] = prompt
        return validate_program(doc, "LLM judge")


@dataclass(frozen=True)
class JudgedProgram:
    """A prompt's scene program and who wrote it.

    Attributes:
        program: the program used.
        judge: ``"rules"`` or ``"llm"`` (the one whose program is used).
        note: why the LLM's program was not used, or whether the two judges agree (``"both"``); "".
        other: with ``"both"``, the other judge's program (None when it failed).
    """

    program: SceneProgram
    judge: str
    note: str = ""
    other: SceneProgram | None = None


def same_people(a: SceneProgram, b: SceneProgram) -> bool:
    """Whether two programs have the same people (counts, hints, activities, places, timings)."""
    return compact_program(a) == compact_program(b)


def judge_scene_program(
    prompt: str,
    judge: Judge = "rules",
    *,
    llm: LLMJudge | None = None,
    gguf: str | Path | None = None,
) -> JudgedProgram:
    """The scene program of ``prompt`` from the chosen judge.

    Args:
        prompt: the scene prompt.
        judge: ``"rules"`` (the rule parser), ``"llm"`` (the LLM, rule parser as fallback) or
            ``"both"`` (the LLM's program when it validates, the rule parser's otherwise; the note says
            whether they agree).
        llm: an :class:`LLMJudge` to reuse (made on first need otherwise).
        gguf: the GGUF of a new :class:`LLMJudge` (None: the mm-LLM's base model).

    Raises:
        ValueError: the rule parser is needed and finds no known activity.
    """
    if judge not in JUDGES:
        raise ValueError(f"unknown judge {judge!r}; known: {', '.join(JUDGES)}")
    if judge == "rules":
        return JudgedProgram(parse_scene_program(prompt), "rules")
    try:
        llm = llm or LLMJudge(gguf)
        by_llm: SceneProgram | None = llm.program(prompt)
        reason = ""
    except (RuntimeError, ProgramError) as exc:
        by_llm, reason = None, str(exc)
    if judge == "llm":
        if by_llm is not None:
            return JudgedProgram(by_llm, "llm")
        log.info("LLM judge failed (%s); using the rule parser", reason)
        return JudgedProgram(parse_scene_program(prompt), "rules", f"LLM judge failed: {reason}")
    try:
        by_rules: SceneProgram | None = parse_scene_program(prompt)
        rules_reason = ""
    except ValueError as exc:
        by_rules, rules_reason = None, str(exc)
    if by_llm is None:
        if by_rules is None:
            raise ValueError(f"{rules_reason}; LLM judge failed too: {reason}")
        return JudgedProgram(by_rules, "rules", f"LLM judge failed: {reason}")
    if by_rules is None:
        return JudgedProgram(by_llm, "llm", f"rule parser failed: {rules_reason}")
    agree = same_people(by_llm, by_rules)
    return JudgedProgram(
        by_llm, "llm", "judges agree" if agree else "judges disagree", other=by_rules
    )
