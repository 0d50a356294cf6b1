"""Retrieval metrics of an evaluator on a split: recall both ways, mRecall and GT R-precision.

Everything is computed with ``bench.metrics`` on the whole split as the gallery, as PoseScript does
(docs/peers.md#posescript-evaluation):
R@1/5/10 text->item (``t2p``) and item->text (``p2t``; "p" is the pose, or the pose pair), their
mean ``mRecall``, and R-precision top-1/2/3 of the ground-truth texts under both protocols
(``blocks32``: UniPose's disjoint blocks of 32; ``posescript``: 31 random distractors per query,
10 repetitions), texts as queries and items as candidates, seeded.
"""

from __future__ import annotations

import logging

import numpy as np

from bench.metrics.r_precision import POOL_SIZE, PROTOCOLS
from retrieval_models.evaluator import Evaluator
from retrieval_models.training_data import RetrievalSet

logger = logging.getLogger(__name__)

__all__ = ["retrieval_metrics", "selection_score", "recall_metrics", "RECALL_KS", "RPREC_KS", "PROTOCOLS"]

RECALL_KS = (1, 5, 10)
RPREC_KS = (1, 2, 3)


def recall_metrics(text_emb: np.ndarray, item_emb: np.ndarray) -> dict[str, float]:
    """``t2p_R@k`` / ``p2t_R@k`` for k in 1, 5, 10 and ``mRecall``, in percent, over the full gallery.

    A gallery of N < k items has every item in its top k, so R@k is R@N (100) there: a tiny split
    (e.g. a small or test-fixture import) still yields every key.

    Args:
        text_emb, item_emb: float32 (N, D) unit vectors; row i of each is a matched pair.
    """
    from bench.metrics import topk_recall

    cut = {k: min(k, len(text_emb)) for k in RECALL_KS}
    raw = topk_recall(text_emb, item_emb, ks=sorted(set(cut.values())))
    out = {f"t2p_R@{k}": float(raw[f"a2b_R@{cut[k]}"]) for k in RECALL_KS}
    out.update({f"p2t_R@{k}": float(raw[f"b2a_R@{cut[k]}"]) for k in RECALL_KS})
    out["mRecall"] = float(np.mean(list(out.values())))  # = raw["mRecall"] when N >= 10
    return out


def _rprecision(text_emb: np.ndarray, item_emb: np.ndarray, seed: int) -> dict[str, float]:
    from bench.metrics import r_precision

    out: dict[str, float] = {}
    if len(text_emb) < POOL_SIZE:
        logger.warning("R-precision needs >= %d items, got %d: left out", POOL_SIZE, len(text_emb))
        return out
    for protocol in PROTOCOLS:
        result = r_precision(text_emb, item_emb, ks=RPREC_KS, protocol=protocol, seed=seed)
        out.update({f"rprec_{protocol}_top{k}": float(result.values[k]) for k in RPREC_KS})
    return out


def _embed_items(evaluator: Evaluator, data: RetrievalSet) -> np.ndarray:
    if data.kind == "pose-text":
        return evaluator.embed_poses(data.items)
    return evaluator.embed_pairs(data.items[:, 0], data.items[:, 1])


def selection_score(evaluator: Evaluator, data: RetrievalSet) -> float:
    """Val mRecall with the deterministic-mix texts: the model-selection criterion."""
    return recall_metrics(evaluator.embed_texts(data.texts_mixed()), _embed_items(evaluator, data))["mRecall"]


def retrieval_metrics(evaluator: Evaluator, data: RetrievalSet, *, seed: int = 0) -> dict[str, float | int | str]:
    """All retrieval metrics, averaged over the caption indices of ``data`` (see ``training_data``).

    Returns:
        ``{"n", "source", "caption_indices", "t2p_R@1", ..., "p2t_R@10", "mRecall",
        "rprec_blocks32_top1", ..., "rprec_posescript_top3"}``; metrics in percent. R-precision
        keys are left out for fewer than 32 items (a pool of 32 is needed).
    """
    item_emb = _embed_items(evaluator, data)
    per_index = []
    for index in range(data.caption_indices()):
        text_emb = evaluator.embed_texts(data.texts_at(index))
        per_index.append({**recall_metrics(text_emb, item_emb), **_rprecision(text_emb, item_emb, seed)})
    means = {key: float(np.mean([m[key] for m in per_index])) for key in per_index[0]}  # same keys in all
    return {"n": len(data), "source": data.source, "caption_indices": len(per_index), "seed": seed, **means}
