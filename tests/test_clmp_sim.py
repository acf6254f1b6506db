"""CLMP on windows simulated by `sim`: the whole path (generate -> train -> eval CLIs).

Fast tier: a three-sample dataset of short windows and a model config with a matching 0.4 s contract,
through `mmfm train clmp`, `mmfm eval zeroshot --format mmfm` and `mmfm eval retrieval`.
Slow tier: a model trained here on simulated windows of three clearly different activities
classifies held-out simulated windows (other rooms and subjects) far above chance.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from mmfm.cli import main
from sim.dataset.simulate import TraceOptions
from sim.dataset.writer import GenerateSpec, generate
from training.clmp.factory import model_config

FAST = TraceOptions(density_per_m2={"person": 300.0, "default": 10.0}, max_bounces=1)


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def short_config(tmp: Path, window_s: float, frames: int) -> Path:
    cfg = model_config("clmp_points_tiny")
    cfg["input_contract"].update(window_s=window_s, frames=frames, frame_rate_hz=frames / window_s)
    path = tmp / "clmp_short.json"
    path.write_text(json.dumps(cfg))
    return path


def test_generate_train_eval_round_trip(tmp_path, capsys):
    data = tmp_path / "sim"
    spec = GenerateSpec(
        num=3,
        seed=5,
        radar="iwr1443boost_radhar",
        window_s=0.5,
        outputs=("points",),
        prompt="a person walking in a living room",
        trace=FAST,
    )
    generate(data, spec, num_shards=1)
    cfg = short_config(tmp_path, 0.4, 4)
    out = tmp_path / "ck"
    rc = main(
        [
            "train",
            "clmp",
            "--data",
            str(data),
            "--model",
            str(cfg),
            "--out",
            str(out),
            "--epochs",
            "2",
            "--batch-size",
            "4",
            "--stride-s",
            "0.1",
            "--holdout-every",
            "0",
            "--no-progress",
        ]
    )
    assert rc == 0
    card = json.loads((out / "card.json").read_text())
    assert card["dataset"]["card_sha256"] and "train clmp" in card["command"]
    assert (out / "curves.png").is_file()
    capsys.readouterr()
    assert (
        main(
            [
                "eval",
                "zeroshot",
                "--data",
                str(data),
                "--labels",
                "walking,squats",
                "--model",
                str(out),
                "--json",
            ]
        )
        == 0
    )
    res = json.loads(capsys.readouterr().out)
    assert (
        res["labels"] == ["walking", "squats"] and res["windows"] == 3
    )  # one 0.4 s window per 0.5 s sample
    assert main(["eval", "retrieval", "--data", str(data), "--model", str(out), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["windows"] == 3 and 0 <= res["radar_to_text"]["R@1"] <= 1
    # a dataset without the activity: one line, exit 1
    assert (
        main(["eval", "zeroshot", "--data", str(data), "--labels", "boxing", "--model", str(out)])
        == 1
    )
    assert "zero windows" in capsys.readouterr().err


@pytest.mark.slow
def test_trained_on_sim_recognises_held_out_sim_activities(tmp_path, capsys):
    prompts = {
        "walking": "a person walking in a living room",
        "squats": "a person doing squats in a living room",
        "jumping jacks": "a person doing jumping jacks in a living room",
    }
    dirs = []
    for k, prompt in enumerate(prompts.values()):
        d = tmp_path / f"sim{k}"
        spec = GenerateSpec(
            num=24,
            seed=100 + k,
            radar="iwr1443boost_radhar",
            window_s=2.0,
            outputs=("points",),
            prompt=prompt,
            trace=FAST,
        )
        generate(d, spec, num_shards=1)
        dirs.append(str(d))
    out = tmp_path / "ck"
    rc = main(
        [
            "train",
            "clmp",
            "--data",
            ",".join(dirs),
            "--model",
            "clmp_points_tiny",
            "--out",
            str(out),
            "--epochs",
            "40",
            "--batch-size",
            "32",
            "--stride-s",
            "0.5",
            "--holdout-every",
            "4",
            "--no-progress",
        ]
    )
    assert rc == 0
    card = json.loads((out / "card.json").read_text())
    acc = card["metrics"]["held_out"]["zeroshot_acc"]
    assert acc > 0.6, acc  # chance: 1/3
    capsys.readouterr()
    accs = []
    for d in dirs:
        assert (
            main(
                [
                    "eval",
                    "zeroshot",
                    "--data",
                    d,
                    "--labels",
                    ",".join(prompts),
                    "--model",
                    str(out),
                    "--holdout-every",
                    "4",
                    "--json",
                ]
            )
            == 0
        )
        accs.append(json.loads(capsys.readouterr().out)["accuracy"])
    assert np.mean(accs) > 0.6, accs


def test_kinematic_windows_follow_the_body(tmp_path):
    from training.clmp.data import load_saved_windows, save_windows
    from training.clmp.factory import build_model
    from training.clmp.kinematic import kinematic_windows

    contract = build_model("clmp_points_tiny").input_contract
    ws = kinematic_windows(7, [0, 1], contract, window_s=2.5, stride_s=0.5)
    assert len(ws) >= 2 and ws.points.shape[1:] == (contract["frames"], contract["max_points"], 5)
    sel = ws.mask > 0
    assert sel.mean() > 0.2
    # RadHAR setup: the person stands 1-3 m in front of the radar, within +-20 deg
    y = np.median(ws.points[..., 1][sel])
    assert 0.8 < y < 3.5
    assert all(c and c[0].startswith("a person is") for c in ws.captions)
    save_windows(ws, tmp_path / "w.npz", contract)
    back = load_saved_windows(tmp_path / "w.npz", contract)
    assert back.activity == ws.activity and np.allclose(
        back.points, ws.points, rtol=2e-3, atol=2e-3
    )
