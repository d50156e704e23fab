"""TinySaver cascade: the threshold rule, exits at both extremes, surrogate context for exited turns, bundles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import synthetic_conversations

from emotrace.models.frozen import SpeakerBiGRU
from emotrace.research.cascade import (
    Cascade,
    SurrogateMap,
    TorchFull,
    exit_threshold,
    fit_cascade,
    fit_saver,
    load_cascade,
    scored_texts,
)
from emotrace.research.tiny import HashedLinearSaver, hashed_ngrams
from emotrace.schema import Conversation, Utterance

LABELS = ["joy", "anger", "neutral"]


class CountingBackend:
    """A fake text backend: deterministic vectors from a hash of the text, and a record of every text it encoded."""

    backend_id = "counting-fake"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.seen.extend(texts)
        vectors = np.stack([np.random.default_rng(abs(hash(t)) % 2**32).standard_normal(384) for t in texts]).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


class FixedSaver(HashedLinearSaver):
    """A saver whose confidence is whatever the test says: `confidence` on its first label, the rest spread."""

    def __init__(self, labels: list[str], confidence: float) -> None:
        super().__init__(labels, buckets=2**10)
        self.confidence = confidence

    def predict_proba(self, texts: list[str]) -> tuple[np.ndarray, object]:
        rest = (1 - self.confidence) / (len(self.labels) - 1)
        probabilities = np.full((len(texts), len(self.labels)), rest, dtype=np.float32)
        probabilities[:, 0] = self.confidence
        return probabilities, self.featurize(texts)


class TextSetSaver(FixedSaver):
    """Confident (on the first label) exactly for the texts in `exiting`, uniform on the others."""

    def __init__(self, labels: list[str], exiting: set[str]) -> None:
        super().__init__(labels, confidence=0.95)
        self.exiting = exiting

    def predict_proba(self, texts: list[str]) -> tuple[np.ndarray, object]:
        probabilities, features = super().predict_proba(texts)
        probabilities[[t not in self.exiting for t in texts]] = 1 / len(self.labels)
        return probabilities, features


@pytest.fixture
def backend() -> CountingBackend:
    return CountingBackend()


@pytest.fixture
def full(backend: CountingBackend) -> TorchFull:
    from emotrace.encoders.text import TextEncoder

    torch.manual_seed(0)
    model = SpeakerBiGRU(LABELS, hidden=16).eval()
    model.text_encoder = TextEncoder(backend=backend, cache=False)
    return TorchFull(model)


@pytest.fixture
def conversations() -> list[Conversation]:
    return synthetic_conversations(6, seed=3)


def surrogate_for(saver: HashedLinearSaver, texts: list[str], backend: CountingBackend) -> SurrogateMap:
    return SurrogateMap(alpha=1.0, fold=256).fit(saver.featurize(texts), CountingBackend().encode(texts))


def test_threshold_is_the_lowest_confidence_where_the_saver_matches_the_full_model() -> None:
    confidence = np.array([0.95, 0.90, 0.80, 0.70, 0.60, 0.50])
    saver_correct = np.array([1, 1, 0, 1, 0, 0], dtype=bool)
    full_correct = np.array([1, 0, 1, 1, 1, 1], dtype=bool)
    # saver vs full right-counts on the top-k: k=1 1:1, k=2 2:1, k=3 2:2, k=4 3:3, k=5 3:4, k=6 3:5
    assert exit_threshold(confidence, saver_correct, full_correct) == 0.70


def test_threshold_is_infinite_when_the_saver_never_matches() -> None:
    assert exit_threshold(np.array([0.9, 0.8]), np.array([False, False]), np.array([True, True])) == float("inf")


def test_tied_confidences_exit_together() -> None:
    # taking only the first 0.8 would pass (1:1 then 2:1), but both 0.8s together give 2:2 -> still passes at 0.8;
    # with the tie broken the other way it would fail, so the rule must look at the whole tie at once
    confidence = np.array([0.9, 0.8, 0.8])
    assert exit_threshold(confidence, np.array([1, 1, 0], dtype=bool), np.array([1, 0, 1], dtype=bool)) == 0.8
    assert exit_threshold(confidence, np.array([1, 0, 0], dtype=bool), np.array([1, 1, 1], dtype=bool)) == 0.9


def test_confident_saver_exits_everything_and_never_calls_the_encoder(full: TorchFull, backend: CountingBackend, conversations: list[Conversation]) -> None:
    texts = [u.text for c in conversations for u in c.utterances]
    saver = FixedSaver(LABELS, confidence=0.99)
    cascade = Cascade(saver, full, threshold=0.9, surrogate=surrogate_for(saver, texts, backend))
    probabilities, exited = cascade.predict_probabilities(conversations)
    assert exited.all() and probabilities.shape == (len(texts), 3)
    assert np.allclose(probabilities[:, 0], 0.99)
    assert backend.seen == []


def test_unconfident_saver_exits_nothing_and_matches_the_full_model(full: TorchFull, conversations: list[Conversation]) -> None:
    from emotrace.inference.predict import predict_probabilities

    saver = FixedSaver(LABELS, confidence=0.4)
    cascade = Cascade(saver, full, threshold=0.9, context="drop")
    probabilities, exited = cascade.predict_probabilities(conversations)
    assert not exited.any()
    np.testing.assert_allclose(probabilities, predict_probabilities(full.model, conversations)[0], atol=1e-6)


def test_exited_turns_reach_the_context_model_as_surrogates_never_as_encoded_text(
    full: TorchFull, backend: CountingBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversations = synthetic_conversations(6, seed=3)
    for conversation in conversations:  # a neutral closing turn, so that every conversation reaches the context model
        conversation.utterances.append(Utterance(speaker="Ann", text="The meeting is at three.", emotion="neutral"))
    texts = [u.text for c in conversations for u in c.utterances]
    exiting = {t for t in texts if "!" in t}  # the joy and anger phrases
    saver = TextSetSaver(LABELS, exiting)
    surrogate = surrogate_for(saver, texts, backend)
    cascade = Cascade(saver, full, threshold=0.9, surrogate=surrogate)
    seen_by_context: list[np.ndarray] = []
    items_from_embeddings = full.model.items_from_embeddings
    monkeypatch.setattr(full.model, "items_from_embeddings", lambda c, e: seen_by_context.append(e.copy()) or items_from_embeddings(c, e))

    probabilities, exited = cascade.predict_probabilities(conversations)

    assert exited.tolist() == [t in exiting for t in texts]
    assert set(backend.seen) == set(texts) - exiting
    vectors = np.concatenate(seen_by_context)
    np.testing.assert_allclose(vectors[exited], surrogate.transform(saver.featurize([t for t in texts if t in exiting])), atol=1e-6)
    np.testing.assert_allclose(vectors[~exited], CountingBackend().encode([t for t in texts if t not in exiting]), atol=1e-6)
    assert np.allclose(probabilities[exited, 0], 0.95)


def test_drop_design_runs_the_context_model_over_the_remaining_turns_only(full: TorchFull, conversations: list[Conversation]) -> None:
    from emotrace.inference.predict import predict_probabilities

    first = {c.utterances[0].text for c in conversations}
    cascade = Cascade(TextSetSaver(LABELS, first), full, threshold=0.9, context="drop")
    probabilities, exited = cascade.predict_probabilities(conversations)
    remaining = [Conversation(c.id, [u for u in c.utterances if u.text not in first]) for c in conversations]
    expected = predict_probabilities(full.model, [c for c in remaining if c.utterances])[0]
    assert exited.any() and not exited.all()
    np.testing.assert_allclose(probabilities[~exited], expected, atol=1e-6)


def test_fit_cascade_fits_saver_and_surrogates_on_train_and_the_threshold_on_dev(full: TorchFull) -> None:
    train, dev = synthetic_conversations(30, seed=5), synthetic_conversations(10, seed=6)
    cascade = fit_cascade(full, train, dev, "hashed-linear", buckets=2**12)
    assert cascade.surrogate is not None and cascade.selection["dev_utterances"] == sum(len(c) for c in dev)
    assert np.isfinite(cascade.threshold)  # the words give the emotions away; the untrained full model does not
    _, exited = cascade.predict_probabilities(dev)
    assert exited.mean() == pytest.approx(cascade.selection["dev_exit_rate"])


def test_hashed_features_are_deterministic_sparse_rows() -> None:
    rows = hashed_ngrams(["Oh my God!", "", "oh   MY god!"], 2**12, (1, 2), (3, 5))
    assert list(np.diff(rows.indptr))[1] == 0
    dense = rows @ np.eye(2**12, dtype=np.float32)
    np.testing.assert_allclose(dense[0], dense[2])  # case and spacing do not matter
    assert np.isclose(np.linalg.norm(dense[0]), 1.0, atol=0.2)
    np.testing.assert_allclose(rows[np.array([2, 0])] @ np.eye(2**12, dtype=np.float32), dense[[2, 0]])


@pytest.mark.parametrize("width", [2**10, 2**16])  # the dense (BLAS) and the gathering path of `SparseRows @ W`
def test_sparse_rows_product_matches_scipy_with_empty_rows_and_repeated_columns(width: int) -> None:
    texts = ["Oh my God!", "", "no no no no no", "Okay."] * 700  # several dense chunks at 2^10
    rows = hashed_ngrams(texts, 2**16, (1, 2), (3, 5)).folded(width)
    weights = np.random.default_rng(0).standard_normal((width, 5)).astype(np.float32)
    product = rows @ weights
    assert product.shape == (len(texts), 5) and not product[1].any()
    np.testing.assert_allclose(product, rows.to_scipy() @ weights, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", ["hashed-linear", "embedding-bag"])
def test_save_and_load_give_identical_outputs(kind: str, backend: CountingBackend, conversations: list[Conversation], tmp_path: Path) -> None:
    from emotrace.encoders.text import TextEncoder
    from emotrace.models.bundle import save_bundle
    from emotrace.models.registry import create_model

    texts, gold = scored_texts(synthetic_conversations(30, seed=4), LABELS)
    args = {"buckets": 2**12, "dim": 8, "epochs": 3} if kind == "embedding-bag" else {"buckets": 2**12}
    saver = fit_saver(kind, LABELS, texts, gold, **args)
    probabilities, representation = saver.predict_proba(texts)
    surrogate = SurrogateMap(alpha=1.0, fold=256 if kind == "hashed-linear" else None).fit(representation, CountingBackend().encode(texts))
    model = create_model("bigru", labels=LABELS, hidden=16).eval()
    bundle = save_bundle(model, tmp_path / "full", {"data": {}}, "card")
    model.text_encoder = TextEncoder(backend=backend, cache=False)
    full = TorchFull(model)
    threshold = float(np.median(probabilities.max(1)))
    cascade = Cascade(saver, full, threshold, surrogate, full_source="../full", selection={"note": "test"})
    before = cascade.predict_probabilities(conversations)
    cascade.save(tmp_path / "cascade", backend="torch-fp32")
    loaded = load_cascade(tmp_path / "cascade", text_encoder=TextEncoder(backend=backend, cache=False))
    after = loaded.predict_probabilities(conversations)
    assert loaded.full_source == "../full" and bundle.is_dir()
    np.testing.assert_array_equal(before[1], after[1])
    np.testing.assert_allclose(before[0], after[0], atol=1e-6)
    assert 0 < before[1].mean() < 1
    assert (tmp_path / "cascade" / "MODEL_CARD.md").read_text(encoding="utf-8").startswith("# emotrace cascade")


def test_predictions_carry_sentiment_only_for_turns_the_full_model_answered(backend: CountingBackend, conversations: list[Conversation]) -> None:
    from emotrace.encoders.text import TextEncoder

    model = SpeakerBiGRU(LABELS, ["positive", "negative", "neutral"], hidden=16).eval()
    model.text_encoder = TextEncoder(backend=backend, cache=False)
    cascade = Cascade(TextSetSaver(LABELS, {c.utterances[0].text for c in conversations}), TorchFull(model), threshold=0.9, context="drop")
    predictions = [p for per_conversation in cascade.predict(conversations) for p in per_conversation]
    _, exited = cascade.predict_probabilities(conversations)
    assert [p.sentiment is None for p in predictions] == exited.tolist()
    assert all(p.label == "joy" and p.confidence == pytest.approx(0.95) for p, gone in zip(predictions, exited) if gone)
