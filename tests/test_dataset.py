"""Dataset writer + reader: determinism, sharding, resume, round trip, corrupt files."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from firmware_cfg import emit_cfg, load_cfg, parse_cfg_text
from runtime.dataset import DatasetError, open_dataset
from sim.dataset.scenario import ScenarioError, sample_scenario
from sim.dataset.simulate import TraceOptions, simulate_sample
from sim.dataset.writer import GenerateSpec, generate

FAST = TraceOptions(density_per_m2={"person": 300.0, "default": 10.0}, max_bounces=1)


def tiny_cfg_text() -> str:
    """IWR1843BOOST, 3 TX x 4 RX x 16 loops x 64 samples, 20 frames/s."""
    text = emit_cfg(load_cfg("iwr1843boost_raw_activity"))
    text = text.replace("frameCfg 0 2 128 ", "frameCfg 0 2 16 ").replace(" 256 5000 ", " 64 5000 ")
    parse_cfg_text(text)
    return text


@pytest.fixture(scope="module")
def tiny_cfg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cfg") / "tiny.cfg"
    path.write_text(tiny_cfg_text(), encoding="utf-8")
    return path


def _spec(cfg: Path, num: int = 4, seed: int = 11) -> GenerateSpec:
    return GenerateSpec(
        num=num,
        seed=seed,
        radar=str(cfg),
        window_s=0.1,
        outputs=("adc", "points", "spectrogram"),
        trace=FAST,
    )


def _hashes(root: Path, pattern: str = "shard-*/sample-*") -> dict[str, str]:
    """sha256 of the files; cost.json (timings, differs between runs by design) left out."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.glob(pattern))
        if p.is_file() and p.name != "cost.json"
    }


@pytest.fixture(scope="module")
def datasets(tiny_cfg: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("ds")
    whole, again, halves = base / "whole", base / "again", base / "halves"
    generate(whole, _spec(tiny_cfg), num_shards=1)
    generate(again, _spec(tiny_cfg), num_shards=1)
    generate(halves, _spec(tiny_cfg), shards=[1], num_shards=2)
    generate(halves, _spec(tiny_cfg), shards=[0], num_shards=2)
    return {"whole": whole, "again": again, "halves": halves}


def test_same_seed_same_bytes(datasets: dict[str, Path]) -> None:
    a, b = _hashes(datasets["whole"], "**/*"), _hashes(datasets["again"], "**/*")
    assert len(a) == 4 * 2 + 4  # samples + manifest, index, card, README
    assert a == b


def test_shards_make_the_whole(datasets: dict[str, Path]) -> None:
    whole, halves = _hashes(datasets["whole"]), _hashes(datasets["halves"])
    assert whole == halves and len(whole) == 8
    assert sorted(p.name for p in (datasets["halves"] / "shard-00000-of-00002").glob("*.json")) == [
        "cost.json",  # timings of the run, not in the manifest
        "manifest.json",
        "sample-00000000.json",
        "sample-00000002.json",
    ]
    ds = open_dataset(datasets["halves"])
    assert ds.complete and len(ds) == 4 and sorted(ds.sample_indices()) == [0, 1, 2, 3]
    assert ds.shards == ["shard-00000-of-00002", "shard-00001-of-00002"]
    assert [s.index for s in ds.iter_shard("shard-00001-of-00002")] == [1, 3]


def test_other_seed_other_bytes(tiny_cfg: Path, tmp_path: Path, datasets: dict[str, Path]) -> None:
    generate(tmp_path, _spec(tiny_cfg, num=1, seed=12), num_shards=1)
    assert (
        _hashes(tmp_path)["sample-00000000.npz"]
        != _hashes(datasets["whole"])["sample-00000000.npz"]
    )


def test_resume_skips_complete_and_regenerates_damaged(
    tiny_cfg: Path, tmp_path: Path, datasets: dict[str, Path]
) -> None:
    root = tmp_path / "ds"
    shutil.copytree(datasets["halves"], root)
    before = _hashes(root)
    (root / "shard-00001-of-00002" / "sample-00000003.npz").unlink()
    (root / "shard-00001-of-00002" / "sample-00000001.json").write_text("{}")
    report = generate(root, _spec(tiny_cfg), num_shards=2)
    assert report.skipped == ["shard-00000-of-00002"] and report.written == ["shard-00001-of-00002"]
    assert _hashes(root) == before
    # an interrupted shard (no manifest) is regenerated, a complete one left alone
    (root / "shard-00000-of-00002" / "manifest.json").unlink()
    report = generate(root, _spec(tiny_cfg), shards=[0], num_shards=2)
    assert report.written == ["shard-00000-of-00002"] and _hashes(root) == before
    assert generate(root, _spec(tiny_cfg), num_shards=2).written == []


def test_mixing_settings_is_refused(
    tiny_cfg: Path, tmp_path: Path, datasets: dict[str, Path]
) -> None:
    root = tmp_path / "ds"
    shutil.copytree(datasets["halves"], root)
    with pytest.raises(ScenarioError, match="shards of 2"):
        generate(root, _spec(tiny_cfg), num_shards=3)
    with pytest.raises(ScenarioError, match="different settings"):
        generate(root, _spec(tiny_cfg, seed=99), num_shards=2)


def test_reader_round_trip(tiny_cfg: Path, datasets: dict[str, Path]) -> None:
    sc = sample_scenario(11, 2, radar=str(tiny_cfg), window_s=0.1)
    data = simulate_sample(
        sc, outputs=("adc", "points", "spectrogram"), trace_options=FAST, keep_frames=True
    )
    ds = open_dataset(datasets["whole"])
    s = ds[2]
    assert s.index == 2
    assert s.chirp == parse_cfg_text(tiny_cfg.read_text()).chirp
    assert parse_cfg_text(s.cfg_text).chirp == s.chirp
    assert s.adc is not None and s.adc.dtype == np.complex64
    assert s.adc.shape == (2, *s.chirp.frame_shape)
    np.testing.assert_array_equal(s.adc, data.frames_adc)  # quantised counts survive int16 exactly
    off = data.arrays["points_offsets"]
    assert len(s.points) == 2
    for f in range(2):
        np.testing.assert_array_equal(s.points[f], data.arrays["points"][off[f] : off[f + 1]])
    np.testing.assert_array_equal(s.spectrogram, data.arrays["spectrogram"].astype(np.float32))
    for name in ("joints", "positions", "positions_radar", "breathing_per_min", "frame_times_s"):
        np.testing.assert_array_equal(s.truth[name], data.arrays[name])
    assert s.truth["joints"].shape == (len(sc.people), 2, 24, 3)
    assert s.truth["people"] == data.doc["truth"]["people"]
    assert s.truth["room"]["room_type"] == sc.scene().room_type
    assert s.captions == data.doc["captions"] and {c["granularity"] for c in s.captions} >= {
        "activity",
        "vitals",
    }
    assert [p["activity"] for p in s.truth["people"]] == [p.activity for p in sc.people]


def test_corrupt_and_missing_files_are_named(tmp_path: Path, datasets: dict[str, Path]) -> None:
    root = tmp_path / "ds"
    shutil.copytree(datasets["whole"], root)
    bad = root / "shard-00000-of-00001" / "sample-00000001.npz"
    raw = bytearray(bad.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    bad.write_bytes(bytes(raw))
    ds = open_dataset(root)
    with pytest.raises(DatasetError, match=r"sample-00000001\.npz: checksum mismatch"):
        ds[1]
    assert any("sample-00000001.npz" in p for p in ds.verify())
    bad.write_bytes(b"not a zip")
    with pytest.raises(DatasetError, match=r"sample-00000001\.npz: unreadable"):
        open_dataset(root, verify=False)[1]
    (root / "shard-00000-of-00001" / "sample-00000002.json").unlink()
    with pytest.raises(DatasetError, match=r"sample-00000002\.json: missing"):
        ds[2]
    ds[0]  # the others still read
    (root / "index.json").write_text("{")
    with pytest.raises(DatasetError, match=r"index\.json: not valid JSON"):
        open_dataset(root)
    with pytest.raises(DatasetError, match="no such dataset directory"):
        open_dataset(tmp_path / "nope")


def test_card_counts(datasets: dict[str, Path]) -> None:
    import json

    card = json.loads((datasets["whole"] / "card.json").read_text())
    assert card["num_samples"] == 4 and card["complete"] and card["seed"] == 11
    assert sum(card["counts"]["room_type"].values()) == 4
    assert card["counts"]["board"] == {"IWR1843BOOST": 4}
    assert "mmfm sim generate --num 4 --seed 11" in card["command"]
    assert "## Counts" in (datasets["whole"] / "README.md").read_text()


def test_scenario_is_deterministic_per_seed_and_index() -> None:
    a = sample_scenario(3, 5, radar="iwr6843isk_presence")
    b = sample_scenario(3, 5, radar="iwr6843isk_presence")
    c = sample_scenario(3, 6, radar="iwr6843isk_presence")
    assert a.to_dict() == b.to_dict() and a.to_dict() != c.to_dict()
    from sim.dataset.scenario import Scenario

    assert Scenario.from_dict(a.to_dict()).to_dict() == a.to_dict()
    for p in a.people:
        assert 6 <= p.vitals["breathing_per_min"] <= 30 and 45 <= p.vitals["heart_per_min"] <= 120


def test_prompt_errors() -> None:
    with pytest.raises(ScenarioError, match="unknown activity"):
        sample_scenario(
            0, 0, radar="iwr1843boost_presence", prompt="a person juggling in the kitchen"
        )
    with pytest.raises(ScenarioError, match="impossible placement"):
        sample_scenario(
            0, 0, radar="iwr1843boost_presence", prompt="someone sleeping in the bathroom"
        )
    sc = sample_scenario(
        0, 0, radar="iwr1843boost_presence", prompt="two elderly people doing squats in the kitchen"
    )
    assert [p.activity for p in sc.people] == ["squats", "squats"]
    assert {p.subject["age_group"] for p in sc.people} == {"elderly"}


def test_replay_reads_a_dataset_as_a_source(datasets: dict[str, Path]) -> None:
    """The runtime's replay streams a simulated dataset without importing sim (raw ADC frames)."""
    from runtime.frames import RawFrame
    from runtime.sources.replay import ReplaySource, detect_kind

    root = datasets["whole"]
    assert detect_kind(root) == "dataset"
    ds = open_dataset(root)
    with ReplaySource(root) as src:
        frames = list(src.frames())
    expected = [ds[i].adc[f] for i in ds.sample_indices() for f in range(ds[i].num_frames)]
    assert len(frames) == len(expected) and all(isinstance(f, RawFrame) for f in frames)
    assert [f.frame_number for f in frames] == list(range(len(expected)))
    for f, e in zip(frames, expected, strict=True):
        np.testing.assert_array_equal(f.data, e)
    period = src.radar_config.chirp.frame_period_s
    np.testing.assert_allclose(np.diff([f.timestamp for f in frames]), period, rtol=1e-6)
