"""How the raw-ADC CLMP model (``models/clmp-adc-v1``) is made: data, training, evaluation, shipping.

Data: many small simulated datasets with raw ADC, one per (generator lane, round, activity): one
person doing one of :data:`ACTIVITIES` (``--prompt "a person <activity>"``: the scene generator draws
a fresh room, furniture, subject and placement for every sample), ``--outputs adc,points``, direct
paths only (``--max-bounces 1``), on three chirp configurations of two boards (IWR1843BOOST and
IWR6843ISK presence profiles, 3 TX x 4 RX x 32 loops x 128 samples at 10 Hz, 77 and 60 GHz; the
IWR1443BOOST RadHAR profile, 16 loops x 256 samples at 30 Hz). Lane 2 writes 4 s samples (three 2 s
windows at 1 s stride), in reverse activity order, so that a run stopped early still covers every
activity. Held-out split: ``--holdout-every 7`` (samples 0 and 2 of each 8-sample dataset: their rooms
and subjects are never trained on).

::

    python -m training.clmp.adc_recipe plan --out /data/adc --rounds 1 | bash     # generate
    python -m training.clmp.adc_recipe train --out /data/adc                     # prints the commands
    python -m training.clmp.adc_recipe ship --out /data/adc --artifact models/clmp-adc-v1

``ship`` copies the checkpoint into ``ARTIFACT/checkpoint/`` and writes into ``ARTIFACT/card.json``
the reproduction commands, the data (datasets, samples, windows) and the held-out figures of the
exported int8 and fp32 encoders (zero-shot over the activities present, retrieval R@1/R@5).
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

#: Activities (prompt wording) of the ADC datasets, in generation order.
ACTIVITIES = (
    "walking",
    "standing",
    "sitting on a chair",
    "falling",
    "waving",
    "boxing",
    "doing jumping jacks",
    "doing squats",
    "jumping",
    "lying down",
)
SAMPLES_PER_DATASET = 8
HOLDOUT_EVERY = 7
MODEL = "clmp_adc_s"


def datasets(out: str, rounds: int, lanes: int = 3) -> list[dict[str, Any]]:
    """Every dataset of ``rounds`` rounds of ``lanes`` generator lanes, interleaved by lane."""
    rows = []
    for rnd in range(rounds):
        for lane in range(lanes):
            window_s, order = 2.0, list(range(len(ACTIVITIES)))
            if lane == 0:
                radar = "iwr1843boost_presence"
            elif lane == 1:
                radar = "iwr1443boost_radhar" if rnd % 3 == 2 else "iwr6843isk_presence"
            else:
                window_s, order = 4.0, order[::-1]
                radar = "iwr6843isk_presence" if rnd % 2 == 0 else "iwr1843boost_presence"
            for a in order:
                rows.append(
                    {
                        "out": f"{out}/sim/p{lane}-r{rnd:02d}-a{a}",
                        "seed": 10000 + lane * 1000 + rnd * 10 + a,
                        "radar": radar,
                        "window_s": window_s,
                        "prompt": f"a person {ACTIVITIES[a]}",
                    }
                )
    return rows


def generate_command(row: dict[str, Any]) -> str:
    """The ``mmfm sim generate`` command of one dataset."""
    return (
        f"mmfm sim generate --out {row['out']} --num {SAMPLES_PER_DATASET} --seed {row['seed']} "
        f"--radar {row['radar']} --window-s {row['window_s']:g} --outputs adc,points "
        f"--prompt {shlex.quote(row['prompt'])} --max-bounces 1 --workers 1 --no-progress"
    )


def complete_datasets(out: str | Path) -> list[str]:
    """Dataset directories under ``OUT/sim`` whose generation finished (``index.json`` complete)."""
    found = []
    for d in sorted((Path(out) / "sim").glob("p*-r*-a*")):
        try:
            index = json.loads((d / "index.json").read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if index.get("complete") and index.get("num_samples", 0) > 0:
            found.append(str(d))
    return found


def train_commands(out: str | Path, epochs: int = 25, data: list[str] | None = None) -> list[str]:
    """Windows of the finished datasets (or ``data``), training, the held-out split, its figures."""
    data = complete_datasets(out) if data is None else data
    return [
        f"python -m training.clmp.adc_data --data {' '.join(data)} --out {out}/heldout.npz "
        f"--holdout-every {HOLDOUT_EVERY} --split heldout",
        f"mmfm train clmp --data {','.join(data)} --model {MODEL} --out {out}/ckpt "
        f"--holdout-every {HOLDOUT_EVERY} --epochs {epochs} --batch-size 32 --lr 2e-3",
        f"mmfm eval zeroshot --data {out}/heldout.npz --format mmfm --model {out}/ckpt --json",
        f"mmfm eval retrieval --data {out}/heldout.npz --model {out}/ckpt --json",
    ]


def ship(out: str | Path, artifact: str | Path, real: str | None = None) -> dict[str, Any]:
    """Finish ``mmfm export onnx --model OUT/ckpt --out ARTIFACT``: checkpoint, data, figures, card.

    With ``real`` (RadHAR class folders) nothing is measured: the raw-ADC encoder cannot read point
    clouds, and the shared real recordings hold no raw ADC.
    """
    import numpy as np

    from runtime.models import verify_dir
    from training.clmp.evaluate import mmfm_windows, retrieval, zeroshot
    from training.clmp.sources import open_model

    root, art = Path(out), Path(artifact)
    (art / "checkpoint").mkdir(exist_ok=True)
    for name in ("model.pt", "card.json"):
        shutil.copy2(root / "ckpt" / name, art / "checkpoint" / name)
    held = root / "heldout.npz"
    metrics: dict[str, Any] = {}
    for prec in ("int8", "fp32"):
        model = open_model(str(art), precision=prec)
        zs = zeroshot(model, mmfm_windows(held, None, model.input_contract))
        rt = retrieval(model, held, pool=1000)
        metrics[f"heldout_sim_{prec}"] = {
            "what": "simulated raw ADC, held-out samples (rooms and subjects never trained on)",
            "zeroshot_accuracy": zs["accuracy"],
            "zeroshot_labels": zs["labels"],
            "zeroshot_windows": zs["windows"],
            "per_class": {k: v["accuracy"] for k, v in zs["per_class"].items()},
            "confusion": zs["confusion"],
            "retrieval": rt,
        }
    ck_card = json.loads((root / "ckpt" / "card.json").read_text("utf-8"))
    data = str(ck_card["dataset"]["path"]).split(",")  # what the checkpoint was trained on
    epochs = int(ck_card["training"]["epochs"])
    with np.load(held) as z:
        n_held = len(z["activity"])
    rounds = 1 + max(int(Path(d).name.split("-")[1][1:]) for d in data)
    used = [r for r in datasets(str(root), rounds) if r["out"] in set(data)]
    card = json.loads((art / "card.json").read_text("utf-8"))
    ck = card["training"]
    card["data"] = {
        "datasets": len(data),
        "samples": sum(
            json.loads((Path(d) / "index.json").read_text("utf-8"))["num_samples"] for d in data
        ),
        "windows": ck.get("metrics", {}).get("windows", {"held_out": n_held}),
        "generate": [generate_command(r).replace(str(root), "DATA") for r in used],
    }
    card["reproduce"] = [
        "the commands of data.generate (or: python -m training.clmp.adc_recipe plan --out DATA "
        f"--rounds {rounds} | bash, a superset)",
        *[c.replace(str(root), "DATA") for c in train_commands(root, epochs, data)[:2]],
        f"mmfm export onnx --model DATA/ckpt --out {artifact}",
        f"python -m training.clmp.adc_recipe ship --out DATA --artifact {artifact}",
    ]
    card["metrics"] = metrics
    if real:
        card["metrics"]["real"] = "not measured: the shared real recordings hold point clouds only"
    (art / "card.json").write_text(json.dumps(card, indent=2) + "\n", "utf-8")
    verify_dir(art)
    return metrics


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training.clmp.adc_recipe", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("plan", help="print the mmfm sim generate commands (pipe to bash)")
    p.add_argument("--out", required=True)
    p.add_argument("--rounds", type=int, default=1)
    t = sub.add_parser("train", help="print the window/train/eval commands on the finished data")
    t.add_argument("--out", required=True)
    t.add_argument("--epochs", type=int, default=25)
    s = sub.add_parser("ship", help="finish an exported model (checkpoint, data, figures)")
    s.add_argument("--out", required=True)
    s.add_argument("--artifact", required=True)
    args = ap.parse_args(argv)
    if args.cmd == "plan":
        for row in datasets(args.out, args.rounds):
            print(generate_command(row))
    elif args.cmd == "train":
        if not complete_datasets(args.out):
            print(f"error: no finished dataset under {args.out}/sim", file=sys.stderr)
            return 1
        print("\n".join(train_commands(args.out, args.epochs)))
    else:
        print(json.dumps(ship(args.out, args.artifact), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
