"""The conversation summary and the timeline chart, on predictions built in each test (no model)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from emotrace.insights.affect import NEGATIVE, valence_arousal
from emotrace.insights.summary import NO_SPEAKER, describe, summarize_conversation, summary_record
from emotrace.io.chart import render_svg, timeline_chart, write_chart
from emotrace.schema import Conversation, Prediction, Utterance

MELD = ["neutral", "surprise", "fear", "sadness", "joy", "disgust", "anger"]


def said(label: str, confidence: float = 0.8, labels: list[str] = MELD, abstain_below: float | None = None) -> Prediction:
    rest = (1 - confidence) / (len(labels) - 1)
    return Prediction.from_probabilities(labels, [confidence if name == label else rest for name in labels], abstain_below=abstain_below)


def conversation(turns: list[tuple[str, str]], **timing: list[float]) -> tuple[Conversation, list[Prediction]]:
    utterances = [Utterance(speaker, f"turn {index}") for index, (speaker, _) in enumerate(turns, start=1)]
    for index, start in enumerate(timing.get("starts", [])):
        utterances[index].start, utterances[index].end = start, start + 2.0
    return Conversation("call", utterances), [said(label) for _, label in turns]


def test_shift_is_placed_where_the_new_emotion_holds_for_two_turns_and_blips_are_ignored() -> None:
    customer = ["neutral", "neutral", "anger", "anger", "anger", "joy", "anger", "joy", "joy"]
    talk, predicted = conversation([("Customer", label) for label in customer])
    [summary] = summarize_conversation(talk, predicted).speakers
    assert [(s.turn, s.before, s.after) for s in summary.shifts] == [(3, "neutral", "anger"), (8, "anger", "joy")]  # the joy at 6 is a blip
    assert (summary.opening, summary.closing) == ("neutral", "joy")
    assert describe(summary).startswith("Customer (9 turns): neutral → anger at turn 3, → joy at turn 8; longest negative run 3 turns (anger, turns 3–5)")


def test_speakers_are_followed_separately_and_numbered_by_conversation_turn() -> None:
    talk, predicted = conversation(
        [("Agent", "neutral"), ("Customer", "neutral"), ("Agent", "neutral"), ("Customer", "anger"), ("Agent", "neutral"), ("Customer", "anger")]
    )
    agent, customer = summarize_conversation(talk, predicted).speakers
    assert describe(agent) == "Agent (3 turns): neutral throughout"
    assert [(s.turn, s.after) for s in customer.shifts] == [(4, "anger")]
    assert customer.emotions == {"anger": 2, "neutral": 1}


def test_abstained_turns_are_counted_but_neither_break_nor_start_runs() -> None:
    talk, predicted = conversation([("Ann", "neutral"), ("Ann", "sadness"), ("Ann", "neutral"), ("Ann", "sadness"), ("Ann", "joy")])
    predicted[2] = said("neutral", confidence=0.3, abstain_below=0.5)  # uncertain, between two sad turns
    [ann] = summarize_conversation(talk, predicted).speakers
    assert ann.emotions == {"sadness": 2, "neutral": 1, "uncertain": 1, "joy": 1}
    assert ann.longest_negative_run is not None and (ann.longest_negative_run.first_turn, ann.longest_negative_run.last_turn) == (2, 4)
    assert ann.longest_negative_run.turns == 2
    assert [(e.emotions, e.first_turn, e.last_turn) for e in ann.episodes] == [(("sadness",), 2, 4)]
    assert [p.uncertain for p in ann.trajectory] == [False, False, True, False, False]
    assert "1 turn uncertain" in describe(ann) and "ends joy" in describe(ann)


def test_longest_negative_run_spans_different_negative_emotions_but_an_episode_needs_one() -> None:
    talk, predicted = conversation([("Bo", label) for label in ["anger", "disgust", "fear", "neutral", "sadness"]])
    [bo] = summarize_conversation(talk, predicted).speakers
    run = bo.longest_negative_run
    assert run is not None and (run.turns, run.emotions, run.first_turn, run.last_turn) == (3, ("anger", "disgust", "fear"), 1, 3)
    assert bo.episodes == []


def test_iemocap_labels_are_read_in_the_canonical_vocabulary_and_missing_speakers_are_grouped() -> None:
    labels = ["happy", "sad", "neutral", "angry", "excited", "frustrated"]
    talk = Conversation("c", [Utterance("", "hi"), Utterance(" ", "so sad"), Utterance("", "really sad")])
    predicted = [said("happy", labels=labels), said("sad", labels=labels), said("sad", labels=labels)]
    summary = summarize_conversation(talk, predicted)
    [nobody] = summary.speakers
    assert nobody.speaker == NO_SPEAKER and nobody.emotions == {"sadness": 2, "joy": 1}
    assert [(s.turn, s.before, s.after) for s in nobody.shifts] == [(2, "joy", "sadness")]
    assert (summary.opening, summary.closing) == ("joy", "sadness")


def test_an_all_abstained_speaker_has_no_opening_and_says_so() -> None:
    talk = Conversation("c", [Utterance("Ann", "hm")])
    [ann] = summarize_conversation(talk, [said("neutral", 0.2, abstain_below=0.5)]).speakers
    assert ann.opening is None and describe(ann) == "Ann (1 turn): every turn uncertain"


def test_valence_arousal_follows_the_table_and_weights_by_probability() -> None:
    assert valence_arousal({"joy": 1.0}) == pytest.approx((1.0, 0.47))
    assert valence_arousal({"anger": 0.5, "joy": 0.5}) == pytest.approx(((2 * 0.167 - 1 + 1.0) / 2, ((2 * 0.865 - 1) + 0.47) / 2))
    assert valence_arousal({"happy": 1.0}) == valence_arousal({"joy": 1.0})
    assert valence_arousal({"joy": 0.5, "made-up": 0.5}) == valence_arousal({"joy": 1.0})  # unknown labels left out
    assert valence_arousal({"made-up": 1.0}) is None
    assert NEGATIVE == {"anger", "sadness", "fear", "disgust", "boredom", "frustration"}


def test_summary_record_is_plain_json_with_the_described_line() -> None:
    talk, predicted = conversation([("Ann", "neutral"), ("Ann", "anger"), ("Ann", "anger")])
    record = summary_record(summarize_conversation(talk, predicted))
    [ann] = record["speakers"]
    assert record["opening"] == "neutral" and record["closing"] == "anger"
    assert ann["shifts"] == [{"turn": 2, "from": "neutral", "to": "anger"}]
    assert ann["longest_negative_run"] == {"first_turn": 2, "last_turn": 3, "turns": 2, "emotions": ["anger"]}
    assert ann["text"] == "Ann (3 turns): neutral → anger at turn 2; longest negative run 2 turns (anger, turns 2–3)"
    assert [point["turn"] for point in ann["trajectory"]] == [1, 2, 3]


def test_chart_is_well_formed_svg_with_one_bar_per_turn_and_escaped_names(tmp_path) -> None:
    talk, predicted = conversation([("<Ann & co>", "neutral"), ("Bob", "anger"), ("<Ann & co>", "joy")], starts=[0.0, 3.0, 70.0])
    predicted[1] = said("anger", confidence=0.3, abstain_below=0.5)
    path = tmp_path / "chart.svg"
    write_chart(path, [talk, talk], [predicted, predicted])
    root = ET.parse(path).getroot()
    namespace = "{http://www.w3.org/2000/svg}"
    titles = [t.text for t in root.iter(f"{namespace}title") if t.text and t.text.startswith("turn ")]
    assert titles[:3] == ["turn 1 at 0:00, <Ann & co>: neutral 0.80", "turn 2 at 0:03, Bob: uncertain 0.30", "turn 3 at 1:10, <Ann & co>: joy 0.80"]
    assert len(titles) == 6  # two conversations stacked
    dashed = [r for r in root.iter(f"{namespace}rect") if r.get("stroke-dasharray")]
    assert len(dashed) >= 2  # the uncertain turn of each conversation (and the legend's swatch)
    assert "1:10" in [t.text for t in root.iter(f"{namespace}text")]  # a time axis, since every turn has a start


def test_inline_chart_without_timing_counts_turns() -> None:
    talk, predicted = conversation([("Ann", "neutral"), ("Bob", "anger")])
    svg = render_svg([timeline_chart(talk, predicted, title=False)])
    root = ET.fromstring(svg)
    assert root.get("class") == "timeline-chart"
    assert "turn" in [t.text for t in root.iter("text")]


def test_png_chart_is_drawn_by_matplotlib(tmp_path) -> None:
    pytest.importorskip("matplotlib")
    talk, predicted = conversation([("Ann", "neutral"), ("Bob", "anger")])
    write_chart(tmp_path / "chart.png", [talk], [predicted])
    assert (tmp_path / "chart.png").read_bytes().startswith(b"\x89PNG")
