"""Feature normalisation per speaker (or per recording, or per corpus) that still works with a handful of clips.

Exact per-speaker z-scoring (Schuller et al., 2009) removes voice identity, but its mean and variance are noise
when a speaker has said only a few things. Here each group's statistics are shrunk toward prior (training) statistics
by n/(n+k), the MAP estimate under a conjugate prior worth k pseudo-clips (as in MAP adaptation, Gauvain & Lee,
1994): with k = 0 it is exact per-group z-scoring, and a group of one clip is scaled almost like the prior.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def shrunk_standardize(
    features: np.ndarray, groups: Sequence[str], prior_mean: np.ndarray, prior_var: np.ndarray, k: float, counted: np.ndarray | None = None
) -> np.ndarray:
    """z-score every row with its group's mean and variance, each shrunk toward the prior by n/(n+k); `counted`
    (a boolean mask) names the rows whose statistics count, e.g. the first few clips of each speaker (all by default)."""
    normalised = np.empty_like(features, dtype=np.float64)
    group_array = np.asarray(groups)
    counted = np.ones(len(features), dtype=bool) if counted is None else counted
    for group in np.unique(group_array):
        rows = group_array == group
        seen = features[rows & counted]
        n = len(seen)
        weight = n / (n + k) if n + k > 0 else 0.0
        mean = weight * seen.mean(0) + (1 - weight) * prior_mean if n else prior_mean
        var = weight * seen.var(0) + (1 - weight) * prior_var if n else prior_var
        normalised[rows] = (features[rows] - mean) / np.sqrt(np.where(var > 1e-12, var, 1.0))
    return np.nan_to_num(normalised).astype(np.float32)
