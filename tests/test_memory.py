"""A long-running service keeps a flat memory: no module-level cache grows without bound, and `serve` levels off
under a stream of multimodal requests with uploads (the soak test)."""

from __future__ import annotations

import importlib
import inspect
import io
import json
import pkgutil
import re
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

import emotrace
from emotrace.inference.pipeline import Analyzer
from emotrace.serve import ServeSettings, create_app

WARM_UP, SOAK = 100, 200  # requests before RSS is taken as the plateau, and requests measured against it
ALLOWED_GROWTH_MB = 50.0


def rss_mb() -> float:
    """This process's resident set size, from /proc (Linux)."""
    match = re.search(r"^VmRSS:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.MULTILINE)
    assert match, "no VmRSS in /proc/self/status"
    return int(match.group(1)) / 1024


def wav_bytes(seed: int, seconds: float = 0.5) -> bytes:
    import soundfile

    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    soundfile.write(buffer, (0.1 * rng.standard_normal(int(16_000 * seconds))).astype(np.float32), 16_000, format="WAV")
    return buffer.getvalue()


def png_bytes(seed: int) -> bytes:
    """A 48×48 grey image: small images are taken as face crops already, so the face models run on it."""
    import cv2

    pixels = np.random.default_rng(seed).integers(0, 256, (48, 48), dtype=np.uint8)
    ok, encoded = cv2.imencode(".png", pixels)
    assert ok
    return encoded.tobytes()


def multimodal_request(index: int) -> tuple[dict[str, str], list[tuple[str, tuple[str, bytes, str]]]]:
    """One conversation whose turns name an audio and an image upload, fused late or by CMATH in turn, so both
    media paths (the speech and face models, and CMATH's own feature memos) see a new file every request."""
    audio, image = f"turn-{index}.wav", f"face-{index}.png"
    request = {
        "conversations": [
            {
                "id": f"soak-{index}",
                "utterances": [
                    {"speaker": "A", "text": "I can't believe you did that!", "media": {"audio": audio, "image": image}},
                    {"speaker": "B", "text": "I'm sorry, it won't happen again.", "media": {"audio": audio}},
                ],
            }
        ],
        "options": {"fusion_model": "fusion" if index % 2 else "late"},
    }
    files = [("files", (audio, wav_bytes(index), "audio/wav")), ("files", (image, png_bytes(index), "image/png"))]
    return {"request": json.dumps(request)}, files


def test_no_module_level_function_cache_is_unbounded() -> None:
    unbounded = []
    for module_info in pkgutil.walk_packages(emotrace.__path__, "emotrace."):
        if module_info.name.endswith("__main__"):
            continue
        try:
            module = importlib.import_module(module_info.name)
        except ImportError:  # an optional extra that is not installed: its caches are not in this process either
            continue
        for name, function in vars(module).items():
            if getattr(function, "__module__", None) != module.__name__ or not hasattr(function, "cache_info"):
                continue
            takes_arguments = bool(inspect.signature(function.__wrapped__).parameters)
            if takes_arguments and function.cache_info().maxsize is None:
                unbounded.append(f"{module.__name__}.{name}")
    assert not unbounded, f"caches that grow with every distinct argument: {unbounded}"


@pytest.mark.slow
def test_serve_memory_levels_off_under_multimodal_uploads() -> None:
    analyzer = Analyzer()
    rss: list[float] = []
    with TestClient(create_app(ServeSettings(), analyzer=analyzer)) as client:
        for index in range(WARM_UP + SOAK):
            data, files = multimodal_request(index)
            response = client.post("/v1/analyze", data=data, files=files)
            assert response.status_code == 200, response.text
            first = response.json()["conversations"][0]["utterances"][0]
            assert {"speech", "face"} <= set(first["modalities"]), first
            rss.append(rss_mb())
    plateau, peak = rss[WARM_UP - 1], max(rss[WARM_UP:])
    print(
        f"\nsoak: RSS {rss[0]:.0f} MB after the first request, plateau {plateau:.0f} MB after {WARM_UP}, "
        f"max {peak:.0f} MB over the next {SOAK} (growth {peak - plateau:+.1f} MB), last {rss[-1]:.0f} MB"
    )
    assert peak - plateau <= ALLOWED_GROWTH_MB
