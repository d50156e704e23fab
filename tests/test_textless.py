"""Utterances without text: beside a recording or an image, missing or empty text means the text modality is absent."""

import json
from pathlib import Path

import numpy as np
import pytest

sf = pytest.importorskip("soundfile")
pytest.importorskip("opensmile")

from test_cli import assert_user_error, emotrace  # noqa: E402

from emotrace.errors import EmotraceError  # noqa: E402
from emotrace.io.readers import read_conversations  # noqa: E402
from emotrace.schema import NO_ANSWER_LABEL, Conversation, Utterance  # noqa: E402


def _voice(path: Path, frequency: float) -> None:
    t = np.arange(16_000) / 16_000
    sf.write(path, (0.3 * np.sin(2 * np.pi * frequency * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(np.float32), 16_000)


def _textless_call(tmp_path: Path) -> Path:
    """Four turns: text with audio, audio without text, no "text" key with audio, and a textless broken recording."""
    for name, frequency in (("a", 150.0), ("b", 240.0), ("c", 320.0)):
        _voice(tmp_path / f"{name}.wav", frequency)
    (tmp_path / "broken.wav").write_bytes(b"RIFF....WAVEjunk")
    utterances = [
        {"speaker": "Ann", "text": "I love this, it's wonderful!", "media": {"audio": "a.wav"}},
        {"speaker": "Bob", "text": "  ", "media": {"audio": "b.wav"}},
        {"speaker": "Ann", "media": {"audio": "c.wav"}},
        {"speaker": "Bob", "text": "", "media": {"audio": "broken.wav"}},
    ]
    source = tmp_path / "call.jsonl"
    source.write_text(json.dumps({"id": "call", "utterances": utterances}) + "\n", encoding="utf-8")
    return source


def test_jsonl_utterance_with_media_may_have_no_text_but_one_without_media_may_not(tmp_path: Path) -> None:
    conversation = read_conversations(_textless_call(tmp_path))[0]
    assert [u.text for u in conversation.utterances] == ["I love this, it's wonderful!", "", "", ""]

    bare = tmp_path / "bare.jsonl"
    bare.write_text(json.dumps({"utterances": [{"speaker": "A", "text": ""}]}) + "\n", encoding="utf-8")
    with pytest.raises(EmotraceError, match='utterance 1 has an empty "text".*"media"'):
        read_conversations(bare)


def test_csv_row_with_a_media_column_may_have_empty_text(tmp_path: Path) -> None:
    _voice(tmp_path / "b.wav", 200.0)
    source = tmp_path / "call.csv"
    source.write_text("conversation,speaker,text,audio,start,end\n1,A,hello there,,,\n1,B,,b.wav,0,1\n", encoding="utf-8")
    first, second = read_conversations(source)[0].utterances
    assert (first.text, first.media) == ("hello there", {})
    assert (second.text, second.media) == ("", {"audio": str(tmp_path / "b.wav")})


def test_analyze_answers_textless_turns_from_speech_alone_and_says_which_modalities_answered(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    result = emotrace("analyze", str(_textless_call(tmp_path)), "-o", str(out))
    assert result.returncode == 0, result.stderr
    spoken, textless, keyless, broken = json.loads(out.read_text())[0]["utterances"]
    assert set(spoken["modalities"]) == {"text", "speech"}
    for turn in (textless, keyless):
        assert set(turn["modalities"]) == {"speech"} and "errors" not in turn
        assert turn["confidence"] == turn["modalities"]["speech"]["confidence"]  # one modality: its answer
    assert broken["emotion"] == NO_ANSWER_LABEL and broken["probabilities"] == {} and "modalities" not in broken
    assert "broken.wav" in broken["errors"]["speech"]


def test_text_model_reads_only_the_turns_with_text_as_context(tmp_path: Path) -> None:
    from emotrace.inference.fusion import predict_multimodal
    from emotrace.inference.predict import predict
    from emotrace.models.bundle import load_model

    conversation = read_conversations(_textless_call(tmp_path))[0]
    text_model = load_model("default")
    fused = predict_multimodal(text_model, {"speech": load_model("speech")}, [conversation])[0]
    alone = predict(text_model, [Conversation(id="call", utterances=conversation.utterances[:1])])[0][0]
    assert fused[0].modalities["text"].probabilities == pytest.approx(alone.probabilities)
    assert all("text" not in (p.modalities or {}) for p in fused[1:])


def test_an_utterance_with_neither_text_nor_media_is_one_error_naming_it() -> None:
    from emotrace.inference.pipeline import Analyzer

    conversation = Conversation(id="c1", utterances=[Utterance(speaker="A", text="hi"), Utterance(speaker="B", text="")])
    with pytest.raises(EmotraceError, match="conversation 'c1', utterance 2: no text and no media"):
        Analyzer().analyze([conversation])


def test_cli_refuses_a_textless_utterance_without_media_in_one_line(tmp_path: Path) -> None:
    source = tmp_path / "bare.jsonl"
    source.write_text(json.dumps({"utterances": [{"speaker": "A"}]}) + "\n", encoding="utf-8")
    assert_user_error(emotrace("analyze", str(source)), f'{source}:1: utterance 1 has no "text"')
