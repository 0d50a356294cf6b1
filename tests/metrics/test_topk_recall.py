"""topk_recall against a plain-loop reference and hand-worked cases."""

from __future__ import annotations

import importlib
import re

import numpy as np
import pytest

from bench.errors import ConfigError, ValidationError
from bench.metrics import topk_recall
from tests.metrics.helpers import unit_rows

TOL = 1e-9


def reference_ranks(queries, gallery):
    """For each query i, how many gallery items j != i score at least as high as gallery[i]."""
    ranks = []
    for i, q in enumerate(queries):
        scores = [sum(float(a) * float(b) for a, b in zip(q, g)) for g in gallery]
        ranks.append(sum(1 for j, s in enumerate(scores) if j != i and s >= scores[i] - TOL))
    return ranks


def noisy_pairs(seed: int, n: int, d: int = 6, noise: float = 0.7):
    rng = np.random.default_rng(seed)
    b = unit_rows(rng, n, d)
    a = b + noise * rng.standard_normal((n, d))
    return a / np.linalg.norm(a, axis=1, keepdims=True), b


def test_matches_reference():
    a, b = noisy_pairs(0, 60)
    res = topk_recall(a, b, ks=(1, 5, 10))
    ref_a2b, ref_b2a = reference_ranks(a, b), reference_ranks(b, a)
    assert res.a2b_ranks.tolist() == ref_a2b and res.b2a_ranks.tolist() == ref_b2a
    expected = {}
    for name, ranks in (("a2b", ref_a2b), ("b2a", ref_b2a)):
        for k in (1, 5, 10):
            expected[f"{name}_R@{k}"] = 100.0 * sum(r < k for r in ranks) / 60
    expected["mRecall"] = sum(expected.values()) / 6
    assert res.values == pytest.approx(expected, abs=1e-12)
    assert list(res.values) == [*expected]  # key order: a2b, b2a, mRecall
    assert 0 < res["a2b_R@1"] < res["a2b_R@10"] < 100  # a case that can fail
    assert res.n == 60 and res.ks == (1, 5, 10)


def test_hand_worked_three_items():
    # a0 finds b0; a1 prefers b0 (0.8) to b1 (0.6); a2 finds b2 (1.0).
    b = np.eye(3)
    a = np.array([[1.0, 0.0, 0.0], [0.8, 0.6, 0.0], [0.0, 0.0, 1.0]])
    res = topk_recall(a, b, ks=(1, 2))
    assert res.a2b_ranks.tolist() == [0, 1, 0]
    # b0 against a: a0 = 1.0 beats a1 = 0.8; b1: a1 = 0.6 beats a0 = a2 = 0; b2: a2 = 1.0
    assert res.b2a_ranks.tolist() == [0, 0, 0]
    assert res["a2b_R@1"] == pytest.approx(200 / 3) and res["a2b_R@2"] == 100.0
    assert res["b2a_R@1"] == 100.0
    assert res["mRecall"] == pytest.approx((200 / 3 + 300) / 4)


def test_perfect_and_identical_embeddings():
    e = unit_rows(np.random.default_rng(1), 20, 8)
    assert topk_recall(e, e)["mRecall"] == 100.0
    same = np.tile(e[:1], (20, 1))
    res = topk_recall(same, same, ks=(1, 19, 20))
    assert res["a2b_R@1"] == 0.0 and res["a2b_R@19"] == 0.0 and res["a2b_R@20"] == 100.0
    assert (res.a2b_ranks == 19).all() and (res.b2a_ranks == 19).all()


def test_invariant_to_item_order_and_dtype():
    a, b = noisy_pairs(2, 80)
    base = topk_recall(a, b)
    perm = np.random.default_rng(3).permutation(80)
    shuffled = topk_recall(a[perm], b[perm])
    assert shuffled.values == base.values
    assert shuffled.a2b_ranks.tolist() == base.a2b_ranks[perm].tolist()
    single = topk_recall(a.astype(np.float32), b.astype(np.float32))
    assert single.values == base.values


def test_chunked_scores_match_unchunked(monkeypatch):
    a, b = noisy_pairs(4, 50)
    base = topk_recall(a, b)
    module = importlib.import_module("bench.metrics.topk_recall")
    monkeypatch.setattr(module, "_CHUNK_ELEMENTS", 7 * 50)  # 7-row chunks
    chunked = topk_recall(a, b)
    assert chunked.a2b_ranks.tolist() == base.a2b_ranks.tolist()
    assert chunked.values == base.values


def test_random_embeddings_near_chance():
    rng = np.random.default_rng(5)
    res = topk_recall(unit_rows(rng, 1000, 16), unit_rows(rng, 1000, 16), ks=(10, 100))
    assert res["a2b_R@100"] == pytest.approx(10.0, abs=3.0)
    assert res["b2a_R@10"] == pytest.approx(1.0, abs=1.0)


@pytest.mark.parametrize(
    ("a", "b", "ks", "error", "text"),
    [
        (np.eye(3), np.eye(3), (1, 5), ConfigError, "k=5 is outside [1, 3]"),
        (np.eye(3), np.eye(3), (), ConfigError, "ks is empty"),
        (np.eye(3), np.eye(4), (1,), ValidationError, "shape"),
        (np.eye(3) * 0.5, np.eye(3), (1,), ValidationError, "L2 norm"),
        (np.zeros((0, 3)), np.zeros((0, 3)), (1,), ValidationError, "empty"),
        (np.eye(3)[0], np.eye(3)[0], (1,), ValidationError, "2 dimensions"),
    ],
)
def test_errors(a, b, ks, error, text):
    with pytest.raises(error, match=re.escape(text)):
        topk_recall(a, b, ks=ks)
