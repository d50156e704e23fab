"""Speech: read a recording (or one utterance's span of it) as 16 kHz mono, and describe it with openSMILE
functionals (eGeMAPSv02, Eyben et al., 2016: 88 features; ComParE_2016, Schuller et al., 2016: 6,373).

openSMILE and soundfile are the optional `audio` extra, imported only here, so text-only installs stay light.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from emotrace.errors import EmotraceError

SAMPLE_RATE = 16_000
FEATURE_SETS = ("eGeMAPSv02", "ComParE_2016")
_SILENCE = 1e-4


def import_soundfile():  # type: ignore[no-untyped-def]
    try:
        import soundfile
    except ImportError:
        raise EmotraceError("audio support is not installed", hint="pip install 'emotrace[audio]'") from None
    return soundfile


def load_audio(path: str | Path, start: float | None = None, end: float | None = None) -> np.ndarray:
    """Mono float32 at 16 kHz; `start`/`end` (seconds) cut one utterance out of a longer recording."""
    soundfile = import_soundfile()
    where = str(path)
    if not Path(path).is_file():
        raise EmotraceError("audio file not found", path=where, hint="check the media path (relative to the input file)")
    try:
        info = soundfile.info(where)
        first = 0 if start is None else int(start * info.samplerate)
        last = info.frames if end is None else min(info.frames, int(end * info.samplerate))
        if first >= info.frames or last <= first:
            raise EmotraceError(
                f"span {start}–{end} s is empty or outside the recording ({info.frames / info.samplerate:.2f} s)",
                path=where,
                hint="check the utterance's start and end times",
            )
        samples, rate = soundfile.read(where, start=first, stop=last, dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError) as error:
        raise EmotraceError(f"cannot decode audio ({error})", path=where, hint="convert it to WAV or FLAC") from None
    return to_sample_rate(samples.mean(axis=1), rate)


def to_sample_rate(samples: np.ndarray, rate: int) -> np.ndarray:
    """Samples (along the last axis) at `rate` resampled to SAMPLE_RATE, as float32."""
    if rate == SAMPLE_RATE:
        return samples.astype(np.float32, copy=False)
    from scipy.signal import resample_poly

    divisor = np.gcd(rate, SAMPLE_RATE)
    return resample_poly(samples, SAMPLE_RATE // divisor, rate // divisor, axis=-1).astype(np.float32)


def trim_silence(wave: np.ndarray) -> np.ndarray:
    """Drop leading and trailing digital silence (zero padding), which otherwise dominates pause and energy features."""
    voiced = np.flatnonzero(np.abs(wave) > _SILENCE)
    return wave[voiced[0] : voiced[-1] + 1] if voiced.size else wave


class FunctionalsEncoder:
    """`embed(waves) -> (N, d)`: openSMILE functionals of 16 kHz mono waves (trimmed of padding first)."""

    def __init__(self, feature_set: str = "eGeMAPSv02") -> None:
        if feature_set not in FEATURE_SETS:
            raise EmotraceError(f"unknown openSMILE feature set '{feature_set}'", hint=f"choose one of {', '.join(FEATURE_SETS)}")
        self.feature_set = feature_set
        self._smile = None

    @property
    def encoder_id(self) -> str:
        return f"opensmile/{self.feature_set}/functionals"

    def embed(self, waves: Sequence[np.ndarray]) -> np.ndarray:
        if self._smile is None:
            try:
                import opensmile
            except ImportError:
                raise EmotraceError("audio support is not installed", hint="pip install 'emotrace[audio]'") from None
            self._smile = opensmile.Smile(feature_set=getattr(opensmile.FeatureSet, self.feature_set), feature_level=opensmile.FeatureLevel.Functionals)
        rows = [self._smile.process_signal(trim_silence(wave), SAMPLE_RATE).to_numpy()[0] for wave in waves]
        return np.stack(rows).astype(np.float32) if rows else np.zeros((0, 0), dtype=np.float32)


def standardize_per_speaker(features: np.ndarray, speakers: Sequence[str]) -> np.ndarray:
    """z-score every feature within each speaker (unsupervised speaker normalisation, standard in speech emotion
    recognition since Schuller et al., 2009): it removes voice identity that would otherwise swamp emotion cues."""
    normalised = np.empty_like(features)
    speaker_array = np.asarray(speakers)
    for speaker in np.unique(speaker_array):
        rows = speaker_array == speaker
        mean = features[rows].mean(0)
        std = features[rows].std(0)
        normalised[rows] = (features[rows] - mean) / np.where(std > 1e-8, std, 1.0)
    return normalised


def mel_filterbank(n_mels: int, n_fft: int, rate: int = SAMPLE_RATE, low: float = 20.0, high: float | None = None) -> np.ndarray:
    """Triangular filters evenly spaced on the HTK mel scale, shape (n_mels, n_fft // 2 + 1)."""

    def to_mel(hz: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + hz / 700.0)

    def to_hz(mel: np.ndarray) -> np.ndarray:
        return 700.0 * (10 ** (mel / 2595.0) - 1.0)

    edges = to_hz(np.linspace(to_mel(np.array(low)), to_mel(np.array(high or rate / 2)), n_mels + 2))
    bins = np.linspace(0, rate / 2, n_fft // 2 + 1)
    rising = (bins[None, :] - edges[:-2, None]) / (edges[1:-1, None] - edges[:-2, None])
    falling = (edges[2:, None] - bins[None, :]) / (edges[2:, None] - edges[1:-1, None])
    return np.maximum(0.0, np.minimum(rising, falling)).astype(np.float32)


def log_mel(wave: np.ndarray, n_mels: int = 64, n_fft: int = 512, hop: int = 160) -> np.ndarray:
    """Log-mel spectrogram (n_mels, frames) at 10 ms hops: the 'image' the speech CNN classifies."""
    import torch

    spectrum = torch.stft(torch.from_numpy(wave), n_fft, hop, window=torch.hann_window(n_fft), return_complex=True).abs() ** 2
    mel = torch.from_numpy(mel_filterbank(n_mels, n_fft)) @ spectrum
    return torch.log(mel + 1e-6).numpy()
