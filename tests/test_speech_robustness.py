"""Speaker normalisation with few clips, waveform augmentation and out-of-distribution confidence."""

import numpy as np

from emotrace.encoders.audio import SAMPLE_RATE
from emotrace.research.augment import add_noise, change_speed, telephone
from emotrace.research.ood import MahalanobisScore, OODTemperature
from emotrace.research.speaker_norm import shrunk_standardize


def _tone(hz: float, seconds: float = 1.0) -> np.ndarray:
    return np.sin(2 * np.pi * hz * np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE).astype(np.float32)


def test_shrinkage_zero_is_exact_per_speaker_z_scoring_and_a_lone_clip_falls_back_to_the_prior() -> None:
    rng = np.random.default_rng(0)
    features = np.concatenate([rng.normal(5, 2, (40, 3)), rng.normal(-5, 1, (1, 3))])
    speakers = ["a"] * 40 + ["b"]
    exact = shrunk_standardize(features, speakers, np.zeros(3), np.ones(3), k=0)
    assert np.allclose(exact[:40].mean(0), 0, atol=1e-5) and np.allclose(exact[:40].std(0), 1, atol=1e-4)
    shrunk = shrunk_standardize(features, speakers, np.zeros(3), np.ones(3), k=1000)
    assert np.allclose(shrunk[40], features[40], rtol=0.05)


def test_telephone_removes_the_band_above_3400_hz_and_keeps_speech_band() -> None:
    assert np.sqrt(np.mean(telephone(_tone(6000)) ** 2)) < 0.03  # from 0.71: over 27 dB down
    assert np.sqrt(np.mean(telephone(_tone(1000)) ** 2)) > 0.6


def test_noise_is_added_at_the_asked_snr_and_speed_changes_the_length() -> None:
    clean = _tone(440)
    noisy = add_noise(clean, 10.0, np.random.default_rng(0))
    snr = 10 * np.log10(np.mean(clean**2) / np.mean((noisy - clean) ** 2))
    assert abs(snr - 10.0) < 0.1
    assert abs(len(change_speed(clean, 1.1)) - len(clean) / 1.1) <= 1


def test_far_features_score_as_out_of_distribution_and_lose_confidence() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 300)
    features = rng.normal(0, 1, (300, 8)) + np.eye(8)[labels] * 3
    scorer = MahalanobisScore(components=4).fit(features, labels)
    near, far = scorer.score(features[:50]), scorer.score(features[:50] + 10)
    assert far.min() > near.max()
    logits = np.tile([4.0, 0.0, 0.0], (100, 1))
    scores = np.concatenate([near, far])
    gold = np.array([0] * 50 + list(rng.integers(0, 3, 50)))  # right near the data, guessing far from it
    calibrated = OODTemperature().fit_reference(near).fit(logits, scores, gold)
    probabilities = calibrated.probabilities(logits, scores)
    assert calibrated.beta_ > 0 and probabilities[50:].max(1).mean() < probabilities[:50].max(1).mean() - 0.3


def test_a_speaker_normalised_from_a_few_counted_clips_uses_only_those() -> None:
    features = np.array([[0.0], [2.0], [100.0], [-100.0]])
    counted = np.array([True, True, False, False])
    normalised = shrunk_standardize(features, ["a"] * 4, np.zeros(1), np.ones(1), k=0, counted=counted)
    assert np.allclose(normalised[:, 0], [-1.0, 1.0, 99.0, -101.0])
