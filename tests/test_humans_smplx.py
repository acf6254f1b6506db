"""The procedural body is a real SMPL model: smplx (torch, CPU) poses it exactly like our numpy LBS."""

from __future__ import annotations

import numpy as np
import pytest

from sim.humans import Human, Segment, Subject, Timeline, load_body
from sim.humans.body import SMPL_TO_WORLD

torch = pytest.importorskip("torch")
smplx = pytest.importorskip("smplx")


def test_smplx_poses_the_procedural_body_like_numpy_lbs() -> None:
    subject = Subject(1.82, "heavy", "adult", "male")
    timeline = Timeline([Segment("walk", 0.0, 4.0, {"waypoints": [[2.0, 1.0]], "speed": 1.3})])
    person = Human(subject, timeline, seed=5)
    body = person.body
    model = body.model.to_smplx(batch_size=1)
    assert model.v_template.shape[0] == body.num_vertices
    for t in (0.3, 1.7, 2.9):
        pose = person.pose_at(t)
        glob, body_pose, transl = pose.to_smpl(body.joints_rest)
        with torch.no_grad():
            out = model(
                betas=torch.tensor(body.betas[None], dtype=torch.float32),
                global_orient=torch.tensor(glob[None], dtype=torch.float32),
                body_pose=torch.tensor(body_pose[None], dtype=torch.float32),
                transl=torch.tensor(transl[None], dtype=torch.float32),
            )
        verts = (
            out.vertices[0].numpy().astype(np.float64) @ SMPL_TO_WORLD.T
        )  # SMPL y-up -> world z-up
        joints = out.joints[0, :24].numpy().astype(np.float64) @ SMPL_TO_WORLD.T
        ours, our_joints = body.pose_vertices(pose.rotmats, pose.position)
        assert np.abs(verts - ours).max() < 1e-4  # float32 vs float64
        assert np.abs(joints - our_joints).max() < 1e-4
        # smplx's extra joints come from our named vertices (nose, toes, fingertips...).
        assert out.joints.shape[1] == 24 + len(body.model.vertex_ids)


def test_missing_smpl_file_names_the_path_and_the_alternatives(tmp_path) -> None:
    missing = tmp_path / "SMPL_NEUTRAL.pkl"
    with pytest.raises(FileNotFoundError) as err:
        load_body(missing, Subject())
    text = str(err.value)
    assert str(missing) in text and "model_path=None" in text and "licensed" in text
