"""Rotation conversions against scipy's float64 rotations, near 0 and π, in both dtypes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from bench.body import (
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
from bench.errors import InternalError

# Angles that stress each branch: exact zero, the Taylor range, its edge, generic, and around π.
ANGLES = [0.0, 1e-12, 1e-7, 1e-4, 9.9e-3, 1.01e-2, 0.5, 2.0, np.pi - 1e-3, np.pi - 1e-6, np.pi]
TOL = {np.float64: 1e-12, np.float32: 2e-6}


def random_axis_angles(rng: np.random.Generator, n: int, angle: float | None = None) -> np.ndarray:
    axes = rng.normal(size=(n, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    angles = rng.uniform(0, np.pi, size=(n, 1)) if angle is None else np.full((n, 1), angle)
    return axes * angles


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261121)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("angle", ANGLES)
def test_axis_angle_matrix_round_trip(rng: np.random.Generator, dtype: type, angle: float) -> None:
    rotvec = random_axis_angles(rng, 64, angle)
    reference = Rotation.from_rotvec(rotvec).as_matrix()
    matrix = axis_angle_to_matrix(rotvec.astype(dtype))
    assert matrix.dtype == dtype
    np.testing.assert_allclose(matrix, reference, atol=TOL[dtype])
    back = matrix_to_axis_angle(reference.astype(dtype))
    assert back.dtype == dtype
    # Same rotation, angle in [0, π]; below π the vector itself is unique.
    back_matrix = Rotation.from_rotvec(back.astype(np.float64)).as_matrix()
    np.testing.assert_allclose(back_matrix, reference, atol=4 * TOL[dtype])
    np.testing.assert_allclose(np.linalg.norm(back, axis=1), angle, atol=4 * TOL[dtype])
    if angle < np.pi - 1e-3:
        np.testing.assert_allclose(back, rotvec, atol=4 * TOL[dtype], rtol=4 * TOL[dtype])


def test_matrix_to_axis_angle_exactly_pi_keeps_axis() -> None:
    axes = np.eye(3).tolist() + [[1 / np.sqrt(2), 1 / np.sqrt(2), 0.0], [0.6, 0.0, -0.8]]
    for axis in np.array(axes):
        matrix = 2 * np.outer(axis, axis) - np.eye(3)  # exactly 180° about axis
        back = matrix_to_axis_angle(matrix)
        assert abs(abs(np.dot(back, axis)) - np.pi) < 1e-12  # ±axis·π, both correct


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_quaternions_match_scipy(rng: np.random.Generator, dtype: type) -> None:
    rotvec = np.concatenate([random_axis_angles(rng, 200), random_axis_angles(rng, 20, np.pi), np.zeros((1, 3))])
    reference = Rotation.from_rotvec(rotvec).as_quat(scalar_first=True)
    reference *= np.where(reference[:, :1] < 0, -1.0, 1.0)
    matrices = Rotation.from_rotvec(rotvec).as_matrix()
    for quaternion in (axis_angle_to_quaternion(rotvec.astype(dtype)), matrix_to_quaternion(matrices.astype(dtype))):
        assert quaternion.dtype == dtype
        assert (quaternion[:, 0] >= 0).all()
        # At exactly π (w = 0) the sign is free: compare up to sign.
        np.testing.assert_allclose(np.abs((quaternion * reference).sum(1)), 1.0, atol=4 * TOL[dtype])
    quaternion = Rotation.from_rotvec(rotvec).as_quat(scalar_first=True) * rng.uniform(0.5, 2.0, size=(len(rotvec), 1))
    np.testing.assert_allclose(quaternion_to_matrix(quaternion), matrices, atol=1e-12)
    back = quaternion_to_axis_angle(quaternion.astype(dtype))
    np.testing.assert_allclose(Rotation.from_rotvec(back.astype(np.float64)).as_matrix(), matrices, atol=4 * TOL[dtype])


def test_quaternion_to_axis_angle_small_vector_part() -> None:
    for angle in (0.0, 1e-10, 1e-5, 1.5e-4):
        rotvec = np.array([0.0, angle, 0.0])
        quaternion = np.array([np.cos(angle / 2), 0.0, np.sin(angle / 2), 0.0])
        np.testing.assert_allclose(quaternion_to_axis_angle(quaternion), rotvec, rtol=1e-14, atol=1e-300)
        np.testing.assert_allclose(quaternion_to_axis_angle(-quaternion), rotvec, rtol=1e-14, atol=1e-300)


def test_quaternion_multiply_composes_like_matrices(rng: np.random.Generator) -> None:
    a, b = (torch.from_numpy(Rotation.random(50, random_state=rng).as_quat(scalar_first=True)) for _ in range(2))
    product = quaternion_to_matrix(quaternion_multiply(a, b))
    np.testing.assert_allclose(product, quaternion_to_matrix(a) @ quaternion_to_matrix(b), atol=1e-12)


def test_rot6d_is_first_two_rows_and_gram_schmidt(rng: np.random.Generator) -> None:
    matrices = Rotation.random(100, random_state=rng).as_matrix()
    rot6d = matrix_to_rot6d(matrices)
    np.testing.assert_array_equal(rot6d, matrices[:, :2, :].reshape(-1, 6))
    np.testing.assert_allclose(rot6d_to_matrix(rot6d), matrices, atol=1e-12)
    raw = rng.normal(size=(100, 6))  # a network's unconstrained output
    built = rot6d_to_matrix(raw)
    np.testing.assert_allclose(built @ built.transpose(0, 2, 1), np.broadcast_to(np.eye(3), built.shape), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(built), 1.0, atol=1e-12)
    np.testing.assert_allclose(built[:, 0], raw[:, :3] / np.linalg.norm(raw[:, :3], axis=1, keepdims=True), atol=1e-12)


def test_gradients_are_finite_at_zero_and_correct_elsewhere() -> None:
    zero = torch.zeros(4, 3, dtype=torch.float64, requires_grad=True)
    axis_angle_to_matrix(zero).sum().backward()
    assert torch.isfinite(zero.grad).all()
    identity_q = torch.tensor([[1.0, 0.0, 0.0, 0.0]], dtype=torch.float64, requires_grad=True)
    quaternion_to_axis_angle(identity_q).sum().backward()
    assert torch.isfinite(identity_q.grad).all()
    generator = torch.Generator().manual_seed(3)
    for scale in (1e-3, 1.0):  # Taylor and closed-form branches
        point = (torch.randn(2, 3, generator=generator, dtype=torch.float64) * scale).requires_grad_()
        assert torch.autograd.gradcheck(axis_angle_to_matrix, (point,))
        assert torch.autograd.gradcheck(matrix_to_axis_angle, (axis_angle_to_matrix(point.detach()).requires_grad_(),))


def test_types_shapes_and_errors() -> None:
    batch = torch.zeros(2, 5, 3)
    assert axis_angle_to_matrix(batch).shape == (2, 5, 3, 3)
    assert matrix_to_rot6d(axis_angle_to_matrix(batch)).shape == (2, 5, 6)
    assert axis_angle_to_matrix(np.zeros(3, dtype=np.int64)).dtype == np.float32
    readonly = np.zeros((2, 3))
    readonly.setflags(write=False)
    assert isinstance(axis_angle_to_matrix(readonly), np.ndarray)
    with pytest.raises(InternalError, match=r"\(\.\.\., 3\)"):
        axis_angle_to_matrix(torch.zeros(2, 4))
    with pytest.raises(InternalError):
        matrix_to_axis_angle(np.zeros((3, 4)))
    with pytest.raises(InternalError, match="list"):
        axis_angle_to_matrix([0.0, 0.0, 0.0])
