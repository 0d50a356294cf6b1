"""Rotations, the SMPL joint tree, forward kinematics, pose transforms and body-model backends.

The public API is listed in ``docs/architecture.md`` §2; everything is re-exported here.
"""

from bench.body.joints import JOINT_NAMES, JOINT_SETS, MIRROR_PERMUTATION, NUM_POSE_JOINTS, SMPL_PARENTS, joint_indices
from bench.body.kinematics import forward_kinematics
from bench.body.model import BODY_MODELS, BodyModel, load_body_model
from bench.body.pose_transforms import heading_angle, mirror_pose, normalize_heading, rotate_heading
from bench.body.rotations import (
    axis_angle_to_matrix,
    axis_angle_to_quaternion,
    matrix_to_axis_angle,
    matrix_to_quaternion,
    matrix_to_rot6d,
    quaternion_multiply,
    quaternion_to_axis_angle,
    quaternion_to_matrix,
    rot6d_to_matrix,
)

__all__ = [
    "BODY_MODELS",
    "JOINT_NAMES",
    "JOINT_SETS",
    "MIRROR_PERMUTATION",
    "NUM_POSE_JOINTS",
    "SMPL_PARENTS",
    "BodyModel",
    "axis_angle_to_matrix",
    "axis_angle_to_quaternion",
    "forward_kinematics",
    "heading_angle",
    "joint_indices",
    "load_body_model",
    "matrix_to_axis_angle",
    "matrix_to_quaternion",
    "matrix_to_rot6d",
    "mirror_pose",
    "normalize_heading",
    "quaternion_multiply",
    "quaternion_to_axis_angle",
    "quaternion_to_matrix",
    "rot6d_to_matrix",
    "rotate_heading",
]
