"""nEMO (Christop, LREC-COLING 2024): acted Polish emotional speech, 9 speakers, 6 emotions, with the sentence
spoken. No official split: leave one speaker out, as for EmoDB, so there is one split, `all`.

Our copy holds the clips as 16 kHz Ogg Opus (`nemo_opus.tar.gz`, `clips/<id>.ogg`) beside the unchanged
`data.tsv`, whose `file_id` still names the original `.wav`. The archive is unpacked once into the emotrace
cache folder (outside any repository). Licence CC BY-NC-SA 4.0: a model trained on it is non-commercial.
"""

from __future__ import annotations

import csv
from pathlib import Path

from emotrace.datasets.archives import unpacked
from emotrace.errors import EmotraceError
from emotrace.labels import LABEL_SETS
from emotrace.schema import Conversation, Utterance

ARCHIVE = "nemo/nemo_opus.tar.gz"
TABLE = "nemo/data.tsv"
COLUMNS = ("file_id", "emotion", "raw_text", "speaker_id", "gender", "age")


def load_nemo(root: Path, split: str) -> list[Conversation]:
    """Every clip as a one-utterance conversation (speaker, emotion, transcript); gender and age in its metadata."""
    archive, table = root / ARCHIVE, root / TABLE
    for path in (archive, table):
        if not path.is_file():
            raise EmotraceError("nEMO file not found", path=str(path), hint="point --data-dir or EMOTRACE_DATA at the folder holding nemo/")
    clips = unpacked(archive, "nemo", "clips", ".ogg")
    labels = set(LABEL_SETS["nemo"])
    conversations = []
    with table.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        missing = [column for column in COLUMNS if column not in (reader.fieldnames or [])]
        if missing:
            raise EmotraceError(f"missing column(s) {', '.join(missing)}", path=str(table), hint="use nEMO's unchanged data.tsv")
        for line, row in enumerate(reader, start=2):
            name = row["file_id"].removesuffix(".wav")
            clip = clips / f"{name}.ogg"
            if row["emotion"] not in labels:
                raise EmotraceError(f"unknown emotion {row['emotion']!r}", path=str(table), line=line, hint=f"expected one of {', '.join(sorted(labels))}")
            if not clip.is_file():
                raise EmotraceError(
                    f"clip {clip.name} is not in the archive",
                    path=str(table),
                    line=line,
                    hint=f"use the archive of the same nEMO copy; delete {clips.parent} to unpack again",
                )
            utterance = Utterance(speaker=row["speaker_id"].strip(), text=row["raw_text"], media={"audio": str(clip)}, emotion=row["emotion"], id=name)
            metadata = {"gender": row["gender"], "age": int(row["age"])}
            conversations.append(Conversation(id=f"nemo_{name}", utterances=[utterance], metadata=metadata))
    return conversations
