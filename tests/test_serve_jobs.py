"""Recording jobs as a client sees them: submit, progress, result; a restart on the same SQLite file; bad uploads;
the job limit; the API key. The bundled example call (examples/recorded_call) is the recording; without the `asr`
extra its turns are speech-only, which these tests accept."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from emotrace.inference.pipeline import Analyzer
from emotrace.serve import ServeSettings, create_app
from emotrace.serve.job_store import JobStore
from emotrace.serve.jobs import STOPPED

CALL = Path(__file__).resolve().parents[1] / "examples" / "recorded_call" / "call.flac"
pytest.importorskip("soundfile")


@pytest.fixture(scope="module")
def shared() -> Analyzer:
    analyzer = Analyzer()
    analyzer.model("default")
    return analyzer


def _submit(client: TestClient, name: str = "call.flac", data: bytes | None = None, **fields: str) -> Any:
    return client.post("/v1/jobs", files={"recording": (name, CALL.read_bytes() if data is None else data)}, data=fields)


def _wait(client: TestClient, job_id: str, seen: list[str] | None = None, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = client.get(f"/v1/jobs/{job_id}").json()
        if seen is not None:
            seen.append(record["progress"]["stage"])
        if record["status"] in ("done", "failed"):
            return record
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish within {timeout} s")


def test_job_reports_progress_then_the_turns_and_emotions_of_the_recording(shared: Analyzer, tmp_path: Path) -> None:
    with TestClient(create_app(ServeSettings(jobs_db=tmp_path / "jobs.sqlite3"), shared)) as client:
        answer = _submit(client, html="true")
        assert answer.status_code == 202, answer.text
        job = answer.json()
        assert job["status"] == "queued" and answer.headers["location"] == job["url"] == f"/v1/jobs/{job['id']}"
        seen: list[str] = []
        record = _wait(client, job["id"], seen)
    assert record["status"] == "done", record
    assert {"recognising emotions", "finished"} <= set(seen)
    (conversation,) = record["result"]["conversations"]
    assert conversation["id"] == "call" and conversation["metadata"]["recording"] == "call.flac"
    turns = conversation["utterances"]
    assert [turn["speaker"] for turn in turns] == ["channel 1", "channel 2", "channel 1", "channel 2"]
    assert all(turn["end"] > turn["start"] for turn in turns) and turns[0]["start"] < turns[1]["start"]
    assert all("speech" in turn["modalities"] and turn["emotion"] for turn in turns)
    assert str(tmp_path) not in json.dumps(record) and "emotrace-job-" not in json.dumps(record)  # no server folder shown
    assert 'class="conversation"' in record["result"]["html"]


def test_finished_jobs_survive_a_restart_queued_ones_run_and_running_ones_fail_with_the_reason(shared: Analyzer, tmp_path: Path) -> None:
    settings = ServeSettings(jobs_db=tmp_path / "jobs.sqlite3")
    stopped = TestClient(create_app(settings, shared))  # no lifespan: the worker never starts, as if the server died
    queued = _submit(stopped).json()["id"]
    interrupted = _submit(stopped).json()["id"]
    store = JobStore(settings.jobs_db)
    assert store.claim_next().id == queued  # the oldest: now "running" in a server that is gone
    with TestClient(create_app(settings, shared)) as restarted:
        assert restarted.get(f"/v1/jobs/{queued}").json() == {
            "id": queued,
            "status": "failed",
            "recording": "call.flac",
            "progress": {"stage": "failed", "done": 0, "total": 0},
            "error": STOPPED,
        }
        finished = _wait(restarted, interrupted)
    assert finished["status"] == "done"
    later = TestClient(create_app(settings, shared)).get(f"/v1/jobs/{interrupted}").json()
    assert later == finished
    assert not list((tmp_path / "jobs-uploads").iterdir())  # every upload deleted once its job ended


def test_a_corrupt_recording_fails_its_job_with_one_line_naming_the_upload(shared: Analyzer, tmp_path: Path) -> None:
    with TestClient(create_app(ServeSettings(jobs_db=tmp_path / "jobs.sqlite3"), shared)) as client:
        job = _submit(client, "broken.flac", b"fLaC\x00\x00\x00\x22 not really audio").json()
        record = _wait(client, job["id"])
    assert record["status"] == "failed" and "result" not in record
    assert record["error"].startswith("broken.flac: cannot decode the recording") and "\n" not in record["error"]
    assert str(tmp_path) not in record["error"]


@pytest.mark.parametrize(
    ("files", "fields", "error"),
    [
        ({"recording": ("notes.txt", b"Ann: hi")}, {}, "'notes.txt' is not a recording"),
        ({"other": ("call.flac", b"x")}, {}, 'no file field "recording"'),
        ({"recording": ("call.flac", b"x")}, {"options": '{"mc_dropout": 500}'}, "options.mc_dropout is 500"),
        ({"recording": ("call.flac", b"x")}, {"options": '{"model": "nope"}'}, "nope"),
    ],
)
def test_bad_submissions_are_refused_at_once_with_their_reason(
    shared: Analyzer, tmp_path: Path, files: dict[str, Any], fields: dict[str, str], error: str
) -> None:
    client = TestClient(create_app(ServeSettings(jobs_db=tmp_path / "jobs.sqlite3"), shared))
    answer = client.post("/v1/jobs", files=files, data=fields)
    assert answer.status_code == 422 and error in answer.json()["error"]
    assert not list((tmp_path / "jobs-uploads").glob("*/*"))


def test_a_recording_over_the_length_limit_is_refused_at_submit(shared: Analyzer, tmp_path: Path) -> None:
    client = TestClient(create_app(ServeSettings(jobs_db=tmp_path / "jobs.sqlite3", max_recording_minutes=0.1), shared))
    answer = _submit(client)
    assert answer.status_code == 422
    assert answer.json()["error"] == "'call.flac' lasts 0.3 min, over this server's limit of 0.1 min (cut it into parts)"


def test_jobs_over_the_limit_get_503_with_the_reason_until_one_finishes(shared: Analyzer, tmp_path: Path) -> None:
    client = TestClient(create_app(ServeSettings(jobs_db=tmp_path / "jobs.sqlite3", max_jobs=2), shared))  # no worker
    first = _submit(client).json()["id"]
    assert _submit(client).status_code == 202
    refused = _submit(client)
    assert refused.status_code == 503 and refused.headers["retry-after"] == "30"
    assert refused.json()["error"] == "this server already holds 2 unfinished jobs, its limit; submit again when one has finished"
    assert client.get(f"/v1/jobs/{first}").json()["ahead"] == 0
    JobStore(tmp_path / "jobs.sqlite3").fail(first, "test")
    assert _submit(client).status_code == 202


def test_jobs_need_the_api_key_when_one_is_set(shared: Analyzer, tmp_path: Path) -> None:
    client = TestClient(create_app(ServeSettings(jobs_db=tmp_path / "jobs.sqlite3", api_key="s3cret"), shared))
    assert _submit(client).status_code == 401
    assert client.get("/v1/jobs/anything").status_code == 401
    client.headers["Authorization"] = "Bearer s3cret"
    job = _submit(client).json()
    assert client.get(job["url"]).json()["status"] == "queued"
    missing = client.get("/v1/jobs/anything")
    assert missing.status_code == 404 and "no job 'anything'" in json.loads(missing.text)["error"]
