"""Fréchet distance between Gaussians fitted to two feature sets (FID).

Dimensions: ``N`` samples, ``D`` feature size. Features are float arrays (computed in float64),
typically the 512-d L2-normalised pose embeddings of a retrieval evaluator; set 1 is the predicted
(generated) set, set 2 the real one. Statistics are the float64 mean and the unbiased covariance
(``ddof = 1``, as ``numpy.cov``), so the value is exact whatever batching produced the features.

    FID = ||mu1 − mu2||² + tr(S1) + tr(S2) − 2·tr(sqrtm(S1·S2))

computed as pytorch-fid's ``calculate_frechet_distance`` (which PoseScript, T2M and UniPose copy),
so values are comparable with theirs:

* ``scipy.linalg.sqrtm`` (no ``disp`` argument: removed from SciPy);
* if that square root is not finite (a numerically singular product), retry with ``eps·I`` added to
  both covariances inside the square root; the traces keep the unregularised covariances, as in
  pytorch-fid; the retry is logged and recorded in ``FID.eps_used`` and ``FID.warnings``;
* a complex square root is accepted, keeping its real part, when the largest ``|imag|`` on its
  diagonal is at most 1e-3 (recorded in ``FID.max_imag``), otherwise it is an error;
* identical statistics (bitwise equal means and covariances, e.g. a set against itself) give
  exactly 0, the distance of a Gaussian to itself, without the square root: through BLAS the
  formula leaves a rounding residue whose size and sign depend on the CPU's kernels (2.1e-14 under
  OpenBLAS's SkylakeX kernels, 0 under Haswell);
* rounding can make near-identical sets come out slightly negative: values in ``[−1e-6, 0)`` become
  0; a value below −1e-6 is returned as is with a warning.

With ``N <= D`` the covariance is rank-deficient and the estimate is poor; the result then carries
a warning (state ``N`` and use the same ``N`` for both sets when reporting).

The module also registers the ``fid`` measure: FID between a pose task's predicted and
ground-truth poses, embedded by the task's pose-text evaluator.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import scipy.linalg
from numpy.typing import ArrayLike

from bench.errors import InternalError, ValidationError
from bench.metrics._checks import as_float64
from bench.metrics.measure import Measured, MeasureInput, Measurements, register_measure

if TYPE_CHECKING:
    from tasks.spec import MetricSpec

logger = logging.getLogger(__name__)

#: Largest |imaginary part| on the diagonal of sqrtm(S1·S2) that is dropped silently.
IMAG_TOLERANCE = 1e-3
#: Negative values down to this are rounding and become 0.
NEGATIVE_TOLERANCE = 1e-6
#: Fewest samples per set a task-level FID is computed on (a covariance needs two).
MIN_FID_SAMPLES = 2


@dataclass(frozen=True, eq=False)
class FID:
    """A Fréchet distance and how it was obtained."""

    value: float
    """The distance, >= 0 unless a warning says otherwise (squared feature units)."""
    eps_used: float
    """0.0, or the ``eps`` added to both covariance diagonals after a non-finite square root."""
    max_imag: float
    """Largest |imaginary part| on the diagonal of the matrix square root (0.0 if it was real)."""
    n_pred: int | None
    """Samples in the predicted set (None when computed from statistics)."""
    n_real: int | None
    """Samples in the real set (None when computed from statistics)."""
    dim: int
    """Feature size ``D``."""
    warnings: tuple[str, ...]
    """Numerical fallbacks and caveats, one line each."""


def feature_stats(feats: ArrayLike, name: str = "feats") -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance of a feature set.

    Args:
        feats: ``(N, D)`` features, ``N >= 2``.
        name: argument name used in error messages.

    Returns:
        ``(mu, sigma)``: float64 ``(D,)`` and float64 ``(D, D)`` (symmetric).
    """
    x = as_float64(feats, name, ndim=2)
    if x.shape[0] < 2 or x.shape[1] == 0:
        raise ValidationError(
            f"need at least 2 samples of >= 1 feature, got shape {x.shape}", field=name
        )
    mu = x.mean(axis=0)
    centred = x - mu
    sigma = centred.T @ centred / (x.shape[0] - 1)
    return mu, (sigma + sigma.T) / 2.0


def fid(pred_feats: ArrayLike, real_feats: ArrayLike, *, eps: float = 1e-6) -> FID:
    """FID between predicted and real feature sets.

    Args:
        pred_feats: ``(N1, D)`` features of the predicted set.
        real_feats: ``(N2, D)`` features of the real set.
        eps: the diagonal offset of the retry (module doc).

    Raises:
        ValidationError: wrong shapes, fewer than 2 samples, different ``D``, non-finite values.
        InternalError: a square root with diagonal imaginary parts above 1e-3.

    >>> x = np.random.default_rng(0).normal(size=(50, 2))
    >>> round(fid(x, x + [1.0, 0.0]).value, 9)
    1.0
    """
    mu1, sigma1 = feature_stats(pred_feats, "pred_feats")
    mu2, sigma2 = feature_stats(real_feats, "real_feats")
    if mu1.shape != mu2.shape:
        raise ValidationError(
            f"feature size {mu2.shape[0]} != {mu1.shape[0]} of pred_feats", field="real_feats"
        )
    n_pred, n_real = np.shape(pred_feats)[0], np.shape(real_feats)[0]
    result = fid_from_stats(mu1, sigma1, mu2, sigma2, eps=eps)
    notes = [
        f"{name}: N={n} <= D={mu1.shape[0]}: the covariance is rank-deficient; FID is unreliable"
        for name, n in (("pred_feats", n_pred), ("real_feats", n_real))
        if n <= mu1.shape[0]
    ]
    return replace(result, n_pred=n_pred, n_real=n_real, warnings=result.warnings + tuple(notes))


def fid_from_stats(
    mu1: ArrayLike, sigma1: ArrayLike, mu2: ArrayLike, sigma2: ArrayLike, *, eps: float = 1e-6
) -> FID:
    """FID from sufficient statistics.

    Args:
        mu1, mu2: ``(D,)`` means of the predicted and real sets.
        sigma1, sigma2: ``(D, D)`` symmetric covariances.
        eps: the diagonal offset of the retry (module doc).

    Raises:
        ValidationError: wrong or mismatched shapes, non-finite or non-symmetric covariances.
        InternalError: a square root with diagonal imaginary parts above 1e-3.
    """
    m1, m2 = as_float64(mu1, "mu1", ndim=1), as_float64(mu2, "mu2", ndim=1)
    s1, s2 = as_float64(sigma1, "sigma1", ndim=2), as_float64(sigma2, "sigma2", ndim=2)
    dim = m1.shape[0]
    expected = (("mu2", m2, (dim,)), ("sigma1", s1, (dim, dim)), ("sigma2", s2, (dim, dim)))
    for name, arr, shape in expected:
        if arr.shape != shape:
            raise ValidationError(
                f"expected shape {shape} (D from mu1), got {arr.shape}", field=name
            )
    for name, arr in (("sigma1", s1), ("sigma2", s2)):
        if np.abs(arr - arr.T).max() > 1e-9 * max(1.0, np.abs(arr).max()):
            raise ValidationError("covariance is not symmetric", field=name)
    if np.array_equal(m1, m2) and np.array_equal(s1, s2):
        return FID(value=0.0, eps_used=0.0, max_imag=0.0, n_pred=None, n_real=None, dim=dim, warnings=())
    notes: list[str] = []
    eps_used = 0.0
    covmean = _sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():
        eps_used = float(eps)
        message = f"sqrtm(sigma1 @ sigma2) was not finite; retried with {eps:g}·I added to both"
        logger.warning("FID: %s", message)
        notes.append(message)
        offset = np.eye(dim) * eps
        covmean = _sqrtm((s1 + offset) @ (s2 + offset))
        if not np.isfinite(covmean).all():
            raise InternalError(f"FID: sqrtm is not finite even with {eps:g}·I added")
    max_imag = 0.0
    if np.iscomplexobj(covmean):
        max_imag = float(np.abs(np.diagonal(covmean).imag).max())
        if max_imag > IMAG_TOLERANCE:
            raise InternalError(
                f"FID: sqrtm(sigma1 @ sigma2) has imaginary diagonal parts up to {max_imag:.3g} "
                f"> {IMAG_TOLERANCE:g}; the covariances are numerically degenerate"
            )
        covmean = covmean.real
    diff = m1 - m2
    value = float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean))
    if -NEGATIVE_TOLERANCE <= value < 0.0:
        value = 0.0
    elif value < 0.0:
        notes.append(f"FID came out negative ({value:.3g}): numerical breakdown")
    return FID(
        value=value, eps_used=eps_used, max_imag=max_imag, n_pred=None, n_real=None, dim=dim,
        warnings=tuple(notes),
    )


def _sqrtm(matrix: np.ndarray) -> np.ndarray:
    """``scipy.linalg.sqrtm`` without its "matrix is singular" warning: a singular product is
    expected for ``N <= D`` (warned about in the result) and a failed root is retried above."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        return scipy.linalg.sqrtm(matrix)


@register_measure("fid", output_kinds=("pose",), protocols=("frechet",), requires=("evaluator",))
def measure_fid(inputs: MeasureInput, specs: Sequence[MetricSpec]) -> Measurements:
    """FID between the predicted and the ground-truth poses' evaluator embeddings."""
    if len(inputs) < MIN_FID_SAMPLES:
        return {}, {s.name: f"needs at least {MIN_FID_SAMPLES} samples, got {len(inputs)}" for s in specs}
    predicted, real = inputs.embedded_poses(), inputs.embedded_targets()
    with inputs.timed("fid"):
        result = fid(predicted, real)
    facts = {"eps_used": result.eps_used, "max_imag": result.max_imag, "warnings": list(result.warnings),
             "dim": result.dim, "n_pred": result.n_pred, "n_real": result.n_real}  # fmt: skip
    return {s.name: Measured(value=float(result.value), n=result.n_pred, facts=facts) for s in specs}, {}
