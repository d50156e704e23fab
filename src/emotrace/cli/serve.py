"""`emotrace serve`: the HTTP API and the web page (the serve/ package), with their limits checked at startup."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from emotrace.cli.options import Backend
from emotrace.errors import EmotraceError


def serve_command(
    host: Annotated[str, typer.Option("--host", help="address to listen on (0.0.0.0: every interface)")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    model: Annotated[str, typer.Option("--model", help="shipped model loaded at startup; requests naming no model use it")] = "default",
    backend: Backend = "auto",
    api_key_file: Annotated[Path | None, typer.Option("--api-key-file", help="require this file's first line as the API key")] = None,
    media_root: Annotated[Path | None, typer.Option("--media-root", help="let requests name media files under this folder")] = None,
    models_dir: Annotated[Path | None, typer.Option("--models-dir", help="also offer the bundles in this folder, by name")] = None,
    max_body_mb: Annotated[float, typer.Option("--max-body-mb", help="largest request body, uploads included", min=0.01)] = 32.0,
    max_utterances: Annotated[int, typer.Option("--max-utterances", help="most utterances per request", min=1)] = 2000,
    max_queue: Annotated[int, typer.Option("--max-queue", help="most requests waiting or running; more get 503", min=1)] = 32,
    jobs_db: Annotated[Path | None, typer.Option("--jobs-db", help="SQLite file of recording jobs (default: jobs.sqlite3 in the cache folder)")] = None,
    max_jobs: Annotated[int, typer.Option("--max-jobs", help="most recording jobs queued or running; more get 503", min=1)] = 8,
    max_minutes: Annotated[float, typer.Option("--max-minutes", help="recording jobs: refuse recordings longer than this", min=0.0)] = 60.0,
) -> None:
    """Serve the HTTP API (/v1/analyze, /v1/live, /v1/jobs) and the web page at http://HOST:PORT/."""
    try:
        import uvicorn

        from emotrace.serve import ServeSettings, create_app
        from emotrace.serve.settings import check_backend, checked_folder, read_api_key
    except ModuleNotFoundError as error:
        if error.name not in ("fastapi", "uvicorn", "starlette", "multipart", "python_multipart"):
            raise
        raise EmotraceError(f"the web service needs {error.name}, which is not installed", hint="pip install 'emotrace[serve]'") from None
    check_backend(backend, model)
    settings = ServeSettings(
        model=model,
        backend=backend,
        api_key=read_api_key(api_key_file) if api_key_file else None,
        media_root=checked_folder(media_root, "--media-root") if media_root else None,
        models_dir=checked_folder(models_dir, "--models-dir") if models_dir else None,
        max_body_bytes=int(max_body_mb * 2**20),
        max_utterances=max_utterances,
        max_queue=max_queue,
        jobs_db=jobs_db,
        max_jobs=max_jobs,
        max_recording_minutes=max_minutes,
    )
    uvicorn.run(create_app(settings), host=host, port=port)
