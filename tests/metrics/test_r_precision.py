"""r_precision and matching_score against plain-loop references and hand-worked cases."""

from __future__ import annotations

import importlib
import re

import numpy as np
import pytest

from bench.errors import ConfigError, ValidationError
from bench.metrics import matching_score, r_precision
from bench.metrics.r_precision import _pool_chance
from tests.metrics.helpers import random_rotation, unit_rows

TOL = 1e-9  # the documented tie tolerance


def _dot(u: np.ndarray, v: np.ndarray) -> float:
    return float(sum(float(a) * float(b) for a, b in zip(u, v)))


def _rank(scores: list[float], true: int) -> int:
    """Pessimistic rank: other candidates scoring at least the true score (minus the tolerance)."""
    return sum(1 for j, s in enumerate(scores) if j != true and s >= scores[true] - TOL)


def reference_blocks(q, c, ks, seed, pool):
    """UniPose-style R-precision written plainly: {query index: [hit@k, ...]}."""
    perm = np.random.default_rng(seed).permutation(len(q))
    hits = {}
    for b in range(len(q) // pool):
        block = [int(i) for i in perm[b * pool : (b + 1) * pool]]
        for a, i in enumerate(block):
            rank = _rank([_dot(q[i], c[j]) for j in block], a)
            hits[i] = [rank < k for k in ks]
    return hits


def reference_posescript(q, c, ks, seed, pool, reps):
    """PoseScript-style R-precision written plainly, with the documented draw order."""
    rng = np.random.default_rng(seed)
    n = len(q)
    mean_ranks = []
    for i in range(n):
        total = 0
        for _ in range(reps):
            drawn = rng.choice(n - 1, size=pool - 1, replace=False)
            others = [int(d) + 1 if d >= i else int(d) for d in drawn]
            total += _rank([_dot(q[i], c[j]) for j in [i, *others]], 0)
        mean_ranks.append(total / reps)
    return mean_ranks, [[m < k for k in ks] for m in mean_ranks]


def noisy_pairs(seed: int, n: int, d: int = 8, noise: float = 0.8):
    """Queries correlated with their candidates, so ranks vary between 0 and the pool size."""
    rng = np.random.default_rng(seed)
    c = unit_rows(rng, n, d)
    q = c + noise * rng.standard_normal((n, d))
    return q / np.linalg.norm(q, axis=1, keepdims=True), c


def test_blocks_matches_reference():
    q, c = noisy_pairs(0, 75)
    res = r_precision(q, c, ks=(1, 2, 5), protocol="blocks32", seed=3, pool_size=8)
    ref = reference_blocks(q, c, (1, 2, 5), 3, 8)
    assert res.n == 72 and res.n_total == 75 and res.repetitions == 1
    assert res.query_index.tolist() == sorted(ref)
    assert res.per_query.tolist() == [ref[i] for i in sorted(ref)]
    for j, k in enumerate((1, 2, 5)):
        assert res.values[k] == pytest.approx(100.0 * sum(ref[i][j] for i in ref) / 72, abs=1e-12)
    assert 0 < res.values[1] < res.values[2] < res.values[5] < 100  # a case that can fail


def test_posescript_matches_reference():
    q, c = noisy_pairs(1, 40)
    res = r_precision(q, c, ks=(1, 3), protocol="posescript", seed=5, pool_size=6, repetitions=4)
    ranks, hits = reference_posescript(q, c, (1, 3), 5, 6, 4)
    assert res.n == 40 and res.query_index.tolist() == list(range(40))
    np.testing.assert_array_equal(res.ranks, ranks)
    assert res.per_query.tolist() == hits
    assert 0 < res.values[1] < res.values[3] < 100


@pytest.mark.parametrize("protocol", ["blocks32", "posescript"])
def test_perfect_embeddings_score_100(protocol):
    e = unit_rows(np.random.default_rng(2), 64, 16)
    res = r_precision(e, e, protocol=protocol, seed=0)
    assert res.values == {1: 100.0, 2: 100.0, 3: 100.0}
    assert res.per_query.all() and (res.ranks == 0).all()


@pytest.mark.parametrize("protocol", ["blocks32", "posescript"])
def test_random_embeddings_score_near_chance(protocol):
    rng = np.random.default_rng(3)
    q, c = unit_rows(rng, 2000, 32), unit_rows(rng, 2000, 32)
    res = r_precision(q, c, protocol=protocol, seed=1)
    for k in (1, 2, 3):
        # one standard error is below 0.7 percentage points here
        assert res.values[k] == pytest.approx(res.chance[k], abs=2.5)


def test_chance_levels():
    e = unit_rows(np.random.default_rng(4), 64, 8)
    assert r_precision(e, e, protocol="blocks32", seed=0).chance == {1: 3.125, 2: 6.25, 3: 9.375}
    single = r_precision(e, e, protocol="posescript", seed=0, repetitions=1).chance
    assert single == pytest.approx({1: 3.125, 2: 6.25, 3: 9.375}, abs=1e-9)
    # R = 10 thresholds the mean rank: above k/32, near k·R/(R·(P−1)+1) once N >> P
    many = r_precision(e, e, protocol="posescript", seed=0).chance
    assert many[1] > 3.125 and many[3] > 9.375
    limit = _pool_chance(20000, 32, 10, (1, 2, 3))
    assert limit == pytest.approx({k: 100 * k * 10 / 311 for k in (1, 2, 3)}, abs=0.01)


def _four_items() -> tuple[np.ndarray, np.ndarray]:
    """Items 0–2 always find their partner; item 3's query prefers candidate 0 to its own
    (0.8 > 0.6) and its own to candidates 1 and 2 (0.6 > 0)."""
    c = np.eye(4)
    q = np.eye(4)
    q[3] = [0.8, 0.0, 0.0, 0.6]
    return q, c


def test_hand_made_four_items_blocks():
    q, c = _four_items()
    with_zero = 0
    for seed in range(300):
        res = r_precision(q, c, ks=(1, 2), protocol="blocks32", seed=seed, pool_size=2)
        perm = np.random.default_rng(seed).permutation(4).tolist()
        partner = perm[perm.index(3) ^ 1]  # blocks are positions (0, 1) and (2, 3)
        assert res.values == {1: 75.0 if partner == 0 else 100.0, 2: 100.0}
        assert res.chance == {1: 50.0, 2: 100.0}
        with_zero += partner == 0
    assert 70 <= with_zero <= 130  # partner 0 has probability 1/3


def test_hand_made_four_items_posescript():
    q, c = _four_items()
    always = 0
    for seed in range(300):
        res = r_precision(
            q, c, ks=(1, 2), protocol="posescript", seed=seed, pool_size=2, repetitions=3
        )
        rng = np.random.default_rng(seed)
        draws_for_3 = [
            [int(rng.choice(3, size=1, replace=False)[0]) for _ in range(3)] for _ in range(4)
        ][3]
        zeros = sum(d == 0 for d in draws_for_3)  # item 3 draws from (0, 1, 2): 0 beats it
        assert res.ranks.tolist() == [0.0, 0.0, 0.0, zeros / 3]
        # hit@1 needs a mean rank below 1 (PoseScript's `all_gt_rank < k`): any pool without 0
        assert res.values == {1: 75.0 if zeros == 3 else 100.0, 2: 100.0}
        always += zeros == 3
    assert 3 <= always <= 22  # (1/3)^3 of 300 = 11.1


@pytest.mark.parametrize("protocol", ["blocks32", "posescript"])
def test_identical_embeddings_cannot_score(protocol):
    e = np.tile(unit_rows(np.random.default_rng(6), 1, 8), (40, 1))
    res = r_precision(e, e, ks=(1, 3, 32), protocol=protocol, seed=0)
    assert res.values == {1: 0.0, 3: 0.0, 32: 100.0}
    assert (res.ranks == 31).all()


def test_duplicate_pair_ties_are_pessimistic():
    q = np.eye(4)
    q[1] = q[0]  # items 0 and 1 are indistinguishable
    seed = next(s for s in range(50) if set(np.random.default_rng(s).permutation(4)[:2]) == {0, 1})
    res = r_precision(q, q, ks=(1, 2), protocol="blocks32", seed=seed, pool_size=2)
    assert res.ranks.tolist() == [1.0, 1.0, 0.0, 0.0]
    assert res.values == {1: 50.0, 2: 100.0}


@pytest.mark.parametrize("protocol", ["blocks32", "posescript"])
def test_deterministic_for_a_seed_and_seed_sensitive(protocol):
    q, c = noisy_pairs(7, 200, noise=1.0)
    a = r_precision(q, c, protocol=protocol, seed=11)
    b = r_precision(q, c, protocol=protocol, seed=11)
    other = r_precision(q, c, protocol=protocol, seed=12)
    assert a.values == b.values and np.array_equal(a.ranks, b.ranks)
    assert not np.array_equal(a.ranks, other.ranks)
    assert (a.protocol, a.seed, a.pool_size) == (protocol, 11, 32)


@pytest.mark.parametrize("protocol", ["blocks32", "posescript"])
def test_invariant_to_rotation_and_dtype(protocol):
    q, c = noisy_pairs(8, 100, noise=1.0)
    rot = random_rotation(np.random.default_rng(9), q.shape[1])
    base = r_precision(q, c, protocol=protocol, seed=2)
    rotated = r_precision(q @ rot, c @ rot, protocol=protocol, seed=2)
    single = r_precision(q.astype(np.float32), c.astype(np.float32), protocol=protocol, seed=2)
    for other in (rotated, single):
        np.testing.assert_array_equal(other.ranks, base.ranks)
        assert other.values == base.values


def test_result_arrays_are_read_only():
    e = unit_rows(np.random.default_rng(10), 32, 4)
    res = r_precision(e, e, protocol="blocks32", seed=0)
    with pytest.raises(ValueError):
        res.per_query[0, 0] = False


@pytest.mark.parametrize(
    ("kwargs", "error", "text"),
    [
        ({"q": np.eye(4)[:3], "c": np.eye(4)[:3], "pool_size": 4}, ValidationError, "pool_size=4"),
        ({"c": np.eye(4)[:, :3]}, ValidationError, "shape"),
        ({"q": np.full((4, 4), np.nan)}, ValidationError, "non-finite"),
        ({"q": 2 * np.eye(4)}, ValidationError, "L2 norm"),
        ({"protocol": "t2m"}, ConfigError, "unknown R-precision protocol"),
        ({"ks": (1, 5)}, ConfigError, "outside [1, 2]"),
        ({"ks": (1, 1)}, ConfigError, "duplicate"),
        ({"seed": -1}, ConfigError, "seed"),
        ({"pool_size": 1}, ConfigError, "pool_size"),
        ({"repetitions": 0}, ConfigError, "repetitions"),
    ],
)
def test_errors(kwargs, error, text):
    args = {
        "q": np.eye(4), "c": np.eye(4), "ks": (1, 2), "protocol": "blocks32", "seed": 0,
        "pool_size": 2, "repetitions": 1,
    }
    args.update(kwargs)
    with pytest.raises(error, match=re.escape(text)):
        r_precision(args.pop("q"), args.pop("c"), **args)


def test_matching_score():
    q = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
    c = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, -1.0]])
    res = matching_score(q, c)
    assert res.per_item.tolist() == pytest.approx([1.0, 0.6, -1.0])
    assert res.value == pytest.approx(0.6 / 3)


def test_posescript_chunking_does_not_change_draws_or_ranks(monkeypatch):
    q, c = noisy_pairs(11, 50)
    base = r_precision(q, c, protocol="posescript", seed=4, pool_size=8, repetitions=3)
    module = importlib.import_module("bench.metrics.r_precision")
    monkeypatch.setattr(module, "_CHUNK_ELEMENTS", 7 * 50)  # 7-query chunks
    chunked = r_precision(q, c, protocol="posescript", seed=4, pool_size=8, repetitions=3)
    np.testing.assert_array_equal(chunked.ranks, base.ranks)
