from html.parser import HTMLParser
from pathlib import Path

from emotrace.io.html_report import render_report, render_timeline, report_style, write_report
from emotrace.schema import Conversation, Prediction, Utterance


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.classes: list[str] = []
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.classes += [value or "" for name, value in attrs if name == "class"]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_report_has_one_turn_per_utterance_escapes_text_and_shows_modalities(tmp_path: Path) -> None:
    conversation = Conversation("call <1>", [Utterance("Ann", "I <b>love</b> it", start=1.5), Utterance("Bob", "meh")])
    text = Prediction.from_probabilities(["joy", "neutral"], [0.9, 0.1])
    fused = Prediction.from_probabilities(["joy", "neutral"], [0.7, 0.3])
    fused.modalities, fused.errors = {"text": text}, {"speech": "b.wav: cannot decode audio"}
    predictions = [[fused, Prediction.from_probabilities(["joy", "neutral"], [0.2, 0.8])]]
    page = render_report([conversation], predictions, title="test")
    parser = _Collector()
    parser.feed(page)
    assert parser.classes.count("turn") == 2
    assert "script" not in parser.tags and "b" not in parser.tags
    joined = "".join(parser.text)
    assert "I <b>love</b> it" in joined and "call <1>" in joined
    assert "text: joy 0.90" in joined and "speech unavailable" in joined and "1.5s" in joined
    write_report([conversation], predictions, tmp_path / "r.html", title="test")
    assert (tmp_path / "r.html").read_text(encoding="utf-8") == page


def test_every_field_from_the_input_or_a_model_is_shown_as_text_never_as_markup() -> None:
    attack = '<img src=x onerror="alert(1)">'
    conversation = Conversation(attack, [Utterance(attack, attack), Utterance("Bob", "fine")])
    fused = Prediction.from_probabilities([attack, "neutral"], [0.7, 0.3])
    fused.modalities, fused.errors = {attack: Prediction.from_probabilities([attack], [1.0])}, {"speech": f"{attack}: cannot decode audio"}
    explained = Prediction.from_probabilities(["joy", "neutral"], [0.6, 0.4])
    explained.explanation = {"words": [[attack, 0.4], ["fine", 0.1]], "turns": [[1, 0.2]]}
    page = render_report([conversation], [[fused, explained]], title=attack)
    parser = _Collector()
    parser.feed(page)
    assert "img" not in parser.tags
    # title, heading, conversation id, speaker, text, label, modality name and label, media error, explained word (10);
    # the summary line's speaker and label (2); the chart's speaker lane, its bar's speaker and label, its legend (4)
    assert "".join(parser.text).count(attack) == 16


def test_report_shows_each_speakers_summary_line_and_an_svg_chart_per_conversation() -> None:
    conversation = Conversation("call", [Utterance("Ann", "fine"), Utterance("Ann", "no!"), Utterance("Ann", "no!!"), Utterance("Bob", "?")])
    labels = ["neutral", "anger"]
    predictions = [[Prediction.from_probabilities(labels, p) for p in ([0.9, 0.1], [0.2, 0.8], [0.1, 0.9])]]
    predictions[0].append(Prediction.from_probabilities(labels, [0.55, 0.45], abstain_below=0.6))
    parser = _Collector()
    parser.feed(render_report([conversation], predictions, title="t"))
    text = "".join(parser.text)
    assert "Ann (3 turns): neutral → anger at turn 2; longest negative run 2 turns (anger, turns 2–3)" in text
    assert "Bob (1 turn): every turn uncertain" in text
    assert parser.tags.count("svg") == 1 and parser.classes.count("timeline-chart") == 1 and parser.classes.count("summary") == 1


def test_timeline_is_the_reports_body_and_the_style_is_the_pages_stylesheet() -> None:
    conversation = Conversation("c", [Utterance("Ann", "I love it")])
    predictions = [[Prediction.from_probabilities(["joy", "neutral"], [0.9, 0.1])]]
    page = render_report([conversation], predictions, title="t")
    assert render_timeline([conversation], predictions) in page
    assert report_style() in page and ".turn.uncertain" in report_style()
