"""Skip RNN benchmark: `skip-gru` (Campos et al., ICLR 2018) on MELD for several budget weights λ and seeds.

Per run: test weighted F1 of the epoch chosen on dev (as the training loop does), the fraction of the context
model's state updates skipped on test, and the context model's wall time on test, measured interleaved with
`bigru`'s nn.GRU context of the same width so that both see the same machine load.

    python benchmarks/skip_rnn.py                             # λ = 0 (no budget) and the budgets below, 3 seeds each
    python benchmarks/skip_rnn.py --budgets 0 0.1 --seeds 1
    python benchmarks/skip_rnn.py --report                    # only re-aggregate the cached results

One JSON per (λ, seed) under benchmarks/results/skip_rnn/ (finished runs are skipped, an interrupted training
resumes from its checkpoint in benchmarks/runs/skip_rnn/); the aggregate (mean ± std over seeds) goes to
benchmarks/results/skip_rnn.json and the README block `skip_rnn`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_DATA, RESULTS, ROOT, RUNS, update_readme, write_text_atomic  # noqa: E402

BUDGETS = (0.0, 0.03, 0.05, 0.1)  # 0.01 (no skipping) and 1.0 (89% skipped, one update per dialogue) were single-seed probes
TORCH_THREADS = 1  # the per-turn GEMMs are tiny, and on 2 cores shared with other jobs a second thread only adds waiting
TIMING_REPEATS = 5
BATCH_UTTERANCES = 64  # as `predict`


def result_path(budget: float, seed: int) -> Path:
    return RESULTS / "skip_rnn" / f"budget{budget:g}" / f"seed{seed}.json"


def context_timing(model: Any, items: list[Any], lengths: list[int]) -> dict[str, Any]:
    """Updates performed by the Skip GRU on the test batches, and the median wall time of its context model and of
    an nn.GRU context of the same width (weights do not change its cost), measured alternately."""
    import torch

    from emotrace.models.base import utterance_batches
    from emotrace.models.frozen import DialogueGRU

    hidden = model.context.forward_cell.cell.hidden_size
    reference = DialogueGRU(hidden, 1, 0.0).eval()
    model.eval()
    with torch.inference_mode():
        inputs = []
        for batch in utterance_batches(lengths, BATCH_UTTERANCES):
            collated = model.collate([items[i] for i in batch])
            projected = model.project(torch.cat([collated["embeddings"], model.speaker(collated["speakers"])], dim=-1))
            inputs.append((projected, collated["mask"]))
        updates = steps = 0
        for projected, mask in inputs:
            model.context(projected, mask)
            updates += model.context.last_updates
            steps += model.context.last_steps
        seconds: dict[str, list[float]] = {"skip-gru": [], "nn.GRU": []}
        for _ in range(TIMING_REPEATS):
            for name, module in (("skip-gru", model.context), ("nn.GRU", reference)):
                started = time.perf_counter()
                for projected, mask in inputs:
                    module(projected, mask)
                seconds[name].append(time.perf_counter() - started)
    return {
        "updates": updates,
        "steps": steps,
        "skipped_fraction": 1 - updates / steps,
        "context_seconds": statistics.median(seconds["skip-gru"]),
        "nn_gru_seconds": statistics.median(seconds["nn.GRU"]),
        "seconds_all_repeats": seconds,
    }


def run_one(budget: float, seed: int, data_dir: str) -> dict[str, Any]:
    import torch

    from emotrace.datasets import load_dataset
    from emotrace.inference.predict import probabilities_of_prepared
    from emotrace.inference.scores import classification_scores, gold_indices
    from emotrace.models.bundle import load_bundle
    from emotrace.training.config import recipe
    from emotrace.training.data import benchmark_data
    from emotrace.training.loop import train

    torch.set_num_threads(TORCH_THREADS)
    started = time.time()
    run_dir = RUNS / "skip_rnn" / f"budget{budget:g}" / f"seed{seed}"
    config = recipe("skip-gru", "meld", seed, model_args={"budget": budget})
    command = f"emotrace train --dataset meld --model skip-gru (budget {budget:g}) --seed {seed} --out {run_dir.relative_to(ROOT)}"
    summary = train(config, benchmark_data("meld", data_dir), run_dir, resume=True, command=command)
    trained_seconds = time.time() - started
    model = load_bundle(run_dir)
    test = load_dataset("meld", "test", data_dir)
    items = model.prepare(test)
    lengths = [len(c) for c in test]
    probabilities, _ = probabilities_of_prepared(model, items, lengths, BATCH_UTTERANCES)
    scores = classification_scores(gold_indices(test, model.labels), probabilities.argmax(1), model.labels)
    return {
        "budget": budget,
        "seed": seed,
        "dev": summary["best_dev"],
        "best_epoch": summary["best_epoch"],
        "recipe": summary["config"],
        "test": scores,
        "context": context_timing(model, items, lengths),
        "training_seconds": round(trained_seconds, 1),  # of this invocation: near 0 when the training was already finished
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch threads {TORCH_THREADS}",
    }


def _mean_std(values: list[float]) -> dict[str, float]:
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0}


def aggregate() -> dict[str, Any]:
    """Mean ± (sample) std over the cached seeds of each λ, and the bigru reference from text_erc.json."""
    per_budget: dict[float, list[dict[str, Any]]] = {}
    for path in sorted((RESULTS / "skip_rnn").glob("budget*/seed*.json")):
        result = json.loads(path.read_text(encoding="utf-8"))
        per_budget.setdefault(result["budget"], []).append(result)
    summary: dict[str, Any] = {"runs": {}}
    for budget, results in sorted(per_budget.items()):
        summary["runs"][f"{budget:g}"] = {
            "budget": budget,
            "seeds": sorted(r["seed"] for r in results),
            "test_weighted_f1": _mean_std([r["test"]["weighted_f1"] for r in results]),
            "test_macro_f1": _mean_std([r["test"]["macro_f1"] for r in results]),
            "dev_weighted_f1": _mean_std([r["dev"]["weighted_f1"] for r in results]),
            "skipped_percent": _mean_std([100 * r["context"]["skipped_fraction"] for r in results]),
            "context_ms": _mean_std([1000 * r["context"]["context_seconds"] for r in results]),
            "nn_gru_ms": _mean_std([1000 * r["context"]["nn_gru_seconds"] for r in results]),
            "time_vs_nn_gru": _mean_std([r["context"]["context_seconds"] / r["context"]["nn_gru_seconds"] for r in results]),
        }
    text_erc = RESULTS / "text_erc.json"
    if text_erc.is_file():
        summary["bigru"] = json.loads(text_erc.read_text(encoding="utf-8")).get("bigru", {}).get("meld")
    return summary


def render_table(summary: dict[str, Any]) -> str:
    lines = [
        "| model | λ | MELD test wF1 | macro F1 | updates skipped on test | context ms on test: this model (nn.GRU in the same rounds) | × nn.GRU time | seeds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    bigru = summary.get("bigru")
    if bigru:
        f1, macro = bigru["weighted_f1"], bigru["macro_f1"]
        lines.append(
            f"| `bigru` (nn.GRU) | – | {f1['mean']:.1f} ± {f1['std']:.1f} | {macro['mean']:.1f} ± {macro['std']:.1f} | 0% | measured beside each `skip-gru` row | 1 | {len(bigru['seeds'])} |"
        )
    for entry in summary["runs"].values():
        f1, macro, skipped = entry["test_weighted_f1"], entry["test_macro_f1"], entry["skipped_percent"]
        context, gru, ratio = entry["context_ms"], entry["nn_gru_ms"], entry["time_vs_nn_gru"]
        lines.append(
            f"| `skip-gru` | {entry['budget']:g} | {f1['mean']:.1f} ± {f1['std']:.1f} | {macro['mean']:.1f} ± {macro['std']:.1f} "
            f"| {skipped['mean']:.0f} ± {skipped['std']:.0f}% | {context['mean']:.0f} ± {context['std']:.0f} (nn.GRU {gru['mean']:.0f}) "
            f"| {ratio['mean']:.1f} ± {ratio['std']:.1f} | {len(entry['seeds'])} |"
        )
    stamp = (
        f"Generated by `python benchmarks/skip_rnn.py` on {date.today().isoformat()}; {platform.machine()}, {os.cpu_count()} cores "
        f"shared with other jobs, torch threads {TORCH_THREADS}. Test weighted F1 of the epoch chosen on dev, mean ± std over seeds; "
        f"context time = the recurrent part only (both directions) over the 2,610 test utterances in batches of {BATCH_UTTERANCES}, "
        f"median of {TIMING_REPEATS} repeats alternated with an nn.GRU of the same width; the `bigru` row is from `benchmarks/text_erc.py`."
    )
    return "\n".join([stamp, "", *lines])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", nargs="+", type=float, default=list(BUDGETS), help="budget-loss weights λ (0: no budget loss)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--data-dir", default=DEFAULT_DATA)
    parser.add_argument("--report", action="store_true", help="only aggregate cached results and regenerate the README block")
    args = parser.parse_args()

    if not args.report:
        for seed in range(args.seeds):
            for budget in args.budgets:
                path = result_path(budget, seed)
                if path.is_file():
                    continue
                print(f"== skip-gru, λ {budget:g}, seed {seed}", flush=True)
                result = run_one(budget, seed, args.data_dir)
                write_text_atomic(path, json.dumps(result, indent=2) + "\n")
                print(f"   test weighted F1 {result['test']['weighted_f1']:.2f}, skipped {100 * result['context']['skipped_fraction']:.1f}%", flush=True)
    summary = aggregate()
    write_text_atomic(RESULTS / "skip_rnn.json", json.dumps(summary, indent=2) + "\n")
    table = render_table(summary)
    update_readme("skip_rnn", table)
    print(table)


if __name__ == "__main__":
    main()
