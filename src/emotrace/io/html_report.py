"""A self-contained HTML report: each conversation's summary per speaker and its timeline chart (inline SVG), then
its turns coloured by emotion, with confidence bars, per-modality answers and uncertainty when present. No scripts,
no external files: it opens anywhere.

The markup is in jinja2 templates beside this module (`templates/`), autoescaped, so a speaker, a word or a
media error is always shown as text. This module only decides what each turn shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from emotrace.insights.summary import describe, summarize_conversation
from emotrace.io.atomic import write_text_atomic
from emotrace.io.chart import render_svg, timeline_chart
from emotrace.io.palette import COLOURS, colour
from emotrace.schema import ABSTAIN_LABEL, Conversation, Prediction, Utterance

if TYPE_CHECKING:
    from jinja2 import Environment
    from markupsafe import Markup


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
class _Share:
    label: str
    turns: int
    percent: float
    colour: str


@dataclass(frozen=True)
class _Speaker:
    line: str  # `insights.summary.describe`
    mix: list[_Share]  # the speaker's emotion distribution, as a strip of coloured shares


@dataclass(frozen=True)
class _Timeline:
    id: str
    speakers: list[_Speaker]
    chart: Markup  # our own SVG, every text in it escaped by `io.chart`
    turns: list[_Turn]


def report_style() -> str:
    """The report's CSS, also served to the web page (`emotrace serve`), which shows the same timeline."""
    return templates().get_template("report.css").render()


def render_timeline(conversations: list[Conversation], predictions: list[list[Prediction]]) -> str:
    """The legend and one timeline per conversation: the report's body, and what the web page inserts (with its CSS)."""
    return templates().get_template("timeline.html").render(_context(conversations, predictions))


def render_report(conversations: list[Conversation], predictions: list[list[Prediction]], title: str = "emotrace report") -> str:
    return templates().get_template("report.html").render(_context(conversations, predictions), title=title)


def write_report(conversations: list[Conversation], predictions: list[list[Prediction]], path: str | Path, title: str) -> None:
    write_text_atomic(path, render_report(conversations, predictions, title))


@cache
def templates() -> Environment:
    """The autoescaping jinja2 templates of `io/templates`, shared by the report and the summarize page."""
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=PackageLoader("emotrace.io", "templates"), autoescape=select_autoescape(["html"]), undefined=StrictUndefined, keep_trailing_newline=True
    )


def _context(conversations: list[Conversation], predictions: list[list[Prediction]]) -> dict[str, object]:
    return {"conversations": [_timeline(c, p) for c, p in zip(conversations, predictions)], "colours": COLOURS}


def _timeline(conversation: Conversation, predicted: list[Prediction]) -> _Timeline:
    from markupsafe import Markup

    summary = summarize_conversation(conversation, predicted)
    speakers = [
        _Speaker(describe(s), [_Share(label, turns, 100 * turns / s.turns, colour(label)) for label, turns in s.emotions.items()]) for s in summary.speakers
    ]
    chart = Markup(render_svg([timeline_chart(conversation, predicted, summary, title=False)]))  # every text in it escaped by io.chart
    turns = [_turn(index, u, p) for index, (u, p) in enumerate(zip(conversation.utterances, predicted), 1)]
    return _Timeline(conversation.id, speakers, chart, turns)


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
        colour=colour(prediction.label),
        uncertain=prediction.label == ABSTAIN_LABEL,
    )


def _shaded(words: list[list]) -> list[_Word]:
    """Words shaded by how much removing them lowers the predicted label's probability."""
    top = max((score for _, score in words), default=0.0)
    return [_Word(str(word), score, 0.0 if top <= 0 else max(0.0, score) / top * 0.6) for word, score in words]
