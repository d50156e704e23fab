"""SmoothQuant for the int8 export: the fp32 function is kept, the scales are sane, the quantised inputs get flatter."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from emotrace.export.dialogues import calibration_conversations, calibration_texts  # noqa: E402
from emotrace.export.graphs import minilm_embedder  # noqa: E402
from emotrace.export.smoothquant import ALPHA, InputScaled, activation_maxima, bert_of, smoothing_scale, smoothquant, tokenised_batches  # noqa: E402

CALIBRATION = ["Did you take the last slice of cake?", "I got the job!!!", "Okay.", "The heating's broken again and it's minus ten outside."]
UNSEEN = ["We were on a break!", "What?!", "I'm so sorry for your loss.", "ALL CAPS AND SHOUTING FOR NO REASON", "Je suis très content."]


@pytest.fixture(scope="module")
def embedder() -> torch.nn.Module:
    return minilm_embedder()[0]


@pytest.fixture(scope="module")
def smoothed(embedder: torch.nn.Module) -> torch.nn.Module:
    return smoothquant(embedder, tokenised_batches(CALIBRATION, max_length=64))


def test_smoothing_keeps_the_fp32_function_on_unseen_sentences(embedder: torch.nn.Module, smoothed: torch.nn.Module) -> None:
    (batch,) = tokenised_batches(UNSEEN, max_length=64)
    with torch.no_grad():
        difference = (smoothed(**batch) - embedder(**batch)).abs().max().item()
    assert difference < 1e-5  # measured 2e-7: float rounding only


def test_smoothing_works_on_a_copy_and_scales_are_finite_and_positive(embedder: torch.nn.Module, smoothed: torch.nn.Module) -> None:
    original, copy = bert_of(embedder).encoder.layer[0], bert_of(smoothed).encoder.layer[0]
    assert isinstance(original.intermediate.dense, torch.nn.Linear)  # the caller's model is untouched
    assert isinstance(copy.intermediate.dense, InputScaled) and isinstance(copy.output.dense, InputScaled)
    assert not torch.equal(original.attention.self.value.weight, copy.attention.self.value.weight)  # 1/s folded into V
    maxima = activation_maxima(embedder, tokenised_batches(CALIBRATION, max_length=64))
    assert len(maxima) == 6 * 6  # every Linear of the 6 layers: query, key, value, attention output, intermediate, FFN down
    for index, layer in enumerate(bert_of(embedder).encoder.layer):
        for name, linear in (
            ("attention.output.dense", layer.attention.output.dense),
            ("intermediate.dense", layer.intermediate.dense),
            ("output.dense", layer.output.dense),
        ):
            scale = smoothing_scale(maxima[f"layer.{index}.{name}"], [linear.weight], ALPHA)
            assert torch.isfinite(scale).all() and (scale > 0).all()
    for module in bert_of(smoothed).modules():
        if isinstance(module, InputScaled):
            assert torch.isfinite(module.inverse_scale).all() and (module.inverse_scale > 0).all()


def test_smoothing_flattens_the_inputs_the_quantiser_sees(embedder: torch.nn.Module, smoothed: torch.nn.Module) -> None:
    """The point of SmoothQuant: on the calibration inputs, a smaller ratio of the largest input channel to the
    typical one, which is what one per-tensor quantisation scale has to cover."""
    batches = tokenised_batches(CALIBRATION, max_length=64)
    before, after = activation_maxima(embedder, batches), activation_maxima(smoothed, batches)
    for name in ("layer.0.intermediate.dense", "layer.0.output.dense", "layer.3.output.dense"):
        smoothed_name = name + ".linear"  # InputScaled wraps the Linear, so its input is already divided by s
        ratio_before = before[name].max() / before[name].median()
        ratio_after = after[smoothed_name].max() / after[smoothed_name].median()
        assert ratio_after < ratio_before / 2


def test_calibration_dialogues_and_pairs() -> None:
    texts = calibration_texts()
    conversations = calibration_conversations()
    assert len(conversations) >= 30 and len(texts) == sum(len(c) for c in conversations) + len(conversations)
    assert all(u.speaker and u.text.strip() for c in conversations for u in c.utterances)
    (batch,) = tokenised_batches([("Maya: Okay.", "Tom: Which cake?")], max_length=32)
    assert set(batch) == {"input_ids", "attention_mask", "token_type_ids"} and batch["token_type_ids"].max() == 1
