from emotrace.labels import CANONICAL, LABEL_SETS, to_canonical
from emotrace.schema import Prediction


def test_prediction_takes_most_probable_label_and_its_probability_as_confidence() -> None:
    prediction = Prediction.from_probabilities(["neutral", "joy", "anger"], [0.2, 0.7, 0.1], ["neutral", "positive"], [0.4, 0.6])
    assert prediction.label == "joy"
    assert prediction.confidence == 0.7
    assert prediction.probabilities == {"neutral": 0.2, "joy": 0.7, "anger": 0.1}
    assert prediction.sentiment == "positive"


def test_prediction_without_sentiment_leaves_it_empty() -> None:
    prediction = Prediction.from_probabilities(["a", "b"], [0.9, 0.1])
    assert prediction.sentiment is None and prediction.sentiment_probabilities is None


def test_every_dataset_label_maps_onto_the_canonical_vocabulary() -> None:
    for labels in LABEL_SETS.values():
        assert all(to_canonical(label) in CANONICAL for label in labels)
    assert to_canonical(" Happy ") == "joy"
    assert to_canonical("frustrated") == "frustration"
