"""fid / fid_from_stats against closed forms and an eigenvalue-based reference."""

from __future__ import annotations

import importlib
import re

import numpy as np
import pytest

from bench.errors import InternalError, ValidationError
from bench.metrics import feature_stats, fid, fid_from_stats

fid_module = importlib.import_module("bench.metrics.fid")  # the package exports the function as `fid`


def reference_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance with explicit sums over samples."""
    n, d = x.shape
    mu = np.zeros(d)
    for row in x:
        mu += row
    mu /= n
    sigma = np.zeros((d, d))
    for row in x:
        sigma += np.outer(row - mu, row - mu)
    return mu, sigma / (n - 1)


def psd_sqrt(a: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(a)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def trace_sqrt_product(s1: np.ndarray, s2: np.ndarray) -> float:
    """tr sqrt(S1 S2) as the sum of square roots of the eigenvalues of S1^½ S2 S1^½ (no sqrtm)."""
    root1 = psd_sqrt(s1)
    return float(np.sqrt(np.clip(np.linalg.eigvalsh(root1 @ s2 @ root1), 0, None)).sum())


def reference_fid(mu1, s1, mu2, s2) -> float:
    diff = np.asarray(mu1) - np.asarray(mu2)
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt_product(s1, s2))


def test_one_dimensional_by_hand():
    # (0 - 3)^2 + 4 + 1 - 2·sqrt(4·1) = 10
    res = fid_from_stats([0.0], [[4.0]], [3.0], [[1.0]])
    assert res.value == pytest.approx(10.0, abs=1e-12)
    assert (res.eps_used, res.max_imag, res.n_pred, res.n_real, res.dim, res.warnings) == (
        0.0, 0.0, None, None, 1, ()
    )


def test_diagonal_gaussians_closed_form():
    a, b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    expected = 1 + 4 + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)  # |dmu|^2 + sum (sqrt a - sqrt b)^2
    res = fid_from_stats(mu1, np.diag(a), mu2, np.diag(b))
    assert res.value == pytest.approx(expected, abs=1e-12)


def test_general_covariances_match_reference():
    rng = np.random.default_rng(0)
    m1, m2 = rng.normal(size=(2, 6, 6))
    s1, s2 = m1 @ m1.T, m2 @ m2.T + 0.1 * np.eye(6)
    mu1, mu2 = rng.normal(size=(2, 6))
    res = fid_from_stats(mu1, s1, mu2, s2)
    assert res.value == pytest.approx(reference_fid(mu1, s1, mu2, s2), rel=1e-9)
    assert res.value > 1.0


def test_samples_from_known_gaussians_approach_closed_form():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(20000, 3)) * [1.0, 2.0, 0.5]
    b = rng.normal(size=(20000, 3)) * [1.0, 1.0, 0.5] + [0.5, 0.0, 0.0]
    expected = 0.25 + (2.0 - 1.0) ** 2
    res = fid(a, b)
    assert res.value == pytest.approx(expected, abs=0.05)
    assert (res.n_pred, res.n_real, res.dim, res.warnings) == (20000, 20000, 3, ())


def test_features_match_reference_and_np_cov():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(40, 5)) @ rng.normal(size=(5, 5))
    y = rng.normal(size=(30, 5)) + 0.3
    mu, sigma = feature_stats(x)
    ref_mu, ref_sigma = reference_stats(x)
    np.testing.assert_allclose(mu, ref_mu, atol=1e-12)
    np.testing.assert_allclose(sigma, ref_sigma, atol=1e-12)
    np.testing.assert_allclose(sigma, np.cov(x, rowvar=False), atol=1e-12)
    expected = reference_fid(*reference_stats(x), *reference_stats(y))
    assert fid(x, y).value == pytest.approx(expected, rel=1e-9)


def test_identical_sets_give_exactly_zero(monkeypatch: pytest.MonkeyPatch):
    x = np.random.default_rng(3).normal(size=(200, 16))
    # no BLAS on this path: the square root's rounding residue (2.1e-14 under OpenBLAS's SkylakeX
    # kernels, 0 under Haswell) cannot reach the value on any CPU
    monkeypatch.setattr(fid_module, "_sqrtm", lambda m: pytest.fail("sqrtm called for identical statistics"))
    res = fid(x, x.copy())
    assert res.value == 0.0 and res.warnings == ()


def test_invariant_to_order_and_dtype():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(100, 8)), rng.normal(size=(80, 8)) + 0.2
    base = fid(x, y).value
    shuffled = fid(x[rng.permutation(100)], y[rng.permutation(80)]).value
    assert shuffled == pytest.approx(base, rel=1e-10)
    assert fid(x.astype(np.float32), y.astype(np.float32)).value == pytest.approx(base, rel=1e-5)


def test_few_samples_warns():
    rng = np.random.default_rng(5)
    res = fid(rng.normal(size=(6, 8)), rng.normal(size=(20, 8)))
    assert len(res.warnings) == 1 and "pred_feats: N=6 <= D=8" in res.warnings[0]
    assert np.isfinite(res.value) and res.value > 0


def test_eps_retry_on_rank_deficient_covariances(caplog):
    # Rank-1 covariances whose computed product is nilpotent ([[0, 1e-170], [0, 0]]: the
    # (1e-170)^2 entry underflows), so sqrtm returns inf and the eps retry must run.
    v = np.array([1e-170, 1.0])
    s1, s2 = np.diag([1.0, 0.0]), np.outer(v, v)
    res = fid_from_stats(np.zeros(2), s1, np.zeros(2), s2, eps=1e-6)
    assert res.eps_used == 1e-6
    assert len(res.warnings) == 1 and "retried with 1e-06" in res.warnings[0]
    assert "retried" in caplog.text
    # pytorch-fid keeps the unregularised traces: tr S1 + tr S2 - 2 tr sqrt((S1+eps)(S2+eps))
    offset = 1e-6 * np.eye(2)
    expected = np.trace(s1) + np.trace(s2) - 2 * trace_sqrt_product(s1 + offset, s2 + offset)
    assert res.value == pytest.approx(expected, abs=1e-9)
    assert 1.9 < res.value < 2.0


def test_small_imaginary_part_is_dropped_and_recorded():
    # A covariance a hair below PSD: sqrt(-1e-8) = 1e-4 i on the diagonal, under the 1e-3 limit.
    res = fid_from_stats(np.zeros(2), np.eye(2), np.zeros(2), np.diag([1.0, -1e-8]))
    assert res.max_imag == pytest.approx(1e-4, rel=1e-6)
    assert res.value == pytest.approx((2.0 + 1.0 - 1e-8) - 2.0 * 1.0, abs=1e-12)


def test_large_imaginary_part_raises():
    with pytest.raises(InternalError, match="imaginary diagonal parts up to 1 > 0.001"):
        fid_from_stats(np.zeros(2), np.eye(2), np.zeros(2), -np.eye(2))


@pytest.mark.parametrize(
    ("args", "text"),
    [
        ((np.zeros((1, 3)), np.zeros((5, 3))), "need at least 2 samples"),
        ((np.zeros((5, 3)), np.zeros((5, 4))), "feature size 4 != 3"),
        ((np.full((5, 3), np.nan), np.zeros((5, 3))), "non-finite"),
        ((np.zeros(5), np.zeros((5, 3))), "2 dimensions"),
    ],
)
def test_feature_errors(args, text):
    with pytest.raises(ValidationError, match=re.escape(text)):
        fid(*args)


def test_stats_errors():
    with pytest.raises(ValidationError, match="not symmetric"):
        fid_from_stats(np.zeros(2), [[1.0, 0.5], [0.0, 1.0]], np.zeros(2), np.eye(2))
    with pytest.raises(ValidationError, match=re.escape("expected shape (2, 2)")):
        fid_from_stats(np.zeros(2), np.eye(2), np.zeros(2), np.eye(3))
