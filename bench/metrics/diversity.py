"""Diversity of generated poses: the mean embedding distance of seeded random pairs (T2M's protocol).

Dimensions: ``N`` samples, ``D`` embedding size, ``P`` pairs. Guo et al. 2022 (T2M,
``EricGuo5513/text-to-motion``, ``utils/metrics.py::calculate_diversity``; docs/peers.md#t2m-and-motiongpt)
draw two index sets of ``P`` samples, each without replacement, pair them position by position
and average the Euclidean distances between the evaluator embeddings of the paired samples
(``P = 300`` on HumanML3D; ``N > P`` is required). A pair may join a sample with itself (distance
0), as in T2M. Generated answers are compared with the same figure for the ground truth: a model
whose answers collapse onto a few poses scores far below it, one that ignores its inputs can score
close to it, so diversity detects mode collapse and says nothing about correctness on its own.

PoseBench's choices (docs/protocols.md): the draws come from ``np.random.default_rng(seed)``
(first set, then second set), and the *same* pairs are used for the answers and for the ground
truth, so the two figures differ only through the poses; T2M draws separately for each. The task
metrics are ``diversity`` (the answers' figure, with the ground truth's in its protocol record) and
``diversity_gap``, ``|diversity − ground-truth diversity|``, PoseBench's rankable summary.
Distances are computed in float64 on the evaluator's L2-normalised embeddings, so they lie in
``[0, 2]``; T2M's embeddings are not normalised, so values are not comparable with T2M's tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from bench.errors import ConfigError, ValidationError
from bench.metrics._checks import as_float64, check_int
from bench.metrics.measure import Measured, MeasureInput, Measurements, register_measure

if TYPE_CHECKING:
    from tasks.spec import MetricSpec

PAIRS = 300
"""Pairs drawn per figure (T2M's HumanML3D setting)."""


@dataclass(frozen=True, eq=False)
class Diversity:
    """Mean pair distance of one or two feature sets over the same seeded pairs."""

    value: float
    """Mean Euclidean distance between the paired rows of the first set (feature units)."""
    reference: float | None
    """The same figure for the second set (the ground truth), None when none was given."""
    first: np.ndarray
    """int64 ``(P,)``: row index of each pair's first member."""
    second: np.ndarray
    """int64 ``(P,)``: row index of each pair's second member."""


def diversity(features: ArrayLike, reference: ArrayLike | None = None, *, seed: int, pairs: int = PAIRS) -> Diversity:
    """T2M diversity of ``features`` (and of ``reference`` over the same pairs).

    Args:
        features: ``(N, D)`` embeddings of the answers.
        reference: optional ``(N, D)`` embeddings of the ground truth, row ``i`` the ground truth of
            ``features[i]``.
        seed: seeds ``np.random.default_rng``, which draws the first then the second index set.
        pairs: ``P``, the pairs drawn; ``N`` must exceed it (T2M's rule).

    Raises:
        ValidationError: non-finite values, or shapes that are not equal ``(N, D)``.
        ConfigError: ``pairs`` below 1 or not below ``N``.

    >>> points = np.array([[0.0, 0.0], [3.0, 4.0], [0.0, 0.0]])
    >>> result = diversity(points, seed=0, pairs=2)
    >>> result.first.tolist(), result.second.tolist(), result.value
    ([1, 2], [2, 0], 2.5)
    """
    answers = as_float64(features, "features", ndim=2)
    pairs = check_int(pairs, "pairs", low=1)
    n = answers.shape[0]
    if n <= pairs:
        raise ConfigError(f"diversity draws {pairs} pairs without replacement and needs more than {pairs} samples, "
                          f"got {n}", field="pairs")  # fmt: skip
    truth = None
    if reference is not None:
        truth = as_float64(reference, "reference", ndim=2)
        if truth.shape != answers.shape:
            raise ValidationError(f"shape {truth.shape} != features shape {answers.shape}", field="reference")
    rng = np.random.default_rng(seed)
    first = rng.choice(n, size=pairs, replace=False).astype(np.int64)
    second = rng.choice(n, size=pairs, replace=False).astype(np.int64)
    value = _mean_distance(answers, first, second)
    return Diversity(value, None if truth is None else _mean_distance(truth, first, second), first, second)


def _mean_distance(x: np.ndarray, first: np.ndarray, second: np.ndarray) -> float:
    return float(np.linalg.norm(x[first] - x[second], axis=1).mean())


def measure_diversity(inputs: MeasureInput, specs: Sequence[MetricSpec]) -> Measurements:
    """The ``diversity`` and ``diversity_gap`` measures: the answers' and the ground truth's T2M
    diversity over the same seeded pairs, through the task's pose-text evaluator; ``diversity``
    reports the answers' figure, ``diversity_gap`` ``|answers − ground truth|``."""
    if len(inputs) <= PAIRS:
        return {}, {s.name: f"needs more than {PAIRS} samples, got {len(inputs)}" for s in specs}
    predicted, real = inputs.embedded_poses(), inputs.embedded_targets()
    out: dict[str, Measured] = {}
    with inputs.timed("diversity"):
        for spec in specs:
            result = diversity(predicted, real, seed=int(spec.seed or 0))
            truth = float(result.reference or 0.0)
            facts = {"pairs": PAIRS, "ground_truth_diversity": truth, "answers_diversity": result.value,
                     "distance": "euclidean on L2-normalised embeddings", "dim": int(predicted.shape[1])}  # fmt: skip
            value = abs(result.value - truth) if spec.measure == "diversity_gap" else result.value
            out[spec.name] = Measured(value=value, n=len(inputs), ci_from_samples=False, facts=facts)
    return out, {}


for _name in ("diversity", "diversity_gap"):
    register_measure(_name, output_kinds=("pose",), protocols=("t2m",), requires=("evaluator", "seed"),
                     group="diversity")(measure_diversity)  # fmt: skip
