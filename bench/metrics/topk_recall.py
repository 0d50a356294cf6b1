"""Full-gallery top-k retrieval recall in both directions, and mRecall.

Dimensions: ``N`` matched items, ``D`` embedding size. ``a`` and ``b`` are ``(N, D)``
L2-normalised embeddings (computed in float64); row ``i`` of each is a matched pair and similarity
is the dot product. Each query of one side ranks the whole other side (no subsampling, as in
PoseScript's ``x2y_recall_metrics`` and UniPose's ``calculate_A2B_topk_recalls``); the true
partner is matched by index, ties are pessimistic (``bench.metrics._ranking``). Results do not
depend on the order of the items.

Keys of ``TopKRecall.values`` (percent): ``"a2b_R@<k>"`` (queries from ``a``), ``"b2a_R@<k>"``,
and ``"mRecall"``, the plain mean of the ``2·len(ks)`` recalls. PoseScript uses ks (1, 5, 10);
UniPose (1, 5, 10, 20), so mRecall is only comparable for equal ks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from bench.metrics._checks import as_embedding_pair, check_ks
from bench.metrics._ranking import rank_of_true

# Float64 score entries held at once (a chunk of rows of the N x N score matrix).
_CHUNK_ELEMENTS = 1 << 23


@dataclass(frozen=True, eq=False)
class TopKRecall:
    """Recall@k both ways; ``result[name]`` reads ``result.values[name]``."""

    values: dict[str, float]
    """``{"a2b_R@k": %, ..., "b2a_R@k": %, ..., "mRecall": %}``."""
    a2b_ranks: np.ndarray
    """int64 ``(N,)``: 0-based rank of ``b[i]`` when ``a[i]`` queries all of ``b``."""
    b2a_ranks: np.ndarray
    """int64 ``(N,)``: 0-based rank of ``a[i]`` when ``b[i]`` queries all of ``a``."""
    ks: tuple[int, ...]
    """The cut-offs."""
    n: int
    """Gallery size ``N``."""

    def __getitem__(self, key: str) -> float:
        return self.values[key]


def topk_recall(a: ArrayLike, b: ArrayLike, ks: Sequence[int] = (1, 5, 10)) -> TopKRecall:
    """Top-k recall of matched pairs over the full gallery, both directions, in percent.

    Args:
        a: ``(N, D)`` L2-normalised embeddings (e.g. texts).
        b: ``(N, D)`` L2-normalised embeddings (e.g. poses); row ``i`` matches ``a[i]``.
        ks: cut-offs, each in ``[1, N]``.

    Raises:
        ValidationError: shape mismatch, non-finite or non-normalised rows.
        ConfigError: bad ``ks`` (empty, duplicate, or larger than ``N``).

    >>> e = np.eye(3)
    >>> topk_recall(e, e, ks=(1,))["mRecall"]
    100.0
    """
    a64, b64 = as_embedding_pair(a, b, ("a", "b"))
    n = a64.shape[0]
    ks = check_ks(ks, upper=n, upper_name="gallery size N")
    a2b, b2a = _full_ranks(a64, b64), _full_ranks(b64, a64)
    values: dict[str, float] = {}
    for name, ranks in (("a2b", a2b), ("b2a", b2a)):
        for k in ks:
            values[f"{name}_R@{k}"] = 100.0 * float(np.mean(ranks < k))
    values["mRecall"] = float(np.mean(list(values.values())))
    a2b.flags.writeable = False
    b2a.flags.writeable = False
    return TopKRecall(values=values, a2b_ranks=a2b, b2a_ranks=b2a, ks=ks, n=n)


def _full_ranks(queries: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    """int64 ``(N,)``: rank of ``gallery[i]`` among all rows of ``gallery`` for ``queries[i]``."""
    n = queries.shape[0]
    ranks = np.empty(n, dtype=np.int64)
    chunk = max(1, _CHUNK_ELEMENTS // n)
    for start in range(0, n, chunk):
        rows = np.arange(start, min(n, start + chunk))
        ranks[rows] = rank_of_true(queries[rows] @ gallery.T, rows)
    return ranks
