"""Whole-pose transforms: heading (yaw about y) extraction and removal, and left/right mirroring.

Poses are axis-angle ``(..., J, 3)`` (J = 22 for PoseBench poses; 24 also accepted), radians, in
the SMPL frame: y up, a zero root faces +z, the body's left is +x. Tensors and ndarrays are both
accepted and returned as given.

Heading. The root rotation R is split as ``R = Ry(yaw) · S`` by the swing–twist decomposition
about the world y axis: with R's quaternion ``(w, x, y, z)`` taken with ``w >= 0``, the twist is
``Ry(yaw)`` with ``yaw = 2·atan2(y, w)`` in ``[-π, π]``, and the remainder ``S = Ry(-yaw)·R`` is a
rotation about a horizontal axis (its quaternion has no y part). This is defined for every root
except a 180° turn about a horizontal axis (w = y = 0, a body upside down, where any yaw fits and
0 is returned), and it does not depend on where the body faces: lying, bent or upright poses get
the same treatment, unlike a yaw read from the projected facing direction, which degenerates when
the body faces straight up or down. Adding a yaw φ to a root (``Ry(φ)·R``) adds φ to the
heading and leaves S unchanged, so ``normalize_heading`` is invariant to the input heading.

Mirroring reflects the body in the x = 0 plane (its sagittal plane at rest): left and right
joints trade places and every rotation R becomes ``M R M`` with ``M = diag(-1, 1, 1)``, which for
axis-angle ``(x, y, z)`` is ``(x, -y, -z)``. The rest skeleton is itself symmetric, so joint
positions mirror as ``x → -x`` with left and right swapped.
"""

from __future__ import annotations

import numpy as np
import torch

from bench.body.joints import MIRROR_PERMUTATION
from bench.body.rotations import (
    accepts_numpy,
    axis_angle_to_quaternion,
    check_shape,
    quaternion_multiply,
    quaternion_to_axis_angle,
)
from bench.errors import InternalError

def _check_poses(poses: torch.Tensor, joint_counts: tuple[int, ...] | None = None) -> None:
    check_shape(poses, (3,), "poses")
    if poses.dim() < 2 or poses.shape[-2] < 1 or (joint_counts and poses.shape[-2] not in joint_counts):
        counts = " or ".join(map(str, joint_counts)) if joint_counts else "J>=1"
        raise InternalError(f"poses must have shape (..., {counts}, 3), got {tuple(poses.shape)}", field="poses")


@accepts_numpy
def heading_angle(poses: torch.Tensor) -> torch.Tensor:
    """Heading (yaw about world +y) of each pose's root, radians in ``[-π, π]``, shape ``(...)``.

    Yaw 0 faces +z; a positive yaw turns the facing direction from +z towards +x (right-handed
    rotation about +y).
    """
    _check_poses(poses)
    q = axis_angle_to_quaternion(poses[..., 0, :])  # w >= 0
    return 2.0 * torch.atan2(q[..., 2], q[..., 0])


@accepts_numpy
def rotate_heading(poses: torch.Tensor, angle: torch.Tensor | np.ndarray | float) -> torch.Tensor:
    """Turn each pose about world +y by ``angle`` (radians; scalar or shape ``(...)``): root ← Ry(angle)·root.

    Only row 0 changes. PoseFix-style pairs keep B's heading relative to A with
    ``rotate_heading(poses_b, -heading_angle(poses_a))``.
    """
    _check_poses(poses)
    half = 0.5 * torch.as_tensor(angle, dtype=poses.dtype, device=poses.device)
    half = half.expand(poses.shape[:-2])
    zero = torch.zeros_like(half)
    turn = torch.stack([torch.cos(half), zero, torch.sin(half), zero], dim=-1)
    root = quaternion_multiply(turn, axis_angle_to_quaternion(poses[..., 0, :]))
    return torch.cat([quaternion_to_axis_angle(root)[..., None, :], poses[..., 1:, :]], dim=-2)


@accepts_numpy
def normalize_heading(poses: torch.Tensor) -> torch.Tensor:
    """Remove each root's yaw about y, keeping pitch and roll (the swing S of ``R = Ry(yaw)·S``).

    ``(..., J, 3)`` → same shape and dtype; rows 1.. are unchanged.
    """
    return rotate_heading(poses, -heading_angle(poses))


@accepts_numpy
def mirror_pose(poses: torch.Tensor) -> torch.Tensor:
    """Mirror in the x = 0 plane: swap left/right rows, negate the y and z axis-angle components.

    ``(..., J, 3)`` with J = 22 (a pose) or 24 → same shape. An involution.
    """
    _check_poses(poses, (22, len(MIRROR_PERMUTATION)))
    perm = torch.tensor(MIRROR_PERMUTATION[: poses.shape[-2]], device=poses.device)
    sign = torch.tensor([1.0, -1.0, -1.0], dtype=poses.dtype, device=poses.device)
    return poses.index_select(-2, perm) * sign
