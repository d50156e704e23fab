"""Specs for read_conversations: every input format, and a precise EmotraceError for every kind of bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emotrace.errors import EmotraceError
from emotrace.io import INPUT_FORMATS, read_conversations
from emotrace.schema import Conversation, Utterance


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return path


def jsonl(*records: object) -> str:
    return "".join(json.dumps(record) + "\n" for record in records)


def read_error(path: Path, **kwargs: object) -> EmotraceError:
    with pytest.raises(EmotraceError) as caught:
        read_conversations(path, **kwargs)
    return caught.value


# --- jsonl -----------------------------------------------------------------------------------------------------------


def test_jsonl_reads_all_fields_and_lowercases_labels(tmp_path: Path) -> None:
    record = {
        "id": "d1",
        "utterances": [
            {
                "speaker": " Ann ",
                "text": " Hi there ",
                "start": 1,
                "end": 2.5,
                "emotion": " Joy ",
                "sentiment": "POSITIVE",
                "id": 7,
                "media": {"audio": "a/1.wav"},
            },
            {"speaker": "Cid", "text": "Absolute", "media": {"audio": "/data/2.wav"}},
            {"speaker": "Bob", "text": "Hello"},
        ],
        "metadata": {"show": "Friends"},
        "split": "dev",
        "season": 3,
    }
    path = write(tmp_path, "data.jsonl", jsonl(record))

    [conversation] = read_conversations(path)

    assert conversation.id == "d1"
    assert conversation.metadata == {"show": "Friends", "split": "dev", "season": 3}
    assert conversation.utterances == [
        Utterance(speaker="Ann", text="Hi there", start=1.0, end=2.5, media={"audio": str(tmp_path / "a/1.wav")}, emotion="joy", sentiment="positive", id="7"),
        Utterance(speaker="Cid", text="Absolute", media={"audio": "/data/2.wav"}),
        Utterance(speaker="Bob", text="Hello"),
    ]


def test_jsonl_skips_blank_lines_and_names_missing_ids_after_their_line(tmp_path: Path) -> None:
    utterances = [{"speaker": "A", "text": "x"}]
    path = write(tmp_path, "data.jsonl", "\n" + json.dumps({"utterances": utterances}) + "\n\n" + json.dumps({"id": 5, "utterances": utterances}) + "\n")

    conversations = read_conversations(path)

    assert [c.id for c in conversations] == ["conv2", "5"]


def test_jsonl_accepts_utf8_bom_and_crlf(tmp_path: Path) -> None:
    path = write(tmp_path, "data.jsonl", b"\xef\xbb\xbf" + json.dumps({"id": "a", "utterances": [{"speaker": "A", "text": "caf\u00e9"}]}).encode() + b"\r\n")

    [conversation] = read_conversations(path)

    assert conversation.utterances[0].text == "caf\u00e9"


def test_jsonl_malformed_line_reports_line_and_json_error(tmp_path: Path) -> None:
    good = json.dumps({"utterances": [{"speaker": "A", "text": "x"}]})
    path = write(tmp_path, "data.jsonl", f'{good}\n{{"id": 1,\n')

    error = read_error(path)

    assert str(error).startswith(f"{path}:2: invalid JSON: ")
    assert "column" in str(error)
    assert error.line == 2 and error.hint


def test_jsonl_line_that_is_not_an_object_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "data.jsonl", "[1, 2]\n")

    error = read_error(path)

    assert str(error).startswith(f"{path}:1: line is a JSON list, not an object")


@pytest.mark.parametrize("utterances", [None, [], "hello", {"speaker": "A"}])
def test_jsonl_utterances_must_be_a_non_empty_list(tmp_path: Path, utterances: object) -> None:
    record = {"id": "a"} if utterances is None else {"id": "a", "utterances": utterances}
    path = write(tmp_path, "data.jsonl", jsonl(record))

    error = read_error(path)

    assert str(error).startswith(f'{path}:1: "utterances" must be a non-empty list')


@pytest.mark.parametrize(
    ("second", "message"),
    [
        ({"speaker": "B"}, 'utterance 2 has no "text"'),
        ({"text": "hi"}, 'utterance 2 has no "speaker"'),
        ({"speaker": "B", "text": "   "}, 'utterance 2 has an empty "text"'),
        ({"speaker": "", "text": "hi"}, 'utterance 2 has an empty "speaker"'),
        ({"speaker": 3, "text": "hi"}, 'utterance 2: "speaker" must be a string'),
        ({"speaker": "B", "text": ["hi"]}, 'utterance 2: "text" must be a string'),
        ({"speaker": "B", "text": "hi", "start": "1.5"}, "utterance 2: \"start\" must be a number, got '1.5'"),
        ({"speaker": "B", "text": "hi", "end": True}, 'utterance 2: "end" must be a number, got True'),
        ({"speaker": "B", "text": "hi", "start": -1}, 'utterance 2: "start" is -1.0'),
        ({"speaker": "B", "text": "hi", "end": float("inf")}, 'utterance 2: "end" is inf'),
        ({"speaker": "B", "text": "hi", "emotion": 4}, 'utterance 2: "emotion" must be a string'),
        ({"speaker": "B", "text": "hi", "media": ["a.wav"]}, 'utterance 2: "media" must map media kinds to paths'),
        ({"speaker": "B", "text": "hi", "media": {"sound": "a.wav"}}, 'utterance 2: unknown media kind "sound"'),
        ("just text", "utterance 2 is not an object"),
    ],
)
def test_jsonl_bad_utterance_names_line_index_and_field(tmp_path: Path, second: object, message: str) -> None:
    good = {"id": "ok", "utterances": [{"speaker": "A", "text": "fine"}]}
    path = write(tmp_path, "data.jsonl", jsonl(good, good, {"id": "bad", "utterances": [{"speaker": "A", "text": "fine"}, second]}))

    error = read_error(path)

    assert str(error).startswith(f"{path}:3: {message}")
    assert error.path == str(path) and error.line == 3 and error.hint


def test_jsonl_conversation_media_apply_to_every_utterance_unless_it_has_its_own(tmp_path: Path) -> None:
    record = {
        "media": {"audio": "call.wav", "video": "call.mp4"},
        "utterances": [{"speaker": "A", "text": "x", "start": 0, "end": 1}, {"speaker": "B", "text": "y", "media": {"audio": "b.wav"}}],
    }
    first, second = read_conversations(write(tmp_path, "call.jsonl", jsonl(record)))[0].utterances

    assert first.media == {"audio": str(tmp_path / "call.wav"), "video": str(tmp_path / "call.mp4")}
    assert second.media == {"audio": str(tmp_path / "b.wav"), "video": str(tmp_path / "call.mp4")}


def test_jsonl_unknown_split_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "data.jsonl", jsonl({"utterances": [{"speaker": "A", "text": "x"}], "split": "validation"}))

    error = read_error(path)

    assert str(error) == f"{path}:1: unknown split 'validation' (use one of train, dev, test)"


def test_jsonl_metadata_must_be_an_object(tmp_path: Path) -> None:
    path = write(tmp_path, "data.jsonl", jsonl({"utterances": [{"speaker": "A", "text": "x"}], "metadata": "Friends"}))

    assert str(read_error(path)).startswith(f'{path}:1: "metadata" must be an object')


# --- csv -------------------------------------------------------------------------------------------------------------


MELD_HEADER = "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime\n"


def test_csv_meld_columns_group_by_dialogue_and_sort_by_utterance_id(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "meld.csv",
        MELD_HEADER
        + '2,"Second, with a comma",Ross,Surprise,Positive,0,1,1,1,"00:16:16,059","00:16:21,731"\n'
        + "3,Other dialogue,Rachel,neutral,neutral,4,0,1,1,00:00:01.5,00:00:02.000\n"
        + '1,First,Monica,NEUTRAL,neutral,0,0,1,1,"00:16:10,000",12.25\n',
    )

    conversations = read_conversations(path)

    assert [c.id for c in conversations] == ["0", "4"]
    first, second = conversations[0].utterances
    assert first == Utterance(speaker="Monica", text="First", start=970.0, end=12.25, emotion="neutral", sentiment="neutral", id="0")
    assert second == Utterance(speaker="Ross", text="Second, with a comma", start=976.059, end=981.731, emotion="surprise", sentiment="positive", id="1")
    assert conversations[1].utterances[0].start == 1.5
    assert conversations[1].metadata == {}


def test_csv_generic_lowercase_columns_and_split(tmp_path: Path) -> None:
    path = write(tmp_path, "data.csv", "conversation,speaker,text,emotion,start,end,split\nc1,A,hello,Joy,0.5,1,train\nc1,B,bye,,1,2,train\nc2,A,x,,,,Test\n")

    conversations = read_conversations(path)

    assert [(c.id, c.metadata) for c in conversations] == [("c1", {"split": "train"}), ("c2", {"split": "test"})]
    assert conversations[0].utterances == [
        Utterance(speaker="A", text="hello", start=0.5, end=1.0, emotion="joy"),
        Utterance(speaker="B", text="bye", start=1.0, end=2.0),
    ]


def test_csv_column_names_match_case_insensitively(tmp_path: Path) -> None:
    path = write(tmp_path, "data.csv", "DIALOGUE_ID , SPEAKER,UTTERANCE\n9,A,hi\n")

    [conversation] = read_conversations(path)

    assert (conversation.id, conversation.utterances[0].speaker, conversation.utterances[0].text) == ("9", "A", "hi")


def test_csv_with_utf8_bom_still_finds_the_first_column(tmp_path: Path) -> None:
    path = write(tmp_path, "data.csv", b"\xef\xbb\xbfDialogue_ID,Speaker,Utterance\r\n3,A,hi\r\n")

    assert read_conversations(path)[0].id == "3"


def test_csv_column_override_maps_custom_names(tmp_path: Path) -> None:
    path = write(tmp_path, "data.csv", "session,who,utterance_text,feeling,turn\ns1,A,second,Anger,2\ns1,B,first,,1\n")

    [conversation] = read_conversations(
        path, columns={"conversation": "session", "speaker": "who", "text": "utterance_text", "emotion": "FEELING", "order": "turn"}
    )

    assert conversation.id == "s1"
    assert [(u.speaker, u.text, u.emotion) for u in conversation.utterances] == [("B", "first", None), ("A", "second", "anger")]


def test_csv_override_naming_absent_column_lists_columns_found(tmp_path: Path) -> None:
    path = write(tmp_path, "data.csv", "conversation,speaker,text\nc,A,hi\n")

    error = read_error(path, columns={"text": "utterance_text"})

    assert str(error).startswith(f"{path}:1: column 'utterance_text' (for text) not found; columns are: conversation, speaker, text")


def test_csv_override_with_unknown_key_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "data.csv", "conversation,speaker,text\nc,A,hi\n")

    assert "unknown column key(s) txt" in str(read_error(path, columns={"txt": "text"}))


def test_csv_missing_required_column_names_the_columns_found(tmp_path: Path) -> None:
    path = write(tmp_path, "data.csv", "Dialogue_ID,Speaker,Line\n0,A,hi\n")

    error = read_error(path)

    assert str(error).startswith(f"{path}:1: missing column for text (Utterance or text); columns are: Dialogue_ID, Speaker, Line")


def test_csv_row_with_empty_text_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "data.csv", 'Dialogue_ID,Speaker,Utterance\n0,A,hi\n0,B,"  "\n')

    error = read_error(path)

    assert str(error).startswith(f"{path}:3: empty text (column 'Utterance') (fill it in, or give the row a media column")


def test_csv_line_numbers_count_quoted_newlines_and_skip_blank_rows(tmp_path: Path) -> None:
    path = write(tmp_path, "data.csv", 'conversation,speaker,text,start\nc,A,"two\nlines",0\n\nc,B,x,soon\n')

    error = read_error(path)

    assert str(error).startswith(f"{path}:5: 'start' is not a time: 'soon'")


@pytest.mark.parametrize("ending", ["\n0,B,there\n0,A,bye\n", ""])
def test_csv_unterminated_quote_names_the_row_it_opens_on(tmp_path: Path, ending: str) -> None:
    path = write(tmp_path, "data.csv", 'Dialogue_ID,Speaker,Utterance\n0,A,hi\n0,B,"hello' + ending)

    error = read_error(path)

    assert str(error).startswith(f"{path}:3: unterminated quote: a quoted field starting on this row never closes")
    assert "\n" not in str(error)


def test_csv_quoted_fields_that_close_are_still_read_leniently(tmp_path: Path) -> None:
    path = write(tmp_path, "data.csv", 'Dialogue_ID,Speaker,Utterance\n0,A,"two\nlines" \n0,B,"say ""hi"""\n0,A,5" screen\n')

    (conversation,) = read_conversations(path)

    assert [u.text for u in conversation.utterances] == ["two\nlines", 'say "hi"', '5" screen']


def test_csv_bad_order_value_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "data.csv", "Dialogue_ID,Utterance_ID,Speaker,Utterance\n0,first,A,hi\n")

    assert str(read_error(path)).startswith(f"{path}:2: 'Utterance_ID' must be an integer, got 'first'")


def test_csv_split_must_be_consistent_within_a_conversation(tmp_path: Path) -> None:
    path = write(tmp_path, "data.csv", "conversation,speaker,text,split\nc,A,hi,train\nd,A,x,dev\nc,B,yo,dev\n")

    error = read_error(path)

    assert str(error).startswith(f"{path}:4: conversation 'c' has split 'dev' here but 'train' on line 2")


def test_csv_with_header_only_has_no_conversations(tmp_path: Path) -> None:
    path = write(tmp_path, "data.csv", "conversation,speaker,text\n")

    assert str(read_error(path)).startswith(f"{path}: no conversations found (")


# --- transcript ------------------------------------------------------------------------------------------------------


def test_transcript_blank_line_starts_new_conversation(tmp_path: Path) -> None:
    path = write(tmp_path, "chat.txt", "# a comment\nAnn: Hi: how are you?\nBob:fine\n\n\n  # another\nAnn: bye\n")

    conversations = read_conversations(path)

    assert conversations == [
        Conversation(id="conv1", utterances=[Utterance(speaker="Ann", text="Hi: how are you?"), Utterance(speaker="Bob", text="fine")]),
        Conversation(id="conv2", utterances=[Utterance(speaker="Ann", text="bye")]),
    ]


@pytest.mark.parametrize("bad", ["no speaker here", ": empty speaker", "x" * 40 + ": too far"])
def test_transcript_line_without_speaker_prefix_is_rejected(tmp_path: Path, bad: str) -> None:
    path = write(tmp_path, "chat.txt", f"Ann: hi\n{bad}\n")

    error = read_error(path)

    assert str(error).startswith(f"{path}:2: expected `Speaker: text` (")
    assert "colon" in (error.hint or "")


def test_transcript_speaker_without_text_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "chat.txt", "Ann:   \n")

    assert str(read_error(path)).startswith(f"{path}:1: no text after 'Ann:'")


def test_transcript_with_only_comments_has_no_conversations(tmp_path: Path) -> None:
    path = write(tmp_path, "chat.txt", "# nothing\n\n")

    assert "no conversations found" in str(read_error(path))


# --- srt / vtt -------------------------------------------------------------------------------------------------------


def test_srt_cues_become_one_conversation_named_after_the_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "episode1.srt",
        "1\r\n00:00:01,000 --> 00:00:03,500\r\nJOEY: <i>How you</i>\r\ndoin'?\r\n\r\n"
        "2\r\n01:02:03,040 --> 01:02:04,000\r\nNo speaker &amp; tags\r\n\r\n"
        "3\r\n00:00:05,000 --> 00:00:06,000\r\n<i></i>\r\n",
    )

    [conversation] = read_conversations(path)

    assert conversation.id == "episode1"
    assert conversation.utterances == [
        Utterance(speaker="JOEY", text="How you doin'?", start=1.0, end=3.5),
        Utterance(speaker="unknown", text="No speaker & tags", start=3723.04, end=3724.0),
    ]


def test_srt_bad_timestamp_reports_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "a.srt", "1\n00:00:01,000 --> 00:00:03,500\nhi\n\n2\n00:00:0x,000 --> 00:00:04,000\nyo\n")

    error = read_error(path)

    assert str(error).startswith(f"{path}:6: bad timestamp in '00:00:0x,000 --> 00:00:04,000'")


@pytest.mark.parametrize(
    ("name", "content", "line"),
    [
        ("a.srt", "1\n00:00:01,000 --> 00:00:03,500\nhi\n\n2\n00:00:05,000 --> 00:00:04,000\nyo\n", 6),
        ("a.vtt", "WEBVTT\n\n00:05.000 --> 00:04.000\nyo\n", 3),
    ],
)
def test_cue_that_ends_before_it_starts_names_its_line(tmp_path: Path, name: str, content: str, line: int) -> None:
    path = write(tmp_path, name, content)

    error = read_error(path)

    assert str(error).startswith(f"{path}:{line}: the cue ends before it starts: '00:")


def test_srt_cue_without_timing_line_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "a.srt", "1\n00:00:01,000 --> 00:00:03,500\nhi\n\nstray text\n")

    assert str(read_error(path)).startswith(f"{path}:5: expected a cue timing line")


def test_vtt_reads_voices_identifiers_settings_and_skips_notes(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "talk.vtt",
        "\ufeffWEBVTT - a talk\nKind: captions\n\nNOTE this is\na comment\n\n"
        "intro\n00:01.000 --> 00:03.500 align:start position:10%\n<v.loud Dr. Lee>Hello <b>all</b></v>\n\n"
        "00:00:04.250 --> 00:00:06.000\nSam: Hi\nthere\n\n"
        "00:07.000 --> 00:08.000\nplain <00:07.500>text\n",
    )

    [conversation] = read_conversations(path)

    assert conversation.id == "talk"
    assert conversation.utterances == [
        Utterance(speaker="Dr. Lee", text="Hello all", start=1.0, end=3.5),
        Utterance(speaker="Sam", text="Hi there", start=4.25, end=6.0),
        Utterance(speaker="unknown", text="plain text", start=7.0, end=8.0),
    ]


def test_vtt_without_header_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "a.vtt", "\n00:01.000 --> 00:02.000\nhi\n")

    error = read_error(path)

    assert str(error).startswith(f"{path}:2: missing the `WEBVTT` header")


def test_vtt_with_header_only_has_no_conversations(tmp_path: Path) -> None:
    path = write(tmp_path, "a.vtt", "WEBVTT\n")

    assert "no conversations found" in str(read_error(path))


# --- format choice and file-level problems ---------------------------------------------------------------------------


def test_explicit_format_overrides_the_extension(tmp_path: Path) -> None:
    path = write(tmp_path, "chat.log", "Ann: hi\n")

    [conversation] = read_conversations(path, format="transcript")

    assert conversation.utterances == [Utterance(speaker="Ann", text="hi")]


def test_unknown_extension_names_file_and_lists_input_formats(tmp_path: Path) -> None:
    path = write(tmp_path, "chat.log", "Ann: hi\n")

    error = read_error(path)

    assert str(error).startswith(f"{path}: cannot tell the input format from the extension '.log'")
    assert all(name in str(error) for name in INPUT_FORMATS) and "--input-format" in str(error)


def test_unknown_format_argument_lists_choices(tmp_path: Path) -> None:
    path = write(tmp_path, "chat.txt", "Ann: hi\n")

    assert "choose --input-format from jsonl, csv, transcript, srt, vtt" in str(read_error(path, format="xml"))


def test_missing_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "nope.jsonl"

    assert str(read_error(path)) == f"{path}: file not found (check the path)"


def test_directory_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "folder.jsonl"
    path.mkdir()

    assert str(read_error(path)).startswith(f"{path}: is a directory")


def test_file_over_the_size_limit_gives_size_limit_and_hint(tmp_path: Path) -> None:
    path = write(tmp_path, "chat.txt", "Ann: hello\n")

    error = read_error(path, max_bytes=5)

    assert str(error) == f"{path}: file is 11 bytes, over the limit of 5 bytes (split the file or raise --max-mb)"


def test_non_utf8_reports_line_of_first_bad_byte(tmp_path: Path) -> None:
    path = write(tmp_path, "chat.txt", b"\xef\xbb\xbfAnn: hi\nBob: ok\nAnn: caf\xe9\n")

    error = read_error(path)

    assert str(error) == f"{path}:3: not valid UTF-8 (byte 0xe9) (re-save the file as UTF-8)"


@pytest.mark.parametrize("name", ["a.jsonl", "a.csv", "a.txt", "a.srt"])
def test_empty_file_has_no_conversations(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, name, b"\xef\xbb\xbf")

    assert str(read_error(path)).startswith(f"{path}: no conversations found (expected ")


def test_empty_vtt_file_lacks_its_header(tmp_path: Path) -> None:
    path = write(tmp_path, "a.vtt", b"")

    assert str(read_error(path)).startswith(f"{path}:1: missing the `WEBVTT` header")


def test_timestamps_round_trip_between_formats(tmp_path: Path) -> None:
    srt = write(tmp_path, "a.srt", "1\n00:01:02,345 --> 01:00:00,001\nA: hi\n")
    vtt = write(tmp_path, "a.vtt", "WEBVTT\n\n01:02.345 --> 01:00:00.001\nA: hi\n")
    csv_path = write(tmp_path, "a.csv", 'conversation,speaker,text,start,end\nc,A,hi,"00:01:02,345",3600.001\n')
    json_path = write(tmp_path, "a.jsonl", jsonl({"utterances": [{"speaker": "A", "text": "hi", "start": 62.345, "end": 3600.001}]}))

    times = {(u.start, u.end) for p in (srt, vtt, csv_path, json_path) for u in read_conversations(p)[0].utterances}

    assert times == {(62.345, 3600.001)}
