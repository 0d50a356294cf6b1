"""The pessimistic tie rule shared by the retrieval metrics.

The rank of the true candidate is the number of *other* candidates whose score is at least the true
score minus :data:`TIE_TOLERANCE`: the true item is ranked after every item it ties with. Identical
embeddings therefore can never score a perfect retrieval, and the rank does not depend on the order
of the candidates. Scores are cosines in ``[-1, 1]`` computed in float64, whose summation-order
rounding (below 1e-13 for unit vectors of dimension up to ~10^4) stays far under the tolerance, and
float32 embeddings cannot resolve differences below ~6e-8, so the tolerance only absorbs noise.
"""

from __future__ import annotations

import numpy as np

#: Scores within this absolute distance of the true score count as ties (cosine units).
TIE_TOLERANCE = 1e-9


def rank_of_true(scores: np.ndarray, true_col: np.ndarray) -> np.ndarray:
    """Pessimistic 0-based rank of each query's true candidate among its candidates.

    Args:
        scores: float64 ``(..., M)``: each query's scores against its ``M`` candidates (the true
            one included).
        true_col: int ``(...)``: the column of ``scores`` that holds the true candidate.

    Returns:
        int64 ``(...)`` in ``[0, M - 1]``: how many other candidates tie with or beat the true one.
    """
    true = np.take_along_axis(scores, np.asarray(true_col)[..., None], axis=-1)
    at_least = scores >= true - TIE_TOLERANCE
    return at_least.sum(axis=-1, dtype=np.int64) - 1  # the true candidate always counts itself
