"""Conversation models over several modalities: the shared input side (one feature vector per utterance and
modality, with a mask saying which modalities each utterance has) and the early-fusion baseline.

Features come from `utterance.features` when the data carries them (community feature files, `emotrace extract`),
else they are extracted from the utterance itself: MiniLM for the text, openSMILE eGeMAPSv02 functionals for
`media["audio"]`, the face bundle's CNN features for `media["image"]`/`media["video"]` (mean over the frames that
show a face). A modality that is absent or unusable for an utterance (no file, broken file, no face) is masked
out for that utterance only. Extraction is memoised per (file, span), since composite benchmarks reuse clips,
in LRU caches of at most MEDIA_MEMO vectors each (~0.4 kB audio, ~1 kB face), so a service's memory stays flat.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from emotrace.errors import EmotraceError
from emotrace.labels import UNSCORED
from emotrace.models.base import EmotionHeads, ERCModel, ModelOutput
from emotrace.models.registry import register_model
from emotrace.models.turns import speaker_indices
from emotrace.schema import Conversation, Utterance

MODALITIES = ("text", "audio", "face")
FEATURE_DIMS = {"text": 384, "audio": 88, "face": 256}  # MiniLM, eGeMAPSv02 functionals, the face CNN's pooled features
MULTIMODAL_MODELS = ("early-fusion", "cmath")


def feature_dims(conversations: list[Conversation]) -> dict[str, int]:
    """The sizes of the precomputed `utterance.features` the data carries (e.g. a community feature file), in
    MODALITIES order, so that `emotrace train` builds a multimodal model for them; {} when there are none."""
    found: dict[str, int] = {}
    for conversation in conversations:
        for utterance in conversation.utterances:
            for modality, vector in utterance.features.items():
                found.setdefault(modality, len(vector))
    return {m: found[m] for m in MODALITIES if m in found}


FACE_MEDIA = ("image", "video")
MEDIA_MEMO = 1024  # feature vectors kept per modality: every EmoDB clip of a composite benchmark, a few MB at most


@lru_cache(maxsize=MEDIA_MEMO)
def _audio_vector(path: str, modified: float, start: float | None, end: float | None) -> np.ndarray:
    from emotrace.encoders.audio import load_audio

    return _functionals().embed([load_audio(path, start, end)])[0]


@lru_cache(maxsize=1)
def _functionals() -> Any:
    from emotrace.encoders.audio import FunctionalsEncoder

    return FunctionalsEncoder("eGeMAPSv02")


@lru_cache(maxsize=1)
def _text_encoder() -> Any:
    """One encoder per process: `analyze` prepares conversation by conversation, and loading MiniLM each time costs."""
    from emotrace.encoders.text import TextEncoder

    return TextEncoder()


@lru_cache(maxsize=4)
def _face_network(face_model: str) -> Any:
    from emotrace.models.bundle import load_model

    return load_model(face_model).network.eval()


@lru_cache(maxsize=MEDIA_MEMO)
def _face_vector(face_model: str, kind: str, path: str, modified: float, start: float | None, end: float | None) -> np.ndarray:
    """The mean of the face network's features over the faces of an image, or of a video span's frames."""
    from emotrace.models.face import FACE_FPS, faces_of_file

    crops = faces_of_file(kind, path, modified, start, end, FACE_FPS).crops
    return _face_network(face_model).embed(list(crops)).mean(0)


def media_vector(utterance: Utterance, modality: str, face_model: str, loaded: Any = None) -> np.ndarray | None:
    """The utterance's audio or face feature vector; None when it has no such media; EmotraceError when unusable.
    `loaded` is the media a media model has decoded already (a 16 kHz waveform, a FaceSample): used, not re-read."""
    if loaded is not None:
        return _functionals().embed([loaded])[0] if modality == "audio" else _face_network(face_model).embed(list(loaded.crops)).mean(0)
    if modality == "audio":
        path = utterance.media.get("audio")
        return None if path is None else _audio_vector(path, _modified(path), utterance.start, utterance.end)
    kind = next((kind for kind in FACE_MEDIA if kind in utterance.media), None)
    if kind is None:
        return None
    path = utterance.media[kind]
    return _face_vector(face_model, kind, path, _modified(path), utterance.start, utterance.end)


def _modified(path: str) -> float:
    return Path(path).stat().st_mtime if Path(path).is_file() else 0.0


@dataclass
class ConversationFeatures:
    """Per modality: (n, d) float32 vectors (zero rows where absent) and an (n,) mask of the rows present."""

    vectors: dict[str, np.ndarray]
    present: dict[str, np.ndarray]


def conversation_features(
    conversations: list[Conversation],
    modalities: list[str],
    dims: dict[str, int],
    face_model: str = "face",
    loaded: list[list[dict[str, Any]]] | None = None,
) -> list[ConversationFeatures]:
    """Per conversation, every modality's vectors; `loaded[c][u]` maps a modality to media already decoded for
    utterance u of conversation c (see media_vector), or to None when that media proved unusable."""
    texts = [u.text for c in conversations for u in c.utterances if "text" in modalities and "text" not in u.features]
    text_vectors = iter(_text_encoder().embed(texts)) if texts else iter(())
    result = []
    for number, conversation in enumerate(conversations):
        decoded = loaded[number] if loaded is not None else [{} for _ in conversation.utterances]
        vectors = {m: np.zeros((len(conversation), dims[m]), dtype=np.float32) for m in modalities}
        present = {m: np.zeros(len(conversation), dtype=bool) for m in modalities}
        for row, utterance in enumerate(conversation.utterances):
            for modality in modalities:
                if modality in utterance.features:
                    vector = np.asarray(utterance.features[modality], dtype=np.float32)
                    if vector.shape != (dims[modality],):
                        raise EmotraceError(
                            f"utterance {row + 1}: {modality} features have shape {vector.shape}, the model expects ({dims[modality]},)",
                            path=conversation.id,
                            hint="use features from the same extractor the model was trained on",
                        )
                elif modality == "text":
                    vector = next(text_vectors)
                    if not utterance.text.strip():
                        continue
                elif modality in decoded[row] and decoded[row][modality] is None:
                    continue  # a media model found this recording unusable already
                else:
                    try:
                        vector = media_vector(utterance, modality, face_model, decoded[row].get(modality))
                    except EmotraceError:
                        continue
                    if vector is None:
                        continue
                vectors[modality][row] = np.nan_to_num(vector)
                present[modality][row] = True
        result.append(ConversationFeatures(vectors, present))
    return result


class MultimodalModel(ERCModel):
    """Shared input side: per-modality features and masks, speaker indices, and the gold labels, which ride along
    only for the auxiliary per-modality losses that some fusion models train with (`forward` ignores them in eval)."""

    max_speakers = 9

    def __init__(
        self,
        labels: list[str],
        sentiment_labels: list[str] | None = None,
        modalities: list[str] | None = None,
        dims: dict[str, int] | None = None,
        face_model: str = "face",
        modality_dropout: float = 0.0,
    ) -> None:
        super().__init__(labels, None)
        self.modalities = list(modalities or MODALITIES)
        unknown = [m for m in self.modalities if m not in MODALITIES]
        if unknown:
            raise EmotraceError(f"unknown modality '{unknown[0]}'", hint=f"choose from {', '.join(MODALITIES)}")
        self.dims = {m: int((dims or FEATURE_DIMS)[m]) for m in self.modalities}
        self.face_model = face_model
        self.modality_dropout = modality_dropout
        self.media = tuple(kind for m in self.modalities for kind in {"audio": ("audio",), "face": FACE_MEDIA}.get(m, ()))
        self.normalise = nn.ModuleDict({m: nn.BatchNorm1d(d) for m, d in self.dims.items()})

    def prepare(self, conversations: list[Conversation], progress: bool = False) -> list[dict[str, Any]]:
        return self._items(conversations, None)

    def prepare_loaded(self, conversation: Conversation, loaded: list[dict[str, Any]]) -> dict[str, Any]:
        """One conversation's item from media the caller has decoded already (per utterance: modality → media)."""
        return self._items([conversation], [loaded])[0]

    def _items(self, conversations: list[Conversation], loaded: list[list[dict[str, Any]]] | None) -> list[dict[str, Any]]:
        index = {label: i for i, label in enumerate(self.labels)}
        items = []
        for conversation, features in zip(conversations, conversation_features(conversations, self.modalities, self.dims, self.face_model, loaded)):
            items.append(
                {
                    "vectors": {m: torch.from_numpy(v) for m, v in features.vectors.items()},
                    "present": {m: torch.from_numpy(p) for m, p in features.present.items()},
                    "speakers": torch.tensor(speaker_indices(conversation, self.max_speakers)),
                    "gold": torch.tensor([index.get(u.emotion or "", UNSCORED) for u in conversation.utterances]),
                }
            )
        return items

    def collate(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        pad = nn.utils.rnn.pad_sequence
        return {
            "vectors": {m: pad([i["vectors"][m] for i in items], batch_first=True) for m in self.modalities},
            "present": {m: pad([i["present"][m] for i in items], batch_first=True) for m in self.modalities},
            "speakers": pad([i["speakers"] for i in items], batch_first=True),
            "gold": pad([i["gold"] for i in items], batch_first=True, padding_value=UNSCORED),
            "mask": pad([torch.ones(len(i["speakers"]), dtype=torch.bool) for i in items], batch_first=True),
        }

    def inputs(self, batch: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """Features z-scored with training statistics (BatchNorm over the present rows), zero where absent; and
        the presence masks after modality dropout, which in training hides each modality of an utterance with
        probability `modality_dropout` but never all of them."""
        present = {m: batch["present"][m] & batch["mask"] for m in self.modalities}
        if self.training and self.modality_dropout > 0 and len(self.modalities) > 1:
            kept = {m: p & (torch.rand(p.shape) >= self.modality_dropout) for m, p in present.items()}
            nothing_left = ~torch.stack(list(kept.values())).any(0)
            present = {m: kept[m] | (present[m] & nothing_left) for m in self.modalities}
        normalised = {}
        for m in self.modalities:
            vectors = batch["vectors"][m]
            out = torch.zeros_like(vectors)
            rows = present[m]
            if rows.sum() > 1 or (not self.training and rows.any()):
                out[rows] = self.normalise[m](vectors[rows])
            normalised[m] = out
        return normalised, present


class TurnEmbedding(nn.Module):
    """Adds who speaks (their index within the dialogue) and where in the dialogue, to each utterance's vector."""

    def __init__(self, hidden: int, max_speakers: int, max_turns: int = 256) -> None:
        super().__init__()
        self.speaker = nn.Embedding(max_speakers, hidden)
        self.position = nn.Embedding(max_turns, hidden)
        for table in (self.speaker, self.position):
            nn.init.normal_(table.weight, std=0.02)  # small, so that who and where do not drown what was said at the start

    def forward(self, inputs: torch.Tensor, speakers: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(inputs.shape[1]).clamp_max(self.position.num_embeddings - 1)
        return inputs + self.speaker(speakers) + self.position(positions)[None]


class DialogueTransformer(nn.Module):
    """Self-attention over the utterances of a dialogue, with speaker and position embeddings."""

    def __init__(self, hidden: int, layers: int, heads: int, dropout: float, max_speakers: int) -> None:
        super().__init__()
        self.turns = TurnEmbedding(hidden, max_speakers)
        layer = nn.TransformerEncoderLayer(hidden, heads, 4 * hidden, dropout, activation="gelu", batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)

    def forward(self, inputs: torch.Tensor, speakers: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.encoder(self.turns(inputs, speakers), src_key_padding_mask=~mask)


class EarlyFusion(MultimodalModel):
    """Early fusion: the present modalities' normalised features and presence flags concatenated, projected, then
    one dialogue transformer. With a single modality it is that modality's unimodal context model."""

    def __init__(
        self,
        labels: list[str],
        sentiment_labels: list[str] | None = None,
        modalities: list[str] | None = None,
        dims: dict[str, int] | None = None,
        face_model: str = "face",
        modality_dropout: float = 0.0,
        hidden: int = 96,
        layers: int = 2,
        heads: int = 4,
        dropout: float = 0.3,
    ) -> None:
        super().__init__(labels, sentiment_labels, modalities, dims, face_model, modality_dropout)
        width = sum(self.dims.values()) + len(self.modalities)
        self.project = nn.Sequential(nn.Dropout(dropout), nn.Linear(width, hidden), nn.GELU())
        self.context = DialogueTransformer(hidden, layers, heads, dropout, self.max_speakers)
        self.heads = EmotionHeads(hidden, len(self.labels), None, dropout)

    def forward(self, batch: dict[str, Any]) -> ModelOutput:
        normalised, present = self.inputs(batch)
        joined = torch.cat([normalised[m] for m in self.modalities] + [present[m][..., None].float() for m in self.modalities], dim=-1)
        return self.heads(self.context(self.project(joined), batch["speakers"], batch["mask"])[batch["mask"]])


@register_model("early-fusion", "multimodal: per-utterance text/audio/face features concatenated → dialogue transformer (also the unimodal baselines)")
def early_fusion(**args: Any) -> ERCModel:
    return EarlyFusion(**args)
