"""Video: sample grayscale frames at a fixed rate over a time span, with OpenCV (which reads mp4 offline).

Frames are decoded in order and only the ones nearest the sample times are kept, which is exact for any codec;
the reader first jumps to the span's start so that a late utterance in a long recording does not decode it all.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emotrace.encoders.opencv import require_cv2, shrink
from emotrace.errors import EmotraceError

MAX_FRAMES = 600  # per utterance: 3 minutes at 3.3 frames per second


def sample_frames(path: str | Path, start: float | None = None, end: float | None = None, fps: float = 3.0) -> list[np.ndarray]:
    """Grayscale frames at `fps` from `start` to `end` seconds (default: the whole video), at most MAX_FRAMES."""
    cv2 = require_cv2()
    where = str(path)
    if not Path(path).is_file():
        raise EmotraceError("video file not found", path=where, hint="check the media path (relative to the input file)")
    capture = cv2.VideoCapture(where)
    try:
        native = capture.get(cv2.CAP_PROP_FPS) if capture.isOpened() else 0.0
        total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if native > 0 else 0
        if total <= 0:
            raise EmotraceError("no video stream (or it cannot be decoded)", path=where, hint="use an mp4/avi file with a video track")
        duration = total / native
        first, last = start or 0.0, duration if end is None else min(end, duration)
        if first >= duration or last <= first:
            raise EmotraceError(
                f"span {start}–{end} s is empty or outside the video ({duration:.2f} s)", path=where, hint="check the utterance's start and end times"
            )
        times = np.arange(first, last, 1.0 / fps)[:MAX_FRAMES]
        wanted = sorted(set(np.minimum(np.round(times * native).astype(int), total - 1).tolist()))
        capture.set(cv2.CAP_PROP_POS_FRAMES, wanted[0])
        position = int(capture.get(cv2.CAP_PROP_POS_FRAMES))
        frames = []
        for index in wanted:
            while position < index and capture.grab():
                position += 1
            ok, frame = capture.read()
            position += 1
            if not ok:
                break
            frames.append(shrink(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)))
    finally:
        capture.release()
    if not frames:
        raise EmotraceError("no frame could be decoded", path=where, hint="the file may be truncated; re-encode it (e.g. with ffmpeg)")
    return frames
