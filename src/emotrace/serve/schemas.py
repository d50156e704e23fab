"""The HTTP API's request and response shapes, with the examples shown in the OpenAPI page.

Conversations are checked by the same JSONL reader as `emotrace analyze`, so a request and a file get the same
one-line errors; the schema here only documents their shape.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

TEXT_FORMATS = ("transcript", "jsonl", "srt", "vtt", "csv")

_MEDIA_SCHEMA = {
    "type": "object",
    "properties": {kind: {"type": "string"} for kind in ("audio", "image", "video")},
    "additionalProperties": False,
    "description": "media kind → the file name of an upload in the same multipart request (or a path under the server's --media-root)",
}
_CONVERSATION_SCHEMA = {
    "type": "object",
    "required": ["utterances"],
    "properties": {
        "id": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        "media": _MEDIA_SCHEMA,
        "metadata": {"type": "object"},
        "utterances": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["speaker", "text"],
                "properties": {
                    "speaker": {"type": "string"},
                    "text": {"type": "string"},
                    "start": {"type": "number", "minimum": 0, "description": "seconds; cuts the utterance out of a longer recording"},
                    "end": {"type": "number", "minimum": 0},
                    "id": {"type": "string"},
                    "media": _MEDIA_SCHEMA,
                },
            },
        },
    },
}
Conversations = Annotated[list[dict[str, Any]], WithJsonSchema({"type": "array", "items": _CONVERSATION_SCHEMA})]


class AnalyzeOptions(BaseModel):
    """What `emotrace analyze`'s flags of the same names do."""

    model_config = ConfigDict(extra="forbid", strict=True)

    model: str | None = Field(None, description="a shipped model name (GET /v1/models); default: the model the server preloaded")
    fusion_model: str = Field(
        "late", description="`late` averages the modalities' calibrated distributions; `fusion` (or another CMATH bundle) is learned fusion"
    )
    mc_dropout: int = Field(0, ge=0, description="Monte-Carlo dropout passes for uncertainty (0: off); the server caps it")
    abstain_below: float | None = Field(None, ge=0.0, le=1.0, description="label utterances `uncertain` below this confidence")
    explain: bool = Field(False, description="add word and earlier-turn importances")


_REQUEST_KEYS = ("options", "html")  # a bare conversation's keys that belong to the request, not the conversation
_SHAPES = '{"conversations": [...]}, {"text": ..., "format": ...}, or one conversation {"id": ..., "utterances": [...]}'


class AnalyzeRequest(BaseModel):
    """Either `conversations` (the JSONL schema, one object per conversation) or `text` in a `format`; a bare
    conversation (one JSONL line, `{"id": ..., "utterances": [...]}`) is read as `conversations` of one."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {"text": "Ann: I got the job!\nBob: That's wonderful news!", "format": "transcript", "html": True},
                {
                    "conversations": [{"id": "call-1", "utterances": [{"speaker": "Ann", "text": "Why is it still broken?"}]}],
                    "options": {"explain": True, "abstain_below": 0.4},
                },
            ]
        },
    )

    conversations: Conversations | None = None
    text: str | None = Field(None, description="a whole conversation file's text, e.g. pasted into the web page")
    format: Literal["transcript", "jsonl", "srt", "vtt", "csv"] = Field("transcript", description="the format of `text`")
    media: dict[str, str] | None = Field(None, description="one recording per kind for every utterance that names none (like `analyze --media`)")
    options: AnalyzeOptions = AnalyzeOptions()
    html: bool = Field(False, description="also return the HTML timeline fragment the web page shows")

    @model_validator(mode="before")
    @classmethod
    def _bare_conversation(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "conversations" in data or "text" in data:
            return data
        if "utterances" not in data:
            raise ValueError(f"expected {_SHAPES}; got keys: {', '.join(map(json.dumps, data)) or 'none'}")
        conversation = {key: value for key, value in data.items() if key not in _REQUEST_KEYS}
        return {"conversations": [conversation]} | {key: data[key] for key in _REQUEST_KEYS if key in data}

    @model_validator(mode="after")
    def _one_source(self) -> AnalyzeRequest:
        if (self.conversations is None) == (self.text is None):
            raise ValueError('give either "conversations" or "text"')
        return self


class ModalityRecord(BaseModel):
    emotion: str
    confidence: float
    probabilities: dict[str, float]
    evidence: dict[str, int] | None = None


class UtteranceRecord(BaseModel):
    """One analysed utterance, exactly as in `emotrace analyze --format json`."""

    speaker: str
    text: str
    start: float | None
    end: float | None
    id: str | None
    emotion: str = Field(description="the predicted emotion, or `uncertain` when abstaining")
    confidence: float
    probabilities: dict[str, float]
    sentiment: str | None
    sentiment_probabilities: dict[str, float] | None
    uncertainty: dict[str, float] | None = None
    modalities: dict[str, ModalityRecord] | None = None
    errors: dict[str, str] | None = Field(None, description="why a modality is missing for this utterance (e.g. undecodable audio)")
    explanation: dict[str, list[list[Any]]] | None = None
    gold_emotion: str | None = None


class ConversationRecord(BaseModel):
    id: str
    utterances: list[UtteranceRecord]
    metadata: dict[str, Any] = {}
    summary: dict[str, Any] | None = Field(
        None, description="per speaker: emotion distribution, valence/arousal trajectory, shifts, opening and closing emotion, longest negative run"
    )


class AnalyzeResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "conversations": [
                        {
                            "id": "conv1",
                            "utterances": [
                                {
                                    "speaker": "Ann",
                                    "text": "I got the job!",
                                    "start": None,
                                    "end": None,
                                    "id": None,
                                    "emotion": "joy",
                                    "confidence": 0.91,
                                    "probabilities": {"joy": 0.91, "neutral": 0.05, "surprise": 0.04},
                                    "sentiment": "positive",
                                    "sentiment_probabilities": {"positive": 0.93, "neutral": 0.05, "negative": 0.02},
                                }
                            ],
                        }
                    ],
                    "html": '<p class="legend">…</p><section class="conversation">…</section>',
                }
            ]
        }
    )

    conversations: list[ConversationRecord]
    html: str | None = Field(None, description="the timeline fragment, when the request asked for `html`")


class ErrorResponse(BaseModel):
    error: str = Field(description="one line saying what is wrong and what to do", examples=['conversations:1: utterance 2 has no "text" (add a "text" field)'])


class ModelInfo(BaseModel):
    name: str
    family: str = Field(description="the architecture (registry name), e.g. finetune-bigru")
    description: str | None = Field(None, description="what the architecture is, e.g. whether it reads text, speech or faces")
    labels: list[str]
    sentiment_labels: list[str] | None = None
    trained_on: str | None = None
    metrics: dict[str, Any] = Field(description="the evaluation blocks of the bundle's config.json")


class ModelsResponse(BaseModel):
    default: str
    models: list[ModelInfo]
