"""int8 MiniLM on ONNX Runtime: how close each int8 variant stays to fp32, how fast it is, what it costs a biGRU head.

    python benchmarks/int8_accuracy.py [--bundle benchmarks/runs/meld/bigru/seed0] [--rounds 5] [--no-sweep]
    python benchmarks/int8_accuracy.py --report      # only regenerate the README block from the results JSON

On 1,000 MELD test utterances (seeded sample of the distinct texts): cosine to the fp32 export (mean, 1st
percentile, min) with the texts encoded in batches of 64 in sample order (mixed lengths, so much padding) and one
at a time, and between the two (a vector's dependence on its batch-mates); encoder throughput (sentences/s, the
same texts in length-sorted batches of 64, fp32 and every int8 variant timed in interleaved rounds, median); and
the biGRU bundle's MELD test weighted F1 and agreement with its fp32 predictions, per encoder.
Variants: plain dynamic quantisation with ORT's options, partial quantisation, and SmoothQuant (Xiao et al.,
2023; export/smoothquant.py) calibrated on 512 MELD train utterances or on the shipped dialogues (the default of
`emotrace export`). The dev sweep (MELD dev, never test) is the recipe for `smoothquant.ALPHA`.
The bundle's exports go to a temporary emotrace cache, not the user's. Writes benchmarks/results/int8_accuracy.json
and the README block `int8_accuracy`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_DATA, RESULTS, ROOT, RUNS, cpu_description, update_readme, write_text_atomic  # noqa: E402

SAMPLE, CALIBRATION, SEED, BATCH = 1000, 512, 0, 64
KINDS = {  # MatMul node names of each kind of Linear in the traced graph
    "qkv": ("/attention/self/query/", "/attention/self/key/", "/attention/self/value/"),
    "attention_output": ("/attention/output/dense/",),
    "intermediate": ("/intermediate/dense/",),
    "ffn_down": ("/output/dense/",),
}
SWEEP_ALPHAS = (0.5, 0.6, 0.7, 0.8, 0.9)
DESCRIPTIONS = {
    "dynamic": "dynamic per-channel, int8 weights (the previous default)",
    "dynamic-reduce-range": "dynamic, reduce_range (7-bit weights)",
    "dynamic-u8u8": "dynamic, uint8 weights",
    "dynamic-fp32-embeddings": "dynamic, MatMuls only (embedding tables fp32)",
    "dynamic-all-matmuls": "dynamic, MatMulConstBOnly=False (attention MatMuls too)",
    "dynamic-fp32-ffn-down": "dynamic, FFN down-projections fp32",
    "dynamic-ffn-only": "dynamic, only the FFN MatMuls (the largest) quantised",
    "smoothquant-meld": "SmoothQuant, MELD train calibration",
    "smoothquant-uint8-weights": "SmoothQuant, shipped dialogues, uint8 weights",
    "smoothquant": "SmoothQuant, shipped dialogues (the new default)",
}


def distinct_sample(conversations: list[Any], size: int, seed: int) -> list[str]:
    texts = sorted({u.text for c in conversations for u in c.utterances if u.text.strip()})
    picked = np.random.default_rng(seed).choice(len(texts), size=min(size, len(texts)), replace=False)
    return [texts[i] for i in picked]


def matmuls(path: Path, kinds: tuple[str, ...]) -> list[str]:
    """Names of the encoder's weight MatMuls of the given kinds in the graph at `path`."""
    import onnx

    names = []
    for node in onnx.load(str(path)).graph.node:
        if node.op_type != "MatMul" or "/encoder/layer." not in node.name:
            continue
        for kind in kinds:
            if any(part in node.name for part in KINDS[kind]) and not (kind == "ffn_down" and "/attention/" in node.name):
                names.append(node.name)
    return names


def quantise(fp32_path: Path, int8_path: Path, **options: Any) -> None:
    """ORT dynamic quantisation, per channel with int8 weights unless `options` say otherwise."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from emotrace.export.graphs import quiet_export

    settings: dict[str, Any] = {"per_channel": True, "weight_type": QuantType.QInt8} | options
    with quiet_export():
        quantize_dynamic(str(fp32_path), str(int8_path), **settings)


def smoothed_graph(module: Any, example: dict[str, Any], calibration: list[dict[str, Any]], alpha: float, path: Path) -> Path:
    from emotrace.export.graphs import export_graph
    from emotrace.export.smoothquant import smoothquant

    export_graph(smoothquant(module, calibration, alpha), example, path)
    return path


def encode(backend: Any, texts: list[str]) -> np.ndarray:
    return np.concatenate([backend.encode(texts[start : start + BATCH]) for start in range(0, len(texts), BATCH)])


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def summary(values: np.ndarray) -> dict[str, float]:
    return {"mean": float(values.mean()), "p1": float(np.percentile(values, 1)), "min": float(values.min())}


def backend_for(path: Path, tokenizer: Path) -> Any:
    from emotrace.export.runtime import OnnxBackend

    if not path.with_name("tokenizer.json").is_file():
        shutil.copyfile(tokenizer, path.with_name("tokenizer.json"))
    return OnnxBackend(path, threads=os.cpu_count())


def dev_sweep(module: Any, example: dict[str, Any], calibration: list[dict[str, Any]], fp32_path: Path, work: Path, dev: list[str]) -> dict[str, Any]:
    """MELD dev cosine to fp32 per alpha (MELD train calibration), with int8 and with uint8 weights; how ALPHA was chosen."""
    from onnxruntime.quantization import QuantType

    tokenizer = fp32_path.with_name("tokenizer.json")
    reference = encode(backend_for(fp32_path, tokenizer), dev)
    table: dict[str, dict[str, Any]] = {"int8_weights": {}, "uint8_weights": {}}
    for alpha in SWEEP_ALPHAS:
        graph = smoothed_graph(module, example, calibration, alpha, work / "sweep-smoothed.onnx")
        for weights, weight_type in (("int8_weights", QuantType.QInt8), ("uint8_weights", QuantType.QUInt8)):
            quantise(graph, work / "sweep-int8.onnx", weight_type=weight_type)
            table[weights][str(alpha)] = summary(cosines(encode(backend_for(work / "sweep-int8.onnx", tokenizer), dev), reference))
        print(f"dev alpha {alpha}: {json.dumps({weights: table[weights][str(alpha)] for weights in table})}", flush=True)
    return {"utterances": len(dev), "cosine_by_alpha": table}


def build_variants(
    module: Any, example: dict[str, Any], fp32_path: Path, default_int8: Path, meld_calibration: list[dict[str, Any]], work: Path
) -> dict[str, Path]:
    """Every int8 variant's graph; `default_int8` is what `export_onnx` itself wrote."""
    from onnxruntime.quantization import QuantType

    from emotrace.export.dialogues import calibration_texts
    from emotrace.export.smoothquant import ALPHA, tokenised_batches

    plain: dict[str, dict[str, Any]] = {
        "dynamic": {},
        "dynamic-reduce-range": {"reduce_range": True},
        "dynamic-u8u8": {"weight_type": QuantType.QUInt8},
        "dynamic-fp32-embeddings": {"op_types_to_quantize": ["MatMul"]},
        "dynamic-all-matmuls": {"extra_options": {"MatMulConstBOnly": False}},
        "dynamic-fp32-ffn-down": {"nodes_to_exclude": matmuls(fp32_path, ("ffn_down",))},
        "dynamic-ffn-only": {"nodes_to_quantize": matmuls(fp32_path, ("intermediate", "ffn_down"))},
    }
    paths = {}
    for name, options in plain.items():
        paths[name] = work / f"{name}.onnx"
        quantise(fp32_path, paths[name], **options)
    shipped = tokenised_batches(calibration_texts(), max_length=256)
    for name, calibration, weight_type in (("smoothquant-meld", meld_calibration, QuantType.QInt8), ("smoothquant-uint8-weights", shipped, QuantType.QUInt8)):
        graph = smoothed_graph(module, example, calibration, ALPHA, work / "smoothed.onnx")
        paths[name] = work / f"{name}.onnx"
        quantise(graph, paths[name], weight_type=weight_type)
    paths["smoothquant"] = default_int8
    return paths


def throughput(paths: dict[str, Path], tokenizer: Path, texts: list[str], rounds: int) -> dict[str, dict[str, Any]]:
    """Sentences/s per model over `rounds` interleaved rounds (each round times every model once, in a rotated
    order), on length-sorted batches as `TextEncoder` and the bundle runtime make them."""
    from tokenizers import Tokenizer

    lengths = Tokenizer.from_file(str(tokenizer)).encode_batch(texts)
    texts = [text for _, text in sorted(zip((len(e.ids) for e in lengths), texts), key=lambda pair: pair[0])]
    backends = {name: backend_for(path, tokenizer) for name, path in paths.items()}
    rates: dict[str, list[float]] = {name: [] for name in backends}
    names = list(backends)
    for name in names:
        encode(backends[name], texts[:BATCH])  # warm-up
    for round_index in range(rounds):
        for name in names[round_index % len(names) :] + names[: round_index % len(names)]:
            started = time.perf_counter()
            encode(backends[name], texts)
            rates[name].append(len(texts) / (time.perf_counter() - started))
    return {
        name: {
            "median": statistics.median(runs),
            "speedup_vs_fp32": statistics.median(rate / fp32 for rate, fp32 in zip(runs, rates["fp32"])),  # per round: robust to load changes
            "runs": runs,
        }
        for name, runs in rates.items()
    }


def predictions(model: Any, conversations: list[Any]) -> np.ndarray:
    emotions, _ = model.probabilities(conversations)
    return emotions.argmax(1)


def bundle_scores(bundle: Path, paths: dict[str, Path], reference_fp32: Path, test: list[Any], probe: list[str]) -> dict[str, dict[str, float]]:
    """MELD test weighted F1 of the bundle on fp32 and each int8 encoder, and % of utterances predicted as with fp32.

    "dynamic" and "smoothquant" are the bundle's own `export_bundle` int8 encoders; the other variants run the same
    export with its int8 encoder swapped for the MiniLM variant, which is the same function for a frozen-embedding
    bundle (checked: the bundle's fp32 encoder matches the MiniLM export).
    """
    from emotrace.export.runtime import OnnxERCModel, load_onnx_model
    from emotrace.export.text_model import export_bundle
    from emotrace.inference.scores import classification_scores, gold_indices
    from emotrace.labels import UNSCORED

    folder = export_bundle(bundle, int8=True, smoothquant=False)
    predicted = {"fp32": predictions(load_onnx_model(bundle, "onnx-fp32"), test), "dynamic": predictions(load_onnx_model(bundle, "onnx-int8"), test)}
    export_bundle(bundle, int8=True)
    predicted["smoothquant"] = predictions(load_onnx_model(bundle, "onnx-int8"), test)
    reference = encode(backend_for(reference_fp32, reference_fp32.with_name("tokenizer.json")), probe)
    swapped = folder.with_name(f"{folder.name}-swapped")
    shutil.copytree(folder, swapped)
    bundle_fp32 = encode(backend_for(swapped / "fp32.onnx", swapped / "tokenizer.json"), probe)
    if np.abs(bundle_fp32 - reference).max() > 1e-5:
        raise RuntimeError("the bundle's fp32 encoder is not the MiniLM export; swapped variants would not be comparable")
    for name, path in paths.items():
        if name not in predicted:
            shutil.copyfile(path, swapped / "int8.onnx")
            predicted[name] = predictions(OnnxERCModel(swapped, "onnx-int8"), test)
    labels = load_onnx_model(bundle, "onnx-fp32").labels
    gold = gold_indices(test, labels)
    scored = gold != UNSCORED
    return {
        name: {
            "weighted_f1": classification_scores(gold[scored], emotion[scored], labels)["weighted_f1"],
            "agreement_with_fp32": 100 * float((emotion == predicted["fp32"]).mean()),
        }
        for name, emotion in predicted.items()
    }


def readme_block(result: dict[str, Any]) -> str:
    fp32_rate = result["throughput"]["fp32"]["median"]
    fp32_f1 = result["bundle_scores"]["fp32"]["weighted_f1"]
    lines = [
        "| encoder | cosine to fp32: mean | p1 | min | one at a time: min | batch vs alone: min | sentences/s | vs fp32 | biGRU wF1 | Δ wF1 | same prediction as fp32 |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        f"| fp32 | 1 | 1 | 1 | 1 | 1 | {fp32_rate:.0f} | 1.00x | {fp32_f1:.2f} | 0 | 100% |",
    ]
    for name, row in result["variants"].items():
        batch, alone, dependence = row["batch"], row["alone"], row["batch_vs_alone"]
        speed, scores = result["throughput"][name], result["bundle_scores"][name]
        label = f"**{name}**" if name == "smoothquant" else name
        lines.append(
            f"| {label}: {DESCRIPTIONS[name]} | {batch['mean']:.4f} | {batch['p1']:.4f} | {batch['min']:.4f} | {alone['min']:.4f} | "
            f"{dependence['min']:.4f} | {speed['median']:.0f} | {speed['speedup_vs_fp32']:.2f}x | {scores['weighted_f1']:.2f} | "
            f"{scores['weighted_f1'] - fp32_f1:+.2f} | {scores['agreement_with_fp32']:.1f}% |"
        )
    load = result["load_average"]
    lines.append(
        f"\n{result['utterances']} MELD test utterances (distinct texts, seed {SEED}), batches of {BATCH}; biGRU: `{result['bundle']}` "
        f"on all {result['test_utterances']} MELD test utterances (wF1 over the labelled ones). Speed: length-sorted batches, {result['rounds']} interleaved "
        f"rounds (median sentences/s, and median of the per-round ratio to fp32) on {result['machine']} (load average "
        f"{load['start']:.1f} at start, {load['end']:.1f} at end; ratios are more reliable than absolute numbers). "
        f"Generated by `python benchmarks/int8_accuracy.py` on {result['date']}."
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", default=str(RUNS / "meld" / "bigru" / "seed0"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-sweep", action="store_true", help="skip the dev alpha sweep")
    parser.add_argument("--data-dir", default=DEFAULT_DATA)
    parser.add_argument("--report", action="store_true", help="only regenerate the README block from the results JSON")
    args = parser.parse_args()
    if args.report:
        update_readme("int8_accuracy", readme_block(json.loads((RESULTS / "int8_accuracy.json").read_text(encoding="utf-8"))))
        return

    with tempfile.TemporaryDirectory(prefix="emotrace-int8-") as scratch:
        work = Path(scratch)
        os.environ["EMOTRACE_CACHE"] = str(work / "cache")  # the bundle's exports stay out of the user's cache
        result = run(args, work)
    write_text_atomic(RESULTS / "int8_accuracy.json", json.dumps(result, indent=2) + "\n")
    block = readme_block(result)
    update_readme("int8_accuracy", block)
    print(block)


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from emotrace.datasets import load_dataset
    from emotrace.export.graphs import export_onnx, minilm_embedder
    from emotrace.export.smoothquant import ALPHA, tokenised_batches

    load_start = os.getloadavg()[0]
    test_conversations = load_dataset("meld", "test", args.data_dir)
    test = distinct_sample(test_conversations, SAMPLE, SEED)
    meld_calibration = tokenised_batches(distinct_sample(load_dataset("meld", "train", args.data_dir), CALIBRATION, SEED), max_length=256)
    default_int8 = export_onnx(work / "minilm", int8=True)
    fp32_path, tokenizer = default_int8.with_name("fp32.onnx"), default_int8.with_name("tokenizer.json")
    module, example = minilm_embedder()

    sweep = None
    if not args.no_sweep:
        sweep = dev_sweep(module, example, meld_calibration, fp32_path, work, distinct_sample(load_dataset("meld", "dev", args.data_dir), SAMPLE, SEED))
    paths = build_variants(module, example, fp32_path, default_int8, meld_calibration, work)

    reference = encode(backend_for(fp32_path, tokenizer), test)  # fp32 does not depend on batching (test_onnx_text.py)
    variants = {}
    for name, path in paths.items():
        backend = backend_for(path, tokenizer)
        batch = encode(backend, test)
        alone = np.concatenate([backend.encode([text]) for text in test])
        variants[name] = {
            "batch": summary(cosines(batch, reference)),
            "alone": summary(cosines(alone, reference)),
            "batch_vs_alone": summary(cosines(batch, alone)),
        }
        print(name, json.dumps(variants[name]), flush=True)
    speed = throughput({"fp32": fp32_path} | paths, tokenizer, test, args.rounds)
    scores = bundle_scores(Path(args.bundle), paths, fp32_path, test_conversations, test[:BATCH])
    return {
        "utterances": len(test),
        "test_utterances": sum(len(c) for c in test_conversations),
        "descriptions": DESCRIPTIONS,
        "variants": variants,
        "throughput": speed,
        "bundle_scores": scores,
        "alpha": ALPHA,
        "dev_sweep": sweep,
        "bundle": os.path.relpath(args.bundle, ROOT),
        "rounds": args.rounds,
        "batch": BATCH,
        "seed": SEED,
        "machine": cpu_description(),
        "load_average": {"start": load_start, "end": os.getloadavg()[0]},
        "command": " ".join(["python", "benchmarks/int8_accuracy.py", *sys.argv[1:]]),
        "date": date.today().isoformat(),
    }


if __name__ == "__main__":
    main()
