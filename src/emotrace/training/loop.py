"""The one training loop for every conversation model (after nanoGPT): batches of whole conversations, forward,
loss, backward, step; dev weighted F1 after each epoch; early stopping; the best epoch saved as a bundle.

Resumable: a checkpoint is written every `checkpoint_minutes` and at each epoch end; batch order is a pure
function of (seed, epoch), so a resumed run skips exactly the batches already done.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from emotrace.errors import EmotraceError
from emotrace.inference.calibration import calibrate_bundle
from emotrace.inference.predict import probabilities_of_prepared
from emotrace.inference.scores import classification_scores, gold_indices
from emotrace.io.atomic import write_text_atomic
from emotrace.labels import UNSCORED
from emotrace.models.base import ERCModel, utterance_batches
from emotrace.models.bundle import CARD_FILE, save_bundle
from emotrace.models.registry import create_model
from emotrace.schema import Conversation
from emotrace.training.card import model_card
from emotrace.training.checkpoint import has_checkpoint, load_checkpoint, save_checkpoint
from emotrace.training.config import TrainConfig
from emotrace.training.windows import dialogue_windows

SUMMARY_FILE = "training.json"


@dataclass
class TrainData:
    """What a run trains and selects on, and how the model card should describe it."""

    train: list[Conversation]
    dev: list[Conversation]
    labels: list[str]
    sentiment_labels: list[str] | None
    description: dict[str, Any]


def epoch_order(seed: int, epoch: int, count: int) -> list[int]:
    return np.random.default_rng([seed, epoch]).permutation(count).tolist()


def learning_rate_factor(step: int, total: int, warmup: int) -> float:
    """Linear warm-up, then linear decay to zero."""
    if step < warmup:
        return (step + 1) / warmup
    return max(0.0, (total - step) / max(1, total - warmup))


def _targets(conversations: list[Conversation], labels: list[str], sentiment_labels: list[str] | None) -> list[dict[str, torch.Tensor]]:
    emotions = torch.from_numpy(gold_indices(conversations, labels))
    sentiment_index = {s: i for i, s in enumerate(sentiment_labels or [])}
    targets, start = [], 0
    for conversation in conversations:
        end = start + len(conversation)
        sentiments = [sentiment_index.get(u.sentiment or "", -100) for u in conversation.utterances]
        targets.append({"emotion": emotions[start:end], "sentiment": torch.tensor(sentiments, dtype=torch.long)})
        start = end
    return targets


def class_weights(targets: list[dict[str, torch.Tensor]], n_classes: int, power: float) -> torch.Tensor | None:
    """Per-class loss weights (1 / frequency) ** power, scaled so the average training utterance weighs 1;
    None when power is 0. Classes absent from training get the largest weight seen."""
    if power == 0:
        return None
    gold = torch.cat([t["emotion"] for t in targets])
    counts = torch.bincount(gold[gold != UNSCORED], minlength=n_classes).double()
    weights = (counts.clamp(min=1) / counts.sum()) ** -power
    weights[counts == 0] = weights[counts > 0].max()
    weights /= (weights * counts).sum() / counts.sum()
    return weights.float()


def load_summary(out_dir: Path) -> dict[str, Any] | None:
    path = out_dir / SUMMARY_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def train(config: TrainConfig, data: TrainData, out_dir: str | Path, resume: bool = False, progress: bool = True, command: str = "") -> dict[str, Any]:
    """Train, keep the best-on-dev epoch as a bundle in `out_dir`, and return the run summary."""
    from tqdm.auto import tqdm

    out_dir = Path(out_dir)
    summary = load_summary(out_dir)
    if summary and summary.get("finished"):
        if resume:
            return summary
        raise EmotraceError("run directory already holds a finished run", path=str(out_dir), hint="choose another --out")
    if has_checkpoint(out_dir) and not resume:
        raise EmotraceError("run directory holds an interrupted run", path=str(out_dir), hint="pass --resume to continue it, or choose another --out")
    if not data.train or not data.dev:
        raise EmotraceError("training needs non-empty train and dev conversations", hint="give dev data with --dev or a `split` field")

    torch.manual_seed(config.seed)
    model = create_model(config.model, labels=data.labels, sentiment_labels=data.sentiment_labels, **config.model_args)
    training = dialogue_windows(data.train, config.window_utterances)
    train_targets = _targets(training, data.labels, data.sentiment_labels)
    dev_gold = gold_indices(data.dev, data.labels)
    dev_scored = dev_gold != UNSCORED
    train_items = model.prepare(training, progress=progress)
    dev_items = model.prepare(data.dev, progress=progress)
    lengths = [len(c) for c in training]

    optimizer = torch.optim.AdamW(model.parameter_groups(config.lr), weight_decay=config.weight_decay)
    for group in optimizer.param_groups:
        group["base_lr"] = group["lr"]
    epochs = [utterance_batches(lengths, config.batch_utterances, epoch_order(config.seed, e, len(lengths))) for e in range(config.epochs)]
    total_steps = sum(len(batches) for batches in epochs)
    warmup_steps = max(1, math.ceil(config.warmup_fraction * total_steps))

    state: dict[str, Any] = {"epoch": 0, "batch": 0, "step": 0, "history": [], "best_f1": -1.0, "best_epoch": None, "stale_epochs": 0}
    if resume and has_checkpoint(out_dir):
        state = load_checkpoint(out_dir, model, optimizer)
    emotion_loss = nn.CrossEntropyLoss(weight=class_weights(train_targets, len(data.labels), config.class_balance))
    sentiment_loss = nn.CrossEntropyLoss(ignore_index=-100)
    last_checkpoint = time.monotonic()

    while state["epoch"] < config.epochs and state["stale_epochs"] < config.patience:
        epoch = state["epoch"]
        batches = epochs[epoch]
        model.train()
        bar = tqdm(total=len(batches), initial=state["batch"], desc=f"epoch {epoch + 1}/{config.epochs}", unit="batch", disable=not progress)
        for index in range(state["batch"], len(batches)):
            chosen = batches[index]
            output = model(model.collate([train_items[i] for i in chosen]))
            gold = torch.cat([train_targets[i]["emotion"] for i in chosen])
            scored = gold != UNSCORED
            loss = emotion_loss(output.emotion[scored], gold[scored]) if scored.any() else output.emotion.sum() * 0.0
            if output.sentiment is not None:
                loss = loss + config.sentiment_weight * sentiment_loss(output.sentiment, torch.cat([train_targets[i]["sentiment"] for i in chosen]))
            for term in output.losses.values():
                loss = loss + term
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
            factor = learning_rate_factor(state["step"], total_steps, warmup_steps)
            for group in optimizer.param_groups:
                group["lr"] = group["base_lr"] * factor
            optimizer.step()
            state["step"] += 1
            state["batch"] = index + 1
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}")
            if time.monotonic() - last_checkpoint > 60 * config.checkpoint_minutes:
                last_checkpoint = _save_checkpoint(out_dir, model, optimizer, state, last_checkpoint)
        bar.close()

        probabilities, _ = probabilities_of_prepared(model, dev_items, [len(c) for c in data.dev], progress=progress)
        scores = classification_scores(dev_gold[dev_scored], probabilities[dev_scored].argmax(1), data.labels)
        state["history"].append({"epoch": epoch + 1, "dev": scores})
        if progress:
            print(f"epoch {epoch + 1}: dev weighted F1 {scores['weighted_f1']:.2f}, accuracy {scores['accuracy']:.2f}", flush=True)
        if scores["weighted_f1"] > state["best_f1"]:
            state.update(best_f1=scores["weighted_f1"], best_epoch=epoch + 1, stale_epochs=0)
            _save_best(model, config, data, scores, out_dir, command)
        else:
            state["stale_epochs"] += 1
        state.update(epoch=epoch + 1, batch=0)
        last_checkpoint = _save_checkpoint(out_dir, model, optimizer, state, last_checkpoint)

    calibration = calibrate_bundle(out_dir, data.dev, data.description.get("dev_name", "dev"))
    _write_card(config, data, state["history"], state["best_epoch"], out_dir, command, calibration)
    summary = {
        "finished": True,
        "config": config.to_dict(),
        "best_epoch": state["best_epoch"],
        "best_dev": state["history"][state["best_epoch"] - 1]["dev"],
        "history": state["history"],
        "train_seconds": round(state.get("train_seconds", 0.0), 1),
    }
    write_text_atomic(out_dir / SUMMARY_FILE, json.dumps(summary, indent=2) + "\n")
    for name in ("checkpoint.safetensors", "checkpoint.json"):
        (out_dir / name).unlink(missing_ok=True)
    return summary


def _save_checkpoint(out_dir: Path, model: ERCModel, optimizer: torch.optim.Optimizer, state: dict[str, Any], since: float) -> float:
    """Checkpoint, adding the time since the previous one to the run's training time, which so survives a resume."""
    now = time.monotonic()
    state["train_seconds"] = state.get("train_seconds", 0.0) + now - since
    save_checkpoint(out_dir, model, optimizer, state)
    return now


def _save_best(model: ERCModel, config: TrainConfig, data: TrainData, scores: dict[str, Any], out_dir: Path, command: str) -> None:
    metadata = {"data": data.description, "training": config.to_dict(), "dev_scores": scores}
    save_bundle(model, out_dir, metadata, _card(config, data, scores, command, None))


def _write_card(
    config: TrainConfig, data: TrainData, history: list[dict[str, Any]], best_epoch: int, out_dir: Path, command: str, calibration: dict[str, Any]
) -> None:
    write_text_atomic(out_dir / CARD_FILE, _card(config, data, history[best_epoch - 1]["dev"], command, calibration, history))


def _card(
    config: TrainConfig, data: TrainData, scores: dict[str, Any], command: str, calibration: dict[str, Any] | None, history: list[dict[str, Any]] | None = None
) -> str:
    title = f"emotrace model: {config.model} on {data.description.get('name', 'user data')}"
    return model_card(title, config.to_dict(), data.description, scores, command, calibration, history)
