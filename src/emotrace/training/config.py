"""Training hyper-parameters and the recipes that fix them per (model, data set), after SpeechBrain:
every number we report comes from one of these recipes, and `emotrace train` uses the same ones."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass
class TrainConfig:
    model: str
    model_args: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    epochs: int = 20
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_fraction: float = 0.1
    batch_utterances: int = 256
    patience: int = 4
    sentiment_weight: float = 0.5
    checkpoint_minutes: float = 5.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


_FINETUNE = {"lr": 5e-4, "batch_utterances": 32, "patience": 1, "checkpoint_minutes": 3.0}

RECIPES: dict[str, dict[str, dict[str, Any]]] = {
    "mlp": {"default": {"epochs": 30, "lr": 1e-3, "patience": 5}},
    "bigru": {"default": {"epochs": 30, "lr": 1e-3, "patience": 5}},
    "skip-gru": {"default": {"epochs": 30, "lr": 1e-3, "patience": 5, "model_args": {"budget": 0.05}}},  # λ of the budget loss: best on MELD dev (benchmarks/skip_rnn.py)
    "early-fusion": {"default": {"epochs": 15, "lr": 5e-4, "patience": 3}},
    "cmath": {"default": {"epochs": 15, "lr": 5e-4, "patience": 3}},
    "finetune": {"default": {**_FINETUNE, "epochs": 3}, "meld": {**_FINETUNE, "epochs": 2}, "iemocap": {**_FINETUNE, "epochs": 4}},
    "finetune-bigru": {"default": {**_FINETUNE, "epochs": 3}, "meld": {**_FINETUNE, "epochs": 2}, "iemocap": {**_FINETUNE, "epochs": 4}},
}


def recipe(model: str, dataset: str, seed: int = 0, **overrides: Any) -> TrainConfig:
    """The recipe for `model` on `dataset` (a benchmark name, or anything else for the model's default)."""
    per_model = RECIPES.get(model, {})
    values = dict(per_model.get(dataset, per_model.get("default", {})))
    values.update({k: v for k, v in overrides.items() if v is not None})
    return TrainConfig(model=model, seed=seed, **values)
