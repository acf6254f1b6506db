"""Captions from hand-built ground truth: right activity, count, direction; reproducible paraphrases."""

from __future__ import annotations

import re

import pytest

from sim.captions import ACTIVITY_PHRASES, GRANULARITIES, make_captions

ROOM = {
    "room_type": "living_room",
    "objects": [
        {"label": "sofa", "position": [1.0, 3.0]},
        {"label": "window", "position": [0.0, 3.5]},
        {"label": "tv", "position": [4.0, 0.2]},
    ],
}


def _person(activity: str, x: float, y: float, **kw: object) -> dict:
    p = {
        "activity": activity,
        "activities": [activity],
        "position_world": [1.0, 3.0, 0.8],
        "position_radar": [x, y, -0.5],
        "radial_velocity_mps": 0.0,
        "lateral_velocity_mps": 0.0,
        "speed_mps": 0.0,
        "subject": {"age_group": "adult", "sex": "female"},
        "support": None,
        "micro_doppler": {"limb_speed_mps": 0.05, "dominant_hz": None},
        "breathing_per_min": 14.2,
        "heart_per_min": 67.6,
    }
    p.update(kw)
    return p


def _texts(caps: list[dict], granularity: str) -> list[str]:
    return [c["text"].lower() for c in caps if c["granularity"] == granularity]


def test_activity_count_and_direction() -> None:
    truth = {
        "room": ROOM,
        "people": [
            _person("squats", -0.7, 1.9, micro_doppler={"limb_speed_mps": 1.4, "dominant_hz": 2.0})
        ],
    }
    caps = make_captions(truth, seed=1)
    assert {c["granularity"] for c in caps} <= set(GRANULARITIES)
    (act,) = _texts(caps, "activity")
    assert any(p in act for p in ACTIVITY_PHRASES["squats"])
    (pos,) = _texts(caps, "count_position")
    assert pos.startswith("one person") and "about 2 m" in pos and "slightly to the left" in pos
    (sig,) = _texts(caps, "signal")
    assert "strong" in sig and "2.0 hz" in sig
    (vit,) = _texts(caps, "vitals")
    assert "14" in vit and "68" in vit


def test_two_people_and_motion_toward() -> None:
    walker = _person(
        "walk", 0.1, 3.0, speed_mps=1.2, radial_velocity_mps=-1.15, position_world=[3.0, 1.0, 1.0]
    )
    sitter = _person(
        "sit", 2.0, 2.0, support="sofa", subject={"age_group": "elderly", "sex": "male"}
    )
    caps = make_captions({"room": ROOM, "people": [walker, sitter]}, seed=3)
    (act,) = _texts(caps, "activity")
    assert "walk" in act and ("sitting" in act or "seated" in act)
    (pos,) = _texts(caps, "count_position")
    assert pos.startswith("two people") and "straight ahead" in pos and "to the right" in pos
    motion = _texts(caps, "motion")
    assert (
        "toward the radar at about 1.1 m/s" in motion[0]
        or "toward the radar at about 1.2 m/s" in motion[0]
    )
    context = _texts(caps, "context")
    assert "on the sofa" in context[1] and ("elderly" in context[1] or "older" in context[1])


def test_away_and_across() -> None:
    away = make_captions(
        {"people": [_person("walk", 0.0, 3.0, speed_mps=1.0, radial_velocity_mps=0.9)]}, seed=0
    )
    assert "away from the radar" in _texts(away, "motion")[0]
    across = make_captions(
        {
            "people": [
                _person(
                    "walk",
                    0.0,
                    3.0,
                    speed_mps=1.0,
                    radial_velocity_mps=0.1,
                    lateral_velocity_mps=0.95,
                )
            ]
        },
        seed=0,
    )
    assert "left to right" in _texts(across, "motion")[0]


def test_paraphrases_stable_per_seed_and_vary_across_seeds() -> None:
    truth = {
        "room": ROOM,
        "people": [
            _person("boxing", 0.5, 2.5, micro_doppler={"limb_speed_mps": 0.7, "dominant_hz": 1.5})
        ],
    }
    assert make_captions(truth, seed=7) == make_captions(truth, seed=7)
    variants = {tuple(c["text"] for c in make_captions(truth, seed=s)) for s in range(12)}
    assert len(variants) > 3


def test_no_caption_states_absent_facts() -> None:
    truth = {
        "people": [
            _person(
                "wave",
                0.0,
                2.0,
                breathing_per_min=None,
                heart_per_min=None,
                micro_doppler=None,
                subject=None,
            )
        ]
    }
    for seed in range(10):
        caps = make_captions(truth, seed=seed)
        grans = {c["granularity"] for c in caps}
        assert "vitals" not in grans and "signal" not in grans
        text = " ".join(c["text"].lower() for c in caps)
        # only the true activity, no room, no objects, no other counts
        for act, phrases in ACTIVITY_PHRASES.items():
            if act != "wave":
                assert not any(
                    re.search(rf"\b{re.escape(p)}\b", text)
                    for p in phrases
                    if p not in ("standing",)
                ), act
        assert not re.search(r"\b(two|three) people\b", text)
        assert "room" not in text and "sofa" not in text


def test_nobody_and_bad_activity() -> None:
    caps = make_captions({"room": ROOM, "people": []}, seed=0)
    assert "nobody" in caps[0]["text"].lower()
    with pytest.raises(ValueError, match="juggling"):
        make_captions({"people": [_person("juggling", 0.0, 2.0)]}, seed=0)


def test_mostly_hidden_person_claims_no_radar_detail() -> None:
    """Below MOSTLY_HIDDEN_BELOW line of sight: no micro-Doppler or vitals claims, and the context
    says what hides the person; a person in full view (or without the field) is unchanged."""
    plain = _person("walk", 0.5, 3.0, speed_mps=1.0, room_type="bedroom")
    seen = dict(plain, line_of_sight=1.0, occluded_by=None)
    for seed in range(5):
        assert make_captions({"room": ROOM, "people": [seen]}, seed=seed) == make_captions(
            {"room": ROOM, "people": [plain]}, seed=seed
        )
    hidden = dict(plain, line_of_sight=0.1, occluded_by="door")
    for seed in range(5):
        caps = make_captions({"room": ROOM, "people": [hidden]}, seed=seed)
        grans = {c["granularity"] for c in caps}
        assert "signal" not in grans and "vitals" not in grans
        (context,) = _texts(caps, "context")
        assert context.endswith("mostly hidden from the radar behind the door")
        assert "mostly hidden" in _texts(caps, "summary")[0]
    behind = dict(plain, line_of_sight=0.0, occluded_by="person")
    two = make_captions({"room": ROOM, "people": [plain, behind]}, seed=0)
    assert len(_texts(two, "vitals")) == 1 and _texts(two, "vitals")[0].startswith("person 1:")
    assert "behind another person" in _texts(two, "context")[1]
    # no room, no nearby object: the context caption is only the note
    bare = {"people": [dict(hidden, room_type=None, position_world=[9.0, 9.0, 1.0])]}
    (context,) = _texts(make_captions(bare, seed=0), "context")
    assert "walking, mostly hidden from the radar behind the door" in context
