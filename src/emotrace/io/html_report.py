"""A self-contained HTML report: each conversation as a timeline of turns coloured by emotion, with confidence
bars, per-modality answers and uncertainty when present. No scripts, no external files: it opens anywhere."""

from __future__ import annotations

import html
from pathlib import Path

from emotrace.io.atomic import write_text_atomic
from emotrace.labels import to_canonical
from emotrace.schema import ABSTAIN_LABEL, Conversation, Prediction

COLOURS = {
    "neutral": "#9e9e9e", "joy": "#f4b400", "sadness": "#4a78c2", "anger": "#d93025", "fear": "#8e44ad",
    "disgust": "#2e8b57", "surprise": "#ff8c00", "boredom": "#8d6e63", "frustration": "#c2185b", "excitement": "#ff5fa2",
    ABSTAIN_LABEL: "#ffffff",
}
# Shared with the web page (`emotrace serve`), which shows the same timeline.
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222; }
.turn { display: grid; grid-template-columns: 3rem 8rem 1fr 9rem; gap: .75rem; padding: .5rem .75rem;
        border-left: .4rem solid var(--emotion); margin: .3rem 0; background: #fafafa; }
.time, .speaker { color: #555; font-size: .9rem; }
.label { font-weight: 600; }
.bar { height: .35rem; background: var(--emotion); border-radius: .2rem; margin-top: .25rem; }
.details { color: #666; font-size: .8rem; }
.legend span { display: inline-block; margin-right: 1rem; }
.legend i { display: inline-block; width: .8rem; height: .8rem; background: var(--emotion); margin-right: .3rem; }
.turn.uncertain { border-left-style: dashed; border-left-color: #607d8b;
                  background: repeating-linear-gradient(135deg, #fafafa 0 .6rem, #eceff1 .6rem 1.2rem); }
.turn.uncertain .label::before { content: "? "; }
"""


def _turn(index: int, utterance_time: float | None, speaker: str, text: str, prediction: Prediction) -> str:
    colour = COLOURS.get(to_canonical(prediction.label), "#607d8b")
    details = []
    if prediction.modalities:
        details += [f"{html.escape(name)}: {html.escape(p.label)} {p.confidence:.2f}" for name, p in prediction.modalities.items()]
    if prediction.errors:
        details += [f"{html.escape(name)} unavailable: {html.escape(message)}" for name, message in prediction.errors.items()]
    if prediction.uncertainty:
        details.append("uncertainty " + ", ".join(f"{k} {v:.2f}" for k, v in prediction.uncertainty.items()))
    clock = "" if utterance_time is None else f"{utterance_time:.1f}s"
    shown = _highlighted(prediction.explanation["words"]) if prediction.explanation else html.escape(text)
    if prediction.explanation and prediction.explanation["turns"]:
        turn, score = max(prediction.explanation["turns"], key=lambda item: item[1])
        if score > 0:
            details.append(f"most influential earlier turn: {turn} (−{score:.2f} without it)")
    return (
        f'<div class="{"turn uncertain" if prediction.label == ABSTAIN_LABEL else "turn"}" style="--emotion: {colour}">'
        f'<div class="time">{index}<br>{clock}</div>'
        f'<div class="speaker">{html.escape(speaker)}</div><div class="text">{shown}'
        f'<div class="details">{" · ".join(details)}</div></div>'
        f'<div><span class="label">{html.escape(prediction.label)}</span> {prediction.confidence:.2f}'
        f'<div class="bar" style="width: {100 * prediction.confidence:.0f}%"></div></div></div>'
    )


def _highlighted(words: list[list]) -> str:
    """Words shaded by how much removing them lowers the predicted label's probability."""
    top = max((score for _, score in words), default=0.0)
    spans = []
    for word, score in words:
        alpha = 0.0 if top <= 0 else max(0.0, score) / top * 0.6
        spans.append(f'<span class="word" style="background: rgba(255, 200, 0, {alpha:.2f})" title="{score:+.3f}">{html.escape(str(word))}</span>')
    return " ".join(spans)


def render_timeline(conversations: list[Conversation], predictions: list[list[Prediction]]) -> str:
    """The legend and one timeline per conversation: the report's body, and what the web page inserts (with `STYLE`)."""
    sections = []
    for conversation, predicted in zip(conversations, predictions):
        turns = [_turn(i, u.start, u.speaker, u.text, p) for i, (u, p) in enumerate(zip(conversation.utterances, predicted), 1)]
        sections.append(f'<section class="conversation"><h2>{html.escape(conversation.id)}</h2>{"".join(turns)}</section>')
    legend = "".join(f'<span style="--emotion: {colour}"><i></i>{name}</span>' for name, colour in COLOURS.items())
    return f'<p class="legend">{legend}</p>{"".join(sections)}'


def render_report(conversations: list[Conversation], predictions: list[list[Prediction]], title: str = "emotrace report") -> str:
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
        f"{render_timeline(conversations, predictions)}</body></html>\n"
    )


def write_report(conversations: list[Conversation], predictions: list[list[Prediction]], path: str | Path, title: str) -> None:
    write_text_atomic(path, render_report(conversations, predictions, title))
