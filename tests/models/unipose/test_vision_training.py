"""Generic-encoder pre-training: augmentation, MAE training run, checkpoint and card, CLI entry."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from bench.config import load_config
from bench.data import load_dataset
from bench.models.unipose.generic_encoder import load_generic_encoder
from bench.models.unipose.train_vision import (
    QUICK_ENCODER, VisionTrainConfig, augment, load_render_images, train_generic_encoder,
)  # fmt: skip

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_augment_crops_and_flips() -> None:
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (16, 3, 8, 8), generator=gen, dtype=torch.uint8)
    out = augment(images, gen, (1.0, 1.0))  # full-size crops: only flips remain
    as_float = images.float() / 255.0
    for original, augmented in zip(as_float, out):
        assert torch.allclose(augmented, original, atol=1e-5) or torch.allclose(augmented, original.flip(-1), atol=1e-5)
    flipped = sum(not torch.allclose(a, o, atol=1e-5) for a, o in zip(out, as_float))
    assert 0 < flipped < 16
    cropped = augment(images, torch.Generator().manual_seed(1), (0.3, 0.5))
    assert cropped.shape == (16, 3, 8, 8) and 0.0 <= float(cropped.min()) and float(cropped.max()) <= 1.0


def test_lr_warmup_then_cosine() -> None:
    settings = VisionTrainConfig(epochs=4, lr=1.0, warmup_epochs=1)
    assert settings.lr_at(0, 10) == pytest.approx(0.1) and settings.lr_at(9, 10) == pytest.approx(1.0)
    assert settings.lr_at(10, 10) == pytest.approx(1.0) and settings.lr_at(39, 10) < 0.01


def test_mae_pretraining_writes_a_loadable_encoder(synth_small: Path, tmp_path: Path) -> None:
    config = load_config(env={"BENCH_HOME": str(tmp_path / "home")})
    out = tmp_path / "generic.safetensors"
    settings = VisionTrainConfig(epochs=3, batch_size=16, lr=2e-3)
    card = train_generic_encoder(config, encoder_config=QUICK_ENCODER, train_config=settings, dataset=str(synth_small), out=out)
    assert card is not None and card["best_epoch"] in (1, 2, 3) and card["images"] == {"train": 64, "val": 32}
    assert card["data"]["split_hashes"]["train"] and card["objective"].startswith("masked autoencoder")
    losses = [h["train_loss"] for h in card["history"]]
    assert losses[-1] < losses[0]  # the MAE objective goes down
    encoder = load_generic_encoder(out, expected_sha256=card["sha256"])
    assert encoder(torch.rand(2, 3, 224, 224)).shape == (2, QUICK_ENCODER.width, 4, 4)
    images = load_render_images(load_dataset(synth_small, synth_small.parent).renders("val"), 32, limit=3)
    assert images.shape == (3, 3, 32, 32) and images.dtype == torch.uint8


def test_interrupted_pretraining_resumes_to_the_same_encoder(synth_small: Path, tmp_path: Path) -> None:
    config = load_config(env={"BENCH_HOME": str(tmp_path / "home")})
    settings = VisionTrainConfig(epochs=2, batch_size=32)
    kwargs = {"encoder_config": replace(QUICK_ENCODER, depth=1), "train_config": settings, "dataset": str(synth_small)}
    straight = train_generic_encoder(config, out=tmp_path / "a.safetensors", **kwargs)
    assert train_generic_encoder(config, out=tmp_path / "b.safetensors", stop_after_epochs=1, **kwargs) is None
    resumed = train_generic_encoder(config, out=tmp_path / "b.safetensors", **kwargs)
    assert straight["sha256"] == resumed["sha256"]


def test_cli_trains_the_quick_encoder(synth_small: Path, tmp_path: Path, bench_home: Path) -> None:
    from tests.cli_helpers import run_bench

    out = tmp_path / "models"
    result = run_bench("models", "train", "unipose-vision", "--quick", "--data", str(synth_small), "--out", str(out),
                       "--epochs", "1")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    card = json.loads((out / "unipose" / "generic-encoder-quick.json").read_text())
    assert card["train_config"]["epochs"] == 1 and card["config"]["name"] == "quick"


def test_shipped_generic_encoder() -> None:
    """The MAE-pretrained encoder in the repository loads with its card's hash and gives a 7 × 7 grid."""
    from bench.config import PACKAGE_ROOT
    from bench.models.unipose.generic_encoder import GenericEncoderConfig

    path = PACKAGE_ROOT / "bench" / "models" / "checkpoints" / "unipose" / "generic-encoder-small.safetensors"
    card = json.loads(path.with_suffix(".json").read_text())
    encoder = load_generic_encoder(path, expected_sha256=card["sha256"])
    assert encoder.config == GenericEncoderConfig.small() and card["objective"].startswith("masked autoencoder")
    features = encoder(torch.rand(2, 3, 224, 224, generator=torch.Generator().manual_seed(0)))
    assert features.shape == (2, 128, 7, 7) and torch.isfinite(features).all()
