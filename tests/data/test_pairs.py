"""Pair mining: in/out-of-sequence definitions, similarity bounds, usage caps, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from bench.data.synth.pairs import IN_SEQUENCE, OUT_OF_SEQUENCE, mine_pairs
from bench.data.synth.text.posecode_joints import pose_joints
from bench.data.synth.text.posecodes import compute_posecodes, count_differing_posecodes
from bench.errors import DataError

FRAMES = 4


def sequences(n_seq: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Poses of ``n_seq`` 4-frame sequences moving along straight paths, archetype labels, ids."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, FRAMES)[None, :, None, None]
    start = rng.normal(0.0, 0.3, size=(n_seq, 1, 22, 3))
    delta = rng.normal(0.0, 0.3, size=(n_seq, 1, 22, 3))
    poses = (start + t * delta).reshape(-1, 22, 3).astype(np.float32)
    poses[:, 0] = 0.0
    seq = np.repeat(np.arange(n_seq) + 100, FRAMES)
    archetypes = np.array([f"kind_{s % 7}" for s in seq])
    return poses, archetypes, seq


@pytest.fixture(scope="module")
def mined() -> dict[str, np.ndarray]:
    poses, archetypes, seq = sequences(60)
    a, b, in_seq = mine_pairs(poses, archetypes, seq, np.random.default_rng(0), n_pairs=120, max_uses=2)
    return {"poses": poses, "seq": seq, "a": a, "b": b, "in": in_seq}


def test_sequence_definitions_and_fraction(mined: dict[str, np.ndarray]) -> None:
    a, b, in_seq, seq = mined["a"], mined["b"], mined["in"], mined["seq"]
    assert len(a) == len(b) == len(in_seq) == 120
    assert a.dtype == np.int64 and in_seq.dtype == bool
    np.testing.assert_array_equal(in_seq, seq[a] == seq[b])
    assert in_seq.sum() == 60
    assert (a[in_seq] < b[in_seq]).all()  # B comes after A in its sequence
    assert (a != b).all()
    assert len(set(zip(a.tolist(), b.tolist()))) == len(a)


def test_similarity_bounds(mined: dict[str, np.ndarray]) -> None:
    joints = pose_joints(mined["poses"])[:, :22]
    codes = compute_posecodes(mined["poses"]).categories
    a, b, in_seq = mined["a"], mined["b"], mined["in"]
    mpjpe = np.linalg.norm(joints[a] - joints[b], axis=-1).mean(axis=-1) * 1000.0
    differing = count_differing_posecodes(codes[a], codes[b])
    for flag, bounds in ((True, IN_SEQUENCE), (False, OUT_OF_SEQUENCE)):
        sel = in_seq == flag
        assert (mpjpe[sel] >= bounds.min_mpjpe_mm - 1e-3).all() and (mpjpe[sel] <= bounds.max_mpjpe_mm + 1e-3).all()
        assert (differing[sel] >= bounds.min_differing_posecodes).all()


def test_each_pose_is_used_a_bounded_number_of_times(mined: dict[str, np.ndarray]) -> None:
    assert np.bincount(mined["a"]).max() <= 2
    assert np.bincount(mined["b"]).max() <= 2


def test_deterministic_and_seeded() -> None:
    poses, archetypes, seq = sequences(30, seed=1)
    first = mine_pairs(poses, archetypes, seq, np.random.default_rng(3), n_pairs=40)
    again = mine_pairs(poses, archetypes, seq, np.random.default_rng(3), n_pairs=40)
    other = mine_pairs(poses, archetypes, seq, np.random.default_rng(4), n_pairs=40)
    for x, y in zip(first, again, strict=True):
        np.testing.assert_array_equal(x, y)
    assert any(not np.array_equal(x, y) for x, y in zip(first, other, strict=True))


def test_fraction_extremes_and_shortfall() -> None:
    poses, archetypes, seq = sequences(20, seed=2)
    _, _, only_out = mine_pairs(poses, None, seq, np.random.default_rng(0), n_pairs=20, in_sequence_fraction=0.0)
    assert not only_out.any()
    # at most 6 ordered pairs per 4-frame sequence: asking for more in-sequence pairs falls back out of sequence
    _, _, flags = mine_pairs(poses, None, seq, np.random.default_rng(0), n_pairs=200, in_sequence_fraction=1.0,
                             max_uses=3)
    assert flags.sum() <= 6 * 20 and (~flags).sum() > 0


def test_identical_poses_are_never_paired() -> None:
    poses, _, seq = sequences(10, seed=3)
    still = np.repeat(poses[::FRAMES], FRAMES, axis=0)  # every sequence frozen on its first frame
    a, _, in_seq = mine_pairs(still, None, seq, np.random.default_rng(0), n_pairs=10, in_sequence_fraction=1.0)
    assert not in_seq.any()


def test_input_validation() -> None:
    poses, archetypes, seq = sequences(4)
    with pytest.raises(DataError):
        mine_pairs(poses, archetypes, seq[:-1], np.random.default_rng(0), n_pairs=2)
    with pytest.raises(DataError):
        mine_pairs(poses, archetypes, seq, np.random.default_rng(0), n_pairs=2, in_sequence_fraction=1.5)
    mixed = archetypes.copy()
    mixed[1] = "something_else"
    with pytest.raises(DataError):
        mine_pairs(poses, mixed, seq, np.random.default_rng(0), n_pairs=2)
