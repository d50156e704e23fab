"""A TinySaver cascade for ERC (Wang et al., 2024; docs/cascade.md): a tiny saver (research/tiny.py) reads every
utterance first; where its confidence reaches the threshold its answer is final, and only the other turns pay for
MiniLM. The context model still runs over whole dialogues.

Threshold (fitted on dev): the lowest t such that, on the dev turns the saver would answer (confidence >= t), the
saver is at least as accurate as the full model on those same turns. (TinySaver's code instead scans t down from 1
and stops at the first failure; taking the lowest passing t exits more, with the same guarantee on dev.)

The context problem: the biGRU needs a vector for every turn, but exited turns never get a MiniLM embedding.
`context="surrogate"` gives them one: a ridge map (fitted on train) from the saver's representation of the text
into MiniLM space, L2-normalised like MiniLM's output (`SurrogateMap`); `context="drop"` runs the context model
over the turns that did not exit only. A full model retrained on surrogate inputs (benchmarks/cascade.py) is just
another full bundle here. Measured on MELD test (bigru seed 0; docs/cascade.md): the `hashed-linear` saver exits
87% of turns (s = 0.02 of an onnx-int8 full pass, ΔC = -0.84; 2.2x faster end to end). On the 347 turns left,
accuracy vs the full model on real embeddings everywhere: surrogate -0.9, drop -2.3, surrogate-retrained +1.7
points (one turn = 0.3 points: all within noise). Cascade wF1 58.0 vs 57.8 for the full model alone.

`Cascade.predict_probabilities(conversations) -> (probabilities, exited)`; bundles are a directory with config.json
(saver kind and arguments, threshold, context design, the full model's bundle), model.safetensors (saver and
surrogate arrays) and MODEL_CARD.md. The full model is a frozen-embedding bundle (`bigru`, `mlp`) in PyTorch with
any text encoder, or its ONNX export (torch-free with the numpy savers).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from emotrace.errors import EmotraceError
from emotrace.io.atomic import atomic_path, write_text_atomic
from emotrace.research.tiny import Representation, SparseRows, TinySaver, create_saver
from emotrace.schema import Conversation, Prediction

CASCADE_FORMAT = "emotrace-cascade/1"
CONFIG_FILE, WEIGHTS_FILE, CARD_FILE = "config.json", "model.safetensors", "MODEL_CARD.md"
CONTEXTS = ("surrogate", "drop")
FROZEN_MODELS = ("mlp", "bigru")  # registry names whose inputs are plain MiniLM sentence embeddings
DEFAULT_SAVER = "hashed-linear"  # smallest ΔC on MELD in benchmarks/cascade.py (docs/cascade.md)
SURROGATE_DEFAULTS: dict[str, dict[str, Any]] = {
    "hashed-linear": {"alpha": 3.0, "fold": 4096},
    "embedding-bag": {"alpha": 1.0},
    "early-exit": {"alpha": 10.0},
}


def exit_threshold(confidence: np.ndarray, saver_correct: np.ndarray, full_correct: np.ndarray) -> float:
    """The lowest t such that on {confidence >= t} the saver is right at least as often as the full model;
    +inf (nothing exits) when no t qualifies. Equal confidences are taken or left together."""
    order = np.argsort(-confidence, kind="stable")
    ranked = confidence[order]
    saver_right = np.cumsum(saver_correct[order])
    full_right = np.cumsum(full_correct[order])
    end_of_tie = np.r_[ranked[1:] != ranked[:-1], True]
    passing = np.flatnonzero((saver_right >= full_right) & end_of_tie)
    return float(ranked[passing[-1]]) if len(passing) else float("inf")


class SurrogateMap:
    """Ridge regression from a saver's representation of a text to MiniLM's embedding of it, output L2-normalised
    as MiniLM's is. Hashed sparse features are first folded into `fold` buckets so the map stays small
    (fold x 384 floats); dense representations are standardised."""

    def __init__(self, alpha: float = 1.0, fold: int | None = None) -> None:
        self.alpha = alpha
        self.fold = fold

    def params(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "fold": self.fold}

    def _inputs(self, representation: Representation) -> Representation:
        if isinstance(representation, SparseRows):
            return representation.folded(self.fold) if self.fold else representation
        return representation

    def fit(self, representation: Representation, embeddings: np.ndarray) -> SurrogateMap:
        inputs = self._inputs(representation)
        count = len(embeddings)
        if isinstance(inputs, SparseRows):
            matrix = inputs.to_scipy()
            gram = (matrix.T @ matrix).toarray().astype(np.float64)
            cross = np.asarray(matrix.T @ embeddings.astype(np.float64))
            mean_in, scale = np.asarray(matrix.mean(axis=0)).ravel(), np.ones(matrix.shape[1])
        else:
            mean_in, scale = inputs.mean(0).astype(np.float64), inputs.std(0).astype(np.float64) + 1e-6
            scaled = inputs / scale
            gram, cross = scaled.T @ scaled.astype(np.float64), scaled.T @ embeddings.astype(np.float64)
            mean_in = mean_in / scale
        mean_out = embeddings.mean(0).astype(np.float64)
        gram -= count * np.outer(mean_in, mean_in)
        cross -= count * np.outer(mean_in, mean_out)
        weights = np.linalg.solve(gram + self.alpha * np.eye(len(gram)), cross)
        self.bias_ = (mean_out - mean_in @ weights).astype(np.float32)
        self.weights_ = (weights / scale[:, None]).astype(np.float32)
        return self

    def transform(self, representation: Representation) -> np.ndarray:
        vectors = self._inputs(representation) @ self.weights_ + self.bias_
        return (vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)).astype(np.float32)

    def state(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights_, "bias": self.bias_}

    def load_state(self, state: dict[str, np.ndarray]) -> SurrogateMap:
        self.weights_, self.bias_ = (np.asarray(state[name], dtype=np.float32) for name in ("weights", "bias"))
        return self


class FullModel(Protocol):
    """What the cascade needs of the full model: embed some texts, and run the context model over given vectors."""

    labels: list[str]
    sentiment_labels: list[str] | None

    def embed(self, texts: list[str]) -> np.ndarray: ...

    def probabilities_of_embeddings(self, conversations: list[Conversation], embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]: ...


class TorchFull:
    """A PyTorch frozen-embedding model; its `text_encoder` (any backend) embeds the turns that do not exit."""

    def __init__(self, model: Any, batch_utterances: int = 64) -> None:
        from emotrace.models.frozen import FrozenEmbeddingModel

        if not isinstance(model, FrozenEmbeddingModel):
            raise EmotraceError(f"a cascade needs a frozen-embedding model ({', '.join(FROZEN_MODELS)}), not {model.registry_name!r}")
        self.model = model
        self.labels, self.sentiment_labels = model.labels, model.sentiment_labels
        self.batch_utterances = batch_utterances

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.model.embed_texts(texts)

    def probabilities_of_embeddings(self, conversations: list[Conversation], embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        from emotrace.inference.predict import probabilities_of_prepared

        items = self.model.items_from_embeddings(conversations, embeddings)
        return probabilities_of_prepared(self.model, items, [len(c) for c in conversations], self.batch_utterances)


class OnnxFull:
    """A frozen-embedding bundle's ONNX export (export/runtime.py): no torch at all."""

    def __init__(self, model: Any) -> None:
        if model.registry_name not in FROZEN_MODELS:
            raise EmotraceError(f"a cascade needs a frozen-embedding model ({', '.join(FROZEN_MODELS)}), not {model.registry_name!r}")
        self.model = model
        self.labels, self.sentiment_labels = model.labels, model.sentiment_labels

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(texts) if texts else np.zeros((0, 384), dtype=np.float32)

    def probabilities_of_embeddings(self, conversations: list[Conversation], embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        return self.model.probabilities_of_vectors(conversations, embeddings)


@dataclass
class Routing:
    """Per text: the saver's probabilities, whether it exits, and the vector the context model gets for it."""

    saver_probabilities: np.ndarray
    exited: np.ndarray
    embeddings: np.ndarray


@dataclass
class Cascade:
    """Saver first, full model for the rest; `threshold` None or inf means nothing exits."""

    saver: TinySaver
    full: FullModel
    threshold: float
    surrogate: SurrogateMap | None = None
    context: str = "surrogate"
    full_source: str = ""
    selection: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.context not in CONTEXTS:
            raise EmotraceError(f"unknown context design {self.context!r}", hint=f"choose one of {', '.join(CONTEXTS)}")
        if self.context == "surrogate" and self.surrogate is None:
            raise EmotraceError("context='surrogate' needs a fitted SurrogateMap")
        if list(self.saver.labels) != list(self.full.labels):
            raise EmotraceError(f"saver labels {self.saver.labels} differ from the full model's {self.full.labels}")

    @property
    def labels(self) -> list[str]:
        return self.full.labels

    @property
    def sentiment_labels(self) -> list[str] | None:
        return self.full.sentiment_labels

    def route(self, texts: list[str]) -> Routing:
        """Saver on every text; MiniLM only on the texts that do not exit; surrogates for the others."""
        probabilities, representation = self.saver.predict_proba(texts)
        exited = probabilities.max(1) >= self.threshold
        embeddings = np.zeros((len(texts), 384), dtype=np.float32)
        if not exited.all():
            embeddings[~exited] = self.full.embed([text for text, gone in zip(texts, exited) if not gone])
        if self.context == "surrogate" and exited.any():
            assert self.surrogate is not None
            embeddings[exited] = self.surrogate.transform(representation[exited])
        return Routing(probabilities.astype(np.float32), exited, embeddings)

    def probabilities(self, conversations: list[Conversation]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(emotion (N, C), exited (N,), sentiment (N, S) with NaN rows for exited turns, or None)."""
        routing = self.route([u.text for c in conversations for u in c.utterances])
        emotion = routing.saver_probabilities.copy()
        sentiment = np.full((len(emotion), len(self.sentiment_labels)), np.nan, dtype=np.float32) if self.sentiment_labels else None
        parts, rows, start = [], [], 0
        for conversation in conversations:
            span = np.arange(start, start + len(conversation))
            start += len(conversation)
            kept = span[~routing.exited[span]]
            if not len(kept):
                continue  # every turn answered by the saver: the context model has nothing to add
            if self.context == "drop":
                parts.append(Conversation(conversation.id, [conversation.utterances[i] for i in kept - span[0]], conversation.metadata))
                rows.append(kept)
            else:
                parts.append(conversation)
                rows.append(span)
        if parts:
            picked = np.concatenate(rows)
            full_emotion, full_sentiment = self.full.probabilities_of_embeddings(parts, routing.embeddings[picked])
            answered = ~routing.exited[picked]
            emotion[picked[answered]] = full_emotion[answered]
            if sentiment is not None and full_sentiment is not None:
                sentiment[picked[answered]] = full_sentiment[answered]
        return emotion, routing.exited, sentiment

    def predict_probabilities(self, conversations: list[Conversation]) -> tuple[np.ndarray, np.ndarray]:
        """(emotion probabilities (N, C) in the full model's label order, exited (N,) bool), N utterances in order."""
        emotion, exited, _ = self.probabilities(conversations)
        return emotion, exited

    def predict(self, conversations: list[Conversation], abstain_below: float | None = None) -> list[list[Prediction]]:
        """`Prediction`s as `inference.predict.predict` makes them; exited turns carry no sentiment."""
        from emotrace.inference.predict import predictions_of_probabilities

        emotion, _, sentiment = self.probabilities(conversations)
        return predictions_of_probabilities(conversations, self.labels, emotion, self.sentiment_labels, sentiment, None, abstain_below)

    def save(self, directory: str | Path, backend: str = "onnx-int8", card_notes: str = "") -> Path:
        """config.json + model.safetensors (saver.* and surrogate.* arrays) + MODEL_CARD.md, each written atomically."""
        from safetensors.numpy import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        saver_args = {k: v for k, v in self.saver.params().items() if k != "labels"}
        config = {
            "format": CASCADE_FORMAT,
            "saver": self.saver.kind,
            "saver_args": saver_args,
            "labels": self.labels,
            "threshold": None if not np.isfinite(self.threshold) else self.threshold,
            "context": self.context,
            "surrogate_args": self.surrogate.params() if self.surrogate is not None else None,
            "full_model": self.full_source,
            "backend": backend,
            "selection": self.selection,
        }
        arrays = {f"saver.{name}": value for name, value in self.saver.state().items()}
        if self.surrogate is not None:
            arrays.update({f"surrogate.{name}": value for name, value in self.surrogate.state().items()})
        with atomic_path(directory / WEIGHTS_FILE) as temporary:
            save_file(arrays, str(temporary))
        write_text_atomic(directory / CONFIG_FILE, json.dumps(config, indent=2, ensure_ascii=False) + "\n")
        write_text_atomic(directory / CARD_FILE, _card(config, card_notes))
        return directory


class RoutedTextEncoder:
    """A `TextEncoder` stand-in that gives a context model exactly what it sees inside `cascade`: real embeddings
    for turns the saver passes on, surrogates for the ones it answers; texts in `known` get the vector given
    there (e.g. out-of-fold surrogates for training a full model on cascade inputs)."""

    def __init__(self, cascade: Cascade, known: dict[str, np.ndarray] | None = None) -> None:
        self.cascade = cascade
        self.known = known or {}

    def embed(self, texts: list[str], progress: bool = False) -> np.ndarray:
        vectors = np.zeros((len(texts), 384), dtype=np.float32)
        unknown = [i for i, text in enumerate(texts) if text not in self.known]
        known = [i for i, text in enumerate(texts) if text in self.known]
        if known:
            vectors[known] = np.stack([self.known[texts[i]] for i in known])
        if unknown:
            vectors[unknown] = self.cascade.route([texts[i] for i in unknown]).embeddings
        return vectors


def _card(config: dict[str, Any], notes: str) -> str:
    selection = config["selection"]
    threshold = "never (no dev threshold passed the rule)" if config["threshold"] is None else f"{config['threshold']:.4f}"
    rows = "".join(f"- {key.replace('_', ' ')}: {round(value, 4) if isinstance(value, float) else value}\n" for key, value in selection.items())
    return f"""# emotrace cascade: `{config["saver"]}` saver before `{config["full_model"]}`

TinySaver cascade (Wang et al., 2024): the saver answers an utterance when its confidence is at least the
threshold; the other utterances go to the full model, whose context model sees {"surrogate embeddings (ridge map from the saver's features to MiniLM space)" if config["context"] == "surrogate" else "only the turns that did not exit"} for the exited turns.

- **Saver**: `{config["saver"]}` with arguments `{json.dumps(config["saver_args"])}`.
- **Threshold**: {threshold}, the lowest t at which the saver is at least as accurate as the full model on the dev
  utterances with confidence >= t.
- **Full model**: `{config["full_model"]}` (its own MODEL_CARD.md names its training data and licence); run with `{config["backend"]}`.
- **Labels**: {", ".join(config["labels"])}.

## Dev selection
{rows}
{notes}
"""


def _resolve(source: str, directory: Path) -> str:
    """A shipped bundle name as is; a relative path relative to the cascade bundle."""
    from emotrace.models.bundle import bundled_models

    if source in bundled_models() or Path(source).is_absolute():
        return source
    return str((directory / source).resolve())


def load_cascade(directory: str | Path, backend: str | None = None, text_encoder: Any = None) -> Cascade:
    """A cascade bundle, with its full model on `backend` ("torch-fp32", "onnx-fp32", "onnx-int8"; default: the
    one it was saved for). With "torch-fp32", `text_encoder` (e.g. `TextEncoder(text_backend("onnx-int8"))`)
    embeds the turns that do not exit; the ONNX backends use the full bundle's own export (`emotrace export --model`)."""
    from safetensors.numpy import load_file

    directory = Path(directory)
    path = directory / CONFIG_FILE
    if not path.is_file():
        raise EmotraceError("not a cascade bundle (config.json missing)", path=str(directory))
    config = json.loads(path.read_text(encoding="utf-8"))
    if config.get("format") != CASCADE_FORMAT:
        raise EmotraceError(f"unsupported cascade format {config.get('format')!r}", path=str(path), hint=f"expected {CASCADE_FORMAT}")
    arrays = load_file(str(directory / WEIGHTS_FILE))
    parts: dict[str, dict[str, np.ndarray]] = {"saver": {}, "surrogate": {}}
    for key, value in arrays.items():
        owner, name = key.split(".", 1)
        parts[owner][name] = value
    saver = create_saver(config["saver"], labels=config["labels"], **config["saver_args"]).load_state(parts["saver"])
    surrogate = SurrogateMap(**config["surrogate_args"]).load_state(parts["surrogate"]) if config["surrogate_args"] else None
    source = _resolve(config["full_model"], directory)
    full = load_full(source, backend or config["backend"], text_encoder)
    threshold = float("inf") if config["threshold"] is None else float(config["threshold"])
    return Cascade(saver, full, threshold, surrogate, config["context"], config["full_model"], config.get("selection", {}))


def load_full(source: str | Path, backend: str = "torch-fp32", text_encoder: Any = None) -> FullModel:
    """The full model of a cascade: a bundle in PyTorch (with `text_encoder`, default the cached torch-fp32 one) or
    its ONNX export."""
    if backend == "torch-fp32":
        from emotrace.models.bundle import load_model

        model = load_model(source)
        if text_encoder is not None:
            model.text_encoder = text_encoder
        return TorchFull(model)
    from emotrace.export.runtime import load_onnx_model

    return OnnxFull(load_onnx_model(source, backend))


def scored_texts(conversations: list[Conversation], labels: list[str]) -> tuple[list[str], np.ndarray]:
    """Texts and gold indices of the utterances that carry an emotion (context-only ones are skipped)."""
    from emotrace.inference.scores import gold_indices
    from emotrace.labels import UNSCORED

    gold = gold_indices(conversations, labels)
    texts = [u.text for c in conversations for u in c.utterances]
    return [t for t, g in zip(texts, gold) if g != UNSCORED], gold[gold != UNSCORED]


def fit_saver(kind: str, labels: list[str], texts: list[str], gold: np.ndarray, teacher: np.ndarray | None = None, **args: Any) -> TinySaver:
    """A saver of `kind` fitted on labelled texts; the embedding bag also learns from `teacher` probabilities."""
    saver = create_saver(kind, labels=labels, **args)
    return saver.fit(texts, gold, teacher) if kind == "embedding-bag" else saver.fit(texts, gold)


def threshold_on(saver_probabilities: np.ndarray, full_probabilities: np.ndarray, gold: np.ndarray) -> tuple[float, dict[str, Any]]:
    """`exit_threshold` on a labelled split, with what it implies there (exit rate, both accuracies on the exits)."""
    confidence = saver_probabilities.max(1)
    saver_correct, full_correct = saver_probabilities.argmax(1) == gold, full_probabilities.argmax(1) == gold
    threshold = exit_threshold(confidence, saver_correct, full_correct)
    exited = confidence >= threshold
    return threshold, {
        "dev_utterances": int(len(gold)),
        "dev_exit_rate": float(exited.mean()),
        "dev_saver_accuracy_on_exits": float(saver_correct[exited].mean()) if exited.any() else None,
        "dev_full_accuracy_on_exits": float(full_correct[exited].mean()) if exited.any() else None,
    }


def fit_cascade(
    full: FullModel,
    train: list[Conversation],
    dev: list[Conversation],
    saver: str = DEFAULT_SAVER,
    context: str = "surrogate",
    full_source: str = "",
    **saver_args: Any,
) -> Cascade:
    """Saver and surrogate map fitted on `train`, threshold on `dev` against the full model on real embeddings."""
    from emotrace.inference.scores import gold_indices
    from emotrace.labels import UNSCORED

    texts, gold = scored_texts(train, full.labels)
    teacher = None
    if saver == "embedding-bag":
        train_probabilities, _ = full.probabilities_of_embeddings(train, full.embed([u.text for c in train for u in c.utterances]))
        teacher = train_probabilities[gold_indices(train, full.labels) != UNSCORED]
    fitted = fit_saver(saver, full.labels, texts, gold, teacher, **saver_args)
    surrogate = None
    if context == "surrogate":
        surrogate = SurrogateMap(**SURROGATE_DEFAULTS[saver]).fit(fitted.predict_proba(texts)[1], full.embed(texts))
    dev_gold = gold_indices(dev, full.labels)
    dev_texts = [u.text for c in dev for u in c.utterances]
    full_probabilities, _ = full.probabilities_of_embeddings(dev, full.embed(dev_texts))
    scored = dev_gold != UNSCORED
    threshold, selection = threshold_on(fitted.predict_proba(dev_texts)[0][scored], full_probabilities[scored], dev_gold[scored])
    return Cascade(fitted, full, threshold, surrogate, context, full_source, selection)


def bundle_fingerprint(directory: str | Path) -> str:
    digest = hashlib.sha256()
    for name in ("config.json", "model.safetensors"):
        digest.update((Path(directory) / name).read_bytes())
    return digest.hexdigest()[:12]


def build_cascade(full_bundle: str | Path, data_dir: str | Path | None, out_dir: str | Path, saver: str = DEFAULT_SAVER, backend: str = "onnx-int8") -> Path:
    """Fit the cascade for a frozen-embedding bundle on the data set it was trained on and save it to `out_dir`;
    returns `out_dir` at once when it already holds this cascade for these exact full-model weights."""
    from emotrace.models.bundle import bundle_path, bundled_models, read_config
    from emotrace.training.data import benchmark_data

    full_dir = bundle_path(full_bundle)
    out_dir = Path(out_dir)
    fingerprint = bundle_fingerprint(full_dir)
    existing = out_dir / CONFIG_FILE
    if existing.is_file():
        config = json.loads(existing.read_text(encoding="utf-8"))
        if config.get("selection", {}).get("full_fingerprint") == fingerprint and config.get("saver") == saver and config.get("backend") == backend:
            return out_dir
    dataset = read_config(full_dir).get("data", {}).get("dataset")
    if not dataset:
        raise EmotraceError("the full bundle does not name a benchmark data set to fit the cascade on", path=str(full_dir))
    data = benchmark_data(dataset, data_dir)
    source = str(full_bundle) if str(full_bundle) in bundled_models() else os.path.relpath(full_dir.resolve(), out_dir.resolve())
    cascade = fit_cascade(load_full(full_dir), data.train, data.dev, saver, full_source=source)
    cascade.selection["full_fingerprint"] = fingerprint
    return cascade.save(out_dir, backend, card_notes=f"Fitted on {data.description['name']} (licence {data.description['licence']}).")
