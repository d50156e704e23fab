"""Sentence embeddings for utterances: batched, length-sorted, cached on disk.

The runtime sits behind `TextBackend` so that ONNX Runtime / int8 backends (export/runtime.py, `text_backend`) can
replace the PyTorch one without touching anything that calls `TextEncoder.embed`.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from emotrace.encoders.cache import EmbeddingCache
from emotrace.encoders.minilm import EMBEDDING_DIM, ENCODER_NAME, load_bert, load_tokenizer, mean_pool


class TextBackend(Protocol):
    backend_id: str

    def encode(self, texts: list[str]) -> np.ndarray: ...


class TorchBackend:
    """PyTorch fp32 MiniLM with mean pooling and L2 normalisation."""

    backend_id = "torch-fp32"

    def __init__(self, max_length: int = 256) -> None:
        self.max_length = max_length
        self._tokenizer = load_tokenizer()
        self._model = load_bert().eval()

    def encode(self, texts: list[str]) -> np.ndarray:
        import torch

        batch = self._tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        with torch.inference_mode():
            hidden = self._model(**batch).last_hidden_state
            pooled = torch.nn.functional.normalize(mean_pool(hidden, batch["attention_mask"]), dim=-1)
        return pooled.numpy().astype(np.float32)


class TextEncoder:
    """`embed(texts) -> (N, 384)` float32 array; identical texts are encoded once and cached on disk."""

    dim = EMBEDDING_DIM

    def __init__(self, backend: TextBackend | None = None, batch_size: int = 64, cache: EmbeddingCache | None | bool = True) -> None:
        self.batch_size = batch_size
        self._backend = backend
        self._cache = EmbeddingCache() if cache is True else (cache or None)

    @property
    def backend(self) -> TextBackend:
        if self._backend is None:
            self._backend = TorchBackend()
        return self._backend

    @property
    def encoder_id(self) -> str:
        backend_id = self._backend.backend_id if self._backend is not None else TorchBackend.backend_id
        return f"{ENCODER_NAME}/{backend_id}"

    def embed(self, texts: list[str], progress: bool = False) -> np.ndarray:
        known = self._cache.get_many(self.encoder_id, texts) if self._cache else {}
        missing = sorted({t for t in texts if t not in known}, key=len)
        if missing:
            from tqdm.auto import tqdm

            batches = range(0, len(missing), self.batch_size)
            for start in tqdm(batches, desc="embedding", unit="batch", disable=not progress or len(batches) < 2):
                chunk = missing[start : start + self.batch_size]
                vectors = self.backend.encode(chunk)
                known.update(zip(chunk, vectors))
                if self._cache:
                    self._cache.put_many(self.encoder_id, chunk, vectors)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([known[t] for t in texts]).astype(np.float32)
