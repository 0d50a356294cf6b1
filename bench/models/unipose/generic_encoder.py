"""The generic image encoder of UniPose's visual processor: a small ViT pre-trained as a masked autoencoder.

UniPose's generic branch is CLIP ViT-L/14-336: patch features of a model trained without any pose
supervision. PoseBench's stand-in keeps that role at CPU scale: a ViT trained on synth renders with
the masked-autoencoder objective (He et al. 2022: hide 75 % of the patches, reconstruct their
per-patch-normalised pixels from the rest), a generic, label-free objective (``train_vision``).

Dimensions: ``B`` images, ``S`` image side after resizing (pixels), ``P`` patch side, ``G = S/P``
grid side, ``N = G²`` patches, ``C`` width. Images enter as float ``(B, 3, H, W)`` RGB in [0, 1];
``features`` returns ``(B, C, G, G)`` (channels first, row-major grid: row 0 is the image's top).

Layout: resize to S (bilinear, antialiased), ImageNet mean/std normalisation, Conv2d patch
embedding (kernel = stride = P), fixed 2-D sine-cosine position embeddings, ``depth`` pre-norm
transformer blocks (multi-head self-attention, GELU MLP), final LayerNorm. No class token. The MAE
decoder (``MaskedAutoencoder``) is used only in pre-training.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from bench.errors import CheckpointError, ConfigError, InternalError
from bench.models.unipose.checkpoint_files import read_checkpoint, write_checkpoint
from bench.models.unipose.config_dicts import config_from_dict
from bench.models.seeded_init import seeded_init

__all__ = [
    "GenericEncoderConfig", "GenericImageEncoder", "MaskedAutoencoder", "sincos_position_embedding", "patchify",
    "save_generic_encoder", "load_generic_encoder", "GENERIC_CARD_FORMAT",
]  # fmt: skip

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class GenericEncoderConfig:
    """Sizes of the generic ViT and its MAE decoder."""

    name: str = "small"
    image_size: int = 112
    """S: images are resized to S × S."""
    patch: int = 16
    """P: patch side (S must be a multiple)."""
    width: int = 128
    depth: int = 4
    heads: int = 4
    mlp_ratio: int = 4
    decoder_width: int = 64
    decoder_depth: int = 2
    decoder_heads: int = 4
    mask_ratio: float = 0.75
    """Share of patches hidden from the encoder in MAE pre-training."""

    def __post_init__(self) -> None:
        if self.image_size % self.patch:
            raise ConfigError(f"image_size {self.image_size} is not a multiple of patch {self.patch}", field="image_size")
        if self.width % self.heads or self.decoder_width % self.decoder_heads:
            raise ConfigError("widths must be multiples of the head counts", field="heads")
        if not 0.0 < self.mask_ratio < 1.0:
            raise ConfigError("must be in (0, 1)", field="mask_ratio")

    @property
    def grid(self) -> int:
        """G, patches per side."""
        return self.image_size // self.patch

    @classmethod
    def small(cls) -> GenericEncoderConfig:
        """112-px input, 16-px patches (a 7 × 7 grid), width 128, depth 4."""
        return cls()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenericEncoderConfig:
        return config_from_dict(cls, data, "generic encoder")


def sincos_position_embedding(grid: int, width: int) -> torch.Tensor:
    """float32 ``(grid², width)`` fixed 2-D sine-cosine embeddings (MAE): half the channels encode the
    row, half the column, each as sin/cos of ``pos / 10000^(2i/d)``."""
    if width % 4:
        raise InternalError(f"sin-cos position embeddings need a width divisible by 4, got {width}")
    quarter = width // 4
    omega = 1.0 / 10000 ** (torch.arange(quarter, dtype=torch.float64) / quarter)
    rows, cols = torch.meshgrid(torch.arange(grid, dtype=torch.float64), torch.arange(grid, dtype=torch.float64), indexing="ij")
    parts = []
    for pos in (rows.reshape(-1), cols.reshape(-1)):
        angles = pos[:, None] * omega[None, :]
        parts += [torch.sin(angles), torch.cos(angles)]
    return torch.cat(parts, dim=1).float()


def patchify(images: torch.Tensor, patch: int) -> torch.Tensor:
    """``(B, 3, S, S)`` → ``(B, N, P·P·3)``, patches row-major, pixels (row, column, channel) inside."""
    batch, channels, side, _ = images.shape
    grid = side // patch
    x = images.reshape(batch, channels, grid, patch, grid, patch)
    return x.permute(0, 2, 4, 3, 5, 1).reshape(batch, grid * grid, patch * patch * channels)


class Block(nn.Module):
    """Pre-norm transformer block: ``x + MHSA(LN(x))``, then ``x + MLP(LN(x))``; ``(B, N, C)`` → same."""

    def __init__(self, width: int, heads: int, mlp_ratio: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, mlp_ratio * width), nn.GELU(), nn.Linear(mlp_ratio * width, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, width = x.shape
        qkv = self.qkv(self.norm1(x)).reshape(batch, tokens, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)
        attended = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])
        x = x + self.proj(attended.transpose(1, 2).reshape(batch, tokens, width))
        return x + self.mlp(self.norm2(x))


class GenericImageEncoder(nn.Module):
    """The generic ViT: float ``(B, 3, H, W)`` RGB in [0, 1] → ``(B, C, G, G)`` patch features."""

    def __init__(self, config: GenericEncoderConfig, seed: int = 0) -> None:
        super().__init__()
        self.config = config
        self.card: dict[str, Any] = {}
        """The checkpoint card this encoder was loaded from (empty when built fresh)."""
        self.patch_embed = nn.Conv2d(3, config.width, config.patch, stride=config.patch)
        self.blocks = nn.ModuleList(Block(config.width, config.heads, config.mlp_ratio) for _ in range(config.depth))
        self.norm = nn.LayerNorm(config.width)
        self.register_buffer("position", sincos_position_embedding(config.grid, config.width), persistent=False)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        seeded_init(self, torch.Generator().manual_seed(seed))

    @property
    def out_channels(self) -> int:
        """C, the feature width."""
        return self.config.width

    @property
    def grid_size(self) -> tuple[int, int]:
        """(G, G), the feature grid."""
        return (self.config.grid, self.config.grid)

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """Resize to S × S and normalise: float ``(B, 3, H, W)`` in [0, 1] → ``(B, 3, S, S)``."""
        side = self.config.image_size
        if images.shape[-2:] != (side, side):
            images = F.interpolate(images, size=(side, side), mode="bilinear", align_corners=False, antialias=True)
        return (images - self.mean) / self.std

    def embed(self, prepared: torch.Tensor) -> torch.Tensor:
        """Patch tokens with position embeddings: ``(B, 3, S, S)`` → ``(B, N, C)``."""
        return self.patch_embed(prepared).flatten(2).transpose(1, 2) + self.position

    def encode_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        """The transformer and final norm over any token subset: ``(B, n, C)`` → ``(B, n, C)``."""
        for block in self.blocks:
            tokens = block(tokens)
        return self.norm(tokens)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        tokens = self.encode_tokens(self.embed(self.prepare(images)))
        grid = self.config.grid
        return tokens.transpose(1, 2).reshape(images.shape[0], self.config.width, grid, grid)


class MaskedAutoencoder(nn.Module):
    """MAE pre-training wrapper: the encoder sees a random 25 % of the patches, a light decoder
    predicts the pixels of the hidden ones (per-patch normalised), and the loss is their MSE."""

    def __init__(self, encoder: GenericImageEncoder, seed: int = 0) -> None:
        super().__init__()
        config = encoder.config
        self.encoder = encoder
        self.decoder_embed = nn.Linear(config.width, config.decoder_width)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, config.decoder_width))
        self.decoder_blocks = nn.ModuleList(
            Block(config.decoder_width, config.decoder_heads, config.mlp_ratio) for _ in range(config.decoder_depth)
        )
        self.decoder_norm = nn.LayerNorm(config.decoder_width)
        self.decoder_pred = nn.Linear(config.decoder_width, config.patch * config.patch * 3)
        self.register_buffer("decoder_position", sincos_position_embedding(config.grid, config.decoder_width), persistent=False)
        generator = torch.Generator().manual_seed(seed)
        for module in (self.decoder_embed, self.decoder_blocks, self.decoder_norm, self.decoder_pred):
            seeded_init(module, generator)
        with torch.no_grad():
            self.mask_token.normal_(0.0, 0.02, generator=generator)

    def forward(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Scalar MAE loss of float ``(B, 3, H, W)`` images in [0, 1]; ``generator`` draws the masks."""
        config = self.encoder.config
        prepared = self.encoder.prepare(images)
        tokens = self.encoder.embed(prepared)
        batch, count, width = tokens.shape
        keep = max(1, int(round(count * (1.0 - config.mask_ratio))))
        order = torch.rand((batch, count), generator=generator, device=images.device).argsort(dim=1)
        visible_idx = order[:, :keep]
        visible = self.encoder.encode_tokens(torch.gather(tokens, 1, visible_idx[..., None].expand(-1, -1, width)))
        decoded = self.mask_token.expand(batch, count, -1).clone()
        decoded.scatter_(1, visible_idx[..., None].expand(-1, -1, decoded.shape[-1]), self.decoder_embed(visible))
        decoded = decoded + self.decoder_position
        for block in self.decoder_blocks:
            decoded = block(decoded)
        pred = self.decoder_pred(self.decoder_norm(decoded))
        target = patchify(prepared, config.patch)
        target = (target - target.mean(-1, keepdim=True)) / torch.sqrt(target.var(-1, keepdim=True) + 1e-6)
        hidden = torch.ones((batch, count), device=images.device).scatter_(1, visible_idx, 0.0)
        per_patch = (pred - target).pow(2).mean(-1)
        return (per_patch * hidden).sum() / hidden.sum()


GENERIC_CARD_FORMAT = "posebench-unipose-generic-encoder/1"


def save_generic_encoder(encoder: GenericImageEncoder, path: str | os.PathLike[str], card: dict[str, Any]) -> dict[str, Any]:
    """Write the encoder's weights (not the MAE decoder's) and its card; returns the full card."""
    return write_checkpoint(path, encoder.state_dict(), {"config": encoder.config.to_dict(), **card}, GENERIC_CARD_FORMAT)


def load_generic_encoder(path: str | os.PathLike[str], expected_sha256: str | None = None) -> GenericImageEncoder:
    """A generic encoder saved by :func:`save_generic_encoder`, in eval mode; CheckpointError when damaged."""
    tensors, card = read_checkpoint(path, GENERIC_CARD_FORMAT, expected_sha256)
    try:
        encoder = GenericImageEncoder(GenericEncoderConfig.from_dict(dict(card["config"])))
        encoder.load_state_dict(tensors, strict=True)
    except (KeyError, TypeError, ConfigError, RuntimeError) as exc:
        first = " ".join(str(exc).strip().splitlines()[:2])
        raise CheckpointError(f"weights do not fit the card's config ({first})", file=path) from None
    encoder.card = card
    return encoder.eval()
