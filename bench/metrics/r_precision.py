"""R-precision of matched embedding pairs under the two published protocols, and matching score.

Dimensions: ``N`` matched items, ``D`` embedding size, ``P`` pool size, ``R`` repetitions.
Queries and candidates are ``(N, D)`` L2-normalised embeddings (any float dtype, computed in
float64); row ``i`` of each is a matched pair and similarity is the dot product (cosine).

Protocols (sources: ``docs/peers.md#posescript-r-precision`` and ``docs/peers.md#unipose-evaluation``;
PoseBench's choice between them: ``docs/protocols.md``):

``"blocks32"`` (UniPose / T2M / MotionGPT)
    One permutation of the ``N`` items, ``np.random.default_rng(seed).permutation(N)``, cut into
    ``N // P`` consecutive disjoint blocks of ``P``; the incomplete tail is dropped (``n`` reports
    how many queries were used). Within a block each query ranks the block's ``P`` candidates;
    hit@k when the true candidate is in the top k. Value = hits / used × 100. ``repetitions`` is
    not used (recorded as 1). Chance = k / P × 100 exactly.
``"posescript"`` (PoseScript / PoseFix ``textret_metrics``)
    For each query ``i`` and each of ``R`` repetitions, ``P − 1`` distractors are drawn uniformly
    without replacement from the other ``N − 1`` items; the 0-based rank of the true candidate in
    that pool is averaged over the repetitions, and hit@k when the mean rank is below k. Draw order,
    for reproducibility: one ``np.random.default_rng(seed)``; for ``i`` in ``0..N-1``, for ``r`` in
    ``0..R-1``: ``d = rng.choice(N - 1, size=P - 1, replace=False)`` and item ``d + (d >= i)``.
    PoseScript itself draws from Python's unseeded ``random``; the pool distribution is the same.

Ties (both protocols): the true candidate is ranked after every candidate whose score ties with
it (``bench.metrics._ranking``), so identical embeddings cannot score perfectly.

Chance levels (``RPrecision.chance``) are the exact expected values for embeddings that carry no
information about their partner. For ``"posescript"`` with ``R > 1`` that is not k / P: the
threshold on the mean rank gives ``≈ k·R / (R·(P − 1) + 1)`` (3.215 / 6.431 / 9.646 % for
P = 32, R = 10, large N), where PoseScript's control table quotes k / 32; the exact finite-N value
is computed here.

Results depend on the order of the items (the seeded draws act on positions), so callers should
pass items in a fixed order (dataset order).

The module also registers the ``r_precision`` measure: a text task's generated texts (queries)
against its ground-truth poses or pose pairs (candidates) through the task's evaluator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import gammaln

from bench.errors import ConfigError, ValidationError
from bench.metrics._checks import as_embedding_pair, check_int, check_ks
from bench.metrics._ranking import rank_of_true
from bench.metrics.measure import Measured, MeasureInput, Measurements, register_measure

if TYPE_CHECKING:
    from tasks.spec import MetricSpec

PROTOCOLS = ("blocks32", "posescript")
"""The R-precision protocols (module doc)."""
DEFAULT_PROTOCOL = "blocks32"
"""The suite's default: UniPose's own, chance exactly k/32, per-query hits for bootstrap CIs
(docs/protocols.md); ``posescript`` is offered as a variant."""
POOL_SIZE = 32
"""Candidates per query (the true one and 31 others) in both protocols, as every peer uses."""

# Float64 score entries held at once by the "posescript" protocol (a chunk of rows of N x N).
_CHUNK_ELEMENTS = 1 << 23


@dataclass(frozen=True, eq=False)
class RPrecision:
    """R-precision of one set of matched pairs under one protocol."""

    values: dict[int, float]
    """``{k: percent}`` in ``[0, 100]``: the share of used queries that hit at k."""
    per_query: np.ndarray
    """bool ``(n, len(ks))``: row ``j``, column ``c``: query ``query_index[j]`` hit at ``ks[c]``."""
    ranks: np.ndarray
    """float64 ``(n,)``: the true candidate's 0-based rank (``"posescript"``: mean over pools)."""
    query_index: np.ndarray
    """int64 ``(n,)``: the row of the inputs each entry refers to, ascending."""
    chance: dict[int, float]
    """``{k: percent}``: the expected value for uninformative embeddings (see the module doc)."""
    ks: tuple[int, ...]
    """The cut-offs, in the order of ``per_query``'s columns."""
    n: int
    """Queries used (``"blocks32"`` drops the ``N mod P`` tail)."""
    n_total: int
    """Matched pairs given (``N``)."""
    protocol: str
    """``"blocks32"`` or ``"posescript"``."""
    seed: int
    """Seed of the ``np.random.Generator`` that drew the permutation or the distractor pools."""
    pool_size: int
    """Candidates per ranking (``P``): the true one plus ``P − 1`` others."""
    repetitions: int
    """Pools drawn per query (``R``); 1 for ``"blocks32"``."""


@dataclass(frozen=True, eq=False)
class MatchingScore:
    """Mean cosine similarity between each query and its own candidate."""

    value: float
    """Mean of ``per_item``, in ``[-1, 1]``."""
    per_item: np.ndarray
    """float64 ``(N,)``: the dot product of each matched pair."""


def r_precision(
    queries: ArrayLike,
    candidates: ArrayLike,
    *,
    ks: Sequence[int] = (1, 2, 3),
    protocol: str,
    seed: int,
    pool_size: int = 32,
    repetitions: int = 10,
) -> RPrecision:
    """R-precision at each k of ``ks``, in percent.

    Args:
        queries: ``(N, D)`` L2-normalised query embeddings (e.g. generated texts).
        candidates: ``(N, D)`` L2-normalised candidate embeddings; row ``i`` matches query ``i``.
        ks: cut-offs, each in ``[1, pool_size]``.
        protocol: ``"blocks32"`` or ``"posescript"`` (module doc); never inferred.
        seed: seed of the permutation / distractor draws.
        pool_size: ``P``, candidates per ranking; needs ``N >= P``.
        repetitions: ``R``, pools per query for ``"posescript"``; not used by ``"blocks32"``.

    Raises:
        ValidationError: shape mismatch, non-finite or non-normalised rows, ``N < pool_size``.
        ConfigError: unknown protocol, bad ``ks``, ``pool_size``, ``repetitions`` or ``seed``.

    >>> q = np.eye(4)
    >>> r_precision(q, q, ks=(1,), protocol="blocks32", seed=0, pool_size=2).values
    {1: 100.0}
    """
    q, c = as_embedding_pair(queries, candidates, ("queries", "candidates"))
    if protocol not in PROTOCOLS:
        raise ConfigError(
            f"unknown R-precision protocol {protocol!r}; known: {', '.join(PROTOCOLS)}",
            field="protocol",
        )
    seed = check_int(seed, "seed", low=0)
    pool_size = check_int(pool_size, "pool_size", low=2)
    repetitions = check_int(repetitions, "repetitions", low=1)
    n_total = q.shape[0]
    if n_total < pool_size:
        raise ValidationError(f"{n_total} matched pairs < pool_size={pool_size}", field="queries")
    ks = check_ks(ks, upper=pool_size, upper_name="pool_size")
    rng = np.random.default_rng(seed)
    if protocol == "blocks32":
        query_index, ranks = _block_ranks(q, c, pool_size, rng)
        repetitions = 1
        chance = {k: 100.0 * k / pool_size for k in ks}
    else:
        query_index = np.arange(n_total, dtype=np.int64)
        ranks = _pool_mean_ranks(q, c, pool_size, repetitions, rng)
        chance = _pool_chance(n_total, pool_size, repetitions, ks)
    per_query = ranks[:, None] < np.asarray(ks, dtype=np.float64)[None, :]
    for arr in (per_query, ranks, query_index):
        arr.flags.writeable = False
    return RPrecision(
        values={k: 100.0 * float(per_query[:, j].mean()) for j, k in enumerate(ks)},
        per_query=per_query,
        ranks=ranks,
        query_index=query_index,
        chance=chance,
        ks=ks,
        n=int(ranks.shape[0]),
        n_total=int(n_total),
        protocol=protocol,
        seed=int(seed),
        pool_size=int(pool_size),
        repetitions=int(repetitions),
    )


def matching_score(queries: ArrayLike, candidates: ArrayLike) -> MatchingScore:
    """Mean cosine of matched pairs over all ``N`` rows: PoseScript's ``ret_multimodality``.
    (UniPose's block code averages the same dot products over the rows its blocks used only.)

    Args:
        queries, candidates: ``(N, D)`` L2-normalised embeddings; row ``i`` of each is a pair.
    """
    q, c = as_embedding_pair(queries, candidates, ("queries", "candidates"))
    per_item = np.einsum("nd,nd->n", q, c)
    per_item.flags.writeable = False
    return MatchingScore(value=float(per_item.mean()), per_item=per_item)


def _block_ranks(
    q: np.ndarray, c: np.ndarray, pool: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``"blocks32"``: (used row indices ascending, int-valued float64 ranks) for the used rows."""
    perm = rng.permutation(q.shape[0])
    n_blocks = q.shape[0] // pool
    blocks = perm[: n_blocks * pool].reshape(n_blocks, pool)
    scores = np.matmul(q[blocks], np.swapaxes(c[blocks], 1, 2))  # (B, P query, P candidate)
    ranks = rank_of_true(scores, np.broadcast_to(np.arange(pool), (n_blocks, pool)))
    used = blocks.ravel()
    order = np.argsort(used)
    return used[order].astype(np.int64), ranks.ravel()[order].astype(np.float64)


def _pool_mean_ranks(
    q: np.ndarray, c: np.ndarray, pool: int, repetitions: int, rng: np.random.Generator
) -> np.ndarray:
    """``"posescript"``: float64 ``(N,)`` mean rank over ``repetitions`` random pools per query."""
    n = q.shape[0]
    mean_ranks = np.empty(n, dtype=np.float64)
    chunk = max(1, _CHUNK_ELEMENTS // n)
    for start in range(0, n, chunk):
        rows = np.arange(start, min(n, start + chunk))
        scores = q[rows] @ c.T  # (m, N)
        pools = np.empty((rows.size, repetitions, pool), dtype=np.int64)
        pools[:, :, 0] = rows[:, None]  # column 0 holds the true candidate
        for a, i in enumerate(rows):
            for r in range(repetitions):
                drawn = rng.choice(n - 1, size=pool - 1, replace=False)
                pools[a, r, 1:] = drawn + (drawn >= i)
        pool_scores = scores[np.arange(rows.size)[:, None, None], pools]  # (m, R, P)
        ranks = rank_of_true(pool_scores, np.zeros(pools.shape[:2], dtype=np.int64))
        mean_ranks[rows] = ranks.mean(axis=1)
    return mean_ranks


def _pool_chance(n: int, pool: int, repetitions: int, ks: tuple[int, ...]) -> dict[int, float]:
    """Exact ``"posescript"`` hit rate, in percent, for embeddings uninformative about partners.

    The true candidate is then beaten by ``m`` of the other ``N − 1`` items, ``m`` uniform on
    ``0..N−1``; a pool's rank is hypergeometric given ``m`` (``P − 1`` draws from ``N − 1`` with
    ``m`` successes), the ``R`` pools are independent given ``m``, and hit@k ⇔ rank sum < k·R.
    The rank-sum distribution is the ``R``-fold convolution, done by FFT, per chunk of ``m``.
    """
    support = repetitions * (pool - 1) + 1
    length = 1 << int(np.ceil(np.log2(support)))
    draws, x = pool - 1, np.arange(pool)[None, :]
    cdf_sum = np.zeros(support, dtype=np.float64)
    for start in range(0, n, 4096):
        beaten = np.arange(start, min(n, start + 4096))[:, None]
        possible = (x <= beaten) & (draws - x <= n - 1 - beaten)
        log_pmf = (
            _log_choose(beaten, np.minimum(x, beaten))
            + _log_choose(n - 1 - beaten, np.clip(draws - x, 0, n - 1 - beaten))
            - _log_choose(n - 1, draws)
        )
        pmf = np.where(possible, np.exp(log_pmf), 0.0)
        pmf /= pmf.sum(axis=1, keepdims=True)
        sums = np.fft.irfft(np.fft.rfft(pmf, length, axis=1) ** repetitions, length, axis=1)
        cdf_sum += np.cumsum(np.clip(sums[:, :support], 0.0, None), axis=1).sum(axis=0)
    cdf = cdf_sum / n
    return {k: 100.0 * float(min(1.0, cdf[min(k * repetitions, support) - 1])) for k in ks}


def _log_choose(a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
    """``log C(a, b)`` for ``0 <= b <= a``, float64."""
    return gammaln(np.add(a, 1.0)) - gammaln(np.add(b, 1.0)) - gammaln(np.subtract(a, b) + 1.0)


@register_measure("r_precision", output_kinds=("text",), protocols=PROTOCOLS,
                  requires=("k", "query", "evaluator", "seed"))  # fmt: skip
def measure_r_precision(inputs: MeasureInput, specs: Sequence[MetricSpec]) -> Measurements:
    """R-precision top-k of the generated texts against the ground-truth key (poses or pose pairs),
    one protocol run per (protocol, seed) among ``specs``."""
    if len(inputs) < POOL_SIZE:
        return {}, {m.name: f"needs at least {POOL_SIZE} samples, got {len(inputs)}" for m in specs}
    evaluator, ctx = inputs.evaluator(), inputs.ctx
    with inputs.timed("embed_predictions"):
        queries = ctx.embed_texts(evaluator, inputs.need("texts"))
    key = inputs.need("retrieval_key")
    with inputs.timed("embed_ground_truth"):
        candidates = ctx.embed_poses(evaluator, key[0]) if len(key) == 1 else ctx.embed_pairs(evaluator, *key)
    out: dict[str, Measured] = {}
    by_protocol: dict[tuple[str, int], list[MetricSpec]] = {}
    for spec in specs:
        by_protocol.setdefault((spec.protocol, int(spec.seed or 0)), []).append(spec)
    for (protocol, seed), group in by_protocol.items():
        with inputs.timed(f"r_precision_{protocol}"):
            result = r_precision(queries, candidates, ks=tuple(int(m.k or 0) for m in group), protocol=protocol,
                                 seed=seed, pool_size=POOL_SIZE)  # fmt: skip
        for column, spec in enumerate(group):
            facts = {"chance": result.chance[int(spec.k or 0)], "pool_size": result.pool_size,
                     "repetitions": result.repetitions, "n_total": result.n_total,
                     "dropped_tail": result.n_total - result.n}  # fmt: skip
            out[spec.name] = Measured(
                value=result.values[int(spec.k or 0)], n=result.n, facts=facts,
                per_sample=result.per_query[:, column].astype(np.float64) * 100.0, sample_index=result.query_index,
            )  # fmt: skip
    return out, {}
