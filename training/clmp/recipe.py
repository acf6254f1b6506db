"""Reproduce a CLMP point model from a fresh clone: deterministic kinematic windows, training, figures.

How to run (CPU, from the repository root, with the project's virtualenv)::

    # clmp-points-v2 (models/clmp-points-v2). Measured on the shared 2-core box (load 8-13): windows
    # 840 samples at ~1.3 s of CPU each (21 min wall in three --step processes), training 14 epochs
    # of 33 steps at 26-196 s per epoch (30 min). --step train-radhar|train-home|heldout writes one
    # window file, so several processes can share the generation; the full command reuses them.
    OMP_NUM_THREADS=1 python -m training.clmp.recipe --recipe clmp-points-v2 --out /tmp/clmp-points-v2
    mmfm export onnx --model /tmp/clmp-points-v2/ckpt --out models/clmp-points-v2
    python -m training.clmp.recipe --recipe clmp-points-v2 --out /tmp/clmp-points-v2 \
        --ship models/clmp-points-v2 --real ../shared/realdata/radhar-fewshot   # checkpoint + figures
    # tiny CPU smoke run (about a minute; tests/test_clmp_recipe.py runs it)
    python -m training.clmp.recipe --recipe smoke --out /tmp/clmp-smoke

Nothing outside the repository is read: the training windows come from the simulator's scenarios
(rooms, radar mountings, subjects, activity timelines, body meshes) through the kinematic detector
model (:mod:`training.clmp.kinematic`), sample ``k`` of a setup being ``sample_scenario(seed, k)``, so
the same recipe gives the same windows on every machine. Steps, each reused when rerun (a step's file
records the recipe that made it and is rebuilt when the recipe changed; training resumes per epoch):

1. training windows per setup -> ``OUT/train-<setup>.npz``: ``radhar`` (tripod at 1 m, one person
   1.3-2.1 m ahead, RadHAR's radar profile, the 32 activities placeable there, RadHAR's five
   weighted x2) and ``home`` (generated rooms,
   wall-mounted random radar profiles, 1-3 people, the 20 activities of
   ``sim.dataset.scenario.ACTIVITY_WEIGHTS``; windows with several people are skipped);
2. held-out windows -> ``OUT/heldout-home.npz``: the ``home`` setup with another seed, so no room or
   subject of it is seen in training;
3. training (:func:`training.clmp.train.train_on`, the loop of ``mmfm train clmp``) -> ``OUT/ckpt``,
   the held-out windows as its per-epoch check;
4. held-out figures -> ``OUT/ckpt/heldout.json``: zero-shot accuracy over every activity present and
   radar->text / text->radar R@1/R@5 in a pool of ``heldout_pool`` windows (the functions behind
   ``mmfm eval zeroshot|retrieval --data OUT/heldout-home.npz``).

Windows are bit-identical across runs (tests/test_clmp_recipe.py checks it); the weights are exactly
reproducible only with the code of the commit the card records (``source``): a later training loop
or simulator draws differently (e.g. the DDP loop merged after clmp-points-v2 was trained) and gives
close, not identical, figures.

Real recordings are never read here: they are the test (``mmfm eval zeroshot --format radhar``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from sim.dataset.scenario import ACTIVITY_WEIGHTS
from training.clmp.data import WindowSet, load_saved_windows, save_windows
from training.clmp.factory import build_model
from training.clmp.kinematic import DEFAULT_WEIGHTS, ROOM_MODEL, kinematic_windows


@dataclass(frozen=True)
class Recipe:
    """One reproducible run. Sample counts are kinematic samples of ``sample_s`` seconds each."""

    name: str
    model: str
    radhar_samples: int
    home_samples: int
    heldout_samples: int
    epochs: int
    batch_size: int
    lr: float = 2e-3
    sample_s: float = 4.0
    stride_s: float = 0.25  # window stride inside a sample [s]
    frame_step: int = 2  # every 2nd radar frame (training.clmp.kinematic.kinematic_sample)
    seed: int = 7  # radhar training seed; home training seed + 4; held-out seed + 1000
    augment_preset: str = "ti_static"
    heldout_pool: int = 1000
    threads: int = 1
    detector: str = "cells"  # training.clmp.kinematic.DETECTORS ("ti_room": the demo in a room)
    init: str | None = None  # checkpoint the training starts from (repository-relative), or none

    def window_digest(self) -> str:
        """Short hash of what shapes each sample's windows (:meth:`digest` without the counts)."""
        spec = {k: getattr(self, k) for k in ("sample_s", "stride_s", "seed", "frame_step")}
        spec["contract"] = build_model(self.model).input_contract
        spec["detector"] = self.detector
        if self.detector != "cells":
            spec["room_model"] = asdict(ROOM_MODEL)
        return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]

    def digest(self) -> str:
        """Short hash of everything that shapes the windows (the input contract, not the model)."""
        keys = ("radhar_samples", "home_samples", "heldout_samples", "sample_s", "stride_s")
        keys += ("seed", "frame_step")
        spec = {k: getattr(self, k) for k in keys}
        if self.detector != "cells":  # (v2's digests stay as they were)
            spec["detector"] = self.detector
            spec["room_model"] = asdict(ROOM_MODEL)
        spec["contract"] = build_model(self.model).input_contract
        return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


#: The v2 recipe; its ablations and experiments change one thing each.
_V2 = Recipe(
    name="clmp-points-v2",
    model="clmp_points_v2",
    radhar_samples=300,
    home_samples=300,
    heldout_samples=240,
    epochs=14,
    batch_size=128,
)

#: session 4, first candidate (clmp-points-v3-s): the demo's detection chain in the sampled room
#: (kinematic detector "ti_room": static clutter, TX->RX leakage, CFAR along range, peak grouping,
#: the demo's elevation) at the recordings' 30 frames/s, instead of adding those effects as
#: augmentation; fine-tuned from clmp-points-v2 on few samples (the synthesised cube costs ~4x the
#: cell detector per sample; session 4 had ~1 hour of a shared 2-core box)
_V3S = replace(
    _V2,
    name="clmp-points-v3-s",
    detector="ti_room",
    frame_step=1,
    augment_preset="room",
    radhar_samples=40,
    home_samples=30,
    heldout_samples=30,
    epochs=20,
    lr=1e-3,
    init="models/clmp-points-v2/checkpoint",
)

RECIPES: dict[str, Recipe] = {
    "clmp-points-v2": _V2,
    # ablation: the same, with an encoder blind to velocity (channel_scale v = 0)
    "clmp-points-v2-novel": replace(_V2, name="clmp-points-v2-novel", model="clmp_points_v2_novel"),
    # ablation: the same, with the first models' augmentation (no TI-demo effects)
    "clmp-points-v2-defaug": replace(_V2, name="clmp-points-v2-defaug", augment_preset="default"),
    # experiment: half the windows augmented as clutter-removed radars, half as raw TI demo points
    "clmp-points-v2-mixed": replace(_V2, name="clmp-points-v2-mixed", augment_preset="mixed"),
    # session 4: the same with twice the training samples and 8 epochs
    "clmp-points-v3": replace(
        _V3S,
        name="clmp-points-v3",
        radhar_samples=80,
        home_samples=60,
        epochs=8,
    ),
    "clmp-points-v3-s": _V3S,
    "smoke": Recipe(
        name="smoke",
        model="clmp_points_tiny",
        radhar_samples=4,
        home_samples=4,
        heldout_samples=3,
        epochs=2,
        batch_size=16,
        stride_s=1.0,
        frame_step=3,
        heldout_pool=50,
    ),
}


def _windows(
    path: Path,
    recipe: Recipe,
    setup: str,
    seed: int,
    num: int,
    log: Any,
) -> WindowSet | None:
    """Generate (or reuse) ``num`` kinematic samples of ``setup`` as windows in ``path``.

    Samples are made in chunks of :data:`CHUNK` cached under ``path.with_suffix(".chunks")`` (the
    windows of sample ``k`` do not depend on ``num``, so a recipe with more samples reuses them; a
    chunk being made by another process is marked by a ``.lock`` file and skipped: several
    ``--step`` processes can share one file's chunks). None when some chunk is still being made
    elsewhere (run the step again once those processes have finished).
    """
    contract = build_model(recipe.model).input_contract
    meta = path.with_suffix(".json")
    want = {"recipe": recipe.digest(), "setup": setup, "seed": seed, "samples": num}
    if path.is_file() and meta.is_file() and json.loads(meta.read_text("utf-8")) == want:
        log(f"{path}: reused")
        return load_saved_windows(path, contract)
    weights = DEFAULT_WEIGHTS if setup == "radhar" else ACTIVITY_WEIGHTS
    chunks = path.with_suffix(".chunks")
    chunks.mkdir(parents=True, exist_ok=True)
    sets: list[WindowSet] = []
    missing = 0
    t0 = time.time()
    for start in range(0, num, CHUNK):
        end = min(num, start + CHUNK)
        part = chunks / f"k{start:06d}-{end:06d}.npz"
        part_meta = part.with_suffix(".json")
        part_want = {"windows": recipe.window_digest(), "setup": setup, "seed": seed}
        if part.is_file() and part_meta.is_file():
            if json.loads(part_meta.read_text("utf-8")) == part_want:
                sets.append(load_saved_windows(part, contract))
                continue
        lock = part.with_suffix(".lock")
        try:
            lock.touch(exist_ok=False)
        except FileExistsError:
            log(f"{part}: being made by another process ({lock}), skipped")
            missing += 1
            continue
        try:
            ws = kinematic_windows(
                seed,
                range(start, end),
                contract,
                setup=setup if setup != "home" else None,
                window_s=recipe.sample_s,
                stride_s=recipe.stride_s,
                weights=weights,
                frame_step=recipe.frame_step,
                detector=recipe.detector,
            )
            save_windows(ws, part, contract)
            part_meta.write_text(json.dumps(part_want) + "\n", "utf-8")
        finally:
            lock.unlink(missing_ok=True)
        sets.append(ws)
        log(
            f"{path.name}: {end}/{num} samples, {sum(len(s) for s in sets)} windows, "
            f"{time.time() - t0:.0f} s"
        )
    if missing:
        return None
    ws = WindowSet.concat(sets)
    ws.source = [f"kinematic:{setup}:{seed}"] * len(ws)
    save_windows(ws, path, contract)
    meta.write_text(json.dumps(want) + "\n", "utf-8")
    return ws


#: Kinematic samples per cached chunk of a window file.
CHUNK = 20


STEPS = ("all", "train-radhar", "train-home", "heldout")


def run(
    recipe: Recipe, out: str | Path, log: Any = None, step: str = "all"
) -> dict[str, Any] | None:
    """Every step of the module docstring (``step``: only that window file); the held-out figures."""
    from training.clmp.evaluate import classify, retrieval
    from training.clmp.factory import load_checkpoint
    from training.clmp.sources import TorchSource
    from training.clmp.train import Split, TrainSettings, train_on

    log = log or (lambda s: print(s, file=sys.stderr, flush=True))
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    jobs = {
        "train-radhar": ("radhar", recipe.seed, recipe.radhar_samples),
        "train-home": ("home", recipe.seed + 4, recipe.home_samples),
        "heldout": ("home", recipe.seed + 1000, recipe.heldout_samples),
    }
    if step != "all":
        setup, seed, num = jobs[step]
        name = "heldout-home.npz" if step == "heldout" else f"{step}.npz"
        _windows(root / name, recipe, setup, seed, num, log)
        return None
    parts = [
        _windows(
            root / "train-radhar.npz", recipe, "radhar", recipe.seed, recipe.radhar_samples, log
        ),
        _windows(
            root / "train-home.npz", recipe, "home", recipe.seed + 4, recipe.home_samples, log
        ),
    ]
    held_path = root / "heldout-home.npz"
    held = _windows(held_path, recipe, "home", recipe.seed + 1000, recipe.heldout_samples, log)
    if held is None or any(p is None for p in parts):
        raise RuntimeError(f"{root}: window chunks are still being made by other processes")
    train = WindowSet.concat([p for p in parts if len(p)])
    settings = TrainSettings(
        data=[],
        windows=[str(root / "train-radhar.npz"), str(root / "train-home.npz")],
        out=str(root / "ckpt"),
        model=recipe.model,
        epochs=recipe.epochs,
        batch_size=recipe.batch_size,
        lr=recipe.lr,
        stride_s=recipe.stride_s,
        holdout_every=0,
        augment_preset=recipe.augment_preset,
        seed=0,
        threads=recipe.threads,
        init=recipe.init,
        command=f"python -m training.clmp.recipe --recipe {recipe.name} --out {root}",
        extra={"recipe": asdict(recipe), "heldout": str(held_path)},
    )
    # per-epoch check on every 4th held-out window (the full pool is scored once, at the end)
    train_on(Split(train=train, val=held.subset(np.arange(0, len(held), 4))), settings, log=log)
    model, _card = load_checkpoint(root / "ckpt")
    src = TorchSource(model, {"name": model.name})
    acts = sorted({a for a in held.activity if "+" not in a and a != "empty"})
    keep = [i for i, a in enumerate(held.activity) if a in acts]
    labels = [a.replace("_", " ") for a in acts]
    sub = held.subset(keep)
    target = np.array([acts.index(a) for a in sub.activity])
    zs = classify(src.embed(sub.points, sub.mask), src.prototypes(labels), target, labels)
    rt = retrieval(src, held_path, pool=recipe.heldout_pool)
    figures = {
        "heldout": str(held_path),
        "zeroshot": {k: zs[k] for k in ("accuracy", "windows", "labels", "per_class")},
        "retrieval": rt,
        "train_windows": len(train),
    }
    (root / "ckpt" / "heldout.json").write_text(json.dumps(figures, indent=1) + "\n", "utf-8")
    log(
        f"held-out: zero-shot {zs['accuracy']:.1%} over {len(labels)} activities "
        f"({zs['windows']} windows); R@1 radar->text {rt['radar_to_text']['R@1']:.1%} in a pool "
        f"of {rt['windows']}"
    )
    return figures


def ship(recipe: Recipe, out: str | Path, artifact: str | Path, real: str | None = None) -> dict:
    """Finish an exported model: its checkpoint beside it, the recipe and every figure in its card.

    ``artifact`` is what ``mmfm export onnx --model OUT/ckpt --out ARTIFACT`` wrote. Copies
    ``OUT/ckpt/{model.pt,card.json}`` to ``ARTIFACT/checkpoint/`` (for new labels and LoRA), and adds
    to ``ARTIFACT/card.json``: ``reproduce`` (the commands, in order), ``source`` (the repository's
    commit: the windows depend on the simulator's code) and ``metrics`` (the held-out
    figures of ``OUT/ckpt/heldout.json``; with ``real``, the zero-shot accuracy of the exported int8
    and fp32 encoders on those RadHAR recordings: measured, never trained or tuned on).
    """
    import shutil

    from runtime.models import verify_dir
    from training.clmp.evaluate import parse_labels, radhar_windows, zeroshot
    from training.clmp.sources import open_model

    root, art = Path(out), Path(artifact)
    ck = root / "ckpt"
    (art / "checkpoint").mkdir(exist_ok=True)
    for name in ("model.pt", "card.json"):
        shutil.copy2(ck / name, art / "checkpoint" / name)
    held = json.loads((ck / "heldout.json").read_text("utf-8"))
    metrics: dict[str, Any] = {
        "heldout_sim": {
            "what": "kinematic windows of the home setup, seed unseen in training (rooms, subjects)",
            "zeroshot_accuracy": held["zeroshot"]["accuracy"],
            "zeroshot_activities": len(held["zeroshot"]["labels"]),
            "zeroshot_windows": held["zeroshot"]["windows"],
            "retrieval": held["retrieval"],
        }
    }
    if real:
        labels = "boxing,jumping jacks,jumping,squats,walking"
        data = radhar_windows(real, parse_labels(labels), verify_dir(art).input_contract)
        for prec in ("int8", "fp32"):
            res = zeroshot(open_model(str(art), precision=prec), data)
            metrics[f"real_radhar_zeroshot_{prec}"] = {
                "accuracy": res["accuracy"],
                "windows": res["windows"],
                "per_class": {k: v["accuracy"] for k, v in res["per_class"].items()},
                "confusion": res["confusion"],
            }
    work = f"/tmp/{recipe.name}"  # any work directory (windows ~100 MB, checkpoint)
    card = json.loads((art / "card.json").read_text("utf-8"))
    card["reproduce"] = [
        f"python -m training.clmp.recipe --recipe {recipe.name} --out {work}",
        f"mmfm export onnx --model {work}/ckpt --out {artifact}",
        f"python -m training.clmp.recipe --recipe {recipe.name} --out {work} --ship {artifact} "
        "--real ../shared/realdata/radhar-fewshot",
    ]
    card["metrics"] = metrics
    card["source"] = _git_head()
    (art / "card.json").write_text(json.dumps(card, indent=2) + "\n", "utf-8")
    verify_dir(art)
    return metrics


def _git_head() -> str | None:
    """The repository's commit (the windows depend on the simulator's code), None outside git."""
    import subprocess

    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"git {out.stdout.strip()}"


def main(argv: list[str] | None = None) -> int:
    """``python -m training.clmp.recipe --out DIR [--recipe NAME] [--threads N]``."""
    ap = argparse.ArgumentParser(
        prog="python -m training.clmp.recipe", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--out", required=True, help="work directory (windows, ckpt/)")
    ap.add_argument("--recipe", default="clmp-points-v2", choices=sorted(RECIPES))
    ap.add_argument("--ship", help="exported model directory to finish (see ship())")
    ap.add_argument("--real", help="with --ship: RadHAR class folders to measure zero-shot on")
    ap.add_argument(
        "--step",
        default="all",
        choices=STEPS,
        help="only one window file (to generate them in parallel processes); default all",
    )
    ap.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: the recipe's)"
    )
    args = ap.parse_args(argv)
    recipe = RECIPES[args.recipe]
    if args.threads:
        recipe = Recipe(**{**asdict(recipe), "threads": args.threads})
    if args.ship:
        print(json.dumps(ship(recipe, args.out, args.ship, args.real)))
        return 0
    figures = run(recipe, args.out, step=args.step)
    if figures is None:
        return 0
    zs = figures["zeroshot"]
    print(json.dumps({"zeroshot_accuracy": zs["accuracy"], "retrieval": figures["retrieval"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
