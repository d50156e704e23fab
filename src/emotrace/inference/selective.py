"""Selective prediction: answer only the utterances the model is most confident about. The risk–coverage curve
and its area (AURC; Geifman & El-Yaniv, 2017) say how well confidence ranks right above wrong answers."""

from __future__ import annotations

from typing import Any

import numpy as np

from emotrace.inference.scores import classification_scores

COVERAGES = (0.5, 0.7, 0.9)


def risk_coverage(confidence: np.ndarray, correct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(coverage, risk) after keeping the k most confident answers, for k = 1..N."""
    order = np.argsort(-confidence, kind="stable")
    errors = np.cumsum(1.0 - correct[order])
    kept = np.arange(1, len(order) + 1)
    return kept / len(order), errors / kept


def selective_scores(probabilities: np.ndarray, gold: np.ndarray, labels: list[str]) -> dict[str, Any]:
    """AURC, and weighted F1 on the most confident 50/70/90% of utterances beside full coverage."""
    confidence = probabilities.max(1)
    predicted = probabilities.argmax(1)
    coverage, risk = risk_coverage(confidence, (predicted == gold).astype(float))
    order = np.argsort(-confidence, kind="stable")
    at_coverage = {}
    for share in COVERAGES:
        kept = order[: max(1, int(round(share * len(order))))]
        at_coverage[f"{int(share * 100)}%"] = classification_scores(gold[kept], predicted[kept], labels)["weighted_f1"]
    return {
        "aurc": float(risk.mean()),
        "weighted_f1_at_coverage": at_coverage,
        "coverage_curve": coverage[:: max(1, len(coverage) // 50)].tolist(),
        "risk_curve": risk[:: max(1, len(risk) // 50)].tolist(),
    }
