"""1-D convolutional encoder and decoder of the pose tokenizer, run along the joint axis.

Dimensions: ``B`` poses, ``J`` joints (22: the root, then the 21 SMPL body joints in SMPL order),
``C`` channels, ``L`` sequence length, ``T`` tokens per pose, ``D`` code dimension. The joints play
the role of time steps: a pose enters as ``(B, 6, J)`` 6D rotations (PyTorch3D row convention) and
the encoder returns ``(B, D, T)`` latent vectors, one per token.

Layer layout (UniPose ``TokenHMREncoder`` / ``TokenHMRDecoder``, ``docs/peers.md#unipose-pose-tokenizer``), with
``H`` the hidden width and every Conv1d of kernel 3, stride 1, padding 1 unless stated:

Encoder
    Conv 6→H, ReLU [J]; nearest resize to ``resize_length`` L0, Conv H→H, ReLU [L0];
    ``upsample_steps`` × (nearest ×2, Conv H→H, ReLU) [L0·2^u];
    ``downsample_steps`` × (Conv H→H kernel 4 stride 2 pad 1, Resnet1D) [/2 each];
    Conv H→D [T].
Decoder
    Conv D→H, ReLU [T]; ``resize_stages`` × (nearest resize, Conv H→H, ReLU) with target lengths
    ``linspace(J, T, resize_stages, endpoint=False)`` cast to int and reversed (80 → 65, 51, 36, 22
    for the paper config); ``downsample_steps`` × (Resnet1D, Conv H→H); Conv H→6 [J].

Resnet1D: ``depth`` residual blocks, each ReLU → Conv H→H (kernel 3, dilation d, padding d) →
ReLU → Conv H→H (kernel 1) plus the identity, no normalisation; dilations
``growth^(depth-1), ..., growth^0`` (3 then 1 for depth 2, growth 3).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ResConv1DBlock", "Resnet1D", "Resize1d", "PoseEncoder1D", "PoseDecoder1D", "decoder_lengths"]


class ResConv1DBlock(nn.Module):
    """ReLU → dilated Conv (k3) → ReLU → Conv (k1), plus the identity: ``(B, C, L)`` → same."""

    def __init__(self, channels: int, dilation: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation)
        self.conv2 = nn.Conv1d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(F.relu(x))))


class Resnet1D(nn.Sequential):
    """``depth`` :class:`ResConv1DBlock` with dilations ``growth^(depth-1)`` down to ``growth^0``."""

    def __init__(self, channels: int, depth: int, growth: int) -> None:
        super().__init__(*(ResConv1DBlock(channels, growth**i) for i in reversed(range(depth))))


class Resize1d(nn.Module):
    """Nearest-neighbour resize of ``(B, C, L)`` to ``(B, C, length)``, or by ``scale`` when given."""

    def __init__(self, length: int | None = None, scale: int | None = None) -> None:
        super().__init__()
        self.length = length
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.scale is not None:
            return F.interpolate(x, scale_factor=float(self.scale), mode="nearest")
        return F.interpolate(x, size=self.length, mode="nearest")

    def extra_repr(self) -> str:
        return f"length={self.length}" if self.scale is None else f"scale={self.scale}"


def _conv_relu(in_channels: int, out_channels: int) -> list[nn.Module]:
    return [nn.Conv1d(in_channels, out_channels, 3, padding=1), nn.ReLU()]


def decoder_lengths(num_joints: int, tokens: int, stages: int) -> list[int]:
    """Target lengths of the decoder's resize stages, last = ``num_joints``.

    >>> decoder_lengths(22, 80, 4)
    [65, 51, 36, 22]
    """
    return [int(v) for v in np.linspace(num_joints, tokens, stages, endpoint=False).astype(int)[::-1]]


class PoseEncoder1D(nn.Sequential):
    """``(B, in_dim, J)`` → ``(B, code_dim, T)`` with ``T = resize_length · 2^up / 2^down``."""

    def __init__(
        self,
        *,
        in_dim: int,
        hidden: int,
        code_dim: int,
        resize_length: int,
        upsample_steps: int,
        downsample_steps: int,
        res_depth: int,
        dilation_growth: int,
    ) -> None:
        layers: list[nn.Module] = [*_conv_relu(in_dim, hidden), Resize1d(length=resize_length)]
        layers += _conv_relu(hidden, hidden)
        for _ in range(upsample_steps):
            layers += [Resize1d(scale=2), *_conv_relu(hidden, hidden)]
        for _ in range(downsample_steps):
            strided = nn.Conv1d(hidden, hidden, 4, stride=2, padding=1)
            layers.append(nn.Sequential(strided, Resnet1D(hidden, res_depth, dilation_growth)))
        layers.append(nn.Conv1d(hidden, code_dim, 3, padding=1))
        super().__init__(*layers)


class PoseDecoder1D(nn.Sequential):
    """``(B, code_dim, T)`` → ``(B, out_dim, J)`` (raw 6D rotations for ``out_dim = 6``)."""

    def __init__(
        self,
        *,
        out_dim: int,
        hidden: int,
        code_dim: int,
        num_joints: int,
        tokens: int,
        resize_stages: int,
        downsample_steps: int,
        res_depth: int,
        dilation_growth: int,
    ) -> None:
        layers: list[nn.Module] = list(_conv_relu(code_dim, hidden))
        for length in decoder_lengths(num_joints, tokens, resize_stages):
            layers += [Resize1d(length=length), *_conv_relu(hidden, hidden)]
        for _ in range(downsample_steps):
            resnet = Resnet1D(hidden, res_depth, dilation_growth)
            layers.append(nn.Sequential(resnet, nn.Conv1d(hidden, hidden, 3, padding=1)))
        layers.append(nn.Conv1d(hidden, out_dim, 3, padding=1))
        super().__init__(*layers)
