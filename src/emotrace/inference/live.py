"""Live analysis: a conversation labelled one turn at a time, each turn from the turns so far only (past context).

`LiveSession` holds one conversation's turns and a loaded text model; `add(utterance)` returns that turn's
`Prediction`, and `summary()` the running per-speaker summary. The CLI (`analyze --follow`) and the service's
streaming endpoint (serve/live.py) are thin fronts over it.

The model is a parameter. Until a causal model ships, the default (`finetune-bigru`, trained with a biGRU over the
whole dialogue) is run on the prefix: it labels the newest turn from the past alone, which costs accuracy against
labelling it with the turns after it too (benchmarks/live_latency.py measures how much on MELD test).

Each turn costs about the same however long the conversation gets: the model reads at most the last `window` turns
(WINDOW by default). For the context fine-tuned family (PyTorch, or its ONNX export), whose encoder reads each
utterance with its previous turns, each utterance is encoded once, when it arrives, and its encoding is kept for the
window; only the dialogue GRU and the heads rerun. Any other model reruns on the whole window every turn.
Speakers are numbered by first appearance within the window.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from emotrace.errors import EmotraceError
from emotrace.export.runtime import OnnxERCModel
from emotrace.insights.summary import ConversationSummary, summarize_conversation
from emotrace.schema import Conversation, Prediction, Utterance

if TYPE_CHECKING:
    from emotrace.models.base import ERCModel

WINDOW = 8  # turns the model reads for each new one: MELD's median conversation has 8 turns


class _Steps(Protocol):
    """A model split into a per-utterance encoding (done once per turn) and a head over a window of encodings."""

    past: int  # previous turns the encoder reads beside an utterance

    def vector(self, recent: Conversation) -> np.ndarray: ...

    def probabilities(self, window: Conversation, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]: ...


class LiveSession:
    """One live conversation: `add` an utterance, get its `Prediction`. Not thread-safe: the service runs every
    session's steps on its one inference thread. `window=None` reads the whole prefix (for measuring, not serving)."""

    def __init__(self, model: ERCModel | OnnxERCModel, window: int | None = WINDOW, abstain_below: float | None = None, conversation_id: str = "live") -> None:
        if model.media:
            raise EmotraceError(f"live analysis needs a text model, not a {'/'.join(model.media)} model", hint="choose a text model with --model")
        if window is not None and window < 1:
            raise EmotraceError(f"the live window is {window} turns", hint="read at least 1 turn")
        self.model, self.window, self.abstain_below = model, window, abstain_below
        self.conversation = Conversation(conversation_id, [])
        self.predictions: list[Prediction] = []
        self._steps = _incremental_steps(model)
        self._vectors: deque[np.ndarray] = deque(maxlen=None if window is None else window - 1)  # the window's turns before the new one

    def __len__(self) -> int:
        return len(self.predictions)

    def add(self, utterance: Utterance) -> Prediction:
        """The new turn's prediction from it and the turns before it; a refused turn leaves the session unchanged."""
        if utterance.media:
            raise EmotraceError(f"turn {len(self) + 1}: live analysis reads text only", hint="send the utterance without media")
        if not utterance.text.strip():
            raise EmotraceError(f"turn {len(self) + 1} has no text", hint="send `Speaker: text`")
        turns = [*self.conversation.utterances, utterance]
        window = Conversation(self.conversation.id, turns[-self.window :] if self.window else turns)
        if self._steps is None:
            from emotrace.inference.predict import predict_probabilities

            emotions, sentiments = predict_probabilities(self.model, [window])
        else:
            vector = self._steps.vector(Conversation(self.conversation.id, turns[-self._steps.past - 1 :]))
            emotions, sentiments = self._steps.probabilities(window, np.stack([*self._vectors, vector]))
            self._vectors.append(vector)
        prediction = Prediction.from_probabilities(
            self.model.labels,
            emotions[-1].tolist(),
            self.model.sentiment_labels,
            None if sentiments is None else sentiments[-1].tolist(),
            abstain_below=self.abstain_below,
        )
        self.conversation.utterances.append(utterance)
        self.predictions.append(prediction)
        return prediction

    def summary(self) -> ConversationSummary:
        """The per-speaker summary of the turns so far (insights.summary); linear in the turns, cheap beside the model."""
        return summarize_conversation(self.conversation, self.predictions)


def _incremental_steps(model: ERCModel | OnnxERCModel) -> _Steps | None:
    if isinstance(model, OnnxERCModel):
        return _OnnxSteps(model)
    from emotrace.models.finetune import ContextFineTuned

    return _TorchContextSteps(model) if isinstance(model, ContextFineTuned) else None


class _OnnxSteps:
    def __init__(self, model: OnnxERCModel) -> None:
        self.model, self.past = model, model.past

    def vector(self, recent: Conversation) -> np.ndarray:
        return self.model.encode(self.model.texts(recent)[-1:])[0]

    def probabilities(self, window: Conversation, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        return self.model.probabilities_of_vectors([window], vectors)


class _TorchContextSteps:
    """`ContextFineTuned`: `encode` the newest `Speaker: text` + previous turns pair, `classify` the window."""

    def __init__(self, model: Any) -> None:
        self.model, self.past = model, model.past

    def vector(self, recent: Conversation) -> np.ndarray:
        import torch

        self.model.eval()  # the service shares the model with Monte-Carlo-dropout requests, which switch dropout on
        batch = self.model.collate(self.model.prepare([recent]))
        with torch.inference_mode():
            return self.model.encode(batch["token_ids"][-1:], batch["token_types"][-1:])[0].numpy()

    def probabilities(self, window: Conversation, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        import torch

        from emotrace.models.turns import speaker_indices

        self.model.eval()
        speakers = torch.tensor([speaker_indices(window, self.model.max_speakers)])
        with torch.inference_mode():
            output = self.model.classify(torch.from_numpy(vectors)[None], speakers, torch.ones(1, len(vectors), dtype=torch.bool))
            emotions = (output.emotion / self.model.temperature).softmax(-1).numpy()
            sentiments = None if output.sentiment is None else output.sentiment.softmax(-1).numpy()
        return emotions, sentiments
