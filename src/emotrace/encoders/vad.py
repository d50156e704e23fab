"""Turns from voice activity: 30 ms frames whose energy stands out from the channel's noise floor, joined across short
pauses, padded a little, and cut before they outgrow what the transcriber reads at once (30 s).

Energy is enough for close-talking recordings (calls, headsets, one channel per speaker), needs no model, and finds
the same turns with or without the `asr` extra. With two channels, a frame counts for the channel that is loudest
within 10 dB, so one speaker's voice leaking into the other's microphone is not taken for a turn of theirs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emotrace.encoders.audio import SAMPLE_RATE

HOP = 0.01  # seconds between frames
FRAME_HOPS = 3  # a frame spans 30 ms
SILENT_DBFS = -60.0  # a recording whose loudest frame is quieter than this holds no speech
ABOVE_FLOOR_DB, BELOW_PEAK_DB, CROSSTALK_DB = 10.0, 35.0, 10.0


@dataclass(frozen=True)
class Turn:
    """Seconds from the start of the recording, and the channel the voice is on."""

    start: float
    end: float
    channel: int = 0


def frame_energy(channels: np.ndarray) -> np.ndarray:
    """Energy in dBFS of each 30 ms frame, every 10 ms: (channels, frames)."""
    hop = int(HOP * SAMPLE_RATE)
    frames = channels.shape[1] // hop
    power = (channels[:, : frames * hop].astype(np.float64) ** 2).reshape(channels.shape[0], frames, hop).mean(axis=2)
    smoothed = np.stack([np.convolve(row, np.ones(FRAME_HOPS) / FRAME_HOPS, mode="same") for row in power]) if frames else power
    return 10 * np.log10(smoothed + 1e-12)


def voiced_frames(energy: np.ndarray) -> np.ndarray:
    """Which frames hold a voice, per channel: above both the noise floor + 10 dB and the peak - 35 dB, and not
    another channel's voice leaking in."""
    floor, peak = np.percentile(energy, 10, axis=1, keepdims=True), np.percentile(energy, 99.5, axis=1, keepdims=True)
    voiced = (energy > np.maximum(floor + ABOVE_FLOOR_DB, peak - BELOW_PEAK_DB)) & (energy > SILENT_DBFS)
    return voiced & (energy >= energy.max(axis=0, keepdims=True) - CROSSTALK_DB)


def find_turns(channels: np.ndarray, min_pause: float = 0.5, min_speech: float = 0.25, pad: float = 0.1, max_turn: float = 30.0) -> list[Turn]:
    """Turns of every channel in order of start: a pause shorter than `min_pause` stays inside a turn, a burst
    shorter than `min_speech` (a click, a breath) is dropped. An empty list means the recording is silent."""
    energy = frame_energy(channels)
    turns = []
    for channel, voiced in enumerate(voiced_frames(energy)):
        runs = _runs(voiced)
        joined: list[list[int]] = []
        for start, end in runs:
            if joined and start - joined[-1][1] < min_pause / HOP:
                joined[-1][1] = end
            else:
                joined.append([start, end])
        for start, end in joined:
            if (end - start) * HOP < min_speech:
                continue
            for first, last in _cut(energy[channel], start, end, int(max_turn / HOP)):
                turns.append(Turn(round(max(0.0, first * HOP - pad), 2), round(min(energy.shape[1], last) * HOP + pad, 2), channel))
    duration = channels.shape[1] / SAMPLE_RATE
    return sorted((Turn(t.start, min(t.end, duration), t.channel) for t in turns), key=lambda t: (t.start, t.channel))


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) frame indices of each run of True, end exclusive."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


def _cut(energy: np.ndarray, start: int, end: int, longest: int) -> list[tuple[int, int]]:
    """Split [start, end) into pieces of at most `longest` frames, each cut at the last of the quietest frames of
    its second half (a pause, in speech)."""
    pieces = []
    while end - start > longest:
        cut = start + longest - 1 - int(np.argmin(energy[start + longest // 2 : start + longest][::-1]))
        pieces.append((start, cut))
        start = cut
    return [*pieces, (start, end)]
