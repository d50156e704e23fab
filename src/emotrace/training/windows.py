"""Dialogue windows: long training conversations cut into overlapping pieces so that an epoch gives enough
optimiser steps. IEMOCAP's 120 training dialogues average ~50 turns, so whole-dialogue batches of ~32 utterances
give only ~108 steps an epoch; windows of 24 scored turns give ~2.2× as many. Each window carries `margin`
context-only turns (no gold label) on either side, so every scored turn still sees its neighbours.
Evaluation and inference always read whole conversations."""

from __future__ import annotations

from dataclasses import replace

from emotrace.schema import Conversation


def dialogue_windows(conversations: list[Conversation], size: int, margin: int = 4) -> list[Conversation]:
    """Conversations longer than `size` turns cut into windows of `size` scored turns (0 = no cutting)."""
    if size <= 0:
        return list(conversations)
    windows = []
    for conversation in conversations:
        if len(conversation) <= size:
            windows.append(conversation)
            continue
        for start in range(0, len(conversation), size):
            end = min(start + size, len(conversation))
            lo, hi = max(0, start - margin), min(len(conversation), end + margin)
            turns = [u if start <= i < end else replace(u, emotion=None, sentiment=None) for i, u in enumerate(conversation.utterances[lo:hi], lo)]
            windows.append(Conversation(f"{conversation.id}#{start}", turns, conversation.metadata))
    return windows
