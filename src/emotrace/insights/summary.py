"""A conversation read per speaker: how each one's emotion was distributed, moved and ended.

Definitions (the JSON `summary`, the terminal lines, the report and `emotrace summarize` all use these):
- A speaker's turns are their utterances, numbered by their position in the whole conversation (1-based).
  Utterances with an empty speaker are grouped as "(no speaker)".
- Labels are mapped onto the canonical vocabulary (`labels.to_canonical`), so MELD's and IEMOCAP's label sets read
  alike. An abstained turn (`uncertain`) counts in the distribution and is drawn on the trajectory, but is skipped
  by everything that follows the dominant emotion: it neither starts, breaks nor extends a run.
- Smoothing: the dominant emotion shifts only when the new emotion holds for STEADY_TURNS consecutive (non-abstained)
  turns of the speaker; the shift is placed at the first of them. A one-turn blip is not a shift. The chain starts at
  the speaker's opening emotion.
- Opening and closing: the speaker's first and last non-abstained emotion.
- Negative: the emotions in `affect.NEGATIVE`. The longest negative run is the longest stretch of consecutive
  non-abstained turns of the speaker that are all negative (their emotions may differ); the earliest one on a tie.
- An episode is a stretch of at least STEADY_TURNS consecutive non-abstained turns of the speaker with the same
  negative emotion, e.g. two angry turns in a row; a single angry turn is not an episode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emotrace.insights.affect import NEGATIVE, valence_arousal
from emotrace.labels import to_canonical
from emotrace.schema import ABSTAIN_LABEL, Conversation, Prediction

STEADY_TURNS = 2
NO_SPEAKER = "(no speaker)"


@dataclass(frozen=True)
class Shift:
    turn: int
    before: str
    after: str


@dataclass(frozen=True)
class Run:
    """Consecutive non-abstained turns of one speaker, from `first_turn` to `last_turn` (conversation turns)."""

    first_turn: int
    last_turn: int
    turns: int
    emotions: tuple[str, ...]  # the distinct emotions of the run, in order of appearance


@dataclass(frozen=True)
class Point:
    """One turn on the valence/arousal plane (-1..1, see `affect`)."""

    turn: int
    start: float | None
    valence: float
    arousal: float
    uncertain: bool


@dataclass(frozen=True)
class SpeakerSummary:
    speaker: str
    turns: int
    emotions: dict[str, int]  # turns per emotion (canonical; `uncertain` included), most frequent first
    opening: str | None  # None: every turn abstained
    closing: str | None
    shifts: list[Shift]
    longest_negative_run: Run | None
    episodes: list[Run]
    trajectory: list[Point]


@dataclass(frozen=True)
class ConversationSummary:
    turns: int
    opening: str | None  # the conversation's first and last non-abstained emotion, whoever spoke
    closing: str | None
    speakers: list[SpeakerSummary]  # in order of their first turn


def summarize_conversation(conversation: Conversation, predictions: list[Prediction]) -> ConversationSummary:
    """The summary of one analysed conversation (see the module docstring for what each part means)."""
    turns_by_speaker: dict[str, list[tuple[int, Prediction, float | None]]] = {}
    for turn, (utterance, prediction) in enumerate(zip(conversation.utterances, predictions), start=1):
        turns_by_speaker.setdefault(utterance.speaker.strip() or NO_SPEAKER, []).append((turn, prediction, utterance.start))
    labelled = [to_canonical(p.label) for p in predictions if p.label != ABSTAIN_LABEL]
    return ConversationSummary(
        turns=len(predictions),
        opening=labelled[0] if labelled else None,
        closing=labelled[-1] if labelled else None,
        speakers=[_speaker_summary(speaker, turns) for speaker, turns in turns_by_speaker.items()],
    )


def _speaker_summary(speaker: str, turns: list[tuple[int, Prediction, float | None]]) -> SpeakerSummary:
    labels = [ABSTAIN_LABEL if p.label == ABSTAIN_LABEL else to_canonical(p.label) for _, p, _ in turns]
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    steps = [(turn, label) for (turn, _, _), label in zip(turns, labels) if label != ABSTAIN_LABEL]
    trajectory = []
    for (turn, prediction, start), label in zip(turns, labels):
        position = valence_arousal(prediction.probabilities)
        if position is not None:
            trajectory.append(Point(turn, start, round(position[0], 3), round(position[1], 3), label == ABSTAIN_LABEL))
    return SpeakerSummary(
        speaker=speaker,
        turns=len(turns),
        emotions=dict(sorted(counts.items(), key=lambda item: -item[1])),
        opening=steps[0][1] if steps else None,
        closing=steps[-1][1] if steps else None,
        shifts=_shifts(steps),
        longest_negative_run=_longest_negative_run(steps),
        episodes=_episodes(steps),
        trajectory=trajectory,
    )


def _shifts(steps: list[tuple[int, str]]) -> list[Shift]:
    """Where the dominant emotion changes to one that then holds for STEADY_TURNS turns."""
    if not steps:
        return []
    shifts, state = [], steps[0][1]
    for index, (turn, label) in enumerate(steps):
        ahead = steps[index : index + STEADY_TURNS]
        if label != state and len(ahead) == STEADY_TURNS and all(other == label for _, other in ahead):
            shifts.append(Shift(turn, state, label))
            state = label
    return shifts


def _negative_runs(steps: list[tuple[int, str]], one_emotion: bool) -> list[list[tuple[int, str]]]:
    """Maximal stretches of consecutive negative steps; with `one_emotion`, a change of emotion also ends a stretch."""
    runs: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    for step in steps:
        if step[1] in NEGATIVE and current and (not one_emotion or current[-1][1] == step[1]):
            current.append(step)
            continue
        if current:
            runs.append(current)
        current = [step] if step[1] in NEGATIVE else []
    return runs + [current] if current else runs


def _run(steps: list[tuple[int, str]]) -> Run:
    return Run(steps[0][0], steps[-1][0], len(steps), tuple(dict.fromkeys(label for _, label in steps)))


def _longest_negative_run(steps: list[tuple[int, str]]) -> Run | None:
    runs = _negative_runs(steps, one_emotion=False)
    return _run(max(runs, key=len)) if runs else None


def _episodes(steps: list[tuple[int, str]]) -> list[Run]:
    return [_run(run) for run in _negative_runs(steps, one_emotion=True) if len(run) >= STEADY_TURNS]


def describe(summary: SpeakerSummary) -> str:
    """One line in words, built from the data: the chain of shifts, a closing blip, abstentions, the longest negative run."""
    head = f"{summary.speaker} ({_count(summary.turns, 'turn')})"
    if summary.opening is None:
        return f"{head}: every turn uncertain"
    if summary.shifts:
        chain = summary.opening + "".join(f"{',' if index else ''} → {shift.after} at turn {shift.turn}" for index, shift in enumerate(summary.shifts))
        state = summary.shifts[-1].after
    else:
        labelled = summary.turns - summary.emotions.get(ABSTAIN_LABEL, 0)
        steady = summary.emotions.get(summary.opening, 0)
        chain = (
            f"{summary.opening} throughout" if steady == labelled else f"{summary.opening}, no lasting shift ({steady} of {labelled} turns {summary.opening})"
        )
        state = summary.opening
    parts = [chain]
    if summary.closing != state:
        parts.append(f"ends {summary.closing}")
    if summary.emotions.get(ABSTAIN_LABEL):
        parts.append(f"{_count(summary.emotions[ABSTAIN_LABEL], 'turn')} uncertain")
    run = summary.longest_negative_run
    if run is not None:
        where = f"turn {run.first_turn}" if run.turns == 1 else f"turns {run.first_turn}–{run.last_turn}"
        parts.append(f"longest negative run {_count(run.turns, 'turn')} ({'/'.join(run.emotions)}, {where})")
    return f"{head}: " + "; ".join(parts)


def summary_record(summary: ConversationSummary) -> dict[str, Any]:
    """The JSON form (`summary` in `analyze --format json`)."""
    return {
        "turns": summary.turns,
        "opening": summary.opening,
        "closing": summary.closing,
        "speakers": [
            {
                "speaker": s.speaker,
                "text": describe(s),
                "turns": s.turns,
                "emotions": s.emotions,
                "opening": s.opening,
                "closing": s.closing,
                "shifts": [{"turn": shift.turn, "from": shift.before, "to": shift.after} for shift in s.shifts],
                "longest_negative_run": _run_record(s.longest_negative_run),
                "episodes": [_run_record(run) for run in s.episodes],
                "trajectory": [
                    {"turn": p.turn, "valence": p.valence, "arousal": p.arousal} | ({"uncertain": True} if p.uncertain else {}) for p in s.trajectory
                ],
            }
            for s in summary.speakers
        ],
    }


def _run_record(run: Run | None) -> dict[str, Any] | None:
    return None if run is None else {"first_turn": run.first_turn, "last_turn": run.last_turn, "turns": run.turns, "emotions": list(run.emotions)}


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
