"""Anatomical degrees of freedom -> SMPL joint rotations, and the rest postures made of them.

A DOF vector ``[NUM_DOFS]`` [rad] holds named anatomical angles (:data:`DOF_NAMES`: spine flexion, hip
flexion and abduction per side, elbow...); :func:`dofs_to_rotmats` maps it onto SMPL's 24 joint
rotations. Builders write angles in degrees through :func:`dofs`, :func:`both` and :func:`legs`.
"""

from __future__ import annotations

import numpy as np

from sim.humans.rotations import euler_xyz_to_matrix

_SIDE_DOFS = (
    "hip_flex",
    "hip_abd",
    "hip_rot",
    "knee",
    "ankle",
    "collar_up",
    "sh_abd",
    "sh_flex",
    "sh_yaw",
    "elbow",
    "wrist",
    "fingers",
)
DOF_NAMES: tuple[str, ...] = (
    "spine_flex",  # forward bend of the whole spine (split over spine1-3)
    "spine_lat",  # bend to the person's left
    "spine_twist",  # shoulders turned to the left
    "neck_flex",
    "head_flex",  # nod down
    "head_yaw",  # look left
    *(f"{n}_l" for n in _SIDE_DOFS),
    *(f"{n}_r" for n in _SIDE_DOFS),
)
D = {name: k for k, name in enumerate(DOF_NAMES)}
NUM_DOFS = len(DOF_NAMES)
#: Degrees -> radians.
DEG = np.pi / 180


def _dof_map() -> tuple[np.ndarray, np.ndarray]:
    """Euler (x, y, z) of each joint = offset ``[24, 3]`` + ``M [72, NUM_DOFS]`` @ dofs."""
    m = np.zeros((24, 3, NUM_DOFS))
    off = np.zeros((24, 3))
    for j in (3, 6, 9):
        m[j, 0, D["spine_flex"]] = 1 / 3
        m[j, 2, D["spine_lat"]] = -1 / 3
        m[j, 1, D["spine_twist"]] = 1 / 3
    m[12, 0, D["neck_flex"]] = 1
    m[15, 0, D["head_flex"]] = 1
    m[12, 1, D["head_yaw"]] = 0.4
    m[15, 1, D["head_yaw"]] = 0.6
    for s, sgn in (("l", 1.0), ("r", -1.0)):
        hip, knee, ankle, collar, sh, elbow, wrist, hand = (
            (1, 4, 7, 13, 16, 18, 20, 22) if s == "l" else (2, 5, 8, 14, 17, 19, 21, 23)
        )
        m[hip, 0, D[f"hip_flex_{s}"]] = -1
        m[hip, 2, D[f"hip_abd_{s}"]] = sgn
        m[hip, 1, D[f"hip_rot_{s}"]] = -sgn  # internal rotation positive
        m[knee, 0, D[f"knee_{s}"]] = 1
        m[ankle, 0, D[f"ankle_{s}"]] = -1  # dorsiflexion positive
        m[collar, 2, D[f"collar_up_{s}"]] = sgn
        m[sh, 0, D[f"sh_flex_{s}"]] = -1
        m[sh, 1, D[f"sh_yaw_{s}"]] = -sgn  # towards the front when abducted
        m[sh, 2, D[f"sh_abd_{s}"]] = sgn
        off[sh, 2] = -sgn * np.pi / 2  # sh_abd = 0: arm hanging
        m[elbow, 1, D[f"elbow_{s}"]] = -sgn
        m[wrist, 2, D[f"wrist_{s}"]] = -sgn
        m[hand, 2, D[f"fingers_{s}"]] = -sgn
    return off, m.reshape(72, NUM_DOFS)


_DOF_OFFSET, _DOF_MATRIX = _dof_map()


def dofs_to_rotmats(dofs: np.ndarray) -> np.ndarray:
    """``dofs [NUM_DOFS]`` [rad] -> joint rotations ``[24, 3, 3]`` (``[0]`` is identity)."""
    e = _DOF_OFFSET + (_DOF_MATRIX @ dofs).reshape(24, 3)
    return euler_xyz_to_matrix(e)


def dofs(**values: float) -> np.ndarray:
    """A DOF vector from keyword values in degrees (``dofs(knee_l=30)``); others zero."""
    out = np.zeros(NUM_DOFS)
    for name, deg in values.items():
        out[D[name]] = deg * DEG
    return out


def both(**values: float) -> dict[str, float]:
    """The same angles [deg] for the left and the right side (``knee=30`` -> ``knee_l``, ``knee_r``)."""
    return {f"{k}_{s}": v for k, v in values.items() for s in ("l", "r")}


STANDING = dofs(**both(sh_abd=8, elbow=12, knee=3, hip_flex=2, ankle=1, wrist=5, fingers=10))
LYING = dofs(**both(sh_abd=10, elbow=10, knee=5, hip_flex=3, ankle=-20, fingers=15))
#: On one side: arms in front of the chest (not under the body), hips and knees bent.
SIDE_LYING = dofs(**both(sh_flex=70, elbow=60, knee=45, hip_flex=35, ankle=-20, fingers=20))


def legs(thigh: float, shank: float, pitch: float) -> dict[str, float]:
    """Hip/knee/ankle [deg] (both legs) for world segment angles [deg], feet flat.

    ``thigh``: knee forward of the hip (0 = vertical); ``shank``: ankle forward of the knee;
    ``pitch``: forward tilt of the pelvis.
    """
    return both(hip_flex=thigh + pitch, knee=thigh - shank, ankle=-shank)
