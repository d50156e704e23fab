"""Shared fixtures: tiny synthetic conversations, the shared benchmark data folder, an isolated embedding cache."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from emotrace.schema import Conversation, Utterance

SHARED_DATA = Path(os.environ.get("EMOTRACE_DATA") or Path(__file__).resolve().parents[2] / "shared" / "datasets")

PHRASES = {
    "joy": ["I love this, it's wonderful!", "What great news, I'm so happy!", "This is the best day ever!"],
    "anger": ["This is outrageous, I'm furious!", "Stop lying to me, I hate this!", "How dare you do that to me!"],
    "neutral": ["The meeting is at three.", "I put the files on the desk.", "The train leaves from platform two."],
}


@pytest.fixture(autouse=True, scope="session")
def isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    os.environ["EMOTRACE_CACHE"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The benchmark data beside the checkout; CI has it (`.ci/run` sets EMOTRACE_REQUIRE_DATA)."""
    if not (SHARED_DATA / "meld").is_dir():
        if os.environ.get("EMOTRACE_REQUIRE_DATA"):
            pytest.fail(f"benchmark data not found in {SHARED_DATA}")
        pytest.skip(f"benchmark data not found in {SHARED_DATA}")
    return SHARED_DATA


def synthetic_conversations(count: int, seed: int, with_sentiment: bool = False) -> list[Conversation]:
    """Conversations whose emotions are obvious from the words, so a model can learn them in a few epochs."""
    rng = random.Random(seed)
    sentiment = {"joy": "positive", "anger": "negative", "neutral": "neutral"}
    conversations = []
    for index in range(count):
        utterances = []
        for turn in range(rng.randint(2, 5)):
            emotion = rng.choice(list(PHRASES))
            utterances.append(
                Utterance(
                    speaker="Ann" if turn % 2 == 0 else "Bob",
                    text=rng.choice(PHRASES[emotion]),
                    emotion=emotion,
                    sentiment=sentiment[emotion] if with_sentiment else None,
                )
            )
        conversations.append(Conversation(id=f"c{seed}_{index}", utterances=utterances))
    return conversations


@pytest.fixture
def tiny_train_dev() -> tuple[list[Conversation], list[Conversation]]:
    return synthetic_conversations(24, seed=1), synthetic_conversations(8, seed=2)
