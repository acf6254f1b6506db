"""Scenario sampling: from ``(seed, index)`` to a scene, people with activity timelines, and a radar config.

:func:`sample_scenario` draws everything from ``numpy.random.default_rng([seed, index])``, so any sample
of a dataset can be regenerated alone. A :class:`Scenario` is plain data (``to_dict``/``from_dict``, stored
in each sample's JSON); :meth:`Scenario.build` turns it back into the scene, the people and the radar
configuration.

Per person: a subject (``sim.humans.sample_subject``), a main activity, a place accepted by the scene's
judge (``sim.scene.place_activity``, inside the radar's field of view and range), a timeline whose
lead-in (walking to a seat and sitting down, lying down on the bed...) ends before the window starts,
and breathing/heart rates (``sim.humans.sample_vitals``, raised for exercise). All people share the
window ``[window_start_s, window_start_s + window_s)``.

Setups (``setup="radhar"``, :data:`SETUPS`) imitate a real recording so that simulated and real data
can be compared like for like: the recording's radar configuration and mounting, one person at a
distance and azimuth in the recording's ranges, facing the radar. ``distance_m`` / ``azimuth_deg``
alone constrain where people stand in any scenario. Without them sampling is unchanged (same bytes).

Visibility: a place in the field of view can still be hidden from the radar (behind an open door leaf,
a wardrobe, another person). :func:`line_of_sight` measures the fraction of a person's joints whose
segment from the radar crosses no static mesh and no other person (the scatter backend's occlusion
test). The sampler rejects a placement where a person (the new one, or one already placed) would have a
line of sight below :data:`MIN_LINE_OF_SIGHT` at the start of the window, logs it (logger
``sim.dataset.scenario``, INFO, like the scene judge) and counts it in ``stats``, and draws another
placement (:data:`PLACEMENT_TRIES` per person, then another scene). A final check on the finished
scenario (every person at the window start, timelines aligned) rejects the whole attempt in the rare
case the aligned poses differ enough. A walker may still go behind something later in the window: the
dataset truth records each person's line of sight over the window (``sim.dataset.simulate``).

Headings: the scene judge gives degrees counter-clockwise from +y; the motion library wants radians
counter-clockwise from +x; :func:`sim.geometry.motion_heading_rad` converts.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from firmware_cfg import RadarConfig, emit_cfg, load_cfg, parse_cfg_text
from sim.geometry import RadarPose, motion_heading_rad
from sim.humans import (
    Human,
    Segment,
    Subject,
    Timeline,
    parse_activity,
    sample_subject,
    sample_vitals,
)
from sim.propagation.scatter import occluded, scene_triangles
from sim.scene import (
    Placement,
    PlacementError,
    Scene,
    generate_scene,
    judge_placement,
    place_activity,
)
from sim.scene.judge import reason_key

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
#: Activities done in place, standing.
IN_PLACE = (
    "stand",
    "wave",
    "boxing",
    "jumping_jacks",
    "jump",
    "squats",
    "swipe_left",
    "swipe_right",
    "push",
    "pull",
    "circle",
)
#: Activities that raise breathing and heart rates.
EXERCISE = ("walk", "boxing", "jumping_jacks", "jump", "squats")
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
MIN_SEPARATION_M = 0.8
#: The dense truth (micro-Doppler frequency) spans at least this long [s].
MIN_ANALYSIS_S = 4.0
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "1": 1, "2": 2, "3": 3}
#: A placement is rejected when a person's line of sight (fraction of joints the radar sees directly,
#: :func:`line_of_sight`) at the start of the window is below this: with three quarters of the body
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
    """

    name: str
    profile: str
    board: str
    distance_m: tuple[float, float]
    azimuth_deg: tuple[float, float]
    radar_height_m: float
    heading_jitter_rad: float
    activities: tuple[str, ...]


#: Named setups. ``radhar``: one person 1-3 m in front of the radar within +-20 deg, facing it (RadHAR's
#: point clouds put the body at a median range of 1.3-2.1 m, near boresight), radar on a tripod at 1 m.
SETUPS: dict[str, Setup] = {
    "radhar": Setup(
        name="radhar_iwr1443boost",
        profile=RADHAR_PROFILE,
        board="IWR1443BOOST",
        distance_m=(1.0, 3.0),
        azimuth_deg=(-20.0, 20.0),
        radar_height_m=1.0,
        heading_jitter_rad=0.2,
        activities=("boxing", "jumping_jacks", "jump", "squats", "walk"),
    )
}
#: Activities that can be placed in a distance/azimuth region (done standing, no furniture needed).
REGION_ACTIVITIES = (*IN_PLACE, "walk", "fall")
#: A walk inside a region goes at least this far [m].
REGION_MIN_WALK_M = 1.0


class ScenarioError(ValueError):
    """Bad input for a scenario (unknown activity, impossible placement, invalid config)."""


class _HiddenError(ValueError):
    """Every placement tried for a person was hidden from the radar (another scene may do)."""


@dataclass(frozen=True)
class PlannedMotion:
    """Where one person is placed and what they do, before the people's timelines are aligned.

    Attributes:
        segments: ``[{"activity", "start_s", "end_s", "params"}]`` in the person's own time [s]
            (their motion starts at 0).
        lead_s: when the lead-in (walking to a seat, lying down...) ends and the window may start [s].
        position: start (x, y) world [m].
        heading: start heading [rad] counter-clockwise from +x.
        posture: start posture (``"standing"`` or ``"lying"``).
        support: label of the object sat or lain on (None: floor).
    """

    segments: list[dict[str, Any]]
    lead_s: float
    position: tuple[float, float]
    heading: float
    posture: str
    support: str | None


@dataclass(frozen=True)
class PersonPlan:
    """One person of a scenario (JSON-able); made by :meth:`planned`.

    Attributes:
        name: mesh name (``person_0``...).
        subject: ``sim.humans.Subject`` fields.
        activity: main activity in the window.
        segments: ``[{"activity", "start_s", "end_s", "params"}]`` (absolute times [s]).
        start_position: (x, y) world [m]; start_heading: [rad] CCW from +x; start_posture.
        support: label of the object sat or lain on (None: floor).
        vitals: ``breathing_per_min``, ``heart_per_min``, amplitudes [m].
        seed: the person's motion/vitals seed.
    """

    name: str
    subject: dict[str, Any]
    activity: str
    segments: list[dict[str, Any]]
    start_position: tuple[float, float]
    start_heading: float
    start_posture: str
    support: str | None
    vitals: dict[str, float]
    seed: int

    @classmethod
    def planned(
        cls,
        motion: PlannedMotion,
        *,
        name: str,
        subject: dict[str, Any],
        activity: str,
        vitals: dict[str, float],
        seed: int,
        window: tuple[float, float] | None = None,
    ) -> PersonPlan:
        """The person doing ``motion``.

        Args:
            window: None: in the person's own time, as planned (the placement's visibility check, at
                ``motion.lead_s``); ``(window_start, end)`` [s]: the stored plan, segments shifted so
                the lead-in ends at ``window_start`` and extended to ``end``, times and start pose
                rounded to 1e-6.
        """
        if window is None:
            segments, position, heading = motion.segments, motion.position, motion.heading
        else:
            segments = _align(motion, *window)
            position = (round(motion.position[0], 6), round(motion.position[1], 6))
            heading = round(float(motion.heading), 6)
        return cls(
            name=name,
            subject=subject,
            activity=activity,
            segments=segments,
            start_position=position,
            start_heading=heading,
            start_posture=motion.posture,
            support=motion.support,
            vitals=vitals,
            seed=seed,
        )

    def build(self) -> Human:
        """The :class:`sim.humans.Human`."""
        segs = [
            Segment(s["activity"], s["start_s"], s["end_s"], dict(s["params"]))
            for s in self.segments
        ]
        timeline = Timeline(
            segs,
            start_position=self.start_position,
            start_heading=self.start_heading,
            start_posture=self.start_posture,
        )
        return Human(
            Subject(**self.subject),
            timeline,
            name=self.name,
            seed=self.seed,
            breathing_per_min=self.vitals["breathing_per_min"],
            heart_per_min=self.vitals["heart_per_min"],
            breathing_amplitude_m=self.vitals.get("breathing_amplitude_m"),
            heart_amplitude_m=self.vitals.get("heart_amplitude_m"),
        )


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
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.setup is not None:
            extra["setup"] = self.setup
        if self.radar_pose is not None:
            extra["radar_pose"] = self.radar_pose
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
        )

    # ------------------------------------------------------------------ building
    def radar_config(self) -> RadarConfig:
        if "rc" not in self._cache:
            self._cache["rc"] = parse_cfg_text(
                self.cfg_text, source=self.radar_profile, board=self.board
            )
        return self._cache["rc"]

    def scene(self) -> Scene:
        """The :class:`sim.scene.Scene` (generated once, cached)."""
        if "scene" not in self._cache:
            scene = generate_scene(self.prompt, seed=self.scene_seed)
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
def parse_people_prompt(prompt: str) -> tuple[str, int, dict[str, str]]:
    """Activity, people count and subject hints from a prompt such as "two elderly people doing squats".

    Raises:
        ScenarioError: no known activity in the prompt.
    """
    low = prompt.lower()
    try:
        activity = parse_activity(low)
    except ValueError as exc:
        raise ScenarioError(str(exc)) from None
    count = 1
    m = re.search(
        r"\b(one|two|three|1|2|3)\s+(?:\w+\s+)?(?:people|persons|men|women|children|kids)\b", low
    )
    if m:
        count = _NUMBER_WORDS[m.group(1)]
    hints: dict[str, str] = {}
    if re.search(r"\b(elderly|old|older|senior|grandm\w*|grandp\w*)\b", low):
        hints["age_group"] = "elderly"
    elif re.search(r"\b(child|children|kid|kids|boy|girl)\b", low):
        hints["age_group"] = "child"
    if re.search(r"\b(woman|women|girl|lady|grandmother|grandma)\b", low):
        hints["sex"] = "female"
    elif re.search(r"\b(man|men|boy|gentleman|grandfather|grandpa)\b", low):
        hints["sex"] = "male"
    return activity, count, hints


# ---------------------------------------------------------------------------------------- people
def _toward(a: tuple[float, float], b: tuple[float, float]) -> float:
    return math.atan2(b[1] - a[1], b[0] - a[0])


def _seg(
    activity: str, t0: float, t1: float, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {"activity": activity, "start_s": float(t0), "end_s": float(t1), "params": params or {}}


def _with_radar_pose(scene: Scene, pose: dict[str, Any] | None) -> Scene:
    """``scene`` with its radar mount replaced by ``pose`` (None: unchanged)."""
    if pose is None:
        return scene
    radar = RadarPose(tuple(pose["position"]), pose["yaw_deg"], pose["pitch_deg"])
    return dataclasses.replace(scene, radar=radar)


# ---------------------------------------------------------------------------------------- visibility
@dataclass(frozen=True)
class Visibility:
    """How much of one person the radar sees directly (:func:`line_of_sight`).

    Attributes:
        line_of_sight: fraction of the (joint, time) pairs whose segment from the radar to the SMPL
            joint crosses no static mesh (walls, furniture, doors, windows) and no other person, in
            [0, 1].
        occluder: label of the object blocking the most of the other pairs (``"door"``,
            ``"wardrobe"``, ``"wall"``...; ``"person"`` for another person); None when none is blocked.
        occluder_name: that object's (or person's) name.
    """

    line_of_sight: float
    occluder: str | None = None
    occluder_name: str | None = None


def line_of_sight(
    scene: Scene, humans: Sequence[Human], times: np.ndarray | Sequence[Any]
) -> list[Visibility]:
    """Direct visibility of each person from the scene's radar over a few instants.

    A joint counts as seen at an instant when the segment radar -> joint crosses no triangle of the
    scene's static meshes and none of the other people's bodies at that instant (the scatter
    backend's test, :func:`sim.propagation.scatter.occluded`; a person's own body is left out since
    the joints lie inside it). The field of view is not part of it (``in_fov`` is). Deterministic.

    Args:
        scene: the :class:`sim.scene.Scene` (its radar position and static meshes).
        humans: the :class:`sim.humans.Human` objects.
        times: ``[T]`` instants [s] shared by everyone, or ``[people, T]`` (column ``i`` is one
            instant, given in each person's own timeline time).

    Returns:
        One :class:`Visibility` per person.
    """
    num = len(humans)
    times = np.asarray(times, dtype=np.float64)
    if times.ndim == 1:
        times = np.broadcast_to(times, (num, times.size))
    if num == 0:
        return []
    origin = np.asarray(scene.radar.position, dtype=np.float64)
    objects = [(o.label, o.name, scene_triangles(o.meshes)) for o in scene.objects]
    static = np.concatenate([np.zeros((0, 3, 3)), *(tri for _, _, tri in objects)])
    n_t = times.shape[1]
    joints = [np.stack([h.joints_at(float(t)) for t in times[p]]) for p, h in enumerate(humans)]
    bodies = (
        [[scene_triangles([h.mesh_at(float(t))]) for t in times[p]] for p, h in enumerate(humans)]
        if num > 1
        else [[]]
    )
    out = []
    for p in range(num):
        others = [q for q in range(num) if q != p]
        hidden = _blocked(origin, joints[p], static)  # [T, 24]
        for i in range(n_t):
            for q in others:
                hidden[i] |= _blocked(origin, joints[p][i], bodies[q][i])
        seen = 1.0 - float(hidden.mean())
        if not hidden.any():
            out.append(Visibility(seen))
            continue
        # Who blocks: each blocked segment tested against each object / other person alone.
        blocked = joints[p][hidden]  # [B, 3]
        counts = [(int(_blocked(origin, blocked, tri).sum()), lb, nm) for lb, nm, tri in objects]
        for q in others:
            hits = sum(
                int(_blocked(origin, joints[p][i][hidden[i]], bodies[q][i]).sum())
                for i in range(n_t)
            )
            counts.append((hits, "person", humans[q].name))
        best = max(counts, key=lambda c: c[0])  # first of the most blocking (scene order)
        out.append(Visibility(seen, best[1], best[2]) if best[0] else Visibility(seen))
    return out


def _blocked(origin: np.ndarray, targets: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """:func:`sim.propagation.scatter.occluded` for targets of any shape ``[..., 3]``, with the
    triangles first culled to those whose bounding box meets the segments' (same result, faster)."""
    flat = targets.reshape(-1, 3)
    if flat.shape[0] == 0 or triangles.shape[0] == 0:
        return np.zeros(targets.shape[:-1], dtype=bool)
    lo = np.minimum(flat.min(axis=0), origin) - 1e-6
    hi = np.maximum(flat.max(axis=0), origin) + 1e-6
    near = np.all((triangles.max(axis=1) >= lo) & (triangles.min(axis=1) <= hi), axis=1)
    return occluded(origin, flat, triangles[near]).reshape(targets.shape[:-1])


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


def _count_rejection(stats: collections.Counter | None, reason: str) -> None:
    if stats is not None:
        stats[reason_key(reason)] += 1


def _region_point(
    scene: Scene, region: tuple[tuple[float, float], tuple[float, float]], rng: np.random.Generator
) -> tuple[float, float]:
    """A floor point (x, y) at a uniform distance [m] and azimuth [deg] in ``region`` from the radar."""
    (d0, d1), (a0, a1) = region
    d, az = float(rng.uniform(d0, d1)), math.radians(float(rng.uniform(a0, a1)))
    yaw = math.radians(scene.radar.yaw_deg)
    boresight, right = (-math.sin(yaw), math.cos(yaw)), (math.cos(yaw), math.sin(yaw))
    x0, y0 = float(scene.radar.position[0]), float(scene.radar.position[1])
    return (
        x0 + d * (math.cos(az) * boresight[0] + math.sin(az) * right[0]),
        y0 + d * (math.cos(az) * boresight[1] + math.sin(az) * right[1]),
    )


def _place_in_region(
    scene: Scene,
    activity: str,
    rng: np.random.Generator,
    region: tuple[tuple[float, float], tuple[float, float]],
    max_range_m: float,
    tries: int = 60,
    stats: collections.Counter | None = None,
) -> Placement:
    """A :class:`sim.scene.Placement` inside ``region`` accepted by the judge (rejections counted in
    ``stats`` like :func:`sim.scene.place_activity` does).

    Raises:
        sim.scene.PlacementError: ``tries`` candidates rejected (the first reason is given).
    """
    first = ""
    for k in range(1, tries + 1):
        pos = _region_point(scene, region, rng)
        cand = Placement(activity, pos, 0.0, None, k)
        reasons = judge_placement(scene, cand, require_radar_fov=True, max_range_m=max_range_m)
        if not reasons:
            return cand
        for r in reasons:
            _count_rejection(stats, r)
        first = first or reasons[0]
    raise PlacementError(
        f"no free floor for {activity!r} at {region[0][0]}-{region[0][1]} m, "
        f"{region[1][0]}-{region[1][1]} deg from the radar after {tries} tries ({first})"
    )


def _plan_person(
    scene: Scene,
    activity: str,
    rng: np.random.Generator,
    *,
    max_range_m: float,
    taken: list[tuple[float, float]],
    region: tuple[tuple[float, float], tuple[float, float]] | None = None,
    face_radar_rad: float | None = None,
    stats: collections.Counter | None = None,
) -> PlannedMotion:
    """Where the person starts and what they do, in their own time (see :class:`PlannedMotion`).

    Args:
        region: ((min, max) distance [m], (min, max) azimuth [deg]) from the radar for the start
            position (and a walk's goal); None: anywhere the judge accepts in view.
        face_radar_rad: an in-place activity faces the radar within +- this [rad] (None: the
            default, facing it with probability 0.7).
        stats: counts the judge's rejections (reason -> count).

    Raises:
        sim.scene.PlacementError / ValueError: no acceptable place.
    """
    judge_activity = {
        "typing": "sit",
        "sit_down": "sit",
        "stand_up": "sit",
        "lie_down": "sleeping",
        "get_up": "lying",
    }.get(activity, activity)
    for _ in range(10):
        if region is not None:
            place = _place_in_region(scene, judge_activity, rng, region, max_range_m, stats=stats)
        else:
            place = place_activity(
                scene,
                judge_activity,
                rng,
                require_radar_fov=True,
                max_range_m=max_range_m,
                stats=stats,
            )
        if activity == "get_up" and place.affordance is not None:
            # the motion library gets up from the floor (after a fall): a bed or sofa's lying
            # area would put the body inside the furniture
            continue
        if all(math.dist(place.position, q) >= MIN_SEPARATION_M for q in taken):
            break
    else:
        raise PlacementError(
            f"no place for {activity!r} at least {MIN_SEPARATION_M} m from the others"
            + (" on free floor" if activity == "get_up" else "")
        )
    pos = (float(place.position[0]), float(place.position[1]))
    radar_xy = (float(scene.radar.position[0]), float(scene.radar.position[1]))
    aff = place.affordance
    support = aff.label if aff is not None and activity not in (*IN_PLACE, "walk", "fall") else None
    heading = motion_heading_rad(place.heading_deg)
    posture = "standing"
    if activity == "walk":
        grid = scene.free_space(0.1, 0.2)
        for _ in range(30):
            if region is None:
                goal, min_walk = grid.sample_free(rng), 2.0
            else:
                goal, min_walk = _region_point(scene, region, rng), REGION_MIN_WALK_M
            if (
                math.dist(goal, pos) >= min_walk
                and (region is None or grid.is_free(*goal))
                and scene.in_radar_fov((goal[0], goal[1], 1.0), max_range_m=max_range_m)
            ):
                break
        else:
            raise PlacementError(f"no walking goal {min_walk:g} m away inside the radar's view")
        path = grid.shortest_path(pos, goal)
        wps = [[float(x), float(y)] for x, y in path[1:]]
        speed = float(rng.uniform(0.7, 1.5))
        length = float(np.linalg.norm(np.diff(np.vstack([pos, path[1:]]), axis=0), axis=1).sum())
        dur = length / speed + min(0.6, length / speed)
        segs = [_seg("walk", 0.0, dur, {"waypoints": wps, "speed": speed})]
        lead, heading = 0.3, _toward(pos, tuple(path[1]))
    elif activity in IN_PLACE:
        if face_radar_rad is not None:
            heading = _toward(pos, radar_xy) + float(rng.uniform(-face_radar_rad, face_radar_rad))
        elif rng.random() < 0.7:
            heading = _toward(pos, radar_xy) + float(rng.uniform(-0.5, 0.5))
        segs, lead = [_seg(activity, 0.0, 1.0)], 0.5
    elif activity == "fall":
        heading = float(rng.uniform(-math.pi, math.pi))
        segs, lead = [_seg("stand", 0.0, 1.0), _seg("fall", 1.0, 4.0), _seg("sleep", 4.0, 5.0)], 0.8
    elif activity in ("sit", "typing", "sit_down", "stand_up"):
        assert aff is not None
        seat = {
            "position": [float(aff.position[0]), float(aff.position[1])],
            "heading": motion_heading_rad(aff.heading_deg),
            "height": float(aff.position[2]),
        }
        fwd = (math.cos(seat["heading"]), math.sin(seat["heading"]))
        pos = (pos[0] + 0.45 * fwd[0], pos[1] + 0.45 * fwd[1])
        heading = seat["heading"] + math.pi
        if activity in ("sit", "typing"):
            segs, lead = [_seg("sit_down", 0.0, 2.0, seat), _seg(activity, 2.0, 3.0)], 2.5
        elif activity == "sit_down":
            segs, lead = (
                [_seg("stand", 0.0, 0.5), _seg("sit_down", 0.5, 2.5, seat), _seg("sit", 2.5, 3.5)],
                0.3,
            )
        else:
            segs = [
                _seg("sit_down", 0.0, 2.0, seat),
                _seg("sit", 2.0, 2.5),
                _seg("stand_up", 2.5, 4.5),
                _seg("stand", 4.5, 5.5),
            ]
            lead = 2.3
    elif activity in ("sleep", "lie_down"):
        assert aff is not None
        bed = {
            "position": [float(aff.position[0]), float(aff.position[1])],
            "head_direction": motion_heading_rad(aff.heading_deg),
            "height": float(aff.position[2]),
        }
        if activity == "sleep":
            segs, lead = [_seg("lie_down", 0.0, 4.0, bed), _seg("sleep", 4.0, 5.0)], 4.3
        else:
            segs, lead = (
                [_seg("stand", 0.0, 0.5), _seg("lie_down", 0.5, 4.5, bed), _seg("sleep", 4.5, 5.5)],
                0.3,
            )
    elif activity == "get_up":
        posture = "lying"
        heading = float(rng.uniform(-math.pi, math.pi))
        segs, lead = (
            [_seg("sleep", 0.0, 1.0), _seg("get_up", 1.0, 5.0), _seg("stand", 5.0, 6.0)],
            0.8,
        )
    else:
        raise ScenarioError(f"activity {activity!r} has no scenario plan")
    return PlannedMotion(segs, lead, pos, heading, posture, support)


def _align(motion: PlannedMotion, window_start: float, end: float) -> list[dict[str, Any]]:
    """Shift a person's segments so their lead-in ends at ``window_start``; extend to ``end``."""
    offset = window_start - motion.lead_s
    segs = [
        dict(s, start_s=s["start_s"] + offset, end_s=s["end_s"] + offset) for s in motion.segments
    ]
    if offset > 1e-9:
        first = "sleep" if motion.posture == "lying" else "stand"
        segs.insert(0, _seg(first, 0.0, offset))
    last = segs[-1]
    if last["end_s"] < end:
        if last["activity"] == "walk":
            segs.append(_seg("stand", last["end_s"], end))
        else:
            segs[-1] = dict(last, end_s=end)
    return [dict(s, start_s=round(s["start_s"], 6), end_s=round(s["end_s"], 6)) for s in segs]


def _vitals(rng: np.random.Generator, age_group: str, activity: str) -> dict[str, float]:
    v = sample_vitals(rng, age_group)
    if activity in EXERCISE:
        v["breathing_per_min"] = min(29.0, v["breathing_per_min"] * 1.3)
        v["heart_per_min"] = min(118.0, v["heart_per_min"] * 1.3)
    return {
        k: round(float(v[k]), 4)
        for k in (
            "breathing_per_min",
            "heart_per_min",
            "breathing_amplitude_m",
            "heart_amplitude_m",
        )
    }


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
) -> Scenario:
    """Sample scenario ``index`` of a dataset with ``seed`` (deterministic per ``(seed, index)``).

    Args:
        radar: ``"random"`` (a bundled profile per sample), a bundled profile name or a ``.cfg`` path.
        prompt: fixes the room and the activity (e.g. "an elderly woman doing squats in the kitchen");
            None samples both.
        window_s: window length [s] (rounded to whole frames, at least one).
        activities: main-activity weights (default :data:`ACTIVITY_WEIGHTS`).
        max_attempts: scenes/activities re-drawn when no acceptable placement exists (random mode,
            and with a placement region).
        setup: imitate a real recording (:data:`SETUPS`, e.g. ``"radhar"``): its radar
            configuration (unless ``radar`` names one), its radar mounting, one person in its
            distance/azimuth ranges facing the radar, its activities when no prompt is given.
        distance_m: (min, max) horizontal distance [m] of each person's start position from the
            radar (default: the setup's; None without a setup: anywhere in view).
        azimuth_deg: (min, max) azimuth [deg] from boresight, positive to the radar's right.
        stats: when given, counts every rejected placement by reason (numbers blanked, like
            :func:`sim.scene.place_activity`): the judge's and the line-of-sight check's (module
            docstring). Each is also logged (INFO).

    Raises:
        ScenarioError: unknown activity in the prompt, an impossible placement, an invalid config,
            an unknown setup or bad ranges.
    """
    if window_s <= 0:
        raise ScenarioError(f"window length must be positive, got {window_s} s")
    spec = _check_setup(setup)
    region = _check_region(
        distance_m if distance_m is not None else (spec.distance_m if spec else None),
        azimuth_deg if azimuth_deg is not None else (spec.azimuth_deg if spec else None),
    )
    rng = np.random.default_rng([seed, index])
    if spec is not None and radar == "random":
        profile, rc = spec.name, load_cfg(spec.profile, board=spec.board)
    else:
        profile, rc = _pick_radar(radar, rng)
    cfg = rc.chirp
    num_frames = max(1, round(window_s / cfg.frame_period_s))
    hints: dict[str, str] = {}
    fixed: tuple[str, int] | None = None
    if prompt:
        act, count, hints = parse_people_prompt(prompt)
        fixed = (act, count)
        if spec is not None and count != 1:
            raise ScenarioError(f"setup {setup!r} has one person; the prompt asks for {count}")
        if region is not None and act not in REGION_ACTIVITIES:
            raise ScenarioError(
                f"{act!r} cannot be placed at a given distance/azimuth (it needs furniture); "
                f"possible: {', '.join(REGION_ACTIVITIES)}"
            )
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
            scene = generate_scene(prompt, seed=scene_seed)
        except ValueError as exc:
            raise ScenarioError(f"prompt {prompt!r}: {exc}") from None
        except RuntimeError as exc:
            reasons.append(str(exc))
            continue
        radar_pose = None
        if spec is not None:
            r = scene.radar
            radar_pose = {
                "position": [float(r.position[0]), float(r.position[1]), spec.radar_height_m],
                "yaw_deg": float(r.yaw_deg),
                "pitch_deg": 0.0,
            }
            scene = _with_radar_pose(scene, radar_pose)
        if fixed:
            count = fixed[1]
        elif spec is not None:
            count = 1
        else:
            count = int(rng.choice(len(PEOPLE_PROBS), p=PEOPLE_PROBS)) + 1
        # Each person as planned (their own time) with their identity, and the end of their lead-in.
        placed: list[tuple[PersonPlan, PlannedMotion]] = []
        taken: list[tuple[float, float]] = []
        try:
            for k in range(count):
                activity = fixed[0] if fixed else str(names[int(rng.choice(len(names), p=probs))])
                subject = sample_subject(rng)
                if hints:
                    subject = Subject(**{**vars(subject), **hints})
                    if hints.get("age_group") == "child" and subject.height_m > 1.55:
                        subject = Subject(**{**vars(subject), "height_m": 1.3})
                for _try in range(PLACEMENT_TRIES):
                    motion = _plan_person(
                        scene,
                        activity,
                        rng,
                        max_range_m=0.8 * cfg.max_range_m,
                        taken=taken,
                        region=region,
                        face_radar_rad=spec.heading_jitter_rad if spec is not None else None,
                        stats=stats,
                    )
                    vitals = _vitals(rng, subject.age_group, activity)
                    plan = PersonPlan.planned(
                        motion,
                        name=f"person_{k}",
                        subject=vars(subject).copy(),
                        activity=activity,
                        vitals=vitals,
                        seed=int(rng.integers(2**31)),
                    )
                    hidden = _hidden_reason(
                        scene, [(p, m.lead_s) for p, m in [*placed, (plan, motion)]]
                    )
                    if hidden is None:
                        break
                    _count_rejection(stats, hidden)
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
            if fixed and region is None and not isinstance(exc, _HiddenError):
                raise ScenarioError(f"impossible placement: {exc}") from None
            reasons.append(str(exc))
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
            )
            for p, m in placed
        ]
        # The check above used each person's own lead-in; aligned timelines can differ slightly.
        hidden = _visibility_reason(
            [p.name for p in people],
            line_of_sight(scene, [p.build() for p in people], [window_start]),
        )
        if hidden is not None:
            _count_rejection(stats, hidden)
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
        )
        sc._cache["scene"] = scene
        return sc
    raise ScenarioError(
        f"no acceptable scenario for sample {index} after {max_attempts} attempts: {reasons[-1] if reasons else '?'}"
    )
