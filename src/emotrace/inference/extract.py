"""Feature extraction for new data: per-utterance features with their ids, in one `.npz` that numpy, PyTorch
and scikit-learn users can all read (no pickles: every array is a plain numeric or string array)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotrace.errors import EmotraceError
from emotrace.io.atomic import atomic_path
from emotrace.schema import Conversation

MODALITIES = ("text", "audio", "face")


@dataclass
class Features:
    """Row i of `features` belongs to utterance i, identified by (conversation_ids[i], utterance_index[i])."""

    features: np.ndarray
    conversation_ids: np.ndarray
    utterance_index: np.ndarray
    speakers: np.ndarray
    encoder: str


def extract(conversations: list[Conversation], modality: str, progress: bool = False, feature_set: str = "eGeMAPSv02", face_model: str = "face") -> Features:
    """Encode every utterance: its text; its `media["audio"]` cut by start/end; or the face CNN's pooled features
    of its `media["image"]`, or averaged over the frames of its `media["video"]` span that show a face."""
    utterances = [(c.id, i, u) for c in conversations for i, u in enumerate(c.utterances)]
    if modality == "text":
        from emotrace.encoders.text import TextEncoder

        encoder = TextEncoder()
        matrix = encoder.embed([u.text for _, _, u in utterances], progress=progress)
        name = encoder.encoder_id
    elif modality == "audio":
        from emotrace.encoders.audio import FunctionalsEncoder, load_audio

        missing = [f"{cid} utterance {i + 1}" for cid, i, u in utterances if "audio" not in u.media]
        if missing:
            raise EmotraceError(f"no audio for {missing[0]} ({len(missing)} utterances in all)", hint='give each utterance "media": {"audio": PATH}')
        functionals = FunctionalsEncoder(feature_set)
        waves = [load_audio(u.media["audio"], u.start, u.end) for _, _, u in utterances]
        matrix = functionals.embed(waves)
        name = functionals.encoder_id
    elif modality == "face":
        from emotrace.models.bundle import load_model

        model = load_model(face_model)
        if "image" not in model.media:
            raise EmotraceError(f"'{face_model}' is not a face model", hint="pass --face-model face, or a bundle of face-cnn / face-fdrl")
        samples = [model.conversation_media(c) for c in conversations]
        matrix = np.stack([model.network.embed(list(sample.crops)).mean(0) for per_conversation in samples for sample in per_conversation])
        name = f"{model.registry_name} ({face_model})"
    else:
        raise EmotraceError(f"unknown modality '{modality}'", hint=f"choose one of {', '.join(MODALITIES)}")
    return Features(
        features=matrix,
        conversation_ids=np.array([cid for cid, _, _ in utterances]),
        utterance_index=np.array([i for _, i, _ in utterances], dtype=np.int64),
        speakers=np.array([u.speaker for _, _, u in utterances]),
        encoder=name,
    )


def save_features(features: Features, path: str | Path) -> None:
    with atomic_path(path) as temporary:
        with open(temporary, "wb") as handle:
            np.savez_compressed(
                handle,
                features=features.features,
                conversation_ids=features.conversation_ids,
                utterance_index=features.utterance_index,
                speakers=features.speakers,
                encoder=np.array(features.encoder),
            )


def load_features(path: str | Path) -> Features:
    try:
        with np.load(path, allow_pickle=False) as stored:
            return Features(
                features=stored["features"],
                conversation_ids=stored["conversation_ids"],
                utterance_index=stored["utterance_index"],
                speakers=stored["speakers"],
                encoder=str(stored["encoder"]),
            )
    except (OSError, KeyError, ValueError) as error:
        raise EmotraceError(f"not an emotrace features file ({error})", path=str(path), hint="write it with `emotrace extract`") from None
