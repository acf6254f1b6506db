"""Procedural SMPL-format body: kinematic tree, closed surfaces, shape space, micro-motion regions."""

from __future__ import annotations

import numpy as np
import pytest

from sim.humans import (
    JOINT_NAMES,
    SMPL_PARENTS,
    Subject,
    load_body,
    procedural_model,
    sample_subject,
)
from sim.humans.body import BETA_NAMES, make_body

# SMPL's published kinematic tree (kintree_table[0] of every SMPL model file).
SMPL_KINTREE = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21]


def test_kinematic_tree_and_arrays_are_smpls() -> None:
    model = procedural_model()
    assert list(SMPL_PARENTS) == SMPL_KINTREE and list(model.parents) == SMPL_KINTREE
    assert len(JOINT_NAMES) == 24 and JOINT_NAMES[15] == "head" and JOINT_NAMES[23] == "right_hand"
    v = model.num_vertices
    assert 2000 <= v <= 5000
    assert model.shapedirs.shape == (v, 3, 10) and model.posedirs.shape == (v, 3, 207)
    assert not model.posedirs.any()
    assert np.allclose(model.weights.sum(1), 1.0) and (model.weights >= 0).all()
    assert np.allclose(model.J_regressor.sum(1), 1.0)
    struct = model.smpl_struct()
    assert struct.kintree_table.shape == (2, 24) and struct.f.dtype == np.int64
    assert BETA_NAMES[:2] == ("height", "girth")


def test_every_segment_surface_is_closed_and_outward() -> None:
    model = procedural_model()
    faces = model.faces
    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    assert (counts == 2).all()  # watertight components: every edge has exactly two faces
    body = make_body(model)
    tri = body.v_shaped[faces]
    volume = np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum() / 6
    assert 0.05 < volume < 0.15  # m^3, outward normals (overlapping segments count twice)


def test_bones_scale_with_height_and_build_changes_girth() -> None:
    short = load_body(None, Subject(1.50, "average", "adult", "female"))
    tall = load_body(None, Subject(1.90, "average", "adult", "female"))
    assert short.height == pytest.approx(1.50, rel=0.02) and tall.height == pytest.approx(
        1.90, rel=0.02
    )
    for joint in (4, 7, 18, 20, 3, 9):  # thigh, shank, upper arm, forearm, spine
        assert tall.bone_length(joint) / short.bone_length(joint) == pytest.approx(
            1.90 / 1.50, rel=0.03
        )
    slim = load_body(None, Subject(1.75, "slim"))
    heavy = load_body(None, Subject(1.75, "heavy"))

    def waist_width(body) -> float:
        band = np.abs(body.v_shaped[:, 1] - body.joints_rest[3, 1]) < 0.02
        return float(np.ptp(body.v_shaped[band & (body.part_ids <= 9), 0]))

    assert waist_width(heavy) > 1.2 * waist_width(slim)
    child = load_body(None, Subject(1.10, "average", "child", "male"))
    head = lambda b: b.height - b.joints_rest[12, 1]  # noqa: E731
    assert head(child) / child.height > 1.2 * head(tall) / tall.height  # children: bigger heads


def test_subjects_sample_deterministically_and_validate() -> None:
    a = [sample_subject(np.random.default_rng(3)) for _ in range(2)]
    assert a[0] == a[1]
    many = [sample_subject(np.random.default_rng(k)) for k in range(60)]
    assert {s.age_group for s in many} == {"child", "adult", "elderly"}
    assert all(0.9 <= s.height_m <= 2.1 for s in many)
    with pytest.raises(ValueError, match="build"):
        Subject(1.7, "muscular")
    with pytest.raises(ValueError, match="height"):
        Subject(3.0)


def test_micro_motion_regions_are_on_the_torso_front() -> None:
    body = load_body(None, Subject(1.70))
    for weights in (body.chest_weight, body.abdomen_weight, body.heart_weight):
        top = int(np.argmax(weights))
        assert body.normals_rest[top, 2] > 0.5  # faces forward (SMPL z)
        assert body.part_ids[top] in (0, 3, 6, 9)
    heart = int(np.argmax(body.heart_weight))
    chest, abdomen = int(np.argmax(body.chest_weight)), int(np.argmax(body.abdomen_weight))
    assert body.v_shaped[heart, 0] > 0  # the person's left
    assert body.v_shaped[chest, 1] > body.v_shaped[abdomen, 1]
    assert set(np.unique(body.part_ids)) == set(range(24))
