import numpy as np
import pytest

from emotrace.inference.calibration import apply_temperature, calibration_scores, fit_temperature


def _softmax(scores: np.ndarray) -> np.ndarray:
    exp = np.exp(scores - scores.max(1, keepdims=True))
    return exp / exp.sum(1, keepdims=True)


@pytest.fixture
def overconfident() -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from softmax(z / 2) while the model reports softmax(z): true temperature 2."""
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (6000, 5))
    truth = _softmax(logits / 2)
    gold = np.array([rng.choice(5, p=p) for p in truth])
    return _softmax(logits), gold


def test_temperature_scaling_recovers_the_true_temperature(overconfident: tuple[np.ndarray, np.ndarray]) -> None:
    probabilities, gold = overconfident
    assert fit_temperature(probabilities, gold) == pytest.approx(2.0, rel=0.08)


def test_scaling_lowers_ece_and_nll_without_changing_any_label(overconfident: tuple[np.ndarray, np.ndarray]) -> None:
    probabilities, gold = overconfident
    scaled = apply_temperature(probabilities, fit_temperature(probabilities, gold))
    before, after = calibration_scores(probabilities, gold), calibration_scores(scaled, gold)
    assert (scaled.argmax(1) == probabilities.argmax(1)).all()
    assert after["ece"] < 0.03 < before["ece"]
    assert after["nll"] < before["nll"]
    assert after["brier"] < before["brier"]


def test_ece_is_zero_for_a_model_right_exactly_as_often_as_it_claims() -> None:
    probabilities = np.array([[0.75, 0.25]] * 4)
    gold = np.array([0, 0, 0, 1])
    scores = calibration_scores(probabilities, gold)
    assert scores["ece"] == pytest.approx(0.0)
    assert scores["nll"] == pytest.approx(-(3 * np.log(0.75) + np.log(0.25)) / 4)


def test_risk_coverage_of_a_perfect_ranking_is_zero_until_the_first_error() -> None:
    from emotrace.inference.selective import risk_coverage, selective_scores

    confidence = np.array([0.9, 0.8, 0.7, 0.6])
    correct = np.array([1.0, 1.0, 0.0, 0.0])
    coverage, risk = risk_coverage(confidence, correct)
    np.testing.assert_allclose(coverage, [0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(risk, [0, 0, 1 / 3, 0.5])
    probabilities = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.4, 0.6]])
    gold = np.array([0, 0, 0, 0])
    scores = selective_scores(probabilities, gold, ["a", "b"])
    assert scores["aurc"] == pytest.approx(np.mean([0, 0, 1 / 3, 0.5]))
    assert scores["weighted_f1_at_coverage"]["50%"] == pytest.approx(100.0)
