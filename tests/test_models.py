from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import synthetic_conversations

from emotrace.errors import EmotraceError
from emotrace.inference.predict import predict, predict_probabilities
from emotrace.models.base import utterance_batches
from emotrace.models.bundle import load_bundle, load_model, save_bundle
from emotrace.models.registry import create_model, list_models

LABELS = ["anger", "joy", "neutral"]


@pytest.mark.parametrize("name", ["mlp", "bigru", "finetune", "finetune-bigru"])
def test_every_model_gives_one_row_of_logits_per_utterance(name: str) -> None:
    conversations = synthetic_conversations(3, seed=0)
    model = create_model(name, labels=LABELS, sentiment_labels=["negative", "neutral", "positive"])
    output = model(model.collate(model.prepare(conversations)))
    utterances = sum(len(c) for c in conversations)
    assert output.emotion.shape == (utterances, 3)
    assert output.sentiment is not None and output.sentiment.shape == (utterances, 3)


def test_context_models_see_other_turns_and_the_baseline_does_not() -> None:
    torch.manual_seed(0)
    conversation = synthetic_conversations(1, seed=3)[0]
    alone = type(conversation)(id="alone", utterances=conversation.utterances[:1])
    for name, sees_context in (("mlp", False), ("bigru", True)):
        model = create_model(name, labels=LABELS).eval()
        with_context = predict_probabilities(model, [conversation])[0][0]
        without = predict_probabilities(model, [alone])[0][0]
        assert np.allclose(with_context, without, atol=1e-6) != sees_context


def test_unknown_model_name_lists_the_registry() -> None:
    with pytest.raises(EmotraceError, match="finetune-bigru"):
        create_model("roberta-xxl", labels=LABELS)
    assert {"mlp", "bigru", "finetune", "finetune-bigru"} <= set(list_models())


def test_bundle_round_trip_keeps_predictions_and_ships_only_trained_weights(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    torch.manual_seed(0)
    conversations = synthetic_conversations(2, seed=4)
    model = create_model("finetune-bigru", labels=LABELS).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.requires_grad:
                parameter.add_(0.01 * torch.randn_like(parameter))
    save_bundle(model, tmp_path / "bundle", {"data": {"name": "synthetic"}}, "# card\n")
    assert sorted(p.name for p in (tmp_path / "bundle").iterdir()) == ["MODEL_CARD.md", "config.json", "model.safetensors"]
    stored = load_file(str(tmp_path / "bundle" / "model.safetensors"))
    assert not any(name.startswith("encoder.embeddings") for name in stored)
    assert (tmp_path / "bundle" / "model.safetensors").stat().st_size < 10 * 2**20
    reloaded = load_bundle(tmp_path / "bundle")
    before, _ = predict_probabilities(model, conversations)
    after, _ = predict_probabilities(reloaded, conversations)
    np.testing.assert_allclose(before, after, atol=1e-6)
    assert [p.label for p in predict(reloaded, conversations)[0]] == [LABELS[i] for i in after[: len(conversations[0])].argmax(1)]


def test_loading_a_folder_that_is_not_a_bundle_says_so(tmp_path: Path) -> None:
    with pytest.raises(EmotraceError, match="config.json missing"):
        load_bundle(tmp_path)
    with pytest.raises(EmotraceError, match="no model named or found"):
        load_model(tmp_path / "nowhere")


def test_batches_keep_conversations_whole_and_respect_the_size_limit() -> None:
    batches = utterance_batches([3, 4, 10, 2, 2], max_utterances=6)
    assert batches == [[0], [1], [2], [3, 4]]
    assert sorted(i for b in utterance_batches([5] * 7, 12, order=[6, 5, 4, 3, 2, 1, 0]) for i in b) == list(range(7))
