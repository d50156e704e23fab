"""What a text model reads of a conversation besides each utterance: speaker roles and the neighbouring turns.

Torch-free, so the PyTorch models and their ONNX exports (export/runtime.py) build identical inputs.
"""

from __future__ import annotations

from emotrace.schema import Conversation


def speaker_indices(conversation: Conversation, max_speakers: int) -> list[int]:
    """Speakers numbered by first appearance within the conversation (names do not generalise across shows)."""
    order: dict[str, int] = {}
    return [min(order.setdefault(u.speaker, len(order)), max_speakers - 1) for u in conversation.utterances]


def context_pairs(conversation: Conversation, past: int, future: int) -> list[tuple[str, str]]:
    """(`Speaker: text`, previous turns [+ ` | ` + next turns]) for every utterance."""
    turns = [f"{u.speaker}: {u.text}" for u in conversation.utterances]
    pairs = []
    for i, turn in enumerate(turns):
        context = " ".join(turns[max(0, i - past) : i])
        if future:
            context = f"{context} | {' '.join(turns[i + 1 : i + 1 + future])}"
        pairs.append((turn, context.strip()))
    return pairs
