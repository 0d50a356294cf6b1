"""bench.fixed_order: the products and sums are the documented fixed-order ones, on numpy and torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench.fixed_order import GridDistances, dot, in_float64, inverse3, matmul, matvec, norm


def _left_to_right(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    total = u[..., 0] * v[..., 0]
    for k in range(1, u.shape[-1]):
        total = total + u[..., k] * v[..., k]
    return total


def test_products_are_left_to_right_sums_bit_for_bit_and_agree_with_blas():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(50, 4, 3)).astype(np.float32)
    b = rng.normal(size=(50, 3, 5)).astype(np.float32)
    v = rng.normal(size=(50, 3)).astype(np.float32)
    expected = np.stack([np.stack([_left_to_right(a[:, i], b[:, :, j]) for j in range(5)], -1) for i in range(4)], -2)
    assert np.array_equal(matmul(a, b), expected)
    assert np.array_equal(matvec(a, v), np.stack([_left_to_right(a[:, i], v) for i in range(4)], -1))
    assert np.array_equal(dot(v, v), _left_to_right(v, v)) and np.array_equal(norm(v), np.sqrt(_left_to_right(v, v)))
    np.testing.assert_allclose(matmul(a, b), a @ b, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(matvec(a, v), (a @ v[..., None])[..., 0], rtol=1e-5, atol=1e-5)
    assert matmul(a, b).dtype == np.float32


def test_products_work_on_torch_tensors_like_on_numpy():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(7, 3, 3)), rng.normal(size=(7, 3, 3))
    assert np.array_equal(matmul(torch.from_numpy(a), torch.from_numpy(b)).numpy(), matmul(a, b))
    assert np.array_equal(matvec(torch.from_numpy(a), torch.from_numpy(b[:, 0])).numpy(), matvec(a, b[:, 0]))


def test_dot_refuses_mismatched_axes():
    with pytest.raises(ValueError, match="last axes differ"):
        dot(np.zeros(3), np.zeros(4))


def test_inverse3_inverts():
    m = np.random.default_rng(2).normal(size=(20, 3, 3))
    np.testing.assert_allclose(matmul(inverse3(m), m), np.broadcast_to(np.eye(3), m.shape), atol=1e-9)


def test_grid_distances_are_integers_independent_of_order():
    rng = np.random.default_rng(3)
    x = rng.normal(scale=0.5, size=(40, 66)).astype(np.float32)
    d = GridDistances(x, 1e-4).from_rows(np.arange(5))
    q = np.rint(x.astype(np.float64) / 1e-4)
    expected = ((q[:5, None, :] - q[None, :, :]) ** 2).sum(-1)
    assert np.array_equal(d, expected) and np.array_equal(np.diagonal(d[:, :5]), np.zeros(5))
    perm = rng.permutation(66)
    assert np.array_equal(GridDistances(x[:, perm], 1e-4).from_rows(np.arange(5)), d)
    with pytest.raises(ValueError, match="coarser quantum"):
        GridDistances(x * 1e6, 1e-4)


def test_in_float64_keeps_the_dtype_and_rounds_the_float64_value():
    x = np.linspace(-3, 3, 1001, dtype=np.float32)
    out = in_float64(np.sin, x)
    assert out.dtype == np.float32 and np.array_equal(out, np.sin(x.astype(np.float64)).astype(np.float32))
    assert in_float64(np.exp, 1).dtype == np.float64
