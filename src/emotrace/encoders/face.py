"""Faces: read an image (or a video frame), find the faces with OpenCV's bundled Haar cascade (Viola & Jones,
2001), and cut the largest one to the 48×48 grayscale crop that FER2013-trained classifiers expect.

OpenCV (`opencv-python-headless`) is the optional `face` extra and is imported only here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emotrace.errors import EmotraceError

FACE_SIZE = 48
MAX_SIDE = 1600
MAX_PIXELS = 100_000_000


def _cv2():  # type: ignore[no-untyped-def]
    try:
        import cv2
    except ImportError:
        raise EmotraceError("face support is not installed", hint="pip install 'emotrace[face]'") from None
    return cv2


def load_image(path: str | Path) -> np.ndarray:
    """Grayscale uint8; images larger than 1600 px on a side are shrunk (detection does not need more)."""
    cv2 = _cv2()
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
            path=where, hint="downscale it first",
        )
    gray = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
    scale = MAX_SIDE / max(gray.shape)
    if scale < 1:
        gray = cv2.resize(gray, (round(gray.shape[1] * scale), round(gray.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    return gray


def detect_faces(gray: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Face boxes (x, y, width, height), largest first."""
    cv2 = _cv2()
    cascade = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"))
    minimum = max(24, min(gray.shape) // 20)
    boxes = cascade.detectMultiScale(cv2.equalizeHist(gray), scaleFactor=1.1, minNeighbors=5, minSize=(minimum, minimum))
    return sorted((tuple(int(v) for v in box) for box in boxes), key=lambda b: -b[2] * b[3])  # type: ignore[misc]


def crop_face(gray: np.ndarray, box: tuple[int, int, int, int], margin: float = 0.1) -> np.ndarray:
    """The box grown by `margin` on each side, clipped to the image, resized to 48×48, scaled to [0, 1]."""
    cv2 = _cv2()
    x, y, width, height = box
    grow_x, grow_y = int(width * margin), int(height * margin)
    top, bottom = max(0, y - grow_y), min(gray.shape[0], y + height + grow_y)
    left, right = max(0, x - grow_x), min(gray.shape[1], x + width + grow_x)
    crop = cv2.resize(gray[top:bottom, left:right], (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_AREA)
    return crop.astype(np.float32) / 255.0


def face_crop(path: str | Path) -> np.ndarray:
    """The largest face of an image as a 48×48 crop; an image without a face is a clear, per-image error."""
    gray = load_image(path)
    boxes = detect_faces(gray)
    if not boxes:
        raise EmotraceError("no face found in the image", path=str(path), hint="use a frontal, well-lit photo of the speaker")
    return crop_face(gray, boxes[0])
