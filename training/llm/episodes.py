"""Episodes for the mm-LLM: one simulated 2 s window = radar points + ground truth, cheaply.

An *episode* is scenario ``(seed, index)`` of :func:`sim.dataset.scenario.sample_scenario` (a home
room, its people with activity timelines, furniture, a radar mounting) turned into:

- ``points [20, 64, 5]`` / ``mask [20, 64]`` float32: the radar window in the CLMP encoder's input
  contract (``models/clmp-points-v2/card.json``: 2 s, 20 slots at 10 Hz, 64 points, x y z v snr),
  made by the *kinematic* detector model of :mod:`training.clmp.kinematic` (visible body-mesh faces
  binned in range/Doppler cells, TI-demo-like points) instead of the physics path;
- ``truth``: the same JSON summary ``mmfm sim generate`` writes (``sim/dataset/FORMAT.md``: room,
  people with their timelines, positions, vitals, line of sight, window), built with the simulator's
  own :func:`sim.dataset.simulate.person_truth` and :func:`sim.dataset.visibility.line_of_sight`, so
  :mod:`training.llm.instructions` reads it unchanged;
- ``split``: ``"train"`` or ``"heldout"`` by room and subject (:func:`training.llm.instructions.split_of`).

Why kinematic: the physics path (``mmfm sim generate --outputs points``: scene -> scatterers -> ADC ->
runtime DSP) costs about 30 s per 2 s window on one shared core (``training.clmp.kinematic``'s
figure, not re-measured here); this one cost 0.14-0.36 s per episode on a quiet core (seed 5,
indices 0-3), most of it sampling the scene. The CLMP encoder was trained on both kinds of windows.

Deterministic: the same ``(seed, index)`` gives the same bytes (all randomness is seeded from it).

How to run (tiny, CPU)::

    python -m training.llm.episodes --seed 5 --num 3
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from runtime.frames import POINT_DTYPE
from runtime.inference.window import points_window_arrays
from sim.dataset.scenario import sample_scenario
from sim.dataset.simulate import _r, person_truth, visibility_frames
from sim.dataset.visibility import line_of_sight
from sim.radar.adc import frame_mid_time
from training.clmp.kinematic import frame_points
from training.llm.instructions import SplitSpec, split_of

#: Version of the episode recipe (bump when points or truth change).
EPISODE_VERSION = "1"
#: Window length [s] (the CLMP contract's).
WINDOW_S = 2.0


@dataclass
class Episode:
    """One simulated window.

    Attributes:
        seed, index: the scenario's identity.
        points: float32 ``[T, P, 5]`` (x, y, z [m] radar frame, v [m/s], snr [dB]); ``mask``:
            float32 ``[T, P]`` (1 = real point).
        truth: the dataset-style truth (JSON-able).
        scenario: the scenario's dict (room prompt, scene seed... JSON-able).
        split: ``"train"`` or ``"heldout"``.
    """

    seed: int
    index: int
    points: np.ndarray
    mask: np.ndarray
    truth: dict[str, Any]
    scenario: dict[str, Any]
    split: str

    @property
    def id(self) -> str:
        return f"{self.seed}-{self.index}"


def make_episode(
    seed: int,
    index: int,
    contract: dict[str, Any],
    *,
    split: SplitSpec | None = None,
    setup: str | None = None,
    activities: dict[str, float] | None = None,
) -> Episode:
    """Episode ``(seed, index)`` (module docstring).

    Args:
        seed, index: scenario identity (``sample_scenario(seed, index)``).
        contract: the CLMP encoder's input contract (``card.json["input_contract"]``).
        split: the held-out rule (default :class:`SplitSpec`).
        setup: a ``sample_scenario`` setup (None: a home room with anyone anywhere).
        activities: main-activity weights (default: the simulator's).

    Raises:
        sim.dataset.scenario.ScenarioError: no acceptable placement for this scenario.
    """
    sc = sample_scenario(seed, index, window_s=WINDOW_S, setup=setup, activities=activities)
    rc = sc.radar_config()
    cfg = rc.chirp
    scene = sc.scene()
    humans = sc.humans()
    starts = sc.frame_starts_s()  # [F] frame start times [s]
    mids = np.array([frame_mid_time(cfg, float(t)) for t in starts])  # [F] [s]
    people = []
    for k, h in enumerate(humans):
        s, _ = person_truth(sc, k, h, scene, mids)
        people.append(s)
    vis = line_of_sight(scene, humans, mids[visibility_frames(len(mids))])
    for s, v in zip(people, vis, strict=True):
        s["line_of_sight"] = round(v.line_of_sight, 4)
        s["occluded_by"] = v.occluder
    truth = {
        "room": scene.describe(),
        "people": people,
        "num_people": len(people),
        "window": {
            "start_s": sc.window_start_s,
            "duration_s": _r(len(starts) * cfg.frame_period_s),
            "num_frames": len(starts),
        },
    }
    rng = np.random.default_rng([seed, index, 31])
    mean_pts = float(rng.uniform(10, 28))
    clouds = []
    for t in mids:
        parts = [
            frame_points(
                h.mesh_at(float(t)),
                scene.radar,
                cfg.range_resolution_m,
                cfg.velocity_resolution_mps,
                rng,
                mean_points=mean_pts / max(1, len(humans)),
            )
            for h in humans
        ]
        clouds.append(np.concatenate(parts) if parts else np.zeros(0, POINT_DTYPE))
    points, mask = points_window_arrays(clouds, starts - starts[0], contract)
    scenario = sc.to_dict()
    return Episode(
        seed=int(seed),
        index=int(index),
        points=points,
        mask=mask,
        truth=_r(truth),
        scenario=scenario,
        split=split_of(scenario, truth, split or SplitSpec()),
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m training.llm.episodes --seed S --num N``: print a summary line per episode."""
    import argparse
    import time

    from runtime.models import load_model

    ap = argparse.ArgumentParser(prog="python -m training.llm.episodes")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--num", type=int, default=3)
    args = ap.parse_args(argv)
    contract = load_model("clmp-points-v2").input_contract
    for i in range(args.num):
        t0 = time.perf_counter()
        ep = make_episode(args.seed, i, contract)
        acts = [p["activity"] for p in ep.truth["people"]]
        print(
            f"{ep.id} {ep.split} people={acts} points={int(ep.mask.sum())} "
            f"{time.perf_counter() - t0:.2f} s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
