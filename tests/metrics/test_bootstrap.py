"""bootstrap_ci against a plain reference, hand cases and its statistical behaviour."""

from __future__ import annotations

import re

import numpy as np
import pytest

from bench.errors import ConfigError, ValidationError
from bench.metrics import bootstrap_ci


def reference_ci(values, seed, n_resamples, level):
    """The documented draw order, written plainly, with a sorted-list percentile."""
    rng = np.random.default_rng(seed)
    n = len(values)
    means = []
    for _ in range(n_resamples):
        idx = rng.integers(0, n, size=n)
        means.append(sum(float(values[i]) for i in idx) / n)
    means.sort()

    def quantile(p):  # numpy's default "linear" method
        pos = p * (len(means) - 1)
        lo = int(np.floor(pos))
        hi = min(lo + 1, len(means) - 1)
        return means[lo] + (pos - lo) * (means[hi] - means[lo])

    return quantile((1 - level) / 2), quantile((1 + level) / 2)


def test_matches_reference():
    x = np.random.default_rng(0).exponential(size=57)
    low, high = bootstrap_ci(x, seed=3, n_resamples=300, level=0.9)
    ref = reference_ci(x, 3, 300, 0.9)
    assert (low, high) == pytest.approx(ref, abs=1e-12)
    assert low < x.mean() < high


def test_deterministic_and_seed_sensitive():
    x = np.random.default_rng(1).normal(size=100)
    assert bootstrap_ci(x, seed=7) == bootstrap_ci(x, seed=7)
    assert bootstrap_ci(x, seed=7) != bootstrap_ci(x, seed=8)


def test_constant_values_give_a_point():
    assert bootstrap_ci(np.full(10, 3.5), seed=0) == (3.5, 3.5)
    assert bootstrap_ci([4.0], seed=0) == (4.0, 4.0)


def test_coverage_of_the_true_mean():
    rng = np.random.default_rng(2)
    covered = 0
    for trial in range(100):
        x = rng.normal(loc=1.0, size=80)
        low, high = bootstrap_ci(x, seed=trial, n_resamples=400)
        covered += low <= 1.0 <= high
    assert 85 <= covered <= 100  # nominal 95; the percentile bootstrap runs slightly narrow


def test_width_shrinks_like_one_over_root_n():
    rng = np.random.default_rng(3)
    small, large = rng.normal(size=100), rng.normal(size=1600)
    w_small = np.subtract(*bootstrap_ci(small, seed=0)[::-1])
    w_large = np.subtract(*bootstrap_ci(large, seed=0)[::-1])
    assert 0.15 < w_large / w_small < 0.4  # 1/4 expected
    assert w_small == pytest.approx(2 * 1.96 / 10, rel=0.25)


def test_columns_are_resampled_together():
    rng = np.random.default_rng(4)
    hits = rng.random((200, 3)) < [0.2, 0.5, 0.8]  # bool, like RPrecision.per_query
    low, high = bootstrap_ci(hits, seed=5, n_resamples=200)
    assert low.shape == high.shape == (3,)
    for col in range(3):
        assert (low[col], high[col]) == bootstrap_ci(hits[:, col], seed=5, n_resamples=200)
    assert (low < hits.mean(axis=0)).all() and (hits.mean(axis=0) < high).all()


def test_other_statistic():
    x = np.concatenate([np.zeros(50), np.full(51, 10.0)])
    low, high = bootstrap_ci(x, seed=0, statistic=np.median, n_resamples=200)
    assert (low, high) == (0.0, 10.0)


@pytest.mark.parametrize(
    ("values", "kwargs", "error", "text"),
    [
        ([], {}, ValidationError, "non-empty"),
        (np.zeros((2, 2, 2)), {}, ValidationError, "non-empty (N,) or (N, K)"),
        ([1.0, np.nan], {}, ValidationError, "non-finite"),
        (["a"], {}, ValidationError, "not a numeric array"),
        ([1.0], {"level": 1.0}, ConfigError, "level must be in (0, 1)"),
        ([1.0], {"n_resamples": 0}, ConfigError, "n_resamples must be an int >= 1"),
        ([1.0], {"seed": 1.5}, ConfigError, "seed must be an int >= 0"),
    ],
)
def test_errors(values, kwargs, error, text):
    args = {"seed": 0, **kwargs}
    with pytest.raises(error, match=re.escape(text)):
        bootstrap_ci(values, **args)
