"""Calibration text for SmoothQuant (export/smoothquant.py): short invented dialogues that ship with the package, in
`calibration_dialogues.jsonl` beside this module (emotrace's JSONL input format, one dialogue per line).

Why shipped and not a data set: `emotrace export --backend onnx-int8` runs on users' machines, where no benchmark
data may exist, so the int8 export calibrates on these. They were written for emotrace (no corpus text): everyday
conversation across the emotions the models predict, with short and long turns, shouting, hesitation, numbers,
emoji and a few non-English lines, because the smoothing scales are per-channel maxima and should see the range
of inputs users send.
"""

from __future__ import annotations

import json
from importlib.resources import files

from emotrace.schema import Conversation, Utterance

DIALOGUES_FILE = "calibration_dialogues.jsonl"


def calibration_conversations() -> list[Conversation]:
    """The dialogues as conversations, so a bundle's export builds its encoder inputs from them as at run time."""
    lines = files("emotrace.export").joinpath(DIALOGUES_FILE).read_text(encoding="utf-8").splitlines()
    conversations = []
    for record in map(json.loads, filter(None, lines)):
        utterances = [Utterance(text=turn["text"], speaker=turn["speaker"]) for turn in record["utterances"]]
        conversations.append(Conversation(id=record["id"], utterances=utterances))
    return conversations


def calibration_texts() -> list[str]:
    """Every turn's text, then each dialogue as one text, so that later positions (long inputs) are seen too."""
    conversations = calibration_conversations()
    turns = [utterance.text for conversation in conversations for utterance in conversation.utterances]
    return turns + [" ".join(utterance.text for utterance in conversation.utterances) for conversation in conversations]
