"""Encoder fine-tuning with dialogue context in the input, after EmoBERTa (Kim & Vossen, 2021, arXiv 2108.12009):
each utterance is encoded as `Speaker: text` with the previous turns (speaker names included) as a second segment.

Here the encoder is MiniLM with LoRA adapters, so it trains on 2 CPU cores and ships as a few MB;
`finetune-bigru` adds a speaker-aware biGRU over the whole dialogue on top, trained end to end.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from emotrace.encoders.minilm import load_bert, load_tokenizer, mean_pool
from emotrace.models.base import EmotionHeads, ERCModel, ModelOutput
from emotrace.models.frozen import DialogueGRU
from emotrace.models.lora import add_lora
from emotrace.models.registry import register_model
from emotrace.models.turns import context_pairs, speaker_indices
from emotrace.schema import Conversation


class ContextFineTuned(ERCModel):
    max_speakers = 8

    def __init__(
        self,
        labels: list[str],
        sentiment_labels: list[str] | None = None,
        past: int = 3,
        future: int = 0,
        max_length: int = 128,
        lora_rank: int = 16,
        lora_alpha: float = 32.0,
        lora_layers: int = 4,
        dialogue_gru: bool = False,
        hidden: int = 256,
        dropout: float = 0.1,
    ) -> None:
        super().__init__(labels, sentiment_labels)
        self.past, self.future, self.max_length = past, future, max_length
        self.tokenizer = load_tokenizer()
        self.tokenizer.truncation_side = "left"
        self.encoder = load_bert()
        self.encoder.requires_grad_(False)
        for layer in self.encoder.encoder.layer[-lora_layers:]:
            add_lora(layer, lora_rank, lora_alpha, dropout, targets=("query", "key", "value", "dense"))
        self.dialogue_gru = dialogue_gru
        if dialogue_gru:
            self.speaker = nn.Embedding(self.max_speakers, 32)
            self.project = nn.Sequential(nn.Dropout(dropout), nn.Linear(384 + 32, hidden), nn.GELU())
            self.context = DialogueGRU(hidden, 1, dropout)
            head_dim = 3 * hidden
        else:
            head_dim = 384
        self.heads = EmotionHeads(head_dim, len(self.labels), len(self.sentiment_labels or []), dropout)

    def prepare(self, conversations: list[Conversation], progress: bool = False) -> list[dict[str, Any]]:
        return [{"pairs": context_pairs(c, self.past, self.future), "speakers": torch.tensor(speaker_indices(c, self.max_speakers))} for c in conversations]

    def collate(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        pairs = [pair for item in items for pair in item["pairs"]]
        tokens = self.tokenizer([a for a, _ in pairs], [b for _, b in pairs], truncation="longest_first", max_length=self.max_length)
        return {
            "token_ids": tokens["input_ids"],
            "token_types": tokens["token_type_ids"],
            "speakers": nn.utils.rnn.pad_sequence([i["speakers"] for i in items], batch_first=True),
            "mask": nn.utils.rnn.pad_sequence([torch.ones(len(i["pairs"]), dtype=torch.bool) for i in items], batch_first=True),
        }

    def encode(self, token_ids: list[list[int]], token_types: list[list[int]], chunk: int = 16) -> torch.Tensor:
        """Mean-pooled encodings, run in length-sorted chunks so that short utterances are not padded to the longest."""
        order = sorted(range(len(token_ids)), key=lambda i: len(token_ids[i]))
        pooled: list[torch.Tensor] = []
        for start in range(0, len(order), chunk):
            picked = order[start : start + chunk]
            width = max(len(token_ids[i]) for i in picked)
            ids = torch.tensor([token_ids[i] + [0] * (width - len(token_ids[i])) for i in picked])
            types = torch.tensor([token_types[i] + [0] * (width - len(token_types[i])) for i in picked])
            attention = torch.tensor([[1] * len(token_ids[i]) + [0] * (width - len(token_ids[i])) for i in picked])
            hidden = self.encoder(input_ids=ids, token_type_ids=types, attention_mask=attention).last_hidden_state
            pooled.append(mean_pool(hidden, attention))
        encoded = torch.cat(pooled)
        return encoded[torch.argsort(torch.tensor(order))]

    def forward(self, batch: dict[str, Any]) -> ModelOutput:
        utterances = self.encode(batch["token_ids"], batch["token_types"])
        mask = batch["mask"]
        padded = utterances.new_zeros(*mask.shape, utterances.shape[-1])
        padded[mask] = utterances
        return self.classify(padded, batch["speakers"], mask)

    def classify(self, vectors: torch.Tensor, speakers: torch.Tensor, mask: torch.Tensor) -> ModelOutput:
        """Padded pooled encodings (B, T, 384) and speaker indices → outputs for the real utterances."""
        if not self.dialogue_gru:
            return self.heads(vectors[mask])
        return self.heads(self.context(self.project(torch.cat([vectors, self.speaker(speakers)], dim=-1)), mask))

    def parameter_groups(self, lr: float) -> list[dict[str, Any]]:
        """Adapters at `lr`; the freshly initialised heads and GRU at twice that."""
        adapters = [p for n, p in self.named_parameters() if p.requires_grad and n.startswith("encoder.")]
        rest = [p for n, p in self.named_parameters() if p.requires_grad and not n.startswith("encoder.")]
        return [{"params": adapters, "lr": lr}, {"params": rest, "lr": 2 * lr}]


@register_model("finetune", "MiniLM + LoRA fine-tuned with the previous turns (speaker names) as a second segment (EmoBERTa-style)")
def finetune(**args: Any) -> ERCModel:
    return ContextFineTuned(**args)


@register_model("finetune-bigru", "finetune + a speaker-aware biGRU over the whole dialogue, trained end to end")
def finetune_bigru(**args: Any) -> ERCModel:
    return ContextFineTuned(**{"dialogue_gru": True, **args})


@register_model(
    "dialogue-minilm",
    "finetune-bigru reading 3 past and 2 future turns in the encoder (offline analysis: needs the next turns)",
)
def dialogue_minilm(**args: Any) -> ERCModel:
    return ContextFineTuned(**{"dialogue_gru": True, "past": 3, "future": 2, **args})
