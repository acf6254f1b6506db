"""Scripted scenes for ``mmfm demo`` and the daemon's end-to-end tests: people with a plot, rendered once.

A :class:`ScriptedScene` is a generated room, a radar profile and a cast of :class:`Actor` s, each a
:class:`sim.humans.Human` that is present from ``enters_s`` to ``leaves_s`` (outside that interval the
body is not in the scene: people come in through the door and leave through it). :class:`Script` writes
an actor's timeline step by step ("walk to the sofa, sit for 30 s, stand up, fall") and the ground-truth
notes that go with it ("t=12.0 s  A sits down on the sofa").

:func:`demo_scenario` is the demo's plot, in a living room: person A walks in through the door, walks to
the sofa, sits down and sits still breathing (long enough for the daemon's vital-sign window), stands
up, walks to the middle of the room, falls and lies still; then person B walks in and walks around.

Rendering (:func:`render_frame`, :func:`render`) uses the scatterer backend and the exact ADC
synthesis, with two shortcuts that keep a frame at about 0.1 s on one core here:

- the furniture, walls, floor and ceiling are traced once (they do not move); each frame traces only
  the people, with the room's triangles as occluders (a person does not shadow the furniture);
- direct paths only (``max_bounces = 1``: no wall multipath ghosts) and a lower scatterer density on
  people (:data:`PERSON_DENSITY_PER_M2`).

:func:`cached_render` renders the frames once, in parallel worker processes, and keeps them as the
bytes a DCA1000 would send (:func:`runtime.sources.dca1000_layout.encode_frames`) under
``$XDG_CACHE_HOME/mmfm/demo/<key>.bin`` (default ``~/.cache``), where the key hashes the scene's
description, the chirp configuration and the simulator's source code, so any change re-renders.
Everything is deterministic for a seed.
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing as mp
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from firmware_cfg import RadarConfig, emit_cfg, load_cfg
from sim.geometry import Mesh, RadarPose, motion_heading_rad

__all__ = [
    "DEMO_PROFILE",
    "PERSON_DENSITY_PER_M2",
    "Actor",
    "DemoScenario",
    "RenderedFrames",
    "Script",
    "ScriptedScene",
    "TruthNote",
    "cache_dir",
    "cached_render",
    "demo_scenario",
    "render",
    "render_frame",
]

#: The bundled chirp profile the demo and the end-to-end tests use (raw ADC, 3 TX, 10 frames/s).
DEMO_PROFILE = "iwr1843boost_demo"
#: Scatterers per square metre on people (the backend's default is 1500).
PERSON_DENSITY_PER_M2 = 600.0
#: Scatterers per square metre on everything else (traced once).
STATIC_DENSITY_PER_M2 = 30.0
#: Walking speed of the scripted people [m/s].
WALK_SPEED_MPS = 1.0
#: Bump this when the rendering changes in a way the source hash cannot see.
RENDER_VERSION = 1
#: Modules whose source is part of the cache key (any edit re-renders).
_KEY_SOURCES = (
    "sim/demo.py",
    "sim/geometry.py",
    "sim/propagation/scatter.py",
    "sim/propagation/paths.py",
    "sim/radar/adc.py",
    "sim/radar/noise.py",
    "sim/humans/body.py",
    "sim/humans/motion/__init__.py",
    "sim/humans/motion/activity.py",
    "sim/humans/motion/dofs.py",
    "sim/humans/motion/exercise.py",
    "sim/humans/motion/falls.py",
    "sim/humans/motion/hands.py",
    "sim/humans/motion/locomotion.py",
    "sim/humans/motion/performer.py",
    "sim/humans/motion/poses.py",
    "sim/humans/motion/postures.py",
    "sim/humans/motion/timeline.py",
    "sim/humans/motion/vocabulary.py",
    "sim/humans/person.py",
    "sim/humans/vitals.py",
    "sim/humans/rotations.py",
    "sim/scene/scene.py",
    "sim/scene/floorplan.py",
    "sim/scene/furnishing.py",
    "sim/scene/mount.py",
    "sim/scene/generate.py",
    "sim/scene/judge.py",
    "sim/scene/furniture.py",
    "sim/scene/materials.py",
    "sim/scene/shapes.py",
    "runtime/sources/dca1000_layout.py",
)


# ---------------------------------------------------------------------------------------- cast
@dataclass(frozen=True)
class TruthNote:
    """What happens at ``time_s`` [s into the scene], in words ("A sits down on the sofa")."""

    time_s: float
    text: str

    def __str__(self) -> str:
        return f"t={self.time_s:5.1f} s  truth: {self.text}"


@dataclass(frozen=True, eq=False)
class Actor:
    """A person of a scripted scene.

    Attributes:
        label: short name used in the truth notes ("A").
        human: the simulated person (body, timeline, vital signs).
        enters_s: the body is in the scene from this time [s].
        leaves_s: ... until this time [s] (inf: to the end).
        spec: JSON-able description (for the cache key).
    """

    label: str
    human: Any
    enters_s: float
    leaves_s: float
    spec: dict[str, Any]

    def present(self, t: float) -> bool:
        return self.enters_s <= t < self.leaves_s


class Script:
    """An actor's timeline, written step by step; each step can leave a truth note.

    Args:
        scene: the :class:`sim.scene.Scene` (free floor for walking, seats).
        label: the actor's label in the notes ("A").
        start: where the actor appears (x, y) [m, world].
        enters_s: when the actor appears [s].
        heading: initial facing [rad, CCW from +x] (default: toward the first walk's goal).
    """

    def __init__(
        self,
        scene: Any,
        label: str,
        start: Sequence[float],
        enters_s: float,
        heading: float | None = None,
    ) -> None:
        self.scene = scene
        self.label = label
        self.start = (float(start[0]), float(start[1]))
        self.enters_s = float(enters_s)
        self.heading = heading
        self.t = float(enters_s)
        self.xy = self.start
        self.posture = "standing"
        self.segments: list[dict[str, Any]] = []
        self.notes: list[TruthNote] = []
        self.leaves_s = math.inf
        self._seat_heading = 0.0

    def note(self, text: str, at: float | None = None) -> Script:
        """Add a truth note (at the current time unless ``at``)."""
        self.notes.append(TruthNote(round(self.t if at is None else at, 3), f"{self.label} {text}"))
        return self

    def _add(self, activity: str, seconds: float, params: dict[str, Any] | None = None) -> None:
        self.segments.append(
            {
                "activity": activity,
                "start_s": round(self.t, 6),
                "end_s": round(self.t + seconds, 6),
                "params": params or {},
            }
        )
        self.t += seconds

    def walk_to(
        self, goal: Sequence[float], note: str | None = None, speed: float = WALK_SPEED_MPS
    ) -> Script:
        """Walk along the shortest free path to ``goal`` (x, y) [m]."""
        if note:
            self.note(note)
        grid = self.scene.free_space(0.1, 0.2)
        path = grid.shortest_path(self.xy, (float(goal[0]), float(goal[1])), max_snap_m=0.8)
        pts = _simplify(np.vstack([self.xy, path[1:]]) if len(path) > 1 else path)
        if self.heading is None and len(pts) > 1:
            self.heading = math.atan2(pts[1][1] - pts[0][1], pts[1][0] - pts[0][0])
        length = float(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum())
        seconds = length / speed + min(0.6, length / speed)
        waypoints = [[round(float(x), 4), round(float(y), 4)] for x, y in pts[1:]]
        self._add("walk", seconds, {"waypoints": waypoints, "speed": speed, "arm_swing": 1.0})
        self.xy = (waypoints[-1][0], waypoints[-1][1])
        return self

    def stand(self, seconds: float, note: str | None = None) -> Script:
        if note:
            self.note(note)
        self._add("stand", seconds, {"sway": 0.5})
        return self

    def sit_on(
        self, seat: Any, seconds: float, note: str | None = None, still_note: str | None = None
    ) -> Script:
        """Walk to ``seat`` (a ``"sit"`` :class:`sim.scene.Affordance`), sit down, sit ``seconds``."""
        heading = motion_heading_rad(seat.heading_deg)
        fwd = (math.cos(heading), math.sin(heading))
        front = (seat.position[0] + 0.45 * fwd[0], seat.position[1] + 0.45 * fwd[1])
        self.walk_to(front)
        if note:
            self.note(note)
        params = {
            "position": [round(float(seat.position[0]), 4), round(float(seat.position[1]), 4)],
            "heading": round(heading, 6),
            "height": round(float(seat.position[2]), 4),
            "recline": 5.0,
        }
        self._add("sit_down", 2.0, params)
        if still_note:
            self.note(still_note)
        self._add("sit", seconds)
        self.xy = (params["position"][0], params["position"][1])
        self.posture = "sitting"
        self._seat_heading = heading
        return self

    def stand_up(self, note: str | None = None) -> Script:
        if note:
            self.note(note)
        self._add("stand_up", 2.0)
        heading = self._seat_heading
        self.xy = (self.xy[0] + 0.35 * math.cos(heading), self.xy[1] + 0.35 * math.sin(heading))
        self.posture = "standing"
        return self

    def fall(
        self, direction: str = "forward", lie_s: float = 10.0, note: str | None = None
    ) -> Script:
        """Fall (about 1 s from upright to the floor) and lie still for ``lie_s``."""
        if note:
            self.note(note)
        self._add("fall", 3.0, {"direction": direction, "drop_s": 0.9})
        self._add("sleep", lie_s)
        self.posture = "lying"
        return self

    def leave(self) -> Script:
        """The actor leaves the scene now (walk to the door first)."""
        self.leaves_s = self.t
        return self

    def build(
        self,
        *,
        seed: int,
        breathing_per_min: float = 14.0,
        heart_per_min: float = 70.0,
        subject: dict[str, Any] | None = None,
        until_s: float | None = None,
    ) -> Actor:
        """The :class:`Actor`; the last activity is held until ``until_s`` when given."""
        from sim.humans import Human, Segment, Subject, Timeline, sample_subject

        segs = [dict(s) for s in self.segments]
        if until_s is not None and segs and segs[-1]["end_s"] < until_s:
            last = segs[-1]
            if last["activity"] == "walk":
                hold = "stand" if self.posture == "standing" else "sit"
                segs.append(
                    {"activity": hold, "start_s": last["end_s"], "end_s": until_s, "params": {}}
                )
            else:
                segs[-1] = dict(last, end_s=until_s)
        if subject is None:
            subject = vars(sample_subject(np.random.default_rng([seed, 17]))).copy()
            subject["age_group"] = "adult"
        timeline = Timeline(
            [Segment(s["activity"], s["start_s"], s["end_s"], dict(s["params"])) for s in segs],
            start_position=self.start,
            start_heading=self.heading if self.heading is not None else 0.0,
        )
        human = Human(
            Subject(**subject),
            timeline,
            name=f"person_{self.label}",
            seed=seed,
            breathing_per_min=breathing_per_min,
            heart_per_min=heart_per_min,
            breathing_amplitude_m=0.006,
            heart_amplitude_m=0.0003,
            vital_variability=0.0,
        )
        spec = {
            "label": self.label,
            "subject": subject,
            "segments": segs,
            "start": list(self.start),
            "heading": self.heading,
            "enters_s": self.enters_s,
            "leaves_s": None if math.isinf(self.leaves_s) else self.leaves_s,
            "breathing_per_min": breathing_per_min,
            "heart_per_min": heart_per_min,
            "seed": seed,
        }
        return Actor(self.label, human, self.enters_s, self.leaves_s, spec)


def _simplify(pts: np.ndarray, step_m: float = 0.5) -> np.ndarray:
    """Keep a grid path's corners about ``step_m`` apart (smoother walks than every cell centre)."""
    keep = [pts[0]]
    for p in pts[1:-1]:
        if np.linalg.norm(p - keep[-1]) >= step_m:
            keep.append(p)
    keep.append(pts[-1])
    return np.asarray(keep, dtype=np.float64)


# ---------------------------------------------------------------------------------------- scene
@dataclass(eq=False)
class ScriptedScene:
    """A room, a radar profile and actors over ``[0, duration_s)``.

    Attributes:
        name: what it is ("demo", "walk_in_out"...).
        scene: the :class:`sim.scene.Scene`.
        rc: the radar configuration (chirp, frame rate).
        actors: the people.
        duration_s: scene length [s].
        seed: scatterer and noise seed.
        notes: ground-truth notes, in time order.
        spec: JSON-able description of everything above (the cache key).
    """

    name: str
    scene: Any
    rc: RadarConfig
    actors: list[Actor]
    duration_s: float
    seed: int
    notes: list[TruthNote]
    spec: dict[str, Any]
    _static_paths: Any = field(default=None, repr=False)

    @property
    def frame_period_s(self) -> float:
        return self.rc.chirp.frame_period_s

    @property
    def num_frames(self) -> int:
        return round(self.duration_s / self.frame_period_s)

    @property
    def radar(self) -> RadarPose:
        return self.scene.radar

    def mounting(self) -> dict[str, float]:
        """The daemon's ``mounting`` for this radar: antenna height [m] and downward tilt [deg]."""
        return {
            "height_m": round(float(self.radar.position[2]), 4),
            "tilt_deg": round(-float(self.radar.pitch_deg), 4),
        }

    def present(self, t: float) -> list[Actor]:
        """The actors in the scene at ``t`` [s]."""
        return [a for a in self.actors if a.present(t)]

    def people_meshes(self, t: float) -> list[Mesh]:
        return [a.human.mesh_at(t) for a in self.present(t)]

    def static_paths(self) -> Any:
        """Paths of the room and its furniture (traced once)."""
        if self._static_paths is None:
            from sim.propagation.scatter import trace_scatter

            self._static_paths = trace_scatter(
                self.scene.static_meshes(),
                self.radar,
                self.rc.chirp,
                0.0,
                density_per_m2={"person": 0.0, "default": STATIC_DENSITY_PER_M2},
                max_bounces=1,
                rng=self.seed,
            )
        return self._static_paths

    def notes_between(self, t0: float, t1: float) -> list[TruthNote]:
        """Truth notes with ``t0 <= time < t1``."""
        return [n for n in self.notes if t0 <= n.time_s < t1]

    def cache_key(self) -> str:
        """Hash of the description, the chirp configuration and the simulator's source code."""
        h = hashlib.sha256()
        h.update(json.dumps(self.spec, sort_keys=True, default=float).encode())
        h.update(emit_cfg(self.rc).encode())
        h.update(f"render v{RENDER_VERSION}".encode())
        root = Path(__file__).resolve().parents[1]
        for rel in _KEY_SOURCES:
            p = root / rel
            h.update(p.read_bytes() if p.exists() else rel.encode())
        return h.hexdigest()[:20]


def scripted_scene(
    name: str,
    scene: Any,
    actors: Sequence[Actor],
    *,
    duration_s: float,
    seed: int,
    profile: str | RadarConfig = DEMO_PROFILE,
    scene_spec: dict[str, Any] | None = None,
    extra_notes: Iterable[TruthNote] = (),
) -> ScriptedScene:
    """Assemble a :class:`ScriptedScene` (notes gathered from the actors' scripts and sorted)."""
    rc = profile if isinstance(profile, RadarConfig) else load_cfg(profile)
    notes = sorted(extra_notes, key=lambda n: n.time_s)
    spec = {
        "name": name,
        "scene": scene_spec or {"seed": scene.seed, "prompt": scene.prompt},
        "radar": {
            "position": list(scene.radar.position),
            "yaw_deg": scene.radar.yaw_deg,
            "pitch_deg": scene.radar.pitch_deg,
        },
        "actors": [a.spec for a in actors],
        "duration_s": duration_s,
        "seed": seed,
        "density": [PERSON_DENSITY_PER_M2, STATIC_DENSITY_PER_M2],
    }
    return ScriptedScene(name, scene, rc, list(actors), duration_s, seed, notes, spec)


def cast(
    scripts: Sequence[tuple[Script, dict[str, Any]]], until_s: float
) -> tuple[list[Actor], list[TruthNote]]:
    """Build every script (``(script, build kwargs)``) and collect their notes in time order."""
    actors = [s.build(until_s=until_s, **kw) for s, kw in scripts]
    notes = sorted((n for s, _ in scripts for n in s.notes), key=lambda n: n.time_s)
    return actors, notes


# ---------------------------------------------------------------------------------------- demo
@dataclass(frozen=True)
class DemoExpectations:
    """What the daemon should report for the demo plot.

    Attributes:
        breathing_per_min: person A's breathing rate while seated [1/min].
        breathing_tolerance_per_min: accepted error of the reported rate [1/min].
        max_count: people at the same time (A lying, B walking).
        falls: fall alarms (A's fall; none while sitting down).
    """

    breathing_per_min: float
    breathing_tolerance_per_min: float = 2.0
    max_count: int = 2
    falls: int = 1


@dataclass(eq=False)
class DemoScenario:
    """The demo's :class:`ScriptedScene` and what the daemon should make of it."""

    scripted: ScriptedScene
    expect: DemoExpectations


def _pick_demo_room(seed: int) -> tuple[Any, Any, tuple[float, float]]:
    """A living room whose door, sofa and middle the radar sees within its range (deterministic)."""
    from sim.scene import generate_scene

    rc = load_cfg(DEMO_PROFILE)
    max_range = 0.85 * rc.chirp.max_range_m
    last_error = "no living room"
    for k in range(40):
        scene = generate_scene("a living room with a sofa", seed=seed * 1000 + k)
        seats = sorted(scene.affordances("sit"), key=lambda a: a.position[:2])
        sofa = [a for a in seats if a.label == "sofa"]
        if not sofa:
            last_error = "no sofa"
            continue
        seat = sofa[len(sofa) // 2]
        grid = scene.free_space(0.1, 0.2)
        room = scene.rooms[0]
        bx = room.bounds
        centre = ((bx[0] + bx[2]) / 2, (bx[1] + bx[3]) / 2)
        cell = grid.nearest_free(*centre, max_dist_m=1.0)
        if cell is None:
            last_error = "no free floor in the middle"
            continue
        middle = grid.center_of(*cell)
        door = scene.entrance_point()
        spots = [(door[0], door[1], 1.0), (seat.position[0], seat.position[1], 0.8)]
        spots.append((middle[0], middle[1], 0.3))
        if not all(scene.in_radar_fov(p, fov_az_deg=100.0, max_range_m=max_range) for p in spots):
            last_error = "door, sofa or middle outside the radar's view"
            continue
        if math.dist(middle, seat.position[:2]) < 1.5 or math.dist(middle, door) < 1.2:
            last_error = "too small"
            continue
        return scene, seat, middle
    raise RuntimeError(f"no suitable demo living room for seed {seed}: {last_error}")


def demo_scenario(seed: int = 0) -> DemoScenario:
    """The demo's plot (about 75 s at 10 frames/s), deterministic for ``seed``.

    ::

        0 s    the room is empty
        2 s    A walks in through the door and to the sofa
        ~8 s   A sits down, then sits still breathing 14/min for 30 s
        ~40 s  A stands up, walks to the middle of the room, falls and lies still
        ~55 s  B walks in and walks around (A still on the floor)
    """
    scene, seat, middle = _pick_demo_room(seed)
    door = scene.entrance_point()
    rng = np.random.default_rng([seed, 5])
    breathing = float(np.round(rng.uniform(12.0, 16.0), 1))
    a = Script(scene, "A", door, enters_s=2.0)
    a.note("walks in through the door")
    a.sit_on(
        seat,
        27.0,
        note=f"sits down on the {seat.label}",
        still_note=f"sits still, breathing {breathing:g}/min",
    )
    a.stand_up(note="stands up")
    a.walk_to(middle, note="walks to the middle of the room")
    a.stand(1.0)
    a.fall("forward", lie_s=30.0, note="falls")
    a.note("lies still on the floor", at=a.t - 30.0 + 1.0)
    fall_end = a.t - 30.0
    b = Script(scene, "B", door, enters_s=fall_end + 6.0)
    b.note("walks in through the door and around the room")
    grid = scene.free_space(0.1, 0.2)
    room = scene.rooms[0].bounds
    corners = [
        (room[0] + 0.8, room[1] + 0.8),
        (room[2] - 0.8, room[3] - 0.8),
        (room[0] + 0.8, room[3] - 0.8),
        (room[2] - 0.8, room[1] + 0.8),
    ]
    targets = [
        c
        for c in corners
        if grid.nearest_free(*c, 0.6) is not None
        and math.dist(c, middle) > 1.3
        and scene.in_radar_fov((c[0], c[1], 1.0), fov_az_deg=100.0)
    ]
    targets = sorted(targets, key=lambda c: math.dist(c, door))[:2] or [door]
    b.walk_to(targets[-1])
    if len(targets) > 1:
        b.walk_to(targets[0])
    duration = round(b.t + 4.0, 1)
    actors, notes = cast(
        [
            (a, {"seed": seed * 10 + 1, "breathing_per_min": breathing}),
            (b, {"seed": seed * 10 + 2, "breathing_per_min": 16.0}),
        ],
        until_s=duration,
    )
    scripted = scripted_scene(
        "demo",
        scene,
        actors,
        duration_s=duration,
        seed=seed,
        extra_notes=notes,
        scene_spec={"prompt": scene.prompt, "seed": scene.seed},
    )
    return DemoScenario(scripted, DemoExpectations(breathing_per_min=breathing))


# ---------------------------------------------------------------------------------------- render
def render_frame(sc: ScriptedScene, k: int) -> np.ndarray:
    """Frame ``k``: complex64 ``[tx, rx, loop, sample]`` in ADC counts (before quantisation)."""
    from sim.propagation.scatter import trace_scatter
    from sim.radar.adc import frame_mid_time, synthesize_adc

    cfg = sc.rc.chirp
    t0 = k * cfg.frame_period_s
    t_mid = frame_mid_time(cfg, t0)
    paths = [sc.static_paths()]
    people = sc.people_meshes(t_mid)
    if people:
        paths.append(
            trace_scatter(
                [*sc.scene.static_meshes(), *people],
                sc.radar,
                cfg,
                t_mid,
                density_per_m2={"person": PERSON_DENSITY_PER_M2, "default": 0.0},
                max_bounces=1,
                rng=sc.seed,
            )
        )
    return synthesize_adc(cfg, paths, frame_start_s=t0, rng=np.random.default_rng([sc.seed, k]))


def _frame_bytes(sc: ScriptedScene, k: int) -> bytes:
    from runtime.sources.dca1000_layout import encode_frames

    return encode_frames(render_frame(sc, k), sc.rc.chirp, on_clip="ignore")


_WORKER_SCENE: ScriptedScene | None = None  # set in the parent before forking the workers


def _worker_frames(ks: list[int]) -> list[tuple[int, bytes]]:
    assert _WORKER_SCENE is not None
    return [(k, _frame_bytes(_WORKER_SCENE, k)) for k in ks]


def render(
    sc: ScriptedScene,
    *,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[tuple[int, bytes]]:
    """Yield ``(k, DCA1000 bytes of frame k)`` for every frame, in order.

    Args:
        workers: processes (default: the CPUs this process may use); 1 renders in this process.
        progress: called with the number of frames finished each time some finish.
    """
    global _WORKER_SCENE
    n = sc.num_frames
    sc.static_paths()  # trace the room once, before forking
    if workers is None:
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    workers = max(1, min(workers, n))
    if workers == 1 or "fork" not in mp.get_all_start_methods():
        for k in range(n):
            yield k, _frame_bytes(sc, k)
            if progress:
                progress(1)
        return
    chunk = 5
    batches = [list(range(s, min(s + chunk, n))) for s in range(0, n, chunk)]
    _WORKER_SCENE = sc
    try:
        with mp.get_context("fork").Pool(workers) as pool:
            for batch in pool.imap(_worker_frames, batches):
                yield from batch
                if progress:
                    progress(len(batch))
    finally:
        _WORKER_SCENE = None


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/mmfm/demo`` (default ``~/.cache/mmfm/demo``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mmfm" / "demo"


@dataclass
class RenderedFrames:
    """Rendered frames as DCA1000 bytes, memory-mapped from the cache file.

    Attributes:
        path: the ``.bin`` file (frames back to back).
        num_frames: frames in it.
        bytes_per_frame: bytes of one frame.
        render_s: seconds the rendering took (when it was made).
        from_cache: True when the file was already there.
        load_s: seconds to find and map it this time.
    """

    path: Path
    num_frames: int
    bytes_per_frame: int
    render_s: float
    from_cache: bool
    load_s: float
    _data: np.memmap | None = field(default=None, repr=False)

    def frame(self, k: int) -> memoryview | None:
        """Frame ``k``'s bytes (None past the end): a ``FakeDCA1000`` frame source."""
        if not 0 <= k < self.num_frames:
            return None
        if self._data is None:
            self._data = np.memmap(self.path, dtype=np.uint8, mode="r")
        b = self.bytes_per_frame
        return memoryview(self._data[k * b : (k + 1) * b])

    def adc(self, k: int, cfg: Any) -> np.ndarray:
        """Frame ``k`` decoded to complex64 ``[tx, rx, loop, sample]``."""
        from runtime.sources.dca1000_layout import decode_frames

        data = self.frame(k)
        if data is None:
            raise IndexError(k)
        return decode_frames(bytes(data), cfg)[0]


def cached_render(
    sc: ScriptedScene,
    *,
    directory: Path | None = None,
    use_cache: bool = True,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> RenderedFrames:
    """The scene's frames from the cache, rendered (and stored) first when missing or ``use_cache``
    is False. The file appears atomically (a half-written render is never used)."""
    t_start = time.perf_counter()
    directory = directory or cache_dir()
    key = sc.cache_key()
    path = directory / f"{sc.name}-{key}.bin"
    meta_path = path.with_suffix(".json")
    bpf = sc.rc.chirp.bytes_per_frame
    n = sc.num_frames
    if use_cache and path.exists() and meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text())
        except ValueError:
            meta = {}
        if meta.get("num_frames") == n and path.stat().st_size == n * bpf:
            return RenderedFrames(
                path,
                n,
                bpf,
                float(meta.get("render_s", 0.0)),
                True,
                time.perf_counter() - t_start,
            )
    directory.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    t0 = time.perf_counter()
    try:
        with open(tmp, "wb") as f:
            for _k, data in render(sc, workers=workers, progress=progress):
                f.write(data)
        render_s = time.perf_counter() - t0
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    meta = {
        "name": sc.name,
        "key": key,
        "num_frames": n,
        "bytes_per_frame": bpf,
        "frame_period_s": sc.frame_period_s,
        "render_s": round(render_s, 2),
        "spec": sc.spec,
        "cfg": emit_cfg(sc.rc),
    }
    meta_path.write_text(json.dumps(meta, indent=1, default=float))
    for stale in directory.glob(f"{sc.name}-*"):  # older renders of this scene (other keys)
        if stale.suffix in (".bin", ".json") and stale.stem != path.stem:
            stale.unlink(missing_ok=True)
    return RenderedFrames(path, n, bpf, render_s, False, time.perf_counter() - t_start)
