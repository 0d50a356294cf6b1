"""A retrieval model = a text encoder + an item encoder (poses or pose pairs) + the symBBC loss.

Dimension letters: B batch rows, L tokens, D latent width. Items are poses, float32 (B, 22, 3)
axis-angle, for ``pose-text``; pose pairs, float32 (B, 2, 22, 3) (A then B), for ``pair-text``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from bench.errors import InternalError
from retrieval_models.encoders import (
    ArchConfig,
    GeneratorDropout,
    PairEncoder,
    PoseEncoder,
    TextEncoder,
    init_parameters,
)

__all__ = ["KINDS", "RetrievalModel", "build_model", "sym_bbc_loss", "INITIAL_SCALE"]

KINDS = ("pose-text", "pair-text")
INITIAL_SCALE = 10.0


class RetrievalModel(nn.Module):
    """Text and item encoders sharing one latent space, plus the learnable logit scale ``s``.

    Attributes:
        kind: ``"pose-text"`` or ``"pair-text"``.
        arch: the sizes it was built with.
        scale: float32 (1,), the BBC multiplier, initialised at 10, unconstrained.
    """

    def __init__(self, kind: str, arch: ArchConfig, table: torch.Tensor) -> None:
        super().__init__()
        if kind not in KINDS:
            raise InternalError(f"unknown evaluator kind {kind!r}")
        self.kind = kind
        self.arch = arch
        self.text = TextEncoder(arch, table)
        self.items: nn.Module = PoseEncoder(arch) if kind == "pose-text" else PairEncoder(arch)
        self.scale = nn.Parameter(torch.full((1,), INITIAL_SCALE))

    def encode_texts(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """int64 (B, L) ids, int64 (B,) lengths -> float32 (B, D) unit vectors."""
        return self.text(ids, lengths)

    def encode_items(self, items: torch.Tensor) -> torch.Tensor:
        """float32 (B, 22, 3) poses or (B, 2, 22, 3) pairs -> float32 (B, D) unit vectors."""
        if self.kind == "pose-text":
            return self.items(items)
        return self.items(items[:, 0], items[:, 1])

    def set_dropout_generator(self, generator: torch.Generator | None) -> None:
        """Point every dropout layer at ``generator`` (the trainer's seeded one)."""
        for module in self.modules():
            if isinstance(module, GeneratorDropout):
                module.generator = generator

    def trainable_groups(self) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
        """(encoder parameters, [scale]): the scale gets its own optimiser group, as in PoseScript."""
        encoders = [p for name, p in self.named_parameters() if name != "scale"]
        return encoders, [self.scale]


def build_model(kind: str, arch: ArchConfig, table: torch.Tensor, generator: torch.Generator) -> RetrievalModel:
    """A freshly initialised model: built on the meta device, then initialised from ``generator``."""
    with torch.device("meta"):
        model = RetrievalModel(kind, arch, torch.empty(table.shape, dtype=torch.float32))
    model = model.to_empty(device="cpu")
    init_parameters(model, generator)
    with torch.no_grad():
        model.scale.fill_(INITIAL_SCALE)
    model.text.word_table = table
    return model


def sym_bbc_loss(text_emb: torch.Tensor, item_emb: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Symmetric batch-based classification loss (PoseScript's symBBC), a scalar.

    ``S = scale * T @ I^T``; the mean of the cross-entropy over the rows of S (text -> item) and
    over its columns (item -> text), the diagonal being the target.

    Args:
        text_emb, item_emb: float32 (B, D), L2-normalised; row b of each describes the same sample.
        scale: float32 (1,), the learnable multiplier.
    """
    scores = scale * text_emb @ item_emb.T
    target = torch.arange(scores.shape[0], device=scores.device)
    return 0.5 * (F.cross_entropy(scores, target) + F.cross_entropy(scores.T, target))
