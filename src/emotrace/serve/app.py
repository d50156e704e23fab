"""The HTTP service: `create_app(settings)` wires the routes to the one analysis pipeline (`Analyzer`), behind
the queue, the limits and the optional API key. Routes stay thin; each concern lives in its own module."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Literal

from fastapi import FastAPI, Query, Request
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from emotrace.inference.pipeline import Analyzer, PipelineOptions
from emotrace.io import prediction_records, render_predictions
from emotrace.io.html_report import render_timeline, report_style
from emotrace.schema import Conversation, Utterance
from emotrace.serve.batching import Dispatcher, Overloaded, inference_thread
from emotrace.serve.body import read_analyze_request
from emotrace.serve.catalog import available_models, model_info, model_reference
from emotrace.serve.errors import install_error_handlers, json_response
from emotrace.serve.inputs import pipeline_options, request_conversations
from emotrace.serve.jobs import install_jobs
from emotrace.serve.live import install_live
from emotrace.serve.media import hide_folders
from emotrace.serve.metrics import Metrics
from emotrace.serve.middleware import ApiKeyGuard, BodyLimit, RequestMetrics
from emotrace.serve.openapi import ANALYZE_BODY, install_openapi
from emotrace.serve.schemas import AnalyzeResponse, ErrorResponse, ModelsResponse
from emotrace.serve.settings import ServeSettings

STATIC = Path(__file__).resolve().parent / "static"
_DOWNLOADS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
_ERRORS = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in (
        (401, "missing or wrong API key"),
        (413, "request body too large"),
        (422, "bad input: one line naming the conversation, utterance or field"),
        (503, "queue full; retry after Retry-After seconds"),
    )
}


def create_app(settings: ServeSettings, analyzer: Analyzer | None = None) -> FastAPI:
    """The service; `analyzer` is shared when given (tests load the model once for several apps)."""
    analyzer = analyzer or Analyzer()
    preload = model_reference(settings.model, settings, "--model")  # a wrong --model fails here, before serving
    dispatcher = Dispatcher(analyzer, settings.max_queue, settings.max_batch_utterances, settings.batch_wait_ms)
    metrics = Metrics(queue_depth=lambda: dispatcher.depth, batches=lambda: dispatcher.batches)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        warm_up = [Conversation("warm-up", [Utterance("A", "Hello, how are you?")])]
        await asyncio.wrap_future(
            inference_thread().submit(analyzer.analyze, warm_up, PipelineOptions(model=preload, backend=settings.backend))
        )  # loads the model once
        dispatcher.start()
        jobs.start()
        yield
        await run_in_threadpool(jobs.stop)
        await run_in_threadpool(dispatcher.stop)

    # No /docs or /redoc: FastAPI's pages load their scripts from a CDN, and the service works offline; the schema is /openapi.json.
    app = FastAPI(
        title="emotrace",
        version=_version(),
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        description="Emotion recognition in conversation: the emotion of every utterance, with confidence, offline on a CPU.",
    )
    app.state.dispatcher, app.state.metrics = dispatcher, metrics
    install_error_handlers(app, settings.retry_after_seconds)
    install_openapi(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/report.css", include_in_schema=False)
    async def report_css() -> Response:
        return Response(report_style(), media_type="text/css")

    @app.get("/healthz", summary="Liveness: the model is loaded and the worker runs")
    async def healthz() -> dict[str, str | int]:
        return {"status": "ok", "model": settings.model, "backend": settings.backend, "queue": dispatcher.depth}

    @app.get("/v1/models", response_model=ModelsResponse, summary="Models this server offers, with their labels and reported metrics")
    async def models() -> Response:
        listed = [model_info(name, folder) for name, folder in available_models(settings).items()]
        return json_response({"default": settings.model, "models": listed})

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
    async def metrics_page(request: Request) -> Response:
        exposition, content_type = metrics.render(request.headers.get("accept"))
        return Response(exposition, media_type=content_type)

    @app.post(
        "/v1/analyze",
        response_model=AnalyzeResponse,
        summary="The emotion of every utterance",
        description="JSON, or multipart with a `request` field and media uploads. `?format=csv|jsonl` downloads the CLI's file formats instead.",
        openapi_extra=ANALYZE_BODY,
        responses={**_ERRORS, 200: {"content": {media: {} for media in _DOWNLOADS.values()}}},
    )
    async def analyze(request: Request, format: Annotated[Literal["json", "jsonl", "csv"], Query(description="response format")] = "json") -> Response:
        if dispatcher.full:  # refuse before reading a body we could not queue anyway
            raise Overloaded
        with tempfile.TemporaryDirectory(prefix="emotrace-uploads-") as folder:
            body, uploads = await read_analyze_request(request, Path(folder), settings)
            options = pipeline_options(body.options, settings)
            conversations = await run_in_threadpool(request_conversations, body, uploads, settings)
            predictions = await dispatcher.analyze(conversations, options)
            hide_folders(predictions, [Path(folder)] + ([settings.media_root] if settings.media_root else []))
        failed = [name for predicted in predictions for p in predicted for name in (p.errors or {})]
        metrics.observe_analysis(sum(len(c) for c in conversations), failed)
        if format != "json":
            headers = {"Content-Disposition": f'attachment; filename="emotrace.{format}"'}
            return Response(render_predictions(conversations, predictions, format), headers=headers, media_type=_DOWNLOADS[format])
        payload = {"conversations": prediction_records(conversations, predictions)}
        if body.html:
            payload["html"] = render_timeline(conversations, predictions)
        return json_response(payload)

    install_live(app, settings, analyzer, dispatcher)
    jobs = install_jobs(app, settings, analyzer)
    routes = frozenset(route.path for route in app.routes if hasattr(route, "path"))
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    if settings.api_key:
        app.add_middleware(ApiKeyGuard, key=settings.api_key, open_paths=frozenset({"/", "/healthz", "/report.css", "/openapi.json"}))
    app.add_middleware(RequestMetrics, metrics=metrics, routes=routes)
    return app


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("emotrace")
    except PackageNotFoundError:  # running from a source checkout
        return "0+source"
