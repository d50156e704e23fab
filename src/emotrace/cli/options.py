"""Options several commands share, and the parsing of their values."""

from __future__ import annotations

from typing import Annotated

import typer

from emotrace.errors import EmotraceError
from emotrace.inference.pipeline import TORCH

DataDir = Annotated[
    str | None, typer.Option("--data-dir", help="folder holding the data sets: meld/, iemocap/, dailydialog/, ... (default: $EMOTRACE_DATA, else ./data)")
]
InputFormat = Annotated[
    str | None, typer.Option("--input-format", help="jsonl, csv, transcript, srt, vtt or community (.pkl feature files) (default: by extension)")
]
Columns = Annotated[list[str] | None, typer.Option("--column", help="CSV column for a field, FIELD=NAME (e.g. text=utterance); repeatable")]
Backend = Annotated[
    str,
    typer.Option(
        "--backend",
        help=f"text model runtime: auto (its ONNX fp32 export if made, else {TORCH}), {TORCH}, onnx-fp32, onnx-int8",
        callback=lambda value: TORCH if value == "torch" else value,  # `torch`, the old spelling, still works
    ),
]


def parse_columns(pairs: list[str] | None) -> dict[str, str] | None:
    """`--column text=utterance --column speaker=who` → {"text": "utterance", "speaker": "who"}."""
    if not pairs:
        return None
    mapping = {}
    for pair in pairs:
        field, separator, name = pair.partition("=")
        if not separator or not field.strip() or not name.strip():
            raise EmotraceError(f"--column {pair!r} is not FIELD=NAME", hint="e.g. --column text=utterance")
        mapping[field.strip()] = name.strip()
    return mapping
