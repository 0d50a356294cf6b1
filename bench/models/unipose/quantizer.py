"""Vector quantiser with an EMA codebook and dead-code reset (UniPose/TokenHMR ``QuantizeEMAReset``).

Dimensions: ``B`` poses, ``T`` tokens per pose, ``N = B·T`` latent vectors, ``K`` codes, ``D`` code
dimension. Latents arrive as ``(B, D, T)`` float (the encoder's layout) and are flattened token by
token, pose-major: vector ``b·T + t`` is token ``t`` of pose ``b``.

Behaviour (UniPose's, ``docs/peers.md#unipose-pose-tokenizer``), all kept:

- The codebook ``(K, D)`` is a buffer, never a parameter; only the EMA update changes it.
- **Data-dependent init**: the first training forward fills the codebook with the first K flattened
  latents of the batch (when the batch has fewer than K, the latents are tiled and jittered with
  N(0, (0.01/√D)²) noise), sets the EMA sums to the codebook and the EMA counts to 1.
- **Assignment**: nearest code by squared L2 distance.
- **EMA update** (training forward only): ``sum ← μ·sum + (1-μ)·batch_sum``, ``count ← μ·count +
  (1-μ)·batch_count``, code = sum / count.
- **Dead-code reset**: at every training step each code whose EMA count is below the threshold
  (1.0) is replaced by the latent with the same row index in the (tiled) batch. As upstream, its
  EMA sum and count are left as they are, so a reset code keeps being replaced at each step until
  enough latents pick it to lift its count back to the threshold.
- **Loss**: commitment only, ``MSE(z_e, sg(z_q))``; no codebook loss (the EMA plays that role).
- **Gradient**: straight-through, ``z_q ← z_e + sg(z_q − z_e)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from bench.errors import InternalError

__all__ = ["EMAResetQuantizer", "QuantizerOutput"]


@dataclass
class QuantizerOutput:
    """One quantiser forward."""

    quantized: torch.Tensor
    """float ``(B, D, T)``: the codes, with straight-through gradients to the input latents."""
    codes: torch.Tensor
    """int64 ``(B, T)`` code indices."""
    commit_loss: torch.Tensor
    """Scalar ``MSE(z_e, sg(z_q))``."""
    perplexity: torch.Tensor
    """Scalar ``exp(entropy)`` of this batch's code histogram (a code-usage diagnostic)."""


class EMAResetQuantizer(nn.Module):
    """EMA vector quantiser with dead-code reset (module docstring)."""

    def __init__(self, num_codes: int, code_dim: int, decay: float = 0.99, dead_threshold: float = 1.0) -> None:
        super().__init__()
        if num_codes < 1 or code_dim < 1 or not 0.0 < decay < 1.0:
            raise InternalError(f"bad quantiser sizes: {num_codes} codes of dim {code_dim}, decay {decay}")
        self.num_codes = num_codes
        self.code_dim = code_dim
        self.decay = decay
        self.dead_threshold = dead_threshold
        self.register_buffer("codebook", torch.zeros(num_codes, code_dim))
        self.register_buffer("code_sum", torch.zeros(num_codes, code_dim))
        self.register_buffer("code_count", torch.zeros(num_codes))
        self.register_buffer("initialized", torch.zeros((), dtype=torch.bool))

    def quantize(self, latents: torch.Tensor) -> torch.Tensor:
        """Nearest code of each vector: float ``(N, D)`` → int64 ``(N,)``."""
        codebook = self.codebook.to(latents.dtype)
        distance = (
            latents.pow(2).sum(-1, keepdim=True) - 2.0 * latents @ codebook.T + codebook.pow(2).sum(-1)[None, :]
        )
        return distance.argmin(-1)

    def dequantize(self, codes: torch.Tensor) -> torch.Tensor:
        """Code vectors: int ``(...)`` → float ``(..., D)``; InternalError for an index outside [0, K)."""
        if codes.numel() and (int(codes.min()) < 0 or int(codes.max()) >= self.num_codes):
            raise InternalError(
                f"code indices must lie in [0, {self.num_codes}), got [{int(codes.min())}, {int(codes.max())}]",
                field="codes",
            )
        return F.embedding(codes.long(), self.codebook)

    def _tile(self, latents: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """At least K rows: ``latents`` itself, or tiled copies plus N(0, (0.01/√D)²) jitter."""
        count = latents.shape[0]
        if count >= self.num_codes:
            return latents
        tiled = latents.repeat(math.ceil(self.num_codes / count), 1)
        if generator is None:
            generator = torch.Generator(device=latents.device).manual_seed(0)
        noise = torch.randn(tiled.shape, generator=generator, device=latents.device, dtype=latents.dtype)
        return tiled + noise * (0.01 / math.sqrt(self.code_dim))

    @torch.no_grad()
    def _init_codebook(self, latents: torch.Tensor, generator: torch.Generator | None) -> None:
        self.codebook.copy_(self._tile(latents, generator)[: self.num_codes])
        self.code_sum.copy_(self.codebook)
        self.code_count.fill_(1.0)
        self.initialized.fill_(True)

    @torch.no_grad()
    def ema_update(self, latents: torch.Tensor, codes: torch.Tensor, generator: torch.Generator | None = None) -> None:
        """One EMA step with dead-code reset, from float ``(N, D)`` latents and their ``(N,)`` codes."""
        onehot = F.one_hot(codes, self.num_codes).to(latents.dtype)  # (N, K)
        batch_sum = onehot.T @ latents
        batch_count = onehot.sum(0)
        self.code_sum.mul_(self.decay).add_(batch_sum, alpha=1.0 - self.decay)
        self.code_count.mul_(self.decay).add_(batch_count, alpha=1.0 - self.decay)
        alive = (self.code_count >= self.dead_threshold)[:, None]
        replacement = self._tile(latents, generator)[: self.num_codes]
        updated = self.code_sum / self.code_count.clamp_min(1e-12)[:, None]
        self.codebook.copy_(torch.where(alive, updated, replacement))

    def forward(self, latents: torch.Tensor, generator: torch.Generator | None = None) -> QuantizerOutput:
        """Quantise ``(B, D, T)`` latents; in training mode also initialise / update the codebook.

        ``generator`` draws the tiling jitter (only needed when ``B·T < K``); a fixed seed is used
        when it is None.
        """
        if latents.dim() != 3 or latents.shape[1] != self.code_dim:
            raise InternalError(f"latents must be (B, {self.code_dim}, T), got {tuple(latents.shape)}", field="latents")
        batch, _, tokens = latents.shape
        flat = latents.permute(0, 2, 1).reshape(-1, self.code_dim)
        if self.training and not bool(self.initialized):
            self._init_codebook(flat.detach(), generator)
        codes = self.quantize(flat.detach())
        quantized = self.dequantize(codes).to(flat.dtype)
        if self.training:
            self.ema_update(flat.detach(), codes, generator)
        commit_loss = F.mse_loss(flat, quantized.detach())
        straight = flat + (quantized - flat).detach()
        return QuantizerOutput(
            quantized=straight.reshape(batch, tokens, self.code_dim).permute(0, 2, 1),
            codes=codes.reshape(batch, tokens),
            commit_loss=commit_loss,
            perplexity=self.perplexity(codes),
        )

    @torch.no_grad()
    def perplexity(self, codes: torch.Tensor) -> torch.Tensor:
        """``exp(entropy)`` of the code histogram of int ``(...)`` codes (K when all codes are equally used)."""
        prob = torch.bincount(codes.reshape(-1), minlength=self.num_codes).float()
        prob = prob / prob.sum().clamp_min(1.0)
        return torch.exp(-(prob * torch.log(prob + 1e-7)).sum())

    def extra_repr(self) -> str:
        return f"num_codes={self.num_codes}, code_dim={self.code_dim}, decay={self.decay}, dead_threshold={self.dead_threshold}"
