"""One analysis pipeline for every front end: the CLI, the web service and the batch engine all call `Analyzer`.

It loads each model once, on first use, and keeps it: a service answers many requests with the same weights,
and a batch worker many shards. What to run is an `AnalysisOptions`, the same fields as `emotrace analyze`'s
flags, so a request, a command line and a shard mean exactly the same thing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from emotrace.errors import EmotraceError
from emotrace.schema import Conversation, Prediction

if TYPE_CHECKING:
    from emotrace.models.base import ERCModel

LATE_FUSION = "late"


@dataclass(frozen=True)
class AnalysisOptions:
    """`model` answers from text; `speech_model`/`face_model` join in where utterances reference audio, an image
    or a video, fused by `fusion_model` (a CMATH / early-fusion bundle, or "late" to average the modalities)."""

    model: str = "default"
    speech_model: str = "speech"
    face_model: str = "face"
    fusion_model: str = "fusion"
    mc_dropout: int = 0
    abstain_below: float | None = None
    explain: bool = False


class Analyzer:
    """Models by name, loaded once and shared; `analyze` runs `AnalysisOptions` over conversations."""

    def __init__(self) -> None:
        self._models: dict[str, ERCModel] = {}
        self._lock = threading.Lock()

    def model(self, name: str) -> ERCModel:
        """A shipped model or bundle directory, loaded on first use."""
        with self._lock:
            if name not in self._models:
                from emotrace.models.bundle import load_model

                self._models[name] = load_model(name)
            return self._models[name]

    def analyze(self, conversations: list[Conversation], options: AnalysisOptions = AnalysisOptions(), progress: bool = False) -> list[list[Prediction]]:
        """One `Prediction` per utterance, grouped per conversation."""
        from emotrace.inference.predict import predict

        chosen = self.model(options.model)
        kinds = {kind for c in conversations for u in c.utterances for kind in u.media}
        media_models = {}
        if not chosen.media and "audio" in kinds:
            media_models["speech"] = self.model(options.speech_model)
        if not chosen.media and kinds & {"image", "video"}:
            media_models["face"] = self.model(options.face_model)
        if media_models:
            from emotrace.inference.fusion import predict_multimodal

            fusion = None if options.fusion_model == LATE_FUSION else self.fusion_model(options.fusion_model)
            predictions = predict_multimodal(
                chosen, media_models, conversations, progress, mc_passes=options.mc_dropout, abstain_below=options.abstain_below, fusion_model=fusion
            )
        else:
            predictions = predict(chosen, conversations, progress=progress, mc_passes=options.mc_dropout, abstain_below=options.abstain_below)
        if options.explain:
            add_explanations(chosen, conversations, predictions)
        return predictions

    def fusion_model(self, name: str) -> ERCModel:
        from emotrace.models.multimodal import MultimodalModel

        model = self.model(name)
        if not isinstance(model, MultimodalModel):
            raise EmotraceError(
                f"'{name}' is a {model.registry_name} model, not a fusion model", hint="pass --fusion-model fusion, late, or a cmath / early-fusion bundle"
            )
        return model


def add_explanations(model: ERCModel, conversations: list[Conversation], predictions: list[list[Prediction]]) -> None:
    """Word and earlier-turn importances on every prediction (text models only)."""
    from emotrace.inference.explain import explain

    if model.media:
        raise EmotraceError("--explain needs a text model", hint="drop --explain or choose a text model with --model")
    for conversation, predicted in zip(conversations, predictions):
        for prediction, explanation in zip(predicted, explain(model, conversation, predicted)):
            prediction.explanation = explanation
