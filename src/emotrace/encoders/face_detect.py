"""Faces: read an image (or sample a video's frames), find the faces with OpenCV's bundled Haar cascade (Viola &
Jones, 2001), and cut the largest one to the 48×48 grayscale crop that FER2013-trained classifiers expect.

An utterance's faces are a `FaceSample`: the crops of the frames that had a face, and how many frames were looked
at, so that frames without a face are skipped but counted.

OpenCV (`opencv-python-headless`) is the optional `face` extra, reached through encoders/opencv.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotrace.encoders.opencv import require_cv2, shrink
from emotrace.encoders.video import sample_frames
from emotrace.errors import EmotraceError

FACE_SIZE = 48
MAX_PIXELS = 100_000_000


def load_image(path: str | Path) -> np.ndarray:
    """Grayscale uint8; images larger than 1600 px on a side are shrunk (detection does not need more)."""
    cv2 = require_cv2()
    where = str(path)
    if not Path(path).is_file():
        raise EmotraceError("image file not found", path=where, hint="check the media path (relative to the input file)")
    data = np.fromfile(where, dtype=np.uint8)
    header = cv2.imdecode(data, cv2.IMREAD_REDUCED_GRAYSCALE_8) if data.size else None
    if header is None:
        raise EmotraceError("cannot decode the image", path=where, hint="use a PNG or JPEG file")
    if header.shape[0] * header.shape[1] * 64 > MAX_PIXELS:
        raise EmotraceError(
            f"image is about {header.shape[1] * 8}×{header.shape[0] * 8} pixels, over the limit of {MAX_PIXELS // 1_000_000} megapixels",
            path=where,
            hint="downscale it first",
        )
    return shrink(cv2.imdecode(data, cv2.IMREAD_GRAYSCALE))


def detect_faces(gray: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Face boxes (x, y, width, height), largest first."""
    cv2 = require_cv2()
    cascade = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"))
    minimum = max(24, min(gray.shape) // 20)
    boxes = cascade.detectMultiScale(cv2.equalizeHist(gray), scaleFactor=1.1, minNeighbors=5, minSize=(minimum, minimum))
    return sorted((tuple(int(v) for v in box) for box in boxes), key=lambda b: -b[2] * b[3])  # type: ignore[misc]


def crop_face(gray: np.ndarray, box: tuple[int, int, int, int], margin: float = 0.1) -> np.ndarray:
    """The box grown by `margin` on each side, clipped to the image, resized to 48×48, scaled to [0, 1]."""
    cv2 = require_cv2()
    x, y, width, height = box
    grow_x, grow_y = int(width * margin), int(height * margin)
    top, bottom = max(0, y - grow_y), min(gray.shape[0], y + height + grow_y)
    left, right = max(0, x - grow_x), min(gray.shape[1], x + width + grow_x)
    crop = cv2.resize(gray[top:bottom, left:right], (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_AREA)
    return crop.astype(np.float32) / 255.0


def largest_face(gray: np.ndarray) -> np.ndarray | None:
    """The 48×48 crop of the largest face, or None when there is none."""
    boxes = detect_faces(gray)
    return crop_face(gray, boxes[0]) if boxes else None


@dataclass(frozen=True)
class FaceSample:
    crops: np.ndarray  # (faces, 48, 48) float32 in [0, 1], one per frame that had a face
    frames: int  # frames looked at

    @property
    def faceless_frames(self) -> int:
        return self.frames - len(self.crops)


CROP_SIDE = 64


def face_crop(path: str | Path) -> np.ndarray:
    """The largest face of an image as a 48×48 crop; an image without a face is a clear, per-image error.

    An image at most 64 px on its longer side is taken as a face crop already (FER2013-style data): the detector
    cannot find a face that small, and such images are crops in every face data set."""
    gray = load_image(path)
    if max(gray.shape) <= CROP_SIDE:
        return crop_face(gray, (0, 0, gray.shape[1], gray.shape[0]), margin=0.0)
    crop = largest_face(gray)
    if crop is None:
        raise EmotraceError("no face found in the image", path=str(path), hint="use a frontal, well-lit photo of the speaker")
    return crop


def image_faces(path: str | Path) -> FaceSample:
    return FaceSample(face_crop(path)[None], frames=1)


def video_faces(path: str | Path, start: float | None = None, end: float | None = None, fps: float = 3.0) -> FaceSample:
    """The largest face of each frame sampled at `fps` over [start, end]; an error only when no frame has one."""
    frames = sample_frames(path, start, end, fps)
    crops = [crop for crop in map(largest_face, frames) if crop is not None]
    if not crops:
        raise EmotraceError(f"no face found in any of the {len(frames)} sampled frames", path=str(path), hint="the speaker's face must be visible and frontal")
    return FaceSample(np.stack(crops), frames=len(frames))
