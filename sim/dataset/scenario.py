"""Scenario sampling: from ``(seed, index)`` to a scene, people with activity timelines, and a radar config.

:func:`sample_scenario` draws everything from ``numpy.random.default_rng([seed, index])``, so any sample
of a dataset can be regenerated alone. A :class:`Scenario` is plain data (``to_dict``/``from_dict``, stored
in each sample's JSON); :meth:`Scenario.build` turns it back into the scene, the people and the radar
configuration.

Per person: a subject (``sim.humans.sample_subject``), a main activity, a place accepted by the scene's
judge (``sim.scene.place_activity``, inside the radar's field of view and range), a timeline whose
lead-in (walking to a seat and sitting down, lying down on the bed...) ends before the window starts,
and breathing/heart rates (``sim.humans.sample_vitals``, raised for exercise): :mod:`sim.dataset.people`.
All people share the window ``[window_start_s, window_start_s + window_s)``.

Setups (``setup="radhar"``, :data:`SETUPS`) imitate a real recording so that simulated and real data
can be compared like for like: the recording's radar configuration and mounting, one person at a
distance and azimuth in the recording's ranges, facing the radar. ``distance_m`` / ``azimuth_deg``
alone constrain where people stand in any scenario. Without them sampling is unchanged (same bytes).

Visibility: a place in the field of view can still be hidden from the radar (behind an open door leaf,
a wardrobe, another person). :func:`sim.dataset.visibility.line_of_sight` measures the fraction of a
person's joints whose segment from the radar crosses no static mesh and no other person (the scatter
backend's occlusion test). The sampler rejects a placement where a person (the new one, or one already
placed) would have a line of sight below :data:`MIN_LINE_OF_SIGHT` at the start of the window, logs it
(logger ``sim.dataset.scenario``, INFO, like the scene judge) and counts it in ``stats``, and draws
another placement (:data:`PLACEMENT_TRIES` per person, then another scene). A final check on the
finished scenario (every person at the window start, timelines aligned) rejects the whole attempt in
the rare case the aligned poses differ enough. A walker may still go behind something later in the
window: the dataset truth records each person's line of sight over the window (``sim.dataset.simulate``).
"""

from __future__ import annotations

import collections
import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from firmware_cfg import RadarConfig, emit_cfg, load_cfg, parse_cfg_text
from sim.dataset.people import (
    REGION_ACTIVITIES,
    PersonPlan,
    PlannedMotion,
    count_rejection,
    delay,
    extend_sequence,
    main_activity_end,
    plan_person,
    sample_person_vitals,
)
from sim.dataset.people_prompt import parse_scene_program
from sim.dataset.program import PersonSpec, ProgramError, SceneProgram
from sim.dataset.visibility import Visibility, line_of_sight
from sim.geometry import RadarPose
from sim.humans import Human, Subject, sample_subject
from sim.scene import PlacementError, Scene, generate_scene
from sim.scene.recording_rooms import recording_room

#: Weights of the main activity when a scenario is sampled without a prompt.
ACTIVITY_WEIGHTS: dict[str, float] = {
    "walk": 3.0,
    "stand": 1.5,
    "sit": 1.5,
    "typing": 1.0,
    "sleep": 1.0,
    "sit_down": 0.6,
    "stand_up": 0.6,
    "lie_down": 0.5,
    "fall": 1.0,
    "get_up": 0.5,
    "wave": 1.0,
    "boxing": 1.0,
    "jumping_jacks": 1.0,
    "jump": 1.0,
    "squats": 1.0,
    "swipe_left": 0.4,
    "swipe_right": 0.4,
    "push": 0.4,
    "pull": 0.4,
    "circle": 0.4,
}
#: Probability of 1, 2, 3 people in a sampled scenario.
PEOPLE_PROBS = (0.6, 0.3, 0.1)
#: Bundled profiles used by ``radar="random"``.
RANDOM_PROFILES = (
    "iwr1443boost_raw_activity",
    "iwr1843boost_raw_activity",
    "iwr6843isk_raw_activity",
    "iwr1843boost_presence",
    "iwr6843isk_presence",
)
#: The dense truth (micro-Doppler frequency) spans at least this long [s].
MIN_ANALYSIS_S = 4.0
#: A placement is rejected when a person's line of sight (fraction of joints the radar sees directly,
#: :func:`~sim.dataset.visibility.line_of_sight`) at the start of the window is below this: with three quarters of the body
#: hidden the echo is too weak and partial for the captions to be about what the radar sees.
MIN_LINE_OF_SIGHT = 0.25
#: Placements drawn per person (judge-accepted, then the line-of-sight check) before the sampler gives
#: up on the scene and draws another one.
PLACEMENT_TRIES = 10

log = logging.getLogger(__name__)


#: RadHAR's radar (nesl/RadHAR, ``../shared/realdata/radhar-fewshot``): IWR1443BOOST, TI's SDK 1.x
#: out-of-box demo. The exact .cfg is not published; the bundled profile reproduces what the recordings
#: show (its header gives the figures and how they match RadHAR's).
RADHAR_PROFILE = "iwr1443boost_radhar"


@dataclass(frozen=True)
class Setup:
    """A real recording setup to imitate (``sample_scenario(setup=name)``).

    Attributes:
        name: key in :data:`SETUPS` (also the scenario's ``radar_profile`` when its cfg is used).
        profile: bundled ``firmware_cfg`` profile holding the radar configuration (used when
            ``radar="random"``).
        board: board of ``profile``.
        distance_m: (min, max) horizontal distance of the person from the radar [m].
        azimuth_deg: (min, max) azimuth from boresight, positive to the radar's right [deg].
        radar_height_m: radar height above the floor [m] (tripod, boresight level: pitch 0).
        heading_jitter_rad: the person faces the radar within +- this [rad].
        activities: main activities sampled when no prompt is given.
        room: the recording's room (:data:`sim.scene.recording_rooms.RECORDING_ROOMS`), which replaces
            the prompt's room; None: the prompt's (or a sampled) room.
    """

    name: str
    profile: str
    board: str
    distance_m: tuple[float, float]
    azimuth_deg: tuple[float, float]
    radar_height_m: float
    heading_jitter_rad: float
    activities: tuple[str, ...]
    room: str | None = None


#: Named setups. ``radhar``: one person 1.3-2.1 m straight ahead of the radar (within +-10 deg),
#: facing it (RadHAR's point clouds put the body at a median range of 1.3-2.1 m, near boresight),
#: radar on a tripod at 1.27 m (the recordings' floor echo straight below), in RadHAR's lab
#: (``radhar_lab``: an open room built from the recordings' static points, label-free:
#: :mod:`sim.scene.recording_rooms`). (``home``, the CLI's default, is no setup: the scene's wall
#: mount.)
SETUPS: dict[str, Setup] = {
    "radhar": Setup(
        name="radhar_iwr1443boost",
        profile=RADHAR_PROFILE,
        board="IWR1443BOOST",
        distance_m=(1.3, 2.1),
        azimuth_deg=(-10.0, 10.0),
        radar_height_m=1.27,
        heading_jitter_rad=0.2,
        activities=("boxing", "jumping_jacks", "jump", "squats", "walk"),
        room="radhar_lab",
    )
}


class ScenarioError(ValueError):
    """Bad input for a scenario (unknown activity, impossible placement, invalid config)."""


class _HiddenError(ValueError):
    """Every placement tried for a person was hidden from the radar (another scene may do)."""


@dataclass(frozen=True)
class Scenario:
    """Everything sampled for one dataset sample (JSON-able through :meth:`to_dict`).

    Attributes:
        seed, index: where it came from (``default_rng([seed, index])``).
        prompt: scene prompt (None: sampled room).
        scene_seed: seed of ``generate_scene``.
        radar_profile: bundled profile name or the ``.cfg`` path given.
        cfg_text: the configuration as ``emit_cfg`` writes it (the source of truth).
        board: board name.
        window_start_s, window_s, num_frames: the window [s] and its frames.
        people: the people.
        scatter_seed: seed of the propagation backend's random parts (same for every frame).
        setup: the :data:`SETUPS` key it imitates (None: plain sampling).
        radar_pose: ``{"position", "yaw_deg", "pitch_deg"}`` replacing the scene's radar mount
            (None: the scene's own). Both are written by ``to_dict`` only when set.
        program: the scene program (:class:`sim.dataset.program.SceneProgram` as a dict) when it is
            more than one kind of person doing one activity anywhere, or came from ``--scene``, or
            the prompt had unused words; written by ``to_dict`` only when set.
        room: a recording room (:data:`sim.scene.recording_rooms.RECORDING_ROOMS`) built from
            ``scene_seed`` instead of the prompt's room (a setup's); written only when set.
    """

    seed: int
    index: int
    prompt: str | None
    scene_seed: int
    radar_profile: str
    cfg_text: str
    board: str
    window_start_s: float
    window_s: float
    num_frames: int
    people: list[PersonPlan]
    scatter_seed: int
    setup: str | None = None
    radar_pose: dict[str, Any] | None = None
    program: dict[str, Any] | None = None
    room: str | None = None
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.setup is not None:
            extra["setup"] = self.setup
        if self.radar_pose is not None:
            extra["radar_pose"] = self.radar_pose
        if self.program is not None:
            extra["program"] = self.program
        if self.room is not None:
            extra["room"] = self.room
        return {
            "seed": self.seed,
            "index": self.index,
            "prompt": self.prompt,
            "scene_seed": self.scene_seed,
            "radar_profile": self.radar_profile,
            "cfg_text": self.cfg_text,
            "board": self.board,
            "window_start_s": self.window_start_s,
            "window_s": self.window_s,
            "num_frames": self.num_frames,
            "scatter_seed": self.scatter_seed,
            "people": [
                {
                    "name": p.name,
                    "subject": p.subject,
                    "activity": p.activity,
                    "segments": p.segments,
                    "start_position": list(p.start_position),
                    "start_heading": p.start_heading,
                    "start_posture": p.start_posture,
                    "support": p.support,
                    "vitals": p.vitals,
                    "seed": p.seed,
                    **({"place": p.place} if p.place is not None else {}),
                }
                for p in self.people
            ],
            **extra,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Scenario:
        people = [
            PersonPlan(
                p["name"],
                dict(p["subject"]),
                p["activity"],
                list(p["segments"]),
                tuple(p["start_position"]),
                float(p["start_heading"]),
                p["start_posture"],
                p["support"],
                dict(p["vitals"]),
                int(p["seed"]),
                p.get("place"),
            )
            for p in d["people"]
        ]
        keys = ("seed", "index", "prompt", "scene_seed", "radar_profile", "cfg_text", "board")
        return cls(
            **{k: d[k] for k in keys},
            window_start_s=float(d["window_start_s"]),
            window_s=float(d["window_s"]),
            num_frames=int(d["num_frames"]),
            people=people,
            scatter_seed=int(d["scatter_seed"]),
            setup=d.get("setup"),
            radar_pose=d.get("radar_pose"),
            program=d.get("program"),
            room=d.get("room"),
        )

    # ------------------------------------------------------------------ building
    def radar_config(self) -> RadarConfig:
        if "rc" not in self._cache:
            self._cache["rc"] = parse_cfg_text(
                self.cfg_text, source=self.radar_profile, board=self.board
            )
        return self._cache["rc"]

    def room_prompt(self) -> str | None:
        """What the room is generated from: the prompt, or a ``--scene`` program's room."""
        if self.prompt is None and self.program is not None:
            return SceneProgram.model_validate(self.program).room_prompt()
        return self.prompt

    def unused_words(self) -> list[str]:
        """Words of the prompt the parser did not use."""
        return list((self.program or {}).get("unused_words", []))

    def scene(self) -> Scene:
        """The :class:`sim.scene.Scene` (generated once, cached)."""
        if "scene" not in self._cache:
            if self.room is not None:
                height = (self.radar_pose or {}).get("position", [0, 0, 1.0])[2]
                scene = recording_room(self.room, self.scene_seed, float(height))
            else:
                scene = generate_scene(self.room_prompt(), seed=self.scene_seed)
            self._cache["scene"] = _with_radar_pose(scene, self.radar_pose)
        return self._cache["scene"]

    def humans(self) -> list[Human]:
        """Fresh :class:`sim.humans.Human` objects."""
        return [p.build() for p in self.people]

    def frame_starts_s(self) -> np.ndarray:
        """``[num_frames]`` absolute frame start times [s]."""
        period = self.radar_config().chirp.frame_period_s
        return self.window_start_s + np.arange(self.num_frames) * period


# ---------------------------------------------------------------------------------------- radar
def resolve_radar(radar: str) -> tuple[str, RadarConfig | None]:
    """Check a ``--radar`` value: ``"random"``, a bundled profile name or a ``.cfg`` path.

    Returns:
        ``(radar, config)``; config is None for ``"random"``.

    Raises:
        ScenarioError: unknown profile / missing file / invalid configuration (one line, naming it).
    """
    if radar == "random":
        return radar, None
    try:
        rc = load_cfg(radar)
    except FileNotFoundError as exc:
        raise ScenarioError(str(exc)) from None
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ScenarioError(f"{radar}: invalid configuration: {first}") from None
    try:
        rc.chirp.tx_order  # noqa: B018  (raises for non-TDM chirps)
    except ValueError as exc:
        raise ScenarioError(f"{radar}: {exc}") from None
    return radar, rc


def _check_setup(setup: str | None) -> Setup | None:
    if setup is None:
        return None
    if setup not in SETUPS:
        raise ScenarioError(f"unknown setup {setup!r}; known: {', '.join(sorted(SETUPS))}")
    return SETUPS[setup]


def _check_region(
    distance_m: tuple[float, float] | None, azimuth_deg: tuple[float, float] | None
) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """``(distance range [m], azimuth range [deg])`` or None; ScenarioError for bad ranges."""
    if distance_m is None and azimuth_deg is None:
        return None
    d0, d1 = (float(v) for v in (distance_m or (0.5, 100.0)))
    a0, a1 = (float(v) for v in (azimuth_deg or (-60.0, 60.0)))
    if not 0.0 < d0 <= d1:
        raise ScenarioError(f"distance_m must be 0 < min <= max [m], got {distance_m}")
    if not -60.0 <= a0 <= a1 <= 60.0:
        raise ScenarioError(
            f"azimuth_deg must be -60 <= min <= max <= 60 (the radar's view) [deg], got {azimuth_deg}"
        )
    return (d0, d1), (a0, a1)


def _pick_radar(radar: str, rng: np.random.Generator) -> tuple[str, RadarConfig]:
    if radar == "random":
        name = RANDOM_PROFILES[int(rng.integers(len(RANDOM_PROFILES)))]
        return name, load_cfg(name)
    _, rc = resolve_radar(radar)
    assert rc is not None
    return (Path(radar).name if Path(radar).exists() else radar), rc


# ---------------------------------------------------------------------------------------- prompt
def scene_program(prompt: str | None, program: SceneProgram | None = None) -> SceneProgram | None:
    """The scene program of a prompt (:func:`sim.dataset.people_prompt.parse_scene_program`) or the
    one given (``--scene``); None when neither is given. Unused words are logged (WARNING).

    Raises:
        ScenarioError: both given, no known activity in the prompt, or an invalid program.
    """
    if prompt and program is not None:
        raise ScenarioError("give a prompt or a scene program, not both")
    if program is not None:
        return program
    if not prompt:
        return None
    try:
        parsed = parse_scene_program(prompt)
    except (ValueError, ProgramError) as exc:
        raise ScenarioError(str(exc).splitlines()[0]) from None
    return parsed


def _expand(program: SceneProgram) -> list[tuple[PersonSpec, int]]:
    """One ``(spec, k)`` per person (``count`` copies of a spec; k = the spec's index)."""
    return [(p, k) for k, p in enumerate(program.people) for _ in range(p.count)]


# ---------------------------------------------------------------------------------------- people


def _with_radar_pose(scene: Scene, pose: dict[str, Any] | None) -> Scene:
    """``scene`` with its radar mount replaced by ``pose`` (None: unchanged)."""
    if pose is None:
        return scene
    radar = RadarPose(tuple(pose["position"]), pose["yaw_deg"], pose["pitch_deg"])
    return dataclasses.replace(scene, radar=radar)


# ---------------------------------------------------------------------------------------- visibility


def _hidden_reason(scene: Scene, people: list[tuple[PersonPlan, float]]) -> str | None:
    """Why the last of ``people`` (placed after the others) is rejected for visibility, or None.

    ``people``: each person's plan in their own time and the end of their lead-in [s]. Everyone is
    checked there (the window start), before the timelines are aligned; the new person must be seen
    and must not hide anyone placed before.
    """
    humans = [plan.build() for plan, _ in people]
    vis = line_of_sight(scene, humans, [[lead] for _, lead in people])
    return _visibility_reason([plan.name for plan, _ in people], vis)


def _visibility_reason(names: list[str], vis: list[Visibility]) -> str | None:
    """The rejection reason for the first person below :data:`MIN_LINE_OF_SIGHT`, or None."""
    for name, v in zip(names, vis, strict=True):
        if v.line_of_sight < MIN_LINE_OF_SIGHT:
            by = f", mostly by {v.occluder} {v.occluder_name}" if v.occluder else ""
            return (
                f"{name} would be hidden from the radar at the window start (line of sight "
                f"{v.line_of_sight:.2f} < {MIN_LINE_OF_SIGHT}{by})"
            )
    return None


def check_mount(
    mount_height_m: float | None, tilt_deg: float | None
) -> tuple[float | None, float | None]:
    """Validate a radar height [m] (0.2-3) and downward tilt [deg] (0-60); ScenarioError if bad."""
    if mount_height_m is not None and not 0.2 <= mount_height_m <= 3.0:
        raise ScenarioError(f"mount height must be within 0.2-3.0 m, got {mount_height_m:g} m")
    if tilt_deg is not None and not 0.0 <= tilt_deg <= 60.0:
        raise ScenarioError(f"tilt must be within 0-60 deg (downwards), got {tilt_deg:g} deg")
    return mount_height_m, tilt_deg


def sample_scenario(
    seed: int,
    index: int,
    *,
    radar: str = "random",
    prompt: str | None = None,
    window_s: float = 2.0,
    activities: dict[str, float] | None = None,
    max_attempts: int = 8,
    setup: str | None = None,
    distance_m: tuple[float, float] | None = None,
    azimuth_deg: tuple[float, float] | None = None,
    stats: collections.Counter | None = None,
    program: SceneProgram | None = None,
    mount_height_m: float | None = None,
    tilt_deg: float | None = None,
) -> Scenario:
    """Sample scenario ``index`` of a dataset with ``seed`` (deterministic per ``(seed, index)``).

    Args:
        radar: ``"random"`` (a bundled profile per sample), a bundled profile name or a ``.cfg`` path.
        prompt: fixes the room and the people (e.g. "an elderly man falls in the kitchen while a
            woman sits on a chair"; :mod:`sim.dataset.people_prompt`); None samples both.
        window_s: window length [s] (rounded to whole frames, at least one).
        activities: main-activity weights (default :data:`ACTIVITY_WEIGHTS`).
        max_attempts: scenes re-drawn when no acceptable placement exists (each counted in
            ``stats`` and logged); a prompt or program whose placement fails every attempt raises.
        setup: imitate a real recording (:data:`SETUPS`, e.g. ``"radhar"``): its radar
            configuration (unless ``radar`` names one), its radar mounting, its recording room
            (``Setup.room``, replacing the prompt's room), one person in its distance/azimuth
            ranges facing the radar, its activities when no prompt is given.
        distance_m: (min, max) horizontal distance [m] of each person's start position from the
            radar (default: the setup's; None without a setup: anywhere in view).
        azimuth_deg: (min, max) azimuth [deg] from boresight, positive to the radar's right.
        stats: when given, counts every rejected placement by reason (numbers blanked, like
            :func:`sim.scene.place_activity`): the judge's and the line-of-sight check's (module
            docstring), and every scene re-drawn for a prompt. Each is also logged (INFO).
        program: the scene program (``--scene``), instead of a prompt.
        mount_height_m: radar height above the floor [m] (default: the setup's or the scene's).
        tilt_deg: downward tilt of the boresight [deg] (0: level; default: the setup's or the
            scene's).

    Raises:
        ScenarioError: unknown activity in the prompt, an impossible placement, an invalid config,
            an unknown setup or bad ranges.
    """
    if window_s <= 0:
        raise ScenarioError(f"window length must be positive, got {window_s} s")
    spec = _check_setup(setup)
    mount_height_m, tilt_deg = check_mount(mount_height_m, tilt_deg)
    region = _check_region(
        distance_m if distance_m is not None else (spec.distance_m if spec else None),
        azimuth_deg if azimuth_deg is not None else (spec.azimuth_deg if spec else None),
    )
    prog = scene_program(prompt, program)
    rng = np.random.default_rng([seed, index])
    if spec is not None and radar == "random":
        profile, rc = spec.name, load_cfg(spec.profile, board=spec.board)
    else:
        profile, rc = _pick_radar(radar, rng)
    cfg = rc.chirp
    num_frames = max(1, round(window_s / cfg.frame_period_s))
    fixed: list[tuple[PersonSpec, int]] | None = None
    if prog is not None:
        fixed = _expand(prog)
        if spec is not None and len(fixed) != 1:
            raise ScenarioError(f"setup {setup!r} has one person; the prompt asks for {len(fixed)}")
        if region is not None:
            for person, _ in fixed:
                act = person.activities[0]
                if act not in REGION_ACTIVITIES:
                    raise ScenarioError(
                        f"{act!r} cannot be placed at a given distance/azimuth (it needs "
                        f"furniture); possible: {', '.join(REGION_ACTIVITIES)}"
                    )
        if prog.unused_words:
            log.info("scene prompt %r: words not used: %s", prompt, ", ".join(prog.unused_words))
    room_prompt = prompt if prompt else (prog.room_prompt() if prog is not None else None)
    stored_program = None
    if prog is not None and (program is not None or not prog.is_simple() or prog.unused_words):
        stored_program = prog.model_dump(mode="json")
    weights = activities or (
        dict.fromkeys(spec.activities, 1.0) if spec is not None else ACTIVITY_WEIGHTS
    )
    if region is not None and not fixed:
        bad = sorted(a for a, w in weights.items() if w > 0 and a not in REGION_ACTIVITIES)
        if bad:
            raise ScenarioError(
                f"activities {bad} cannot be placed at a given distance/azimuth (furniture needed)"
            )
    names = sorted(weights)
    probs = np.array([weights[n] for n in names], dtype=float)
    probs /= probs.sum()
    reasons: list[str] = []
    for _attempt in range(max_attempts):
        scene_seed = int(rng.integers(2**31))
        try:
            if spec is not None and spec.room is not None:
                scene = recording_room(spec.room, scene_seed, spec.radar_height_m)
            else:
                scene = generate_scene(room_prompt, seed=scene_seed)
        except ValueError as exc:
            raise ScenarioError(f"prompt {room_prompt!r}: {exc}") from None
        except RuntimeError as exc:
            reasons.append(str(exc))
            continue
        radar_pose = None
        if spec is not None or mount_height_m is not None or tilt_deg is not None:
            r = scene.radar
            height = spec.radar_height_m if spec is not None else float(r.position[2])
            pitch = 0.0 if spec is not None else float(r.pitch_deg)
            radar_pose = {
                "position": [
                    float(r.position[0]),
                    float(r.position[1]),
                    float(mount_height_m) if mount_height_m is not None else height,
                ],
                "yaw_deg": float(r.yaw_deg),
                "pitch_deg": -float(tilt_deg) if tilt_deg is not None else pitch,
            }
            scene = _with_radar_pose(scene, radar_pose)
        if fixed:
            count = len(fixed)
        elif spec is not None:
            count = 1
        else:
            count = int(rng.choice(len(PEOPLE_PROBS), p=PEOPLE_PROBS)) + 1
        # Each person as planned (their own time) with their identity, and the end of their lead-in.
        placed: list[tuple[PersonPlan, PlannedMotion]] = []
        taken: list[tuple[float, float]] = []
        try:
            for k in range(count):
                person = fixed[k][0] if fixed else None
                if person is not None:
                    activity, hints = person.activities[0], person.hints()
                else:
                    activity, hints = str(names[int(rng.choice(len(names), p=probs))]), {}
                subject = sample_subject(rng)
                if hints:
                    subject = Subject(**{**vars(subject), **hints})
                    if hints.get("age_group") == "child" and subject.height_m > 1.55:
                        subject = Subject(**{**vars(subject), "height_m": 1.3})
                for _try in range(PLACEMENT_TRIES):
                    motion = plan_person(
                        scene,
                        activity,
                        rng,
                        max_range_m=0.8 * cfg.max_range_m,
                        taken=taken,
                        region=region,
                        face_radar_rad=spec.heading_jitter_rad if spec is not None else None,
                        stats=stats,
                        place=person.place if person is not None else None,
                    )
                    if person is not None:
                        motion = extend_sequence(motion, activity, person.activities[1:])
                        if person.timing == "then" and placed:
                            prev_plan, prev_motion = placed[-1]
                            motion = delay(
                                motion, main_activity_end(prev_motion, prev_plan.activity)
                            )
                    vitals = sample_person_vitals(rng, subject.age_group, activity)
                    plan = PersonPlan.planned(
                        motion,
                        name=f"person_{k}",
                        subject=vars(subject).copy(),
                        activity=activity,
                        vitals=vitals,
                        seed=int(rng.integers(2**31)),
                        place=_place_dict(person),
                    )
                    hidden = _hidden_reason(
                        scene, [(p, m.lead_s) for p, m in [*placed, (plan, motion)]]
                    )
                    if hidden is None:
                        break
                    count_rejection(stats, hidden)
                    log.info(
                        "rejected %s at (%.2f, %.2f) in %s: %s",
                        activity,
                        *motion.position,
                        scene.room_type,
                        hidden,
                    )
                else:
                    raise _HiddenError(
                        f"no place for {activity!r} in the radar's line of sight after "
                        f"{PLACEMENT_TRIES} tries ({hidden})"
                    )
                taken.append(motion.position)
                placed.append((plan, motion))
        except (PlacementError, ValueError) as exc:
            if fixed and "cannot follow" in str(exc):
                raise ScenarioError(f"person {k + 1}: {exc}") from None
            reasons.append(str(exc))
            if fixed:
                # a prompt fixes the activities: draw another room / placement (counted, logged)
                count_rejection(stats, f"scene redrawn: {exc}")
                log.info(
                    "scenario %d of seed %d: no placement in %s (%s); drawing another scene",
                    index,
                    seed,
                    scene.room_type,
                    exc,
                )
            continue
        window_start = round(max(m.lead_s for _, m in placed), 6)
        end = window_start + max(window_s, MIN_ANALYSIS_S) + 0.5
        people = [
            PersonPlan.planned(
                m,
                name=p.name,
                subject=p.subject,
                activity=p.activity,
                vitals=p.vitals,
                seed=p.seed,
                window=(window_start, end),
                place=p.place,
            )
            for p, m in placed
        ]
        # The check above used each person's own lead-in; aligned timelines can differ slightly.
        hidden = _visibility_reason(
            [p.name for p in people],
            line_of_sight(scene, [p.build() for p in people], [window_start]),
        )
        if hidden is not None:
            count_rejection(stats, hidden)
            log.info("rejected scenario %d of seed %d: %s", index, seed, hidden)
            reasons.append(hidden)
            continue
        sc = Scenario(
            seed=int(seed),
            index=int(index),
            prompt=prompt,
            scene_seed=scene_seed,
            radar_profile=profile,
            cfg_text=emit_cfg(rc),
            board=rc.board,
            window_start_s=window_start,
            window_s=float(window_s),
            num_frames=int(num_frames),
            people=people,
            scatter_seed=int(rng.integers(2**31)),
            setup=setup,
            radar_pose=radar_pose,
            program=stored_program,
            room=spec.room if spec is not None else None,
        )
        sc._cache["scene"] = scene
        return sc
    last = reasons[-1] if reasons else "?"
    if fixed and region is None:
        raise ScenarioError(
            f"impossible placement: {last} (sample {index}: no acceptable scene in "
            f"{max_attempts} attempts)"
        )
    raise ScenarioError(
        f"no acceptable scenario for sample {index} after {max_attempts} attempts: {last}"
    )


def _place_dict(person: PersonSpec | None) -> dict[str, str] | None:
    if person is None or person.place is None:
        return None
    return person.place.model_dump()
