"""From a validated request to what the pipeline takes: conversations (read by the same readers as the CLI, media
resolved, limits checked) and `PipelineOptions`."""

from __future__ import annotations

import json
from pathlib import Path

from emotrace.errors import EmotraceError
from emotrace.inference.pipeline import PipelineOptions
from emotrace.io import parse_conversations
from emotrace.schema import MEDIA_KINDS, Conversation
from emotrace.serve.catalog import model_reference
from emotrace.serve.media import check_durations, resolve_media
from emotrace.serve.schemas import AnalyzeOptions, AnalyzeRequest
from emotrace.serve.settings import ServeSettings


def request_conversations(request: AnalyzeRequest, uploads: dict[str, Path], settings: ServeSettings) -> list[Conversation]:
    """The request's conversations, or a one-line EmotraceError naming the conversation, utterance or field at fault."""
    if request.conversations is not None:
        # One JSON line per conversation through the JSONL reader: errors then say "conversations:N" for the N-th.
        lines = "\n".join(json.dumps(conversation, ensure_ascii=False) for conversation in request.conversations)
        conversations = parse_conversations(lines, "jsonl", "conversations")
    else:
        conversations = parse_conversations(request.text or "", request.format, "text")
    _check_sizes(conversations, settings)
    _attach_recordings(conversations, request.media or {})
    resolve_media(conversations, uploads, settings.media_root)
    check_durations(conversations, settings.max_media_seconds)
    return conversations


def pipeline_options(options: AnalyzeOptions, settings: ServeSettings) -> PipelineOptions:
    if options.mc_dropout > settings.max_mc_dropout:
        raise EmotraceError(f"options.mc_dropout is {options.mc_dropout}, over this server's limit of {settings.max_mc_dropout}")
    return PipelineOptions(
        model=model_reference(options.model or settings.model, settings, "options.model"),
        fusion_model=model_reference(options.fusion_model, settings, "options.fusion_model"),
        mc_dropout=options.mc_dropout,
        abstain_below=options.abstain_below,
        explain=options.explain,
        backend="auto" if options.explain or options.mc_dropout else settings.backend,
    )


def _check_sizes(conversations: list[Conversation], settings: ServeSettings) -> None:
    total = sum(len(conversation) for conversation in conversations)
    if total > settings.max_utterances:
        raise EmotraceError(f"the request has {total} utterances, over this server's limit of {settings.max_utterances}", hint="split it into several requests")
    for conversation in conversations:
        for position, utterance in enumerate(conversation.utterances, 1):
            if len(utterance.text) > settings.max_text_chars:
                raise EmotraceError(
                    f"conversation {conversation.id!r} utterance {position}: the text is {len(utterance.text)} characters, over this server's limit of {settings.max_text_chars}",
                    hint="split the turn",
                )


def _attach_recordings(conversations: list[Conversation], media: dict[str, str]) -> None:
    """`media` of the request: one recording per kind for the utterances that name none (cut by their start/end)."""
    for kind, name in media.items():
        if kind not in MEDIA_KINDS:
            raise EmotraceError(f'media: unknown media kind "{kind}"', hint=f"use {', '.join(MEDIA_KINDS)}")
        for utterance in (u for c in conversations for u in c.utterances):
            utterance.media.setdefault(kind, name)
