"""People tracking: point clouds -> clusters -> Kalman tracks with positions, velocities and heights.

Per frame (:meth:`Tracker.update`):

1. **Floor frame.** Points arrive in the radar frame (x right, y boresight, z up, as TI reports them)
   and are rotated by the mounting tilt and lifted by the mounting height (:func:`to_floor`): x right,
   y forward along the floor, z up from the floor [m]. Points outside the configured height band or
   floor area are dropped.
2. **Clustering.** DBSCAN in ``(x, y, z * z_weight, v * velocity_weight_s)`` (:func:`cluster_points`,
   vectorised with a k-d tree and connected components). A cluster that reaches within
   ``person_radius_m`` of two confirmed tracks' predictions (people passing close by) is split
   between them by nearest prediction.
3. **Association.** Global nearest neighbour: the Hungarian algorithm on the horizontal Mahalanobis
   distance (plus ``ln det S``) between each track's prediction and each cluster centroid, with a
   chi-square gate and a hard distance gate. Confirmed tracks are preferred over tentative ones.
4. **Kalman update.** Constant-velocity state ``[x, y, z, vx, vy, vz]`` (floor frame, m and m/s),
   white-acceleration process noise (larger vertically: falls), measurement = the cluster centroid.
5. **Height.** The ``height_percentile`` percentile of the associated points' heights above the floor,
   exponentially smoothed (time constant ``height_tau_s``): the top of the body, for fall detection.
6. **Held tracks (still people).** A confirmed track without points in a frame is *held* when its mean
   speed was below ``slow_speed_mps`` when last seen, or when the caller's ``presence`` check (raw-ADC
   sources: micro-motion at the track's position, :mod:`runtime.events.presence`) finds someone there.
   A held track does not coast: its velocity decays to zero with the time constant
   ``hold_velocity_tau_s`` (the position moves at most ``|v| * tau`` further, a few cm). Its height
   stays at its last estimate, unless the presence check measures the height of what moves there (the
   breathing chest: how a track learns that someone lies on the floor after a fall that left no
   points at the end); that height is used once the track has been held ``hold_height_after_s``:
   the first one replaces the points' estimate (a fall that ends out of sight of the points shows as
   that step), later ones are smoothed with the time constant ``hold_height_tau_s`` (a passer-by's
   motion in the window is brief). Once a held track has such a measured height, only a cluster
   within ``hold_gate_m`` of it whose top (``height_percentile``) is at most ``hold_max_rise_m``
   above that height joins it: someone getting up does so where they lay or sat, and nobody gets up
   from the floor in one frame, while a passer-by next to them would otherwise take their track
   over. A track that is neither held nor seen coasts at its last velocity, as a walker who drops
   out for a few frames.
7. **Life cycle.** An unassociated cluster with enough points, some of them moving (static points, from
   furniture, never start a track but do keep a track alive: someone standing still), and far enough
   from existing tracks starts a *tentative* track; it is *confirmed* after N hits within its first M
   frames, else deleted. Without a presence check (point-cloud sources), a cluster without moving
   points of its own (or with fewer than ``birth_min_points``: someone far away) also starts one
   where ``birth_motion_min_points`` moving points were seen within ``birth_motion_radius_m`` of it
   during the last ``birth_motion_memory_s``: at the out-of-box demo's coarse Doppler resolution
   (0.6 m/s) someone jumping or squatting in place gives zero-Doppler points nearly every frame and
   a moving one now and then, furniture never one (not before the fixed-reflector map, step 9, has
   watched for ``fixed_tau_s``). Clusters are considered nearest first, and one that lies behind
   another track, within ``ghost_bearing_deg`` of its bearing and more than
   ``ghost_min_extra_range_m`` further away, starts none (nor is a tentative one behind a confirmed
   track confirmed): a multipath mirror image of a person (a path that bounced off a wall or
   furniture behind them) lies along their bearing at a longer range. Two confirmed tracks within
   ``merge_distance_m`` of each other whose horizontal velocities differ by less than
   ``merge_speed_mps``, both faster than ``slow_speed_mps``, for ``merge_after_s`` are one moving
   body seen as two groups of points (torso and legs at different Doppler, born apart): the younger
   one ends. People crossing move differently; two people sitting side by side are not moving. A coasting confirmed track dies after ``max_unseen_s`` without points; a held
   one after ``max_unseen_static_s`` without evidence (points or a positive presence check), as TI's
   group tracker keeps static targets: a still person whose micro-motion keeps being found lives on.

8. **Static clutter map** (``static_map``, only with a presence check, i.e. raw-ADC sources: there a
   still person is kept by micro-motion, not by static points). With the DSP's clutter removal off,
   furniture, door leaves and walls give static points every frame. A floor cell of
   ``static_map_cell_m`` gains evidence for each frame [s] with static points in it and no track
   within ``static_map_clear_m``, and loses half that for each frame without static points and
   without a track near (otherwise it keeps it); from ``static_map_learn_s`` on, its static points
   are dropped before clustering, and so are those of a neighbouring cell with some evidence (the
   fringe of a spread-out static cluster). Without it a walker's track that passes such a spot
   (a door leaf by the exit) can latch onto its static points and outlive the person who left.
   A person who stays still is near their own track, so their spot never becomes clutter; one who
   sits down on a sofa already learned keeps their moving points and the presence check.

9. **Fixed-reflector map** (``fixed_map``, only without a presence check: point-cloud sources such as
   UART and RadHAR dumps, clutter removal off; :mod:`runtime.fixed_reflectors`). A fixed reflector
   (furniture, a lamp, a multipath spot, the radar's own TX-RX leakage) comes back frame after frame
   in the same range bin and angle; a body's scattering centres move. Cells where zero-Doppler
   points repeat to within ``fixed_match_m`` in at least ``fixed_share`` of the frames (running
   share, time constant ``fixed_tau_s``) lose their static points before clustering. Unlike the static clutter map it needs nobody to be away: a
   walker's track that passes a fixed reflector no longer latches onto it (a ghost that held at a
   constant height on the RadHAR walking recordings), and a person who stands still keeps their
   points. Moving points are never dropped.

Not done: the radial velocity is not a Kalman measurement (it only helps clustering and the initial
velocity); a person who stands perfectly still in front of a point-cloud radar for long enough that
their points repeat to within ``fixed_match_m`` would be taken for a fixed reflector; presence
evidence keeps a track alive but does not move it (a held track stays where its points were last);
the ghost rule looks along the bearing only (a mirror image off a side wall lies elsewhere), and a
second person right behind another along the same bearing starts a track only once they step out
of that cone.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from runtime.events.settings import Mounting, TrackingSettings
from runtime.fixed_reflectors import FixedReflectorMap

TrackState = Literal["tentative", "confirmed"]

_INFEASIBLE = 1e9
#: A static-map cell's eight neighbours.
_RING = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))

#: A presence check: floor-frame positions ``[k, 3]`` [m] -> ``(present, height_m)``: bool ``[k]``
#: someone (still) is there, and float ``[k]`` the height above the floor of what moves there [m]
#: (NaN: unknown).
PresenceCheck = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def to_floor(points: np.ndarray, mounting: Mounting) -> np.ndarray:
    """Radar-frame points -> floor frame.

    Args:
        points: structured :data:`~runtime.frames.POINT_DTYPE` ``[n]`` (x right, y boresight, z up in
            the radar's orientation [m]).
        mounting: radar height above the floor and downward tilt.

    Returns:
        float64 ``[n, 3]`` floor-frame ``(x, y, z)`` [m]: x right, y forward along the floor, z up from
        the floor.
    """
    tilt = np.deg2rad(mounting.tilt_deg)
    c, s = np.cos(tilt), np.sin(tilt)
    x = points["x"].astype(np.float64)
    y = points["y"].astype(np.float64)
    z = points["z"].astype(np.float64)
    out = np.empty((points.shape[0], 3))
    out[:, 0] = x
    out[:, 1] = y * c + z * s
    out[:, 2] = mounting.height_m - y * s + z * c
    return out


def from_floor(xyz: np.ndarray, mounting: Mounting) -> np.ndarray:
    """Floor-frame positions ``[..., 3]`` [m] -> radar-frame ``(x, y, z)`` ``[..., 3]`` [m]."""
    tilt = np.deg2rad(mounting.tilt_deg)
    c, s = np.cos(tilt), np.sin(tilt)
    p = np.asarray(xyz, dtype=np.float64)
    yw, zw = p[..., 1], p[..., 2] - mounting.height_m
    return np.stack([p[..., 0], yw * c - zw * s, yw * s + zw * c], axis=-1)


def cluster_points(features: np.ndarray, eps: float, min_points: int) -> np.ndarray:
    """DBSCAN labels.

    Args:
        features: ``[n, d]`` points in a (weighted) metric space.
        eps: neighbourhood radius (same units).
        min_points: neighbours within ``eps``, the point itself included, that make a core point.

    Returns:
        int ``[n]`` cluster label per point, ``0..k-1``, or ``-1`` for noise.
    """
    n = features.shape[0]
    labels = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return labels
    pairs = cKDTree(features).query_pairs(eps, output_type="ndarray")  # [e, 2]
    degree = np.bincount(pairs.ravel(), minlength=n) + 1
    core = degree >= min_points
    if not core.any():
        return labels
    cc = pairs[core[pairs[:, 0]] & core[pairs[:, 1]]]  # core-core edges
    graph = coo_matrix((np.ones(len(cc)), (cc[:, 0], cc[:, 1])), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    core_idx = np.flatnonzero(core)
    _, core_labels = np.unique(comp[core_idx], return_inverse=True)
    labels[core_idx] = core_labels
    # border points: a non-core point joins the cluster of a core neighbour
    border = pairs[core[pairs[:, 0]] != core[pairs[:, 1]]]
    if len(border):
        c_end = np.where(core[border[:, 0]], border[:, 0], border[:, 1])
        b_end = np.where(core[border[:, 0]], border[:, 1], border[:, 0])
        labels[b_end] = labels[c_end]
    return labels


@dataclass
class Track:
    """One tracked person (a snapshot; the tracker keeps its own state).

    Attributes:
        id: track id, unique over the tracker's life (starts at 1).
        position: ``(x, y, z)`` floor frame [m]; z is the centroid height of the body's points.
        velocity: ``(vx, vy, vz)`` floor frame [m/s].
        height_m: smoothed top-of-body height above the floor [m] (see ``height_percentile``).
        points: float64 ``[n, 4]`` the points associated this frame: floor-frame x, y, z [m] and radial
            velocity [m/s] (+ = away from the radar); empty when not detected this frame.
        age_s: time since birth [s].
        hits: frames with associated points since birth.
        state: ``"tentative"`` or ``"confirmed"``.
        last_seen: time of the last frame with associated points [s, the frames' clock].
        range_m: distance of the position from the radar [m].
        mean_speed_mps: net horizontal displacement over the last ``speed_window_s`` divided by
            the time it took [m/s]: steadier than the Kalman velocity for "is this person still?".
        held: no points this frame and the track is held in place (a still person), not coasting.
        presence: the caller's presence check (micro-motion) found someone at the track this frame.
    """

    id: int
    position: tuple[float, float, float]
    velocity: tuple[float, float, float]
    height_m: float
    points: np.ndarray
    age_s: float
    hits: int
    state: TrackState
    last_seen: float
    range_m: float
    mean_speed_mps: float = 0.0
    held: bool = False
    presence: bool = False

    @property
    def speed_mps(self) -> float:
        """Horizontal speed [m/s]."""
        return float(np.hypot(self.velocity[0], self.velocity[1]))

    @property
    def detected(self) -> bool:
        """Points were associated in this frame."""
        return self.points.shape[0] > 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary (positions rounded to mm, points as a count)."""
        return {
            "id": self.id,
            "position": [round(float(v), 3) for v in self.position],
            "velocity": [round(float(v), 3) for v in self.velocity],
            "height_m": round(float(self.height_m), 3),
            "num_points": int(self.points.shape[0]),
            "age_s": round(float(self.age_s), 3),
            "hits": int(self.hits),
            "state": self.state,
            "range_m": round(float(self.range_m), 3),
            "mean_speed_mps": round(float(self.mean_speed_mps), 3),
            "held": bool(self.held),
            "presence": bool(self.presence),
        }


@dataclass
class _Unit:
    """A track's filter state."""

    id: int
    x: np.ndarray  # [6] x, y, z, vx, vy, vz
    P: np.ndarray  # [6, 6]
    born: float
    last_seen: float
    height: float
    height_t: float
    state: TrackState = "tentative"
    hits: int = 1
    history: list[bool] = field(default_factory=list)  # hit/miss per frame while tentative
    trail: deque[tuple[float, float, float]] = field(default_factory=deque)  # (t, x, y)
    slow_when_seen: bool = False  # mean speed below slow_speed_mps at the last hit
    points: np.ndarray = field(default_factory=lambda: np.empty((0, 4)))
    held: bool = False  # unseen and held in place (velocity decaying), not coasting
    presence: bool = False  # the presence check found someone here this frame
    last_evidence: float = 0.0  # last frame with points or a positive presence check [s]
    held_since: float = 0.0  # when the current hold began [s]
    presence_height: bool = False  # the height comes from the presence check (this hold)


def _mean_speed(trail: deque[tuple[float, float, float]]) -> float:
    """Net horizontal displacement over a ``(t, x, y)`` trail / its duration [m/s]."""
    if len(trail) < 2 or trail[-1][0] <= trail[0][0]:
        return 0.0
    (t0, x0, y0), (t1, x1, y1) = trail[0], trail[-1]
    return float(np.hypot(x1 - x0, y1 - y0) / (t1 - t0))


class Tracker:
    """Kalman multi-target tracker over point-cloud frames (see the module docstring).

    Args:
        settings: clustering and tracking parameters.
        mounting: the radar's height and tilt (radar frame -> floor frame).
    """

    def __init__(self, settings: TrackingSettings, mounting: Mounting | None = None) -> None:
        self.settings = settings
        self.mounting = mounting or Mounting()
        self._units: list[_Unit] = []
        self._next_id = 1
        self._t: float | None = None
        self._dt = 0.0  # time since the previous frame [s]
        self._clutter: dict[tuple[int, int], float] = {}  # static map cell -> evidence [s]
        self._fixed = FixedReflectorMap(settings)  # point clouds (step 9)
        self._motion: deque[tuple[float, np.ndarray]] = deque()  # (t, moving points' xy [k, 2])
        self._close_since: dict[tuple[int, int], float] = {}  # (id, id) -> close and alike since
        self._points_cloud = True  # the last frame came without a presence check
        self._t_first: float | None = None  # the first frame's time [s]

    # ------------------------------------------------------------------ public
    def update(
        self, points: np.ndarray, t: float, presence: PresenceCheck | None = None
    ) -> list[Track]:
        """Advance the tracker to time ``t`` with one frame's points.

        Args:
            points: structured :data:`~runtime.frames.POINT_DTYPE` ``[n]`` in the radar frame.
            t: the frame's time [s] (any clock, increasing).
            presence: optional check run on the positions of the confirmed tracks that got no
                points this frame (one call per frame, only when there are such tracks); True
                holds a track and keeps it alive (see the module docstring).

        Returns:
            all live tracks (tentative and confirmed), by id.
        """
        dt = 0.0 if self._t is None else max(0.0, t - self._t)
        if self._t_first is None:
            self._t_first = t
        self._t, self._dt = t, dt
        for u in self._units:
            self._predict(u, dt)
            u.points = np.empty((0, 4))

        pts = self._floor_points(points)  # [n, 4] x, y, z, v
        if presence is not None and self.settings.static_map:
            pts = self._static_map(pts, dt)
        elif presence is None and self.settings.fixed_map:
            pts = self._fixed.filter(pts, t, dt)
        self._points_cloud = presence is None
        self._remember_motion(pts, t)
        clusters = self._clusters(pts)
        clusters, owners = self._split_shared(pts, clusters)
        assigned = self._associate(pts, clusters, owners)

        used = set()
        for ui, ci in assigned:
            self._update(self._units[ui], pts[clusters[ci]], t)
            used.add(ci)
        for u in self._units:
            if u.state == "tentative" and u.points.shape[0] == 0:
                u.history.append(False)
        # nearest first: a multipath mirror image lies further away than the person it mirrors
        free = [idx for ci, idx in enumerate(clusters) if ci not in used]
        for idx in sorted(free, key=lambda idx: float(np.hypot(*pts[idx, :2].mean(axis=0)))):
            self._maybe_birth(pts[idx], t)
        self._hold(t, presence)
        self._merge(t)
        self._life_cycle(t)
        for u in self._units:
            u.trail.append((t, float(u.x[0]), float(u.x[1])))
            while len(u.trail) > 2 and t - u.trail[1][0] >= self.settings.speed_window_s:
                u.trail.popleft()
            if u.last_seen == t:
                u.slow_when_seen = _mean_speed(u.trail) < self.settings.slow_speed_mps
        return self.tracks()

    def tracks(self) -> list[Track]:
        """Snapshots of the live tracks, by id."""
        t = self._t if self._t is not None else 0.0
        out = []
        for u in sorted(self._units, key=lambda u: u.id):
            pos = u.x[:3]
            rng = float(np.linalg.norm(from_floor(pos, self.mounting)))
            out.append(
                Track(
                    id=u.id,
                    position=(float(pos[0]), float(pos[1]), float(pos[2])),
                    velocity=(float(u.x[3]), float(u.x[4]), float(u.x[5])),
                    height_m=float(u.height),
                    points=u.points,
                    age_s=float(t - u.born),
                    hits=u.hits,
                    state=u.state,
                    last_seen=u.last_seen,
                    range_m=rng,
                    mean_speed_mps=_mean_speed(u.trail),
                    held=u.held,
                    presence=u.presence,
                )
            )
        return out

    # ------------------------------------------------------------------ steps
    def _floor_points(self, points: np.ndarray) -> np.ndarray:
        s = self.settings
        if points.shape[0] == 0:
            return np.empty((0, 4))
        xyz = to_floor(points, self.mounting)
        pts = np.column_stack([xyz, points["v"].astype(np.float64)])
        keep = (pts[:, 2] >= s.floor_z_range_m[0]) & (pts[:, 2] <= s.floor_z_range_m[1])
        keep &= np.isfinite(pts).all(axis=1)
        if s.bounds_m is not None:
            x0, x1, y0, y1 = s.bounds_m
            keep &= (pts[:, 0] >= x0) & (pts[:, 0] <= x1) & (pts[:, 1] >= y0) & (pts[:, 1] <= y1)
        return pts[keep]

    def _static_map(self, pts: np.ndarray, dt: float) -> np.ndarray:
        """Learn the static clutter map from this frame and drop the points it holds (step 8)."""
        s = self.settings
        tracks = np.array([u.x[:2] for u in self._units]).reshape(-1, 2)

        def far_from_tracks(xy: np.ndarray) -> np.ndarray:
            if not len(tracks) or not len(xy):
                return np.ones(len(xy), bool)
            d = np.linalg.norm(xy[:, None] - tracks[None], axis=2).min(axis=1)
            return d > s.static_map_clear_m

        static = np.abs(pts[:, 3]) < s.static_speed_mps
        cells = np.floor(pts[:, :2] / s.static_map_cell_m).astype(np.int64)
        keys = [(int(a), int(b)) for a, b in cells]
        learned = {k for k, v in self._clutter.items() if v >= s.static_map_learn_s}
        clutter = np.array(
            [
                k in learned
                or (k in self._clutter and any((k[0] + a, k[1] + b) in learned for a, b in _RING))
                for k in keys
            ],
            bool,
        )  # a learned cell, or a fringe cell (some evidence) next to one
        drop = static & clutter
        # cells with static points far from every track gain this frame
        far = far_from_tracks(pts[:, :2])
        seen = {k for k, st in zip(keys, static, strict=True) if st}
        cap = 2.0 * s.static_map_learn_s
        for k in {k for k, st, f in zip(keys, static, far, strict=True) if st and f}:
            self._clutter[k] = min(self._clutter.get(k, 0.0) + dt, cap)
        # a known cell without static points loses half that, unless a track is near (a person
        # standing there hides it; a track held next to it must not unlearn it)
        idle = [k for k in self._clutter if k not in seen]
        centres = (np.array(idle, np.float64).reshape(-1, 2) + 0.5) * s.static_map_cell_m
        for k, f in zip(idle, far_from_tracks(centres), strict=True):
            if f:
                v = self._clutter[k] - 0.5 * dt
                if v > 0.0:
                    self._clutter[k] = v
                else:
                    del self._clutter[k]
        return pts[~drop]

    def _remember_motion(self, pts: np.ndarray, t: float) -> None:
        """Keep the moving points' positions of the last ``birth_motion_memory_s``."""
        s = self.settings
        moving = np.abs(pts[:, 3]) >= s.static_speed_mps
        if moving.any():
            self._motion.append((t, pts[moving, :2].copy()))
        while self._motion and t - self._motion[0][0] > s.birth_motion_memory_s:
            self._motion.popleft()

    def _clusters(self, pts: np.ndarray) -> list[np.ndarray]:
        s = self.settings
        feats = pts * np.array([1.0, 1.0, s.z_weight, s.velocity_weight_s])
        labels = cluster_points(feats, s.cluster_eps_m, s.cluster_min_points)
        if not (labels >= 0).any():
            return []
        order = np.argsort(labels, kind="stable")
        sorted_labels = labels[order]
        bounds = np.flatnonzero(np.diff(sorted_labels)) + 1
        groups = np.split(order, bounds)
        return [g for g in groups if labels[g[0]] >= 0]

    def _split_shared(
        self, pts: np.ndarray, clusters: list[np.ndarray]
    ) -> tuple[list[np.ndarray], list[int | None]]:
        """Split clusters that two or more confirmed tracks' predictions reach into.

        Each point goes to the track minimising ``|xy - prediction|^2 + (w (v - v_pred))^2`` where
        ``v_pred`` is the track's velocity projected on the point's line of sight and ``w`` is
        ``velocity_weight_s``: where two people overlap, their Doppler still tells them apart.

        Returns:
            the clusters and, per cluster, the index (into ``self._units``) of the track it was split
            for, or None.
        """
        s = self.settings
        conf = [  # a settled still person (held, micro-motion height) takes no passer-by's points
            i
            for i, u in enumerate(self._units)
            if u.state == "confirmed" and not (u.held and u.presence_height)
        ]
        owners: list[int | None] = [None] * len(clusters)
        if len(conf) < 2 or not clusters:
            return clusters, owners
        pred = np.array([self._units[i].x for i in conf])  # [T, 6]
        radar = np.array([0.0, 0.0, self.mounting.height_m])
        out: list[np.ndarray] = []
        out_owners: list[int | None] = []
        for idx in clusters:
            p = pts[idx]  # [n_c, 4]
            d_xy = np.linalg.norm(p[:, None, :2] - pred[None, :, :2], axis=2)  # [n_c, T]
            near = np.flatnonzero(d_xy.min(axis=0) < s.person_radius_m)
            if near.size < 2:
                out.append(idx)
                out_owners.append(None)
                continue
            los = p[:, :3] - radar
            los /= np.maximum(np.linalg.norm(los, axis=1, keepdims=True), 1e-6)
            v_pred = los @ pred[near, 3:].T  # [n_c, k]
            cost = d_xy[:, near] ** 2 + (s.velocity_weight_s * (p[:, 3:4] - v_pred)) ** 2
            owner = np.argmin(cost, axis=1)  # [n_c] into near
            for j, k in enumerate(near):
                sub = idx[owner == j]
                if sub.size:
                    out.append(sub)
                    out_owners.append(conf[k])
        return out, out_owners

    def _associate(
        self, pts: np.ndarray, clusters: list[np.ndarray], owners: list[int | None]
    ) -> list[tuple[int, int]]:
        s = self.settings
        if not self._units or not clusters:
            return []
        cent = np.array([pts[idx, :2].mean(axis=0) for idx in clusters])  # [C, 2]
        tops = np.array([np.percentile(pts[idx, 2], s.height_percentile) for idx in clusters])
        r_xy = s.measurement_std_m**2 * np.eye(2)
        cost = np.full((len(self._units), len(clusters)), _INFEASIBLE)
        for i, u in enumerate(self._units):
            S = u.P[:2, :2] + r_xy
            nu = cent - u.x[:2]  # [C, 2]
            d2 = np.einsum("ci,ij,cj->c", nu, np.linalg.inv(S), nu)
            ok = (d2 <= s.gate_chi2) & (np.linalg.norm(nu, axis=1) <= s.max_gate_m)
            if u.held and u.presence_height:  # a settled still person: someone getting up
                ok &= tops <= u.height + s.hold_max_rise_m
                ok &= np.linalg.norm(nu, axis=1) <= s.hold_gate_m
            penalty = 0.0 if u.state == "confirmed" else s.gate_chi2
            cost[i, ok] = d2[ok] + np.log(np.linalg.det(S)) + penalty
        for c, owner in enumerate(owners):  # split parts belong to the track they were split for
            if owner is not None:
                keep = cost[owner, c]
                cost[:, c] = _INFEASIBLE
                cost[owner, c] = min(keep, 0.0)
        rows, cols = linear_sum_assignment(cost)
        return [
            (int(r), int(c)) for r, c in zip(rows, cols, strict=True) if cost[r, c] < _INFEASIBLE
        ]

    def _hold(self, t: float, presence: PresenceCheck | None) -> None:
        """Decide, for each confirmed track without points this frame, whether it is held."""
        unseen = [u for u in self._units if u.state == "confirmed" and u.last_seen != t]
        for u in self._units:
            u.presence = False
            if u.last_seen == t:
                u.held = u.presence_height = False
                u.last_evidence = t
        if not unseen:
            return
        found = np.zeros(len(unseen), dtype=bool)
        heights = np.full(len(unseen), np.nan)
        if presence is not None:
            f, h = presence(np.array([u.x[:3] for u in unseen]))
            found, heights = np.asarray(f, dtype=bool), np.asarray(h, dtype=np.float64)
        z_lo, z_hi = self.settings.floor_z_range_m
        for u, f, h in zip(unseen, found, heights, strict=True):
            u.presence = bool(f)
            if not u.held and (f or u.slow_when_seen):
                u.held, u.held_since = True, t
            if f:
                u.last_evidence = t
                settled = t - u.held_since >= self.settings.hold_height_after_s
                if settled and np.isfinite(h) and z_lo <= h <= z_hi:
                    if not u.presence_height:  # the first one replaces the points' estimate
                        u.height, u.height_t = float(h), t
                    else:  # then one smoothing step per frame (a passer-by's motion is brief)
                        u.height_t = max(u.height_t, t - self._dt)
                        self._smooth_height(u, float(h), t, self.settings.hold_height_tau_s)
                    u.presence_height = True

    # ------------------------------------------------------------------ filter
    def _predict(self, u: _Unit, dt: float) -> None:
        if dt <= 0:
            return
        s = self.settings
        F = np.eye(6)
        if u.held:  # velocity decays: v(t) = v0 exp(-t / tau), position moves by v0 tau (1 - ...)
            tau = s.hold_velocity_tau_s
            decay = float(np.exp(-dt / tau))
            F[:3, 3:] = tau * (1.0 - decay) * np.eye(3)
            F[3:, 3:] = decay * np.eye(3)
        else:
            F[:3, 3:] = dt * np.eye(3)
        q = np.array([s.accel_std_mps2, s.accel_std_mps2, s.vertical_accel_std_mps2]) ** 2
        Q = np.zeros((6, 6))
        for k in range(3):
            Q[k, k] = q[k] * dt**4 / 4
            Q[k, k + 3] = Q[k + 3, k] = q[k] * dt**3 / 2
            Q[k + 3, k + 3] = q[k] * dt**2
        u.x = F @ u.x
        u.P = F @ u.P @ F.T + Q

    def _update(self, u: _Unit, pts: np.ndarray, t: float) -> None:
        s = self.settings
        z = pts[:, :3].mean(axis=0)
        R = np.diag(
            [s.measurement_std_m**2, s.measurement_std_m**2, s.vertical_measurement_std_m**2]
        )
        H = np.zeros((3, 6))
        H[:, :3] = np.eye(3)
        S = u.P[:3, :3] + R
        K = u.P[:, :3] @ np.linalg.inv(S)  # [6, 3]
        u.x = u.x + K @ (z - u.x[:3])
        IKH = np.eye(6) - K @ H
        u.P = IKH @ u.P @ IKH.T + K @ R @ K.T  # Joseph form
        self._smooth_height(u, float(np.percentile(pts[:, 2], s.height_percentile)), t)
        u.last_seen = t
        u.hits += 1
        if u.state == "tentative":
            u.history.append(True)
        u.points = pts

    def _smooth_height(self, u: _Unit, h: float, t: float, tau: float | None = None) -> None:
        """Exponential smoothing of the height toward ``h`` [m] (time constant ``tau`` [s], default
        ``height_tau_s``)."""
        tau = self.settings.height_tau_s if tau is None else tau
        dt = t - u.height_t
        alpha = 1.0 if tau <= 0 else 1.0 - np.exp(-max(dt, 0.0) / tau)
        u.height += alpha * (h - u.height)
        u.height_t = t

    def _maybe_birth(self, pts: np.ndarray, t: float) -> None:
        s = self.settings
        if len(self._units) >= s.max_tracks:
            return
        c = pts[:, :3].mean(axis=0)
        moving = np.count_nonzero(np.abs(pts[:, 3]) >= s.static_speed_mps)
        remembered = 0
        if self._motion_births(t):
            # a body in place or far away: its moving points of the last few seconds, around it
            recent = np.concatenate([xy for _, xy in self._motion])  # [k, 2]
            near = np.hypot(*(recent - c[:2]).T) < s.birth_motion_radius_m
            remembered = int(np.count_nonzero(near))
        by_memory = remembered >= s.birth_motion_min_points
        if pts.shape[0] < s.birth_min_points and not by_memory:
            return
        if moving < s.birth_min_moving_points and not by_memory:
            return
        for u in self._units:
            if np.hypot(*(u.x[:2] - c[:2])) < s.birth_min_separation_m:
                return
        if self._behind_a_track(c, tentative=True):
            return
        # initial velocity: mean radial velocity along the horizontal line of sight
        los = c[:2] / max(float(np.hypot(*c[:2])), 1e-6)
        v0 = float(np.median(pts[:, 3])) * los
        x = np.array([c[0], c[1], c[2], v0[0], v0[1], 0.0])
        P = np.diag([s.measurement_std_m**2] * 2 + [s.vertical_measurement_std_m**2] + [1.0] * 3)
        h = float(np.percentile(pts[:, 2], s.height_percentile))
        u = _Unit(
            id=self._next_id, x=x, P=P, born=t, last_seen=t, height=h, height_t=t, last_evidence=t
        )
        u.history.append(True)
        u.points = pts
        self._next_id += 1
        self._units.append(u)

    def _motion_births(self, t: float) -> bool:
        """Whether a cluster may borrow the moving points of the recent past to start a track: only
        point-cloud frames, and with the fixed-reflector map on only once it has watched for
        ``fixed_tau_s`` (until then it has not learned the fixed reflectors yet)."""
        s = self.settings
        if not (self._points_cloud and self._motion and s.birth_motion_memory_s > 0):
            return False
        return not s.fixed_map or t - (self._t_first or t) >= s.fixed_tau_s

    def _behind_a_track(self, c: np.ndarray, tentative: bool = False) -> bool:
        """True when floor-frame position ``c`` (``[>= 2]`` [m]) lies behind another track (confirmed,
        or tentative when ``tentative``): within ``ghost_bearing_deg`` of its bearing, more than
        ``ghost_min_extra_range_m`` further away (a multipath mirror image of that person)."""
        s = self.settings
        if s.ghost_bearing_deg <= 0:
            return False
        r_c, b_c = float(np.hypot(c[0], c[1])), float(np.arctan2(c[0], c[1]))
        for u in self._units:
            if u.state != "confirmed" and not tentative:
                continue
            r_u, b_u = float(np.hypot(u.x[0], u.x[1])), float(np.arctan2(u.x[0], u.x[1]))
            off = abs((b_c - b_u + np.pi) % (2 * np.pi) - np.pi)
            if off <= np.deg2rad(s.ghost_bearing_deg) and r_c > r_u + s.ghost_min_extra_range_m:
                return True
        return False

    def _merge(self, t: float) -> None:
        """End the younger of two confirmed tracks that stayed within ``merge_distance_m`` of each
        other, both moving (``slow_speed_mps``) and alike (``merge_speed_mps``), for
        ``merge_after_s``: one moving body split in two (two people sitting side by side stay two)."""
        s = self.settings
        if s.merge_distance_m <= 0:
            return
        conf = sorted((u for u in self._units if u.state == "confirmed"), key=lambda u: u.born)
        close: dict[tuple[int, int], float] = {}
        ended: set[int] = set()
        for i, a in enumerate(conf):
            for b in conf[i + 1 :]:
                if a.id in ended or b.id in ended:
                    continue
                near = np.hypot(*(a.x[:2] - b.x[:2])) < s.merge_distance_m
                alike = np.hypot(*(a.x[3:5] - b.x[3:5])) < s.merge_speed_mps
                moving = min(np.hypot(*a.x[3:5]), np.hypot(*b.x[3:5])) >= s.slow_speed_mps
                if not (near and alike and moving):
                    continue
                key = (a.id, b.id)
                since = self._close_since.get(key, t)
                if t - since >= s.merge_after_s:
                    ended.add(b.id)  # b is the younger (born later)
                else:
                    close[key] = since
        self._close_since = close
        if ended:
            self._units = [u for u in self._units if u.id not in ended]

    def _life_cycle(self, t: float) -> None:
        s = self.settings
        keep = []
        for u in self._units:
            if u.state == "tentative":
                n_hits = sum(u.history)
                if n_hits >= s.confirm_hits and self._behind_a_track(u.x[:2]):
                    continue  # a mirror image of someone confirmed in front of it
                if n_hits >= s.confirm_hits:
                    u.state = "confirmed"
                elif len(u.history) >= s.confirm_window or t - u.last_seen > s.max_unseen_s:
                    continue
            elif u.held:
                if t - u.last_evidence > s.max_unseen_static_s:
                    continue
            elif t - u.last_seen > s.max_unseen_s:
                continue
            keep.append(u)
        self._units = keep
