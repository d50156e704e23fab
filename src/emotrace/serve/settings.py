"""What an operator decides about a running service: limits, where media may come from, which models may load.

One frozen dataclass, filled by `emotrace serve`'s flags or directly by tests, so every limit is visible in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from emotrace.errors import EmotraceError


@dataclass(frozen=True)
class ServeSettings:
    """`model` is preloaded at startup and answers requests that name none. `media_root` allows utterances to
    reference server-local files under it; `models_dir` allows bundles under it by name (else shipped models
    only). `backend` runs the text model (as `analyze --backend`); a request asking for explanations or MC dropout
    runs on PyTorch whatever it says. Queue: at most `max_queue` requests waiting or in flight; the worker merges up to
    `max_batch_utterances` utterances of requests with equal options, waiting `batch_wait_ms` for company. At most
    `max_streams` live streams (/v1/live) are open at once; each holds one conversation of up to `max_utterances`.
    Recording jobs (/v1/jobs) are kept in the SQLite file `jobs_db` (default: jobs.sqlite3 in the cache folder), at
    most `max_jobs` unfinished, each recording up to `max_recording_minutes` (as `analyze --max-minutes`)."""

    model: str = "default"
    backend: str = "auto"
    api_key: str | None = None
    media_root: Path | None = None
    models_dir: Path | None = None
    max_body_bytes: int = 32 * 2**20
    max_utterances: int = 2000
    max_text_chars: int = 5000
    max_media_seconds: float = 600.0
    max_uploads: int = 64
    max_mc_dropout: int = 30
    max_queue: int = 32
    max_batch_utterances: int = 256
    batch_wait_ms: float = 5.0
    retry_after_seconds: int = 1
    max_streams: int = 32
    jobs_db: Path | None = None
    max_jobs: int = 8
    max_recording_minutes: float = 60.0


def read_api_key(path: Path) -> str:
    """The first line of `path`: keys live in files, so they stay out of process listings and shell history."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise EmotraceError(f"cannot read the API key file: {error.strerror}", path=str(path), hint="check the path and its permissions") from None
    except UnicodeDecodeError:
        raise EmotraceError("the API key file is not UTF-8 text", path=str(path), hint="write the key as plain text") from None
    key = lines[0].strip() if lines else ""
    if not key:
        raise EmotraceError("the API key file's first line is empty", path=str(path), hint="write the key on the first line")
    return key


def check_backend(backend: str, model: str) -> None:
    """A `--backend` the text model can run on, checked before serving: an unknown name or a missing export fails
    at startup with the command that makes it, not on the first request."""
    from emotrace.export.runtime import ONNX_BACKENDS, has_export
    from emotrace.inference.pipeline import TORCH

    if backend in ("auto", TORCH):
        return
    if backend not in ONNX_BACKENDS:
        raise EmotraceError(f"unknown --backend {backend!r}", hint=f"choose one of auto, {TORCH}, {', '.join(ONNX_BACKENDS)}")
    if not has_export(model, backend):
        raise EmotraceError(f"the model '{model}' has no {backend} export yet", hint=f"run `emotrace export --model {model} --backend {backend}` once")


def checked_folder(path: Path, flag: str) -> Path:
    """An existing folder, resolved once so that containment checks compare real paths."""
    if not path.is_dir():
        raise EmotraceError(f"{flag} is not a folder", path=str(path), hint="create it or fix the path")
    return path.resolve()
