"""Pose tokenizer: shapes of both configs, encode/decode, checkpoint round trip with SHA-256."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.body import axis_angle_to_matrix, matrix_to_rot6d, rot6d_to_matrix
from bench.hashing import sha256_file
from bench.errors import CheckpointError, ConfigError, InternalError
from bench.models.unipose.conv1d import decoder_lengths
from bench.models.unipose.tokenizer import PoseTokenizer, TokenizerConfig

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = replace(TokenizerConfig.small(), name="tiny", hidden=16, code_dim=8, num_codes=32, resize_length=8, upsample_steps=0)


def _poses(count: int, seed: int = 0, scale: float = 0.4) -> torch.Tensor:
    return scale * torch.randn(count, 22, 3, generator=torch.Generator().manual_seed(seed))


def _initialised(config: TokenizerConfig) -> PoseTokenizer:
    """A tokenizer whose codebook was initialised by one training forward."""
    model = PoseTokenizer(config, seed=0)
    model.train()
    model(matrix_to_rot6d(axis_angle_to_matrix(_poses(64))))
    return model.eval()


def test_paper_config_shapes() -> None:
    config = TokenizerConfig.paper()
    assert (config.tokens_per_pose, config.num_codes, config.code_dim, config.hidden) == (80, 2048, 256, 512)
    assert decoder_lengths(22, 80, 4) == [65, 51, 36, 22]
    model = PoseTokenizer(config)
    rot6d = matrix_to_rot6d(axis_angle_to_matrix(_poses(2)))
    assert model.encoder(rot6d.permute(0, 2, 1)).shape == (2, 256, 80)
    codes = model.encode(_poses(2))
    assert codes.shape == (2, 80) and codes.dtype == torch.int64
    assert model.decode(codes).shape == (2, 22, 3)
    assert (model.num_codes, model.tokens_per_pose, model.code_dim) == (2048, 80, 256)


def test_small_config_shapes_and_outputs() -> None:
    model = _initialised(TokenizerConfig.small())
    assert (model.num_codes, model.tokens_per_pose, model.code_dim) == (1024, 16, 32)
    poses = _poses(3, seed=1)
    codes = model.encode(poses)
    assert codes.shape == (3, 16) and int(codes.min()) >= 0 and int(codes.max()) < 1024
    assert model.decode_rot6d(codes).shape == (3, 22, 6)
    matrices = model.decode_matrices(codes)
    assert torch.allclose(matrices @ matrices.transpose(-1, -2), torch.eye(3).expand(3, 22, 3, 3), atol=1e-5)
    assert torch.allclose(axis_angle_to_matrix(model.decode(codes)), matrices, atol=1e-5)
    assert torch.equal(model.encode(poses.numpy()), codes)  # numpy input accepted


def test_encode_and_decode_never_update_the_codebook() -> None:
    model = _initialised(TINY)
    model.train()  # even in training mode
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.decode(model.encode(_poses(5, seed=2)))
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_training_forward_is_differentiable_end_to_end() -> None:
    model = PoseTokenizer(TINY)
    model.train()
    target = matrix_to_rot6d(axis_angle_to_matrix(_poses(16)))
    out = model(target)
    loss = ((rot6d_to_matrix(out.rot6d) - rot6d_to_matrix(target)) ** 2).mean() + out.quantizer.commit_loss
    loss.backward()
    assert model.encoder[0].weight.grad is not None and model.encoder[0].weight.grad.abs().sum() > 0
    assert model.decoder[-1].weight.grad.abs().sum() > 0
    assert out.quantizer.codes.shape == (16, TINY.tokens_per_pose)


def test_bad_inputs() -> None:
    model = _initialised(TINY)
    with pytest.raises(InternalError):
        model.encode(torch.zeros(2, 21, 3))
    with pytest.raises(InternalError):
        model.decode(torch.zeros(2, TINY.tokens_per_pose + 1, dtype=torch.long))
    with pytest.raises(InternalError):
        model.decode(torch.full((1, TINY.tokens_per_pose), TINY.num_codes))
    with pytest.raises(ConfigError):
        TokenizerConfig(resize_length=5, upsample_steps=0, downsample_steps=1)
    with pytest.raises(ConfigError):
        TokenizerConfig.named("huge")


def test_construction_is_seeded() -> None:
    a, b, c = PoseTokenizer(TINY, seed=3), PoseTokenizer(TINY, seed=3), PoseTokenizer(TINY, seed=4)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert not torch.equal(a.encoder[0].weight, c.encoder[0].weight)


def test_checkpoint_round_trip_with_sha256(tmp_path: Path) -> None:
    model = _initialised(TINY)
    path = tmp_path / "tok.safetensors"
    sha = model.save(path, {"val_mpjpe_mm": 12.5, "data": {"name": "synth"}})
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["sha256"] == sha == sha256_file(path)
    assert card["config"] == TINY.to_dict() and card["tokens_per_pose"] == TINY.tokens_per_pose
    assert card["val_mpjpe_mm"] == 12.5
    loaded = PoseTokenizer.from_checkpoint(path, expected_sha256=sha)
    assert not loaded.training and loaded.card["sha256"] == sha
    poses = _poses(4, seed=5)
    assert torch.equal(loaded.encode(poses), model.encode(poses))
    assert torch.equal(loaded.decode(model.encode(poses)), model.decode(model.encode(poses)))

    with pytest.raises(CheckpointError, match="SHA-256 mismatch"):
        PoseTokenizer.from_checkpoint(path, expected_sha256="0" * 64)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="card records SHA-256"):
        PoseTokenizer.from_checkpoint(path)


def test_checkpoint_errors(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="never initialised"):
        PoseTokenizer(TINY).save(tmp_path / "untrained.safetensors")
    with pytest.raises(CheckpointError, match="not found"):
        PoseTokenizer.from_checkpoint(tmp_path / "missing.safetensors")
    model = _initialised(TINY)
    path = tmp_path / "tok.safetensors"
    model.save(path)
    card = json.loads(path.with_suffix(".json").read_text())
    card["config"]["hidden"] = 24  # weights no longer fit
    path.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(CheckpointError, match="do not fit"):
        PoseTokenizer.from_checkpoint(path)
    path.with_suffix(".json").write_text("{}")
    with pytest.raises(CheckpointError, match="card"):
        PoseTokenizer.from_checkpoint(path)


def test_float64_numpy_poses_are_encoded_as_float32() -> None:
    model = _initialised(TINY)
    poses = _poses(2, seed=6)
    assert torch.equal(model.encode(poses.double().numpy().astype(np.float64)), model.encode(poses))
