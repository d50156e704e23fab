"""A whole recording, as `emotrace analyze RECORDING` takes it: decoded once to 16 kHz float channels, with the checks
that turn a bad file into one clear error before any model runs.

wav, flac, ogg and mp3 decode through soundfile (the `audio` extra); m4a, mp4 and webm through PyAV, which the `asr`
extra brings with faster-whisper. Two channels are kept apart (call centres record agent and customer apart), unless
they carry the same signal; more are mixed down.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotrace.encoders.audio import SAMPLE_RATE, import_soundfile, to_sample_rate
from emotrace.errors import EmotraceError

RECORDING_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".m4a", ".mp4", ".webm")
_SOUNDFILE_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")
_REENCODE = "re-encode it, e.g. `ffmpeg -i IN -ar 16000 OUT.wav`"


@dataclass
class Recording:
    """`channels` is (1 or 2, samples) float32 at SAMPLE_RATE; `has_video` says a face model can read the file too."""

    path: Path
    channels: np.ndarray
    has_video: bool = False

    @property
    def seconds(self) -> float:
        return self.channels.shape[1] / SAMPLE_RATE


def is_recording(path: Path) -> bool:
    return path.suffix.lower() in RECORDING_EXTENSIONS


def decode_recording(path: str | Path, max_seconds: float) -> Recording:
    """The recording at `path`, refused when it is missing, undecodable, has no audio, or lasts over `max_seconds`."""
    source = Path(path)
    if not source.is_file():
        raise EmotraceError("recording not found", path=str(source), hint="check the path")
    suffix = source.suffix.lower()
    if suffix in _SOUNDFILE_EXTENSIONS and (
        suffix != ".mp3" or importlib.util.find_spec("av") is None
    ):  # on a bad mp3, libmpg123 writes to stderr; FFmpeg is quiet
        channels, has_video = _with_soundfile(source, max_seconds), False
    else:
        channels, has_video = _with_pyav(source, max_seconds)
    if channels.shape[1] == 0:
        raise EmotraceError("the recording holds no audio samples", path=str(source), hint="the file may be truncated; " + _REENCODE)
    _check_length(channels.shape[1] / SAMPLE_RATE, max_seconds, source)
    if channels.shape[0] > 2 or (channels.shape[0] == 2 and np.allclose(channels[0], channels[1], atol=1e-3)):
        channels = channels.mean(axis=0, keepdims=True)  # one mix: channels are not speakers here
    return Recording(source, channels.astype(np.float32), has_video)


def _check_length(seconds: float, max_seconds: float, source: Path) -> None:
    if seconds > max_seconds:
        raise EmotraceError(
            f"the recording lasts {seconds / 60:.1f} min, over the limit of {max_seconds / 60:g} min", path=str(source), hint="cut it or raise --max-minutes"
        )


def _with_soundfile(source: Path, max_seconds: float) -> np.ndarray:
    soundfile = import_soundfile()
    try:
        info = soundfile.info(str(source))
        _check_length(info.duration, max_seconds, source)
        samples, rate = soundfile.read(str(source), dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError) as error:
        reason = getattr(error, "error_string", None) or str(error)
        raise EmotraceError(f"cannot decode the recording ({reason}): corrupt, truncated or an unsupported codec", path=str(source), hint=_REENCODE) from None
    return to_sample_rate(samples.T, rate)


def _with_pyav(source: Path, max_seconds: float) -> tuple[np.ndarray, bool]:
    try:
        import av
    except ImportError:
        raise EmotraceError(
            f"decoding {source.suffix} needs PyAV", path=str(source), hint="pip install 'emotrace[asr]', or convert the file to WAV or FLAC"
        ) from None
    where = str(source)
    try:
        with av.open(where, metadata_errors="ignore") as container:
            has_video = bool(container.streams.video)
            if not container.streams.audio:
                raise EmotraceError("the file has no audio track", path=where, hint="analyse a recording with sound, or its transcript")
            stream = container.streams.audio[0]
            if container.duration:
                _check_length(container.duration / 1e6, max_seconds, source)
            resampler = av.AudioResampler(format="fltp", layout="stereo" if stream.codec_context.channels == 2 else "mono", rate=SAMPLE_RATE)
            parts, decoded = [], 0
            for frame in container.decode(stream):
                parts += [resampled.to_ndarray() for resampled in resampler.resample(frame)]
                decoded += frame.samples * SAMPLE_RATE / frame.sample_rate
                _check_length(decoded / SAMPLE_RATE, max_seconds, source)  # for a container that does not state its length
            parts += [resampled.to_ndarray() for resampled in resampler.resample(None)]
    except av.FFmpegError as error:
        raise EmotraceError(
            f"cannot decode the recording ({error.strerror or error}): corrupt, truncated or an unsupported codec", path=where, hint=_REENCODE
        ) from None
    if not parts:
        return np.zeros((1, 0), dtype=np.float32), has_video
    return np.concatenate(parts, axis=1), has_video
