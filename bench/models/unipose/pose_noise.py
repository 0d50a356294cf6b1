"""Training-time augmentations of the pose tokenizer: root-orientation noise and body-part joint noise.

Poses are axis-angle ``(B, 22, 3)`` float, radians, in PoseBench's frame (y up, a zero root faces
+z, the body's left at +x); 6D rotations are ``(B, 22, 6)`` (first two rows of R).

**Root-orientation noise** (``docs/peers.md#unipose-tokenizer-training``). UniPose decomposes the
root as ``R = Rz·Ry·Rx`` in the AMASS z-up frame and adds U(±45°) to the z angle (a yaw about the vertical axis) and U(±20°) to the
x and y angles. AMASS's axes map to ours as x → x (the body's left), y → −z (front/back) and
z → y (up), so the same decomposition here is ``R = Ry(yaw)·Rz(roll)·Rx(pitch)``: yaw, the outermost
factor, turns the body about the world vertical **y** axis, and adding δ to it is exactly
``R ← Ry(δ)·R``. Roll and pitch get U(±20°) each (their signs are irrelevant under symmetric
noise). The ground truth of the reconstruction losses is the perturbed pose.

**Body-part joint noise** (same section), implemented as intended. UniPose and TokenHMR mean to
add, to half the batch, one scalar U(0, 1)·scale to every 6D entry of the joints of one random body
part (head, left/right arm, left/right leg), with a scale that grows with the training step
(0.01, 0.05, 0.1, 0.1, 0.5, 0.5 per 5,000 steps, then 0.5). Upstream this is a **no-op**: the code
adds in place to a copy made by chained advanced indexing, so the input never changes. Here the
noise really reaches the encoder input (the reconstruction target stays clean, so it acts as a
denoising augmentation). Two further differences, both documented choices: the noised samples are
drawn from all B indices (upstream draws from 0..B−2, never the last one) and a sample drawn twice
is noised once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from bench.body import JOINT_NAMES, axis_angle_to_matrix, matrix_to_axis_angle

__all__ = [
    "BODY_PARTS",
    "euler_yzx_from_matrix",
    "matrix_from_euler_yzx",
    "perturb_root_orientation",
    "joint_noise_scale",
    "add_body_part_noise",
]

BODY_PARTS: dict[str, tuple[int, ...]] = {
    part: tuple(JOINT_NAMES.index(name) for name in names)
    for part, names in {
        "head": ("neck", "head"),
        "left_arm": ("left_collar", "left_shoulder", "left_elbow", "left_wrist"),
        "right_arm": ("right_collar", "right_shoulder", "right_elbow", "right_wrist"),
        "left_leg": ("left_hip", "left_knee", "left_ankle", "left_foot"),
        "right_leg": ("right_hip", "right_knee", "right_ankle", "right_foot"),
    }.items()
}
"""The five body parts of the joint noise, as pose rows (UniPose's head {12, 15}, left arm
{13, 16, 18, 20}, right arm {14, 17, 19, 21}, left leg {1, 4, 7, 10}, right leg {2, 5, 8, 11})."""


def euler_yzx_from_matrix(matrix: torch.Tensor) -> torch.Tensor:
    """Angles ``(yaw, roll, pitch)`` with ``R = Ry(yaw)·Rz(roll)·Rx(pitch)``: ``(..., 3, 3)`` → ``(..., 3)`` radians.

    Roll lies in [−π/2, π/2], yaw and pitch in [−π, π] (gimbal lock at roll = ±π/2, as in the
    z-up original).
    """
    r00, r10, r11, r12, r20 = matrix[..., 0, 0], matrix[..., 1, 0], matrix[..., 1, 1], matrix[..., 1, 2], matrix[..., 2, 0]
    yaw = torch.atan2(-r20, r00)
    roll = torch.atan2(r10, torch.sqrt(r00 * r00 + r20 * r20))
    pitch = torch.atan2(-r12, r11)
    return torch.stack([yaw, roll, pitch], dim=-1)


def matrix_from_euler_yzx(angles: torch.Tensor) -> torch.Tensor:
    """``Ry(yaw)·Rz(roll)·Rx(pitch)`` from ``(..., 3)`` angles ``(yaw, roll, pitch)``, radians → ``(..., 3, 3)``."""
    zero = torch.zeros_like(angles[..., 0])
    yaw, roll, pitch = angles.unbind(-1)
    ry = axis_angle_to_matrix(torch.stack([zero, yaw, zero], dim=-1))
    rz = axis_angle_to_matrix(torch.stack([zero, zero, roll], dim=-1))
    rx = axis_angle_to_matrix(torch.stack([pitch, zero, zero], dim=-1))
    return ry @ rz @ rx


def perturb_root_orientation(
    poses: torch.Tensor, generator: torch.Generator, *, yaw_deg: float, tilt_deg: float
) -> torch.Tensor:
    """Add U(±yaw_deg) to the root's yaw about y and U(±tilt_deg) to its roll and pitch.

    Args:
        poses: float ``(B, 22, 3)`` axis-angle, radians; not modified.
        generator: draws the ``(B, 3)`` uniform angles (on the poses' device).
        yaw_deg, tilt_deg: half-widths of the uniform noise, degrees.

    Returns:
        ``(B, 22, 3)``, same dtype; only row 0 (the root) differs.
    """
    limits = torch.tensor([yaw_deg, tilt_deg, tilt_deg], dtype=poses.dtype, device=poses.device) * (math.pi / 180.0)
    uniform = torch.rand((poses.shape[0], 3), generator=generator, dtype=poses.dtype, device=poses.device)
    angles = euler_yzx_from_matrix(axis_angle_to_matrix(poses[:, 0])) + (2.0 * uniform - 1.0) * limits
    root = matrix_to_axis_angle(matrix_from_euler_yzx(angles))
    return torch.cat([root[:, None], poses[:, 1:]], dim=1)


def joint_noise_scale(step: int, interval: int, scales: Sequence[float]) -> float:
    """The noise scale at training step ``step``: ``scales[step // interval]``, the last one afterwards.

    >>> joint_noise_scale(12_000, 5_000, (0.01, 0.05, 0.1, 0.1, 0.5, 0.5))
    0.1
    """
    return float(scales[min(step // interval, len(scales) - 1)])


def add_body_part_noise(rot6d: torch.Tensor, scale: float, generator: torch.Generator) -> torch.Tensor:
    """Body-part joint noise as intended (module docstring): returns a noised copy of ``rot6d``.

    Args:
        rot6d: float ``(B, J, 6)`` encoder input, J ≥ 22; not modified.
        scale: multiplier of the U(0, 1) offset.
        generator: draws the noised samples, the body part and the offset (CPU or the input's device).
    """
    batch = rot6d.shape[0]
    device = rot6d.device
    picks = torch.randint(0, batch, (batch // 2,), generator=generator, device=device)
    part = list(BODY_PARTS.values())[int(torch.randint(0, len(BODY_PARTS), (1,), generator=generator, device=device))]
    offset = torch.rand((), generator=generator, device=device, dtype=rot6d.dtype) * scale
    sample_mask = torch.zeros(batch, dtype=rot6d.dtype, device=device).index_fill_(0, picks, 1.0)
    joint_mask = torch.zeros(rot6d.shape[1], dtype=rot6d.dtype, device=device)
    joint_mask[list(part)] = 1.0
    return rot6d + offset * sample_mask[:, None, None] * joint_mask[None, :, None]
