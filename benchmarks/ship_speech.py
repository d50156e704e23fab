"""Build the shipped speech model: ComParE_2016 functionals + logistic regression, trained on all 10 EmoDB speakers.

    python benchmarks/emodb.py          # the leave-one-speaker-out benchmark (its features are reused here)
    python benchmarks/ship_speech.py    # → src/emotrace/bundles/speech

The regularisation is the one the benchmark's inner leave-one-speaker-out chose most often; the temperature is
fitted on out-of-fold (leave-one-speaker-out) probabilities, so no clip calibrates a model that saw it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_DATA, RESULTS, ship_bundle  # noqa: E402
from emodb import chosen_strength, features, make_classifier, out_of_fold_probabilities  # noqa: E402

from emotrace.encoders.audio import standardize_per_speaker  # noqa: E402
from emotrace.inference.calibration import apply_temperature, calibration_record, calibration_scores, fit_temperature  # noqa: E402
from emotrace.models.registry import create_model  # noqa: E402

FEATURE_SET = "ComParE_2016"


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=DEFAULT_DATA)
    args = parser.parse_args()
    benchmark = json.loads((RESULTS / "emodb" / f"{FEATURE_SET}_logreg.json").read_text(encoding="utf-8"))
    strength = chosen_strength(FEATURE_SET)
    matrix, labels, speakers, _ = features(FEATURE_SET, args.data_dir)
    normalised = np.nan_to_num(standardize_per_speaker(matrix, speakers))
    out_of_fold, gold, classes, _ = out_of_fold_probabilities(FEATURE_SET, strength, args.data_dir)
    temperature = fit_temperature(out_of_fold, gold)
    calibration = calibration_record(
        temperature,
        "EmoDB leave-one-speaker-out (out-of-fold)",
        calibration_scores(out_of_fold, gold),
        calibration_scores(apply_temperature(out_of_fold, temperature), gold),
    )

    classifier = make_classifier("logreg", strength).fit(normalised, labels)
    assert list(classifier.classes_) == classes
    model = create_model("speech-functionals", labels=classes, feature_set=FEATURE_SET, dims=int(matrix.shape[1]))
    with torch.no_grad():
        model.weight.copy_(torch.from_numpy(classifier.coef_))
        model.bias.copy_(torch.from_numpy(classifier.intercept_))
        model.feature_mean.copy_(torch.from_numpy(matrix.mean(0)))
        model.feature_std.copy_(torch.from_numpy(np.where(matrix.std(0) > 1e-8, matrix.std(0), 1.0)))
    metadata = {
        "data": {"name": "EmoDB (all 535 clips, 10 speakers)", "licence": "free for research", "labels": classes},
        "training": {"classifier": "logistic regression (class-balanced)", "C": strength, "features": FEATURE_SET},
        "leave_one_speaker_out": {key: benchmark[key] for key in ("uar", "accuracy", "per_class_recall")},
        "calibration": calibration,
    }
    recalls = ", ".join(f"{label} {value:.1f}" for label, value in benchmark["per_class_recall"].items())
    card = f"""# emotrace speech model: ComParE_2016 functionals + logistic regression on EmoDB

- **Input**: speech clips (any rate, resampled to 16 kHz mono; leading/trailing digital silence trimmed).
- **Features**: openSMILE ComParE_2016 functionals (6,373), z-scored per speaker when a speaker has at least 5
  clips in the input, else with EmoDB's global statistics (less accurate: speaker identity is not removed).
- **Classifier**: class-balanced logistic regression, C = {strength} (chosen by inner leave-one-speaker-out).
- **Training data**: EmoDB (Burkhardt et al., 2005), all 535 clips of the 10 speakers, the 2-s copy in
  `../shared/datasets/emodb`. Licence: free for research. Acted German speech; expect lower accuracy on
  spontaneous speech, other languages and telephone audio.
- **Labels**: {", ".join(classes)}.

## Scores (leave-one-speaker-out, the same recipe, from `python benchmarks/emodb.py`)
UAR {benchmark["uar"]:.1f}, accuracy {benchmark["accuracy"]:.1f}. Per-class recall: {recalls}.

## Calibration
Temperature {temperature:.2f} fitted on out-of-fold probabilities: ECE {calibration["dev_before"]["ece"]:.3f} →
{calibration["dev_after"]["ece"]:.3f} (15 equal-width bins).

## Reproduce
`python benchmarks/emodb.py && python benchmarks/ship_speech.py`
"""
    target = ship_bundle(model, "speech", metadata, card)
    print(f"shipped the speech model (C = {strength}, T = {temperature:.2f}) to {target}")


if __name__ == "__main__":
    main()
