"""`mmfm models`: list and verify the model artifacts the runtime can load.

    mmfm models list [--json]          # user models ($MMFM_MODELS or ~/.cache/mmfm/models), then shipped
    mmfm models verify                 # every listed model; exit 1 if any is refused
    mmfm models verify clmp-default    # one model by name, or a directory path

A model is refused when its card is malformed, any file's sha256 differs from the card, or the ONNX
files' own provenance does not match the card (``runtime.models`` says exactly what and where).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("models", help="list and verify model artifacts (shipped and user)")
    sub = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="models with name, kind, size, metrics and status")
    ls.add_argument("--json", action="store_true", help="one JSON array")
    ls.set_defaults(func=_list)
    v = sub.add_parser("verify", help="check cards and sha256 of every file; exit 1 if refused")
    v.add_argument("model", nargs="?", help="name or directory (default: every listed model)")
    v.set_defaults(func=_verify)


def _flat_metrics(metrics: dict[str, Any], prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            out.update(_flat_metrics(value, f"{prefix}{key}."))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[f"{prefix}{key}"] = float(value)
    return out


def _metrics_text(metrics: dict[str, Any], limit: int = 4) -> str:
    flat = _flat_metrics(metrics)
    text = ", ".join(f"{k}={v:.3g}" for k, v in list(flat.items())[:limit])
    return text + (f" (+{len(flat) - limit})" if len(flat) > limit else "") if flat else "-"


def _list(args: Any) -> int:
    from runtime.models import list_models, search_dirs

    rows = list_models()
    if args.json:
        out = []
        for r in rows:
            item: dict[str, Any] = {"name": r.name, "origin": r.origin, "path": str(r.path)}
            if r.artifact:
                a = r.artifact
                item |= {
                    "kind": a.kind,
                    "size_bytes": a.size_bytes,
                    "embedding_dim": a.embedding_dim,
                    "label_sets": a.label_sets,
                    "metrics": a.metrics,
                    "ok": True,
                }
            else:
                item |= {"ok": False, "error": r.error}
            out.append(item)
        print(json.dumps(out, indent=2))
        return 0
    if not rows:
        where = ", ".join(f"{origin}: {base}" for origin, base in search_dirs())
        print(f"no models found ({where})")
        return 0
    print(f"{'NAME':<22} {'ORIGIN':<8} {'KIND':<13} {'SIZE':>8}  {'STATUS':<8} METRICS")
    for r in rows:
        if r.artifact:
            a = r.artifact
            size = f"{a.size_bytes / 1e6:.1f} MB"
            print(
                f"{r.name:<22} {r.origin:<8} {a.kind:<13} {size:>8}  {'ok':<8} {_metrics_text(a.metrics)}"
            )
        else:
            print(f"{r.name:<22} {r.origin:<8} {'?':<13} {'-':>8}  {'REFUSED':<8} {r.error}")
    return 0


def _verify(args: Any) -> int:
    from runtime.models import ModelError, list_models, load_model

    if args.model:
        try:
            a = load_model(args.model)
        except ModelError as exc:
            print(f"REFUSED: {exc}", file=sys.stderr)
            return 1
        print(f"ok: {a.name} ({a.origin}, {a.path}): {len(a.card['files'])} files match card.json")
        return 0
    rows = list_models()
    if not rows:
        print("no models found", file=sys.stderr)
        return 1
    refused = 0
    for r in rows:
        if r.artifact:
            print(f"ok: {r.name} ({r.origin}, {r.path})")
        else:
            refused += 1
            print(f"REFUSED: {r.error}", file=sys.stderr)
    return 1 if refused else 0
