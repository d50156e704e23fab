"""Skip GRU context model (Campos et al., ICLR 2018, "Skip RNN: Learning to Skip State Updates in Recurrent
Neural Networks"): the dialogue GRU learns to copy its state across turns instead of updating it, so inference
runs the recurrent cell on only part of the utterances, and a budget loss trades state updates for accuracy.

The input side is `bigru`'s (MiniLM embedding + speaker embedding → projection) and so is the output
([input; forward; backward] per utterance), so the two differ only in the recurrence.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from emotrace.models.base import EmotionHeads, ERCModel, ModelOutput
from emotrace.models.frozen import FrozenEmbeddingModel
from emotrace.models.registry import register_model


def binarize(probability: torch.Tensor) -> torch.Tensor:
    """u_t = round(ũ_t) going forward, identity going backward: the paper's straight-through estimator."""
    return probability + (probability.round() - probability).detach()


class SkipGRUCell(nn.Module):
    """One direction of a Skip GRU over dialogues padded at the end (the paper's Eqs. 1–6 with a GRU cell):

        u_t = round(ũ_t),   s_t = u_t · GRU(x_t, s_{t−1}) + (1 − u_t) · s_{t−1},   Δũ_t = σ(w_p · s_t + b_p),
        ũ_{t+1} = u_t · Δũ_t + (1 − u_t) · (ũ_t + min(Δũ_t, 1 − ũ_t)),   ũ_1 = 1,   s_0 learned.

    While gradients are recorded, every turn runs the cell (the straight-through gradient of u_t needs the candidate
    state) and ũ follows the recurrence above. Without gradients (inference) only the updating turns run it: after an
    update with Δũ, ũ grows by Δũ per skipped turn, so the next ⌊0.5 / Δũ⌋ turns skip (the paper's N_skip; round
    takes 0.5 to 0) and each row jumps straight to its next update, so skipped turns cost no computation at all.
    """

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.cell = nn.GRUCell(hidden, hidden)
        self.initial_state = nn.Parameter(torch.zeros(hidden))
        self.update_gate = nn.Linear(hidden, 1)
        nn.init.constant_(self.update_gate.bias, 1.0)  # b_p = 1: every turn updates early in training (paper, Sec. 4)

    def forward(self, inputs: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """States (B, T, H) and update gates u_t (B, T; exactly 0 or 1) for inputs (B, T, H) with mask (B, T)."""
        return self._recurrence(inputs) if torch.is_grad_enabled() else self._jumps(inputs, mask)

    def _recurrence(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch, steps, hidden = inputs.shape
        state = self.initial_state.expand(batch, hidden)
        probability = inputs.new_ones(batch, 1)
        states, updates = [], []
        for step in range(steps):
            update = binarize(probability)
            state = update * self.cell(inputs[:, step], state) + (1 - update) * state
            delta = torch.sigmoid(self.update_gate(state))
            probability = update * delta + (1 - update) * (probability + torch.minimum(delta, 1 - probability))
            states.append(state)
            updates.append(update[:, 0])
        return torch.stack(states, 1), torch.stack(updates, 1)

    def _jumps(self, inputs: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch, steps, hidden = inputs.shape
        lengths = mask.sum(1)
        position = torch.zeros(batch, dtype=torch.long, device=inputs.device)  # ũ_1 = 1: every dialogue updates first
        state = self.initial_state.expand(batch, hidden)
        snapshots = []  # the batch's states after each round of updates
        round_of_update = torch.zeros(batch, steps, dtype=torch.long, device=inputs.device)
        updates = inputs.new_zeros(batch, steps)
        rows = (position < lengths).nonzero().squeeze(1)
        while rows.numel():
            updated = self.cell(inputs[rows, position[rows]], state[rows])
            state = state.index_copy(0, rows, updated)
            snapshots.append(state)
            round_of_update[rows, position[rows]] = len(snapshots) - 1
            updates[rows, position[rows]] = 1.0
            skipped = torch.floor((0.5 / torch.sigmoid(self.update_gate(updated)[:, 0])).clamp(max=steps)).long()
            position = position.index_add(0, rows, skipped + 1)
            rows = (position < lengths).nonzero().squeeze(1)
        latest = round_of_update.cummax(1).values  # a skipped turn keeps the state of the row's last update
        return torch.stack(snapshots)[latest, torch.arange(batch, device=inputs.device)[:, None]], updates


def reversal_index(mask: torch.Tensor) -> torch.Tensor:
    """(B, T) positions that reverse each dialogue within its own length and leave the padding in place."""
    lengths = mask.sum(1, keepdim=True)
    positions = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
    return torch.where(positions < lengths, lengths - 1 - positions, positions)


class SkipDialogueGRU(nn.Module):
    """A forward and a backward Skip GRU over each dialogue: an utterance's emotion often shows in the replies, so
    ERC context needs the future as much as the past (as in `bigru`); each direction learns its own skipping.

    Returns [input; forward; backward] per real utterance, like `DialogueGRU`, and the gates (N, 2) of both
    directions. `last_updates` / `last_steps` hold the state updates performed and possible in the last call.
    """

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.forward_cell = SkipGRUCell(hidden)
        self.backward_cell = SkipGRUCell(hidden)
        self.last_updates = 0
        self.last_steps = 0

    def forward(self, inputs: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        reverse = reversal_index(mask)
        forward_states, forward_updates = self.forward_cell(inputs, mask)
        reversed_inputs = inputs.gather(1, reverse.unsqueeze(-1).expand_as(inputs))
        backward_states, backward_updates = self.backward_cell(reversed_inputs, mask)
        backward_states = backward_states.gather(1, reverse.unsqueeze(-1).expand_as(backward_states))
        updates = torch.stack([forward_updates, backward_updates.gather(1, reverse)], dim=-1)[mask]
        self.last_updates, self.last_steps = int(updates.detach().sum().item()), updates.numel()
        return torch.cat([inputs, forward_states, backward_states], dim=-1)[mask], updates


class SkipBiGRU(FrozenEmbeddingModel):
    """`bigru` with Skip GRU context; `budget` is λ of the paper's budget loss, here λ · mean(u_t) over the turns
    and both directions of the batch (the paper sums u_t per sequence; the mean keeps λ independent of length)."""

    def __init__(self, labels: list[str], sentiment_labels: list[str] | None = None, hidden: int = 192, dropout: float = 0.3, budget: float = 0.0) -> None:
        super().__init__(labels, sentiment_labels)
        self.budget = budget
        self.speaker = nn.Embedding(self.max_speakers, 32)
        self.project = nn.Sequential(nn.Dropout(dropout), nn.Linear(384 + 32, hidden), nn.GELU())
        self.context = SkipDialogueGRU(hidden)
        self.heads = EmotionHeads(3 * hidden, len(self.labels), len(self.sentiment_labels or []), dropout)

    def forward(self, batch: dict[str, Any]) -> ModelOutput:
        return self.classify(batch["embeddings"], batch["speakers"], batch["mask"])

    def classify(self, vectors: torch.Tensor, speakers: torch.Tensor, mask: torch.Tensor) -> ModelOutput:
        """Padded utterance vectors (B, T, 384) and speaker indices → outputs for the real utterances."""
        inputs = self.project(torch.cat([vectors, self.speaker(speakers)], dim=-1))
        features, updates = self.context(inputs, mask)
        losses = {"budget": self.budget * updates.mean()} if self.training and self.budget > 0 else {}
        return self.heads(features, losses)


@register_model("skip-gru", "bigru whose dialogue GRU learns to skip state updates (Skip RNN, Campos et al., 2018)")
def skip_gru(**args: Any) -> ERCModel:
    return SkipBiGRU(**args)
