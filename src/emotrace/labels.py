"""One canonical emotion vocabulary, the label set each data set uses, and the mappings between them.

Label sets keep each data set's own classes (IEMOCAP's `frustrated` and `excited` stay distinct,
because its standard 6-class protocol scores them separately); `to_canonical` maps any of them
onto the shared vocabulary so that predictions from different models can be compared and fused.
"""

from __future__ import annotations

CANONICAL = ("neutral", "joy", "sadness", "anger", "fear", "disgust", "surprise", "boredom", "frustration", "excitement")

LABEL_SETS: dict[str, tuple[str, ...]] = {
    "meld": ("neutral", "surprise", "fear", "sadness", "joy", "disgust", "anger"),
    "iemocap": ("happy", "sad", "neutral", "angry", "excited", "frustrated"),
    "emodb": ("anger", "boredom", "disgust", "fear", "joy", "sadness", "neutral"),
    "dailydialog": ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear"),
    "nemo": ("anger", "fear", "happiness", "neutral", "sadness", "surprised"),
}

SENTIMENT_LABELS: dict[str, tuple[str, ...]] = {
    "meld": ("neutral", "positive", "negative"),
}

UNSCORED = -100  # the gold index of a context-only utterance (no emotion); PyTorch's cross-entropy ignores it too

_SYNONYMS = {
    "happy": "joy",
    "happiness": "joy",
    "sad": "sadness",
    "angry": "anger",
    "frustrated": "frustration",
    "excited": "excitement",
    "fearful": "fear",
    "disgusted": "disgust",
    "surprised": "surprise",
    "bored": "boredom",
}


def to_canonical(label: str) -> str:
    """Map a data set's label onto the canonical vocabulary; unknown labels pass through lower-cased."""
    name = label.strip().lower()
    return _SYNONYMS.get(name, name)
