"""Where a request's media files come from, and whether they are short enough to analyse.

A media path names an upload of the same request, or, only when the operator passed `--media-root`, a file
under that folder: a service must never read arbitrary server files because a request said so. A file that is
missing or undecodable is not a request failure: fusion reports it for that utterance and modality.
"""

from __future__ import annotations

from pathlib import Path

from emotrace.errors import EmotraceError
from emotrace.schema import Conversation, Prediction


def resolve_media(conversations: list[Conversation], uploads: dict[str, Path], media_root: Path | None) -> None:
    """Replace every utterance's media path by the upload or file under `media_root` it names; 422 otherwise."""
    for c_index, conversation in enumerate(conversations):
        for u_index, utterance in enumerate(conversation.utterances):
            for kind, path in utterance.media.items():
                field = f"conversations[{c_index}].utterances[{u_index}].media.{kind}"
                utterance.media[kind] = str(_resolve(path, field, uploads, media_root))


def _resolve(path: str, field: str, uploads: dict[str, Path], media_root: Path | None) -> Path:
    if path in uploads:
        return uploads[path]
    if "\x00" in path:
        raise EmotraceError(f"{field}: the path contains a NUL character", hint="name an uploaded file")
    if media_root is None:
        raise EmotraceError(f"{field}: {path!r} is not a file uploaded with this request", hint="upload it in the multipart request under that file name")
    try:
        candidate = (media_root / path).resolve()
    except (OSError, RuntimeError):  # a symlink loop, a name too long
        raise EmotraceError(f"{field}: {path!r} cannot be resolved", hint="use a plain path relative to --media-root") from None
    if not candidate.is_relative_to(media_root):
        raise EmotraceError(f"{field}: {path!r} is outside the server's media folder", hint="use a path relative to --media-root")
    return candidate


def check_durations(conversations: list[Conversation], max_seconds: float) -> None:
    """Refuse media whose analysed span (the utterance's start–end, else the whole file) is longer than `max_seconds`."""
    durations: dict[tuple[str, str], float | None] = {}
    for conversation in conversations:
        for position, utterance in enumerate(conversation.utterances, 1):
            for kind, path in utterance.media.items():
                if (kind, path) not in durations:
                    durations[kind, path] = media_seconds(kind, path)
                total = durations[kind, path]
                if total is None:
                    continue
                span = min(total, utterance.end if utterance.end is not None else total) - (utterance.start or 0.0)
                if span > max_seconds:
                    raise EmotraceError(
                        f"conversation {conversation.id!r} utterance {position}: {kind} {Path(path).name!r} is {span:.0f} s, over the limit of {max_seconds:.0f} s",
                        hint="cut the recording or give the utterance start and end times",
                    )


def media_seconds(kind: str, path: str) -> float | None:
    """Duration of an audio or video file without decoding it; None for images and for files that cannot be read
    (those fail later, per utterance, with the decoder's own message)."""
    if kind == "audio":
        try:
            import soundfile

            return float(soundfile.info(path).duration)
        except Exception:  # missing extra, missing file, or not audio: all reported per utterance by fusion
            return None
    if kind == "video":
        try:
            import cv2
        except ImportError:
            return None
        capture = cv2.VideoCapture(path)
        try:
            fps, frames = capture.get(cv2.CAP_PROP_FPS), capture.get(cv2.CAP_PROP_FRAME_COUNT)
        finally:
            capture.release()
        return frames / fps if fps > 0 and frames > 0 else None
    return None


def hide_folders(predictions: list[list[Prediction]], folders: list[Path]) -> None:
    """Per-utterance media errors name files by their path; show the names the client sent, not server folders."""
    prefixes = [f"{folder}/" for folder in folders]
    for prediction in (p for predicted in predictions for p in predicted):
        if prediction.errors:
            messages = prediction.errors
            for prefix in prefixes:
                messages = {name: message.replace(prefix, "") for name, message in messages.items()}
            prediction.errors = messages
