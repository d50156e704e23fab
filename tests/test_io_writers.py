"""Specs for write_predictions: each output format parses back to the same facts, and file writes are atomic."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from rich.console import Console

from emotrace.errors import EmotraceError
from emotrace.io import OUTPUT_FORMATS, write_predictions
from emotrace.schema import Conversation, Prediction, Utterance


def sample() -> tuple[list[Conversation], list[list[Prediction]]]:
    conversations = [
        Conversation(
            id="d1",
            utterances=[
                Utterance(speaker="Ann", text="I got the job!", start=1.0, end=2.123456, emotion="joy", id="u0"),
                Utterance(speaker="Bob", text="[bold]No way[/bold]", emotion="surprise"),
            ],
            metadata={"split": "test"},
        ),
        Conversation(id="d2", utterances=[Utterance(speaker="Cy", text="Fine.")]),
    ]
    predictions = [
        [
            Prediction.from_probabilities(["joy", "neutral", "surprise"], [0.823456, 0.1, 0.076544], ["positive", "negative"], [0.9, 0.1]),
            Prediction.from_probabilities(["joy", "neutral", "surprise"], [0.2, 0.1, 0.7], ["positive", "negative"], [0.3, 0.7]),
        ],
        [Prediction(label="neutral", probabilities={"neutral": 0.6, "anger": 0.4}, confidence=0.6)],
    ]
    return conversations, predictions


def test_json_holds_every_conversation_with_rounded_values(tmp_path: Path) -> None:
    conversations, predictions = sample()
    path = tmp_path / "out" / "predictions.json"

    write_predictions(conversations, predictions, path)

    document = json.loads(path.read_text(encoding="utf-8"))
    assert [c["id"] for c in document] == ["d1", "d2"]
    assert document[0]["metadata"] == {"split": "test"}
    assert document[0]["utterances"][0] == {
        "speaker": "Ann",
        "text": "I got the job!",
        "start": 1.0,
        "end": 2.1235,
        "id": "u0",
        "emotion": "joy",
        "confidence": 0.8235,
        "probabilities": {"joy": 0.8235, "neutral": 0.1, "surprise": 0.0765},
        "sentiment": "positive",
        "sentiment_probabilities": {"positive": 0.9, "negative": 0.1},
        "gold_emotion": "joy",
    }
    assert document[1]["utterances"][0] == {
        "speaker": "Cy",
        "text": "Fine.",
        "start": None,
        "end": None,
        "id": None,
        "emotion": "neutral",
        "confidence": 0.6,
        "probabilities": {"neutral": 0.6, "anger": 0.4},
        "sentiment": None,
        "sentiment_probabilities": None,
    }


def test_jsonl_writes_one_conversation_per_line_matching_json(tmp_path: Path) -> None:
    conversations, predictions = sample()
    write_predictions(conversations, predictions, tmp_path / "a.json")
    write_predictions(conversations, predictions, tmp_path / "a.jsonl")

    lines = (tmp_path / "a.jsonl").read_text(encoding="utf-8").splitlines()

    assert [json.loads(line) for line in lines] == json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    assert len(lines) == 2


def test_csv_has_one_row_per_utterance_with_a_probability_column_per_label(tmp_path: Path) -> None:
    conversations, predictions = sample()
    path = tmp_path / "predictions.CSV"

    write_predictions(conversations, predictions, path)

    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == [
        "conversation_id", "utterance_index", "speaker", "start", "end", "text", "emotion", "confidence", "sentiment",
        "p_joy", "p_neutral", "p_surprise", "p_anger",
    ]  # fmt: skip
    assert rows[1] == ["d1", "0", "Ann", "1.0", "2.1235", "I got the job!", "joy", "0.8235", "positive", "0.8235", "0.1", "0.0765", ""]
    assert rows[2] == ["d1", "1", "Bob", "", "", "[bold]No way[/bold]", "surprise", "0.7", "negative", "0.2", "0.1", "0.7", ""]
    assert rows[3] == ["d2", "0", "Cy", "", "", "Fine.", "neutral", "0.6", "", "", "0.6", "", "0.4"]
    assert len(rows) == 4


def test_explicit_format_overrides_the_extension(tmp_path: Path) -> None:
    conversations, predictions = sample()
    path = tmp_path / "predictions.out"

    write_predictions(conversations, predictions, path, format="jsonl")

    assert [json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines()] == ["d1", "d2"]


def test_table_prints_one_table_per_conversation_with_labels_and_confidence() -> None:
    conversations, predictions = sample()
    console = Console(record=True, width=120)

    write_predictions(conversations, predictions, console=console)

    text = console.export_text()
    assert "d1" in text and "d2" in text
    for header in ("#", "speaker", "time", "text", "emotion", "confidence", "sentiment", "gold"):
        assert header in text
    assert "0:01.0" in text
    assert "0.82" in text and "0.70" in text and "0.60" in text
    assert "[bold]No way[/bold]" in text  # user text is never read as rich markup
    d2_table = text[text.index("d2") :]
    assert "time" not in d2_table and "sentiment" not in d2_table and "gold" not in d2_table


def test_table_goes_to_stdout_without_a_path_or_console(capsys: pytest.CaptureFixture[str]) -> None:
    conversations, predictions = sample()

    write_predictions(conversations, predictions)

    out = capsys.readouterr().out
    assert "Ann" in out and "job!" in out and "surprise" in out and "0.70" in out


def test_json_without_a_path_goes_to_the_console_unchanged(capsys: pytest.CaptureFixture[str]) -> None:
    conversations, predictions = sample()

    write_predictions(conversations, predictions, format="jsonl")

    lines = capsys.readouterr().out.splitlines()
    assert json.loads(lines[1])["utterances"][0]["emotion"] == "neutral"


def test_txt_path_gets_the_table_as_plain_text(tmp_path: Path) -> None:
    conversations, predictions = sample()
    path = tmp_path / "predictions.txt"

    write_predictions(conversations, predictions, path)

    text = path.read_text(encoding="utf-8")
    assert "\x1b[" not in text
    assert "I got the job!" in text and "confidence" in text and "0.82" in text


@pytest.mark.parametrize(("path", "format"), [("out.xml", None), ("out", None), ("out.json", "yaml")])
def test_unknown_output_format_lists_choices(tmp_path: Path, path: str, format: str | None) -> None:
    conversations, predictions = sample()

    with pytest.raises(EmotraceError) as caught:
        write_predictions(conversations, predictions, tmp_path / path, format=format)

    assert all(name in str(caught.value) for name in OUTPUT_FORMATS) and "--format" in str(caught.value)
    assert not (tmp_path / path).exists()


def test_failed_write_leaves_existing_file_untouched_and_no_temp_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conversations, predictions = sample()
    path = tmp_path / "predictions.json"
    path.write_text("previous run\n", encoding="utf-8")
    real_write_text = Path.write_text

    def write_half_then_fail(self: Path, data: str, *args: object, **kwargs: object) -> int:
        real_write_text(self, data[: len(data) // 2], *args, **kwargs)  # type: ignore[arg-type]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", write_half_then_fail)

    with pytest.raises(EmotraceError) as caught:
        write_predictions(conversations, predictions, path)

    monkeypatch.undo()
    assert str(caught.value).startswith(f"{path}: cannot write predictions: No space left on device")
    assert path.read_text(encoding="utf-8") == "previous run\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["predictions.json"]


def test_mismatched_prediction_count_is_a_programming_error(tmp_path: Path) -> None:
    conversations, predictions = sample()

    with pytest.raises(ValueError, match="conversation 'd1' has 2 utterances but 1 predictions"):
        write_predictions(conversations, [predictions[0][:1], predictions[1]], tmp_path / "a.json")
