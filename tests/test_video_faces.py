"""Faces from videos and images through `analyze` and `extract`: frames sampled over each utterance's span, frames
without a face skipped and counted, and every broken medium reported for its utterance only."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

cv2 = pytest.importorskip("cv2")
data = pytest.importorskip("skimage.data")

from test_cli import assert_user_error, emotrace  # noqa: E402

from emotrace.encoders.face_detect import face_crop, video_faces  # noqa: E402
from emotrace.encoders.video import sample_frames  # noqa: E402
from emotrace.errors import EmotraceError  # noqa: E402
from emotrace.inference.extract import load_features  # noqa: E402
from emotrace.models.bundle import load_model, save_bundle  # noqa: E402
from emotrace.models.registry import create_model  # noqa: E402
from emotrace.research.fer2013 import CLASSES  # noqa: E402

FPS = 10


def _astronaut(size: int = 240) -> np.ndarray:
    return cv2.resize(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)[:420, 40:460], (size, size))


def _write_video(path: Path, seconds_with_face: float, seconds_without: float, size: int = 240) -> None:
    """A face for the first `seconds_with_face`, then a plain grey frame."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (size, size))
    for index in range(round((seconds_with_face + seconds_without) * FPS)):
        writer.write(_astronaut(size) if index < seconds_with_face * FPS else np.full((size, size, 3), 128, np.uint8))
    writer.release()


@pytest.fixture(scope="module")
def face_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    model = create_model("face-cnn", labels=list(CLASSES), width=4)
    return save_bundle(model, tmp_path_factory.mktemp("bundles") / "face", {"data": {"name": "untrained test model"}}, "# test\n")


def test_frames_are_sampled_over_the_span_and_faceless_frames_are_counted(tmp_path: Path) -> None:
    video = tmp_path / "clip.mp4"
    _write_video(video, 2.0, 2.0)
    assert len(sample_frames(video, fps=2.0)) == 8
    assert len(sample_frames(video, 1.0, 2.0, fps=4.0)) == 4
    whole = video_faces(video, 0.0, 4.0, fps=2.0)
    assert (whole.frames, whole.faceless_frames) == (8, 4)
    assert whole.crops.shape == (4, 48, 48)
    with pytest.raises(EmotraceError, match="no face found in any of the 4 sampled frames"):
        video_faces(video, 2.0, 4.0, fps=2.0)


def test_broken_videos_are_clear_errors(tmp_path: Path) -> None:
    video = tmp_path / "clip.mp4"
    _write_video(video, 1.0, 0.0)
    with pytest.raises(EmotraceError, match="outside the video"):
        sample_frames(video, 5.0, 6.0)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(video.read_bytes()[:300])
    audio_only = tmp_path / "voice.mp4"
    audio_only.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(100))
    for path in (truncated, audio_only):
        with pytest.raises(EmotraceError, match="no video stream"):
            sample_frames(path)
    with pytest.raises(EmotraceError, match="video file not found"):
        sample_frames(tmp_path / "missing.mp4")


def test_face_model_averages_frame_probabilities_per_utterance() -> None:
    torch.manual_seed(0)
    model = create_model("face-cnn", labels=list(CLASSES), width=4).eval()
    crops = torch.rand(3, 48, 48)
    with torch.no_grad():
        output = model.collate([{"crops": crops, "counts": torch.tensor([2, 1])}])
        logits = model(output).emotion
        frames = model.network.probabilities(crops)
    torch.testing.assert_close(logits.exp(), torch.stack([frames[:2].mean(0), frames[2]]))


def test_analyze_fuses_text_with_faces_from_a_conversation_video_and_an_image(tmp_path: Path, face_bundle: Path) -> None:
    _write_video(tmp_path / "call.mp4", 2.0, 2.0)
    cv2.imwrite(str(tmp_path / "photo.png"), _astronaut())
    cv2.imwrite(str(tmp_path / "wall.png"), np.full((200, 200), 90, np.uint8))
    record = {
        "id": "call",
        "media": {"video": "call.mp4"},
        "utterances": [
            {"speaker": "Ann", "text": "I love this, it's wonderful!", "start": 0.0, "end": 3.0},
            {"speaker": "Bob", "text": "Fine.", "start": 2.0, "end": 4.0},
            {"speaker": "Ann", "text": "Look at me.", "media": {"image": "photo.png"}},
            {"speaker": "Bob", "text": "Or at the wall.", "media": {"image": "wall.png"}},
            {"speaker": "Ann", "text": "And now?", "media": {"image": "nowhere.png"}},
        ],
    }
    source = tmp_path / "call.jsonl"
    source.write_text(json.dumps(record) + "\n", encoding="utf-8")
    out = tmp_path / "out.json"
    result = emotrace("analyze", str(source), "--face-model", str(face_bundle), "--fusion-model", "late", "-o", str(out))
    assert result.returncode == 0, result.stderr
    video_face, video_wall, photo, wall, missing = json.loads(out.read_text())[0]["utterances"]
    assert set(video_face["modalities"]) == {"text", "face"}
    assert video_face["modalities"]["face"]["evidence"] == {"frames": 9, "frames_without_face": 3}
    assert abs(sum(video_face["probabilities"].values()) - 1) < 1e-3
    assert set(video_wall["modalities"]) == {"text"} and "no face found in any of the 6 sampled frames" in video_wall["errors"]["face"]
    assert set(photo["modalities"]) == {"text", "face"} and photo["modalities"]["face"]["evidence"] == {"frames": 1, "frames_without_face": 0}
    assert "no face found in the image" in wall["errors"]["face"]
    assert "image file not found" in missing["errors"]["face"] and missing["emotion"] == missing["modalities"]["text"]["emotion"]

    table = emotrace("analyze", str(source), "--face-model", str(face_bundle))
    assert table.returncode == 0, table.stderr
    assert "6/9 frames with a face" in table.stdout and "#4 face unavailable" in table.stdout


def test_face_features_round_trip_through_extract(tmp_path: Path, face_bundle: Path) -> None:
    cv2.imwrite(str(tmp_path / "photo.png"), _astronaut())
    _write_video(tmp_path / "clip.mp4", 1.0, 0.0)
    record = {
        "id": "c",
        "utterances": [
            {"speaker": "A", "text": "hi", "media": {"image": "photo.png"}},
            {"speaker": "B", "text": "hey", "media": {"video": "clip.mp4"}},
        ],
    }
    source = tmp_path / "call.jsonl"
    source.write_text(json.dumps(record) + "\n", encoding="utf-8")
    out = tmp_path / "faces.npz"
    result = emotrace("extract", str(source), "--modality", "face", "--face-model", str(face_bundle), "--out", str(out))
    assert result.returncode == 0, result.stderr
    features = load_features(out)
    assert features.features.shape == (2, 32) and np.isfinite(features.features).all()
    assert list(features.speakers) == ["A", "B"] and list(features.utterance_index) == [0, 1]
    expected = load_model(str(face_bundle)).network.embed([face_crop(tmp_path / "photo.png")])[0]
    np.testing.assert_allclose(features.features[0], expected, rtol=1e-5, atol=1e-6)


def test_subtitles_plus_one_video_recording_via_the_media_option(tmp_path: Path, face_bundle: Path) -> None:
    _write_video(tmp_path / "talk.mp4", 2.0, 2.0)
    subtitles = tmp_path / "talk.srt"
    subtitles.write_text("1\n00:00:00,000 --> 00:00:02,000\nAnn: Hello!\n\n2\n00:00:02,000 --> 00:00:04,000\nBob: Hi.\n", encoding="utf-8")
    out = tmp_path / "out.json"
    video = str(tmp_path / "talk.mp4")
    result = emotrace("analyze", str(subtitles), "--media", f"video={video}", "--face-model", str(face_bundle), "-o", str(out))
    assert result.returncode == 0, result.stderr
    first, second = json.loads(out.read_text())[0]["utterances"]
    assert first["modalities"]["face"]["evidence"] == {"frames": 6, "frames_without_face": 0}
    assert "no face found" in second["errors"]["face"]
    assert_user_error(emotrace("analyze", str(subtitles), "--media", f"sound={video}"), "--media 'sound=", "KIND is one of")
    assert_user_error(emotrace("analyze", str(subtitles), "--media", "video=nowhere.mp4"), "nowhere.mp4: --media video file not found")


def test_bundled_video_example_gets_text_speech_face_and_fused_emotions(tmp_path: Path) -> None:
    pytest.importorskip("opensmile")
    example = Path(__file__).resolve().parents[1] / "examples" / "video_call" / "video_call.jsonl"
    out = tmp_path / "out.json"
    result = emotrace("analyze", str(example), "-o", str(out))
    assert result.returncode == 0, result.stderr
    utterances = json.loads(out.read_text())[0]["utterances"]
    astronaut = [u for u in utterances if u["speaker"] == "Astronaut"]
    houston = [u for u in utterances if u["speaker"] == "Houston"]
    assert len(astronaut) == 3 and all(set(u["modalities"]) == {"text", "speech", "face"} for u in astronaut)
    assert all(set(u["modalities"]) == {"text", "speech"} and "no face found" in u["errors"]["face"] for u in houston)
    panned = astronaut[1]["modalities"]["face"]["evidence"]
    assert 0 < panned["frames_without_face"] < panned["frames"]
