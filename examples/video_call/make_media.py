"""Regenerates the recordings of video_call.jsonl: one call recording (call.wav) and one video (call.mp4).

Speech is synthesised with espeak-ng (apt-get install espeak-ng); pitch, speed and loudness hint at each turn's
mood. The face is scikit-image's `astronaut` (NASA portrait of Eileen Collins, public domain); while Houston speaks
the video shows a plain card, and during turn 4 the camera pans off the face, so some frames have no face.

    python examples/video_call/make_media.py
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import cv2
import numpy as np
import soundfile
from scipy.signal import resample_poly
from skimage import data

HERE = Path(__file__).resolve().parent
RATE, FPS, SIZE, GAP = 16_000, 10, 240, 0.4
TURNS = [  # speaker, text, espeak pitch, speed, amplitude
    ("Houston", "Atlantis, this is Houston. How is everything up there?", 45, 150, 100),
    ("Astronaut", "Houston, everything is going beautifully. The view is amazing!", 80, 185, 150),
    ("Houston", "We are seeing a warning light on the cooling system.", 40, 140, 100),
    ("Astronaut", "Oh no. That is worrying. We cannot lose the cooling loop.", 70, 200, 170),
    ("Houston", "False alarm, it was a faulty sensor. You are all clear.", 50, 160, 110),
    ("Astronaut", "What a relief! Thank you so much, Houston!", 85, 190, 150),
]


def speak(text: str, pitch: int, speed: int, amplitude: int) -> np.ndarray:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "turn.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(path), "-p", str(pitch), "-s", str(speed), "-a", str(amplitude), text], check=True)
        wave, rate = soundfile.read(path, dtype="float32")
    divisor = np.gcd(rate, RATE)
    return resample_poly(wave, RATE // divisor, rate // divisor).astype(np.float32)


def astronaut_frame(progress: float, pan_away: bool) -> np.ndarray:
    """A slow zoom on the face; with `pan_away`, the second half of the turn slides to the empty right side."""
    image = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    side = int(420 - 60 * progress)
    left = int(40 + 20 * progress) if not (pan_away and progress > 0.5) else 512 - 190
    top = 0
    window = image[top : top + side, left : min(512, left + side)]
    return cv2.resize(window, (SIZE, SIZE), interpolation=cv2.INTER_AREA)


def houston_card() -> np.ndarray:
    card = np.tile(np.linspace(40, 90, SIZE, dtype=np.uint8)[:, None, None], (1, SIZE, 3))
    cv2.putText(card, "HOUSTON", (50, 125), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (230, 230, 230), 2)
    return card


def main() -> None:
    waves, utterances, clock = [], [], 0.0
    for speaker, text, pitch, speed, amplitude in TURNS:
        wave = speak(text, pitch, speed, amplitude)
        utterances.append({"speaker": speaker, "text": text, "start": round(clock, 2), "end": round(clock + len(wave) / RATE, 2)})
        waves += [wave, np.zeros(int(GAP * RATE), dtype=np.float32)]
        clock += len(wave) / RATE + GAP
    soundfile.write(HERE / "call.wav", np.concatenate(waves), RATE, subtype="PCM_16")

    writer = cv2.VideoWriter(str(HERE / "call.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (SIZE, SIZE))
    for index in range(int(clock * FPS)):
        now = index / FPS
        turn = max(i for i, u in enumerate(utterances) if u["start"] - GAP / 2 <= now or i == 0)
        utterance = utterances[turn]
        progress = (now - utterance["start"]) / (utterance["end"] - utterance["start"] + GAP)
        writer.write(houston_card() if utterance["speaker"] == "Houston" else astronaut_frame(progress, pan_away=turn == 3))
    writer.release()

    record = {"id": "video_call", "media": {"audio": "call.wav", "video": "call.mp4"}, "utterances": utterances}
    (HERE / "video_call.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
