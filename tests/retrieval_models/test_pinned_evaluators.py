"""The shipped pinned evaluators (``retrieval_models/checkpoints``, ids in ``retrieval_models.pinned``):
they load under their pinned hashes, embed fixed inputs to pinned values, and rank synth-small's
ground truth far above chance, both directly and through a task's scoring.

Float determinism: an evaluator's embeddings are bitwise reproducible on one machine (fixed-shape
chunks, ``retrieval_models.evaluator``), but BLAS kernels differ between CPUs in the last bits, so
the fingerprints below are values rounded to 4 decimals and compared within one rounding unit
(1e-4): a value sitting on a rounding boundary may round either way on another CPU, while a changed
weight, tokenizer, feature or pooling moves values by far more than that.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench.metrics import r_precision
from retrieval_models import EVALUATORS
from tasks import ScoringContext, get_task
from tasks.pins import PAIRTEXT_EVALUATOR, POSETEXT_EVALUATOR, R_PRECISION_SEED, evaluator_sha256
from tests.pinned_evaluators import pinned_evaluators

ROUNDING = 1e-4
"""Fingerprint precision: values are rounded to 4 decimals, compared within one unit (+ float slack)."""

TEXTS = ["The person is standing upright with both arms down by the sides.",
         "The left knee is bent at a right angle and the right arm is raised above the head.",
         "Someone squatting low with the hands on the knees."]  # fmt: skip
INSTRUCTIONS = ["Bend your left knee.", "Straighten your left leg and stand up.", "Raise both arms above your head."]


def fixed_poses() -> np.ndarray:
    """float32 (3, 22, 3): the rest pose; left knee bent with the right shoulder raised; a fixed
    'wavy' pose (every rotation 0.4·sin(0.7·k)). Built without a random generator, so they are the
    same under every numpy version."""
    rest = np.zeros((22, 3), np.float32)
    bent = rest.copy()
    bent[4] = [1.5, 0.0, 0.0]  # left knee
    bent[17] = [0.0, 0.0, 1.2]  # right shoulder
    wavy = (0.4 * np.sin(0.7 * np.arange(66, dtype=np.float64))).reshape(22, 3).astype(np.float32)
    return np.stack([rest, bent, wavy])


# embeddings[:, :6] of the fixed inputs and the text x item cosine matrix, rounded to 4 decimals
POSETEXT_TEXTS = [[0.0037, 0.0213, 0.0824, 0.0045, 0.0288, -0.0582],
                  [-0.0265, 0.0021, 0.0249, -0.0319, 0.0381, 0.0383],
                  [-0.0131, 0.0027, 0.0372, -0.0058, 0.0092, 0.0036]]  # fmt: skip
POSETEXT_POSES = [[0.0362, 0.111, -0.0598, -0.0143, -0.0538, -0.0051],
                  [0.0357, 0.0623, -0.0379, -0.0459, -0.0224, 0.0014],
                  [-0.0242, -0.0261, -0.0628, -0.0299, 0.0289, 0.0919]]  # fmt: skip
POSETEXT_COSINES = [[0.0775, 0.1259, -0.2311],
                    [-0.1865, 0.1326, -0.0811],
                    [-0.2513, 0.016, -0.2936]]  # fmt: skip
PAIRTEXT_TEXTS = [[-0.0122, 0.0208, 0.0207, -0.0166, -0.0014, -0.0146],
                  [-0.0241, 0.0207, 0.2254, -0.0454, -0.0065, -0.0405],
                  [0.0455, -0.016, -0.086, -0.0355, -0.015, -0.0272]]  # fmt: skip
PAIRTEXT_PAIRS = [[0.0558, -0.0005, 0.0144, -0.0002, -0.0002, 0.0],
                  [0.0497, -0.0006, 0.1758, -0.0004, -0.0002, -0.0002],
                  [0.1348, -0.0005, -0.0004, 0.0126, 0.0328, 0.0048]]  # fmt: skip
PAIRTEXT_COSINES = [[0.1705, 0.0324, -0.1793],
                    [0.2662, 0.5154, 0.0658],
                    [0.1107, 0.2423, 0.3791]]  # fmt: skip


def assert_fingerprint(values: np.ndarray, pinned: list[list[float]], what: str) -> None:
    rounded = np.round(np.asarray(values, dtype=np.float64), 4)
    np.testing.assert_allclose(rounded, np.asarray(pinned), rtol=0, atol=ROUNDING * 1.01, err_msg=what)


@pytest.fixture(scope="module")
def evaluators() -> dict[str, Any]:
    return pinned_evaluators()


def test_pinned_checkpoints_load_under_their_pinned_ids_and_hashes(evaluators: dict[str, Any]) -> None:
    assert sorted(evaluators) == sorted([POSETEXT_EVALUATOR, PAIRTEXT_EVALUATOR]) == sorted(EVALUATORS.names())
    for evaluator_id, ev in evaluators.items():
        pinned = EVALUATORS.get(evaluator_id)
        assert (ev.id, ev.kind, ev.sha256) == (evaluator_id, pinned.kind, pinned.sha256)
        assert ev.sha256 == evaluator_sha256(evaluator_id) and len(ev.sha256) == 64  # what task specs pin
        assert ev.card["sha256"] == ev.sha256 and ev.dim == 512


def test_posetext_fingerprint(evaluators: dict[str, Any]) -> None:
    ev = evaluators[POSETEXT_EVALUATOR]
    texts, poses = ev.embed_texts(TEXTS), ev.embed_poses(fixed_poses())
    assert texts.shape == poses.shape == (3, 512) and texts.dtype == poses.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(poses, axis=1), 1.0, atol=1e-5)
    assert_fingerprint(texts[:, :6], POSETEXT_TEXTS, "text embeddings")
    assert_fingerprint(poses[:, :6], POSETEXT_POSES, "pose embeddings")
    assert_fingerprint(texts @ poses.T, POSETEXT_COSINES, "text x pose cosines")


def test_pairtext_fingerprint(evaluators: dict[str, Any]) -> None:
    ev = evaluators[PAIRTEXT_EVALUATOR]
    poses = fixed_poses()
    texts, pairs = ev.embed_texts(INSTRUCTIONS), ev.embed_pairs(poses[[0, 1, 2]], poses[[1, 0, 0]])
    assert texts.shape == pairs.shape == (3, 512)
    assert_fingerprint(texts[:, :6], PAIRTEXT_TEXTS, "instruction embeddings")
    assert_fingerprint(pairs[:, :6], PAIRTEXT_PAIRS, "pair embeddings")
    assert_fingerprint(texts @ pairs.T, PAIRTEXT_COSINES, "instruction x pair cosines")
    # the pair (A, B) is ordered: swapping A and B is another edit
    swapped = ev.embed_pairs(poses[[1, 0, 0]], poses[[0, 1, 2]])
    assert np.abs(swapped - pairs).max() > 100 * ROUNDING


@pytest.mark.parametrize(("task_id", "key"), [("pose2text", ("pose",)), ("posediff", ("pose_a", "pose_b"))])
def test_pinned_evaluators_rank_ground_truth_far_above_chance(task_id: str, key: tuple[str, ...], synth_small: Path,
                                                              evaluators: dict[str, Any]) -> None:  # fmt: skip
    """R-precision (the tasks' blocks32 protocol, P = 32, chance k/32) of each sample's first
    reference text against its ground-truth pose (pair), through the task's pinned evaluator; the
    chance baseline's texts score near chance under the same draw."""
    from bench.data import load_dataset

    dataset = load_dataset(synth_small, synth_small.parent)
    task = get_task(task_id)
    ev = evaluators[str(task.spec.evaluator_id)]
    requests = task.build_requests(dataset)
    arrays = [np.stack([r.inputs[k] for r in requests]) for k in key]
    candidates = ev.embed_poses(*arrays) if len(arrays) == 1 else ev.embed_pairs(*arrays)
    ceiling, chance = (task.reference_predictions(dataset, which, seed=0) for which in ("ceiling", "chance"))
    scored = {}
    for which, texts in (("ceiling", ceiling), ("chance", chance)):
        queries = ev.embed_texts([texts[r.id] for r in requests])
        scored[which] = r_precision(queries, candidates, ks=(1, 2, 3), protocol="blocks32", seed=R_PRECISION_SEED)
    assert scored["ceiling"].n == len(requests) == 256
    for k in (1, 2, 3):
        chance_level = 100.0 * k / 32
        assert scored["ceiling"].chance[k] == pytest.approx(chance_level)
        assert scored["ceiling"].values[k] > max(75.0, 8 * chance_level), (k, scored["ceiling"].values)
        assert scored["chance"].values[k] < 3 * chance_level, (k, scored["chance"].values)


def test_pinned_posetext_scores_text2pose_through_the_task(synth_small: Path, evaluators: dict[str, Any]) -> None:
    """Ground-truth poses through ``text2pose``'s own scoring with the pinned evaluator: text-to-pose
    recall far above its chance k/N, stamped with the pinned checkpoint's hash."""
    from bench.body import load_body_model
    from bench.data import load_dataset

    dataset = load_dataset(synth_small, synth_small.parent)
    task = get_task("text2pose")
    ctx = ScoringContext(evaluators=evaluators, body_model=load_body_model("skeleton"))
    result = task.score(task.reference_predictions(dataset, "ceiling"), dataset, ctx)
    values = {m.name: m.value for m in result.metrics}
    assert result.n == 256 and result.evaluator_sha256 == EVALUATORS.get(POSETEXT_EVALUATOR).sha256
    for k in (5, 10, 20):
        chance_level = 100.0 * k / result.n
        assert values[f"recall_t2p_top{k}"] > max(85.0, 10 * chance_level), values
        assert values[f"recall_p2t_top{k}"] > max(85.0, 10 * chance_level), values
