"""The one result type every propagation backend returns.

A :class:`PathSet` is a snapshot of the propagation paths between the radar's antennas at time
``t_ref_s``. The ADC synthesis (``sim.radar.adc``) evolves each path coherently in time from its delay
rate, so a backend that is re-traced once per frame still gives the right phase from chirp to chirp.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class PathSet:
    """Propagation paths of one snapshot.

    Attributes:
        t_ref_s: time the snapshot describes [s] (absolute simulation time).
        delay_s: float64 ``[P]`` round-trip delay at ``t_ref_s`` from the array's phase centre [s].
        delay_rate: float64 ``[P]`` d(delay)/dt [s/s] (``2 v_radial / c`` for a single bounce; positive
            when the path lengthens, i.e. the target moves away).
        gain: complex128 ``[num_tx, num_rx, P]`` complex amplitude per physical TX and RX antenna of the
            board (index = antenna index, not chirp slot), unitless field ratio including path loss,
            material reflection and the antenna's position phase (``exp(j pi (x sin az + z sin el))`` in
            half-wavelengths as in ``firmware_cfg.boards``); the radar model scales it to ADC counts.
        object_ids: int ``[P]`` index into ``object_names`` of the object that last scattered each path.
        part_ids: int ``[P]`` body-part / sub-object index (-1 when unknown).
        bounces: int ``[P]`` number of reflections (1 = direct backscatter, 2+ = multipath).
        object_names: names of the scene's meshes (``Mesh.name``).
    """

    t_ref_s: float
    delay_s: np.ndarray
    delay_rate: np.ndarray
    gain: np.ndarray
    object_ids: np.ndarray
    part_ids: np.ndarray
    bounces: np.ndarray
    object_names: tuple[str, ...]

    @property
    def num_paths(self) -> int:
        return int(self.delay_s.shape[0])

    @classmethod
    def empty(cls, num_tx: int, num_rx: int, t_ref_s: float = 0.0) -> PathSet:
        z = np.zeros(0)
        zi = np.zeros(0, dtype=np.int64)
        return cls(t_ref_s, z, z, np.zeros((num_tx, num_rx, 0), np.complex128), zi, zi, zi, ())

    @classmethod
    def concat(cls, sets: list[PathSet]) -> PathSet:
        """Join snapshots of the same time (e.g. static scene + people); object ids are re-based."""
        if not sets:
            raise ValueError("concat needs at least one PathSet")
        t = sets[0].t_ref_s
        if any(abs(s.t_ref_s - t) > 1e-12 for s in sets):
            raise ValueError("PathSets of different times cannot be joined")
        names: list[str] = []
        ids = []
        for s in sets:
            ids.append(s.object_ids + len(names))
            names.extend(s.object_names)
        return cls(
            t,
            np.concatenate([s.delay_s for s in sets]),
            np.concatenate([s.delay_rate for s in sets]),
            np.concatenate([s.gain for s in sets], axis=2),
            np.concatenate(ids),
            np.concatenate([s.part_ids for s in sets]),
            np.concatenate([s.bounces for s in sets]),
            tuple(names),
        )
