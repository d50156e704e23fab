"""On-disk embedding cache keyed by (encoder id, text), so re-running a benchmark never re-encodes.

SQLite (stdlib) gives atomic, crash-safe writes and safe concurrent readers for free. One connection serves every
thread of a process (the web service runs models off its event loop), behind a lock.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from pathlib import Path

import numpy as np

from emotrace.paths import cache_root


def default_cache_path() -> Path:
    return cache_root() / "embeddings.sqlite"


def _key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


class EmbeddingCache:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=60, check_same_thread=False)
        self._lock = threading.Lock()
        self._db.execute("CREATE TABLE IF NOT EXISTS embeddings (encoder TEXT, text_key BLOB, vector BLOB, PRIMARY KEY (encoder, text_key))")

    def get_many(self, encoder_id: str, texts: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(texts))
        with self._lock:
            for start in range(0, len(unique), 500):
                chunk = unique[start : start + 500]
                by_key = {_key(text): text for text in chunk}
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(f"SELECT text_key, vector FROM embeddings WHERE encoder = ? AND text_key IN ({marks})", [encoder_id, *by_key])
                for key, blob in rows:
                    found[by_key[key]] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, encoder_id: str, texts: list[str], vectors: np.ndarray) -> None:
        rows = [(encoder_id, _key(text), np.ascontiguousarray(vector, dtype=np.float32).tobytes()) for text, vector in zip(texts, vectors)]
        with self._lock, self._db:
            self._db.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)", rows)
