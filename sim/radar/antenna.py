"""Board antenna models: element gain patterns and TX->RX coupling (the demo's near-range artefact).

Element pattern
---------------
Every TX and RX of TI's BOOST EVMs is a short series-fed patch array (patches stacked vertically): wide
in azimuth, narrow in elevation. :class:`ElementPattern` is the one-way *power* pattern relative to
boresight, separable in the azimuth angle ``az = atan2(x, y)`` and the elevation angle
``el = arcsin(z)`` (radar frame: +y boresight, +x right, +z up):

    G(az, el) = max(cos(az)^n_az * cos(el)^n_el, 10^(floor_db / 10)),
    n = ln(1/2) / ln(cos(hpbw / 2))                      (half power at +- hpbw/2)

and a path's complex gain is multiplied by ``sqrt(G_tx(departure) G_rx(arrival))``. The boresight
gains (10.5 dBi) stay in :class:`sim.radar.noise.NoiseModel`; this is only the shape. Figures
(:data:`BOARD_PATTERNS`): the xWR1443BOOST / xWR1843BOOST user's guides (TI SWRU518, SWRU546) plot
the TX/RX patterns of the same antenna layout; read off those plots, the 3-dB beamwidth is about
+-28 deg in azimuth and +-14 deg in elevation (the elevation beam is what keeps a TI demo's points on
the torso: at 2 m the feet and the floor bounce are 25-30 deg below boresight, 20+ dB down two-way).
These are approximate readings, not a measured pattern; boards without an entry are isotropic
(IWR1843BOOST shares the layout but stays isotropic until checked against its own recordings; the
Sionna backend applies no pattern yet, so the backend-agreement tests use that board). The
floor (-40 dB one way, side and back radiation of the patch arrays) is calibrated: at -30 dB the
ceiling image of a person 1.2 m in front of RadHAR's radar still gave weak points 1.5 m above the
head (a TX leg via the ceiling carries its elevation phase into TI's estimate); at -40 dB it does not.

TX->RX coupling
---------------
Each RX also hears each TX directly through the board (antenna-to-antenna leakage and the package):
a static return at a few centimetres of "range" that TI's demo removes only when ``calibDcRangeSig``
is enabled. RadHAR's recordings (calibration off) show it in every frame: three points at 0.04-0.08 m
with v = 0. :func:`coupling_paths` models it as one static path per (TX, RX) pair and leakage route
whose delay is the antenna separation on the board plus the route's extra length
(:data:`COUPLING_ROUTES`; the first route is :data:`COUPLING_EXTRA_DELAY_M` of feed line), with a
field level relative to the radar-equation scaling (:data:`COUPLING_LEVEL` times the route's relative
level; a property of the board, not of any activity).

Calibration on RadHAR (SDK 1.x demo, peak grouping along Doppler only, range bin 0 dropped by the
demo): every real frame holds leakage points in range bins 1, 2, 3 and 4 (0.04-0.17 m; 6 points with
the second azimuth peaks of bins 2 and 3). One route at 0.10 m gives bins 1-2 (and bin 3 in 16 % of
the frames): the Blackman window's main lobe does not reach bin 4, so the leakage must also take a
longer route. A second one, 0.22 m extra at half the field level (about 12 cm longer than the first:
the board's edge, its connector and mount are at that distance), gives bins 1-4 in every frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from firmware_cfg.chirp import SPEED_OF_LIGHT_M_S, ChirpConfig
from sim.propagation.paths import PathSet


@dataclass(frozen=True)
class ElementPattern:
    """One-way power pattern of one antenna element (module docstring).

    Attributes:
        azimuth_hpbw_deg: full 3-dB beamwidth in azimuth [deg].
        elevation_hpbw_deg: full 3-dB beamwidth in elevation [deg].
        floor_db: lowest relative gain (side and back radiation) [dB].
    """

    azimuth_hpbw_deg: float
    elevation_hpbw_deg: float
    floor_db: float = -40.0

    def _exponent(self, hpbw_deg: float) -> float:
        return float(np.log(0.5) / np.log(np.cos(np.deg2rad(0.5 * hpbw_deg))))

    def power(self, dirs_radar: np.ndarray) -> np.ndarray:
        """Relative one-way power gain ``[P]`` for radar-frame unit directions ``[P, 3]``."""
        d = np.asarray(dirs_radar, dtype=np.float64)
        az = np.arctan2(d[:, 0], d[:, 1])
        el = np.arcsin(np.clip(d[:, 2], -1.0, 1.0))
        ca = np.clip(np.cos(az), 0.0, 1.0)  # behind the board: floor
        ce = np.clip(np.cos(el), 0.0, 1.0)
        g = ca ** self._exponent(self.azimuth_hpbw_deg) * ce ** self._exponent(
            self.elevation_hpbw_deg
        )
        return np.maximum(g, 10.0 ** (self.floor_db / 10.0))

    def field(self, dirs_radar: np.ndarray) -> np.ndarray:
        """Relative one-way field amplitude ``[P]`` (square root of :meth:`power`)."""
        return np.sqrt(self.power(dirs_radar))


#: Element patterns by board name (module docstring for the sources).
BOARD_PATTERNS: dict[str, ElementPattern] = {
    "IWR1443BOOST": ElementPattern(azimuth_hpbw_deg=56.0, elevation_hpbw_deg=28.0),
}


def element_field(cfg: ChirpConfig, dirs_radar: np.ndarray) -> np.ndarray:
    """One-way field factor ``[P]`` of ``cfg``'s board for directions ``[P, 3]`` (1: isotropic)."""
    pattern = BOARD_PATTERNS.get(cfg.board_spec.name)
    if pattern is None:
        return np.ones(np.asarray(dirs_radar).shape[0])
    return pattern.field(dirs_radar)


#: Feed-line length added to the antenna separation in the coupling delay [m] (one way).
COUPLING_EXTRA_DELAY_M = 0.10
#: Coupling field level relative to the radar-equation gain unit (``PathSet.gain``) per board.
COUPLING_LEVEL: dict[str, float] = {"IWR1443BOOST": 3e-4}
#: Leakage routes per board: (extra one-way length [m], field level relative to COUPLING_LEVEL);
#: boards without an entry have the feed-line route alone (module docstring).
COUPLING_ROUTES: dict[str, tuple[tuple[float, float], ...]] = {
    "IWR1443BOOST": ((COUPLING_EXTRA_DELAY_M, 1.0), (0.22, 0.5)),
}


def coupling_paths(cfg: ChirpConfig, t_ref_s: float, level: float | None = None) -> PathSet:
    """Static TX->RX leakage paths of the board, one per (TX, RX) pair (module docstring).

    Args:
        cfg: chirp configuration (board antenna positions, wavelength).
        t_ref_s: snapshot time [s].
        level: field level (default :data:`COUPLING_LEVEL` of the board; 0 when it has none).

    Returns:
        :class:`PathSet` with ``num_tx * num_rx`` paths per leakage route (``bounces = 0``,
        ``object_names = ("coupling",)``).
    """
    board = cfg.board_spec
    lvl = COUPLING_LEVEL.get(board.name, 0.0) if level is None else level
    routes = COUPLING_ROUTES.get(board.name, ((COUPLING_EXTRA_DELAY_M, 1.0),))
    half_wl = 0.5 * cfg.wavelength_m
    tx = np.asarray(board.tx_positions, np.float64) * half_wl  # [n_tx, 2] (x, z) [m]
    rx = np.asarray(board.rx_positions, np.float64) * half_wl
    n_tx, n_rx = tx.shape[0], rx.shape[0]
    # the RX row sits ~1.5 cm beside the TX row on the BOOST layout (x offset of the two groups)
    sep = np.linalg.norm(tx[:, None, :] - rx[None, :, :] - np.array([0.015, 0.0]), axis=2)
    n_pair = n_tx * n_rx
    delay = np.concatenate(
        [((sep + extra) / SPEED_OF_LIGHT_M_S).reshape(-1) for extra, _ in routes]
    )  # round-trip-equivalent delay [s] of each route's one-way length
    gain = np.zeros((n_tx, n_rx, n_pair * len(routes)), np.complex128)
    k = np.arange(n_pair)
    for i, (_, rel) in enumerate(routes):  # the carrier phase of the delay is the synthesis's
        gain[k // n_rx, k % n_rx, i * n_pair + k] = lvl * rel
    zi = np.zeros(delay.size, np.int64)
    return PathSet(
        t_ref_s=float(t_ref_s),
        delay_s=delay,
        delay_rate=np.zeros(delay.size),
        gain=gain,
        object_ids=zi,
        part_ids=zi - 1,
        bounces=zi,
        object_names=("coupling",),
    )
