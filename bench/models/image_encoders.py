"""The image→pose CNN backbone shared by the ``regressor`` baseline and (as UniPose's pose-specific
visual encoder) by ``bench.models.unipose``.

Dimensions: ``B`` images, ``S`` the backbone's input side (pixels), ``C`` output channels,
``h = w = S / 16`` the output grid.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class BackboneConfig:
    """Shape of a :class:`PoseBackbone`."""

    input_size: int = 64
    """S: images are resized (antialiased bilinear) to S × S before the first convolution."""
    channels: tuple[int, ...] = (32, 64, 96, 128)
    """Channels of the four stride-2 stages (the last one is ``out_channels``)."""

    @property
    def grid_side(self) -> int:
        """Side of the output grid: ``S`` halved (rounding up) once per stage, ``S / 16`` for four."""
        side = self.input_size
        for _ in self.channels:
            side = (side + 1) // 2
        return side

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def resize_images(images: np.ndarray | torch.Tensor, size: int) -> torch.Tensor:
    """uint8 (B, H, W, 3) RGB → float32 (B, 3, size, size) in [0, 1] (antialiased bilinear)."""
    x = torch.tensor(np.asarray(images)).permute(0, 3, 1, 2).float() / 255.0
    if x.shape[-2:] == (size, size):
        return x.contiguous()
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)


class PoseBackbone(nn.Module):
    """Float (B, 3, H, W) RGB in [0, 1] → feature map (B, C, S/16, S/16).

    Four stages of (3×3 conv stride 2, BatchNorm, ReLU, 3×3 conv, BatchNorm, ReLU); inputs are
    resized to ``S`` and normalised to [-1, 1] inside, so callers pass images at any resolution.
    BatchNorm, not GroupNorm: trained from scratch on the synth renders, the GroupNorm network stayed
    at the mean pose for thousands of steps (it could not even memorise 256 images), the BatchNorm
    one learns. In eval mode it uses its running statistics, so outputs do not depend on the batch.
    """

    def __init__(self, config: BackboneConfig = BackboneConfig()) -> None:
        super().__init__()
        self.config = config
        layers: list[nn.Module] = []
        previous = 3
        for channels in config.channels:
            layers += [nn.Conv2d(previous, channels, 3, stride=2, padding=1), nn.BatchNorm2d(channels), nn.ReLU(),
                       nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels), nn.ReLU()]  # fmt: skip
            previous = channels
        self.stages = nn.Sequential(*layers)
        self.out_channels = previous

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        size = self.config.input_size
        if images.shape[-2:] != (size, size):
            images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        return self.stages(images * 2.0 - 1.0)
