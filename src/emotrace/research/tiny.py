"""Tiny first-exit models ("savers") for `research/cascade.py` (TinySaver, Wang et al., 2024): cheap enough to run
on every utterance, so that the confident ones never reach MiniLM and the context model.

- `hashed-linear`: word 1-2-grams and character 3-5-grams hashed into 2^18 buckets (the hashing trick,
  Weinberger et al., 2009) → multinomial logistic regression. numpy-only at predict time.
- `embedding-bag`: hashed word 1-2-grams → mean of learned vectors → linear (fastText, Joulin et al., 2017),
  optionally distilled from the full model's probabilities (Hinton et al., 2015). numpy-only at predict time.
- `early-exit`: MiniLM's own first 2 of 6 layers, mean-pooled → logistic regression (early exit as in DeeBERT,
  Xin et al., 2020). PyTorch at predict time.

`predict_proba(texts)` returns the probabilities and a representation of every text: the cascade maps the
representation into MiniLM's space for turns that exit (`SurrogateMap`). Learned state ends in `_` and is
plain float arrays (safetensors); constructors only store their arguments (scikit-learn style), so a saver is
rebuilt from `(kind, params(), state())`.
"""

from __future__ import annotations

import inspect
import re
import zlib
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

TOKEN = re.compile(r"\w+|[^\w\s]+")
WORD_SEED = 0x5EED  # crc32 start value, + n so that a word's 1-gram and 2-grams hash independently
FIBONACCI = 0x9E3779B97F4A7C15  # 2^64 / golden ratio
DENSE_WIDTH = 2**14  # `SparseRows @ W` goes dense (BLAS) up to this many columns of features
DENSE_CELLS = 2**21  # features per dense chunk (8 MB of float32)


@dataclass
class SparseRows:
    """A batch of sparse rows (CSR layout): the two products the savers need, without scipy at predict time."""

    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray
    width: int

    def __len__(self) -> int:
        return len(self.indptr) - 1

    def __matmul__(self, weights: np.ndarray) -> np.ndarray:
        """Narrow rows (the surrogate map's 4,096 folded buckets) go dense in chunks through BLAS: gathering one
        weight row per non-zero would move (non-zeros x columns) floats, 10x slower for 384 columns. Wide rows
        (a saver's 2^18 buckets, a few classes) are gathered: a dense row would be mostly zeros."""
        if self.width <= DENSE_WIDTH:
            return self._dense_matmul(weights)
        out = np.zeros((len(self), weights.shape[1]), dtype=np.float32)
        filled = np.diff(self.indptr) > 0
        if filled.any():
            products = weights[self.indices] * self.values[:, None]
            out[filled] = np.add.reduceat(products, self.indptr[:-1][filled], axis=0)
        return out

    def _dense_matmul(self, weights: np.ndarray) -> np.ndarray:
        out = np.empty((len(self), weights.shape[1]), dtype=np.float32)
        step = max(1, DENSE_CELLS // self.width)
        for start in range(0, len(self), step):
            stop = min(start + step, len(self))
            first, last = self.indptr[start], self.indptr[stop]
            rows = np.repeat(np.arange(stop - start), np.diff(self.indptr[start : stop + 1]))
            cells = np.bincount(rows * self.width + self.indices[first:last], weights=self.values[first:last], minlength=(stop - start) * self.width)
            out[start:stop] = cells.astype(np.float32).reshape(stop - start, self.width) @ weights
        return out

    def __getitem__(self, rows: np.ndarray) -> SparseRows:
        """The rows picked by a boolean mask or an index array, in that order."""
        picked = np.flatnonzero(rows) if rows.dtype == bool else rows
        starts, ends = self.indptr[picked], self.indptr[picked + 1]
        spans = [np.arange(s, e) for s, e in zip(starts, ends)]
        take = np.concatenate(spans) if spans else np.zeros(0, dtype=np.int64)
        return SparseRows(np.r_[0, np.cumsum(ends - starts)], self.indices[take], self.values[take], self.width)

    def folded(self, width: int) -> SparseRows:
        """Hashed into `width` (a power of two dividing this width) buckets by their low bits: no re-hashing."""
        return SparseRows(self.indptr, self.indices & (width - 1), self.values, width)

    def to_scipy(self) -> Any:
        from scipy.sparse import csr_matrix

        matrix = csr_matrix((self.values, self.indices, self.indptr), shape=(len(self), self.width))
        matrix.sum_duplicates()
        return matrix


Representation = np.ndarray | SparseRows


def hashed_ngrams(texts: list[str], buckets: int, word_ngrams: tuple[int, int], char_ngrams: tuple[int, int] | None) -> SparseRows:
    """Counts of the lower-cased texts' hashed word n-grams and (space-padded, UTF-8 byte) character n-grams, each
    row scaled by 1/sqrt(its number of n-grams) (the L2 norm when no n-gram repeats, without de-duplicating).

    Words are hashed with crc32; character n-grams (n <= 7) are packed into one integer exactly and then mixed by
    Fibonacci hashing (Knuth), vectorised over the whole batch, since they are most of the n-grams."""
    bits = buckets.bit_length() - 1
    lowered = [" ".join(text.lower().split()) for text in texts]
    parts = []
    words = [TOKEN.findall(text) for text in lowered]
    for n in range(word_ngrams[0], word_ngrams[1] + 1):
        grams = [[zlib.crc32(" ".join(gram).encode("utf-8"), WORD_SEED + n) for gram in zip(*(w[k:] for k in range(n)))] for w in words]
        rows = np.repeat(np.arange(len(texts)), [len(g) for g in grams])
        parts.append((rows, np.fromiter((h for g in grams for h in g), dtype=np.int64, count=len(rows)) & (buckets - 1)))
    if char_ngrams:
        encoded = [f" {text} ".encode() for text in lowered]
        lengths = np.array([len(e) for e in encoded])
        data = np.frombuffer(b"".join(encoded), dtype=np.uint8).astype(np.uint64)
        row_of_byte = np.repeat(np.arange(len(texts)), lengths)
        end_of_byte = np.repeat(np.cumsum(lengths), lengths)
        for n in range(char_ngrams[0], char_ngrams[1] + 1):
            starts = np.arange(max(len(data) - n + 1, 0))
            starts = starts[starts + n <= end_of_byte[starts]]
            packed = np.full(len(starts), n, dtype=np.uint64) << np.uint64(56)
            for k in range(n):
                packed |= data[starts + k] << np.uint64(8 * k)
            mixed = (packed * np.uint64(FIBONACCI)) >> np.uint64(64 - bits)
            parts.append((row_of_byte[starts], mixed.astype(np.int64)))
    return _assemble(parts, len(texts), buckets)


def _assemble(parts: list[tuple[np.ndarray, np.ndarray]], n_rows: int, width: int) -> SparseRows:
    """CSR rows from several (row, column) lists, each sorted by row."""
    counts = [np.bincount(rows, minlength=n_rows) for rows, _ in parts]
    total = np.sum(counts, axis=0) if counts else np.zeros(n_rows, dtype=np.int64)
    indptr = np.r_[0, np.cumsum(total)].astype(np.int64)
    indices = np.empty(indptr[-1], dtype=np.int64)
    offset = indptr[:-1].copy()
    for (rows, columns), count in zip(parts, counts):
        first = np.r_[0, np.cumsum(count)[:-1]]
        indices[offset[rows] + np.arange(len(rows)) - first[rows]] = columns
        offset += count
    values = np.repeat(1.0 / np.sqrt(np.maximum(total, 1)), total).astype(np.float32)
    return SparseRows(indptr, indices, values, width)


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(1, keepdims=True))
    return shifted / shifted.sum(1, keepdims=True)


class TinySaver:
    """The saver contract: `fit(texts, gold) -> self`, `predict_proba(texts) -> (probabilities, representation)`."""

    kind: ClassVar[str]
    labels: list[str]

    def params(self) -> dict[str, Any]:
        """The constructor arguments (what a bundle's config stores), read from the signature as scikit-learn does."""
        return {name: getattr(self, name) for name in inspect.signature(type(self).__init__).parameters if name != "self"}

    def state(self) -> dict[str, np.ndarray]:
        """The learned arrays, by name (their attribute names without the trailing `_`)."""
        return {name.rstrip("_"): np.ascontiguousarray(value) for name, value in vars(self).items() if name.endswith("_")}

    def load_state(self, state: dict[str, np.ndarray]) -> TinySaver:
        for name, value in state.items():
            setattr(self, f"{name}_", np.asarray(value, dtype=np.float32))
        return self

    def predict_proba(self, texts: list[str]) -> tuple[np.ndarray, Representation]:
        raise NotImplementedError

    def _class_columns(self, classes: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """scikit-learn's (classes present, features) coefficients as (features, all labels); absent labels never win."""
        weights = np.zeros((coef.shape[1], len(self.labels)), dtype=np.float32)
        bias = np.full(len(self.labels), -30.0, dtype=np.float32)
        weights[:, classes] = coef.T
        bias[classes] = intercept
        return weights, bias


class HashedLinearSaver(TinySaver):
    """Hashed word + character n-grams → multinomial logistic regression (fitted with SAGA: ~6x faster than L-BFGS
    on these 2^18 sparse columns, measured, at the same dev accuracy)."""

    kind = "hashed-linear"

    def __init__(
        self,
        labels: list[str],
        buckets: int = 2**18,
        word_ngrams: tuple[int, int] = (1, 2),
        char_ngrams: tuple[int, int] | None = (3, 5),
        c: float = 4.0,
    ) -> None:
        self.labels = labels
        self.buckets = buckets
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.c = c

    def featurize(self, texts: list[str]) -> SparseRows:
        return hashed_ngrams(texts, self.buckets, self.word_ngrams, self.char_ngrams)

    def fit(self, texts: list[str], gold: np.ndarray) -> HashedLinearSaver:
        from sklearn.linear_model import LogisticRegression

        classifier = LogisticRegression(C=self.c, solver="saga", tol=1e-3, max_iter=200, random_state=0).fit(self.featurize(texts).to_scipy(), gold)
        self.weights_, self.bias_ = self._class_columns(classifier.classes_, classifier.coef_, classifier.intercept_)
        return self

    def predict_proba(self, texts: list[str]) -> tuple[np.ndarray, SparseRows]:
        features = self.featurize(texts)
        return softmax(features @ self.weights_ + self.bias_), features


class EmbeddingBagSaver(TinySaver):
    """fastText-style: mean of hashed n-gram vectors → linear; the loss mixes gold cross-entropy with cross-entropy
    to the full model's probabilities (`distill_weight`), when those are given."""

    kind = "embedding-bag"

    def __init__(
        self,
        labels: list[str],
        buckets: int = 2**17,
        dim: int = 64,
        word_ngrams: tuple[int, int] = (1, 2),
        char_ngrams: tuple[int, int] | None = None,
        epochs: int = 4,
        lr: float = 5e-3,
        distill_weight: float = 0.5,
        seed: int = 0,
    ) -> None:
        self.labels = labels
        self.buckets = buckets
        self.dim = dim
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.epochs = epochs
        self.lr = lr
        self.distill_weight = distill_weight
        self.seed = seed

    def featurize(self, texts: list[str]) -> SparseRows:
        """Hashed n-grams weighted to sum to one per text, so `features @ vectors` is their weighted mean."""
        features = hashed_ngrams(texts, self.buckets, self.word_ngrams, self.char_ngrams)
        lengths = np.diff(features.indptr)
        features.values = np.repeat(1.0 / np.maximum(lengths, 1), lengths).astype(np.float32)
        return features

    def fit(self, texts: list[str], gold: np.ndarray, teacher: np.ndarray | None = None) -> EmbeddingBagSaver:
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # tiny sparse steps: thread hand-offs cost more than they save (192 s vs 10 s, 2 shared cores)
        try:
            return self._fit(texts, gold, teacher)
        finally:
            torch.set_num_threads(threads)

    def _fit(self, texts: list[str], gold: np.ndarray, teacher: np.ndarray | None) -> EmbeddingBagSaver:
        import torch
        from torch import nn

        torch.manual_seed(self.seed)
        features = self.featurize(texts)
        bag = nn.EmbeddingBag(self.buckets, self.dim, mode="sum", sparse=True)
        nn.init.normal_(bag.weight, std=0.1)
        head = nn.Linear(self.dim, len(self.labels))
        optimisers = [torch.optim.SparseAdam(bag.parameters(), lr=self.lr), torch.optim.Adam(head.parameters(), lr=self.lr)]
        gold_tensor = torch.as_tensor(gold, dtype=torch.long)
        teacher_tensor = torch.as_tensor(teacher, dtype=torch.float32) if teacher is not None else None
        order_rng = np.random.default_rng(self.seed)
        for _ in range(self.epochs):
            order = order_rng.permutation(len(texts))
            for start in range(0, len(texts), 64):
                rows = order[start : start + 64]
                batch = features[rows]
                logits = head(
                    bag(
                        torch.from_numpy(batch.indices),
                        torch.from_numpy(batch.indptr[:-1]),
                        per_sample_weights=torch.from_numpy(batch.values),
                    )
                )
                loss = nn.functional.cross_entropy(logits, gold_tensor[rows])
                if teacher_tensor is not None and self.distill_weight > 0:
                    soft = -(teacher_tensor[rows] * logits.log_softmax(-1)).sum(-1).mean()
                    loss = (1 - self.distill_weight) * loss + self.distill_weight * soft
                for optimiser in optimisers:
                    optimiser.zero_grad()
                loss.backward()
                for optimiser in optimisers:
                    optimiser.step()
        self.vectors_ = bag.weight.detach().numpy().astype(np.float32)
        self.weights_ = head.weight.detach().numpy().T.astype(np.float32).copy()
        self.bias_ = head.bias.detach().numpy().astype(np.float32)
        return self

    def predict_proba(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        pooled = self.featurize(texts) @ self.vectors_
        return softmax(pooled @ self.weights_ + self.bias_), pooled


class EarlyExitSaver(TinySaver):
    """MiniLM's first `layers` transformer layers, mean-pooled, → logistic regression on standardised features."""

    kind = "early-exit"

    def __init__(self, labels: list[str], layers: int = 2, c: float = 1.0, batch_size: int = 64) -> None:
        self.labels = labels
        self.layers = layers
        self.c = c
        self.batch_size = batch_size
        self._encoder: Any = None

    def encode(self, texts: list[str]) -> np.ndarray:
        """(N, 384) mean-pooled hidden states after layer `layers`; texts batched by length as `TextEncoder` does."""
        import torch

        from emotrace.encoders.minilm import load_bert, load_tokenizer, mean_pool

        if self._encoder is None:
            bert = load_bert().eval()
            bert.encoder.layer = bert.encoder.layer[: self.layers]
            bert.config.num_hidden_layers = self.layers
            self._encoder = (load_tokenizer(), bert)
        tokenizer, bert = self._encoder
        unique = sorted(set(texts), key=len)
        pooled: dict[str, np.ndarray] = {}
        with torch.inference_mode():
            for start in range(0, len(unique), self.batch_size):
                chunk = unique[start : start + self.batch_size]
                batch = tokenizer(chunk, padding=True, truncation=True, max_length=256, return_tensors="pt")
                hidden = bert(**batch).last_hidden_state
                pooled.update(zip(chunk, mean_pool(hidden, batch["attention_mask"]).numpy()))
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([pooled[t] for t in texts]).astype(np.float32)

    def fit(self, texts: list[str], gold: np.ndarray, features: np.ndarray | None = None) -> EarlyExitSaver:
        """`features`: `encode(texts)` if already computed (they are the slow part)."""
        from sklearn.linear_model import LogisticRegression

        features = self.encode(texts) if features is None else features
        mean, scale = features.mean(0), features.std(0) + 1e-6
        classifier = LogisticRegression(C=self.c, max_iter=3000).fit((features - mean) / scale, gold)
        weights, bias = self._class_columns(classifier.classes_, classifier.coef_, classifier.intercept_)
        self.weights_ = (weights / scale[:, None]).astype(np.float32)
        self.bias_ = (bias - (mean / scale) @ weights).astype(np.float32)
        return self

    def predict_proba(self, texts: list[str], features: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        features = self.encode(texts) if features is None else features
        return softmax(features @ self.weights_ + self.bias_), features


SAVERS: dict[str, type[TinySaver]] = {cls.kind: cls for cls in (HashedLinearSaver, EmbeddingBagSaver, EarlyExitSaver)}


def create_saver(kind: str, **params: Any) -> TinySaver:
    from emotrace.errors import EmotraceError

    if kind not in SAVERS:
        raise EmotraceError(f"unknown saver {kind!r}", hint=f"choose one of {', '.join(SAVERS)}")
    return SAVERS[kind](**params)
