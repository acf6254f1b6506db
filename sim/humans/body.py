"""SMPL-format bodies: a licence-free procedural body (the default) or a user-supplied SMPL/SMPL-X file.

The procedural body is built in SMPL's own rest frame (``x`` = the person's left, ``y`` up, ``z`` forward,
T-pose, soles on ``y = 0``) from tapered capsules and an ellipsoidal head, one closed surface per
segment (about 3k vertices in all). It carries everything an SMPL model file carries: ``v_template``,
``shapedirs`` (10 betas with a meaning, see :data:`BETA_NAMES`), ``posedirs`` (zero), ``J_regressor``
(each joint is the mean of one ring of vertices around it), linear-blend-skinning ``weights`` and the
standard 24-joint ``kintree_table``. :meth:`BodyModel.smpl_struct` hands these to
``smplx.SMPL(data_struct=...)``; :class:`Body` is a shaped body (betas applied) with a fast numpy LBS.

Per-vertex extras used by the simulator: ``part_ids`` (SMPL joint with the largest skinning weight) and
micro-motion weights for the torso front (chest, abdomen, heart region).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import scipy.sparse as sp

JOINT_NAMES: tuple[str, ...] = (
    "pelvis",
    "left_hip",
    "right_hip",
    "spine1",
    "left_knee",
    "right_knee",
    "spine2",
    "left_ankle",
    "right_ankle",
    "spine3",
    "left_foot",
    "right_foot",
    "neck",
    "left_collar",
    "right_collar",
    "head",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hand",
    "right_hand",
)
NUM_JOINTS = 24
#: SMPL's kinematic tree: parent of each joint (-1 for the root).
SMPL_PARENTS: np.ndarray = np.array(
    [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21],
    dtype=np.int64,
)
#: Maps SMPL's rest frame (x left, y up, z forward) to the world frame (x east, y north, z up) for a
#: person facing east: world = SMPL_TO_WORLD @ smpl.
SMPL_TO_WORLD: np.ndarray = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])

#: Meaning of the procedural body's betas (one unit each): name, mean value, value per unit.
BETA_PARAMS: tuple[tuple[str, float, float], ...] = (
    ("height", 1.70, 0.07),  # standing height [m]
    ("girth", 1.0, 0.12),  # radius multiplier of every segment (build)
    ("male", 0.0, 1.0),  # -1 female (wider hips) .. +1 male (wider shoulders)
    ("child", 0.0, 1.0),  # 0 adult .. 1 small-child proportions (big head, short legs)
    ("belly", 0.0, 0.03),  # extra abdomen depth [m]
    ("leg", 1.0, 0.04),  # leg-length ratio at constant height
    ("arm", 1.0, 0.04),  # arm-length multiplier
    ("shoulder", 1.0, 0.06),  # shoulder-width multiplier
    ("head", 1.0, 0.06),  # head-size multiplier
    ("chest", 1.0, 0.08),  # chest-depth multiplier
)
BETA_NAMES: tuple[str, ...] = tuple(name for name, _, _ in BETA_PARAMS)
NUM_BETAS = len(BETA_PARAMS)

BUILDS = ("slim", "average", "heavy")
AGE_GROUPS = ("child", "adult", "elderly")
SEXES = ("female", "male")
_GIRTH = {"slim": 0.88, "average": 1.0, "heavy": 1.2}
_BELLY = {"slim": 0.0, "average": 0.005, "heavy": 0.035}


# ----------------------------------------------------------------------------------------------
# Subjects
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Subject:
    """Who is simulated: drives the body shape (betas) and some motion defaults.

    Attributes:
        height_m: standing height [m] (0.9-2.2).
        build: ``"slim"``, ``"average"`` or ``"heavy"``.
        age_group: ``"child"``, ``"adult"`` or ``"elderly"``.
        sex: ``"female"`` or ``"male"``.
    """

    height_m: float = 1.70
    build: str = "average"
    age_group: str = "adult"
    sex: str = "female"

    def __post_init__(self) -> None:
        if not 0.9 <= self.height_m <= 2.2:
            raise ValueError(f"height_m must be within 0.9-2.2 m, got {self.height_m}")
        for value, allowed, what in (
            (self.build, BUILDS, "build"),
            (self.age_group, AGE_GROUPS, "age_group"),
            (self.sex, SEXES, "sex"),
        ):
            if value not in allowed:
                raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(allowed)}")

    def shape_params(self) -> dict[str, float]:
        """The procedural generator's parameters (see :data:`BETA_PARAMS`) for this subject."""
        params = {name: mean for name, mean, _ in BETA_PARAMS}
        params["height"] = self.height_m
        params["girth"] = _GIRTH[self.build] * (0.97 if self.age_group == "child" else 1.0)
        params["male"] = 1.0 if self.sex == "male" else -1.0
        if self.age_group == "child":
            params["child"] = float(np.clip((1.6 - self.height_m) / 0.65, 0.0, 1.0))
            params["male"] *= 0.3
        params["belly"] = _BELLY[self.build] + (0.01 if self.age_group == "elderly" else 0.0)
        return params

    def betas(self) -> np.ndarray:
        """``[NUM_BETAS]`` betas of the procedural body for this subject."""
        params = self.shape_params()
        return np.array([(params[name] - mean) / unit for name, mean, unit in BETA_PARAMS])


def sample_subject(rng: np.random.Generator) -> Subject:
    """A random subject: adults 60 %, elderly 25 %, children 15 %; heights from sex/age norms."""
    age_group = str(rng.choice(AGE_GROUPS, p=[0.15, 0.60, 0.25]))
    sex = str(rng.choice(SEXES))
    if age_group == "child":
        height = rng.uniform(1.0, 1.55)
        build = str(rng.choice(BUILDS, p=[0.35, 0.5, 0.15]))
    else:
        mean = 1.76 if sex == "male" else 1.63
        mean -= 0.03 if age_group == "elderly" else 0.0
        height = float(np.clip(rng.normal(mean, 0.07), 1.45, 2.05))
        build = str(rng.choice(BUILDS, p=[0.25, 0.5, 0.25]))
    return Subject(height_m=round(float(height), 3), build=build, age_group=age_group, sex=sex)


# ----------------------------------------------------------------------------------------------
# Procedural geometry
# ----------------------------------------------------------------------------------------------
@dataclass
class _Part:
    """One closed surface of revolution: rings of vertices around an axis, plus two poles."""

    joint: int  # main skinning joint (-1: torso, weights by height)
    centres: np.ndarray  # [R, 3]
    semi: np.ndarray  # [R, 2] semi-axes along (u, w) [m]
    s: np.ndarray  # [R] ring position along the bone (0 at the joint, 1 at the child)
    u: np.ndarray  # [3]
    w: np.ndarray  # [3]
    poles: tuple[np.ndarray, np.ndarray]
    pole_s: tuple[float, float]
    n_around: int
    parent_blend: tuple[int, float] | None = None  # (parent joint, s where its weight reaches 0)
    child_blend: tuple[int, float] | None = None  # (child joint, s where its weight starts)
    anchors: dict[int, int] = field(default_factory=dict)  # joint -> ring index (joint regressor)


def _frame(axis: np.ndarray, front: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w = front - np.dot(front, axis) * axis
    w /= np.linalg.norm(w)
    return np.cross(w, axis), w


def _capsule(
    joint: int,
    a: np.ndarray,
    b: np.ndarray,
    core_s: np.ndarray,
    semi_core: np.ndarray,
    *,
    front: np.ndarray,
    cap: tuple[float, float],
    n_around: int,
    n_cap: int = 3,
    bone: tuple[np.ndarray, np.ndarray] | None = None,
    **kwargs: Any,
) -> _Part:
    """A tapered capsule from ``a`` to ``b``; ``core_s [R]`` in [0, 1], ``semi_core [R, 2]`` [m].

    ``bone`` (joint, child) positions define ``s`` for skinning when the surface axis is not the bone.
    """
    length = np.linalg.norm(b - a)
    axis = (b - a) / length
    u, w = _frame(axis, front)
    phis = np.arange(1, n_cap + 1) / (n_cap + 1) * (np.pi / 2)  # ascending angles towards the pole
    cap_a, cap_b = cap
    s_a = -cap_a * np.sin(phis[::-1]) / length
    s_b = 1.0 + cap_b * np.sin(phis) / length
    s_all = np.concatenate([s_a, core_s, s_b])
    semi = np.concatenate(
        [
            semi_core[:1] * np.cos(phis[::-1])[:, None],
            semi_core,
            semi_core[-1:] * np.cos(phis)[:, None],
        ]
    )
    centres = a + s_all[:, None] * (b - a)
    poles = (a - axis * cap_a, b + axis * cap_b)
    pole_s = (-cap_a / length, 1.0 + cap_b / length)
    if bone is not None:  # skinning coordinate along the bone instead of the surface axis
        j0, j1 = bone
        d = j1 - j0
        proj = lambda p: float(np.dot(p - j0, d) / np.dot(d, d))  # noqa: E731
        s_all = np.array([proj(c) for c in centres])
        pole_s = (proj(poles[0]), proj(poles[1]))
    return _Part(joint, centres, semi, s_all, u, w, poles, pole_s, n_around, **kwargs)


def _core_index(part: _Part, s_value: float) -> int:
    return int(np.argmin(np.abs(part.s - s_value)))


def _bump(x: np.ndarray | float, centre: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((np.asarray(x) - centre) / width) ** 2)


def _procedural_parts(p: dict[str, float]) -> tuple[list[_Part], np.ndarray, dict[str, np.ndarray]]:
    """Segments and rest joints ``[24, 3]`` of the procedural body for generator parameters ``p``."""
    h, g, male, child = p["height"], p["girth"], p["male"], p["child"]
    # Vertical layout: legs (floor -> hip joints), trunk (hips -> neck joint), head (neck -> top).
    fr_head = 0.155 * (1 + 0.45 * child) * p["head"]
    fr_leg = 0.49 * (1 - 0.10 * child) * p["leg"]
    fr_trunk = 0.355
    total = fr_head + fr_leg + fr_trunk
    leg, trunk, head_len = fr_leg / total * h, fr_trunk / total * h, fr_head / total * h
    y_hip, y_neck = leg, leg + trunk

    def ty(f: float) -> float:  # trunk fraction -> height
        return y_hip + f * trunk

    sh_w = 0.10 * h * p["shoulder"] * (1 + 0.05 * male) * (1 - 0.12 * child)
    hip_x = 0.052 * h * (1 - 0.04 * male)
    arm = p["arm"] * h * (1 - 0.06 * child)
    j = np.zeros((NUM_JOINTS, 3))
    j[0] = (0, ty(0.14), 0)
    j[3] = (0, ty(0.31), 0)
    j[6] = (0, ty(0.51), 0)
    j[9] = (0, ty(0.68), 0)
    j[12] = (0, y_neck, 0)
    j[15] = (0, y_neck + 0.29 * head_len, 0.01 * h)
    for side, sgn in ((0, 1.0), (1, -1.0)):
        j[1 + side] = (sgn * hip_x, y_hip, 0)
        j[4 + side] = (sgn * (hip_x + 0.003 * h), 0.58 * leg, 0.003 * h)
        j[7 + side] = (sgn * hip_x, 0.092 * leg, -0.005 * h)
        j[10 + side] = (sgn * (hip_x + 0.004 * h), 0.012 * h, 0.085 * h)
        j[13 + side] = (sgn * 0.4 * sh_w, ty(0.873), -0.005 * h)
        j[16 + side] = (sgn * sh_w, ty(0.915), -0.005 * h)
        j[18 + side] = j[16 + side] + (sgn * 0.186 * arm, 0, 0)
        j[20 + side] = j[18 + side] + (sgn * 0.146 * arm, 0, 0)
        j[22 + side] = j[20 + side] + (sgn * 0.060 * arm, 0, 0)

    up, fwd = np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0])
    parts: list[_Part] = []

    # Torso: one tube from below the hips to the neck base; rings at the spine joints' heights.
    f_rings = np.unique(
        np.round(np.concatenate([np.linspace(-0.10, 1.0, 20), [0.14, 0.31, 0.51, 0.68]]), 6)
    )
    prof_f = np.array([-0.10, 0.0, 0.14, 0.31, 0.51, 0.68, 0.85, 0.95, 1.0])
    prof_w = np.array([0.080, 0.094, 0.097, 0.085, 0.091, 0.099, 0.104, 0.085, 0.045])
    prof_d = np.array([0.058, 0.064, 0.066, 0.058, 0.063, 0.068, 0.062, 0.052, 0.040])
    hw = np.interp(f_rings, prof_f, prof_w) * h * g
    hd = np.interp(f_rings, prof_f, prof_d) * h * g
    hw *= np.where(f_rings < 0.35, 1 - 0.05 * male, 1.0) * np.where(
        f_rings > 0.6, 1 + 0.05 * male, 1.0
    )
    hd = hd * np.where((f_rings > 0.5) & (f_rings < 0.95), p["chest"], 1.0)
    belly = p["belly"] * _bump(f_rings, 0.33, 0.13)
    hd, hw = hd + belly, hw + 0.5 * belly
    centres = np.stack([np.zeros_like(f_rings), y_hip + f_rings * trunk, np.zeros_like(f_rings)], 1)
    torso = _capsule(
        -1,
        centres[0],
        centres[-1],
        (f_rings - f_rings[0]) / (f_rings[-1] - f_rings[0]),
        np.stack([hw, hd], 1),
        front=fwd,
        cap=(0.6 * hd[0], 0.8 * hd[-1]),
        n_around=28,
        n_cap=3,
    )
    torso.s = (torso.centres[:, 1] - y_hip) / trunk  # torso "s" = trunk fraction (height)
    torso.pole_s = ((torso.poles[0][1] - y_hip) / trunk, (torso.poles[1][1] - y_hip) / trunk)
    for joint, f in ((0, 0.14), (3, 0.31), (6, 0.51), (9, 0.68)):
        torso.anchors[joint] = _core_index(torso, f)
    parts.append(torso)

    def limb(joint: int, child: int, r0: float, r1: float, n: int, n_core: int, **kw: Any) -> _Part:
        s = np.linspace(0, 1, n_core)
        r = (r0 + (r1 - r0) * s) * h * g
        prt = _capsule(
            joint,
            j[joint],
            j[child],
            s,
            np.stack([r, r], 1),
            front=kw.pop("front", fwd),
            cap=(0.6 * r[0], 0.9 * r[-1]),
            n_around=n,
            parent_blend=(int(SMPL_PARENTS[joint]), 0.25),
            child_blend=(child, 0.8),
            **kw,
        )
        prt.anchors[joint] = _core_index(prt, 0.0)
        return prt

    parts.append(limb(12, 15, 0.030, 0.029, 12, 4))
    parts[-1].anchors[15] = _core_index(parts[-1], 1.0)
    parts[-1].parent_blend = (9, 0.35)
    # Head: an ellipsoid around (0, neck + 0.62 K, 0.01 h), semi-axes (0.31 K, 0.38 K, 0.37 K).
    hc = np.array([0.0, y_neck + 0.62 * head_len, 0.012 * h])
    hsx, hsy, hsz = 0.30 * head_len, 0.38 * head_len, 0.36 * head_len
    phis = np.linspace(-np.pi / 2, np.pi / 2, 16)[1:-1]
    head = _Part(
        15,
        hc + np.outer(np.sin(phis) * hsy, up),
        np.stack([hsx * np.cos(phis), hsz * np.cos(phis)], 1),
        np.zeros_like(phis),
        *_frame(up, fwd),
        poles=(hc - hsy * up, hc + hsy * up),
        pole_s=(0.0, 0.0),
        n_around=18,
    )
    parts.append(head)
    for side, sgn in ((0, 1.0), (1, -1.0)):
        parts.append(limb(13 + side, 16 + side, 0.036, 0.040, 10, 3))
        parts.append(limb(16 + side, 18 + side, 0.033, 0.025, 12, 7))
        parts.append(limb(18 + side, 20 + side, 0.025, 0.018, 12, 7))
        # Hand (palm) and fingers: flat, palm down in the T-pose (thickness along y, width along z).
        for joint, child, end, wid, thick in (
            (20 + side, 22 + side, j[22 + side], (0.022, 0.025), 0.010),
            (22 + side, -1, j[22 + side] + (sgn * 0.048 * arm, 0, 0), (0.023, 0.016), 0.008),
        ):
            s = np.linspace(0, 1, 3)
            gh = 1 + 0.3 * (g - 1)
            wz = np.interp(s, [0, 1], wid) * h * gh
            prt = _capsule(
                joint,
                j[joint],
                end,
                s,
                np.stack([np.full_like(s, thick * h * gh), wz], 1),
                front=fwd,
                cap=(0.3 * thick * h, 0.9 * thick * h if child >= 0 else 0.012 * h),
                n_around=10,
                parent_blend=(int(SMPL_PARENTS[joint]), 0.3),
                child_blend=(child, 0.75) if child >= 0 else None,
            )
            prt.anchors[joint] = _core_index(prt, 0.0)
            parts.append(prt)
        parts.append(limb(1 + side, 4 + side, 0.052, 0.036, 14, 8))
        shank = limb(4 + side, 7 + side, 0.036, 0.021, 12, 8)
        shank.semi[:, :] *= (1 + 0.12 * _bump(shank.s, 0.3, 0.15))[:, None]
        shank.anchors[7 + side] = _core_index(shank, 1.0)
        parts.append(shank)
        # Foot: heel -> ball (skinned to the ankle), then toes (skinned to the foot joint).
        heel = np.array([j[7 + side][0], 0.026 * h, -0.030 * h])
        ball = j[10 + side]
        s = np.linspace(0, 1, 5)
        foot = _capsule(
            7 + side,
            heel,
            ball,
            s,
            np.stack(
                [
                    np.interp(s, [0, 1], [0.021, 0.027]) * h,
                    np.interp(s, [0, 1], [0.026, 0.012]) * h,
                ],
                1,
            ),
            front=up,
            cap=(0.015 * h, 0.004 * h),
            n_around=12,
            child_blend=(10 + side, 0.85),
            bone=(j[7 + side], j[10 + side]),
        )
        foot.s = np.clip(foot.s, 0.0, None)
        foot.pole_s = (0.0, foot.pole_s[1])
        parts.append(foot)
        tip = np.array([ball[0], 0.010 * h, 0.120 * h])
        s = np.linspace(0, 1, 3)
        toes = _capsule(
            10 + side,
            ball,
            tip,
            s,
            np.stack([np.interp(s, [0, 1], [0.027, 0.020]) * h, np.full_like(s, 0.011 * h)], 1),
            front=up,
            cap=(0.004 * h, 0.012 * h),
            n_around=10,
            parent_blend=(7 + side, 0.3),
        )
        toes.anchors[10 + side] = _core_index(toes, 0.0)
        parts.append(toes)
    landmarks = {
        "nose": hc + np.array([0, -0.05 * hsy, hsz]),
        "leye": hc + np.array([0.35 * hsx, 0.2 * hsy, 0.85 * hsz]),
        "reye": hc + np.array([-0.35 * hsx, 0.2 * hsy, 0.85 * hsz]),
        "lear": hc + np.array([hsx, 0, 0]),
        "rear": hc + np.array([-hsx, 0, 0]),
    }
    for pre, sgn in (("L", 1.0), ("R", -1.0)):
        x = sgn * hip_x
        landmarks[pre + "BigToe"] = np.array([x - sgn * 0.02 * h, 0.01 * h, 0.13 * h])
        landmarks[pre + "SmallToe"] = np.array([x + sgn * 0.02 * h, 0.01 * h, 0.12 * h])
        landmarks[pre + "Heel"] = np.array([x, 0.01 * h, -0.05 * h])
        tip = j[22 if sgn > 0 else 23] + (sgn * 0.06 * arm, 0, 0)
        for k, finger in enumerate(("thumb", "index", "middle", "ring", "pinky")):
            landmarks[pre.lower() + finger] = tip + np.array([0, 0, (0.02 - 0.01 * k) * h])
    return parts, j, landmarks


def _part_vertices(part: _Part) -> np.ndarray:
    theta = 2 * np.pi * np.arange(part.n_around) / part.n_around
    ring = (
        part.centres[:, None, :]
        + (part.semi[:, 0:1, None] * np.cos(theta)[None, :, None]) * part.u
        + (part.semi[:, 1:2, None] * np.sin(theta)[None, :, None]) * part.w
    )  # [R, n, 3]
    return np.concatenate([part.poles[0][None], ring.reshape(-1, 3), part.poles[1][None]])


def _part_faces(num_rings: int, n: int) -> np.ndarray:
    faces = []
    k = np.arange(n)
    k1 = (k + 1) % n
    ring = lambda r: 1 + r * n  # noqa: E731
    faces.append(np.stack([np.zeros(n, int), ring(0) + k1, ring(0) + k], 1))
    for r in range(num_rings - 1):
        a, b = ring(r), ring(r + 1)
        faces.append(np.stack([a + k, a + k1, b + k1], 1))
        faces.append(np.stack([a + k, b + k1, b + k], 1))
    last = 1 + num_rings * n
    faces.append(np.stack([np.full(n, last), ring(num_rings - 1) + k, ring(num_rings - 1) + k1], 1))
    return np.concatenate(faces)


def _signed_volume(v: np.ndarray, f: np.ndarray) -> float:
    return float(np.einsum("ij,ij->i", v[f[:, 0]], np.cross(v[f[:, 1]], v[f[:, 2]])).sum() / 6.0)


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals ``[V, 3]`` of a mesh (``vertices [V, 3]``, ``faces [F, 3]``)."""
    tri = vertices[faces]
    fn = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    vn = np.zeros_like(vertices)
    for c in range(3):
        np.add.at(vn, faces[:, c], fn)
    return vn / np.maximum(np.linalg.norm(vn, axis=1, keepdims=True), 1e-12)


def _ramp(x: np.ndarray, x0: float, x1: float) -> np.ndarray:
    """0 at x0, 1 at x1, smooth (x0 > x1 allowed)."""
    t = np.clip((x - x0) / (x1 - x0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _torso_weights(f: np.ndarray) -> np.ndarray:
    """Skinning weights ``[N, 24]`` of torso vertices from their trunk fraction ``f`` (height)."""
    ctrl_f = np.array([0.16, 0.41, 0.595, 0.80])
    ctrl_j = [0, 3, 6, 9]
    w = np.zeros((len(f), NUM_JOINTS))
    for k, joint in enumerate(ctrl_j):
        onehot = np.zeros(len(ctrl_j))
        onehot[k] = 1.0
        w[:, joint] = np.interp(f, ctrl_f, onehot)
    neck = 0.5 * _ramp(f, 0.93, 1.05)
    w *= (1 - neck)[:, None]
    w[:, 12] += neck
    return w


def _part_weights(part: _Part, s_vertices: np.ndarray) -> np.ndarray:
    if part.joint < 0:
        return _torso_weights(s_vertices)
    w = np.zeros((len(s_vertices), NUM_JOINTS))
    own = np.ones(len(s_vertices))
    if part.parent_blend is not None:
        pj, s1 = part.parent_blend
        wp = 0.5 * (1 - _ramp(s_vertices, 0.0, s1))
        w[:, pj] += wp
        own -= wp
    if part.child_blend is not None:
        cj, s0 = part.child_blend
        wc = 0.5 * _ramp(s_vertices, s0, 1.0)
        w[:, cj] += wc
        own -= wc
    w[:, part.joint] += own
    return w


@dataclass(frozen=True, eq=False)
class BodyModel:
    """An SMPL-format body model (the arrays an SMPL ``.pkl`` holds) plus simulator extras.

    Attributes:
        v_template: ``[V, 3]`` rest vertices in SMPL's frame (x left, y up, z forward) [m].
        shapedirs: ``[V, 3, B]`` shape blend shapes [m per beta].
        posedirs: ``[V, 3, 207]`` pose blend shapes (zero for the procedural body).
        J_regressor: ``[24, V]`` joint regressor.
        weights: ``[V, 24]`` linear-blend-skinning weights (rows sum to 1).
        faces: ``[F, 3]`` int64, counter-clockwise seen from outside.
        parents: ``[24]`` SMPL kinematic tree (-1 for the root).
        vertex_ids: named vertices (nose, eyes, ears, toes, heels, fingertips) for ``smplx``.
        name: ``"procedural"`` or the model file's name.
    """

    v_template: np.ndarray
    shapedirs: np.ndarray
    posedirs: np.ndarray
    J_regressor: np.ndarray
    weights: np.ndarray
    faces: np.ndarray
    parents: np.ndarray
    vertex_ids: dict[str, int]
    name: str = "procedural"

    @property
    def num_vertices(self) -> int:
        return int(self.v_template.shape[0])

    @property
    def num_betas(self) -> int:
        return int(self.shapedirs.shape[2])

    def smpl_struct(self) -> SimpleNamespace:
        """The attributes ``smplx.SMPL(data_struct=...)`` reads (f, v_template, shapedirs, ...)."""
        kintree = np.stack([self.parents, np.arange(NUM_JOINTS)]).astype(np.int64)
        kintree[0, 0] = -1
        return SimpleNamespace(
            f=self.faces.astype(np.int64),
            v_template=self.v_template.astype(np.float32),
            shapedirs=self.shapedirs.astype(np.float32),
            posedirs=self.posedirs.astype(np.float32),
            J_regressor=self.J_regressor.astype(np.float32),
            weights=self.weights.astype(np.float32),
            kintree_table=kintree,
        )

    def to_smplx(self, **kwargs: Any) -> Any:
        """An ``smplx.SMPL`` module (torch, CPU) for this model; imports torch/smplx lazily."""
        import smplx  # heavy: only when asked

        return smplx.SMPL(
            model_path="",
            data_struct=self.smpl_struct(),
            num_betas=self.num_betas,
            vertex_ids=self.vertex_ids,
            **kwargs,
        )


_PROCEDURAL_CACHE: dict[str, BodyModel] = {}


def procedural_model() -> BodyModel:
    """The licence-free procedural body model (built once per process, ~0.1 s)."""
    if "model" in _PROCEDURAL_CACHE:
        return _PROCEDURAL_CACHE["model"]
    mean = {name: m for name, m, _ in BETA_PARAMS}
    parts, joints, landmarks = _procedural_parts(mean)

    def flat_vertices(params: dict[str, float]) -> np.ndarray:
        prts, _, _ = _procedural_parts(params)
        return np.concatenate([_part_vertices(prt) for prt in prts])

    verts, faces, weights, offset = [], [], [], 0
    regressor_rings: dict[int, np.ndarray] = {}
    for prt in parts:
        pv = _part_vertices(prt)
        pf = _part_faces(len(prt.centres), prt.n_around)
        if _signed_volume(pv, pf) < 0:
            pf = pf[:, ::-1]
        s_v = np.concatenate([[prt.pole_s[0]], np.repeat(prt.s, prt.n_around), [prt.pole_s[1]]])
        weights.append(_part_weights(prt, s_v))
        for joint, ring in prt.anchors.items():
            regressor_rings[joint] = offset + 1 + ring * prt.n_around + np.arange(prt.n_around)
        verts.append(pv)
        faces.append(pf + offset)
        offset += len(pv)
    v_template = np.concatenate(verts)
    faces_all = np.concatenate(faces).astype(np.int64)
    w = np.concatenate(weights)
    w /= w.sum(1, keepdims=True)
    regressor = np.zeros((NUM_JOINTS, len(v_template)))
    for joint in range(NUM_JOINTS):
        regressor[joint, regressor_rings[joint]] = 1.0 / len(regressor_rings[joint])
    assert np.allclose(regressor @ v_template, joints, atol=1e-9)
    # Shape blend shapes: central differences of the generator, one beta unit each (linear model).
    shapedirs = np.zeros((len(v_template), 3, NUM_BETAS))
    for k, (name, m, unit) in enumerate(BETA_PARAMS):
        step = 0.25 * unit
        hi, lo = dict(mean), dict(mean)
        hi[name], lo[name] = m + step, m - step
        shapedirs[:, :, k] = (flat_vertices(hi) - flat_vertices(lo)) / (2 * step) * unit
    vertex_ids = {
        name: int(np.argmin(np.linalg.norm(v_template - point, axis=1)))
        for name, point in landmarks.items()
    }
    model = BodyModel(
        v_template=v_template,
        shapedirs=shapedirs,
        posedirs=np.zeros((len(v_template), 3, 207)),
        J_regressor=regressor,
        weights=w,
        faces=faces_all,
        parents=SMPL_PARENTS.copy(),
        vertex_ids=vertex_ids,
    )
    _PROCEDURAL_CACHE["model"] = model
    return model


# ----------------------------------------------------------------------------------------------
# Shaped body with numpy LBS
# ----------------------------------------------------------------------------------------------
def _levels(parents: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Joints grouped by depth in the tree (root excluded): [(joints, their parents), ...]."""
    depth = np.zeros(len(parents), dtype=np.int64)
    for i in range(1, len(parents)):
        depth[i] = depth[parents[i]] + 1
    return [
        (np.flatnonzero(depth == d), parents[depth == d]) for d in range(1, int(depth.max()) + 1)
    ]


_LEVELS_CACHE: dict[bytes, list[tuple[np.ndarray, np.ndarray]]] = {}


def forward_kinematics(
    rotmats: np.ndarray, joints_rest: np.ndarray, parents: np.ndarray, root_position: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Posed joints and skinning transforms.

    Args:
        rotmats: ``[24, 3, 3]`` joint rotations; ``rotmats[0]`` maps the rest frame to the output frame.
        joints_rest: ``[24, 3]`` rest joints of the shaped body [m].
        parents: ``[24]`` kinematic tree.
        root_position: ``[3]`` where the root joint goes [m].

    Returns:
        ``joints [24, 3]`` posed [m] and ``A [24, 3, 4]`` with ``v_posed = A_j[:, :3] v + A_j[:, 3]``.
    """
    key = parents.tobytes()
    levels = _LEVELS_CACHE.get(key)
    if levels is None:
        levels = _LEVELS_CACHE[key] = _levels(parents)
    n = len(parents)
    rot = np.empty((n, 3, 3))
    pos = np.empty((n, 3))
    rot[0], pos[0] = rotmats[0], root_position
    rel = joints_rest - joints_rest[np.maximum(parents, 0)]
    for js, ps in levels:  # one batched step per tree depth
        rp = rot[ps]
        rot[js] = rp @ rotmats[js]
        pos[js] = (rp @ rel[js][:, :, None])[:, :, 0] + pos[ps]
    a = np.empty((n, 3, 4))
    a[:, :, :3] = rot
    a[:, :, 3] = pos - (rot @ joints_rest[:, :, None])[:, :, 0]
    return pos, a


@dataclass(frozen=True, eq=False)
class Body:
    """A body model with its betas applied: rest mesh, joints, micro-motion weights and numpy LBS.

    Attributes:
        model: the SMPL-format model.
        betas: ``[B]`` shape coefficients.
        v_shaped: ``[V, 3]`` rest vertices (SMPL frame) [m].
        joints_rest: ``[24, 3]`` rest joints [m].
        normals_rest: ``[V, 3]`` rest vertex normals.
        part_ids: ``[V]`` SMPL joint with the largest skinning weight.
        chest_weight, abdomen_weight, heart_weight: ``[V]`` in [0, 1], where breathing and the
            heartbeat move the surface (torso front); 1 at the most displaced vertex.
        probe_ids: vertex subset used to find the lowest point of the posed body (grounding).
        weights_sparse, probe_weights: CSR skinning weights ``[V, 24]`` / ``[len(probe_ids), 24]``
            (sparse products stay fast and single-threaded on a loaded machine).
        height: standing height (top of the head above the soles) [m].
    """

    model: BodyModel
    betas: np.ndarray
    v_shaped: np.ndarray
    joints_rest: np.ndarray
    normals_rest: np.ndarray
    part_ids: np.ndarray
    chest_weight: np.ndarray
    abdomen_weight: np.ndarray
    heart_weight: np.ndarray
    probe_ids: np.ndarray
    weights_sparse: sp.csr_matrix
    probe_weights: sp.csr_matrix
    height: float

    @property
    def faces(self) -> np.ndarray:
        return self.model.faces

    @property
    def weights(self) -> np.ndarray:
        return self.model.weights

    @property
    def parents(self) -> np.ndarray:
        return self.model.parents

    @property
    def num_vertices(self) -> int:
        return self.model.num_vertices

    @property
    def sole_height(self) -> float:
        """Height of the pelvis joint above the lowest vertex in the rest pose [m]."""
        return float(self.joints_rest[0, 1] - self.v_shaped[:, 1].min())

    def bone_length(self, joint: int) -> float:
        """Distance from ``joint`` to its parent in the rest pose [m]."""
        return float(
            np.linalg.norm(self.joints_rest[joint] - self.joints_rest[self.parents[joint]])
        )

    def transforms(
        self, rotmats: np.ndarray, root_position: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """:func:`forward_kinematics` for this body: ``joints [24, 3]``, ``A [24, 3, 4]``."""
        return forward_kinematics(rotmats, self.joints_rest, self.parents, root_position)

    def skin(self, a: np.ndarray, ids: np.ndarray | None = None) -> np.ndarray:
        """Linear blend skinning with transforms ``A [24, 3, 4]`` -> vertices ``[V or len(ids), 3]``."""
        if ids is None:
            w, v = self.weights_sparse, self.v_shaped
        elif ids is self.probe_ids:
            w, v = self.probe_weights, self.v_shaped[ids]
        else:
            w, v = self.weights_sparse[ids], self.v_shaped[ids]
        t = np.asarray(w @ a.reshape(len(a), 12)).reshape(-1, 3, 4)
        return t[:, :, 0] * v[:, :1] + t[:, :, 1] * v[:, 1:2] + t[:, :, 2] * v[:, 2:3] + t[:, :, 3]

    def pose_vertices(
        self, rotmats: np.ndarray, root_position: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Posed ``vertices [V, 3]`` and ``joints [24, 3]`` [m] for ``rotmats [24, 3, 3]``."""
        joints, a = self.transforms(rotmats, root_position)
        return self.skin(a), joints


def _micro_motion_weights(
    v: np.ndarray, n: np.ndarray, weights: np.ndarray, joints: np.ndarray, height: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Chest, abdomen and heart weights ``[V]`` on the torso front (any SMPL-topology body)."""
    torso = weights[:, [0, 3, 6, 9]].sum(1) > 0.6
    front = _ramp(n[:, 2], 0.15, 0.75) * torso
    y = v[:, 1]
    j3, j6, j9, j12 = joints[3, 1], joints[6, 1], joints[9, 1], joints[12, 1]
    lateral = 1 - _ramp(np.abs(v[:, 0]), 0.06 * height, 0.11 * height)
    chest = front * lateral * _ramp(y, j6 - 0.3 * (j9 - j6), j6 + 0.6 * (j9 - j6))
    chest *= 1 - _ramp(y, j9 + 0.4 * (j12 - j9), j12)
    abdomen = (
        front
        * lateral
        * _ramp(y, j3 - 0.8 * (j6 - j3), j3)
        * (1 - _ramp(y, j6, j6 + 0.6 * (j9 - j6)))
    )
    heart_point = np.array([0.025 * height, j6 + 0.55 * (j9 - j6), 0.0])
    d = np.hypot(v[:, 0] - heart_point[0], v[:, 1] - heart_point[1])
    heart = front * np.exp(-0.5 * (d / (0.035 * height)) ** 2)
    return tuple(x / max(float(x.max()), 1e-12) for x in (chest, abdomen, heart))  # type: ignore[return-value]


def make_body(
    model: BodyModel, betas: np.ndarray | None = None, *, height_m: float | None = None
) -> Body:
    """Apply ``betas [B]`` (zeros when None) to ``model``; ``height_m`` rescales to that height."""
    b = np.zeros(model.num_betas) if betas is None else np.asarray(betas, dtype=np.float64)
    if b.shape != (model.num_betas,):
        raise ValueError(f"betas must have shape ({model.num_betas},), got {b.shape}")
    v = model.v_template + model.shapedirs @ b
    if height_m is not None:  # real SMPL files: betas are not calibrated, so scale uniformly
        v = (v - v.min(0) * [0, 1, 0]) * (height_m / np.ptp(v[:, 1]))
    joints = model.J_regressor @ v
    normals = vertex_normals(v, model.faces)
    height = float(np.ptp(v[:, 1]))
    chest, abdomen, heart = _micro_motion_weights(v, normals, model.weights, joints, height)
    feet = np.isin(np.argmax(model.weights, 1), [7, 8, 10, 11])
    sole = feet & (v[:, 1] < v[:, 1].min() + 0.02 * height)
    probes = np.unique(np.concatenate([np.arange(0, len(v), 7), np.flatnonzero(sole)]))
    w_sparse = sp.csr_matrix(model.weights * (model.weights > 1e-6))
    return Body(
        model=model,
        betas=b,
        v_shaped=v,
        joints_rest=joints,
        normals_rest=normals,
        part_ids=np.argmax(model.weights, 1).astype(np.int64),
        chest_weight=chest,
        abdomen_weight=abdomen,
        heart_weight=heart,
        probe_ids=probes,
        weights_sparse=w_sparse,
        probe_weights=w_sparse[probes],
        height=height,
    )


def load_body(model_path: str | Path | None = None, subject: Subject | None = None) -> Body:
    """A shaped body for ``subject`` (default: an average adult).

    Args:
        model_path: None for the built-in procedural body; else an SMPL (``.pkl``/``.npz``), SMPL-H or
            SMPL-X model file (or a folder ``smplx.create`` understands). Real files are loaded with
            ``smplx``; their betas are left at zero and the mesh is scaled to the subject's height.
        subject: who; drives betas (procedural) or height (real files).
    """
    subject = subject or Subject()
    if model_path is None:
        return make_body(procedural_model(), subject.betas())
    path = Path(model_path)
    if not path.exists():
        raise FileNotFoundError(
            f"SMPL/SMPL-X model file {path} does not exist. SMPL's files are licensed: register at "
            "https://smpl.is.tue.mpg.de (or smpl-x.is.tue.mpg.de), download the model and pass its path, "
            "or pass model_path=None to use the built-in procedural body."
        )
    return make_body(_model_from_smplx_file(path), height_m=subject.height_m)


def _model_from_smplx_file(path: Path) -> BodyModel:
    """Read an SMPL/SMPL-H/SMPL-X file with ``smplx`` and fold it onto SMPL's 24 joints."""
    import smplx

    name = path.name.lower()
    model_type = "smplx" if "smplx" in name else "smplh" if "smplh" in name else "smpl"
    m = smplx.create(
        str(path), model_type=model_type, num_betas=10, ext=path.suffix.lstrip(".") or "pkl"
    )
    as_np = lambda t: t.detach().cpu().numpy().astype(np.float64)  # noqa: E731
    weights = as_np(m.lbs_weights)  # [V, J]
    regressor = as_np(m.J_regressor)  # [J, V]
    num = weights.shape[1]
    posedirs = as_np(m.posedirs)  # [P, V*3]
    if num > NUM_JOINTS:  # SMPL-H (52) / SMPL-X (55): fold hand/face joints onto SMPL's 24
        if num == 55:
            left, right, face = range(25, 40), range(40, 55), [22, 23, 24]
        else:
            left, right, face = range(22, 37), range(37, 52), []
        w = weights[:, :NUM_JOINTS].copy()
        w[:, 22] = weights[:, list(left)].sum(1)
        w[:, 23] = weights[:, list(right)].sum(1)
        w[:, 15] += weights[:, face].sum(1) if face else 0.0
        reg = regressor[:NUM_JOINTS].copy()
        reg[22] = regressor[list(left)].mean(0)
        reg[23] = regressor[list(right)].mean(0)
        weights, regressor = w, reg
        posedirs = np.zeros((207, posedirs.shape[1]))
    num_v = weights.shape[0]
    shapedirs = as_np(m.shapedirs)
    return BodyModel(
        v_template=as_np(m.v_template),
        shapedirs=shapedirs,
        posedirs=posedirs.T.reshape(num_v, 3, -1),
        J_regressor=regressor,
        weights=weights,
        faces=np.asarray(m.faces, dtype=np.int64),
        parents=SMPL_PARENTS.copy(),
        vertex_ids={},
        name=path.name,
    )
