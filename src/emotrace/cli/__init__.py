"""The `emotrace` command: a thin front over the library, one module per group of commands, each of which parses
its arguments, calls the library and prints.

Heavy libraries (torch, transformers) are imported inside the commands, so `emotrace --help` starts fast.
A user mistake (`EmotraceError`) prints one line and exits with status 1; no traceback.
"""

from __future__ import annotations

import typer

from emotrace.cli import analyze, bench, catalog, export, extract, serve, summarize, train
from emotrace.errors import EmotraceError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="emotrace: the emotion of every utterance in a conversation, offline on a CPU.",
)

COMMANDS = {
    "analyze": analyze.analyze_command,
    "summarize": summarize.summarize_command,
    "train": train.train_command,
    "evaluate": train.evaluate_command,
    "calibrate": train.calibrate_command,
    "extract": extract.extract_command,
    "export": export.export_command,
    "bench": bench.bench_command,
    "datasets": catalog.datasets_command,
    "models": catalog.models_command,
    "serve": serve.serve_command,
}
for name, command in COMMANDS.items():
    app.command(name)(command)


def main() -> None:
    try:
        app()
    except EmotraceError as error:
        typer.echo(f"error: {error}", err=True)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise SystemExit(130) from None
