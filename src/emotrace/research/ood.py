"""Out-of-distribution scores and confidence that drops with them, so a model stops answering confidently on audio
(or faces) unlike its training data.

- `MahalanobisScore` (Lee et al., NeurIPS 2018): distance of a feature vector to the nearest class mean under the
  shared within-class covariance, in the top principal directions of the training features (6,373 ComParE
  dimensions have no usable full covariance), plus the energy left outside them (the reconstruction residual of
  probabilistic PCA, Tipping & Bishop, 1999), so a shift the subspace does not span still counts.
- `energy_score` (Liu et al., NeurIPS 2020): -logsumexp of the logits; higher means less like the training data.
- `OODTemperature`: the temperature grows with the score, T(x) = T0 * exp(beta * s(x)), where s is the score
  standardised on in-domain held-out clips (0 at their median, 1 at their 95th percentile); T0 and beta are fitted
  by log-likelihood on held-out data, which should be another corpus, not the training corpus.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from emotrace.inference.calibration import log_softmax

LOG_T_RANGE = (-3.0, 5.0)  # temperatures from 0.05 to 150: beyond, the answer is already one-hot or uniform


def energy_score(logits: np.ndarray) -> np.ndarray:
    return -logsumexp(logits, axis=1)


class MahalanobisScore:
    """`fit(features, labels)` on training features; `score(features)` per row (higher: less like training)."""

    def __init__(self, components: int = 32) -> None:
        self.components = components

    def fit(self, features: np.ndarray, labels: np.ndarray) -> MahalanobisScore:
        from sklearn.utils.extmath import randomized_svd

        self.mean_ = features.mean(0)
        _, _, directions = randomized_svd(features - self.mean_, self.components, random_state=0)
        self.directions_ = directions
        projected = self._project(features)
        self.classes_ = np.unique(labels)
        self.class_means_ = np.stack([projected[labels == c].mean(0) for c in self.classes_])
        within = projected - self.class_means_[np.searchsorted(self.classes_, labels)]
        self.precision_ = np.linalg.pinv(np.cov(within, rowvar=False))
        self.residual_var_ = float(np.mean(self._residual(features, projected)))
        return self

    def _project(self, features: np.ndarray) -> np.ndarray:
        return (features - self.mean_) @ self.directions_.T

    def _residual(self, features: np.ndarray, projected: np.ndarray) -> np.ndarray:
        centred = features - self.mean_
        return ((centred - projected @ self.directions_) ** 2).sum(1)

    def score(self, features: np.ndarray) -> np.ndarray:
        projected = self._project(features)
        offsets = projected[:, None, :] - self.class_means_[None]
        nearest = np.einsum("ncd,de,nce->nc", offsets, self.precision_, offsets).min(1)
        return nearest + self._residual(features, projected) / self.residual_var_


class OODTemperature:
    """Temperature scaling whose temperature rises with an OOD score (see the module docstring)."""

    def fit_reference(self, in_domain_scores: np.ndarray) -> OODTemperature:
        self.median_ = float(np.median(in_domain_scores))
        self.spread_ = max(float(np.quantile(in_domain_scores, 0.95)) - self.median_, 1e-8)
        return self

    def standardise(self, scores: np.ndarray) -> np.ndarray:
        return np.maximum(0.0, (scores - self.median_) / self.spread_)

    def fit(self, logits: np.ndarray, scores: np.ndarray, gold: np.ndarray) -> OODTemperature:
        from scipy.optimize import minimize

        shift = self.standardise(scores)

        def nll(params: np.ndarray) -> float:
            temperature = np.exp(np.clip(params[0] + params[1] * shift, *LOG_T_RANGE))[:, None]
            return float(-log_softmax(logits / temperature)[np.arange(len(gold)), gold].mean())

        self.log_t0_, self.beta_ = minimize(nll, np.zeros(2), method="Nelder-Mead").x
        return self

    def probabilities(self, logits: np.ndarray, scores: np.ndarray) -> np.ndarray:
        temperature = np.exp(np.clip(self.log_t0_ + self.beta_ * self.standardise(scores), *LOG_T_RANGE))[:, None]
        return np.exp(log_softmax(logits / temperature))
