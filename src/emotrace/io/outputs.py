"""Reading back what `emotrace analyze` or a batch wrote (JSON, JSON lines or CSV of predictions), one conversation
at a time, so that `emotrace summarize` runs over outputs of any size in bounded memory. Only what a summary needs
is kept: speaker, timing, text, the label, its confidence and the distribution."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from emotrace.errors import EmotraceError
from emotrace.schema import Conversation, Prediction, Utterance

OUTPUT_EXTENSIONS = {".json": "json", ".jsonl": "jsonl", ".csv": "csv"}
_CHUNK = 1 << 16
_SHARD = re.compile(r"^(?P<stem>.+)-\d{5}$")  # `inference/shards.py` names the parts of a split file stem-00000.ext
_RECORD_HINT = 'expected {"id": ..., "utterances": [{"speaker": ..., "emotion": ..., "probabilities": ...}]} as emotrace analyze writes'

Analysed = tuple[Conversation, list[Prediction]]


def output_files(paths: list[Path], exclude: frozenset[Path] = frozenset()) -> list[Path]:
    """The prediction files that `paths` name: files as given; in a folder, its .json/.jsonl/.csv files recursively,
    leaving out hidden files, `exclude` (e.g. the summary being written) and the `shards/` parts of a split JSONL file
    whose joined output is already beside the `shards/` folder (it holds the same conversations)."""
    found: list[Path] = []
    for path in paths:
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            inside = sorted(
                file
                for file in path.rglob("*")
                if file.is_file() and file.suffix.lower() in OUTPUT_EXTENSIONS and not any(part.startswith(".") for part in file.relative_to(path).parts)
            )
            kept = [file for file in inside if file.resolve() not in exclude and not _joined_elsewhere(file)]
            if not kept:
                raise EmotraceError("no prediction files found", path=str(path), hint=f"expected files ending in {', '.join(OUTPUT_EXTENSIONS)}")
            found += kept
        else:
            raise EmotraceError("file not found", path=str(path), hint="give the JSON, JSONL or CSV that emotrace analyze wrote")
    return found


def _joined_elsewhere(file: Path) -> bool:
    shard = _SHARD.match(file.stem)
    return file.parent.name == "shards" and shard is not None and (file.parent.parent / f"{shard['stem']}{file.suffix}").is_file()


def read_outputs(path: Path) -> Iterator[Analysed]:
    """The conversations and predictions of one output file, by its extension; a problem is one error naming it."""
    kind = OUTPUT_EXTENSIONS.get(path.suffix.lower())
    if kind is None:
        raise EmotraceError("not a prediction output", path=str(path), hint=f"expected a file ending in {', '.join(OUTPUT_EXTENSIONS)}")
    try:
        yield from {"json": _json, "jsonl": _jsonl, "csv": _csv}[kind](path)
    except UnicodeDecodeError:
        raise EmotraceError("not UTF-8 text", path=str(path), hint="give the file emotrace analyze wrote") from None
    except OSError as error:
        raise EmotraceError(f"cannot read: {error.strerror or error}", path=str(path), hint="check the path and its permissions") from None


def _jsonl(path: Path) -> Iterator[Analysed]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as error:
                    raise EmotraceError(f"not valid JSON ({error.msg})", path=str(path), line=number, hint="one conversation record per line") from None
                yield _analysed(record, str(path), number)


def _json(path: Path) -> Iterator[Analysed]:
    with path.open(encoding="utf-8") as handle:
        items = _JsonArray(handle).items()
        index = 0
        while True:
            try:
                record = next(items)
            except StopIteration:
                return
            except UnicodeDecodeError:
                raise  # reported by read_outputs
            except ValueError as error:  # json.JSONDecodeError included
                where = "before the first conversation" if index == 0 else f"after conversation {index}"
                raise EmotraceError(f"not a JSON array of conversations ({getattr(error, 'msg', error)}, {where})", path=str(path), hint=_RECORD_HINT) from None
            index += 1
            yield _analysed(record, f"{path}: conversation {index}", None)


class _JsonArray:
    """A JSON array's items decoded one at a time from a file, through a buffer that grows only while one item
    does not fit, so a file of any length is read in the memory of its largest conversation."""

    def __init__(self, handle: Any) -> None:
        self.handle, self.buffer, self.position = handle, "", 0
        self.decoder = json.JSONDecoder()

    def items(self) -> Iterator[Any]:
        if self._peek() != "[":
            raise ValueError("expected '['")
        self.position += 1
        if self._peek() == "]":
            return
        while True:
            self._peek()
            yield self._decode()
            after = self._peek()
            if after == "]":
                return
            if after != ",":
                raise ValueError("expected ',' or ']'")
            self.position += 1

    def _peek(self) -> str:
        """The next character that is not white space ("" at the end of the file)."""
        while True:
            while self.position < len(self.buffer) and self.buffer[self.position].isspace():
                self.position += 1
            if self.position < len(self.buffer):
                return self.buffer[self.position]
            more = self.handle.read(_CHUNK)
            if not more:
                return ""
            self.buffer, self.position = more, 0

    def _decode(self) -> Any:
        while True:
            try:
                value, self.position = self.decoder.raw_decode(self.buffer, self.position)
                return value
            except json.JSONDecodeError:
                more = self.handle.read(max(_CHUNK, len(self.buffer) - self.position))  # doubles what is still undecoded
                if not more:
                    raise
                self.buffer, self.position = self.buffer[self.position :] + more, 0


def _csv(path: Path) -> Iterator[Analysed]:
    """Rows of one conversation are consecutive (as analyze writes them); `p_<label>` columns hold the distribution."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle)
        columns = rows.fieldnames or []
        missing = [name for name in ("conversation_id", "speaker", "emotion", "confidence") if name not in columns]
        if missing:
            raise EmotraceError(
                f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}", path=str(path), line=1, hint="give the CSV that emotrace analyze wrote"
            )
        labels = {name: name[2:] for name in columns if name.startswith("p_")}
        current: str | None = None
        records: list[dict[str, Any]] = []
        for row in rows:
            if row["conversation_id"] != current and records:
                yield _analysed({"id": current, "utterances": records}, str(path), rows.line_num - 1)
                records = []
            current = row["conversation_id"]
            probabilities = {label: _number(row[name], path, rows.line_num, name) for name, label in labels.items() if row[name] not in ("", None)}
            records.append(
                {
                    "speaker": row["speaker"],
                    "text": row.get("text") or "",
                    "start": _number(row.get("start"), path, rows.line_num, "start"),
                    "end": _number(row.get("end"), path, rows.line_num, "end"),
                    "emotion": row["emotion"],
                    "confidence": _number(row["confidence"], path, rows.line_num, "confidence"),
                    "probabilities": probabilities,
                }
            )
        if records:
            yield _analysed({"id": current, "utterances": records}, str(path), rows.line_num)


def _number(cell: str | None, path: Path, line: int, column: str) -> float | None:
    if cell in (None, ""):
        return None
    try:
        return float(cell)
    except ValueError:
        raise EmotraceError(f"{column} {cell!r} is not a number", path=str(path), line=line, hint="give the CSV that emotrace analyze wrote") from None


def _analysed(record: Any, where: str, line: int | None) -> Analysed:
    """A conversation record (as in `writers.prediction_records`) back to a conversation and its predictions."""
    if not isinstance(record, dict) or not isinstance(record.get("utterances"), list):
        raise EmotraceError("not a conversation record", path=where, line=line, hint=_RECORD_HINT)
    utterances, predictions = [], []
    for index, item in enumerate(record["utterances"], start=1):
        emotion = item.get("emotion") if isinstance(item, dict) else None
        if not isinstance(emotion, str) or not emotion:
            raise EmotraceError(f"utterance {index} has no predicted emotion", path=where, line=line, hint=_RECORD_HINT)
        probabilities = item.get("probabilities") if isinstance(item.get("probabilities"), dict) else {}
        confidence = item.get("confidence")
        if not isinstance(confidence, int | float):
            confidence = max(probabilities.values(), default=0.0)
        start, end = item.get("start"), item.get("end")
        utterances.append(
            Utterance(
                speaker=str(item.get("speaker") or ""),
                text=str(item.get("text") or ""),
                start=float(start) if isinstance(start, int | float) else None,
                end=float(end) if isinstance(end, int | float) else None,
            )
        )
        predictions.append(Prediction(label=emotion, probabilities=probabilities or {emotion: float(confidence)}, confidence=float(confidence)))
    return Conversation(str(record.get("id", "")), utterances), predictions
