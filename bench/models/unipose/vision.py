"""UniPose's visual processor: generic + pose-specific image encoders, grid alignment, projector
(``docs/peers.md#unipose-visual-processor``).

Dimensions: ``B`` images, ``C_g`` / ``C_p`` channels of the generic / pose-specific feature maps,
``(h, w)`` a feature grid, ``(G_h, G_w)`` the generic encoder's grid, ``N = G_h·G_w`` visual tokens
per image, ``d`` the LLM width.

Pipeline, as in UniPose with smaller encoders:

1. Both encoders are frozen (no gradients, always in eval mode) and each does its own resizing and
   normalisation of the input images.
2. The pose-specific map ``(B, C_p, h, w)`` is brought to the generic grid by :func:`align_grid`:
   zero-padded symmetrically to a square, then bilinear interpolation with ``align_corners=True``
   (UniPose pads its 16 × 12 ViT-H map by 2 columns a side to 16 × 16, then interpolates to 24 × 24).
3. The two maps are concatenated along channels and flattened row-major: ``(B, N, C_g + C_p)``.
4. A 2-layer GELU MLP (LLaVA's ``mlp2x_gelu``: Linear → GELU → Linear, both to ``d``) gives the
   ``(B, N, d)`` visual token embeddings. The projector is the only trainable part (stage 2).

``encoders="generic"`` drops the pose-specific branch (the visual ablation, UniPose's CLIP-only
model); the projector then takes ``C_g`` channels.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from bench.errors import ConfigError, InternalError
from bench.models.unipose.generic_encoder import GenericImageEncoder
from bench.models.seeded_init import seeded_init

logger = logging.getLogger(__name__)

__all__ = ["VisualProcessorConfig", "VisualProcessor", "align_grid", "as_float_images", "load_pose_encoder", "ENCODER_CHOICES"]

ENCODER_CHOICES = ("both", "generic")


@dataclass(frozen=True)
class VisualProcessorConfig:
    """Which encoders feed the projector, and their checkpoint files (looked up in the model folders)."""

    name: str = "small"
    encoders: str = "both"
    """``both`` (generic + pose-specific) or ``generic`` (the ablation)."""
    generic_checkpoint: str = "generic-encoder-small.safetensors"
    """The MAE-pretrained generic ViT (``bench.models.unipose.train_vision``)."""
    pose_checkpoint: str = "regressor.safetensors"
    """The pose-specific branch: the backbone of this ``regressor`` baseline checkpoint, i.e. the
    shared ``bench.models.image_encoders.PoseBackbone`` pre-trained on image→pose."""

    def __post_init__(self) -> None:
        if self.encoders not in ENCODER_CHOICES:
            raise ConfigError(f"encoders must be one of {', '.join(ENCODER_CHOICES)}, got {self.encoders!r}", field="encoders")

    @classmethod
    def small(cls, encoders: str = "both") -> VisualProcessorConfig:
        """The shipped CPU encoders."""
        return cls(encoders=encoders)

    @classmethod
    def named(cls, name: str, encoders: str = "both") -> VisualProcessorConfig:
        presets = {"small": cls.small}
        if name not in presets:
            raise ConfigError(f"unknown visual processor config {name!r}; known: {', '.join(presets)}", field="visual")
        return presets[name](encoders)


def as_float_images(images: torch.Tensor) -> torch.Tensor:
    """Images as float32 ``(B, 3, H, W)`` RGB in [0, 1].

    Accepts uint8 (values 0–255) or float (values in [0, 1]), channels-last ``(B, H, W, 3)`` or
    channels-first ``(B, 3, H, W)`` (channels-last when the last axis has 3 entries and axis 1 does not).
    """
    images = torch.as_tensor(images)
    if images.dim() != 4 or 3 not in (images.shape[1], images.shape[-1]):
        raise InternalError(f"images must be (B, H, W, 3) or (B, 3, H, W), got {tuple(images.shape)}", field="images")
    if images.shape[-1] == 3 and images.shape[1] != 3:
        images = images.permute(0, 3, 1, 2)
    if images.dtype == torch.uint8:
        return images.float() / 255.0
    return images.float()


def align_grid(features: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Zero-pad ``(B, C, h, w)`` to a square (symmetrically; an odd remainder goes right/bottom),
    then bilinear-resize with ``align_corners=True`` to ``(B, C, *size)``.

    >>> align_grid(torch.arange(2.0).view(1, 1, 2, 1), (3, 3))[0, 0]  # (2, 1) → padded [[0, 0], [1, 0]]
    tensor([[0.0000, 0.0000, 0.0000],
            [0.5000, 0.2500, 0.0000],
            [1.0000, 0.5000, 0.0000]])
    """
    height, width = features.shape[-2:]
    side = max(height, width)
    left, top = (side - width) // 2, (side - height) // 2
    padded = F.pad(features, (left, side - width - left, top, side - height - top))
    if (side, side) == tuple(size):
        return padded
    return F.interpolate(padded, size=tuple(size), mode="bilinear", align_corners=True)


def load_pose_encoder(path: Path) -> nn.Module:
    """The pose-specific encoder: the ``PoseBackbone`` of a trained ``regressor`` checkpoint (SHA-256
    checked by the regressor's loader), mapping float ``(B, 3, H, W)`` images in [0, 1] to
    ``(B, C_p, S/16, S/16)``; its card is kept as ``.card``."""
    from bench.models.regressor import load_regressor

    regressor, card = load_regressor(Path(path))
    backbone = regressor.backbone
    backbone.card = card
    return backbone


class VisualProcessor(nn.Module):
    """Images → ``(B, N, d)`` visual token embeddings for the LLM (module docstring)."""

    def __init__(
        self,
        config: VisualProcessorConfig,
        generic: GenericImageEncoder,
        pose: nn.Module | None,
        d_model: int,
        seed: int = 0,
    ) -> None:
        """Wire frozen encoders to a fresh projector (drawn from a generator seeded with ``seed``).

        ``pose`` is a module mapping float ``(B, 3, H, W)`` images in [0, 1] to ``(B, C_p, h, w)``
        with an ``out_channels`` attribute; it must be None exactly when ``config.encoders`` is ``generic``.
        """
        super().__init__()
        if (pose is None) != (config.encoders == "generic"):
            given = "not given" if pose is None else "given"
            raise InternalError(f"encoders={config.encoders!r} but a pose-specific encoder was {given}")
        self.config = config
        self.generic = generic
        self.pose = pose
        for encoder in (generic, pose):
            if encoder is not None:
                encoder.requires_grad_(False)
                encoder.eval()
        in_channels = generic.out_channels + (int(pose.out_channels) if pose is not None else 0)
        self.projector = nn.Sequential(nn.Linear(in_channels, d_model), nn.GELU(), nn.Linear(d_model, d_model))
        seeded_init(self.projector, torch.Generator().manual_seed(seed))

    @property
    def grid_size(self) -> tuple[int, int]:
        """(G_h, G_w), the token grid (the generic encoder's)."""
        return tuple(self.generic.grid_size)

    @property
    def num_tokens(self) -> int:
        """N, visual tokens per image."""
        rows, cols = self.grid_size
        return rows * cols

    @property
    def d_model(self) -> int:
        """d, the width of the visual tokens."""
        return self.projector[-1].out_features

    def train(self, mode: bool = True) -> VisualProcessor:
        """Set the projector's mode; the frozen encoders always stay in eval mode."""
        super().train(mode)
        self.generic.eval()
        if self.pose is not None:
            self.pose.eval()
        return self

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The fused encoder features before the projector: ``(B, N, C_g [+ C_p])``, no gradients."""
        images = as_float_images(images).to(self.projector[0].weight.device)
        with torch.no_grad():
            fused = self.generic(images)
            if self.pose is not None:
                fused = torch.cat([fused, align_grid(self.pose(images), self.grid_size)], dim=1)
        return fused.flatten(2).transpose(1, 2)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """uint8/float ``(B, 224, 224, 3)`` or ``(B, 3, H, W)`` images → float ``(B, N, d)`` visual tokens."""
        return self.projector(self.features(images))

    @classmethod
    def build(
        cls,
        name: str | VisualProcessorConfig,
        d_model: int,
        *,
        generic_only: bool = False,
        model_dirs: list[Path],
        seed: int = 0,
    ) -> VisualProcessor:
        """A processor with the encoders loaded from their checkpoints and a fresh projector.

        Args:
            name: a config name (``small``) or a :class:`VisualProcessorConfig`.
            d_model: the LLM width d.
            generic_only: force ``encoders="generic"`` (the ablation).
            model_dirs: folders searched for ``<dir>/unipose/<file>`` then ``<dir>/<file>`` (e.g.
                ``[config.user_models_dir, config.shipped_models_dir]``).
            seed: seeds the projector's initialisation.

        Raises:
            NotFoundError / CheckpointError: a missing or damaged encoder checkpoint.
        """
        from bench.models.unipose.generic_encoder import load_generic_encoder
        from bench.models.unipose.model_io import find_model_file

        config = VisualProcessorConfig.named(name) if isinstance(name, str) else name
        if generic_only and config.encoders != "generic":
            config = VisualProcessorConfig(config.name, "generic", config.generic_checkpoint, config.pose_checkpoint)
        generic = load_generic_encoder(find_model_file(config.generic_checkpoint, model_dirs))
        pose = None if config.encoders == "generic" else load_pose_encoder(find_model_file(config.pose_checkpoint, model_dirs))
        processor = cls(config, generic, pose, d_model, seed)
        logger.info("visual processor %s (%s): %d tokens of width %d", config.name, config.encoders,
                    processor.num_tokens, d_model)  # fmt: skip
        return processor
