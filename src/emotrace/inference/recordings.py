"""Recordings in, emotions out: a recording without a transcript becomes a conversation of turns found by voice
activity, each with its times, its speaker (a stereo recording's channel, else one unknown speaker), its words (with
the `asr` extra) and its audio (and video), and then goes through the same `Analyzer` as any conversation file.

Each channel is written once to a temporary 16 kHz WAV that the turns point at, so the speech model reads any
input format the same way; afterwards the turns point at the original recording again, cut by their times.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from emotrace.encoders.asr import INSTALL_HINT, MODEL_NAME, Transcriber
from emotrace.encoders.audio import SAMPLE_RATE
from emotrace.encoders.recording import Recording, decode_recording
from emotrace.encoders.vad import find_turns
from emotrace.errors import EmotraceError
from emotrace.inference.pipeline import Analyzer, PipelineOptions
from emotrace.schema import Conversation, Prediction, Utterance

UNKNOWN_SPEAKER = "unknown"


@dataclass
class RecordingResults:
    """One conversation and its predictions per usable recording; `failures` names each unusable one and why."""

    conversations: list[Conversation] = field(default_factory=list)
    predictions: list[list[Prediction]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def analyze_recordings(
    paths: list[Path],
    analyzer: Analyzer,
    options: PipelineOptions,
    transcriber: Transcriber | None,
    max_seconds: float,
    progress: bool = False,
) -> RecordingResults:
    """Analyse every recording; a recording that cannot be used is a failure of its own, and when none can, the
    first failure is raised (so a single bad recording is a one-line error)."""
    results = RecordingResults()
    with tempfile.TemporaryDirectory(prefix="emotrace-recording-") as scratch:
        for index, path in enumerate(paths):
            try:
                recording = decode_recording(path, max_seconds)
                results.conversations.append(recording_conversation(recording, Path(scratch) / str(index), transcriber))
            except EmotraceError as error:
                results.failures.append(str(error))
        if not results.conversations:
            raise EmotraceError(results.failures[0] if len(paths) == 1 else f"none of the {len(paths)} recordings could be analysed: {results.failures[0]}")
        results.predictions = analyzer.analyze(results.conversations, options, progress=progress)
    for conversation in results.conversations:
        for utterance in conversation.utterances:
            utterance.media["audio"] = conversation.metadata["recording"]
    return results


def recording_conversation(recording: Recording, scratch: Path, transcriber: Transcriber | None) -> Conversation:
    """The turns of `recording` as a conversation; its channels are written under `scratch` for the speech model."""
    import soundfile

    turns = find_turns(recording.channels)
    if not turns:
        raise EmotraceError("no speech found: the recording is silent or too quiet", path=str(recording.path), hint="check the recording level")
    scratch.mkdir(parents=True)
    channel_files = []
    for channel, wave in enumerate(recording.channels):
        channel_files.append(str(scratch / f"channel{channel + 1}.wav"))
        soundfile.write(channel_files[-1], wave, SAMPLE_RATE)
    stereo = len(recording.channels) == 2
    waves = [recording.channels[turn.channel, int(turn.start * SAMPLE_RATE) : int(turn.end * SAMPLE_RATE)] for turn in turns]
    texts = transcriber.transcribe(waves) if transcriber is not None else [""] * len(turns)
    video = {"video": str(recording.path)} if recording.has_video else {}
    utterances = [
        Utterance(
            speaker=f"channel {turn.channel + 1}" if stereo else UNKNOWN_SPEAKER,
            text=text,
            start=turn.start,
            end=turn.end,
            media={"audio": channel_files[turn.channel]} | video,
            id=str(number),
        )
        for number, (turn, text) in enumerate(zip(turns, texts), start=1)
    ]
    metadata = {
        "recording": str(recording.path),
        "seconds": round(recording.seconds, 2),
        "speakers": "one per channel of the stereo recording" if stereo else "unknown: one channel, speakers not told apart",
        "transcription": MODEL_NAME if transcriber is not None else f"none ({INSTALL_HINT})",
    }
    return Conversation(id=recording.path.stem, utterances=utterances, metadata=metadata)
