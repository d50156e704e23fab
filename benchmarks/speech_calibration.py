"""Confidence across corpora: does the speech model know when it is off its training corpus?

    python benchmarks/speech_calibration.py [--setting "per-speaker z-score"]   # default: the proposed model's row

For one row of benchmarks/speech_cross_corpus.py (same features, normalisation and C), in each direction
(EmoDB→nEMO, nEMO→EmoDB), the cross-corpus predictions are scored with:
- no calibration (T = 1), and temperature scaling fitted in domain (training corpus, out-of-fold);
- temperature fitted on half of the target corpus's speakers, scored on the other half (2-fold over speakers):
  the reference a user with some labelled target data could reach;
- one temperature fitted on the *other* direction's cross-corpus predictions (the cost of a change of corpus);
- an OOD-dependent temperature (research/ood.py: Mahalanobis on the classifier's features or on features before
  speaker normalisation, or the energy score), its T0 and beta fitted on the
  *other* direction's cross-corpus predictions: calibrated on a held-out corpus, never on the test corpus;
- abstention: answer `uncertain` when a Mahalanobis score is beyond the 95th percentile of in-domain held-out
  speakers; coverage and accuracy on the answered clips.
AUROC says how well each score separates in-domain held-out speakers from the other corpus.
Result: benchmarks/results/speech_cross_corpus/calibration_<row>.json and the README block (for the row asked).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_DATA, update_readme, write_text_atomic  # noqa: E402
from speech_cross_corpus import OUT, SETTINGS, Data, computed_on, fit, loso_logits, scores, slug, softmax, test_matrix, training_matrix  # noqa: E402

DIRECTIONS = (("emodb", "nemo"), ("nemo", "emodb"))
# Mahalanobis on the speaker-normalised features the classifier sees, on features only z-scored with the training
# statistics (before speaker normalisation removes most of a recording chain's shift), and the energy of the logits.
SCORES = ("mahalanobis", "mahalanobis_raw", "energy")


def direction_outputs(data: Data, setting: Any, strengths: dict[str, float], source: str, target: str) -> dict[str, np.ndarray]:
    """Everything the calibrators need for one direction: in-domain out-of-fold and cross-corpus logits and scores."""
    from emotrace.inference.calibration import fit_temperature
    from emotrace.research.ood import MahalanobisScore, energy_score

    strength = strengths[source]
    oof_logits, oof_distance = loso_logits(data, source, setting, strength, ood=True)
    unnormalised = replace(setting, norm="global", k=0.0, augmentation="none", test_clips=0)
    _, oof_raw = loso_logits(data, source, unnormalised, strength, ood=True)
    raw_matrix, raw_gold, raw_mean, raw_var = training_matrix(data, data.corpus == source, unnormalised)
    raw_test = test_matrix(data, data.corpus == target, unnormalised, (raw_mean, raw_var))
    model, matrix, gold, prior = fit(data, data.corpus == source, setting, strength)
    test = test_matrix(data, data.corpus == target, setting, prior)
    logits = model.decision_function(test)
    return {
        "oof_logits": oof_logits,
        "oof_gold": data.gold[data.corpus == source],
        "oof_mahalanobis": oof_distance,
        "oof_mahalanobis_raw": oof_raw,
        "oof_energy": energy_score(oof_logits),
        "logits": logits,
        "gold": data.gold[data.corpus == target],
        "speakers": data.speaker[data.corpus == target],
        "mahalanobis": MahalanobisScore().fit(matrix, gold).score(test),
        "mahalanobis_raw": MahalanobisScore().fit(raw_matrix, raw_gold).score(raw_test),
        "energy": energy_score(logits),
        "t_in": np.array(fit_temperature(softmax(oof_logits), data.gold[data.corpus == source])),
    }


def auroc(in_domain: np.ndarray, shifted: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(np.r_[np.zeros(len(in_domain)), np.ones(len(shifted))], np.r_[in_domain, shifted]))


def target_speaker_temperature(out: dict[str, np.ndarray]) -> np.ndarray:
    """Probabilities with T fitted on the other half of the target speakers (2 folds over sorted speaker ids)."""
    from emotrace.inference.calibration import apply_temperature, fit_temperature

    speakers = np.unique(out["speakers"])
    halves = [np.isin(out["speakers"], speakers[0::2]), np.isin(out["speakers"], speakers[1::2])]
    probabilities = softmax(out["logits"])
    calibrated = np.zeros_like(probabilities)
    for fit_rows, test_rows in (halves, halves[::-1]):
        calibrated[test_rows] = apply_temperature(probabilities[test_rows], fit_temperature(probabilities[fit_rows], out["gold"][fit_rows]))
    return calibrated


def evaluate(out: dict[str, np.ndarray], other: dict[str, np.ndarray]) -> dict[str, Any]:
    from emotrace.inference.calibration import calibration_scores, fit_temperature
    from emotrace.research.ood import OODTemperature

    gold = out["gold"]

    def summary(probabilities: np.ndarray, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        calibration = calibration_scores(probabilities, gold)
        accuracy = 100 * float((probabilities.argmax(1) == gold).mean())
        return {"accuracy": accuracy, "ece": calibration["ece"], "mean_confidence": calibration["mean_confidence"], **(extra or {})}

    methods = {
        "none (T = 1)": summary(softmax(out["logits"])),
        "T fitted in domain": {**scores(out["logits"], gold, float(out["t_in"])), "T": float(out["t_in"])},
        "T fitted on half the target speakers (reference)": summary(target_speaker_temperature(out)),
    }
    shift_temperature = fit_temperature(softmax(other["logits"]), other["gold"])
    methods["T fitted on the other direction (corpus shift)"] = {**scores(out["logits"], gold, shift_temperature), "T": shift_temperature}
    for score in SCORES:
        calibrator = OODTemperature().fit_reference(other[f"oof_{score}"]).fit(other["logits"], other[score], other["gold"])
        calibrator.fit_reference(out[f"oof_{score}"])
        fitted = {"T0": float(np.exp(calibrator.log_t0_)), "beta": float(calibrator.beta_)}
        methods[f"OOD temperature ({score}), fitted on the other direction"] = summary(calibrator.probabilities(out["logits"], out[score]), fitted)
    return {
        "methods": methods,
        "auroc": {score: auroc(out[f"oof_{score}"], out[score]) for score in SCORES},
        "abstain_beyond_in_domain_p95": {score: abstention(out, score) for score in SCORES[:2]},
    }


def abstention(out: dict[str, np.ndarray], score: str) -> dict[str, float | None]:
    """Answer `uncertain` beyond the in-domain 95th percentile of the score: coverage and accuracy either side."""
    from emotrace.research.ood import OODTemperature

    reference = OODTemperature().fit_reference(out[f"oof_{score}"])
    answered = reference.standardise(out[score]) <= 1.0
    correct = out["logits"].argmax(1) == out["gold"]
    return {
        "coverage": 100 * float(answered.mean()),
        "in_domain_coverage": 100 * float((reference.standardise(out[f"oof_{score}"]) <= 1.0).mean()),
        "accuracy_answered": 100 * float(correct[answered].mean()) if answered.any() else None,
        "accuracy_abstained": 100 * float(correct[~answered].mean()) if (~answered).any() else None,
    }


def report(result: dict[str, Any]) -> str:
    lines = [
        f"Confidence across corpora for the row `{result['setting']}` of the table above (5 shared classes). Accuracy in %, ECE "
        "(15 bins), mean confidence. The OOD temperatures are fitted on the other direction's cross-corpus predictions, so no "
        "label of the test corpus's clips calibrates them except through the classifier trained on it there; the half-speakers row "
        "uses target labels and is a reference only. Deterministic (no seeds). "
        f"Generated by `python benchmarks/speech_calibration.py` ({result['computed']}).",
        "",
        "| calibration | EmoDB→nEMO acc. | ECE | conf. | nEMO→EmoDB acc. | ECE | conf. |",
        "|---|---|---|---|---|---|---|",
    ]
    directions = [f"{s}->{t}" for s, t in DIRECTIONS]
    for method in result[directions[0]]["methods"]:
        cells = []
        for direction in directions:
            m = result[direction]["methods"][method]
            cells += [f"{m['accuracy']:.1f}", f"{m['ece']:.3f}", f"{m['mean_confidence']:.2f}"]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    lines += ["", "| out-of-distribution | EmoDB→nEMO | nEMO→EmoDB |", "|---|---|---|"]
    for score in SCORES:
        auc = " | ".join(f"{result[d]['auroc'][score]:.3f}" for d in directions)
        lines.append(f"| AUROC, {score} (in-domain held-out speakers vs the other corpus) | {auc} |")
    for score in SCORES[:2]:
        for key, label in (
            ("coverage", "answered (%) when abstaining beyond the in-domain 95th percentile"),
            ("in_domain_coverage", "answered (%) in domain, same rule"),
            ("accuracy_answered", "accuracy on answered clips (%)"),
            ("accuracy_abstained", "accuracy on abstained clips (%)"),
        ):
            values = [result[d]["abstain_beyond_in_domain_p95"][score][key] for d in directions]
            lines.append(f"| {score}: {label} | " + " | ".join("–" if v is None else f"{v:.1f}" for v in values) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=DEFAULT_DATA)
    parser.add_argument("--setting", default="ComParE: per-speaker + all copies", help="the row of speech_cross_corpus.py to calibrate")
    parser.add_argument("--report", action="store_true", help="only tabulate the cached result")
    args = parser.parse_args()
    setting = next(s for s in SETTINGS if s.name == args.setting)
    path = OUT / f"calibration_{slug(setting.name)}.json"
    if not args.report:
        row = json.loads((OUT / f"{slug(setting.name)}.json").read_text(encoding="utf-8"))
        data = Data(setting.features, args.data_dir)
        outputs = {f"{s}->{t}": direction_outputs(data, setting, row["chosen_C"], s, t) for s, t in DIRECTIONS}
        result: dict[str, Any] = {"setting": setting.name, "computed": computed_on()}
        result["emodb->nemo"] = evaluate(outputs["emodb->nemo"], outputs["nemo->emodb"])
        result["nemo->emodb"] = evaluate(outputs["nemo->emodb"], outputs["emodb->nemo"])
        write_text_atomic(path, json.dumps(result, indent=2) + "\n")
    update_readme("speech_cross_corpus_calibration", report(json.loads(path.read_text(encoding="utf-8"))))


if __name__ == "__main__":
    main()
