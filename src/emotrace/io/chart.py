"""Charts drawn without a plotting library. The timeline chart: one lane per speaker, one bar per turn, over turns or over time when every utterance has a
start. A bar's colour is the emotion and its height the confidence; an abstained turn is a dashed outline marked
`?`; the line through a lane is the speaker's valence (up: pleasant, see `insights.affect`); ▼ marks a shift of the
dominant emotion (`insights.summary`).

`bar_chart` draws counts as horizontal bars, for the `emotrace summarize` page.

A chart is laid out once as boxes, lines and labels, then drawn as SVG by our own code (inline in the report and
the web page, or `analyze --plot x.svg`) or as PNG by matplotlib (`--plot x.png`), so both show the same picture.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from emotrace.errors import EmotraceError
from emotrace.insights.summary import NO_SPEAKER, ConversationSummary, summarize_conversation
from emotrace.io.atomic import atomic_path, write_text_atomic
from emotrace.io.palette import COLOURS, OTHER_COLOUR, colour
from emotrace.labels import to_canonical
from emotrace.schema import ABSTAIN_LABEL, Conversation, Prediction

WIDTH, LEFT, RIGHT, TOP, LANE, AXIS, LEGEND = 760, 120, 16, 30, 64, 30, 24
_MAX_TICKS = 12


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float
    fill: str
    stroke: str | None = None
    dashed: bool = False
    title: str = ""


@dataclass(frozen=True)
class Line:
    points: tuple[tuple[float, float], ...]
    stroke: str
    width: float = 1.0
    dashed: bool = False


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "start"  # start, middle or end, as in SVG
    size: float = 11
    colour: str = "#333"
    bold: bool = False
    title: str = ""


@dataclass(frozen=True)
class Chart:
    width: float
    height: float
    shapes: list[Box | Line | Label]
    description: str  # what a screen reader says for the whole chart


def timeline_chart(conversation: Conversation, predictions: list[Prediction], summary: ConversationSummary | None = None, title: bool = True) -> Chart:
    """The layout of one conversation's chart; `title` adds the conversation id above it (a standalone file wants it,
    the report already has it as a heading)."""
    summary = summary or summarize_conversation(conversation, predictions)
    utterances = conversation.utterances
    timed = bool(utterances) and all(u.start is not None for u in utterances)
    if timed:
        spans = [(u.start, u.end if u.end is not None and u.end > u.start else u.start + 1.0) for u in utterances]
    else:
        spans = [(turn - 0.4, turn + 0.4) for turn in range(1, len(utterances) + 1)]
    low, high = (min(s for s, _ in spans), max(e for _, e in spans)) if spans else (0.0, 1.0)
    low, high = (low, high) if timed else (0.5, len(utterances) + 0.5)
    scale = (WIDTH - LEFT - RIGHT) / max(high - low, 1e-9)

    def x(value: float) -> float:
        return LEFT + (value - low) * scale

    top = TOP if title else 8
    lanes = {s.speaker: index for index, s in enumerate(summary.speakers)}
    shapes: list[Box | Line | Label] = [Label(8, 18, conversation.id, size=13, bold=True)] if title else []
    for speaker, index in lanes.items():
        y = top + index * LANE
        shapes.append(Box(LEFT, y, WIDTH - LEFT - RIGHT, LANE, "#f7f7f7" if index % 2 == 0 else "#ffffff"))
        shapes.append(Line(((LEFT, y + LANE / 2), (WIDTH - RIGHT, y + LANE / 2)), "#dddddd", 0.8, dashed=True))
        shapes.append(Label(LEFT - 8, y + LANE / 2 + 4, _shorten(speaker), anchor="end", title=speaker))
    bar_room = LANE - 14
    for turn, (utterance, prediction, (start, end)) in enumerate(zip(utterances, predictions, spans), start=1):
        speaker = utterance.speaker.strip() or NO_SPEAKER
        bottom = top + lanes[speaker] * LANE + LANE - 4
        left, width = x(start), max(x(end) - x(start), 2.0)
        height = max(prediction.confidence * bar_room, 2.0)
        when = f" at {_clock(start)}" if timed else ""
        title_text = f"turn {turn}{when}, {speaker}: {prediction.label} {prediction.confidence:.2f}"
        if prediction.label == ABSTAIN_LABEL:
            shapes.append(Box(left, bottom - height, width, height, "#ffffff", OTHER_COLOUR, dashed=True, title=title_text))
            shapes.append(Label(left + width / 2, bottom - height - 2, "?", anchor="middle", size=10, colour=OTHER_COLOUR))
        else:
            shapes.append(Box(left, bottom - height, width, height, colour(prediction.label), title=title_text))
    centres = {turn: (x(start) + x(end)) / 2 for turn, (start, end) in enumerate(spans, start=1)}
    for speaker_summary in summary.speakers:
        middle = top + lanes[speaker_summary.speaker] * LANE + LANE / 2
        reach = LANE / 2 - 6
        points = tuple((centres[p.turn], middle - p.valence * reach) for p in speaker_summary.trajectory)
        if len(points) > 1:
            shapes.append(Line(points, "#333333", 1.4))
        for shift in speaker_summary.shifts:
            note = f"{speaker_summary.speaker}: {shift.before} → {shift.after} at turn {shift.turn}"
            shapes.append(Label(centres[shift.turn], middle - LANE / 2 + 10, "▼", anchor="middle", size=10, colour=colour(shift.after), title=note))
    axis = top + len(lanes) * LANE
    shapes.append(Line(((LEFT, axis), (WIDTH - RIGHT, axis)), "#888888"))
    for value in _ticks(low, high, timed):
        shapes.append(Line(((x(value), axis), (x(value), axis + 4)), "#888888"))
        shapes.append(Label(x(value), axis + 16, _clock(value) if timed else str(int(value)), anchor="middle", size=10, colour="#555"))
    shapes.append(Label(LEFT - 8, axis + 16, "time" if timed else "turn", anchor="end", size=10, colour="#555"))
    shapes += _legend(predictions, axis + AXIS + 10)
    description = "; ".join(f"{s.speaker}: {', '.join(f'{n} {e}' for e, n in s.emotions.items())}" for s in summary.speakers)
    return Chart(WIDTH, axis + AXIS + LEGEND, shapes, f"Emotion timeline of {conversation.id}: {description}")


def bar_chart(bars: list[tuple[str, int, str]], total: int, description: str) -> Chart:
    """One horizontal bar per (label, count, colour), labelled with the count and its share of `total`."""
    row, longest = 22, max((count for _, count, _ in bars), default=0)
    room = WIDTH - LEFT - RIGHT - 110
    shapes: list[Box | Line | Label] = []
    for index, (label, count, fill) in enumerate(bars):
        y = 4 + index * row
        length = 0.0 if longest == 0 else max(room * count / longest, 1.0)
        share = f" ({100 * count / total:.1f}%)" if total else ""
        shapes.append(Label(LEFT - 8, y + 13, _shorten(label), anchor="end", title=label))
        shapes.append(Box(LEFT, y + 2, length, row - 6, fill, OTHER_COLOUR if fill == COLOURS[ABSTAIN_LABEL] else None, title=f"{label}: {count}{share}"))
        shapes.append(Label(LEFT + length + 6, y + 13, f"{count:,}{share}", size=10, colour="#555"))
    return Chart(WIDTH, 8 + len(bars) * row, shapes, description)


def _legend(predictions: list[Prediction], y: float) -> list[Box | Line | Label]:
    """The emotions this chart uses, then how to read it."""
    used = dict.fromkeys(ABSTAIN_LABEL if p.label == ABSTAIN_LABEL else to_canonical(p.label) for p in predictions)
    ordered = [name for name in COLOURS if name in used] + [name for name in used if name not in COLOURS]
    shapes: list[Box | Line | Label] = []
    left = float(LEFT)
    for name in ordered:
        dashed = name == ABSTAIN_LABEL
        shapes.append(Box(left, y - 9, 10, 10, colour(name), OTHER_COLOUR if dashed else None, dashed=dashed))
        shapes.append(Label(left + 14, y, name, size=10))
        left += 22 + 6.5 * len(name)
    shapes.append(Label(WIDTH - RIGHT, y, "height: confidence · line: valence · ▼ shift", anchor="end", size=10, colour="#555"))
    return shapes


def _ticks(low: float, high: float, timed: bool) -> list[float]:
    if not timed:
        first, last = math.ceil(low), math.floor(high)
        step = _nice((last - first) / _MAX_TICKS) if last - first > _MAX_TICKS else 1
        return [first] + [value for value in range(first, last + 1) if value % step == 0 and value != first]
    step = _nice((high - low) / 8)
    return [step * k for k in range(math.ceil(low / step), math.floor(high / step) + 1)]


def _nice(raw: float) -> int:
    """The smallest of 1, 2, 5, 10, 15, 30, 60, 120, … at least `raw`."""
    for step in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600):
        if step >= raw:
            return step
    return 3600 * math.ceil(raw / 3600)


def _clock(seconds: float) -> str:
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes}:{rest:02d}"


def _shorten(name: str, limit: int = 16) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


# --- drawing ---------------------------------------------------------------------------------------------------------


def render_svg(charts: list[Chart], standalone: bool = False) -> str:
    """The charts stacked in one SVG; `standalone` makes a file of its own (namespace, size, white background)."""
    width, height = max((c.width for c in charts), default=WIDTH), sum(c.height for c in charts)
    label = " | ".join(c.description for c in charts)
    head = f'<svg class="timeline-chart" viewBox="0 0 {width:g} {height:g}" role="img" aria-label={quoteattr(label)}'
    if standalone:
        head = f'<?xml version="1.0" encoding="UTF-8"?>\n{head} xmlns="http://www.w3.org/2000/svg" width="{width:g}" height="{height:g}"'
    parts = [head + ' font-family="system-ui, sans-serif">']
    if standalone:
        parts.append(f'<rect width="{width:g}" height="{height:g}" fill="#ffffff"/>')
    offset = 0.0
    for chart in charts:
        parts.append(f'<g transform="translate(0 {offset:g})">')
        parts += [_svg_shape(shape) for shape in chart.shapes]
        parts.append("</g>")
        offset += chart.height
    parts.append("</svg>")
    return "\n".join(parts)


def _svg_shape(shape: Box | Line | Label) -> str:
    if isinstance(shape, Box):
        stroke = f' stroke="{shape.stroke}"' + (' stroke-dasharray="3 2"' if shape.dashed else "") if shape.stroke else ""
        body = f"<title>{escape(shape.title)}</title>" if shape.title else ""
        geometry = f'x="{shape.x:.1f}" y="{shape.y:.1f}" width="{shape.width:.1f}" height="{shape.height:.1f}"'
        return f'<rect {geometry} fill="{shape.fill}"{stroke}>{body}</rect>' if body else f'<rect {geometry} fill="{shape.fill}"{stroke}/>'
    if isinstance(shape, Line):
        points = " ".join(f"{px:.1f},{py:.1f}" for px, py in shape.points)
        dash = ' stroke-dasharray="4 3"' if shape.dashed else ""
        return f'<polyline points="{points}" fill="none" stroke="{shape.stroke}" stroke-width="{shape.width:g}"{dash}/>'
    weight = ' font-weight="600"' if shape.bold else ""
    title = f"<title>{escape(shape.title)}</title>" if shape.title else ""
    return (
        f'<text x="{shape.x:.1f}" y="{shape.y:.1f}" text-anchor="{shape.anchor}" font-size="{shape.size:g}" fill="{shape.colour}"{weight}>'
        f"{title}{escape(shape.text)}</text>"
    )


def chart_format(path: str | Path) -> str:
    """`svg` or `png`, from the extension of `path`."""
    suffix = Path(path).suffix.lower()
    if suffix not in (".svg", ".png"):
        raise EmotraceError("cannot tell the chart format from the extension", path=str(path), hint="use --plot chart.svg or chart.png")
    return suffix[1:]


def write_chart(path: str | Path, conversations: list[Conversation], predictions: list[list[Prediction]]) -> None:
    """`analyze --plot`: every conversation's chart, stacked, as .svg (our own drawing) or .png (matplotlib)."""
    chosen = chart_format(path)
    charts = [timeline_chart(c, p) for c, p in zip(conversations, predictions)]
    try:
        if chosen == "svg":
            write_text_atomic(path, render_svg(charts, standalone=True) + "\n")
        else:
            _write_png(charts, Path(path))
    except OSError as error:
        raise EmotraceError(f"cannot write the chart: {error.strerror or error}", path=str(path), hint="check that the folder is writable") from error


def _write_png(charts: list[Chart], path: Path) -> None:
    try:
        import matplotlib
    except ImportError:
        raise EmotraceError("a PNG chart needs matplotlib", path=str(path), hint="pip install matplotlib, or write an .svg") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    width, height = max(c.width for c in charts), sum(c.height for c in charts)
    figure = plt.figure(figsize=(width / 100, height / 100), dpi=200)
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, width)
    axes.set_ylim(height, 0)
    axes.axis("off")
    offset = 0.0
    for chart in charts:
        for shape in chart.shapes:
            if isinstance(shape, Box):
                style = {"edgecolor": shape.stroke or "none", "linestyle": "--" if shape.dashed else "-", "linewidth": 0.8}
                axes.add_patch(Rectangle((shape.x, shape.y + offset), shape.width, shape.height, facecolor=shape.fill, **style))
            elif isinstance(shape, Line):
                xs, ys = zip(*shape.points)
                axes.plot(xs, [y + offset for y in ys], color=shape.stroke, linewidth=shape.width * 0.75, linestyle="--" if shape.dashed else "-")
            else:
                align = {"start": "left", "middle": "center", "end": "right"}[shape.anchor]
                weight = "bold" if shape.bold else "normal"
                axes.text(shape.x, shape.y + offset, shape.text, ha=align, va="baseline", fontsize=shape.size * 0.72, color=shape.colour, weight=weight)
        offset += chart.height
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png")
    plt.close(figure)
