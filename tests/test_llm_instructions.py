"""mm-LLM instruction pairs from simulator truth: deterministic, every type, consistent with the truth,
held-out split by room and subject. Runs on real (tiny) simulated samples."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import pytest
from test_dataset import FAST, tiny_cfg_text

from runtime.dataset import open_dataset
from sim.dataset.writer import GenerateSpec, generate
from training.llm.instructions import (
    QUESTION_TYPES,
    SplitSpec,
    is_heldout_room,
    is_heldout_subject,
    make_instructions,
    room_key,
    sample_instructions,
    split_of,
    subject_key,
    vitals_measurable,
    write_instructions,
)

SEED = 5


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two tiny datasets: 3 random samples (0.1 s windows) and one fall (0.5 s: standing, falling)."""
    base = tmp_path_factory.mktemp("llm-ds")
    cfg = base / "tiny.cfg"
    cfg.write_text(tiny_cfg_text(), encoding="utf-8")

    def spec(num: int, window_s: float, prompt: str | None) -> GenerateSpec:
        return GenerateSpec(
            num=num,
            seed=SEED,
            radar=str(cfg),
            window_s=window_s,
            outputs=("points",),
            prompt=prompt,
            trace=FAST,
        )

    generate(base / "random", spec(3, 0.1, None), num_shards=1)
    generate(base / "fall", spec(1, 0.5, "an elderly woman falls in the living room"), num_shards=1)
    return {"random": base / "random", "fall": base / "fall"}


@pytest.fixture(scope="module")
def samples(datasets: dict[str, Path]) -> list:
    return [s for name in ("random", "fall") for s in open_dataset(datasets[name])]


def _by_type(qas: list) -> dict[str, list]:
    out: dict[str, list] = {}
    for qa in qas:
        out.setdefault(qa.type, []).append(qa)
    return out


def test_deterministic_and_seeded_per_sample(samples: list) -> None:
    for s in samples:
        assert sample_instructions(s, seed=SEED) == sample_instructions(s, seed=SEED)
    # another seed rewords (the same facts)
    a = [qa.question + qa.answer for s in samples for qa in sample_instructions(s, seed=SEED)]
    b = [qa.question + qa.answer for s in samples for qa in sample_instructions(s, seed=SEED + 1)]
    assert a != b
    # one sample's pairs do not depend on which other samples are generated
    s = samples[1]
    alone = make_instructions(
        {k: v for k, v in s.truth.items() if not hasattr(v, "dtype")},
        s.meta["window"],
        seed=SEED,
        index=s.index,
        sample_id=s.meta["id"],
    )
    assert alone == sample_instructions(s, seed=SEED)


def test_every_question_type_appears(samples: list) -> None:
    types = {qa.type for s in samples for qa in sample_instructions(s, seed=SEED)}
    assert types == set(QUESTION_TYPES)
    ids = [qa.id for s in samples[:3] for qa in sample_instructions(s, seed=SEED)]
    assert len(ids) == len(set(ids))  # unique within a dataset
    with pytest.raises(ValueError, match="unknown question types"):
        make_instructions(
            {"people": []}, {"start_s": 0, "duration_s": 1}, seed=0, index=0, types=["gossip"]
        )


def test_answers_agree_with_the_truth(samples: list) -> None:
    for s in samples:
        people = s.truth["people"]
        room = s.truth["room"]
        qas = _by_type(sample_instructions(s, seed=SEED))
        counts = [
            qa
            for qa in qas["counting"]
            if qa.question.startswith(("How many people are", "Count", "How many people do"))
        ]
        assert counts[0].key == str(len(people)), counts[0]
        assert qas["presence"][0].key == ("yes" if people else "no")
        for qa in qas["activity"]:
            if qa.key not in ("yes", "no"):
                assert set(qa.key.split(",")) <= {p["activity"] for p in people}
        for qa in qas["location"]:
            assert qa.key == people[qa.people[0]]["room_type"]
            assert people[qa.people[0]]["room_type"].replace("_", " ") in qa.answer
        for qa in qas["vitals"]:
            p = people[qa.people[0]]
            ok, _ = vitals_measurable(p)
            if ok:
                rate = p["breathing_per_min"] if "breath" in qa.answer else p["heart_per_min"]
                assert qa.key == str(round(rate)) and qa.key in qa.answer
            else:
                assert qa.key == "unmeasurable" and "can't measure" in qa.answer
        for qa in qas["duration"]:
            if "recording" in qa.question or "window" in qa.question:
                assert float(qa.key) == pytest.approx(s.meta["window"]["duration_s"], abs=0.05)
        labels = {o["label"] for o in room["objects"]}
        for qa in qas["layout"]:
            if qa.question.startswith(("What furniture", "What is in")):
                assert set(qa.key.split(",")) <= labels
            elif qa.question.startswith(("Is there", "Do you know")):
                asked = next(
                    w
                    for w in qa.question.rstrip("?").split()
                    if w.lower()
                    in {lab.replace("_", " ").lower() for lab in labels}
                    | {
                        "bed",
                        "table",
                        "chair",
                        "desk",
                        "wardrobe",
                        "fridge",
                        "bookshelf",
                        "sofa",
                        "armchair",
                        "tv",
                        "cabinet",
                        "lamp",
                        "bathtub",
                        "toilet",
                        "sink",
                    }
                )
                assert qa.key == ("yes" if asked.lower() in labels else "no"), qa
        for qa in qas["refusal"]:
            assert qa.key == "refuse"
        for qa in qas["comparison"]:
            if "closer than" in qa.question:
                d = float(qa.question.split("closer than ")[1].split(" m")[0])
                p = people[qa.people[0]]
                assert qa.key == ("yes" if p["range_m"] < d else "no")
                assert abs(p["range_m"] - d) >= 0.5  # never borderline


def test_hand_checked_fall_sample(datasets: dict[str, Path]) -> None:
    (s,) = list(open_dataset(datasets["fall"]))
    (p,) = s.truth["people"]
    assert p["activities"] == ["stand", "fall"] and s.meta["window"]["duration_s"] == 0.5
    qas = _by_type(sample_instructions(s, seed=SEED))
    fall_q = next(qa for qa in qas["safety"] if "fall" in qa.question.lower())
    assert fall_q.key == "yes"
    # the fall starts at 1.0 s of the plan; the window starts at 0.8 s
    t0 = next(seg["start_s"] for seg in p["timeline"] if seg["activity"] == "fall")
    t_rel = t0 - s.meta["window"]["start_s"]
    assert f"{t_rel:.1f} s into the recording" in fall_q.answer
    assert "still falling" in fall_q.answer  # the window ends mid-fall: not yet "on the floor"
    assert {qa.key for qa in qas["counting"]} >= {"1"}
    (vit,) = qas["vitals"]
    assert vit.key == "unmeasurable"  # a falling body gives no vital signs
    timeline = [
        qa for qa in qas["timeline"] if "change" in qa.question or "different" in qa.question
    ]
    assert timeline and timeline[0].key == "yes"
    order = [qa for qa in qas["timeline"] if qa not in timeline]
    assert order[0].key in ("stand", "fall")
    assert order[0].key == ("stand" if "before" in order[0].question else "fall")


def test_files_are_deterministic_and_split_by_room_and_subject(
    datasets: dict[str, Path], tmp_path: Path
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    rep = write_instructions(datasets["random"], a)
    write_instructions(datasets["random"], b)
    for name in ("train.jsonl", "heldout.jsonl", "card.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    card = json.loads((a / "card.json").read_text())
    assert card["format"] == "mmfm.llm.instructions/1"
    rows = [json.loads(line) for n in ("train", "heldout") for line in (a / f"{n}.jsonl").open()]
    assert sum(sum(c.values()) for c in rep.counts.values()) == len(rows)
    assert (
        card["files"]["train.jsonl"] == hashlib.sha256((a / "train.jsonl").read_bytes()).hexdigest()
    )
    # a whole room type held out: the fall (living room) goes to heldout
    (fall,) = list(open_dataset(datasets["fall"]))
    truth = {k: v for k, v in fall.truth.items() if not hasattr(v, "dtype")}
    scen = fall.meta["scenario"]
    assert split_of(scen, truth, SplitSpec(heldout_fraction=0.0)) == "train"
    assert split_of(scen, truth, SplitSpec(0.0, heldout_room_types=("living_room",))) == "heldout"
    # many variants of the real truths: no held-out room or subject ever appears in train
    spec = SplitSpec(heldout_fraction=0.3)
    counts = {"train": 0, "heldout": 0}
    for s in open_dataset(datasets["random"]):
        base = {k: v for k, v in s.truth.items() if not hasattr(v, "dtype")}
        for v in range(60):
            t = copy.deepcopy(base)
            for k, p in enumerate(t["people"]):
                p["subject"]["height_m"] = 1.5 + 0.01 * ((v * 7 + k) % 40)
            sc = dict(s.meta["scenario"], scene_seed=v % 17)
            which = split_of(sc, t, spec)
            counts[which] += 1
            held = [is_heldout_room(room_key(sc, t), spec)] + [
                is_heldout_subject(subject_key(p["subject"]), spec) for p in t["people"]
            ]
            assert any(held) == (which == "heldout")
    assert counts["train"] > 20 and counts["heldout"] > 20, counts
