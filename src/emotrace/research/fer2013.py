"""FER2013 (Goodfellow et al., ICML 2013 challenge): 48×48 grayscale faces, 7 expressions. Protocol: train on
Training, select on PublicTest, report on PrivateTest (file-name prefixes in the Kaggle image layout).

The 35,887 JPEGs are decoded once from the archive into one `.npz` in the emotrace cache (never the repository),
together with each image's member name in the archive (`train/happy/Training_<id>.jpg`), so that anything built
from the images can point back at the archive; a cache file from before the names were kept is rebuilt.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np

from emotrace.errors import EmotraceError
from emotrace.io.atomic import atomic_path
from emotrace.paths import cache_root

ARCHIVE = "fer2013/fer2013_images.tar.gz"
CLASSES = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
SPLIT_PREFIXES = {"train": "Training_", "public_test": "PublicTest_", "private_test": "PrivateTest_"}


def _decode_archive(archive: Path) -> dict[str, np.ndarray]:
    import cv2

    images: dict[str, list[np.ndarray]] = {split: [] for split in SPLIT_PREFIXES}
    labels: dict[str, list[int]] = {split: [] for split in SPLIT_PREFIXES}
    names: dict[str, list[str]] = {split: [] for split in SPLIT_PREFIXES}
    with tarfile.open(archive) as bundle:
        for member in bundle:
            parts = member.name.split("/")
            if not member.isfile() or len(parts) != 3 or parts[1] not in CLASSES:
                continue
            split = next((s for s, prefix in SPLIT_PREFIXES.items() if parts[2].startswith(prefix)), None)
            handle = bundle.extractfile(member)
            if split is None or handle is None:
                continue
            image = cv2.imdecode(np.frombuffer(handle.read(), dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
            if image is None or image.shape != (48, 48):
                raise EmotraceError(f"unexpected image {member.name}", path=str(archive), hint="use the official 48×48 FER2013 images")
            images[split].append(image)
            labels[split].append(CLASSES.index(parts[1]))
            names[split].append(member.name)
    arrays = {}
    for split in SPLIT_PREFIXES:
        arrays[f"{split}_images"] = np.stack(images[split]) if images[split] else np.zeros((0, 48, 48), np.uint8)
        arrays[f"{split}_labels"] = np.array(labels[split], dtype=np.int64)
        arrays[f"{split}_names"] = np.array(names[split], dtype=np.str_)
    return arrays


def _cache_file(root: Path, split: str) -> Path:
    """The decoded `.npz`, built (or rebuilt, when it predates the member names) from the archive under `root`."""
    if split not in SPLIT_PREFIXES:
        raise EmotraceError(f"FER2013 has no split '{split}'", hint=f"choose one of {', '.join(SPLIT_PREFIXES)}")
    archive = root / ARCHIVE
    if not archive.is_file():
        raise EmotraceError("FER2013 archive not found", path=str(archive), hint="point --data-dir or EMOTRACE_DATA at the folder holding fer2013/")
    cache = cache_root() / "fer2013" / "fer2013.npz"
    if cache.is_file():
        with np.load(cache) as stored:
            if all(f"{name}_names" in stored.files for name in SPLIT_PREFIXES):
                return cache
    arrays = _decode_archive(archive)
    with atomic_path(cache) as temporary:
        with open(temporary, "wb") as handle:
            np.savez(handle, **arrays)
    return cache


def load_fer2013(root: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 48, 48), label indices into CLASSES) for train, public_test or private_test."""
    with np.load(_cache_file(root, split)) as stored:
        return stored[f"{split}_images"], stored[f"{split}_labels"]


def fer2013_names(root: Path, split: str) -> np.ndarray:
    """The archive member name of each image of `split`, in the order of `load_fer2013`'s arrays."""
    with np.load(_cache_file(root, split)) as stored:
        return stored[f"{split}_names"]
