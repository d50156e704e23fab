"""EmoDB speech emotion benchmark, leave-one-speaker-out over the 10 speakers (the standard speaker-independent
protocol): unweighted average recall (UAR), accuracy and per-class recall, pooled over the 10 held-out folds.

    python benchmarks/emodb.py [--data-dir ../shared/datasets]

Classical path: openSMILE functionals (eGeMAPSv02, ComParE_2016) of the trimmed clip, z-scored per speaker
(unsupervised; each held-out speaker is normalised with its own unlabelled clips), then a linear classifier
whose regularisation is chosen by an inner leave-one-speaker-out on the training speakers only.
Features are cached in benchmarks/runs/emodb/; each (features, classifier) result and each log-mel CNN fold's
predictions in benchmarks/results/emodb/ (committed, so a later session on another machine resumes there too).
The summary goes to benchmarks/results/emodb.json and the README.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_DATA, RESULTS, RUNS, mean_std, update_readme, write_text_atomic  # noqa: E402

from emotrace.io.atomic import atomic_path  # noqa: E402

CLASSIFIERS = ("logreg", "linear-svm")
# Regularisation grids of the inner search: wide enough that no fold picks an edge (ComParE's 6,373 dimensions want
# strong regularisation; a first grid starting at 1e-3 for the SVM and 1e-2 for logreg had 19 of ComParE's 20 folds at
# its lower edge).
STRENGTHS = {"logreg": (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0), "linear-svm": (1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)}
CNN_SEEDS = 3


def features(feature_set: str, data_dir: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(features, labels, speakers, seconds per clip); extraction is cached per feature set."""
    from emotrace.datasets import load_dataset
    from emotrace.encoders.audio import FunctionalsEncoder, load_audio

    utterances = [c.utterances[0] for c in load_dataset("emodb", "all", data_dir)]
    cache = RUNS / "emodb" / f"{feature_set}.npz"
    labels = np.array([u.emotion for u in utterances])
    speakers = np.array([u.speaker for u in utterances])
    if cache.is_file():
        stored = np.load(cache)
        if list(stored["ids"]) == [u.id for u in utterances]:
            return stored["features"], labels, speakers, float(stored["seconds_per_clip"])
    started = time.perf_counter()
    matrix = FunctionalsEncoder(feature_set).embed([load_audio(u.media["audio"]) for u in utterances])
    seconds = (time.perf_counter() - started) / len(utterances)
    with atomic_path(cache) as temporary:
        with open(temporary, "wb") as handle:
            np.savez(handle, features=matrix, ids=np.array([u.id for u in utterances]), seconds_per_clip=seconds)
    return matrix, labels, speakers, seconds


def make_classifier(name: str, strength: float) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    if name == "logreg":
        return LogisticRegression(C=strength, max_iter=5000, class_weight="balanced")
    return LinearSVC(C=strength, class_weight="balanced", max_iter=20000, random_state=0)


def inner_prediction(matrix: np.ndarray, labels: np.ndarray, fit: np.ndarray, test: np.ndarray, classifier: str, strength: float) -> np.ndarray:
    """One inner-fold fit: a job of the regularisation search, run in parallel over the cores."""
    return make_classifier(classifier, strength).fit(matrix[fit], labels[fit]).predict(matrix[test])


def uar(gold: np.ndarray, predicted: np.ndarray) -> float:
    from sklearn.metrics import recall_score

    return 100 * float(recall_score(gold, predicted, average="macro"))


def recall_scores(labels: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    """UAR, accuracy and per-class recall (percentages) over all held-out folds pooled."""
    from sklearn.metrics import accuracy_score, recall_score

    classes = sorted(np.unique(labels))
    recalls = recall_score(labels, predicted, labels=classes, average=None)
    return {
        "uar": uar(labels, predicted),
        "accuracy": 100 * float(accuracy_score(labels, predicted)),
        "per_class_recall": {label: 100 * float(r) for label, r in zip(classes, recalls)},
    }


def leave_one_speaker_out(matrix: np.ndarray, labels: np.ndarray, speakers: np.ndarray, classifier: str) -> dict[str, Any]:
    from joblib import Parallel, delayed

    from emotrace.encoders.audio import standardize_per_speaker

    normalised = np.nan_to_num(standardize_per_speaker(matrix, speakers))
    strengths = STRENGTHS[classifier]
    predicted = np.empty_like(labels)
    chosen: dict[str, float] = {}
    for held_out in np.unique(speakers):
        train = speakers != held_out
        inner_speakers = np.unique(speakers[train])
        jobs = [(strength, inner) for strength in strengths for inner in inner_speakers]
        inner_predictions = Parallel(n_jobs=os.cpu_count())(
            delayed(inner_prediction)(normalised, labels, train & (speakers != inner), speakers == inner, classifier, strength) for strength, inner in jobs
        )
        by_job = dict(zip(jobs, inner_predictions))
        scores = {}
        for strength in strengths:
            inner_predicted = np.empty_like(labels)
            for inner in inner_speakers:
                inner_predicted[speakers == inner] = by_job[strength, inner]
            scores[strength] = uar(labels[train], inner_predicted[train])
        best = max(strengths, key=lambda s: scores[s])
        chosen[str(held_out)] = best
        model = make_classifier(classifier, best).fit(normalised[train], labels[train])
        predicted[~train] = model.predict(normalised[~train])
    return {**recall_scores(labels, predicted), "C_grid": list(strengths), "chosen_C_per_fold": chosen}


def chosen_strength(feature_set: str) -> float:
    """The C the benchmark's inner leave-one-speaker-out chose most often for the logistic-regression path."""
    from collections import Counter

    benchmark = json.loads((RESULTS / "emodb" / f"{feature_set}_logreg.json").read_text(encoding="utf-8"))
    return Counter(benchmark["chosen_C_per_fold"].values()).most_common(1)[0][0]


def out_of_fold_probabilities(feature_set: str, strength: float, data_dir: str) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    """Leave-one-speaker-out probabilities of the logistic-regression path at a fixed C (cached):
    every clip scored by a model that never heard its speaker. Returns (probabilities, gold, classes, clip ids)."""
    from emotrace.datasets import load_dataset
    from emotrace.encoders.audio import standardize_per_speaker

    matrix, labels, speakers, _ = features(feature_set, data_dir)
    ids = np.array([c.utterances[0].id for c in load_dataset("emodb", "all", data_dir)])
    classes = sorted(np.unique(labels))
    gold = np.array([classes.index(label) for label in labels])
    cache = RUNS / "emodb" / f"out_of_fold_{feature_set}_C{strength}.npz"
    if cache.is_file():
        return np.load(cache)["probabilities"], gold, classes, ids
    normalised = np.nan_to_num(standardize_per_speaker(matrix, speakers))
    probabilities = np.zeros((len(labels), len(classes)))
    for held_out in np.unique(speakers):
        train = speakers != held_out
        probabilities[~train] = make_classifier("logreg", strength).fit(normalised[train], labels[train]).predict_proba(normalised[~train])
    with atomic_path(cache) as temporary:
        with open(temporary, "wb") as handle:
            np.savez(handle, probabilities=probabilities)
    return probabilities, gold, classes, ids


def cnn_leave_one_speaker_out(data_dir: str, seed: int) -> dict[str, Any]:
    """Log-mel CNN with SpecAugment, one model per held-out speaker, fixed recipe (no test-fold tuning)."""
    import torch

    from emotrace.datasets import load_dataset
    from emotrace.encoders.audio import load_audio
    from emotrace.encoders.speech_cnn import SpeechCNN, augment_spectrograms, spectrogram_batch
    from emotrace.research.clips import ClipTrainConfig, train_classifier

    utterances = [c.utterances[0] for c in load_dataset("emodb", "all", data_dir)]
    labels = np.array([u.emotion for u in utterances])
    speakers = np.array([u.speaker for u in utterances])
    classes = sorted(np.unique(labels))
    targets = torch.tensor([classes.index(label) for label in labels])
    spectrograms, lengths = spectrogram_batch([load_audio(u.media["audio"]) for u in utterances], n_mels=64)
    predicted = np.empty_like(labels)
    minutes = 0.0
    for held_out in np.unique(speakers):
        fold_cache = RESULTS / "emodb" / f"logmel-cnn_seed{seed}" / f"speaker{held_out}.json"  # kept in git: a fold costs minutes
        if not fold_cache.is_file():
            started = time.perf_counter()
            train = torch.from_numpy(speakers != held_out)
            model = train_classifier(
                lambda: SpeechCNN(classes), (spectrograms[train], lengths[train]), targets[train], ClipTrainConfig(seed=seed), augment_spectrograms
            )
            with torch.inference_mode():
                scores = model(spectrograms[~train], lengths[~train])
            fold = {"predicted": np.array(classes)[scores.argmax(-1).numpy()].tolist(), "minutes": (time.perf_counter() - started) / 60}
            write_text_atomic(fold_cache, json.dumps(fold) + "\n")
        fold = json.loads(fold_cache.read_text(encoding="utf-8"))
        predicted[speakers == held_out] = fold["predicted"]
        minutes += fold["minutes"]
    return {**recall_scores(labels, predicted), "train_minutes_all_folds": minutes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=DEFAULT_DATA)
    parser.add_argument("--classical-only", action="store_true", help="skip the log-mel CNN (one to two hours per seed here)")
    parser.add_argument("--cnn-seeds", type=int, default=CNN_SEEDS, help="seeds of the log-mel CNN (one to two hours each here; folds are cached)")
    parser.add_argument("--report", action="store_true", help="only tabulate the cached results; compute nothing")
    parser.add_argument("--cnn-only", action="store_true", help="compute only the log-mel CNN; tabulate the cached classical rows")
    args = parser.parse_args()
    results = []
    for feature_set in ("eGeMAPSv02", "ComParE_2016"):
        for classifier in CLASSIFIERS:
            cached = RESULTS / "emodb" / f"{feature_set}_{classifier}.json"
            if (args.report or args.cnn_only) and not cached.is_file():
                continue
            if not cached.is_file():
                matrix, labels, speakers, seconds = features(feature_set, args.data_dir)
                scores = leave_one_speaker_out(matrix, labels, speakers, classifier)
                result = {
                    "features": feature_set,
                    "classifier": classifier,
                    "dims": int(matrix.shape[1]),
                    "clips": int(len(labels)),
                    "extract_seconds_per_clip": seconds,
                    "computed": computed_on(),
                    **scores,
                }
                write_text_atomic(cached, json.dumps(result, indent=2) + "\n")
            results.append(json.loads(cached.read_text(encoding="utf-8")))
            print(f"{feature_set} + {classifier}: UAR {results[-1]['uar']:.1f}, accuracy {results[-1]['accuracy']:.1f}", flush=True)
    cnn_runs = []
    for seed in range(0 if args.classical_only else args.cnn_seeds):
        cached = RESULTS / "emodb" / f"logmel-cnn_seed{seed}.json"
        if args.report and not cached.is_file():
            continue
        if not cached.is_file():
            result = {
                "features": "log-mel 64",
                "classifier": "cnn+specaugment",
                "seed": seed,
                "computed": computed_on(),
                **cnn_leave_one_speaker_out(args.data_dir, seed),
            }
            write_text_atomic(cached, json.dumps(result, indent=2) + "\n")
        cnn_runs.append(json.loads(cached.read_text(encoding="utf-8")))
        print(f"log-mel CNN seed {seed}: UAR {cnn_runs[-1]['uar']:.1f}", flush=True)
    stamp = {"date": date.today().isoformat(), "clips": results[0]["clips"]}
    write_text_atomic(RESULTS / "emodb.json", json.dumps({**stamp, "results": results, "cnn": cnn_runs}, indent=2) + "\n")
    block = report(results, cnn_runs, stamp)
    update_readme("emodb", block)
    print(block)


def computed_on() -> str:
    """Date and machine of a freshly computed result, kept in its JSON: rows of one table may come from different days."""
    return f"{date.today().isoformat()}; {platform.machine()}, {os.cpu_count()} cores"


def report(results: list[dict[str, Any]], cnn_runs: list[dict[str, Any]], stamp: dict[str, Any]) -> str:
    """The README block: scores per path, then per-class recall (the issue asks for both)."""
    rows = [(f"{r['features']} + {r['classifier']}", r) for r in results]
    if cnn_runs:
        seeds = f"{len(cnn_runs)} seed" + ("s" if len(cnn_runs) > 1 else "")
        classes = cnn_runs[0]["per_class_recall"]
        pooled = {
            "dims": "–",
            "extract_seconds_per_clip": None,
            "computed": cnn_runs[-1]["computed"],
            "uar": [r["uar"] for r in cnn_runs],
            "accuracy": [r["accuracy"] for r in cnn_runs],
            "per_class_recall": {c: float(np.mean([r["per_class_recall"][c] for r in cnn_runs])) for c in classes},
        }
        rows.append((f"log-mel 64 + CNN, SpecAugment ({seeds})", pooled))

    def score(value: float | list[float]) -> str:
        return mean_std(value if isinstance(value, list) else [value])

    classes = list(results[0]["per_class_recall"])
    lines = [
        f"EmoDB, leave-one-speaker-out over 10 speakers, {stamp['clips']} clips (the 2-s copy, padding trimmed); recall pooled "
        f"over the 10 held-out speakers. Generated by `python benchmarks/emodb.py` on {stamp['date']} from the cached rows; "
        "each row names the day and machine it was computed on. The classical rows are deterministic (no seeds).",
        "",
        "| path | dims | UAR | accuracy | extraction s/clip | computed |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in rows:
        seconds = "–" if r["extract_seconds_per_clip"] is None else f"{r['extract_seconds_per_clip']:.3f}"
        lines.append(f"| {name} | {r['dims']} | {score(r['uar'])} | {score(r['accuracy'])} | {seconds} | {r.get('computed', '–')} |")
    lines += ["", "Per-class recall (%):", "", "| path | " + " | ".join(classes) + " |", "|---" * (len(classes) + 1) + "|"]
    for name, r in rows:
        lines.append(f"| {name} | " + " | ".join(f"{r['per_class_recall'][c]:.1f}" for c in classes) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
