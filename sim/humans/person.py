"""A simulated person: body + motion timeline + vital signs -> world meshes with velocities, joints, truth."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sim.geometry import Mesh
from sim.humans.body import Body, Subject, load_body
from sim.humans.motion import Motion, Pose, Timeline
from sim.humans.vitals import VitalSigns, sample_vitals

_DT = 1e-3  # central-difference half step for velocities [s]


class Human:
    """One person performing a :class:`Timeline` while breathing and with a beating heart.

    Args:
        subject: who (height, build, age group, sex): shapes the body.
        timeline: what they do and when.
        breathing_per_min: mean breathing rate [1/min] (6-30); None samples one for the age group.
        heart_per_min: mean heart rate [1/min] (45-120); None samples one.
        name: the mesh name (unique within a scene).
        seed: makes everything random about this person reproducible (motion variation, vitals).
        model_path: an SMPL/SMPL-X file to use instead of the procedural body.
        breathing_amplitude_m: chest peak-to-peak breathing displacement [m]; None samples 3-8 mm.
        heart_amplitude_m: chest-front peak-to-peak heartbeat displacement [m]; None samples 0.1-0.5 mm.
        vital_variability: relative depth of the slow rate wander (default 0.05; 0: constant rates).
    """

    def __init__(
        self,
        subject: Subject,
        timeline: Timeline,
        *,
        breathing_per_min: float | None = None,
        heart_per_min: float | None = None,
        name: str = "person_0",
        seed: int = 0,
        model_path: str | Path | None = None,
        breathing_amplitude_m: float | None = None,
        heart_amplitude_m: float | None = None,
        vital_variability: float | None = None,
    ) -> None:
        self.subject, self.timeline, self.name, self.seed = subject, timeline, name, seed
        self.body: Body = load_body(model_path, subject)
        vit = sample_vitals(np.random.default_rng([seed, 1]), subject.age_group)
        for key, value in (
            ("breathing_per_min", breathing_per_min),
            ("heart_per_min", heart_per_min),
            ("breathing_amplitude_m", breathing_amplitude_m),
            ("heart_amplitude_m", heart_amplitude_m),
            ("variability", vital_variability),
        ):
            if value is not None:
                vit[key] = float(value)
        self.vitals = VitalSigns(**vit, seed=seed)
        self.motion = Motion(self.body, timeline, np.random.default_rng([seed, 2]))
        b = self.body
        self._vit_ids = np.flatnonzero((b.chest_weight + b.abdomen_weight + b.heart_weight) > 1e-4)
        self._vit_w = np.stack(
            [
                b.chest_weight[self._vit_ids],
                b.abdomen_weight[self._vit_ids],
                b.heart_weight[self._vit_ids],
            ],
            1,
        )  # [N, 3]
        self._vit_n = b.normals_rest[self._vit_ids]  # [N, 3]

    # --- poses ---------------------------------------------------------------------------------
    def pose_at(self, t: float) -> Pose:
        """SMPL pose at ``t`` [s] (world pelvis position, root orientation, joint rotations)."""
        return self.motion.pose_at(t)

    def joints_at(self, t: float) -> np.ndarray:
        """``[24, 3]`` world joint positions [m], SMPL order."""
        return self._fk(self.pose_at(t))[0]

    def _fk(self, pose: Pose) -> tuple[np.ndarray, np.ndarray]:
        """``(joints [24, 3], A [24, 3, 4])`` of a pose, from its cache when it has one."""
        return (
            pose.cache
            if pose.cache is not None
            else self.body.transforms(pose.rotmats, pose.position)
        )

    def _vital_offsets(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Per-vertex scalar displacement [m] and its rate [m/s] for the torso-front vertices."""
        d0 = np.array(self.vitals.displacements(t))
        d_rate = (
            np.array(self.vitals.displacements(t + _DT))
            - np.array(self.vitals.displacements(t - _DT))
        ) / (2 * _DT)
        return self._vit_w @ d0, self._vit_w @ d_rate

    def mesh_at(self, t: float) -> Mesh:
        """The body at ``t`` [s]: world vertices [m], velocities [m/s] (central difference over 2 ms of
        the skinning transforms plus the analytic vital-sign rate), part ids (SMPL joints)."""
        body = self.body
        p0, pm, pp = self.pose_at(t), self.pose_at(t - _DT), self.pose_at(t + _DT)
        a0, am, ap = (self._fk(p)[1] for p in (p0, pm, pp))
        da = (ap - am) / (2 * _DT)
        both = body.weights_sparse @ np.concatenate(
            [a0.reshape(24, 12), da.reshape(24, 12)], 1
        )  # [V, 24]
        t0 = both[:, :12].reshape(-1, 3, 4)
        t1 = both[:, 12:].reshape(-1, 3, 4)
        v = body.v_shaped
        verts = (
            t0[:, :, 0] * v[:, :1] + t0[:, :, 1] * v[:, 1:2] + t0[:, :, 2] * v[:, 2:3] + t0[:, :, 3]
        )
        vel = (
            t1[:, :, 0] * v[:, :1] + t1[:, :, 1] * v[:, 1:2] + t1[:, :, 2] * v[:, 2:3] + t1[:, :, 3]
        )
        ids = self._vit_ids
        rot = t0[ids, :, :3]
        n = np.einsum("nij,nj->ni", rot, self._vit_n)
        n /= np.linalg.norm(n, axis=1, keepdims=True)
        disp, rate = self._vital_offsets(t)
        verts[ids] += disp[:, None] * n
        vel[ids] += rate[:, None] * n
        return Mesh(
            name=self.name,
            label="person",
            vertices=verts,
            faces=body.faces,
            material="skin",
            velocities=vel,
            part_ids=body.part_ids,
        )

    # --- ground truth --------------------------------------------------------------------------
    def ground_truth(self, t: float) -> dict[str, Any]:
        """What happens at ``t`` [s]: activity, pelvis position [m] and velocity [m/s], heading [rad],
        horizontal speed [m/s], pelvis/head heights [m], breathing and heart rates [1/min]."""
        pose = self.pose_at(t)
        joints, _ = self._fk(pose)
        h = 0.05
        vel = (self.pose_at(t + h).position - self.pose_at(t - h).position) / (2 * h)
        seg = self.timeline.index_at(t)
        return {
            "activity": self.timeline.segments[seg].activity,
            "segment": seg,
            "position": pose.position.copy(),
            "velocity": vel,
            "heading": float(pose.heading),
            "speed": float(np.hypot(vel[0], vel[1])),
            "pelvis_height": float(joints[0, 2]),
            "head_height": float(joints[15, 2]),
            "breathing_per_min": float(self.vitals.breathing_rate(t)),
            "heart_per_min": float(self.vitals.heart_rate(t)),
        }

    def ground_truth_series(self, times: Sequence[float] | np.ndarray) -> dict[str, np.ndarray]:
        """:meth:`ground_truth` at each time, stacked: arrays ``[T]`` or ``[T, 3]``; activity as str."""
        rows = [self.ground_truth(float(t)) for t in times]
        return {key: np.array([r[key] for r in rows]) for key in rows[0]}

    def describe(self) -> dict[str, Any]:
        """Static facts for captions/ground truth: subject, body height, mean vital rates, segments."""
        return {
            "name": self.name,
            "subject": vars(self.subject).copy(),
            "body_height_m": self.body.height,
            "betas": self.body.betas.tolist(),
            "breathing_per_min": self.vitals.breathing_per_min,
            "heart_per_min": self.vitals.heart_per_min,
            "segments": [
                {
                    "activity": s.activity,
                    "start_s": s.start_s,
                    "end_s": s.end_s,
                    "params": _jsonable(p),
                }
                for s, p in zip(self.timeline.segments, self.motion.params, strict=True)
            ],
        }


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (np.asarray(v).tolist() if isinstance(v, np.ndarray | list | tuple) else v)
        for k, v in params.items()
    }
