"""Fast scatterer propagation backend: mesh surface scatterers, visibility, image-source multipath.

Model (one snapshot at ``t_ref_s``):

1. **Scatterers.** Points sampled on every mesh's surface, area-weighted, ``density_per_m2`` per label
   (people denser than walls). The sampling is a hash of ``(seed, mesh name, face, candidate)`` in
   barycentric coordinates of the faces (:func:`sample_scatterers`), so a deforming mesh with fixed
   topology keeps its scatterers from frame to frame (their phase history is continuous, which vital
   signs and micro-Doppler need).
   Each scatterer carries the face normal, the area it represents ``dA`` and a fixed random phase.
2. **Visibility.** A scatterer must face the radar (closed meshes are one-sided, ``"wall"``,
   ``"floor"`` and ``"ceiling"`` two-sided) and the segment radar -> scatterer must not cross any
   triangle of the scene (Moller-Trumbore, vectorised; triangles are binned into an angular grid
   around the radar, so each ray is only tested against the triangles of its cell).
3. **Backscatter.** Radar cross-section ``sigma = dA * sigma0(theta)`` with the incidence angle
   ``theta`` from the surface normal and a rough-surface model: a Lambertian part
   ``DIFFUSE_ALBEDO * cos^2(theta)`` plus the geometric-optics (Kirchhoff) specular lobe toward the
   radar ``exp(-tan^2(theta) / (2 s^2)) / (2 s^2 cos^4(theta))`` with rms slope ``s`` (per label), both
   times the material's normal-incidence Fresnel power ``|Gamma|^2``
   (:func:`sim.scene.materials.reflection_coefficient`). Both parts are per unit area, so an object's
   total (incoherent) RCS does not depend on the sampling density.
4. **Path loss.** The monostatic radar equation for isotropic antennas as a field ratio:
   ``|gain| = lambda sqrt(sigma) / ((4 pi)^1.5 R^2)`` (the radar model adds TX power and antenna
   gains, :mod:`sim.radar.noise`).
5. **Multipath** (``max_bounces >= 2``): image sources in the planar surfaces of meshes labelled
   ``"wall"``, ``"floor"`` and ``"ceiling"``. For a scatterer ``S`` and the radar ``O`` mirrored to
   ``O'``: two paths ``O -> S -> plane -> O`` and ``O -> plane -> S -> O`` of length ``|OS| + |O'S|``
   (``bounces = 2``; TX and RX see different directions) and, with ``max_bounces >= 3``, the double
   bounce ``O -> plane -> S -> plane -> O`` of length ``2 |O'S|`` (``bounces = 3``). Amplitude
   ``lambda sqrt(sigma) |Gamma_plane(theta_i)| / ((4 pi)^1.5 R1 R2)`` with the wall's Fresnel
   coefficient (TE, complex) at the incidence angle on the wall, and the scatterer's ``sigma0``
   evaluated at the bisector of its two directions. Simplifications: the reflection point must lie
   inside the plane's bounding box and be visible from the radar, and the scatterer must be directly
   visible; only moving meshes get image paths by default (static-on-static multipath is more
   static clutter). To bound the path count, image paths use at most ``max_multipath_paths`` by
   subsampling scatterers, scaling amplitudes by ``1/sqrt(fraction)`` (incoherent power preserved).
6. **Doppler.** ``delay_rate = (v . r1_hat + v . r2_hat) / c`` from the scatterer's velocity
   (barycentric interpolation of vertex velocities) along both legs.
7. **Antenna.** The board's element gain pattern (:func:`sim.radar.antenna.element_field`) at
   the departure and arrival directions, and the far-field plane wave at each board antenna:
   ``exp(j pi (x_half_wl * u + z_half_wl * w))`` with ``u = x / R``, ``w = z / R`` the departure (TX)
   and arrival (RX) direction cosines in the radar frame; not exact per-antenna distances (the
   array is ~2 cm across, far-field from ~10 cm on).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from firmware_cfg.chirp import SPEED_OF_LIGHT_M_S, ChirpConfig
from sim.geometry import Mesh, RadarPose
from sim.propagation.paths import PathSet
from sim.propagation.raycast import make_occluder
from sim.propagation.raycast import occluded as occluded  # re-exported: judge, scenario, tests
from sim.radar.antenna import element_field

#: Scatterers per square metre of surface by label; others use ``"default"``.
DEFAULT_DENSITY_PER_M2: dict[str, float] = {"person": 1500.0, "default": 30.0}
#: Lambertian part of sigma0 at normal incidence (before |Gamma|^2).
DIFFUSE_ALBEDO = 0.1
#: rms surface slope of the specular lobe by label. Building surfaces (plastered, painted or concrete
#: walls, floors, ceilings) are smooth at 4-5 mm wavelengths: 0.1 (an rms tilt of 6 deg), calibrated
#: label-free on RadHAR's recordings (``benchmarks/README.md``): a wall 4.4 m ahead gives their static
#: points over about +-0.5 m of lateral spread with 0.1, over twice that with 0.2. People: skin is
#: smooth at these wavelengths and the body's curvature is in its mesh, so the slope stands for clothing
#: folds and the mesh's facets: 0.15 (an rms tilt of 8.5 deg; 0.3 before, without a source), calibrated
#: label-free on RadHAR's recordings: with 0.3 the simulated person gave 2.9x the recordings' moving
#: points per frame (mean over the five recorded activities), 2.2x with 0.15 (``benchmarks/README.md``).
RMS_SLOPE: dict[str, float] = {
    "person": 0.15,
    "wall": 0.1,
    "floor": 0.1,
    "ceiling": 0.1,
    "default": 0.2,
}
#: Labels whose planar faces are image-source reflectors (and which are two-sided).
REFLECTOR_LABELS = ("wall", "floor", "ceiling")

ReflectionFn = Callable[[str, float, float | np.ndarray, str], complex | np.ndarray]


def _default_reflection() -> ReflectionFn:
    from sim.scene.materials import reflection_coefficient  # lazy: scene is a sibling package

    return reflection_coefficient


# ---------------------------------------------------------------------------- sampling
@dataclass(frozen=True, eq=False)
class Scatterers:
    """Surface scatterers of a set of meshes (world frame).

    Attributes:
        position, velocity, normal: float64 ``[S, 3]`` [m], [m/s], unit.
        area: ``[S]`` area each scatterer represents [m^2].
        phase: ``[S]`` fixed random phase [rad].
        mesh_index: ``[S]`` index into the mesh list; part_ids: ``[S]`` (-1 unknown).
        two_sided: bool ``[S]``.
    """

    position: np.ndarray
    velocity: np.ndarray
    normal: np.ndarray
    area: np.ndarray
    phase: np.ndarray
    mesh_index: np.ndarray
    part_ids: np.ndarray
    two_sided: np.ndarray


def _density(label: str, density: float | Mapping[str, float]) -> float:
    if isinstance(density, Mapping):
        return float(density.get(label, density.get("default", 0.0)))
    return float(density)


def _hash_uniform(keys: np.ndarray, salt: int) -> np.ndarray:
    """Uniform [0, 1) numbers from uint64 keys (splitmix64): a pure function of (key, salt)."""
    with np.errstate(over="ignore"):
        z = keys + np.uint64((salt * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def sample_scatterers(
    meshes: Sequence[Mesh], density_per_m2: float | Mapping[str, float], seed: int
) -> Scatterers:
    """Area-weighted surface samples that stay attached to the surface (module docstring).

    Face ``f`` holds ``K_f = max(1, ceil(area_f * density))`` candidate points; candidate ``j`` is kept
    when a uniform number ``< area_f * density / K_f`` and then represents ``1 / density`` m^2. Its
    barycentric coordinates, keep number and phase are hashes of ``(seed, mesh name, f, j)``, so a mesh
    that deforms (same topology) keeps the same scatterers except, rarely, one whose keep number sits
    at its face's threshold: phase histories stay continuous from frame to frame.
    """
    cols: dict[str, list[np.ndarray]] = {k: [] for k in Scatterers.__dataclass_fields__}
    for mi, mesh in enumerate(meshes):
        faces = np.asarray(mesh.faces, dtype=np.int64)
        density = _density(mesh.label, density_per_m2)
        if faces.size == 0 or density <= 0:
            continue
        verts = np.asarray(mesh.vertices, dtype=np.float64)
        normals, areas = mesh.face_normals_areas()
        lam = areas * density
        k = np.maximum(1, np.ceil(lam)).astype(np.int64)
        face = np.repeat(np.arange(faces.shape[0]), k)
        j = np.arange(face.size) - np.repeat(np.cumsum(k) - k, k)
        base = (zlib.crc32(mesh.name.encode()) << 24) ^ (int(seed) << 56)
        keys = (face.astype(np.uint64) << np.uint64(20)) + j.astype(np.uint64)
        keys ^= np.uint64(base & 0xFFFFFFFFFFFFFFFF)
        keep = _hash_uniform(keys, 1) < (lam / k)[face]
        face, keys = face[keep], keys[keep]
        count = face.size
        if count == 0:
            continue
        r1, r2 = _hash_uniform(keys, 2), _hash_uniform(keys, 3)
        s1 = np.sqrt(r1)
        bary = np.stack([1.0 - s1, s1 * (1.0 - r2), s1 * r2], axis=1)  # [S, 3] uniform on triangle
        tri = faces[face]  # [S, 3]
        cols["position"].append(np.einsum("sk,skd->sd", bary, verts[tri]))
        if mesh.velocities is not None:
            vel = np.asarray(mesh.velocities, dtype=np.float64)
            cols["velocity"].append(np.einsum("sk,skd->sd", bary, vel[tri]))
        else:
            cols["velocity"].append(np.zeros((count, 3)))
        cols["normal"].append(normals[face])
        cols["area"].append(np.full(count, 1.0 / density))
        cols["phase"].append(2.0 * np.pi * _hash_uniform(keys, 4))
        cols["mesh_index"].append(np.full(count, mi, dtype=np.int64))
        if mesh.part_ids is not None:
            pid = np.asarray(mesh.part_ids)[tri[np.arange(count), np.argmax(bary, axis=1)]]
            cols["part_ids"].append(pid.astype(np.int64))
        else:
            cols["part_ids"].append(np.full(count, -1, dtype=np.int64))
        cols["two_sided"].append(np.full(count, mesh.label in REFLECTOR_LABELS))
    if not cols["position"]:
        z3 = np.zeros((0, 3))
        z = np.zeros(0)
        zi = np.zeros(0, dtype=np.int64)
        return Scatterers(z3, z3, z3, z, z, zi, zi, np.zeros(0, bool))
    return Scatterers(**{k: np.concatenate(v) for k, v in cols.items()})


# ---------------------------------------------------------------------------- occlusion
def _scene_triangles(meshes: Sequence[Mesh]) -> np.ndarray:
    tris = [np.asarray(m.vertices, np.float64)[np.asarray(m.faces, np.int64)] for m in meshes]
    tris = [t for t in tris if t.size]
    return np.concatenate(tris) if tris else np.zeros((0, 3, 3))


def scene_triangles(meshes: Sequence[Mesh]) -> np.ndarray:
    """``[T, 3, 3]`` world triangles [m] of ``meshes``, in order, for :func:`occluded`.

    The same triangles the tracer tests its rays against (empty meshes skipped), so that visibility
    computed elsewhere (e.g. a person's line of sight in the dataset truth) agrees with this backend.
    """
    return _scene_triangles(meshes)


# ---------------------------------------------------------------------------- reflectors
@dataclass(frozen=True)
class Plane:
    """A planar reflector: unit normal toward the radar, offset ``normal . x = offset``, bounds."""

    normal: np.ndarray
    offset: float
    lo: np.ndarray
    hi: np.ndarray
    material: str
    mesh_index: int


def reflector_planes(meshes: Sequence[Mesh], radar_pos: np.ndarray) -> list[Plane]:
    """Planar faces of wall/floor/ceiling meshes that face the radar, merged per plane."""
    planes: list[Plane] = []
    for mi, mesh in enumerate(meshes):
        if mesh.label not in REFLECTOR_LABELS or len(mesh.faces) == 0:
            continue
        normals, areas = mesh.face_normals_areas()
        tri = np.asarray(mesh.vertices, np.float64)[np.asarray(mesh.faces, np.int64)]
        cent = tri.mean(axis=1)
        side = np.einsum("ij,ij->i", radar_pos - cent, normals)
        normals = np.where(side[:, None] < 0, -normals, normals)  # orient toward the radar
        offsets = np.einsum("ij,ij->i", cent, normals)
        key = np.round(np.concatenate([normals, offsets[:, None] / 0.01], axis=1), 2)
        _, inv = np.unique(key, axis=0, return_inverse=True)
        for k in np.unique(inv):
            sel = (inv.reshape(-1) == k) & (areas > 0)
            if not sel.any():
                continue
            n = normals[sel][0]
            pts = tri[sel].reshape(-1, 3)
            planes.append(
                Plane(n, float(offsets[sel].mean()), pts.min(0), pts.max(0), mesh.material, mi)
            )
    return planes


# ---------------------------------------------------------------------------- the tracer
def _sigma0(cos_t: np.ndarray, gamma2: np.ndarray, slope: np.ndarray) -> np.ndarray:
    """Backscatter coefficient per unit area (module docstring), ``cos_t`` in (0, 1]."""
    c = np.clip(cos_t, 1e-3, 1.0)
    tan2 = (1.0 - c * c) / (c * c)
    spec = np.exp(-tan2 / (2.0 * slope**2)) / (2.0 * slope**2 * c**4)
    return gamma2 * (DIFFUSE_ALBEDO * c * c + spec)


def _antenna_phase(cfg: ChirpConfig, dirs_radar: np.ndarray, which: str) -> np.ndarray:
    """``[n_ant, P]`` plane-wave phase [rad] of each board TX or RX for unit directions ``[P, 3]``."""
    board = cfg.board_spec
    pos = np.asarray(board.tx_positions if which == "tx" else board.rx_positions, np.float64)
    return np.pi * (pos[:, 0:1] * dirs_radar[None, :, 0] + pos[:, 1:2] * dirs_radar[None, :, 2])


def trace_scatter(
    meshes: Sequence[Mesh],
    pose: RadarPose,
    cfg: ChirpConfig,
    t_ref_s: float,
    *,
    density_per_m2: float | Mapping[str, float] | None = None,
    max_bounces: int = 2,
    rng: np.random.Generator | int | None = None,
    materials: ReflectionFn | None = None,
    multipath_from: str = "moving",
    max_multipath_paths: int = 1500,
    rms_slope: Mapping[str, float] | None = None,
    raycaster: str = "numpy",
) -> PathSet:
    """Paths of one snapshot by the scatterer model (module docstring).

    Args:
        meshes: the scene at ``t_ref_s`` (world frame, with vertex velocities for movers).
        pose: radar position and orientation.
        cfg: chirp configuration (carrier wavelength, board antennas).
        t_ref_s: snapshot time [s] (stored in the PathSet).
        density_per_m2: scatterers per m^2, one number or per label (default
            :data:`DEFAULT_DENSITY_PER_M2`).
        max_bounces: 1 = direct only, 2 = + single wall reflections, 3 = + double bounce.
        rng: seed (or generator whose first integer is used as seed) of the scatterer sampling;
            the same seed gives the same scatterers on the same meshes.
        materials: ``reflection_coefficient(material, freq_hz, incidence_rad, polarization)``
            (default :func:`sim.scene.materials.reflection_coefficient`).
        multipath_from: ``"moving"`` (meshes with velocities) or ``"all"``.
        max_multipath_paths: image-path budget (scatterers are subsampled above it).
        rms_slope: specular-lobe rms slope per label (default :data:`RMS_SLOPE`; ``"default"`` for
            the others). Smooth surfaces (small slope) reflect mostly from near their specular points.
        raycaster: occlusion backend, ``"numpy"`` (the reference) or ``"embree"``
            (:mod:`sim.propagation.raycast`). For many frames of one scene use
            :class:`sim.propagation.scatter_tracer.ScatterTracer`, which keeps the static part.

    Returns:
        :class:`PathSet` with gains ``[board num_tx, board num_rx, P]``.
    """
    seed = scatter_seed(rng)
    density = DEFAULT_DENSITY_PER_M2 if density_per_m2 is None else density_per_m2
    sc = sample_scatterers(meshes, density, seed)
    origin = np.asarray(pose.position, dtype=np.float64)
    triangles = _scene_triangles(meshes)
    scene = make_occluder(raycaster, origin, triangles)
    planes = reflector_planes(meshes, origin)
    plane_tris = in_plane(triangles, planes)  # [K, T]

    return scatter_paths(
        meshes,
        sc,
        pose,
        cfg,
        t_ref_s,
        seed=seed,
        direct_occluded=lambda idx: scene.occluded(sc.position[idx]),
        planes=planes,
        plane_occluded=lambda k, plane, pts: scene.occluded(pts, plane_tris[k]),
        max_bounces=max_bounces,
        materials=materials,
        multipath_from=multipath_from,
        max_multipath_paths=max_multipath_paths,
        rms_slope=rms_slope,
    )


def scatter_seed(rng: np.random.Generator | int | None) -> int:
    """The scatterer-sampling seed of ``rng`` (a generator gives its first integer)."""
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(0, 2**31))
    return 0 if rng is None else int(rng)


def scatter_paths(
    meshes: Sequence[Mesh],
    sc: Scatterers,
    pose: RadarPose,
    cfg: ChirpConfig,
    t_ref_s: float,
    *,
    seed: int,
    direct_occluded: Callable[[np.ndarray], np.ndarray],
    planes: Sequence[Plane],
    plane_occluded: Callable[[int, Plane, np.ndarray], np.ndarray],
    max_bounces: int = 2,
    materials: ReflectionFn | None = None,
    multipath_from: str = "moving",
    max_multipath_paths: int = 1500,
    rms_slope: Mapping[str, float] | None = None,
) -> PathSet:
    """The paths of scatterers ``sc`` of ``meshes`` (:func:`trace_scatter` after the sampling).

    The occlusion tests are callables, so that a caller can cache what does not change:
    ``direct_occluded(idx)`` -> bool ``[len(idx)]`` for the segments radar -> ``sc.position[idx]``;
    ``plane_occluded(k, planes[k], points [R, 3])`` -> bool ``[R]`` for radar -> points on plane ``k``
    with that plane's own triangles left out. Other arguments as in :func:`trace_scatter`.
    """
    refl = materials or _default_reflection()
    board = cfg.board_spec
    n_tx, n_rx = board.num_tx, board.num_rx
    names = tuple(m.name for m in meshes)
    origin = np.asarray(pose.position, dtype=np.float64)
    if sc.position.shape[0] == 0:
        return _empty(n_tx, n_rx, t_ref_s, names)
    freq = cfg.carrier_freq_hz
    lam = cfg.wavelength_m
    labels = [m.label for m in meshes]
    mats = [m.material for m in meshes]
    # Fresnel power at normal incidence per mesh
    g2_mesh = np.array([abs(complex(refl(mat, freq, 0.0, "TE"))) ** 2 for mat in mats])
    slopes = dict(RMS_SLOPE) if rms_slope is None else {**RMS_SLOPE, **rms_slope}
    slope_mesh = np.array([slopes.get(lb, slopes["default"]) for lb in labels])

    # ---- direct visibility
    d = sc.position - origin  # [S, 3]
    dist = np.linalg.norm(d, axis=1)
    r_hat = d / np.maximum(dist, 1e-9)[:, None]
    cos_t = -np.einsum("ij,ij->i", sc.normal, r_hat)  # > 0: facing the radar
    cos_abs = np.where(sc.two_sided, np.abs(cos_t), cos_t)
    keep = (cos_abs > 1e-3) & (dist > 1e-3)
    in_front = pose.to_radar_vectors(r_hat)[:, 1] > 0.0  # only the radar's front half-space
    keep &= in_front
    idx = np.flatnonzero(keep)
    vis = idx[~direct_occluded(idx)]

    mi = sc.mesh_index[vis]
    sigma = sc.area[vis] * _sigma0(cos_abs[vis], g2_mesh[mi], slope_mesh[mi])
    amp = lam * np.sqrt(sigma) / ((4.0 * np.pi) ** 1.5 * dist[vis] ** 2)
    u_dir = pose.to_radar_vectors(r_hat[vis])  # [P, 3] radar frame unit vectors
    amp = amp * element_field(cfg, u_dir) ** 2  # TX and RX element patterns (sim.radar.antenna)
    ph_tx = _antenna_phase(cfg, u_dir, "tx")  # [n_tx, P]
    ph_rx = _antenna_phase(cfg, u_dir, "rx")
    gain = (amp * np.exp(1j * sc.phase[vis]))[None, None, :] * np.exp(
        1j * (ph_tx[:, None, :] + ph_rx[None, :, :])
    )
    v_rad = np.einsum("ij,ij->i", sc.velocity[vis], r_hat[vis])
    delays = [2.0 * dist[vis] / SPEED_OF_LIGHT_M_S]
    rates = [2.0 * v_rad / SPEED_OF_LIGHT_M_S]
    gains = [gain]
    objs = [mi]
    parts = [sc.part_ids[vis]]
    bounces = [np.ones(vis.size, dtype=np.int64)]

    # ---- image-source multipath
    if max_bounces >= 2 and vis.size:
        movers = np.array([not m.is_static for m in meshes])
        src = vis if multipath_from == "all" else vis[movers[sc.mesh_index[vis]]]
        kinds = 2 + (1 if max_bounces >= 3 else 0)
        want = src.size * len(planes) * kinds
        frac = 1.0 if want <= max_multipath_paths else max_multipath_paths / max(want, 1)
        if frac < 1.0 and src.size:
            pick = np.random.default_rng([seed, 7]).random(src.size) < frac
            src = src[pick]
        boost = 1.0 / np.sqrt(frac)
        for k, plane in enumerate(planes):
            if src.size == 0:
                break
            mp = _image_paths(
                cfg,
                pose,
                plane,
                sc,
                src,
                origin,
                lambda pts, k=k, plane=plane: plane_occluded(k, plane, pts),
                refl,
                (g2_mesh, slope_mesh),
            )
            if mp is None:
                continue
            for kind_delay, kind_rate, kind_gain, kind_bounce in mp:
                if kind_bounce > max_bounces:
                    continue
                delays.append(kind_delay)
                rates.append(kind_rate)
                gains.append(kind_gain[0] * boost)
                objs.append(sc.mesh_index[kind_gain[1]])
                parts.append(sc.part_ids[kind_gain[1]])
                bounces.append(np.full(kind_delay.size, kind_bounce, dtype=np.int64))
    return PathSet(
        t_ref_s=float(t_ref_s),
        delay_s=np.concatenate(delays),
        delay_rate=np.concatenate(rates),
        gain=np.concatenate(gains, axis=2),
        object_ids=np.concatenate(objs),
        part_ids=np.concatenate(parts),
        bounces=np.concatenate(bounces),
        object_names=names,
    )


def _empty(n_tx: int, n_rx: int, t_ref_s: float, names: tuple[str, ...]) -> PathSet:
    e = PathSet.empty(n_tx, n_rx, t_ref_s)
    return PathSet(
        e.t_ref_s, e.delay_s, e.delay_rate, e.gain, e.object_ids, e.part_ids, e.bounces, names
    )


def _image_paths(
    cfg: ChirpConfig,
    pose: RadarPose,
    plane: Plane,
    sc: Scatterers,
    src: np.ndarray,
    origin: np.ndarray,
    occluded_fn: Callable[[np.ndarray], np.ndarray],
    refl: ReflectionFn,
    mesh_props: tuple[np.ndarray, np.ndarray],
) -> list[tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray], int]] | None:
    """Single- and double-bounce image paths of scatterers ``src`` via one plane.

    ``occluded_fn(points [R, 3])`` -> bool ``[R]``: radar -> point blocked (the plane's own triangles
    left out). ``mesh_props``: per-mesh normal-incidence Fresnel power and rms slope. Returns a list of
    ``(delay [P], delay_rate [P], (gain [n_tx, n_rx, P], scatterer index [P]), bounces)``.
    """
    freq, lam = cfg.carrier_freq_hz, cfg.wavelength_m
    n = plane.normal
    h_o = float(origin @ n - plane.offset)
    if h_o <= 1e-6:
        return None
    o_img = origin - 2.0 * h_o * n  # mirrored radar
    s = sc.position[src]
    h_s = s @ n - plane.offset
    ok = h_s > 1e-6  # scatterer on the radar's side of the plane
    # reflection point of the leg S -> plane -> O: on the segment S -> O'
    frac = h_s / (h_s + h_o)
    p_ref = s + frac[:, None] * (o_img - s)
    tol = 1e-6
    ok &= np.all((p_ref >= plane.lo - tol) & (p_ref <= plane.hi + tol), axis=1)
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return None
    p_vis = ~occluded_fn(p_ref[idx])
    idx = idx[p_vis]
    if idx.size == 0:
        return None
    si = src[idx]
    s = s[idx]
    d1 = s - origin
    r1 = np.linalg.norm(d1, axis=1)
    d2 = s - o_img
    r2 = np.linalg.norm(d2, axis=1)
    u1 = d1 / r1[:, None]  # direct direction radar -> S
    u2 = d2 / r2[:, None]  # image direction O' -> S
    # incidence on the wall: angle between the leg and the plane normal
    cos_w = np.abs(u2 @ n)
    gamma_w = np.asarray(refl(plane.material, freq, np.arccos(np.clip(cos_w, 0, 1)), "TE"))
    nrm = sc.normal[si]
    bis = -(u1 + u2)
    bis /= np.maximum(np.linalg.norm(bis, axis=1), 1e-12)[:, None]
    cos_s = np.abs(np.einsum("ij,ij->i", nrm, bis))
    mesh_i = sc.mesh_index[si]
    # bistatic RCS: the backscatter model at the bisector of the two legs
    sigma = sc.area[si] * _sigma0(cos_s, mesh_props[0][mesh_i], mesh_props[1][mesh_i])
    vel = sc.velocity[si]
    v1 = np.einsum("ij,ij->i", vel, u1)
    v2 = np.einsum("ij,ij->i", vel, u2)
    c = SPEED_OF_LIGHT_M_S
    # Directions at the array: the direct leg toward S, the wall leg toward the reflection point.
    p_dir = p_ref[idx] - origin
    p_dir /= np.linalg.norm(p_dir, axis=1)[:, None]
    a_direct = pose.to_radar_vectors(u1)
    a_wall = pose.to_radar_vectors(p_dir)
    tx_d, rx_d = _antenna_phase(cfg, a_direct, "tx"), _antenna_phase(cfg, a_direct, "rx")
    tx_w, rx_w = _antenna_phase(cfg, a_wall, "tx"), _antenna_phase(cfg, a_wall, "rx")
    phase = np.exp(1j * sc.phase[si])
    amp1 = lam * np.sqrt(sigma) * np.abs(gamma_w) / ((4.0 * np.pi) ** 1.5 * r1 * r2)
    amp1 = amp1 * np.exp(1j * np.angle(gamma_w)) * phase
    amp1 = amp1 * element_field(cfg, a_direct) * element_field(cfg, a_wall)
    out = []
    for tx_ph, rx_ph in ((tx_d, rx_w), (tx_w, rx_d)):
        g = amp1[None, None, :] * np.exp(1j * (tx_ph[:, None, :] + rx_ph[None, :, :]))
        out.append(((r1 + r2) / c, (v1 + v2) / c, (g, si), 2))
    amp2 = lam * np.sqrt(sigma) * np.abs(gamma_w) ** 2 / ((4.0 * np.pi) ** 1.5 * r2 * r2)
    amp2 = amp2 * np.exp(2j * np.angle(gamma_w)) * phase * element_field(cfg, a_wall) ** 2
    g = amp2[None, None, :] * np.exp(1j * (tx_w[:, None, :] + rx_w[None, :, :]))
    out.append((2.0 * r2 / c, 2.0 * v2 / c, (g, si), 3))
    return out


def in_plane(triangles: np.ndarray, planes: Sequence[Plane]) -> np.ndarray:
    """bool ``[len(planes), T]``: triangle ``t`` (``[T, 3, 3]`` [m]) lies in plane ``k`` (1 mm).

    Those triangles are left out of the occlusion test of a reflection point on plane ``k``.
    """
    if triangles.shape[0] == 0 or not planes:
        return np.zeros((len(planes), triangles.shape[0]), dtype=bool)
    normals = np.stack([p.normal for p in planes], axis=1)  # [3, K]
    offsets = np.array([p.offset for p in planes])  # [K]
    out = np.zeros((len(planes), triangles.shape[0]), dtype=bool)
    # only planes that come within 1 mm of the triangles' bounding box (a person: the floor)
    lo, hi = triangles.reshape(-1, 3).min(axis=0), triangles.reshape(-1, 3).max(axis=0)
    gap = np.abs(0.5 * (lo + hi) @ normals - offsets) - 0.5 * (hi - lo) @ np.abs(normals)
    near = np.flatnonzero(gap < 1e-3)
    if near.size:
        # planes with the same normal and offset (the floors of several rooms) are tested once
        key = np.concatenate([normals[:, near].T, offsets[near, None]], axis=1)
        uniq, inv = np.unique(key, axis=0, return_inverse=True)
        dist = np.abs(triangles @ uniq[:, :3].T - uniq[:, 3])  # [T, 3, U]
        out[near] = np.all(dist < 1e-3, axis=1).T[inv.reshape(-1)]
    return out
