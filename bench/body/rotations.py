"""Batched rotation conversions: axis-angle, rotation matrix, 6D and unit quaternion.

Shapes (any number of leading batch dimensions ``...``):

- axis-angle ``(..., 3)``: unit axis times angle in radians, angle in ``[0, π]`` on output;
- rotation matrix ``(..., 3, 3)``: acts on column vectors, ``x_world = R @ x_local``;
- 6D ``(..., 6)``: the first two **rows** of R, concatenated (PyTorch3D convention);
- quaternion ``(..., 4)``: ``(w, x, y, z)``, unit norm, sign chosen so that ``w >= 0`` on output.

Every function takes a ``torch.Tensor`` (float32 or float64, any device) and returns the same dtype
and device; a ``numpy.ndarray`` in gives a ``numpy.ndarray`` out. Other dtypes (integers, float16)
are computed and returned in float32. Conversions stay accurate near the angle 0 (Taylor series for
``sin(t)/t`` and ``atan(t)/t``) and at and near π (matrices go through the best-conditioned
quaternion component, so 180° rotations keep their axis), and have finite gradients at 0.

>>> import torch
>>> r = torch.tensor([0.0, 0.0, 3.14159265])
>>> torch.allclose(matrix_to_axis_angle(axis_angle_to_matrix(r)), r)
True
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import numpy as np
import torch

from bench.errors import InternalError

ArrayT = TypeVar("ArrayT", torch.Tensor, np.ndarray)

# Below these squared arguments a Taylor series replaces the closed form. The series are truncated
# after the x^4 term, so their error (< x^6 / 5000) is below float64 precision there.
_TAYLOR_SQ = 1e-4
_TINY = 1e-30


def to_float_tensor(x: torch.Tensor | np.ndarray, what: str = "input") -> torch.Tensor:
    """``x`` as a float tensor: float32/float64 kept, other dtypes become float32; numpy arrays are
    shared when possible (copied when read-only, byte-swapped or negatively strided)."""
    if isinstance(x, np.ndarray):
        array = np.ascontiguousarray(x)
        if not array.flags.writeable or not array.dtype.isnative:
            array = array.astype(array.dtype.newbyteorder("="))
        x = torch.from_numpy(array)
    elif not isinstance(x, torch.Tensor):
        raise InternalError(f"{what} must be a torch.Tensor or numpy.ndarray, got {type(x).__name__}", field=what)
    return x if x.dtype in (torch.float32, torch.float64) else x.to(torch.float32)


def accepts_numpy(fn: Callable[..., torch.Tensor]) -> Callable[..., ArrayT]:
    """Let a torch function of one array take and return numpy arrays too (float32/float64 kept)."""

    @functools.wraps(fn)
    def wrapper(x: ArrayT, *args: object, **kwargs: object) -> ArrayT:
        out = fn(to_float_tensor(x, fn.__name__), *args, **kwargs)
        return out.numpy() if isinstance(x, np.ndarray) else out

    return wrapper


def check_shape(x: torch.Tensor, trailing: tuple[int, ...], what: str) -> None:
    """Raise InternalError unless ``x`` has shape ``(..., *trailing)``."""
    if x.dim() < len(trailing) or tuple(x.shape[-len(trailing) :]) != trailing:
        expected = ", ".join(["..."] + [str(d) for d in trailing])
        raise InternalError(f"{what} must have shape ({expected}), got {tuple(x.shape)}", field=what)


def _sinc_from_sq(t2: torch.Tensor) -> torch.Tensor:
    """``sin(t) / t`` as a function of ``t2 = t**2`` (t >= 0), with a Taylor series near 0."""
    small = t2 < _TAYLOR_SQ
    t = torch.sqrt(torch.where(small, 1.0, t2))
    taylor = 1.0 - t2 * (1.0 / 6.0) + (t2 * t2) * (1.0 / 120.0)
    return torch.where(small, taylor, torch.sin(t) / t)


# Row-major positions of [0, x, y, z, -x, -y, -z] that form the cross-product matrix [r]x.
_CROSS_INDEX = torch.tensor([0, 6, 2, 3, 0, 4, 5, 1, 0])


def rodrigues_rows(axis_angle: torch.Tensor) -> torch.Tensor:
    """Rotation matrices of component-major axis-angle vectors: ``(3, *S)`` → ``(9, *S)``, row-major.

    Uses ``R = cos(t) I + sinc(t) [r]x + (1 - cos t)/t² r rᵀ`` with ``(1 - cos t)/t² = sinc(t/2)²/2``,
    which has no cancellation at small angles. Component-major layout keeps every operation on
    contiguous rows (the layout forward kinematics uses) and needs few, large operations.
    """
    t2 = (axis_angle[0] * axis_angle[0] + axis_angle[1] * axis_angle[1] + axis_angle[2] * axis_angle[2])[None]
    a = _sinc_from_sq(t2)
    half_sinc = _sinc_from_sq(t2 * 0.25)
    b = 0.5 * half_sinc * half_sinc
    scaled = a * axis_angle
    signed = torch.cat([torch.zeros_like(t2), scaled, -scaled])
    cross = signed.index_select(0, _CROSS_INDEX.to(axis_angle.device))
    outer = ((b * axis_angle).unsqueeze(1) * axis_angle.unsqueeze(0)).flatten(0, 1)
    rows = cross + outer
    rows[::4] += 1.0 - b * t2  # the diagonal, entries 0, 4, 8: cos(t) = 1 - t² (1 - cos t)/t²
    return rows


@accepts_numpy
def axis_angle_to_matrix(axis_angle: torch.Tensor) -> torch.Tensor:
    """Rodrigues' formula: ``(..., 3)`` axis-angle (radians) → ``(..., 3, 3)`` rotation matrix."""
    check_shape(axis_angle, (3,), "axis_angle")
    rows = rodrigues_rows(axis_angle.reshape(-1, 3).T)
    return rows.T.reshape(axis_angle.shape[:-1] + (3, 3))


@accepts_numpy
def axis_angle_to_quaternion(axis_angle: torch.Tensor) -> torch.Tensor:
    """``(..., 3)`` axis-angle (radians) → ``(..., 4)`` unit quaternion ``(w, x, y, z)``, sign chosen so w >= 0."""
    check_shape(axis_angle, (3,), "axis_angle")
    t2 = (axis_angle * axis_angle).sum(-1, keepdim=True)
    w = torch.cos(0.5 * torch.sqrt(t2.clamp_min(_TINY)))
    xyz = axis_angle * (0.5 * _sinc_from_sq(t2 / 4.0))
    quaternion = torch.cat([w, xyz], dim=-1)
    return torch.where(w < 0, -quaternion, quaternion)


def _standardize(quaternion: torch.Tensor) -> torch.Tensor:
    """Unit norm, and the sign that makes ``w >= 0``."""
    q = quaternion / torch.linalg.vector_norm(quaternion, dim=-1, keepdim=True).clamp_min(_TINY)
    return torch.where(q[..., :1] < 0, -q, q)


@accepts_numpy
def quaternion_to_axis_angle(quaternion: torch.Tensor) -> torch.Tensor:
    """``(..., 4)`` quaternion ``(w, x, y, z)`` (normalised here) → ``(..., 3)`` axis-angle, angle in [0, π].

    The angle is ``2 atan2(|v|, w)`` after choosing ``w >= 0``; the scale ``angle / |v|`` uses a
    Taylor series of ``atan(u)/u`` when ``|v|`` is small.
    """
    check_shape(quaternion, (4,), "quaternion")
    q = _standardize(quaternion)
    w, xyz = q[..., :1], q[..., 1:]
    n2 = (xyz * xyz).sum(-1, keepdim=True)
    small = n2 < _TAYLOR_SQ * _TAYLOR_SQ  # |v| < 1e-4, so w > 0.99999999
    n = torch.sqrt(torch.where(small, torch.ones_like(n2), n2))
    w_safe = torch.where(small, w, torch.ones_like(w))
    u = n2 / (w_safe * w_safe)
    taylor = (2.0 / w_safe) * (1.0 - u / 3.0 + u * u / 5.0)
    scale = torch.where(small, taylor, 2.0 * torch.atan2(n, w) / n)
    return xyz * scale


@accepts_numpy
def quaternion_to_matrix(quaternion: torch.Tensor) -> torch.Tensor:
    """``(..., 4)`` quaternion ``(w, x, y, z)`` (need not be unit) → ``(..., 3, 3)`` rotation matrix."""
    check_shape(quaternion, (4,), "quaternion")
    w, x, y, z = quaternion.unbind(-1)
    s = 2.0 / (quaternion * quaternion).sum(-1).clamp_min(_TINY)
    rows = (
        1 - s * (y * y + z * z), s * (x * y - w * z), s * (x * z + w * y),
        s * (x * y + w * z), 1 - s * (x * x + z * z), s * (y * z - w * x),
        s * (x * z - w * y), s * (y * z + w * x), 1 - s * (x * x + y * y),
    )  # fmt: skip
    return torch.stack(rows, dim=-1).reshape(quaternion.shape[:-1] + (3, 3))


@accepts_numpy
def matrix_to_quaternion(matrix: torch.Tensor) -> torch.Tensor:
    """``(..., 3, 3)`` rotation matrix → ``(..., 4)`` unit quaternion ``(w, x, y, z)`` with w >= 0.

    Computes the quaternion from each of its four components (4w², 4x², 4y², 4z² from the
    diagonal) and keeps the candidate whose pivot component is largest, so no division is
    ill-conditioned, including at 180°.
    """
    check_shape(matrix, (3, 3), "matrix")
    m = matrix.reshape(matrix.shape[:-2] + (9,)).unbind(-1)
    m00, m01, m02, m10, m11, m12, m20, m21, m22 = m
    four_sq = torch.stack(
        [1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22], dim=-1
    )
    # Row k: 4 q_k * (w, x, y, z); divide by 4 q_k = 2 sqrt(4 q_k²).
    candidates = torch.stack(
        [
            torch.stack([four_sq[..., 0], m21 - m12, m02 - m20, m10 - m01], dim=-1),
            torch.stack([m21 - m12, four_sq[..., 1], m01 + m10, m02 + m20], dim=-1),
            torch.stack([m02 - m20, m01 + m10, four_sq[..., 2], m12 + m21], dim=-1),
            torch.stack([m10 - m01, m02 + m20, m12 + m21, four_sq[..., 3]], dim=-1),
        ],
        dim=-2,
    )
    # The largest 4 q_k² is at least 1 for a rotation, so clamping the others at 0.1 is harmless.
    candidates = candidates / (2.0 * torch.sqrt(four_sq.clamp_min(0.1)))[..., None]
    best = four_sq.argmax(dim=-1, keepdim=True)
    chosen = torch.take_along_dim(candidates, best[..., None].expand(best.shape + (4,)), dim=-2)
    return _standardize(chosen.squeeze(-2))


@accepts_numpy
def matrix_to_axis_angle(matrix: torch.Tensor) -> torch.Tensor:
    """``(..., 3, 3)`` rotation matrix → ``(..., 3)`` axis-angle, angle in [0, π] (via the quaternion)."""
    return quaternion_to_axis_angle(matrix_to_quaternion(matrix))


@accepts_numpy
def matrix_to_rot6d(matrix: torch.Tensor) -> torch.Tensor:
    """``(..., 3, 3)`` rotation matrix → ``(..., 6)``: its first two rows, concatenated."""
    check_shape(matrix, (3, 3), "matrix")
    return matrix[..., :2, :].reshape(matrix.shape[:-2] + (6,))


@accepts_numpy
def rot6d_to_matrix(rot6d: torch.Tensor) -> torch.Tensor:
    """``(..., 6)`` → ``(..., 3, 3)`` by Gram–Schmidt: rows b1 = a1/|a1|, b2 ⟂ b1, b3 = b1 × b2.

    Any input whose two 3-vectors are not parallel gives a proper rotation, so the 6D form can be
    a network's raw output.
    """
    check_shape(rot6d, (6,), "rot6d")
    a1, a2 = rot6d[..., :3], rot6d[..., 3:]
    b1 = a1 / torch.linalg.vector_norm(a1, dim=-1, keepdim=True).clamp_min(1e-12)
    a2 = a2 - (b1 * a2).sum(-1, keepdim=True) * b1
    b2 = a2 / torch.linalg.vector_norm(a2, dim=-1, keepdim=True).clamp_min(1e-12)
    return torch.stack([b1, b2, torch.linalg.cross(b1, b2, dim=-1)], dim=-2)


def quaternion_multiply(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Hamilton product ``a ⊗ b`` of ``(..., 4)`` quaternions ``(w, x, y, z)`` (broadcasting).

    As rotations, ``a ⊗ b`` applies ``b`` first, then ``a`` (like ``R_a @ R_b``).
    """
    check_shape(a, (4,), "a")
    check_shape(b, (4,), "b")
    aw, ax, ay, az = a.unbind(-1)
    bw, bx, by, bz = b.unbind(-1)
    return torch.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        dim=-1,
    )
