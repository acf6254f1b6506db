"""People for the simulator: SMPL-format bodies, a text-driven motion library, breathing and heartbeat.

``Human(subject, timeline, ...)`` is what scenes hold; ``mesh_at(t)`` gives the radar backends a world
mesh with per-vertex velocities and SMPL part ids. Numpy only at import time: ``smplx``/``torch`` are
imported lazily (``BodyModel.to_smplx``, real SMPL files in ``load_body``).
"""

from sim.humans.body import (
    JOINT_NAMES,
    SMPL_PARENTS,
    Body,
    BodyModel,
    Subject,
    load_body,
    procedural_model,
    sample_subject,
)
from sim.humans.motion import (
    ACTIVITIES,
    Motion,
    Pose,
    Segment,
    Timeline,
    parse_activity,
    sample_params,
)
from sim.humans.person import Human
from sim.humans.vitals import VitalSigns, sample_vitals

__all__ = [
    "ACTIVITIES",
    "JOINT_NAMES",
    "SMPL_PARENTS",
    "Body",
    "BodyModel",
    "Human",
    "Motion",
    "Pose",
    "Segment",
    "Subject",
    "Timeline",
    "VitalSigns",
    "load_body",
    "parse_activity",
    "procedural_model",
    "sample_params",
    "sample_subject",
    "sample_vitals",
]
