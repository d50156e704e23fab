"""Community feature pickles (IEMOCAP_features.pkl, MELD_features_raw1.pkl): layouts, splits, clear errors, safety."""

from __future__ import annotations

import os
import pickle
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from emotrace.errors import EmotraceError
from emotrace.io.community import COMMUNITY_LAYOUTS, load_community_features
from emotrace.io.safe_pickle import load_restricted_pickle
from emotrace.labels import LABEL_SETS

DIMS = {"text": 5, "audio": 4, "face": 6}


def iemocap_tuple(train: int = 10, test: int = 3, seed: int = 0) -> tuple[Any, ...]:
    """A small IEMOCAP_features.pkl: string ids, 'M'/'F' speakers, lists of float32 vectors (2-D arrays for some)."""
    rng = np.random.default_rng(seed)
    ids, speakers, labels, text, audio, visual, sentences = {}, {}, {}, {}, {}, {}, {}
    names = [f"Ses0{1 + i % 5}F_impro{i:02d}" for i in range(train + test)]
    for number, name in enumerate(names):
        count = 3 + number % 3
        ids[name] = [f"{name}_{'MF'[k % 2]}{k:03d}" for k in range(count)]
        speakers[name] = ["MF"[k % 2] for k in range(count)]
        labels[name] = [int(x) for x in rng.integers(0, 6, count)]
        block = rng.standard_normal((count, DIMS["text"])).astype(np.float32)
        text[name] = block if number % 2 else list(block)  # the files use both
        audio[name] = list(rng.standard_normal((count, DIMS["audio"])).astype(np.float32))
        visual[name] = list(rng.standard_normal((count, DIMS["face"])).astype(np.float32))
        sentences[name] = [f"Sentence {k} of {name}." for k in range(count)]
    train_ids = set(names[:train])  # a set, as in the DialogueGCN file
    test_ids = list(names[train:])
    return ids, speakers, labels, text, audio, visual, sentences, train_ids, test_ids


def meld_tuple(train: int = 20, test: int = 4, seed: int = 1) -> tuple[Any, ...]:
    """A small MELD_features_raw1.pkl: integer ids, one-hot speakers (9 slots), a tenth unused item."""
    rng = np.random.default_rng(seed)
    ids, speakers, labels, text, audio, visual, sentences, extra = {}, {}, {}, {}, {}, {}, {}, {}
    for dialogue in range(train + test):
        count = 2 + dialogue % 4
        ids[dialogue] = list(range(count))
        speakers[dialogue] = [np.eye(9)[(dialogue + k) % 3].tolist() for k in range(count)]
        labels[dialogue] = [int(x) for x in rng.integers(0, 7, count)]
        text[dialogue] = rng.standard_normal((count, DIMS["text"]))
        audio[dialogue] = rng.standard_normal((count, DIMS["audio"]))
        visual[dialogue] = rng.standard_normal((count, DIMS["face"]))
        sentences[dialogue] = [f"Line {k} – you’re here" for k in range(count)]
        extra[dialogue] = [0] * count
    return ids, speakers, labels, text, audio, visual, sentences, list(range(train)), list(range(train, train + test)), extra


def dump(path: Path, content: Any, protocol: int = 2) -> Path:
    with open(path, "wb") as handle:
        pickle.dump(content, handle, protocol=protocol)
    return path


def splits(conversations: list) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"train": [], "dev": [], "test": []}
    for conversation in conversations:
        out[conversation.metadata["split"]].append(conversation.id)
    return out


def test_iemocap_layout_round_trips(tmp_path: Path) -> None:
    content = iemocap_tuple()
    ids, speakers, labels, text, audio, visual, sentences, train_ids, test_ids = content
    conversations = load_community_features(dump(tmp_path / "IEMOCAP_features.pkl", content))

    by_split = splits(conversations)
    assert (len(by_split["train"]), len(by_split["dev"]), len(by_split["test"])) == (9, 1, 3)
    assert by_split["train"] == sorted(by_split["train"]) and by_split["test"] == sorted(test_ids)
    assert set(by_split["train"]) | set(by_split["dev"]) == train_ids
    assert [c.metadata["split"] for c in conversations] == ["train"] * 9 + ["dev"] + ["test"] * 3
    assert all(c.metadata["source"] == "IEMOCAP_features.pkl" for c in conversations)

    for conversation in conversations:
        name = conversation.id
        assert [u.id for u in conversation.utterances] == ids[name]
        assert [u.speaker for u in conversation.utterances] == speakers[name]
        assert [u.emotion for u in conversation.utterances] == [LABEL_SETS["iemocap"][k] for k in labels[name]]
        assert [u.text for u in conversation.utterances] == sentences[name]
        for index, utterance in enumerate(conversation.utterances):
            assert set(utterance.features) == {"text", "audio", "face"}
            for modality, source in (("text", text), ("audio", audio), ("face", visual)):
                vector = utterance.features[modality]
                assert vector.shape == (DIMS[modality],) and vector.dtype == np.float32
                assert np.array_equal(vector, np.asarray(source[name][index]))
            assert utterance.sentiment is None


def test_meld_layout_round_trips(tmp_path: Path) -> None:
    content = meld_tuple()
    _, _, labels, text, audio, visual, _, _, _, _ = content
    conversations = load_community_features(dump(tmp_path / "MELD_features_raw1.pkl", content))

    by_split = splits(conversations)
    assert (len(by_split["train"]), len(by_split["dev"]), len(by_split["test"])) == (18, 2, 4)
    assert by_split["test"] == ["20", "21", "22", "23"]  # numeric order, ids as text
    assert [int(i) for i in by_split["train"]] == sorted(int(i) for i in by_split["train"])

    conversation = next(c for c in conversations if c.id == "6")
    assert [u.id for u in conversation.utterances] == ["6_0", "6_1", "6_2", "6_3"]
    assert [u.speaker for u in conversation.utterances] == ["speaker0", "speaker1", "speaker2", "speaker0"]
    assert [u.emotion for u in conversation.utterances] == [LABEL_SETS["meld"][k] for k in labels[6]]
    assert conversation.utterances[1].text == "Line 1 - you're here"  # same punctuation clean-up as the MELD CSVs
    for index, utterance in enumerate(conversation.utterances):
        for modality, source in (("text", text), ("audio", audio), ("face", visual)):
            assert utterance.features[modality].dtype == np.float64
            assert np.array_equal(utterance.features[modality], source[6][index])


def test_dialoguernn_meld_nine_tuple_has_sentiment_and_no_visual(tmp_path: Path) -> None:
    ids, speakers, labels, text, audio, _, sentences, train_ids, test_ids, _ = meld_tuple()
    sentiment = {d: [k % 3 for k in range(len(labels[d]))] for d in labels}
    content = (ids, speakers, labels, text, audio, sentences, train_ids, test_ids, sentiment)
    conversations = load_community_features(dump(tmp_path / "MELD_features_raw.pkl", content))
    utterances = [u for c in conversations if c.id == "3" for u in c.utterances]
    assert [u.sentiment for u in utterances] == ["neutral", "positive", "negative", "neutral", "positive"][: len(utterances)]
    assert set(utterances[0].features) == {"text", "audio"}
    assert utterances[0].speaker.startswith("speaker")


def test_layout_is_detected_and_checked(tmp_path: Path) -> None:
    iemocap = dump(tmp_path / "a.pkl", iemocap_tuple())
    meld = dump(tmp_path / "b.pkl", meld_tuple())
    assert COMMUNITY_LAYOUTS == ("iemocap", "meld")
    assert load_community_features(iemocap, "iemocap")[0].utterances[0].speaker in {"M", "F"}
    assert load_community_features(meld, "meld")[0].utterances[0].speaker.startswith("speaker")
    with pytest.raises(EmotraceError, match=r"b\.pkl: layout 'iemocap' expects a tuple of 9"):
        load_community_features(meld, "iemocap")
    with pytest.raises(EmotraceError, match=r"a\.pkl: layout 'meld' expects one-hot speaker vectors"):
        load_community_features(iemocap, "meld")
    with pytest.raises(EmotraceError, match="unknown community layout 'avec'"):
        load_community_features(iemocap, "avec")


def test_dev_split_is_seeded_and_independent_of_order(tmp_path: Path) -> None:
    content = list(meld_tuple(train=40))
    first = dump(tmp_path / "first.pkl", tuple(content))
    content[7] = list(reversed(content[7]))  # same dialogues, other order
    second = dump(tmp_path / "second.pkl", tuple(content))

    dev = splits(load_community_features(first))["dev"]
    assert len(dev) == 4
    assert splits(load_community_features(second))["dev"] == dev
    assert splits(load_community_features(first, seed=0))["dev"] == dev
    assert splits(load_community_features(first, seed=1))["dev"] != dev
    assert len(splits(load_community_features(first, dev_fraction=0.25))["dev"]) == 10
    assert splits(load_community_features(first, dev_fraction=0.0))["dev"] == []
    with pytest.raises(EmotraceError, match="dev_fraction"):
        load_community_features(first, dev_fraction=1.0)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_every_pickle_protocol_of_numpy_arrays_loads(tmp_path: Path, protocol: int) -> None:
    content = meld_tuple(train=3, test=1)
    conversations = load_community_features(dump(tmp_path / "m.pkl", content, protocol), "meld")
    assert np.array_equal(conversations[-1].utterances[0].features["face"], content[5][3][0])
    scalars = load_restricted_pickle(dump(tmp_path / "s.pkl", [np.float32(1.5), np.int64(7), np.dtype("<f4"), {1, 2}], protocol))
    assert scalars == [1.5, 7, np.dtype("<f4"), {1, 2}] and type(scalars[0]) is np.float32


def test_python2_byte_strings_are_decoded(tmp_path: Path) -> None:
    """Python 2 wrote sentences as byte strings; latin-1 loading turns UTF-8 into 'â\\x80\\x99', which is undone."""
    content = list(iemocap_tuple(train=1, test=1))
    name = next(iter(content[7]))
    content[6][name][0] = "PLACEHOLDER-SENTENCE"
    data = pickle.dumps(tuple(content), protocol=2)
    unicode_op = b"X" + struct.pack("<I", 20) + b"PLACEHOLDER-SENTENCE"
    py2_bytes = "It’s a café".encode()
    data = data.replace(unicode_op, b"U" + bytes([len(py2_bytes)]) + py2_bytes)  # SHORT_BINSTRING, as Python 2 writes
    path = tmp_path / "py2.pkl"
    path.write_bytes(data)
    conversation = next(c for c in load_community_features(path, dev_fraction=0) if c.id == name)
    assert conversation.utterances[0].text == "It's a café"


def _error(tmp_path: Path, content: Any) -> str:
    path = dump(tmp_path / "IEMOCAP_features.pkl", content)
    with pytest.raises(EmotraceError) as caught:
        load_community_features(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    return message


def test_wrong_container_is_explained(tmp_path: Path) -> None:
    message = _error(tmp_path, {"videoIDs": {}})
    assert "expected a tuple of 9 (IEMOCAP_features.pkl layout) or 10 (MELD_features_raw.pkl layout), got a dict" in message
    assert "got a tuple of 7" in _error(tmp_path, iemocap_tuple()[:7])
    content = list(iemocap_tuple())
    content[3] = [1, 2]
    assert "videoText (item 4 of the IEMOCAP_features.pkl tuple) should be a dict keyed by dialogue id, got a list of 2" in _error(tmp_path, tuple(content))


def test_length_mismatch_names_dialogue_and_fields(tmp_path: Path) -> None:
    content = iemocap_tuple()
    name = sorted(content[7])[0]
    content[3][name] = list(content[3][name])[:-1]
    count = len(content[2][name])
    assert f"dialogue '{name}': videoText has {count - 1} vectors but videoLabels has {count}" in _error(tmp_path, content)


def test_inconsistent_dims_name_the_utterance(tmp_path: Path) -> None:
    content = iemocap_tuple()
    name = sorted(content[7])[1]
    content[4][name][2] = np.zeros(3, dtype=np.float32)
    assert f"dialogue '{name}' utterance 2: audio vector has 3 dims, other utterances have 4" in _error(tmp_path, content)


def test_bad_values_are_reported(tmp_path: Path) -> None:
    content = iemocap_tuple()
    name = sorted(content[7])[0]
    content[2][name][1] = 6
    assert f"dialogue '{name}' utterance 1: emotion label 6 is outside 0..5 (0=happy" in _error(tmp_path, content)

    content = iemocap_tuple()
    content[5][name][0] = ["a", "b"]
    assert f"dialogue '{name}' utterance 0: face vector is not numeric" in _error(tmp_path, content)

    content = iemocap_tuple()
    content[1][name][0] = 3
    assert "speaker should be a name such as 'M' or 'F', got the int 3" in _error(tmp_path, content)


def test_split_problems_are_reported(tmp_path: Path) -> None:
    content = iemocap_tuple()
    missing = sorted(content[8])[0]
    del content[4][missing]
    assert f"dialogue '{missing}' is listed in testVid but missing from videoAudio" in _error(tmp_path, content)

    content = iemocap_tuple()
    shared = sorted(content[7])[0]
    content[8].append(shared)
    assert f"dialogue '{shared}' is in both trainVid and testVid" in _error(tmp_path, content)

    ids, speakers, *rest = meld_tuple()
    speakers[0][0] = [0.0] * 9
    path = dump(tmp_path / "meld.pkl", (ids, speakers, *rest))
    with pytest.raises(EmotraceError, match="dialogue 0 utterance 0: speaker vector .* is not one-hot"):
        load_community_features(path)


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(EmotraceError, match="feature file not found"):
        load_community_features(tmp_path / "nope.pkl")


class _RunsCommand:
    """Unpickling this would run a shell command that creates `marker`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


class _LoadsNumpyFile:
    def __reduce__(self) -> tuple[Any, ...]:
        return (np.load, ("elsewhere.npy",))


def test_code_in_a_pickle_is_refused_and_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    content = list(iemocap_tuple(train=2, test=1))
    content[6] = {"x": _RunsCommand(marker)}
    for protocol in (2, 5):
        path = dump(tmp_path / "evil.pkl", tuple(content), protocol)
        with pytest.raises(EmotraceError, match=r"evil\.pkl: refusing to load (posix|nt|os)\.system from a pickle"):
            load_community_features(path)
        assert not marker.exists()

    content[6] = {"x": _LoadsNumpyFile()}
    with pytest.raises(EmotraceError, match="refusing to load numpy"):
        load_community_features(dump(tmp_path / "numpy.pkl", tuple(content)))
    # plain containers still load as before
    assert load_restricted_pickle(dump(tmp_path / "plain.pkl", [{"a": (1, 2.5)}, "x"])) == [{"a": (1, 2.5)}, "x"]


def test_codecs_stand_in_only_decodes_latin1(tmp_path: Path) -> None:
    path = tmp_path / "codec.pkl"
    path.write_bytes(b"\x80\x02c_codecs\nencode\nX\x03\x00\x00\x00abcX\x05\x00\x00\x00rot13\x86R.")
    with pytest.raises(EmotraceError, match="not a readable pickle"):
        load_restricted_pickle(path)
