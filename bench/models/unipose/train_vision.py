"""Pre-training the generic image encoder with a masked autoencoder (``bench models train unipose-vision``).

UniPose's generic branch is CLIP: an image encoder that never saw pose labels. PoseBench trains its
generic ViT (``generic_encoder``) on the train-split renders of a dataset with the MAE objective
only: 75 % of the patches hidden, the per-patch-normalised pixels of the hidden ones predicted from
the visible ones. No pose, caption or camera annotation is read, so the features stay generic; the
pose-specific branch (the image→pose backbone) is what brings pose supervision into the visual
processor, as in the paper.

Data pipeline: every train render is read once and resized (antialiased bilinear) to the encoder's
input side S, kept as uint8 in memory; each batch gets a random resized crop (area share in
``crop_scale``, square) and a horizontal flip with probability 1/2, both drawn from the run's
``torch.Generator`` and applied with one batched affine resampling. Optimiser: AdamW with linear
warm-up and cosine decay. Selection: the epoch with the lowest val MAE loss (val renders, masks from
a fixed seed, no augmentation). Snapshots after every epoch make the run resumable.
"""

from __future__ import annotations

import logging
import math
import platform
import shutil
import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from bench.config import BenchConfig
from bench.data.dataset import Dataset
from bench.errors import ConfigError, DataError
from bench.models.adapter import register_trainer
from bench.models.unipose.generic_encoder import (
    GenericEncoderConfig, GenericImageEncoder, MaskedAutoencoder, save_generic_encoder,
)  # fmt: skip
from bench.models.unipose.resumable import resume_run, save_epoch
from bench.progress import progress, progress_bar

logger = logging.getLogger(__name__)

__all__ = [
    "VisionTrainConfig", "load_render_images", "augment", "mae_val_loss", "train_generic_encoder", "train_vision_model",
    "QUICK_ENCODER",
]  # fmt: skip


@dataclass(frozen=True)
class VisionTrainConfig:
    """MAE pre-training settings (recorded in the card)."""

    epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_epochs: int = 1
    crop_scale: tuple[float, float] = (0.6, 1.0)
    """Range of the crop's share of the image area."""
    val_seed: int = 1234
    """Seed of the val masks (the same masks at every evaluation)."""

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 2:
            raise ConfigError("needs epochs >= 1 and batch_size >= 2", field="epochs")
        if not 0.0 < self.crop_scale[0] <= self.crop_scale[1] <= 1.0:
            raise ConfigError("must satisfy 0 < low <= high <= 1", field="crop_scale")

    def lr_at(self, step: int, steps_per_epoch: int) -> float:
        """Linear warm-up over ``warmup_epochs``, then cosine decay to 0 at the last step."""
        warm = self.warmup_epochs * steps_per_epoch
        total = self.epochs * steps_per_epoch
        if step < warm:
            return self.lr * (step + 1) / warm
        return self.lr * 0.5 * (1.0 + math.cos(math.pi * (step - warm) / max(1, total - warm)))


def load_render_images(renders: Any, side: int, limit: int | None = None) -> torch.Tensor:
    """uint8 ``(R, 3, side, side)``: the first ``limit`` (all by default) renders of a RenderSet, resized."""
    count = len(renders) if limit is None else min(limit, len(renders))
    out = torch.empty((count, 3, side, side), dtype=torch.uint8)
    for i in progress(range(count), desc="reading renders", total=count, unit="img"):
        image = torch.tensor(renders.image(i)).permute(2, 0, 1)[None].float()
        resized = F.interpolate(image, size=(side, side), mode="bilinear", align_corners=False, antialias=True)
        out[i] = resized[0].round().clamp(0, 255).to(torch.uint8)
    return out


def augment(images: torch.Tensor, generator: torch.Generator, crop_scale: tuple[float, float]) -> torch.Tensor:
    """Random square resized crop + horizontal flip: uint8 ``(B, 3, S, S)`` → float ``(B, 3, S, S)`` in [0, 1]."""
    batch = images.shape[0]
    low, high = crop_scale
    scale = torch.sqrt(low + (high - low) * torch.rand(batch, generator=generator))  # crop side / image side
    shift = (1.0 - scale)[:, None] * (2.0 * torch.rand((batch, 2), generator=generator) - 1.0)
    flip = torch.where(torch.rand(batch, generator=generator) < 0.5, -1.0, 1.0)
    theta = torch.zeros((batch, 2, 3))
    theta[:, 0, 0] = scale * flip
    theta[:, 1, 1] = scale
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images.float() / 255.0, grid, mode="bilinear", padding_mode="border", align_corners=False)


def mae_val_loss(mae: MaskedAutoencoder, images: torch.Tensor, seed: int, batch_size: int = 128) -> float:
    """Mean MAE loss over uint8 ``(R, 3, S, S)`` images, masks drawn from a generator seeded with ``seed``."""
    was_training = mae.training
    mae.eval()
    generator = torch.Generator().manual_seed(seed)
    total = 0.0
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            chunk = images[start : start + batch_size]
            total += float(mae(chunk.float() / 255.0, generator)) * len(chunk)
    mae.train(was_training)
    return total / max(1, len(images))


def _fit(
    cfg: GenericEncoderConfig,
    settings: VisionTrainConfig,
    train_images: torch.Tensor,
    val_images: torch.Tensor,
    work_dir: Path,
    record: dict[str, Any],
    seed: int,
    stop_after_epochs: int | None,
) -> dict[str, Any] | None:
    """The MAE epochs (resuming from ``work_dir``); the best encoder goes to ``work_dir/best.safetensors``.

    Returns the progress record, or None when stopped early.
    """
    from retrieval_models.train_state import save_weights

    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    mae = MaskedAutoencoder(GenericImageEncoder(cfg, seed=seed), seed=seed + 1)
    optimizer = torch.optim.AdamW(mae.parameters(), lr=settings.lr, betas=(0.9, 0.95), weight_decay=settings.weight_decay)
    record = resume_run(work_dir, record, ("encoder_config", "train_config", "seed", "identity"), mae, optimizer, rng, gen)
    work_dir.mkdir(parents=True, exist_ok=True)
    steps = len(train_images) // settings.batch_size
    run_epochs = 0
    while record["epoch"] < settings.epochs:
        if stop_after_epochs is not None and run_epochs >= stop_after_epochs:
            return None
        start, cpu_start = time.perf_counter(), time.process_time()
        mae.train()
        order = torch.from_numpy(rng.permutation(len(train_images)))
        total = 0.0
        bar = progress_bar(f"MAE epoch {record['epoch'] + 1}", total=steps, unit="batch")
        for k in range(steps):
            for group in optimizer.param_groups:
                group["lr"] = settings.lr_at(record["step"], steps)
            rows = order[k * settings.batch_size : (k + 1) * settings.batch_size]
            batch = augment(train_images[rows], gen, settings.crop_scale)
            loss = mae(batch, gen)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            record["step"] += 1
            total += float(loss.detach())
            bar.update(1)
        bar.close()
        record["epoch"] += 1
        val = mae_val_loss(mae, val_images, settings.val_seed)
        if record["best_val_loss"] is None or val < record["best_val_loss"]:
            record["best_val_loss"], record["best_epoch"] = val, record["epoch"]
            save_weights(work_dir / "best.safetensors", mae.encoder.state_dict())
        record["train_seconds"] += time.perf_counter() - start
        record["train_cpu_seconds"] += time.process_time() - cpu_start
        record["history"].append({"epoch": record["epoch"], "train_loss": round(total / steps, 5), "val_loss": round(val, 5)})
        save_epoch(work_dir, record, mae, optimizer, rng, gen)
        run_epochs += 1
        logger.info("MAE epoch %d/%d: train %.4f, val %.4f", record["epoch"], settings.epochs, total / steps, val)
    return record


def train_generic_encoder(
    config: BenchConfig,
    *,
    encoder_config: GenericEncoderConfig | None = None,
    train_config: VisionTrainConfig | None = None,
    dataset: Dataset | str = "synth-full",
    epochs: int | None = None,
    seed: int = 0,
    out: Path | None = None,
    restart: bool = False,
    stop_after_epochs: int | None = None,
    threads: int = 1,
) -> dict[str, Any] | None:
    """MAE pre-training of the generic encoder on the dataset's train renders; writes checkpoint + card.

    Args:
        config: paths (``data_dir``, ``user_models_dir``).
        dataset: a loaded dataset, or a name or folder, with ``renders`` train and val.
        out: the ``.safetensors`` to write (default ``<user_models_dir>/unipose/generic-encoder-<name>.safetensors``);
            the resumable state lives in ``<stem>.train/`` next to it.
        stop_after_epochs: stop after this many epochs in this call (resume later).
        threads: torch intra-op threads while training (1 is fastest on a busy 2-core machine).

    Returns:
        The card written, or None when stopped early.
    """
    from retrieval_models.train_state import load_weights

    from bench.data.dataset import load_dataset
    from bench.data.synth.poses.generator import torch_threads

    cfg = encoder_config or GenericEncoderConfig.small()
    settings = train_config or VisionTrainConfig()
    if epochs is not None:
        settings = replace(settings, epochs=epochs)
    ds = load_dataset(dataset, config.data_dir) if isinstance(dataset, (str, Path)) else dataset
    for split in ("train", "val"):
        if not ds.has("renders", split):
            raise DataError(f"dataset {ds.root.name!r} has no renders/{split}", file=ds.root, field="renders")
    identity = {"name": ds.name, "folder": ds.root.name, "version": ds.version,
                "split_hashes": {s: ds.split_hash(s) for s in ("train", "val")}}  # fmt: skip
    out = Path(out) if out is not None else config.user_models_dir / "unipose" / f"generic-encoder-{cfg.name}.safetensors"
    work_dir = out.with_name(out.stem + ".train")
    if restart and work_dir.exists():
        shutil.rmtree(work_dir)
    train_images = load_render_images(ds.renders("train"), cfg.image_size)
    val_images = load_render_images(ds.renders("val"), cfg.image_size)
    if len(train_images) < settings.batch_size:
        raise DataError(f"{len(train_images)} train renders are fewer than one batch", file=ds.root, field="renders")

    record: dict[str, Any] = {"encoder_config": cfg.to_dict(), "train_config": asdict(settings), "seed": seed,
                              "identity": identity, "epoch": 0, "step": 0, "serial": 0, "best_epoch": None,
                              "best_val_loss": None, "history": [], "train_seconds": 0.0,
                              "train_cpu_seconds": 0.0}  # fmt: skip
    with torch_threads(threads):
        record = _fit(cfg, settings, train_images, val_images, work_dir, record, seed, stop_after_epochs)
    if record is None:
        return None
    encoder = GenericImageEncoder(cfg)
    encoder.load_state_dict(load_weights(work_dir / "best.safetensors"), strict=True)
    card = {
        "name": out.stem, "model": "unipose-generic-encoder", "objective": "masked autoencoder (pixels of hidden patches)",
        "data": identity, "images": {"train": len(train_images), "val": len(val_images)}, "seed": seed,
        "train_config": asdict(settings), "best_epoch": record["best_epoch"], "val_mae_loss": round(record["best_val_loss"], 5),
        "train_seconds": round(record["train_seconds"], 1), "train_cpu_seconds": round(record["train_cpu_seconds"], 1),
        "history": record["history"], "torch": torch.__version__,
        "platform": platform.platform(), "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }  # fmt: skip
    full = save_generic_encoder(encoder, out, card)
    logger.info("generic encoder written to %s (val MAE loss %.4f)", out, record["best_val_loss"])
    return full


QUICK_ENCODER = GenericEncoderConfig(name="quick", image_size=32, patch=8, width=32, depth=1, heads=2, decoder_width=16,
                                     decoder_depth=1, decoder_heads=2)  # fmt: skip
"""A seconds-long encoder for smoke tests (``bench models train unipose-vision --quick``)."""


@register_trainer("unipose-vision")
def train_vision_model(dataset: Dataset, out_dir: Path, *, quick: bool = False, config: BenchConfig,
                       epochs: int | None = None, seed: int | None = None) -> list[Path]:  # fmt: skip
    """``bench models train unipose-vision [--epochs N] [--seed S]``: MAE pre-training of the generic
    encoder, written to ``<out>/unipose/generic-encoder-<config>.safetensors`` (resumes an interrupted
    run); ``--quick`` trains :data:`QUICK_ENCODER` for 2 epochs."""
    cfg = QUICK_ENCODER if quick else GenericEncoderConfig.small()
    out = Path(out_dir) / "unipose" / f"generic-encoder-{cfg.name}.safetensors"
    settings = VisionTrainConfig(epochs=2, batch_size=16) if quick else None
    card = train_generic_encoder(config, encoder_config=cfg, train_config=settings, dataset=dataset, epochs=epochs,
                                 seed=seed or 0, out=out)  # fmt: skip
    return [out] if card is not None else []
