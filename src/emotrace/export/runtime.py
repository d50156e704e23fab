"""The one ONNX Runtime of emotrace: runs what `emotrace export` wrote, with onnxruntime, tokenizers and numpy only.

Two kinds of export, in the emotrace cache:
- the MiniLM encoder alone (`emotrace export --backend B`, `<cache>/onnx/all-MiniLM-L6-v2/`): `OnnxBackend`, the
  torch-free text backends of `text_backend` (export/graphs.py measures their speed and accuracy);
- a text bundle (`emotrace export --model NAME`, `<cache>/onnx/bundles/<name>-<fingerprint>/`): `OnnxERCModel`.

A bundle export has two graphs, because a conversation model has two parts of very different shape:
`fp32.onnx`/`int8.onnx` encode utterances (batched across conversations, length-sorted so little is padded), and
`head.onnx` runs the context model and the heads over one conversation's utterance vectors (so no padding enters
the biGRU). `export.json` says how the bundle's model builds its encoder input (the text alone, or `Speaker: text`
with the previous turns as a second segment, truncated from the left) and carries labels and the calibration
temperature; it is written last, so a folder with it is a complete export. fp32 reproduces the PyTorch model to
float precision; int8 quantises the encoder's weights per channel (see export/graphs.py for its accuracy caveats).
The fingerprint covers the bundle's files, so retraining or updating a bundle never runs a stale export.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from emotrace.encoders.text import TextBackend, TorchBackend
from emotrace.errors import EmotraceError
from emotrace.models.bundle import CONFIG_FILE, WEIGHTS_FILE, bundle_path
from emotrace.models.turns import context_pairs, speaker_indices
from emotrace.paths import cache_root
from emotrace.schema import Conversation

MODEL_NAME = "all-MiniLM-L6-v2"
INPUTS = ("input_ids", "attention_mask")
OUTPUT = "embedding"
BACKEND_KEY = "emotrace.backend"
VARIANTS = {"onnx-fp32": "fp32.onnx", "onnx-int8": "int8.onnx"}
ONNX_BACKENDS = tuple(VARIANTS)
TEXT_BACKENDS = ("torch-fp32", *ONNX_BACKENDS)
INSTALL_HINT = "pip install 'emotrace[onnx]'"
EXPORT_FILE, HEAD_FILE, TOKENIZER_FILE = "export.json", "head.onnx", "tokenizer.json"
EXPORTABLE_MODELS = ("mlp", "bigru", "finetune", "finetune-bigru", "dialogue-minilm")  # text models whose forward traces to ONNX as is
EXPORT_RECIPE = "4"  # bumped when the export itself changes (graphs, quantisation), so old exports are not reused


def default_onnx_dir() -> Path:
    return cache_root() / "onnx" / MODEL_NAME


def default_onnx_path(backend: str) -> Path:
    """Where `emotrace export --backend BACKEND` writes its model ("onnx-fp32" or "onnx-int8")."""
    return default_onnx_dir() / VARIANTS[backend]


def export_dir(bundle: Path) -> Path:
    """Where a bundle's export lives: `<cache>/onnx/bundles/<name>-<fingerprint of the export recipe, config and weights>`."""
    digest = hashlib.sha256(EXPORT_RECIPE.encode())
    for name in (CONFIG_FILE, WEIGHTS_FILE):
        digest.update((bundle / name).read_bytes())
    return cache_root() / "onnx" / "bundles" / f"{bundle.name}-{digest.hexdigest()[:12]}"


def export_hint(backend: str = "onnx-int8", model: str | None = None) -> str:
    """The command that makes a missing export: of the MiniLM encoder, or of `model`."""
    if model is None:
        return f"run `emotrace export --backend {backend}`"
    return f"run `emotrace export --model {model} --backend {backend}` once"


def onnx_runtime_installed() -> bool:
    """Whether the packages the ONNX backends run on (onnxruntime and tokenizers) can be imported."""
    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "tokenizers"))


def _runtime() -> tuple[Any, Any]:
    """(onnxruntime, tokenizers.Tokenizer), or an error naming the package to install."""
    try:
        import onnxruntime
    except ImportError:
        raise EmotraceError("the ONNX backends need onnxruntime", hint=INSTALL_HINT) from None
    try:
        from tokenizers import Tokenizer
    except ImportError:
        raise EmotraceError("the ONNX backends need the tokenizers package", hint=INSTALL_HINT) from None
    return onnxruntime, Tokenizer


def _session(ort: Any, path: Path, threads: int | None) -> Any:
    """A CPU session on `threads` threads (default: OMP_NUM_THREADS, so a batch worker gets its share, else all)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or int(os.environ.get("OMP_NUM_THREADS") or 0) or os.cpu_count() or 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def text_backend(name: str = "torch-fp32") -> TextBackend:
    """A `TextEncoder` backend by name: "torch-fp32" (the default), or "onnx-fp32" / "onnx-int8" from `emotrace export`'s folder."""
    if name == "torch-fp32":
        return TorchBackend()
    if name in ONNX_BACKENDS:
        path = default_onnx_path(name)
        if not path.is_file():
            raise EmotraceError(f"no {name} model exported yet", path=str(path), hint=export_hint(name))
        return OnnxBackend(path)
    raise EmotraceError(f"unknown text backend {name!r}", hint=f"choose one of {', '.join(TEXT_BACKENDS)}")


class OnnxBackend:
    """`TextBackend` on ONNX Runtime: `tokenizers` + one InferenceSession, no torch or transformers."""

    def __init__(self, path: str | Path, threads: int | None = None, max_length: int = 256) -> None:
        self.path = Path(path)
        self.max_length = max_length
        ort, Tokenizer = _runtime()
        hint = export_hint(_variant_of(self.path))
        if not self.path.is_file():
            raise EmotraceError("ONNX model not found", path=str(self.path), hint=hint)
        tokenizer_path = self.path.with_name(TOKENIZER_FILE)
        if not tokenizer_path.is_file():
            raise EmotraceError("tokenizer.json missing beside the ONNX model", path=str(tokenizer_path), hint=hint)
        try:
            self._session = _session(ort, self.path, threads)
        except Exception as error:  # onnxruntime raises its own pybind exception types for bad files
            reason = str(error).strip().splitlines()[0][:160] if str(error).strip() else type(error).__name__
            raise EmotraceError(f"cannot load the ONNX model ({reason})", path=str(self.path), hint=hint) from None
        inputs = [i.name for i in self._session.get_inputs()]
        outputs = [o.name for o in self._session.get_outputs()]
        if sorted(inputs) != sorted(INPUTS) or outputs != [OUTPUT]:
            raise EmotraceError(f"not an emotrace MiniLM export (inputs {inputs}, outputs {outputs})", path=str(self.path), hint=hint)
        metadata = self._session.get_modelmeta().custom_metadata_map
        self.backend_id = metadata.get(BACKEND_KEY) or _variant_of(self.path)

        try:
            self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        except Exception as error:
            raise EmotraceError(f"cannot read the tokenizer ({error})", path=str(tokenizer_path), hint=hint) from None
        pad_id = self._tokenizer.token_to_id("[PAD]")
        self._tokenizer.enable_truncation(max_length=max_length)
        self._tokenizer.enable_padding(pad_id=0 if pad_id is None else pad_id, pad_token="[PAD]")

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(list(texts))
        feeds = {
            "input_ids": np.asarray([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.asarray([e.attention_mask for e in encodings], dtype=np.int64),
        }
        (embedding,) = self._session.run([OUTPUT], feeds)
        return np.asarray(embedding, dtype=np.float32)


def _variant_of(path: Path) -> str:
    return "onnx-int8" if "int8" in path.stem else "onnx-fp32"


class OnnxERCModel:
    """The inference side of an `ERCModel` for a text bundle: `probabilities(conversations)` on ONNX Runtime."""

    media: tuple[str, ...] = ()

    def __init__(self, folder: Path, backend: str, threads: int | None = None) -> None:
        ort, Tokenizer = _runtime()
        spec = json.loads((folder / EXPORT_FILE).read_text(encoding="utf-8"))
        self.backend = backend
        self.registry_name: str = spec["model"]
        self.labels: list[str] = spec["labels"]
        self.sentiment_labels: list[str] | None = spec["sentiment_labels"]
        self.temperature = float(spec["temperature"])
        self.past: int = spec["past"]  # previous turns the encoder reads beside an utterance (live analysis encodes only those)
        self._spec = spec
        self._encoder = _session(ort, folder / VARIANTS[backend], threads)
        self._head = _session(ort, folder / HEAD_FILE, threads)
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
        and surrogate embeddings (research/cascade.py)."""
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
    if backend not in ONNX_BACKENDS:
        raise EmotraceError(f"unknown ONNX backend {backend!r}", hint=f"choose one of {', '.join(ONNX_BACKENDS)}")
    folder = export_dir(bundle_path(name_or_dir))
    if not (folder / EXPORT_FILE).is_file() or not (folder / VARIANTS[backend]).is_file():
        raise EmotraceError(f"model '{name_or_dir}' has no {backend} export yet", path=str(folder), hint=export_hint(backend, str(name_or_dir)))
    return OnnxERCModel(folder, backend)


def has_export(name_or_dir: str | Path, backend: str = "onnx-fp32") -> bool:
    folder = export_dir(bundle_path(name_or_dir))
    return (folder / EXPORT_FILE).is_file() and (folder / VARIANTS[backend]).is_file()
