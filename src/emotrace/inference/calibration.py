"""Calibrated confidence: temperature scaling (Guo et al., ICML 2017) fitted on dev, and the scores that show
whether a confidence of 0.8 really means right 80% of the time: ECE, Brier score, negative log-likelihood.

ECE uses 15 equal-width confidence bins (Guo et al.'s convention); the equal-mass variant is reported beside it
because most ERC predictions crowd into a few high-confidence bins.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from emotrace.io.atomic import atomic_path

BINS = 15


def log_softmax(scores: np.ndarray) -> np.ndarray:
    shifted = scores - scores.max(1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(1, keepdims=True))


def apply_temperature(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(log p / T): the same as dividing the logits by T, since log p differs from them by a per-row constant."""
    return np.exp(log_softmax(np.log(np.clip(probabilities, 1e-12, 1.0)) / temperature))


def fit_temperature(probabilities: np.ndarray, gold: np.ndarray) -> float:
    """The T > 0 that minimises dev NLL; one scalar, so accuracy (the argmax) never changes."""
    from scipy.optimize import minimize_scalar

    log_probabilities = np.log(np.clip(probabilities, 1e-12, 1.0))

    def nll(log_temperature: float) -> float:
        scaled = log_softmax(log_probabilities / np.exp(log_temperature))
        return float(-scaled[np.arange(len(gold)), gold].mean())

    return float(np.exp(minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded").x))


def _ece(confidence: np.ndarray, correct: np.ndarray, edges: np.ndarray) -> float:
    bins = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, len(edges) - 2)
    total = 0.0
    for b in range(len(edges) - 1):
        chosen = bins == b
        if chosen.any():
            total += chosen.mean() * abs(correct[chosen].mean() - confidence[chosen].mean())
    return float(total)


def calibration_scores(probabilities: np.ndarray, gold: np.ndarray) -> dict[str, float]:
    confidence = probabilities.max(1)
    correct = (probabilities.argmax(1) == gold).astype(float)
    one_hot = np.eye(probabilities.shape[1])[gold]
    equal_mass_edges = np.quantile(confidence, np.linspace(0, 1, BINS + 1))
    equal_mass_edges[0], equal_mass_edges[-1] = 0.0, 1.0
    return {
        "ece": _ece(confidence, correct, np.linspace(0, 1, BINS + 1)),
        "ece_equal_mass": _ece(confidence, correct, equal_mass_edges),
        "brier": float(((probabilities - one_hot) ** 2).sum(1).mean()),
        "nll": float(-np.log(np.clip(probabilities[np.arange(len(gold)), gold], 1e-12, 1.0)).mean()),
        "mean_confidence": float(confidence.mean()),
    }


def save_reliability_diagram(probabilities: np.ndarray, gold: np.ndarray, path: str | Path, title: str) -> None:
    """Accuracy against confidence in 15 equal-width bins; the diagonal is perfect calibration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    confidence = probabilities.max(1)
    correct = probabilities.argmax(1) == gold
    edges = np.linspace(0, 1, BINS + 1)
    bins = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, BINS - 1)
    centres, accuracy, counts = [], [], []
    for b in range(BINS):
        chosen = bins == b
        if chosen.any():
            centres.append((edges[b] + edges[b + 1]) / 2)
            accuracy.append(correct[chosen].mean())
            counts.append(int(chosen.sum()))
    figure, axes = plt.subplots(figsize=(4.5, 4.5))
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    axes.bar(centres, accuracy, width=1 / BINS, edgecolor="black", alpha=0.7)
    axes.set_xlabel("confidence")
    axes.set_ylabel("accuracy")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_title(title)
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=120)
    plt.close(figure)


def calibration_record(temperature: float, fitted_on: str, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What a bundle's config.json keeps about its calibration."""
    return {"method": "temperature scaling", "temperature": temperature, "fitted_on": fitted_on, "dev_before": before, "dev_after": after}


def calibrate_bundle(directory: str | Path, dev: list[Any], fitted_on: str, progress: bool = False) -> dict[str, Any]:
    """Fit the bundle's temperature on labelled dev conversations and record it in its config.json."""
    import json

    from emotrace.inference.predict import predict_probabilities
    from emotrace.inference.scores import gold_indices
    from emotrace.io.atomic import write_text_atomic
    from emotrace.labels import UNSCORED
    from emotrace.models.bundle import CONFIG_FILE, load_bundle, read_config

    model = load_bundle(directory)
    model.temperature = 1.0
    gold = gold_indices(dev, model.labels)
    probabilities, _ = predict_probabilities(model, dev, progress=progress)
    probabilities, gold = probabilities[gold != UNSCORED], gold[gold != UNSCORED]
    temperature = fit_temperature(probabilities, gold)
    record = calibration_record(
        temperature, fitted_on, calibration_scores(probabilities, gold), calibration_scores(apply_temperature(probabilities, temperature), gold)
    )
    config = read_config(directory)
    config["calibration"] = record
    write_text_atomic(Path(directory) / CONFIG_FILE, json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    return record
