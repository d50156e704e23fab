"""Assemble what a training run needs (train/dev conversations, label sets, a description for the model card)
from a benchmark data set or from a user's labelled file."""

from __future__ import annotations

from pathlib import Path

from emotrace.datasets import DATASETS, load_dataset
from emotrace.errors import EmotraceError
from emotrace.io.readers import read_conversations
from emotrace.schema import Conversation
from emotrace.training.config import TrainConfig
from emotrace.training.loop import TrainData


def benchmark_data(name: str, data_dir: str | Path | None = None) -> TrainData:
    info = DATASETS[name]
    if info.modality != "text":
        raise EmotraceError(
            f"{name} is a {info.modality} data set; `emotrace train` trains text conversation models", hint="choose meld, iemocap or a text file"
        )
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


def split_of(conversation: Conversation) -> str | None:
    split = conversation.metadata.get("split")
    return str(split).strip().lower() if split is not None else None


def file_data(path: str | Path, dev_path: str | Path | None = None, input_format: str | None = None, columns: dict[str, str] | None = None) -> TrainData:
    """A user's own labelled conversations: dev from `dev_path`, else the conversations whose `split` is dev.

    The label set is whatever the training data uses (sorted, so that it does not depend on file order);
    sentiment is learned only when every training utterance carries one."""
    conversations = read_conversations(path, input_format, columns)
    if dev_path is not None:
        train, dev = [c for c in conversations if split_of(c) in (None, "train")], read_conversations(dev_path, input_format, columns)
    else:
        train = [c for c in conversations if split_of(c) == "train"]
        dev = [c for c in conversations if split_of(c) == "dev"]
        if not train or not dev:
            raise EmotraceError("no train/dev split given", path=str(path), hint="pass --dev FILE, or give conversations a `split` field (train/dev/test)")
    for name, part in (("training", train), ("dev", dev)):
        if not any(u.emotion for c in part for u in c.utterances):
            raise EmotraceError(
                f"no {name} utterance has an emotion label",
                path=str(path),
                hint="label the utterances with an `emotion` field; unlabelled ones are used as context only",
            )
    labels = sorted({u.emotion for c in train + dev for u in c.utterances if u.emotion})
    sentiments = {u.sentiment for c in train for u in c.utterances}
    sentiment_labels = sorted(s for s in sentiments if s) if None not in sentiments and "" not in sentiments else None
    description = {
        "name": Path(path).name,
        "dev_name": Path(dev_path).name if dev_path else f"the dev split of {Path(path).name}",
        "licence": "as given by the data owner",
        "labels": labels,
        "train_utterances": sum(len(c) for c in train),
    }
    return TrainData(train, dev, labels, sentiment_labels, description)


def labelled_conversations(
    dataset: str, split: str, data_dir: str | Path | None, input_format: str | None = None, columns: dict[str, str] | None = None
) -> list[Conversation]:
    """A benchmark split by name, or the conversations of a labelled file (those of `split` when it has a split field)."""
    if dataset in DATASETS:
        return load_dataset(dataset, split, data_dir)
    conversations = read_conversations(dataset, input_format, columns)
    if any(split_of(c) for c in conversations):
        conversations = [c for c in conversations if split_of(c) == split]
    if not conversations:
        raise EmotraceError(f"no conversations with split '{split}'", path=str(dataset), hint="choose another --split")
    return conversations


def file_test_split(path: str | Path, input_format: str | None = None, columns: dict[str, str] | None = None) -> list[Conversation]:
    """The conversations of a labelled file whose `split` is test ([] when it has none), scored after training."""
    return [c for c in read_conversations(path, input_format, columns) if split_of(c) == "test"]


def add_feature_dims(config: TrainConfig, train: list[Conversation]) -> None:
    """A multimodal model trained on precomputed features (e.g. a community feature file) takes its input sizes and
    modalities from them; model arguments the recipe sets win."""
    from emotrace.models.multimodal import MULTIMODAL_MODELS, feature_dims

    if config.model in MULTIMODAL_MODELS and feature_dims(train):
        dims = feature_dims(train)
        config.model_args = {"dims": dims, "modalities": list(dims), **config.model_args}
