"""Held-out QA accuracy of the mm-LLM, by question type, in three input variants.

For each held-out QA pair (rooms and subjects never seen in training), the model answers greedily
(:meth:`MMLLM.generate`, at most ``max_new_tokens``, bfloat16 weights by default) and the answer is scored against the pair's
``key`` (:func:`key_correct`: yes/no = the first word; numbers within a tolerance, written as digits
or words; activities by any of the simulator's phrases; lists need every item; refusals by their
wording). Variants:

- ``radar+context``: soft tokens of the episode's CLMP embedding + the ``"full"`` context;
- ``context``: the same context, no soft tokens (the text-only baseline);
- ``neither``: no soft tokens, no context.

**Radar-only questions** (:data:`training.llm.train.RADAR_TYPES`: activity, presence, counting about
the window) are asked again with the ``"history"`` context (only what was logged *before* the
window), where the answer is in the radar window alone: ``radar+history`` vs ``history`` vs
``neither``; the margin is ``radar+history - history`` [accuracy points].

The pairs are a deterministic, type-stratified subset of the held-out split (``limit`` pairs,
round-robin over types in file order).

How to run (CPU; a trained checkpoint and its data set)::

    python -m training.llm.evaluate --ckpt /tmp/mmllm-ckpt --data /tmp/mmllm-data --limit 11
"""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sim.captions import ACTIVITY_PHRASES
from training.llm.data import LLMData
from training.llm.model import MMLLM
from training.llm.train import RADAR_TYPES, bf16_is_fast

_NUMBER_WORDS = {
    "zero": 0,
    "no": 0,
    "nobody": 0,
    "none": 0,
    "one": 1,
    "just one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
}
_REFUSAL = ("cannot", "can't", "can not", "unable", "not able", "no way", "doesn't", "does not")


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower().replace("-", " ")).strip()


def _numbers(text: str) -> list[float]:
    vals = [float(x) for x in re.findall(r"\d+(?:\.\d+)?", text)]
    words = re.findall(r"[a-z]+", text)
    vals += [float(_NUMBER_WORDS[w]) for w in words if w in _NUMBER_WORDS and w != "no"]
    if words and words[0] in ("no", "nobody", "none"):
        vals.append(0.0)
    return vals


def _activity_said(act: str, text: str) -> bool:
    phrases = ACTIVITY_PHRASES.get(act, (act.replace("_", " "),))
    return any(_norm(p) in text for p in phrases) or _norm(act.replace("_", " ")) in text


def key_correct(qtype: str, key: str, answer: str) -> bool:
    """Whether ``answer`` states the fact ``key`` of a pair of type ``qtype`` (module docstring)."""
    text = _norm(answer)
    key = key.strip().lower()
    if not text:
        return False
    if key in ("yes", "no"):
        return re.findall(r"[a-z]+", text)[:1] == [key]
    if key == "refuse":
        return any(w in text for w in _REFUSAL)
    if key == "unmeasurable":
        return any(w in text for w in _REFUSAL) or "not" in text.split()
    if re.fullmatch(r"\d+(\.\d+)?", key):
        want = float(key)
        tol = {"vitals": 2.0, "duration": 0.35, "location": 0.5}.get(qtype, 0.0)
        return any(abs(v - want) <= tol + 1e-9 for v in _numbers(text))
    if re.fullmatch(r"\d+(\.\d+)?x\d+(\.\d+)?", key):
        nums = _numbers(text)
        return all(any(abs(v - float(k)) <= 0.15 for v in nums) for k in key.split("x"))
    items = [k for k in key.split(",") if k]
    if all(i in ACTIVITY_PHRASES for i in items):
        return all(_activity_said(i, text) for i in items)
    return all(_norm(i.replace("_", " ")) in text for i in items)


def stratified(
    rows: Sequence[dict[str, Any]], limit: int, types: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """Up to ``limit`` rows, round-robin over question types (file order within a type)."""
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if types is None or r["type"] in types:
            by[r["type"]].append(r)
    out: list[dict[str, Any]] = []
    k = 0
    while len(out) < limit and any(k < len(v) for v in by.values()):
        for t in sorted(by):
            if k < len(by[t]) and len(out) < limit:
                out.append(by[t][k])
        k += 1
    return out


VARIANTS = {
    "radar+context": ("full", True),
    "context": ("full", False),
    "neither": (None, False),
}
RADAR_VARIANTS = {
    "radar+history": ("history", True),
    "history": ("history", False),
    "neither": (None, False),
}


def _answer(
    model: MMLLM, data: LLMData, qa: dict[str, Any], mode: str | None, radar: bool, max_new: int
) -> str:
    ep = data.episodes[qa["episode"]]
    ctx = ep["context"][mode] if mode else None
    prompt = model.prompt(qa["question"], context=ctx, radar=radar)
    emb = torch.from_numpy(data.embeddings[qa["episode"]][None]) if radar else None
    if emb is not None:
        emb = emb.to(next(model.projector.parameters()).dtype)
    return model.generate(prompt, emb, max_new_tokens=max_new)


def evaluate(
    model: MMLLM | None,
    data: LLMData,
    *,
    limit: int = 33,
    radar_limit: int | None = None,
    max_new_tokens: int = 12,
    bf16: bool = True,
    progress: Callable[[str], None] | None = None,
    text_only: bool = False,
    answer_fn: Callable[[dict[str, Any], str | None, bool], str] | None = None,
) -> dict[str, Any]:
    """Accuracy by type and variant on ``limit`` held-out pairs, plus the radar-only comparison on
    ``radar_limit`` (default ``limit``) pairs of :data:`RADAR_TYPES`. Returns JSON-able metrics with
    a few example answers. With ``bf16`` the model's weights are cast to bfloat16 first (greedy decoding
    about 2-3x faster on an AVX512-BF16 CPU; autocast would re-cast every weight at every token;
    ignored on a CPU without a bfloat16 unit, :func:`training.llm.train.bf16_is_fast`).
    With ``text_only`` only the variants without radar tokens run (the bare base model's figures).
    ``answer_fn(qa, context mode or None, with radar)`` replaces ``model`` (then None): e.g.
    :func:`export_answerer`, the exported model in llama.cpp."""
    if answer_fn is None:
        if model is None:
            raise ValueError("evaluate() needs a model or an answer_fn")
        model.eval()
        bf16 = bf16 and bf16_is_fast()
        if bf16:
            model.to(torch.bfloat16)
        m = model

        def answer_fn(qa: dict[str, Any], mode: str | None, radar: bool) -> str:
            return _answer(m, data, qa, mode, radar, max_new_tokens)

    held = data.qa["heldout"]
    if not held:
        raise ValueError(f"{data.root}: the held-out split is empty")
    t0 = time.perf_counter()
    results: dict[str, Any] = {"n": 0, "by_type": {}, "overall": {}, "examples": [], "answers": []}
    variants, radar_variants = VARIANTS, RADAR_VARIANTS
    if text_only:
        variants = {k: v for k, v in VARIANTS.items() if not v[1]}
        radar_variants = {k: v for k, v in RADAR_VARIANTS.items() if not v[1]}
    sets = [
        ("all", stratified(held, limit), variants),
        ("radar_only", stratified(held, radar_limit or limit, RADAR_TYPES), radar_variants),
    ]
    answers: dict[tuple[str, str | None, bool], str] = {}  # ("neither" is shared by both sets)
    for name, rows, variants in sets:
        hits: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
        for i, qa in enumerate(rows):
            for v, (mode, radar) in variants.items():
                key = (qa["id"], mode, radar)
                if key not in answers:
                    answers[key] = answer_fn(qa, mode, radar)
                ans = answers[key]
                ok = key_correct(qa["type"], qa["key"], ans)
                hits[v][qa["type"]].append(ok)
                results["answers"].append(
                    {
                        "set": name,
                        "variant": v,
                        "id": qa["id"],
                        "type": qa["type"],
                        "key": qa["key"],
                        "answer": ans,
                        "correct": ok,
                    }
                )
                if len(results["examples"]) < 40 and (i % 3 == 0):
                    results["examples"].append(
                        {
                            "set": name,
                            "variant": v,
                            "question": qa["question"],
                            "key": qa["key"],
                            "answer": ans,
                            "correct": ok,
                        }
                    )
            if progress:
                progress(f"{name} {i + 1}/{len(rows)}")
        block = {
            v: {
                "accuracy": float(np.mean([x for xs in by.values() for x in xs])),
                "by_type": {t: float(np.mean(xs)) for t, xs in sorted(by.items())},
                "n": sum(len(xs) for xs in by.values()),
            }
            for v, by in hits.items()
        }
        results[name] = block
    r = results["radar_only"]
    if "radar+history" in r:
        results["radar_only_margin_points"] = round(
            100 * (r["radar+history"]["accuracy"] - r["history"]["accuracy"]), 1
        )
    results["overall"] = {v: round(b["accuracy"], 4) for v, b in results["all"].items()}
    results["n"] = len(sets[0][1])
    results["n_radar_only"] = len(sets[1][1])
    results["max_new_tokens"] = max_new_tokens
    results["seconds"] = round(time.perf_counter() - t0, 1)
    results["generations"] = len(answers)
    results["dtype"] = "bfloat16" if bf16 else "float32"
    if model is None:
        results["dtype"] = "llama.cpp (the exported GGUF + adapter, projector ONNX)"
    del results["by_type"]
    return results


def export_answerer(
    data: LLMData, model_dir: str | Path | None, *, max_new_tokens: int = 12, threads: int = 2
) -> Callable[[dict[str, Any], str | None, bool], str]:
    """An ``answer_fn`` for :func:`evaluate` running an exported model (``mmfm export llm``) the way
    the hub does: :class:`runtime.llm.answer.Answerer` (projector ONNX, base GGUF + LoRA adapter in
    llama.cpp, greedy); ``model_dir=None``: the bare base model (the daemon's fallback: text
    context only, first line of its answer)."""
    from runtime.llm.answer import Answerer, _first_line
    from runtime.llm.chat import chat_segments
    from runtime.llm.engine import SamplingSettings

    ans = Answerer(model_dir, n_threads=threads)
    settings = SamplingSettings(max_tokens=max_new_tokens)

    def answer_fn(qa: dict[str, Any], mode: str | None, radar: bool) -> str:
        ep = data.episodes[qa["episode"]]
        ctx = ep["context"][mode] if mode else None
        soft = ans.soft_tokens(data.embeddings[qa["episode"]]) if radar else None
        segs = chat_segments(
            qa["question"], soft_tokens=soft, context=ctx, instruction=ans.instruction
        )
        stream = ans.engine.generate(segs, settings)
        return "".join(_first_line(stream) if ans.one_line else stream).strip()

    return answer_fn


def evaluate_checkpoint(
    model: MMLLM, data_dir: str | Path, out: str | Path, *, limit: int, **kwargs: Any
) -> dict[str, Any]:
    """:func:`evaluate` and write the figures into ``out/card.json["metrics"]`` and
    ``out/eval.json``."""
    data = LLMData(data_dir)
    kwargs.setdefault("progress", lambda s: print(s, flush=True))
    metrics = evaluate(model, data, limit=limit, **kwargs)
    out = Path(out)
    (out / "eval.json").write_text(json.dumps(metrics, indent=1, sort_keys=True) + "\n")
    card_path = out / "card.json"
    card = json.loads(card_path.read_text())
    card["metrics"] = {k: v for k, v in metrics.items() if k not in ("examples", "answers")}
    card_path.write_text(json.dumps(card, indent=1, sort_keys=True) + "\n")
    return metrics


def main(argv: list[str] | None = None) -> int:
    """``python -m training.llm.evaluate --ckpt DIR --data DIR [--limit N]``."""
    import argparse

    from runtime.llm.base_model import base_model_path
    from training.llm.train import TrainConfig, build_model

    ap = argparse.ArgumentParser(prog="python -m training.llm.evaluate")
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--limit", type=int, default=33)
    ap.add_argument("--radar-limit", type=int, default=None)
    ap.add_argument("--max-new-tokens", type=int, default=12)
    ap.add_argument("--fp32", action="store_true", help="decode with float32 weights")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--export",
        default=None,
        metavar="DIR",
        help="score an exported model directory (mmfm export llm) in llama.cpp instead of the "
        "checkpoint, or 'base' for the bare base GGUF with text only (the daemon's fallback); "
        "figures go to CKPT/eval-gguf.json or CKPT/eval-gguf-base.json",
    )
    ap.add_argument(
        "--base",
        action="store_true",
        help="score the bare base model (no projector, no LoRA) without radar tokens; --ckpt is "
        "then where eval-base.json goes",
    )
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.export:
        data = LLMData(args.data)
        base = args.export == "base"
        fn = export_answerer(
            data,
            None if base else args.export,
            max_new_tokens=args.max_new_tokens,
            threads=args.threads,
        )
        m = evaluate(
            None,
            data,
            limit=args.limit,
            radar_limit=args.radar_limit,
            max_new_tokens=args.max_new_tokens,
            progress=lambda s: print(s, flush=True),
            text_only=base,
            answer_fn=fn,
        )
        out = Path(args.ckpt)
        out.mkdir(parents=True, exist_ok=True)
        name = "eval-gguf-base.json" if base else "eval-gguf.json"
        (out / name).write_text(json.dumps(m, indent=1, sort_keys=True) + "\n")
        print(
            json.dumps({k: v for k, v in m.items() if k not in ("examples", "answers")}, indent=1)
        )
        return 0
    if args.base:
        model = build_model(base_model_path(), TrainConfig(lora=False))
        m = evaluate(
            model,
            LLMData(args.data),
            limit=args.limit,
            radar_limit=args.radar_limit,
            max_new_tokens=args.max_new_tokens,
            bf16=not args.fp32,
            progress=lambda s: print(s, flush=True),
            text_only=True,
        )
        out = Path(args.ckpt)
        out.mkdir(parents=True, exist_ok=True)
        (out / "eval-base.json").write_text(json.dumps(m, indent=1, sort_keys=True) + "\n")
        print(
            json.dumps({k: v for k, v in m.items() if k not in ("examples", "answers")}, indent=1)
        )
        return 0
    card = json.loads((Path(args.ckpt) / "card.json").read_text())
    cfg = TrainConfig(**card["training"]["config"])
    model = build_model(base_model_path(), cfg, resume=Path(args.ckpt))
    m = evaluate_checkpoint(
        model,
        args.data,
        args.ckpt,
        limit=args.limit,
        radar_limit=args.radar_limit,
        max_new_tokens=args.max_new_tokens,
        bf16=not args.fp32,
    )
    print(json.dumps({k: v for k, v in m.items() if k not in ("examples", "answers")}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
