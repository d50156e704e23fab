"""The streaming endpoint, WebSocket `/v1/live`: utterances in, predictions out, one at a time, each turn labelled from
the turns so far only (inference/live.py). The web page's live mode is one client; any other speaks the same JSON.

- Connect to `/v1/live`, optionally with `?model=NAME` (as /v1/analyze's options.model), `&abstain_below=0.4` and
  `&chart=1` (each answer then carries the timeline chart so far, the SVG of the report).
- With an API key configured, send it as for /v1/analyze (`Authorization: Bearer KEY` or `X-API-Key: KEY`) or, from a
  browser (which cannot set headers on a WebSocket), as the first message `{"api_key": "KEY"}`.
- The server says `{"ready": {"model": ..., "window": N}}`. Then send one utterance per text message, a
  `Speaker: text` line or a JSONL utterance `{"speaker": ..., "text": ...}`, and wait for its answer
  `{"turn": n, "utterance": {...as in analyze's JSON}, "colour": "#rrggbb", "summary": ["<a line per speaker>"],
  "chart": "<svg>"}` (the emotion's colour in the report and chart).
- A message that cannot be analysed (malformed, over the size limit, sent while the queue is full) gets
  `{"error": "<one line>"}` and the stream goes on. A wrong key, a bad query, too many open streams or a conversation
  over the utterance limit get the error and the stream closes (code 1008, or 1013: try again later).

Limits are those of /v1/analyze: `max_text_chars` per utterance, `max_utterances` per stream, `max_body_bytes` per
message, and a turn is refused while the analysis queue is full; at most `max_streams` streams are open at once.
A client that goes away mid-turn costs the turn being computed and nothing else: its session ends with the stream.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from emotrace.errors import EmotraceError
from emotrace.inference.live import WINDOW, LiveSession
from emotrace.inference.pipeline import Analyzer, PipelineOptions
from emotrace.schema import Utterance
from emotrace.serve.batching import Dispatcher, inference_thread
from emotrace.serve.catalog import model_reference
from emotrace.serve.middleware import key_matches, offered_key
from emotrace.serve.settings import ServeSettings

POLICY, TRY_LATER = 1008, 1013  # WebSocket close codes: policy violation; try again later
WRONG_KEY = 'missing or wrong API key (send it as the first message {"api_key": KEY}, or as `Authorization: Bearer KEY`)'
_log = logging.getLogger(__name__)
Result = TypeVar("Result")


class _Refused(Exception):
    """Ends the stream with this message and close code."""

    def __init__(self, message: str, code: int = POLICY) -> None:
        super().__init__(message)
        self.code = code


def install_live(app: FastAPI, settings: ServeSettings, analyzer: Analyzer, dispatcher: Dispatcher) -> None:
    """Adds `/v1/live` to `app`."""
    open_streams = 0

    @app.websocket("/v1/live")
    async def live(websocket: WebSocket) -> None:
        nonlocal open_streams
        await websocket.accept()
        open_streams += 1
        try:
            if open_streams > settings.max_streams:
                raise _Refused(f"this server has its limit of {settings.max_streams} live streams open; reconnect later", TRY_LATER)
            await _stream(websocket, settings, analyzer, dispatcher)
        except _Refused as refusal:
            await _close(websocket, str(refusal), refusal.code)
        except WebSocketDisconnect:
            pass  # the client left; its session goes with this call
        except Exception:
            _log.exception("live stream failed")
            await _close(websocket, "internal error on this stream; the server logged it", 1011)
        finally:
            open_streams -= 1


async def _stream(websocket: WebSocket, settings: ServeSettings, analyzer: Analyzer, dispatcher: Dispatcher) -> None:
    try:
        options, chart = _stream_options(websocket.query_params, settings)
    except EmotraceError as error:
        raise _Refused(str(error)) from None
    key = settings.api_key.encode() if settings.api_key else None
    if key is not None and not key_matches(offered_key(dict(websocket.scope["headers"])), key):
        message = await _receive(websocket)
        offered = _json_object(message).get("api_key") if message is not None else None
        if not isinstance(offered, str) or not key_matches(offered.strip().encode(), key):
            raise _Refused(WRONG_KEY)
    try:
        model = await _on_inference_thread(analyzer.text_model, options)
        session = LiveSession(model, abstain_below=options.abstain_below)
    except EmotraceError as error:
        raise _Refused(str(error)) from None
    await websocket.send_json({"ready": {"model": options.model, "window": WINDOW}})
    number = 0
    while True:
        message = await _receive(websocket)
        number += 1
        if message is None:
            await websocket.send_json({"error": f"message {number}: send text frames (JSON or `Speaker: text`), not binary"})
            continue
        if set(_json_object(message)) == {"api_key"}:
            continue  # the page sends its key field whether or not this server needs one
        if len(session) >= settings.max_utterances:
            raise _Refused(f"this stream reached the server's limit of {settings.max_utterances} utterances; open a new stream")
        try:
            utterance = _utterance(message, number, settings)
            if dispatcher.full:
                raise EmotraceError(f"message {number}: the server is busy", hint=f"send the utterance again in {settings.retry_after_seconds} s")
            answer = await _on_inference_thread(_turn, session, utterance, chart)
        except EmotraceError as error:
            await websocket.send_json({"error": str(error)})
            continue
        await websocket.send_json(answer)


def _stream_options(query: Mapping[str, str], settings: ServeSettings) -> tuple[PipelineOptions, bool]:
    unknown = sorted(set(query) - {"model", "abstain_below", "chart"})
    if unknown:
        raise EmotraceError(f"unknown query parameter {unknown[0]!r}", hint="use model, abstain_below and chart")
    abstain_below = None
    if query.get("abstain_below"):
        try:
            abstain_below = float(query["abstain_below"])
        except ValueError:
            abstain_below = -1.0
        if not 0.0 <= abstain_below <= 1.0:
            raise EmotraceError(f"abstain_below is {query['abstain_below']!r}", hint="give a number from 0 to 1")
    model = model_reference(query.get("model") or settings.model, settings, "model")
    return PipelineOptions(model=model, abstain_below=abstain_below, backend=settings.backend), query.get("chart", "") in ("1", "true")


async def _receive(websocket: WebSocket) -> str | None:
    """The next text message; None for a binary one. Raises WebSocketDisconnect when the client has gone."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    return message.get("text")


def _json_object(message: str) -> dict[str, Any]:
    """`message` as a JSON object, or {} when it is a transcript line or not an object."""
    if not message.lstrip().startswith("{"):
        return {}
    try:
        parsed = json.loads(message)
    except (json.JSONDecodeError, RecursionError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _utterance(message: str, number: int, settings: ServeSettings) -> Utterance:
    from emotrace.io.readers import parse_turn

    if len(message.encode()) > settings.max_body_bytes:
        raise EmotraceError(f"message {number} is over this server's limit of {settings.max_body_bytes} bytes", hint="split the turn")
    utterance = parse_turn(message, "message", number)
    if len(utterance.text) > settings.max_text_chars:
        raise EmotraceError(
            f"message {number}: the text is {len(utterance.text)} characters, over this server's limit of {settings.max_text_chars}", hint="split the turn"
        )
    return utterance


def _turn(session: LiveSession, utterance: Utterance, chart: bool) -> dict[str, Any]:
    """One turn's answer, computed on the inference thread (the summary and chart grow with the conversation)."""
    from emotrace.insights.summary import describe
    from emotrace.io.chart import render_svg, timeline_chart
    from emotrace.io.palette import colour
    from emotrace.io.writers import utterance_record

    prediction = session.add(utterance)
    summary = session.summary()
    answer: dict[str, Any] = {
        "turn": len(session),
        "utterance": utterance_record(utterance, prediction),
        "colour": colour(prediction.label),
        "summary": [describe(s) for s in summary.speakers],
    }
    if chart:
        answer["chart"] = render_svg([timeline_chart(session.conversation, session.predictions, summary, title=False)])
    return answer


async def _on_inference_thread(function: Callable[..., Result], *args: Any) -> Result:
    return await asyncio.wrap_future(inference_thread().submit(function, *args))


async def _close(websocket: WebSocket, message: str, code: int) -> None:
    """Say why, then close; the client may already be gone."""
    try:
        await websocket.send_json({"error": message})
        await websocket.close(code)
    except (WebSocketDisconnect, RuntimeError):
        pass
