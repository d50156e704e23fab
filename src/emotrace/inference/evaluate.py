"""Score a trained model on labelled conversations and leave the evidence beside it (scores JSON, confusion PNG)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emotrace.inference.calibration import calibration_scores, save_reliability_diagram
from emotrace.inference.predict import predict_probabilities
from emotrace.inference.scores import classification_scores, gold_indices, save_confusion_matrix
from emotrace.inference.selective import selective_scores
from emotrace.io.atomic import write_text_atomic
from emotrace.labels import UNSCORED
from emotrace.models.base import ERCModel
from emotrace.schema import Conversation

if TYPE_CHECKING:
    from rich.table import Table


def evaluate(model: ERCModel, conversations: list[Conversation], out_dir: str | Path, tag: str, progress: bool = True) -> dict[str, Any]:
    """Scores (with calibration: ECE, Brier, NLL; selective prediction: AURC, weighted F1 at coverage) as a dict; writes `eval_<tag>.json`, `confusion_<tag>.png`
    and `reliability_<tag>.png` into `out_dir`."""
    gold = gold_indices(conversations, model.labels)
    probabilities, _ = predict_probabilities(model, conversations, progress=progress)
    probabilities, gold = probabilities[gold != UNSCORED], gold[gold != UNSCORED]
    predicted = probabilities.argmax(1)
    scores = classification_scores(gold, predicted, model.labels)
    scores["calibration"] = {"temperature": model.temperature, **calibration_scores(probabilities, gold)}
    scores["selective"] = selective_scores(probabilities, gold, model.labels)
    out_dir = Path(out_dir)
    write_text_atomic(out_dir / f"eval_{tag}.json", json.dumps(scores, indent=2) + "\n")
    save_confusion_matrix(gold, predicted, model.labels, out_dir / f"confusion_{tag}.png", title=tag)
    save_reliability_diagram(probabilities, gold, out_dir / f"reliability_{tag}.png", title=f"{tag} (T = {model.temperature:.2f})")
    return scores


def scores_table(scores: dict[str, Any], tag: str) -> Table:
    """`evaluate`'s scores as the table `emotrace evaluate` (and `train --test`) prints."""
    from rich.table import Table

    table = Table(title=f"{tag}: {scores['n']} utterances")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for metric in ("accuracy", "weighted_f1", "macro_f1", "micro_f1_without_neutral"):
        table.add_row(metric, f"{scores[metric]:.2f}")
    for metric in ("ece", "brier", "nll"):
        table.add_row(f"{metric} (T = {scores['calibration']['temperature']:.2f})", f"{scores['calibration'][metric]:.4f}")
    table.add_row("aurc", f"{scores['selective']['aurc']:.4f}")
    for coverage, value in scores["selective"]["weighted_f1_at_coverage"].items():
        table.add_row(f"weighted_f1 at {coverage} coverage", f"{value:.2f}")
    for label, value in scores["per_class_f1"].items():
        table.add_row(f"F1 {label}", f"{value:.2f}")
    return table
