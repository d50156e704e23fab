"""CMATH: Cross-Modality Augmented Transformer with Hierarchical Variational Distillation (Zhu et al.,
arXiv 2411.10060, 2024) for multimodal emotion recognition in conversation.

The paper's code is unreleased and its method section could not be read here, so this is a reconstruction
(see docs/cmath.md). What follows the paper (its abstract and a review of it): per-modality reconstruction with a
1-D convolutional U-Net and a Frobenius-norm loss; an asymmetric cross-modal transformer with one modality central
and the others auxiliary, each modality central in turn; a variational network fusing the fine-grained branch
representations into a coarse-grained one; distillation keeping the two granularities consistent. Everything
concrete is ours: sizes, the gated cross-attention, the product-of-experts Gaussian fusion (chosen because a
missing modality then simply contributes no expert), coarse-teacher distillation at the prediction and
distribution levels, and the loss weights. Every component can be switched off for ablations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from emotrace.labels import UNSCORED
from emotrace.models.base import ERCModel, ModelOutput
from emotrace.models.multimodal import MultimodalModel, TurnEmbedding
from emotrace.models.registry import register_model

LOG_VARIANCE_LIMIT = 10.0
INITIAL_LOG_VARIANCE = -4.0  # σ ≈ 0.14 at the start, so sampling noise does not drown the means before they learn


class UNetReconstruction(nn.Module):
    """Modality Reconstruction: a two-level 1-D convolutional U-Net over the utterance axis (channels = feature
    dims, stride 1, so every utterance keeps its own code). Returns the compressed code and the reconstruction.
    CMATH's default kernel is 1 (chosen on the composite's dev split): a wider kernel mixes each utterance's voice
    and face with its neighbours', and the branches' attention already supplies the dialogue context."""

    def __init__(self, dim: int, hidden: int, kernel: int = 3) -> None:
        super().__init__()
        pad = kernel // 2
        self.down1 = nn.Sequential(nn.Conv1d(dim, 2 * hidden, kernel, padding=pad), nn.GELU())
        self.down2 = nn.Sequential(nn.Conv1d(2 * hidden, hidden, kernel, padding=pad), nn.GELU())
        self.up1 = nn.Sequential(nn.Conv1d(hidden, 2 * hidden, kernel, padding=pad), nn.GELU())
        self.out = nn.Conv1d(2 * hidden, dim, kernel, padding=pad)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        first = self.down1(features.transpose(1, 2))
        code = self.down2(first)
        reconstruction = self.out(self.up1(code) + first)
        return code.transpose(1, 2), reconstruction.transpose(1, 2)


class CrossModalLayer(nn.Module):
    """One CMA-Transformer layer for a central stream: self-attention over the dialogue, then, for each auxiliary
    modality, gated cross-attention from the central stream to that modality's codes across the dialogue plus the
    same utterance's own auxiliary code (auxiliaries are keys and values only, never updated), then a feed-forward
    block. The aligned term matters: attention over a whole dialogue dilutes an utterance's own voice or face
    among its neighbours'."""

    def __init__(self, hidden: int, heads: int, dropout: float, auxiliaries: list[str]) -> None:
        super().__init__()
        self.self_attention = nn.MultiheadAttention(hidden, heads, dropout=dropout, batch_first=True)
        self.cross = nn.ModuleDict({m: nn.MultiheadAttention(hidden, heads, dropout=dropout, batch_first=True) for m in auxiliaries})
        self.aligned = nn.ModuleDict({m: nn.Linear(hidden, hidden) for m in auxiliaries})
        self.gates = nn.ModuleDict({m: nn.Linear(2 * hidden, hidden) for m in auxiliaries})
        self.norms = nn.ModuleList([nn.LayerNorm(hidden) for _ in range(len(auxiliaries) + 2)])
        self.feed_forward = nn.Sequential(nn.Linear(hidden, 4 * hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(4 * hidden, hidden))
        self.dropout = nn.Dropout(dropout)

    def forward(self, state: torch.Tensor, codes: dict[str, torch.Tensor], present: dict[str, torch.Tensor], mask: torch.Tensor) -> torch.Tensor:
        attended, _ = self.self_attention(state, state, state, key_padding_mask=~mask, need_weights=False)
        state = self.norms[0](state + self.dropout(attended))
        for position, (modality, attention) in enumerate(self.cross.items(), 1):
            usable = present[modality]
            has_keys = usable.any(1)
            keys_mask = ~usable
            keys_mask[~has_keys, 0] = False  # a dialogue without this modality attends to a dummy key, zeroed below
            augmented, _ = attention(state, codes[modality], codes[modality], key_padding_mask=keys_mask, need_weights=False)
            augmented = augmented * has_keys[:, None, None] + self.aligned[modality](codes[modality]) * usable[..., None]
            gate = torch.sigmoid(self.gates[modality](torch.cat([state, augmented], dim=-1)))
            state = self.norms[position](state + self.dropout(gate * augmented))
        return self.norms[-1](state + self.dropout(self.feed_forward(state)))


@dataclass
class Posterior:
    """The branches' Gaussians (per central modality) and their product-of-experts fusion, per utterance."""

    means: dict[str, torch.Tensor]
    log_variances: dict[str, torch.Tensor]
    mean: torch.Tensor
    variance: torch.Tensor


class CMATH(MultimodalModel):
    def __init__(
        self,
        labels: list[str],
        sentiment_labels: list[str] | None = None,
        modalities: list[str] | None = None,
        dims: dict[str, int] | None = None,
        face_model: str = "face",
        modality_dropout: float = 0.25,
        hidden: int = 96,
        layers: int = 2,
        heads: int = 4,
        dropout: float = 0.3,
        central: list[str] | None = None,
        reconstruction: bool = True,
        variational: bool = True,
        distillation: bool = True,
        weights: dict[str, float] | None = None,
        distillation_temperature: float = 2.0,
        kernel: int = 1,
    ) -> None:
        super().__init__(labels, sentiment_labels, modalities, dims, face_model, modality_dropout)
        self.central = list(central or self.modalities)
        self.reconstruction, self.variational, self.distillation = reconstruction, variational, distillation
        self.weights = {"fine": 0.5, "reconstruction": 0.1, "kl": 1e-3, "distillation": 1.0, **(weights or {})}
        self.distillation_temperature = distillation_temperature
        if reconstruction:
            self.encoders = nn.ModuleDict({m: UNetReconstruction(d, hidden, kernel) for m, d in self.dims.items()})
        else:
            self.encoders = nn.ModuleDict({m: nn.Sequential(nn.Linear(d, hidden), nn.GELU()) for m, d in self.dims.items()})
        self.turns = TurnEmbedding(hidden, self.max_speakers)
        self.branches = nn.ModuleDict(
            {c: nn.ModuleList([CrossModalLayer(hidden, heads, dropout, [m for m in self.modalities if m != c]) for _ in range(layers)]) for c in self.central}
        )
        self.fine_heads = nn.ModuleDict({c: nn.Linear(hidden, len(self.labels)) for c in self.central})
        self.gaussians = nn.ModuleDict({c: nn.Linear(hidden, 2 * hidden) for c in self.central})
        for gaussian in self.gaussians.values():
            nn.init.constant_(gaussian.bias[hidden:], INITIAL_LOG_VARIANCE)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, len(self.labels))

    def forward(self, batch: dict[str, Any]) -> ModelOutput:
        normalised, present = self.inputs(batch)
        mask = batch["mask"]
        losses: dict[str, torch.Tensor] = {}
        codes = self._codes(normalised, present, batch["speakers"], losses)
        fine = {}
        for c in self.central:
            state = codes[c]
            for layer in self.branches[c]:
                state = layer(state, codes, present, mask)
            fine[c] = state[mask]
        flat_present = {c: present[c][mask] for c in self.central}
        posterior = self._fuse(fine, flat_present) if self.variational else None
        if posterior is None:
            stacked = torch.stack([fine[c] * flat_present[c][:, None] for c in self.central])
            coarse = stacked.sum(0) / torch.stack(list(flat_present.values())).sum(0).clamp_min(1)[:, None]
        elif self.training:
            coarse = posterior.mean + posterior.variance.sqrt() * torch.randn_like(posterior.mean)
            kl = -0.5 * (1 + posterior.variance.log() - posterior.mean**2 - posterior.variance).sum(-1)
            losses["kl"] = self.weights["kl"] * kl.mean()
        else:
            coarse = posterior.mean
        logits = self.head(self.dropout(coarse))
        if self.training:
            losses.update(self._branch_losses(batch["gold"][mask], logits, fine, flat_present, posterior))
        return ModelOutput(logits, None, losses)

    def _codes(
        self, normalised: dict[str, torch.Tensor], present: dict[str, torch.Tensor], speakers: torch.Tensor, losses: dict[str, torch.Tensor]
    ) -> dict[str, torch.Tensor]:
        """Each modality's compressed code (plus speaker and position); in training, the reconstruction loss:
        the squared Frobenius norm of the error on the rows where the modality is present, divided by the number of
        entries (so that a 384-d and an 88-d modality weigh alike, and the loss weight does not depend on dims)."""
        codes = {}
        reconstruction_loss = torch.zeros(())
        for m in self.modalities:
            if self.reconstruction:
                code, rebuilt = self.encoders[m](normalised[m])
                rows = present[m]
                if rows.any():
                    reconstruction_loss = reconstruction_loss + ((rebuilt[rows] - normalised[m][rows]) ** 2).mean()
            else:
                code = self.encoders[m](normalised[m])
            codes[m] = self.turns(code, speakers)
        if self.reconstruction and self.training:
            losses["reconstruction"] = self.weights["reconstruction"] * reconstruction_loss
        return codes

    def _fuse(self, fine: dict[str, torch.Tensor], present: dict[str, torch.Tensor]) -> Posterior:
        """Variational fusion: a Gaussian per branch, fused as a product of experts with an N(0, I) prior expert,
        so an utterance missing a modality just lacks that expert."""
        means, log_variances = {}, {}
        for c in self.central:
            mean, log_variance = self.gaussians[c](fine[c]).chunk(2, dim=-1)
            means[c], log_variances[c] = mean, log_variance.clamp(-LOG_VARIANCE_LIMIT, LOG_VARIANCE_LIMIT)
        precision = torch.ones_like(means[self.central[0]])
        weighted = torch.zeros_like(precision)
        for c in self.central:
            expert = torch.exp(-log_variances[c]) * present[c][:, None]
            precision = precision + expert
            weighted = weighted + means[c] * expert
        return Posterior(means, log_variances, weighted / precision, 1.0 / precision)

    def _branch_losses(
        self, gold: torch.Tensor, logits: torch.Tensor, fine: dict[str, torch.Tensor], present: dict[str, torch.Tensor], posterior: Posterior | None
    ) -> dict[str, torch.Tensor]:
        """Per-branch cross-entropy, and hierarchical distillation with the coarse level as the stop-gradient
        teacher: a temperature-softened KL at the prediction level and, with variational fusion, the squared
        distance from each branch's Gaussian mean to the fused mean at the feature level. (The closed-form KL from
        a branch's Gaussian to the fused one collapses training: a product of experts is always narrower than each
        expert, so that KL drives every variance towards zero.)"""
        temperature = self.distillation_temperature
        teacher = F.softmax(logits.detach() / temperature, dim=-1)
        fine_loss, distillation = torch.zeros(()), torch.zeros(())
        for c in self.central:
            rows = present[c]
            scored = rows & (gold != UNSCORED)
            branch_logits = self.fine_heads[c](self.dropout(fine[c]))
            if scored.any():
                fine_loss = fine_loss + F.cross_entropy(branch_logits[scored], gold[scored])
            if not self.distillation or not rows.any():
                continue
            student = F.log_softmax(branch_logits[rows] / temperature, dim=-1)
            distillation = distillation + temperature**2 * F.kl_div(student, teacher[rows], reduction="batchmean")
            if posterior is not None:
                distillation = distillation + ((posterior.means[c][rows] - posterior.mean[rows].detach()) ** 2).mean()
        losses = {"fine": self.weights["fine"] * fine_loss}
        if self.distillation:
            losses["distillation"] = self.weights["distillation"] * distillation
        return losses


@register_model("cmath", "multimodal CMATH (reconstruction): U-Net per modality, asymmetric cross-modal branches, variational fusion, distillation")
def cmath(**args: Any) -> ERCModel:
    return CMATH(**args)
