"""Checks every request passes before a route sees it, as plain ASGI middleware: timing and counting for
/metrics, the optional API key, and the body-size limit (declared Content-Length and bytes actually streamed)."""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from emotrace.serve.metrics import Metrics

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]
WRONG_KEY = "missing or wrong API key (send `Authorization: Bearer KEY` or `X-API-Key: KEY`)"


async def send_error(send: Send, status: int, message: str, headers: dict[str, str] | None = None) -> None:
    """The service's one error shape, `{"error": "<one line>"}`, sent without the framework (middleware runs outside it)."""
    body = json.dumps({"error": message}).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw_headers += [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


class RequestMetrics:
    """Latency and status of every response, by route; unknown paths share one label so scanners cannot grow it."""

    def __init__(self, app: App, metrics: Metrics, routes: frozenset[str]) -> None:
        self.app, self.metrics, self.routes = app, metrics, routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            self.metrics.observe_request(self._route(scope["path"]), status, time.perf_counter() - started)

    def _route(self, path: str) -> str:
        if path in self.routes:
            return path
        return "/static" if path.startswith("/static/") else "other"


class ApiKeyGuard:
    """With a key configured, every path but `open_paths` (health, the page's own files, the API docs) needs
    `Authorization: Bearer KEY` or `X-API-Key: KEY`; compared in constant time."""

    def __init__(self, app: App, key: str, open_paths: frozenset[str]) -> None:
        self.app, self.key, self.open_paths = app, key.encode(), open_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.open_paths or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        if not key_matches(offered_key(dict(scope["headers"])), self.key):
            await send_error(send, 401, WRONG_KEY, {"WWW-Authenticate": "Bearer"})
            return
        await self.app(scope, receive, send)


def offered_key(headers: dict[bytes, bytes]) -> bytes:
    """The key a client sent as `Authorization: Bearer KEY` or `X-API-Key: KEY` (empty when none)."""
    bearer = headers.get(b"authorization", b"")
    return bearer[7:].strip() if bearer[:7].lower() == b"bearer " else headers.get(b"x-api-key", b"").strip()


def key_matches(offered: bytes, key: bytes) -> bool:
    """Compared in constant time, so the response time says nothing about how much of a guess was right."""
    return hmac.compare_digest(offered, key)


class _BodyTooLarge(Exception):
    pass


class BodyLimit:
    """413 for a body over `max_bytes`: at once when Content-Length says so, else as soon as the streamed bytes
    pass the limit (chunked uploads declare no length), so an oversized upload is never read to its end."""

    def __init__(self, app: App, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = f"{self.max_bytes / 2**20:.1f} MB" if self.max_bytes >= 2**20 else f"{self.max_bytes} bytes"
        message = f"request body over this server's limit of {limit}"
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await send_error(send, 413, message)
            return
        received, responded = 0, False

        async def counting_receive() -> Message:
            nonlocal received
            event = await receive()
            if event["type"] == "http.request":
                received += len(event.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return event

        async def tracking_send(event: Message) -> None:
            nonlocal responded
            responded = responded or event["type"] == "http.response.start"
            await send(event)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if responded:
                raise
            await send_error(send, 413, message)
