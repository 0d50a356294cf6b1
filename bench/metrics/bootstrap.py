"""Seeded percentile-bootstrap confidence intervals over per-sample values.

Dimensions: ``N`` samples, optional ``K`` columns (e.g. the R@1/2/3 hits of each query). The
samples are resampled with replacement, as whole rows, so columns of one sample stay together.
Draw order, for reproducibility: one ``np.random.default_rng(seed)``; for each of the
``n_resamples`` resamples ``idx = rng.integers(0, N, size=N)``; the statistic of ``values[idx]``.
The interval is the ``(1 − level) / 2`` and ``(1 + level) / 2`` quantiles of those statistics
(``numpy.quantile``, linear interpolation).

This fits per-sample means (MPJPE, per-item METEOR, R-precision hits). Set-level metrics (FID,
random-pool R-precision as a whole) need re-computation per replicate instead.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from bench.errors import ConfigError, ValidationError
from bench.metrics._checks import check_int

#: ``statistic(values, axis=0)``: reduces float64 ``(N, ...)`` resampled values over samples.
Statistic = Callable[..., np.ndarray | float]


def bootstrap_ci(
    per_sample: ArrayLike,
    *,
    seed: int,
    n_resamples: int = 1000,
    level: float = 0.95,
    statistic: Statistic = np.mean,
) -> tuple[float, float] | tuple[np.ndarray, np.ndarray]:
    """Percentile-bootstrap confidence interval of ``statistic`` over samples.

    Args:
        per_sample: ``(N,)`` or ``(N, K)`` per-sample values (bool is read as 0/1), ``N >= 1``.
        seed: seed of the resampling generator.
        n_resamples: number of bootstrap resamples.
        level: coverage of the interval, in ``(0, 1)``.
        statistic: a numpy-style reduction called as ``statistic(x, axis=0)``; default the mean.

    Returns:
        ``(low, high)``: floats for ``(N,)`` input, float64 ``(K,)`` arrays for ``(N, K)`` input,
        in the units of ``per_sample``.

    Raises:
        ValidationError: not 1-D or 2-D, empty, or non-finite values.
        ConfigError: ``n_resamples < 1``, ``level`` outside ``(0, 1)``, or a bad ``seed``.

    >>> bootstrap_ci(np.full(5, 2.0), seed=0)
    (2.0, 2.0)
    """
    try:
        values = np.asarray(per_sample, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"not a numeric array ({exc})", field="per_sample") from None
    if values.ndim not in (1, 2) or values.shape[0] == 0:
        raise ValidationError(
            f"expected a non-empty (N,) or (N, K) array, got shape {values.shape}",
            field="per_sample",
        )
    if not np.isfinite(values).all():
        raise ValidationError("non-finite values", field="per_sample")
    check_int(seed, "seed", low=0)
    check_int(n_resamples, "n_resamples", low=1)
    if not 0.0 < level < 1.0:
        raise ConfigError(f"level must be in (0, 1), got {level!r}", field="level")
    rng = np.random.default_rng(seed)
    n = values.shape[0]
    stats = np.empty((n_resamples,) + values.shape[1:], dtype=np.float64)
    for r in range(n_resamples):
        stats[r] = statistic(values[rng.integers(0, n, size=n)], axis=0)
    low, high = np.quantile(stats, [(1.0 - level) / 2.0, (1.0 + level) / 2.0], axis=0)
    if values.ndim == 1:
        return float(low), float(high)
    return low, high
