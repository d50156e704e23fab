"""The one data model that flows through emotrace: readers build it, models consume it, writers print it.

Deliberately free of ML imports so that readers, writers and the CLI stay light.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MEDIA_KINDS = ("audio", "image", "video")


@dataclass
class Utterance:
    """One turn of a conversation.

    `emotion`/`sentiment` are gold labels when the data carries them (training, evaluation);
    `media` maps a media kind (MEDIA_KINDS) to a file path, where `start`/`end` cut the utterance out of a longer
    audio or video recording; readers resolve paths given relative to the input file, so the rest of the pipeline never needs to know where the input came from.
    `features` maps a modality ("text", "audio", "face") to a precomputed feature vector, e.g. from a community
    feature file; a multimodal model uses it instead of extracting that modality from the text or media.
    An utterance without `emotion` in labelled data is context only: models see it, training and scores skip it.
    """

    speaker: str
    text: str
    start: float | None = None
    end: float | None = None
    media: dict[str, str] = field(default_factory=dict)
    emotion: str | None = None
    sentiment: str | None = None
    id: str | None = None
    features: dict[str, Any] = field(default_factory=dict)  # modality → 1-D float vector (numpy array or list)


@dataclass
class Conversation:
    """An ordered list of utterances with an id; `metadata` keeps whatever else the source carried."""

    id: str
    utterances: list[Utterance]
    metadata: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.utterances)


ABSTAIN_LABEL = "uncertain"
NO_ANSWER_LABEL = "unavailable"  # no modality could answer (a textless utterance whose media failed): see `errors`


@dataclass
class Prediction:
    """A model's answer for one utterance: the label, the full distribution, and the confidence in the label.

    `label` is `uncertain` when the caller asked to abstain below a confidence; `uncertainty` holds the
    Monte-Carlo-dropout entropies (total, aleatoric, epistemic; nats) when they were computed. A fused
    prediction keeps each modality's own answer in `modalities` and why a modality is missing in `errors`;
    `explanation` lists word and earlier-turn importances when they were asked for; `evidence` says what a media
    model saw (e.g. video frames sampled, and how many had no face)."""

    label: str
    probabilities: dict[str, float]
    confidence: float
    sentiment: str | None = None
    sentiment_probabilities: dict[str, float] | None = None
    uncertainty: dict[str, float] | None = None
    modalities: dict[str, Prediction] | None = None
    errors: dict[str, str] | None = None
    explanation: dict[str, list[Any]] | None = None
    evidence: dict[str, int] | None = None

    @classmethod
    def from_probabilities(
        cls,
        labels: list[str],
        probabilities: list[float],
        sentiment_labels: list[str] | None = None,
        sentiment_probabilities: list[float] | None = None,
        uncertainty: dict[str, float] | None = None,
        abstain_below: float | None = None,
    ) -> Prediction:
        best = max(range(len(labels)), key=lambda i: probabilities[i])
        abstain = abstain_below is not None and probabilities[best] < abstain_below
        sentiment = sentiment_dist = None
        if sentiment_labels and sentiment_probabilities is not None:
            best_s = max(range(len(sentiment_labels)), key=lambda i: sentiment_probabilities[i])
            sentiment = sentiment_labels[best_s]
            sentiment_dist = {s: float(p) for s, p in zip(sentiment_labels, sentiment_probabilities)}
        return cls(
            label=ABSTAIN_LABEL if abstain else labels[best],
            probabilities={label: float(p) for label, p in zip(labels, probabilities)},
            confidence=float(probabilities[best]),
            sentiment=sentiment,
            sentiment_probabilities=sentiment_dist,
            uncertainty=uncertainty,
        )
