"""The streaming endpoint `/v1/live` as a client sees it: one answer per utterance, in order, from past turns only;
bad input gets a clear error on its own stream and leaves the server and the other streams working.

The real default model is loaded once for the module and shared by every app under test."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from emotrace.inference.pipeline import Analyzer, PipelineOptions
from emotrace.schema import Conversation, Utterance
from emotrace.serve import ServeSettings, create_app

if TYPE_CHECKING:
    from websockets.sync.client import ClientConnection

LABELS = {"neutral", "surprise", "fear", "sadness", "joy", "disgust", "anger"}
TURNS = ["Ann: I got the job, I'm so happy!", '{"speaker": "Bob", "text": "That is wonderful news!"}', "Ann: I start on Monday."]


@pytest.fixture(scope="module")
def shared() -> Analyzer:
    analyzer = Analyzer()
    analyzer.model("default")
    return analyzer


@contextmanager
def serving(analyzer: Analyzer, **overrides: object) -> Iterator[TestClient]:
    with TestClient(create_app(ServeSettings(**overrides), analyzer=analyzer)) as client:  # type: ignore[arg-type]
        yield client


def test_live_answers_each_utterance_in_order_from_past_turns_with_summary_and_chart(shared: Analyzer) -> None:
    with serving(shared) as client, client.websocket_connect("/v1/live?chart=1") as stream:
        assert stream.receive_json() == {"ready": {"model": "default", "window": 8}}
        answers = []
        for message in TURNS:
            stream.send_text(message)
            answers.append(stream.receive_json())
    assert [a["turn"] for a in answers] == [1, 2, 3]
    assert [a["utterance"]["speaker"] for a in answers] == ["Ann", "Bob", "Ann"]
    assert all(a["utterance"]["emotion"] in LABELS for a in answers)
    assert [line.split(" (")[0] for line in answers[-1]["summary"]] == ["Ann", "Bob"]
    assert [a["chart"].count("<title>turn ") for a in answers] == [1, 2, 3], "the chart grows by one bar per turn"
    turns = [Utterance("Ann", "I got the job, I'm so happy!"), Utterance("Bob", "That is wonderful news!"), Utterance("Ann", "I start on Monday.")]
    for count, answer in enumerate(answers, start=1):
        prefix = shared.analyze([Conversation("prefix", turns[:count])], PipelineOptions(backend="torch-fp32"))[0]
        assert answer["utterance"]["probabilities"] == pytest.approx(prefix[-1].probabilities, abs=2e-4), "a turn is labelled from its prefix only"


def test_live_malformed_messages_get_an_error_each_and_the_stream_goes_on(shared: Analyzer) -> None:
    with serving(shared) as client, client.websocket_connect("/v1/live") as stream:
        stream.receive_json()
        errors = []
        for bad in ("no colon here", '{"speaker": "Ann", "text": ', '{"speaker": "Ann"}', '{"id": 1, "utterances": []}', "Ann: "):
            stream.send_text(bad)
            errors.append(stream.receive_json()["error"])
        stream.send_bytes(b"Ann: hello")
        errors.append(stream.receive_json()["error"])
        stream.send_text(TURNS[0])
        answer = stream.receive_json()
    assert errors == [
        "message:1: expected `Speaker: text` (write `Speaker: text`, or one JSON utterance object per line)",
        'message:2: invalid JSON: Expecting value at column 28 (send one utterance per line: {"speaker": ..., "text": ...} or `Speaker: text`)',
        'message:3: utterance 3 has no "text" (fill it in, or give the utterance "media" (audio, image or video) to analyse it without text)',
        'message:4: a whole conversation, where one utterance was expected (send one utterance per line: {"speaker": ..., "text": ...} or `Speaker: text`)',
        "message:5: no text after 'Ann:' (write `Speaker: text`, or one JSON utterance object per line)",
        "message 6: send text frames (JSON or `Speaker: text`), not binary",
    ]
    assert answer["turn"] == 1 and answer["utterance"]["emotion"] in LABELS


def test_live_utterance_over_the_size_limit_is_refused_on_its_stream_only(shared: Analyzer) -> None:
    with serving(shared, max_text_chars=40) as client, client.websocket_connect("/v1/live") as first, client.websocket_connect("/v1/live") as second:
        first.receive_json(), second.receive_json()
        first.send_text("Ann: " + "very " * 20 + "long")
        error = first.receive_json()["error"]
        second.send_text(TURNS[0])
        assert second.receive_json()["turn"] == 1
        first.send_text("Ann: short again")
        assert first.receive_json()["turn"] == 1, "the refused utterance did not enter the conversation"
    assert error == "message 1: the text is 104 characters, over this server's limit of 40 (split the turn)"


def test_live_media_are_refused_and_a_stream_closes_at_the_utterance_limit(shared: Analyzer) -> None:
    with serving(shared, max_utterances=2) as client, client.websocket_connect("/v1/live") as stream:
        stream.receive_json()
        stream.send_text(json.dumps({"speaker": "Ann", "text": "Hi", "media": {"audio": "/etc/passwd"}}))
        assert stream.receive_json() == {"error": "turn 1: live analysis reads text only (send the utterance without media)"}
        for message in TURNS[:2]:
            stream.send_text(message)
            stream.receive_json()
        stream.send_text(TURNS[2])
        assert stream.receive_json() == {"error": "this stream reached the server's limit of 2 utterances; open a new stream"}
        with pytest.raises(WebSocketDisconnect) as closed:
            stream.receive_json()
    assert closed.value.code == 1008


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("?abstain_below=2", "abstain_below is '2' (give a number from 0 to 1)"),
        ("?colour=red", "unknown query parameter 'colour' (use model, abstain_below and chart)"),
    ],
)
def test_live_bad_query_is_refused_with_its_reason(shared: Analyzer, query: str, error: str) -> None:
    with serving(shared) as client, client.websocket_connect("/v1/live" + query) as stream:
        assert stream.receive_json() == {"error": error}
        with pytest.raises(WebSocketDisconnect) as closed:
            stream.receive_json()
    assert closed.value.code == 1008


def test_live_needs_the_api_key_in_a_header_or_the_first_message(shared: Analyzer) -> None:
    with serving(shared, api_key="s3cret") as client:
        with client.websocket_connect("/v1/live", headers={"Authorization": "Bearer s3cret"}) as stream:
            assert "ready" in stream.receive_json()
        with client.websocket_connect("/v1/live") as stream:
            stream.send_text(json.dumps({"api_key": "s3cret"}))
            assert "ready" in stream.receive_json()
        with client.websocket_connect("/v1/live") as stream:
            stream.send_text(TURNS[0])
            assert "API key" in stream.receive_json()["error"]
            with pytest.raises(WebSocketDisconnect) as closed:
                stream.receive_json()
    assert closed.value.code == 1008


def test_live_refuses_streams_over_the_limit_until_one_closes(shared: Analyzer) -> None:
    with serving(shared, max_streams=1) as client:
        with client.websocket_connect("/v1/live") as first:
            first.receive_json()
            with client.websocket_connect("/v1/live") as second:
                assert second.receive_json() == {"error": "this server has its limit of 1 live streams open; reconnect later"}
                with pytest.raises(WebSocketDisconnect) as closed:
                    second.receive_json()
        assert closed.value.code == 1013
        assert _connects_within(client, seconds=10), "the closed stream still counted against the limit"


def _connects_within(client: TestClient, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with client.websocket_connect("/v1/live") as stream:
            if "ready" in stream.receive_json():
                return True
        time.sleep(0.1)
    return False


def test_client_leaving_mid_turn_leaves_the_server_and_other_streams_working(shared: Analyzer, caplog: pytest.LogCaptureFixture) -> None:
    """Over a real socket (uvicorn), so the server's answer goes to a connection that is really gone. With a limit of
    one stream, each new stream opens only once the server has released the one that left."""
    import uvicorn

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(ServeSettings(max_streams=1), analyzer=shared), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 120
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        url = f"ws://127.0.0.1:{port}/v1/live"
        with caplog.at_level(logging.WARNING):
            for _ in range(3):
                with _open_stream(url) as leaving:
                    leaving.send(TURNS[0])  # and gone before the answer: the server is still computing this turn
            answers = []
            with _open_stream(url) as staying:
                for message in TURNS:
                    staying.send(message)
                    answers.append(json.loads(staying.recv(timeout=30)))
        assert [a["turn"] for a in answers] == [1, 2, 3]
        assert not [r for r in caplog.records if r.name.startswith("emotrace")], "an abandoned stream logged an error"
    finally:
        server.should_exit = True
        thread.join(30)
        listener.close()


@contextmanager
def _open_stream(url: str, seconds: float = 30) -> Iterator[ClientConnection]:
    """A ready stream, retrying while the server refuses it for the stream limit (1013)."""
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    deadline, opened = time.monotonic() + seconds, False
    while time.monotonic() < deadline:
        try:
            with connect(url) as stream:
                if "ready" in json.loads(stream.recv(timeout=30)):
                    opened = True
                    yield stream
                    return
                stream.recv(timeout=30)  # the refusal's close
        except ConnectionClosed as refused:
            if opened:
                raise
            assert refused.rcvd is not None and refused.rcvd.code == 1013, refused
        time.sleep(0.1)
    raise AssertionError(f"no stream opened within {seconds} s")
