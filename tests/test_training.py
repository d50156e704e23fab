import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import emotrace.training.loop as loop
from emotrace.errors import EmotraceError
from emotrace.labels import UNSCORED
from emotrace.models.bundle import load_bundle
from emotrace.schema import Conversation, Utterance
from emotrace.training.config import TrainConfig, recipe
from emotrace.training.loop import TrainData, class_weights, learning_rate_factor, train
from emotrace.training.windows import dialogue_windows

LABELS = ["anger", "joy", "neutral"]


def _data(train_dev: tuple) -> TrainData:
    return TrainData(train_dev[0], train_dev[1], LABELS, None, {"name": "synthetic"})


def _config(**overrides: object) -> TrainConfig:
    values = {"model": "bigru", "epochs": 6, "lr": 3e-3, "batch_utterances": 12, "patience": 6, **overrides}
    return TrainConfig(**values)  # type: ignore[arg-type]


def test_training_learns_obvious_emotions_and_writes_a_bundle(tmp_path: Path, tiny_train_dev: tuple) -> None:
    summary = train(_config(), _data(tiny_train_dev), tmp_path / "run", progress=False, command="pytest")
    assert summary["best_dev"]["weighted_f1"] > 90
    assert len(summary["history"]) == 6
    assert {p.name for p in (tmp_path / "run").iterdir()} == {"config.json", "model.safetensors", "MODEL_CARD.md", "training.json"}
    card = (tmp_path / "run" / "MODEL_CARD.md").read_text()
    assert "pytest" in card and "temperature-scaled" in card
    assert "Dev learning curve (epoch: weighted F1): 1: " in card and "6: " in card
    calibration = json.loads((tmp_path / "run" / "config.json").read_text())["calibration"]
    assert calibration["temperature"] > 0
    assert calibration["dev_after"]["nll"] <= calibration["dev_before"]["nll"] + 1e-9
    assert load_bundle(tmp_path / "run").temperature == calibration["temperature"]


def test_killed_run_resumes_to_the_same_weights_as_an_uninterrupted_one(tmp_path: Path, tiny_train_dev: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config(epochs=3, checkpoint_minutes=0.0)
    train(config, _data(tiny_train_dev), tmp_path / "straight", progress=False)

    real_save = loop.save_checkpoint
    calls = {"n": 0}

    def save_then_die(*args: object, **kwargs: object) -> None:
        real_save(*args, **kwargs)  # type: ignore[arg-type]
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt

    monkeypatch.setattr(loop, "save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train(config, _data(tiny_train_dev), tmp_path / "killed", progress=False)
    monkeypatch.setattr(loop, "save_checkpoint", real_save)
    with pytest.raises(EmotraceError, match="--resume"):
        train(config, _data(tiny_train_dev), tmp_path / "killed", progress=False)
    summary = train(config, _data(tiny_train_dev), tmp_path / "killed", resume=True, progress=False)

    assert [h["epoch"] for h in summary["history"]] == [1, 2, 3]
    assert summary["train_seconds"] > 0  # the time before the kill is kept in the checkpoint and counted
    straight = load_file(str(tmp_path / "straight" / "model.safetensors"))
    resumed = load_file(str(tmp_path / "killed" / "model.safetensors"))
    assert straight.keys() == resumed.keys()
    for name in straight:
        torch.testing.assert_close(straight[name], resumed[name])
    assert not (tmp_path / "killed" / "checkpoint.safetensors").exists()


def test_early_stopping_ends_the_run_after_patience_epochs_without_improvement(tmp_path: Path, tiny_train_dev: tuple) -> None:
    summary = train(_config(epochs=30, lr=1e-2, patience=2), _data(tiny_train_dev), tmp_path / "run", progress=False)
    epochs_run = len(summary["history"])
    assert epochs_run < 30
    assert epochs_run - summary["best_epoch"] == 2


def test_learning_rate_warms_up_then_decays_to_zero() -> None:
    factors = [learning_rate_factor(step, total=10, warmup=2) for step in range(10)]
    assert factors[0] == 0.5 and factors[1] == 1.0
    assert all(a >= b for a, b in zip(factors[1:], factors[2:]))
    assert factors[-1] == pytest.approx(1 / 8)


def test_recipes_pin_benchmark_hyperparameters_and_accept_overrides() -> None:
    config = recipe("finetune-bigru", "meld", seed=2, epochs=1)
    assert (config.seed, config.epochs, config.lr, config.batch_utterances) == (2, 1, 5e-4, 32)
    assert TrainConfig.from_dict(config.to_dict()) == config


def test_class_weights_follow_inverse_frequency_and_average_one_per_utterance() -> None:
    targets = [{"emotion": torch.tensor([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, UNSCORED])}, {"emotion": torch.tensor([0, 0, 0, 0, 0, 0])}]
    weights = class_weights(targets, 3, 1.0)
    assert weights is not None
    assert weights[1] / weights[0] == pytest.approx(7.0)
    assert weights[2] == pytest.approx(weights[1])  # unseen in training: the largest weight seen
    assert (weights[0] * 14 + weights[1] * 2) / 16 == pytest.approx(1.0)
    square_root = class_weights(targets, 3, 0.5)
    assert square_root is not None and square_root[1] / square_root[0] == pytest.approx(7.0**0.5)
    assert class_weights(targets, 3, 0.0) is None


def test_class_balanced_training_still_learns(tmp_path: Path, tiny_train_dev: tuple) -> None:
    summary = train(_config(class_balance=0.5), _data(tiny_train_dev), tmp_path / "run", progress=False)
    assert summary["best_dev"]["weighted_f1"] > 90


def test_default_text_recipe_trains_to_convergence_rather_than_a_fixed_epoch_count() -> None:
    config = recipe("dialogue-minilm", "any-new-corpus")
    assert (config.epochs, config.patience, config.class_balance) == (10, 2, 0.5)


def test_dialogue_windows_score_every_turn_once_and_keep_neighbours_as_context() -> None:
    turns = [Utterance("A" if i % 2 else "B", f"turn {i}", emotion="joy", sentiment="positive") for i in range(10)]
    long, short = Conversation("long", turns), Conversation("short", turns[:3])
    windows = dialogue_windows([long, short], size=4, margin=1)
    assert [c.id for c in windows] == ["long#0", "long#4", "long#8", "short"]
    assert [u.text for u in windows[1].utterances] == ["turn 3", "turn 4", "turn 5", "turn 6", "turn 7", "turn 8"]
    assert [u.emotion for u in windows[1].utterances] == [None, "joy", "joy", "joy", "joy", None]
    assert windows[1].utterances[0].sentiment is None and long.utterances[3].emotion == "joy"
    scored = [u.text for c in windows for u in c.utterances if u.emotion]
    assert sorted(scored) == sorted(u.text for c in (long, short) for u in c.utterances)
    assert dialogue_windows([long], size=0) == [long]
