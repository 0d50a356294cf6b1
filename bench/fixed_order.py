"""Arithmetic that rounds the same way on every CPU, for everything the synth build stores.

Three kinds of library code round differently from one machine to the next:

- **BLAS and LAPACK** (``@``, ``np.dot``, ``np.einsum`` with optimisation, ``np.linalg.inv``/``svd``,
  torch ``matmul``): the kernel (``OPENBLAS_CORETYPE``, MKL's dispatch, the thread count) chooses
  the summation order, the blocking and whether multiply-adds are fused. A 3-term dot product can
  differ in its last bit; under ``Prescott`` nearly every synth render did.
- **numpy's SIMD transcendental functions** in float32 (``sin``, ``cos``, ``exp``, ``log``; ``tanh``
  in both widths) pick an implementation by CPU feature (``NPY_DISABLE_CPU_FEATURES=X86_V3`` changed
  44 of the small build's 329 test files).
- **Unstable sorts** (``np.argsort``'s default, ``np.argpartition``) use SIMD sorting networks whose
  order of equal keys depends on the vector width.

The functions here avoid all three. Products of small vectors and matrices are elementwise
multiplies and adds in a fixed order (index ascending): IEEE 754 rounds each one the same way on
any CPU, numpy and torch never fuse them, and they work on numpy arrays and torch tensors alike.
Large products go through BLAS on **integer-valued float64** (:class:`GridDistances`), which
is exact in any order. Transcendental functions run in float64 (:func:`in_float64`), where numpy
and torch call libm-grade code; a last-bit difference there survives the cast back to float32 only
when the value lies within 2**-29 of a float32 rounding boundary, about once in 5e8 values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np

ArrayT = TypeVar("ArrayT")


def dot(u: ArrayT, v: ArrayT) -> ArrayT:
    """``sum_k u[..., k] * v[..., k]``, k ascending: (..., K) and (..., K), broadcast, -> (...).

    numpy arrays or torch tensors; the dtype of the inputs (no promotion beyond numpy's/torch's own).
    """
    count = u.shape[-1]  # type: ignore[attr-defined]
    if count != v.shape[-1]:  # type: ignore[attr-defined]
        raise ValueError(f"dot: last axes differ ({count} and {v.shape[-1]})")  # type: ignore[attr-defined]
    total = u[..., 0] * v[..., 0]  # type: ignore[index]
    for k in range(1, count):
        total = total + u[..., k] * v[..., k]  # type: ignore[index]
    return total


def matvec(m: ArrayT, v: ArrayT) -> ArrayT:
    """``m @ v`` for column vectors: (..., N, K) and (..., K), broadcast, -> (..., N).

    ``points @ r.T`` for row vectors ``points`` (..., K) is ``matvec(r, points)``.
    """
    return dot(m, v[..., None, :])  # type: ignore[index]


def matmul(a: ArrayT, b: ArrayT) -> ArrayT:
    """``a @ b``: (..., N, K) and (..., K, M), broadcast, -> (..., N, M)."""
    return dot(a[..., :, None, :], b.swapaxes(-1, -2)[..., None, :, :])  # type: ignore[attr-defined,index]


def norm(v: np.ndarray) -> np.ndarray:
    """Euclidean length over the last axis: (..., K) -> (...)."""
    return np.sqrt(dot(v, v))


def inverse3(m: np.ndarray) -> np.ndarray:
    """Inverse of (..., 3, 3) matrices by the adjugate (no LAPACK); singular input gives inf/nan."""
    a, b, c = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    d, e, f = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    g, h, i = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    cofactors = np.stack([
        np.stack([e * i - f * h, c * h - b * i, b * f - c * e], -1),
        np.stack([f * g - d * i, a * i - c * g, c * d - a * f], -1),
        np.stack([d * h - e * g, b * g - a * h, a * e - b * d], -1),
    ], -2)  # fmt: skip
    det = a * cofactors[..., 0, 0] + b * cofactors[..., 1, 0] + c * cofactors[..., 2, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        return cofactors / det[..., None, None]


def in_float64(fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray | float) -> np.ndarray:
    """``fn(x)`` evaluated in float64 and returned in ``x``'s floating dtype (float64 for others).

    For numpy's transcendental ufuncs (``np.sin``, ``np.exp``...), whose float32 versions differ
    between SIMD levels; see the module docstring.
    """
    array = np.asarray(x)
    dtype = array.dtype if np.issubdtype(array.dtype, np.floating) else np.dtype(np.float64)
    return np.asarray(fn(array.astype(np.float64)), dtype=dtype)


class GridDistances:
    """Squared Euclidean distances between points rounded to multiples of ``quantum``, in units of
    ``quantum**2``: exact on any BLAS.

    ``points`` (N, D) are rounded once. Every product and partial sum of :meth:`from_rows` is an
    integer below 2**53 (checked here), so float64 holds it exactly and the summation order of the
    matrix product cannot matter.
    """

    def __init__(self, points: np.ndarray, quantum: float) -> None:
        self.grid = np.rint(np.asarray(points, np.float64) / quantum)  # (N, D) integer-valued
        largest = float(np.abs(self.grid).max(initial=0.0))
        if 4.0 * self.grid.shape[1] * largest * largest >= 2.0**53:
            raise ValueError(f"GridDistances: coordinates up to {largest * quantum} need a coarser quantum "
                             f"than {quantum}")  # fmt: skip
        self.squared = (self.grid * self.grid).sum(1)  # (N,) exact: integer partial sums

    def from_rows(self, rows: np.ndarray) -> np.ndarray:
        """Distances (len(rows), N) from the points ``rows`` (indices) to every point."""
        return self.squared[rows][:, None] + self.squared[None, :] - 2.0 * (self.grid[rows] @ self.grid.T)
