"""MELD (Poria et al., ACL 2019): multi-party Friends dialogues, 7 emotions + 3 sentiments, official CSV splits.

The official files are MELD-style CSVs, so they go through the same CSV reader as users' files; this loader
only adds the split's file name, stable ids and the clean-up of MELD's mis-encoded punctuation."""

from __future__ import annotations

from pathlib import Path

from emotrace.errors import EmotraceError
from emotrace.io.readers import read_conversations
from emotrace.io.text_cleanup import normalize_text
from emotrace.schema import Conversation

SPLIT_FILES = {"train": "train_sent_emo.csv", "dev": "dev_sent_emo.csv", "test": "test_sent_emo.csv"}


def load_meld(root: Path, split: str) -> list[Conversation]:
    path = root / "meld" / SPLIT_FILES[split]
    if not path.is_file():
        raise EmotraceError("MELD file not found", path=str(path), hint="point --data-dir or EMOTRACE_DATA at the folder holding meld/")
    conversations = sorted(read_conversations(path, "csv"), key=lambda c: int(c.id))
    for conversation in conversations:
        for utterance in conversation.utterances:
            utterance.text = normalize_text(utterance.text)
            utterance.id = f"dia{conversation.id}_utt{utterance.id}"
        conversation.id = f"meld_{split}_dia{conversation.id}"
    return conversations
