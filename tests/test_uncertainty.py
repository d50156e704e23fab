import numpy as np
import pytest
import torch
from conftest import synthetic_conversations

from emotrace.inference.predict import predict
from emotrace.inference.uncertainty import decompose
from emotrace.io import write_predictions
from emotrace.models.registry import create_model


def test_agreeing_passes_have_no_epistemic_uncertainty() -> None:
    samples = np.tile(np.array([[0.5, 0.5], [0.9, 0.1]]), (4, 1, 1))
    parts = decompose(samples)
    np.testing.assert_allclose(parts["epistemic"], 0.0, atol=1e-12)
    np.testing.assert_allclose(parts["total"], [np.log(2), -(0.9 * np.log(0.9) + 0.1 * np.log(0.1))])


def test_disagreeing_confident_passes_are_epistemic() -> None:
    samples = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    parts = decompose(samples)
    assert parts["aleatoric"][0] == pytest.approx(0.0, abs=1e-9)
    assert parts["epistemic"][0] == pytest.approx(np.log(2))


def test_mc_dropout_predictions_carry_a_consistent_decomposition_and_are_reproducible() -> None:
    torch.manual_seed(0)
    conversations = synthetic_conversations(3, seed=5)
    model = create_model("bigru", labels=["anger", "joy", "neutral"], dropout=0.5)
    first = predict(model, conversations, mc_passes=5)
    second = predict(model, conversations, mc_passes=5)
    for prediction, again in zip(first[0], second[0]):
        parts = prediction.uncertainty
        assert parts is not None and set(parts) == {"total", "aleatoric", "epistemic"}
        assert parts["total"] == pytest.approx(parts["aleatoric"] + parts["epistemic"], abs=1e-6)
        assert parts["epistemic"] > 0
        assert prediction.probabilities == again.probabilities
    assert predict(model, conversations)[0][0].uncertainty is None


def test_abstaining_marks_low_confidence_utterances_uncertain(capsys: pytest.CaptureFixture[str]) -> None:
    conversations = synthetic_conversations(2, seed=6)
    model = create_model("mlp", labels=["anger", "joy", "neutral"])
    predictions = predict(model, conversations, abstain_below=1.01)
    assert {p.label for ps in predictions for p in ps} == {"uncertain"}
    assert all(0 < p.confidence <= 1 for ps in predictions for p in ps)
    write_predictions(conversations, predict(model, conversations, mc_passes=2))
    assert "uncertainty" in capsys.readouterr().out
