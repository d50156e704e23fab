"""`emotrace summarize`: figures over many analysed conversations (how they closed, anger and sadness episodes and
recoveries, per-role figures) from the outputs `analyze` or a batch wrote, read one conversation at a time."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def summarize_command(
    outputs: Annotated[
        list[Path],
        typer.Argument(metavar="OUTPUTS", help="the .json, .jsonl or .csv files emotrace analyze wrote, or folders of them (e.g. a batch --out-dir)"),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="the HTML page; the JSON goes beside it with a .json extension")] = Path("summary.html"),
) -> None:
    """Summarise many analysed conversations into one HTML page and JSON: closing emotions, anger and sadness
    episodes and how many recovered, and figures per speaker role (a name that occurs in several conversations)."""
    from emotrace.errors import EmotraceError
    from emotrace.insights.corpus import EITHER, CorpusTally
    from emotrace.insights.summary import summarize_conversation
    from emotrace.io.corpus_report import write_corpus_report
    from emotrace.io.outputs import output_files, read_outputs

    if output.suffix.lower() != ".html":
        raise EmotraceError("the summary page must end in .html", path=str(output), hint="e.g. -o summary.html (summary.json is written beside it)")
    summary_json = output.with_suffix(".json")
    files = output_files(outputs, exclude=frozenset({output.resolve(), summary_json.resolve()}))
    tally = CorpusTally()
    for file in files:
        for conversation, predictions in read_outputs(file):
            tally.add(summarize_conversation(conversation, predictions))
    if tally.conversations == 0:
        raise EmotraceError("no conversations in the given outputs", path=str(files[0]), hint="give the files emotrace analyze wrote")
    record = tally.record()
    write_corpus_report(record, [str(file) for file in files], output, summary_json)
    closing = ", ".join(f"{label} {100 * count / tally.conversations:.0f}%" for label, count in list(record["closing"].items())[:4])
    episodes = record["episodes"][EITHER]
    typer.echo(f"{tally.conversations:,} conversations; closing emotion: {closing}")
    if episodes["conversations"]:
        typer.echo(
            f"{EITHER} episode in {episodes['conversations']:,} ({100 * episodes['share']:.1f}%), "
            f"of which {episodes['recovered']:,} recovered ({100 * episodes['recovered_share']:.1f}%)"
        )
    else:
        typer.echo(f"no {EITHER} episode")
    typer.echo(f"wrote {output} and {summary_json}", err=True)
