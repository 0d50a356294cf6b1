"""Forward kinematics: hand-computed chains, a per-joint reference, the anthropometric skeleton."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from bench.body import JOINT_NAMES, MIRROR_PERMUTATION, SMPL_PARENTS, forward_kinematics
from bench.body.anthropometry import SKELETON_HEIGHT_M, skeleton_rest_joints
from bench.body.model_files import SMPLH_PARENTS
from bench.errors import InternalError


def reference_fk(poses: np.ndarray, rest: np.ndarray, parents: tuple[int, ...]) -> np.ndarray:
    """Joint by joint, pose by pose, in float64 with scipy rotations."""
    out = np.zeros((len(poses), len(parents), 3))
    for n, pose in enumerate(poses):
        world = [np.eye(3)] * len(parents)
        for j, parent in enumerate(parents):
            local = Rotation.from_rotvec(pose[j]).as_matrix() if j < len(pose) else np.eye(3)
            if parent < 0:
                world[j], out[n, j] = local, rest[j]
            else:
                world[j] = world[parent] @ local
                out[n, j] = out[n, parent] + world[parent] @ (rest[j] - rest[parent])
    return out


def test_three_joint_chain_by_hand() -> None:
    rest = np.array([[0.5, 0.0, 0.0], [1.5, 0.0, 0.0], [2.5, 0.0, 0.0]])
    parents = (-1, 0, 1)
    quarter_z = [0.0, 0.0, np.pi / 2]
    # Root turned 90° about z: the chain points along +y from the root, which stays put.
    joints = forward_kinematics(np.array([quarter_z, [0.0] * 3, [0.0] * 3]), rest, parents)
    np.testing.assert_allclose(joints, [[0.5, 0.0, 0.0], [0.5, 1.0, 0.0], [0.5, 2.0, 0.0]], atol=1e-15)
    # Then the middle joint also 90° about z: the last segment points along -x.
    joints = forward_kinematics(np.array([quarter_z, quarter_z, [0.0] * 3]), rest, parents)
    np.testing.assert_allclose(joints, [[0.5, 0.0, 0.0], [0.5, 1.0, 0.0], [-0.5, 1.0, 0.0]], atol=1e-15)
    # The last joint's own rotation moves nothing (it is a leaf).
    leaf_turned = np.array([quarter_z, quarter_z, [1.0, 2.0, 3.0]])
    np.testing.assert_allclose(forward_kinematics(leaf_turned, rest, parents), joints, atol=1e-15)


@pytest.mark.parametrize("parents,num_rotated", [(SMPL_PARENTS, 22), (SMPL_PARENTS, 24), (SMPLH_PARENTS, 22)])
def test_matches_per_joint_reference(parents: tuple[int, ...], num_rotated: int) -> None:
    rng = np.random.default_rng(7)
    rest = rng.normal(size=(len(parents), 3))
    poses = rng.normal(scale=0.8, size=(5, num_rotated, 3))
    expected = reference_fk(poses, rest, parents)
    np.testing.assert_allclose(forward_kinematics(poses, rest, parents), expected, atol=1e-12)
    got32 = forward_kinematics(torch.from_numpy(poses).float(), torch.from_numpy(rest), parents)
    assert got32.dtype == torch.float32
    np.testing.assert_allclose(got32.numpy(), expected, atol=2e-5)


def test_batch_shapes_and_gradients() -> None:
    generator = torch.Generator().manual_seed(0)
    poses = (torch.randn(2, 3, 22, 3, generator=generator) * 0.5).requires_grad_()
    joints = forward_kinematics(poses)
    assert joints.shape == (2, 3, 24, 3)
    torch.testing.assert_close(joints[1, 2], forward_kinematics(poses[1, 2].detach()))
    joints[..., 20, :].sum().backward()  # the left wrist depends on the spine and left-arm rotations only
    moved = poses.grad.abs().sum(dim=(0, 1, 3)) > 0
    assert set(np.flatnonzero(moved.numpy())) == {0, 3, 6, 9, 13, 16, 18}


def test_skeleton_rest_pose() -> None:
    rest = skeleton_rest_joints()
    np.testing.assert_array_equal(forward_kinematics(np.zeros((1, 22, 3))), rest[None])
    np.testing.assert_array_equal(rest[0], 0.0)
    np.testing.assert_allclose(rest[list(MIRROR_PERMUTATION)] * [-1, 1, 1], rest, atol=0)  # exact mirror image
    index = {name: j for j, name in enumerate(JOINT_NAMES)}
    assert rest[index["left_wrist"], 0] > 0.6 and rest[index["right_wrist"], 0] < -0.6  # T-pose, left at +x
    assert rest[index["left_foot"], 2] > 0.1  # feet point forward (+z)
    head_above_feet = (0.903 - 0.0195) * SKELETON_HEIGHT_M  # head between chin and eyes; feet at half ankle height
    assert rest[index["head"], 1] - rest[:, 1].min() == pytest.approx(head_above_feet)
    segment = np.linalg.norm(rest[index["left_knee"]] - rest[index["left_ankle"]])
    assert segment == pytest.approx(0.246 * SKELETON_HEIGHT_M)  # Drillis & Contini shank length


def test_bad_inputs() -> None:
    with pytest.raises(InternalError, match="poses"):
        forward_kinematics(torch.zeros(2, 25, 3))
    with pytest.raises(InternalError, match="rest_joints"):
        forward_kinematics(torch.zeros(2, 22, 3), np.zeros((23, 3)))
    with pytest.raises(InternalError, match="parents before children"):
        forward_kinematics(torch.zeros(1, 2, 3), np.zeros((2, 3)), (-1, 1))


def test_bitwise_identical_for_any_batch_size() -> None:
    rng = np.random.default_rng(8)
    poses = rng.normal(scale=0.7, size=(300, 22, 3)).astype(np.float32)
    whole = forward_kinematics(poses)
    for start, stop in ((0, 1), (5, 12), (37, 300), (299, 300)):
        np.testing.assert_array_equal(forward_kinematics(poses[start:stop]), whole[start:stop])
    swapped = poses.astype(poses.dtype.newbyteorder(">"))  # big-endian input is read correctly
    np.testing.assert_array_equal(forward_kinematics(swapped[::-1])[::-1], whole)
