"""Speech emotion from openSMILE functionals with a linear classifier: the classical path that the field's
speaker-independent EmoDB results are measured against (see benchmarks/emodb.py for its protocol).

Features are z-scored per speaker within the input (unsupervised speaker normalisation) when a speaker has at
least `min_speaker_clips` clips; otherwise with the training set's statistics, which is weaker, as the model card
says. The weights are fitted with scikit-learn and stored as a bundle like every other model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from emotrace.errors import EmotraceError
from emotrace.models.base import ERCModel, ModelOutput
from emotrace.models.registry import register_model
from emotrace.schema import Conversation, Utterance


class SpeechFunctionals(ERCModel):
    media = ("audio",)

    def __init__(self, labels: list[str], feature_set: str = "ComParE_2016", dims: int = 6373, min_speaker_clips: int = 5) -> None:
        super().__init__(labels, None)
        self.feature_set, self.min_speaker_clips = feature_set, min_speaker_clips
        self.weight = nn.Parameter(torch.zeros(len(self.labels), dims))
        self.bias = nn.Parameter(torch.zeros(len(self.labels)))
        self.register_buffer("feature_mean", torch.zeros(dims))
        self.register_buffer("feature_std", torch.ones(dims))

    def normalise(self, features: np.ndarray, speakers: list[str]) -> np.ndarray:
        from emotrace.encoders.audio import standardize_per_speaker

        global_scaled = (features - self.feature_mean.numpy()) / self.feature_std.numpy()
        speaker_scaled = standardize_per_speaker(features, speakers) if len(features) else features
        counts = {s: speakers.count(s) for s in speakers}
        enough = np.array([counts[s] >= self.min_speaker_clips for s in speakers])
        return np.nan_to_num(np.where(enough[:, None], speaker_scaled, global_scaled)).astype(np.float32)

    def load_media(self, utterance: Utterance) -> np.ndarray:
        from emotrace.encoders.audio import load_audio

        if "audio" not in utterance.media:
            raise EmotraceError("has no audio", hint='speech models need "media": {"audio": PATH}')
        return load_audio(utterance.media["audio"], utterance.start, utterance.end)

    def prepare(self, conversations: list[Conversation], progress: bool = False) -> list[dict[str, Any]]:
        from emotrace.encoders.audio import FunctionalsEncoder

        encoder = FunctionalsEncoder(self.feature_set)  # built once per call: it costs about a quarter of a second
        return [self._item(conversation, self.conversation_media(conversation), encoder) for conversation in conversations]

    def prepare_loaded(self, conversation: Conversation, loaded: list[np.ndarray]) -> dict[str, Any]:
        from emotrace.encoders.audio import FunctionalsEncoder

        return self._item(conversation, loaded, FunctionalsEncoder(self.feature_set))

    def _item(self, conversation: Conversation, waves: list[np.ndarray], encoder: Any) -> dict[str, Any]:
        features = self.normalise(encoder.embed(waves), [u.speaker for u in conversation.utterances])
        return {"features": torch.from_numpy(features)}

    def collate(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        return {"features": torch.cat([item["features"] for item in items])}

    def forward(self, batch: dict[str, Any]) -> ModelOutput:
        return ModelOutput(batch["features"] @ self.weight.T + self.bias)


@register_model("speech-functionals", "speech: openSMILE functionals, per-speaker z-scoring, linear classifier (fitted by benchmarks/ship_speech.py)")
def speech_functionals(**args: Any) -> ERCModel:
    return SpeechFunctionals(**args)
