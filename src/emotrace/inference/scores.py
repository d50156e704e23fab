"""The scores ERC papers report (accuracy, weighted F1, macro F1, per-class F1) and a confusion-matrix figure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from emotrace.errors import EmotraceError
from emotrace.io.atomic import atomic_path
from emotrace.labels import UNSCORED
from emotrace.schema import Conversation


def gold_indices(conversations: list[Conversation], labels: list[str]) -> np.ndarray:
    """Gold emotion of every utterance as an index into `labels`, UNSCORED for a context-only utterance (no
    emotion); an unknown label is a user error. Scores and losses are taken over `gold != UNSCORED` only."""
    index = {label: i for i, label in enumerate(labels)}
    gold = []
    for conversation in conversations:
        for position, utterance in enumerate(conversation.utterances, 1):
            if not utterance.emotion:
                gold.append(UNSCORED)
                continue
            if utterance.emotion not in index:
                raise EmotraceError(
                    f"utterance {position} has emotion {utterance.emotion!r}, which the model does not know",
                    path=conversation.id,
                    hint=f"labels are {', '.join(labels)}",
                )
            gold.append(index[utterance.emotion])
    return np.array(gold, dtype=np.int64)


def classification_scores(gold: np.ndarray, predicted: np.ndarray, labels: list[str]) -> dict[str, Any]:
    """Percentages, as ERC papers report them; `micro_f1_without_neutral` is DailyDialog's usual metric (micro F1
    over the emotion classes only, so that the majority neutral class counts neither as a hit nor as a miss)."""
    from sklearn.metrics import accuracy_score, f1_score

    ids = list(range(len(labels)))
    per_class = f1_score(gold, predicted, labels=ids, average=None, zero_division=0)
    emotional = [i for i in ids if labels[i] != "neutral"]
    return {
        "n": int(len(gold)),
        "accuracy": 100 * float(accuracy_score(gold, predicted)),
        "weighted_f1": 100 * float(f1_score(gold, predicted, labels=ids, average="weighted", zero_division=0)),
        "macro_f1": 100 * float(f1_score(gold, predicted, labels=ids, average="macro", zero_division=0)),
        "micro_f1_without_neutral": 100 * float(f1_score(gold, predicted, labels=emotional, average="micro", zero_division=0)),
        "per_class_f1": {label: 100 * float(score) for label, score in zip(labels, per_class)},
    }


def save_confusion_matrix(gold: np.ndarray, predicted: np.ndarray, labels: list[str], path: str | Path, title: str) -> None:
    """Row-normalised confusion matrix (recall per gold class), counts in each cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import confusion_matrix

    counts = confusion_matrix(gold, predicted, labels=list(range(len(labels))))
    rates = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    figure, axes = plt.subplots(figsize=(1.1 * len(labels) + 2, 1.0 * len(labels) + 1.5))
    axes.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    axes.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xlabel("predicted")
    axes.set_ylabel("gold")
    axes.set_title(title)
    for i in range(len(labels)):
        for j in range(len(labels)):
            axes.text(j, i, str(counts[i, j]), ha="center", va="center", color="white" if rates[i, j] > 0.5 else "black", fontsize=8)
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=120)
    plt.close(figure)
