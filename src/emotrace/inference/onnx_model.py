"""A text bundle exported to ONNX (`emotrace export --model NAME`), run by ONNX Runtime without torch.

Two graphs, because a conversation model has two parts of very different shape: `fp32.onnx`/`int8.onnx` encode
utterances (batched across conversations, length-sorted so little is padded), and `head.onnx` runs the context
model and the heads over one conversation's utterance vectors (so no padding enters the biGRU). `export.json`
says how the bundle's model builds its encoder input (the text alone, or `Speaker: text` with the previous
turns as a second segment, truncated from the left) and carries labels and the calibration temperature; it is
written last, so a folder with it is a complete export. fp32 reproduces the PyTorch model to float precision;
int8 quantises the encoder's weights per channel (see encoders/onnx_text.py for its accuracy caveats).

Exports live in the emotrace cache under the bundle's name and a fingerprint of its files, so retraining or
updating a bundle never runs a stale export.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from emotrace.encoders.onnx_text import INSTALL_HINT, VARIANTS
from emotrace.errors import EmotraceError
from emotrace.models.bundle import CONFIG_FILE, WEIGHTS_FILE
from emotrace.models.turns import context_pairs, speaker_indices
from emotrace.paths import cache_root
from emotrace.schema import Conversation

EXPORT_FILE, HEAD_FILE, TOKENIZER_FILE = "export.json", "head.onnx", "tokenizer.json"
ONNX_BACKENDS = tuple(VARIANTS)
EXPORTABLE_MODELS = ("mlp", "bigru", "finetune", "finetune-bigru", "dialogue-minilm")  # text models whose forward traces to ONNX as is
EXPORT_RECIPE = "4"  # bumped when the export itself changes (graphs, quantisation), so old exports are not reused


def export_dir(bundle: Path) -> Path:
    """Where a bundle's export lives: `<cache>/onnx/bundles/<name>-<fingerprint of the export recipe, config and weights>`."""
    digest = hashlib.sha256(EXPORT_RECIPE.encode())
    for name in (CONFIG_FILE, WEIGHTS_FILE):
        digest.update((bundle / name).read_bytes())
    return cache_root() / "onnx" / "bundles" / f"{bundle.name}-{digest.hexdigest()[:12]}"


def export_hint(model: str, backend: str) -> str:
    return f"run `emotrace export --model {model} --backend {backend}` once"


class OnnxERCModel:
    """The inference side of an `ERCModel` for a text bundle: `probabilities(conversations)` on ONNX Runtime."""

    media: tuple[str, ...] = ()

    def __init__(self, folder: Path, backend: str, threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError:
            raise EmotraceError("the ONNX backends need onnxruntime and tokenizers", hint=INSTALL_HINT) from None
        spec = json.loads((folder / EXPORT_FILE).read_text(encoding="utf-8"))
        self.backend = backend
        self.registry_name: str = spec["model"]
        self.labels: list[str] = spec["labels"]
        self.sentiment_labels: list[str] | None = spec["sentiment_labels"]
        self.temperature = float(spec["temperature"])
        self._spec = spec
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or int(os.environ.get("OMP_NUM_THREADS") or 0) or os.cpu_count() or 1  # a batch worker gets its share
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._encoder = ort.InferenceSession(str(folder / VARIANTS[backend]), sess_options=options, providers=["CPUExecutionProvider"])
        self._head = ort.InferenceSession(str(folder / HEAD_FILE), sess_options=options, providers=["CPUExecutionProvider"])
        self._encoder_inputs = [i.name for i in self._encoder.get_inputs()]
        self._tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        self._tokenizer.no_padding()  # batches are padded here, per length-sorted chunk
        self._tokenizer.enable_truncation(max_length=spec["max_length"], strategy="longest_first", direction=spec["truncation"])

    def texts(self, conversation: Conversation) -> list[Any]:
        """The encoder's input per utterance, as the PyTorch model builds it."""
        if self._spec["pairs"]:
            return context_pairs(conversation, self._spec["past"], self._spec["future"])
        return [u.text for u in conversation.utterances]

    def encode(self, inputs: list[Any], batch: int = 32) -> np.ndarray:
        """Utterance vectors (N, d), encoded in length-sorted batches; repeated inputs ("Yeah.", "Okay.") only once."""
        unique = list(dict.fromkeys(inputs))
        if len(unique) < len(inputs):
            position = {item: row for row, item in enumerate(unique)}
            return self.encode(unique, batch)[[position[item] for item in inputs]]
        encodings = self._tokenizer.encode_batch(inputs)
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
        vectors = np.zeros((len(encodings), self._spec["dim"]), dtype=np.float32)
        for start in range(0, len(order), batch):
            picked = order[start : start + batch]
            width = max(len(encodings[i].ids) for i in picked)
            feeds = {name: np.zeros((len(picked), width), dtype=np.int64) for name in self._encoder_inputs}
            for row, index in enumerate(picked):
                encoding = encodings[index]
                length = len(encoding.ids)
                feeds["input_ids"][row, :length] = encoding.ids
                feeds["attention_mask"][row, :length] = 1
                if "token_type_ids" in feeds:
                    feeds["token_type_ids"][row, :length] = encoding.type_ids
            vectors[picked] = self._encoder.run(None, feeds)[0]
        return vectors

    def probabilities(self, conversations: list[Conversation]) -> tuple[np.ndarray, np.ndarray | None]:
        """(emotion probabilities (N, labels), sentiment probabilities (N, 3) or None), N utterances in input order."""
        inputs = [item for conversation in conversations for item in self.texts(conversation)]
        vectors = self.encode(inputs) if inputs else np.zeros((0, self._spec["dim"]), dtype=np.float32)
        return self.probabilities_of_vectors(conversations, vectors)

    def probabilities_of_vectors(self, conversations: list[Conversation], vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """The head alone over given utterance vectors (rows in conversation order), e.g. a cascade's mix of real
        and surrogate embeddings (inference/cascade.py)."""
        emotions, sentiments, start = [], [], 0
        for conversation in conversations:
            end = start + len(conversation)
            speakers = np.asarray([speaker_indices(conversation, self._spec["max_speakers"])], dtype=np.int64)
            outputs = self._head.run(None, {"vectors": vectors[None, start:end], "speakers": speakers})
            emotions.append(_softmax(outputs[0] / self.temperature))
            if len(outputs) > 1:
                sentiments.append(_softmax(outputs[1]))
            start = end
        if not emotions:
            return np.zeros((0, len(self.labels)), dtype=np.float32), None
        return np.concatenate(emotions), np.concatenate(sentiments) if sentiments else None


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(-1, keepdims=True))
    return (shifted / shifted.sum(-1, keepdims=True)).astype(np.float32)


def load_onnx_model(name_or_dir: str | Path, backend: str) -> OnnxERCModel:
    """A bundle's ONNX export for `backend` ("onnx-fp32" or "onnx-int8"); a clear error when it was never exported."""
    from emotrace.models.bundle import bundle_path

    if backend not in ONNX_BACKENDS:
        raise EmotraceError(f"unknown ONNX backend {backend!r}", hint=f"choose one of {', '.join(ONNX_BACKENDS)}")
    folder = export_dir(bundle_path(name_or_dir))
    if not (folder / EXPORT_FILE).is_file() or not (folder / VARIANTS[backend]).is_file():
        raise EmotraceError(f"model '{name_or_dir}' has no {backend} export yet", path=str(folder), hint=export_hint(str(name_or_dir), backend))
    return OnnxERCModel(folder, backend)


def onnx_runtime_installed() -> bool:
    """Whether the packages the ONNX backends run on (onnxruntime and tokenizers) can be imported."""
    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "tokenizers"))


def has_export(name_or_dir: str | Path, backend: str = "onnx-fp32") -> bool:
    from emotrace.models.bundle import bundle_path

    folder = export_dir(bundle_path(name_or_dir))
    return (folder / EXPORT_FILE).is_file() and (folder / VARIANTS[backend]).is_file()
