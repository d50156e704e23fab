"""`emotrace train`, `evaluate` and `calibrate`: fit a model to labelled conversations, score it, refit its confidences."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from emotrace.cli.options import Columns, DataDir, InputFormat, parse_columns
from emotrace.schema import Conversation
from emotrace.training.config import DEFAULT_TEXT_MODEL

Dataset = Annotated[str, typer.Option("--dataset", help="meld, iemocap, dailydialog, or a labelled conversation file")]


def train_command(
    dataset: Dataset,
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
    from emotrace.training.config import recipe
    from emotrace.training.data import add_feature_dims, benchmark_data, file_data, file_test_split, labelled_conversations
    from emotrace.training.loop import train

    data = benchmark_data(dataset, data_dir) if dataset in DATASETS else file_data(dataset, dev, input_format, parse_columns(column))
    config = recipe(model, dataset if dataset in DATASETS else "default", seed, epochs=epochs, lr=lr)
    add_feature_dims(config, data.train)
    summary = train(config, data, out, resume=resume, progress=True, command=" ".join(["emotrace", *sys.argv[1:]]))
    best = summary["best_dev"]
    typer.echo(f"best epoch {summary['best_epoch']}: dev weighted F1 {best['weighted_f1']:.2f}; bundle in {out}")
    test_conversations = None
    if test is not None:
        test_conversations = labelled_conversations(str(test), "test", data_dir, input_format, parse_columns(column))
    elif dataset not in DATASETS:
        test_conversations = file_test_split(dataset, input_format, parse_columns(column))
    if test_conversations:
        _print_scores(out, test_conversations, "test")


def evaluate_command(
    run_dir: Annotated[Path, typer.Argument(help="a bundle directory (from `emotrace train`) or a shipped model name")],
    dataset: Dataset,
    split: Annotated[str, typer.Option("--split")] = "test",
    data_dir: DataDir = None,
    input_format: InputFormat = None,
    column: Columns = None,
) -> None:
    """Accuracy, weighted/macro F1, per-class F1 and a confusion-matrix PNG, written beside the bundle."""
    from emotrace.training.data import labelled_conversations

    _print_scores(run_dir, labelled_conversations(dataset, split, data_dir, input_format, parse_columns(column)), f"{Path(dataset).stem}_{split}")


def calibrate_command(
    run_dir: Annotated[Path, typer.Argument(help="a bundle directory (from `emotrace train`)")],
    dataset: Dataset,
    split: Annotated[str, typer.Option("--split", help="never test: calibration is fitted on held-out dev data")] = "dev",
    data_dir: DataDir = None,
    input_format: InputFormat = None,
    column: Columns = None,
) -> None:
    """Fit the bundle's confidence temperature on labelled dev data (`train` already does this)."""
    from emotrace.inference.calibration import calibrate_bundle
    from emotrace.training.data import labelled_conversations

    conversations = labelled_conversations(dataset, split, data_dir, input_format, parse_columns(column))
    record = calibrate_bundle(run_dir, conversations, f"{Path(dataset).stem} {split}", progress=sys.stderr.isatty())
    before, after = record["dev_before"], record["dev_after"]
    typer.echo(f"temperature {record['temperature']:.3f}: ECE {before['ece']:.4f} → {after['ece']:.4f}, NLL {before['nll']:.4f} → {after['nll']:.4f}")


def _print_scores(model_ref: Path | str, conversations: list[Conversation], tag: str) -> None:
    """Score the model and print the scores; the files `evaluate` writes go beside a bundle, or here for a shipped model."""
    from rich.console import Console

    from emotrace.inference.evaluate import evaluate, scores_table
    from emotrace.models.bundle import bundled_models, load_model

    out_dir = Path(model_ref) if str(model_ref) not in bundled_models() else Path.cwd()
    scores = evaluate(load_model(model_ref), conversations, out_dir, tag, progress=sys.stderr.isatty())
    Console().print(scores_table(scores, tag))
    typer.echo(f"wrote {out_dir / f'eval_{tag}.json'} and {out_dir / f'confusion_{tag}.png'}")
