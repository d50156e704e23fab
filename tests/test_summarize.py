"""`emotrace summarize`: reading back analyze's outputs in each format, the figures over many conversations, and
the errors a person sees. Predictions are built in the tests; no model runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from emotrace.insights.corpus import EITHER, CorpusTally
from emotrace.insights.summary import summarize_conversation
from emotrace.io import render_predictions
from emotrace.io.outputs import output_files, read_outputs
from emotrace.schema import Conversation, Prediction, Utterance

MELD = ["neutral", "surprise", "fear", "sadness", "joy", "disgust", "anger"]


def said(label: str, confidence: float = 0.8) -> Prediction:
    rest = (1 - confidence) / (len(MELD) - 1)
    return Prediction.from_probabilities(MELD, [confidence if name == label else rest for name in MELD])


def call(id: str, turns: list[tuple[str, str]]) -> tuple[Conversation, list[Prediction]]:
    return Conversation(id, [Utterance(speaker, "…") for speaker, _ in turns]), [said(label) for _, label in turns]


CALLS = [
    # an anger episode (turns 2 and 4), then the customer closes with joy: recovered
    call("recovered", [("Agent", "neutral"), ("Customer", "anger"), ("Agent", "neutral"), ("Customer", "anger"), ("Agent", "joy"), ("Customer", "joy")]),
    # a sadness episode that lasts to the end: not recovered; the conversation closes on the agent's neutral
    call("still sad", [("Customer", "sadness"), ("Agent", "neutral"), ("Customer", "sadness"), ("Agent", "neutral")]),
    # one angry turn is not an episode
    call("blip", [("Customer", "anger"), ("Agent", "neutral"), ("Customer", "neutral")]),
    # names that occur once are not roles
    call("friends", [("Ann", "joy"), ("Bob", "joy")]),
]


def tally_of(pairs) -> dict:
    tally = CorpusTally()
    for conversation, predictions in pairs:
        tally.add(summarize_conversation(conversation, predictions))
    return tally.record()


def test_closing_emotions_episodes_recoveries_and_roles() -> None:
    record = tally_of(CALLS)
    assert record["conversations"] == 4 and record["turns"] == 15
    assert record["closing"] == {"joy": 2, "neutral": 2}
    assert record["episodes"]["anger"] == {"conversations": 1, "share": 0.25, "recovered": 1, "recovered_share": 1.0}
    assert record["episodes"]["sadness"] == {"conversations": 1, "share": 0.25, "recovered": 0, "recovered_share": 0.0}
    assert record["episodes"][EITHER] == {"conversations": 2, "share": 0.5, "recovered": 1, "recovered_share": 0.5}
    assert [role["role"] for role in record["roles"]] == ["Agent", "Customer"]
    customer = record["roles"][1]
    assert customer["conversations"] == 3 and customer["closing"] == {"joy": 1, "sadness": 1, "neutral": 1}
    assert customer["episodes"][EITHER]["conversations"] == 2 and customer["episodes"][EITHER]["recovered"] == 1
    assert set(record["definitions"]) == {"closing emotion", "episode", "recovered", "role"}


@pytest.mark.parametrize("format", ["json", "jsonl", "csv"])
def test_each_output_format_reads_back_to_the_same_figures(format: str, tmp_path: Path) -> None:
    path = tmp_path / f"predictions.{format}"
    path.write_text(render_predictions([c for c, _ in CALLS], [p for _, p in CALLS], format), encoding="utf-8")
    pairs = list(read_outputs(path))
    assert [c.id for c, _ in pairs] == [c.id for c, _ in CALLS]
    assert [p.label for _, predicted in pairs for p in predicted] == [p.label for _, predicted in CALLS for p in predicted]
    assert tally_of(pairs) == tally_of(CALLS)


def test_a_json_array_is_read_across_buffer_boundaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import emotrace.io.outputs as outputs

    monkeypatch.setattr(outputs, "_CHUNK", 7)  # every conversation straddles many reads
    path = tmp_path / "predictions.json"
    path.write_text(render_predictions([c for c, _ in CALLS], [p for _, p in CALLS], "json"), encoding="utf-8")
    assert [c.id for c, _ in read_outputs(path)] == [c.id for c, _ in CALLS]


def test_a_batch_folder_counts_a_split_file_once(tmp_path: Path) -> None:
    text = render_predictions([c for c, _ in CALLS], [p for _, p in CALLS], "jsonl")
    (tmp_path / "shards").mkdir()
    (tmp_path / "shards" / "calls-00000.jsonl").write_text(text, encoding="utf-8")
    (tmp_path / ".calls.jsonl.done").write_text("x", encoding="utf-8")
    assert output_files([tmp_path]) == [tmp_path / "shards" / "calls-00000.jsonl"]  # not joined yet: read the parts
    (tmp_path / "calls.jsonl").write_text(text, encoding="utf-8")
    assert output_files([tmp_path]) == [tmp_path / "calls.jsonl"]


def emotrace(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "emotrace", *args], capture_output=True, text=True, timeout=120)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    [line] = result.stderr.strip().splitlines()
    for fragment in fragments:
        assert fragment in line, line


def test_summarize_command_writes_the_page_and_the_json(tmp_path: Path) -> None:
    outputs = tmp_path / "out"
    outputs.mkdir()
    (outputs / "a.jsonl").write_text(render_predictions([c for c, _ in CALLS[:2]], [p for _, p in CALLS[:2]], "jsonl"), encoding="utf-8")
    (outputs / "b.csv").write_text(render_predictions([c for c, _ in CALLS[2:]], [p for _, p in CALLS[2:]], "csv"), encoding="utf-8")
    page = outputs / "summary.html"
    for _ in range(2):  # a rerun into the same folder does not read its own summary
        result = emotrace("summarize", str(outputs), "-o", str(page))
        assert result.returncode == 0, result.stderr
    assert "4 conversations" in result.stdout and "anger or sadness episode in 2 (50.0%), of which 1 recovered (50.0%)" in result.stdout
    record = json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))
    assert record["conversations"] == 4 and record["sources"] == [str(outputs / "a.jsonl"), str(outputs / "b.csv")]
    html = page.read_text(encoding="utf-8")
    assert html.count("<svg") == 3 and "<script" not in html and "Customer" in html and "recovered" in html


def test_summarize_errors_are_one_line_naming_the_file(tmp_path: Path) -> None:
    assert_one_line_error(emotrace("summarize", str(tmp_path / "missing.jsonl")), "missing.jsonl", "file not found")
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "a", "utterances": []}\n{"id": "b", "utter\n', encoding="utf-8")
    assert_one_line_error(emotrace("summarize", str(broken)), "broken.jsonl:2", "not valid JSON")
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert_one_line_error(emotrace("summarize", str(binary)), "binary.json", "not UTF-8")
    table = tmp_path / "inputs.csv"
    table.write_text("conversation,speaker,text\n1,Ann,hi\n", encoding="utf-8")
    assert_one_line_error(emotrace("summarize", str(table)), "inputs.csv:1", "missing columns conversation_id, emotion, confidence")
    conversations = tmp_path / "talk.jsonl"
    conversations.write_text('{"id": "a", "utterances": [{"speaker": "Ann", "text": "hi"}]}\n', encoding="utf-8")
    assert_one_line_error(emotrace("summarize", str(conversations)), "talk.jsonl:1", "utterance 1 has no predicted emotion")
    truncated = tmp_path / "cut.json"
    truncated.write_text('[{"id": "a", "utterances": []},\n{"id": "b", ', encoding="utf-8")
    assert_one_line_error(emotrace("summarize", str(truncated)), "cut.json", "after conversation 1")
