"""Low-rank adapters (Hu et al., 2021, "LoRA: Low-Rank Adaptation of Large Language Models").

Only the adapters (and the heads) are trained and shipped: a bundle stays a few MB while the
22M-parameter encoder keeps coming from its own package.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class LoRALinear(nn.Module):
    """`base(x) + scale * B(A(dropout(x)))` with `base` frozen and B initialised to zero (starts as the identity edit)."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float, dropout: float) -> None:
        super().__init__()
        self.base = base
        self.base.requires_grad_(False)
        self.lora_a = nn.Parameter(torch.empty(rank, base.in_features))
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, rank))
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))
        self.scale = alpha / rank
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (self.dropout(x) @ self.lora_a.T @ self.lora_b.T) * self.scale

    def merged(self) -> nn.Linear:
        """One plain Linear with the adapter folded in (W + scale·B·A): the same function at inference, one matmul."""
        linear = nn.Linear(self.base.in_features, self.base.out_features, bias=self.base.bias is not None)
        with torch.no_grad():
            linear.weight.copy_(self.base.weight + self.scale * self.lora_b @ self.lora_a)
            if self.base.bias is not None:
                linear.bias.copy_(self.base.bias)
        return linear


def merge_lora(module: nn.Module) -> int:
    """Replace every LoRALinear inside `module` by its merged Linear (for export); returns how many were merged."""
    merged = 0
    for parent in list(module.modules()):
        for child_name, child in list(parent.named_children()):
            if isinstance(child, LoRALinear):
                setattr(parent, child_name, child.merged())
                merged += 1
    return merged


def add_lora(module: nn.Module, rank: int, alpha: float, dropout: float, targets: tuple[str, ...]) -> int:
    """Freeze `module` and wrap every nn.Linear whose attribute name is in `targets`; returns how many were wrapped."""
    module.requires_grad_(False)
    wrapped = 0
    for parent in list(module.modules()):
        for child_name, child in list(parent.named_children()):
            if isinstance(child, nn.Linear) and child_name in targets:
                setattr(parent, child_name, LoRALinear(child, rank, alpha, dropout))
                wrapped += 1
    return wrapped
