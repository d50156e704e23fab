"""Monte-Carlo dropout uncertainty (Gal & Ghahramani, ICML 2016): T stochastic passes with dropout left on, and
the split of predictive entropy into aleatoric (expected entropy: the input is ambiguous; in emotion data this
tracks annotator disagreement) and epistemic (mutual information: the model has not seen enough like it)."""

from __future__ import annotations

import numpy as np


def entropy(probabilities: np.ndarray) -> np.ndarray:
    """Shannon entropy in nats along the last axis."""
    return -(probabilities * np.log(np.clip(probabilities, 1e-12, 1.0))).sum(-1)


def decompose(samples: np.ndarray) -> dict[str, np.ndarray]:
    """`samples` (T passes, N utterances, C classes) → per-utterance total = aleatoric + epistemic (nats)."""
    total = entropy(samples.mean(0))
    aleatoric = entropy(samples).mean(0)
    return {"total": total, "aleatoric": aleatoric, "epistemic": np.maximum(total - aleatoric, 0.0)}
