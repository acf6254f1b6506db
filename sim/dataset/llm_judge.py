"""Second judge for scene prompts: a local LLM writes the scene program, constrained by a grammar.

The rule parser (:mod:`sim.dataset.people_prompt`) reads the phrasings it was written for. Free text
that it does not cover ("grandpa takes a tumble in the kitchen") can go to a local LLM instead: the
base Gemma 3 270M of the mm-LLM (``runtime.llm.base_model``), run by llama.cpp through
llama-cpp-python with a **GBNF grammar** generated from the scene-program schema
(:func:`program_grammar`). Whatever the model writes is then a syntactically valid program whose
activity names, objects, counts and timings are the schema's own: an LLM cannot invent an activity the
motion library lacks. The program is then validated like a ``--scene`` file
(:func:`sim.dataset.program.validate_program`).

The grammar is built **per prompt** (:func:`prompt_vocabulary`): it admits the schema's values that the
prompt's words attest, so a small model cannot write what the text does not say. A place object is
admitted when every word of its schema label appears in the prompt up to an inflection, an activity
when every word of its name does or its first word, the action, does (``sit_down`` for "sits down";
"sits on" admits ``sit``, ``sit_down`` and ``sit_to_stand``; ``wave`` for "waving"; the whole registry
when no name matches, as for "takes a tumble"); a sex or age group when a word for it appears ("grandpa": male, elderly);
counts above 1 with a number word or a plural; as many person entries as the prompt has person nouns;
``then`` only after a sequence word; the first person's timing is ``while`` (nobody is before them).
The model still decides: how many people, which person does what in which order and where, which of
the admitted activities a phrase means ("jumping jacks": ``jump`` or ``jumping_jacks``; "sits down":
``sit`` or ``sit_down``), ``on`` or ``near``, and whether a hint belongs to anyone.
``LLMJudge(narrow=False)`` uses the schema-wide grammar instead (every value open).

The prompt is few-shot (:data:`EXAMPLES`, short scenes whose activities, objects and people differ
from the benchmark's prompts, each answer written by the rule parser itself, so the examples and the
schema cannot drift apart), decoding is greedy: the same prompt, model and llama.cpp build give the
same program.

:func:`judge_scene_program` is the entry point: ``judge="rules"`` is the rule parser; ``"llm"`` asks
the LLM and falls back to the rule parser (with the reason) when llama.cpp or the model is missing or
the LLM's program does not validate; ``"both"`` runs both and reports whether they agree. How often
the two agree is measured in ``benchmarks/bench_prompt_judge.py``.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sim.dataset.people_prompt import parse_scene_program
from sim.dataset.program import (
    MAX_PEOPLE,
    PLACE_OBJECTS,
    ProgramError,
    SceneProgram,
    validate_program,
)
from sim.humans.motion.vocabulary import ACTIVITIES

log = logging.getLogger(__name__)

Judge = Literal["rules", "llm", "both"]
JUDGES: tuple[str, ...] = ("rules", "llm", "both")

#: Few-shot prompts; their programs come from the rule parser (:func:`few_shot_text`). Short, and
#: unlike the benchmark's prompts (other activities, objects and people), so that a model that copies
#: an example gets it wrong rather than right by accident.
EXAMPLES: tuple[str, ...] = (
    "a boy reading on the armchair",
    "two men pushing near the sink",
    "someone typing while a lady waves",
    "a person stretching then vacuuming",
    "an old woman stands near the door, then a man gets up",
)
#: Most tokens the LLM may write for one program (three people with places fit in ~150).
MAX_PROGRAM_TOKENS = 200

SEXES: tuple[str, ...] = ("male", "female")
AGE_GROUPS: tuple[str, ...] = ("child", "adult", "elderly")
TIMINGS: tuple[str, ...] = ("while", "then")

# Words that attest a hint, a count or a sequence (whole words of the lower-cased prompt).
_HINT_WORDS: dict[str, frozenset[str]] = {
    "male": frozenset(
        "man men boy boys gentleman gentlemen guy guys grandpa grandfather father dad husband "
        "son he his him".split()
    ),
    "female": frozenset(
        "woman women girl girls lady ladies grandma grandmother mother mom mum wife daughter "
        "she her".split()
    ),
    "child": frozenset(
        "child children kid kids boy boys girl girls toddler toddlers baby little son daughter".split()
    ),
    "adult": frozenset("adult adults grown".split()),
    "elderly": frozenset(
        "elderly old older senior seniors aged grandpa grandma grandfather grandmother".split()
    ),
}
_PERSON_NOUNS = frozenset(
    "person persons people someone somebody man men woman women child children kid kids boy boys "
    "girl girls lady ladies gentleman gentlemen guy guys senior seniors adult adults toddler "
    "toddlers baby grandpa grandma grandfather grandmother father mother dad mom mum husband wife "
    "son daughter".split()
)
_PLURAL_NOUNS = frozenset(
    "people persons men women children kids boys girls ladies gentlemen guys seniors adults "
    "toddlers".split()
)
_COUNT_WORDS = {2: frozenset("two 2 couple pair both".split()), 3: frozenset("three 3".split())}
_SEQUENCE_WORDS = frozenset("then after afterwards later next".split())
_WORD = re.compile(r"[a-z0-9]+")


def _stem(word: str) -> str:
    """A crude English stem: ``-ing``, ``-s`` or ``-ed`` off, then a final ``e`` of a longer word
    ("waving", "waves", "wave" -> "wav"; "lies", "lie" -> "lie")."""
    for suffix, keep in (("ing", 5), ("s", 3), ("ed", 4)):
        if word.endswith(suffix) and len(word) >= keep:
            word = word[: -len(suffix)]
            break
    return word[:-1] if len(word) > 3 and word.endswith("e") else word


def _word_attested(token: str, stems: frozenset[str]) -> bool:
    """A schema word among the prompt's word stems, up to one trailing letter ("sitting" -> "sitt"
    attests "sit")."""
    t = _stem(token)
    return any(w == t or (w.startswith(t) and len(w) == len(t) + 1) for w in stems)


#: First words of activity names that are sides or directions, not the action.
_SIDE_WORDS = frozenset(("left", "right", "both", "side", "front"))


def _activity_attested(name: str, stems: frozenset[str]) -> bool:
    """Every word of the activity's name is in the prompt (``sit_down`` for "sits down"), or its
    first word, the action ("sits on a chair" admits ``sit``, ``sit_down`` and ``sit_to_stand``: which
    one is the model's choice)."""
    tokens = name.split("_")
    if all(_word_attested(t, stems) for t in tokens):
        return True
    return tokens[0] not in _SIDE_WORDS and _word_attested(tokens[0], stems)


def _object_attested(name: str, stems: frozenset[str]) -> bool:
    """Every word of the object's label is in the prompt (``coffee_table``: "coffee" and "table")."""
    return all(_word_attested(t, stems) for t in name.split("_"))


@dataclass(frozen=True)
class PromptVocabulary:
    """The values the grammar of one prompt admits (:func:`prompt_vocabulary`).

    Attributes:
        max_people: most person entries (1 to :data:`sim.dataset.program.MAX_PEOPLE`).
        counts: admitted counts of one entry.
        sexes, age_groups: admitted hints (``null`` is always admitted besides).
        activities: admitted activity names (the whole registry when the prompt names none).
        max_activities: most activities of one person.
        objects: admitted place objects (empty: every place is ``null``).
        timings: admitted timings of the second and third person (the first is ``while``).
    """

    max_people: int
    counts: tuple[int, ...]
    sexes: tuple[str, ...]
    age_groups: tuple[str, ...]
    activities: tuple[str, ...]
    max_activities: int
    objects: tuple[str, ...]
    timings: tuple[str, ...]

    def admits(self, program: SceneProgram) -> bool:
        """Whether the grammar of this vocabulary can write ``program``'s people."""
        people = program.people
        return len(people) <= self.max_people and all(
            p.count in self.counts
            and p.sex in (None, *self.sexes)
            and p.age_group in (None, *self.age_groups)
            and set(p.activities) <= set(self.activities)
            and len(p.activities) <= self.max_activities
            and (p.place is None or p.place.object in self.objects)
            and (p.timing == "while" if k == 0 else p.timing in self.timings)
            for k, p in enumerate(people)
        )

    def admits_one_program(self) -> bool:
        """Whether the grammar leaves the model no choice at all (exactly one program)."""
        return (
            self.max_people == 1
            and len(self.counts) == 1
            and not self.sexes
            and not self.age_groups
            and len(self.activities) == 1
            and not self.objects
        )


#: The schema-wide vocabulary: every value the program schema has.
SCHEMA_VOCABULARY = PromptVocabulary(
    max_people=MAX_PEOPLE,
    counts=(1, 2, 3),
    sexes=SEXES,
    age_groups=AGE_GROUPS,
    activities=tuple(ACTIVITIES),
    max_activities=3,
    objects=PLACE_OBJECTS,
    timings=TIMINGS,
)


def prompt_vocabulary(prompt: str) -> PromptVocabulary:
    """The schema's values that ``prompt`` attests (module docstring): what its grammar admits."""
    words = _WORD.findall(prompt.lower())
    present = frozenset(words)
    stems = frozenset(_stem(w) for w in words)
    hints = {k: bool(present & v) for k, v in _HINT_WORDS.items()}
    plural = bool(present & _PLURAL_NOUNS)
    counts = tuple(n for n in (1, 2, 3) if n == 1 or plural or bool(present & _COUNT_WORDS[n]))
    activities = tuple(a for a in ACTIVITIES if _activity_attested(a, stems)) or tuple(ACTIVITIES)
    nouns = sum(1 for w in words if w in _PERSON_NOUNS)
    return PromptVocabulary(
        max_people=max(1, min(MAX_PEOPLE, nouns)),
        counts=counts,
        sexes=tuple(s for s in SEXES if hints[s]),
        age_groups=tuple(g for g in AGE_GROUPS if hints[g]),
        activities=activities,
        max_activities=min(3, len(activities)),
        objects=tuple(o for o in PLACE_OBJECTS if _object_attested(o, stems)),
        timings=TIMINGS if present & _SEQUENCE_WORDS else ("while",),
    )


def _alt(values: tuple[str, ...] | list[str]) -> str:
    return " | ".join(json.dumps(json.dumps(v)) for v in values)


def _upto(item: str, n: int, sep: str = '","') -> str:
    """GBNF for 1 to ``n`` comma-separated ``item``: ``item ("," item ("," item)?)?``."""
    tail = ""
    for _ in range(n - 1):
        tail = f"({sep} {item} {tail})?" if tail else f"({sep} {item})?"
    return f"{item} {tail}".strip()


def program_grammar(vocabulary: PromptVocabulary | None = None) -> str:
    """The GBNF grammar of a compact scene-program JSON (people only; the room is the prompt).

    Person entries (up to ``max_people``), each with a count, an optional sex and age group, one or
    more activities, an optional place (relation and object) and the timing, the values limited to
    ``vocabulary`` (:func:`prompt_vocabulary`; None: :data:`SCHEMA_VOCABULARY`, every value of the
    schema). Keys come in a fixed order without whitespace, as :func:`compact_program` writes them;
    the first person's timing is ``while``.
    """
    v = vocabulary or SCHEMA_VOCABULARY

    def lit(text: str) -> str:  # a GBNF string literal
        return json.dumps(text)

    def person(timing: str) -> str:
        return " ".join(
            [
                lit('{"count":'),
                "count",
                lit(',"sex":'),
                "sex",
                lit(',"age_group":'),
                "age",
                lit(',"activities":['),
                _upto("act", v.max_activities, lit(",")),
                lit('],"place":'),
                "place",
                lit(',"timing":'),
                timing,
                lit("}"),
            ]
        )

    rules = [
        "root ::= "
        + " ".join(
            [lit('{"people":['), _upto("first", 1), _tail_people(v.max_people, lit(",")), lit("]}")]
        ),
        f"first ::= {person(lit(json.dumps('while')))}",
        f"count ::= {' | '.join(lit(str(n)) for n in v.counts)}",
        " | ".join(['sex ::= "null"', *([_alt(list(v.sexes))] if v.sexes else [])]),
        " | ".join(['age ::= "null"', *([_alt(list(v.age_groups))] if v.age_groups else [])]),
        f"act ::= {_alt(list(v.activities))}",
    ]
    if v.max_people > 1:
        rules.append(f"person ::= {person('timing')}")
        rules.append(f"timing ::= {_alt(list(v.timings))}")
    if v.objects:
        place = " ".join([lit('{"relation":'), "rel", lit(',"object":'), "obj", lit("}")])
        rules += [
            f'place ::= "null" | {place}',
            f"rel ::= {_alt(['on', 'near'])}",
            f"obj ::= {_alt(list(v.objects))}",
        ]
    else:
        rules.append('place ::= "null"')
    return "\n".join(rules)


def _tail_people(max_people: int, sep: str) -> str:
    """The optional second and third person entries after the first."""
    if max_people <= 1:
        return ""
    return _upto("person", max_people - 1, sep).join(("(" + sep + " ", ")?"))


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
    lines = ["Each scene's people as JSON.", ""]
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
        narrow: build the grammar per prompt from the values its words attest
            (:func:`prompt_vocabulary`); False: the schema-wide grammar (every value open).

    Raises:
        RuntimeError: llama-cpp-python or the model is missing (one line saying which).
    """

    def __init__(
        self, gguf: str | Path | None = None, *, n_threads: int = 2, narrow: bool = True
    ) -> None:
        from runtime.llm import BaseModelError, LLMError, base_model_path, import_llama_cpp

        try:
            llama_cpp = import_llama_cpp()
            path = base_model_path(gguf)
        except (LLMError, BaseModelError) as exc:
            raise RuntimeError(str(exc)) from None
        self._llama = llama_cpp.Llama(
            model_path=str(path), n_ctx=1024, n_threads=n_threads, verbose=False, seed=0
        )
        self._llama_cpp = llama_cpp
        self.narrow = narrow
        self._schema_grammar = llama_cpp.LlamaGrammar.from_string(program_grammar(), verbose=False)

    def grammar_text(self, prompt: str) -> str:
        """The GBNF grammar the model decodes ``prompt``'s program under."""
        return program_grammar(prompt_vocabulary(prompt) if self.narrow else None)

    def raw(self, prompt: str) -> str:
        """The grammar-constrained JSON the model writes for ``prompt`` (greedy)."""
        grammar = (
            self._llama_cpp.LlamaGrammar.from_string(self.grammar_text(prompt), verbose=False)
            if self.narrow
            else self._schema_grammar
        )
        out = self._llama.create_completion(
            few_shot_text(prompt),
            max_tokens=MAX_PROGRAM_TOKENS,
            temperature=0.0,
            grammar=grammar,
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
