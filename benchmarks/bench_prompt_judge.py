"""The two scene-prompt judges side by side: how often the LLM's program agrees with the rule
parser's, and what one LLM program costs.

How to run (from the repository root)::

    .venv/bin/python benchmarks/bench_prompt_judge.py                  # the 10 prompts, 2 threads
    .venv/bin/python benchmarks/bench_prompt_judge.py --limit 2        # quick
    .venv/bin/python benchmarks/bench_prompt_judge.py --grammar schema # every schema value open

For each prompt it prints both programs (compact JSON), whether they agree on the people (counts,
hints, activities, places, timings: :func:`sim.dataset.llm_judge.same_people`), whether the prompt's
grammar left the model any choice (``forced`` when it admits exactly one program, so agreement there
says nothing about the model), and the LLM's wall time; then the agreement rate, the agreement on
the prompts where the model had a choice, and the median time. The prompts are phrased the way the
rule parser reads, so the rule parser's program is the reference here; the LLM judge is for phrasings
outside it, where only a person can judge. The few-shot examples
(:data:`sim.dataset.llm_judge.EXAMPLES`) must differ from these prompts. Uses the mm-LLM's base
model (Gemma 3 270M, Q4_K_M, not instruction-tuned) through llama.cpp with the program grammar:
``--grammar prompt`` (default) narrows it to the values each prompt attests
(:func:`sim.dataset.llm_judge.prompt_vocabulary`), ``schema`` leaves every value open.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from sim.dataset.llm_judge import (
    EXAMPLES,
    LLMJudge,
    compact_program,
    prompt_vocabulary,
    same_people,
)
from sim.dataset.people_prompt import parse_scene_program

PROMPTS = (
    "an elderly man falls in the kitchen while a woman sits on a chair",
    "a person walking in the office",
    "a child jumping in the living room",
    "a woman doing squats then boxing",
    "two people walking in the hallway",
    "a man lies down on the bed",
    "a woman waving near the window",
    "an old man sits down on the sofa then a girl walks",
    "a person cooking near the stove",
    "someone doing jumping jacks in the bedroom",
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=len(PROMPTS), help="first N prompts")
    ap.add_argument("--threads", type=int, default=2, help="llama.cpp threads (default 2)")
    ap.add_argument(
        "--grammar",
        choices=("prompt", "schema"),
        default="prompt",
        help="prompt: values the prompt attests (default); schema: every schema value",
    )
    args = ap.parse_args()
    overlap = set(PROMPTS) & set(EXAMPLES)
    if overlap:
        raise SystemExit(f"few-shot examples repeat benchmark prompts: {sorted(overlap)}")
    t0 = time.perf_counter()
    judge = LLMJudge(n_threads=args.threads, narrow=args.grammar == "prompt")
    print(
        f"load {time.perf_counter() - t0:.1f} s; load average {os.getloadavg()[0]:.1f}", flush=True
    )
    agree, times, free, free_agree = 0, [], 0, 0
    prompts = PROMPTS[: args.limit]
    for prompt in prompts:
        rules = parse_scene_program(prompt)
        forced = args.grammar == "prompt" and prompt_vocabulary(prompt).admits_one_program()
        t = time.perf_counter()
        llm = judge.program(prompt)
        times.append(time.perf_counter() - t)
        same = same_people(llm, rules)
        agree += same
        if not forced:
            free += 1
            free_agree += same
        what = "forced: the grammar admits one program" if forced else "model's choice"
        print(f"\n{prompt!r}: {'agree' if same else 'DISAGREE'} ({what}), LLM {times[-1]:.1f} s")
        print(f"  rules: {compact_program(rules)}")
        print(f"  llm:   {compact_program(llm)}", flush=True)
    print(
        f"\nagreement {agree}/{len(prompts)} ({100 * agree / len(prompts):.0f} %), "
        f"{free_agree}/{free} where the grammar left a choice; grammar {args.grammar}; LLM program "
        f"median {statistics.median(times):.1f} s ({args.threads} threads; load average "
        f"{os.getloadavg()[0]:.1f})"
    )


if __name__ == "__main__":
    main()
