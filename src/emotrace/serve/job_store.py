"""Recording jobs kept in SQLite (stdlib `sqlite3`), so a restart of `emotrace serve` loses no finished result and
no job silently: every row ends `done` with its result or `failed` with its one-line error.

One server per database file: on startup, `recover` marks the jobs a previous process left `running` as failed
(their work is gone with that process; re-running one could crash the server again), while `queued` jobs, whose
upload is still on disk, simply run. Each change is one statement or one transaction, so a row is never half-written.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    recording TEXT NOT NULL,
    options TEXT NOT NULL,
    stage TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    result TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL
)
"""


@dataclass(frozen=True)
class Job:
    """One row: `recording` is the client's file name, `options` and `result` JSON text, `done`/`total` the
    current stage's count (turns transcribed, say), `created`/`updated` Unix times."""

    id: str
    status: str
    recording: str
    options: str
    stage: str
    done: int
    total: int
    error: str | None
    result: str | None
    created: float
    updated: float


class JobStore:
    """The jobs table at `path` (created with its folder on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connection() as db:
            db.execute("PRAGMA journal_mode=WAL")  # readers (polling clients) never wait for the worker's writes
            db.execute(_SCHEMA)

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """A short-lived connection per call: the event loop's threads and the worker never share one."""
        with closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as db:
            db.row_factory = sqlite3.Row
            yield db

    def add(self, job_id: str, recording: str, options: str, limit: int) -> bool:
        """Queue a job unless `limit` jobs are already unfinished; the count and the insert are one transaction."""
        now = time.time()
        with self._connection() as db:
            db.execute("BEGIN IMMEDIATE")  # an exception before COMMIT rolls back as the connection closes
            (unfinished,) = db.execute("SELECT COUNT(*) FROM jobs WHERE status IN (?, ?)", (QUEUED, RUNNING)).fetchone()
            if unfinished >= limit:
                db.execute("ROLLBACK")
                return False
            db.execute(
                "INSERT INTO jobs (id, status, recording, options, stage, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (job_id, QUEUED, recording, options, "waiting for the worker", now, now),
            )
            db.execute("COMMIT")
        return True

    def get(self, job_id: str) -> Job | None:
        with self._connection() as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return Job(**row) if row else None

    def unfinished(self) -> int:
        with self._connection() as db:
            return int(db.execute("SELECT COUNT(*) FROM jobs WHERE status IN (?, ?)", (QUEUED, RUNNING)).fetchone()[0])

    def ahead_of(self, job: Job) -> int:
        """Jobs that will run before this queued one."""
        with self._connection() as db:
            query = "SELECT COUNT(*) FROM jobs WHERE status = ? OR (status = ? AND created < ?)"
            return int(db.execute(query, (RUNNING, QUEUED, job.created)).fetchone()[0])

    def claim_next(self) -> Job | None:
        """The oldest queued job, now marked running (None when the queue is empty)."""
        with self._connection() as db:
            row = db.execute(
                "UPDATE jobs SET status = ?, stage = ?, updated = ? WHERE id = (SELECT id FROM jobs WHERE status = ? ORDER BY created LIMIT 1) RETURNING *",
                (RUNNING, "starting", time.time(), QUEUED),
            ).fetchone()
        return Job(**row) if row else None

    def progress(self, job_id: str, stage: str, done: int = 0, total: int = 0) -> None:
        self._update(job_id, "stage = ?, done = ?, total = ?", (stage, done, total))

    def finish(self, job_id: str, result: str) -> None:
        self._update(job_id, "status = ?, stage = ?, result = ?", (DONE, "finished", result))

    def fail(self, job_id: str, error: str) -> None:
        self._update(job_id, "status = ?, stage = ?, error = ?", (FAILED, "failed", error))

    def recover(self, reason: str) -> int:
        """Mark every job left running by a previous process failed with `reason`; how many were."""
        with self._connection() as db:
            cursor = db.execute(
                "UPDATE jobs SET status = ?, stage = ?, error = ?, updated = ? WHERE status = ?", (FAILED, "failed", reason, time.time(), RUNNING)
            )
            return cursor.rowcount

    def _update(self, job_id: str, assignments: str, values: tuple[object, ...]) -> None:
        with self._connection() as db:
            db.execute(f"UPDATE jobs SET {assignments}, updated = ? WHERE id = ?", (*values, time.time(), job_id))
