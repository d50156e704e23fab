from typing import Any

import pytest
import torch

from emotrace.inference.explain import explain
from emotrace.inference.predict import predict
from emotrace.io.html_report import render_report
from emotrace.models.base import ERCModel, ModelOutput
from emotrace.schema import Conversation, Utterance


class KeywordModel(ERCModel):
    """Anger rises with the word `furious` in the utterance and with `ANGRY` in the turn before it."""

    def __init__(self) -> None:
        super().__init__(["anger", "neutral"])

    def prepare(self, conversations: list[Conversation], progress: bool = False) -> list[Any]:
        return [[u.text for u in c.utterances] for c in conversations]

    def collate(self, items: list[Any]) -> dict[str, Any]:
        return {"conversations": items}

    def forward(self, batch: dict[str, Any]) -> ModelOutput:
        rows = []
        for texts in batch["conversations"]:
            for i, text in enumerate(texts):
                anger = 3.0 * ("furious" in text.split()) + 2.0 * (i > 0 and "ANGRY" in texts[i - 1])
                rows.append([anger, 1.5])
        return ModelOutput(torch.tensor(rows))


def test_word_and_turn_importance_find_what_drove_the_prediction() -> None:
    conversation = Conversation("c", [Utterance("A", "hello there"), Utterance("B", "ANGRY already"), Utterance("A", "I am furious now")])
    model = KeywordModel()
    predicted = predict(model, [conversation])[0]
    assert predicted[2].label == "anger"
    explanation = explain(model, conversation, predicted)[2]
    scores = dict(explanation["words"])
    assert max(scores, key=scores.get) == "furious"
    assert scores["I"] == pytest.approx(0.0)
    turns = dict(explanation["turns"])
    assert set(turns) == {1, 2}
    assert turns[2] > 0 and turns[1] == pytest.approx(0.0)
    page = render_report([conversation], [[p for p in predicted]], "t")
    assert page.count('class="word"') == 0
    predicted[2].explanation = explanation
    page = render_report([conversation], [predicted], "t")
    assert page.count('class="word"') == 4 and "most influential earlier turn: 2" in page
