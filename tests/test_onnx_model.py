"""A text bundle's ONNX export (`emotrace export --model`) gives the PyTorch model's outputs, and `analyze` uses it
without importing torch."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from emotrace.errors import EmotraceError
from emotrace.export.runtime import load_onnx_model
from emotrace.export.text_model import export_bundle
from emotrace.inference.pipeline import Analyzer, PipelineOptions
from emotrace.inference.predict import predict_probabilities
from emotrace.models.bundle import load_model, save_bundle
from emotrace.models.registry import create_model
from emotrace.schema import Conversation, Utterance

LONG = " ".join(["I told you already that the router keeps blinking red every single evening"] * 8)  # > 128 tokens


def conversations() -> list[Conversation]:
    """Short and long turns, three speakers, a one-turn conversation: padding, truncation and speaker roles all matter."""
    first = Conversation(
        "a",
        [
            Utterance("Ann", "Hi, how are you?"),
            Utterance("Bob", LONG),
            Utterance("Ann", "Oh no, that is terrible!"),
            Utterance("Cat", "Why would anyone do that?!"),
            Utterance("Bob", "Fine."),
        ],
    )
    return [first, Conversation("b", [Utterance("Dan", "I am so happy for you, congratulations!")])]


@pytest.fixture(scope="module")
def default_export() -> Path:
    return export_bundle("default", int8=True)


def test_fp32_export_of_the_default_model_matches_torch(default_export: Path) -> None:
    expected_emotion, expected_sentiment = predict_probabilities(load_model("default"), conversations())
    emotion, sentiment = load_onnx_model("default", "onnx-fp32").probabilities(conversations())
    np.testing.assert_allclose(emotion, expected_emotion, atol=1e-4)
    np.testing.assert_allclose(sentiment, expected_sentiment, atol=1e-4)
    int8_emotion, _ = load_onnx_model("default", "onnx-int8").probabilities(conversations())
    assert int8_emotion.shape == emotion.shape and np.allclose(int8_emotion.sum(1), 1.0, atol=1e-5)


def test_fp32_export_of_a_frozen_embedding_model_matches_torch(tmp_path: Path) -> None:
    model = create_model("bigru", labels=["joy", "anger", "neutral"])
    bundle = save_bundle(model.eval(), tmp_path / "bigru", {}, "# test bundle\n")
    export_bundle(bundle)
    expected, _ = predict_probabilities(load_model(bundle), conversations())
    emotion, sentiment = load_onnx_model(bundle, "onnx-fp32").probabilities(conversations())
    np.testing.assert_allclose(emotion, expected, atol=1e-4)
    assert sentiment is None


def test_missing_export_and_media_models_are_one_line_errors(tmp_path: Path) -> None:
    model = create_model("mlp", labels=["joy", "anger"])
    bundle = save_bundle(model.eval(), tmp_path / "mlp", {}, "# test bundle\n")
    with pytest.raises(EmotraceError, match="no onnx-int8 export yet.*emotrace export --model"):
        load_onnx_model(bundle, "onnx-int8")
    with pytest.raises(EmotraceError, match="only the text models .* export to ONNX"):
        export_bundle("speech")


def test_analyze_uses_the_export_without_importing_torch(default_export: Path, tmp_path: Path) -> None:
    source = tmp_path / "chat.txt"
    source.write_text("Ann: Hi, how are you?\nBob: Terrible, my flight was cancelled!\nAnn: Oh no, I'm so sorry.\n", encoding="utf-8")
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from emotrace.inference.pipeline import Analyzer, PipelineOptions\n"
        "from emotrace.io import read_conversations\n"
        f"conversations = read_conversations(Path({str(source)!r}))\n"
        "predictions = Analyzer().analyze(conversations, PipelineOptions(backend=sys.argv[1]))\n"
        "print(json.dumps({'labels': [p.label for p in predictions[0]], 'torch': 'torch' in sys.modules}))\n"
    )
    runs = {}
    for backend in ("auto", "torch-fp32"):
        result = subprocess.run([sys.executable, "-c", script, backend], capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        runs[backend] = json.loads(result.stdout.strip().splitlines()[-1])
    assert runs["auto"]["torch"] is False and runs["torch-fp32"]["torch"] is True
    assert runs["auto"]["labels"] == runs["torch-fp32"]["labels"]


def test_auto_backend_falls_back_to_torch_once_when_onnxruntime_is_missing(
    default_export: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("emotrace.export.runtime.onnx_runtime_installed", lambda: False)
    analyzer = Analyzer()
    with caplog.at_level(logging.WARNING, logger="emotrace.inference.pipeline"):
        first = analyzer.analyze(conversations(), PipelineOptions(backend="auto"))
        second = analyzer.analyze(conversations(), PipelineOptions(backend="auto"))
    assert analyzer.text_model(PipelineOptions(backend="auto")) is analyzer.model("default")
    assert [p.label for p in first[0]] == [p.label for p in second[0]]
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 1
    assert "onnxruntime or tokenizers is missing; running it on torch" in warnings[0] and "emotrace[onnx]" in warnings[0]
