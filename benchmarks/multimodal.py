"""Multimodal ERC on the label-matched MELD composite: MELD's dialogues and text, each scored turn given a FER2013 face
and an EmoDB voice of its emotion (src/emotrace/research/composite.py says what this can and cannot show).

    python benchmarks/multimodal.py [--seeds 5] [--data-dir ../shared/datasets] [--report]

Every model reads the composite from its files (text, PNG faces, wav clips) through the normal pipeline and is
trained by the one training loop (`emotrace.training.loop.train`), selected on dev weighted F1, temperature-
calibrated on dev, and scored on test over the six shared emotions. Late fusion averages the three unimodal models'
calibrated probabilities over the modalities an utterance has. The robustness table degrades one modality of the
test split at a time: white noise on the audio, blur or occlusion of the faces, or a share of the utterances without
that modality (drawn independently of the label). The composite uses seed 0; the seeds are training seeds.

Each run's bundle is kept in benchmarks/runs/multimodal/ and each (run, test condition) result is cached there,
so an interrupted benchmark resumes; the summary goes to benchmarks/results/multimodal.json and the README.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import sys
import time
import zlib
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_DATA, RESULTS, RUNS, update_readme, write_text_atomic  # noqa: E402

from emotrace.schema import Conversation  # noqa: E402

COMPOSITE_SEED = 0
SEEDS = 5
UNIMODAL = {"text": "text-only", "audio": "audio-only", "face": "face-only"}
CONFIGS: dict[str, tuple[str, dict[str, Any]]] = {
    "text-only": ("early-fusion", {"modalities": ["text"]}),
    "audio-only": ("early-fusion", {"modalities": ["audio"]}),
    "face-only": ("early-fusion", {"modalities": ["face"]}),
    "early-fusion": ("early-fusion", {"modality_dropout": 0.25}),
    "cmath": ("cmath", {}),
    "cmath-no-reconstruction": ("cmath", {"reconstruction": False}),
    "cmath-no-variational": ("cmath", {"variational": False}),
    "cmath-no-distillation": ("cmath", {"distillation": False}),
    "cmath-text-central-only": ("cmath", {"central": ["text"]}),
}
MAIN_ROWS = ("text-only", "audio-only", "face-only", "early-fusion", "late-fusion", "cmath")
ABLATIONS = ("cmath-no-reconstruction", "cmath-no-variational", "cmath-no-distillation", "cmath-text-central-only")
FUSED = ("cmath", "early-fusion", "late-fusion")
MISSING_SHARES = (30, 60, 90)
CONDITIONS = ["clean", "audio-noise-10dB", "audio-noise-0dB", "face-blur", "face-occlusion"] + [
    f"{m}-missing-{share}" for m in ("audio", "face", "text") for share in MISSING_SHARES
]
OUT = RUNS / "multimodal"


def composite(data_dir: str) -> dict[str, list[Conversation]]:
    """The composite's splits as files a user could train on (benchmarks/runs/multimodal/composite/), read back."""
    from emotrace.io.readers import read_conversations
    from emotrace.research.composite import build_composite, write_composite

    folder = OUT / "composite"
    if not (folder / "manifest.json").is_file():
        write_composite(build_composite(data_dir, COMPOSITE_SEED), folder)
    return {split: read_conversations(folder / f"{split}.jsonl") for split in ("train", "dev", "test")}


def _stable_seed(*parts: str) -> int:
    return zlib.crc32("/".join(parts).encode())


def _noisy_clip(path: str, snr_db: float) -> str:
    """White noise at `snr_db` over the clip's voiced part, written once beside the other degraded media."""
    import soundfile

    from emotrace.encoders.audio import load_audio, trim_silence

    target = OUT / "degraded" / f"audio-snr{snr_db:g}" / Path(path).name
    if not target.is_file():
        from emotrace.io.atomic import atomic_path

        wave = load_audio(path)
        power = float(np.mean(trim_silence(wave) ** 2))
        noise = np.random.default_rng(_stable_seed(path, str(snr_db))).normal(size=wave.shape) * np.sqrt(power / 10 ** (snr_db / 10))
        with atomic_path(target) as temporary:
            soundfile.write(str(temporary), (wave + noise).astype(np.float32), 16000, format="WAV")
    return str(target)


def _degraded_face(path: str, kind: str) -> str:
    """A Gaussian blur (σ = 2 px on the 48×48 face) or a grey 24×24 patch at a seeded place, written once."""
    import cv2

    from emotrace.io.atomic import atomic_path

    target = OUT / "degraded" / f"face-{kind}" / Path(path).name
    if not target.is_file():
        image = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
        if kind == "blur":
            image = cv2.GaussianBlur(image, (0, 0), 2.0)
        else:
            top, left = np.random.default_rng(_stable_seed(path, kind)).integers(0, image.shape[0] - 24, size=2)
            image = image.copy()
            image[top : top + 24, left : left + 24] = 128
        with atomic_path(target) as temporary:
            temporary.write_bytes(cv2.imencode(".png", image)[1].tobytes())
    return str(target)


def degrade(test: list[Conversation], condition: str) -> list[Conversation]:
    """A copy of the test split with one modality degraded; which utterances lose a modality is drawn from a
    seeded generator over all utterances that have it, so it is independent of the label."""
    degraded = copy.deepcopy(test)
    utterances = [u for c in degraded for u in c.utterances]
    if condition == "clean":
        return degraded
    modality, kind, *level = condition.split("-")
    if kind == "missing":
        have = [u for u in utterances if (u.text.strip() if modality == "text" else u.media.get("audio" if modality == "audio" else "image"))]
        rng = np.random.default_rng(_stable_seed(condition))
        for index in rng.choice(len(have), size=round(len(have) * int(level[0]) / 100), replace=False):
            if modality == "text":
                have[index].text = ""
            else:
                have[index].media.pop("audio" if modality == "audio" else "image")
        return degraded
    for utterance in utterances:
        if modality == "audio" and "audio" in utterance.media:
            utterance.media["audio"] = _noisy_clip(utterance.media["audio"], float(level[0].removesuffix("dB")))
        if modality == "face" and "image" in utterance.media:
            utterance.media["image"] = _degraded_face(utterance.media["image"], kind)
    return degraded


def train_run(name: str, seed: int, splits: dict[str, list[Conversation]]) -> Path:
    from emotrace.labels import CANONICAL
    from emotrace.training.config import recipe
    from emotrace.training.loop import TrainData, train

    model, args = CONFIGS[name]
    labels = [label for label in CANONICAL if label in {u.emotion for c in splits["train"] for u in c.utterances}]
    data = TrainData(
        splits["train"],
        splits["dev"],
        labels,
        None,
        {
            "name": "MELD composite train (seed 0)",
            "dev_name": "MELD composite dev",
            "licence": "research only (MELD GPL-3.0, FER2013, EmoDB)",
            "labels": labels,
            "train_utterances": sum(len(c) for c in splits["train"]),
        },
    )
    out_dir = OUT / f"{name}_seed{seed}"
    train(
        recipe(model, "composite", seed, model_args=args),
        data,
        out_dir,
        resume=True,
        progress=False,
        command=f"python benchmarks/multimodal.py  # run {name}, seed {seed}",
    )
    return out_dir


def test_outputs(run: Path, condition: str, conversations: list[Conversation]) -> dict[str, np.ndarray]:
    """Calibrated test probabilities, which utterances are scored, and which modalities each has (cached)."""
    from emotrace.inference.predict import probabilities_of_prepared
    from emotrace.inference.scores import gold_indices
    from emotrace.labels import UNSCORED
    from emotrace.models.bundle import load_bundle

    cache = run / f"test_{condition}.npz"
    if cache.is_file():
        with np.load(cache) as stored:
            return dict(stored)
    model = load_bundle(run)
    items = model.prepare(conversations)
    probabilities, _ = probabilities_of_prepared(model, items, [len(c) for c in conversations])
    gold = gold_indices(conversations, model.labels)
    present = {f"present_{m}": np.concatenate([item["present"][m].numpy() for item in items]) for m in model.modalities}
    outputs = {"probabilities": probabilities, "gold": gold, "scored": gold != UNSCORED, **present}
    from emotrace.io.atomic import atomic_path

    with atomic_path(cache) as temporary:
        with open(temporary, "wb") as handle:
            np.savez(handle, **outputs)
    return outputs


def late_fusion(unimodal: dict[str, dict[str, np.ndarray]]) -> np.ndarray:
    """The mean of the calibrated unimodal distributions over the modalities each utterance has (all when none)."""
    stacked = np.stack([outputs["probabilities"] for outputs in unimodal.values()])
    weights = np.stack([outputs[f"present_{m}"] for m, outputs in unimodal.items()]).astype(float)
    weights[:, weights.sum(0) == 0] = 1.0
    return (stacked * weights[..., None]).sum(0) / weights.sum(0)[:, None]


def scores(probabilities: np.ndarray, outputs: dict[str, np.ndarray], labels: list[str]) -> dict[str, float]:
    from emotrace.inference.scores import classification_scores

    scored = outputs["scored"]
    result = classification_scores(outputs["gold"][scored], probabilities[scored].argmax(1), labels)
    return {key: result[key] for key in ("n", "weighted_f1", "accuracy", "macro_f1")}


def seed_results(seed: int, splits: dict[str, list[Conversation]], conditions: dict[str, list[Conversation]]) -> dict[str, Any]:
    """Every configuration of one training seed: clean test scores for all, every condition for the fused three."""
    from emotrace.models.bundle import read_config

    cache = RESULTS / "multimodal" / f"seed{seed}.json"
    if cache.is_file():
        return json.loads(cache.read_text(encoding="utf-8"))
    runs, minutes = {}, {}
    for name in CONFIGS:
        started = time.perf_counter()
        runs[name] = train_run(name, seed, splits)
        minutes[name] = (time.perf_counter() - started) / 60
        print(f"seed {seed}: {name} trained ({minutes[name]:.1f} min)", flush=True)
    labels = read_config(runs["cmath"])["args"]["labels"]
    result: dict[str, Any] = {"seed": seed, "clean": {}, "robustness": {}, "train_minutes": minutes}
    for condition, conversations in conditions.items():
        names = list(CONFIGS) if condition == "clean" else ["cmath", "early-fusion", *UNIMODAL.values()]
        outputs = {name: test_outputs(runs[name], condition, conversations) for name in names}
        fused = late_fusion({m: outputs[name] for m, name in UNIMODAL.items()})
        table = {name: scores(outputs[name]["probabilities"], outputs[name], labels) for name in names}
        table["late-fusion"] = scores(fused, outputs["cmath"], labels)
        if condition == "clean":
            result["clean"] = table
        result["robustness"][condition] = {name: table[name]["weighted_f1"] for name in FUSED}
    write_text_atomic(cache, json.dumps(result, indent=2) + "\n")
    return result


def mean_std(values: list[float]) -> str:
    return f"{np.mean(values):.1f} ± {np.std(values, ddof=1) if len(values) > 1 else 0.0:.1f}"


def report(results: list[dict[str, Any]], stamp: dict[str, str]) -> str:
    seeds = len(results)
    lines = [
        f"MELD composite (composite seed 0; text + FER2013 face + EmoDB voice per scored turn), test split, "
        f"{results[0]['clean']['cmath']['n']} scored turns over 6 emotions; mean ± std over {seeds} training seeds. "
        f"Generated by `python benchmarks/multimodal.py` on {stamp['date']}; {stamp['machine']}. Not comparable with published multimodal MELD results.",
        "",
        "| model | weighted F1 | accuracy | macro F1 |",
        "|---|---|---|---|",
    ]
    for name in MAIN_ROWS + ABLATIONS:
        row = [r["clean"][name] for r in results]
        lines.append(
            f"| {name} | {mean_std([s['weighted_f1'] for s in row])} | {mean_std([s['accuracy'] for s in row])} | {mean_std([s['macro_f1'] for s in row])} |"
        )
    lines += [
        "",
        "Robustness: test weighted F1 with one modality degraded (mean ± std over the same seeds).",
        "",
        "| test condition | " + " | ".join(FUSED) + " |",
        "|---|" + "---|" * len(FUSED),
    ]
    for condition in CONDITIONS:
        lines.append(f"| {condition} | " + " | ".join(mean_std([r["robustness"][condition][name] for r in results]) for name in FUSED) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=DEFAULT_DATA)
    parser.add_argument("--seeds", type=int, default=SEEDS)
    parser.add_argument("--report", action="store_true", help="only tabulate the cached seeds; train nothing")
    args = parser.parse_args()
    results = []
    splits: dict[str, list[Conversation]] | None = None
    conditions: dict[str, list[Conversation]] = {}
    for seed in range(args.seeds):
        cached = RESULTS / "multimodal" / f"seed{seed}.json"
        if args.report and not cached.is_file():
            continue
        if not cached.is_file() and splits is None:
            splits = composite(args.data_dir)
            conditions = {condition: degrade(splits["test"], condition) for condition in CONDITIONS}
        results.append(seed_results(seed, splits or {}, conditions))
        print(
            f"seed {seed}: cmath {results[-1]['clean']['cmath']['weighted_f1']:.1f}, early fusion {results[-1]['clean']['early-fusion']['weighted_f1']:.1f}",
            flush=True,
        )
    if not results:
        return
    stamp = {"date": date.today().isoformat(), "machine": f"{platform.machine()}, {os.cpu_count()} cores"}
    write_text_atomic(RESULTS / "multimodal.json", json.dumps({**stamp, "seeds": results}, indent=2) + "\n")
    table = report(results, stamp)
    update_readme("multimodal", table)
    print(table)


if __name__ == "__main__":
    main()
