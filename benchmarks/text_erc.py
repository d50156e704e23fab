"""Text ERC benchmark: train every model on IEMOCAP and MELD over several seeds, select on dev, score on test.

    python benchmarks/text_erc.py                      # everything (resumes; finished runs are cached)
    python benchmarks/text_erc.py --models tfidf bigru --datasets meld --seeds 5
    python benchmarks/text_erc.py --report             # only re-aggregate the cached results

One JSON result per (model, dataset, seed) under benchmarks/results/text_erc/; a run interrupted mid-training
resumes from its checkpoint in benchmarks/runs/. The aggregate (mean ± std over seeds) goes to
benchmarks/results/text_erc.json and regenerates the results table in README.md.
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

NEURAL_MODELS = ("mlp", "bigru", "finetune", "finetune-bigru", "dialogue-minilm")
DEFAULT_SEEDS = {"tfidf": 5, "mlp": 5, "bigru": 5, "finetune": 3, "finetune-bigru": 3, "dialogue-minilm": 3}

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_DATA, RESULTS, ROOT, RUNS, update_readme, write_text_atomic  # noqa: E402


def result_path(model: str, dataset: str, seed: int) -> Path:
    return RESULTS / "text_erc" / dataset / model / f"seed{seed}.json"


def run_tfidf(dataset: str, seed: int, data_dir: str) -> dict[str, Any]:
    """TF-IDF (word 1-2-grams) + logistic regression per utterance, C chosen on dev weighted F1."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from emotrace.datasets import DATASETS, load_dataset
    from emotrace.inference.scores import classification_scores, gold_indices

    labels = list(DATASETS[dataset].labels)
    splits = {s: load_dataset(dataset, s, data_dir) for s in ("train", "dev", "test")}
    texts = {s: [u.text for c in convs for u in c.utterances] for s, convs in splits.items()}
    gold = {s: gold_indices(convs, labels) for s, convs in splits.items()}
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    features = {"train": vectorizer.fit_transform(texts["train"])}
    features.update({s: vectorizer.transform(texts[s]) for s in ("dev", "test")})
    best: tuple[float, Any, dict[str, Any]] | None = None
    for c in (0.5, 1.0, 2.0, 4.0, 8.0):
        classifier = LogisticRegression(C=c, max_iter=3000, random_state=seed).fit(features["train"], gold["train"])
        dev = classification_scores(gold["dev"], classifier.predict(features["dev"]), labels)
        if best is None or dev["weighted_f1"] > best[0]:
            best = (dev["weighted_f1"], classifier, dev | {"C": c})
    assert best is not None
    test = classification_scores(gold["test"], best[1].predict(features["test"]), labels)
    return {"dev": best[2], "test": test}


def run_neural(model: str, dataset: str, seed: int, data_dir: str) -> dict[str, Any]:
    from emotrace.datasets import load_dataset
    from emotrace.inference.predict import predict_probabilities
    from emotrace.inference.scores import classification_scores, gold_indices
    from emotrace.models.bundle import load_bundle
    from emotrace.training.config import recipe
    from emotrace.training.data import benchmark_data
    from emotrace.training.loop import train

    run_dir = RUNS / dataset / model / f"seed{seed}"
    command = f"emotrace train --dataset {dataset} --model {model} --seed {seed} --out {run_dir.relative_to(ROOT)}"
    summary = train(recipe(model, dataset, seed), benchmark_data(dataset, data_dir), run_dir, resume=True, command=command)
    bundle = load_bundle(run_dir)
    test = load_dataset(dataset, "test", data_dir)
    probabilities, _ = predict_probabilities(bundle, test, progress=True)
    scores = classification_scores(gold_indices(test, bundle.labels), probabilities.argmax(1), bundle.labels)
    return {
        "dev": summary["best_dev"],
        "best_epoch": summary["best_epoch"],
        "dev_curve": [round(h["dev"]["weighted_f1"], 2) for h in summary["history"]],
        "train_seconds": summary.get("train_seconds"),
        "recipe": summary["config"],
        "test": scores,
    }


def run_one(model: str, dataset: str, seed: int, data_dir: str) -> dict[str, Any]:
    started = time.time()
    outcome = run_tfidf(dataset, seed, data_dir) if model == "tfidf" else run_neural(model, dataset, seed, data_dir)
    return {
        "model": model,
        "dataset": dataset,
        "seed": seed,
        **outcome,
        "seconds": round(time.time() - started, 1),
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch threads {_torch_threads()}",
    }


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def aggregate() -> dict[str, Any]:
    """Mean ± (sample) std of test scores over the cached seeds of each (model, dataset)."""
    table: dict[str, Any] = {}
    for path in sorted((RESULTS / "text_erc").glob("*/*/seed*.json")):
        result = json.loads(path.read_text(encoding="utf-8"))
        table.setdefault(result["model"], {}).setdefault(result["dataset"], []).append(result)
    summary: dict[str, Any] = {}
    for model, per_dataset in table.items():
        for dataset, results in per_dataset.items():
            entry: dict[str, Any] = {"seeds": sorted(r["seed"] for r in results)}
            for metric in ("weighted_f1", "macro_f1", "accuracy", "micro_f1_without_neutral"):
                values = [r["test"][metric] for r in results if metric in r["test"]]
                if not values:
                    continue
                entry[metric] = {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0}
            entry["dev_weighted_f1"] = statistics.fmean(r["dev"]["weighted_f1"] for r in results)
            entry["minutes_per_run"] = statistics.fmean(r["seconds"] for r in results) / 60
            summary.setdefault(model, {})[dataset] = entry
    return summary


TABLE_COLUMNS = (  # (data set, metric, header)
    ("iemocap", "weighted_f1", "IEMOCAP test wF1"),
    ("iemocap", "macro_f1", "IEMOCAP macro F1"),
    ("meld", "weighted_f1", "MELD test wF1"),
    ("meld", "macro_f1", "MELD macro F1"),
    ("dailydialog", "weighted_f1", "DailyDialog test wF1"),
    ("dailydialog", "micro_f1_without_neutral", "DailyDialog micro F1 w/o neutral"),
)


def _cell(entry: dict[str, Any] | None, metric: str) -> str:
    if entry is None or metric not in entry:
        return "–"
    value = entry[metric]
    return f"{value['mean']:.1f}" + (f" ± {value['std']:.1f}" if len(entry["seeds"]) > 1 else " (1 seed)")


def render_table(summary: dict[str, Any]) -> str:
    order = [m for m in ("tfidf", *NEURAL_MODELS) if m in summary]
    datasets = ("iemocap", "meld", "dailydialog")
    lines = [
        f"| model | {' | '.join(header for _, _, header in TABLE_COLUMNS)} | seeds (IEMOCAP/MELD/DailyDialog) | minutes per run (same order) |",
        "|---|" + "---|" * (len(TABLE_COLUMNS) + 2),
    ]
    for model in order:
        cells = [_cell(summary[model].get(dataset), metric) for dataset, metric, _ in TABLE_COLUMNS]
        entries = [summary[model].get(dataset) for dataset in datasets]
        seeds = "/".join(str(len(e["seeds"])) if e else "0" for e in entries)
        minutes = ", ".join(f"{e['minutes_per_run']:.1f}" if e else "–" for e in entries)
        lines.append(f"| `{model}` | {' | '.join(cells)} | {seeds} | {minutes} |")
    stamp = (
        f"Generated by `python benchmarks/text_erc.py` on {date.today().isoformat()}; {platform.machine()}, {os.cpu_count()} CPU cores, no GPU. "
        "`tfidf` is deterministic, so its seeds agree exactly; minutes include evaluation. "
        "Rows differ in the date and machine they were measured on: each result file records both."
    )
    return "\n".join([stamp, "", *lines])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["tfidf", "mlp", "bigru", "finetune-bigru"], choices=["tfidf", *NEURAL_MODELS])
    parser.add_argument("--datasets", nargs="+", default=["meld", "iemocap"], choices=["meld", "iemocap", "dailydialog"])
    parser.add_argument("--seeds", type=int, help="seeds per model (default: 5, or 3 for fine-tuning)")
    parser.add_argument("--data-dir", default=DEFAULT_DATA)
    parser.add_argument("--report", action="store_true", help="only aggregate cached results and regenerate the README table")
    args = parser.parse_args()

    if not args.report:
        for model in args.models:
            for seed in range(args.seeds or DEFAULT_SEEDS[model]):
                for dataset in args.datasets:
                    path = result_path(model, dataset, seed)
                    if path.is_file():
                        continue
                    print(f"== {model} on {dataset}, seed {seed}", flush=True)
                    result = run_one(model, dataset, seed, args.data_dir)
                    write_text_atomic(path, json.dumps(result, indent=2) + "\n")
                    print(f"   test weighted F1 {result['test']['weighted_f1']:.2f}", flush=True)
    summary = aggregate()
    write_text_atomic(RESULTS / "text_erc.json", json.dumps(summary, indent=2) + "\n")
    table = render_table(summary)
    update_readme("text_erc", table)
    print(table)


if __name__ == "__main__":
    main()
