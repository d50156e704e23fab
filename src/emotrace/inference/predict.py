"""Run a conversation model over conversations: probabilities as arrays (for metrics), or `Prediction`s (for writers).

The model is a PyTorch `ERCModel` or a text bundle's ONNX export (`OnnxERCModel`); torch is imported only for the
former, so the ONNX path starts fast and runs without torch installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from emotrace.errors import EmotraceError
from emotrace.export.runtime import OnnxERCModel
from emotrace.inference.uncertainty import decompose
from emotrace.schema import Conversation, Prediction

if TYPE_CHECKING:
    from emotrace.models.base import ERCModel


def predict_probabilities(
    model: ERCModel | OnnxERCModel, conversations: list[Conversation], batch_utterances: int = 64, progress: bool = False
) -> tuple[np.ndarray, np.ndarray | None]:
    """(emotion probabilities (N, labels), sentiment probabilities (N, 3) or None), N utterances in input order."""
    if isinstance(model, OnnxERCModel):
        return model.probabilities(conversations)
    items = model.prepare(conversations, progress=progress)
    return probabilities_of_prepared(model, items, [len(c) for c in conversations], batch_utterances, progress)


def probabilities_of_prepared(
    model: ERCModel, items: list[Any], lengths: list[int], batch_utterances: int = 64, progress: bool = False, dropout: bool = False
) -> tuple[np.ndarray, np.ndarray | None]:
    """As `predict_probabilities`, for items `model.prepare` already made (training evaluates dev every epoch).
    `dropout=True` leaves dropout on: one Monte-Carlo sample."""
    import torch
    from tqdm.auto import tqdm

    from emotrace.models.base import utterance_batches

    model.eval()
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.train(dropout)
    emotions: list[torch.Tensor] = []
    sentiments: list[torch.Tensor] = []
    with torch.inference_mode(), tqdm(total=sum(lengths), desc="analysing", unit="utt", disable=not progress, leave=False) as bar:
        for batch in utterance_batches(lengths, batch_utterances):
            output = model(model.collate([items[i] for i in batch]))
            emotions.append((output.emotion / model.temperature).softmax(-1))
            if output.sentiment is not None:
                sentiments.append(output.sentiment.softmax(-1))
            bar.update(sum(lengths[i] for i in batch))
    if not emotions:
        return np.zeros((0, len(model.labels)), dtype=np.float32), None
    sentiment = torch.cat(sentiments).numpy() if sentiments else None
    return torch.cat(emotions).numpy(), sentiment


def predict(
    model: ERCModel | OnnxERCModel,
    conversations: list[Conversation],
    batch_utterances: int = 64,
    progress: bool = False,
    mc_passes: int = 0,
    abstain_below: float | None = None,
    items: list[Any] | None = None,
) -> list[list[Prediction]]:
    """One `Prediction` per utterance, grouped per conversation; with `mc_passes` > 0 the probabilities are the
    mean of that many Monte-Carlo-dropout passes and each prediction carries its uncertainty decomposition.
    `items` are the PyTorch model's prepared inputs when the caller has made them already (media decoded once)."""
    uncertainty: dict[str, np.ndarray] | None = None
    lengths = [len(c) for c in conversations]
    if mc_passes > 0:
        import torch

        if isinstance(model, OnnxERCModel):
            raise EmotraceError("Monte-Carlo dropout needs the PyTorch model", hint="add --backend torch-fp32, or drop --mc-dropout")
        items = items if items is not None else model.prepare(conversations, progress=progress)
        with torch.random.fork_rng():
            torch.manual_seed(0)
            samples = [probabilities_of_prepared(model, items, lengths, batch_utterances, progress, dropout=True) for _ in range(mc_passes)]
        emotion_samples = np.stack([emotion for emotion, _ in samples])
        emotion = emotion_samples.mean(0)
        sentiment = np.stack([s for _, s in samples]).mean(0) if samples[0][1] is not None else None
        uncertainty = decompose(emotion_samples)
    elif items is not None and not isinstance(model, OnnxERCModel):
        emotion, sentiment = probabilities_of_prepared(model, items, lengths, batch_utterances, progress)
    else:
        emotion, sentiment = predict_probabilities(model, conversations, batch_utterances, progress)
    return predictions_of_probabilities(conversations, model.labels, emotion, model.sentiment_labels, sentiment, uncertainty, abstain_below)


def predictions_of_probabilities(
    conversations: list[Conversation],
    labels: list[str],
    emotion: np.ndarray,
    sentiment_labels: list[str] | None = None,
    sentiment: np.ndarray | None = None,
    uncertainty: dict[str, np.ndarray] | None = None,
    abstain_below: float | None = None,
) -> list[list[Prediction]]:
    """`Prediction`s grouped per conversation from per-utterance probability rows (conversation order). A sentiment
    row of NaN means no sentiment for that utterance (a cascade's early exits: the saver predicts emotion only)."""
    predictions: list[list[Prediction]] = []
    row = 0
    for conversation in conversations:
        per_conversation = []
        for _ in conversation.utterances:
            has_sentiment = sentiment is not None and not np.isnan(sentiment[row]).any()
            per_conversation.append(
                Prediction.from_probabilities(
                    labels,
                    emotion[row].tolist(),
                    sentiment_labels,
                    sentiment[row].tolist() if has_sentiment else None,
                    None if uncertainty is None else {name: float(values[row]) for name, values in uncertainty.items()},
                    abstain_below,
                )
            )
            row += 1
        predictions.append(per_conversation)
    return predictions
