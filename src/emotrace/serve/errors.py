"""Every failure a client can cause becomes `{"error": "<one line>"}` with a 4xx status; never a traceback."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from emotrace.errors import EmotraceError
from emotrace.serve.batching import Overloaded


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """JSON as `emotrace analyze` writes it (non-ASCII kept, NaN allowed in echoed metadata rather than a 500)."""
    return Response(json.dumps(payload, ensure_ascii=False, default=str), status, headers, media_type="application/json")


def first_problem(errors: Sequence[Any]) -> str:
    """pydantic's error list as one line: where the first problem is, what it is, and how many more there are."""
    error = errors[0]
    where = ""
    for part in error["loc"]:
        if part in ("body", "query"):
            continue
        where += f"[{part}]" if isinstance(part, int) else f".{part}" if where else str(part)
    message = " ".join(str(error["msg"]).removeprefix("Value error, ").split())
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {message}{more}" if where else f"{message}{more}"


def install_error_handlers(app: FastAPI, retry_after_seconds: int) -> None:
    async def user_error(_: Request, error: Exception) -> Response:
        return json_response({"error": str(error)}, 422)

    async def invalid(_: Request, error: Exception) -> Response:
        return json_response({"error": first_problem(error.errors())}, 422)  # type: ignore[attr-defined]

    async def overloaded(_: Request, __: Exception) -> Response:
        message = "the server is busy; retry after a moment"
        return json_response({"error": message}, 503, {"Retry-After": str(retry_after_seconds)})

    async def http_error(_: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        return json_response({"error": str(error.detail)}, error.status_code, dict(error.headers or {}))

    app.add_exception_handler(EmotraceError, user_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(ValidationError, invalid)
    app.add_exception_handler(Overloaded, overloaded)
    app.add_exception_handler(HTTPException, http_error)
