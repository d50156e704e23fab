"""Reading /v1/analyze's body: a JSON request, or a multipart form whose `request` field holds the JSON and whose
files are the media the conversations name. Uploads go to the caller's per-request folder, which it deletes."""

from __future__ import annotations

import shutil
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request

from emotrace.errors import EmotraceError
from emotrace.serve.schemas import AnalyzeRequest
from emotrace.serve.settings import ServeSettings


async def read_analyze_request(request: Request, folder: Path, settings: ServeSettings) -> tuple[AnalyzeRequest, dict[str, Path]]:
    """The validated request and its uploads by file name (pydantic's ValidationError for a bad request)."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return AnalyzeRequest.model_validate_json(await request.body()), {}
    try:
        async with request.form(max_files=settings.max_uploads, max_fields=4, max_part_size=settings.max_body_bytes) as form:
            fields = [value for key, value in form.multi_items() if key == "request"]
            if len(fields) != 1 or not isinstance(fields[0], str):
                raise EmotraceError('a multipart request needs one "request" field holding the JSON request', hint="send the media as files beside it")
            uploads: dict[str, Path] = {}
            for upload in (value for _, value in form.multi_items() if isinstance(value, UploadFile)):
                name = _upload_name(upload.filename, uploads)
                uploads[name] = folder / name
                await run_in_threadpool(_save, upload, uploads[name])
            return AnalyzeRequest.model_validate_json(fields[0]), uploads
    except HTTPException as error:  # Starlette's message for a malformed form, e.g. too many files
        raise EmotraceError(f"malformed multipart body: {error.detail}") from None


def _upload_name(filename: str | None, taken: dict[str, Path]) -> str:
    """A plain file name, unique within the request: it is what the conversation's media fields refer to."""
    name = filename or ""
    if not name or name in (".", "..") or "\x00" in name or Path(name).name != name or "\\" in name:
        raise EmotraceError(f"upload file name {name!r} is not a plain file name", hint="name each upload like clip1.wav, without folders")
    if name in taken:
        raise EmotraceError(f"two uploads are named {name!r}", hint="give every upload its own file name")
    return name


def _save(upload: UploadFile, path: Path) -> None:
    with path.open("wb") as out:
        shutil.copyfileobj(upload.file, out)
