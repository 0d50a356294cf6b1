"""T2M diversity: the pure function, and the ``diversity`` / ``diversity_gap`` measures of the pose tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench.errors import ConfigError, ValidationError
from bench.metrics.diversity import PAIRS, diversity
from bench.metrics.measure import MeasureInput, measure
from tasks import ScoringContext, get_task
from tests.metrics.helpers import unit_rows

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_pairs_are_seeded_draws_without_replacement_and_the_value_is_their_mean_distance() -> None:
    x = unit_rows(np.random.default_rng(1), 50, 8)
    result = diversity(x, seed=3, pairs=20)
    assert len(set(result.first.tolist())) == 20 and len(set(result.second.tolist())) == 20
    expected = np.mean([np.linalg.norm(x[i] - x[j]) for i, j in zip(result.first, result.second, strict=True)])
    assert result.value == pytest.approx(expected, rel=1e-12) and result.reference is None
    again = diversity(x, seed=3, pairs=20)
    assert again.value == result.value and np.array_equal(again.first, result.first)
    assert diversity(x, seed=4, pairs=20).value != result.value


def test_collapsed_features_score_zero_and_the_reference_uses_the_same_pairs() -> None:
    rng = np.random.default_rng(0)
    real = unit_rows(rng, 40, 4)
    collapsed = np.repeat(real[:1], 40, axis=0)
    result = diversity(collapsed, real, seed=0, pairs=10)
    assert result.value == 0.0
    assert result.reference == pytest.approx(diversity(real, seed=0, pairs=10).value, rel=1e-12)


def test_two_points_far_apart() -> None:
    # Half the rows at +e1, half at -e1: a pair is 2 apart when it joins the halves, 0 otherwise.
    x = np.zeros((10, 2))
    x[:5, 0], x[5:, 0] = 1.0, -1.0
    result = diversity(x, seed=0, pairs=9)
    crossing = (result.first < 5) != (result.second < 5)
    assert result.value == pytest.approx(2.0 * crossing.mean())


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"pairs": 50}, ConfigError, "needs more than 50 samples, got 50"),
        ({"pairs": 0}, ConfigError, "pairs must be an int >= 1"),
        ({"reference": np.zeros((50, 3))}, ValidationError, "shape"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        diversity(np.zeros((50, 4)), seed=0, **{"pairs": 10, **kwargs})


@pytest.fixture(scope="module")
def pose_context(tiny_evaluators: Any, synth_small: Path) -> tuple[ScoringContext, np.ndarray]:
    """A scoring context with the tiny pose-text evaluator, and 400 training poses (more than 300)."""
    from bench.body import load_body_model
    from bench.data import load_dataset

    evaluator = tiny_evaluators(synth_small)["pose-text"]
    ctx = ScoringContext({"posetext-synth-v1": evaluator}, load_body_model("skeleton"))
    poses = load_dataset(synth_small, synth_small.parent).poses("train").poses[:400]
    return ctx, np.ascontiguousarray(poses, dtype=np.float32)


def _measure(ctx: ScoringContext, answers: np.ndarray, targets: np.ndarray) -> dict[str, Any]:
    specs = [m for m in get_task("text2pose").spec.metrics if m.measure.startswith("diversity")]
    inputs = MeasureInput(task="text2pose", evaluator_id="posetext-synth-v1", ids=tuple(map(str, range(len(answers)))),
                          ctx=ctx, timings={}, poses=answers, targets=targets)  # fmt: skip
    measured, skipped = measure(specs, inputs)
    return {"measured": measured, "skipped": skipped}


def test_task_measures_against_the_evaluator_embeddings(pose_context: tuple[ScoringContext, np.ndarray]) -> None:
    ctx, targets = pose_context
    answers = targets[::-1].copy()  # the same poses, answered to other samples: as diverse as the truth
    got = _measure(ctx, answers, targets)["measured"]
    embedded = ctx.embed_poses("posetext-synth-v1", answers), ctx.embed_poses("posetext-synth-v1", targets)
    expected = diversity(*embedded, seed=0, pairs=PAIRS)
    assert got["diversity"].value == expected.value
    assert got["diversity"].facts["ground_truth_diversity"] == expected.reference
    assert got["diversity_gap"].value == abs(expected.value - float(expected.reference or 0))
    assert got["diversity"].facts["pairs"] == 300 and got["diversity"].ci_from_samples is False


def test_ground_truth_has_no_gap_and_collapsed_answers_have_the_whole_gap(
    pose_context: tuple[ScoringContext, np.ndarray],
) -> None:
    ctx, targets = pose_context
    truth = _measure(ctx, targets, targets)["measured"]
    assert truth["diversity_gap"].value == 0.0 and truth["diversity"].value > 0.1
    collapsed = _measure(ctx, np.repeat(targets[:1], len(targets), axis=0), targets)["measured"]
    assert collapsed["diversity"].value == 0.0
    assert collapsed["diversity_gap"].value == pytest.approx(truth["diversity"].value)


def test_too_few_samples_are_skipped_with_the_reason(pose_context: tuple[ScoringContext, np.ndarray]) -> None:
    ctx, targets = pose_context
    result = _measure(ctx, targets[:300], targets[:300])
    assert result["measured"] == {}
    assert result["skipped"] == {"diversity": "needs more than 300 samples, got 300",
                                 "diversity_gap": "needs more than 300 samples, got 300"}  # fmt: skip
