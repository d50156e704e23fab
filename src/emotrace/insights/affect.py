"""Where an emotion sits on valence (unpleasant–pleasant) and arousal (calm–excited), so that a speaker's turns can
be drawn as one trajectory whatever label set the model uses.

Each canonical emotion is placed at the NRC Valence, Arousal, and Dominance Lexicon v1.0 ratings (Mohammad,
"Obtaining Reliable Human Ratings of Valence, Arousal, and Dominance for 20,000 English Words", ACL 2018) of the word
in brackets below, whose dimensions follow Russell's circumplex of affect (Russell 1980). The lexicon rates on 0..1;
we rescale to -1..1 (2x - 1), so 0 is the middle of the scale. A turn's position is the probability-weighted mean
of its emotions' positions; labels the table does not know are left out and the rest renormalised.

    emotion       word         valence  arousal   (lexicon, 0..1)
    neutral       neutral      0.469    0.184
    joy           happy        1.000    0.735
    sadness       sadness      0.052    0.288
    anger         anger        0.167    0.865
    fear          fear         0.073    0.840
    disgust       disgust      0.052    0.775
    surprise      surprise     0.875    0.875
    boredom       bored        0.153    0.167
    frustration   frustrated   0.080    0.651
    excitement    excitement   0.896    0.684
"""

from __future__ import annotations

from emotrace.labels import to_canonical

_LEXICON = {
    "neutral": (0.469, 0.184),
    "joy": (1.000, 0.735),
    "sadness": (0.052, 0.288),
    "anger": (0.167, 0.865),
    "fear": (0.073, 0.840),
    "disgust": (0.052, 0.775),
    "surprise": (0.875, 0.875),
    "boredom": (0.153, 0.167),
    "frustration": (0.080, 0.651),
    "excitement": (0.896, 0.684),
}
VALENCE_AROUSAL: dict[str, tuple[float, float]] = {emotion: (2 * v - 1, 2 * a - 1) for emotion, (v, a) in _LEXICON.items()}

NEGATIVE_BELOW = 0.25
"""A negative emotion is one whose lexicon valence is below this (0..1 scale): anger, sadness, fear, disgust, boredom
and frustration. Neutral (0.469) is not negative, though it sits just under the middle."""
NEGATIVE = frozenset(emotion for emotion, (valence, _) in _LEXICON.items() if valence < NEGATIVE_BELOW)


def canonical_probabilities(probabilities: dict[str, float]) -> dict[str, float]:
    """The distribution over canonical emotions (IEMOCAP's `happy` becomes `joy`); labels mapping to one name add up."""
    merged: dict[str, float] = {}
    for label, p in probabilities.items():
        name = to_canonical(label)
        merged[name] = merged.get(name, 0.0) + p
    return merged


def valence_arousal(probabilities: dict[str, float]) -> tuple[float, float] | None:
    """The probability-weighted position in -1..1, or None when no label of the distribution is in the table."""
    known = [(VALENCE_AROUSAL[name], p) for name, p in canonical_probabilities(probabilities).items() if name in VALENCE_AROUSAL and p > 0]
    mass = sum(p for _, p in known)
    if mass <= 0:
        return None
    return sum(v * p for (v, _), p in known) / mass, sum(a * p for (_, a), p in known) / mass
