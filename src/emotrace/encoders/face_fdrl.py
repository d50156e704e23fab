"""FDRL: Feature Decomposition and Reconstruction Learning (Ruan et al., CVPR 2021), on our FaceCNN backbone.

The backbone feature is decomposed into K latent "action-aware" features (one small branch each); an
intra-feature relation module weighs each latent feature (how much of it is present), an inter-feature relation
module lets the weighted latent features attend to each other, and their weighted sum is the reconstructed
expression feature the classifier sees. Auxiliary losses (from the paper's design): compactness pulls each
latent feature towards a per-class centre; balance keeps the batch-mean intra weights even across the K features.
This is a reconstruction from the paper's description, scaled down to train on 2 CPU cores.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from emotrace.encoders.face_cnn import FaceCNN


class FaceFDRL(FaceCNN):
    def __init__(self, labels: Sequence[str], width: int = 32, latents: int = 9, latent_dim: int = 64, dropout: float = 0.4) -> None:
        super().__init__(labels, width, dropout)
        backbone_dim = 8 * width
        self.decompose = nn.ModuleList(nn.Sequential(nn.Linear(backbone_dim, latent_dim), nn.ReLU()) for _ in range(latents))
        self.intra = nn.Sequential(nn.Linear(latent_dim, latent_dim // 4), nn.ReLU(), nn.Linear(latent_dim // 4, 1), nn.Sigmoid())
        self.relation = nn.Linear(latent_dim, latent_dim, bias=False)
        self.pool = nn.Linear(latent_dim, 1)
        self.head = nn.Linear(latent_dim, len(self.labels))
        self.centres = nn.Parameter(torch.zeros(len(self.labels), latents, latent_dim))
        self._latent: torch.Tensor | None = None
        self._weights: torch.Tensor | None = None

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        backbone = self.features(crops)
        latent = torch.stack([branch(backbone) for branch in self.decompose], dim=1)
        weights = self.intra(latent)
        intra = weights * latent
        attention = torch.softmax(intra @ self.relation(intra).transpose(1, 2) / intra.shape[-1] ** 0.5, dim=-1)
        combined = intra + attention @ intra
        expression = (torch.softmax(self.pool(combined), dim=1) * combined).sum(1)
        self._latent, self._weights = latent, weights
        return self.head(self.dropout(expression))

    def auxiliary_loss(self, targets: torch.Tensor, compactness: float = 0.01, balance: float = 1.0) -> torch.Tensor:
        """Terms of the last forward pass: compactness to class centres and balance of intra weights."""
        assert self._latent is not None and self._weights is not None, "call forward first"
        compact = ((self._latent - self.centres[targets]) ** 2).sum(-1).mean()
        mean_weights = self._weights.mean(0).squeeze(-1)
        balanced = ((mean_weights - mean_weights.mean()) ** 2).mean()
        return compactness * compact + balance * balanced
