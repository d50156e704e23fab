"""The one contract every conversation model follows, so training, inference and the CLI never special-case a model.

A model turns conversations into its own inputs once (`prepare`: embeddings, token strings, ...),
batches them (`collate`), and `forward` returns per-utterance logits for the utterances of the batch,
flattened in conversation order, plus any model-specific loss terms by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from emotrace.errors import EmotraceError
from emotrace.schema import Conversation, Utterance


@dataclass
class ModelOutput:
    emotion: torch.Tensor
    sentiment: torch.Tensor | None = None
    losses: dict[str, torch.Tensor] = field(default_factory=dict)


class ERCModel(nn.Module):
    """Base class: subclasses set `labels` (and `sentiment_labels` when they predict sentiment)."""

    registry_name: str = ""
    config_args: dict[str, Any]
    temperature: float = 1.0  # set from the bundle's calibration; divides the emotion logits
    media: tuple[str, ...] = ()  # the utterance media a model reads ("audio", "image", "video"); () for text models

    def __init__(self, labels: list[str], sentiment_labels: list[str] | None = None) -> None:
        super().__init__()
        self.labels = list(labels)
        self.sentiment_labels = list(sentiment_labels) if sentiment_labels else None

    def prepare(self, conversations: list[Conversation], progress: bool = False) -> list[Any]:
        """One prepared item per conversation; called once per data set, never per epoch."""
        raise NotImplementedError

    def load_media(self, utterance: Utterance) -> Any:
        """Media models: read and check one utterance's recording, raising EmotraceError if it is unusable."""
        raise NotImplementedError

    def media_summary(self, loaded: Any) -> dict[str, int] | None:
        """What the model saw of one utterance's media, for the output (e.g. frames with and without a face)."""
        return None

    def prepare_loaded(self, conversation: Conversation, loaded: list[Any]) -> Any:
        """Media models: the prepared item of one conversation from its utterances' `load_media` results, so that a
        caller that has loaded (and checked) the media already does not decode them a second time."""
        raise NotImplementedError

    def conversation_media(self, conversation: Conversation) -> list[Any]:
        """`load_media` for every utterance; a failure names the conversation and the utterance."""
        loaded = []
        for position, utterance in enumerate(conversation.utterances, 1):
            try:
                loaded.append(self.load_media(utterance))
            except EmotraceError as error:
                raise EmotraceError(f"utterance {position}: {error}", path=conversation.id) from None
        return loaded

    def collate(self, items: list[Any]) -> dict[str, Any]:
        raise NotImplementedError

    def forward(self, batch: dict[str, Any]) -> ModelOutput:  # type: ignore[override]
        raise NotImplementedError

    def parameter_groups(self, lr: float) -> list[dict[str, Any]]:
        """Optimiser parameter groups; models with pretrained parts override this to use other rates."""
        return [{"params": [p for p in self.parameters() if p.requires_grad], "lr": lr}]


class EmotionHeads(nn.Module):
    """The shared output layer: emotion logits, and sentiment logits where the data set has sentiment."""

    def __init__(self, dim: int, n_emotions: int, n_sentiments: int | None, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.emotion = nn.Linear(dim, n_emotions)
        self.sentiment = nn.Linear(dim, n_sentiments) if n_sentiments else None

    def forward(self, features: torch.Tensor, losses: dict[str, torch.Tensor] | None = None) -> ModelOutput:
        features = self.dropout(features)
        sentiment = self.sentiment(features) if self.sentiment is not None else None
        return ModelOutput(self.emotion(features), sentiment, losses or {})


def utterance_batches(lengths: list[int], max_utterances: int, order: list[int] | None = None) -> list[list[int]]:
    """Group whole conversations (by index, in `order`) into batches of at most `max_utterances` utterances;
    a conversation longer than that gets a batch of its own, since context models need it whole."""
    batches: list[list[int]] = []
    current: list[int] = []
    size = 0
    for index in order if order is not None else range(len(lengths)):
        if current and size + lengths[index] > max_utterances:
            batches.append(current)
            current, size = [], 0
        current.append(index)
        size += lengths[index]
    if current:
        batches.append(current)
    return batches
