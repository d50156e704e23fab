import json
from pathlib import Path

import numpy as np
import pytest
from test_cli import emotrace

from emotrace.errors import EmotraceError
from emotrace.inference.extract import extract, load_features, save_features
from emotrace.io import read_conversations


def test_text_features_round_trip_through_the_cli(tmp_path: Path) -> None:
    talk = tmp_path / "talk.txt"
    talk.write_text("Ann: hello there\nBob: I am so happy today!\n\nCid: what time is it?\n", encoding="utf-8")
    out = tmp_path / "features.npz"
    result = emotrace("extract", str(talk), "--modality", "text", "--out", str(out))
    assert result.returncode == 0, result.stderr
    features = load_features(out)
    assert features.features.shape == (3, 384)
    assert list(features.conversation_ids) == ["conv1", "conv1", "conv2"]
    assert list(features.utterance_index) == [0, 1, 0]
    assert list(features.speakers) == ["Ann", "Bob", "Cid"]
    np.testing.assert_allclose(np.linalg.norm(features.features, axis=1), 1.0, atol=1e-5)


def test_audio_features_use_media_paths_relative_to_the_input_file(tmp_path: Path) -> None:
    sf = pytest.importorskip("soundfile")
    pytest.importorskip("opensmile")
    (tmp_path / "clips").mkdir()
    for name, frequency in (("a.wav", 150.0), ("b.wav", 300.0)):
        t = np.arange(16_000) / 16_000
        sf.write(tmp_path / "clips" / name, (0.3 * np.sin(2 * np.pi * frequency * t)).astype(np.float32), 16_000)
    record = {
        "id": "call",
        "utterances": [
            {"speaker": "A", "text": "hi", "media": {"audio": "clips/a.wav"}},
            {"speaker": "B", "text": "hey", "media": {"audio": "clips/b.wav"}},
        ],
    }
    source = tmp_path / "call.jsonl"
    source.write_text(json.dumps(record) + "\n", encoding="utf-8")
    features = extract(read_conversations(source), "audio")
    assert features.features.shape == (2, 88)
    assert features.encoder == "opensmile/eGeMAPSv02/functionals"
    save_features(features, tmp_path / "f.npz")
    np.testing.assert_array_equal(load_features(tmp_path / "f.npz").features, features.features)


def test_audio_extraction_without_audio_names_the_utterance(tmp_path: Path) -> None:
    source = tmp_path / "talk.txt"
    source.write_text("Ann: hello\n", encoding="utf-8")
    with pytest.raises(EmotraceError, match="no audio for conv1 utterance 1"):
        extract(read_conversations(source), "audio")


def test_a_file_that_is_not_a_features_file_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.npz"
    bogus.write_bytes(b"not a zip")
    with pytest.raises(EmotraceError, match="not an emotrace features file"):
        load_features(bogus)
