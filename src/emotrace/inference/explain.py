"""Why a model said what it said, by ablation (Zeiler & Fergus, 2014; model-agnostic, no gradients needed):
- words: remove one word of the utterance at a time; its importance is how far the probability of the
  predicted label drops;
- turns: remove one earlier turn at a time; its importance is the same drop for the utterance explained.

Each utterance is explained within a window of itself and its `window` previous turns (3 by default, the context
the fine-tuned models read as text), so the cost stays linear in the conversation's length. For models that also
read the whole dialogue (`*-bigru`), this explains the windowed prediction, which can differ from the full one.
"""

from __future__ import annotations

from dataclasses import replace

from emotrace.inference.predict import predict_probabilities
from emotrace.models.base import ERCModel
from emotrace.schema import Conversation, Prediction


def _without_word(conversation: Conversation, position: int, word: int) -> Conversation:
    utterances = list(conversation.utterances)
    words = utterances[position].text.split()
    utterances[position] = replace(utterances[position], text=" ".join(words[:word] + words[word + 1 :]) or "...")
    return Conversation(conversation.id, utterances)


def explain(model: ERCModel, conversation: Conversation, predicted: list[Prediction], window: int = 3) -> list[dict[str, list]]:
    """For each utterance: {"words": [[word, importance], ...], "turns": [[turn number (1-based), importance], ...]}."""
    explanations = []
    for position, prediction in enumerate(predicted):
        start = max(0, position - window)
        base = Conversation(conversation.id, conversation.utterances[start : position + 1])
        last = len(base) - 1
        words = base.utterances[last].text.split()
        variants = [base] + [_without_word(base, last, j) for j in range(len(words))]
        variants += [Conversation(base.id, base.utterances[:k] + base.utterances[k + 1 :]) for k in range(last)]
        label = model.labels.index(prediction.label) if prediction.label in model.labels else None
        if label is None:
            explanations.append({"words": [], "turns": []})
            continue
        probabilities, _ = predict_probabilities(model, variants)
        ends = [sum(len(v) for v in variants[: i + 1]) - 1 for i in range(len(variants))]
        drops = [float(probabilities[ends[0], label] - probabilities[end, label]) for end in ends]
        explanations.append(
            {
                "words": [[word, drops[1 + j]] for j, word in enumerate(words)],
                "turns": [[start + k + 1, drops[1 + len(words) + k]] for k in range(last)],
            }
        )
    return explanations
