"""The synth builder: layout, counts, split isolation, pairs, determinism, pinned hashes, atomicity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.body import normalize_heading
from bench.data import load_dataset, read_manifest, verify_dataset
from bench.data.synth import build as build_module
from bench.data.synth.poses.archetypes import ARCHETYPE_NAMES
from bench.data.synth.build import SIZES, SynthSize, build_synth
from bench.data.synth.pinned import pinned_hash
from bench.data.synth.poses.generator import CHECKS
from bench.errors import UserError

TINY = SynthSize(poses={"train": 32, "val": 16, "test": 32}, pairs={"train": 16, "val": 8, "test": 16},
                 renders={"train": 2, "val": 2, "test": 6}, render_pairs={"test": 3}, rpe={"test": 3}, spg={"test": 4})  # fmt: skip


@pytest.fixture(scope="module")
def small(synth_small: Path):
    return load_dataset(synth_small, synth_small.parent)


def test_small_build_has_every_component_with_the_documented_counts(small):
    size = SIZES["small"]
    assert small.name == "synth" and small.manifest["variant"] == "small" and small.splits == ["test", "train", "val"]
    assert size.poses["test"] >= 256 and size.pairs["test"] >= 256
    for split in ("train", "val", "test"):
        assert len(small.poses(split)) == size.poses[split]
        assert len(small.captions(split)) == size.poses[split]
        assert len(small.pairs(split)) == size.pairs[split]
        assert len(small.instructions(split)) == size.pairs[split]
        assert len(small.renders(split)) == size.renders[split]
    assert len(small.render_pairs("test")) == size.render_pairs["test"]
    assert len(small.rpe("test")) == size.rpe["test"] and len(small.spg("test")) == size.spg["test"]
    assert not small.has("rpe", "train") and not small.has("spg", "val")


def test_small_build_verifies_and_reproduces_the_pinned_test_hash(small, synth_small: Path):
    assert verify_dataset(synth_small) == []
    expected = pinned_hash("small", 0)
    assert expected is not None, "pin the small test-split hash in bench/data/synth/pinned.py"
    assert small.split_hash("test") == expected


def test_splits_never_share_a_sequence_or_a_pose(small):
    sequences = {split: set(small.poses(split).sequence) for split in small.splits}
    ids = {split: set(small.poses(split).ids) for split in small.splits}
    for first in small.splits:
        for second in small.splits:
            if first < second:
                assert not sequences[first] & sequences[second]
                assert not ids[first] & ids[second]
    for split in small.splits:
        pairs = small.pairs(split)
        assert set(pairs.a_ids) | set(pairs.b_ids) <= ids[split]


def test_every_archetype_is_in_train(small):
    assert set(small.poses("train").archetype) == set(ARCHETYPE_NAMES)


def test_pairs_point_at_their_poses_and_keep_relative_heading(small):
    poses = small.poses("test")
    index = {pid: i for i, pid in enumerate(poses.ids)}
    sequence = dict(zip(poses.ids, poses.sequence))
    pairs = small.pairs("test")
    a = np.array([index[i] for i in pairs.a_ids])
    b = np.array([index[i] for i in pairs.b_ids])
    np.testing.assert_array_equal(pairs.poses_a, poses.poses[a])
    assert (pairs.in_sequence == np.array([sequence[x] == sequence[y] for x, y in zip(pairs.a_ids, pairs.b_ids)])).all()
    assert pairs.in_sequence.any() and (~pairs.in_sequence).any()
    assert (pairs.a_ids != pairs.b_ids).all()
    out = ~pairs.in_sequence
    np.testing.assert_array_equal(pairs.poses_b[out], poses.poses[b[out]])
    np.testing.assert_allclose(pairs.poses_b[:, 1:], poses.poses[b][:, 1:], atol=1e-6)
    np.testing.assert_allclose(normalize_heading(pairs.poses_b), poses.poses[b], atol=2e-4)


def test_texts_images_scenes_and_spg_are_consistent(small):
    captions = small.captions("test")
    assert all(len(t.auto) == 3 and t.human == [] and all(t.auto) for t in captions.values())
    assert all(len(t.auto) == 3 for t in small.instructions("test").values())
    renders = small.renders("test")
    pose_index = {pid: i for i, pid in enumerate(small.poses("test").ids)}
    rows = [pose_index[p] for p in renders.pose_ids]
    np.testing.assert_allclose(renders.poses_camera[:, 1:], small.poses("test").poses[rows, 1:], atol=1e-6)
    assert renders.image(0).shape == (224, 224, 3) and renders.image(0).std() > 5
    for scene in small.rpe("test"):
        assert 2 <= len(scene.boxes) <= 4 and 0 <= scene.target < len(scene.boxes) and scene.question.endswith(("?", "."))
        assert set(scene.pose_ids) <= set(pose_index)
    archetype = dict(zip(small.poses("test").ids, small.poses("test").archetype))
    for item in small.spg("test"):
        assert archetype[item.pose_id] == item.archetype and item.description
    pair_ids = set(small.pairs("test").ids)
    assert all(rp.pair_id in pair_ids and rp.image_a.is_file() for rp in small.render_pairs("test"))


def test_rejection_statistics_are_recorded(small):
    stats = small.manifest["build"]["rejections"]
    for split in ("train", "val", "test"):
        assert set(stats[split]["rate"]) == set(CHECKS)
        assert stats[split]["accepted"] == SIZES["small"].poses[split] <= stats[split]["attempts"]


def test_builds_are_byte_identical_for_any_worker_count(tmp_path: Path):
    one = build_synth(tmp_path / "one", TINY, seed=7, workers=1).manifest
    two = build_synth(tmp_path / "two", TINY, seed=7, workers=2).manifest
    assert one["files"] == two["files"] and one["splits"] == two["splits"]
    other = build_synth(tmp_path / "other", TINY, seed=8, workers=1).manifest
    assert other["splits"]["test"]["hash"] != one["splits"]["test"]["hash"]


def test_test_split_does_not_depend_on_the_train_and_val_counts(tmp_path: Path):
    bigger = SynthSize(poses={"train": 48, "val": 8, "test": 32}, pairs={"train": 24, "val": 4, "test": 16},
                       renders={"train": 3, "val": 1, "test": 6}, render_pairs={"test": 3}, rpe={"test": 3}, spg={"test": 4})  # fmt: skip
    one = build_synth(tmp_path / "one", TINY, seed=7, workers=1).manifest
    two = build_synth(tmp_path / "two", bigger, seed=7, workers=1).manifest
    assert one["splits"]["test"]["hash"] == two["splits"]["test"]["hash"]
    assert one["splits"]["train"]["hash"] != two["splits"]["train"]["hash"]


def test_existing_dataset_needs_force(tmp_path: Path):
    (tmp_path / "synth").mkdir()
    with pytest.raises(UserError, match="already exists; pass --force"):
        build_synth(tmp_path / "synth", TINY)
    with pytest.raises(UserError, match="unknown synth size 'huge'"):
        build_synth(tmp_path / "x", "huge")


def test_interrupted_build_leaves_no_dataset_and_keeps_the_old_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    root = tmp_path / "synth"
    build_synth(root, TINY, seed=1, workers=1)
    before = read_manifest(root)

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated crash while rendering")

    monkeypatch.setattr(build_module, "_stage_renders", crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        build_synth(root, TINY, seed=2, workers=1, force=True)
    assert read_manifest(root) == before and verify_dataset(root) == []
    with pytest.raises(RuntimeError):
        build_synth(tmp_path / "fresh", TINY, seed=2, workers=1)
    assert not (tmp_path / "fresh").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["synth"]  # no temporary folders left behind
