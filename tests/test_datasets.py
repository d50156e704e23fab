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
