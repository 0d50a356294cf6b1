"""Tiny evaluators for other areas' tests: the session fixture and ``retrieval_models.quick``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrieval_models.quick import train_tiny_evaluators
from tests.retrieval_models.tiny_dataset import build_tiny_dataset


@pytest.fixture(scope="module")
def small_dataset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_dataset(tmp_path_factory.mktemp("small") / "small", sizes={"train": 48, "val": 32, "test": 32})


def test_tiny_evaluators_fixture(tiny_evaluators, small_dataset_dir: Path) -> None:
    evaluators = tiny_evaluators(small_dataset_dir)
    assert set(evaluators) == {"pose-text", "pair-text"}
    assert tiny_evaluators(small_dataset_dir) is evaluators  # trained once per folder
    pose_text, pair_text = evaluators["pose-text"], evaluators["pair-text"]
    assert (pose_text.id, pose_text.kind, len(pose_text.sha256)) == ("tiny-posetext", "pose-text", 64)
    poses = np.zeros((2, 22, 3), np.float32)
    assert pose_text.embed_poses(poses).shape == (2, 512)
    assert pair_text.embed_pairs(poses, poses).shape == (2, 512)
    assert pose_text.embed_texts(["the left knee is bent"]).shape == (1, 512)


def test_helper_reuses_its_files(small_dataset_dir: Path, tmp_path: Path) -> None:
    first = train_tiny_evaluators(small_dataset_dir, tmp_path, epochs=1)
    mtime = (tmp_path / "tiny-posetext.safetensors").stat().st_mtime_ns
    again = train_tiny_evaluators(small_dataset_dir, tmp_path, epochs=1)
    assert (tmp_path / "tiny-posetext.safetensors").stat().st_mtime_ns == mtime
    assert again["pair-text"].sha256 == first["pair-text"].sha256
