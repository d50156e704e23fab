"""Regenerates call.flac: a support call with no transcript, agent on the left channel and customer on the right,
as call centres record them. Speech is synthesised with espeak-ng (apt-get install espeak-ng); two voices, with
pitch, speed and loudness hinting at each turn's mood. TURNS below is the ground truth the tests compare with.

    python examples/recorded_call/make_recording.py
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile
from scipy.signal import resample_poly

HERE = Path(__file__).resolve().parent
RATE, PAUSE = 16_000, 0.8  # seconds of silence between turns
TURNS = [  # channel (0: agent, 1: customer), espeak voice, pitch, speed, amplitude, text
    (0, "en-us+m3", 45, 155, 100, "Thank you for calling. How can I help you today?"),
    (1, "en-us+f3", 70, 200, 170, "My order arrived broken, and I am really angry about it!"),
    (0, "en-us+m3", 40, 140, 100, "I am so sorry. I will send you a replacement today."),
    (1, "en-us+f3", 80, 185, 140, "Oh, that is wonderful. Thank you so much!"),
]


def speak(voice: str, pitch: int, speed: int, amplitude: int, text: str) -> np.ndarray:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "turn.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(speed), "-a", str(amplitude), "-w", str(path), text], check=True)
        wave, rate = soundfile.read(path, dtype="float32")
    return resample_poly(wave, RATE, rate).astype(np.float32)


def main() -> None:
    channels: list[list[np.ndarray]] = [[], []]
    for channel, *voice in TURNS:
        wave = speak(*voice)
        silence = np.zeros(len(wave) + int(PAUSE * RATE), dtype=np.float32)
        channels[channel].append(np.concatenate([wave, silence[len(wave) :]]))
        channels[1 - channel].append(silence)
    stereo = np.stack([np.concatenate(parts) for parts in channels], axis=1)
    soundfile.write(HERE / "call.flac", np.clip(stereo, -1, 1), RATE, subtype="PCM_16")


if __name__ == "__main__":
    main()
