"""Text-driven parametric motion library (no mocap files): activities, timelines and SMPL poses.

A pose is SMPL's parameter set in the world frame (x east, y north, z up): the pelvis position [m], the
root orientation (axis-angle, from SMPL's rest frame to the world) and 23 joint rotations (axis-angle,
relative to the parent, SMPL order). Activities are generated from anatomical degrees of freedom
(:data:`~sim.humans.motion.dofs.DOF_NAMES`, radians) plus a root attitude, heading and a support
(floor, seat, bed); the pelvis height follows from the body's lowest point touching its support, so
feet stay on the floor and a seated person's buttocks rest on the seat.

Headings are world angles [rad], counter-clockwise from east (+x), of the direction the person faces.

Modules: ``vocabulary`` (every activity, text matching, parameters), ``activity`` (what a family
provides: ``ActivitySpec`` and the builders' shared tools), one module per family (``locomotion``,
``postures``, ``falls``, ``exercise``, ``hands``, ``limbs``, ``household``), ``timeline`` (``Segment``, ``Timeline``),
``performer`` (``Motion``: a timeline performed by a body), ``poses`` (``Pose``, grounding, blends) and
``dofs`` (anatomical degrees of freedom -> SMPL rotations). A new activity family is one module with a
``SPECS`` tuple, listed in ``vocabulary.FAMILIES``.
"""

from sim.humans.motion.activity import ActivitySpec
from sim.humans.motion.dofs import DOF_NAMES, dofs, dofs_to_rotmats
from sim.humans.motion.performer import Motion
from sim.humans.motion.poses import Pose, blend_poses
from sim.humans.motion.timeline import Segment, Timeline
from sim.humans.motion.vocabulary import (
    ACTIVITIES,
    ENDS_IN,
    REQUIRES,
    VOCABULARY,
    parse_activity,
    sample_params,
)

__all__ = [
    "ACTIVITIES",
    "DOF_NAMES",
    "ENDS_IN",
    "REQUIRES",
    "VOCABULARY",
    "ActivitySpec",
    "Motion",
    "Pose",
    "Segment",
    "Timeline",
    "blend_poses",
    "dofs",
    "dofs_to_rotmats",
    "parse_activity",
    "sample_params",
]
