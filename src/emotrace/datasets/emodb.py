"""EmoDB (Burkhardt et al., Interspeech 2005): acted German speech, 10 speakers, 7 emotions, labels in file names
(`SSTTTEv.wav`: speaker, text, emotion). Protocol: leave one speaker out, so there is one split, `all`.

The archive is unpacked once into the emotrace cache folder (outside any repository), then read from there.
"""

from __future__ import annotations

from pathlib import Path

from emotrace.datasets.archives import unpacked
from emotrace.errors import EmotraceError
from emotrace.schema import Conversation, Utterance

ARCHIVE = "emodb/emodb_wav.tar.gz"
LABELS = {"W": "anger", "L": "boredom", "E": "disgust", "A": "fear", "F": "joy", "T": "sadness", "N": "neutral"}


def load_emodb(root: Path, split: str) -> list[Conversation]:
    """Every clip as a one-utterance conversation; the speaker id is kept for leave-one-speaker-out."""
    archive = root / ARCHIVE
    if not archive.is_file():
        raise EmotraceError("EmoDB archive not found", path=str(archive), hint="point --data-dir or EMOTRACE_DATA at the folder holding emodb/")
    conversations = []
    for wav in sorted(unpacked(archive, "emodb", "wav", ".wav").glob("*.wav")):
        name = wav.stem
        if len(name) < 6 or name[5] not in LABELS:
            raise EmotraceError("file name does not follow EmoDB's SSTTTEv pattern", path=str(wav))
        utterance = Utterance(speaker=name[:2], text="", media={"audio": str(wav)}, emotion=LABELS[name[5]], id=name)
        conversations.append(Conversation(id=f"emodb_{name}", utterances=[utterance]))
    return conversations
