"""Tokenizer training: a tiny run overfits a handful of poses, resumes bit-identically, writes a card."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.body import load_body_model
from bench.config import load_config
from bench.data import load_dataset
from bench.errors import CheckpointError, DataError, NotFoundError
from bench.models.unipose.tokenizer import PoseTokenizer, TokenizerConfig
from bench.models.unipose.train_tokenizer import (
    TokenizerTrainConfig, fit_tokenizer, reconstruction_mpjpe_mm, train_tokenizer,
)  # fmt: skip

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = replace(TokenizerConfig.small(), name="tiny", hidden=32, code_dim=16, num_codes=64, resize_length=8, upsample_steps=0)
SETTINGS = TokenizerTrainConfig(epochs=30, batch_size=16, lr=3e-3, lr_milestones=(25,), warmup_steps=5, warmup_ramp=5,
                                eval_interval=10, yaw_noise_deg=0.0, tilt_noise_deg=0.0, joint_noise_interval=0)  # fmt: skip


def _poses(count: int, seed: int) -> np.ndarray:
    return (0.3 * np.random.default_rng(seed).standard_normal((count, 22, 3))).astype(np.float32)


def test_lr_schedule_keeps_the_paper_warmup_quirk() -> None:
    paper = TokenizerTrainConfig.paper()
    assert paper.lr_at(0, 0) == pytest.approx(2e-4 / 500)
    assert paper.lr_at(199, 0) == pytest.approx(2e-4 * 200 / 500)  # 40 % ...
    assert paper.lr_at(200, 0) == pytest.approx(2e-4)  # ... then a jump to 100 %
    assert paper.lr_at(10_000, 160) == pytest.approx(2e-5) and paper.lr_at(10_000, 220) == pytest.approx(2e-6)


def test_tiny_run_overfits_a_handful_of_poses(tmp_path: Path) -> None:
    body = load_body_model("skeleton")
    config = replace(TINY, hidden=64, num_codes=32)
    settings = replace(SETTINGS, epochs=25, batch_size=8, lr=2e-3, lr_milestones=(22,), eval_interval=5)
    train = _poses(8, seed=0)
    untrained = PoseTokenizer(config, seed=0)
    untrained.train()
    untrained(torch.zeros(16, 22, 6))  # initialise the codebook so encode/decode are meaningful
    before = float(reconstruction_mpjpe_mm(untrained, train, body).mean())
    # the 8 poses repeated 4 times: 4 steps per epoch, 100 steps in all
    model, record = fit_tokenizer(config, settings, np.tile(train, (4, 1, 1)), train, body, tmp_path / "work", seed=0)
    after = float(reconstruction_mpjpe_mm(model, train, body).mean())
    assert model is not None and not model.training
    assert after < 0.5 * before, (before, after)  # about 470 mm -> 170 mm
    assert record["best_val_mpjpe_mm"] == pytest.approx(after, rel=1e-6)
    assert record["global_step"] == 100 and len(record["history"]) == 25
    assert [h["epoch"] for h in record["history"] if "val_mpjpe_mm" in h] == [5, 10, 15, 20, 25]


def test_interrupted_run_resumes_to_the_same_weights(tmp_path: Path) -> None:
    body = load_body_model("skeleton")
    settings = replace(SETTINGS, epochs=4, eval_interval=2, yaw_noise_deg=45.0, tilt_noise_deg=20.0, joint_noise_interval=3)
    train, val = _poses(48, seed=1), _poses(16, seed=2)
    straight, _ = fit_tokenizer(TINY, settings, train, val, body, tmp_path / "a", seed=3)
    stopped, partial = fit_tokenizer(TINY, settings, train, val, body, tmp_path / "b", seed=3, stop_after_epochs=2)
    assert stopped is None and partial["epoch"] == 2
    resumed, _ = fit_tokenizer(TINY, settings, train, val, body, tmp_path / "b", seed=3)
    for key, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key
    with pytest.raises(CheckpointError, match="seed"):
        fit_tokenizer(TINY, settings, train, val, body, tmp_path / "b", seed=4)


def test_train_tokenizer_writes_a_checkpoint_and_card(synth_small: Path, tmp_path: Path) -> None:
    config = load_config(env={"BENCH_HOME": str(tmp_path / "home")})
    settings = replace(SETTINGS, epochs=2, batch_size=64, eval_interval=1)
    out = tmp_path / "tok.safetensors"
    result = train_tokenizer(config, model_config=TINY, train_config=settings, dataset=str(synth_small), out=out)
    assert result.completed and result.path == out
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["data"]["split_hashes"]["test"] and card["data"]["name"] == "synth"
    assert card["body_model"]["backend"] == "skeleton" and card["vertex_loss"].startswith("absent")
    assert card["best_epoch"] in (1, 2) and card["val_mpjpe_mm"] > 0 and card["test_mpjpe_mm"] > 0
    assert card["train_cpu_seconds"] > 0 and len(card["history"]) == 2
    assert card["tokens_per_pose"] == TINY.tokens_per_pose and card["config"]["name"] == "tiny"
    loaded = PoseTokenizer.from_checkpoint(out, expected_sha256=card["sha256"])
    assert loaded.encode(_poses(2, seed=5)).shape == (2, TINY.tokens_per_pose)


def test_train_tokenizer_needs_pose_splits(tmp_path: Path) -> None:
    config = load_config(env={"BENCH_HOME": str(tmp_path / "home")})
    with pytest.raises(DataError):
        fit_tokenizer(TINY, SETTINGS, _poses(8, seed=0), _poses(8, seed=1), load_body_model("skeleton"), tmp_path / "w")
    with pytest.raises(NotFoundError, match="no dataset"):
        train_tokenizer(config, model_config=TINY, train_config=SETTINGS, dataset="nonexistent")


def test_cli_trains_the_quick_tokenizer(synth_small: Path, tmp_path: Path, bench_home: Path) -> None:
    from tests.cli_helpers import run_bench

    out = tmp_path / "models"
    result = run_bench("models", "train", "unipose-tokenizer", "--quick", "--data", str(synth_small), "--out", str(out),
                       "--epochs", "1", "--seed", "3")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    card = json.loads((out / "unipose" / "tokenizer-tiny.json").read_text())
    assert card["seed"] == 3 and card["epochs"] == 1 and card["config"]["name"] == "tiny"
    assert PoseTokenizer.from_checkpoint(out / "unipose" / "tokenizer-tiny.safetensors").tokens_per_pose == 4


def test_shipped_small_tokenizer(synth_small: Path) -> None:
    """The checkpoint in the repository: hash matches its card, small config, and it reconstructs
    unseen synth poses far below text-to-pose errors (its card: 23 mm on synth-full test)."""
    from bench.config import PACKAGE_ROOT
    from bench.hashing import sha256_file

    path = PACKAGE_ROOT / "bench" / "models" / "checkpoints" / "unipose" / "tokenizer-small.safetensors"
    card = json.loads(path.with_suffix(".json").read_text())
    tokenizer = PoseTokenizer.from_checkpoint(path, expected_sha256=sha256_file(path))
    assert tokenizer.config == TokenizerConfig.small() and card["test_mpjpe_mm"] < 40.0
    poses = load_dataset(synth_small, synth_small.parent).poses("test").poses
    assert float(reconstruction_mpjpe_mm(tokenizer, poses, load_body_model("skeleton")).mean()) < 40.0
