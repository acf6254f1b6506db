"""mm-LLM instruction data: episodes, truth events (the context) and the data set are deterministic;
the "history" context never states what only the radar window shows; answers are scored by key."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from runtime.models import load_model
from training.llm.data import LLMData, build_data
from training.llm.episodes import make_episode
from training.llm.evaluate import key_correct, stratified
from training.llm.truth_events import episode_now, truth_context, truth_events


@pytest.fixture(scope="module")
def contract() -> dict:
    return load_model("clmp-points-v2").input_contract


def test_episode_is_deterministic_and_fits_the_encoder(contract: dict) -> None:
    a = make_episode(5, 2, contract)
    b = make_episode(5, 2, contract)
    assert a.points.shape == (20, 64, 5) and a.mask.shape == (20, 64)
    assert a.points.dtype == np.float32 and a.mask.sum() > 0
    assert np.array_equal(a.points, b.points) and np.array_equal(a.mask, b.mask)
    assert json.dumps(a.truth, sort_keys=True) == json.dumps(b.truth, sort_keys=True)
    assert a.split == b.split and a.split in ("train", "heldout")
    assert {"room", "people", "window"} <= set(a.truth)


def _truth() -> dict:
    person = {
        "activity": "sit",
        "activities": ["sit"],
        "timeline": [
            {"activity": "walk", "start_s": 0.0, "end_s": 3.0},
            {"activity": "fall", "start_s": 3.0, "end_s": 4.5},
            {"activity": "sit", "start_s": 4.5, "end_s": 9.0},
        ],
        "position_radar": [0.5, 2.0, 0.0],
        "position_world": [1.0, 2.0, 0.0],
        "speed_mps": 0.0,
        "breathing_per_min": 15.2,
        "heart_per_min": 71.0,
        "line_of_sight": 1.0,
        "occluded_by": None,
    }
    return {"people": [person], "window": {"start_s": 6.0, "duration_s": 2.0}}


def test_history_context_hides_the_window_full_context_states_it() -> None:
    truth = _truth()
    full = truth_context(truth, "full")
    hist = truth_context(truth, "history")
    assert "1 person." in full and "breathing 15/min" in full and "fall" in full
    assert "walking" in hist and "fall" in hist  # logged before the window began
    assert "person." not in hist.split("\n")[0] and "Vitals" not in hist
    assert "sitting" not in full and "sitting" not in hist  # the window's activity: radar only
    assert all(e.time <= episode_now(truth) for e in truth_events(truth, "full"))
    with pytest.raises(ValueError, match="unknown context mode"):
        truth_events(truth, "all")


def test_room_line_grounds_layout_questions() -> None:
    from training.llm.truth_events import truth_room

    truth = _truth()
    assert truth_room(truth) is None and "Room:" not in truth_context(truth, "full")
    truth["room"] = {
        "room_type": "bedroom",
        "size_m": [3.5, 4.0, 2.6],
        "objects": [{"label": "bed"}, {"label": "door"}, {"label": "wardrobe"}],
    }
    for mode in ("full", "history"):  # static: both views carry it
        assert truth_context(truth, mode).splitlines()[0] == (
            "Room: bedroom, 3.5 x 4.0 m; bed, wardrobe."
        )


def test_data_set_is_deterministic(tmp_path) -> None:
    c1 = build_data(tmp_path / "a", num=3, seed=3)
    c2 = build_data(tmp_path / "b", num=3, seed=3)
    assert c1["files"] == c2["files"] and c1["num_episodes"] == 3
    data = LLMData(tmp_path / "a")
    assert data.embeddings.shape == (3, 256)
    assert np.allclose(np.linalg.norm(data.embeddings, axis=1), 1.0, atol=1e-3)
    rows = data.qa["train"] + data.qa["heldout"]
    assert rows and all(0 <= r["episode"] < 3 for r in rows)
    assert {e["split"] for e in data.episodes} <= {"train", "heldout"}
    for r in rows:  # a pair's split is its episode's (held out by room and subject)
        assert data.episodes[r["episode"]]["split"] == r["split"]


@pytest.mark.parametrize(
    ("qtype", "key", "answer", "ok"),
    [
        ("presence", "yes", "Yes, one person.", True),
        ("presence", "no", "Yes, one person.", False),
        ("counting", "2", "I count two people.", True),
        ("counting", "0", "Nobody is walking.", True),
        ("counting", "1", "Two people.", False),
        ("activity", "walk", "She is walking around.", True),
        ("activity", "squats", "He is doing a set of squats.", True),
        ("activity", "squats", "He is walking.", False),
        ("activity", "boxing,walk", "One is boxing, another is walking.", True),
        ("activity", "boxing,walk", "One is boxing.", False),
        ("vitals", "18", "About 17 breaths/min.", True),
        ("vitals", "18", "About 25 breaths/min.", False),
        ("vitals", "unmeasurable", "I can't measure it reliably.", True),
        ("refusal", "refuse", "A radar cannot see colours.", True),
        ("refusal", "refuse", "It is red.", False),
        ("location", "living_room", "She is in the living room.", True),
        ("layout", "3.0x4.2", "About 3 m by 4.2 m.", True),
        ("duration", "2.0", "About 2 seconds.", True),
        ("presence", "yes", "", False),
    ],
)
def test_key_correct(qtype: str, key: str, answer: str, ok: bool) -> None:
    assert key_correct(qtype, key, answer) is ok


def test_stratified_round_robin() -> None:
    rows = [{"type": t, "i": i} for i in range(3) for t in ("a", "b")] + [{"type": "c", "i": 0}]
    got = stratified(rows, 4)
    assert [r["type"] for r in got] == ["a", "b", "c", "a"]
    assert [r["type"] for r in stratified(rows, 9, types=("c",))] == ["c"]
