"""DailyDialog (Li et al., IJCNLP 2017) with the emotion re-annotation of RECCON (Poria et al., 2021): dyadic,
written everyday English, 7 classes. Official RECCON splits: `dailydialog_{train,valid,test}.json`.

The annotation carries a handful of variant spellings (`happy`, `happines`, `excited`, ...); they are mapped onto
the seven classes here, as RECCON's own evaluation does for `excited` → happiness.
"""

from __future__ import annotations

import json
from pathlib import Path

from emotrace.errors import EmotraceError
from emotrace.io.text_cleanup import normalize_text
from emotrace.labels import LABEL_SETS
from emotrace.schema import Conversation, Utterance

SPLIT_FILES = {"train": "dailydialog_train.json", "dev": "dailydialog_valid.json", "test": "dailydialog_test.json"}
_VARIANTS = {"happy": "happiness", "happines": "happiness", "excited": "happiness", "sad": "sadness", "angry": "anger", "surprised": "surprise"}


def load_dailydialog(root: Path, split: str) -> list[Conversation]:
    path = root / "dailydialog" / SPLIT_FILES[split]
    if not path.is_file():
        raise EmotraceError("DailyDialog file not found", path=str(path), hint="point --data-dir or EMOTRACE_DATA at the folder holding dailydialog/")
    content = json.loads(path.read_text(encoding="utf-8"))
    labels = set(LABEL_SETS["dailydialog"])
    conversations = []
    for dialogue_id, value in content.items():
        utterances = []
        for turn in value[0]:
            emotion = _VARIANTS.get(turn["emotion"], turn["emotion"])
            if emotion not in labels:
                raise EmotraceError(f"dialogue {dialogue_id} turn {turn['turn']}: unknown emotion {turn['emotion']!r}", path=str(path))
            utterances.append(Utterance(speaker=turn["speaker"], text=normalize_text(turn["utterance"]), emotion=emotion, id=f"{dialogue_id}_{turn['turn']}"))
        conversations.append(Conversation(id=f"dailydialog_{dialogue_id}", utterances=utterances))
    return conversations
