"""Turn the files people actually have (JSON lines, MELD-style CSV, plain transcripts, SRT/VTT subtitles, the ERC
literature's feature pickles) into Conversations.

Every reader checks its input and fails with an EmotraceError that names the file, the 1-based line and the
field at fault, plus what to do about it, because a bad row deep in a large file is the most common way a run
goes wrong; a raw KeyError or UnicodeDecodeError would leave the user guessing.
"""

from __future__ import annotations

import csv
import html
import io
import itertools
import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from emotrace.errors import EmotraceError
from emotrace.schema import MEDIA_KINDS, Conversation, Utterance

INPUT_FORMATS = ("jsonl", "csv", "transcript", "srt", "vtt", "community")
SPLITS = ("train", "dev", "test")
_EXTENSIONS = {".jsonl": "jsonl", ".csv": "csv", ".txt": "transcript", ".srt": "srt", ".vtt": "vtt", ".pkl": "community"}
INPUT_EXTENSIONS = tuple(_EXTENSIONS)
_SHAPES = {
    "jsonl": 'one JSON object per line: {"id": ..., "utterances": [{"speaker": ..., "text": ...}]}',
    "csv": "a header row with conversation, speaker and text columns, then one row per utterance",
    "transcript": "`Speaker: text` lines, a blank line between conversations",
    "srt": "numbered cues with `00:00:01,000 --> 00:00:03,500` timings",
    "vtt": "a WEBVTT header, then cues with `00:01.000 --> 00:03.500` timings",
}
# Candidate header names per field, matched case-insensitively; MELD's names come first.
_CSV_COLUMNS = {
    "conversation": ("Dialogue_ID", "conversation", "dialogue"),
    "order": ("Utterance_ID",),
    "speaker": ("Speaker",),
    "text": ("Utterance", "text"),
    "emotion": ("Emotion",),
    "sentiment": ("Sentiment",),
    "start": ("StartTime", "start"),
    "end": ("EndTime", "end"),
    "split": ("split",),
    **{kind: (kind,) for kind in MEDIA_KINDS},  # a path, relative to the CSV file; with one, the text may be empty
}
_CSV_REQUIRED = ("conversation", "speaker", "text")
_CLOCK = re.compile(r"(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?")
_CUE_TIMING = re.compile(r"(\S+)\s+-->\s+(\S+)(?:\s.*)?")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?\s+([^>]+)>")
_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<\d[\d:.]*>")
_ONE_OBJECT = "each line must be one JSON object"
_ONE_TURN = 'send one utterance per line: {"speaker": ..., "text": ...} or `Speaker: text`'
_TEXTLESS = 'fill it in, or give the utterance "media" (audio, image or video) to analyse it without text'  # JSONL
_PREFIX = re.compile(r"([^:\s][^:]{0,39}):\s+(.*)")


def read_conversations(
    path: str | Path,
    format: str | None = None,
    columns: dict[str, str] | None = None,
    max_bytes: int = 64 * 2**20,
) -> list[Conversation]:
    """Read every conversation in `path`; the format comes from `format` or else from the file extension."""
    source = Path(path)
    where = str(source)
    chosen = _choose_format(source, format)
    if chosen == "community":  # the literature's feature pickles (IEMOCAP_features.pkl, MELD_features_raw*.pkl); large by design
        from emotrace.io.community import load_community_features

        return load_community_features(source)
    return parse_conversations(_read_text(source, max_bytes), chosen, where, columns, source.stem)


def parse_conversations(text: str, format: str, where: str, columns: dict[str, str] | None = None, stem: str = "conversation") -> list[Conversation]:
    """Conversations from text already in memory (e.g. an HTTP request body); `where` names the source in errors
    and `stem` becomes the conversation id of formats that carry none (transcripts, subtitles)."""
    if format not in _PARSERS and format != "csv":
        raise EmotraceError(f"unknown input format {format!r}", path=where, hint=f"choose one of {', '.join(f for f in INPUT_FORMATS if f != 'community')}")
    if format == "csv":
        conversations = _read_csv(text, where, columns or {})
    else:
        conversations = _PARSERS[format](text, where, stem)
    if not conversations:
        raise EmotraceError("no conversations found", path=where, hint=f"expected {_SHAPES[format]}")
    return conversations


def _choose_format(source: Path, format: str | None) -> str:
    choices = ", ".join(INPUT_FORMATS)
    if format is not None:
        if format not in INPUT_FORMATS:
            raise EmotraceError(f"unknown input format {format!r}", hint=f"choose --input-format from {choices}")
        return format
    chosen = _EXTENSIONS.get(source.suffix.lower())
    if chosen is None:
        raise EmotraceError(
            f"cannot tell the input format from the extension {source.suffix or '(none)'!r}",
            path=str(source),
            hint=f"pass --input-format ({choices})",
        )
    return chosen


def _read_text(source: Path, max_bytes: int) -> str:
    where = str(source)
    if not source.exists():
        raise EmotraceError("file not found", path=where, hint="check the path")
    if source.is_dir():
        raise EmotraceError("is a directory, not a file", path=where, hint="pass the path of an input file")
    try:
        size = source.stat().st_size
        if size > max_bytes:
            raise EmotraceError(
                f"file is {_human_size(size)}, over the limit of {_human_size(max_bytes)}",
                path=where,
                hint="split the file or raise --max-mb",
            )
        data = source.read_bytes()
    except OSError as error:
        raise EmotraceError(f"cannot read the file: {error.strerror}", path=where, hint="check its permissions") from error
    return _decode(data, where)


def read_jsonl_range(path: str | Path, start: int, end: int, first_line: int) -> list[Conversation]:
    """The conversations in bytes [start, end) of a JSONL file, where byte `start` begins line `first_line`: one shard
    of a file too large to read at once, with error line numbers and default ids (`conv<line>`) as in the whole file."""
    source = Path(path)
    try:
        with source.open("rb") as handle:
            handle.seek(start)
            data = handle.read(end - start)
    except OSError as error:
        raise EmotraceError(f"cannot read the file: {error.strerror}", path=str(source), hint="check its permissions") from error
    return _read_jsonl(_decode(data, str(source), first_line), str(source), source.stem, first_line)


def _decode(data: bytes, where: str, first_line: int = 1) -> str:
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + first_line
        raise EmotraceError(f"not valid UTF-8 (byte 0x{data[error.start]:02x})", path=where, line=line, hint="re-save the file as UTF-8") from error


def _human_size(size: int) -> str:
    return f"{size} bytes" if size < 2**20 else f"{size / 2**20:.1f} MB"


def _lines(text: str) -> list[str]:
    """Split on newlines only, so line numbers agree with what editors show (unlike str.splitlines)."""
    return [line.removesuffix("\r") for line in text.split("\n")]


def _label(value: Any, field: str, where: str, line: int, utterance: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise EmotraceError(f'utterance {utterance}: "{field}" must be a string', path=where, line=line, hint="write the label as text")
    return value.strip().lower() or None


def _split(value: str, where: str, line: int) -> str:
    split = value.strip().lower()
    if split not in SPLITS:
        raise EmotraceError(f"unknown split {value!r}", path=where, line=line, hint=f"use one of {', '.join(SPLITS)}")
    return split


def _who(utterance: int | None) -> str:
    return "" if utterance is None else f"utterance {utterance}: "


def _check_times(start: float | None, end: float | None, where: str, line: int, utterance: int | None = None) -> None:
    for name, value in (("start", start), ("end", end)):
        if value is not None and (not math.isfinite(value) or value < 0):
            raise EmotraceError(f'{_who(utterance)}"{name}" is {value}', path=where, line=line, hint="times are seconds >= 0")


def _clock_seconds(value: str) -> float | None:
    """`HH:MM:SS,mmm`, `HH:MM:SS.mmm` or `MM:SS.mmm` to seconds; None when `value` is not such a time."""
    match = _CLOCK.fullmatch(value.strip())
    if match is None:
        return None
    hours, minutes, seconds, fraction = match.groups()
    if int(minutes) >= 60 or int(seconds) >= 60:
        return None
    total = int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)
    return round(total + (int(fraction) / 10 ** len(fraction) if fraction else 0.0), 3)


# --- jsonl -----------------------------------------------------------------------------------------------------------


def _json_line(line: str, where: str, number: int, hint: str) -> Any:
    """One JSON value from one line, or a one-line error naming the line."""
    try:
        return json.loads(line)
    except json.JSONDecodeError as error:
        raise EmotraceError(f"invalid JSON: {error.msg} at column {error.colno}", path=where, line=number, hint=hint) from error
    except RecursionError as error:
        raise EmotraceError("invalid JSON: nested too deeply", path=where, line=number, hint=hint) from error


def _read_jsonl(text: str, where: str, _stem: str, first_line: int = 1) -> list[Conversation]:
    conversations = []
    for number, line in enumerate(_lines(text), start=first_line):
        if not line.strip():
            continue
        conversations.append(_conversation_record(_json_line(line, where, number, _ONE_OBJECT), where, number))
    return conversations


def _conversation_record(record: Any, where: str, line: int) -> Conversation:
    shape = 'expected {"id": ..., "utterances": [{"speaker": ..., "text": ...}, ...]}'
    if not isinstance(record, dict):
        raise EmotraceError(f"line is a JSON {type(record).__name__}, not an object", path=where, line=line, hint=shape)
    utterances = record.get("utterances")
    if not isinstance(utterances, list) or not utterances:
        raise EmotraceError('"utterances" must be a non-empty list', path=where, line=line, hint=shape)
    conversation_id = record.get("id")
    if conversation_id is None:
        conversation_id = f"conv{line}"
    elif isinstance(conversation_id, bool) or not isinstance(conversation_id, str | int):
        raise EmotraceError('"id" must be a string or an integer', path=where, line=line, hint=shape)
    metadata = record.get("metadata", {})
    if not isinstance(metadata, dict):
        raise EmotraceError('"metadata" must be an object', path=where, line=line, hint=shape)
    shared_media = _media(record.get("media", {}), "conversation", where, line)
    extras = {key: value for key, value in record.items() if key not in ("id", "utterances", "metadata", "media")}
    if "split" in extras:
        if not isinstance(extras["split"], str):
            raise EmotraceError('"split" must be a string', path=where, line=line, hint=f"use one of {', '.join(SPLITS)}")
        extras["split"] = _split(extras["split"], where, line)
    return Conversation(
        id=str(conversation_id),
        utterances=[_utterance_record(item, index, where, line, shared_media) for index, item in enumerate(utterances, start=1)],
        metadata={**metadata, **extras},
    )


def _media(value: Any, owner: str, where: str, line: int) -> dict[str, str]:
    """A "media" object: kind → path, resolved relative to the input file."""
    if not isinstance(value, dict) or not all(isinstance(key, str) and isinstance(path, str) for key, path in value.items()):
        raise EmotraceError(f'{owner}: "media" must map media kinds to paths', path=where, line=line, hint='e.g. {"audio": "clips/1.wav"}')
    unknown = sorted(set(value) - set(MEDIA_KINDS))
    if unknown:
        raise EmotraceError(f'{owner}: unknown media kind "{unknown[0]}"', path=where, line=line, hint=f"use {', '.join(MEDIA_KINDS)}")
    return {kind: str(Path(where).parent / path) for kind, path in value.items()}


def _utterance_record(item: Any, index: int, where: str, line: int, shared_media: dict[str, str]) -> Utterance:
    if not isinstance(item, dict):
        raise EmotraceError(f"utterance {index} is not an object", path=where, line=line, hint='write {"speaker": ..., "text": ...}')
    media = shared_media | _media(item.get("media", {}), f"utterance {index}", where, line)
    values: dict[str, str] = {}
    for field in ("speaker", "text"):
        textless = field == "text" and bool(media)  # with a recording or image, no text just means no text modality
        if field not in item:
            if textless:
                values[field] = ""
                continue
            hint = _TEXTLESS if field == "text" else f'add a "{field}" field'
            raise EmotraceError(f'utterance {index} has no "{field}"', path=where, line=line, hint=hint)
        value = item[field]
        if not isinstance(value, str):
            raise EmotraceError(f'utterance {index}: "{field}" must be a string', path=where, line=line, hint="quote the value")
        if not value.strip() and not textless:
            hint = _TEXTLESS if field == "text" else "fill it in or drop the utterance"
            raise EmotraceError(f'utterance {index} has an empty "{field}"', path=where, line=line, hint=hint)
        values[field] = value.strip()
    times: dict[str, float | None] = {}
    for field in ("start", "end"):
        value = item.get(field)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            message = f'utterance {index}: "{field}" must be a number, got {value!r}'
            raise EmotraceError(message, path=where, line=line, hint="write times as seconds, e.g. 12.5")
        times[field] = None if value is None else float(value)
    _check_times(times["start"], times["end"], where, line, index)
    utterance_id = item.get("id")
    return Utterance(
        speaker=values["speaker"],
        text=values["text"],
        start=times["start"],
        end=times["end"],
        media=media,
        emotion=_label(item.get("emotion"), "emotion", where, line, index),
        sentiment=_label(item.get("sentiment"), "sentiment", where, line, index),
        id=None if utterance_id is None else str(utterance_id),
    )


# --- csv -------------------------------------------------------------------------------------------------------------


def _read_csv(text: str, where: str, overrides: dict[str, str]) -> list[Conversation]:
    unknown = sorted(set(overrides) - set(_CSV_COLUMNS))
    if unknown:
        keys = ", ".join(_CSV_COLUMNS)
        raise EmotraceError(f"unknown column key(s) {', '.join(unknown)}", path=where, hint=f"use keys from {keys}")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            return []
        header = [name.strip() for name in header]
        positions = _csv_positions(header, overrides, where)
        rows: list[tuple[int, list[str]]] = []
        line = reader.line_num + 1
        for row in reader:
            rows.append((line, row))
            line = reader.line_num + 1
    except csv.Error as error:
        raise EmotraceError(f"malformed CSV: {error}", path=where, line=reader.line_num, hint="check quoting on this row") from error
    if rows and _opens_unclosed_quote(text, rows[-1][0]):
        message = "unterminated quote: a quoted field starting on this row never closes, so it would take in the rest of the file"
        raise EmotraceError(message, path=where, line=rows[-1][0], hint='close the quote, and double any quote inside a quoted field ("")')
    groups: dict[str, list[tuple[int, Utterance]]] = {}
    splits: dict[str, tuple[str, int]] = {}
    for line, row in rows:
        if any(cell.strip() for cell in row):
            _csv_row(row, positions, header, where, line, groups, splits)
    return [
        Conversation(
            id=conversation_id,
            utterances=[utterance for _, utterance in sorted(rows, key=lambda row: row[0])],
            metadata={"split": splits[conversation_id][0]} if splits[conversation_id][0] else {},
        )
        for conversation_id, rows in groups.items()
    ]


def _opens_unclosed_quote(text: str, line: int) -> bool:
    """Whether the row starting on `line` (the last one) ends inside a quoted field: the lenient reader then
    silently returns the rest of the file as that field, where a strict one stops at the end of the data."""
    rest = "".join(itertools.islice(io.StringIO(text, newline=""), line - 1, None))
    try:
        for _ in csv.reader(io.StringIO(rest, newline=""), strict=True):
            pass
    except csv.Error as error:
        return "unexpected end of data" in str(error)
    return False


def _csv_positions(header: list[str], overrides: dict[str, str], where: str) -> dict[str, int]:
    """Map each field to its column index, preferring `overrides`, then the default names, case-insensitively."""
    index = {}
    for position, name in enumerate(header):
        index.setdefault(name.casefold(), position)
    found = ", ".join(header)
    positions = {}
    for field, candidates in _CSV_COLUMNS.items():
        if field in overrides:
            if overrides[field].strip().casefold() not in index:
                message = f"column {overrides[field]!r} (for {field}) not found; columns are: {found}"
                raise EmotraceError(message, path=where, line=1, hint="fix the column mapping")
            positions[field] = index[overrides[field].strip().casefold()]
            continue
        for name in candidates:
            if name.casefold() in index:
                positions[field] = index[name.casefold()]
                break
    missing = [field for field in _CSV_REQUIRED if field not in positions]
    if missing:
        expected = "; ".join(f"{field} ({' or '.join(_CSV_COLUMNS[field])})" for field in missing)
        message = f"missing column for {expected}; columns are: {found}"
        raise EmotraceError(message, path=where, line=1, hint="rename the column or map it with --column FIELD=NAME")
    return positions


def _csv_row(
    row: list[str],
    positions: dict[str, int],
    header: list[str],
    where: str,
    line: int,
    groups: dict[str, list[tuple[int, Utterance]]],
    splits: dict[str, tuple[str, int]],
) -> None:
    cells = {field: row[position].strip() if position < len(row) else "" for field, position in positions.items()}
    media = {kind: str(Path(where).parent / cells[kind]) for kind in MEDIA_KINDS if cells.get(kind)}
    for field in _CSV_REQUIRED:
        if not cells[field] and not (field == "text" and media):
            hint = f"fill it in, or give the row a media column ({', '.join(MEDIA_KINDS)}) to analyse it without text" if field == "text" else ""
            raise EmotraceError(f"empty {field} (column {header[positions[field]]!r})", path=where, line=line, hint=hint or "fill it in or drop the row")
    conversation_id = cells["conversation"]
    order = len(groups.get(conversation_id, []))
    if "order" in cells:
        try:
            order = int(cells["order"])
        except ValueError:
            message = f"{header[positions['order']]!r} must be an integer, got {cells['order']!r}"
            raise EmotraceError(message, path=where, line=line, hint="number the utterances 0, 1, 2, ...") from None
    times = {field: _csv_time(cells[field], header[positions[field]], where, line) if field in cells else None for field in ("start", "end")}
    _check_times(times["start"], times["end"], where, line)
    split = _split(cells["split"], where, line) if cells.get("split") else ""
    first_split, first_line = splits.setdefault(conversation_id, (split, line))
    if split != first_split:
        raise EmotraceError(
            f"conversation {conversation_id!r} has split {split or '(empty)'!r} here but {first_split or '(empty)'!r} on line {first_line}",
            path=where,
            line=line,
            hint="give every row of a conversation the same split",
        )
    utterance = Utterance(
        speaker=cells["speaker"],
        text=cells["text"],
        start=times["start"],
        end=times["end"],
        media=media,
        emotion=cells.get("emotion", "").lower() or None,
        sentiment=cells.get("sentiment", "").lower() or None,
        id=cells.get("order"),
    )
    groups.setdefault(conversation_id, []).append((order, utterance))


def _csv_time(value: str, column: str, where: str, line: int) -> float | None:
    if not value:
        return None
    seconds = _clock_seconds(value)
    if seconds is None:
        try:
            seconds = float(value)
        except ValueError:
            raise EmotraceError(f"{column!r} is not a time: {value!r}", path=where, line=line, hint="use seconds (12.5) or HH:MM:SS,mmm") from None
    return seconds


# --- transcript ------------------------------------------------------------------------------------------------------


def _read_transcript(text: str, where: str, _stem: str) -> list[Conversation]:
    conversations: list[Conversation] = []
    current: list[Utterance] = []
    hint = "start each line with the speaker's name and a colon, separate conversations with a blank line, start comments with #"
    for number, line in enumerate(_lines(text), start=1):
        if not line.strip():
            if current:
                conversations.append(Conversation(id=f"conv{len(conversations) + 1}", utterances=current))
                current = []
            continue
        if line.lstrip().startswith("#"):
            continue
        current.append(_transcript_turn(line, where, number, hint))
    if current:
        conversations.append(Conversation(id=f"conv{len(conversations) + 1}", utterances=current))
    return conversations


def _transcript_turn(line: str, where: str, number: int, hint: str) -> Utterance:
    colon = line.find(":")
    if colon < 0 or colon >= 40 or not line[:colon].strip():
        raise EmotraceError("expected `Speaker: text`", path=where, line=number, hint=hint)
    speaker, content = line[:colon].strip(), line[colon + 1 :].strip()
    if not content:
        raise EmotraceError(f"no text after {speaker + ':'!r}", path=where, line=number, hint=hint)
    return Utterance(speaker=speaker, text=content)


# --- one turn at a time ----------------------------------------------------------------------------------------------


def parse_turn(line: str, where: str, number: int) -> Utterance:
    """One utterance of a live conversation (`analyze --follow`, the streaming endpoint): a transcript line
    `Speaker: text`, or one JSONL utterance object `{"speaker": ..., "text": ...}`; the same checks and errors as
    the whole-file readers, with `number` as the line (or message) number."""
    if not line.lstrip().startswith("{"):
        return _transcript_turn(line, where, number, "write `Speaker: text`, or one JSON utterance object per line")
    record = _json_line(line, where, number, _ONE_TURN)
    if isinstance(record, dict) and "utterances" in record:
        raise EmotraceError("a whole conversation, where one utterance was expected", path=where, line=number, hint=_ONE_TURN)
    return _utterance_record(record, number, where, number, {})


# --- srt / vtt -------------------------------------------------------------------------------------------------------


def _blocks(text: str) -> list[tuple[int, list[str]]]:
    """Group non-blank lines into blank-line separated blocks, each with the line number it starts on."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    for number, line in enumerate(_lines(text), start=1):
        if line.strip():
            if not current:
                blocks.append((number, current))
            current.append(line.strip())
        else:
            current = []
    return blocks


def _read_srt(text: str, where: str, stem: str) -> list[Conversation]:
    utterances = []
    for start_line, lines in _blocks(text):
        skip = 1 if lines[0].isdigit() else 0
        utterance = _cue(lines[skip:], start_line + skip, where, "00:00:01,000 --> 00:00:03,500")
        if utterance is not None:
            utterances.append(utterance)
    return [Conversation(id=stem, utterances=utterances)] if utterances else []


def _read_vtt(text: str, where: str, stem: str) -> list[Conversation]:
    blocks = _blocks(text)
    if not blocks or not re.fullmatch(r"WEBVTT(?:[ \t].*)?", blocks[0][1][0]):
        line = blocks[0][0] if blocks else 1
        hint = "start the file with a WEBVTT line, or use --input-format srt"
        raise EmotraceError("missing the `WEBVTT` header", path=where, line=line, hint=hint)
    utterances = []
    for start_line, lines in blocks[1:]:
        if lines[0].split(" ", 1)[0] in ("NOTE", "STYLE", "REGION"):
            continue
        skip = 0 if "-->" in lines[0] else 1
        utterance = _cue(lines[skip:], start_line + skip, where, "00:01.000 --> 00:03.500")
        if utterance is not None:
            utterances.append(utterance)
    return [Conversation(id=stem, utterances=utterances)] if utterances else []


def _cue(lines: list[str], line: int, where: str, example: str) -> Utterance | None:
    """Parse a timing line plus text lines; None for a cue whose text is empty once tags are stripped."""
    match = _CUE_TIMING.fullmatch(lines[0]) if lines else None
    if match is None:
        raise EmotraceError("expected a cue timing line", path=where, line=line, hint=f"write it like `{example}`")
    start, end = (_clock_seconds(value) for value in match.groups())
    if start is None or end is None:
        raise EmotraceError(f"bad timestamp in {lines[0]!r}", path=where, line=line, hint=f"write it like `{example}`")
    if end < start:
        raise EmotraceError(f"the cue ends before it starts: {lines[0]!r}", path=where, line=line, hint="fix the timing so the end comes after the start")
    raw = " ".join(lines[1:])
    voice = _VOICE.search(raw)
    content = " ".join(html.unescape(_TAG.sub("", raw)).split())
    speaker = voice.group(1).strip() if voice else "unknown"
    prefixed = None if voice else _PREFIX.fullmatch(content)
    if prefixed is not None:
        speaker, content = prefixed.group(1).strip(), prefixed.group(2).strip()
    return Utterance(speaker=speaker, text=content, start=start, end=end) if content else None


_PARSERS: dict[str, Callable[[str, str, str], list[Conversation]]] = {
    "jsonl": _read_jsonl,
    "transcript": _read_transcript,
    "srt": _read_srt,
    "vtt": _read_vtt,
}
