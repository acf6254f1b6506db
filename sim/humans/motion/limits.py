"""Physiological joint limits of the anatomical DOFs, one check shared by every activity family.

:data:`JOINT_LIMITS_DEG` holds (min, max) [deg] per DOF name (sides share one range): active ranges
of motion of healthy adults (AAOS / clinical goniometry norms, widened a few degrees where loaded
movements such as a deep squat or a jump's take-off reach beyond the active range). Signs follow
:data:`sim.humans.motion.dofs.DOF_NAMES`: flexion, abduction, dorsiflexion, internal rotation and
bends/turns to the left are positive; ``sh_abd = 0`` is the arm hanging, ``sh_yaw`` swings an abducted
arm towards the front (90: pointing forward), ``elbow``/``knee`` are flexion from straight.
"""

from __future__ import annotations

import numpy as np

from sim.humans.motion.dofs import DEG, DOF_NAMES

#: (min, max) [deg] per DOF; a side's DOF (``knee_l``) uses its base name's (``knee``) range.
JOINT_LIMITS_DEG: dict[str, tuple[float, float]] = {
    "spine_flex": (-30.0, 90.0),  # extension 30, flexion 90 (thoracolumbar)
    "spine_lat": (-40.0, 40.0),
    "spine_twist": (-45.0, 45.0),
    "neck_flex": (-50.0, 60.0),
    "head_flex": (-45.0, 45.0),
    "head_yaw": (-80.0, 80.0),
    "hip_flex": (-30.0, 140.0),  # extension 30, flexion 125 active, ~140 in a deep crouch
    "hip_abd": (-30.0, 50.0),  # adduction 30, abduction 45-50
    "hip_rot": (-45.0, 45.0),
    "knee": (-5.0, 150.0),  # a few degrees of hyperextension
    "ankle": (-55.0, 40.0),  # plantarflexion 50, dorsiflexion 20 active / ~40 loaded
    "collar_up": (-10.0, 30.0),
    "sh_abd": (-10.0, 190.0),  # 180 glenohumeral+scapular; jumping jacks overshoot to 186
    "sh_flex": (-60.0, 180.0),  # extension 60, flexion 180
    "sh_yaw": (-30.0, 145.0),  # horizontal abduction 30 .. horizontal adduction 145 from lateral
    "elbow": (-10.0, 150.0),  # hyperextension up to 10
    "wrist": (-80.0, 80.0),
    "fingers": (-10.0, 90.0),
}


def _limit_arrays() -> tuple[np.ndarray, np.ndarray]:
    lo, hi = np.empty(len(DOF_NAMES)), np.empty(len(DOF_NAMES))
    for k, name in enumerate(DOF_NAMES):
        base = name[:-2] if name.endswith(("_l", "_r")) else name
        lo[k], hi[k] = JOINT_LIMITS_DEG[base]
    return lo * DEG, hi * DEG


_LO, _HI = _limit_arrays()


def limit_violations(dofs: np.ndarray, tol_deg: float = 0.5) -> list[str]:
    """The DOFs of ``dofs [NUM_DOFS]`` [rad] outside :data:`JOINT_LIMITS_DEG` by more than
    ``tol_deg`` [deg], as ``"knee_l = 163.0 deg outside [-5, 150]"``; empty when the pose is plausible."""
    d = np.asarray(dofs, dtype=np.float64)
    tol = tol_deg * DEG
    bad = np.flatnonzero((d < _LO - tol) | (d > _HI + tol))
    return [
        f"{DOF_NAMES[k]} = {d[k] / DEG:.1f} deg outside [{_LO[k] / DEG:g}, {_HI[k] / DEG:g}]"
        for k in bad
    ]
