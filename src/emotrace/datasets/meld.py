"""MELD (Poria et al., ACL 2019): multi-party Friends dialogues, 7 emotions + 3 sentiments, official CSV splits."""

from __future__ import annotations

import csv
from pathlib import Path

from emotrace.datasets.text_cleanup import normalize_text
from emotrace.errors import EmotraceError
from emotrace.schema import Conversation, Utterance

SPLIT_FILES = {"train": "train_sent_emo.csv", "dev": "dev_sent_emo.csv", "test": "test_sent_emo.csv"}


def _seconds(timestamp: str) -> float | None:
    """MELD times look like `00:16:16,059`."""
    try:
        hours, minutes, rest = timestamp.split(":")
        seconds, millis = rest.split(",")
        return int(hours) * 3600 + int(minutes) * 60 + int(seconds) + int(millis) / 1000
    except ValueError:
        return None


def load_meld(root: Path, split: str) -> list[Conversation]:
    path = root / "meld" / SPLIT_FILES[split]
    if not path.is_file():
        raise EmotraceError("MELD file not found", path=str(path), hint="point --data-dir or EMOTRACE_DATA at the folder holding meld/")
    dialogues: dict[int, list[tuple[int, Utterance]]] = {}
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            dialogue_id, utterance_id = int(row["Dialogue_ID"]), int(row["Utterance_ID"])
            utterance = Utterance(
                speaker=row["Speaker"].strip(),
                text=normalize_text(row["Utterance"]),
                start=_seconds(row["StartTime"]),
                end=_seconds(row["EndTime"]),
                emotion=row["Emotion"].strip().lower(),
                sentiment=row["Sentiment"].strip().lower(),
                id=f"dia{dialogue_id}_utt{utterance_id}",
            )
            dialogues.setdefault(dialogue_id, []).append((utterance_id, utterance))
    return [
        Conversation(id=f"meld_{split}_dia{dialogue_id}", utterances=[u for _, u in sorted(items, key=lambda item: item[0])])
        for dialogue_id, items in sorted(dialogues.items())
    ]
