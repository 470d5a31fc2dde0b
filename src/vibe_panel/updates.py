"""The live update stream: ``WS /ws/updates``, resumed with ``?since=SEQ`` after every break.

:class:`UpdateStream` keeps the number of the last row message it handed on; when the connection
drops (the service restarted, the network broke, or the API told a slow client it was
``dropped``) it waits a moment and connects again with ``since``, so the row messages in between
arrive once, in order: any already seen (``seq`` not above the last) is skipped. State messages
(account, position, health) pass as they come. It runs as a task on the dashboard server's event
loop and hands each message to a plain callback, which only marks what to refresh.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import httpx
from httpx_ws import (
    AsyncWebSocketSession,
    WebSocketDisconnect,
    WebSocketNetworkError,
    WebSocketUpgradeError,
    aconnect_ws,
)

__all__ = ["ROW_TYPES", "UpdateStream"]

#: the numbered messages (one per stored row); ``account``, ``position`` and ``health`` are state
#: messages carrying the latest row's number, sent on connect and on change: never deduplicated
ROW_TYPES = frozenset({"order", "fill", "trade", "signal", "halt"})

log = logging.getLogger(__name__)

_BREAKS = (WebSocketDisconnect, WebSocketNetworkError, WebSocketUpgradeError, httpx.HTTPError, OSError)


class UpdateStream:
    """Messages ``{"seq", "type", "data"}`` from one API, in order, across reconnects."""

    def __init__(
        self,
        base_url: str,
        on_message: Callable[[dict[str, Any]], None],
        *,
        retry_s: float = 0.5,
        max_retry_s: float = 5.0,
        api_key: str = "",
        since: int | None = None,
    ) -> None:
        self.url = base_url.rstrip("/") + "/ws/updates"
        self.on_message = on_message
        self.retry_s, self.max_retry_s = retry_s, max_retry_s
        self.headers = {"X-API-Key": api_key} if api_key else {}
        #: the last row message handed on; ``since`` starts after it (0: every stored row), None: only
        #: what comes after the first connection (the dashboard reads the rest from the routes)
        self.last_seq: int | None = since
        self.connected = False
        self.connects = 0  #: successful connections, the first included
        self.last_error = ""

    def _target(self) -> str:
        return self.url if self.last_seq is None else f"{self.url}?since={self.last_seq}"

    async def run(self) -> None:
        """Connect, read, reconnect with ``since``; returns only when cancelled."""
        delay = self.retry_s
        async with httpx.AsyncClient(headers=self.headers, timeout=10.0) as http:
            while True:
                try:
                    ws: AsyncWebSocketSession
                    async with aconnect_ws(self._target(), http) as ws:
                        self.connected, self.connects, delay = True, self.connects + 1, self.retry_s
                        while True:
                            if not self._handle(await ws.receive_json()):
                                break
                except _BREAKS as exc:
                    self.last_error = f"{type(exc).__name__}: {exc}".rstrip(": ")
                except BaseExceptionGroup as group:  # httpx-ws wraps what leaves its task group
                    self.last_error = "; ".join(type(e).__name__ for e in group.exceptions)
                except ValueError as exc:  # a frame that is not JSON
                    self.last_error = f"bad frame: {exc}"
                    log.warning("updates: %s", self.last_error)
                self.connected = False
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_retry_s)

    def _handle(self, message: Any) -> bool:
        """Pass one message on; False when the server dropped us (reconnect with ``since``)."""
        if not isinstance(message, dict):
            return True
        if message.get("type") == "dropped":
            self.last_error = f"dropped by the API: {message.get('reason', '')}"
            return False
        seq = message.get("seq")
        if message.get("type") in ROW_TYPES and isinstance(seq, int):
            if self.last_seq is not None and seq <= self.last_seq:
                return True  # already handed on (a resume repeats nothing, but be sure)
            self.last_seq = seq
        self.on_message(message)
        return True
