"""`emotrace datasets` and `emotrace models`: what data sets are found, and which models can be trained or used."""

from __future__ import annotations

import typer

from emotrace.cli.options import DataDir


def datasets_command(data_dir: DataDir = None) -> None:
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


def models_command() -> None:
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
