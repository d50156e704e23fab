"""Recordings in, emotions out: how fast, and how well turns are found.

- transcription real-time factor (Whisper tiny.en, int8, CPU) on examples/recorded_call/call.flac;
- the whole `analyze RECORDING` pipeline (decode, turns, words, speech + text, fusion) in seconds of audio per second;
- turn segmentation: the five examples/voice_call clips joined with pauses of 0.6-1.5 s into one recording; a true
  boundary (turn start or end) counts as found when a detected one lies within 0.25 s; precision, recall, F1.

Synthetic espeak-ng voices only: a speed check and a segmentation sanity check, not an accuracy claim on real calls.

    HF_HUB_OFFLINE=1 python benchmarks/asr.py   # prints JSON; writes benchmarks/runs/asr.json
"""

from __future__ import annotations

import json
import os
import platform
import time
from datetime import date
from pathlib import Path

import numpy as np

from emotrace.encoders.asr import Transcriber
from emotrace.encoders.audio import SAMPLE_RATE, load_audio
from emotrace.encoders.recording import decode_recording
from emotrace.encoders.vad import find_turns
from emotrace.inference.pipeline import Analyzer, PipelineOptions
from emotrace.inference.recordings import analyze_recordings
from emotrace.io.atomic import write_text_atomic

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "recorded_call" / "call.flac"
TOLERANCE = 0.25


def transcription_rtf(transcriber: Transcriber) -> dict[str, float]:
    recording = decode_recording(EXAMPLE, 3600)
    turns = find_turns(recording.channels)
    waves = [recording.channels[t.channel, int(t.start * SAMPLE_RATE) : int(t.end * SAMPLE_RATE)] for t in turns]
    transcriber.transcribe(waves[:1])  # load and warm up
    started = time.perf_counter()
    transcriber.transcribe(waves)
    seconds = time.perf_counter() - started
    audio = sum(len(w) for w in waves) / SAMPLE_RATE
    return {"turn_audio_s": round(audio, 2), "transcribe_s": round(seconds, 2), "rtf": round(seconds / audio, 3)}


def pipeline_speed(transcriber: Transcriber) -> dict[str, float]:
    analyzer = Analyzer()
    analyze_recordings([EXAMPLE], analyzer, PipelineOptions(), transcriber, 3600)  # load every model once
    started = time.perf_counter()
    analyze_recordings([EXAMPLE], analyzer, PipelineOptions(), transcriber, 3600)
    seconds = time.perf_counter() - started
    audio = decode_recording(EXAMPLE, 3600).seconds
    return {"audio_s": round(audio, 2), "pipeline_s": round(seconds, 2), "audio_s_per_s": round(audio / seconds, 2)}


def segmentation() -> dict[str, float]:
    clips = [load_audio(path) for path in sorted((ROOT / "examples" / "voice_call").glob("*.wav"))]
    pauses = [0.6, 1.5, 0.8, 1.2, 0.5]
    parts, truth, at = [], [], 0.0
    for clip, pause in zip(clips, pauses):
        voiced = np.flatnonzero(np.abs(clip) > 1e-3)  # the clip's own speech span, without espeak's padding
        truth += [at + voiced[0] / SAMPLE_RATE, at + voiced[-1] / SAMPLE_RATE]
        parts += [clip, np.zeros(int(pause * SAMPLE_RATE), np.float32)]
        at += len(clip) / SAMPLE_RATE + pause
    found = [edge for turn in find_turns(np.concatenate(parts)[None, :]) for edge in (turn.start, turn.end)]
    hits = sum(any(abs(edge - true) <= TOLERANCE for edge in found) for true in truth)
    matched = sum(any(abs(edge - true) <= TOLERANCE for true in truth) for edge in found)
    precision, recall = matched / len(found), hits / len(truth)
    return {
        "true_turns": len(clips),
        "found_turns": len(found) // 2,
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "f1": round(2 * precision * recall / (precision + recall), 3) if precision + recall else 0.0,
        "tolerance_s": TOLERANCE,
        "mean_abs_error_s": round(float(np.mean([min(abs(edge - true) for edge in found) for true in truth])), 3),
    }


def main() -> None:
    transcriber = Transcriber("en")
    result = {
        "command": "HF_HUB_OFFLINE=1 python benchmarks/asr.py",
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}",
        "transcription": transcription_rtf(transcriber),
        "pipeline": pipeline_speed(transcriber),
        "segmentation": segmentation(),
    }
    text = json.dumps(result, indent=2)
    print(text)
    write_text_atomic(ROOT / "benchmarks" / "runs" / "asr.json", text + "\n")


if __name__ == "__main__":
    main()
