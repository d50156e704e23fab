"""Batch analysis (`emotrace analyze FOLDER --out-dir OUT`): one output per input, resumable, retried, on a process
pool or a dask cluster.

The model is an untrained `mlp` bundle whose MiniLM embeddings are cached before any worker starts, so a worker
process loads it in a fraction of a second and never loads MiniLM itself; starting the worker processes is the
main cost, so the tests share the runs they can.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import PHRASES, synthetic_conversations
from test_cli import assert_user_error, emotrace

from emotrace.errors import EmotraceError
from emotrace.inference.batch import BatchReport, run_batch
from emotrace.inference.pipeline import PipelineOptions
from emotrace.inference.shards import BatchSpec, Shard, ShardCounts, is_done, plan_shards, run_shard


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> BatchSpec:
    import torch

    from emotrace.encoders.text import TextEncoder
    from emotrace.models.bundle import save_bundle
    from emotrace.models.registry import create_model

    torch.manual_seed(0)
    bundle = save_bundle(create_model("mlp", labels=list(PHRASES)), tmp_path_factory.mktemp("model") / "mlp", {}, "untrained test model\n")
    TextEncoder().embed([phrase for phrases in PHRASES.values() for phrase in phrases])
    return BatchSpec(PipelineOptions(model=str(bundle), backend="torch-fp32"))


def write_jsonl(path: Path, seed: int, count: int = 3) -> list[str]:
    """`count` conversations of 2–5 utterances; returns their ids in file order."""
    conversations = synthetic_conversations(count, seed)
    rows = [json.dumps({"id": c.id, "utterances": [{"speaker": u.speaker, "text": u.text} for u in c.utterances]}) for c in conversations]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return [c.id for c in conversations]


def output_ids(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines()]


def crash_on_first_attempt(shard: Shard, spec: BatchSpec) -> ShardCounts:
    """Test-only shard function: logs every attempt, and the first time it meets crash.jsonl kills its own worker
    process, as the out-of-memory killer would."""
    log = shard.source.parent / "attempts.log"
    with log.open("a", encoding="utf-8") as attempts:
        attempts.write(f"{shard.source.name}\n")
    if shard.source.name == "crash.jsonl" and log.read_text(encoding="utf-8").split().count("crash.jsonl") == 1:
        os._exit(1)
    return run_shard(shard, spec)


@pytest.fixture(scope="module")
def troubled_batch(tmp_path_factory: pytest.TempPathFactory, spec: BatchSpec) -> tuple[Path, Path, BatchReport]:
    """A folder of five inputs in two formats and a subfolder; one is malformed, one crashes its worker once."""
    inputs, out = tmp_path_factory.mktemp("inputs"), tmp_path_factory.mktemp("out")
    write_jsonl(inputs / "a.jsonl", seed=1)
    (inputs / "b.txt").write_text("Ann: This is the best day ever!\nBob: The meeting is at three.\n", encoding="utf-8")
    write_jsonl(inputs / "sub" / "c.jsonl", seed=2)
    (inputs / "bad.jsonl").write_text('{"id": "x", "utterances": [{"speaker": "A", "text": "hi"}]}\n{"id": "y", "utter\n', encoding="utf-8")
    write_jsonl(inputs / "crash.jsonl", seed=3)
    report = run_batch([inputs], out, spec, workers=2, retries=2, task=crash_on_first_attempt)
    return inputs, out, report


def test_each_input_file_gets_its_own_output_with_its_conversations_in_order(troubled_batch: tuple[Path, Path, BatchReport]) -> None:
    inputs, out, report = troubled_batch
    for name in ("a.jsonl", "sub/c.jsonl", "crash.jsonl"):
        assert output_ids(out / name) == output_ids(inputs / name)
    transcript = json.loads((out / "b.jsonl").read_text(encoding="utf-8"))
    assert [u["text"] for u in transcript["utterances"]] == ["This is the best day ever!", "The meeting is at three."]
    assert all(u["emotion"] in PHRASES for u in transcript["utterances"])
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and not p.name.startswith(".")) == [
        "a.jsonl",
        "b.jsonl",
        "crash.jsonl",
        "sub/c.jsonl",
    ]
    assert (report.shards, report.skipped, report.conversations) == (5, 0, 3 + 1 + 3 + 3)


def test_a_malformed_input_is_reported_once_without_retries_while_the_rest_complete(troubled_batch: tuple[Path, Path, BatchReport]) -> None:
    inputs, out, report = troubled_batch
    assert len(report.failures) == 1
    name, reason = report.failures[0]
    assert name == str(inputs / "bad.jsonl")
    assert f"{inputs / 'bad.jsonl'}:2: invalid JSON" in reason and "\n" not in reason
    assert (inputs / "attempts.log").read_text(encoding="utf-8").split().count("bad.jsonl") == 1
    assert not (out / "bad.jsonl").exists()


def test_a_shard_whose_worker_process_dies_is_retried_in_a_new_pool(troubled_batch: tuple[Path, Path, BatchReport]) -> None:
    inputs, out, report = troubled_batch
    assert (inputs / "attempts.log").read_text(encoding="utf-8").split().count("crash.jsonl") == 2
    assert output_ids(out / "crash.jsonl") == output_ids(inputs / "crash.jsonl")
    assert [name for name, _ in report.failures] == [str(inputs / "bad.jsonl")]


@pytest.fixture(scope="module")
def local_batch(tmp_path_factory: pytest.TempPathFactory, spec: BatchSpec) -> tuple[Path, Path]:
    """Three JSONL files analysed by the local engine: (inputs, outputs)."""
    inputs, out = tmp_path_factory.mktemp("inputs"), tmp_path_factory.mktemp("out")
    for seed, name in enumerate(("a", "b", "c"), start=4):
        write_jsonl(inputs / f"{name}.jsonl", seed)
    assert not run_batch([inputs], out, spec, engine="local", workers=1).failures
    return inputs, out


def test_a_rerun_skips_finished_shards_and_redoes_a_changed_input(tmp_path: Path, spec: BatchSpec, local_batch: tuple[Path, Path]) -> None:
    inputs, out = tmp_path / "inputs", tmp_path / "out"
    shutil.copytree(local_batch[0], inputs)  # copies keep their mtimes, so they are the same inputs
    shutil.copytree(local_batch[1], out)
    written = {path.name: path.stat().st_mtime_ns for path in out.glob("*.jsonl")}

    rerun = run_batch([inputs], out, spec, workers=2)
    assert (rerun.skipped, rerun.conversations) == (3, 0)
    assert {path.name: path.stat().st_mtime_ns for path in out.glob("*.jsonl")} == written

    new_ids = write_jsonl(inputs / "b.jsonl", seed=99, count=2)
    changed = run_batch([inputs], out, spec, workers=2)
    assert (changed.skipped, changed.conversations) == (2, 2)
    assert output_ids(out / "b.jsonl") == new_ids
    assert {name: (out / name).stat().st_mtime_ns for name in ("a.jsonl", "c.jsonl")} == {name: written[name] for name in ("a.jsonl", "c.jsonl")}


def test_other_pipeline_options_make_finished_outputs_stale(spec: BatchSpec, local_batch: tuple[Path, Path]) -> None:
    inputs, out = local_batch
    assert all(is_done(shard) for shard in plan_shards([inputs], out, spec)[0])
    other = BatchSpec(PipelineOptions(model=spec.options.model, backend="torch-fp32", abstain_below=0.5))
    assert not any(is_done(shard) for shard in plan_shards([inputs], out, other)[0])


def test_dask_on_a_local_cluster_of_two_workers_writes_the_same_outputs_as_the_local_engine(
    tmp_path: Path, spec: BatchSpec, local_batch: tuple[Path, Path]
) -> None:
    inputs, local_out = local_batch
    report = run_batch([inputs], tmp_path, spec, engine="dask", workers=2)
    assert (report.shards, report.skipped, report.failures) == (3, 0, [])
    for name in ("a.jsonl", "b.jsonl", "c.jsonl"):
        assert (tmp_path / name).read_text(encoding="utf-8") == (local_out / name).read_text(encoding="utf-8")


def test_one_jsonl_file_is_split_into_shards_and_joined_in_input_order(tmp_path: Path, spec: BatchSpec) -> None:
    source = tmp_path / "calls.jsonl"
    ids = write_jsonl(source, seed=5, count=7)
    report = run_batch([source], tmp_path / "out", spec, shard_size=3, workers=1)
    assert report.failures == []
    assert report.merged == tmp_path / "out" / "calls.jsonl"
    parts = sorted((tmp_path / "out" / "shards").glob("*.jsonl"))
    assert [p.name for p in parts] == ["calls-00000.jsonl", "calls-00001.jsonl", "calls-00002.jsonl"]
    assert [output_ids(p) for p in parts] == [ids[:3], ids[3:6], ids[6:]]
    assert output_ids(report.merged) == ids


def test_a_malformed_line_in_a_shard_is_named_by_its_line_in_the_whole_file(tmp_path: Path, spec: BatchSpec) -> None:
    source = tmp_path / "calls.jsonl"
    write_jsonl(source, seed=6, count=4)
    lines = source.read_text(encoding="utf-8").splitlines()
    source.write_text("\n".join([lines[0], "", lines[1], lines[2], '{"id": 5, "utterances": []}', lines[3]]) + "\n", encoding="utf-8")
    shards, _ = plan_shards([source], tmp_path / "out", spec, shard_size=2)
    assert [shard.span[2] for shard in shards if shard.span] == [1, 4, 6]
    with pytest.raises(EmotraceError, match=r"calls\.jsonl:5: \"utterances\" must be a non-empty list"):
        run_shard(shards[1], spec)


def test_unknown_engines_and_ray_are_one_line_errors(tmp_path: Path, spec: BatchSpec) -> None:
    write_jsonl(tmp_path / "a.jsonl", seed=1)
    with pytest.raises(EmotraceError, match="--engine ray is not supported: dask"):
        run_batch([tmp_path], tmp_path / "out", spec, engine="ray")
    with pytest.raises(EmotraceError, match="unknown engine 'spark'"):
        run_batch([tmp_path], tmp_path / "out", spec, engine="spark")


def test_cli_analyzes_a_folder_into_out_dir_and_refuses_single_file_options(tmp_path: Path, spec: BatchSpec) -> None:
    inputs, out = tmp_path / "calls", tmp_path / "predictions"
    ids = {name: write_jsonl(inputs / f"{name}.jsonl", seed) for seed, name in enumerate(("monday", "tuesday"), start=7)}
    model = ("--model", spec.options.model, "--backend", "torch-fp32")
    result = emotrace("analyze", str(inputs), "--out-dir", str(out), *model, "--workers", "1")
    assert result.returncode == 0, result.stderr
    assert "skipped 0 of 2 shards" in result.stderr
    assert {name: output_ids(out / f"{name}.jsonl") for name in ids} == ids
    again = emotrace("analyze", str(inputs / "*.jsonl"), "--out-dir", str(out), *model)
    assert again.returncode == 0 and "skipped 2 of 2 shards" in again.stderr, again.stderr
    assert_user_error(emotrace("analyze", str(inputs), "--out-dir", str(out), "--output", "x.json"), "--output does not apply to a batch")
    assert_user_error(emotrace("analyze", str(inputs), "--out-dir", str(out), "--engine", "ray"), "--engine ray is not supported", "dask")
    assert_user_error(emotrace("analyze", str(inputs)), "need --out-dir")
    assert_user_error(emotrace("analyze", str(inputs / "monday.jsonl"), "--engine", "dask"), "--engine is for batch runs")
