"""Sionna RT propagation backend: meshes + radar pose -> :class:`~sim.propagation.paths.PathSet`.

A monostatic FMCW radar in a Sionna RT 2.x scene, traced once per frame with shooting-and-bouncing rays
(specular chains solved exactly by the image method, diffuse reflection by Lambertian scattering).
CPU through Dr.Jit's LLVM backend, CUDA by itself on a GPU (:mod:`sim.propagation._mitsuba`).

Model, and the choices behind it:

- **Scene.** Every :class:`~sim.geometry.Mesh` becomes one Sionna ``SceneObject`` built in memory
  (``mitsuba.Mesh``, no files), with the face order kept so a hit's primitive index is the mesh's face
  row. Materials: ITU-R P.2040 ``ITURadioMaterial`` by name (``sim.scene.materials.sionna_name``);
  ``skin`` is a ``RadioMaterial`` with the Cole-Cole skin permittivity/conductivity of
  ``sim.scene.materials`` at the carrier. Slab thicknesses per material (:data:`DEFAULT_THICKNESS_M`)
  because Sionna reflects off a slab, not a half-space; the scattering coefficient per semantic label
  (:data:`DEFAULT_SCATTERING`; bodies and furniture > 0 so they are hit by diffuse rays).
- **Frames.** The scene is kept between calls. A mesh seen before with the same faces and material only
  has its vertex buffer rewritten (``scene.mi_scene_params[...]``, one ``update()`` for all of them,
  which refits Mitsuba's acceleration structure); new, changed-topology or vanished meshes go through
  one ``Scene.edit(add=, remove=)`` (a scene rebuild). Static furniture therefore costs nothing per
  frame, and a moving person costs a vertex upload.
- **Radar.** One TX and one RX, both at the array's phase centre (``pose.position``), single isotropic
  elements (V-polarised, oriented along the boresight), ``synthetic_array`` style: paths are traced
  once from the centre and each board antenna gets the plane-wave phase of the path's departure (TX)
  and arrival (RX) direction, ``pi * (x u_x + z u_z)`` with ``(x, z)`` the board position in
  half-wavelengths and ``u`` the unit direction toward the first/last interaction in the radar frame
  (the ``sim.radar.point_targets`` convention: ``u_x = sin az cos el``, ``u_z = sin el``). The array is
  ~2.5 wavelengths wide, so per-antenna tracing would cost 7x for a plane-wave phase nobody can tell
  apart at room ranges. No element pattern is applied (isotropic): the radar model owns antenna gain.
  No line-of-sight path (TX and RX coincide). **Front half-space only** (``front_only``, default): a
  path is kept when its first and its last interaction lie in front of the array plane (radar-frame
  ``y > 0``), the cut the scatterer backend makes too. A TI board's patches sit on a ground plane and
  radiate next to nothing backwards; with the isotropic element a radar mounted 3 cm off a wall (as the
  generated rooms place it) got that wall's mirror echo at 6 cm path length, ~27 dB above the rest of
  the scene and ~45 dB above the person. Grazing diffuse paths off that wall just in front of the array
  plane remain (a few cm range, range bin 0): no element pattern attenuates them.
- **Gain.** Sionna's coefficient ``a`` (field ratio incl. free-space loss, reflection and diffuse
  scattering; it carries no ``exp(-j 2 pi f tau)``: delays are separate) is conjugated, because the
  ADC model (``point_targets``: TX chirp times the conjugate of the echo) puts the carrier phase as
  ``+2 pi f0 tau``; then the antenna phases above are added. ``gain[tx, rx, p]`` indexes physical antennas.
- **Doppler.** ``delay_rate`` is computed here from the path geometry and the *per-vertex* velocities of
  the hit mesh, interpolated at each interaction point (barycentric):
  ``d tau / dt = (1/c) sum_i v_i . (k_in,i - k_out,i)`` (+ = lengthening = moving away). This equals
  Sionna's Doppler formula (``delay_rate = -doppler / f_c``) but with the velocity of the hit point
  instead of one velocity per object, so limbs get micro-Doppler without splitting a body into parts;
  each object's mean velocity is still given to Sionna so ``paths.doppler`` stays meaningful.
- **Attribution.** ``object_ids`` = the mesh of the last interaction, ``part_ids`` = that face's
  ``Mesh.part_ids`` (of its first vertex; -1 without part ids), ``bounces`` = interactions per path.
- **Determinism.** ``PathSolver(deterministic=True)`` and the same ray seed every frame, so diffuse
  points stay put on a static surface from frame to frame (a new seed per frame would decorrelate the
  diffuse clutter between frames and show up as Doppler noise). The deterministic solver returns the
  same paths but not always in the same order, so the paths are sorted canonically (delay, interaction
  types, primitives, coefficient): the same scene, pose and seed give bit-identical PathSets, and
  ``mmfm sim generate --backend sionna`` gives bit-identical dataset files for the same seed and shard
  (measured on the CPU/LLVM variant, across processes and shardings, ``tests/test_sionna_generate.py``).
  The CUDA variant was not compared with it: expect other last bits there.
- **Levels against the scatterer backend** (:mod:`sim.propagation.scatter`). Both give a large flat
  reflector facing the radar the mirror level ``|Gamma| lambda / (4 pi 2R)`` (field ~ 1/R), but by
  different surface models, which differ on small flat objects. Sionna's specular path is the exact
  image of a smooth facet of any size (right for a smooth plate larger than the first Fresnel zone,
  ``sqrt(lambda R / 2)`` ~ 6 cm at 2 m) times its specular share ``sqrt(1 - S^2)``. The scatterer backend
  treats every surface as rough (Kirchhoff lobe, rms slope ``s`` = 0.2): over an unbounded plane the
  lobe integrates to the same mirror level, gathered from a footprint of std ``s R`` around the specular
  point, so a square plate of side ``D`` returns ``erf^2(D / (2 sqrt 2 s R))`` of it. Measured at 77 GHz,
  metal plate facing the radar at 2 m (``tests/test_sionna_rt.py``), mirror -82.4 dB: Sionna's specular
  path -83.2 dB at every size (share -0.76 dB for ``S`` = 0.4), the scatter backend -89.0 / -84.4 /
  -82.5 dB for a 0.5 / 1 / 2 m plate (footprint share -6.6 / -2.1 / -0.1 dB). That is the ~6 dB gap of
  the plate-plus-wall comparison (0.5 m plate: Sionna -83.2, scatter -88.8 dB, 5.6 dB), while the 3 m
  concrete wall at 4 m agrees (-96.7 vs -97.1 dB). A modelling difference (smooth vs rough surfaces),
  not an amplitude bug: no factor 2, ``sqrt(4 pi)`` or pattern between the two radar equations.
- **Not traced.** Refraction (transmission through walls), diffraction, line of sight; no element
  pattern (isotropic over the front half-space).
  Rays are shot uniformly over the sphere (the half behind the array is wasted: its paths are dropped),
  so a person 3 m away collects ~0.4 % of ``samples_per_src`` as direct hits and about ``S^2`` of those as diffuse paths (~85 paths at 20k rays): raise
  ``samples_per_src`` for denser micro-Doppler.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from firmware_cfg.chirp import SPEED_OF_LIGHT_M_S, ChirpConfig
from sim.geometry import Mesh, RadarPose
from sim.propagation._mitsuba import import_sionna, make_mi_mesh
from sim.propagation.paths import PathSet

# Scattering coefficient S (Sionna: diffuse share of the reflected field amplitude, 0..1) per semantic
# label; labels not listed use ``DEFAULT_SCATTERING["*"]``.
DEFAULT_SCATTERING: dict[str, float] = {
    "wall": 0.2,
    "floor": 0.2,
    "ceiling": 0.2,
    "door": 0.2,
    "window": 0.1,
    "person": 0.5,
    "*": 0.4,  # furniture and everything else
}

# Slab thickness [m] per material (Sionna reflects off a slab of this thickness). Typical indoor values;
# the lossy ones (concrete, skin) are effectively half-spaces at 60-81 GHz.
DEFAULT_THICKNESS_M: dict[str, float] = {
    "concrete": 0.15,
    "plasterboard": 0.0125,
    "wood": 0.02,
    "glass": 0.006,
    "metal": 0.002,
    "ceiling_board": 0.015,
    "chipboard": 0.018,
    "floorboard": 0.02,
    "skin": 0.05,
}

_INVALID_SHAPE = 0xFFFFFFFF


@dataclass
class _Entry:
    """One mesh as it stands in the Sionna scene."""

    sid: str  # Sionna / Mitsuba shape id (internal, unique)
    faces: np.ndarray  # [F, 3] int64
    vertices: np.ndarray  # [V, 3] float64 world [m], as uploaded
    material: str
    label: str
    obj: Any  # sionna.rt.SceneObject


class SionnaTracer:
    """Monostatic radar paths from Sionna RT, one :class:`PathSet` per call of :meth:`trace`.

    Args:
        cfg: chirp configuration (carrier frequency, board antenna positions).
        max_depth: maximum number of interactions per path (1 = direct backscatter only).
        samples_per_src: rays shot from the radar per frame (more = more diffuse paths, slower).
        diffuse: trace diffuse reflection (Lambertian) besides specular chains.
        seed: ray-sampling seed, the same every frame (see the module docstring).
        max_paths: keep at most this many paths (the strongest by ``|a|``); None keeps all.
        scattering: scattering coefficient per label, overriding :data:`DEFAULT_SCATTERING`.
        thickness_m: slab thickness [m] per material, overriding :data:`DEFAULT_THICKNESS_M`.
        front_only: keep only paths that leave and return through the radar's front half-space
            (radar-frame ``y > 0`` toward the first and from the last interaction), as the scatterer
            backend does; False keeps the isotropic element's back half-space too.

    The Sionna scene lives until :meth:`close`; the tracer is also a context manager.
    """

    def __init__(
        self,
        cfg: ChirpConfig,
        *,
        max_depth: int = 2,
        samples_per_src: int = 20_000,
        diffuse: bool = True,
        seed: int = 0,
        max_paths: int | None = None,
        scattering: Mapping[str, float] | None = None,
        thickness_m: Mapping[str, float] | None = None,
        front_only: bool = True,
    ) -> None:
        if max_depth < 1:
            raise ValueError(f"max_depth must be >= 1 (a radar needs a bounce), got {max_depth}")
        if samples_per_src < 1:
            raise ValueError(f"samples_per_src must be >= 1, got {samples_per_src}")
        self.cfg = cfg
        self.max_depth = int(max_depth)
        self.samples_per_src = int(samples_per_src)
        self.diffuse = bool(diffuse)
        self.seed = int(seed)
        self.max_paths = max_paths
        self.front_only = bool(front_only)
        self.scattering = {**DEFAULT_SCATTERING, **(scattering or {})}
        self.thickness_m = {**DEFAULT_THICKNESS_M, **(thickness_m or {})}
        board = cfg.board_spec
        self._tx_pos = np.asarray(
            board.tx_positions, dtype=np.float64
        )  # [num_tx, 2] half-wavelengths
        self._rx_pos = np.asarray(
            board.rx_positions, dtype=np.float64
        )  # [num_rx, 2] half-wavelengths
        self._scene: Any = None  # created on the first trace (imports Sionna lazily)
        self._solver: Any = None
        self._entries: dict[str, _Entry] = {}
        self._materials: dict[tuple[str, float], Any] = {}
        self._serial = itertools.count()
        self._pose: RadarPose | None = None
        self._shape_index: dict[int, str] = {}  # Mitsuba shape id (UInt32) -> sid
        # Seconds spent per stage in the last trace (scene sync, Sionna solve, conversion).
        self.last_timing: dict[str, float] = {}
        # Sionna's own Doppler [Hz] of the last PathSet's paths (per-object mean velocities), [P]:
        # a cross-check of ``delay_rate`` (equal to ``-doppler / f_c`` for rigid objects).
        self.last_sionna_doppler_hz: np.ndarray = np.zeros(0)

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> SionnaTracer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Drop the Sionna scene and solver (frees the JIT's buffers)."""
        self._scene = None
        self._solver = None
        self._entries.clear()
        self._materials.clear()
        self._shape_index.clear()
        self._pose = None

    # ------------------------------------------------------------------ scene management
    def _init_scene(self) -> None:
        mi, _dr, rt = import_sionna()
        scene = rt.Scene()
        scene.frequency = self.cfg.carrier_freq_hz
        scene.tx_array = rt.PlanarArray(num_rows=1, num_cols=1, pattern="iso", polarization="V")
        scene.rx_array = rt.PlanarArray(num_rows=1, num_cols=1, pattern="iso", polarization="V")
        scene.add(rt.Transmitter("mmfm_radar_tx", position=mi.Point3f(0.0, 0.0, 0.0)))
        scene.add(rt.Receiver("mmfm_radar_rx", position=mi.Point3f(0.0, 0.0, 0.0)))
        self._scene = scene
        self._solver = rt.PathSolver(deterministic=True)

    def _material(self, material: str, label: str) -> Any:
        """The (cached) Sionna radio material for ``material`` with ``label``'s scattering coefficient."""
        from sim.scene.materials import check_valid, permittivity_conductivity, sionna_name

        s = float(self.scattering.get(label, self.scattering["*"]))
        key = (material, s)
        if key in self._materials:
            return self._materials[key]
        check_valid(material, self.cfg.carrier_freq_hz)  # clear error before Sionna's
        sname = sionna_name(material)
        _mi, _dr, rt = import_sionna()
        name = f"mmfm-{material}-s{round(s * 1000):04d}"
        thickness = float(self.thickness_m.get(material, 0.05))
        if sname.startswith("itu_"):
            mat = rt.ITURadioMaterial(
                name=name,
                itu_type=sname.removeprefix("itu_"),
                thickness=thickness,
                scattering_coefficient=s,
            )
        else:  # non-ITU (skin): fixed permittivity/conductivity at the carrier
            eps_r, sigma = permittivity_conductivity(material, self.cfg.carrier_freq_hz)
            mat = rt.RadioMaterial(
                name=name,
                thickness=thickness,
                relative_permittivity=eps_r,
                conductivity=sigma,
                scattering_coefficient=s,
            )
        self._materials[key] = mat
        return mat

    def _sync_meshes(self, meshes: Sequence[Mesh]) -> None:
        """Bring the Sionna scene in line with ``meshes`` (vertex updates, else one rebuild)."""
        mi, dr, rt = import_sionna()
        scene = self._scene
        wanted = {m.name: m for m in meshes}
        add, remove = [], []
        moved: list[tuple[_Entry, np.ndarray]] = []
        for name, entry in list(self._entries.items()):
            mesh = wanted.get(name)
            same = (
                mesh is not None
                and mesh.material == entry.material
                and mesh.label == entry.label
                and mesh.vertices.shape == entry.vertices.shape
                and np.array_equal(mesh.faces, entry.faces)
            )
            if not same:
                remove.append(entry.obj)
                del self._entries[name]
            elif not np.array_equal(mesh.vertices, entry.vertices):
                moved.append((entry, np.array(mesh.vertices, dtype=np.float64)))
        for name, mesh in wanted.items():
            if name in self._entries:
                continue
            sid = f"mmfm{next(self._serial)}"
            vertices = np.array(mesh.vertices, dtype=np.float64)
            faces = np.array(mesh.faces, dtype=np.int64)
            obj = rt.SceneObject(
                mi_mesh=make_mi_mesh(mi, sid, vertices, faces),
                name=sid,
                radio_material=self._material(mesh.material, mesh.label),
            )
            self._entries[name] = _Entry(sid, faces, vertices, mesh.material, mesh.label, obj)
            add.append(obj)
        if add or remove:
            scene.edit(add=add or None, remove=remove or None)
            self._shape_index = {
                int(dr.reinterpret_array(mi.UInt32, mi.ShapePtr(s))[0]): s.id()
                for s in scene.mi_scene.shapes()
            }
        if moved:
            params = scene.mi_scene_params
            for entry, vertices in moved:
                params[f"{entry.sid}.vertex_positions"] = mi.Float(
                    vertices.astype(np.float32).ravel()
                )
                entry.vertices = vertices
            params.update()
        # Mean velocity per object for Sionna's own Doppler (ours uses per-vertex velocities).
        for name, entry in self._entries.items():
            vel = wanted[name].velocities
            mean = np.zeros(3) if vel is None else np.asarray(vel, dtype=np.float64).mean(axis=0)
            if np.any(mean) or np.any(np.asarray(entry.obj.velocity)):
                entry.obj.velocity = mi.Vector3f(*(float(c) for c in mean))

    def _set_pose(self, pose: RadarPose) -> None:
        if self._pose == pose:
            return
        mi, _dr, _rt = import_sionna()
        boresight = pose.rotation[:, 1]
        # Sionna orientation (alpha about z, beta about y, gamma about x): local x = boresight.
        alpha = float(np.arctan2(boresight[1], boresight[0]))
        beta = float(-np.arcsin(np.clip(boresight[2], -1.0, 1.0)))
        for dev in (self._scene.get("mmfm_radar_tx"), self._scene.get("mmfm_radar_rx")):
            dev.position = mi.Point3f(*(float(c) for c in pose.position))
            dev.orientation = mi.Point3f(alpha, beta, 0.0)
        self._pose = pose

    # ------------------------------------------------------------------ tracing
    def trace(self, meshes: Sequence[Mesh], pose: RadarPose, t_ref_s: float) -> PathSet:
        """Paths of the scene ``meshes`` seen by the radar at ``pose`` at time ``t_ref_s``.

        Args:
            meshes: the scene at ``t_ref_s`` (unique names; vertices [m] and velocities [m/s] in world).
            pose: radar position and orientation.
            t_ref_s: absolute time of the snapshot [s] (stored in the result).

        Returns:
            :class:`PathSet` with ``P`` paths: ``delay_s [P]`` round trip [s], ``delay_rate [P]`` [s/s],
            ``gain [board.num_tx, board.num_rx, P]``, ``object_ids`` into ``object_names`` (= the
            meshes' names in the given order), ``part_ids``, ``bounces``.
        """
        names = [m.name for m in meshes]
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"mesh names must be unique within a scene; repeated: {dup}")
        t0 = time.perf_counter()
        if self._scene is None:
            self._init_scene()
        self._sync_meshes(meshes)
        self._set_pose(pose)
        t1 = time.perf_counter()
        raw = self._solve()
        t2 = time.perf_counter()
        out = self._to_pathset(raw, meshes, pose, t_ref_s)
        t3 = time.perf_counter()
        self.last_timing = {"sync_s": t1 - t0, "solve_s": t2 - t1, "convert_s": t3 - t2}
        return out

    def _solve(self) -> dict[str, np.ndarray]:
        """Run the path solver; numpy copies of what :meth:`_to_pathset` needs, paths last axis."""
        paths = self._solver(
            self._scene,
            max_depth=self.max_depth,
            samples_per_src=self.samples_per_src,
            max_num_paths_per_src=max(self.samples_per_src * self.max_depth, 1),
            synthetic_array=True,
            los=False,
            specular_reflection=True,
            diffuse_reflection=self.diffuse,
            refraction=False,
            diffraction=False,
            seed=self.seed,
        )
        a_re, a_im = paths.a
        num_paths = int(np.asarray(paths.tau).shape[-1])
        depth = int(np.asarray(paths.interactions).shape[0]) if num_paths else 0
        return {
            "a": (
                np.asarray(a_re, dtype=np.float64) + 1j * np.asarray(a_im, dtype=np.float64)
            ).reshape(num_paths),  # [P]
            "tau": np.asarray(paths.tau, dtype=np.float64).reshape(num_paths),  # [P] [s]
            "doppler": np.asarray(paths.doppler, dtype=np.float64).reshape(num_paths),  # [P] [Hz]
            "interactions": np.asarray(paths.interactions).reshape(depth, num_paths),  # [D, P]
            "objects": np.asarray(paths.objects).reshape(depth, num_paths),  # [D, P]
            "primitives": np.asarray(paths.primitives).reshape(depth, num_paths),  # [D, P]
            "vertices": np.asarray(paths.vertices, dtype=np.float64).reshape(depth, num_paths, 3),
        }

    @staticmethod
    def _in_front(raw: dict[str, np.ndarray], pose: RadarPose) -> np.ndarray:
        """bool ``[P]``: the first and the last interaction lie in the radar's front half-space."""
        depth, num_paths = raw["interactions"].shape
        if depth == 0:
            return np.zeros(num_paths, dtype=bool)
        last = np.maximum((raw["interactions"] != 0).sum(axis=0) - 1, 0)  # [P]
        verts = raw["vertices"]  # [D, P, 3]
        centre = np.asarray(pose.position, dtype=np.float64)
        first_y = pose.to_radar_vectors(verts[0] - centre)[:, 1]
        last_y = pose.to_radar_vectors(verts[last, np.arange(num_paths)] - centre)[:, 1]
        return (first_y > 0.0) & (last_y > 0.0)

    def _to_pathset(
        self, raw: dict[str, np.ndarray], meshes: Sequence[Mesh], pose: RadarPose, t_ref_s: float
    ) -> PathSet:
        board = self.cfg.board_spec
        a = raw["a"]
        keep = np.isfinite(a) & (np.abs(a) > 0) & np.isfinite(raw["tau"]) & (raw["tau"] > 0)
        if self.front_only and keep.any():
            keep &= self._in_front(raw, pose)
        if self.max_paths is not None and keep.sum() > self.max_paths:
            order = np.argsort(-np.where(keep, np.abs(a), -1.0), kind="stable")
            keep = np.zeros_like(keep)
            keep[order[: self.max_paths]] = True
        idx = np.flatnonzero(keep)
        names = tuple(m.name for m in meshes)
        if idx.size == 0:
            self.last_sionna_doppler_hz = np.zeros(0)
            empty = PathSet.empty(board.num_tx, board.num_rx, t_ref_s)
            return PathSet(
                t_ref_s,
                empty.delay_s,
                empty.delay_rate,
                empty.gain,
                empty.object_ids,
                empty.part_ids,
                empty.bounces,
                names,
            )
        a = a[idx]
        tau = raw["tau"][idx]
        inter = raw["interactions"][:, idx]  # [D, P]
        shapes = raw["objects"][:, idx].astype(np.int64)  # [D, P]
        prims = raw["primitives"][:, idx].astype(np.int64)  # [D, P]
        verts = raw["vertices"][:, idx, :]  # [D, P, 3]
        # Canonical order (the solver's output order varies from call to call, its content does not):
        # by delay, then interaction types, primitives and the coefficient, as ties break.
        order = np.lexsort((a.imag, a.real, *prims[::-1], *inter[::-1], tau))
        a, tau, inter, shapes, prims, verts = (
            a[order],
            tau[order],
            inter[:, order],
            shapes[:, order],
            prims[:, order],
            verts[:, order],
        )
        idx = idx[order]
        self.last_sionna_doppler_hz = raw["doppler"][idx]
        depth, num_paths = inter.shape
        active = inter != 0  # [D, P]
        bounces = active.sum(axis=0).astype(np.int64)  # [P]
        last = np.maximum(bounces - 1, 0)  # [P] depth index of the last interaction
        cols = np.arange(num_paths)

        # Map Sionna shapes -> mesh index; per interaction the velocity of the hit point.
        by_sid = {e.sid: name for name, e in self._entries.items()}
        mesh_index = {m.name: i for i, m in enumerate(meshes)}
        velocity = np.zeros((depth, num_paths, 3))  # [D, P, 3] [m/s]
        mesh_of = np.full((depth, num_paths), -1, dtype=np.int64)  # [D, P]
        part_of = np.full((depth, num_paths), -1, dtype=np.int64)  # [D, P]
        for shape_id in np.unique(shapes[active]):
            if shape_id == _INVALID_SHAPE:
                continue
            sid = self._shape_index.get(int(shape_id))
            name = by_sid.get(sid) if sid is not None else None
            if name is None:
                continue
            mesh = meshes[mesh_index[name]]
            sel = active & (shapes == shape_id)  # [D, P]
            mesh_of[sel] = mesh_index[name]
            face = np.asarray(mesh.faces)[prims[sel]]  # [n, 3]
            if mesh.part_ids is not None:
                part_of[sel] = np.asarray(mesh.part_ids)[face[:, 0]]
            if mesh.velocities is not None:
                velocity[sel] = _interpolate(
                    np.asarray(mesh.vertices, dtype=np.float64)[face],
                    np.asarray(mesh.velocities, dtype=np.float64)[face],
                    verts[sel],
                )

        # Path geometry: radar -> v_1 -> ... -> v_n -> radar.
        centre = np.asarray(pose.position, dtype=np.float64)
        prev = np.broadcast_to(centre, (num_paths, 3)).copy()
        rate = np.zeros(num_paths)
        k_in = np.zeros((num_paths, 3))
        first_dir = np.zeros((num_paths, 3))
        for d in range(depth):
            on = active[d]
            seg = _unit(verts[d] - prev)  # [P, 3] direction of propagation into v_d
            if d == 0:
                first_dir = seg
            k_in = np.where(on[:, None], seg, k_in)
            prev = np.where(on[:, None], verts[d], prev)
            # Outgoing direction: toward the next vertex, or back to the radar after the last one.
            nxt = verts[d + 1] if d + 1 < depth else np.broadcast_to(centre, (num_paths, 3))
            is_last = on & (d == last)
            k_out = _unit(np.where(is_last[:, None], centre - verts[d], nxt - verts[d]))
            rate += np.where(on, np.einsum("pi,pi->p", velocity[d], seg - k_out), 0.0)
        delay_rate = rate / SPEED_OF_LIGHT_M_S  # [P] s/s
        last_vertex = verts[last, cols]  # [P, 3]
        arrive_from = _unit(last_vertex - centre)  # [P, 3] radar -> last interaction

        # Antenna phases (radar frame): TX by the departure, RX by the arrival direction.
        u_tx = pose.to_radar_vectors(first_dir)  # [P, 3]
        u_rx = pose.to_radar_vectors(arrive_from)  # [P, 3]
        ph_tx = np.pi * (
            self._tx_pos[:, 0:1] * u_tx[None, :, 0] + self._tx_pos[:, 1:2] * u_tx[None, :, 2]
        )  # [num_tx, P]
        ph_rx = np.pi * (
            self._rx_pos[:, 0:1] * u_rx[None, :, 0] + self._rx_pos[:, 1:2] * u_rx[None, :, 2]
        )  # [num_rx, P]
        gain = np.conj(a)[None, None, :] * np.exp(1j * (ph_tx[:, None, :] + ph_rx[None, :, :]))

        return PathSet(
            t_ref_s=float(t_ref_s),
            delay_s=tau,
            delay_rate=delay_rate,
            gain=gain.astype(np.complex128),
            object_ids=mesh_of[last, cols],
            part_ids=part_of[last, cols],
            bounces=bounces,
            object_names=names,
        )


def _unit(v: np.ndarray) -> np.ndarray:
    """Rows of ``v [..., 3]`` normalised (zero rows stay zero)."""
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n > 0, n, 1.0)


def _interpolate(tri: np.ndarray, values: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Barycentric interpolation of per-vertex ``values [n, 3, k]`` at ``points [n, 3]`` on ``tri [n, 3, 3]``.

    Returns ``[n, k]``; the weights are clipped to the triangle (points come from float32 hits).
    """
    e1, e2, w = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0], points - tri[:, 0]
    d11 = np.einsum("ni,ni->n", e1, e1)
    d12 = np.einsum("ni,ni->n", e1, e2)
    d22 = np.einsum("ni,ni->n", e2, e2)
    dw1 = np.einsum("ni,ni->n", w, e1)
    dw2 = np.einsum("ni,ni->n", w, e2)
    den = d11 * d22 - d12 * d12
    den = np.where(np.abs(den) > 0, den, 1.0)
    b1 = np.clip((d22 * dw1 - d12 * dw2) / den, 0.0, 1.0)
    b2 = np.clip((d11 * dw2 - d12 * dw1) / den, 0.0, 1.0)
    s = b1 + b2
    over = s > 1.0
    b1 = np.where(over, b1 / s, b1)
    b2 = np.where(over, b2 / s, b2)
    b0 = 1.0 - b1 - b2
    return b0[:, None] * values[:, 0] + b1[:, None] * values[:, 1] + b2[:, None] * values[:, 2]
