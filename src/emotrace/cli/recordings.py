"""`emotrace analyze RECORDING`: telling recordings from conversation files, and the one-line notes a user needs
beside the predictions (no transcription installed, speakers unknown, a recording of a folder skipped)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from emotrace.errors import EmotraceError

if TYPE_CHECKING:
    from emotrace.inference.pipeline import PipelineOptions
    from emotrace.schema import Conversation, Prediction


def recording_paths(files: list[Path]) -> list[Path] | None:
    """The recordings to analyse when every input is one (or the input is a folder holding recordings and no
    conversation files), else None: the input is conversation files."""
    from emotrace.encoders.recording import is_recording
    from emotrace.io.readers import INPUT_EXTENSIONS

    if len(files) == 1 and files[0].is_dir():
        entries = sorted(path for path in files[0].iterdir() if path.is_file())
        recordings = [path for path in entries if is_recording(path)]
        return recordings if recordings and not any(path.suffix.lower() in INPUT_EXTENSIONS for path in entries) else None
    return files if all(is_recording(path) for path in files) else None


def analyze_recording_files(
    paths: list[Path], options: PipelineOptions, language: str, max_minutes: float, out_dir: Path | None
) -> tuple[list[Conversation], list[list[Prediction]]]:
    """Turns, words, speakers and emotions of each recording, as conversations and their predictions."""
    from emotrace.encoders.asr import INSTALL_HINT, Transcriber, asr_installed, check_language
    from emotrace.inference.pipeline import Analyzer
    from emotrace.inference.recordings import UNKNOWN_SPEAKER, analyze_recordings

    if out_dir is not None:
        raise EmotraceError("--out-dir is for conversation files", hint="recordings are analysed into one output: use --output")
    check_language(language)
    transcriber = Transcriber(language) if asr_installed() else None
    if transcriber is None:
        typer.echo(f"transcription is off, so turns are analysed from speech alone; to add their words: {INSTALL_HINT}", err=True)
    results = analyze_recordings(paths, Analyzer(), options, transcriber, max_minutes * 60, progress=sys.stderr.isatty())
    for failure in results.failures:
        typer.echo(f"skipped: {failure}", err=True)
    for conversation in results.conversations:
        if all(utterance.speaker == UNKNOWN_SPEAKER for utterance in conversation.utterances):
            typer.echo(f"{conversation.id}: one channel, so speakers are not told apart (speaker '{UNKNOWN_SPEAKER}')", err=True)
    return results.conversations, results.predictions
