"""The shipped speech model through the same `analyze` path as text: audio referenced from a conversation file."""

import json
from pathlib import Path

import numpy as np
import pytest

sf = pytest.importorskip("soundfile")
pytest.importorskip("opensmile")

from test_cli import assert_user_error, emotrace  # noqa: E402

from emotrace.models.registry import create_model  # noqa: E402

EMODB_LABELS = {"anger", "boredom", "disgust", "fear", "joy", "neutral", "sadness"}


def _voice(path: Path, frequency: float, seconds: float = 1.0) -> None:
    t = np.arange(int(16_000 * seconds)) / 16_000
    wave = 0.3 * np.sin(2 * np.pi * frequency * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    sf.write(path, wave.astype(np.float32), 16_000)


def test_speech_model_analyses_audio_referenced_relative_to_the_conversation_file(tmp_path: Path) -> None:
    (tmp_path / "clips").mkdir()
    utterances = []
    for index, frequency in enumerate((140.0, 220.0, 310.0)):
        _voice(tmp_path / "clips" / f"{index}.wav", frequency)
        utterances.append({"speaker": "A" if index % 2 == 0 else "B", "text": "...", "media": {"audio": f"clips/{index}.wav"}})
    source = tmp_path / "call.jsonl"
    source.write_text(json.dumps({"id": "call", "utterances": utterances}) + "\n", encoding="utf-8")
    out = tmp_path / "out.json"
    result = emotrace("analyze", str(source), "--model", "speech", "-o", str(out))
    assert result.returncode == 0, result.stderr
    predicted = json.loads(out.read_text())[0]["utterances"]
    assert len(predicted) == 3
    for utterance in predicted:
        assert utterance["emotion"] in EMODB_LABELS
        assert abs(sum(utterance["probabilities"].values()) - 1) < 1e-3


def test_speech_model_without_audio_names_the_utterance(tmp_path: Path) -> None:
    source = tmp_path / "talk.txt"
    source.write_text("Ann: hello\n", encoding="utf-8")
    assert_user_error(emotrace("analyze", str(source), "--model", "speech"), "utterance 1: has no audio")


def test_speakers_with_enough_clips_are_normalised_on_their_own_statistics() -> None:
    model = create_model("speech-functionals", labels=["a", "b"], dims=2, min_speaker_clips=3)
    model.feature_mean.fill_(100.0)
    features = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 9.0], [7.0, 7.0]])
    normalised = model.normalise(features, ["x", "x", "x", "y"])
    np.testing.assert_allclose(normalised[:3].mean(0), 0.0, atol=1e-6)
    np.testing.assert_allclose(normalised[3], features[3] - 100.0)


def _call_with_a_broken_clip(tmp_path: Path) -> Path:
    """Three turns: a good recording, a broken one, and none."""
    (tmp_path / "clips").mkdir()
    _voice(tmp_path / "clips" / "ok.wav", 180.0)
    (tmp_path / "clips" / "broken.wav").write_bytes(b"RIFF....WAVEjunk")
    utterances = [
        {"speaker": "Ann", "text": "I love this, it's wonderful!", "media": {"audio": "clips/ok.wav"}},
        {"speaker": "Bob", "text": "Get out, I'm furious!", "media": {"audio": "clips/broken.wav"}},
        {"speaker": "Ann", "text": "Fine."},
    ]
    source = tmp_path / "call.jsonl"
    source.write_text(json.dumps({"id": "call", "utterances": utterances}) + "\n", encoding="utf-8")
    return source


def test_analyze_fuses_text_and_speech_and_reports_a_broken_recording_per_utterance(tmp_path: Path) -> None:
    source = _call_with_a_broken_clip(tmp_path)
    out = tmp_path / "out.json"
    result = emotrace("analyze", str(source), "--fusion-model", "late", "-o", str(out))
    assert result.returncode == 0, result.stderr
    first, second, third = json.loads(out.read_text())[0]["utterances"]
    assert set(first["modalities"]) == {"text", "speech"}
    assert "boredom" in first["probabilities"] and "surprise" in first["probabilities"]
    assert abs(sum(first["probabilities"].values()) - 1) < 1e-3
    assert set(second["modalities"]) == {"text"} and "broken.wav" in second["errors"]["speech"]
    assert second["emotion"] == second["modalities"]["text"]["emotion"]
    assert set(third["modalities"]) == {"text"} and "errors" not in third


def test_bundled_voice_example_gets_text_speech_and_fused_emotions(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[1] / "examples" / "voice_call" / "voice_call.jsonl"
    out = tmp_path / "out.jsonl"
    result = emotrace("analyze", str(example), "-o", str(out))
    assert result.returncode == 0, result.stderr
    utterances = json.loads(out.read_text())["utterances"]
    assert len(utterances) == 5
    assert all(set(u["modalities"]) == {"text", "speech"} for u in utterances)


def test_analyze_fuses_late_by_default_and_with_the_shipped_cmath_model_on_request(tmp_path: Path) -> None:
    pytest.importorskip("cv2")
    from emotrace.models.bundle import bundled_models, read_config

    source = _call_with_a_broken_clip(tmp_path)
    default, late, learned = (tmp_path / f"{name}.json" for name in ("default", "late", "learned"))
    assert emotrace("analyze", str(source), "-o", str(default)).returncode == 0
    assert emotrace("analyze", str(source), "--fusion-model", "late", "-o", str(late)).returncode == 0
    assert json.loads(default.read_text()) == json.loads(late.read_text())
    result = emotrace("analyze", str(source), "--fusion-model", "fusion", "-o", str(learned))
    assert result.returncode == 0, result.stderr
    labels = read_config(bundled_models()["fusion"])["args"]["labels"]
    first, second, third = json.loads(learned.read_text())[0]["utterances"]
    for utterance in (first, second, third):
        assert set(utterance["probabilities"]) == set(labels) and abs(sum(utterance["probabilities"].values()) - 1) < 1e-3
    assert set(first["modalities"]) == {"text", "speech"} and "broken.wav" in second["errors"]["speech"]
    assert json.loads(late.read_text())[0]["utterances"][0]["probabilities"] != first["probabilities"]
    assert_user_error(emotrace("analyze", str(source), "--fusion-model", "default"), "'default' is a finetune-bigru model, not a fusion model")


def test_late_fusion_decodes_each_recording_once_and_matches_the_speech_model_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import emotrace.encoders.audio as audio
    from emotrace.inference.fusion import predict_multimodal
    from emotrace.inference.predict import predict
    from emotrace.io.readers import read_conversations
    from emotrace.models.bundle import load_model

    source = _call_with_a_broken_clip(tmp_path)
    conversations = read_conversations(source)
    speech = load_model("speech")
    alone = predict(speech, [conversations[0].__class__(id="ok", utterances=conversations[0].utterances[:1])])[0][0]

    decoded: list[str] = []
    real_load = audio.load_audio
    monkeypatch.setattr(audio, "load_audio", lambda path, *args: decoded.append(Path(path).name) or real_load(path, *args))
    fused = predict_multimodal(load_model("default"), {"speech": speech}, conversations)[0]

    assert sorted(decoded) == ["broken.wav", "ok.wav"]  # one attempt per recording, none for the turn without one
    assert fused[0].modalities["speech"].probabilities == pytest.approx(alone.probabilities)
    assert "broken.wav" in fused[1].errors["speech"]


def test_learned_fusion_reuses_the_recordings_the_speech_model_decoded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("cv2")
    import emotrace.encoders.audio as audio
    from emotrace.inference.fusion import predict_multimodal
    from emotrace.inference.predict import predict
    from emotrace.io.readers import read_conversations
    from emotrace.models.bundle import load_model

    conversations = read_conversations(_call_with_a_broken_clip(tmp_path))
    fusion = load_model("fusion")
    decoded: list[str] = []
    real_load = audio.load_audio
    monkeypatch.setattr(audio, "load_audio", lambda path, *args: decoded.append(Path(path).name) or real_load(path, *args))
    fused = predict_multimodal(load_model("default"), {"speech": load_model("speech")}, conversations, fusion_model=fusion)[0]

    assert sorted(decoded) == ["broken.wav", "ok.wav"]  # the fusion model read no recording itself
    reading_itself = predict(fusion, conversations)[0]  # the same model decoding the recordings on its own
    for shared, alone in zip(fused, reading_itself):
        assert shared.probabilities == pytest.approx(alone.probabilities, abs=1e-5)
