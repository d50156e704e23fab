"""emotrace: emotion recognition in conversation, utterance by utterance, offline on a CPU.

from emotrace import read_conversations, load_model, predict
conversations = read_conversations("call.txt")
predictions = predict(load_model("default"), conversations)
"""

from __future__ import annotations

from typing import Any

from emotrace.schema import Conversation, Prediction, Utterance

__version__ = "0.1.0"
__all__ = ["Conversation", "Prediction", "Utterance", "load_model", "predict", "read_conversations", "write_predictions"]

_LAZY = {
    "load_model": "emotrace.models.bundle",
    "predict": "emotrace.inference.predict",
    "read_conversations": "emotrace.io",
    "write_predictions": "emotrace.io",
}


def __getattr__(name: str) -> Any:
    """Import torch-backed parts only when used, so `import emotrace` stays light."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'emotrace' has no attribute {name!r}")
