"""Live analysis: how long one new utterance takes over the streaming endpoint, and what labelling from past turns
only costs the default model in accuracy.

    python benchmarks/live_latency.py [--data DIR] [--conversations N]

Latency: `emotrace serve` in a subprocess (load_test.py's, default model, `--backend auto`), one client (this process) opening a
`/v1/live?chart=1` stream per MELD test conversation, as the web page does, and sending its utterances one at a time;
each is timed from send to answer (model, summary and chart included). p50/p95 over every utterance.

Accuracy, on MELD test (inference only): the default model's weighted F1 with full context (`emotrace analyze`:
the biGRU reads the whole dialogue) beside prefix-only labelling (`LiveSession`: each turn from the turns so far, in
the live window of WINDOW turns, and from the whole prefix). Predictions are cached in benchmarks/runs/live/ under
the bundle's fingerprint. Writes benchmarks/results/live_latency.json and the README block `live_latency`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_DATA, RESULTS, RUNS, cpu_description, update_readme, write_text_atomic  # noqa: E402

from emotrace.datasets import load_dataset  # noqa: E402
from emotrace.schema import Conversation  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--conversations", type=int, default=None, help="the first N test conversations only (a quick run)")
    args = parser.parse_args()
    conversations = load_dataset("meld", "test", args.data)[: args.conversations]
    utterances = sum(len(c) for c in conversations)
    load_start = os.getloadavg()[0]
    latencies = stream_latencies(conversations)
    load_end = os.getloadavg()[0]
    scores = accuracy(conversations)
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    from emotrace.inference.live import WINDOW

    result = {
        "date": date.today().isoformat(),
        "command": "python benchmarks/live_latency.py" + (f" --conversations {args.conversations}" if args.conversations else ""),
        "machine": cpu_description(),
        "threads": os.environ.get("OMP_NUM_THREADS", "all cores"),
        "load_average": [round(load_start, 1), round(load_end, 1)],
        "data": f"MELD test ({utterances} utterances, {len(conversations)} conversations)",
        "latency_ms": {"p50": round(p50, 1), "p95": round(p95, 1), "mean": round(statistics.fmean(latencies), 1), "max": round(max(latencies), 1)},
        "window": WINDOW,
        "weighted_f1": scores,
    }
    write_text_atomic(RESULTS / "live_latency.json", json.dumps(result, indent=2) + "\n")
    update_readme("live_latency", readme_block(result))
    print(json.dumps(result))


def stream_latencies(conversations: list[Conversation]) -> list[float]:
    """Milliseconds from sending each utterance to its answer, one client, one stream per conversation."""
    from load_test import LOGS, serve
    from websockets.sync.client import connect

    LOGS.mkdir(parents=True, exist_ok=True)
    latencies = []
    with serve("default", "auto", 32, "live") as (url, _, _):
        for conversation in conversations:
            with connect(url.replace("http://", "ws://") + "/v1/live?chart=1", max_size=None) as stream:
                assert "ready" in json.loads(stream.recv(timeout=60))
                for utterance in conversation.utterances:
                    message = json.dumps({"speaker": utterance.speaker, "text": utterance.text})
                    started = time.perf_counter()
                    stream.send(message)
                    answer = json.loads(stream.recv(timeout=60))
                    latencies.append(1000 * (time.perf_counter() - started))
                    if "error" in answer:
                        raise SystemExit(f"the server refused an utterance of {conversation.id}: {answer['error']}")
    return latencies


def accuracy(conversations: list[Conversation]) -> dict[str, float]:
    """Weighted F1 (×100) of full-context and prefix-only labelling, from cached or fresh predictions."""
    from sklearn.metrics import f1_score

    from emotrace.labels import to_canonical

    gold = [to_canonical(u.emotion or "") for c in conversations for u in c.utterances]
    predicted = cached_predictions(conversations)
    return {mode: round(100 * f1_score(gold, [to_canonical(label) for label in labels], average="weighted"), 2) for mode, labels in predicted.items()}


def cached_predictions(conversations: list[Conversation]) -> dict[str, list[str]]:
    from emotrace.inference.live import WINDOW, LiveSession
    from emotrace.inference.pipeline import Analyzer, PipelineOptions
    from emotrace.inference.predict import predict
    from emotrace.models.bundle import bundle_path

    bundle = bundle_path("default")
    fingerprint = hashlib.sha256(b"".join((bundle / name).read_bytes() for name in sorted(os.listdir(bundle)) if (bundle / name).is_file())).hexdigest()[:12]
    cache = RUNS / "live" / f"meld-test-{len(conversations)}-{fingerprint}.json"
    if cache.is_file():
        return json.loads(cache.read_text(encoding="utf-8"))
    model = Analyzer().text_model(PipelineOptions(backend="torch-fp32"))
    labels: dict[str, list[str]] = {"full context": [p.label for predicted in predict(model, conversations) for p in predicted]}
    for mode, window in ((f"prefix, last {WINDOW} turns (live)", WINDOW), ("prefix, every turn so far", None)):
        labels[mode] = []
        for conversation in conversations:
            session = LiveSession(model, window=window)
            labels[mode] += [session.add(utterance).label for utterance in conversation.utterances]
    cache.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(cache, json.dumps(labels))
    return labels


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def readme_block(result: dict[str, Any]) -> str:
    latency, scores = result["latency_ms"], result["weighted_f1"]
    full = scores["full context"]
    rows = "\n".join(f"| {mode} | {score:.2f} | {score - full:+.2f} |" for mode, score in scores.items())
    return (
        f"Generated by `{result['command']}` on {result['date']}; {result['machine']} (load average {result['load_average'][0]} at start, "
        f"{result['load_average'][1]} at end), {result['data']}.\n\n"
        f"Latency per new utterance, one client over `/v1/live?chart=1` (model, summary and chart; window {result['window']} turns): "
        f"**p50 {latency['p50']:.0f} ms**, p95 {latency['p95']:.0f} ms (mean {latency['mean']:.0f}, max {latency['max']:.0f}); "
        f"server threads (OMP_NUM_THREADS): {result['threads']}. "
        "Measured beside a PyTorch training job on the same 2 cores, at the lowest priority: pessimistic numbers.\n\n"
        "Weighted F1 of the default model (`finetune-bigru`, trained with full context) on MELD test, inference only:\n\n"
        f"| labelling | weighted F1 | Δ vs full context |\n|---|---|---|\n{rows}"
    )


if __name__ == "__main__":
    main()
