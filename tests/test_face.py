"""Face input: a real photo yields a 48×48 crop; a faceless, broken, missing or huge image is a clear error."""

from pathlib import Path

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")
data = pytest.importorskip("skimage.data")

from emotrace.encoders.face import FACE_SIZE, crop_face, detect_faces, face_crop, load_image  # noqa: E402
from emotrace.errors import EmotraceError  # noqa: E402


def test_the_public_domain_astronaut_portrait_gives_one_centred_face(tmp_path: Path) -> None:
    path = tmp_path / "astronaut.png"
    cv2.imwrite(str(path), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    boxes = detect_faces(load_image(path))
    assert boxes, "no face found"
    x, y, width, height = boxes[0]
    assert 100 < x + width / 2 < 300 and 50 < y + height / 2 < 250
    crop = face_crop(path)
    assert crop.shape == (FACE_SIZE, FACE_SIZE) and crop.dtype == np.float32
    assert 0.0 <= crop.min() and crop.max() <= 1.0


def test_an_image_without_a_face_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "wall.png"
    cv2.imwrite(str(path), np.full((200, 300), 128, dtype=np.uint8))
    with pytest.raises(EmotraceError, match="no face found"):
        face_crop(path)


def test_broken_and_missing_images_are_clear_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(EmotraceError, match="cannot decode"):
        load_image(broken)
    with pytest.raises(EmotraceError, match="image file not found"):
        load_image(tmp_path / "nope.png")


def test_large_images_are_shrunk_before_detection(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    cv2.imwrite(str(path), np.zeros((2000, 4000), dtype=np.uint8))
    assert max(load_image(path).shape) == 1600


def test_crop_near_the_border_is_clipped_not_padded() -> None:
    gray = np.arange(100 * 100, dtype=np.uint8).reshape(100, 100)
    assert crop_face(gray, (90, 90, 20, 20)).shape == (FACE_SIZE, FACE_SIZE)
