"""The label-matched MELD + FER2013 + EmoDB composite: deterministic draws, matched labels, split pools, round trip."""

from __future__ import annotations

import hashlib
import json
import tarfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from test_fer2013 import _add_jpeg  # noqa: E402

from emotrace.datasets import load_dataset  # noqa: E402
from emotrace.datasets.emodb import ARCHIVE as EMODB_ARCHIVE  # noqa: E402
from emotrace.datasets.emodb import LABELS as EMODB_LABELS  # noqa: E402
from emotrace.errors import EmotraceError  # noqa: E402
from emotrace.io.readers import read_conversations  # noqa: E402
from emotrace.labels import to_canonical  # noqa: E402
from emotrace.paths import cache_root  # noqa: E402
from emotrace.research.composite import (  # noqa: E402
    EMODB_SPEAKERS,
    FER_SPLITS,
    SHARED_EMOTIONS,
    _check_pools,
    build_composite,
    fer_png_dir,
    write_composite,
)
from emotrace.research.fer2013 import ARCHIVE as FER_ARCHIVE  # noqa: E402
from emotrace.research.fer2013 import SPLIT_PREFIXES, fer2013_names, load_fer2013  # noqa: E402
from emotrace.schema import Conversation  # noqa: E402

SPLITS = ("train", "dev", "test")
SAMPLED = 40  # media per split whose bytes are compared with the archive's own member


@pytest.fixture(scope="module")
def composite(shared_data: Path) -> dict[str, list[Conversation]]:
    return build_composite(shared_data, seed=0)


@pytest.fixture(scope="module")
def written(composite: dict[str, list[Conversation]], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_composite(composite, tmp_path_factory.mktemp("composite"))


@pytest.fixture(scope="module")
def manifest(written: dict[str, Path]) -> dict:
    return json.loads(written["manifest"].read_text(encoding="utf-8"))


def _draws(conversations: dict[str, list[Conversation]]) -> list[tuple[str, str | None, str | None]]:
    return [(u.id or "", u.media.get("image"), u.media.get("audio")) for split in SPLITS for c in conversations[split] for u in c.utterances]


def _media_entries(manifest: dict, split: str, kind: str) -> list[dict]:
    return [entry for entry in manifest["utterances"][split] if entry[kind] is not None]


def _archive_members(archive: Path, wanted: set[str]) -> tuple[set[str], dict[str, bytes]]:
    """All file members of `archive` and the bytes of the `wanted` ones, in one pass."""
    names, contents = set(), {}
    with tarfile.open(archive) as bundle:
        for member in bundle:
            if member.isfile():
                names.add(member.name)
                if member.name in wanted:
                    handle = bundle.extractfile(member)
                    assert handle is not None
                    contents[member.name] = handle.read()
    return names, contents


def _sample(entries: list[dict], count: int) -> list[dict]:
    return [entries[int(i)] for i in np.linspace(0, len(entries) - 1, count)]


def test_same_seed_same_draws_and_another_seed_other_draws(shared_data: Path, composite: dict[str, list[Conversation]]) -> None:
    png_dirs = {split: cache_root() / "fer2013" / "images" / split for split in FER_SPLITS.values()}
    before = {split: (path.stat().st_ino, path.stat().st_mtime_ns) for split, path in png_dirs.items()}
    again = build_composite(shared_data, seed=0)
    assert _draws(again) == _draws(composite)
    assert again == composite
    other = _draws(build_composite(shared_data, seed=1))
    scored = [(a, b) for a, b in zip(_draws(composite), other) if a[1] is not None]
    assert sum(a != b for a, b in scored) > 0.9 * len(scored)
    # the PNGs are written once per cache, complete, with no staging folder left behind
    assert {split: (path.stat().st_ino, path.stat().st_mtime_ns) for split, path in png_dirs.items()} == before
    for split, path in png_dirs.items():
        assert len(list(path.iterdir())) == len(load_fer2013(shared_data, split)[1])
    assert sorted(p.name for p in (cache_root() / "fer2013" / "images").iterdir()) == sorted(FER_SPLITS.values())


def test_a_slice_draws_what_the_full_composite_draws(shared_data: Path, composite: dict[str, list[Conversation]]) -> None:
    sliced = build_composite(shared_data, seed=0, max_conversations_per_split=5)
    assert {split: len(part) for split, part in sliced.items()} == {split: 5 for split in SPLITS}
    assert sliced == {split: composite[split][:5] for split in SPLITS}


def test_text_order_and_surprise_context_follow_meld(shared_data: Path, composite: dict[str, list[Conversation]]) -> None:
    for split in SPLITS:
        meld = load_dataset("meld", split, shared_data)
        assert [c.id for c in composite[split]] == [c.id for c in meld]
        for built, original in zip(composite[split], meld):
            assert built.metadata["split"] == split and built.metadata["composite_seed"] == 0
            assert [(u.speaker, u.text, u.id) for u in built.utterances] == [(u.speaker, u.text, u.id) for u in original.utterances]
            for utterance, source in zip(built.utterances, original.utterances):
                assert utterance.start is None and utterance.end is None and utterance.sentiment is None
                if source.emotion == "surprise":
                    assert utterance.emotion is None and utterance.media == {}
                else:
                    assert utterance.emotion == to_canonical(source.emotion or "") and utterance.emotion in SHARED_EMOTIONS
                    assert set(utterance.media) == {"image", "audio"}
                    assert all(Path(path).is_file() for path in utterance.media.values())


def test_faces_match_the_label_and_split_and_are_the_archive_images(shared_data: Path, composite: dict[str, list[Conversation]], manifest: dict) -> None:
    entries = {split: _media_entries(manifest, split, "image") for split in SPLITS}
    sampled = {split: _sample(entries[split], SAMPLED) for split in SPLITS}
    names, contents = _archive_members(shared_data / FER_ARCHIVE, {e["image"]["member"] for part in sampled.values() for e in part})
    media = {(c.id, i): u.media for split in SPLITS for c in composite[split] for i, u in enumerate(c.utterances)}
    for split in SPLITS:
        folder = "train" if split == "train" else "test"
        for entry in entries[split]:
            member = entry["image"]["member"]
            assert entry["image"]["archive"] == FER_ARCHIVE and member in names
            top, label, filename = member.split("/")
            assert top == folder and filename.startswith(SPLIT_PREFIXES[FER_SPLITS[split]])
            assert to_canonical(label) == entry["emotion"] == entry["meld_label"]
        for entry in sampled[split]:
            archived = cv2.imdecode(np.frombuffer(contents[entry["image"]["member"]], np.uint8), cv2.IMREAD_GRAYSCALE)
            png = media[(entry["conversation"], entry["index"])]["image"]
            assert np.array_equal(cv2.imread(png, cv2.IMREAD_GRAYSCALE), archived)


def test_voices_match_the_label_and_speaker_split_and_are_the_archive_clips(
    shared_data: Path, composite: dict[str, list[Conversation]], manifest: dict
) -> None:
    entries = {split: _media_entries(manifest, split, "audio") for split in SPLITS}
    sampled = {split: _sample(entries[split], SAMPLED) for split in SPLITS}
    names, contents = _archive_members(shared_data / EMODB_ARCHIVE, {e["audio"]["member"] for part in sampled.values() for e in part})
    media = {(c.id, i): u.media for split in SPLITS for c in composite[split] for i, u in enumerate(c.utterances)}
    clips_by_split = {}
    for split in SPLITS:
        for entry in entries[split]:
            member = entry["audio"]["member"]
            assert entry["audio"]["archive"] == EMODB_ARCHIVE and member in names
            stem = Path(member).stem
            assert stem[:2] in EMODB_SPEAKERS[split]
            assert to_canonical(EMODB_LABELS[stem[5]]) == entry["emotion"] == entry["meld_label"]
            assert Path(media[(entry["conversation"], entry["index"])]["audio"]).name == Path(member).name
        clips_by_split[split] = {entry["audio"]["member"] for entry in entries[split]}
        for entry in sampled[split]:
            wav = Path(media[(entry["conversation"], entry["index"])]["audio"])
            assert hashlib.sha256(wav.read_bytes()).digest() == hashlib.sha256(contents[entry["audio"]["member"]]).digest()
    assert not (clips_by_split["train"] & clips_by_split["dev"]) and not (clips_by_split["dev"] & clips_by_split["test"])
    assert not (clips_by_split["train"] & clips_by_split["test"])


def test_jsonl_reads_back_identically(composite: dict[str, list[Conversation]], written: dict[str, Path]) -> None:
    assert set(written) == {*SPLITS, "manifest"}
    for split in SPLITS:
        assert written[split].name == f"{split}.jsonl"
        assert read_conversations(written[split]) == composite[split]
    assert not [p for p in written["manifest"].parent.iterdir() if p.name.startswith(".")]


def test_manifest_records_seed_counts_and_every_utterance(composite: dict[str, list[Conversation]], manifest: dict) -> None:
    assert manifest["seed"] == 0 and manifest["shared_emotions"] == list(SHARED_EMOTIONS)
    assert manifest["files"] == {split: f"{split}.jsonl" for split in SPLITS}
    expected_sizes = {"train": (9989, 1205), "dev": (1109, 150), "test": (2610, 281)}  # MELD utterances, surprise turns
    for split in SPLITS:
        utterances = [(c, i, u) for c in composite[split] for i, u in enumerate(c.utterances)]
        entries = manifest["utterances"][split]
        assert [(e["conversation"], e["index"], e["id"], e["emotion"]) for e in entries] == [(c.id, i, u.id, u.emotion) for c, i, u in utterances]
        counts = manifest["counts"][split]
        total, surprise = expected_sizes[split]
        scored = Counter(u.emotion for _, _, u in utterances if u.emotion)
        assert counts["conversations"] == len(composite[split])
        assert counts["utterances"] == total and counts["context_only_utterances"] == surprise
        assert counts["meld_labels"]["surprise"] == surprise and sum(counts["meld_labels"].values()) == total
        assert counts["scored_utterances"] == total - surprise == sum(counts["scored_per_emotion"].values())
        assert counts["scored_per_emotion"] == {emotion: scored[emotion] for emotion in SHARED_EMOTIONS}
        assert counts["unique_images"] == len({u.media["image"] for _, _, u in utterances if u.media})
        assert counts["unique_clips"] == len({u.media["audio"] for _, _, u in utterances if u.media})
        assert all((e["image"] is None) == (e["audio"] is None) == (e["meld_label"] == "surprise") for e in entries)


def test_the_media_go_through_the_raw_media_readers(composite: dict[str, list[Conversation]]) -> None:
    pytest.importorskip("soundfile")
    from emotrace.encoders.audio import SAMPLE_RATE, load_audio
    from emotrace.encoders.face_detect import face_crop

    utterance = next(u for u in composite["test"][0].utterances if u.media)
    assert face_crop(utterance.media["image"]).shape == (48, 48)
    assert len(load_audio(utterance.media["audio"], utterance.start, utterance.end)) == 2 * SAMPLE_RATE


def test_an_empty_pool_cell_is_named() -> None:
    full = {emotion: [0] for emotion in SHARED_EMOTIONS}
    with pytest.raises(EmotraceError, match="FER2013 public_test pool.*no image of disgust"):
        _check_pools("dev", "public_test", {**full, "disgust": []}, full)  # type: ignore[arg-type]
    with pytest.raises(EmotraceError, match="EmoDB test pool \\(speakers 15 16\\) has no clip of fear"):
        _check_pools("test", "private_test", full, {**full, "fear": []})  # type: ignore[arg-type]


def test_the_seed_must_be_a_non_negative_integer(tmp_path: Path) -> None:
    for seed in (-1, 1.5, True):
        with pytest.raises(EmotraceError, match="seed"):
            build_composite(tmp_path, seed=seed)  # type: ignore[arg-type]


def _tiny_fer_archive(root: Path) -> None:
    (root / "fer2013").mkdir(parents=True)
    with tarfile.open(root / FER_ARCHIVE, "w:gz") as bundle:
        for name, value in (("train/happy/Training_1.jpg", 200), ("train/sad/Training_2.jpg", 50), ("test/fear/PrivateTest_4.jpg", 90)):
            _add_jpeg(bundle, name, value)


def test_a_cache_without_member_names_is_rebuilt_and_pngs_are_complete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMOTRACE_CACHE", str(tmp_path / "cache"))
    _tiny_fer_archive(tmp_path)
    cache = tmp_path / "cache" / "fer2013" / "fer2013.npz"
    cache.parent.mkdir(parents=True)
    old = {f"{split}_{kind}": np.zeros((0, 48, 48) if kind == "images" else (0,), np.uint8) for split in SPLIT_PREFIXES for kind in ("images", "labels")}
    np.savez(cache, **old)  # the format from before the names were kept: no `*_names` keys
    assert list(fer2013_names(tmp_path, "train")) == ["train/happy/Training_1.jpg", "train/sad/Training_2.jpg"]
    assert list(fer2013_names(tmp_path, "private_test")) == ["test/fear/PrivateTest_4.jpg"]
    with np.load(cache) as stored:
        assert {"train_names", "public_test_names", "private_test_names"} <= set(stored.files)
    images, _ = load_fer2013(tmp_path, "train")
    stale = tmp_path / "cache" / "fer2013" / "images" / "train"
    stale.mkdir(parents=True)
    (stale / "00000.png").write_bytes(b"left over from another archive")
    folder = fer_png_dir(tmp_path, "train")
    assert folder == stale and sorted(p.name for p in folder.iterdir()) == ["00000.png", "00001.png"]
    assert all(np.array_equal(cv2.imread(str(folder / f"{i:05d}.png"), cv2.IMREAD_GRAYSCALE), images[i]) for i in range(2))
    assert sorted(p.name for p in folder.parent.iterdir()) == ["train"]
