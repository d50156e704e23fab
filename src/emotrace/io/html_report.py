"""A self-contained HTML report: each conversation as a timeline of turns coloured by emotion, with confidence
bars, per-modality answers and uncertainty when present. No scripts, no external files: it opens anywhere.

The markup is in jinja2 templates beside this module (`templates/`), autoescaped, so a speaker, a word or a
media error is always shown as text. This module only decides what each turn shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from emotrace.io.atomic import write_text_atomic
from emotrace.labels import to_canonical
from emotrace.schema import ABSTAIN_LABEL, Conversation, Prediction, Utterance

if TYPE_CHECKING:
    from jinja2 import Environment

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
_OTHER_COLOUR = "#607d8b"


@dataclass(frozen=True)
class _Word:
    text: str
    score: float
    shade: float  # 0..0.6: how much removing the word lowers the predicted label's probability, relative to the top word


@dataclass(frozen=True)
class _Turn:
    index: int
    clock: str
    speaker: str
    text: str
    words: list[_Word]
    details: list[str]
    label: str
    confidence: float
    colour: str
    uncertain: bool


@dataclass(frozen=True)
class _Timeline:
    id: str
    turns: list[_Turn]


def report_style() -> str:
    """The report's CSS, also served to the web page (`emotrace serve`), which shows the same timeline."""
    return _templates().get_template("report.css").render()


def render_timeline(conversations: list[Conversation], predictions: list[list[Prediction]]) -> str:
    """The legend and one timeline per conversation: the report's body, and what the web page inserts (with its CSS)."""
    return _templates().get_template("timeline.html").render(_context(conversations, predictions))


def render_report(conversations: list[Conversation], predictions: list[list[Prediction]], title: str = "emotrace report") -> str:
    return _templates().get_template("report.html").render(_context(conversations, predictions), title=title)


def write_report(conversations: list[Conversation], predictions: list[list[Prediction]], path: str | Path, title: str) -> None:
    write_text_atomic(path, render_report(conversations, predictions, title))


@cache
def _templates() -> Environment:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=PackageLoader("emotrace.io", "templates"), autoescape=select_autoescape(["html"]), undefined=StrictUndefined, keep_trailing_newline=True
    )


def _context(conversations: list[Conversation], predictions: list[list[Prediction]]) -> dict[str, object]:
    timelines = [
        _Timeline(conversation.id, [_turn(index, u, p) for index, (u, p) in enumerate(zip(conversation.utterances, predicted), 1)])
        for conversation, predicted in zip(conversations, predictions)
    ]
    return {"conversations": timelines, "colours": COLOURS}


def _turn(index: int, utterance: Utterance, prediction: Prediction) -> _Turn:
    details = []
    if prediction.modalities:
        details += [f"{name}: {p.label} {p.confidence:.2f}" for name, p in prediction.modalities.items()]
    if prediction.errors:
        details += [f"{name} unavailable: {message}" for name, message in prediction.errors.items()]
    if prediction.uncertainty:
        details.append("uncertainty " + ", ".join(f"{k} {v:.2f}" for k, v in prediction.uncertainty.items()))
    if prediction.explanation and prediction.explanation["turns"]:
        turn, score = max(prediction.explanation["turns"], key=lambda item: item[1])
        if score > 0:
            details.append(f"most influential earlier turn: {turn} (−{score:.2f} without it)")
    return _Turn(
        index=index,
        clock="" if utterance.start is None else f"{utterance.start:.1f}s",
        speaker=utterance.speaker,
        text=utterance.text,
        words=_shaded(prediction.explanation["words"]) if prediction.explanation else [],
        details=details,
        label=prediction.label,
        confidence=prediction.confidence,
        colour=COLOURS.get(to_canonical(prediction.label), _OTHER_COLOUR),
        uncertain=prediction.label == ABSTAIN_LABEL,
    )


def _shaded(words: list[list]) -> list[_Word]:
    """Words shaded by how much removing them lowers the predicted label's probability."""
    top = max((score for _, score in words), default=0.0)
    return [_Word(str(word), score, 0.0 if top <= 0 else max(0.0, score) / top * 0.6) for word, score in words]
