"""Low-rank adapters (LoRA) for a pretrained backbone, written for PoseBench (peft is not a dependency).

A wrapped ``nn.Linear`` computes ``base(x) + (B · A · dropout(x)) · alpha / r`` with the base
weight frozen, ``A`` (r × in) drawn like PyTorch's Linear default (U(±1/√in), what peft's
``kaiming_uniform_(a=√5)`` gives) and ``B`` (out × r) zero, so a fresh adapter changes nothing.
As in UniPose (LLaVA defaults, ``docs/peers.md#unipose-training-stages-and-lora``), every Linear
of the decoder layers gets one (q, k, v, o, gate, up, down); the embeddings and the lm_head stay full-rank and are trained directly.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import torch
from torch import nn

from bench.errors import ConfigError, InternalError
from retrieval_models.encoders import GeneratorDropout

__all__ = ["LoraConfig", "LoRALinear", "apply_lora", "lora_parameters", "merge_lora", "set_lora_generator"]


@dataclass(frozen=True)
class LoraConfig:
    """Adapter hyper-parameters (paper scale: r 64, alpha 16, dropout 0.05; scale r down with the model)."""

    r: int = 8
    alpha: float = 16.0
    dropout: float = 0.05

    def __post_init__(self) -> None:
        if self.r < 1:
            raise ConfigError("must be >= 1", field="lora.r")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError("must be in [0, 1)", field="lora.dropout")

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


class LoRALinear(nn.Module):
    """A frozen ``nn.Linear`` plus a trainable low-rank update; ``(..., in)`` → ``(..., out)``."""

    def __init__(self, base: nn.Linear, config: LoraConfig, generator: torch.Generator) -> None:
        super().__init__()
        self.base = base
        base.weight.requires_grad_(False)
        if base.bias is not None:
            base.bias.requires_grad_(False)
        bound = 1.0 / math.sqrt(base.in_features)
        weight = base.weight
        a = torch.empty(config.r, base.in_features, dtype=weight.dtype).uniform_(-bound, bound, generator=generator)
        self.lora_a = nn.Parameter(a.to(weight.device))
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, config.r, dtype=weight.dtype, device=weight.device))
        self.scaling = config.alpha / config.r
        self.dropout = GeneratorDropout(config.dropout)
        self.train(base.training)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (self.dropout(x) @ self.lora_a.T @ self.lora_b.T) * self.scaling

    def merged(self) -> nn.Linear:
        """A plain Linear with the update folded into its weight."""
        out = nn.Linear(self.base.in_features, self.base.out_features, bias=self.base.bias is not None,
                        device=self.base.weight.device, dtype=self.base.weight.dtype)  # fmt: skip
        with torch.no_grad():
            out.weight.copy_(self.base.weight + (self.lora_b @ self.lora_a) * self.scaling)
            if self.base.bias is not None:
                out.bias.copy_(self.base.bias)
        return out


def _replace(root: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    setattr(root.get_submodule(parent_name) if parent_name else root, child, module)


def apply_lora(decoder: nn.Module, config: LoraConfig, generator: torch.Generator) -> list[str]:
    """Wrap every ``nn.Linear`` inside ``decoder`` (the backbone's layer stack, without lm_head)
    in place; returns the wrapped module names in ``named_modules`` order.

    Raises:
        InternalError: the decoder has no Linear layer, or is already adapted.
    """
    names = [name for name, module in decoder.named_modules() if type(module) is nn.Linear]
    if any(isinstance(m, LoRALinear) for m in decoder.modules()):
        raise InternalError("LoRA is already applied to this decoder")
    if not names:
        raise InternalError("the decoder has no Linear layer to adapt")
    for name in names:
        _replace(decoder, name, LoRALinear(decoder.get_submodule(name), config, generator))
    return names


def lora_parameters(module: nn.Module) -> Iterator[nn.Parameter]:
    """The adapter parameters (A and B of every LoRALinear) inside ``module``."""
    for sub in module.modules():
        if isinstance(sub, LoRALinear):
            yield sub.lora_a
            yield sub.lora_b


def set_lora_generator(module: nn.Module, generator: torch.Generator | None) -> None:
    """Draw every adapter's dropout mask from ``generator`` (None: only eval mode is allowed)."""
    for sub in module.modules():
        if isinstance(sub, LoRALinear):
            sub.dropout.generator = generator


def merge_lora(module: nn.Module) -> int:
    """Fold every adapter into its base Linear in place (for faster inference); returns how many."""
    names = [name for name, sub in module.named_modules() if isinstance(sub, LoRALinear)]
    for name in names:
        _replace(module, name, module.get_submodule(name).merged())
    return len(names)
