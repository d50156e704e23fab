"""Batch planning and the work of one shard: what the shards of a batch are, which ones a previous run finished,
and the read → analyse → write function that a worker process runs for each.

A shard is one input (a conversation file, or a range of lines of one large JSONL file) and the output it
becomes. Its output is written atomically and then marked with a fingerprint of the input and of the options,
so a rerun after a crash or a kill skips exactly the shards whose output is complete and still current.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import io
import json
import os
import re
import shutil
import sys
from dataclasses import asdict, dataclass
from itertools import takewhile
from pathlib import Path
from typing import Any, NamedTuple

from emotrace.errors import EmotraceError
from emotrace.inference.pipeline import Analyzer, PipelineOptions
from emotrace.io.atomic import atomic_path, write_text_atomic

BATCH_FORMATS = {"jsonl": ".jsonl", "json": ".json", "csv": ".csv"}
_GLOB_MAGIC = re.compile(r"[*?[]")


@dataclass(frozen=True)
class BatchSpec:
    """What every shard of a batch shares: how inputs are read, what runs on them, how outputs are written."""

    options: PipelineOptions = PipelineOptions()
    format: str = "jsonl"
    input_format: str | None = None
    columns: dict[str, str] | None = None
    max_bytes: int = 64 * 2**20
    torch_threads: int | None = None  # per worker process, so that workers × threads fits the cores; None: torch's default


@dataclass(frozen=True)
class Shard:
    """`source` (or its bytes `span` = (start, end, first line), for a shard of a JSONL file) → `output`;
    `fingerprint` is what its output is marked with once written."""

    source: Path
    output: Path
    fingerprint: str
    span: tuple[int, int, int] | None = None

    @property
    def name(self) -> str:
        """How a report names the shard: its input file, and where in it a JSONL shard starts."""
        return str(self.source) if self.span is None else f"{self.source} (from line {self.span[2]})"


class ShardCounts(NamedTuple):
    conversations: int
    utterances: int


def plan_shards(paths: list[Path], out_dir: Path, spec: BatchSpec, shard_size: int = 200) -> tuple[list[Shard], Path | None]:
    """The shards for `paths`, and where their joined output goes when a single JSONL file is split (else None).

    One JSONL file is split into shards of `shard_size` conversations; anything else (several files, a
    directory, a glob, one file of another format) gives one shard, and one output, per file."""
    if shard_size < 1:
        raise EmotraceError("--shard-size must be at least 1")
    extension = BATCH_FORMATS[spec.format]
    jsonl = spec.input_format == "jsonl" or (spec.input_format is None and paths[0].suffix.lower() == ".jsonl")
    if len(paths) == 1 and paths[0].is_file() and jsonl:
        source = paths[0]
        return _jsonl_shards(source, out_dir / "shards", extension, spec, shard_size), out_dir / f"{source.stem}{extension}"
    files, root = expand_inputs(paths, spec.input_format, out_dir)
    shards = []
    for file in files:
        stat = file.stat()
        identity = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
        shards.append(Shard(file, out_dir / file.relative_to(root).with_suffix(extension), _fingerprint(identity, spec)))
    _check_distinct(shards)
    return shards, None


def expand_inputs(paths: list[Path], input_format: str | None, out_dir: Path) -> tuple[list[Path], Path]:
    """The conversation files that `paths` name (files as given; directories searched recursively and globs
    expanded, keeping known input extensions unless `input_format` is given), and the folder output names are
    made relative to. Hidden files and anything under `out_dir` are left out, so a rerun never reads its outputs."""
    from emotrace.io.readers import INPUT_EXTENSIONS

    out_dir = out_dir.resolve()
    files: list[Path] = []
    roots: list[Path] = []
    for path in paths:
        if path.is_file():
            files.append(path.resolve())
            roots.append(path.resolve().parent)
            continue
        if path.is_dir():
            root, found = path.resolve(), path.rglob("*")
        elif _GLOB_MAGIC.search(str(path)):
            root, found = _glob_root(path).resolve(), (Path(match) for match in glob.glob(str(path), recursive=True))
        else:
            raise EmotraceError("file not found", path=str(path), hint="check the path")
        matches = [
            file.resolve()
            for file in found
            if file.is_file() and (input_format or file.suffix.lower() in INPUT_EXTENSIONS) and not _hidden_or_output(file.resolve(), root, out_dir)
        ]
        if not matches:
            raise EmotraceError("no conversation files found", path=str(path), hint=f"expected files ending in {', '.join(INPUT_EXTENSIONS)}")
        files += matches
        roots.append(root)
    return sorted(dict.fromkeys(files)), Path(os.path.commonpath(roots))


def is_done(shard: Shard) -> bool:
    """Its output exists (atomic writes: then it is complete) and was made from this input with these options."""
    marker = marker_path(shard.output)
    return shard.output.is_file() and marker.is_file() and marker.read_text(encoding="utf-8") == shard.fingerprint


def marker_path(output: Path) -> Path:
    return output.with_name(f".{output.name}.done")


_analyzer: Analyzer | None = None


def run_shard(shard: Shard, spec: BatchSpec) -> ShardCounts:
    """Read the shard's conversations, analyse them, write the output atomically, then mark it done.
    Runs in a worker process that keeps one `Analyzer`, so models load once per worker, not once per shard."""
    from emotrace.io import read_conversations, write_predictions
    from emotrace.io.readers import read_jsonl_range

    if shard.span is None:
        conversations = read_conversations(shard.source, spec.input_format, spec.columns, max_bytes=spec.max_bytes)
    else:
        conversations = read_jsonl_range(shard.source, *shard.span)
    predictions = _worker_analyzer(spec.torch_threads).analyze(conversations, spec.options)
    write_predictions(conversations, predictions, shard.output, spec.format)
    write_text_atomic(marker_path(shard.output), shard.fingerprint)
    return ShardCounts(len(conversations), sum(len(c) for c in conversations))


def merge_outputs(parts: list[Path], target: Path, format: str) -> None:
    """Join the outputs of a split file's shards, in input order, into `target` (atomically)."""
    with atomic_path(target) as temporary, temporary.open("w", encoding="utf-8", newline="") as merged:
        if format == "jsonl":
            for part in parts:
                with part.open(encoding="utf-8", newline="") as text:
                    shutil.copyfileobj(text, merged)
        elif format == "json":
            records = [record for part in parts for record in json.loads(part.read_text(encoding="utf-8"))]
            merged.write(json.dumps(records, ensure_ascii=False, indent=2) + "\n")
        else:  # csv: shards can differ in columns (e.g. a modality only some of them have), so take their union
            tables = [csv.DictReader(io.StringIO(part.read_text(encoding="utf-8"), newline="")) for part in parts]
            columns = list(dict.fromkeys(name for table in tables for name in table.fieldnames or []))
            writer = csv.DictWriter(merged, columns, lineterminator="\n")
            writer.writeheader()
            for table in tables:
                writer.writerows(table)


def _worker_analyzer(torch_threads: int | None) -> Analyzer:
    """The worker process's one Analyzer. Threads are set through OMP_NUM_THREADS, which torch reads when it is
    first imported, so a worker whose model runs without torch (an ONNX export) never pays for importing it."""
    global _analyzer
    if _analyzer is None:
        if torch_threads:
            os.environ["OMP_NUM_THREADS"] = str(torch_threads)
            if "torch" in sys.modules:
                sys.modules["torch"].set_num_threads(torch_threads)
        _analyzer = Analyzer()
    return _analyzer


def _jsonl_shards(source: Path, shard_dir: Path, extension: str, spec: BatchSpec, shard_size: int) -> list[Shard]:
    """One pass over the file: byte ranges of `shard_size` conversations each, with a hash of their bytes, so that
    after an edit or an append only the shards whose lines changed are redone."""
    shards: list[Shard] = []
    start = first_line = conversations = offset = 0
    digest = hashlib.sha256()

    def close_shard() -> None:
        span = (start, offset, first_line)
        identity = {"sha256": digest.hexdigest(), "first_line": first_line}
        shards.append(Shard(source, shard_dir / f"{source.stem}-{len(shards):05d}{extension}", _fingerprint(identity, spec), span))

    try:
        with source.open("rb") as lines:
            for number, line in enumerate(lines, start=1):
                if conversations == 0:
                    if not line.strip():  # blank lines between shards belong to none
                        offset += len(line)
                        continue
                    start, first_line, digest = offset, number, hashlib.sha256()
                conversations += bool(line.strip())
                digest.update(line)
                offset += len(line)
                if conversations == shard_size:
                    close_shard()
                    conversations = 0
    except OSError as error:
        raise EmotraceError(f"cannot read the file: {error.strerror}", path=str(source), hint="check its permissions") from error
    if conversations:
        close_shard()
    if not shards:
        raise EmotraceError("no conversations found", path=str(source), hint="expected one JSON object per line")
    return shards


def _fingerprint(identity: dict[str, Any], spec: BatchSpec) -> str:
    """The input's identity plus everything that changes the output; threads and size limits do not."""
    content = {"input": identity, "options": asdict(spec.options), "format": spec.format, "input_format": spec.input_format, "columns": spec.columns}
    return json.dumps(content, sort_keys=True)


def _check_distinct(shards: list[Shard]) -> None:
    seen: dict[Path, Path] = {}
    for shard in shards:
        if shard.output in seen:
            raise EmotraceError(
                f"{seen[shard.output].name} and {shard.source.name} would both be written to {shard.output}",
                path=str(shard.source.parent),
                hint="give them different names or run them as separate batches",
            )
        seen[shard.output] = shard.source


def _glob_root(pattern: Path) -> Path:
    """The folder a glob starts from: its leading parts without wildcards (`data/**/*.jsonl` → `data`)."""
    return Path(*takewhile(lambda part: not _GLOB_MAGIC.search(part), pattern.parts))


def _hidden_or_output(file: Path, root: Path, out_dir: Path) -> bool:
    return file.is_relative_to(out_dir) or any(part.startswith(".") for part in file.relative_to(root).parts)
