"""`emotrace analyze --follow FILE` (or `-`): each turn's emotion printed as its line arrives, from the turns so far
only (inference/live.py).

A FILE is read from its start, then followed like `tail -f`: until Ctrl-C, or with `--idle SECONDS` until nothing
new has arrived for that long. `-` reads stdin until it closes. Lines are `Speaker: text` or one JSONL utterance
object each (io/readers.py `parse_turn`); a blank line ends a conversation and starts the next, as in transcripts.
A bad line is reported and skipped, so one typo does not end a live session; the exit status is then 1.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from emotrace.errors import EmotraceError

if TYPE_CHECKING:
    from emotrace.inference.live import LiveSession
    from emotrace.inference.pipeline import PipelineOptions

POLL_SECONDS = 0.2  # how often a followed file is checked for new lines


def follow(source: Path, options: PipelineOptions, format: str | None, idle: float) -> None:
    """Analyse `source` turn by turn with `options.model` (its model, backend and abstention), printing as it goes."""
    from emotrace.inference.live import LiveSession
    from emotrace.inference.pipeline import Analyzer
    from emotrace.io.readers import parse_turn
    from emotrace.io.writers import utterance_record

    if format not in (None, "table", "jsonl"):
        raise EmotraceError(f"--follow prints a line per turn, not {format}", hint="use --format table (the default) or jsonl")
    if options.mc_dropout or options.explain:
        raise EmotraceError("--mc-dropout and --explain do not apply to --follow", hint="drop them")
    stdin = str(source) == "-"
    if not stdin and not source.is_file():  # before loading the model, not after
        raise EmotraceError("file not found" if not source.exists() else "not a file", path=str(source), hint="check the path, or give - for stdin")
    where = "<stdin>" if stdin else str(source)
    lines = _stdin_lines() if stdin else _file_lines(source, idle)
    model = Analyzer().text_model(options)
    sessions = [LiveSession(model, abstain_below=options.abstain_below, conversation_id="conv1")]
    refused = 0
    try:
        for number, raw in enumerate(lines, start=1):
            try:
                line = _decode(raw, where, number)
                if not line.strip():
                    if len(sessions[-1]):
                        _print_summary(sessions[-1], format)
                        sessions.append(LiveSession(model, abstain_below=options.abstain_below, conversation_id=f"conv{len(sessions) + 1}"))
                    continue
                if line.lstrip().startswith("#"):
                    continue
                utterance = parse_turn(line, where, number)
                prediction = sessions[-1].add(utterance)
            except EmotraceError as error:
                refused += 1
                typer.echo(f"error: {error}", err=True)
                continue
            turn = len(sessions[-1])
            if format == "jsonl":
                typer.echo(
                    json.dumps({"conversation": sessions[-1].conversation.id, "turn": turn} | utterance_record(utterance, prediction), ensure_ascii=False)
                )
            else:
                typer.echo(f"{turn:>4}  {utterance.speaker}: {prediction.label} {prediction.confidence:.2f}  {utterance.text}")
    except KeyboardInterrupt:  # Ctrl-C is how a `tail -f`-like follow ends
        pass
    if len(sessions[-1]):
        _print_summary(sessions[-1], format)
    if refused:
        raise EmotraceError(f"{refused} line(s) were refused", hint="see the errors above")


def _print_summary(session: LiveSession, format: str | None) -> None:
    """Each speaker's summary line, after a conversation; on stderr with jsonl, so stdout stays one record per line."""
    from emotrace.insights.summary import describe

    for speaker in session.summary().speakers:
        typer.echo(f"summary: {describe(speaker)}", err=format == "jsonl")


def _stdin_lines() -> Iterator[bytes]:
    while line := sys.stdin.buffer.readline():
        yield line


def _file_lines(path: Path, idle: float) -> Iterator[bytes]:
    """The lines of `path`, then those appended to it; a line is given once its newline arrives (or at the end)."""
    with path.open("rb") as handle:
        partial, last_news = b"", time.monotonic()
        while True:
            chunk = handle.readline()
            if chunk:
                partial, last_news = partial + chunk, time.monotonic()
                if partial.endswith(b"\n"):
                    yield partial
                    partial = b""
            elif idle and time.monotonic() - last_news >= idle:
                break
            else:
                time.sleep(POLL_SECONDS)
    if partial:
        yield partial


def _decode(raw: bytes, where: str, number: int) -> str:
    try:
        return raw.decode("utf-8").removeprefix("\ufeff").rstrip("\r\n")
    except UnicodeDecodeError:
        raise EmotraceError("not valid UTF-8", path=where, line=number, hint="write the transcript as UTF-8") from None
