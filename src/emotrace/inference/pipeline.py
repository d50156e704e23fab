"""One analysis pipeline for every front end: the CLI, the web service and the batch engine all call `Analyzer`.

It loads each model once, on first use, and keeps it: a service answers many requests with the same weights,
and a batch worker many shards. What to run is a `PipelineOptions`, the same fields as `emotrace analyze`'s
flags, so a request, a command line and a shard mean exactly the same thing.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from emotrace.errors import EmotraceError
from emotrace.schema import Conversation, Prediction

if TYPE_CHECKING:
    from emotrace.export.runtime import OnnxERCModel
    from emotrace.models.base import ERCModel

LATE_FUSION = "late"
TORCH = "torch-fp32"

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PipelineOptions:
    """`model` answers from text; `speech_model`/`face_model` join in where utterances reference audio, an image
    or a video, fused by `fusion_model` (a CMATH / early-fusion bundle, or "late" to average the modalities).
    `backend` runs the text model: "torch-fp32", "onnx-fp32" or "onnx-int8" (its `emotrace export`), or "auto": the
    fp32 export when there is one and onnxruntime is installed (same outputs, faster, starts without torch),
    else torch."""

    model: str = "default"
    speech_model: str = "speech"
    face_model: str = "face"
    fusion_model: str = LATE_FUSION
    mc_dropout: int = 0
    abstain_below: float | None = None
    explain: bool = False
    backend: str = "auto"


class Analyzer:
    """Models by name, loaded once and shared; `analyze` runs `PipelineOptions` over conversations."""

    def __init__(self) -> None:
        self._models: dict[str, ERCModel] = {}
        self._auto_backend: dict[str, str] = {}  # model → what "auto" resolved to (looked up once)
        self._lock = threading.Lock()

    def model(self, name: str) -> ERCModel:
        """A shipped model or bundle directory, loaded on first use."""
        with self._lock:
            if name not in self._models:
                from emotrace.models.bundle import load_model

                self._models[name] = load_model(name)
            return self._models[name]

    def analyze(self, conversations: list[Conversation], options: PipelineOptions = PipelineOptions(), progress: bool = False) -> list[list[Prediction]]:
        """One `Prediction` per utterance, grouped per conversation."""
        from emotrace.inference.predict import predict

        _check_every_utterance_has_input(conversations)
        chosen = self.text_model(options)
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

    def text_model(self, options: PipelineOptions) -> ERCModel | OnnxERCModel:
        """The text model on the backend the options ask for; "auto" never changes what the model outputs."""
        from emotrace.export.runtime import ONNX_BACKENDS

        needs_torch = options.mc_dropout > 0 or options.explain
        backend = options.backend
        if backend == "auto":
            if options.model not in self._auto_backend:
                self._auto_backend[options.model] = _auto_backend(options.model)
            backend = TORCH if needs_torch else self._auto_backend[options.model]
        if backend == TORCH:
            return self.model(options.model)
        if backend not in ONNX_BACKENDS:
            raise EmotraceError(f"unknown backend {backend!r}", hint=f"choose one of auto, {TORCH}, {', '.join(ONNX_BACKENDS)}")
        if needs_torch:
            raise EmotraceError(f"--mc-dropout and --explain need the PyTorch model, not {backend}", hint=f"add --backend {TORCH}")
        key = f"{options.model}@{backend}"
        with self._lock:
            if key not in self._models:
                from emotrace.export.runtime import load_onnx_model

                self._models[key] = load_onnx_model(options.model, backend)
            return self._models[key]

    def fusion_model(self, name: str) -> ERCModel:
        from emotrace.models.multimodal import MultimodalModel

        model = self.model(name)
        if not isinstance(model, MultimodalModel):
            raise EmotraceError(
                f"'{name}' is a {model.registry_name} model, not a fusion model", hint="pass --fusion-model fusion, late, or a cmath / early-fusion bundle"
            )
        return model


def _check_every_utterance_has_input(conversations: list[Conversation]) -> None:
    """A textless utterance is analysed from its media; one with neither has nothing to analyse. Readers catch this
    with a line number; this catches conversations built in code (the library, a recording's turns)."""
    for conversation in conversations:
        for position, utterance in enumerate(conversation.utterances, start=1):
            if not utterance.text.strip() and not utterance.media:
                raise EmotraceError(
                    f"conversation {conversation.id!r}, utterance {position}: no text and no media", hint="give it text, or audio, an image or a video"
                )


def _auto_backend(model: str) -> str:
    """ "onnx-fp32" when `model` has that export and onnxruntime is installed, else torch; an export this
    environment cannot run is said once, as a warning, instead of failing."""
    from emotrace.export.runtime import INSTALL_HINT, has_export, onnx_runtime_installed

    if not (_is_text_export_candidate(model) and has_export(model)):
        return TORCH
    if not onnx_runtime_installed():
        _log.warning("model '%s' has an ONNX export but onnxruntime or tokenizers is missing; running it on torch (%s)", model, INSTALL_HINT)
        return TORCH
    return "onnx-fp32"


def _is_text_export_candidate(name: str) -> bool:
    """Only text models are exported; a media or fusion bundle passed as --model is never looked up in the cache."""
    from emotrace.export.runtime import EXPORTABLE_MODELS
    from emotrace.models.bundle import bundle_path, read_config

    return read_config(bundle_path(name))["model"] in EXPORTABLE_MODELS


def add_explanations(model: ERCModel, conversations: list[Conversation], predictions: list[list[Prediction]]) -> None:
    """Word and earlier-turn importances on every prediction (text models only)."""
    from emotrace.inference.explain import explain

    if model.media:
        raise EmotraceError("--explain needs a text model", hint="drop --explain or choose a text model with --model")
    for conversation, predicted in zip(conversations, predictions):
        spoken = [(u, p) for u, p in zip(conversation.utterances, predicted) if u.text.strip()]  # textless turns have no words to explain
        if not spoken:
            continue
        text_only = Conversation(conversation.id, [u for u, _ in spoken], conversation.metadata)
        for (_, prediction), explanation in zip(spoken, explain(model, text_only, [p for _, p in spoken])):
            prediction.explanation = explanation
