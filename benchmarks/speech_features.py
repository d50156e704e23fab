"""openSMILE functionals of every EmoDB and nEMO clip, clean and one augmented copy each, cached per clip.

    python benchmarks/speech_features.py        # extract what is missing (about 15 min niced on 2 cores)

The cache is the embedding cache of the emotrace cache folder (keyed by feature set and `corpus/clip|copy`), so a
rerun or an interrupted run resumes, and nothing derived from the data lands in the repository. Each clip gets one
augmented copy; its kind cycles over `encoders/augment.KINDS` in (speaker, emotion, clip) order, so every speaker
and class gets each kind about equally, and its SNR or speed is drawn from a generator seeded by the clip id.
"""

from __future__ import annotations

import argparse
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_DATA  # noqa: E402

from emotrace.encoders.audio import FEATURE_SETS  # noqa: E402
from emotrace.labels import to_canonical  # noqa: E402

CORPORA = ("emodb", "nemo")
SHARED = ("anger", "fear", "joy", "neutral", "sadness")  # the canonical classes both corpora have (nEMO: no disgust, boredom)
CHUNK = 64


@dataclass(frozen=True)
class Clip:
    corpus: str
    id: str
    speaker: str
    emotion: str  # canonical
    audio: str
    augmentation: str  # the kind of this clip's augmented copy


def clips(data_dir: str) -> list[Clip]:
    """EmoDB (all 7 classes, for the in-domain reference) and nEMO on the shared classes (surprise left out)."""
    from emotrace.datasets import load_dataset
    from emotrace.research.augment import KINDS

    found = []
    for corpus in CORPORA:
        utterances = [c.utterances[0] for c in load_dataset(corpus, "all", data_dir)]
        utterances = [u for u in utterances if corpus == "emodb" or to_canonical(u.emotion or "") in SHARED]
        utterances.sort(key=lambda u: (u.speaker, to_canonical(u.emotion or ""), u.id))
        for index, u in enumerate(utterances):
            found.append(Clip(corpus, str(u.id), u.speaker, to_canonical(u.emotion or ""), u.media["audio"], KINDS[index % len(KINDS)]))
    return found


def key(clip: Clip, copy: str) -> str:
    return f"{clip.corpus}/{clip.id}|{copy}"


def encoder_id(feature_set: str) -> str:
    return f"opensmile/{feature_set}/functionals"


def load_features(selected: list[Clip], feature_set: str, copy: str) -> np.ndarray:
    """Cached features, (clips, d); `copy` is "clean" or "augmented". Fails naming the command if any are missing."""
    from emotrace.encoders.cache import EmbeddingCache
    from emotrace.errors import EmotraceError

    keys = [key(clip, copy) for clip in selected]
    found = EmbeddingCache().get_many(encoder_id(feature_set), keys)
    missing = len(keys) - sum(k in found for k in keys)
    if missing:
        raise EmotraceError(f"{missing} clips have no cached {feature_set} features ({copy})", hint="run python benchmarks/speech_features.py first")
    return np.nan_to_num(np.stack([found[k] for k in keys]))


def extract(data_dir: str) -> None:
    """Decode each clip once, then compute every missing (feature set, copy) of it, written in chunks."""
    from emotrace.encoders.audio import FunctionalsEncoder, load_audio, trim_silence
    from emotrace.encoders.cache import EmbeddingCache
    from emotrace.research.augment import augment

    cache = EmbeddingCache()
    encoders = {feature_set: FunctionalsEncoder(feature_set) for feature_set in FEATURE_SETS}
    every = clips(data_dir)
    jobs = [(feature_set, copy) for feature_set in FEATURE_SETS for copy in ("clean", "augmented")]
    todo = []
    for clip in every:
        wanted = [(f, c) for f, c in jobs if not (c == "augmented" and clip.emotion not in SHARED)]
        have = {(f, c) for f, c in wanted if cache.get_many(encoder_id(f), [key(clip, c)])}
        if len(have) < len(wanted):
            todo.append((clip, [job for job in wanted if job not in have]))
    print(f"{len(todo)} of {len(every)} clips need features", flush=True)
    started = time.perf_counter()
    for begin in range(0, len(todo), CHUNK):
        rows: dict[tuple[str, str], tuple[list[str], list[np.ndarray]]] = {}
        for clip, needed in todo[begin : begin + CHUNK]:
            clean = trim_silence(load_audio(clip.audio))
            copies = {"clean": clean}
            if any(c == "augmented" for _, c in needed):
                copies["augmented"] = augment(clean, clip.augmentation, np.random.default_rng(zlib.crc32(clip.id.encode())))
            for feature_set, copy in needed:
                names, vectors = rows.setdefault((feature_set, copy), ([], []))
                names.append(key(clip, copy))
                vectors.append(encoders[feature_set].embed([copies[copy]])[0])
        for (feature_set, _), (names, vectors) in rows.items():
            cache.put_many(encoder_id(feature_set), names, np.stack(vectors))
        done = min(begin + CHUNK, len(todo))
        print(f"{done}/{len(todo)} clips, {time.perf_counter() - started:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=DEFAULT_DATA)
    extract(parser.parse_args().data_dir)


if __name__ == "__main__":
    main()
