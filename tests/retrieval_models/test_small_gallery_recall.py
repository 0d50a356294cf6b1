"""recall_metrics on splits smaller than its largest k (tiny imports): R@k is R@N there, every key present."""

from __future__ import annotations

import numpy as np
import pytest

from bench.metrics import topk_recall
from retrieval_models.scoring import recall_metrics


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("n", [1, 3, 7])
def test_gallery_smaller_than_k(n: int) -> None:
    rng = np.random.default_rng(n)
    text, item = _unit(rng.normal(size=(n, 8))), _unit(rng.normal(size=(n, 8)))
    out = recall_metrics(text, item)
    raw = topk_recall(text, item, ks=(1,))
    assert out["t2p_R@1"] == raw["a2b_R@1"] and out["p2t_R@1"] == raw["b2a_R@1"]
    for k in (k for k in (5, 10) if k >= n):  # every item is in the top k
        assert out[f"t2p_R@{k}"] == out[f"p2t_R@{k}"] == 100.0
    assert out["mRecall"] == pytest.approx(np.mean([v for key, v in out.items() if key != "mRecall"]))


def test_large_gallery_unchanged() -> None:
    rng = np.random.default_rng(0)
    text, item = _unit(rng.normal(size=(40, 8))), _unit(rng.normal(size=(40, 8)))
    raw = topk_recall(text, item, ks=(1, 5, 10))
    out = recall_metrics(text, item)
    assert out["mRecall"] == raw["mRecall"]
    assert all(out[f"t2p_R@{k}"] == raw[f"a2b_R@{k}"] and out[f"p2t_R@{k}"] == raw[f"b2a_R@{k}"] for k in (1, 5, 10))
