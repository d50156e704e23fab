"""Figures over many conversations, gathered one conversation summary at a time, so that the memory used grows with
the number of distinct speaker names, never with the number of conversations or turns.

Definitions (also written into the JSON and shown on the `emotrace summarize` page, from DEFINITIONS):
- closing emotion: a conversation's last non-abstained emotion, whoever spoke it.
- episode: a speaker's run of at least STEADY_TURNS consecutive non-abstained turns with the same negative emotion
  (`summary.py`); a conversation has an anger (sadness) episode when any speaker has one.
- recovered: the speaker's last non-abstained turn, after the episode, is not negative; a conversation recovered
  from its anger (sadness) episodes when every speaker who had one recovered.
- role: a speaker name that occurs in at least ROLE_MIN_CONVERSATIONS conversations, e.g. "Agent".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from emotrace.insights.affect import NEGATIVE
from emotrace.insights.summary import STEADY_TURNS, ConversationSummary, SpeakerSummary

EPISODE_EMOTIONS = ("anger", "sadness")
EITHER = "anger or sadness"
ROLE_MIN_CONVERSATIONS = 2
ALL_UNCERTAIN = "(all uncertain)"

DEFINITIONS = {
    "closing emotion": "the conversation's last emotion that was not abstained (uncertain), whoever spoke it",
    "episode": f"a speaker's {STEADY_TURNS} or more consecutive turns (abstained turns skipped) with the same negative emotion; "
    "a single angry turn is not an episode",
    "recovered": "the speaker's last non-abstained turn, after the episode, is not negative "
    f"({', '.join(sorted(NEGATIVE))}); a conversation recovered when every speaker who had such an episode recovered",
    "role": f"a speaker name that occurs in at least {ROLE_MIN_CONVERSATIONS} conversations",
}


@dataclass
class _Episodes:
    """Per episode emotion (and EITHER): how many conversations (or speakers of a role) had one, and recovered."""

    had: Counter[str] = field(default_factory=Counter)
    recovered: Counter[str] = field(default_factory=Counter)

    def add(self, speakers: list[SpeakerSummary]) -> None:
        for emotion in (*EPISODE_EMOTIONS, EITHER):
            wanted = EPISODE_EMOTIONS if emotion == EITHER else (emotion,)
            with_episode = [s for s in speakers if any(run.emotions[0] in wanted for run in s.episodes)]
            if with_episode:
                self.had[emotion] += 1
                self.recovered[emotion] += all(s.closing not in NEGATIVE for s in with_episode)

    def record(self, total: int) -> dict[str, dict[str, float | int | None]]:
        return {
            emotion: {
                "conversations": self.had[emotion],
                "share": _share(self.had[emotion], total),
                "recovered": self.recovered[emotion],
                "recovered_share": _share(self.recovered[emotion], self.had[emotion]),
            }
            for emotion in (*EPISODE_EMOTIONS, EITHER)
        }


@dataclass
class _Role:
    conversations: int = 0
    turns: int = 0
    emotions: Counter[str] = field(default_factory=Counter)
    closing: Counter[str] = field(default_factory=Counter)
    episodes: _Episodes = field(default_factory=_Episodes)

    def counts(self) -> dict[str, Any]:
        return {
            "conversations": self.conversations,
            "turns": self.turns,
            "emotions": dict(self.emotions.most_common()),
            "closing": dict(self.closing.most_common()),
            "episodes": self.episodes.record(self.conversations),
        }


@dataclass
class CorpusTally(_Role):
    """Add conversation summaries one by one with `add`; `record()` gives the figures so far: the same counts as
    for one role, over every conversation, and per role."""

    roles: dict[str, _Role] = field(default_factory=dict)

    def add(self, summary: ConversationSummary) -> None:
        self.conversations += 1
        self.turns += summary.turns
        self.closing[summary.closing or ALL_UNCERTAIN] += 1
        self.episodes.add(summary.speakers)
        for speaker in summary.speakers:
            self.emotions.update(speaker.emotions)
            role = self.roles.setdefault(speaker.speaker, _Role())
            role.conversations += 1
            role.turns += speaker.turns
            role.emotions.update(speaker.emotions)
            role.closing[speaker.closing or ALL_UNCERTAIN] += 1
            role.episodes.add([speaker])

    def record(self) -> dict[str, Any]:
        repeated = sorted(
            ((name, role) for name, role in self.roles.items() if role.conversations >= ROLE_MIN_CONVERSATIONS),
            key=lambda item: (-item[1].conversations, item[0]),
        )
        return {"definitions": DEFINITIONS, **self.counts(), "roles": [{"role": name, **role.counts()} for name, role in repeated]}


def _share(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)
