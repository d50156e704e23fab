"""Assemble what a training run needs (train/dev conversations, label sets, a description for the model card)
from a benchmark data set."""

from __future__ import annotations

from pathlib import Path

from emotrace.datasets import DATASETS, load_dataset
from emotrace.training.loop import TrainData


def benchmark_data(name: str, data_dir: str | Path | None = None) -> TrainData:
    info = DATASETS[name]
    train, dev = load_dataset(name, "train", data_dir), load_dataset(name, "dev", data_dir)
    description = {
        "name": f"{name.upper()} train",
        "dev_name": f"{name.upper()} dev",
        "dataset": name,
        "licence": info.licence,
        "labels": list(info.labels),
        "train_utterances": sum(len(c) for c in train),
    }
    sentiment = list(info.sentiment_labels) if info.sentiment_labels else None
    return TrainData(train, dev, list(info.labels), sentiment, description)
