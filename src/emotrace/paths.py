"""Where emotrace keeps what it builds outside any repository: one cache folder, `$EMOTRACE_CACHE` or
`~/.cache/emotrace` (embeddings, ONNX exports, unpacked data set archives)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    return Path(os.environ.get("EMOTRACE_CACHE") or Path.home() / ".cache" / "emotrace")
