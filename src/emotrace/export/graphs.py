"""Trace torch modules to ONNX graphs and quantise them to int8 (plain, or SmoothQuant first), and export all-MiniLM-L6-v2
alone: the same embeddings as `TorchBackend`, about 2-5x faster on ONNX Runtime (export/runtime.py), torch-free at run time.

Why: measured on this project's 2-core CPU (research/deps.md, rows 3-3b), 1,000 short sentences, batch 64:

    torch fp32 (TorchBackend)                     ~350-374 sentences/s
    ONNX Runtime fp32 (`OnnxBackend`)             ~760-945 sentences/s   cosine to torch 1.00000
    ONNX Runtime int8, per-channel dynamic QInt8  ~1,700-2,000 sentences/s   cosine to torch ~0.99 (see below)

and the run time needs only `onnxruntime`, `tokenizers` and numpy (a ~210 MB environment instead of ~1.4 GB).

fp32 reproduces `TorchBackend` (cosine >= 0.99999), independent of batching, so it is a drop-in speed-up.

Accuracy caveat of int8: dynamic quantisation keeps weights per output channel, but each MatMul's input is
quantised with one scale for the whole batch (likely why a few large activations cost precision). So:
- the vectors are close to fp32, not equal. deps.md's cosine ~0.99 was on near-identical template sentences;
  on 1,000 MELD test utterances it was mean 0.986, 1st percentile 0.96, min 0.94 (in the tests, the worst was the
  shortest turn, "What?!"). Per-tensor quantisation was worse still (mean 0.967 on templates).
- a sentence's vector depends slightly on the other sentences in its batch (cosine between the same text
  encoded alone and in a padded batch: >= 0.94), so cached int8 vectors depend on what was encoded together.
A classifier trained on fp32 embeddings sees shifted inputs; check a model's scores before putting int8 under
it. Because `backend_id` differs ("torch-fp32", "onnx-fp32", "onnx-int8"), the embedding cache never mixes
vectors from different backends.

`export_onnx` runs once with torch (it traces the PyTorch model); it writes one graph
`(input_ids, attention_mask) -> embedding` that already does masked mean pooling and L2 normalisation, plus
`tokenizer.json` beside it, so a folder holding those files is all `OnnxBackend` needs.
Nothing in this module imports torch, onnx or transformers at module level.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from emotrace.errors import EmotraceError
from emotrace.export.runtime import BACKEND_KEY, INSTALL_HINT, MODEL_NAME, OUTPUT, TOKENIZER_FILE, VARIANTS, default_onnx_dir
from emotrace.io.atomic import atomic_path

OPSET = 17
SMOOTHQUANT_ID = "onnx-int8-smoothquant"  # backend id of an int8 model made with SmoothQuant (the default)


def export_onnx(out_dir: Path | None = None, int8: bool = False, smoothquant: bool = True) -> Path:
    """Export MiniLM to `out_dir/fp32.onnx` (and, with `int8`, also `out_dir/int8.onnx`) with `tokenizer.json`.

    `smoothquant` (the default) smooths the int8 model on the shipped calibration dialogues first; False gives plain
    dynamic quantisation. Returns the path of the requested model (int8 when `int8`, else fp32). Every file is
    written atomically.
    """
    require_export_tools()
    from emotrace.encoders.minilm import minilm_path

    folder = Path(out_dir) if out_dir is not None else default_onnx_dir()
    if folder.exists() and not folder.is_dir():
        raise EmotraceError("the export folder is a file", path=str(folder), hint="give --out a folder")
    folder.mkdir(parents=True, exist_ok=True)
    embedder, example = minilm_embedder()
    fp32_path = folder / VARIANTS["onnx-fp32"]
    export_graph(embedder, example, fp32_path)
    with atomic_path(folder / TOKENIZER_FILE) as temporary:
        shutil.copyfile(minilm_path() / TOKENIZER_FILE, temporary)
    if not int8:
        return fp32_path
    int8_path = folder / VARIANTS["onnx-int8"]
    calibration = None
    if smoothquant:
        from emotrace.export.dialogues import calibration_texts
        from emotrace.export.smoothquant import tokenised_batches

        calibration = tokenised_batches(calibration_texts(), max_length=256)
    export_int8(embedder, example, fp32_path, int8_path, calibration)
    return int8_path


def minilm_embedder() -> tuple[Any, dict[str, Any]]:
    """The torch module `export_onnx` traces (MiniLM, masked mean pooling, L2 normalisation) and its example inputs."""
    import torch

    from emotrace.encoders.minilm import load_bert, mean_pool

    class Embedder(torch.nn.Module):
        def __init__(self, bert: Any) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            return torch.nn.functional.normalize(mean_pool(hidden, attention_mask), dim=-1)

    # Eager attention traces to plain MatMul/Softmax with the padding mask as data (measured: as exact as SDPA, and
    # slightly faster in ONNX Runtime here); a padded example batch keeps the tracer from specialising on an all-ones mask.
    bert = load_bert()
    bert.set_attn_implementation("eager")
    bert.eval()
    input_ids = torch.tensor([[101, 7592, 2088, 999, 102], [101, 7592, 102, 0, 0]], dtype=torch.long)
    return Embedder(bert).eval(), {"input_ids": input_ids, "attention_mask": (input_ids != 0).long()}


def export_graph(module: Any, inputs: dict[str, Any], path: Path, outputs: tuple[str, ...] = (OUTPUT,)) -> None:
    """Trace `module(*inputs.values())` to an fp32 ONNX graph at `path` (atomically), batch and sequence axes dynamic."""
    import onnx
    import torch

    dynamic_axes = {name: {0: "batch", 1: "sequence"} for name in inputs} | {name: {0: "batch"} for name in outputs}
    with atomic_path(path) as temporary, quiet_export():
        torch.onnx.export(
            module,
            tuple(inputs.values()),
            str(temporary),
            input_names=list(inputs),
            output_names=list(outputs),
            dynamic_axes=dynamic_axes,
            opset_version=OPSET,
            dynamo=False,
        )
        _tag(onnx, temporary, "onnx-fp32")


def export_int8(module: Any, inputs: dict[str, Any], fp32_path: Path, int8_path: Path, calibration: list[dict[str, Any]] | None) -> None:
    """The int8 graph of `module` (already exported to `fp32_path`) at `int8_path`.

    With `calibration` (batches of `module`'s keyword inputs): SmoothQuant (export/smoothquant.py), i.e. a
    smoothed copy of `module` traced to a temporary fp32 graph, which is then quantised. Without: `fp32_path`
    quantised as it is (plain dynamic quantisation).
    """
    if calibration is None:
        quantise_int8(fp32_path, int8_path)
        return
    import tempfile

    from emotrace.export.smoothquant import smoothquant

    with tempfile.TemporaryDirectory(prefix=".smoothquant-", dir=int8_path.parent) as scratch:
        smoothed_path = Path(scratch) / "smoothed.onnx"
        export_graph(smoothquant(module, calibration), inputs, smoothed_path)
        quantise_int8(smoothed_path, int8_path, backend_id=SMOOTHQUANT_ID)


def quantise_int8(fp32_path: Path, int8_path: Path, backend_id: str = "onnx-int8") -> None:
    """Per-channel dynamic int8 (weights int8 per output channel, activations quantised on the fly), tagged
    `backend_id` so that vectors from differently made int8 models never share an embedding-cache entry."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with atomic_path(int8_path) as temporary, quiet_export():
        quantize_dynamic(fp32_path, temporary, per_channel=True, weight_type=QuantType.QInt8)
        _tag(onnx, temporary, backend_id)


def require_export_tools() -> None:
    """Exporting needs onnx and torch (once; running the export needs neither)."""
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise EmotraceError("exporting to ONNX needs the onnx package", hint=INSTALL_HINT) from None
    try:
        import torch  # noqa: F401
    except ImportError:
        raise EmotraceError("exporting to ONNX needs torch (only once; running the export does not)", hint="pip install emotrace") from None


def _tag(onnx: Any, path: Path, backend: str) -> None:
    """Record the backend id in the model's metadata, so `OnnxBackend` knows fp32 from int8 whatever the file name."""
    model = onnx.load(str(path))
    kept = [p for p in model.metadata_props if not p.key.startswith("emotrace.")]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    model.metadata_props.add(key=BACKEND_KEY, value=backend)
    model.metadata_props.add(key="emotrace.encoder", value=MODEL_NAME)
    onnx.save(model, str(path))


@contextmanager
def quiet_export() -> Iterator[None]:
    """Silence the tracer's and quantiser's known-harmless warnings (deps.md) for the duration of an export."""
    import warnings

    class _DropPreprocessHint(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            return "pre-processing before quantization" not in record.getMessage()

    root = logging.getLogger()
    dropper = _DropPreprocessHint()
    root.addFilter(dropper)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.removeFilter(dropper)
