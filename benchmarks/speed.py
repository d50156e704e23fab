"""Speed on MELD test: one trained `bigru` head run five ways, each in its own process, rounds interleaved.

    python benchmarks/speed.py [--rounds 3] [--data-dir ../shared/datasets] [--no-cascade] [--fresh]

Pipelines (emotrace/research/speed.py): `plain` = sentence-transformers encode + our head in PyTorch, the way a
user would write it; emotrace `torch-fp32`; the bundle's ONNX export `onnx-fp32` and `onnx-int8`; and the
TinySaver `cascade` on top of onnx-int8. Reported: utterances/s (median of the rounds), ratio to `plain`,
weighted F1 and its change, peak RSS, the cascade's exit rate; and `emotrace analyze` cold start (default model).
The head is the text benchmark's `bigru` seed 0 (benchmarks/runs/meld/bigru/seed0; trained here if missing).
Each (round, pipeline) result is cached in benchmarks/runs/speed/ so an interrupted run resumes; `--fresh` forgets
them. Results: benchmarks/results/speed.json and the README block `speed`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_DATA, RESULTS, ROOT, RUNS, cpu_description, update_readme, write_text_atomic  # noqa: E402

BUNDLE = RUNS / "meld" / "bigru" / "seed0"
CACHE = RUNS / "speed"
COLD_START_EXAMPLE = ROOT / "examples" / "support_call.txt"


def ensure_bundle(data_dir: str) -> Path:
    """The text benchmark's bigru seed 0 (same recipe, same cache), trained if this checkout has not got it."""
    if not (BUNDLE / "model.safetensors").is_file():
        from emotrace.training.config import recipe
        from emotrace.training.data import benchmark_data
        from emotrace.training.loop import train

        command = f"emotrace train --dataset meld --model bigru --seed 0 --out {BUNDLE.relative_to(ROOT)}"
        train(recipe("bigru", "meld", 0), benchmark_data("meld", data_dir), BUNDLE, resume=True, command=command)
    return BUNDLE


def ensure_exports(bundle: Path) -> None:
    """ONNX fp32 + int8 of the head's bundle, and of the default model (for the cold start)."""
    from emotrace.export.runtime import has_export
    from emotrace.export.text_model import export_bundle

    for model in (str(bundle), "default"):
        if not has_export(model, "onnx-int8"):
            export_bundle(model, int8=True)


def ensure_cascade(bundle: Path, data_dir: str) -> Path:
    from emotrace.research.cascade import build_cascade

    return build_cascade(bundle, data_dir, CACHE / "cascade")


def render(table: dict[str, Any], starts: dict[str, float], header: str) -> str:
    lines = [
        header,
        "",
        "| pipeline | utterances/s | × plain | weighted F1 | Δ F1 vs plain | peak RSS (MB) | exit rate |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in table.items():
        low, high = row["utterances_per_second_range"]
        exit_rate = "" if row["exit_rate"] is None else f"{row['exit_rate']:.2f}"
        lines.append(
            f"| `{name}` | {row['utterances_per_second']:.0f} ({low:.0f}–{high:.0f}) | {row['speedup_vs_plain']:.2f} | {row['weighted_f1']:.2f} "
            f"| {row['weighted_f1_change_vs_plain']:+.2f} | {row['peak_rss_mb']:.0f} | {exit_rate} |"
        )
    lines += [
        "",
        f"`emotrace analyze` cold start, process start to first output, default model: **{starts['auto']:.2f} s** with its ONNX "
        f"export (`--backend auto`, after `emotrace export --model default`), {starts['torch-fp32']:.2f} s with `--backend torch-fp32`.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data-dir", default=DEFAULT_DATA)
    parser.add_argument("--no-cascade", action="store_true")
    parser.add_argument("--fresh", action="store_true", help="forget cached measurements of an earlier run")
    args = parser.parse_args()

    from emotrace.datasets import load_dataset
    from emotrace.research.speed import cold_starts, run_bench, summarise

    load_start = os.getloadavg()[0]
    bundle = ensure_bundle(args.data_dir)
    ensure_exports(bundle)
    cascade = None if args.no_cascade else str(ensure_cascade(bundle, args.data_dir))
    measured = CACHE / "measurements"
    if args.fresh:
        for path in measured.glob("*.json"):
            path.unlink()
    measured.mkdir(parents=True, exist_ok=True)
    done = [json.loads(path.read_text()) for path in sorted(measured.glob("*.json"))]

    def keep(result: dict[str, Any]) -> None:
        write_text_atomic(measured / f"round{result['round']}_{result['pipeline']}.json", json.dumps(result) + "\n")

    runs = run_bench(str(bundle), "meld", "test", args.data_dir, args.rounds, cascade, done, keep)
    table = summarise(runs)
    starts = cold_starts(str(COLD_START_EXAMPLE))
    load = {"start": load_start, "end": os.getloadavg()[0]}
    conversations = len(load_dataset("meld", "test", args.data_dir))
    header = (
        f"Generated by `python benchmarks/speed.py` on {date.today().isoformat()}; {cpu_description()} "
        f"(load average {load['start']:.1f} at start, {load['end']:.1f} at end), MELD test ({runs[0]['utterances']} utterances, "
        f"{conversations} conversations), `bigru` seed 0; median of {args.rounds} interleaved rounds (range)."
    )
    summary = {
        "date": date.today().isoformat(),
        "machine": cpu_description(),
        "load_average": load,
        "pipelines": table,
        "cold_start_seconds": starts,
        "runs": runs,
    }
    write_text_atomic(RESULTS / "speed.json", json.dumps(summary, indent=2) + "\n")
    block = render(table, starts, header)
    update_readme("speed", block)
    print(block)


if __name__ == "__main__":
    main()
