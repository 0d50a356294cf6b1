"""The joint left/right flip of an item and its text, and the seeded training batches."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.body import mirror_pose
from bench.data import load_dataset
from retrieval_models.text_flip import flip_text
from retrieval_models.training_data import batches, flip_sample, load_retrieval_set, mirror_items
from tests.retrieval_models.tiny_dataset import STATES, caption, instruction, joint_states, random_poses

_CLAUSE = re.compile(r"the (left|right) (\w+) is ([\w ]+)")
_STATE_OF = {word: index for index, words in enumerate(STATES) for word in words}


def facts(text: str) -> set[tuple[str, str, int]]:
    """(side, part, state) of every clause of a tiny-dataset caption, whatever its order and synonyms."""
    return {(side, part, _STATE_OF[state.strip()]) for side, part, state in _CLAUSE.findall(text.lower())}


def test_mirrored_pose_is_described_by_the_flipped_caption() -> None:
    rng = np.random.default_rng(0)
    poses = random_poses(40, rng)
    mirrored = mirror_pose(poses)
    states, mirrored_states = joint_states(poses), joint_states(mirrored)
    for i in range(len(poses)):
        text = caption(states[i], rng)
        flipped = flip_text(text, rng)
        assert flipped is not None and facts(flipped) == facts(caption(mirrored_states[i], rng))
        swap = {"left": "right", "right": "left"}
        assert facts(flipped) == {(swap[side], part, state) for side, part, state in facts(text)}


def test_flipped_instruction_matches_the_mirrored_pair() -> None:
    rng = np.random.default_rng(1)
    a, b = random_poses(20, rng), random_poses(20, rng)
    pairs = np.stack([a, b], axis=1)
    flipped_pairs = mirror_items(pairs)
    assert np.array_equal(flipped_pairs[:, 0], mirror_pose(a)) and np.array_equal(flipped_pairs[:, 1], mirror_pose(b))
    for i in range(20):
        sa, sb = joint_states(a[i : i + 1])[0], joint_states(b[i : i + 1])[0]
        ma, mb = joint_states(flipped_pairs[i : i + 1, 0])[0], joint_states(flipped_pairs[i : i + 1, 1])[0]
        original = instruction(sa, sb, np.random.default_rng(i))
        expected = instruction(ma, mb, np.random.default_rng(i))
        assert sorted(flip_text(original, rng).rstrip(".").lower().split(", ")) == sorted(
            expected.rstrip(".").lower().split(", "))


def test_flip_sample_probability_and_consistency() -> None:
    pose = random_poses(1, np.random.default_rng(2))[0]
    text = "The left knee is bent, the right elbow is straight."
    rng = np.random.default_rng(3)
    item, new_text = flip_sample(pose, text, rng, 1.0)
    assert np.array_equal(item, mirror_pose(pose[None])[0])
    assert new_text == "The right knee is bent, the left elbow is straight."
    assert flip_sample(pose, text, rng, 0.0) == (pose, text)
    flips = sum(flip_sample(pose, text, rng, 0.5)[1] != text for _ in range(2000))
    assert 900 < flips < 1100
    seq = [flip_sample(pose, text, np.random.default_rng(9), 0.5)[1] for _ in range(3)]
    assert seq[0] == seq[1] == seq[2]  # seeded


def test_unflippable_text_keeps_its_item() -> None:
    pose = random_poses(1, np.random.default_rng(4))[0]
    text = "Raise the left arm to three o'clock."
    item, new_text = flip_sample(pose, text, np.random.default_rng(0), 1.0)
    assert item is pose and new_text == text
    pair = np.stack([pose, pose * 2])
    item, _ = flip_sample(pair, "bend your left knee", np.random.default_rng(0), 1.0)
    assert np.array_equal(item, mirror_items(pair[None])[0])


@pytest.fixture(scope="module")
def train_set(tiny_dataset_dir: Path):
    return load_retrieval_set(load_dataset(tiny_dataset_dir, tiny_dataset_dir.parent), "pose-text", "train", "auto")


def test_batches_are_seeded_consistent_and_drop_last(train_set, words) -> None:
    def epoch(seed: int, flip_prob: float) -> list:
        return list(batches(train_set, 50, np.random.default_rng(seed), words, 64, flip_prob))

    first, again, other = epoch(0, 0.5), epoch(0, 0.5), epoch(1, 0.5)
    assert len(first) == len(train_set) // 50
    assert all(b.ids.shape[0] == 50 and b.items.shape == (50, 22, 3) for b in first)
    assert all(torch.equal(x.ids, y.ids) and torch.equal(x.items, y.items) for x, y in zip(first, again))
    assert not torch.equal(first[0].items, other[0].items)
    for batch in first:
        assert torch.equal(batch.lengths, (batch.ids != words.pad_id).sum(1))
        assert (batch.ids[:, 0] == 101).all()
    # with flip_prob 1 every item is mirrored and its text agrees with the mirrored pose
    for batch in epoch(2, 1.0):
        texts = [words.decode(row[:n]) for row, n in zip(batch.ids.tolist(), batch.lengths)]
        states = joint_states(batch.items.numpy())
        for text, state in zip(texts, states):
            assert facts(text) == facts(caption(state, np.random.default_rng(0)))
