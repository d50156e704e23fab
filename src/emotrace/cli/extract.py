"""`emotrace extract`: per-utterance features of a conversation file, for training your own models."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from emotrace.cli.options import Columns, InputFormat, parse_columns
from emotrace.errors import EmotraceError


def extract_command(
    file: Annotated[Path, typer.Argument(help="conversation file; media paths are relative to it")],
    out: Annotated[Path, typer.Option("--out", help="features file to write (.npz)")],
    modality: Annotated[str, typer.Option("--modality", help="text (MiniLM, 384-d), audio (openSMILE functionals) or face (face CNN, 256-d)")] = "text",
    feature_set: Annotated[str, typer.Option("--feature-set", help="audio only: eGeMAPSv02 (88-d) or ComParE_2016 (6,373-d)")] = "eGeMAPSv02",
    face_model: Annotated[str, typer.Option("--face-model", help="face only: a shipped face model or bundle directory")] = "face",
    input_format: InputFormat = None,
    column: Columns = None,
) -> None:
    """Write per-utterance features with their conversation ids and indices, for training your own models."""
    from emotrace.inference.extract import extract, save_features
    from emotrace.io import read_conversations

    if out.suffix != ".npz":
        raise EmotraceError("features are written as .npz", path=str(out), hint="give --out a name ending in .npz")
    conversations = read_conversations(file, input_format, parse_columns(column))
    features = extract(conversations, modality, progress=sys.stderr.isatty(), feature_set=feature_set, face_model=face_model)
    save_features(features, out)
    typer.echo(f"wrote {features.features.shape[0]} × {features.features.shape[1]} {features.encoder} features to {out}")
