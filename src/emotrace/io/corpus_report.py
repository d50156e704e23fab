"""The `emotrace summarize` outputs: one self-contained HTML page (tables and inline SVG charts, no scripts, nothing
fetched) and the JSON it is drawn from (`insights.corpus.CorpusTally.record`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from emotrace.errors import EmotraceError
from emotrace.insights.corpus import EITHER, EPISODE_EMOTIONS
from emotrace.io.atomic import write_text_atomic
from emotrace.io.chart import bar_chart, render_svg
from emotrace.io.html_report import templates
from emotrace.io.palette import colour


def render_corpus_report(record: dict[str, Any], sources: list[str], title: str = "emotrace summary") -> str:
    from markupsafe import Markup

    total = record["conversations"]

    def bars(counts: dict[str, int], of: int, description: str) -> Markup:
        chart = bar_chart([(label, count, colour(label)) for label, count in counts.items()], of, description)
        return Markup(render_svg([chart]))  # every text in it escaped by io.chart

    episodes = record["episodes"]
    episode_bars = [(f"{emotion}: episode", episodes[emotion]["conversations"], colour(emotion)) for emotion in EPISODE_EMOTIONS]
    episode_bars += [(f"{emotion}: recovered", episodes[emotion]["recovered"], "#7cb342") for emotion in EPISODE_EMOTIONS]
    context = {
        "title": title,
        "sources": sources,
        "record": record,
        "either": EITHER,
        "closing_chart": bars(record["closing"], total, "Closing emotion of each conversation"),
        "emotion_chart": bars(record["emotions"], record["turns"], "Emotion of every turn"),
        "episode_chart": Markup(render_svg([bar_chart(episode_bars, total, "Conversations with an anger or sadness episode, and recovered")])),
        "roles": [role | {"emotion_mix": _mix(role["emotions"]), "closing_mix": _mix(role["closing"])} for role in record["roles"][:_ROLES_SHOWN]],
        "roles_hidden": max(0, len(record["roles"]) - _ROLES_SHOWN),
    }
    return templates().get_template("summarize.html").render(context)


_ROLES_SHOWN = 20


def _mix(counts: dict[str, int]) -> list[dict[str, Any]]:
    """Shares of a distribution, as the report's coloured strip draws them."""
    total = sum(counts.values()) or 1
    return [{"label": label, "count": count, "percent": 100 * count / total, "colour": colour(label)} for label, count in counts.items()]


def write_corpus_report(record: dict[str, Any], sources: list[str], html_path: Path, json_path: Path) -> None:
    try:
        write_text_atomic(json_path, json.dumps(record | {"sources": sources}, ensure_ascii=False, indent=2) + "\n")
        write_text_atomic(html_path, render_corpus_report(record, sources))
    except OSError as error:
        raise EmotraceError(
            f"cannot write the summary: {error.strerror or error}", path=str(error.filename or html_path), hint="check that the folder is writable"
        ) from None
