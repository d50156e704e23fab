"""Speech emotion across corpora: EmoDB (acted German) and nEMO (acted Polish) on their 5 shared classes (anger,
fear, joy, neutral, sadness), with each training change measured on its own.

    python benchmarks/speech_features.py            # openSMILE features, clean + augmented, cached per clip
    python benchmarks/speech_cross_corpus.py        # every missing row, then the README block
    python benchmarks/speech_cross_corpus.py --report

Every row reports leave-one-corpus-out (train on all of one corpus, test on all of the other) and leave-one-speaker-
out within each corpus (train on the other speakers of that corpus; with `train on both`, also on all of the other
corpus). The classifier's C is chosen per training corpus by its own leave-one-speaker-out UAR (in-domain dev), never
on the test corpus; probabilities are temperature-scaled with T fitted on those same out-of-fold predictions, so the
cross-corpus ECE is what a user of an in-domain-calibrated model would see. Test speakers are normalised with their
own unlabelled clips (all of them, or a few where the row says so). One JSON per row in
benchmarks/results/speech_cross_corpus/.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_DATA, RESULTS, mean_std, update_readme, write_text_atomic  # noqa: E402
from emodb import make_classifier, uar  # noqa: E402
from speech_features import SHARED, Clip, clips, load_features  # noqa: E402

OUT = RESULTS / "speech_cross_corpus"
# C grids: EmoDB's nested search (benchmarks/emodb.py) chose 0.01–1 for eGeMAPS and 0.001–0.01 for ComParE.
STRENGTHS = {"eGeMAPSv02": (1e-3, 1e-2, 1e-1, 1.0), "ComParE_2016": (1e-4, 1e-3, 1e-2)}
SHRINK_K = 10.0
FEW_CLIPS = 5
SEEDS = 5


@dataclass(frozen=True)
class Setting:
    """One row: what the classifier sees and how it is trained."""

    name: str
    features: str = "eGeMAPSv02"
    norm: str = "speaker"  # global | corpus | speaker (z-score per group, shrunk toward training statistics by n/(n+k))
    k: float = 0.0
    augmentation: str = "none"  # none | noise | telephone | speed | all
    classifier: str = "logreg"  # logreg | linear-svm | logreg-dro
    train_on_both: bool = False
    test_clips: int = 0  # > 0: a test speaker's statistics come from this many random clips of theirs (seeded)
    balance_corpora: bool = False  # weight clips so each corpus counts as much as the other (with train_on_both)


SETTINGS = (
    Setting("global z-score (training statistics)", norm="global"),
    Setting("per-corpus z-score", norm="corpus"),
    Setting("per-speaker z-score", norm="speaker"),
    Setting(f"per-speaker z-score shrunk (k = {SHRINK_K:g})", k=SHRINK_K),
    Setting(f"per-speaker z-score from {FEW_CLIPS} test clips", test_clips=FEW_CLIPS),
    Setting(f"per-speaker shrunk (k = {SHRINK_K:g}) from {FEW_CLIPS} test clips", k=SHRINK_K, test_clips=FEW_CLIPS),
    Setting("per-speaker, linear SVM", classifier="linear-svm"),
    Setting("per-speaker, group DRO over training speakers", classifier="logreg-dro"),
    Setting("per-speaker + noise copies", augmentation="noise"),
    Setting("per-speaker + telephone copies", augmentation="telephone"),
    Setting("per-speaker + speed copies", augmentation="speed"),
    Setting("per-speaker + all copies", augmentation="all"),
    Setting("ComParE: global z-score", features="ComParE_2016", norm="global"),
    Setting("ComParE: per-speaker z-score", features="ComParE_2016"),
    Setting("ComParE: per-speaker + all copies", features="ComParE_2016", augmentation="all"),
    Setting("per-speaker, trained on both corpora", train_on_both=True),
    Setting("ComParE: per-speaker, trained on both corpora", features="ComParE_2016", train_on_both=True),
    Setting("per-speaker, trained on both corpora, corpus-balanced", train_on_both=True, balance_corpora=True),
    Setting("ComParE: per-speaker, trained on both corpora, corpus-balanced", features="ComParE_2016", train_on_both=True, balance_corpora=True),
    Setting(
        "ComParE: per-speaker + all copies, trained on both corpora, corpus-balanced",
        features="ComParE_2016",
        augmentation="all",
        train_on_both=True,
        balance_corpora=True,
    ),
)


class Data:
    """Clean and augmented features of the shared-class clips, with the groups each normalisation uses."""

    def __init__(self, feature_set: str, data_dir: str) -> None:
        shared = [c for c in clips(data_dir) if c.emotion in SHARED]
        self.clips: list[Clip] = shared
        self.clean = load_features(shared, feature_set, "clean")
        self.augmented = load_features(shared, feature_set, "augmented")
        self.corpus = np.array([c.corpus for c in shared])
        self.speaker = np.array([f"{c.corpus}/{c.speaker}" for c in shared])
        self.kind = np.array([c.augmentation for c in shared])
        self.gold = np.array([SHARED.index(c.emotion) for c in shared])


def groups(data: Data, rows: np.ndarray, norm: str, augmented: bool) -> np.ndarray:
    base = data.corpus[rows] if norm == "corpus" else data.speaker[rows]
    return np.char.add(base, np.char.add("/", data.kind[rows])) if augmented else base


def copy_rows(data: Data, rows: np.ndarray, setting: Setting) -> np.ndarray:
    """The training clips whose augmented copy joins the training set."""
    if setting.augmentation == "none":
        return rows[:0]
    return rows if setting.augmentation == "all" else rows[data.kind[rows] == setting.augmentation]


def training_matrix(data: Data, train: np.ndarray, setting: Setting) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(normalised features, gold, prior mean, prior var): clean training clips plus the chosen augmented copies,
    each copy normalised within its own (speaker, copy kind) group, as a new recording chain would be."""
    from emotrace.research.speaker_norm import shrunk_standardize

    rows = np.flatnonzero(train)
    prior_mean, prior_var = data.clean[rows].mean(0), data.clean[rows].var(0)
    if setting.norm == "global":
        parts = [(data.clean[rows] - prior_mean) / np.sqrt(np.where(prior_var > 1e-12, prior_var, 1.0))]
        gold = [data.gold[rows]]
    else:
        parts = [shrunk_standardize(data.clean[rows], groups(data, rows, setting.norm, False), prior_mean, prior_var, setting.k)]
        gold = [data.gold[rows]]
    if setting.augmentation != "none":
        copies = copy_rows(data, rows, setting)
        if setting.norm == "global":
            parts.append((data.augmented[copies] - prior_mean) / np.sqrt(np.where(prior_var > 1e-12, prior_var, 1.0)))
        else:
            parts.append(shrunk_standardize(data.augmented[copies], groups(data, copies, setting.norm, True), prior_mean, prior_var, setting.k))
        gold.append(data.gold[copies])
    return np.concatenate(parts).astype(np.float32), np.concatenate(gold), prior_mean, prior_var


def test_matrix(data: Data, test: np.ndarray, setting: Setting, prior: tuple[np.ndarray, np.ndarray], seed: int = 0) -> np.ndarray:
    """Clean test clips normalised without labels, by their group's statistics shrunk toward the training statistics:
    a speaker's from all their clips, or from `test_clips` random ones when the row says so; a corpus's from all its
    clips, the training speakers' too (no labels are used)."""
    from emotrace.research.speaker_norm import shrunk_standardize

    prior_mean, prior_var = prior
    if setting.norm == "global":
        return ((data.clean[test] - prior_mean) / np.sqrt(np.where(prior_var > 1e-12, prior_var, 1.0))).astype(np.float32)
    if setting.norm == "corpus":
        corpora = np.isin(data.corpus, np.unique(data.corpus[test]))
        normalised = shrunk_standardize(data.clean[corpora], data.corpus[corpora], prior_mean, prior_var, setting.k)
        return normalised[test[corpora]]
    rows = np.flatnonzero(test)
    names = groups(data, rows, setting.norm, False)
    counted = np.ones(len(rows), dtype=bool)
    if setting.test_clips:
        rng = np.random.default_rng(seed)
        counted[:] = False
        for name in np.unique(names):
            members = np.flatnonzero(names == name)
            counted[rng.choice(members, min(setting.test_clips, len(members)), replace=False)] = True
    return shrunk_standardize(data.clean[rows], names, prior_mean, prior_var, setting.k, counted)


def fit(data: Data, train: np.ndarray, setting: Setting, strength: float) -> tuple[Any, np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """(classifier, training matrix, its gold, prior statistics); corpus-balanced rows weight each corpus's clips by
    1 / its clip count (times the class balancing), so the larger corpus does not drown the smaller."""
    matrix, gold, mean, var = training_matrix(data, train, setting)
    rows = np.flatnonzero(train)
    weights = None
    if setting.balance_corpora:
        corpora = np.concatenate([data.corpus[rows], data.corpus[copy_rows(data, rows, setting)]])
        counts = {corpus: int((corpora == corpus).sum()) for corpus in np.unique(corpora)}
        weights = np.array([len(corpora) / (len(counts) * counts[corpus]) for corpus in corpora])
    if setting.classifier == "logreg-dro":
        speakers = np.concatenate([data.speaker[rows], data.speaker[copy_rows(data, rows, setting)]])
        return group_dro(matrix, gold, speakers, strength), matrix, gold, (mean, var)
    return make_classifier(setting.classifier, strength).fit(matrix, gold, sample_weight=weights), matrix, gold, (mean, var)


def group_dro(matrix: np.ndarray, gold: np.ndarray, groups: np.ndarray, strength: float, rounds: int = 8, step: float = 2.0) -> Any:
    """Group DRO (Sagawa et al., ICLR 2020) in batch form: refit a class-balanced logistic regression with each
    group's clips weighted by q_g, raising q_g by exp(step * the group's training loss) after every fit, so the
    worst-fitted speakers (the least typical voices) pull the boundary toward them."""
    names, index = np.unique(groups, return_inverse=True)
    counts = np.bincount(index)
    q = np.full(len(names), 1 / len(names))
    for _ in range(rounds):
        weights = q[index] / counts[index] * len(gold)
        model = make_classifier("logreg", strength).fit(matrix, gold, sample_weight=weights)
        log_probability = model.predict_log_proba(matrix)[np.arange(len(gold)), np.searchsorted(model.classes_, gold)]
        q = q * np.exp(step * np.bincount(index, weights=-log_probability) / counts)
        q /= q.sum()
    return model


def scores(logits: np.ndarray, gold: np.ndarray, temperature: float) -> dict[str, float]:
    from sklearn.metrics import accuracy_score

    from emotrace.inference.calibration import calibration_scores

    probabilities = softmax(logits / temperature)
    calibration = calibration_scores(probabilities, gold)
    return {
        "uar": uar(gold, logits.argmax(1)),
        "accuracy": 100 * float(accuracy_score(gold, logits.argmax(1))),
        "ece": calibration["ece"],
        "mean_confidence": calibration["mean_confidence"],
    }


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(1, keepdims=True)
    return np.exp(shifted) / np.exp(shifted).sum(1, keepdims=True)


def loso_logits(data: Data, corpus: str, setting: Setting, strength: float, ood: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """Out-of-fold logits of one corpus's clips: each speaker scored by a model that never heard them; with `ood`,
    also each clip's Mahalanobis score against that fold's training features (the in-domain reference)."""
    from emotrace.research.ood import MahalanobisScore

    in_corpus = data.corpus == corpus
    logits = np.zeros((int(in_corpus.sum()), len(SHARED)))
    distances = np.zeros(len(logits)) if ood else None
    positions = np.flatnonzero(in_corpus)
    for speaker in np.unique(data.speaker[in_corpus]):
        held_out = data.speaker == speaker
        train = ~held_out if setting.train_on_both else in_corpus & ~held_out
        model, matrix, gold, prior = fit(data, train, setting, strength)
        test = test_matrix(data, held_out, setting, prior)
        where = np.searchsorted(positions, np.flatnonzero(held_out))
        logits[where] = model.decision_function(test)
        if distances is not None:
            distances[where] = MahalanobisScore().fit(matrix, gold).score(test)
    return logits, distances


def run(setting: Setting, data: Data) -> dict[str, Any]:
    """Choose C per corpus on its leave-one-speaker-out, then score in domain and across corpora."""
    from emotrace.inference.calibration import fit_temperature

    result: dict[str, Any] = {"setting": asdict(setting), "loso": {}, "cross": {}, "chosen_C": {}}
    best: dict[str, tuple[float, np.ndarray]] = {}
    for corpus in ("emodb", "nemo"):
        gold = data.gold[data.corpus == corpus]
        grid = STRENGTHS[setting.features]
        by_strength = {strength: loso_logits(data, corpus, setting, strength)[0] for strength in grid}
        strength = max(grid, key=lambda s: uar(gold, by_strength[s].argmax(1)))
        logits = by_strength[strength]
        temperature = fit_temperature(softmax(logits), gold)
        best[corpus] = (strength, logits)
        result["chosen_C"][corpus] = strength
        result["loso"][corpus] = {
            **scores(logits, gold, temperature),
            "temperature": temperature,
            "uar_per_C": {str(s): uar(gold, by_strength[s].argmax(1)) for s in grid},
        }
    if setting.train_on_both:
        return result
    for source, target in (("emodb", "nemo"), ("nemo", "emodb")):
        strength, _ = best[source]
        model, _, _, prior = fit(data, data.corpus == source, setting, strength)
        test = data.corpus == target
        temperature = result["loso"][source]["temperature"]
        runs = [model.decision_function(test_matrix(data, test, setting, prior, seed)) for seed in range(SEEDS if setting.test_clips else 1)]
        per_seed = [scores(logits, data.gold[test], temperature) for logits in runs]
        result["cross"][f"{source}->{target}"] = {metric: [s[metric] for s in per_seed] for metric in per_seed[0]}
    return result


def slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name.lower()).strip("_")


def computed_on() -> str:
    from common import cpu_description

    return f"{date.today().isoformat()}; {cpu_description()}"


def report(results: list[dict[str, Any]]) -> str:
    """The README block: one row per setting, every cell as mean ± std over seeds where the row has seeds."""

    def cell(value: float | list[float], scale: float = 1.0, digits: int = 1) -> str:
        values = [v * scale for v in (value if isinstance(value, list) else [value])]
        return mean_std(values) if digits == 1 else f"{np.mean(values):.{digits}f}" + (f" ± {np.std(values, ddof=1):.{digits}f}" if len(values) > 1 else "")

    lines = [
        "EmoDB (408 clips, 10 speakers) and nEMO (3,812 clips, 9 speakers) on their 5 shared classes. UAR and accuracy in %; "
        "ECE (15 bins) and mean confidence after temperature scaling fitted on the training corpus's out-of-fold predictions. "
        f"Rows with a few test clips per speaker are mean ± std over {SEEDS} seeds (which clips); the others are deterministic. "
        "Rows are eGeMAPSv02 (88 functionals) + class-balanced logistic regression unless the name says otherwise. "
        "C is chosen on each training corpus's own leave-one-speaker-out, from 3–4 values: the LOSO columns report that same "
        "LOSO, so they are slightly optimistic (benchmarks/emodb.py has the nested 7-class numbers); the few-clip rows' LOSO is "
        "seed 0. Rows trained on both corpora have no leave-one-corpus-out; their LOSO also trains on all of the other corpus. "
        f"Generated by `python benchmarks/speech_cross_corpus.py` from the cached rows ({results[0]['computed']}).",
        "",
        "| setting | EmoDB→nEMO UAR | ECE | conf. | acc. | nEMO→EmoDB UAR | ECE | conf. | acc. | EmoDB LOSO UAR | nEMO LOSO UAR |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        cross = []
        for direction in ("emodb->nemo", "nemo->emodb"):
            if direction in r["cross"]:
                c = r["cross"][direction]
                cross += [cell(c["uar"]), cell(c["ece"], digits=3), cell(c["mean_confidence"], digits=2), cell(c["accuracy"])]
            else:
                cross += ["–"] * 4
        loso = [cell(r["loso"][corpus]["uar"]) for corpus in ("emodb", "nemo")]
        lines.append(f"| {r['setting']['name']} | " + " | ".join(cross + loso) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=DEFAULT_DATA)
    parser.add_argument("--report", action="store_true", help="only tabulate the cached rows; compute nothing")
    parser.add_argument("--only", help="compute only the rows whose name contains this text")
    args = parser.parse_args()
    loaded: dict[str, Data] = {}
    for setting in SETTINGS:
        path = OUT / f"{slug(setting.name)}.json"
        if args.report or path.is_file() or (args.only and args.only not in setting.name):
            continue
        if setting.features not in loaded:
            loaded[setting.features] = Data(setting.features, args.data_dir)
        started = time.perf_counter()
        result = {**run(setting, loaded[setting.features]), "computed": computed_on(), "seconds": time.perf_counter() - started}
        OUT.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps(result, indent=2) + "\n")
        print(f"{setting.name}: {json.dumps({k: v for k, v in result.items() if k in ('cross', 'chosen_C')})}", flush=True)
    done = [json.loads(p.read_text(encoding="utf-8")) for s in SETTINGS if (p := OUT / f"{slug(s.name)}.json").is_file()]
    if done:
        update_readme("speech_cross_corpus", report(done))


if __name__ == "__main__":
    main()
