"""Small vectorised rotation helpers (numpy only): axis-angle, matrices, quaternions, slerp.

Conventions: axis-angle vectors ``[..., 3]`` (direction = axis, norm = angle [rad]); rotation matrices
``[..., 3, 3]`` act on column vectors; quaternions ``[..., 4]`` are ``(w, x, y, z)``.
"""

from __future__ import annotations

import numpy as np


def axis_angle_to_matrix(aa: np.ndarray) -> np.ndarray:
    """Rodrigues' formula. ``aa [..., 3]`` [rad] -> ``[..., 3, 3]``."""
    aa = np.asarray(aa, dtype=np.float64)
    angle = np.linalg.norm(aa, axis=-1, keepdims=True)  # [..., 1]
    axis = aa / np.maximum(angle, 1e-12)
    x, y, z = axis[..., 0], axis[..., 1], axis[..., 2]
    c, s = np.cos(angle[..., 0]), np.sin(angle[..., 0])
    t = 1.0 - c
    out = np.empty((*aa.shape[:-1], 3, 3))
    out[..., 0, 0] = c + x * x * t
    out[..., 0, 1] = x * y * t - z * s
    out[..., 0, 2] = x * z * t + y * s
    out[..., 1, 0] = y * x * t + z * s
    out[..., 1, 1] = c + y * y * t
    out[..., 1, 2] = y * z * t - x * s
    out[..., 2, 0] = z * x * t - y * s
    out[..., 2, 1] = z * y * t + x * s
    out[..., 2, 2] = c + z * z * t
    return out


def matrix_to_quaternion(m: np.ndarray) -> np.ndarray:
    """``[..., 3, 3]`` -> unit quaternions ``[..., 4]`` (w >= 0), numerically safe for all angles."""
    m = np.asarray(m, dtype=np.float64)
    tr = m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2]
    cand = np.stack(
        [
            np.stack(
                [
                    1 + tr,
                    m[..., 2, 1] - m[..., 1, 2],
                    m[..., 0, 2] - m[..., 2, 0],
                    m[..., 1, 0] - m[..., 0, 1],
                ],
                -1,
            ),
            np.stack(
                [
                    m[..., 2, 1] - m[..., 1, 2],
                    1 + 2 * m[..., 0, 0] - tr,
                    m[..., 0, 1] + m[..., 1, 0],
                    m[..., 0, 2] + m[..., 2, 0],
                ],
                -1,
            ),
            np.stack(
                [
                    m[..., 0, 2] - m[..., 2, 0],
                    m[..., 0, 1] + m[..., 1, 0],
                    1 + 2 * m[..., 1, 1] - tr,
                    m[..., 1, 2] + m[..., 2, 1],
                ],
                -1,
            ),
            np.stack(
                [
                    m[..., 1, 0] - m[..., 0, 1],
                    m[..., 0, 2] + m[..., 2, 0],
                    m[..., 1, 2] + m[..., 2, 1],
                    1 + 2 * m[..., 2, 2] - tr,
                ],
                -1,
            ),
        ],
        axis=-2,
    )  # [..., 4 candidates, 4]
    diag = np.stack([tr, m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]], -1)
    best = np.argmax(diag, axis=-1)
    q = np.take_along_axis(cand, best[..., None, None], axis=-2)[..., 0, :]
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    return q * np.where(q[..., :1] < 0, -1.0, 1.0)


def quaternion_to_matrix(q: np.ndarray) -> np.ndarray:
    """Unit quaternions ``[..., 4]`` (w, x, y, z) -> ``[..., 3, 3]``."""
    q = np.asarray(q, dtype=np.float64)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    out = np.empty((*q.shape[:-1], 3, 3))
    out[..., 0, 0] = 1 - 2 * (y * y + z * z)
    out[..., 0, 1] = 2 * (x * y - z * w)
    out[..., 0, 2] = 2 * (x * z + y * w)
    out[..., 1, 0] = 2 * (x * y + z * w)
    out[..., 1, 1] = 1 - 2 * (x * x + z * z)
    out[..., 1, 2] = 2 * (y * z - x * w)
    out[..., 2, 0] = 2 * (x * z - y * w)
    out[..., 2, 1] = 2 * (y * z + x * w)
    out[..., 2, 2] = 1 - 2 * (x * x + y * y)
    return out


def matrix_to_axis_angle(m: np.ndarray) -> np.ndarray:
    """``[..., 3, 3]`` -> axis-angle ``[..., 3]`` with angle in [0, pi] [rad]."""
    q = matrix_to_quaternion(m)
    vec = q[..., 1:]
    s = np.linalg.norm(vec, axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(s, q[..., :1])
    return vec / np.maximum(s, 1e-12) * angle


def slerp_matrices(a: np.ndarray, b: np.ndarray, alpha: float) -> np.ndarray:
    """Spherical interpolation between rotations ``a`` and ``b`` (``[..., 3, 3]``), ``alpha`` in [0, 1]."""
    qa, qb = matrix_to_quaternion(a), matrix_to_quaternion(b)
    dot = np.sum(qa * qb, axis=-1, keepdims=True)
    qb = np.where(dot < 0, -qb, qb)
    dot = np.abs(dot)
    theta = np.arccos(np.clip(dot, -1.0, 1.0))
    sin_t = np.sin(theta)
    small = sin_t < 1e-6
    wa = np.where(small, 1.0 - alpha, np.sin((1.0 - alpha) * theta) / np.where(small, 1.0, sin_t))
    wb = np.where(small, alpha, np.sin(alpha * theta) / np.where(small, 1.0, sin_t))
    return quaternion_to_matrix(wa * qa + wb * qb)


def rot_x(angle: np.ndarray | float) -> np.ndarray:
    """Rotation about x by ``angle`` [rad] -> ``[..., 3, 3]``."""
    a = np.asarray(angle, dtype=np.float64)
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack(
        [np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2
    )


def rot_y(angle: np.ndarray | float) -> np.ndarray:
    """Rotation about y by ``angle`` [rad] -> ``[..., 3, 3]``."""
    a = np.asarray(angle, dtype=np.float64)
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack(
        [np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2
    )


def rot_z(angle: np.ndarray | float) -> np.ndarray:
    """Rotation about z by ``angle`` [rad] -> ``[..., 3, 3]``."""
    a = np.asarray(angle, dtype=np.float64)
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack(
        [np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2
    )


def euler_xyz_to_matrix(e: np.ndarray) -> np.ndarray:
    """``R = Rx(e0) @ Ry(e1) @ Rz(e2)`` for ``e [..., 3]`` [rad] -> ``[..., 3, 3]`` (z applied first)."""
    e = np.asarray(e, dtype=np.float64)
    cx, sx = np.cos(e[..., 0]), np.sin(e[..., 0])
    cy, sy = np.cos(e[..., 1]), np.sin(e[..., 1])
    cz, sz = np.cos(e[..., 2]), np.sin(e[..., 2])
    out = np.empty((*e.shape[:-1], 3, 3))
    out[..., 0, 0] = cy * cz
    out[..., 0, 1] = -cy * sz
    out[..., 0, 2] = sy
    out[..., 1, 0] = cx * sz + sx * sy * cz
    out[..., 1, 1] = cx * cz - sx * sy * sz
    out[..., 1, 2] = -sx * cy
    out[..., 2, 0] = sx * sz - cx * sy * cz
    out[..., 2, 1] = sx * cz + cx * sy * sz
    out[..., 2, 2] = cx * cy
    return out
