"""MODEL_CARD.md for a trained bundle: what it was trained on, under which licence, how well it does, how to remake it."""

from __future__ import annotations

from typing import Any


def model_card(
    name: str,
    config: dict[str, Any],
    data: dict[str, Any],
    dev_scores: dict[str, Any],
    command: str,
    calibration: dict[str, Any] | None = None,
    history: list[dict[str, Any]] | None = None,
) -> str:
    if calibration is None:
        confidence = "Confidences are plain softmax probabilities (not calibrated)."
    else:
        before, after = calibration["dev_before"], calibration["dev_after"]
        confidence = (
            f"Confidences are temperature-scaled (T = {calibration['temperature']:.2f}, fitted on {calibration['fitted_on']}): "
            f"dev ECE {before['ece']:.3f} → {after['ece']:.3f} (15 equal-width bins), NLL {before['nll']:.3f} → {after['nll']:.3f}."
        )
    curve = ""
    if history:
        points = ", ".join(f"{h['epoch']}: {h['dev']['weighted_f1']:.1f}" for h in history)
        curve = f"\nDev learning curve (epoch: weighted F1): {points}. Training stops after {config.get('patience', '?')} epochs without a gain.\n"
    per_class = ", ".join(f"{label} {score:.1f}" for label, score in dev_scores["per_class_f1"].items())
    return f"""# {name}

Emotion recognition in conversation, trained with emotrace.

- **Model**: `{config["model"]}` with arguments `{config["model_args"]}`; only the trained parameters are stored
  (pretrained encoders come from their own packages).
- **Training data**: {data.get("name", "user data")} ({data.get("train_utterances", "?")} utterances),
  selected on {data.get("dev_name", "its dev split")}.
- **Data licence**: {data.get("licence", "as given by the data owner")}.
- **Labels**: {", ".join(data.get("labels", []))}.
- **Seed**: {config["seed"]}; epochs (max) {config["epochs"]}, learning rate {config["lr"]}.

## Dev scores (the split used for model selection; test scores come from `emotrace evaluate`)
Weighted F1 {dev_scores["weighted_f1"]:.2f}, macro F1 {dev_scores["macro_f1"]:.2f},
accuracy {dev_scores["accuracy"]:.2f} on {dev_scores["n"]} utterances.
Per-class F1: {per_class}.
{curve}
## Reproduce
```
{command}
```

## Limits
Text only. Trained on {data.get("name", "the data above")}; expect lower accuracy on other domains.
{confidence}
"""
