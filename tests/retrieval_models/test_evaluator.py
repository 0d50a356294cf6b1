"""The embedding API: shapes, bitwise batch-size invariance, input checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench.errors import UserError, ValidationError
from retrieval_models.evaluator import TEXT_CHUNK_ROWS
from tests.retrieval_models.conftest import tiny_evaluator

BATCH_SIZES = (1, 7, 64)


def _texts(n: int) -> list[str]:
    rng = np.random.default_rng(0)
    words = ["left", "right", "knee", "elbow", "bent", "straight", "the", "arm", "raised", "is", "and", "leg"]
    # lengths from 1 to ~45 words: several padding buckets, some truncated at max_tokens = 48
    return [" ".join(rng.choice(words, size=int(rng.integers(1, 46)))) for _ in range(n)]


def _poses(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 0.5, size=(n, 22, 3)).astype(np.float32)


@pytest.fixture(scope="module")
def pose_ev(words):
    return tiny_evaluator(words, "pose-text", seed=1)


@pytest.fixture(scope="module")
def pair_ev(words):
    return tiny_evaluator(words, "pair-text", seed=2)


def test_text_embeddings_bitwise_equal_across_batch_sizes(pose_ev) -> None:
    texts = _texts(2 * TEXT_CHUNK_ROWS + 11)
    results = [pose_ev.embed_texts(texts, batch_size=b) for b in BATCH_SIZES]
    assert results[0].shape == (len(texts), 512) and results[0].dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(results[0], axis=1), 1.0, atol=1e-6)
    for other in results[1:]:
        assert np.array_equal(results[0], other)
    assert len(np.unique(results[0].round(5), axis=0)) > len(texts) // 2  # not a constant map


def test_text_embedding_independent_of_companions_and_order(pose_ev) -> None:
    texts = _texts(90)
    full = pose_ev.embed_texts(texts)
    assert np.array_equal(pose_ev.embed_texts(texts[::-1])[::-1], full)
    assert np.array_equal(pose_ev.embed_texts(texts[40:47]), full[40:47])
    for i in (0, 33, 89):
        assert np.array_equal(pose_ev.embed_texts([texts[i]]), full[i : i + 1])


def test_truncation_at_max_tokens(pose_ev) -> None:
    long = "left knee " * 100
    assert np.array_equal(pose_ev.embed_texts([long]), pose_ev.embed_texts([long + " right elbow"]))


def test_pose_embeddings_bitwise_equal_across_batch_sizes(pose_ev) -> None:
    poses = _poses(300)
    results = [pose_ev.embed_poses(poses, batch_size=b) for b in BATCH_SIZES]
    assert results[0].shape == (300, 512) and results[0].dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(results[0], axis=1), 1.0, atol=1e-6)
    for other in results[1:]:
        assert np.array_equal(results[0], other)
    assert np.array_equal(pose_ev.embed_poses(poses[5:6]), results[0][5:6])
    assert np.array_equal(pose_ev.embed_poses(torch.from_numpy(poses[:3]).double()), results[0][:3])


def test_pair_embeddings_bitwise_equal_across_batch_sizes(pair_ev) -> None:
    a, b = _poses(270, 1), _poses(270, 2)
    results = [pair_ev.embed_pairs(a, b, batch_size=s) for s in BATCH_SIZES]
    assert results[0].shape == (270, 512)
    np.testing.assert_allclose(np.linalg.norm(results[0], axis=1), 1.0, atol=1e-6)
    for other in results[1:]:
        assert np.array_equal(results[0], other)
    assert np.array_equal(pair_ev.embed_pairs(a[7:9], b[7:9]), results[0][7:9])


def test_embedding_does_not_leave_train_mode_changed(pose_ev) -> None:
    pose_ev.model.train()
    first = pose_ev.embed_poses(_poses(4))
    assert pose_ev.model.training
    pose_ev.model.eval()
    assert np.array_equal(first, pose_ev.embed_poses(_poses(4)))


def test_empty_inputs(pose_ev, pair_ev) -> None:
    assert pose_ev.embed_texts([]).shape == (0, 512)
    assert pose_ev.embed_poses(np.zeros((0, 22, 3), np.float32)).shape == (0, 512)
    assert pair_ev.embed_pairs(np.zeros((0, 22, 3)), np.zeros((0, 22, 3))).shape == (0, 512)


def test_input_errors(pose_ev, pair_ev) -> None:
    with pytest.raises(ValidationError, match=r"\(N, 22, 3\)"):
        pose_ev.embed_poses(np.zeros((4, 24, 3)))
    with pytest.raises(ValidationError, match="non-finite") as info:
        pose_ev.embed_poses(np.where(np.arange(3)[:, None, None] == 2, np.nan, _poses(3)))
    assert info.value.sample_id == 2
    with pytest.raises(ValidationError, match="list of strings"):
        pose_ev.embed_texts("a single string")
    with pytest.raises(ValidationError, match="list of strings"):
        pose_ev.embed_texts(["ok", 3])
    with pytest.raises(UserError, match="batch_size"):
        pose_ev.embed_texts(["ok"], batch_size=0)
    with pytest.raises(UserError, match="pose-text; use embed_poses"):
        pose_ev.embed_pairs(_poses(2), _poses(2))
    with pytest.raises(UserError, match="pair-text; use embed_pairs"):
        pair_ev.embed_poses(_poses(2))
    with pytest.raises(ValidationError, match="rows"):
        pair_ev.embed_pairs(_poses(2), _poses(3))
