"""A label-matched multimodal composite of MELD: MELD's dialogues, each scored turn given a face and a voice of its emotion.

No aligned real multimodal conversations are available here, so this module builds one, deterministically from a
seed. Every MELD utterance keeps its text, speaker, id and place in its dialogue; each utterance whose emotion is one
of SHARED_EMOTIONS also gets one FER2013 face image and one EmoDB clip of that same emotion, drawn uniformly with
replacement from split-matched pools (FER_SPLITS, EMODB_SPEAKERS), so no face or voice is shared between train, dev
and test. The draws use `numpy.random.default_rng([seed, split number])` in utterance order (per utterance: the image,
then the clip), so a seed fully determines the composite.

What it can show: whether fusion works mechanically (a fused model uses the modality that carries the signal and
combines them sensibly), how a model copes with uneven modalities (acted German speech, in-the-wild face crops
and English sitcom text separate the emotions to very different degrees) and with missing ones, and that the
raw-media pipeline (readers, then models reading `media["image"]` and `media["audio"]` from files) runs end to end
on a realistic dialogue corpus. The EmoDB pools are small (13 to 72 clips per split and emotion), so each clip recurs
many times within a split; dev and test voices still come from speakers never heard in training.
What it cannot show: anything about real multimodal conversations. The faces and voices are not the MELD speakers'
own, they are independent of the words and of the dialogue context (given the label), and a turn's face and voice
come from different people in different data sets. Its scores are therefore not comparable with published
multimodal MELD results (which use MELD's own video and audio) and say nothing about how faces, voices and words go
together in real speech.

Surprise turns: EmoDB has no surprise, so MELD's surprise turns stay in the dialogue as text-only context with
`emotion=None` and no media, and are not scored. Scoring them would make them the only scored turns without a face
and a voice, and a model could then read "no media" as "surprise": a missing clip must never give the label away.
Giving them media of another emotion would teach a wrong label. So every scored turn has both a face and a voice,
and MELD's own label (surprise) is kept in the manifest. EmoDB's boredom is never drawn.

Dropped from MELD: the sentiment labels (the composite is about emotion) and the start/end times (they refer to
the Friends episodes; on the drawn media they would cut the wrong span).

FER2013 images are written once per split as PNG files in the emotrace cache (`<cache>/fer2013/images/<split>/
<index:05d>.png`, the index into `load_fer2013`'s arrays); the EmoDB clips are the wavs the EmoDB loader unpacked
into the cache. `write_composite` writes JSONL files that point at those files, plus a manifest whose references go
into the shared archives (archive and member name), never copies of the data.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from emotrace.datasets import SPLITS, load_dataset, resolve_data_dir
from emotrace.datasets.emodb import ARCHIVE as EMODB_ARCHIVE
from emotrace.errors import EmotraceError
from emotrace.io.atomic import write_text_atomic
from emotrace.labels import to_canonical
from emotrace.paths import cache_root
from emotrace.research.fer2013 import ARCHIVE as FER_ARCHIVE
from emotrace.research.fer2013 import CLASSES, fer2013_names, load_fer2013
from emotrace.schema import Conversation, Utterance

SHARED_EMOTIONS = ("neutral", "joy", "sadness", "anger", "fear", "disgust")
FER_SPLITS = {"train": "train", "dev": "public_test", "test": "private_test"}
EMODB_SPEAKERS = {"train": ("03", "08", "09", "10", "11", "12"), "dev": ("13", "14"), "test": ("15", "16")}
SPLIT_NUMBERS = {"train": 0, "dev": 1, "test": 2}
CONTEXT_ONLY = ("surprise",)  # MELD labels kept as unscored, media-less context
SOURCES_KEY = "composite_sources"  # conversation metadata: per utterance, the MELD label and the drawn archive members
MANIFEST_FORMAT = "emotrace-composite-manifest/1"


def fer_png_dir(root: Path, fer_split: str) -> Path:
    """`<cache>/fer2013/images/<fer_split>/` holding every image of the split as `<index:05d>.png`, written once.

    The PNGs go into a staging folder that is renamed into place when complete, so a partial set is never mistaken
    for a complete one; a folder whose file count does not match the split (a different archive) is replaced."""
    images, _ = load_fer2013(root, fer_split)
    target = cache_root() / "fer2013" / "images" / fer_split
    if target.is_dir():
        if sum(1 for _ in target.iterdir()) == len(images):
            return target
        stale = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{fer_split}.stale."))
        target.rename(stale / fer_split)
        shutil.rmtree(stale, ignore_errors=True)
    import cv2

    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{fer_split}.staging."))
    try:
        for index, image in enumerate(images):
            if not cv2.imwrite(str(staging / f"{index:05d}.png"), image):
                raise EmotraceError("cannot write a FER2013 image", path=str(staging), hint="check the cache folder (EMOTRACE_CACHE)")
        try:
            staging.rename(target)
        except OSError:
            if not target.is_dir():  # another process finishing first is fine; anything else is not
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _fer_pools(root: Path, fer_split: str) -> tuple[dict[str, list[int]], np.ndarray, Path]:
    """Per shared emotion, the split's image indices (ordered by member name); the member names; the PNG folder."""
    _, labels = load_fer2013(root, fer_split)
    names = fer2013_names(root, fer_split)
    pools: dict[str, list[int]] = {emotion: [] for emotion in SHARED_EMOTIONS}
    for index in sorted(range(len(names)), key=lambda i: str(names[i])):
        emotion = to_canonical(CLASSES[int(labels[index])])
        if emotion in pools:
            pools[emotion].append(index)
    return pools, names, fer_png_dir(root, fer_split)


def _emodb_pools(root: Path) -> dict[str, dict[str, list[Utterance]]]:
    """Per split and shared emotion, the EmoDB clips of that split's speakers, ordered by clip id."""
    pools: dict[str, dict[str, list[Utterance]]] = {split: {e: [] for e in SHARED_EMOTIONS} for split in SPLITS}
    speakers = {speaker: split for split, group in EMODB_SPEAKERS.items() for speaker in group}
    clips = [u for c in load_dataset("emodb", "all", root) for u in c.utterances]
    for clip in sorted(clips, key=lambda u: str(u.id)):
        emotion = to_canonical(clip.emotion or "")
        split = speakers.get(clip.speaker)
        if split is not None and emotion in SHARED_EMOTIONS:
            pools[split][emotion].append(clip)
    return pools


def _check_pools(split: str, fer_split: str, fer: dict[str, list[int]], emodb: dict[str, list[Utterance]]) -> None:
    for emotion in SHARED_EMOTIONS:
        if not fer[emotion]:
            raise EmotraceError(
                f"the FER2013 {fer_split} pool (for {split}) has no image of {emotion}",
                hint="use the complete FER2013 archive",
            )
        if not emodb[emotion]:
            speakers = " ".join(EMODB_SPEAKERS[split])
            raise EmotraceError(f"the EmoDB {split} pool (speakers {speakers}) has no clip of {emotion}", hint="use the complete EmoDB archive")


def _emodb_member(clip: Utterance) -> str:
    return f"wav/{Path(clip.media['audio']).name}"


def build_composite(data_dir: str | Path | None, seed: int = 0, max_conversations_per_split: int | None = None) -> dict[str, list[Conversation]]:
    """The composite's train/dev/test conversations (see the module docstring), fully determined by `seed`.

    `max_conversations_per_split` keeps only each split's first conversations (in MELD's dialogue order); the
    draws for those are the same as in the full composite, because they are made in utterance order."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise EmotraceError(f"the composite seed must be an integer >= 0, got {seed!r}")
    root = resolve_data_dir(data_dir)
    emodb_pools = _emodb_pools(root)
    composite: dict[str, list[Conversation]] = {}
    for split in SPLITS:
        fer_split = FER_SPLITS[split]
        fer_pool, fer_names, png_dir = _fer_pools(root, fer_split)
        clip_pool = emodb_pools[split]
        _check_pools(split, fer_split, fer_pool, clip_pool)
        rng = np.random.default_rng([int(seed), SPLIT_NUMBERS[split]])
        meld = load_dataset("meld", split, root)
        if max_conversations_per_split is not None:
            meld = meld[:max_conversations_per_split]
        conversations = []
        for dialogue in meld:
            utterances, sources = [], []
            for turn in dialogue.utterances:
                label = to_canonical(turn.emotion) if turn.emotion else None
                source: dict[str, Any] = {"meld_label": label, "image": None, "audio": None}
                utterance = Utterance(speaker=turn.speaker, text=turn.text, id=turn.id)
                if label in SHARED_EMOTIONS:
                    image = fer_pool[label][int(rng.integers(len(fer_pool[label])))]
                    clip = clip_pool[label][int(rng.integers(len(clip_pool[label])))]
                    utterance.emotion = label
                    utterance.media = {"image": str(png_dir / f"{image:05d}.png"), "audio": clip.media["audio"]}
                    source["image"], source["audio"] = str(fer_names[image]), _emodb_member(clip)
                elif label is not None and label not in CONTEXT_ONLY:
                    raise EmotraceError(f"MELD {split} utterance {turn.id} of {dialogue.id} has the unexpected label {label!r}")
                utterances.append(utterance)
                sources.append(source)
            metadata = {"split": split, "composite_seed": int(seed), SOURCES_KEY: sources}
            conversations.append(Conversation(id=dialogue.id, utterances=utterances, metadata=metadata))
        composite[split] = conversations
    return composite


def _jsonl_record(conversation: Conversation) -> dict[str, Any]:
    """One conversation in the JSONL input format that `read_conversations` reads back identically."""
    utterances = []
    for utterance in conversation.utterances:
        record: dict[str, Any] = {"speaker": utterance.speaker, "text": utterance.text, "id": utterance.id}
        if utterance.emotion is not None:
            record["emotion"] = utterance.emotion
        if utterance.media:
            record["media"] = dict(utterance.media)
        utterances.append(record)
    return {"id": conversation.id, "metadata": conversation.metadata, "utterances": utterances}


def _manifest_entries(conversation: Conversation) -> list[dict[str, Any]]:
    sources = conversation.metadata.get(SOURCES_KEY)
    if not isinstance(sources, list) or len(sources) != len(conversation.utterances):
        raise EmotraceError(f"conversation {conversation.id} has no composite sources", hint="build it with build_composite")
    entries = []
    for index, (utterance, source) in enumerate(zip(conversation.utterances, sources)):
        entries.append(
            {
                "conversation": conversation.id,
                "index": index,
                "id": utterance.id,
                "meld_label": source["meld_label"],
                "emotion": utterance.emotion,
                "image": {"archive": FER_ARCHIVE, "member": source["image"]} if source["image"] else None,
                "audio": {"archive": EMODB_ARCHIVE, "member": source["audio"]} if source["audio"] else None,
            }
        )
    return entries


def _counts(conversations: list[Conversation], entries: list[dict[str, Any]]) -> dict[str, Any]:
    scored = Counter(entry["emotion"] for entry in entries if entry["emotion"] is not None)
    return {
        "conversations": len(conversations),
        "utterances": len(entries),
        "scored_utterances": sum(scored.values()),
        "context_only_utterances": len(entries) - sum(scored.values()),
        "scored_per_emotion": {emotion: scored.get(emotion, 0) for emotion in SHARED_EMOTIONS},
        "meld_labels": dict(sorted(Counter(str(entry["meld_label"]) for entry in entries).items())),
        "unique_images": len({entry["image"]["member"] for entry in entries if entry["image"]}),
        "unique_clips": len({entry["audio"]["member"] for entry in entries if entry["audio"]}),
    }


def write_composite(conversations_by_split: dict[str, list[Conversation]], out_dir: str | Path) -> dict[str, Path]:
    """Write `<split>.jsonl` per split and then `manifest.json` (so a manifest means a complete set), each atomically.

    The manifest records the seed, per-split counts and, per utterance, the MELD label and the archive members
    the face and the voice were drawn from. Returns the written paths by split, plus "manifest"."""
    unknown = sorted(set(conversations_by_split) - set(SPLITS))
    if unknown:
        raise EmotraceError(f"unknown composite split {unknown[0]!r}", hint=f"use {', '.join(SPLITS)}")
    seeds = {c.metadata.get("composite_seed") for part in conversations_by_split.values() for c in part}
    if len(seeds) != 1 or None in seeds:
        raise EmotraceError("the conversations do not come from one composite seed", hint="write one build_composite result")
    out = Path(out_dir)
    written: dict[str, Path] = {}
    entries: dict[str, list[dict[str, Any]]] = {}
    counts: dict[str, dict[str, Any]] = {}
    for split in (s for s in SPLITS if s in conversations_by_split):
        conversations = conversations_by_split[split]
        entries[split] = [entry for conversation in conversations for entry in _manifest_entries(conversation)]
        counts[split] = _counts(conversations, entries[split])
        lines = "".join(json.dumps(_jsonl_record(c), ensure_ascii=False) + "\n" for c in conversations)
        written[split] = out / f"{split}.jsonl"
        write_text_atomic(written[split], lines)
    manifest = {
        "format": MANIFEST_FORMAT,
        "description": (
            "MELD text with label-matched FER2013 faces and EmoDB voices drawn per utterance; tests fusion mechanics "
            "and the raw-media pipeline, not comparable with published multimodal MELD results"
        ),
        "seed": seeds.pop(),
        "shared_emotions": list(SHARED_EMOTIONS),
        "context_only_meld_labels": list(CONTEXT_ONLY),
        "sources": {
            "meld": {"files": [f"meld/{split}_sent_emo.csv" for split in entries]},
            "fer2013": {"archive": FER_ARCHIVE, "splits": {split: FER_SPLITS[split] for split in entries}},
            "emodb": {"archive": EMODB_ARCHIVE, "speakers": {split: list(EMODB_SPEAKERS[split]) for split in entries}},
        },
        "files": {split: path.name for split, path in written.items()},
        "counts": counts,
        "utterances": entries,
    }
    written["manifest"] = out / "manifest.json"
    write_text_atomic(written["manifest"], _manifest_text(manifest))
    return written


def _manifest_text(manifest: dict[str, Any]) -> str:
    """Indented JSON, except that each per-utterance entry stays on one line (13.7k of them)."""
    head = json.dumps({key: value for key, value in manifest.items() if key != "utterances"}, ensure_ascii=False, indent=2)
    blocks = []
    for split, entries in manifest["utterances"].items():
        rows = ",\n".join("      " + json.dumps(entry, ensure_ascii=False) for entry in entries)
        blocks.append(f"    {json.dumps(split)}: [\n{rows}\n    ]" if entries else f"    {json.dumps(split)}: []")
    utterances = "{\n" + ",\n".join(blocks) + "\n  }" if blocks else "{}"
    return head.removesuffix("\n}") + f',\n  "utterances": {utterances}\n}}\n'


__all__ = [
    "EMODB_SPEAKERS",
    "FER_SPLITS",
    "SHARED_EMOTIONS",
    "build_composite",
    "fer_png_dir",
    "write_composite",
]
