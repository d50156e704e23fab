"""Loaders for the precomputed multimodal feature pickles that the ERC literature distributes.

Most multimodal emotion-recognition-in-conversation papers do not ship raw media but one pickle of per-utterance
text/audio/visual feature vectors per data set, first for bc-LSTM (Poria et al., 2017), then reused by DialogueRNN
and DialogueGCN (Ghosal et al., 2019) and by MMGCN (Hu et al., 2021) and its successors. Reading these files lets
emotrace train and compare fusion models on the same inputs as the published results.

Layouts (each a tuple of parallel dicts keyed by dialogue id, one list entry per utterance):

- "iemocap": `IEMOCAP_features.pkl` / `IEMOCAP_features_raw.pkl`, a 9-tuple
  (videoIDs, videoSpeakers, videoLabels, videoText, videoAudio, videoVisual, videoSentence, trainVid, testVid);
  speakers 'M'/'F', labels 0..5 = happy, sad, neutral, angry, excited, frustrated. Feature sizes differ between
  distributions (DialogueGCN's copy: text 100, audio 100, visual 512; MMGCN's: text 100, audio 1582, visual 342),
  so no size is assumed, only that each modality has one size throughout the file.
- "meld": `MELD_features_raw1.pkl` (MMGCN; also circulated as MELD_features_raw.pkl), a 10-tuple with the same
  nine names plus a tenth item that the public loaders discard unnamed and that is ignored here; speakers are
  one-hot vectors (9 slots; MELD has hundreds of speakers, so a slot names a speaker within its dialogue), labels
  0..6 = neutral, surprise, fear, sadness, joy, disgust, anger; text 600, audio 300, visual 342. Its trainVid is
  reported to hold 1152 dialogues, i.e. MELD's official train *and* dev (1039 + 114, one missing), and testVid
  the 280 test dialogues; so "dev" here is not MELD's official dev set.
  DialogueRNN's older `MELD_features_raw.pkl` is a 9-tuple without visual features:
  (videoIDs, videoSpeakers, videoLabels, videoText, videoAudio, videoSentence, trainVid, testVid,
  videoSentiment) with sentiments 0..2 = neutral, positive, negative; it is read as layout "meld" too.

The files only split train/test; the papers carve a validation set out of trainVid (the first 10% in the file's
own order, which for a set changes between runs). `load_community_features` takes a seeded 10% instead, so the
dev split is reproducible. Files are read with the restricted unpickler: containers, numbers and numpy arrays only.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np

from emotrace.errors import EmotraceError
from emotrace.io.safe_pickle import load_restricted_pickle
from emotrace.io.text_cleanup import normalize_text
from emotrace.labels import LABEL_SETS, SENTIMENT_LABELS
from emotrace.schema import Conversation, Utterance

COMMUNITY_LAYOUTS = ("iemocap", "meld")

_EXPECTED = "expected a tuple of 9 (IEMOCAP_features.pkl layout) or 10 (MELD_features_raw.pkl layout)"
DialogueId = int | str


@dataclass(frozen=True)
class _Layout:
    """Where each field sits in the tuple, and how speakers and labels are coded."""

    name: str  # one of COMMUNITY_LAYOUTS
    description: str
    fields: tuple[str, ...]  # the tuple's item names, in order ("" for an ignored item)
    modalities: tuple[tuple[str, str], ...]  # (our modality name, field name)
    one_hot_speakers: bool
    sentiment_field: str | None = None

    def index(self, field: str) -> int:
        return self.fields.index(field)


_IEMOCAP = _Layout(
    "iemocap",
    "IEMOCAP_features.pkl",
    ("videoIDs", "videoSpeakers", "videoLabels", "videoText", "videoAudio", "videoVisual", "videoSentence", "trainVid", "testVid"),
    (("text", "videoText"), ("audio", "videoAudio"), ("face", "videoVisual")),
    one_hot_speakers=False,
)
_MELD = _Layout(
    "meld",
    "MELD_features_raw1.pkl (MMGCN)",
    ("videoIDs", "videoSpeakers", "videoLabels", "videoText", "videoAudio", "videoVisual", "videoSentence", "trainVid", "testVid", ""),
    (("text", "videoText"), ("audio", "videoAudio"), ("face", "videoVisual")),
    one_hot_speakers=True,
)
_MELD_DIALOGUERNN = _Layout(
    "meld",
    "MELD_features_raw.pkl (DialogueRNN, no visual features)",
    ("videoIDs", "videoSpeakers", "videoLabels", "videoText", "videoAudio", "videoSentence", "trainVid", "testVid", "videoSentiment"),
    (("text", "videoText"), ("audio", "videoAudio")),
    one_hot_speakers=True,
    sentiment_field="videoSentiment",
)


def load_community_features(path: str | Path, layout: str | None = None, dev_fraction: float = 0.1, seed: int = 0) -> list[Conversation]:
    """Read an IEMOCAP/MELD community feature pickle into conversations with `features` and gold labels.

    `layout` is "iemocap" or "meld", or None to tell from the tuple's length and the speakers' shape. The dev split
    is a seeded `dev_fraction` of trainVid (ids sorted first, then `random.Random(seed).sample`, rounded down as the
    papers do), so it is the same on every run and machine; the rest of trainVid is train and testVid is test.
    Conversations come train, dev, test, each sorted by dialogue id, with metadata {"split", "source"}.
    Any mismatch in the file raises `EmotraceError` naming the file and the dialogue/utterance at fault.
    """
    path = Path(path)
    if layout is not None and layout not in COMMUNITY_LAYOUTS:
        raise EmotraceError(f"unknown community layout '{layout}'", hint=f"choose one of {', '.join(COMMUNITY_LAYOUTS)} or leave it out")
    if not 0 <= dev_fraction < 1:
        raise EmotraceError(f"dev_fraction must be at least 0 and below 1, got {dev_fraction}")
    if not path.is_file():
        raise EmotraceError("feature file not found", path=str(path))
    content = load_restricted_pickle(path)
    return _Reader(path, content, layout).conversations(dev_fraction, seed)


class _Reader:
    """Checks one loaded tuple against its layout and turns it into conversations; errors name `path`."""

    def __init__(self, path: Path, content: Any, layout: str | None) -> None:
        self.path = path
        if not isinstance(content, (tuple, list)):
            self.fail(f"{_EXPECTED}, got {_describe(content)}")
        self.content = content
        self.layout = self._choose_layout(layout)
        self.dims: dict[str, int] = {}
        for index, field in enumerate(self.layout.fields):
            if field and field not in ("trainVid", "testVid") and not isinstance(content[index], dict):
                self.fail(
                    f"{field} (item {index + 1} of the {self.layout.description} tuple) should be a dict keyed by dialogue id, got {_describe(content[index])}"
                )

    def fail(self, message: str, hint: str | None = None) -> Any:
        raise EmotraceError(message, path=str(self.path), hint=hint)

    # -- layout --------------------------------------------------------------------------------------------------

    def _choose_layout(self, requested: str | None) -> _Layout:
        """Pick the layout from the tuple length, and for 9-tuples from whether speakers are letters or vectors."""
        size = len(self.content)
        if size == 10:
            if requested == "iemocap":
                self.fail(
                    "layout 'iemocap' expects a tuple of 9 (IEMOCAP_features.pkl), got a tuple of 10",
                    hint="this looks like MELD_features_raw1.pkl; use layout 'meld' or leave it out",
                )
            return _MELD
        if size != 9:
            self.fail(f"{_EXPECTED}, got {_describe(self.content)}")
        kind = _speaker_kind(self.content[1])
        if requested == "iemocap" and kind == "vectors":
            self.fail(
                "layout 'iemocap' expects speaker names ('M'/'F'), but this 9-item tuple has one-hot speaker vectors like DialogueRNN's MELD_features_raw.pkl",
                hint="use layout 'meld' or leave it out",
            )
        if requested == "meld" and kind == "letters":
            self.fail(
                "layout 'meld' expects one-hot speaker vectors, but this 9-item tuple has speaker names like IEMOCAP_features.pkl",
                hint="use layout 'iemocap' or leave it out",
            )
        if requested == "iemocap":
            return _IEMOCAP
        if requested == "meld":
            return _MELD_DIALOGUERNN
        if kind == "letters":
            return _IEMOCAP
        if kind == "vectors":
            return _MELD_DIALOGUERNN
        return self.fail("cannot tell the layout of this 9-item tuple from its speakers", hint="pass layout 'iemocap' or 'meld'")

    def field(self, name: str) -> Any:
        return self.content[self.layout.index(name)]

    # -- splits --------------------------------------------------------------------------------------------------

    def _split_ids(self, name: str) -> list[DialogueId]:
        value = self.field(name)
        if isinstance(value, np.ndarray) and value.ndim == 1:
            value = value.tolist()
        if not isinstance(value, (list, tuple, set, frozenset, range)):
            self.fail(f"{name} should be a list or set of dialogue ids, got {_describe(value)}")
        ids: list[DialogueId] = []
        seen: set[DialogueId] = set()
        for raw in value:
            dialogue_id = self._dialogue_id(raw, name)
            if dialogue_id not in seen:
                seen.add(dialogue_id)
                ids.append(dialogue_id)
        return sorted(ids, key=_id_key)

    def _dialogue_id(self, raw: Any, where: str) -> DialogueId:
        if isinstance(raw, (str, np.str_)):
            return str(raw)
        if isinstance(raw, Integral) and not isinstance(raw, (bool, np.bool_)):
            return int(raw)
        return self.fail(f"{where} holds {_describe(raw)}; dialogue ids should be strings or integers")

    def conversations(self, dev_fraction: float, seed: int) -> list[Conversation]:
        train = self._split_ids("trainVid")
        test = self._split_ids("testVid")
        both = set(train) & set(test)
        if both:
            self.fail(
                f"dialogue {_show(min(both, key=_id_key))} is in both trainVid and testVid" + (f" ({len(both)} dialogues overlap)" if len(both) > 1 else "")
            )
        if not train and not test:
            self.fail("trainVid and testVid are both empty")
        dev = sorted(random.Random(seed).sample(train, int(dev_fraction * len(train))), key=_id_key)
        dev_set = set(dev)
        splits = (("train", [d for d in train if d not in dev_set]), ("dev", dev), ("test", test))
        return [self._conversation(dialogue_id, split) for split, ids in splits for dialogue_id in ids]

    # -- one dialogue --------------------------------------------------------------------------------------------

    def _entry(self, field: str, dialogue_id: DialogueId, split: str) -> Any:
        table = self.field(field)
        if dialogue_id in table:
            return table[dialogue_id]
        source = "trainVid" if split in ("train", "dev") else "testVid"
        return self.fail(f"dialogue {_show(dialogue_id)} is listed in {source} but missing from {field}")

    def _per_utterance(self, field: str, dialogue_id: DialogueId, split: str, count: int | None, noun: str) -> Sequence[Any]:
        """The dialogue's list in `field`, checked to have one entry per utterance."""
        value = self._entry(field, dialogue_id, split)
        if isinstance(value, np.ndarray):
            if value.ndim == 0 or (noun == "vectors" and value.ndim != 2 and value.dtype != object):
                self.fail(
                    f"dialogue {_show(dialogue_id)}: {field} should hold one {noun[:-1]} per utterance (a list or a 2-D array), got an array of shape {value.shape}"
                )
        elif not isinstance(value, (list, tuple)):
            self.fail(f"dialogue {_show(dialogue_id)}: {field} should be a list with one {noun[:-1]} per utterance, got {_describe(value)}")
        if count is not None and len(value) != count:
            self.fail(f"dialogue {_show(dialogue_id)}: {field} has {len(value)} {noun} but videoLabels has {count}")
        return value

    def _conversation(self, dialogue_id: DialogueId, split: str) -> Conversation:
        layout = self.layout
        labels = self._per_utterance("videoLabels", dialogue_id, split, None, "labels")
        count = len(labels)
        if count == 0:
            self.fail(f"dialogue {_show(dialogue_id)} has no utterances (videoLabels is empty)")
        ids = self._per_utterance("videoIDs", dialogue_id, split, count, "ids")
        speakers = self._per_utterance("videoSpeakers", dialogue_id, split, count, "speakers")
        sentences = self._per_utterance("videoSentence", dialogue_id, split, count, "sentences")
        vectors = {modality: self._per_utterance(field, dialogue_id, split, count, "vectors") for modality, field in layout.modalities}
        sentiments = self._per_utterance(layout.sentiment_field, dialogue_id, split, count, "labels") if layout.sentiment_field else None
        emotion_names = LABEL_SETS[layout.name]
        utterances = []
        for index in range(count):
            where = f"dialogue {_show(dialogue_id)} utterance {index}"
            features = {modality: self._vector(rows[index], where, modality) for modality, rows in vectors.items()}
            utterances.append(
                Utterance(
                    speaker=self._speaker(speakers[index], where),
                    text=self._text(sentences[index], where),
                    emotion=self._label(labels[index], emotion_names, where, "emotion"),
                    sentiment=self._label(sentiments[index], SENTIMENT_LABELS["meld"], where, "sentiment") if sentiments is not None else None,
                    id=self._utterance_id(ids[index], dialogue_id, index),
                    features=features,
                )
            )
        return Conversation(id=str(dialogue_id), utterances=utterances, metadata={"split": split, "source": self.path.name})

    # -- one utterance -------------------------------------------------------------------------------------------

    def _vector(self, value: Any, where: str, modality: str) -> np.ndarray:
        """A 1-D float vector; float arrays are kept as they are (same dtype, same values), integers become float64."""
        try:
            vector = np.asarray(value)
            if vector.dtype == object:
                vector = vector.astype(np.float64)
        except (TypeError, ValueError):
            return self.fail(f"{where}: {modality} vector is not numeric ({_describe(value)})")
        if vector.dtype.kind not in "fiu":
            self.fail(f"{where}: {modality} vector is not numeric (dtype {vector.dtype})")
        if vector.ndim != 1:
            self.fail(f"{where}: {modality} vector should be 1-D, got shape {vector.shape}")
        if vector.dtype.kind != "f":
            vector = vector.astype(np.float64)
        expected = self.dims.setdefault(modality, vector.shape[0])
        if vector.shape[0] != expected:
            self.fail(f"{where}: {modality} vector has {vector.shape[0]} dims, other utterances have {expected}")
        return vector

    def _speaker(self, value: Any, where: str) -> str:
        if not self.layout.one_hot_speakers:
            if isinstance(value, bytes):
                value = value.decode("latin-1")
            if not isinstance(value, str) or not value.strip():
                self.fail(f"{where}: speaker should be a name such as 'M' or 'F', got {_describe(value)}")
            return str(value).strip()
        try:
            vector = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            return self.fail(f"{where}: speaker should be a one-hot vector, got {_describe(value)}")
        if vector.ndim != 1 or vector.size == 0:
            self.fail(f"{where}: speaker should be a one-hot vector, got {_describe(value)}")
        slot = int(np.argmax(vector))
        if not vector[slot] > 0 or int(np.count_nonzero(vector == vector[slot])) != 1:
            self.fail(f"{where}: speaker vector {np.array2string(vector, threshold=12)} is not one-hot")
        return f"speaker{slot}"

    def _text(self, value: Any, where: str) -> str:
        if isinstance(value, bytes):
            try:
                value = value.decode("utf-8")
            except UnicodeDecodeError:
                value = value.decode("latin-1")
        if not isinstance(value, str):
            self.fail(f"{where}: videoSentence should hold text, got {_describe(value)}")
        return normalize_text(_undo_latin1(str(value)))

    def _label(self, value: Any, names: tuple[str, ...], where: str, kind: str) -> str:
        if isinstance(value, np.ndarray) and value.size == 1:
            value = value.reshape(()).item()
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real) or not math.isfinite(value) or float(value) != int(value):
            self.fail(f"{where}: {kind} label should be an integer, got {_describe(value)}")
        number = int(value)
        if not 0 <= number < len(names):
            listing = ", ".join(f"{i}={name}" for i, name in enumerate(names))
            self.fail(f"{where}: {kind} label {number} is outside 0..{len(names) - 1} ({listing})")
        return names[number]

    @staticmethod
    def _utterance_id(value: Any, dialogue_id: DialogueId, index: int) -> str:
        """videoIDs' own id when it is a name (IEMOCAP: 'Ses01F_impro01_F000') or a number, else `<dialogue>_<index>`.

        Lenient on purpose: the id is bookkeeping, and an odd entry should not make a whole data set unreadable."""
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, Integral) and not isinstance(value, (bool, np.bool_)):
            return f"{dialogue_id}_{int(value)}"
        return f"{dialogue_id}_{index}"


def _speaker_kind(speakers: Any) -> str | None:
    """'letters' when speakers are names ('M'/'F'), 'vectors' when one-hot vectors, None when it cannot be told.

    Looks at every dialogue's first speaker, so one odd entry does not decide (it is reported later instead)."""
    if not isinstance(speakers, dict):
        return None
    kinds = set()
    for turns in speakers.values():
        if isinstance(turns, np.ndarray) and turns.ndim == 2:
            kinds.add("vectors")
        elif isinstance(turns, (list, tuple, np.ndarray)) and len(turns) > 0:
            first = turns[0]
            if isinstance(first, (str, bytes)):
                kinds.add("letters")
            elif _is_vector(first):
                kinds.add("vectors")
    return kinds.pop() if len(kinds) == 1 else None


def _is_vector(value: Any) -> bool:
    return (isinstance(value, np.ndarray) and value.ndim == 1) or (
        isinstance(value, (list, tuple)) and len(value) > 0 and all(isinstance(x, Real) for x in value)
    )


def _undo_latin1(text: str) -> str:
    """Python 2 pickles store UTF-8 bytes that latin-1 decoding turns into 'â\\x80\\x99'; decode them properly."""
    if any("\x80" <= ch <= "\xff" for ch in text) and all(ch <= "\xff" for ch in text):
        try:
            return text.encode("latin-1").decode("utf-8")
        except UnicodeDecodeError:
            return text
    return text


def _id_key(dialogue_id: DialogueId) -> tuple[int, int, str]:
    """Sort integers numerically, before strings, so mixed or numeric ids order the same on every run."""
    return (0, dialogue_id, "") if isinstance(dialogue_id, int) else (1, 0, dialogue_id)


def _show(dialogue_id: DialogueId) -> str:
    return repr(dialogue_id) if isinstance(dialogue_id, str) else str(dialogue_id)


def _describe(value: Any) -> str:
    """A short phrase for a value's kind, for error messages ('a dict', 'a tuple of 7', "the text 'x'")."""
    if isinstance(value, tuple):
        return f"a tuple of {len(value)}"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} ({value.dtype})"
    if isinstance(value, str):
        return f"the text {value[:40]!r}"
    if value is None:
        return "None"
    if isinstance(value, (bool, int, float, np.generic)):
        return f"the {type(value).__name__} {value}"
    name = type(value).__name__
    return f"{'an' if name[:1] in 'aeiou' else 'a'} {name}"
