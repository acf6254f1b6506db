"""Prompt parsing: room types, sizes, furniture with counts and negation, materials, errors."""

from __future__ import annotations

import pytest

from sim.scene import generate_scene, parse_prompt
from sim.scene.prompt import normalise_room_type


@pytest.mark.parametrize(
    ("text", "room_type"),
    [
        ("a living room", "living_room"),
        ("cosy lounge", "living_room"),
        ("a bedroom", "bedroom"),
        ("the kitchen", "kitchen"),
        ("a small bathroom", "bathroom"),
        ("home office", "office"),
        ("a corridor", "hallway"),
        ("a hallway with stairs", "hallway"),
        ("an apartment", "apartment"),
        ("a flat with a kitchen", "apartment"),
        ("a room with a sofa", None),
        ("", None),
    ],
)
def test_room_types(text: str, room_type: str | None) -> None:
    assert parse_prompt(text).room_type == room_type


def test_several_rooms_make_an_apartment_in_prompt_order() -> None:
    req = parse_prompt("a kitchen and a bedroom")
    assert req.room_type == "apartment" and req.apartment_rooms == ("kitchen", "bedroom")
    scene = generate_scene("a kitchen and a bedroom", seed=0)
    assert [r.room_type for r in scene.rooms] == ["kitchen", "bedroom"]


@pytest.mark.parametrize("text", ["a garage", "a dining room", "the attic", "a sunny ballroom"])
def test_unknown_room_types_list_the_known_ones(text: str) -> None:
    with pytest.raises(ValueError, match="unknown room type") as err:
        parse_prompt(text)
    for known in (
        "living_room",
        "bedroom",
        "kitchen",
        "bathroom",
        "office",
        "hallway",
        "apartment",
    ):
        assert known in str(err.value)
    with pytest.raises(ValueError, match="unknown room type"):
        normalise_room_type("garage")
    assert normalise_room_type("Living Room") == "living_room"


def test_sizes() -> None:
    assert parse_prompt("a small bedroom").size_class == "small"
    assert parse_prompt("a spacious living room").size_class == "large"
    req = parse_prompt("a bedroom 4 by 5 metres")
    assert req.size_m == (4.0, 5.0) and req.height_m is None
    req = parse_prompt("a 3.5x4x2.6 m office")
    assert req.size_m == (3.5, 4.0) and req.height_m == 2.6
    assert parse_prompt("an office with a ceiling of 3.1 m").height_m == 3.1
    with pytest.raises(ValueError, match="implausible"):
        parse_prompt("a 50 by 3 m room")
    with pytest.raises(ValueError, match="implausible"):
        parse_prompt("a 4 by 4 m room 9 m high")
    small = [generate_scene("a small bedroom", seed=s).size_m for s in range(3)]
    large = [generate_scene("a large bedroom", seed=s).size_m for s in range(3)]
    assert max(w * d for w, d, _ in small) < min(w * d for w, d, _ in large)
    assert generate_scene("a bedroom 4 by 5 metres", seed=1).size_m[:2] == (4.0, 5.0)


def test_furniture_counts_and_negation() -> None:
    req = parse_prompt("a living room with a sofa and a TV and two plants, no bookshelf")
    assert req.include == {"sofa": 1, "tv": 1, "plant": 2}
    assert req.exclude == {"bookshelf"}
    req = parse_prompt("a bedroom without a desk or a lamp but with a wardrobe")
    assert req.exclude == {"desk", "lamp"} and req.include == {"wardrobe": 1}
    req = parse_prompt("an office with no chair and a bookcase")
    assert req.exclude == {"chair"} and req.include == {"bookshelf": 1}
    # "bed" inside "bedroom" and "bath" inside "bathroom" are not furniture mentions.
    assert parse_prompt("a bedroom").include == {}
    assert parse_prompt("a bathroom").include == {}


def test_furniture_requests_are_honoured() -> None:
    scene = generate_scene("a kitchen with a sofa and no fridge", seed=0)
    labels = scene.labels()
    assert "sofa" in labels and "fridge" not in labels
    scene = generate_scene("a bedroom with no bed", seed=0)
    assert "bed" not in scene.labels()
    scene = generate_scene("a living room with three plants and no tv", seed=2)
    assert scene.labels().count("plant") >= 3 and "tv" not in scene.labels()


def test_material_hints() -> None:
    req = parse_prompt("a bedroom with glass walls and a metal cabinet")
    assert req.materials == {"walls": "glass", "cabinet": "metal"}
    assert req.include == {"cabinet": 1}
    req = parse_prompt("a concrete room")
    assert req.materials == {"walls": "concrete", "floor": "concrete", "ceiling": "concrete"}
    assert parse_prompt("an office with a wooden floor").materials == {"floor": "floorboard"}
    assert parse_prompt("walls made of plasterboard").materials == {"walls": "plasterboard"}
    scene = generate_scene("an office with glass walls and a metal cabinet", seed=1)
    assert {o.material for o in scene.objects if o.label == "wall"} == {"glass"}
    assert {o.material for o in scene.objects if o.label == "cabinet"} == {"metal"}


@pytest.mark.parametrize(
    ("text", "material", "valid"),
    [
        ("a bedroom with brick walls", "brick", "1-40 GHz"),
        ("a marble floor kitchen", "marble", "1-60 GHz"),
        ("a carpeted bedroom", "carpet", "none"),
    ],
)
def test_materials_invalid_at_mmwave_are_refused(text: str, material: str, valid: str) -> None:
    with pytest.raises(ValueError, match=material) as err:
        generate_scene(text)
    assert valid in str(err.value)
