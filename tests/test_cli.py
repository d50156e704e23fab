"""The `emotrace` command as a user runs it: a subprocess, its exit code, stdout and stderr."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import synthetic_conversations

ROOT = Path(__file__).resolve().parents[1]


def emotrace(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "emotrace", *args], capture_output=True, text=True, cwd=cwd, timeout=600)


def assert_user_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """Exit 1, exactly one line on stderr naming what went wrong, and no traceback."""
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def write_labelled_jsonl(path: Path) -> None:
    rows = []
    for split, seed, count in (("train", 1, 24), ("dev", 2, 8), ("test", 3, 8)):
        for conversation in synthetic_conversations(count, seed):
            utterances = [{"speaker": u.speaker, "text": u.text, "emotion": u.emotion} for u in conversation.utterances]
            rows.append(json.dumps({"id": conversation.id, "split": split, "utterances": utterances}))
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_help_lists_every_command() -> None:
    result = emotrace("--help")
    assert result.returncode == 0
    for command in ("analyze", "train", "evaluate", "calibrate", "extract", "datasets", "models"):
        assert command in result.stdout


def test_missing_input_file_is_one_line_naming_it(tmp_path: Path) -> None:
    assert_user_error(emotrace("analyze", str(tmp_path / "nope.jsonl")), "nope.jsonl")


def test_malformed_json_line_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "utterances": [{"speaker": "A", "text": "hi"}]}\n{"id": "b", "utterances": [\n', encoding="utf-8")
    assert_user_error(emotrace("analyze", str(bad)), "bad.jsonl:2")


def test_non_utf8_empty_and_oversized_files_are_refused(tmp_path: Path) -> None:
    latin = tmp_path / "latin.txt"
    latin.write_bytes("Ann: hello\nBob: caf\xe9 au lait\n".encode("latin-1"))
    assert_user_error(emotrace("analyze", str(latin)), "latin.txt:2", "UTF-8")
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    assert_user_error(emotrace("analyze", str(empty)), "empty.txt")
    big = tmp_path / "big.txt"
    big.write_text("Ann: hello there\n" * 2000, encoding="utf-8")
    assert_user_error(emotrace("analyze", str(big), "--max-mb", "0.01"), "big.txt", "--max-mb")


def test_unknown_output_format_is_refused_before_any_work(tmp_path: Path) -> None:
    talk = tmp_path / "talk.txt"
    talk.write_text("Ann: hello\n", encoding="utf-8")
    assert_user_error(emotrace("analyze", str(talk), "--format", "xml"), "xml", "table, json, jsonl, csv")


def test_unknown_model_name_is_one_line(tmp_path: Path) -> None:
    talk = tmp_path / "talk.txt"
    talk.write_text("Ann: hello\n", encoding="utf-8")
    assert_user_error(emotrace("analyze", str(talk), "--model", "no-such-model"), "no-such-model")


def test_train_on_own_file_then_analyze_and_evaluate_with_the_bundle(tmp_path: Path) -> None:
    data = tmp_path / "labelled.jsonl"
    write_labelled_jsonl(data)
    run = tmp_path / "run"
    trained = emotrace("train", "--dataset", str(data), "--model", "bigru", "--out", str(run), "--epochs", "8", "--lr", "0.003")
    assert trained.returncode == 0, trained.stderr
    assert "best epoch" in trained.stdout
    assert (run / "eval_test.json").is_file()
    config = json.loads((run / "config.json").read_text())
    assert config["args"]["labels"] == ["anger", "joy", "neutral"]

    talk = tmp_path / "talk.txt"
    talk.write_text("Ann: I love this, it's wonderful!\nBob: This is outrageous, I'm furious!\n", encoding="utf-8")
    out = tmp_path / "out.json"
    analysed = emotrace("analyze", str(talk), "--model", str(run), "--output", str(out))
    assert analysed.returncode == 0, analysed.stderr
    utterances = json.loads(out.read_text())[0]["utterances"]
    assert [u["emotion"] for u in utterances] == ["joy", "anger"]

    evaluated = emotrace("evaluate", str(run), "--dataset", str(data), "--split", "dev")
    assert evaluated.returncode == 0, evaluated.stderr
    scores = json.loads((run / "eval_labelled_dev.json").read_text())
    assert scores["weighted_f1"] > 90 and set(scores["per_class_f1"]) == {"anger", "joy", "neutral"}
    assert (run / "confusion_labelled_dev.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (run / "reliability_labelled_dev.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert 0 <= scores["calibration"]["ece"] <= 1

    recalibrated = emotrace("calibrate", str(run), "--dataset", str(data), "--split", "dev")
    assert recalibrated.returncode == 0, recalibrated.stderr
    assert "temperature" in recalibrated.stdout


def test_train_without_a_model_uses_the_default_recipe_and_records_its_learning_curve(tmp_path: Path) -> None:
    data = tmp_path / "labelled.jsonl"
    write_labelled_jsonl(data)
    run = tmp_path / "run"
    trained = emotrace("train", "--dataset", str(data), "--out", str(run), "--epochs", "1")
    assert trained.returncode == 0, trained.stderr
    assert "epoch 1: dev weighted F1" in trained.stdout
    config = json.loads((run / "config.json").read_text())
    assert config["model"] == "dialogue-minilm"
    assert config["training"]["class_balance"] == 0.5 and config["training"]["patience"] == 2
    assert "Dev learning curve (epoch: weighted F1): 1: " in (run / "MODEL_CARD.md").read_text()


def test_train_without_dev_data_says_how_to_give_it(tmp_path: Path) -> None:
    data = tmp_path / "train_only.jsonl"
    data.write_text('{"id": "a", "utterances": [{"speaker": "A", "text": "hi", "emotion": "joy"}]}\n', encoding="utf-8")
    assert_user_error(emotrace("train", "--dataset", str(data), "--model", "bigru", "--out", str(tmp_path / "r")), "--dev")


def test_datasets_command_reports_found_files(shared_data: Path) -> None:
    result = emotrace("datasets", "--data-dir", str(shared_data))
    assert result.returncode == 0
    from emotrace.datasets import DATASETS

    assert result.stdout.count("found") == len(DATASETS)  # the shared folder holds every data set we register


@pytest.mark.parametrize("example", ["support_call.txt", "team_meeting.jsonl", "interview.srt"])
def test_default_model_analyses_the_bundled_examples(example: str, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    result = emotrace("analyze", str(ROOT / "examples" / example), "-o", str(out))
    assert result.returncode == 0, result.stderr
    conversations = [json.loads(line) for line in out.read_text().splitlines()]
    for conversation in conversations:
        for utterance in conversation["utterances"]:
            assert utterance["emotion"] in {"neutral", "surprise", "fear", "sadness", "joy", "disgust", "anger"}
            assert abs(sum(utterance["probabilities"].values()) - 1) < 1e-3
            assert utterance["confidence"] == max(utterance["probabilities"].values())


def test_default_model_reads_clear_emotions_in_a_csv_with_mapped_columns(tmp_path: Path) -> None:
    table = tmp_path / "chat.csv"
    table.write_text(
        "dialog,who,message\n"
        '1,Ann,"Oh my god, thank you so much, I love it! This is wonderful!"\n'
        '1,Bob,"Get out of my house right now, I\'m so angry at you!"\n',
        encoding="utf-8",
    )
    out = tmp_path / "out.csv"
    mapped = ["--column", "conversation=dialog", "--column", "speaker=who", "--column", "text=message"]
    result = emotrace("analyze", str(table), *mapped, "-o", str(out))
    assert result.returncode == 0, result.stderr
    with open(out, encoding="utf-8", newline="") as handle:
        emotions = [row["emotion"] for row in csv.DictReader(handle)]
    assert emotions == ["joy", "anger"]


def test_explain_and_report_with_the_default_model(tmp_path: Path) -> None:
    talk = tmp_path / "talk.txt"
    talk.write_text("Ann: Where were you last night?\nBob: I told you, at work.\nAnn: You liar, I am so angry right now!\n", encoding="utf-8")
    out, report = tmp_path / "out.json", tmp_path / "report.html"
    result = emotrace("analyze", str(talk), "--explain", "-o", str(out), "--report", str(report))
    assert result.returncode == 0, result.stderr
    utterances = json.loads(out.read_text())[0]["utterances"]
    for index, utterance in enumerate(utterances):
        assert [word for word, _ in utterance["explanation"]["words"]] == utterance["text"].split()
        assert [turn for turn, _ in utterance["explanation"]["turns"]] == list(range(1, index + 1))
    page = report.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.count('class="turn"') == 3 and "<script" not in page


def test_analyze_json_carries_a_summary_per_speaker_and_plot_draws_the_timeline(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    chart = tmp_path / "call.svg"
    result = emotrace("analyze", str(ROOT / "examples" / "support_call.txt"), "--format", "json", "--plot", str(chart))
    assert result.returncode == 0, result.stderr
    conversations = json.loads(result.stdout)
    for conversation in conversations:
        speakers = {s["speaker"]: s for s in conversation["summary"]["speakers"]}
        assert set(speakers) == {u["speaker"] for u in conversation["utterances"]}
        for speaker, summary in speakers.items():
            turns = [i for i, u in enumerate(conversation["utterances"], 1) if u["speaker"] == speaker]
            assert sum(summary["emotions"].values()) == len(turns) == summary["turns"]
            assert [point["turn"] for point in summary["trajectory"]] == turns
            assert all(-1 <= point["valence"] <= 1 and -1 <= point["arousal"] <= 1 for point in summary["trajectory"])
            assert {shift["turn"] for shift in summary["shifts"]} <= set(turns)
            assert summary["text"].startswith(f"{speaker} ({len(turns)} turn") and summary["opening"] in summary["text"]
    titles = [t.text for t in ET.parse(chart).getroot().iter("{http://www.w3.org/2000/svg}title") if t.text and t.text.startswith("turn ")]
    assert len(titles) == sum(len(c["utterances"]) for c in conversations)
    assert_user_error(
        emotrace("analyze", str(ROOT / "examples" / "support_call.txt"), "--plot", str(tmp_path / "chart.pdf")), "chart.pdf", "chart.svg or chart.png"
    )
