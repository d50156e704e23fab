"""Waveform augmentation for speech emotion training: copies of a clip as another recording chain would deliver it,
so a classifier learns emotion cues that survive a change of microphone, line and speaker rate.

Three kinds, each cheap enough to run before openSMILE on every training clip:
- `noise`: additive pink (1/f) noise at a random SNR of 20, 10 or 5 dB (closer to room and babble noise than white);
- `telephone`: 300–3,400 Hz band-pass, 8 kHz resampling and 8-bit μ-law companding (the G.711 narrowband line);
- `speed`: resampling by 0.9 or 1.1, which changes tempo and pitch together (speed perturbation, Ko et al., 2015).
"""

from __future__ import annotations

import numpy as np

from emotrace.encoders.audio import SAMPLE_RATE
from emotrace.errors import EmotraceError

KINDS = ("noise", "telephone", "speed")
SNRS_DB = (20.0, 10.0, 5.0)
SPEEDS = (0.9, 1.1)


def pink_noise(length: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-power noise whose power falls as 1/f: white noise shaped in the frequency domain."""
    spectrum = np.fft.rfft(rng.standard_normal(length))
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1.0))
    noise = np.fft.irfft(spectrum, n=length)
    return noise / max(float(np.sqrt(np.mean(noise**2))), 1e-12)


def add_noise(wave: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    power = float(np.mean(wave**2)) or 1e-10
    return (wave + pink_noise(len(wave), rng) * np.sqrt(power / 10 ** (snr_db / 10))).astype(np.float32)


def telephone(wave: np.ndarray) -> np.ndarray:
    """The narrowband telephone chain, returned at 16 kHz so the same feature extractor reads it."""
    from scipy.signal import butter, resample_poly, sosfiltfilt

    band = sosfiltfilt(butter(6, (300, 3400), btype="bandpass", fs=SAMPLE_RATE, output="sos"), wave)
    narrow = resample_poly(band, 1, 2)
    peak = max(float(np.abs(narrow).max()), 1e-8)
    mu = 255.0
    scaled = narrow / peak
    companded = np.round(np.sign(scaled) * np.log1p(mu * np.abs(scaled)) / np.log1p(mu) * 127) / 127
    expanded = np.sign(companded) * np.expm1(np.abs(companded) * np.log1p(mu)) / mu * peak
    return resample_poly(expanded, 2, 1).astype(np.float32)


def change_speed(wave: np.ndarray, factor: float) -> np.ndarray:
    """Play `factor` times faster: fewer samples at the same rate, so pitch rises with tempo."""
    from scipy.signal import resample_poly

    return resample_poly(wave, 10, int(round(10 * factor))).astype(np.float32)


def augment(wave: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """One augmented copy of a 16 kHz wave; `rng` draws the SNR or speed, so a seed fixes the copy."""
    if kind == "noise":
        return add_noise(wave, float(rng.choice(SNRS_DB)), rng)
    if kind == "telephone":
        return telephone(wave)
    if kind == "speed":
        return change_speed(wave, float(rng.choice(SPEEDS)))
    raise EmotraceError(f"unknown augmentation '{kind}'", hint=f"choose one of {', '.join(KINDS)}")
