import pickle
from pathlib import Path

import pytest

from emotrace.datasets import load_dataset
from emotrace.errors import EmotraceError
from emotrace.io.safe_pickle import load_restricted_pickle


def test_meld_dev_split_has_official_counts(shared_data: Path) -> None:
    conversations = load_dataset("meld", "dev", shared_data)
    assert len(conversations) == 114
    assert sum(len(c) for c in conversations) == 1109
    first = conversations[0].utterances[0]
    assert first.emotion in {"neutral", "surprise", "fear", "sadness", "joy", "disgust", "anger"}
    assert first.sentiment in {"neutral", "positive", "negative"}
    assert first.start is not None and first.end is not None and first.end >= first.start


def test_iemocap_test_split_has_standard_counts(shared_data: Path) -> None:
    conversations = load_dataset("iemocap", "test", shared_data)
    assert len(conversations) == 31
    assert sum(len(c) for c in conversations) == 1623
    assert {u.speaker for c in conversations for u in c.utterances} == {"Male", "Female"}


def test_dailydialog_test_split_has_reccon_counts_and_maps_variant_spellings(shared_data: Path) -> None:
    conversations = load_dataset("dailydialog", "test", shared_data)
    assert len(conversations) == 225
    assert sum(len(c) for c in conversations) == 2405
    emotions = {u.emotion for c in conversations for u in c.utterances}
    assert emotions == {"neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear"}
    assert {u.speaker for c in conversations for u in c.utterances} == {"A", "B"}


def test_missing_data_folder_names_the_file_and_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(EmotraceError, match=r"meld/test_sent_emo.csv.*--data-dir"):
        load_dataset("meld", "test", tmp_path)


def test_unknown_dataset_lists_the_choices() -> None:
    with pytest.raises(EmotraceError, match="meld, iemocap"):
        load_dataset("friends", "test", ".")


class _Exploit:
    def __reduce__(self) -> tuple:
        import os

        return (os.system, ("echo pwned",))


def test_restricted_unpickler_refuses_code_and_accepts_containers(tmp_path: Path) -> None:
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps(_Exploit()))
    with pytest.raises(EmotraceError, match="refusing to load"):
        load_restricted_pickle(evil)
    plain = tmp_path / "plain.pkl"
    plain.write_bytes(pickle.dumps([{"a": (1, 2.5)}, "x"]))
    assert load_restricted_pickle(plain) == [{"a": (1, 2.5)}, "x"]


def _nemo_slice(shared_data: Path, target: Path, rows: int) -> list[str]:
    """A data folder holding the first `rows` clips of nEMO (table and archive), built from the shared copy."""
    import tarfile

    lines = (shared_data / "nemo" / "data.tsv").read_text(encoding="utf-8").splitlines()[: rows + 1]
    names = [line.split("\t")[0].removesuffix(".wav") for line in lines[1:]]
    (target / "nemo").mkdir(parents=True)
    (target / "nemo" / "data.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    wanted = {f"clips/{name}.ogg" for name in names}
    with tarfile.open(shared_data / "nemo" / "nemo_opus.tar.gz") as source, tarfile.open(target / "nemo" / "nemo_opus.tar.gz", "w:gz") as sliced:
        for member in source:
            if member.name in wanted:
                sliced.addfile(member, source.extractfile(member))
    return names


def test_nemo_reads_speaker_emotion_transcript_and_a_decodable_clip(shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from emotrace.encoders.audio import SAMPLE_RATE, load_audio

    monkeypatch.setenv("EMOTRACE_CACHE", str(tmp_path / "cache"))
    names = _nemo_slice(shared_data, tmp_path / "data", rows=3)
    conversations = load_dataset("nemo", "all", tmp_path / "data")
    assert [c.utterances[0].id for c in conversations] == names
    first = conversations[0].utterances[0]
    assert (first.speaker, first.emotion) == ("WR0", "surprised")
    assert first.text == "Ucho wykrywa dźwięki o różnej częstotliwości."
    assert conversations[0].metadata == {"gender": "male", "age": 23}
    assert 1.0 < len(load_audio(first.media["audio"])) / SAMPLE_RATE < 6.0


def test_nemo_row_without_its_clip_names_the_line(shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMOTRACE_CACHE", str(tmp_path / "cache"))
    _nemo_slice(shared_data, tmp_path / "data", rows=2)
    table = tmp_path / "data" / "nemo" / "data.tsv"
    table.write_text(table.read_text(encoding="utf-8") + "XX0_anger_1.wav\tanger\tTak.\ttak\tXX0\tmale\t30\n", encoding="utf-8")
    with pytest.raises(EmotraceError, match=r"data.tsv:4: clip XX0_anger_1.ogg is not in the archive"):
        load_dataset("nemo", "all", tmp_path / "data")
