"""Example dialogues of an exported mm-LLM, good and bad, as Markdown (for model cards and reviews).

Two sources, both answered the way the hub answers (:class:`runtime.llm.answer.Answerer`: projector
ONNX + base GGUF + LoRA adapter in llama.cpp, greedy):

- **simulated** held-out episodes of a :func:`training.llm.data.build_data` set (rooms and subjects
  never trained on): a type-stratified pick of QA pairs, each asked with the radar tokens and the
  ``"history"`` context (radar-only types: the answer is only in the radar window) or the ``"full"``
  context (the others), beside the truth's key and whether the answer states it;
- **real** captures (RadHAR dumps...): ``mmfm ask QUESTION --capture PATH`` (the command is printed
  with its answer; the RadHAR folder name is the activity the subject performed).

How to run (CPU, about a minute per dozen answers on a quiet core)::

    python -m training.llm.dialogues --model models/mmllm-default --data /tmp/mmllm-data \\
        --capture ../shared/realdata/radhar-fewshot/walk/__20_walk_1.txt --out dialogues.md
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from training.llm.data import LLMData
from training.llm.evaluate import key_correct, stratified
from training.llm.train import RADAR_TYPES

#: Questions asked of every real capture.
REAL_QUESTIONS = ("What is the person doing?", "How many people are there?")


def sim_dialogues(
    model_dir: str | Path, data: LLMData, *, num: int = 8, threads: int = 2
) -> list[dict[str, Any]]:
    """``num`` held-out QA pairs answered with the radar tokens (module docstring)."""
    from runtime.llm.answer import Answerer
    from runtime.llm.chat import chat_segments
    from runtime.llm.engine import SamplingSettings

    rows = stratified(data.qa["heldout"], num)
    out = []
    with Answerer(model_dir, n_threads=threads) as ans:
        for qa in rows:
            mode = "history" if qa["type"] in RADAR_TYPES else "full"
            ep = data.episodes[qa["episode"]]
            soft = ans.soft_tokens(data.embeddings[qa["episode"]])
            segs = chat_segments(
                qa["question"],
                soft_tokens=soft,
                context=ep["context"][mode],
                instruction=ans.instruction,
            )
            text = ans.engine.answer(segs, SamplingSettings(max_tokens=40)).strip()
            out.append(
                {
                    "episode": ep["id"],
                    "type": qa["type"],
                    "context_mode": mode,
                    "context": ep["context"][mode],
                    "question": qa["question"],
                    "reference": qa["answer"],
                    "key": qa["key"],
                    "answer": text,
                    "correct": key_correct(qa["type"], qa["key"], text),
                }
            )
    return out


def real_dialogues(
    model_dir: str | Path, captures: list[str], questions: tuple[str, ...] = REAL_QUESTIONS
) -> list[dict[str, Any]]:
    """``mmfm ask`` on each capture (one subprocess per question, as a user would run it)."""
    out = []
    for cap in captures:
        for q in questions:
            cmd = [
                sys.executable,
                "-m",
                "mmfm",
                "ask",
                q,
                "--capture",
                cap,
                "--model",
                str(model_dir),
            ]
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
            shown = ["mmfm", "ask", q, "--capture", cap, "--model", str(model_dir)]
            out.append(
                {
                    "command": " ".join(shlex.quote(a) for a in shown),
                    "capture": cap,
                    "question": q,
                    "answer": (res.stdout.strip().splitlines() or [""])[-1]
                    if res.returncode == 0
                    else f"(exit {res.returncode}) {res.stderr.strip()[-300:]}",
                }
            )
    return out


def markdown(sim: list[dict[str, Any]], real: list[dict[str, Any]], header: str) -> str:
    lines = [header, ""]
    if sim:
        lines += ["## Simulated held-out episodes (radar tokens + context)", ""]
        for d in sim:
            mark = "good" if d["correct"] else "bad"
            lines += [
                f"### {d['type']} ({mark}; episode {d['episode']}, {d['context_mode']} context)",
                "",
                "```",
                f"Context: {d['context']}",
                f"Q: {d['question']}",
                f"A (model): {d['answer']}",
                f"A (reference): {d['reference']}   [key {d['key']}]",
                "```",
                "",
            ]
    if real:
        lines += ["## Real RadHAR captures (`mmfm ask`)", ""]
        for d in real:
            lines += [
                f"- `{d['command']}`",
                f"  - subject's activity (folder): {Path(d['capture']).parent.name}",
                f"  - answer: {d['answer']}",
            ]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m training.llm.dialogues --model DIR --data DIR [--capture PATH ...] --out FILE``."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m training.llm.dialogues")
    ap.add_argument("--model", required=True, help="exported mm-LLM directory or name")
    ap.add_argument("--data", default=None, help="mm-LLM data set (simulated held-out episodes)")
    ap.add_argument("--num", type=int, default=8, help="simulated dialogues (default 8)")
    ap.add_argument("--capture", action="append", default=[], help="real capture (repeatable)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", required=True, help="Markdown file to write")
    args = ap.parse_args(argv)
    sim = (
        sim_dialogues(args.model, LLMData(args.data), num=args.num, threads=args.threads)
        if (args.data)
        else []
    )
    real = real_dialogues(args.model, args.capture)
    cmd = "python -m training.llm.dialogues " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    text = markdown(sim, real, f"# mm-LLM example dialogues\n\nMade by `{cmd}`.")
    Path(args.out).write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
