import numpy as np
import pytest

from emotrace.inference.scores import classification_scores

LABELS = ["neutral", "joy", "anger"]


def test_micro_f1_without_neutral_ignores_neutral_hits_and_counts_neutral_misses() -> None:
    gold = np.array([0, 0, 0, 1, 1, 2])
    predicted = np.array([0, 0, 1, 1, 0, 2])
    scores = classification_scores(gold, predicted, LABELS)
    # emotion classes only: 2 true positives (joy, anger), 1 false positive (neutral called joy), 1 false negative (joy called neutral)
    assert scores["micro_f1_without_neutral"] == pytest.approx(100 * 2 / (2 + 0.5 * (1 + 1)))
    assert scores["accuracy"] == pytest.approx(100 * 4 / 6)
