"""Benchmark data sets: official splits and label sets, read from a user-given data folder."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from emotrace.datasets.dailydialog import load_dailydialog
from emotrace.datasets.emodb import load_emodb
from emotrace.datasets.iemocap import load_iemocap
from emotrace.datasets.meld import load_meld
from emotrace.datasets.nemo import load_nemo
from emotrace.errors import EmotraceError
from emotrace.labels import LABEL_SETS, SENTIMENT_LABELS
from emotrace.schema import Conversation

SPLITS = ("train", "dev", "test")


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    loader: Callable[[Path, str], list[Conversation]]
    files: tuple[str, ...]
    labels: tuple[str, ...]
    sentiment_labels: tuple[str, ...] | None
    licence: str
    modality: str = "text"
    splits: tuple[str, ...] = SPLITS


DATASETS: dict[str, DatasetInfo] = {
    "meld": DatasetInfo(
        "meld",
        load_meld,
        ("meld/train_sent_emo.csv", "meld/dev_sent_emo.csv", "meld/test_sent_emo.csv"),
        LABEL_SETS["meld"],
        SENTIMENT_LABELS["meld"],
        "GPL-3.0",
    ),
    "iemocap": DatasetInfo(
        "iemocap",
        load_iemocap,
        ("iemocap/iemocap_text.pkl",),
        LABEL_SETS["iemocap"],
        None,
        "research only (no weights trained on it are shipped)",
    ),
    "dailydialog": DatasetInfo(
        "dailydialog",
        load_dailydialog,
        ("dailydialog/dailydialog_train.json", "dailydialog/dailydialog_valid.json", "dailydialog/dailydialog_test.json"),
        LABEL_SETS["dailydialog"],
        None,
        "CC BY-NC-SA 4.0 (non-commercial: so is a model trained on it)",
    ),
    "emodb": DatasetInfo(
        "emodb",
        load_emodb,
        ("emodb/emodb_wav.tar.gz",),
        LABEL_SETS["emodb"],
        None,
        "free for research",
        modality="audio",
        splits=("all",),
    ),
    "nemo": DatasetInfo(
        "nemo",
        load_nemo,
        ("nemo/nemo_opus.tar.gz", "nemo/data.tsv"),
        LABEL_SETS["nemo"],
        None,
        "CC BY-NC-SA 4.0 (non-commercial: so is a model trained on it)",
        modality="audio",
        splits=("all",),
    ),
}


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """The data folder: the explicit argument, else $EMOTRACE_DATA, else ./data."""
    chosen = data_dir or os.environ.get("EMOTRACE_DATA") or "data"
    return Path(chosen).expanduser()


def load_dataset(name: str, split: str, data_dir: str | Path | None = None) -> list[Conversation]:
    if name not in DATASETS:
        raise EmotraceError(f"unknown dataset '{name}'", hint=f"choose one of {', '.join(DATASETS)} or pass a labelled file")
    info = DATASETS[name]
    if split not in info.splits:
        raise EmotraceError(f"{name} has no split '{split}'", hint=f"choose one of {', '.join(info.splits)}")
    return info.loader(resolve_data_dir(data_dir), split)
