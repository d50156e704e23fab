"""`emotrace serve`: the analysis pipeline over HTTP (JSON API, Prometheus metrics) and a web page that shows the
same timeline as `analyze --report`. Needs the `serve` extra (FastAPI, uvicorn, python-multipart)."""

from __future__ import annotations

from emotrace.serve.app import create_app
from emotrace.serve.settings import ServeSettings

__all__ = ["ServeSettings", "create_app"]
