"""Speech input: every recording people actually have ends as 16 kHz mono, or as one clear error."""

from pathlib import Path

import numpy as np
import pytest

sf = pytest.importorskip("soundfile")

from emotrace.encoders.audio import SAMPLE_RATE, FunctionalsEncoder, load_audio, standardize_per_speaker, trim_silence  # noqa: E402
from emotrace.errors import EmotraceError  # noqa: E402


def tone(seconds: float, rate: int, channels: int = 1, frequency: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    wave = (0.3 * np.sin(2 * np.pi * frequency * t)).astype(np.float32)
    return np.stack([wave] * channels, axis=1) if channels > 1 else wave


@pytest.mark.parametrize("rate", [8_000, 22_050, 44_100, 96_000])
def test_any_sample_rate_is_resampled_to_16k(tmp_path: Path, rate: int) -> None:
    path = tmp_path / "clip.wav"
    sf.write(path, tone(1.0, rate), rate)
    wave = load_audio(path)
    assert wave.dtype == np.float32
    assert abs(len(wave) - SAMPLE_RATE) <= 2


def test_stereo_is_mixed_to_mono_and_flac_reads(tmp_path: Path) -> None:
    path = tmp_path / "clip.flac"
    sf.write(path, tone(0.5, 16_000, channels=2), 16_000)
    wave = load_audio(path)
    assert wave.ndim == 1 and len(wave) == 8_000
    assert np.max(np.abs(wave)) == pytest.approx(0.3, abs=1e-3)


def test_start_and_end_cut_one_utterance_from_a_long_recording(tmp_path: Path) -> None:
    path = tmp_path / "meeting.wav"
    sf.write(path, tone(3.0, 16_000), 16_000)
    assert len(load_audio(path, start=1.0, end=1.5)) == 8_000
    assert len(load_audio(path, start=2.5)) == 8_000


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"", "cannot decode audio"), (b"RIFF\x10\x00\x00\x00WAVEfmt garbage", "cannot decode audio")],
)
def test_corrupt_or_empty_file_is_a_clear_error(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "broken.wav"
    path.write_bytes(content)
    with pytest.raises(EmotraceError, match=expected) as error:
        load_audio(path)
    assert "broken.wav" in str(error.value)


def test_span_outside_the_recording_and_missing_file_are_clear_errors(tmp_path: Path) -> None:
    path = tmp_path / "short.wav"
    sf.write(path, tone(1.0, 16_000), 16_000)
    with pytest.raises(EmotraceError, match="outside the recording"):
        load_audio(path, start=5.0, end=6.0)
    with pytest.raises(EmotraceError, match="audio file not found"):
        load_audio(tmp_path / "missing.wav")


def test_trim_silence_removes_zero_padding_only() -> None:
    wave = np.concatenate([np.zeros(100), tone(0.01, 16_000), np.zeros(300)]).astype(np.float32)
    trimmed = trim_silence(wave)
    assert 155 <= len(trimmed) <= 160
    assert abs(trimmed[0]) > 1e-4 and abs(trimmed[-1]) > 1e-4
    assert len(trim_silence(np.zeros(50, dtype=np.float32))) == 50


def test_per_speaker_standardisation_gives_zero_mean_unit_variance_per_speaker() -> None:
    rng = np.random.default_rng(0)
    features = np.concatenate([rng.normal(5, 2, (20, 3)), rng.normal(-3, 0.5, (10, 3))])
    normalised = standardize_per_speaker(features, ["a"] * 20 + ["b"] * 10)
    for rows in (slice(0, 20), slice(20, 30)):
        np.testing.assert_allclose(normalised[rows].mean(0), 0, atol=1e-9)
        np.testing.assert_allclose(normalised[rows].std(0), 1, atol=1e-9)


def test_egemaps_functionals_are_88_numbers_that_tell_pitch_apart() -> None:
    pytest.importorskip("opensmile")
    encoder = FunctionalsEncoder("eGeMAPSv02")
    low, high = encoder.embed([tone(1.0, 16_000, frequency=120.0), tone(1.0, 16_000, frequency=300.0)])
    assert low.shape == (88,)
    assert np.isfinite(low).all()
    assert not np.allclose(low, high)
    with pytest.raises(EmotraceError, match="feature set"):
        FunctionalsEncoder("MFCC-9000")


def test_log_mel_has_10ms_frames_and_the_filterbank_covers_the_spectrum() -> None:
    from emotrace.encoders.audio import log_mel, mel_filterbank

    assert log_mel(tone(1.0, 16_000), n_mels=40).shape == (40, 101)
    bank = mel_filterbank(40, 512)
    assert bank.shape == (40, 257)
    assert (bank.sum(1) > 0).all()


def test_speech_cnn_learns_to_tell_a_low_from_a_high_voice() -> None:
    import torch

    from emotrace.encoders.speech_cnn import SpeechCNN, augment_spectrograms, spectrogram_batch
    from emotrace.research.clips import ClipTrainConfig, train_classifier

    rng = np.random.default_rng(0)
    waves = [tone(0.5, 16_000, frequency=130.0 if i % 2 else 900.0) + 0.01 * rng.normal(size=8_000).astype(np.float32) for i in range(24)]
    targets = torch.tensor([i % 2 for i in range(24)])
    spectrograms, lengths = spectrogram_batch(waves, 32)
    config = ClipTrainConfig(epochs=15, batch_size=8, lr=1e-2)
    model = train_classifier(lambda: SpeechCNN(["high", "low"], n_mels=32, width=4), (spectrograms, lengths), targets, config, augment_spectrograms)
    probabilities = model.predict(waves[:6])
    assert probabilities.shape == (6, 2)
    assert (probabilities.argmax(1) == np.array([i % 2 for i in range(6)])).all()
    assert model.embed(waves[:3]).shape == (3, 128)
