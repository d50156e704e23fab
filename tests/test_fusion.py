import pytest

from emotrace.inference.fusion import fuse
from emotrace.schema import Prediction


def test_late_fusion_averages_distributions_over_the_canonical_vocabulary() -> None:
    text = Prediction.from_probabilities(["joy", "neutral"], [0.8, 0.2], ["positive", "negative"], [0.9, 0.1])
    speech = Prediction.from_probabilities(["angry", "bored"], [0.6, 0.4])
    fused = fuse({"text": text, "speech": speech}, {})
    assert fused.probabilities == pytest.approx({"joy": 0.4, "neutral": 0.1, "anger": 0.3, "boredom": 0.2})
    assert fused.label == "joy" and fused.sentiment == "positive"
    assert fused.modalities == {"text": text, "speech": speech} and fused.errors is None


def test_fusion_with_one_modality_keeps_its_answer_and_the_other_modalitys_error() -> None:
    text = Prediction.from_probabilities(["sadness", "joy"], [0.3, 0.7])
    fused = fuse({"text": text}, {"speech": "clip.wav: cannot decode audio"}, abstain_below=0.9)
    assert fused.probabilities == pytest.approx(text.probabilities)
    assert fused.label == "uncertain"
    assert fused.errors == {"speech": "clip.wav: cannot decode audio"}
