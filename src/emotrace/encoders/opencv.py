"""OpenCV (`opencv-python-headless`, the optional `face` extra), reached only through here: `require_cv2` imports it
with an install hint when it is missing, and `shrink` brings an image or video frame down to what face detection needs.
"""

from __future__ import annotations

import numpy as np

from emotrace.errors import EmotraceError

MAX_SIDE = 1600


def require_cv2():  # type: ignore[no-untyped-def]
    try:
        import cv2
    except ImportError:
        raise EmotraceError("face support is not installed", hint="pip install 'emotrace[face]'") from None
    return cv2


def shrink(gray: np.ndarray) -> np.ndarray:
    """At most MAX_SIDE pixels on a side: detection does not need more, and big frames cost time."""
    cv2 = require_cv2()
    scale = MAX_SIDE / max(gray.shape)
    if scale >= 1:
        return gray
    return cv2.resize(gray, (round(gray.shape[1] * scale), round(gray.shape[0] * scale)), interpolation=cv2.INTER_AREA)
