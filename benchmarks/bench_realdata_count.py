"""People count of the daemon on the real RadHAR recordings (one person each): share of time right.

Every recording of ``../shared/realdata/radhar-fewshot/<class>/*.txt`` (IWR1443BOOST out-of-box demo
point clouds, one person doing boxing, jumping jacks, jumps, squats or walking) is replayed through the
daemon's own radar path, configured as a user would (``mmfm run`` YAML: replay source with the
recorded stamps, board IWR1443BOOST, ``chirp_config: iwr1443boost_radhar``, mounting 1.0 m, default
event settings):

- ``--mode direct`` (default): the :class:`runtime.pipeline.RadarPipeline` is built from that config
  (so its event engine is built exactly as the daemon builds it) and every frame of the replay source
  (``make_source``, non-paced) goes through ``pipeline.engine.update_points`` in this thread: every
  frame is processed, none dropped, in a fraction of the recording's duration.
- ``--mode paced``: the pipeline's three threads run as in ``mmfm run``, the replay paced at
  ``--speed`` times the recorded spacing (the issue's measurement: 3x); the count comes from the
  ``count`` events handed to ``on_events``. Frames dropped by the bounded queues are reported.

The published ``count`` (median-filtered, settled) is integrated over the recording's time after a
``--settle-s`` settle (default 3 s from the first frame) up to the last frame: the share of time with
count == 1 (right), 0 (missed) and 2+ (a ghost). Printed per recording and per class (the class figure
integrates both recordings), side by side for the code in this checkout ("after") and the reference
code in ``--reference-root`` ("before", default ``/work/main``; run in a child process with that
checkout first on ``sys.path``; ``--reference-root ''`` skips it). Target (issue 10): count == 1 for
>= 90 % of the time in every class.

Run (from the repository root)::

    .venv/bin/python benchmarks/bench_realdata_count.py                       # direct, vs /work/main
    .venv/bin/python benchmarks/bench_realdata_count.py --mode paced --speed 3
    .venv/bin/python benchmarks/bench_realdata_count.py --reference-root ''   # this checkout only
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CLASSES = ("boxing", "jack", "jump", "squats", "walk")
TARGET = 0.90
#: the checkout whose ``runtime`` is measured: this one, or the reference's in the child process
CODE_ROOT = Path(os.environ.get("MMFM_BENCH_CODE_ROOT") or REPO)
sys.path.insert(0, str(CODE_ROOT))

_CONFIG = """\
radars:
  radhar:
    board: IWR1443BOOST
    chirp_config: iwr1443boost_radhar
    mounting: {{height_m: 1.0}}
    source:
      type: replay
      path: {path}
      realtime: {realtime}
      speed: {speed}
      timestamps: recorded
"""


def count_shares(
    changes: list[tuple[float, int]], t_start: float, t_end: float
) -> dict[str, float]:
    """Share of ``[t_start, t_end]`` with the count at 0, 1 and 2+.

    Args:
        changes: ``(time [s], new count)`` in time order (the ``count`` events; 0 before the first).
        t_start: start of the integration [s].
        t_end: its end [s].

    Returns:
        ``{"0": share, "1": share, "2+": share, "seconds": t_end - t_start}``.
    """
    acc = {"0": 0.0, "1": 0.0, "2+": 0.0}
    value, t_prev = 0, t_start
    for t, n in [*changes, (t_end, None)]:
        if t > t_start:
            span = min(t, t_end) - t_prev
            if span > 0:
                acc["0" if value == 0 else "1" if value == 1 else "2+"] += span
            t_prev = max(t_prev, min(t, t_end))
        if n is not None:
            value = n
    total = max(t_end - t_start, 1e-9)
    return {**{k: v / total for k, v in acc.items()}, "seconds": t_end - t_start}


def _replay_one(path: Path, mode: str, speed: float, settle_s: float) -> dict[str, object]:
    """One recording through the daemon's radar path -> count shares (see the module docstring)."""
    from runtime.config import parse_config
    from runtime.pipeline import RadarPipeline, make_source
    from runtime.sources.radhar import read_radhar

    stamps = [f.timestamp for f in read_radhar(path)]
    t_start, t_end = stamps[0] + settle_s, stamps[-1]
    text = _CONFIG.format(
        path=json.dumps(str(path)), realtime=str(mode == "paced").lower(), speed=speed
    )
    cfg = parse_config(text, source="bench_realdata_count.yaml")
    settings = cfg.radars["radhar"]
    changes: list[tuple[float, int]] = []
    lock = threading.Lock()

    def on_events(_rid: str, events: list) -> None:
        with lock:
            changes.extend((e.time, int(e.value)) for e in events if e.type == "count")

    pipe = RadarPipeline(
        "radhar",
        settings,
        watchdog=cfg.watchdog,
        on_events=on_events,
        on_available=lambda _rid, _online: None,
    )
    extra: dict[str, object] = {}
    t0 = time.perf_counter()
    if mode == "direct":
        source, _ = make_source("radhar", settings)()
        n = 0
        for frame in source.frames():
            on_events("radhar", pipe.engine.update_points(frame))
            n += 1
        extra = {"frames": n, "processed": n, "dropped": 0}
    else:
        pipe.start()
        while pipe.alive:
            time.sleep(0.05)
        time.sleep(0.5)  # let the DSP and engine threads drain their queues
        pipe.stop()
        c = pipe.counters
        extra = {
            "frames": c["frames"],
            "processed": c["frames_processed"],
            "dropped": c["dropped_capture_queue"] + c["dropped_detections_queue"],
        }
    extra["wall_s"] = time.perf_counter() - t0
    changes.sort()
    return {**count_shares(changes, t_start, t_end), **extra}


def measure(root: Path, mode: str, speed: float, settle_s: float) -> dict[str, dict]:
    """Every recording under ``root/<class>/*.txt`` -> ``{"class/file": shares}``."""
    out: dict[str, dict] = {}
    for cls in CLASSES:
        for path in sorted((root / cls).glob("*.txt")):
            out[f"{cls}/{path.name}"] = _replay_one(path, mode, speed, settle_s)
    return out


def _reference(args: argparse.Namespace) -> dict[str, dict] | None:
    if not args.reference_root:
        return None
    env = {**os.environ, "MMFM_BENCH_CODE_ROOT": str(Path(args.reference_root).resolve())}
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--json",
        "--root",
        str(args.root),
        "--mode",
        args.mode,
        "--speed",
        str(args.speed),
        "--settle-s",
        str(args.settle_s),
        "--reference-root",
        "",
    ]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(f"reference run in {args.reference_root} failed:\n{done.stderr.strip()[-2000:]}")
        return None
    return json.loads(done.stdout)


def _per_class(rows: dict[str, dict]) -> dict[str, dict[str, float]]:
    out = {}
    for cls in CLASSES:
        mine = [r for k, r in rows.items() if k.split("/")[0] == cls]
        secs = sum(r["seconds"] for r in mine)
        if secs <= 0:
            continue
        out[cls] = {k: sum(r[k] * r["seconds"] for r in mine) / secs for k in ("0", "1", "2+")}
    return out


def _fmt(r: dict | None) -> str:
    if r is None:
        return f"{'-':>6} {'-':>6} {'-':>6}"
    return f"{100 * r['1']:6.1f} {100 * r['0']:6.1f} {100 * r['2+']:6.1f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=REPO.parent / "shared/realdata/radhar-fewshot")
    ap.add_argument("--mode", choices=("direct", "paced"), default="direct")
    ap.add_argument("--speed", type=float, default=3.0, help="pacing factor in --mode paced")
    ap.add_argument("--settle-s", type=float, default=3.0)
    ap.add_argument("--reference-root", default="/work/main", help="'' = no reference run")
    ap.add_argument("--json", action="store_true", help="print this checkout's rows as JSON only")
    args = ap.parse_args()
    if not args.root.is_dir():
        print(f"{args.root}: no RadHAR recordings there (see ../shared/realdata/README.md)")
        return 2
    rows = measure(args.root, args.mode, args.speed, args.settle_s)
    if args.json:
        print(json.dumps(rows))
        return 0
    ref = _reference(args)
    print(
        f"count on radhar-fewshot ({args.mode}"
        + (f", {args.speed:g}x" if args.mode == "paced" else "")
        + f", after a {args.settle_s:g} s settle): % of time with count 1 / 0 / 2+"
    )
    print(f"  before = {args.reference_root or '(none)'}, after = {CODE_ROOT}")
    head = f"{'':34} {'before: =1':>10} {'=0':>6} {'2+':>6}   {'after: =1':>9} {'=0':>6} {'2+':>6}"
    print(head)
    for key, r in rows.items():
        old = ref.get(key) if ref else None
        drop = f"  dropped {r['dropped']}" if r.get("dropped") else ""
        print(f"  {key:32} {_fmt(old)}   {_fmt(r)}{drop}")
    print("per class:")
    cls_new, cls_old = _per_class(rows), _per_class(ref) if ref else {}
    for cls, r in cls_new.items():
        ok = "ok" if r["1"] >= TARGET else "BELOW TARGET"
        print(f"  {cls:32} {_fmt(cls_old.get(cls))}   {_fmt(r)}  {ok}")
    worst_new = min(r["1"] for r in cls_new.values())
    line = f"worst class: after {100 * worst_new:.1f} %"
    if cls_old:
        line += f", before {100 * min(r['1'] for r in cls_old.values()):.1f} %"
    print(line + f" (target >= {100 * TARGET:.0f} % in every class)")
    wall = sum(r["wall_s"] for r in rows.values())
    print(f"wall time (this checkout): {wall:.1f} s on a shared machine")
    return 0


if __name__ == "__main__":
    sys.exit(main())
