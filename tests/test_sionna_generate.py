"""`mmfm sim generate --backend sionna` end to end, through the CLI's argparse entry point.

A tiny configuration (the 3 TX x 4 RX x 16 loops x 64 samples IWR1843BOOST chirp of ``test_dataset``,
0.1 s windows = 2 frames, 10k rays per frame, one person walking in a bedroom, 3 samples): the dataset
must be readable by ``runtime.dataset``, record the backend in the spec, card and sample documents, show
the person's echo at its ground-truth range in the raw ADC (the sampler keeps the person in the radar's
line of sight), and be bit-identical when generated again (sharded differently, one shard in a
subprocess). About 10 s on a 2-core CPU once Dr.Jit's kernels are in its cache (~/.drjit), ~22 s on a
cold cache. Skipped with a message when Mitsuba / Sionna RT / a Dr.Jit backend is unavailable.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import require_sionna
from test_dataset import tiny_cfg_text

from mmfm.commands import sim as sim_cmd
from runtime.dataset import open_dataset
from runtime.dsp.clutter import remove_static_clutter
from runtime.dsp.range import range_fft
from sim.dataset.scenario import MIN_LINE_OF_SIGHT

require_sionna()  # skips with the reason (no Sionna RT, or no LLVM >= 16 / CUDA)

NUM = 3
RAYS = 10_000
PROMPT = "a person walking in a bedroom"


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mmfm")
    sim_cmd.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def generate_args(out: Path, cfg: Path, *extra: str) -> list[str]:
    return [
        "sim",
        "generate",
        "--out",
        str(out),
        "--num",
        str(NUM),
        "--seed",
        "0",
        "--backend",
        "sionna",
        "--radar",
        str(cfg),
        "--window-s",
        "0.1",
        "--outputs",
        "adc,points,spectrogram",
        "--rays",
        str(RAYS),
        "--prompt",
        PROMPT,
        "--no-progress",
        *extra,
    ]


def sample_hashes(root: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.glob("shard-*/sample-*"))
    }


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("sionna_gen")
    cfg = base / "tiny.cfg"
    cfg.write_text(tiny_cfg_text(), encoding="utf-8")
    whole, halves = base / "whole", base / "halves"
    assert run(generate_args(whole, cfg)) == 0
    assert run(generate_args(halves, cfg, "--shard", "1/2")) == 0
    # the other shard in a fresh process (its own Dr.Jit state and kernel compilation)
    cmd = [sys.executable, "-m", "mmfm", *generate_args(halves, cfg, "--shard", "0/2")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return {"whole": whole, "halves": halves}


def test_dataset_is_valid_and_records_sionna(datasets: dict[str, Path]) -> None:
    root = datasets["whole"]
    ds = open_dataset(root)
    assert ds.complete and len(ds) == NUM and ds.verify() == []
    assert ds.spec["backend"] == "sionna" and ds.spec["trace"]["samples_per_src"] == RAYS
    card = json.loads((root / "card.json").read_text(encoding="utf-8"))
    assert card["spec"]["backend"] == "sionna"
    assert "--backend sionna" in card["command"] and f"--rays {RAYS}" in card["command"]
    assert "backend: sionna" in (root / "README.md").read_text(encoding="utf-8")
    for s in ds:
        doc = sample_doc(root, s.index)
        assert doc["backend"]["name"] == "sionna" and doc["backend"]["samples_per_src"] == RAYS
        assert s.adc is not None and s.adc.shape == (2, *s.chirp.frame_shape)
        assert np.abs(s.adc).max() > 0
        assert len(s.points) == 2 and sum(len(p) for p in s.points) > 0
        assert s.spectrogram is not None and s.spectrogram.shape[0] == 2
        assert [p["activity"] for p in s.truth["people"]] == ["walk"]


def sample_doc(root: Path, index: int) -> dict:
    return json.loads(
        (root / "shard-00000-of-00001" / f"sample-{index:08d}.json").read_text("utf-8")
    )


def test_person_echo_at_truth_range(datasets: dict[str, Path]) -> None:
    """Moving part of the ADC (static clutter removed per frame): the person is in view (the sampler
    re-places anyone hidden behind furniture or an open door leaf at the window start, and the truth
    records how much of them the radar sees), so its strongest range bin lies within two bins of the
    walking person's ground-truth range (pelvis; the body's front is ~0.15 m closer) and stands well
    out of the rest of the moving profile."""
    root = datasets["whole"]
    checked = 0
    for s in open_dataset(root):
        person = s.truth["people"][0]
        assert person["in_fov"], person
        assert person["line_of_sight"] >= MIN_LINE_OF_SIGHT, (s.index, person["line_of_sight"])
        checked += 1
        cfg = s.chirp
        cube = remove_static_clutter(range_fft(s.adc, cfg))  # [frame, tx, rx, loop, range]
        profile = (np.abs(cube) ** 2).sum(axis=(0, 1, 2, 3))
        peak_m = int(np.argmax(profile)) * cfg.range_bin_m
        truth_m = float(np.linalg.norm(s.truth["positions_radar"][0], axis=-1).mean())
        assert abs(peak_m - truth_m) <= 2 * cfg.range_bin_m, (s.index, peak_m, truth_m)
        assert 10 * np.log10(profile.max() / np.median(profile)) > 15.0, s.index
    assert checked == NUM


def test_same_seed_same_bytes(datasets: dict[str, Path]) -> None:
    """Sionna is bit-deterministic here: the samples generated again, as two shards (one of them in
    another process), are the same bytes."""
    whole, halves = sample_hashes(datasets["whole"]), sample_hashes(datasets["halves"])
    assert len(whole) == 2 * NUM and whole == halves


def test_rays_must_be_positive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = generate_args(tmp_path / "ds", tmp_path / "unused.cfg")
    args[args.index("--rays") + 1] = "0"
    assert run(args) == 1
    assert "--rays must be >= 1, got 0" in capsys.readouterr().err
    assert not (tmp_path / "ds").exists()
