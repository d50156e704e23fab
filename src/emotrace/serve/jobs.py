"""Long recordings as jobs: `POST /v1/jobs` takes a recording and answers at once with an id; `GET /v1/jobs/{id}`
gives its progress, then the result, the JSON of /v1/analyze (`emotrace analyze RECORDING`'s turns, words, speakers
and emotions). A request would time out on an hour of audio; a job does not.

- `POST /v1/jobs`: multipart with one file field `recording` (.wav .flac .ogg .mp3 .m4a .mp4 .webm), optionally
  `options` (the JSON of /v1/analyze's options) and `html=true` (the result also holds the web page's timeline).
  202 `{"id": ..., "status": "queued", "url": "/v1/jobs/<id>"}`. Same API key and body limit as /v1/analyze; a
  recording over `max_recording_minutes` is refused (422 at once when its header says so, else the job fails); with
  `max_jobs` jobs unfinished, 503 with Retry-After.
- `GET /v1/jobs/{id}`: `{"id", "status": "queued|running|done|failed", "recording", "progress": {"stage", "done",
  "total"}, "ahead" (queued: jobs before it), "error" (failed: one line), "result" (done)}`; 404 for an unknown id.

Jobs live in SQLite (`jobs_db`, job_store.py) with their uploads beside it, so finished results survive a restart;
jobs left running by a stopped server are failed with that reason, queued ones run after the restart. One worker
thread runs them oldest first: decoding, turns and transcription on it, the emotion models on the process's one
inference thread (batching.py), so /v1/analyze and /v1/live keep answering between a job's steps.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from emotrace.encoders.asr import Transcriber, asr_installed
from emotrace.encoders.recording import decode_recording, is_recording
from emotrace.errors import EmotraceError
from emotrace.inference.pipeline import Analyzer
from emotrace.inference.recordings import recording_conversation
from emotrace.io import prediction_records
from emotrace.io.html_report import render_timeline
from emotrace.paths import cache_root
from emotrace.serve.batching import inference_thread
from emotrace.serve.errors import json_response
from emotrace.serve.inputs import pipeline_options
from emotrace.serve.job_store import DONE, FAILED, QUEUED, RUNNING, Job, JobStore
from emotrace.serve.media import hide_folders, media_seconds
from emotrace.serve.schemas import AnalyzeOptions
from emotrace.serve.settings import ServeSettings

STOPPED = "the server stopped while this job was running; submit the recording again"
_INTERNAL = "internal error while analysing this recording; the server logged it"
_log = logging.getLogger(__name__)


def install_jobs(app: FastAPI, settings: ServeSettings, analyzer: Analyzer) -> JobRunner:
    """Adds the job routes to `app`; the caller starts and stops the returned runner with the app's lifespan."""
    database = settings.jobs_db or cache_root() / "jobs.sqlite3"
    store = JobStore(database)
    recovered = store.recover(STOPPED)
    if recovered:
        _log.warning("%d job(s) were running when the server stopped; marked failed", recovered)
    runner = JobRunner(store, database.with_name(f"{database.stem}-uploads"), analyzer, settings)
    _delete_ended_uploads(store, runner.uploads)

    @app.post("/v1/jobs", status_code=202, summary="Queue a recording for analysis; poll GET /v1/jobs/{id}")
    async def submit(request: Request) -> Response:
        if await run_in_threadpool(store.unfinished) >= settings.max_jobs:  # before reading an upload we could not queue anyway
            raise _queue_full(settings)
        job_id = uuid.uuid4().hex
        folder = runner.uploads / job_id
        try:
            name, options, html = await _read_upload(request, folder, settings)
            if not await run_in_threadpool(store.add, job_id, name, json.dumps({"options": options, "html": html}), settings.max_jobs):
                raise _queue_full(settings)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        runner.wake()
        return json_response({"id": job_id, "status": QUEUED, "url": f"/v1/jobs/{job_id}"}, 202, {"Location": f"/v1/jobs/{job_id}"})

    @app.get("/v1/jobs/{job_id}", summary="A job's progress, then its result or its error")
    async def status(job_id: str) -> Response:
        job = await run_in_threadpool(store.get, job_id)
        if job is None:
            raise HTTPException(404, f"no job {job_id!r} on this server (ids come from POST /v1/jobs)")
        return json_response(await run_in_threadpool(_job_record, store, job))

    return runner


class JobRunner:
    """The one worker thread: claims the oldest queued job, analyses it, stores its result or error, deletes its upload."""

    def __init__(self, store: JobStore, uploads: Path, analyzer: Analyzer, settings: ServeSettings) -> None:
        self.store, self.uploads, self.analyzer, self.settings = store, uploads, analyzer, settings
        self.transcriber = _ReportingTranscriber() if asr_installed() else None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="emotrace-jobs", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Take no new job; a job still running after `timeout` is failed as STOPPED on the next start."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            job = self.store.claim_next()
            if job is None:
                self._wake.wait(5.0)  # a submit wakes it; the timeout covers jobs queued by another app on the file
                continue
            self._execute(job)

    def _execute(self, job: Job) -> None:
        folder = self.uploads / job.id
        try:
            self.store.finish(job.id, json.dumps(self._analyse(job, folder), ensure_ascii=False, default=str))
        except EmotraceError as error:
            self.store.fail(job.id, str(error).replace(str(folder / job.recording), job.recording))
        except Exception:
            _log.exception("job %s failed", job.id)
            self.store.fail(job.id, _INTERNAL)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _analyse(self, job: Job, folder: Path) -> dict[str, Any]:
        """Decode, find turns, transcribe (reporting each turn), then the emotion models on the inference thread."""
        request = json.loads(job.options)
        options = pipeline_options(AnalyzeOptions.model_validate(request["options"]), self.settings)
        self.store.progress(job.id, "decoding the recording")
        recording = decode_recording(folder / job.recording, self.settings.max_recording_minutes * 60)
        with tempfile.TemporaryDirectory(prefix="emotrace-job-") as scratch:
            if self.transcriber is not None:
                self.transcriber.report = lambda done, total: self.store.progress(job.id, "transcribing turns", done, total)
            conversation = recording_conversation(recording, Path(scratch) / "channels", self.transcriber)
            self.store.progress(job.id, "recognising emotions", 0, len(conversation))
            predictions = inference_thread().submit(self.analyzer.analyze, [conversation], options).result()
            hide_folders(predictions, [folder, Path(scratch) / "channels"])
        conversation.id = Path(job.recording).stem
        conversation.metadata["recording"] = job.recording
        for utterance in conversation.utterances:
            utterance.media = {kind: job.recording for kind in utterance.media}
        result: dict[str, Any] = {"conversations": prediction_records([conversation], predictions)}
        if request["html"]:
            result["html"] = render_timeline([conversation], predictions)
        return result


class _ReportingTranscriber(Transcriber):
    """The shared transcriber (loaded once), reporting each turn so a job's progress moves during its longest step."""

    report: Callable[[int, int], None] = staticmethod(lambda done, total: None)

    def transcribe(self, waves: Sequence[np.ndarray]) -> list[str]:
        texts: list[str] = []
        for done, wave in enumerate(waves, 1):
            texts += super().transcribe([wave])
            self.report(done, len(waves))
        return texts


async def _read_upload(request: Request, folder: Path, settings: ServeSettings) -> tuple[str, dict[str, Any], bool]:
    """The recording saved under `folder` (its plain file name), the checked options and whether to add the HTML."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise EmotraceError('POST /v1/jobs takes multipart/form-data with the recording in a file field "recording"')
    try:
        async with request.form(max_files=1, max_fields=2, max_part_size=settings.max_body_bytes) as form:
            upload = form.get("recording")
            if not isinstance(upload, UploadFile):
                raise EmotraceError('the job has no file field "recording"', hint="upload the recording under that field name")
            name = Path(upload.filename or "").name
            if not name or not is_recording(Path(name)):
                raise EmotraceError(f"{name or 'the upload'!r} is not a recording", hint="send .wav .flac .ogg .mp3 .m4a .mp4 or .webm")
            options = AnalyzeOptions.model_validate_json(str(form.get("options") or "{}"))
            pipeline_options(options, settings)  # a bad option is a 422 now, not a failed job later
            folder.mkdir(parents=True)
            await run_in_threadpool(_save, upload, folder / name)
            html = str(form.get("html") or "").lower() in ("1", "true")
    except HTTPException as error:  # Starlette's message for a malformed form, e.g. a second file
        raise EmotraceError(f"malformed multipart body: {error.detail}") from None
    seconds = await run_in_threadpool(media_seconds, "audio", str(folder / name))
    if seconds is not None and seconds > settings.max_recording_minutes * 60:
        raise EmotraceError(
            f"{name!r} lasts {seconds / 60:.1f} min, over this server's limit of {settings.max_recording_minutes:g} min", hint="cut it into parts"
        )
    return name, options.model_dump(), html


def _delete_ended_uploads(store: JobStore, uploads: Path) -> None:
    """Uploads of jobs that will never run (failed by `recover`, or left by a crash mid-submit) take no disk space."""
    for folder in uploads.glob("*"):
        job = store.get(folder.name)
        if job is None or job.status not in (QUEUED, RUNNING):
            shutil.rmtree(folder, ignore_errors=True)


def _save(upload: UploadFile, path: Path) -> None:
    with path.open("wb") as out:
        shutil.copyfileobj(upload.file, out)


def _queue_full(settings: ServeSettings) -> HTTPException:
    message = f"this server already holds {settings.max_jobs} unfinished jobs, its limit; submit again when one has finished"
    return HTTPException(503, message, {"Retry-After": "30"})


def _job_record(store: JobStore, job: Job) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": job.id,
        "status": job.status,
        "recording": job.recording,
        "progress": {"stage": job.stage, "done": job.done, "total": job.total},
    }
    if job.status == QUEUED:
        record["ahead"] = store.ahead_of(job)
    if job.status == FAILED:
        record["error"] = job.error
    if job.status == DONE and job.result is not None:
        record["result"] = json.loads(job.result)
    return record
