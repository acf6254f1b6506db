"""The two scene-prompt judges side by side: how often the LLM's program agrees with the rule
parser's, and what one LLM program costs.

How to run (from the repository root)::

    .venv/bin/python benchmarks/bench_prompt_judge.py               # the 10 prompts below, 2 threads
    .venv/bin/python benchmarks/bench_prompt_judge.py --limit 2     # quick

For each prompt it prints both programs (compact JSON), whether they agree on the people (counts,
hints, activities, places, timings: :func:`sim.dataset.llm_judge.same_people`), and the LLM's wall
time; then the agreement rate and the median time. The prompts are phrased the way the rule parser
reads, so the rule parser's program is the reference here; the LLM judge is for phrasings outside it,
where only a person can judge. Uses the mm-LLM's base model (Gemma 3 270M, Q4_K_M, not
instruction-tuned) through llama.cpp with the program grammar.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from sim.dataset.llm_judge import LLMJudge, compact_program, same_people
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
    args = ap.parse_args()
    t0 = time.perf_counter()
    judge = LLMJudge(n_threads=args.threads)
    print(f"load {time.perf_counter() - t0:.1f} s; load average {os.getloadavg()[0]:.1f}")
    agree, times = 0, []
    prompts = PROMPTS[: args.limit]
    for prompt in prompts:
        rules = parse_scene_program(prompt)
        t = time.perf_counter()
        llm = judge.program(prompt)
        times.append(time.perf_counter() - t)
        same = same_people(llm, rules)
        agree += same
        print(f"\n{prompt!r}: {'agree' if same else 'DISAGREE'}, LLM {times[-1]:.1f} s")
        print(f"  rules: {compact_program(rules)}")
        print(f"  llm:   {compact_program(llm)}")
    print(
        f"\nagreement {agree}/{len(prompts)} ({100 * agree / len(prompts):.0f} %); LLM program median "
        f"{statistics.median(times):.1f} s ({args.threads} threads; load average "
        f"{os.getloadavg()[0]:.1f})"
    )


if __name__ == "__main__":
    main()
