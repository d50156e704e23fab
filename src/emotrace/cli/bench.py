"""`emotrace bench`: the speed of one text model run five ways (the harness is research/speed.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from emotrace.cli.options import DataDir
from emotrace.errors import EmotraceError


def bench_command(
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

    from emotrace.export.runtime import has_export
    from emotrace.research.speed import cold_start_example, cold_starts, run_bench, summarise, summary_table

    if not has_export(model, "onnx-int8"):
        raise EmotraceError(f"model '{model}' has no ONNX export yet", hint=f"run `emotrace export --model {model} --backend onnx-int8` first")
    table = summarise(run_bench(model, dataset, split, data_dir, rounds, cascade))
    Console().print(summary_table(table, f"{dataset} {split}"))
    starts = cold_starts(str(cold_start_example()))
    typer.echo(f"analyze cold start to first output: {starts['auto']:.2f} s (auto backend), {starts['torch-fp32']:.2f} s (torch-fp32)")
