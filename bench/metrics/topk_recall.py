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

The module also registers the ``topk_recall`` measure: R^T2P / R^P2T of a pose task, the
ground-truth texts against the predicted poses through the task's pose-text evaluator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from bench.metrics._checks import as_embedding_pair, check_ks
from bench.metrics._ranking import rank_of_true
from bench.metrics.measure import Measured, MeasureInput, Measurements, register_measure

if TYPE_CHECKING:
    from tasks.spec import MetricSpec

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


@register_measure("topk_recall", output_kinds=("pose",), protocols=("full-gallery",),
                  requires=("k", "query", "evaluator"))  # fmt: skip
def measure_recall(inputs: MeasureInput, specs: Sequence[MetricSpec]) -> Measurements:
    """Full-gallery recall between each sample's retrieval text and its predicted pose:
    ``query="text"`` reads text → pose (``a2b``), ``query="pose"`` pose → text (``b2a``)."""
    usable, skipped = gallery_fits(specs, len(inputs))
    if not usable:
        return {}, skipped
    predicted, texts = inputs.embedded_poses(), inputs.embedded_retrieval_texts()
    with inputs.timed("topk_recall"):
        result = topk_recall(texts, predicted, ks=tuple(sorted({int(m.k or 0) for m in usable})))
    out = {}
    for spec in usable:
        direction = "a2b" if spec.query == "text" else "b2a"
        ranks = result.a2b_ranks if direction == "a2b" else result.b2a_ranks
        per_query = (ranks < int(spec.k or 0)).astype(np.float64) * 100.0
        facts = {"gallery_size": result.n, "chance": 100.0 * int(spec.k or 0) / result.n}
        out[spec.name] = Measured(value=result.values[f"{direction}_R@{spec.k}"], per_sample=per_query, facts=facts)
    return out, skipped


def gallery_fits(specs: Sequence[MetricSpec], n: int) -> tuple[list[MetricSpec], dict[str, str]]:
    """The retrieval metrics whose ``k`` fits a gallery of ``n`` samples, and a reason for the others."""
    usable = [m for m in specs if int(m.k or 0) <= n]
    skipped = {m.name: f"needs a gallery of at least {m.k} samples, got {n}" for m in specs if m not in usable}
    return usable, skipped
