"""Heading normalisation (swing–twist about y) and left/right mirroring."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from bench.body import (
    JOINT_NAMES,
    MIRROR_PERMUTATION,
    forward_kinematics,
    heading_angle,
    mirror_pose,
    normalize_heading,
    rotate_heading,
)
from bench.errors import InternalError


def random_poses(rng: np.random.Generator, n: int) -> np.ndarray:
    poses = rng.normal(scale=0.4, size=(n, 22, 3))
    poses[:, 0] = Rotation.random(n, random_state=rng).as_rotvec()
    return poses


def horizontal_swings(rng: np.random.Generator, n: int) -> Rotation:
    """Rotations about random axes in the xz-plane (no twist about y), including lying poses."""
    axes = np.stack([rng.normal(size=n), np.zeros(n), rng.normal(size=n)], axis=1)
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    angles = np.concatenate([rng.uniform(-2.5, 2.5, n - 4), [np.pi / 2, -np.pi / 2, np.pi / 2, 0.0]])
    return Rotation.from_rotvec(axes * angles[:, None])


def test_heading_decomposition_recovers_yaw_and_swing() -> None:
    rng = np.random.default_rng(11)
    n = 64
    swing = horizontal_swings(rng, n)
    yaw = rng.uniform(-np.pi + 1e-3, np.pi - 1e-3, n)
    poses = random_poses(rng, n)
    poses[:, 0] = (Rotation.from_rotvec(np.outer(yaw, [0, 1, 0])) * swing).as_rotvec()
    np.testing.assert_allclose(heading_angle(poses), yaw, atol=1e-9)
    normalized = normalize_heading(poses)
    np.testing.assert_allclose(Rotation.from_rotvec(normalized[:, 0]).as_matrix(), swing.as_matrix(), atol=1e-9)
    np.testing.assert_array_equal(normalized[:, 1:], poses[:, 1:])  # the body-frame pose is untouched
    np.testing.assert_allclose(heading_angle(normalized), 0.0, atol=1e-9)


def test_normalization_invariant_to_added_yaw_and_rotates_joints() -> None:
    rng = np.random.default_rng(12)
    poses = random_poses(rng, 32)
    normalized = normalize_heading(poses)
    for turn in (0.7, -2.9, rng.uniform(-np.pi, np.pi, 32)):
        turned = rotate_heading(poses, turn)
        np.testing.assert_allclose(normalize_heading(turned), normalized, atol=1e-9)
    # Removing the yaw turns every joint about the vertical axis through the pelvis (at the origin).
    yaw = heading_angle(poses)
    undo = Rotation.from_rotvec(np.outer(-yaw, [0, 1, 0])).as_matrix()
    expected = np.einsum("nij,nkj->nki", undo, forward_kinematics(poses))
    np.testing.assert_allclose(forward_kinematics(normalized), expected, atol=1e-9)


def test_heading_sign_convention_and_types() -> None:
    pose = torch.zeros(22, 3)
    pose[0, 1] = 0.5  # turned +0.5 rad about +y: faces (sin 0.5, 0, cos 0.5)
    assert heading_angle(pose).item() == pytest.approx(0.5)
    assert heading_angle(pose.double()).dtype == torch.float64
    normalized = normalize_heading(pose.numpy())
    assert normalized.dtype == np.float32 and normalized.shape == (22, 3)
    np.testing.assert_allclose(normalized, 0.0, atol=1e-7)


def test_mirror_is_an_involution_that_reflects_joints() -> None:
    rng = np.random.default_rng(13)
    poses = random_poses(rng, 16)
    mirrored = mirror_pose(poses)
    np.testing.assert_array_equal(mirror_pose(mirrored), poses)
    joints = forward_kinematics(poses)
    expected = joints[:, list(MIRROR_PERMUTATION)] * np.array([-1.0, 1.0, 1.0])
    np.testing.assert_allclose(forward_kinematics(mirrored), expected, atol=1e-12)
    assert mirror_pose(torch.from_numpy(poses).float()).dtype == torch.float32
    padded = np.concatenate([poses, rng.normal(size=(16, 2, 3))], axis=1)
    np.testing.assert_array_equal(mirror_pose(padded)[:, :22], mirrored)


def test_mirror_maps_named_joints() -> None:
    index = {name: j for j, name in enumerate(JOINT_NAMES)}
    pose = np.zeros((22, 3))
    pose[index["left_elbow"]] = [0.1, 0.2, 0.3]
    pose[index["spine1"]] = [0.4, 0.5, 0.6]
    mirrored = mirror_pose(pose)
    np.testing.assert_array_equal(mirrored[index["right_elbow"]], [0.1, -0.2, -0.3])
    np.testing.assert_array_equal(mirrored[index["left_elbow"]], 0.0)
    np.testing.assert_array_equal(mirrored[index["spine1"]], [0.4, -0.5, -0.6])
    # Raising the left arm (about +z at the shoulder, towards +y) mirrors to raising the right arm.
    raise_left = np.zeros((22, 3))
    raise_left[index["left_shoulder"], 2] = 0.8
    joints = forward_kinematics(mirror_pose(raise_left))
    rest = forward_kinematics(np.zeros((22, 3)))
    assert joints[index["right_wrist"], 1] > rest[index["right_wrist"], 1] + 0.3
    np.testing.assert_allclose(joints[index["left_wrist"]], rest[index["left_wrist"]], atol=1e-12)


def test_bad_shapes() -> None:
    with pytest.raises(InternalError, match=r"22 or 24"):
        mirror_pose(np.zeros((3, 21, 3)))
    with pytest.raises(InternalError):
        heading_angle(np.zeros((3, 22, 4)))
