"""`emotrace export`: ONNX exports for the faster, torch-free backends (the export/ package does the work)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from emotrace.errors import EmotraceError


def export_command(
    backend: Annotated[str, typer.Option("--backend", help="onnx-fp32, or onnx-int8 (also writes fp32, then quantises it per channel)")] = "onnx-int8",
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
    for file in written:
        typer.echo(f"wrote {file} ({file.stat().st_size / 1e6:.1f} MB)")
