"""CQIL on the text encoder (Zou et al., ACL 2024, "CQIL: Inference Latency Optimization with Concurrent Computation
of Quasi-Independent Layers"): does running MiniLM's last layers in concurrent pairs pay on this CPU?

    python benchmarks/cqil.py                  # latency, embedding cosine, bigru on CQIL embeddings (cached; resumes)
    python benchmarks/cqil.py --seeds 3        # more bigru seeds per grouping
    python benchmarks/cqil.py --retime         # measure the latency again
    python benchmarks/cqil.py --report         # only re-aggregate the cached results

CQIL lets adjacent layers read the same input, h_{i+2} = h_i + Δ_i(h_i) + Δ_{i+1}(h_i) with Δ a layer's residual
update, so the two can run at the same time. Here the last k ∈ {2, 4} of MiniLM's 6 layers form k/2 such pairs.

Adapting it to BERT's post-LayerNorm blocks. In the pre-LN LLMs of the paper h_{i+1} = h_i + Δ_i(h_i), where Δ_i is
the sum of the attention and MLP branches (each reads a normalised copy; the stream itself is never normalised), and
the authors' code computes x + Σ_j (Layer_j(x) − x). MiniLM is post-LN: a = LN₁(h + Attn(h)), h' = LN₂(a + FFN(a));
the branch outputs are added *inside* the LayerNorms, so none of them is what the block adds to the stream. We take
the residual update to be the block's whole effect on the stream, Δ_i(h) = Layer_i(h) − h (branches, re-centring
and re-scaling together). Then h_i + Δ_i(h_i) = Layer_i(h_i) exactly, and CQIL's approximation is the only one:
layer i+1 reads h_i instead of h_{i+1}. A pair's output Layer_i(h) + Layer_{i+1}(h) − h is no longer a LayerNorm
output; the next pair reads it as it is, and the sentence embedding is L2-normalised, so an overall scale change
does not reach it. No bypassing (distance 0, which the authors recommend) and no recovery fine-tuning (their LoRA +
distillation step): this is training-free CQIL.

Concurrency on a CPU, two ways: `fused` computes a pair as one wider layer (the six Q/K/V projections in one GEMM,
since they read the same input; both attentions in one call with 24 heads; the output and FFN projections as batched
GEMMs over the two layers); `threads` runs the two layers at once on two threads with one intra-op thread each. The
encoder's other layers, and the original encoder, use two intra-op threads. CQIL does not reduce the work, only
spreads it, so the exact encoder run other ways (one thread; two batches at once) is the bar it has to beat.
Measured on this machine it does not pay, so this code lives only here (see the README block `cqil`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_DATA, RESULTS, RUNS, update_readme, write_text_atomic  # noqa: E402

GROUPED_LAYERS = (2, 4)
LATENCY_UTTERANCES = 1000
BATCH_SIZE = 64
THREADS = 2
REPEATS = 5
LATENCY_FILE = RESULTS / "cqil" / "latency.json"
EMBEDDING_CACHE = RUNS / "cqil" / "embeddings.sqlite"
EXACT = ("original", "original, 1 thread", "original, 2 batches at once")  # the encoder unchanged, run three ways


def bert_layer(hidden: Any, mask: Any, layer: Any) -> Any:
    """One post-LN BERT block written out (the operations of transformers' BertLayer in eval mode)."""
    import torch.nn.functional as F

    attention = layer.attention
    batch, length, width = hidden.shape
    heads = attention.self.num_attention_heads

    def split(projection: Any) -> Any:
        return projection(hidden).view(batch, length, heads, -1).transpose(1, 2)

    query, key, value = split(attention.self.query), split(attention.self.key), split(attention.self.value)
    context = F.scaled_dot_product_attention(query, key, value, attn_mask=mask).transpose(1, 2).reshape(batch, length, width)
    mixed = attention.output.LayerNorm(hidden + attention.output.dense(context))
    return layer.output.LayerNorm(mixed + layer.output.dense(F.gelu(layer.intermediate.dense(mixed))))


class ReferencePair:
    """A CQIL pair as two plain layers on the same input: Layer_i(h) + Layer_{i+1}(h) − h."""

    def __init__(self, first: Any, second: Any) -> None:
        self.first, self.second = first, second

    def __call__(self, hidden: Any, mask: Any) -> Any:
        return bert_layer(hidden, mask, self.first) + bert_layer(hidden, mask, self.second) - hidden


class FusedPair:
    """A CQIL pair computed as one wider layer: one GEMM for both layers' Q/K/V, one attention call over both
    layers' heads, and batched GEMMs (one kernel for the two layers) for the output and feed-forward projections."""

    def __init__(self, first: Any, second: Any) -> None:
        import torch

        pair = (first, second)
        self.heads = first.attention.self.num_attention_heads
        projections = [getattr(layer.attention.self, name) for layer in pair for name in ("query", "key", "value")]
        self.qkv_weight = torch.cat([p.weight for p in projections]).detach()
        self.qkv_bias = torch.cat([p.bias for p in projections]).detach()

        def stacked(linear: str) -> tuple[Any, Any]:
            modules = [layer.get_submodule(linear) for layer in pair]
            return torch.stack([m.weight.t() for m in modules]).contiguous().detach(), torch.stack([m.bias[None] for m in modules]).detach()

        def norms(name: str) -> tuple[Any, Any, float]:
            modules = [layer.get_submodule(name) for layer in pair]
            return torch.stack([m.weight[None] for m in modules]).detach(), torch.stack([m.bias[None] for m in modules]).detach(), modules[0].eps

        self.output = stacked("attention.output.dense")
        self.up = stacked("intermediate.dense")
        self.down = stacked("output.dense")
        self.attention_norm = norms("attention.output.LayerNorm")
        self.output_norm = norms("output.LayerNorm")

    @staticmethod
    def _norm(values: Any, parameters: tuple[Any, Any, float]) -> Any:
        import torch.nn.functional as F

        weight, bias, eps = parameters
        return F.layer_norm(values, values.shape[-1:], eps=eps) * weight + bias

    def __call__(self, hidden: Any, mask: Any) -> Any:
        import torch
        import torch.nn.functional as F

        batch, length, width = hidden.shape
        qkv = F.linear(hidden, self.qkv_weight, self.qkv_bias).view(batch, length, 2, 3, self.heads, width // self.heads)
        query, key, value = (qkv[:, :, :, part].reshape(batch, length, 2 * self.heads, -1).transpose(1, 2) for part in range(3))
        context = F.scaled_dot_product_attention(query, key, value, attn_mask=mask)  # (batch, 2 · heads, length, head width)
        context = context.view(batch, 2, self.heads, length, -1).permute(1, 0, 3, 2, 4).reshape(2, batch * length, width)
        flat = hidden.reshape(1, batch * length, width)
        mixed = self._norm(flat + torch.baddbmm(self.output[1], context, self.output[0]), self.attention_norm)
        inner = F.gelu(torch.baddbmm(self.up[1], mixed, self.up[0]))
        out = self._norm(mixed + torch.baddbmm(self.down[1], inner, self.down[0]), self.output_norm)
        return (out[0] + out[1] - flat[0]).view(batch, length, width)


def _layer_in_inference_mode(hidden: Any, mask: Any, layer: Any) -> Any:
    """`bert_layer` for a worker thread (inference mode is per thread)."""
    import torch

    with torch.inference_mode():
        return bert_layer(hidden, mask, layer)


class ThreadedPair:
    """A CQIL pair with its two layers on two threads at once, one intra-op thread each."""

    def __init__(self, first: Any, second: Any, pool: Any) -> None:
        self.first, self.second, self.pool = first, second, pool

    def __call__(self, hidden: Any, mask: Any) -> Any:
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            second = self.pool.submit(_layer_in_inference_mode, hidden, mask, self.second)
            return bert_layer(hidden, mask, self.first) + second.result() - hidden
        finally:
            torch.set_num_threads(threads)


class CqilMiniLM:
    """all-MiniLM-L6-v2 sentence embeddings with the last `grouped` layers in CQIL pairs computed `mode`-wise
    ("reference", "fused" or "threads"); grouped=0 is the plain encoder written out, the control for our layer code."""

    def __init__(self, grouped: int, mode: str = "fused") -> None:
        from concurrent.futures import ThreadPoolExecutor

        import torch

        from emotrace.encoders.minilm import load_bert

        self.bert = load_bert().eval()
        layers = list(self.bert.encoder.layer)
        self.sequential = layers[: len(layers) - grouped]
        tail = layers[len(layers) - grouped :]
        pool = ThreadPoolExecutor(1, initializer=torch.set_num_threads, initargs=(1,)) if mode == "threads" else None
        make = {"reference": ReferencePair, "fused": FusedPair, "threads": lambda a, b: ThreadedPair(a, b, pool)}[mode]
        self.pairs = [make(tail[i], tail[i + 1]) for i in range(0, grouped, 2)]

    def __call__(self, batch: dict[str, Any]) -> Any:
        import torch

        from emotrace.encoders.minilm import mean_pool

        with torch.inference_mode():
            hidden = self.bert.embeddings(input_ids=batch["input_ids"], token_type_ids=batch.get("token_type_ids"))
            mask = batch["attention_mask"].bool()[:, None, None, :]
            for layer in self.sequential:
                hidden = bert_layer(hidden, mask, layer)
            for pair in self.pairs:
                hidden = pair(hidden, mask)
            return torch.nn.functional.normalize(mean_pool(hidden, batch["attention_mask"]), dim=-1)


class CqilBackend:
    """A `TextBackend` (encoders/text.py) over CqilMiniLM, so TextEncoder caches CQIL embeddings under their own id."""

    def __init__(self, grouped: int) -> None:
        from emotrace.encoders.minilm import load_tokenizer

        self.backend_id = f"cqil-last{grouped}-fused"
        self._tokenizer = load_tokenizer()
        self._model = CqilMiniLM(grouped, "fused")

    def encode(self, texts: list[str]) -> Any:
        batch = self._tokenizer(texts, padding=True, truncation=True, max_length=256, return_tensors="pt")
        return self._model(batch).numpy()


def original_encoder() -> Any:
    """The encoder as the library runs it (encoders/text.py TorchBackend): transformers' BertModel + mean pooling."""
    import torch

    from emotrace.encoders.minilm import load_bert, mean_pool

    bert = load_bert().eval()

    def embed(batch: dict[str, Any]) -> Any:
        with torch.inference_mode():
            hidden = bert(**batch).last_hidden_state
            return torch.nn.functional.normalize(mean_pool(hidden, batch["attention_mask"]), dim=-1)

    return embed


def latency_texts(data_dir: str) -> list[str]:
    """The first 1,000 MELD test utterances, sorted by length as TextEncoder batches them."""
    from emotrace.datasets import load_dataset

    texts = [u.text for c in load_dataset("meld", "test", data_dir) for u in c.utterances][:LATENCY_UTTERANCES]
    return sorted(texts, key=len)


def adjacent_layer_similarity(batches: list[Any]) -> list[float]:
    """Mean cosine between each layer's input and output over the real tokens: CQIL's premise is that adjacent
    layers see nearly the same input, which this measures for MiniLM."""
    import torch

    bert = CqilMiniLM(0).bert
    sums = [0.0] * len(bert.encoder.layer)
    tokens = 0
    with torch.inference_mode():
        for batch in batches:
            hidden = bert.embeddings(input_ids=batch["input_ids"], token_type_ids=batch.get("token_type_ids"))
            mask, real = batch["attention_mask"].bool()[:, None, None, :], batch["attention_mask"].bool()
            for index, layer in enumerate(bert.encoder.layer):
                output = bert_layer(hidden, mask, layer)
                sums[index] += float(torch.nn.functional.cosine_similarity(hidden[real], output[real], dim=-1).sum())
                hidden = output
            tokens += int(real.sum())
    return [total / tokens for total in sums]


def sequentially(encode: Any, threads: int = THREADS) -> Any:
    """Run `encode` over the batches one after the other with `threads` intra-op threads."""
    import torch

    def run(batches: list[Any]) -> Any:
        previous = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            return torch.cat([encode(batch) for batch in batches])
        finally:
            torch.set_num_threads(previous)

    return run


def two_batches_at_once(encode: Any, pool: Any) -> Any:
    """Run `encode` on two batches at a time, one per thread with one intra-op thread each: the same two-thread
    concurrency as CQIL's threaded pairs, but over data instead of layers, so the embeddings stay exact."""
    import torch

    def run(batches: list[Any]) -> Any:
        previous = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            odd = pool.submit(lambda: [encode(batch) for batch in batches[1::2]])
            even = [encode(batch) for batch in batches[0::2]]
            ordered = [None] * len(batches)
            ordered[0::2], ordered[1::2] = even, odd.result()
            return torch.cat(ordered)
        finally:
            torch.set_num_threads(previous)

    return run


def measure_latency(data_dir: str) -> dict[str, Any]:
    """Every variant over the same pre-tokenised batches, `REPEATS` rounds, the order rotated each round so that no
    variant always runs first or last under the shared machine's changing load; plus cosine to the original.

    Controls: the original encoder with one thread, and with two batches at a time on two single-threaded workers
    (on an oversubscribed machine, two independent single-threaded streams can beat one two-thread stream whatever
    they compute, which must not be credited to CQIL), and our own written-out layers without CQIL ("plain")."""
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np
    import torch

    from emotrace.encoders.minilm import load_tokenizer

    torch.set_num_threads(THREADS)
    tokenizer = load_tokenizer()
    texts = latency_texts(data_dir)
    batches = [
        tokenizer(texts[i : i + BATCH_SIZE], padding=True, truncation=True, max_length=256, return_tensors="pt") for i in range(0, len(texts), BATCH_SIZE)
    ]
    original_embed = original_encoder()
    pool = ThreadPoolExecutor(1, initializer=torch.set_num_threads, initargs=(1,))
    variants: dict[str, Any] = {
        "original": sequentially(original_embed),
        "original, 1 thread": sequentially(original_embed, threads=1),
        "original, 2 batches at once": two_batches_at_once(original_embed, pool),
        "plain (our code)": sequentially(CqilMiniLM(0)),
    }
    for grouped in GROUPED_LAYERS:
        for mode in ("fused", "threads"):
            variants[f"cqil-last{grouped}-{mode}"] = sequentially(CqilMiniLM(grouped, mode))
    embeddings = {name: run(batches).numpy() for name, run in variants.items()}  # also the warm-up
    references = {grouped: sequentially(CqilMiniLM(grouped, "reference"))(batches).numpy() for grouped in GROUPED_LAYERS}
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    for round_index in range(REPEATS):
        for name in names[round_index % len(names) :] + names[: round_index % len(names)]:
            started = time.perf_counter()
            variants[name](batches)
            seconds[name].append(time.perf_counter() - started)
    original = embeddings["original"]
    result: dict[str, Any] = {"utterances": len(texts), "batch_size": BATCH_SIZE, "threads": THREADS, "repeats": REPEATS, "variants": {}}
    for name in names:
        ratios = [s / o for s, o in zip(seconds[name], seconds["original"])]
        cosine = (embeddings[name] * original).sum(1)
        result["variants"][name] = {
            "median_seconds": statistics.median(seconds[name]),
            "seconds": seconds[name],
            "time_vs_original": {"mean": statistics.fmean(ratios), "std": statistics.stdev(ratios)},
            "cosine_to_original": {"mean": float(cosine.mean()), "min": float(cosine.min())},
        }
    fastest_exact = [min(seconds[name][r] for name in EXACT) for r in range(REPEATS)]
    for name in names:
        if name.startswith("cqil-"):
            ratios = [s / f for s, f in zip(seconds[name], fastest_exact)]
            result["variants"][name]["time_vs_fastest_exact"] = {"mean": statistics.fmean(ratios), "std": statistics.stdev(ratios)}
    for grouped, reference in references.items():
        result["variants"][f"cqil-last{grouped}-fused"]["max_abs_difference_to_reference_pairs"] = float(
            np.abs(embeddings[f"cqil-last{grouped}-fused"] - reference).max()
        )
    for name in ("original, 2 batches at once", "plain (our code)"):
        result["variants"][name]["max_abs_difference_to_original"] = float(np.abs(embeddings[name] - original).max())
    result["layer_input_output_cosine"] = adjacent_layer_similarity(batches)
    result["date"] = date.today().isoformat()
    result["machine"] = f"{platform.machine()}, {os.cpu_count()} cores shared with other jobs"
    return result


@contextmanager
def frozen_models_embed_with(encoder: Any) -> Iterator[None]:
    """Make every frozen-embedding model (bigru) read its sentence vectors from `encoder` for a while."""
    from emotrace.models.frozen import FrozenEmbeddingModel

    previous = FrozenEmbeddingModel.text_encoder
    FrozenEmbeddingModel.text_encoder = encoder
    try:
        yield
    finally:
        FrozenEmbeddingModel.text_encoder = previous


def bigru_result_path(grouped: int, seed: int) -> Path:
    return RESULTS / "cqil" / f"bigru_last{grouped}_seed{seed}.json"


def run_bigru(grouped: int, seed: int, data_dir: str) -> dict[str, Any]:
    """`bigru` with its recipe, trained, selected and tested on CQIL embeddings of MELD."""
    import numpy as np

    from emotrace.datasets import load_dataset
    from emotrace.encoders.cache import EmbeddingCache
    from emotrace.encoders.text import TextEncoder
    from emotrace.inference.predict import predict_probabilities
    from emotrace.inference.scores import classification_scores, gold_indices
    from emotrace.models.bundle import load_bundle
    from emotrace.training.config import recipe
    from emotrace.training.data import benchmark_data
    from emotrace.training.loop import train

    started = time.time()
    encoder = TextEncoder(CqilBackend(grouped), cache=EmbeddingCache(EMBEDDING_CACHE))
    run_dir = RUNS / "cqil" / f"bigru_last{grouped}" / f"seed{seed}"
    command = f"python benchmarks/cqil.py (bigru on MiniLM with its last {grouped} layers in CQIL pairs, seed {seed})"
    test = load_dataset("meld", "test", data_dir)
    with frozen_models_embed_with(encoder):
        summary = train(recipe("bigru", "meld", seed), benchmark_data("meld", data_dir), run_dir, resume=True, command=command)
        model = load_bundle(run_dir)
        probabilities, _ = predict_probabilities(model, test)
    texts = [u.text for c in test for u in c.utterances]
    cosine = (encoder.embed(texts) * TextEncoder().embed(texts)).sum(1)
    return {
        "grouped_layers": grouped,
        "seed": seed,
        "dev": summary["best_dev"],
        "best_epoch": summary["best_epoch"],
        "test": classification_scores(gold_indices(test, model.labels), probabilities.argmax(1), model.labels),
        "test_cosine_to_original": {"mean": float(np.mean(cosine)), "min": float(np.min(cosine))},
        "seconds": round(time.time() - started, 1),
        "date": date.today().isoformat(),
    }


def aggregate() -> dict[str, Any]:
    """Latency, and per grouping the mean ± std of test weighted F1 over the cached seeds next to the original
    encoder's `bigru` runs of the same seeds (benchmarks/text_erc.py, same recipe)."""
    summary: dict[str, Any] = {"latency": json.loads(LATENCY_FILE.read_text(encoding="utf-8")) if LATENCY_FILE.is_file() else None, "bigru": {}}
    per_grouping: dict[int, list[dict[str, Any]]] = {}
    for path in sorted((RESULTS / "cqil").glob("bigru_last*_seed*.json")):
        result = json.loads(path.read_text(encoding="utf-8"))
        per_grouping.setdefault(result["grouped_layers"], []).append(result)
    seeds = sorted({r["seed"] for results in per_grouping.values() for r in results})
    original = [RESULTS / "text_erc" / "meld" / "bigru" / f"seed{seed}.json" for seed in seeds]
    if seeds and all(path.is_file() for path in original):
        per_grouping[0] = [json.loads(path.read_text(encoding="utf-8")) | {"grouped_layers": 0} for path in original]
    for grouped, results in sorted(per_grouping.items()):
        values = [r["test"]["weighted_f1"] for r in results]
        summary["bigru"][str(grouped)] = {
            "seeds": sorted(r["seed"] for r in results),
            "test_weighted_f1": {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0},
            "test_cosine_to_original": results[0].get("test_cosine_to_original", {"mean": 1.0, "min": 1.0}),
        }
    summary["verdict"] = verdict(summary)
    return summary


def verdict(summary: dict[str, Any]) -> str:
    """CQIL pays if some variant is faster than the fastest way of running the unchanged encoder, round by round,
    beyond the noise (mean ratio plus two standard errors below 1), and its bigru loses at most one point of test
    weighted F1."""
    latency, bigru = summary["latency"], summary["bigru"]
    if latency is None or "0" not in bigru:
        return "incomplete"
    baseline = bigru["0"]["test_weighted_f1"]["mean"]
    for name, entry in latency["variants"].items():
        if not name.startswith("cqil-"):
            continue
        ratio = entry["time_vs_fastest_exact"]
        grouped = name.split("-")[1].removeprefix("last")
        faster = ratio["mean"] + 2 * ratio["std"] / latency["repeats"] ** 0.5 < 1
        if faster and grouped in bigru and baseline - bigru[grouped]["test_weighted_f1"]["mean"] <= 1.0:
            return "pays"
    return "does not pay"


def render(summary: dict[str, Any]) -> str:
    latency = summary["latency"]
    lines = []
    if latency:
        lines += [
            f"Latency: {latency['utterances']} MELD test utterances (sorted by length), batches of {latency['batch_size']}, "
            f"{latency['threads']} torch threads, forward + pooling (tokenisation excluded), {latency['repeats']} rounds with the "
            f"order rotated; time ratios are per round, mean ± std; the fastest exact run is, per round, the quickest of the "
            f"unchanged encoder with 2 threads, 1 thread, or two batches at once on two single-threaded workers.",
            "",
            "| encoder | median seconds | time vs original | time vs fastest exact run | cosine to original: mean / min |",
            "|---|---|---|---|---|",
        ]
        for name, entry in latency["variants"].items():
            ratio, cosine = entry["time_vs_original"], entry["cosine_to_original"]
            exact = entry.get("time_vs_fastest_exact")
            versus_exact = f"{exact['mean']:.2f} ± {exact['std']:.2f}" if exact else "–"
            lines.append(
                f"| {name} | {entry['median_seconds']:.1f} | {ratio['mean']:.2f} ± {ratio['std']:.2f} | {versus_exact} "
                f"| {cosine['mean']:.3f} / {cosine['min']:.3f} |"
            )
        similarity = ", ".join(f"{value:.2f}" for value in latency["layer_input_output_cosine"])
        lines += ["", f"Cosine between each MiniLM layer's input and output (layers 1–6, mean over tokens): {similarity}."]
    if summary["bigru"]:
        lines += ["", "| `bigru` trained on | MELD test wF1 | test cosine to original: mean / min | seeds |", "|---|---|---|---|"]
        for grouped, entry in summary["bigru"].items():
            name = "original MiniLM (runs of `text_erc.py`)" if grouped == "0" else f"CQIL, last {grouped} layers in pairs"
            f1, cosine = entry["test_weighted_f1"], entry["test_cosine_to_original"]
            lines.append(f"| {name} | {f1['mean']:.1f} ± {f1['std']:.1f} | {cosine['mean']:.3f} / {cosine['min']:.3f} | {len(entry['seeds'])} |")
    plainly = {
        "pays": "**CQIL pays on this CPU** (faster beyond noise, at most 1 point of weighted F1 lost).",
        "does not pay": "**CQIL does not pay on this CPU**: no variant is faster than the fastest exact way of running the "
        "encoder beyond the noise while keeping the weighted F1 within 1 point, so it stays in this benchmark script and out of "
        "the library.",
        "incomplete": "Incomplete: not every measurement is cached yet.",
    }[summary["verdict"]]
    stamp = (
        f"Generated by `python benchmarks/cqil.py` on {date.today().isoformat()}; {platform.machine()}, {os.cpu_count()} cores shared "
        "with other jobs. Training-free CQIL (no bypassing, no recovery fine-tuning) on all-MiniLM-L6-v2; see the script's docstring "
        "for how the post-LayerNorm blocks are paired."
    )
    return "\n".join([stamp, "", plainly, "", *lines])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1, help="bigru seeds per grouping")
    parser.add_argument("--data-dir", default=DEFAULT_DATA)
    parser.add_argument("--retime", action="store_true", help="measure the latency again even if it is cached")
    parser.add_argument("--report", action="store_true", help="only aggregate cached results and regenerate the README block")
    args = parser.parse_args()

    if not args.report:
        if args.retime or not LATENCY_FILE.is_file():
            print("== latency", flush=True)
            write_text_atomic(LATENCY_FILE, json.dumps(measure_latency(args.data_dir), indent=2) + "\n")
        for seed in range(args.seeds):
            for grouped in GROUPED_LAYERS:
                path = bigru_result_path(grouped, seed)
                if path.is_file():
                    continue
                print(f"== bigru on CQIL embeddings (last {grouped} layers), seed {seed}", flush=True)
                result = run_bigru(grouped, seed, args.data_dir)
                write_text_atomic(path, json.dumps(result, indent=2) + "\n")
                print(f"   test weighted F1 {result['test']['weighted_f1']:.2f}", flush=True)
    summary = aggregate()
    write_text_atomic(RESULTS / "cqil.json", json.dumps(summary, indent=2) + "\n")
    block = render(summary)
    update_readme("cqil", block)
    print(block)


if __name__ == "__main__":
    main()
