"""Seeded parameter initialisation, so that building a network never draws from torch's global RNG."""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["seeded_init"]


def seeded_init(module: nn.Module, generator: torch.Generator) -> None:
    """(Re)initialise the parameters of ``module`` in place from ``generator``, in ``modules()`` order.

    PyTorch's default rules: Conv1d/Conv2d/Linear weight and bias ~ U(±1/√fan_in) (what
    ``kaiming_uniform_(a=√5)`` gives); LayerNorm weight 1, bias 0. Parameters held directly by any
    other module (learned tokens, embeddings) ~ N(0, 0.02²), the ViT/BERT convention.
    """
    with torch.no_grad():
        for sub in module.modules():
            own = list(sub.parameters(recurse=False))
            if isinstance(sub, (nn.Conv1d, nn.Conv2d, nn.Linear)):
                fan_in = sub.weight[0].numel()
                bound = 1.0 / math.sqrt(fan_in)
                for param in own:
                    param.uniform_(-bound, bound, generator=generator)
            elif isinstance(sub, nn.LayerNorm):
                for param, value in ((sub.weight, 1.0), (sub.bias, 0.0)):
                    if param is not None:
                        param.fill_(value)
            else:
                for param in own:
                    param.normal_(0.0, 0.02, generator=generator)
