"""IEMOCAP transcripts (Busso et al., 2008), 6-class protocol with the COSMIC/DialogueRNN dialogue splits.

The file is the community pickle `[speakers, labels, sentences, train_ids, test_ids, valid_ids]`,
read through the restricted unpickler.
"""

from __future__ import annotations

from pathlib import Path

from emotrace.errors import EmotraceError
from emotrace.io.safe_pickle import load_restricted_pickle
from emotrace.io.text_cleanup import normalize_text
from emotrace.labels import LABEL_SETS
from emotrace.schema import Conversation, Utterance

FILE_NAME = "iemocap_text.pkl"
_SPLIT_INDEX = {"train": 3, "test": 4, "dev": 5}
_SPEAKER_NAMES = {"M": "Male", "F": "Female"}


def load_iemocap(root: Path, split: str) -> list[Conversation]:
    path = root / "iemocap" / FILE_NAME
    if not path.is_file():
        raise EmotraceError("IEMOCAP file not found", path=str(path), hint="point --data-dir or EMOTRACE_DATA at the folder holding iemocap/")
    content = load_restricted_pickle(path)
    if not (isinstance(content, list) and len(content) == 6 and all(isinstance(part, dict) for part in content[:3])):
        raise EmotraceError("unexpected layout; expected [speakers, labels, sentences, train_ids, test_ids, valid_ids]", path=str(path))
    speakers, labels, sentences = content[:3]
    label_names = LABEL_SETS["iemocap"]
    conversations = []
    for dialogue_id in sorted(content[_SPLIT_INDEX[split]]):
        utterances = [
            Utterance(
                speaker=_SPEAKER_NAMES.get(speaker, speaker),
                text=normalize_text(text),
                emotion=label_names[int(label)],
                id=f"{dialogue_id}_{index}",
            )
            for index, (speaker, label, text) in enumerate(zip(speakers[dialogue_id], labels[dialogue_id], sentences[dialogue_id]))
        ]
        conversations.append(Conversation(id=dialogue_id, utterances=utterances))
    return conversations
