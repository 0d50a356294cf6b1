"""Visual processor: grid alignment, output shapes, frozen encoders, generic-only mode, generic encoder I/O."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.errors import CheckpointError, ConfigError, InternalError
from bench.models.image_encoders import BackboneConfig, PoseBackbone
from bench.models.unipose.generic_encoder import (
    GenericEncoderConfig,
    GenericImageEncoder,
    MaskedAutoencoder,
    load_generic_encoder,
    patchify,
    save_generic_encoder,
    sincos_position_embedding,
)
from bench.models.unipose.vision import VisualProcessor, VisualProcessorConfig, align_grid, as_float_images

pytestmark = pytest.mark.usefixtures("one_torch_thread")

GENERIC = GenericEncoderConfig(name="tiny", image_size=32, patch=8, width=16, depth=1, heads=2, decoder_width=8,
                               decoder_depth=1, decoder_heads=2)  # fmt: skip


def _images(count: int, seed: int = 0) -> torch.Tensor:
    """uint8 (B, 224, 224, 3) noise images."""
    return torch.randint(0, 256, (count, 224, 224, 3), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


def _processor(encoders: str = "both", d_model: int = 24) -> VisualProcessor:
    pose = PoseBackbone(BackboneConfig(input_size=32, channels=(8, 8, 8, 8))) if encoders == "both" else None
    return VisualProcessor(VisualProcessorConfig(encoders=encoders), GenericImageEncoder(GENERIC), pose, d_model, seed=0)


def test_align_grid_on_a_known_grid() -> None:
    grid = torch.arange(2.0).view(1, 1, 2, 1)  # [[0], [1]] → padded [[0, 0], [1, 0]]
    expected = torch.tensor([[0.0, 0.0, 0.0], [0.5, 0.25, 0.0], [1.0, 0.5, 0.0]])
    assert torch.allclose(align_grid(grid, (3, 3))[0, 0], expected)


def test_align_grid_reproduces_unipose_padding() -> None:
    features = torch.rand(2, 5, 16, 12, generator=torch.Generator().manual_seed(0)) + 1.0  # nonzero everywhere
    padded = align_grid(features, (16, 16))  # no resize: just the zero padding
    assert torch.equal(padded[..., 2:14], features)
    assert float(padded[..., :2].abs().sum() + padded[..., 14:].abs().sum()) == 0.0
    resized = align_grid(features, (24, 24))
    assert resized.shape == (2, 5, 24, 24)
    # align_corners=True keeps the corner cells: top-left is padding (0), the corners of the map stay exact
    assert float(resized[..., 0, 0].abs().sum()) == 0.0
    assert torch.allclose(resized, torch.nn.functional.interpolate(padded, size=(24, 24), mode="bilinear", align_corners=True))
    same = torch.rand(1, 3, 7, 7)
    assert torch.equal(align_grid(same, (7, 7)), same)


def test_as_float_images_accepts_both_layouts() -> None:
    images = _images(2)
    channels_first = as_float_images(images)
    assert channels_first.shape == (2, 3, 224, 224) and channels_first.dtype == torch.float32
    assert float(channels_first.max()) <= 1.0
    assert torch.equal(as_float_images(images.permute(0, 3, 1, 2)), channels_first)
    assert torch.equal(as_float_images(images.float() / 255.0), channels_first)
    with pytest.raises(InternalError):
        as_float_images(torch.zeros(2, 224, 224))


def test_output_shapes_both_and_generic_only() -> None:
    both = _processor("both", d_model=24)
    out = both(_images(3))
    assert out.shape == (3, both.num_tokens, 24) and both.num_tokens == 16  # the generic 4 × 4 grid
    assert both.features(_images(1)).shape == (1, 16, 16 + 8)  # C_g + C_p channels
    generic = _processor("generic", d_model=24)
    assert generic(_images(2)).shape == (2, 16, 24)
    assert generic.features(_images(1)).shape == (1, 16, 16)
    assert generic.projector[0].in_features == 16 and both.projector[0].in_features == 24
    assert torch.equal(both(_images(2, seed=1)), both(_images(2, seed=1).permute(0, 3, 1, 2).float() / 255.0))


def test_only_the_projector_trains() -> None:
    processor = _processor("both")
    processor.train()
    assert processor.training and processor.projector.training
    assert not processor.generic.training and not processor.pose.training
    trainable = {name for name, p in processor.named_parameters() if p.requires_grad}
    assert trainable and all(name.startswith("projector.") for name in trainable)
    processor(_images(2)).sum().backward()
    assert all(p.grad is not None for p in processor.projector.parameters())
    assert all(p.grad is None for p in processor.generic.parameters())
    assert all(p.grad is None for p in processor.pose.parameters())


def test_pose_branch_changes_the_tokens() -> None:
    both = _processor("both")
    images = _images(2, seed=3)
    before = both(images)
    with torch.no_grad():
        for p in both.pose.parameters():
            p.add_(0.5)
    assert not torch.allclose(both(images), before)


def test_config_checks() -> None:
    with pytest.raises(ConfigError):
        VisualProcessorConfig(encoders="pose")
    with pytest.raises(ConfigError):
        VisualProcessorConfig.named("huge")
    with pytest.raises(InternalError):
        VisualProcessor(VisualProcessorConfig(encoders="generic"), GenericImageEncoder(GENERIC),
                        PoseBackbone(BackboneConfig(32, (8, 8, 8, 8))), 8)  # fmt: skip


def test_sincos_embeddings_and_patchify() -> None:
    emb = sincos_position_embedding(4, 8)
    assert emb.shape == (16, 8) and torch.allclose(emb[0], torch.tensor([0.0, 0, 1, 1, 0, 0, 1, 1]))
    assert len({tuple(row.tolist()) for row in emb}) == 16  # every position distinct
    image = torch.arange(2 * 2 * 3, dtype=torch.float32).view(1, 3, 2, 2)
    patches = patchify(image, 1)  # 4 one-pixel patches, channels inside
    assert torch.equal(patches[0, 1], image[0, :, 0, 1])


def test_mae_loss_is_seeded_and_trainable() -> None:
    mae = MaskedAutoencoder(GenericImageEncoder(GENERIC, seed=0), seed=1)
    images = as_float_images(_images(4))
    a = mae(images, torch.Generator().manual_seed(0))
    b = mae(images, torch.Generator().manual_seed(0))
    assert torch.equal(a, b) and float(a.detach()) > 0
    a.backward()
    assert mae.encoder.patch_embed.weight.grad.abs().sum() > 0 and mae.decoder_pred.weight.grad.abs().sum() > 0


def test_generic_encoder_checkpoint_round_trip(tmp_path: Path) -> None:
    encoder = GenericImageEncoder(GENERIC, seed=5)
    path = tmp_path / "generic.safetensors"
    card = save_generic_encoder(encoder, path, {"val_mae_loss": 0.5})
    loaded = load_generic_encoder(path, expected_sha256=card["sha256"])
    images = as_float_images(_images(2))
    assert torch.equal(loaded(images), encoder(images)) and loaded.card["val_mae_loss"] == 0.5
    with pytest.raises(CheckpointError):
        load_generic_encoder(path, expected_sha256="f" * 64)
    stored = json.loads(path.with_suffix(".json").read_text())
    stored["config"]["width"] = 32
    stored_path = path.with_suffix(".json")
    stored_path.write_text(json.dumps(stored))
    with pytest.raises(CheckpointError, match="do not fit"):
        load_generic_encoder(path)


def test_build_loads_both_encoders_from_model_folders(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    from bench.hashing import sha256_file
    from bench.models.regressor import PoseRegressor

    folder = tmp_path / "models"
    save_generic_encoder(GenericImageEncoder(GENERIC), folder / "unipose" / "generic-encoder-small.safetensors", {})
    regressor = PoseRegressor(BackboneConfig(32, (8, 8, 8, 8)), hidden=16, head="gap")
    weights = folder / "regressor.safetensors"  # a card without "head": the first (gap) format
    save_file({k: v.contiguous() for k, v in regressor.state_dict().items()}, str(weights))
    weights.with_suffix(".json").write_text(json.dumps(
        {"architecture": {"input_size": 32, "channels": [8, 8, 8, 8], "hidden": 16}, "sha256": sha256_file(weights)}))
    processor = VisualProcessor.build("small", 12, model_dirs=[folder], seed=0)
    assert processor.config.encoders == "both" and processor(_images(1)).shape == (1, 16, 12)
    assert torch.equal(processor.pose.stages[0].weight, regressor.backbone.stages[0].weight)
    generic_only = VisualProcessor.build("small", 12, generic_only=True, model_dirs=[folder])
    assert generic_only.pose is None and generic_only.config.encoders == "generic"
    assert np.isfinite(generic_only(_images(1)).detach().numpy()).all()
