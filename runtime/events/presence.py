"""Static presence from micro-motion: is the still person a track lost its points on still there?

Raw-ADC sources only. The event engine keeps a slow-time ring buffer of loop-averaged range profiles
(:class:`runtime.events.vitals.ChestBuffer`, shared with the vital signs). When the tracker has
confirmed tracks without points in a frame, :meth:`MicroMotionPresence.check` looks at the cells at
their positions:

1. the last ``window_s`` of slow time (complex ``[t, virtual, bins]``) -> residual power after the time
   mean is removed, beamformed over azimuth (:func:`runtime.dsp.micro_motion.micro_motion_map`),
   divided by its median (the empty-cell level) -> micro-motion SNR ``[bins, grid]`` [dB]; computed at
   most once per frame, and only when a track needs it (about 1 ms for 6 m of range bins, 1.5 s);
2. per track: its floor-frame position -> radar frame -> range ``r`` [m] and ``u = x / r``
   (``sin(az) cos(el)``); the window ``|range - r| <= gate_m``, ``|u - u_track| <= gate_m / r``
   (cross-range at that distance) plus one grid step;
3. present when the strongest cell of that window reaches ``threshold_db`` and lies within
   ``dominance_db`` of the strongest cell of its range bin (a stronger mover's azimuth sidelobe at the
   same range is no person);
4. the height of that cell's motion above the floor [m] (elevation from the elevated antenna row,
   :func:`runtime.dsp.micro_motion.micro_motion_elevation`, then the mounting): the breathing chest,
   about 0.2 m for someone lying on the floor, 1.0 m seated, 1.3 m standing; unknown (NaN) when the
   two antenna rows' coherence is below ``min_coherence`` (several movers in the cell).

Why it works: breathing moves the chest by a few mm, ``4 pi d / lambda`` = several radians at 77 GHz, so
the chest's bin keeps most of its power in the residual (10-60 dB above the noise in the simulated
living room), while a sofa, a wall or the floor is phase-stable and leaves only noise (about 0 dB).

The beams use the ``.cfg``'s channel calibration (``compRangeBiasAndRxChanPhase``: the same
:func:`runtime.dsp.angle.array_geometry` as the DSP chain) and the buffer's range axis has its range
bias subtracted, so a bearing and a range here match the chain's points on the same frames.

Not done: fans, curtains and pets also move.
"""

from __future__ import annotations

import numpy as np

from firmware_cfg import RadarConfig
from runtime.dsp.angle import array_geometry
from runtime.dsp.micro_motion import micro_motion_elevation, micro_motion_map, motion_snr_db
from runtime.events.settings import Mounting, PresenceSettings
from runtime.events.vitals import ChestBuffer
from runtime.frames import POINT_DTYPE
from runtime.tracking import from_floor, to_floor

#: Azimuth grid of the micro-motion map (points over u in [-1, 1)): 32 steps of 0.0625 in u, finer than
#: the 8-element row's beam (about 0.25 in u).
GRID_SIZE = 32


class MicroMotionPresence:
    """Micro-motion presence checks on a shared slow-time buffer (see the module docstring).

    Args:
        settings: presence settings.
        radar_config: the radar's configuration (chirp; channel calibration for the beams).
        buffer: the slow-time buffer the engine pushes every raw frame into.
        mounting: radar height and tilt (floor frame -> radar frame).
    """

    def __init__(
        self,
        settings: PresenceSettings,
        radar_config: RadarConfig,
        buffer: ChestBuffer,
        mounting: Mounting,
    ) -> None:
        self.settings = settings
        self.radar_config = radar_config
        self.buffer = buffer
        self.mounting = mounting
        self.geometry = array_geometry(radar_config, GRID_SIZE)
        self._snr_db: np.ndarray | None = None  # [bins, grid] of the frame at _map_time
        self._samples: np.ndarray | None = None  # [t, virtual, bins] the map was made from
        self._map_time: float | None = None
        self.last_snr_db: np.ndarray = np.zeros(0)  # per position of the last check [dB]

    def snr_map_db(self) -> np.ndarray | None:
        """Micro-motion SNR ``[bins, grid]`` [dB] of the newest window (None: too little slow time)."""
        if self._map_time == self.buffer.last_time and self._snr_db is not None:
            return self._snr_db
        n = round(self.settings.window_s * self.buffer.sample_rate_hz)
        if len(self.buffer) < max(n, 2):
            return None
        self._samples = self.buffer.latest(self.settings.window_s)
        self._snr_db = motion_snr_db(micro_motion_map(self._samples, self.geometry))
        self._map_time = self.buffer.last_time
        return self._snr_db

    def check(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Whether micro-motion shows someone at each position, and at what height.

        Args:
            positions: floor-frame ``[k, 3]`` [m] (a :data:`runtime.tracking.PresenceCheck`).

        Returns:
            ``(present, height_m)``: bool ``[k]`` and the height above the floor of the strongest
            micro-motion in each window [m] (NaN where absent); the window maxima [dB] are left in
            :attr:`last_snr_db`.
        """
        s = self.settings
        k = positions.shape[0]
        self.last_snr_db = np.full(k, -np.inf)
        heights = np.full(k, np.nan)
        snr = self.snr_map_db()
        if snr is None or k == 0:
            return np.zeros(k, dtype=bool), heights
        rax = self.buffer.range_axis_m  # [bins]
        grid = self.geometry.grid_u  # [grid]
        step = float(grid[1] - grid[0])
        row_max = snr.max(axis=1)  # [bins]
        radar = from_floor(positions, self.mounting)  # [k, 3]
        rng = np.linalg.norm(radar, axis=1)
        out = np.zeros(k, dtype=bool)
        cells = np.zeros((k, 2))  # (range bin, u) of each window's peak
        for i in range(k):
            r = float(rng[i])
            if r <= 0.0:
                continue
            rb = np.flatnonzero(np.abs(rax - r) <= s.gate_m)
            ub = np.flatnonzero(np.abs(grid - radar[i, 0] / r) <= s.gate_m / r + step)
            if rb.size == 0 or ub.size == 0:
                continue
            win = snr[np.ix_(rb, ub)]
            j = np.unravel_index(int(np.argmax(win)), win.shape)
            best = float(win[j])
            self.last_snr_db[i] = best
            out[i] = best >= s.threshold_db and best >= row_max[rb[j[0]]] - s.dominance_db
            cells[i] = rb[j[0]], grid[ub[j[1]]]
        if out.any():
            assert self._samples is not None
            b = cells[out, 0].astype(np.int64)
            u = cells[out, 1]
            w, coherence = micro_motion_elevation(self._samples, self.geometry, b, u)  # sin(el)
            r = rax[b]
            x, z = r * u, r * w
            pts = np.zeros(b.size, dtype=POINT_DTYPE)
            pts["x"], pts["z"] = x, z
            pts["y"] = np.sqrt(np.maximum(r**2 - x**2 - z**2, 0.0))
            h = to_floor(pts, self.mounting)[:, 2]
            heights[out] = np.where(coherence >= s.min_coherence, h, np.nan)
        return out, heights
