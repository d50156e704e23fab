"""One colour per canonical emotion, shared by the report's turns, the timeline chart and the summarize page, so an
emotion looks the same wherever it is drawn."""

from __future__ import annotations

from emotrace.labels import to_canonical
from emotrace.schema import ABSTAIN_LABEL

COLOURS = {
    "neutral": "#9e9e9e",
    "joy": "#f4b400",
    "sadness": "#4a78c2",
    "anger": "#d93025",
    "fear": "#8e44ad",
    "disgust": "#2e8b57",
    "surprise": "#ff8c00",
    "boredom": "#8d6e63",
    "frustration": "#c2185b",
    "excitement": "#ff5fa2",
    ABSTAIN_LABEL: "#ffffff",
}
OTHER_COLOUR = "#607d8b"  # a label outside the canonical vocabulary; also the outline of an abstained turn


def colour(label: str) -> str:
    return COLOURS.get(to_canonical(label), OTHER_COLOUR)
