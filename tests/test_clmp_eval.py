"""`mmfm eval zeroshot`: RadHAR windowing, the JSON result and one-line errors for bad input."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from conftest import require_shared

from mmfm.cli import main
from training.clmp import build_model, save_checkpoint
from training.clmp.evaluate import parse_labels, radhar_windows

RADHAR_LABELS = "boxing,jumping jacks,jumping,squats,walking"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ck") / "clmp"
    save_checkpoint(build_model("clmp_points_tiny"), {"command": "test"}, path)
    return path


@pytest.mark.realdata
def test_radhar_recordings_cut_into_paper_windows():
    root = require_shared("realdata", "radhar-fewshot")
    model = build_model("clmp_points_tiny")
    data = radhar_windows(root, parse_labels(RADHAR_LABELS), model.input_contract)
    # 10 recordings of 600-603 frames at 30 Hz: (n - 60) // 10 + 1 = 55 windows each
    assert len(data.target) == 550
    assert data.labels == RADHAR_LABELS.split(",")
    for k in range(5):
        assert (data.target == k).sum() == 110
    t, p = model.input_contract["frames"], model.input_contract["max_points"]
    assert data.points.shape == (550, t, p, 5)
    # every window holds points, RadHAR's ~20 per 33 ms frame: slots are never empty
    assert data.mask.sum(axis=(1, 2)).min() > 0.5 * t * p


@pytest.mark.realdata
def test_zeroshot_json_on_radhar(checkpoint, capsys, tmp_path):
    root = require_shared("realdata", "radhar-fewshot")
    png = tmp_path / "conf.png"
    rc = main(
        [
            "eval",
            "zeroshot",
            "--data",
            str(root),
            "--format",
            "radhar",
            "--labels",
            "boxing,jack=jumping jacks,jump=jumping,squats,walk=walking",
            "--model",
            str(checkpoint),
            "--json",
            "--png",
            str(png),
        ]
    )
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert 0.0 <= res["accuracy"] <= 1.0 and res["windows"] == 550
    assert set(res["per_class"]) == {"boxing", "jumping jacks", "jumping", "squats", "walking"}
    assert sum(map(sum, res["confusion"])) == 550
    assert png.stat().st_size > 1000


def _one_line_error(capsys, argv):
    rc = main(argv)
    err = capsys.readouterr().err.strip()
    assert rc == 1
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    return err


def test_zeroshot_bad_inputs_are_one_line(checkpoint, capsys, tmp_path):
    base = ["eval", "zeroshot", "--format", "radhar", "--model", str(checkpoint)]
    err = _one_line_error(capsys, [*base, "--data", str(tmp_path / "nope"), "--labels", "boxing"])
    assert "no such folder" in err
    (tmp_path / "boxing").mkdir()
    (tmp_path / "boxing" / "a.txt").write_text(
        "header:\n  stamp:\n    secs: 1\n    nsecs: 0\npoint_id: 0\nx: 1.0\ny: zero\n---\n"
    )
    err = _one_line_error(capsys, [*base, "--data", str(tmp_path), "--labels", "boxing,walking"])
    assert "'walking'" in err and "no folder" in err
    err = _one_line_error(capsys, [*base, "--data", str(tmp_path), "--labels", "boxing"])
    assert "unreadable dump" in err and "a.txt:7" in err
    (tmp_path / "boxing" / "a.txt").write_text(
        "header:\n  stamp:\n    secs: 1\n    nsecs: 0\npoint_id: 0\nx: 1.0\ny: 0.0\nz: 0.0\n"
        "velocity: 0.0\nintensity: 20.0\n---\n"
    )
    err = _one_line_error(capsys, [*base, "--data", str(tmp_path), "--labels", "boxing"])
    assert "zero windows" in err
    err = _one_line_error(capsys, [*base, "--data", str(tmp_path), "--labels", "boxing,,x"])
    assert "empty label" in err


@pytest.mark.realdata
def test_tampered_checkpoint_is_refused_by_the_cli(checkpoint, capsys, tmp_path):
    root = require_shared("realdata", "radhar-fewshot")
    bad = tmp_path / "bad"
    shutil.copytree(checkpoint, bad)
    card = json.loads((bad / "card.json").read_text())
    card["files"]["model.pt"] = "0" * 64
    (bad / "card.json").write_text(json.dumps(card))
    err = _one_line_error(
        capsys,
        [
            "eval",
            "zeroshot",
            "--data",
            str(root),
            "--format",
            "radhar",
            "--labels",
            RADHAR_LABELS,
            "--model",
            str(bad),
        ],
    )
    assert "sha256" in err
