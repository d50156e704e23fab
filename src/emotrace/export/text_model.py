"""Export a text bundle to ONNX for the torch-free runtime in export/runtime.py (`emotrace export --model`).

The encoder graph is the model's own: plain MiniLM with mean pooling and L2 normalisation for the frozen-embedding
models (`mlp`, `bigru`), the LoRA-adapted MiniLM with the adapters merged into its weights and plain mean pooling
for `finetune`/`finetune-bigru`. The head graph is the model's `classify` over one conversation (batch of one, so
the biGRU sees no padding and needs no packing).
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

from emotrace.errors import EmotraceError
from emotrace.export.graphs import export_graph, export_int8, require_export_tools
from emotrace.export.runtime import EXPORT_FILE, EXPORTABLE_MODELS, HEAD_FILE, TOKENIZER_FILE, VARIANTS, export_dir
from emotrace.io.atomic import write_text_atomic
from emotrace.models.bundle import bundle_path, load_bundle


def export_bundle(name_or_dir: str | Path, int8: bool = False, smoothquant: bool = True) -> Path:
    """Write the bundle's encoder (fp32, and int8 when asked), head and runtime spec; returns the export folder.

    `smoothquant` (the default) smooths the int8 encoder first (export/smoothquant.py), calibrated on the shipped
    dialogues turned into this model's own encoder inputs; False gives plain dynamic quantisation.
    """
    require_export_tools()
    import torch

    from emotrace.encoders.minilm import load_bert, mean_pool, minilm_path
    from emotrace.models.finetune import ContextFineTuned
    from emotrace.models.frozen import FrozenEmbeddingModel
    from emotrace.models.lora import merge_lora

    bundle = bundle_path(name_or_dir)
    model = load_bundle(bundle)
    if model.registry_name not in EXPORTABLE_MODELS or not isinstance(model, FrozenEmbeddingModel | ContextFineTuned):
        raise EmotraceError(
            f"'{name_or_dir}' is a {model.registry_name} model; only the text models {', '.join(EXPORTABLE_MODELS)} export to ONNX",
            hint="pass a text model, e.g. --model default",
        )
    folder = export_dir(bundle)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / EXPORT_FILE).unlink(missing_ok=True)  # incomplete until the spec is written again, last

    pairs = isinstance(model, ContextFineTuned)
    normalise = not pairs
    bert = copy.deepcopy(model.encoder) if pairs else load_bert()
    merge_lora(bert)
    bert.set_attn_implementation("eager")  # traces to plain MatMul/Softmax with the padding mask as data
    bert.eval()

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any = None) -> Any:
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
            pooled = mean_pool(hidden, attention_mask)
            return torch.nn.functional.normalize(pooled, dim=-1) if normalise else pooled

    class Head(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, vectors: Any, speakers: Any) -> Any:
            output = self.model.classify(vectors, speakers, torch.ones_like(speakers, dtype=torch.bool))
            return (output.emotion,) if output.sentiment is None else (output.emotion, output.sentiment)

    ids = torch.tensor([[101, 7592, 2088, 999, 102], [101, 7592, 102, 0, 0]], dtype=torch.long)
    inputs = {"input_ids": ids, "attention_mask": (ids != 0).long()}
    if pairs:
        inputs["token_type_ids"] = torch.tensor([[0, 0, 0, 1, 1], [0, 0, 1, 0, 0]], dtype=torch.long)
    fp32_path = folder / VARIANTS["onnx-fp32"]
    export_graph(Encoder().eval(), inputs, fp32_path)
    if int8:
        export_int8(Encoder().eval(), inputs, fp32_path, folder / VARIANTS["onnx-int8"], _calibration(model, pairs) if smoothquant else None)
    outputs = ("emotion",) if model.sentiment_labels is None else ("emotion", "sentiment")
    head_inputs = {"vectors": torch.zeros(1, 3, 384), "speakers": torch.tensor([[0, 1, 0]])}
    export_graph(Head().eval(), head_inputs, folder / HEAD_FILE, outputs=outputs)
    shutil.copyfile(minilm_path() / TOKENIZER_FILE, folder / TOKENIZER_FILE)
    spec = {
        "model": model.registry_name,
        "bundle": str(bundle),
        "labels": model.labels,
        "sentiment_labels": model.sentiment_labels,
        "temperature": model.temperature,
        "dim": 384,
        "max_speakers": model.max_speakers,
        "pairs": pairs,
        "past": getattr(model, "past", 0),
        "future": getattr(model, "future", 0),
        "max_length": model.max_length if pairs else 256,
        "truncation": "left" if pairs else "right",
    }
    write_text_atomic(folder / EXPORT_FILE, json.dumps(spec, indent=2) + "\n")
    return folder


def _calibration(model: Any, pairs: bool) -> list[dict[str, Any]]:
    """SmoothQuant calibration batches: the shipped dialogues as this model's encoder sees them at run time."""
    from emotrace.export.dialogues import calibration_conversations, calibration_texts
    from emotrace.export.smoothquant import tokenised_batches
    from emotrace.models.turns import context_pairs

    if not pairs:
        return tokenised_batches(calibration_texts(), max_length=256)
    inputs = [pair for conversation in calibration_conversations() for pair in context_pairs(conversation, model.past, model.future)]
    return tokenised_batches(inputs, max_length=model.max_length, truncate_left=True)
