"""Live analysis, one turn at a time: `LiveSession` (each turn labelled from its past only, at a bounded cost) and
`emotrace analyze --follow` (each turn printed as its line arrives, from a growing file or stdin)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emotrace.errors import EmotraceError
from emotrace.inference.live import LiveSession
from emotrace.inference.pipeline import Analyzer, PipelineOptions
from emotrace.inference.predict import predict
from emotrace.schema import Conversation, Utterance

CALL = [
    Utterance("Customer", "My connection dropped again last night, this is ridiculous!"),
    Utterance("Agent", "I'm so sorry. A technician replaced the faulty part this morning."),
    Utterance("Customer", "Oh really? That's great news, thank you!"),
    Utterance("Agent", "You're welcome. Have a lovely evening."),
    Utterance("Customer", "You too, bye!"),
]
LABELS = {"neutral", "surprise", "fear", "sadness", "joy", "disgust", "anger"}


@pytest.fixture(scope="module")
def model() -> object:
    return Analyzer().text_model(PipelineOptions(backend="torch-fp32"))


def test_each_turn_is_labelled_as_the_model_labels_the_conversation_up_to_it(model: object) -> None:
    session = LiveSession(model, window=None)  # type: ignore[arg-type]
    for count, utterance in enumerate(CALL, start=1):
        live = session.add(utterance)
        prefix = predict(model, [Conversation("prefix", CALL[:count])])[0][-1]  # type: ignore[arg-type]
        assert live.label == prefix.label
        assert [live.probabilities[k] for k in LABELS] == pytest.approx([prefix.probabilities[k] for k in LABELS], abs=1e-5)
    assert [s.speaker for s in session.summary().speakers] == ["Customer", "Agent"]


def test_a_window_bounds_what_the_model_reads_but_not_the_conversation(model: object) -> None:
    windowed, whole = LiveSession(model, window=2), LiveSession(model, window=None)  # type: ignore[arg-type]
    answers = [(windowed.add(u), whole.add(u)) for u in CALL]
    assert [a.probabilities for a, _ in answers[:2]] == [b.probabilities for _, b in answers[:2]], "within the window nothing differs"
    assert answers[-1][0].probabilities != answers[-1][1].probabilities, "beyond it, the earliest turns no longer count"
    assert len(windowed) == len(windowed.conversation.utterances) == len(CALL)


def test_a_refused_turn_leaves_the_session_unchanged(model: object) -> None:
    session = LiveSession(model)  # type: ignore[arg-type]
    session.add(CALL[0])
    with pytest.raises(EmotraceError, match="turn 2: live analysis reads text only"):
        session.add(Utterance("Agent", "Hello", media={"audio": "call.wav"}))
    with pytest.raises(EmotraceError, match="turn 2 has no text"):
        session.add(Utterance("Agent", "  "))
    assert len(session) == 1 and session.add(CALL[1]).label in LABELS


def emotrace_follow(*args: str, **options: object) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "emotrace", "analyze", "--follow", *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **options)  # type: ignore[call-overload]


def test_follow_prints_each_turn_of_a_growing_file_before_the_next_arrives(tmp_path: Path) -> None:
    transcript = tmp_path / "call.txt"
    transcript.write_text("Customer: My connection dropped again, this is ridiculous!\n", encoding="utf-8")
    follower = emotrace_follow(str(transcript), "--idle", "3", "--format", "jsonl")
    assert follower.stdout is not None
    first = json.loads(follower.stdout.readline())  # blocks until the first turn is analysed
    with transcript.open("a", encoding="utf-8") as growing:
        growing.write('{"speaker": "Agent", "text": "I am so sorry, a technician fixed it this morning."}\n')
        growing.flush()
        second = json.loads(follower.stdout.readline())
        growing.write("Customer: Oh, that's great news")  # no newline yet: not a whole line until the file goes quiet
        growing.flush()
        time.sleep(1.0)
        assert follower.poll() is None, "the follower stopped before the quiet period"
    third = json.loads(follower.stdout.readline())
    _, errors = follower.communicate(timeout=60)
    assert follower.returncode == 0, errors
    assert [(r["turn"], r["speaker"]) for r in (first, second, third)] == [(1, "Customer"), (2, "Agent"), (3, "Customer")]
    assert all(r["emotion"] in LABELS and r["conversation"] == "conv1" for r in (first, second, third))
    assert errors.splitlines() == [line for line in errors.splitlines() if line.startswith("summary: ")] and len(errors.splitlines()) == 2


def test_follow_stdin_starts_a_conversation_at_a_blank_line_and_reports_bad_lines() -> None:
    lines = "Ann: I got the job!\nthis line has no speaker\nBob: Wonderful news!\n\nCy: Why is it still broken?\n"
    follower = emotrace_follow("-", stdin=subprocess.PIPE)
    output, errors = follower.communicate(lines, timeout=300)
    printed = output.splitlines()
    assert [line.split(":")[0].split() for line in printed if not line.startswith("summary")] == [["1", "Ann"], ["2", "Bob"], ["1", "Cy"]]
    assert [line.split(" (")[0] for line in printed if line.startswith("summary")] == ["summary: Ann", "summary: Bob", "summary: Cy"]
    assert follower.returncode == 1
    assert errors.splitlines() == [
        "error: <stdin>:2: expected `Speaker: text` (write `Speaker: text`, or one JSON utterance object per line)",
        "error: 1 line(s) were refused (see the errors above)",
    ]


def test_follow_refuses_options_that_do_not_apply(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "emotrace", "analyze", "--follow", "-", "--report", str(tmp_path / "r.html")], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1 and result.stderr == "error: --report does not apply to --follow (drop it)\n"
