"""One inference thread behind a bounded queue, merging concurrent requests into one `Analyzer.analyze` call.

torch already uses every core for one batch, so a single worker is the fastest schedule; it keeps the event
loop free to accept, validate and answer requests meanwhile. Each app's dispatcher thread gathers batches;
the model calls themselves all run on `inference_thread()`. The queue admits at most `max_queue` requests
(waiting plus running) and refuses the rest at once, so memory stays bounded under any load and clients get a
503 with Retry-After instead of a timeout. Requests with equal options that arrive within a few milliseconds
of each other run as one batch (up to `max_batch_utterances`), which is where the throughput under load comes from.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property

from emotrace.inference.pipeline import Analyzer, PipelineOptions
from emotrace.schema import Conversation, Prediction

_log = logging.getLogger(__name__)
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def inference_thread() -> ThreadPoolExecutor:
    """The one thread that runs every model call of the process, for every app in it: the models are not written
    for concurrent calls (memoised media, the embedding cache's connection), and torch uses every core anyway."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="emotrace-inference")
        return _executor


class Overloaded(Exception):
    """The queue is full; the client should retry later."""


@dataclass
class _Job:
    conversations: list[Conversation]
    options: PipelineOptions
    future: Future[list[list[Prediction]]] = field(default_factory=Future)

    @cached_property
    def utterances(self) -> int:
        return sum(len(conversation) for conversation in self.conversations)

    @cached_property
    def batch_key(self) -> tuple[PipelineOptions, bool]:
        """Jobs merge only with equal options and both with or both without media: the pipeline fuses every
        conversation of a call once any has media, which would change a text-only request's answer."""
        return self.options, any(u.media for c in self.conversations for u in c.utterances)


class Dispatcher:
    """`await analyze(...)` from request handlers; `start()`/`stop()` around the app's lifetime."""

    def __init__(self, analyzer: Analyzer, max_queue: int, max_batch_utterances: int, batch_wait_ms: float) -> None:
        self.analyzer = analyzer
        self.max_queue = max_queue
        self.max_batch_utterances = max_batch_utterances
        self.batch_wait = batch_wait_ms / 1000
        self.batches = 0  # analyze calls made, for /metrics
        self._waiting: deque[_Job] = deque()
        self._admitted = 0  # waiting + running
        self._condition = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    @property
    def depth(self) -> int:
        """Requests waiting or running."""
        return self._admitted

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @property
    def full(self) -> bool:
        return self._admitted >= self.max_queue

    def start(self) -> None:
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="emotrace-inference", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish what was admitted, then end the worker."""
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    async def analyze(self, conversations: list[Conversation], options: PipelineOptions) -> list[list[Prediction]]:
        job = _Job(conversations, options)
        with self._condition:
            if self._admitted >= self.max_queue or self._stopping:
                raise Overloaded
            self._admitted += 1
            self._waiting.append(job)
            self._condition.notify_all()
        return await asyncio.wrap_future(job.future)

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._waiting and not self._stopping:
                    self._condition.wait()
                if not self._waiting:
                    return
                batch = self._gather()
            try:
                if batch:
                    self._execute(batch)
            finally:
                with self._condition:
                    self._admitted -= len(batch)

    def _gather(self) -> list[_Job]:
        """The oldest job plus later ones with the same `batch_key`, waiting up to `batch_wait` for them (lock held).
        Jobs whose client went away (cancelled futures) are dropped here, before any work is spent on them."""
        first = self._waiting.popleft()
        if not first.future.set_running_or_notify_cancel():
            self._admitted -= 1
            return []
        batch, size = [first], first.utterances
        deadline = time.monotonic() + self.batch_wait
        while size < self.max_batch_utterances:
            for job in [job for job in self._waiting if job.batch_key == first.batch_key]:
                if size + job.utterances > self.max_batch_utterances:
                    break
                self._waiting.remove(job)
                if not job.future.set_running_or_notify_cancel():
                    self._admitted -= 1
                    continue
                batch.append(job)
                size += job.utterances
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._stopping:
                break
            self._condition.wait(remaining)
        return batch

    def _execute(self, batch: list[_Job]) -> None:
        """One analyze call for the whole batch; if it fails, each job alone, so one bad request fails only itself."""
        try:
            self.batches += 1
            conversations = [c for job in batch for c in job.conversations]
            predictions = inference_thread().submit(self.analyzer.analyze, conversations, batch[0].options).result()
        except Exception as error:
            if len(batch) == 1:
                _fail(batch[0], error)
                return
            for job in batch:
                self._execute([job])
            return
        start = 0
        for job in batch:
            job.future.set_result(predictions[start : start + len(job.conversations)])
            start += len(job.conversations)


def _fail(job: _Job, error: Exception) -> None:
    from emotrace.errors import EmotraceError

    if not isinstance(error, EmotraceError):
        _log.error("analysis failed", exc_info=error)
    job.future.set_exception(error)
