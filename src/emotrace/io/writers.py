"""Write predictions where people look at them: a readable table on the terminal, or JSON, JSON lines or CSV for tools.

All formats carry the same facts (the predicted emotion, its confidence, the full distribution, the gold label
when the input had one) so a user can switch formats without losing information; the table, JSON and JSON lines add
each conversation's summary per speaker (`insights.summary`), which CSV leaves to `emotrace summarize`. Files are written atomically,
so an interrupted run never leaves a half-written prediction file behind.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from emotrace.errors import EmotraceError
from emotrace.insights.summary import describe, summarize_conversation, summary_record
from emotrace.io.atomic import write_text_atomic
from emotrace.schema import Conversation, Prediction, Utterance

OUTPUT_FORMATS = ("table", "json", "jsonl", "csv")
_EXTENSIONS = {".json": "json", ".jsonl": "jsonl", ".csv": "csv", ".txt": "table"}
_TEXT_WIDTH = 120


def write_predictions(
    conversations: list[Conversation],
    predictions: list[list[Prediction]],
    path: str | Path | None = None,
    format: str | None = None,
    console: Console | None = None,
) -> None:
    """Write one prediction per utterance to `path` (atomically), or to the console when `path` is None."""
    chosen = output_format(path, format)
    pairs = _pair(conversations, predictions)
    if chosen == "table":
        if path is None:
            _print_tables(console or Console(width=None if sys.stdout.isatty() else _TEXT_WIDTH), pairs)  # pipes: as files
            return
        buffer = io.StringIO()
        _print_tables(Console(file=buffer, width=_TEXT_WIDTH, color_system=None, force_terminal=False), pairs)
        text = buffer.getvalue()
    else:
        text = render_predictions(conversations, predictions, chosen)
    if path is None:
        (console or Console()).file.write(text)
        return
    try:
        write_text_atomic(path, text)
    except OSError as error:
        raise EmotraceError(
            f"cannot write predictions: {error.strerror or error}", path=str(path), hint="check that the folder is writable and has space"
        ) from error


def render_predictions(conversations: list[Conversation], predictions: list[list[Prediction]], format: str) -> str:
    """The text of a json, jsonl or csv output, for callers that send it elsewhere than a file (e.g. over HTTP)."""
    return _RENDERERS[format](_pair(conversations, predictions))


def prediction_records(conversations: list[Conversation], predictions: list[list[Prediction]]) -> list[dict[str, Any]]:
    """One JSON-ready record per conversation, as in the json output."""
    return [_conversation_record(c, p) for c, p in _pair(conversations, predictions)]


def output_format(path: str | Path | None, format: str | None) -> str:
    """The output format: `format` if given, else from the extension of `path`, else a terminal table."""
    choices = ", ".join(OUTPUT_FORMATS)
    if format is not None:
        if format not in OUTPUT_FORMATS:
            raise EmotraceError(f"unknown output format {format!r}", hint=f"choose --format from {choices}")
        return format
    if path is None:
        return "table"
    chosen = _EXTENSIONS.get(Path(path).suffix.lower())
    if chosen is None:
        raise EmotraceError(
            f"cannot tell the output format from the extension {Path(path).suffix or '(none)'!r}",
            path=str(path),
            hint=f"use {', '.join(_EXTENSIONS)} or pass --format ({choices})",
        )
    return chosen


def _pair(conversations: list[Conversation], predictions: list[list[Prediction]]) -> list[tuple[Conversation, list[Prediction]]]:
    if len(conversations) != len(predictions):
        raise ValueError(f"{len(conversations)} conversations but {len(predictions)} prediction lists")
    for conversation, predicted in zip(conversations, predictions):
        if len(conversation.utterances) != len(predicted):
            raise ValueError(f"conversation {conversation.id!r} has {len(conversation)} utterances but {len(predicted)} predictions")
    return list(zip(conversations, predictions))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _distribution(probabilities: dict[str, float] | None) -> dict[str, float] | None:
    return None if probabilities is None else {label: round(p, 4) for label, p in probabilities.items()}


# --- json / jsonl / csv ----------------------------------------------------------------------------------------------


def utterance_record(utterance: Utterance, prediction: Prediction) -> dict[str, Any]:
    """One analysed utterance as in the JSON outputs; live analysis sends these one at a time."""
    record: dict[str, Any] = {
        "speaker": utterance.speaker,
        "text": utterance.text,
        "start": _round(utterance.start),
        "end": _round(utterance.end),
        "id": utterance.id,
        "emotion": prediction.label,
        "confidence": _round(prediction.confidence),
        "probabilities": _distribution(prediction.probabilities),
        "sentiment": prediction.sentiment,
        "sentiment_probabilities": _distribution(prediction.sentiment_probabilities),
    }
    if prediction.uncertainty is not None:
        record["uncertainty"] = _distribution(prediction.uncertainty)
    if prediction.modalities:
        record["modalities"] = {
            name: {"emotion": p.label, "confidence": _round(p.confidence), "probabilities": _distribution(p.probabilities)}
            | ({"evidence": dict(p.evidence)} if p.evidence else {})
            for name, p in prediction.modalities.items()
        }
    if prediction.errors:
        record["errors"] = dict(prediction.errors)
    if prediction.explanation is not None:
        record["explanation"] = {
            "words": [[word, _round(score)] for word, score in prediction.explanation["words"]],
            "turns": [[turn, _round(score)] for turn, score in prediction.explanation["turns"]],
        }
    if utterance.emotion is not None:
        record["gold_emotion"] = utterance.emotion
    return record


def _conversation_record(conversation: Conversation, predicted: list[Prediction]) -> dict[str, Any]:
    return {
        "id": conversation.id,
        "metadata": conversation.metadata,
        "utterances": [utterance_record(u, p) for u, p in zip(conversation.utterances, predicted)],
        "summary": summary_record(summarize_conversation(conversation, predicted)),
    }


def _json(pairs: list[tuple[Conversation, list[Prediction]]]) -> str:
    return json.dumps([_conversation_record(c, p) for c, p in pairs], ensure_ascii=False, indent=2, default=str) + "\n"


def _jsonl(pairs: list[tuple[Conversation, list[Prediction]]]) -> str:
    return "".join(json.dumps(_conversation_record(c, p), ensure_ascii=False, default=str) + "\n" for c, p in pairs)


def _csv(pairs: list[tuple[Conversation, list[Prediction]]]) -> str:
    labels = list(dict.fromkeys(label for _, predicted in pairs for p in predicted for label in p.probabilities))
    kinds = list(dict.fromkeys(kind for _, predicted in pairs for p in predicted for kind in (p.uncertainty or {})))
    modalities = list(dict.fromkeys(name for _, predicted in pairs for p in predicted for name in [*(p.modalities or {}), *(p.errors or {})]))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        ["conversation_id", "utterance_index", "speaker", "start", "end", "text", "emotion", "confidence", "sentiment"]
        + [f"p_{label}" for label in labels]
        + [f"uncertainty_{kind}" for kind in kinds]
        + [f"{name}_{field}" for name in modalities for field in ("emotion", "confidence", "error")]
    )
    for conversation, predicted in pairs:
        for index, (utterance, p) in enumerate(zip(conversation.utterances, predicted)):
            writer.writerow(
                [conversation.id, index, utterance.speaker, _round(utterance.start), _round(utterance.end), utterance.text]
                + [p.label, _round(p.confidence), p.sentiment]
                + [_round(p.probabilities.get(label)) for label in labels]
                + [_round((p.uncertainty or {}).get(kind)) for kind in kinds]
                + [value for name in modalities for value in _modality_cells(p, name)]
            )
    return buffer.getvalue()


def _modality_cells(prediction: Prediction, name: str) -> list[Any]:
    own = (prediction.modalities or {}).get(name)
    error = (prediction.errors or {}).get(name)
    return [own.label if own else None, _round(own.confidence) if own else None, error]


def _by_modality(prediction: Prediction) -> Text:
    parts = [f"{name}: {p.label} {p.confidence:.2f}{_frames(p)}" for name, p in (prediction.modalities or {}).items()]
    parts += [f"{name}: error" for name in (prediction.errors or {})]
    return Text("\n".join(parts))


def _frames(prediction: Prediction) -> str:
    evidence = prediction.evidence or {}
    if evidence.get("frames", 1) <= 1:
        return ""
    return f"\n  {evidence['frames'] - evidence.get('frames_without_face', 0)}/{evidence['frames']} frames with a face"


def _why(prediction: Prediction) -> Text:
    """The three words and the earlier turn whose removal lowers the predicted label's probability most."""
    explanation = prediction.explanation or {"words": [], "turns": []}
    words = [word for word, score in sorted(explanation["words"], key=lambda item: -item[1])[:3] if score > 0]
    turns = [turn for turn, score in sorted(explanation["turns"], key=lambda item: -item[1])[:1] if score > 0]
    parts = ([", ".join(words)] if words else []) + ([f"turn {turns[0]}"] if turns else [])
    return Text(" · ".join(parts))


_RENDERERS = {"json": _json, "jsonl": _jsonl, "csv": _csv}


# --- table -----------------------------------------------------------------------------------------------------------


def _clock(seconds: float) -> str:
    minutes, rest = divmod(round(seconds, 1), 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{rest:04.1f}" if hours else f"{minutes}:{rest:04.1f}"


def _print_tables(console: Console, pairs: list[tuple[Conversation, list[Prediction]]]) -> None:
    for conversation, predicted in pairs:
        utterances = conversation.utterances
        show_time = any(u.start is not None for u in utterances)
        show_sentiment = any(p.sentiment is not None for p in predicted)
        show_gold = any(u.emotion is not None for u in utterances)
        show_uncertainty = any(p.uncertainty is not None for p in predicted)
        show_modalities = any(p.modalities for p in predicted)
        show_explanation = any(p.explanation is not None for p in predicted)
        table = Table(title=Text(conversation.id), title_justify="left")
        table.add_column("#", justify="right", no_wrap=True)
        table.add_column("speaker")
        if show_time:
            table.add_column("time", no_wrap=True)
        table.add_column("text", ratio=1, overflow="fold")  # text and speaker wrap; labels stay whole
        table.add_column("emotion", no_wrap=True)
        table.add_column("confidence", justify="right", no_wrap=True)
        if show_uncertainty:
            table.add_column("uncertainty", justify="right", no_wrap=True)
        if show_modalities:
            table.add_column("by modality")
        if show_explanation:
            table.add_column("why")
        if show_sentiment:
            table.add_column("sentiment", no_wrap=True)
        if show_gold:
            table.add_column("gold", no_wrap=True)
        for index, (utterance, p) in enumerate(zip(utterances, predicted), start=1):
            start = "" if utterance.start is None else _clock(utterance.start) + ("" if utterance.end is None else f"–{_clock(utterance.end)}")
            row: list[str | Text] = [str(index), Text(utterance.speaker)] + ([start] if show_time else [])
            row += [Text(utterance.text), Text(p.label, style="bold"), f"{p.confidence:.2f}"]
            row += [f"{(p.uncertainty or {}).get('total', float('nan')):.2f}"] if show_uncertainty else []
            row += [_by_modality(p)] if show_modalities else []
            row += [_why(p)] if show_explanation else []
            row += [Text(p.sentiment or "")] if show_sentiment else []
            row += [Text(utterance.emotion or "")] if show_gold else []
            table.add_row(*row)
        console.print(table)
        for speaker in summarize_conversation(conversation, predicted).speakers:
            console.print(Text(f"  {describe(speaker)}"))
        for index, p in enumerate(predicted, start=1):
            for name, message in (p.errors or {}).items():
                console.print(Text(f"#{index} {name} unavailable: {message}", style="yellow"))
