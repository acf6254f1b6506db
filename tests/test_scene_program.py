"""Scene programs: several people per prompt, each with their own activities, place and timing;
``--scene FILE.json``; named setups and explicit mounting; prompts that fix the activity redraw the
scene instead of failing."""

from __future__ import annotations

import collections
import json
import math
from pathlib import Path

import numpy as np
import pytest

from firmware_cfg import emit_cfg, load_cfg, parse_cfg_text
from mmfm.cli import main as run
from runtime.dataset import open_dataset
from sim.dataset.people_prompt import parse_scene_program
from sim.dataset.program import ProgramError, SceneProgram, load_scene_program, validate_program
from sim.dataset.scenario import SETUPS, Scenario, ScenarioError, sample_scenario
from sim.dataset.writer import GenerateSpec
from sim.humans.motion.vocabulary import ACTIVITIES

ISSUE_PROMPT = "an elderly man falls in the kitchen while a woman sits on a chair"


@pytest.fixture(scope="module")
def slow_cfg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """IWR1843BOOST, 3 TX x 4 RX x 16 loops x 64 samples, 4 frames/s: a 2 s window in 8 frames."""
    text = emit_cfg(load_cfg("iwr1843boost_raw_activity"))
    text = text.replace("frameCfg 0 2 128 ", "frameCfg 0 2 16 ").replace(" 256 5000 ", " 64 5000 ")
    text = text.replace(" 0 50 1 0", " 0 250 1 0")
    assert parse_cfg_text(text).chirp.frame_period_s == pytest.approx(0.25)
    path = tmp_path_factory.mktemp("cfg") / "slow.cfg"
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------ parser
def test_two_people_each_with_their_own_activity_and_place() -> None:
    prog = parse_scene_program(ISSUE_PROMPT)
    assert prog.num_people() == 2 and prog.unused_words == []
    man, woman = prog.people
    assert (man.sex, man.age_group, man.activities, man.place) == (
        "male",
        "elderly",
        ["fall"],
        None,
    )
    assert woman.sex == "female" and woman.age_group is None
    assert woman.activities == ["sit_down"] and woman.timing == "while"
    assert woman.place is not None and (woman.place.relation, woman.place.object) == ("on", "chair")


def test_counts_places_sequences_and_timing() -> None:
    prog = parse_scene_program("two elderly people doing squats in a small kitchen")
    assert len(prog.people) == 1 and prog.people[0].count == 2 and prog.is_simple()
    prog = parse_scene_program("a man and a woman walking in the bedroom")
    assert [(p.sex, p.activities) for p in prog.people] == [
        ("male", ["walk"]),
        ("female", ["walk"]),
    ]
    prog = parse_scene_program("a child waves near the window, then a man falls then gets up")
    child, man = prog.people
    assert child.age_group == "child" and child.place is not None
    assert (child.place.relation, child.place.object) == ("near", "window")
    assert man.timing == "then" and man.activities == ["fall", "get_up"]
    prog = parse_scene_program("someone stands by the door in the hallway")
    assert prog.people[0].place is not None and prog.people[0].place.object == "door"


def test_unused_words_are_reported() -> None:
    prog = parse_scene_program("a person doing squats energetically next to a purple giraffe")
    assert prog.people[0].activities == ["squats"]
    assert prog.unused_words == ["energetically", "next", "purple", "giraffe"]
    assert parse_scene_program("a person walking in the office").unused_words == []


def test_every_registered_activity_is_accepted() -> None:
    """The schema's vocabulary is the motion registry's (new families need no change here)."""
    for name in ACTIVITIES:
        validate_program({"people": [{"activities": [name]}]}, "x")
    with pytest.raises(
        ProgramError, match=r"x: people\[0\]\.activities: .*unknown activity 'juggle'"
    ):
        validate_program({"people": [{"activities": ["juggle"]}]}, "x")


# ------------------------------------------------------------------------------------ schema
@pytest.mark.parametrize(
    ("doc", "key"),
    [
        ({"people": [{"activities": ["walk"], "mood": "happy"}]}, "people[0].mood"),
        (
            {
                "people": [
                    {"activities": ["walk"]},
                    {"activities": ["sit"], "place": {"on": "sofa"}},
                ]
            },
            "people[1].place.on",
        ),
        (
            {"people": [{"activities": ["walk"], "place": {"relation": "on", "object": "moon"}}]},
            "people[0].place.object",
        ),
        ({"people": [{"activities": []}]}, "people[0].activities"),
        (
            {
                "people": [
                    {"count": 2, "activities": ["walk"]},
                    {"count": 2, "activities": ["walk"]},
                ]
            },
            "(top level)",
        ),
        ({"rooms": "kitchen", "people": [{"activities": ["walk"]}]}, "rooms"),
        ({"people": [{"activities": ["walk"], "sex": "robot"}]}, "people[0].sex"),
    ],
)
def test_scene_file_errors_name_the_file_and_key(doc: dict, key: str, tmp_path: Path) -> None:
    path = tmp_path / "scene.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ProgramError) as err:
        load_scene_program(path)
    assert str(err.value).startswith(f"{path}: {key}: "), str(err.value)
    assert "\n" not in str(err.value)


def test_scene_file_bad_json_gives_the_line(tmp_path: Path) -> None:
    path = tmp_path / "scene.json"
    path.write_text('{"people": [\n  {"activities": ["walk"]},\n  oops\n]}', encoding="utf-8")
    with pytest.raises(ProgramError, match=rf"^{path}:3: invalid JSON"):
        load_scene_program(path)


def test_cli_scene_error_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "scene.json"
    path.write_text(
        json.dumps(
            {"people": [{"activities": ["fall"], "place": {"relation": "on", "objekt": "x"}}]}
        )
    )
    argv = ["sim", "generate", "--out", str(tmp_path / "ds"), "--num", "1", "--scene", str(path)]
    assert run(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"mmfm sim generate: error: {path}: people[0].place.objekt: Extra inputs are not permitted"
    ]


# ------------------------------------------------------------------------------------ sampler
def test_sampler_honours_each_persons_activity_and_place() -> None:
    for seed in range(3):
        sc = sample_scenario(seed, 0, radar="iwr1843boost_raw_activity", prompt=ISSUE_PROMPT)
        man, woman = sc.people
        assert man.activity == "fall" and man.subject["sex"] == "male"
        assert man.subject["age_group"] == "elderly"
        assert woman.activity == "sit_down" and woman.subject["sex"] == "female"
        assert woman.support == "chair" and woman.place == {"relation": "on", "object": "chair"}
        assert Scenario.from_dict(sc.to_dict()).to_dict() == sc.to_dict()
        # deterministic
        assert (
            sample_scenario(
                seed, 0, radar="iwr1843boost_raw_activity", prompt=ISSUE_PROMPT
            ).to_dict()
            == sc.to_dict()
        )


def test_near_places_and_sequences_and_then() -> None:
    sc = sample_scenario(
        1,
        0,
        radar="iwr1843boost_raw_activity",
        prompt="a child waves near the window, then a man falls then gets up",
    )
    child, man = sc.people
    scene = sc.scene()
    windows = [o for o in scene.objects if o.label == "window"]
    assert any(o.footprint.contains(*child.start_position, margin=1.3) for o in windows)
    acts = [s["activity"] for s in man.segments]
    assert acts.index("fall") < acts.index("get_up")
    # "then": the man falls only after the child's wave (its first activity) has run its course
    wave = next(s for s in child.segments if s["activity"] == "wave")
    fall = next(s for s in man.segments if s["activity"] == "fall")
    assert fall["start_s"] >= sc.window_start_s + 3.0 - 1e-6 and wave["start_s"] < fall["start_s"]
    with pytest.raises(ScenarioError, match="'walk' cannot follow"):
        sample_scenario(0, 0, radar="iwr1843boost_raw_activity", prompt="a man sits then walks")


def test_walking_prompt_redraws_instead_of_failing() -> None:
    """Issue 11: these samples exited 1 ("no walking goal 2 m away inside the radar's view")."""
    stats: collections.Counter = collections.Counter()
    for seed, index in ((4, 0), (4, 1), (3, 2), (3, 3)):
        sc = sample_scenario(
            seed,
            index,
            radar="iwr1443boost_radhar",
            prompt="a person walking in the office",
            window_s=0.2,
            stats=stats,
        )
        assert [p.activity for p in sc.people] == ["walk"]
    assert sum(n for r, n in stats.items() if r.startswith("scene redrawn")) >= 1


def test_radhar_setup_one_person_straight_ahead_of_a_radar_on_a_tripod() -> None:
    for k in range(4):
        sc = sample_scenario(2, k, setup="radhar", prompt="a person boxing", window_s=0.2)
        radar = sc.scene().radar
        assert radar.position[2] == pytest.approx(1.27) and radar.pitch_deg == 0.0
        (p,) = sc.people
        x, y, _ = radar.to_radar(np.array([*p.start_position, radar.position[2]]))
        assert 1.3 - 1e-6 <= math.hypot(x, y) <= 2.1 + 1e-6
        assert abs(math.degrees(math.atan2(x, y))) <= 10.0 + 1e-6
    assert SETUPS["radhar"].distance_m == (1.3, 2.1)


def test_explicit_mount_and_placement() -> None:
    sc = sample_scenario(
        0,
        0,
        radar="iwr1843boost_raw_activity",
        prompt="a person waving",
        mount_height_m=1.2,
        tilt_deg=5.0,
        distance_m=(2.0, 2.5),
        azimuth_deg=(-15.0, 15.0),
    )
    radar = sc.scene().radar
    assert radar.position[2] == pytest.approx(1.2) and radar.pitch_deg == pytest.approx(-5.0)
    x, y, _ = radar.to_radar(np.array([*sc.people[0].start_position, radar.position[2]]))
    assert 2.0 - 1e-6 <= math.hypot(x, y) <= 2.5 + 1e-6
    with pytest.raises(ScenarioError, match="tilt must be within 0-60"):
        sample_scenario(0, 0, prompt="a person waving", tilt_deg=80.0)
    with pytest.raises(ScenarioError, match="mount height"):
        sample_scenario(0, 0, prompt="a person waving", mount_height_m=9.0)


def test_spec_command_carries_the_new_options() -> None:
    spec = GenerateSpec(
        num=2,
        seed=1,
        radar="iwr1443boost_radhar",
        prompt="a person boxing",
        setup="radhar",
        mount_height_m=1.0,
        tilt_deg=0.0,
        person_range_m=(1.3, 2.1),
        person_azimuth_deg=(-10.0, 10.0),
    )
    cmd = spec.command()
    for part in (
        "--setup radhar",
        "--mount-height 1",
        "--tilt 0",
        "--person-range 1.3,2.1",
        "--person-azimuth=-10,10",
    ):
        assert part in cmd
    assert GenerateSpec.from_dict(spec.to_dict()) == spec
    plain = GenerateSpec(num=2, seed=1).to_dict()
    assert not {"setup", "program", "scene", "tilt_deg"} & set(plain)  # old specs unchanged


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--tilt", "90"], "tilt must be within 0-60"),
        (["--person-range", "2"], "--person-range must be MIN,MAX"),
        (["--person-azimuth=-80,0"], "--person-azimuth must lie within -60..60"),
        (["--setup", "radhar", "--prompt", "two people boxing"], "one person"),
    ],
)
def test_cli_mount_options_bad_input(
    extra: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["sim", "generate", "--out", str(tmp_path / "ds"), "--num", "1", *extra]
    assert run(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


# ------------------------------------------------------------------------------------ end to end
def test_two_person_prompt_end_to_end(
    slow_cfg: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's prompt (plus one word no rule reads) through `mmfm sim generate`: two people
    with the asked activities and place in the ground truth and in the captions; the unused word is
    reported and stored."""
    out = tmp_path / "ds"
    prompt = "an elderly man falls in the kitchen while a woman slowly sits on a chair"
    argv = [
        "sim",
        "generate",
        "--out",
        str(out),
        "--num",
        "1",
        "--seed",
        "0",
        "--radar",
        str(slow_cfg),
        "--window-s",
        "2",
        "--outputs",
        "points",
        "--prompt",
        prompt,
        "--no-progress",
    ]
    assert run(argv) == 0
    assert "words not used in --prompt: slowly" in capsys.readouterr().err
    doc = json.loads(next(out.glob("shard-*/sample-*.json")).read_text())
    truth = doc["truth"]
    assert truth["prompt_unused_words"] == ["slowly"]
    man, woman = truth["people"]
    assert man["activity"] == "fall" and man["subject"]["sex"] == "male"
    assert woman["activity"] == "sit_down" and woman["subject"]["sex"] == "female"
    assert woman["place"] == {"relation": "on", "object": "chair"} and woman["support"] == "chair"
    texts = {c["granularity"]: [] for c in doc["captions"]}
    for c in doc["captions"]:
        texts[c["granularity"]].append(c["text"].lower())
    act = texts["activity"][0]
    assert "fall" in act and ("seat" in act or "sit" in act), act
    assert texts["context"][0].startswith("person 1: ") and "fall" in texts["context"][0]
    assert "person 2: " in texts["context"][1] and "on the chair" in texts["context"][1]
    assert open_dataset(out).complete


def test_scene_file_end_to_end(slow_cfg: Path, tmp_path: Path) -> None:
    path = tmp_path / "scene.json"
    program = {
        "room": "a small living room",
        "people": [
            {"sex": "female", "activities": ["sit"], "place": {"relation": "on", "object": "sofa"}}
        ],
    }
    path.write_text(json.dumps(program), encoding="utf-8")
    out = tmp_path / "ds"
    argv = [
        "sim",
        "generate",
        "--out",
        str(out),
        "--num",
        "1",
        "--radar",
        str(slow_cfg),
        "--window-s",
        "0.25",
        "--outputs",
        "points",
        "--scene",
        str(path),
        "--no-progress",
    ]
    assert run(argv) == 0
    doc = json.loads(next(out.glob("shard-*/sample-*.json")).read_text())
    (p,) = doc["truth"]["people"]
    assert p["support"] == "sofa" and p["place"] == {"relation": "on", "object": "sofa"}
    assert SceneProgram.model_validate(doc["scenario"]["program"]).people[0].activities == ["sit"]
    assert f"--scene {json.dumps(str(path))}" in (out / "README.md").read_text()


def test_captions_say_the_asked_place() -> None:
    """A person asked to be "near the window" is captioned there, not by the nearest object."""
    from sim.captions import make_captions

    room = {
        "room_type": "living_room",
        "objects": [
            {"label": "window", "position": [0.0, 3.0]},
            {"label": "plant", "position": [1.0, 1.0]},
        ],
    }
    person = {
        "activity": "wave",
        "subject": {"age_group": "child", "sex": "female"},
        "position_world": [1.2, 1.2, 0.9],
        "position_radar": [0.5, 2.0, -0.5],
        "place": {"relation": "near", "object": "window"},
    }
    for seed in range(5):
        caps = make_captions({"room": room, "people": [person]}, seed=seed)
        context = next(c["text"] for c in caps if c["granularity"] == "context")
        assert "window" in context and "plant" not in context
    plain = {k: v for k, v in person.items() if k != "place"}
    caps = make_captions({"room": room, "people": [plain]}, seed=0)
    assert "plant" in next(c["text"] for c in caps if c["granularity"] == "context")


def test_too_many_people_is_one_clear_line() -> None:
    with pytest.raises(ScenarioError) as err:
        sample_scenario(0, 0, prompt="two men boxing and two women waving")
    assert str(err.value) == (
        "prompt 'two men boxing and two women waving': (top level): at most 3 people in a scene, "
        "the program has 4"
    )
    assert parse_scene_program("four people walking").unused_words == ["four"]
