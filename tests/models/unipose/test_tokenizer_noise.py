"""Tokenizer augmentations: root-orientation noise about the vertical y axis, body-part joint noise."""

from __future__ import annotations

import math

import pytest
import torch

from bench.body import axis_angle_to_matrix, heading_angle, matrix_to_axis_angle, matrix_to_rot6d
from bench.models.unipose.pose_noise import (
    BODY_PARTS,
    add_body_part_noise,
    euler_yzx_from_matrix,
    joint_noise_scale,
    matrix_from_euler_yzx,
    perturb_root_orientation,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _poses(count: int, seed: int = 0) -> torch.Tensor:
    """Random poses with roots tilted by up to ~35° (away from the gimbal lock) and any yaw."""
    gen = torch.Generator().manual_seed(seed)
    poses = 0.3 * torch.randn(count, 22, 3, generator=gen, dtype=torch.float64)
    angles = torch.stack([(2 * torch.rand(count, generator=gen, dtype=torch.float64) - 1) * math.pi,
                          0.6 * (2 * torch.rand(count, generator=gen, dtype=torch.float64) - 1),
                          0.6 * (2 * torch.rand(count, generator=gen, dtype=torch.float64) - 1)], dim=-1)  # fmt: skip
    poses[:, 0] = matrix_to_axis_angle(matrix_from_euler_yzx(angles))
    return poses


def test_euler_round_trip_and_convention() -> None:
    angles = torch.tensor([[0.7, -0.3, 1.1], [-2.5, 1.2, -0.4]], dtype=torch.float64)
    assert torch.allclose(euler_yzx_from_matrix(matrix_from_euler_yzx(angles)), angles, atol=1e-10)
    # pure yaw is a rotation about +y; the decomposition is Ry(yaw) Rz(roll) Rx(pitch)
    yaw_only = matrix_from_euler_yzx(torch.tensor([0.5, 0.0, 0.0], dtype=torch.float64))
    assert torch.allclose(yaw_only, axis_angle_to_matrix(torch.tensor([0.0, 0.5, 0.0], dtype=torch.float64)))
    ry, rz, rx = (axis_angle_to_matrix(torch.tensor(v, dtype=torch.float64)) for v in ([0, 0.7, 0], [0, 0, -0.3], [1.1, 0, 0]))
    assert torch.allclose(matrix_from_euler_yzx(angles[0]), ry @ rz @ rx)


def test_yaw_noise_is_a_turn_about_the_vertical_axis() -> None:
    poses = _poses(400)
    out = perturb_root_orientation(poses, torch.Generator().manual_seed(1), yaw_deg=45.0, tilt_deg=0.0)
    assert torch.equal(out[:, 1:], poses[:, 1:])  # body joints untouched
    turn = axis_angle_to_matrix(out[:, 0]) @ axis_angle_to_matrix(poses[:, 0]).transpose(-1, -2)
    axis_angle = matrix_to_axis_angle(turn)
    assert axis_angle[:, [0, 2]].abs().max() < 1e-8  # R' R^T is a rotation about y only
    delta = axis_angle[:, 1]
    assert delta.abs().max() <= math.radians(45.0) + 1e-9
    assert delta.max() > math.radians(40.0) and delta.min() < -math.radians(40.0)  # spans the range
    wrapped = torch.remainder(heading_angle(out) - heading_angle(poses) - delta + math.pi, 2 * math.pi) - math.pi
    assert wrapped.abs().max() < 1e-8  # the heading about y changes by exactly the drawn yaw


def test_full_noise_keeps_rotations_valid_and_bounded() -> None:
    poses = _poses(300, seed=2).float()
    out = perturb_root_orientation(poses, torch.Generator().manual_seed(3), yaw_deg=45.0, tilt_deg=20.0)
    assert out.dtype == torch.float32 and out.shape == poses.shape and torch.isfinite(out).all()
    assert (torch.linalg.vector_norm(out[:, 0], dim=-1) <= math.pi + 1e-5).all()
    before = euler_yzx_from_matrix(axis_angle_to_matrix(poses[:, 0].double()))
    after = euler_yzx_from_matrix(axis_angle_to_matrix(out[:, 0].double()))
    change = torch.remainder(after - before + math.pi, 2 * math.pi) - math.pi
    limits = torch.tensor([45.0, 20.0, 20.0], dtype=torch.float64).deg2rad()
    assert (change.abs() <= limits + 1e-4).all()
    assert (change.abs().amax(0) > 0.8 * limits).all()  # every angle really moves


def test_orientation_noise_is_seeded() -> None:
    poses = _poses(10).float()
    a = perturb_root_orientation(poses, torch.Generator().manual_seed(7), yaw_deg=45.0, tilt_deg=20.0)
    b = perturb_root_orientation(poses, torch.Generator().manual_seed(7), yaw_deg=45.0, tilt_deg=20.0)
    assert torch.equal(a, b)


def test_upstream_joint_noise_is_a_no_op_and_ours_is_not() -> None:
    x = torch.zeros(8, 22, 6)
    samples, joints = torch.tensor([0, 2, 4, 6]), list(BODY_PARTS["left_arm"])
    x[samples][:, joints] += 0.5  # the upstream expression: adds to a temporary copy
    assert float(x.abs().sum()) == 0.0
    noised = add_body_part_noise(x, 0.5, torch.Generator().manual_seed(0))
    assert float(noised.abs().sum()) > 0.0


def test_body_part_noise_touches_one_part_of_about_half_the_batch() -> None:
    rot6d = matrix_to_rot6d(axis_angle_to_matrix(0.3 * torch.randn(32, 22, 3, generator=torch.Generator().manual_seed(0))))
    original = rot6d.clone()
    noised = add_body_part_noise(rot6d, 0.1, torch.Generator().manual_seed(5))
    assert torch.equal(rot6d, original)  # out-of-place: the input is left as it was
    diff = noised - rot6d
    changed_samples = diff.abs().sum((1, 2)) > 0
    changed_joints = diff.abs().sum((0, 2)) > 0
    assert 1 <= int(changed_samples.sum()) <= 16
    assert tuple(torch.nonzero(changed_joints).flatten().tolist()) in {tuple(sorted(p)) for p in BODY_PARTS.values()}
    values = diff[diff != 0]
    assert torch.allclose(values, values[0].expand_as(values))  # one scalar for every entry
    assert 0.0 < float(values[0]) < 0.1


def test_body_parts_match_unipose_indices() -> None:
    assert BODY_PARTS == {"head": (12, 15), "left_arm": (13, 16, 18, 20), "right_arm": (14, 17, 19, 21),
                          "left_leg": (1, 4, 7, 10), "right_leg": (2, 5, 8, 11)}  # fmt: skip


def test_joint_noise_schedule() -> None:
    scales = (0.01, 0.05, 0.1, 0.1, 0.5, 0.5)
    steps = (0, 4999, 5000, 10_000, 29_999, 10**6)
    assert [joint_noise_scale(s, 5000, scales) for s in steps] == [0.01, 0.01, 0.05, 0.1, 0.5, 0.5]
