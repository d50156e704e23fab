"""Models over frozen sentence embeddings: cheap to train (seconds per epoch), since the encoder runs once and is cached."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from emotrace.encoders.text import TextEncoder
from emotrace.models.base import EmotionHeads, ERCModel, ModelOutput
from emotrace.models.registry import register_model
from emotrace.models.turns import speaker_indices
from emotrace.schema import Conversation


class FrozenEmbeddingModel(ERCModel):
    """Shared input side: MiniLM embeddings per utterance plus the speaker's index within the conversation."""

    max_speakers = 8
    text_encoder: TextEncoder | None = None  # set to run another backend (e.g. ONNX int8); None: PyTorch fp32, cached

    def prepare(self, conversations: list[Conversation], progress: bool = False) -> list[dict[str, Any]]:
        texts = [u.text for c in conversations for u in c.utterances]
        return self.items_from_embeddings(conversations, self.embed_texts(texts, progress))

    def embed_texts(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """(N, 384) utterance embeddings from the model's text encoder; a cascade (research/cascade.py) asks only
        for the turns its saver did not answer."""
        return (self.text_encoder or TextEncoder()).embed(texts, progress=progress)

    def items_from_embeddings(self, conversations: list[Conversation], embeddings: np.ndarray) -> list[dict[str, Any]]:
        """Prepared items from given utterance embeddings (rows in conversation order), e.g. a cascade's mix of
        real and surrogate embeddings."""
        vectors = torch.from_numpy(embeddings)
        items, start = [], 0
        for conversation in conversations:
            end = start + len(conversation)
            items.append({"embeddings": vectors[start:end], "speakers": torch.tensor(speaker_indices(conversation, self.max_speakers))})
            start = end
        return items

    def collate(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "embeddings": nn.utils.rnn.pad_sequence([i["embeddings"] for i in items], batch_first=True),
            "speakers": nn.utils.rnn.pad_sequence([i["speakers"] for i in items], batch_first=True),
            "mask": nn.utils.rnn.pad_sequence([torch.ones(len(i["speakers"]), dtype=torch.bool) for i in items], batch_first=True),
        }


class UtteranceMLP(FrozenEmbeddingModel):
    """No-context baseline: each utterance on its own."""

    def __init__(self, labels: list[str], sentiment_labels: list[str] | None = None, hidden: int = 256, dropout: float = 0.3) -> None:
        super().__init__(labels, sentiment_labels)
        self.body = nn.Sequential(nn.Linear(384, hidden), nn.GELU(), nn.Dropout(dropout))
        self.heads = EmotionHeads(hidden, len(self.labels), len(self.sentiment_labels or []), dropout)

    def forward(self, batch: dict[str, Any]) -> ModelOutput:
        return self.classify(batch["embeddings"], batch["speakers"], batch["mask"])

    def classify(self, vectors: torch.Tensor, speakers: torch.Tensor, mask: torch.Tensor) -> ModelOutput:
        """Padded utterance vectors (B, T, 384) → outputs for the real utterances; speakers play no part here."""
        return self.heads(self.body(vectors[mask]))


class SpeakerBiGRU(FrozenEmbeddingModel):
    """Speaker-aware bidirectional context: utterance embedding + speaker-role embedding → biGRU over the dialogue,
    concatenated with the utterance's own projection (a residual path, as in bc-LSTM, Poria et al., 2017)."""

    def __init__(self, labels: list[str], sentiment_labels: list[str] | None = None, hidden: int = 192, layers: int = 1, dropout: float = 0.3) -> None:
        super().__init__(labels, sentiment_labels)
        self.speaker = nn.Embedding(self.max_speakers, 32)
        self.project = nn.Sequential(nn.Dropout(dropout), nn.Linear(384 + 32, hidden), nn.GELU())
        self.context = DialogueGRU(hidden, layers, dropout)
        self.heads = EmotionHeads(3 * hidden, len(self.labels), len(self.sentiment_labels or []), dropout)

    def forward(self, batch: dict[str, Any]) -> ModelOutput:
        return self.classify(batch["embeddings"], batch["speakers"], batch["mask"])

    def classify(self, vectors: torch.Tensor, speakers: torch.Tensor, mask: torch.Tensor) -> ModelOutput:
        """Padded utterance vectors (B, T, 384) and speaker indices → outputs for the real utterances."""
        return self.heads(self.context(self.project(torch.cat([vectors, self.speaker(speakers)], dim=-1)), mask))


class DialogueGRU(nn.Module):
    """biGRU over the utterances of each (padded) conversation; returns [input; forward; backward] per real utterance."""

    def __init__(self, hidden: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.gru = nn.GRU(hidden, hidden, num_layers=layers, batch_first=True, bidirectional=True, dropout=dropout if layers > 1 else 0.0)

    def forward(self, inputs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if bool(mask.all()):  # nothing padded (one conversation, or the ONNX export's graph): packing changes nothing
            context, _ = self.gru(inputs)
        else:
            lengths = mask.sum(1).cpu()
            packed = nn.utils.rnn.pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False)
            context, _ = self.gru(packed)
            context, _ = nn.utils.rnn.pad_packed_sequence(context, batch_first=True, total_length=inputs.shape[1])
        return torch.cat([inputs, context], dim=-1)[mask]


@register_model("mlp", "no-context baseline: frozen MiniLM embedding → MLP")
def mlp(**args: Any) -> ERCModel:
    return UtteranceMLP(**args)


@register_model("bigru", "frozen MiniLM embeddings + speaker embeddings → bidirectional GRU over the dialogue")
def bigru(**args: Any) -> ERCModel:
    return SpeakerBiGRU(**args)
