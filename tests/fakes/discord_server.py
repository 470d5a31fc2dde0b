"""A fake Discord webhook server on 127.0.0.1: a raw ASGI app under uvicorn, in a thread, real sockets.

It enforces what Discord documents for ``POST /api/v10/webhooks/{id}/{token}``: a per-webhook
window (``limit`` requests in any ``period`` seconds; ``X-RateLimit-*`` headers on every answer,
``Remaining: 0`` with ``Reset-After`` when full) and a global one (``global_limit`` per second over
all webhooks), a ``429`` with a JSON ``retry_after`` in seconds (``global: true`` and
``X-RateLimit-Global`` for the global one) to any request over a limit, and the embed limits (a
``400`` with code 50035 on a violation; 50006 for an empty message); a ``GET`` answers the
webhook object. It records every POST and
every delivered message. On demand: answer the next requests with given statuses (``fail``), a
webhook deleted (``gone``: 404 10015), a forced 429 (``force_429``), or hold the request after
``hold_after`` deliveries until :meth:`release` and then drop it (answer 503, not delivered), so a
test can kill its client while a request is in flight.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn

_PATH = re.compile(r"^/api/(?:v(?P<version>\d+)/)?webhooks/(?P<id>\d+)/(?P<token>[^/]+)$")
_FILLER = "\u200b"

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Request:
    at: float  #: monotonic time of arrival
    webhook: str
    version: int | None
    query: str
    status: int
    body: Any


def embed_problems(body: Any) -> list[str]:
    """Why Discord would refuse ``body`` (its documented limits), or nothing."""
    if not isinstance(body, dict):
        return ["body is not an object"]
    embeds = body.get("embeds") or []
    content = body.get("content") or ""
    problems = []
    if not embeds and not content:
        problems.append("50006 empty message")
    if len(content) > 2000:
        problems.append("content over 2000")
    if len(embeds) > 10:
        problems.append(f"{len(embeds)} embeds > 10")
    total = 0
    for n, e in enumerate(embeds):
        title, desc = e.get("title", ""), e.get("description", "")
        footer = (e.get("footer") or {}).get("text", "")
        author = (e.get("author") or {}).get("name", "")
        slots = (("title", title, 256), ("description", desc, 4096), ("footer", footer, 2048),
                 ("author", author, 256))  # fmt: skip
        for name, text, limit in slots:
            if utf16(text.strip()) > limit:
                problems.append(f"embed {n} {name} {utf16(text)} > {limit}")
            total += utf16(text.strip())
        fields = e.get("fields") or []
        if len(fields) > 25:
            problems.append(f"embed {n}: {len(fields)} fields > 25")
        if not (title.strip() or desc.strip() or fields):
            problems.append(f"embed {n} is empty")
        for k, f in enumerate(fields):
            name, value = f.get("name", ""), f.get("value", "")
            if not name.strip() or not value.strip():
                problems.append(f"embed {n} field {k}: blank name or value")
            if utf16(name.strip()) > 256 or utf16(value.strip()) > 1024:
                problems.append(f"embed {n} field {k} over 256/1024")
            total += utf16(name.strip()) + utf16(value.strip())
    if total > 6000:
        problems.append(f"{total} characters > 6000")
    return problems


@dataclass
class FakeDiscord:
    limit: int = 5
    period: float = 2.0
    global_limit: int = 50  #: per second, all webhooks together
    requests: list[Request] = field(default_factory=list)
    delivered: list[dict[str, Any]] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)
    fail: deque[int] = field(default_factory=deque)  #: statuses for the next requests
    force_429: deque[tuple[float, bool]] = field(default_factory=deque)  #: (retry_after, global)
    hold_after: int | None = None  #: hold the request that arrives after this many deliveries
    over_limit: int = 0  #: requests that broke a limit (answered 429 by the enforcement)
    port: int = 0
    _windows: dict[str, deque[float]] = field(default_factory=dict)
    _global: deque[float] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _released: threading.Event = field(default_factory=threading.Event)
    held: threading.Event = field(default_factory=threading.Event)
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    # -- control -------------------------------------------------------------------------------

    def url(self, webhook: str = "123/tok", *, versioned: bool = False) -> str:
        prefix = "/api/v10" if versioned else "/api"
        return f"http://127.0.0.1:{self.port}{prefix}/webhooks/{webhook}"

    def release(self) -> None:
        self._released.set()

    def messages(self, webhook: str = "123") -> list[dict[str, Any]]:
        with self._lock:
            return [d for d in self.delivered if d["webhook"] == webhook]

    def start(self, port: int = 0) -> FakeDiscord:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(("127.0.0.1", port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self, log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the fake Discord server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._released.set()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    # -- the app -------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        match = _PATH.match(scope["path"])
        if scope["method"] == "GET" and match is not None:  # get webhook with token
            if match["id"] in self.gone:
                await _answer(send, 404, {"message": "Unknown Webhook", "code": 10015})
            else:
                await _answer(send, 200, {"id": match["id"], "type": 1, "name": "fake", "channel_id": "99"})
            return
        if scope["method"] != "POST" or match is None:
            await _answer(send, 404, {"message": "404: Not Found", "code": 0})
            return
        webhook = match["id"]
        version = int(match["version"]) if match["version"] else None
        query = scope.get("query_string", b"").decode()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        status, payload, headers = await self._handle(webhook, body, query)
        with self._lock:
            self.requests.append(Request(time.monotonic(), webhook, version, query, status, body))
        await _answer(send, status, payload, headers)

    async def _handle(self, webhook: str, body: Any, query: str) -> tuple[int, Any, dict[str, str]]:
        now = time.monotonic()
        window = self._windows.setdefault(webhook, deque())
        while window and now - window[0] >= self.period:
            window.popleft()
        while self._global and now - self._global[0] >= 1.0:
            self._global.popleft()
        if webhook in self.gone:
            return 404, {"message": "Unknown Webhook", "code": 10015}, {}
        if self.force_429:
            retry, is_global = self.force_429.popleft()
            return 429, *_limited(retry, is_global)
        if len(self._global) >= self.global_limit:
            self.over_limit += 1
            return 429, *_limited(1.0 - (now - self._global[0]), True)
        if len(window) >= self.limit:
            self.over_limit += 1
            return 429, *_limited(self.period - (now - window[0]), False)
        window.append(now)
        self._global.append(now)
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.limit - len(window)),
            "X-RateLimit-Reset-After": f"{self.period - (now - window[0]):.3f}",
            "X-RateLimit-Bucket": f"webhook-{webhook}",
        }
        if self.fail:
            return self.fail.popleft(), {"message": "injected", "code": 0}, headers
        problems = embed_problems(body)
        if problems:
            return 400, {"message": "Invalid Form Body", "code": 50035, "errors": problems}, headers
        if self.hold_after is not None and len(self.delivered) >= self.hold_after:
            self.held.set()
            while not self._released.is_set():
                await asyncio.sleep(0.01)
            return 503, {"message": "dropped while held", "code": 0}, headers
        with self._lock:
            self.delivered.append({"webhook": webhook, "body": body})
            n = len(self.delivered)
        if "wait=true" in query:
            return 200, {"id": str(n), "embeds": body.get("embeds", [])}, headers
        return 204, None, headers


def _limited(retry_after: float, is_global: bool) -> tuple[Any, dict[str, str]]:
    retry_after = max(retry_after, 0.001)
    body = {
        "message": "You are being rate limited.",
        "retry_after": round(retry_after, 3),
        "global": is_global,
    }
    headers = {
        "Retry-After": str(max(1, round(retry_after))),
        "X-RateLimit-Scope": "global" if is_global else "user",
    }
    if is_global:
        headers["X-RateLimit-Global"] = "true"
    return body, headers


async def _answer(send: Send, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
    data = b"" if payload is None else json.dumps(payload).encode()
    head = [(b"content-type", b"application/json")] if data else []
    head += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": data})
