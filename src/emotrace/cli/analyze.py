"""`emotrace analyze`: predictions for one conversation file, or a resumable batch of many into --out-dir."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from emotrace.cli.options import Backend, Columns, InputFormat, parse_columns
from emotrace.cli.recordings import analyze_recording_files, recording_paths
from emotrace.errors import EmotraceError
from emotrace.schema import MEDIA_KINDS, Conversation

if TYPE_CHECKING:
    from emotrace.inference.pipeline import PipelineOptions


def analyze_command(
    files: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE",
            help="conversation file: .jsonl, .csv, .txt (Speaker: text), .srt or .vtt; or several, a folder or a quoted glob (batch, with --out-dir); "
            "or recordings without a transcript (.wav .flac .ogg .mp3 .m4a .mp4 .webm, or a folder of them)",
        ),
    ],
    model: Annotated[str, typer.Option("--model", help="a shipped model name or a bundle directory")] = "default",
    speech_model: Annotated[str, typer.Option("--speech-model", help="speech model fused with --model when utterances reference audio")] = "speech",
    face_model: Annotated[str, typer.Option("--face-model", help="face model fused with --model when utterances reference an image or video")] = "face",
    fusion_model: Annotated[
        str,
        typer.Option(
            "--fusion-model",
            help="how media predictions are fused: `late` averages the modalities' calibrated distributions; `fusion` (or another CMATH bundle) is learned",
        ),
    ] = "late",
    format: Annotated[str | None, typer.Option("--format", help="table, json, jsonl or csv (default: by --output extension, else table)")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write here instead of the terminal")] = None,
    report: Annotated[Path | None, typer.Option("--report", help="also write a self-contained HTML timeline here")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="also draw each speaker's emotion over the turns (or time) here: .svg or .png")] = None,
    explain: Annotated[bool, typer.Option("--explain", help="add the words and earlier turns that drove each prediction")] = False,
    input_format: InputFormat = None,
    column: Columns = None,
    media: Annotated[
        list[str] | None,
        typer.Option("--media", help="a recording for utterances that name none, KIND=PATH (audio, image, video; cut by start/end)"),
    ] = None,
    max_mb: Annotated[float, typer.Option("--max-mb", help="refuse input files larger than this")] = 64.0,
    mc_dropout: Annotated[int, typer.Option("--mc-dropout", help="Monte-Carlo dropout passes for uncertainty (0: off)", min=0)] = 0,
    abstain_below: Annotated[
        float | None, typer.Option("--abstain-below", help="label utterances `uncertain` when confidence is below this", min=0.0, max=1.0)
    ] = None,
    backend: Backend = "auto",
    language: Annotated[str, typer.Option("--language", help="recordings: the spoken language to transcribe (English only for now)")] = "en",
    max_minutes: Annotated[float, typer.Option("--max-minutes", help="recordings: refuse any longer than this", min=0.0)] = 60.0,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out-dir", help="batch: one output per input file, or per shard of one JSONL file plus their join; reruns skip finished ones"),
    ] = None,
    engine: Annotated[str | None, typer.Option("--engine", help="batch: local (a process pool; default) or dask")] = None,
    address: Annotated[str | None, typer.Option("--address", help="batch: a dask scheduler, tcp://host:port (default: a local cluster)")] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="batch: worker processes (default: one per core)", min=1)] = None,
    shard_size: Annotated[int | None, typer.Option("--shard-size", help="batch: conversations per shard of a JSONL file (default: 200)", min=1)] = None,
    retries: Annotated[int | None, typer.Option("--retries", help="batch: reruns of a failing shard before it is reported (default: 2)", min=0)] = None,
    follow: Annotated[bool, typer.Option("--follow", help="live: label each turn of FILE (or - for stdin) as its line arrives, from past turns only")] = False,
    idle: Annotated[float, typer.Option("--idle", help="--follow: stop once FILE has not grown for this many seconds (0: at Ctrl-C)", min=0.0)] = 0.0,
) -> None:
    """Predict the emotion of every utterance in FILE, fused with speech and faces where utterances reference
    audio, an image or a video. Several files, a folder or a glob run as a resumable batch into --out-dir."""
    from emotrace.inference.pipeline import Analyzer, PipelineOptions
    from emotrace.io import read_conversations, write_predictions

    options = PipelineOptions(model, speech_model, face_model, fusion_model, mc_dropout, abstain_below, explain, backend)
    batch = {"engine": engine, "address": address, "workers": workers, "shard_size": shard_size, "retries": retries}
    if follow:
        from emotrace.cli.follow import follow as follow_file

        _refuse({"--output": output, "--report": report, "--plot": plot, "--media": media, "--out-dir": out_dir, "a second FILE": files[1:]}, "--follow")
        follow_file(files[0], options, format, idle)
        return
    recordings = recording_paths(files)
    if recordings is None and (
        out_dir is not None or len(files) > 1 or files[0].is_dir() or (not files[0].exists() and any(c in str(files[0]) for c in "*?["))
    ):
        refused = {"--output": output, "--report": report, "--plot": plot, "--media": media}
        _analyze_batch(files, out_dir, options, format, refused, input_format, parse_columns(column), int(max_mb * 2**20), batch)
        return
    for name, value in batch.items():
        if value is not None:
            raise EmotraceError(f"--{name.replace('_', '-')} is for batch runs", hint="add --out-dir DIR")
    file = files[0]
    if recordings is not None:  # no transcript: turns, words and speakers come from the recordings
        _check_output(output, format)
        conversations, predictions = analyze_recording_files(recordings, options, language, max_minutes, out_dir)
    else:
        conversations = read_conversations(file, input_format, parse_columns(column), max_bytes=int(max_mb * 2**20))
        _attach_media(conversations, media)
    _check_output(output, format)
    _check_plot(plot)
    if recordings is None:
        predictions = Analyzer().analyze(conversations, options, progress=sys.stderr.isatty())
    write_predictions(conversations, predictions, output, format)
    if report is not None:
        from emotrace.io.html_report import write_report

        write_report(conversations, predictions, report, title=f"emotrace: {file.name}")
        typer.echo(f"wrote the HTML report to {report}", err=True)
    if plot is not None:
        from emotrace.io.chart import write_chart

        write_chart(plot, conversations, predictions)
        typer.echo(f"wrote the timeline chart to {plot}", err=True)
    if output is not None:
        typer.echo(f"wrote {sum(len(c) for c in conversations)} predictions to {output}", err=True)


def _analyze_batch(
    files: list[Path],
    out_dir: Path | None,
    options: PipelineOptions,
    format: str | None,
    refused: dict[str, object],
    input_format: str | None,
    columns: dict[str, str] | None,
    max_bytes: int,
    settings: dict[str, object],
) -> None:
    """`analyze` over many files (or one large JSONL file): outputs in --out-dir, failures listed, exit 1 if any."""
    from emotrace.inference.batch import run_batch
    from emotrace.inference.shards import BatchSpec

    if out_dir is None:
        raise EmotraceError("several files, a folder or a glob need --out-dir", hint="e.g. --out-dir predictions/ (one output per input)")
    _refuse(refused, "a batch", "outputs go to --out-dir, one per input")
    spec = BatchSpec(options, format or "jsonl", input_format, columns, max_bytes)
    given = {name: value for name, value in settings.items() if value is not None}
    result = run_batch(files, out_dir, spec, progress=sys.stderr.isatty(), **given)  # type: ignore[arg-type]
    typer.echo(f"skipped {result.skipped} of {result.shards} shards (done by an earlier run)", err=True)
    typer.echo(f"analysed {result.conversations} conversations ({result.utterances} utterances) in {result.seconds:.1f} s into {out_dir}", err=True)
    if result.merged is not None:
        typer.echo(f"wrote {result.merged}", err=True)
    for name, reason in result.failures:
        typer.echo(f"failed: {name}: {reason}", err=True)
    if result.failures:
        raise EmotraceError(f"{len(result.failures)} of {result.shards} shards failed", hint="fix them and rerun the same command; finished shards are skipped")


def _refuse(refused: dict[str, object], mode: str, hint: str = "drop it") -> None:
    for flag, value in refused.items():
        if value:
            raise EmotraceError(f"{flag} does not apply to {mode}", hint=hint)


def _attach_media(conversations: list[Conversation], pairs: list[str] | None) -> None:
    """`--media video=call.mp4`: one recording of the whole conversation, e.g. beside its subtitles."""
    for pair in pairs or []:
        kind, separator, path = pair.partition("=")
        if not separator or kind.strip() not in MEDIA_KINDS or not path.strip():
            raise EmotraceError(f"--media {pair!r} is not KIND=PATH", hint=f"KIND is one of {', '.join(MEDIA_KINDS)}, e.g. --media video=call.mp4")
        if not Path(path.strip()).is_file():
            raise EmotraceError(f"--media {kind.strip()} file not found", path=path.strip(), hint="check the path")
        for utterance in (u for c in conversations for u in c.utterances):
            utterance.media.setdefault(kind.strip(), path.strip())


def _check_plot(plot: Path | None) -> None:
    """Refuse an unknown chart format before inference, not after."""
    from emotrace.io.chart import chart_format

    if plot is not None:
        chart_format(plot)


def _check_output(output: Path | None, format: str | None) -> None:
    """Fail on an unwritable or unknown output before spending minutes on inference."""
    from emotrace.io.writers import output_format

    output_format(output, format)
    if output is not None and output.is_dir():
        raise EmotraceError("output path is a directory", path=str(output), hint="give a file name such as out.json")
    if output is not None and not output.parent.exists():
        raise EmotraceError("output folder does not exist", path=str(output.parent), hint="create it first")
