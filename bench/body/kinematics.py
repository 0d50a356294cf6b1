"""Forward kinematics on a joint tree: axis-angle pose → joint positions.

Dimensions: ``N`` poses (any leading shape ``...``), ``P`` rotated joints in a pose (22 for
PoseBench poses), ``J`` joints in the tree (24 for SMPL, 52 for SMPL-H), ``P <= J``; joints
``P..J-1`` get the identity local rotation.

The rest pose gives each joint's position with all rotations at identity. A joint's world position
is its parent's plus the parent's world rotation applied to the rest offset between them; the root
stays at its rest position (rotations turn the body about the root joint, as in SMPL).

Implementation: poses are processed in chunks of exactly ``CHUNK`` (the last one zero-padded), with
rotations held component-major, ``(3, 3, J, CHUNK)``, so every operation runs on contiguous rows.
Every pose goes through identically shaped computations, so its joints are bitwise identical
whatever the batch size, and memory stays bounded for any batch. World rotations are composed one
tree level at a time (7 levels with children for SMPL), then positions (each joint's parent's plus its
rotated rest offset). Every sum is written out in a fixed order (no matrix product, no reduction),
so the joints are the same on every CPU, whatever BLAS or SIMD kernels it has.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch

from bench.body.anthropometry import skeleton_rest_joints
from bench.body.joints import SMPL_PARENTS
from bench.body.rotations import accepts_numpy, check_shape, rodrigues_rows
from bench.errors import InternalError


CHUNK = 256
"""Poses per internal chunk: large enough that per-operation overhead is amortised, small enough
that a padded single pose stays cheap (about 1 ms)."""


@dataclass(frozen=True)
class _TreePlan:
    """Index tensors (CPU) describing a joint tree, built once per tree."""

    levels: tuple[tuple[torch.Tensor, torch.Tensor], ...]
    """Per depth ≥ 1 with any: (joints at that depth that have children, their parents)."""
    child_parents: torch.Tensor
    """(J-1,) long, the parent of each joint 1..J-1."""
    depths: tuple[tuple[torch.Tensor, torch.Tensor], ...]
    """Per depth ≥ 1: (all joints at that depth, their parents)."""

    def on(self, device: torch.device) -> _TreePlan:
        return _TreePlan(
            tuple((inner.to(device), parents.to(device)) for inner, parents in self.levels),
            self.child_parents.to(device),
            tuple((joints.to(device), parents.to(device)) for joints, parents in self.depths),
        )


@functools.lru_cache(maxsize=8)
def _tree_plan(parents: tuple[int, ...]) -> _TreePlan:
    """The plan for a parent list; checks that it is a tree rooted at 0 with parents first."""
    depth: list[int] = []
    for j, parent in enumerate(parents):
        if (parent < 0) != (j == 0) or parent >= j:
            raise InternalError(
                f"joint tree must have root 0 and parents before children; joint {j} has parent {parent}"
            )
        depth.append(0 if parent < 0 else depth[parent] + 1)
    has_children = {p for p in parents if p >= 0}
    levels, depths = [], []
    for d in range(1, max(depth) + 1):
        at_depth = [j for j in range(len(parents)) if depth[j] == d]
        depths.append((torch.tensor(at_depth), torch.tensor([parents[j] for j in at_depth])))
        inner = [j for j in at_depth if j in has_children]
        if inner:
            levels.append((torch.tensor(inner), torch.tensor([parents[j] for j in inner])))
    return _TreePlan(tuple(levels), torch.tensor(parents[1:], dtype=torch.long), tuple(depths))


@functools.lru_cache(maxsize=1)
def _default_rest() -> torch.Tensor:
    return torch.from_numpy(skeleton_rest_joints())


@accepts_numpy
def forward_kinematics(
    poses: torch.Tensor,
    rest_joints: torch.Tensor | np.ndarray | None = None,
    parents: tuple[int, ...] = SMPL_PARENTS,
) -> torch.Tensor:
    """Joint positions of posed bodies.

    Args:
        poses: ``(..., P, 3)`` axis-angle, radians; row 0 the global orientation, row j the local
            rotation of joint j relative to its parent. Tensor or ndarray (same type out).
        rest_joints: ``(J, 3)`` rest-pose joint positions, metres (default: the built-in
            skeleton's, 1.70 m, pelvis at the origin; see ``bench.body.anthropometry``).
        parents: ``J`` parent indices, root first with -1, parents before children.

    Returns:
        ``(..., J, 3)`` joint positions, metres, same frame as ``rest_joints``, dtype of ``poses``.
    """
    check_shape(poses, (3,), "poses")
    rest = torch.as_tensor(_default_rest() if rest_joints is None else rest_joints)
    rest = rest.to(dtype=poses.dtype, device=poses.device)
    num_joints = len(parents)
    if poses.dim() < 2 or not 1 <= poses.shape[-2] <= num_joints or rest.shape != (num_joints, 3) or num_joints < 2:
        raise InternalError(
            f"forward_kinematics needs poses (..., P<={num_joints}, 3) and rest_joints ({num_joints}>=2, 3); "
            f"got {tuple(poses.shape)} and {tuple(rest.shape)}",
            field="poses",
        )
    lead, num_rotated = poses.shape[:-2], poses.shape[-2]
    flat = poses.reshape(-1, num_rotated, 3)
    num_poses = flat.shape[0]
    if num_poses == 0:
        return poses.new_zeros(lead + (num_joints, 3))
    plan = _tree_plan(tuple(parents)).on(poses.device)
    offsets = (rest[1:] - rest.index_select(0, plan.child_parents)).T  # (3, J-1)
    padding = -num_poses % CHUNK
    if padding:
        flat = torch.cat([flat, flat.new_zeros((padding, num_rotated, 3))])
    rotated = torch.cat([_chunk_offsets(chunk, offsets, plan) for chunk in flat.split(CHUNK)], dim=-1)
    return _positions(rotated[..., :num_poses], rest[0], plan).reshape(lead + (num_joints, 3))


def _chunk_offsets(poses: torch.Tensor, offsets: torch.Tensor, plan: _TreePlan) -> torch.Tensor:
    """``(CHUNK, P, 3)`` axis-angle → ``(3, J-1, CHUNK)``: each joint's rest offset from its parent
    (``offsets``, (3, J-1)) turned by the parent's world rotation."""
    num_joints, num_rotated = len(plan.child_parents) + 1, poses.shape[1]
    local = rodrigues_rows(poses.permute(2, 1, 0).contiguous()).view(3, 3, num_rotated, CHUNK)
    if num_rotated < num_joints:
        eye = torch.eye(3, dtype=poses.dtype, device=poses.device)[:, :, None, None]
        local = torch.cat([local, eye.expand(3, 3, num_joints - num_rotated, CHUNK)], dim=2)

    world = local.new_empty((3, 3, num_joints, CHUNK))  # filled for joints with children only
    world[:, :, 0] = local[:, :, 0]
    for inner, inner_parents in plan.levels:
        parent_rot = world.index_select(2, inner_parents)  # (3, 3, k, CHUNK)
        own_rot = local.index_select(2, inner)  # (3, 3, k, CHUNK): [i, l] = sum_m parent[i, m] own[m, l]
        world.index_copy_(2, inner, parent_rot[:, 0, None] * own_rot[0] + parent_rot[:, 1, None] * own_rot[1]
                          + parent_rot[:, 2, None] * own_rot[2])
    parent_world = world.index_select(2, plan.child_parents)  # (3, 3, J-1, CHUNK)
    return (parent_world[:, 0] * offsets[0, :, None] + parent_world[:, 1] * offsets[1, :, None]
            + parent_world[:, 2] * offsets[2, :, None])


def _positions(rotated: torch.Tensor, root: torch.Tensor, plan: _TreePlan) -> torch.Tensor:
    """``(3, J-1, N)`` turned offsets → ``(N, J, 3)`` positions: each joint its parent's position plus
    its turned offset, depth by depth from ``root`` (3,). Elementwise per pose, so done once per call
    rather than per chunk."""
    positions = rotated.new_empty((3, len(plan.child_parents) + 1, rotated.shape[-1]))  # (3, J, N)
    positions[:, 0] = root[:, None]
    for joints, joint_parents in plan.depths:
        positions.index_copy_(1, joints, positions.index_select(1, joint_parents) + rotated.index_select(1, joints - 1))
    return positions.permute(2, 1, 0)
