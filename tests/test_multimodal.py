"""CMATH and early fusion: any subset of modalities per utterance, ablation switches, learning from the modality that
carries the signal, context-only turns, bundle round trips, and features from real media files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from emotrace.errors import EmotraceError
from emotrace.inference.predict import predict_probabilities
from emotrace.models.bundle import load_bundle, save_bundle
from emotrace.models.multimodal import conversation_features
from emotrace.models.registry import create_model
from emotrace.schema import Conversation, Utterance
from emotrace.training.config import TrainConfig
from emotrace.training.loop import TrainData, train

LABELS = ["neutral", "joy", "anger"]
DIMS = {"text": 16, "audio": 8, "face": 12}
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def feature_conversations(count: int, seed: int, signal: str = "face", keep: float = 0.8) -> list[Conversation]:
    """Conversations with precomputed features where only `signal` tells the emotion; the other modalities are
    noise, and each non-text modality is missing from an utterance with probability 1 - keep."""
    rng = np.random.default_rng(seed)
    prototypes = {m: np.random.default_rng(99).normal(size=(len(LABELS), d)) * 2 for m, d in DIMS.items()}
    conversations = []
    for index in range(count):
        utterances = []
        for turn in range(int(rng.integers(2, 7))):
            label = int(rng.integers(len(LABELS)))
            features = {}
            for modality, dim in DIMS.items():
                if modality != "text" and rng.random() > keep:
                    continue
                centre = prototypes[modality][label] if modality == signal else 0.0
                features[modality] = (centre + rng.normal(size=dim)).astype(np.float32)
            emotion = LABELS[label] if turn != 1 else None  # every second turn is context only
            utterances.append(Utterance(speaker=f"s{turn % 2}", text="", emotion=emotion, features=features))
        conversations.append(Conversation(id=f"c{seed}_{index}", utterances=utterances))
    return conversations


def _train(tmp_path: Path, model: str, **args: object) -> dict:
    data = TrainData(feature_conversations(80, 1), feature_conversations(30, 2), LABELS, None, {"name": "synthetic"})
    config = TrainConfig(model=model, model_args={"dims": DIMS, "hidden": 32, **args}, epochs=6, lr=3e-3, batch_utterances=64, patience=6)
    return train(config, data, tmp_path / model, progress=False)


@pytest.mark.parametrize("model", ["cmath", "early-fusion"])
def test_fusion_models_learn_from_the_modality_that_carries_the_emotion(tmp_path: Path, model: str) -> None:
    torch.manual_seed(0)
    summary = _train(tmp_path, model, modality_dropout=0.25)
    assert summary["best_dev"]["weighted_f1"] > 85
    assert summary["best_dev"]["n"] == sum(1 for c in feature_conversations(30, 2) for u in c.utterances if u.emotion)


@pytest.mark.parametrize(
    "switches",
    [{"reconstruction": False}, {"variational": False}, {"distillation": False}, {"central": ["text"]}],
)
def test_every_cmath_ablation_trains_and_reports_its_loss_terms(switches: dict) -> None:
    model = create_model("cmath", labels=LABELS, dims=DIMS, hidden=16, **switches).train()
    output = model(model.collate(model.prepare(feature_conversations(4, 3))))
    expected = {"fine", "reconstruction", "kl", "distillation"}
    expected -= {"reconstruction"} if switches.get("reconstruction") is False else set()
    expected -= {"kl"} if switches.get("variational") is False else set()
    expected -= {"distillation"} if switches.get("distillation") is False else set()
    assert set(output.losses) == expected
    (output.emotion.sum() + sum(output.losses.values())).backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_any_subset_of_modalities_per_utterance_gives_finite_predictions() -> None:
    model = create_model("cmath", labels=LABELS, dims=DIMS, hidden=16).eval()
    rng = np.random.default_rng(0)
    subsets = [{}, {"text"}, {"audio"}, {"face"}, {"text", "face"}, {"audio", "face"}, {"text", "audio", "face"}]
    utterances = [Utterance(speaker="a", text="", features={m: rng.normal(size=DIMS[m]).astype(np.float32) for m in subset}) for subset in subsets]
    no_audio_anywhere = Conversation("b", [Utterance(speaker="a", text="", features={"text": np.ones(16, np.float32)})])
    probabilities, _ = predict_probabilities(model, [Conversation("a", utterances), no_audio_anywhere])
    assert probabilities.shape == (len(subsets) + 1, len(LABELS))
    assert np.isfinite(probabilities).all() and np.allclose(probabilities.sum(1), 1, atol=1e-5)


def test_a_bundle_round_trip_gives_the_same_probabilities(tmp_path: Path) -> None:
    model = create_model("cmath", labels=LABELS, dims=DIMS, hidden=16).eval()
    conversations = feature_conversations(3, 4)
    save_bundle(model, tmp_path / "bundle", {}, "card")
    before, _ = predict_probabilities(model, conversations)
    after, _ = predict_probabilities(load_bundle(tmp_path / "bundle"), conversations)
    assert np.allclose(before, after, atol=1e-6)


def test_features_of_the_wrong_size_are_a_clear_error() -> None:
    conversation = Conversation("x", [Utterance(speaker="a", text="hi", features={"audio": np.zeros(5, np.float32)})])
    with pytest.raises(EmotraceError, match=r"utterance 1: audio features have shape \(5,\), the model expects \(8,\)"):
        conversation_features([conversation], ["audio"], DIMS)


def test_unknown_modality_is_a_clear_error() -> None:
    with pytest.raises(EmotraceError, match="unknown modality 'video'"):
        create_model("early-fusion", labels=LABELS, modalities=["video"])


def test_features_from_media_files_mask_what_is_missing_or_broken(tmp_path: Path) -> None:
    pytest.importorskip("opensmile")
    pytest.importorskip("cv2")
    import cv2
    from skimage import data

    photo = tmp_path / "face.png"
    cv2.imwrite(str(photo), data.astronaut()[..., ::-1])
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not audio")
    shutil.copy(EXAMPLES / "voice_call" / "1.wav", tmp_path / "voice.wav")
    utterances = [
        Utterance(speaker="a", text="Hello there.", media={"audio": str(tmp_path / "voice.wav"), "image": str(photo)}),
        Utterance(speaker="b", text="", media={"audio": str(broken)}),
        Utterance(speaker="a", text="Fine.", media={"image": str(tmp_path / "missing.png")}),
    ]
    [features] = conversation_features([Conversation("m", utterances)], ["text", "audio", "face"], {"text": 384, "audio": 88, "face": 256})
    assert features.present["text"].tolist() == [True, False, True]
    assert features.present["audio"].tolist() == [True, False, False]
    assert features.present["face"].tolist() == [True, False, False]
    assert np.abs(features.vectors["audio"][0]).sum() > 0 and not features.vectors["audio"][1].any()
    assert features.vectors["face"].shape == (3, 256)


def test_cmath_trains_from_a_community_feature_file_on_the_command_line(tmp_path: Path) -> None:
    from test_cli import emotrace
    from test_community import dump, iemocap_tuple

    pickle_path = dump(tmp_path / "IEMOCAP_features.pkl", iemocap_tuple(train=20, test=4))
    result = emotrace("train", "--dataset", str(pickle_path), "--model", "cmath", "--epochs", "2", "--out", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["args"]["dims"] == {"text": 5, "audio": 4, "face": 6}
    assert config["args"]["labels"] == sorted(["happy", "sad", "neutral", "angry", "excited", "frustrated"])
    assert json.loads((tmp_path / "run" / "eval_test.json").read_text())["n"] == sum(3 + n % 3 for n in range(20, 24))
