"""Reading conversations in and writing predictions out: the only place that knows about file formats.

Callers (CLI, inference, evaluation) go through `read_conversations` and `write_predictions` so every format
gets the same validation, the same error messages and the same atomic writes.
"""

from __future__ import annotations

from emotrace.io.readers import INPUT_FORMATS, parse_conversations, read_conversations
from emotrace.io.writers import OUTPUT_FORMATS, prediction_records, render_predictions, write_predictions

__all__ = [
    "INPUT_FORMATS",
    "OUTPUT_FORMATS",
    "parse_conversations",
    "prediction_records",
    "read_conversations",
    "render_predictions",
    "write_predictions",
]
