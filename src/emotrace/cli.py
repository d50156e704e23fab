"""The `emotrace` command: a thin front over `io/`, `inference/` and `training/`.

Heavy libraries (torch, transformers) are imported inside the commands, so `emotrace --help` starts fast.
A user mistake (`EmotraceError`) prints one line and exits with status 1; no traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from emotrace.errors import EmotraceError
from emotrace.schema import Conversation
from emotrace.training.config import DEFAULT_TEXT_MODEL

if TYPE_CHECKING:
    from emotrace.inference.pipeline import PipelineOptions

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, help="emotrace: the emotion of every utterance in a conversation, offline on a CPU.")

DataDir = Annotated[str | None, typer.Option("--data-dir", help="folder holding meld/ and iemocap/ (default: $EMOTRACE_DATA, else ./data)")]
InputFormat = Annotated[str | None, typer.Option("--input-format", help="jsonl, csv, transcript, srt, vtt or community (.pkl feature files) (default: by extension)")]
Columns = Annotated[list[str] | None, typer.Option("--column", help="CSV column for a field, FIELD=NAME (e.g. text=utterance); repeatable")]
Backend = Annotated[
    str,
    typer.Option(
        "--backend",
        help="text model runtime: auto (its ONNX fp32 export if made, else torch-fp32), torch-fp32, onnx-fp32, onnx-int8",
        callback=lambda value: "torch-fp32" if value == "torch" else value,  # `torch`, the old spelling, still works
    ),
]


@app.command()
def analyze(
    files: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE", help="conversation file: .jsonl, .csv, .txt (Speaker: text), .srt or .vtt; or several, a folder or a quoted glob (batch, with --out-dir)"
        ),
    ],
    model: Annotated[str, typer.Option("--model", help="a shipped model name or a bundle directory")] = "default",
    speech_model: Annotated[
        str, typer.Option("--speech-model", help="speech model fused with --model when utterances reference audio")
    ] = "speech",
    face_model: Annotated[
        str, typer.Option("--face-model", help="face model fused with --model when utterances reference an image or video")
    ] = "face",
    fusion_model: Annotated[
        str,
        typer.Option("--fusion-model", help="how media predictions are fused: `late` averages the modalities' calibrated distributions; `fusion` (or another CMATH bundle) is learned"),
    ] = "late",
    format: Annotated[str | None, typer.Option("--format", help="table, json, jsonl or csv (default: by --output extension, else table)")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write here instead of the terminal")] = None,
    report: Annotated[Path | None, typer.Option("--report", help="also write a self-contained HTML timeline here")] = None,
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
    out_dir: Annotated[
        Path | None, typer.Option("--out-dir", help="batch: one output per input file, or per shard of one JSONL file plus their join; reruns skip finished ones")
    ] = None,
    engine: Annotated[str | None, typer.Option("--engine", help="batch: local (a process pool; default) or dask")] = None,
    address: Annotated[str | None, typer.Option("--address", help="batch: a dask scheduler, tcp://host:port (default: a local cluster)")] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="batch: worker processes (default: one per core)", min=1)] = None,
    shard_size: Annotated[int | None, typer.Option("--shard-size", help="batch: conversations per shard of a JSONL file (default: 200)", min=1)] = None,
    retries: Annotated[int | None, typer.Option("--retries", help="batch: reruns of a failing shard before it is reported (default: 2)", min=0)] = None,
) -> None:
    """Predict the emotion of every utterance in FILE, fused with speech and faces where utterances reference
    audio, an image or a video. Several files, a folder or a glob run as a resumable batch into --out-dir."""
    from emotrace.inference.pipeline import Analyzer, PipelineOptions
    from emotrace.io import read_conversations, write_predictions

    options = PipelineOptions(model, speech_model, face_model, fusion_model, mc_dropout, abstain_below, explain, backend)
    batch = {"engine": engine, "address": address, "workers": workers, "shard_size": shard_size, "retries": retries}
    if out_dir is not None or len(files) > 1 or files[0].is_dir() or (not files[0].exists() and any(c in str(files[0]) for c in "*?[")):
        refused = {"--output": output, "--report": report, "--media": media}
        _analyze_batch(files, out_dir, options, format, refused, input_format, _columns(column), int(max_mb * 2**20), batch)
        return
    for name, value in batch.items():
        if value is not None:
            raise EmotraceError(f"--{name.replace('_', '-')} is for batch runs", hint="add --out-dir DIR")
    file = files[0]
    conversations = read_conversations(file, input_format, _columns(column), max_bytes=int(max_mb * 2**20))
    _attach_media(conversations, media)
    _check_output(output, format)
    predictions = Analyzer().analyze(conversations, options, progress=sys.stderr.isatty())
    write_predictions(conversations, predictions, output, format)
    if report is not None:
        from emotrace.io.html_report import write_report

        write_report(conversations, predictions, report, title=f"emotrace: {file.name}")
        typer.echo(f"wrote the HTML report to {report}", err=True)
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
    for flag, value in refused.items():
        if value:
            raise EmotraceError(f"{flag} does not apply to a batch", hint="outputs go to --out-dir, one per input")
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


@app.command()
def train(
    dataset: Annotated[str, typer.Option("--dataset", help="meld, iemocap, or a labelled conversation file")],
    out: Annotated[Path, typer.Option("--out", help="run directory; becomes a model bundle")],
    model: Annotated[str, typer.Option("--model", help="registry name (see `emotrace models`); the default is the best text recipe")] = DEFAULT_TEXT_MODEL,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    dev: Annotated[Path | None, typer.Option("--dev", help="dev conversations for a user FILE (else its `split` field)")] = None,
    test: Annotated[Path | None, typer.Option("--test", help="test conversations for a user FILE, scored after training")] = None,
    epochs: Annotated[int | None, typer.Option("--epochs", help="override the recipe's maximum epochs")] = None,
    lr: Annotated[float | None, typer.Option("--lr", help="override the recipe's learning rate")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="continue an interrupted run in --out")] = False,
    data_dir: DataDir = None,
    input_format: InputFormat = None,
    column: Columns = None,
) -> None:
    """Train a model; the best epoch on dev is saved as a bundle in --out."""
    from emotrace.datasets import DATASETS
    from emotrace.models.multimodal import MULTIMODAL_MODELS, feature_dims
    from emotrace.training.config import recipe
    from emotrace.training.data import benchmark_data, file_data, labelled_conversations
    from emotrace.training.loop import train as run_training

    if dataset in DATASETS:
        data = benchmark_data(dataset, data_dir)
    else:
        data = file_data(dataset, dev, input_format, _columns(column))
    command = " ".join(["emotrace", *sys.argv[1:]])
    config = recipe(model, dataset if dataset in DATASETS else "default", seed, epochs=epochs, lr=lr)
    if model in MULTIMODAL_MODELS and feature_dims(data.train):
        dims = feature_dims(data.train)
        config.model_args = {"dims": dims, "modalities": list(dims), **config.model_args}
    summary = run_training(config, data, out, resume=resume, progress=True, command=command)
    best = summary["best_dev"]
    typer.echo(f"best epoch {summary['best_epoch']}: dev weighted F1 {best['weighted_f1']:.2f}; bundle in {out}")
    test_conversations = None
    if test is not None:
        test_conversations = labelled_conversations(str(test), "test", data_dir, input_format, _columns(column))
    elif dataset not in DATASETS:
        test_conversations = _optional_test_split(dataset, input_format, _columns(column))
    if test_conversations:
        _report(out, test_conversations, "test")


@app.command()
def evaluate(
    run_dir: Annotated[Path, typer.Argument(help="a bundle directory (from `emotrace train`) or a shipped model name")],
    dataset: Annotated[str, typer.Option("--dataset", help="meld, iemocap, or a labelled conversation file")],
    split: Annotated[str, typer.Option("--split")] = "test",
    data_dir: DataDir = None,
    input_format: InputFormat = None,
    column: Columns = None,
) -> None:
    """Accuracy, weighted/macro F1, per-class F1 and a confusion-matrix PNG, written beside the bundle."""
    from emotrace.training.data import labelled_conversations

    _report(run_dir, labelled_conversations(dataset, split, data_dir, input_format, _columns(column)), f"{Path(dataset).stem}_{split}")


@app.command()
def calibrate(
    run_dir: Annotated[Path, typer.Argument(help="a bundle directory (from `emotrace train`)")],
    dataset: Annotated[str, typer.Option("--dataset", help="meld, iemocap, or a labelled conversation file")],
    split: Annotated[str, typer.Option("--split", help="never test: calibration is fitted on held-out dev data")] = "dev",
    data_dir: DataDir = None,
    input_format: InputFormat = None,
    column: Columns = None,
) -> None:
    """Fit the bundle's confidence temperature on labelled dev data (`train` already does this)."""
    from emotrace.inference.calibration import calibrate_bundle
    from emotrace.training.data import labelled_conversations

    conversations = labelled_conversations(dataset, split, data_dir, input_format, _columns(column))
    record = calibrate_bundle(run_dir, conversations, f"{Path(dataset).stem} {split}", progress=sys.stderr.isatty())
    before, after = record["dev_before"], record["dev_after"]
    typer.echo(f"temperature {record['temperature']:.3f}: ECE {before['ece']:.4f} → {after['ece']:.4f}, NLL {before['nll']:.4f} → {after['nll']:.4f}")


@app.command()
def extract(
    file: Annotated[Path, typer.Argument(help="conversation file; media paths are relative to it")],
    out: Annotated[Path, typer.Option("--out", help="features file to write (.npz)")],
    modality: Annotated[
        str, typer.Option("--modality", help="text (MiniLM, 384-d), audio (openSMILE functionals) or face (face CNN, 256-d)")
    ] = "text",
    feature_set: Annotated[str, typer.Option("--feature-set", help="audio only: eGeMAPSv02 (88-d) or ComParE_2016 (6,373-d)")] = "eGeMAPSv02",
    face_model: Annotated[str, typer.Option("--face-model", help="face only: a shipped face model or bundle directory")] = "face",
    input_format: InputFormat = None,
    column: Columns = None,
) -> None:
    """Write per-utterance features with their conversation ids and indices, for training your own models."""
    from emotrace.inference.extract import extract as run_extraction
    from emotrace.inference.extract import save_features
    from emotrace.io import read_conversations

    if out.suffix != ".npz":
        raise EmotraceError("features are written as .npz", path=str(out), hint="give --out a name ending in .npz")
    conversations = read_conversations(file, input_format, _columns(column))
    features = run_extraction(conversations, modality, progress=sys.stderr.isatty(), feature_set=feature_set, face_model=face_model)
    save_features(features, out)
    typer.echo(f"wrote {features.features.shape[0]} × {features.features.shape[1]} {features.encoder} features to {out}")


@app.command()
def export(
    backend: Annotated[
        str, typer.Option("--backend", help="onnx-fp32, or onnx-int8 (also writes fp32, then quantises it per channel)")
    ] = "onnx-int8",
    model: Annotated[
        str | None, typer.Option("--model", help="export this text model (shipped name or bundle) for `analyze --backend`; default: only the MiniLM encoder")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="MiniLM only: folder to write to (default: the emotrace cache, where the backends look)")] = None,
) -> None:
    """Export to ONNX for the faster, torch-free backends: a text model (`analyze --backend`), or the MiniLM encoder
    alone (the onnx-fp32 / onnx-int8 text backends of feature extraction and training)."""
    from emotrace.export.graphs import export_onnx
    from emotrace.export.runtime import VARIANTS

    if backend not in VARIANTS:
        raise EmotraceError(f"--backend {backend!r} cannot be exported", hint=f"choose one of {', '.join(VARIANTS)}")
    if model is not None:
        from emotrace.export.text_model import export_bundle

        if out is not None:
            raise EmotraceError("--out is for the MiniLM export; a model's export goes to the cache, where `analyze` finds it", hint="drop --out")
        folder = export_bundle(model, int8=backend == "onnx-int8")
        typer.echo(f"exported {model} to {folder}; `emotrace analyze --backend {backend}` uses it (fp32 also by default)")
        return
    path = export_onnx(out, int8=backend == "onnx-int8")
    written = [path.with_name(VARIANTS["onnx-fp32"]), path] if backend == "onnx-int8" else [path]
    for model in written:
        typer.echo(f"wrote {model} ({model.stat().st_size / 1e6:.1f} MB)")


@app.command()
def bench(
    model: Annotated[str, typer.Option("--model", help="a frozen-embedding text bundle (e.g. from `emotrace train --model bigru`)")],
    dataset: Annotated[str, typer.Option("--dataset", help="meld, iemocap, or a labelled conversation file")] = "meld",
    split: Annotated[str, typer.Option("--split")] = "test",
    rounds: Annotated[int, typer.Option("--rounds", help="timed passes per pipeline, interleaved; the median counts", min=1)] = 3,
    cascade: Annotated[str | None, typer.Option("--cascade", help="also time this cascade bundle (research/cascade.py)")] = None,
    data_dir: DataDir = None,
) -> None:
    """Utterances/s, peak memory and weighted F1 of the same model run five ways (sentence-transformers by hand,
    emotrace PyTorch, ONNX fp32, ONNX int8, cascade), each in its own process, plus `analyze` cold start."""
    from rich.console import Console
    from rich.table import Table

    from emotrace.export.runtime import has_export
    from emotrace.research.speed import cold_starts, run_bench, summarise

    if not has_export(model, "onnx-int8"):
        raise EmotraceError(f"model '{model}' has no ONNX export yet", hint=f"run `emotrace export --model {model} --backend onnx-int8` first")
    table = summarise(run_bench(model, dataset, split, data_dir, rounds, cascade))
    view = Table(title=f"{dataset} {split}: {next(iter(table.values()))['rounds']} rounds per pipeline")
    for column in ("pipeline", "utterances/s", "× plain", "weighted F1", "Δ F1", "peak RSS MB", "exit rate"):
        view.add_column(column, justify="left" if column == "pipeline" else "right")
    for name, row in table.items():
        exit_rate = "" if row["exit_rate"] is None else f"{row['exit_rate']:.2f}"
        view.add_row(
            name, f"{row['utterances_per_second']:.0f}", f"{row.get('speedup_vs_plain', 1.0):.2f}", f"{row['weighted_f1']:.2f}",
            f"{row.get('weighted_f1_change_vs_plain', 0.0):+.2f}", f"{row['peak_rss_mb']:.0f}", exit_rate,
        )
    Console().print(view)
    starts = cold_starts(str(_cold_start_example()))
    typer.echo(f"analyze cold start to first output: {starts['auto']:.2f} s (auto backend), {starts['torch-fp32']:.2f} s (torch-fp32)")


def _cold_start_example() -> Path:
    """A three-turn transcript in the cache, for timing `analyze` from process start."""
    from emotrace.io.atomic import write_text_atomic
    from emotrace.paths import cache_root

    path = cache_root() / "bench" / "cold_start.txt"
    if not path.is_file():
        write_text_atomic(path, "Ann: Hi, how are you?\nBob: Terrible, my flight was cancelled!\nAnn: Oh no, I'm so sorry.\n")
    return path


@app.command()
def datasets(data_dir: DataDir = None) -> None:
    """List supported benchmark data sets and whether their files are found."""
    from rich.console import Console
    from rich.table import Table

    from emotrace.datasets import DATASETS, resolve_data_dir

    root = resolve_data_dir(data_dir)
    table = Table(title=f"data sets in {root}")
    for column in ("name", "modality", "splits", "labels", "licence", "files"):
        table.add_column(column)
    for info in DATASETS.values():
        missing = [f for f in info.files if not (root / f).is_file()]
        status = "[green]found[/green]" if not missing else f"[red]missing {', '.join(missing)}[/red]"
        table.add_row(info.name, info.modality, ", ".join(info.splits), ", ".join(info.labels), info.licence, status)
    Console().print(table)


@app.command()
def models() -> None:
    """List model architectures (for `train`) and shipped models (for `analyze --model`)."""
    from emotrace.models.bundle import bundled_models, read_config
    from emotrace.models.registry import list_models

    typer.echo("architectures (emotrace train --model NAME):")
    for name, description in list_models().items():
        typer.echo(f"  {name:20} {description}")
    typer.echo("shipped models (emotrace analyze --model NAME):")
    for name, path in bundled_models().items():
        config = read_config(path)
        typer.echo(f"  {name:20} {config['model']} trained on {config.get('data', {}).get('name', '?')}")


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="address to listen on (0.0.0.0: every interface)")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    model: Annotated[str, typer.Option("--model", help="shipped model loaded at startup; requests naming no model use it")] = "default",
    backend: Backend = "auto",
    api_key_file: Annotated[Path | None, typer.Option("--api-key-file", help="require this file's first line as the API key")] = None,
    media_root: Annotated[Path | None, typer.Option("--media-root", help="let requests name media files under this folder")] = None,
    models_dir: Annotated[Path | None, typer.Option("--models-dir", help="also offer the bundles in this folder, by name")] = None,
    max_body_mb: Annotated[float, typer.Option("--max-body-mb", help="largest request body, uploads included", min=0.01)] = 32.0,
    max_utterances: Annotated[int, typer.Option("--max-utterances", help="most utterances per request", min=1)] = 2000,
    max_queue: Annotated[int, typer.Option("--max-queue", help="most requests waiting or running; more get 503", min=1)] = 32,
) -> None:
    """Serve the HTTP API (/v1/analyze, /docs) and the web page at http://HOST:PORT/."""
    try:
        import uvicorn

        from emotrace.serve import ServeSettings, create_app
        from emotrace.serve.settings import check_backend, checked_folder, read_api_key
    except ModuleNotFoundError as error:
        if error.name not in ("fastapi", "uvicorn", "starlette", "multipart", "python_multipart"):
            raise
        raise EmotraceError(f"the web service needs {error.name}, which is not installed", hint="pip install 'emotrace[serve]'") from None
    check_backend(backend, model)
    settings = ServeSettings(
        model=model,
        backend=backend,
        api_key=read_api_key(api_key_file) if api_key_file else None,
        media_root=checked_folder(media_root, "--media-root") if media_root else None,
        models_dir=checked_folder(models_dir, "--models-dir") if models_dir else None,
        max_body_bytes=int(max_body_mb * 2**20),
        max_utterances=max_utterances,
        max_queue=max_queue,
    )
    uvicorn.run(create_app(settings), host=host, port=port)


def _report(model_ref: Path | str, conversations: list[Conversation], tag: str) -> None:
    from rich.console import Console
    from rich.table import Table

    from emotrace.inference.evaluate import evaluate as run_evaluation
    from emotrace.models.bundle import bundled_models, load_model

    shipped = bundled_models()
    out_dir = Path(model_ref) if str(model_ref) not in shipped else Path.cwd()
    scores = run_evaluation(load_model(model_ref), conversations, out_dir, tag, progress=sys.stderr.isatty())
    table = Table(title=f"{tag}: {scores['n']} utterances")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for metric in ("accuracy", "weighted_f1", "macro_f1"):
        table.add_row(metric, f"{scores[metric]:.2f}")
    for metric in ("ece", "brier", "nll"):
        table.add_row(f"{metric} (T = {scores['calibration']['temperature']:.2f})", f"{scores['calibration'][metric]:.4f}")
    table.add_row("aurc", f"{scores['selective']['aurc']:.4f}")
    for coverage, value in scores["selective"]["weighted_f1_at_coverage"].items():
        table.add_row(f"weighted_f1 at {coverage} coverage", f"{value:.2f}")
    for label, value in scores["per_class_f1"].items():
        table.add_row(f"F1 {label}", f"{value:.2f}")
    Console().print(table)
    typer.echo(f"wrote {out_dir / f'eval_{tag}.json'} and {out_dir / f'confusion_{tag}.png'}")


def _optional_test_split(path: str, input_format: str | None, columns: dict[str, str] | None) -> list[Conversation]:
    from emotrace.io import read_conversations
    from emotrace.training.data import split_of

    return [c for c in read_conversations(path, input_format, columns) if split_of(c) == "test"]


def _columns(pairs: list[str] | None) -> dict[str, str] | None:
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


def _attach_media(conversations: list[Conversation], pairs: list[str] | None) -> None:
    """`--media video=call.mp4`: one recording of the whole conversation, e.g. beside its subtitles."""
    from emotrace.schema import MEDIA_KINDS

    for pair in pairs or []:
        kind, separator, path = pair.partition("=")
        if not separator or kind.strip() not in MEDIA_KINDS or not path.strip():
            raise EmotraceError(f"--media {pair!r} is not KIND=PATH", hint=f"KIND is one of {', '.join(MEDIA_KINDS)}, e.g. --media video=call.mp4")
        if not Path(path.strip()).is_file():
            raise EmotraceError(f"--media {kind.strip()} file not found", path=path.strip(), hint="check the path")
        for utterance in (u for c in conversations for u in c.utterances):
            utterance.media.setdefault(kind.strip(), path.strip())


def _check_output(output: Path | None, format: str | None) -> None:
    """Fail on an unwritable or unknown output before spending minutes on inference."""
    from emotrace.io.writers import output_format

    output_format(output, format)
    if output is not None and output.is_dir():
        raise EmotraceError("output path is a directory", path=str(output), hint="give a file name such as out.json")
    if output is not None and not output.parent.exists():
        raise EmotraceError("output folder does not exist", path=str(output.parent), hint="create it first")


def main() -> None:
    try:
        app()
    except EmotraceError as error:
        typer.echo(f"error: {error}", err=True)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise SystemExit(130) from None
