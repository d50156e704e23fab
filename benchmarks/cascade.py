"""TinySaver cascade (Wang et al., 2024) on MELD: three tiny savers before the text benchmark's `bigru`.

    python benchmarks/cascade.py [--data-dir ../shared/datasets] [--savers hashed-linear embedding-bag early-exit]
                                 [--retrain chosen|all|none] [--rounds 3] [--report]

For each saver (research/tiny.py): fit on MELD train, threshold on dev (research/cascade.py), then on test: exit rate
r_exit, per-utterance wall time of the saver and of the full model (MiniLM + biGRU) on each text backend, the cost
ratio s, ΔC = s - r_exit (TinySaver's selection metric; the saver with the smallest wins), the end-to-end cascade
time, and weighted F1 of the cascade vs the full model alone. The context problem (exited turns have no MiniLM
embedding) is measured per design on the turns that did NOT exit: `drop` (the biGRU sees only the remaining
turns), `surrogate` (a ridge map from the saver's features into MiniLM space) and `surrogate-retrained` (the biGRU
retrained with the same recipe on train dialogues whose saver-answered turns carry out-of-fold surrogates).

The full model is benchmarks/runs/meld/bigru/seed0 (the speed benchmark's; trained here if missing) or
`--full-bundle`. Everything fitted is cached under benchmarks/runs/cascade/<full bundle fingerprint>/, so a rerun
resumes; results go to benchmarks/results/cascade.json and the README block `cascade`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_DATA, RESULTS, ROOT, RUNS, cpu_description, update_readme, write_text_atomic  # noqa: E402

SAVERS = ("hashed-linear", "embedding-bag", "early-exit")
BACKENDS = ("torch-fp32", "onnx-fp32", "onnx-int8")
FULL_BUNDLE = RUNS / "meld" / "bigru" / "seed0"
FOLDS = 5
TIMING_UTTERANCES = 800  # the first MELD test conversations up to this many utterances are timed
WARMUP_CONVERSATIONS = 5
MIN_REMAINING = 30  # fewer test turns left than this: no accuracy on them is reported


def ensure_full_bundle(data_dir: str) -> Path:
    """The text benchmark's bigru seed 0 (same recipe), trained with the library's loop if this checkout lacks it."""
    if not (FULL_BUNDLE / "training.json").is_file():
        from emotrace.training.config import recipe
        from emotrace.training.data import benchmark_data
        from emotrace.training.loop import train

        command = f"emotrace train --dataset meld --model bigru --seed 0 --out {FULL_BUNDLE.relative_to(ROOT)}"
        train(recipe("bigru", "meld", 0), benchmark_data("meld", data_dir), FULL_BUNDLE, resume=True, command=command)
    return FULL_BUNDLE


def cached_json(path: Path, compute: Callable[[], Any]) -> Any:
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    value = compute()
    write_text_atomic(path, json.dumps(value, indent=2) + "\n")
    return value


class Bench:
    """MELD splits, the full model's real-embedding outputs, and where this full bundle's artefacts are cached."""

    def __init__(self, full_dir: Path, data_dir: str) -> None:
        from emotrace.datasets import load_dataset
        from emotrace.encoders.text import TextEncoder
        from emotrace.inference.scores import gold_indices
        from emotrace.research.cascade import bundle_fingerprint, load_full

        self.full_dir = full_dir
        self.data_dir = data_dir
        self.cache = RUNS / "cascade" / "meld" / bundle_fingerprint(full_dir)
        self.full = load_full(full_dir, "torch-fp32", TextEncoder())  # the reference "full model alone": cached torch-fp32 embeddings
        self.labels = self.full.labels
        self.splits = {split: load_dataset("meld", split, data_dir) for split in ("train", "dev", "test")}
        self.texts = {split: [u.text for c in convs for u in c.utterances] for split, convs in self.splits.items()}
        self.gold = {split: gold_indices(convs, self.labels) for split, convs in self.splits.items()}
        self.embeddings = {split: self.full.embed(texts) for split, texts in self.texts.items()}
        self.full_probabilities = {split: self.full.probabilities_of_embeddings(self.splits[split], self.embeddings[split])[0] for split in self.splits}
        self._early_exit_features: dict[str, np.ndarray] | None = None

    def early_exit_features(self) -> dict[str, np.ndarray]:
        """MiniLM's first two layers, mean-pooled, for every split: the slow part of the early-exit saver, cached."""
        from emotrace.research.tiny import EarlyExitSaver

        path = self.cache / "early_exit_features.npz"
        if self._early_exit_features is None:
            if not path.is_file():
                encoder = EarlyExitSaver(self.labels)
                features = {split: encoder.encode(texts) for split, texts in self.texts.items()}
                path.parent.mkdir(parents=True, exist_ok=True)
                np.savez(path.with_suffix(".tmp.npz"), **features)
                os.replace(path.with_suffix(".tmp.npz"), path)
            self._early_exit_features = dict(np.load(path))
        return self._early_exit_features

    def saver_outputs(self, saver: Any, split: str) -> tuple[np.ndarray, Any]:
        if saver.kind == "early-exit":
            return saver.predict_proba(self.texts[split], self.early_exit_features()[split])
        return saver.predict_proba(self.texts[split])

    def fit(self, kind: str, conversations_rows: np.ndarray | None = None) -> tuple[Any, Any]:
        """(saver, surrogate map) fitted on the train utterances at `conversations_rows` (all when None)."""
        from emotrace.research.cascade import SURROGATE_DEFAULTS, SurrogateMap, fit_saver

        rows = np.arange(len(self.texts["train"])) if conversations_rows is None else conversations_rows
        texts = [self.texts["train"][i] for i in rows]
        gold, teacher = self.gold["train"][rows], self.full_probabilities["train"][rows]
        if kind == "early-exit":
            from emotrace.research.tiny import EarlyExitSaver

            features = self.early_exit_features()["train"][rows]
            saver = EarlyExitSaver(self.labels).fit(texts, gold, features)
            representation = features
        else:
            saver = fit_saver(kind, self.labels, texts, gold, teacher)
            representation = saver.predict_proba(texts)[1]
        surrogate = SurrogateMap(**SURROGATE_DEFAULTS[kind]).fit(representation, self.embeddings["train"][rows])
        return saver, surrogate

    def cascade(self, kind: str) -> Any:
        """The saver's cascade bundle (surrogate design), fitted once and cached."""
        from emotrace.research.cascade import Cascade, load_cascade, threshold_on

        directory = self.cache / kind / "cascade"
        if not (directory / "config.json").is_file():
            started = time.time()
            saver, surrogate = self.fit(kind)
            threshold, selection = threshold_on(self.saver_outputs(saver, "dev")[0], self.full_probabilities["dev"], self.gold["dev"])
            selection["fit_seconds"] = round(time.time() - started, 1)
            source = os.path.relpath(self.full_dir.resolve(), directory.resolve())
            Cascade(saver, self.full, threshold, surrogate, "surrogate", source, selection).save(directory, backend="torch-fp32")
        return load_cascade(directory, "torch-fp32", self.full.model.text_encoder)  # its own encoder: see retrained_full

    def out_of_fold(self, kind: str, threshold: float) -> dict[str, np.ndarray]:
        """Per train utterance: the confidence and surrogate of a saver that never saw its dialogue (5 folds)."""
        path = self.cache / kind / "out_of_fold.npz"
        if not path.is_file():
            conversation_of = np.repeat(np.arange(len(self.splits["train"])), [len(c) for c in self.splits["train"]])
            fold_of = np.random.default_rng(0).permutation(len(self.splits["train"]))[conversation_of] % FOLDS
            confidence = np.zeros(len(conversation_of), dtype=np.float32)
            surrogates = np.zeros_like(self.embeddings["train"])
            for fold in range(FOLDS):
                held_out = fold_of == fold
                saver, surrogate = self.fit(kind, np.flatnonzero(~held_out))
                texts = [t for t, out in zip(self.texts["train"], held_out) if out]
                if kind == "early-exit":
                    probabilities, representation = saver.predict_proba(texts, self.early_exit_features()["train"][held_out])
                else:
                    probabilities, representation = saver.predict_proba(texts)
                confidence[held_out] = probabilities.max(1)
                surrogates[held_out] = surrogate.transform(representation)
            np.savez(path.with_suffix(".tmp.npz"), confidence=confidence, surrogates=surrogates)
            os.replace(path.with_suffix(".tmp.npz"), path)
        return dict(np.load(path))

    def retrained_full(self, kind: str, cascade: Any) -> Path:
        """The biGRU retrained (same recipe and seed) on train dialogues whose turns the saver would answer carry
        out-of-fold surrogates; dev (early stopping, calibration) goes through the cascade's own routing."""
        from emotrace.models.frozen import FrozenEmbeddingModel
        from emotrace.research.cascade import RoutedTextEncoder
        from emotrace.training.config import TrainConfig
        from emotrace.training.data import benchmark_data
        from emotrace.training.loop import train

        out_dir = self.cache / kind / "retrained"
        oof = self.out_of_fold(kind, cascade.threshold)
        exits = oof["confidence"] >= cascade.threshold
        train_vectors = np.where(exits[:, None], oof["surrogates"], self.embeddings["train"])
        known = dict(zip(self.texts["train"], train_vectors))
        config = TrainConfig.from_dict(json.loads((self.full_dir / "config.json").read_text(encoding="utf-8"))["training"])
        routed = RoutedTextEncoder(cascade, known)
        previous = FrozenEmbeddingModel.text_encoder
        # every frozen model the loop builds (and calibrates) reads the cascade's inputs; the cascade's own full model
        # keeps its instance encoder, so routing never comes back here
        FrozenEmbeddingModel.text_encoder = routed
        try:
            command = f"python benchmarks/cascade.py --retrain {kind}"
            train(config, benchmark_data("meld", self.data_dir), out_dir, resume=True, progress=False, command=command)
        finally:
            FrozenEmbeddingModel.text_encoder = previous
        return out_dir


def scores_of(gold: np.ndarray, probabilities: np.ndarray, labels: list[str]) -> dict[str, float]:
    from emotrace.inference.scores import classification_scores

    scores = classification_scores(gold, probabilities.argmax(1), labels)
    return {"n": scores["n"], "accuracy": scores["accuracy"], "weighted_f1": scores["weighted_f1"], "macro_f1": scores["macro_f1"]}


def accuracy_result(bench: Bench, kind: str, retrain: bool) -> dict[str, Any]:
    """Test scores of the cascade under each context design, and on the turns that did not exit."""
    from emotrace.research.cascade import Cascade, load_full

    cascade = bench.cascade(kind)
    if kind == "early-exit":  # its encoder replaced by the cached features (timing runs the real one)
        features = bench.early_exit_features()
        cascade.saver.encode = _lookup([t for split in bench.texts for t in bench.texts[split]], np.concatenate([features[s] for s in bench.texts]))
    gold, full_probabilities = bench.gold["test"], bench.full_probabilities["test"]
    saver_probabilities = bench.saver_outputs(cascade.saver, "test")[0]
    exited = saver_probabilities.max(1) >= cascade.threshold
    designs = {"drop": Cascade(cascade.saver, bench.full, cascade.threshold, None, "drop"), "surrogate": cascade}
    if retrain:
        retrained = load_full(bench.retrained_full(kind, cascade))
        designs["surrogate-retrained"] = Cascade(cascade.saver, retrained, cascade.threshold, cascade.surrogate, "surrogate")
    dev_probabilities = bench.saver_outputs(cascade.saver, "dev")[0]
    test_representation = bench.saver_outputs(cascade.saver, "test")[1]
    surrogate_cosine = (cascade.surrogate.transform(test_representation) * bench.embeddings["test"]).sum(1)
    result: dict[str, Any] = {
        "threshold": cascade.threshold,
        "selection": cascade.selection,
        "dev_exit_rate_tinysaver_scan": float((dev_probabilities.max(1) >= scan_threshold(dev_probabilities, bench)).mean()),
        "surrogate_cosine_test_exited": float(surrogate_cosine[exited].mean()) if exited.any() else None,
        "test_exit_rate": float(exited.mean()),
        "saver_alone": scores_of(gold, saver_probabilities, bench.labels),
        "full_alone": scores_of(gold, full_probabilities, bench.labels),
        "exited": {
            "saver_accuracy": 100 * float((saver_probabilities.argmax(1) == gold)[exited].mean()) if exited.any() else None,
            "full_accuracy": 100 * float((full_probabilities.argmax(1) == gold)[exited].mean()) if exited.any() else None,
        },
        "full_on_remaining": scores_of(gold[~exited], full_probabilities[~exited], bench.labels),
        "designs": {},
    }
    for name, design in designs.items():
        probabilities, design_exited = design.predict_probabilities(bench.splits["test"])
        assert (design_exited == exited).all()
        result["designs"][name] = {
            "cascade": scores_of(gold, probabilities, bench.labels),
            "remaining": scores_of(gold[~exited], probabilities[~exited], bench.labels),
            "agreement_with_full_on_remaining": 100 * float((probabilities.argmax(1) == full_probabilities.argmax(1))[~exited].mean()),
        }
    return result


def scan_threshold(dev_probabilities: np.ndarray, bench: Bench) -> float:
    """TinySaver's own search (exit_estimation.py): lower t from 1 and stop before the first t at which the saver
    is less accurate than the full model on the exits; reported beside our lowest-passing-t rule."""
    confidence = dev_probabilities.max(1)
    order = np.argsort(-confidence, kind="stable")
    saver_right = np.cumsum((dev_probabilities.argmax(1) == bench.gold["dev"])[order])
    full_right = np.cumsum((bench.full_probabilities["dev"].argmax(1) == bench.gold["dev"])[order])
    ranked = confidence[order]
    end_of_tie = np.r_[ranked[1:] != ranked[:-1], True]
    failing = np.flatnonzero((saver_right < full_right) & end_of_tie)
    if not len(failing):
        return float(ranked[-1])
    passing_before = np.flatnonzero(end_of_tie[: failing[0]])
    return float(ranked[passing_before[-1]]) if len(passing_before) else float("inf")


def _lookup(texts: list[str], features: np.ndarray) -> Callable[[list[str]], np.ndarray]:
    """A stand-in for `EarlyExitSaver.encode` that reads cached features."""
    table = dict(zip(texts, features))
    return lambda batch: np.stack([table[t] for t in batch]) if batch else np.zeros((0, 384), dtype=np.float32)


def timing_conversations(bench: Bench) -> list[Any]:
    chosen, total = [], 0
    for conversation in bench.splits["test"][WARMUP_CONVERSATIONS:]:
        if total >= TIMING_UTTERANCES:
            break
        chosen.append(conversation)
        total += len(conversation)
    return chosen


def available_backends(full_dir: Path) -> list[str]:
    """torch-fp32 always; the ONNX ones when onnxruntime is installed (the bundle is exported once if needed)."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return ["torch-fp32"]
    from emotrace.export.runtime import has_export
    from emotrace.export.text_model import export_bundle

    if not has_export(str(full_dir), "onnx-int8"):
        export_bundle(str(full_dir), int8=True)
    return list(BACKENDS)


def measure_costs(bench: Bench, kinds: list[str], rounds: int) -> dict[str, Any]:
    """Seconds per utterance (best of `rounds`, rounds interleaved) for the full model alone, each saver alone and
    each cascade, per backend, on the same MELD test conversations; no embedding cache anywhere."""
    from emotrace.encoders.text import TextEncoder
    from emotrace.research.cascade import load_cascade, load_full

    conversations = timing_conversations(bench)
    warmup = bench.splits["test"][:WARMUP_CONVERSATIONS]
    texts = [u.text for c in conversations for u in c.utterances]
    runs: dict[str, Callable[[list[Any]], Any]] = {}
    for backend in available_backends(bench.full_dir):
        encoder = TextEncoder(cache=False) if backend == "torch-fp32" else None
        full = load_full(bench.full_dir, backend, encoder)
        runs[f"full/{backend}"] = lambda convs, full=full: full.probabilities_of_embeddings(convs, full.embed([u.text for c in convs for u in c.utterances]))
        for kind in kinds:
            cascade = load_cascade(bench.cache / kind / "cascade", backend, encoder)
            runs[f"cascade/{kind}/{backend}"] = cascade.predict_probabilities
    for kind in kinds:
        saver = bench.cascade(kind).saver
        runs[f"saver/{kind}"] = lambda convs, saver=saver: saver.predict_proba([u.text for c in convs for u in c.utterances])
    for run in runs.values():
        run(warmup)
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(rounds):
        for name, run in runs.items():
            started = time.perf_counter()
            run(conversations)
            best[name] = min(best[name], (time.perf_counter() - started) / len(texts))
    return {"utterances": len(texts), "conversations": len(conversations), "rounds": rounds, "seconds_per_utterance": best}


def summarise(accuracy: dict[str, Any], costs: dict[str, Any]) -> dict[str, Any]:
    """s, ΔC (with the dev exit rate, which chooses, and the test one, which reports) and the measured cascade/full
    time ratio per saver and backend; the chosen saver per backend."""
    per_utt = costs["seconds_per_utterance"]
    backends = sorted({name.split("/")[-1] for name in per_utt if name.startswith("full/")}, key=BACKENDS.index)
    table: dict[str, Any] = {}
    for kind, result in accuracy.items():
        rows = {}
        for backend in backends:
            s = per_utt[f"saver/{kind}"] / per_utt[f"full/{backend}"]
            rows[backend] = {
                "s": s,
                "delta_c_dev": s - result["selection"]["dev_exit_rate"],
                "delta_c_test": s - result["test_exit_rate"],
                "measured_time_ratio": per_utt[f"cascade/{kind}/{backend}"] / per_utt[f"full/{backend}"],
            }
        table[kind] = rows
    chosen = {backend: min(table, key=lambda kind: table[kind][backend]["delta_c_dev"]) for backend in backends}
    return {"per_saver": table, "chosen": chosen}


def render(summary: dict[str, Any], accuracy: dict[str, Any], costs: dict[str, Any]) -> str:
    per_utt = costs["seconds_per_utterance"]
    backends = list(next(iter(summary["per_saver"].values())))
    full_f1 = next(iter(accuracy.values()))["full_alone"]["weighted_f1"]
    header = (
        f"Generated by `python benchmarks/cascade.py` on {date.today().isoformat()}; {cpu_description()} "
        f"(times are best of {costs['rounds']} interleaved rounds on {costs['utterances']} MELD test utterances). "
        f"Full model: `bigru` seed 0, MELD test wF1 {full_f1:.1f} alone; full cost per utterance "
        + ", ".join(f"{b} {1e3 * per_utt[f'full/{b}']:.2f} ms" for b in backends)
        + ". Threshold chosen on dev; ΔC = s − r_exit with the dev exit rate (TinySaver's choice; lower is better)."
    )
    lines = [
        header,
        "",
        "| saver | saver ms/utt | dev / test exit rate | s (" + " / ".join(backends) + ") | ΔC (" + " / ".join(backends) + ") "
        "| measured cascade time ÷ full (" + " / ".join(backends) + ") | test wF1: cascade (surrogate) |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, rows in summary["per_saver"].items():
        result = accuracy[kind]
        lines.append(
            f"| `{kind}` | {1e3 * per_utt[f'saver/{kind}']:.3f} | {result['selection']['dev_exit_rate']:.2f} / {result['test_exit_rate']:.2f} "
            f"| {_joined(rows, backends, 's', '.3f')} | {_joined(rows, backends, 'delta_c_dev', '+.2f')} "
            f"| {_joined(rows, backends, 'measured_time_ratio', '.2f')} | {result['designs']['surrogate']['cascade']['weighted_f1']:.1f} |"
        )
    lines += [
        "",
        "Context design: accuracy (%) on the test turns that did NOT exit, full model on real embeddings for every turn → cascade "
        "(change); then the cascade's test wF1 over all turns. `surrogate-retrained` is run for the chosen saver only.",
        "",
        "| saver | turns not exited | full alone | `drop` | `surrogate` | `surrogate-retrained` |",
        "|---|---|---|---|---|---|",
    ]
    for kind, result in accuracy.items():
        reference = result["full_on_remaining"]["accuracy"]
        cells = [
            "–"
            if d not in result["designs"]
            else f"{result['designs'][d]['remaining']['accuracy']:.1f} ({result['designs'][d]['remaining']['accuracy'] - reference:+.1f}); "
            f"wF1 {result['designs'][d]['cascade']['weighted_f1']:.1f}"
            if result["full_on_remaining"]["n"] >= MIN_REMAINING
            else f"too few turns; wF1 {result['designs'][d]['cascade']['weighted_f1']:.1f}"
            for d in ("drop", "surrogate", "surrogate-retrained")
        ]
        full_cell = f"{reference:.1f}" if result["full_on_remaining"]["n"] >= MIN_REMAINING else "–"
        lines.append(f"| `{kind}` | {result['full_on_remaining']['n']} | {full_cell} | {' | '.join(cells)} |")
    chosen = ", ".join(f"{backend}: `{kind}`" for backend, kind in summary["chosen"].items())
    lines += ["", f"Chosen saver (smallest ΔC) per backend: {chosen}. Design and discussion: docs/cascade.md."]
    return "\n".join(lines)


def _joined(rows: dict[str, dict[str, float]], backends: list[str], key: str, spec: str) -> str:
    return " / ".join(format(rows[backend][key], spec) for backend in backends)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=DEFAULT_DATA)
    parser.add_argument("--savers", nargs="+", default=list(SAVERS), choices=SAVERS)
    parser.add_argument("--retrain", nargs="+", default=["chosen"], help="savers whose surrogate-retrained design to run: chosen, all, none or names")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--full-bundle", type=Path, help="a MELD frozen-embedding bundle instead of benchmarks/runs/meld/bigru/seed0")
    parser.add_argument("--report", action="store_true", help="only re-render the README block from benchmarks/results/cascade.json")
    args = parser.parse_args()

    results_path = RESULTS / "cascade.json"
    if args.report:
        results = json.loads(results_path.read_text(encoding="utf-8"))
        update_readme("cascade", render(results["summary"], results["accuracy"], results["costs"]))
        return
    bench = Bench(args.full_bundle or ensure_full_bundle(args.data_dir), args.data_dir)
    print(f"full model {bench.full_dir}, cache {bench.cache}", flush=True)
    accuracy = {kind: cached_json(bench.cache / kind / "accuracy.json", lambda kind=kind: accuracy_result(bench, kind, False)) for kind in args.savers}
    costs = cached_json(bench.cache / f"costs_{'_'.join(args.savers)}.json", lambda: measure_costs(bench, args.savers, args.rounds))
    summary = summarise(accuracy, costs)
    retrain = set(args.retrain)
    retrain = (
        set(args.savers) if "all" in retrain else {summary["chosen"][max(summary["chosen"], key=BACKENDS.index)]} if "chosen" in retrain else retrain - {"none"}
    )
    for kind in sorted(retrain & set(args.savers)):
        print(f"== {kind}: surrogate-retrained design", flush=True)
        accuracy[kind] = cached_json(bench.cache / kind / "accuracy_retrained.json", lambda kind=kind: accuracy_result(bench, kind, True))
    results = {
        "date": date.today().isoformat(),
        "machine": cpu_description(),
        "full_bundle": os.path.relpath(bench.full_dir.resolve(), ROOT),
        "accuracy": accuracy,
        "costs": costs,
        "summary": summary,
    }
    write_text_atomic(results_path, json.dumps(results, indent=2) + "\n")
    table = render(summary, accuracy, costs)
    update_readme("cascade", table)
    print(table)


if __name__ == "__main__":
    main()
