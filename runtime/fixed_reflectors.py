"""Fixed-reflector map for point-cloud sources: zero-Doppler points that come back at the same place.

TI's out-of-box demo with clutter removal off reports furniture, lamps, multipath spots and its own
TX-RX leakage as zero-Doppler points every frame. A fixed reflector comes back in the same range bin
and angle: its point lies within ``fixed_match_m`` of one of the previous frame. A body's scattering
centres move (breathing, sway, limbs), so a person's static points rarely repeat that closely (on the
RadHAR recordings about 5 % of a person's static points, 40-80 % of a fixed reflector's).

Each floor-frame cell of ``fixed_cell_m`` (in x, y and z) keeps a running share, time constant
``fixed_tau_s``, of the frames in which a repeated static point fell within ``fixed_match_m`` of it
(so a reflector jittering across a cell boundary feeds the cells on both sides). From
``fixed_share`` on, the static points within ``fixed_match_m`` of such a cell are dropped. Moving
points are never dropped. Used by :class:`runtime.tracking.Tracker` (step 9) for frames without a
presence check.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from runtime.events.settings import TrackingSettings

Cell = tuple[int, int, int]

#: the 27 offsets of a point's neighbourhood, in units of ``fixed_match_m``
_OFFSETS = np.array(np.meshgrid(*[[-1.0, 0.0, 1.0]] * 3)).reshape(3, -1).T  # [27, 3]
#: cells whose share has decayed below this are forgotten
_FORGET = 0.01


class FixedReflectorMap:
    """Learns where static points repeat and drops them (see the module docstring).

    Args:
        settings: uses ``static_speed_mps`` and the ``fixed_*`` fields.
    """

    def __init__(self, settings: TrackingSettings) -> None:
        self.settings = settings
        self._cells: dict[Cell, tuple[float, float]] = {}  # cell -> (share, time of that value [s])
        self._prev_static = np.empty((0, 3))  # the previous frame's static points [m]

    def share(self, cell: Cell, t: float) -> float:
        """A cell's running share of frames with a repeated static point at time ``t`` [s] (it
        decays as ``exp(-elapsed / fixed_tau_s)`` through frames without one)."""
        share, t_set = self._cells.get(cell, (0.0, t))
        return share * float(np.exp(-(t - t_set) / self.settings.fixed_tau_s))

    def filter(self, pts: np.ndarray, t: float, dt: float) -> np.ndarray:
        """Learn from one frame and drop its static points at fixed reflectors.

        Args:
            pts: floor-frame points ``[n, 4]`` (x, y, z [m], radial velocity [m/s]).
            t: the frame's time [s].
            dt: time since the previous frame [s].

        Returns:
            ``pts`` without the static points at learned fixed reflectors ``[n', 4]``.
        """
        s = self.settings
        static = np.abs(pts[:, 3]) < s.static_speed_mps
        sp = pts[static, :3]  # [m, 3]
        repeat = np.zeros(len(sp), bool)
        if len(sp) and len(self._prev_static):
            d, _ = cKDTree(self._prev_static).query(sp, distance_upper_bound=s.fixed_match_m)
            repeat = np.isfinite(d)
        self._prev_static = sp
        near = sp[:, None, :] + s.fixed_match_m * _OFFSETS[None]  # [m, 27, 3]
        cells = np.floor(near / s.fixed_cell_m).astype(np.int64)
        keys = [{(int(a), int(b), int(c)) for a, b, c in pc} for pc in cells]
        alpha = 1.0 - float(np.exp(-dt / s.fixed_tau_s)) if dt > 0 else 0.0
        for k in set().union(*[ks for ks, r in zip(keys, repeat, strict=True) if r]):
            self._cells[k] = (self.share(k, t) + alpha, t)  # EMA: (1 - alpha) share + alpha
        fixed = np.array([any(self.share(k, t) >= s.fixed_share for k in ks) for ks in keys], bool)
        for k in [k for k in self._cells if self.share(k, t) < _FORGET]:
            del self._cells[k]
        drop = np.zeros(len(pts), bool)
        drop[np.flatnonzero(static)[fixed]] = True
        return pts[~drop]
