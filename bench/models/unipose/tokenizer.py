"""UniPose's pose tokenizer: a 1-D convolutional VQ-VAE over the joint axis
(``docs/peers.md#unipose-pose-tokenizer``).

Dimensions: ``B`` poses, ``J = 22`` pose rows (the root, then the 21 SMPL body joints), ``T`` tokens
per pose, ``K`` codes, ``D`` code dimension. Poses are axis-angle ``(B, 22, 3)`` float, radians, in
PoseBench's frame (y up, a zero root faces +z); the network sees them as 6D rotations ``(B, 22, 6)``
(the first two rows of R, PyTorch3D convention) and decodes 6D back, which Gram–Schmidt maps to
rotation matrices. A pose becomes ``T`` code indices in ``[0, K)``.

Sizes come from a frozen :class:`TokenizerConfig`: ``TokenizerConfig.paper()`` is UniPose's
(80 tokens, 2,048 codes of dim 256, hidden width 512, ~12 M parameters) and ``.small()`` the CPU
size PoseBench ships (16 tokens, 1,024 codes of dim 32, hidden width 64, ~0.3 M parameters).

Checkpoints are a ``.safetensors`` file (the state dict, codebook buffers included) and a ``.json``
card next to it: format, config, training record (data name, version and split hashes, seed, val
and test MPJPE) and the SHA-256 of the weights file, checked on load.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from bench.body import NUM_POSE_JOINTS, axis_angle_to_matrix, matrix_to_axis_angle, matrix_to_rot6d, rot6d_to_matrix
from bench.body.rotations import check_shape, to_float_tensor
from bench.errors import CheckpointError, ConfigError, InternalError
from bench.models.unipose.checkpoint_files import read_checkpoint, write_checkpoint
from bench.models.unipose.config_dicts import config_from_dict, named_preset
from bench.models.unipose.conv1d import PoseDecoder1D, PoseEncoder1D
from bench.models.unipose.quantizer import EMAResetQuantizer, QuantizerOutput
from bench.models.seeded_init import seeded_init

logger = logging.getLogger(__name__)

__all__ = ["TokenizerConfig", "PoseTokenizer", "TokenizerOutput", "CARD_FORMAT"]

CARD_FORMAT = "posebench-unipose-tokenizer/1"


@dataclass(frozen=True)
class TokenizerConfig:
    """Architecture of the tokenizer (layer layout in ``bench.models.unipose.conv1d``)."""

    name: str = "paper"
    """Label recorded in cards and file names (``paper``, ``small`` or a custom name)."""
    num_joints: int = NUM_POSE_JOINTS
    """Pose rows encoded (22: root + 21 body joints)."""
    hidden: int = 512
    """Width H of every hidden Conv1d."""
    code_dim: int = 256
    """Code dimension D."""
    num_codes: int = 2048
    """Codebook size K."""
    resize_length: int = 40
    """Length L0 the 22 joints are resized to (UniPose: floor(2·22/10)·10 = 40)."""
    upsample_steps: int = 2
    """Nearest ×2 upsampling stages after the resize."""
    downsample_steps: int = 1
    """Stride-2 convolutions (each followed by a Resnet1D)."""
    decoder_resize_stages: int = 4
    """Resize stages of the decoder, from T down to 22."""
    res_depth: int = 2
    """Residual blocks per Resnet1D."""
    dilation_growth: int = 3
    """Dilation base of the Resnet1D blocks (3 then 1 for depth 2)."""
    ema_decay: float = 0.99
    """EMA rate μ of the codebook."""
    dead_code_threshold: float = 1.0
    """Codes whose EMA count falls below this are reset to batch latents."""

    def __post_init__(self) -> None:
        positive = ("num_joints", "hidden", "code_dim", "num_codes", "resize_length", "decoder_resize_stages", "res_depth",
                    "dilation_growth")  # fmt: skip
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError("must be >= 1", field=name)
        if self.upsample_steps < 0 or self.downsample_steps < 0:
            raise ConfigError("must be >= 0", field="upsample_steps" if self.upsample_steps < 0 else "downsample_steps")
        scaled = self.resize_length * 2**self.upsample_steps
        if scaled % 2**self.downsample_steps:
            raise ConfigError(
                f"resize_length·2^upsample_steps = {scaled} must be divisible by 2^downsample_steps", field="resize_length"
            )
        if not 0.0 < self.ema_decay < 1.0:
            raise ConfigError("must be in (0, 1)", field="ema_decay")

    @property
    def tokens_per_pose(self) -> int:
        """T = resize_length · 2^upsample_steps / 2^downsample_steps (80 for the paper config)."""
        return self.resize_length * 2**self.upsample_steps // 2**self.downsample_steps

    @classmethod
    def paper(cls) -> TokenizerConfig:
        """UniPose's tokenizer: 80 tokens, 2,048 × 256 codebook, width 512."""
        return cls(name="paper")

    @classmethod
    def small(cls) -> TokenizerConfig:
        """The CPU tokenizer PoseBench ships: 16 tokens (resize to 16, one ×2, one /2), 1,024 × 32 codebook, width 64.

        Chosen on synth val poses among widths 64/128 and codebooks 512 × 64 / 1,024 × 32: width 64
        trains about 3× faster per epoch than 128 on CPU, and the larger, narrower codebook reached
        a lower val MPJPE in the same time.
        """
        return cls(name="small", hidden=64, code_dim=32, num_codes=1024, resize_length=16, upsample_steps=1)

    @classmethod
    def named(cls, name: str) -> TokenizerConfig:
        """``paper`` or ``small``; ConfigError otherwise."""
        return named_preset({"paper": cls.paper, "small": cls.small}, name, "tokenizer")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TokenizerConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise ConfigError."""
        return config_from_dict(cls, data, "tokenizer")


@dataclass
class TokenizerOutput:
    """One training forward of :class:`PoseTokenizer`."""

    rot6d: torch.Tensor
    """float ``(B, 22, 6)`` raw decoded 6D rotations."""
    quantizer: QuantizerOutput
    """Codes ``(B, T)``, commitment loss and perplexity."""


class PoseTokenizer(nn.Module):
    """VQ-VAE pose tokenizer: ``encode`` poses to ``(B, T)`` codes, ``decode`` codes to poses."""

    def __init__(self, config: TokenizerConfig, seed: int = 0) -> None:
        """A freshly initialised tokenizer (weights drawn from a generator seeded with ``seed``)."""
        super().__init__()
        self.config = config
        self.card: dict[str, Any] = {}
        """The checkpoint card this tokenizer was loaded from (empty when built fresh)."""
        shared = {"hidden": config.hidden, "code_dim": config.code_dim, "res_depth": config.res_depth,
                  "dilation_growth": config.dilation_growth, "downsample_steps": config.downsample_steps}  # fmt: skip
        self.encoder = PoseEncoder1D(
            in_dim=6, resize_length=config.resize_length, upsample_steps=config.upsample_steps, **shared
        )
        self.quantizer = EMAResetQuantizer(config.num_codes, config.code_dim, config.ema_decay, config.dead_code_threshold)
        self.decoder = PoseDecoder1D(
            out_dim=6, num_joints=config.num_joints, tokens=config.tokens_per_pose,
            resize_stages=config.decoder_resize_stages, **shared,
        )  # fmt: skip
        seeded_init(self, torch.Generator().manual_seed(seed))

    @property
    def num_codes(self) -> int:
        """K, the codebook size (code indices lie in ``[0, K)``)."""
        return self.config.num_codes

    @property
    def tokens_per_pose(self) -> int:
        """T, the number of codes per pose."""
        return self.config.tokens_per_pose

    @property
    def code_dim(self) -> int:
        """D, the dimension of a code vector."""
        return self.config.code_dim

    @property
    def device(self) -> torch.device:
        """Where the weights live (inputs are moved there)."""
        return self.quantizer.codebook.device

    def _poses_rot6d(self, poses: torch.Tensor | np.ndarray) -> torch.Tensor:
        tensor = to_float_tensor(poses, "poses").to(device=self.device, dtype=torch.float32)
        check_shape(tensor, (self.config.num_joints, 3), "poses")
        return matrix_to_rot6d(axis_angle_to_matrix(tensor.reshape(-1, self.config.num_joints, 3)))

    def forward(self, rot6d: torch.Tensor, generator: torch.Generator | None = None) -> TokenizerOutput:
        """Training forward: float ``(B, 22, 6)`` → decoded ``(B, 22, 6)``, codes, commitment loss.

        In training mode the quantiser initialises and EMA-updates its codebook; ``generator``
        draws its tiling jitter.
        """
        latents = self.encoder(rot6d.permute(0, 2, 1))
        quantized = self.quantizer(latents, generator)
        return TokenizerOutput(rot6d=self.decoder(quantized.quantized).permute(0, 2, 1), quantizer=quantized)

    @torch.no_grad()
    def encode(self, poses: torch.Tensor | np.ndarray) -> torch.Tensor:
        """Code indices of poses: float ``(B, 22, 3)`` axis-angle → int64 ``(B, T)`` (no codebook update)."""
        latents = self.encoder(self._poses_rot6d(poses).permute(0, 2, 1))
        batch, _, tokens = latents.shape
        flat = latents.permute(0, 2, 1).reshape(-1, self.code_dim)
        return self.quantizer.quantize(flat).reshape(batch, tokens)

    @torch.no_grad()
    def decode_rot6d(self, codes: torch.Tensor) -> torch.Tensor:
        """int ``(B, T)`` codes → float32 ``(B, 22, 6)`` raw decoded 6D rotations."""
        codes = torch.as_tensor(codes, device=self.device)
        if codes.dim() != 2 or codes.shape[1] != self.tokens_per_pose:
            raise InternalError(f"codes must have shape (B, {self.tokens_per_pose}), got {tuple(codes.shape)}", field="codes")
        vectors = self.quantizer.dequantize(codes)  # (B, T, D)
        return self.decoder(vectors.permute(0, 2, 1)).permute(0, 2, 1)

    def decode_matrices(self, codes: torch.Tensor) -> torch.Tensor:
        """int ``(B, T)`` codes → float32 ``(B, 22, 3, 3)`` rotation matrices (Gram–Schmidt of the 6D)."""
        return rot6d_to_matrix(self.decode_rot6d(codes))

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """int ``(B, T)`` codes → float32 ``(B, 22, 3)`` axis-angle poses, radians."""
        return matrix_to_axis_angle(self.decode_matrices(codes))

    def save(self, path: str | os.PathLike[str], card: dict[str, Any] | None = None) -> str:
        """Write ``path`` (``.safetensors``) and its ``.json`` card; returns the weights' SHA-256.

        ``card`` holds the training record; ``format``, ``config``, ``tokens_per_pose`` and
        ``sha256`` are filled in here.
        """
        if not bool(self.quantizer.initialized):
            raise CheckpointError("refusing to save a tokenizer whose codebook was never initialised", file=path)
        record = {k: v for k, v in (card or {}).items() if k not in ("config", "tokens_per_pose")}
        self.card = write_checkpoint(path, self.state_dict(), {"config": self.config.to_dict(),
                                     "tokens_per_pose": self.tokens_per_pose, **record}, CARD_FORMAT)  # fmt: skip
        return str(self.card["sha256"])

    @classmethod
    def from_checkpoint(
        cls, path: str | os.PathLike[str], expected_sha256: str | None = None, device: str | torch.device = "cpu"
    ) -> PoseTokenizer:
        """Load a tokenizer saved by :meth:`save`, in eval mode, checking its SHA-256.

        Raises:
            CheckpointError: missing or corrupt files, a hash that differs from the card's or from
                ``expected_sha256``, or weights that do not fit the card's config.
        """
        tensors, card = read_checkpoint(path, CARD_FORMAT, expected_sha256)
        try:
            config = TokenizerConfig.from_dict(dict(card["config"]))
        except (KeyError, TypeError, ConfigError) as exc:
            raise CheckpointError(f"bad config entry ({exc})", file=Path(path).with_suffix(".json"), field="config") from None
        model = cls(config)
        try:
            model.load_state_dict(tensors, strict=True)
        except RuntimeError as exc:
            first = " ".join(str(exc).strip().splitlines()[:2])
            raise CheckpointError(f"weights do not fit the card's config ({first})", file=path) from None
        if not bool(model.quantizer.initialized):
            raise CheckpointError("the codebook was never initialised (untrained tokenizer)", file=path)
        model.card = card
        logger.info("loaded pose tokenizer %s (%s config, sha256 %s)", Path(path).name, config.name, str(card["sha256"])[:12])
        return model.to(device).eval()
