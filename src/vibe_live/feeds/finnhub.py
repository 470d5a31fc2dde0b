"""The Finnhub WebSocket feed: live trade prints over one connection, behind :class:`MarketFeed`.

One connection per process (a key allows one), one ``subscribe`` message per symbol, sent again
after every reconnect (the server keeps nothing). Each ``trade`` message becomes one frame of
prints (:mod:`vibe_live.feeds.finnhub_parse`); ``ping`` messages and prints feed a watchdog: nothing
for ``watchdog_seconds`` -> close and reconnect (connections can go silent with no close frame).

Reconnects wait a full-jitter exponential backoff (uniform in ``[0, min(cap, base * 2**n))``, n the
failed attempts since data last flowed); a 401 at the handshake (a bad key) logs one clear error
and waits ``auth_backoff_seconds``. Malformed JSON, unknown message types and bad rows are counted
per kind in :attr:`FinnhubFeed.health` ``.faults`` and logged at most once per kind every
``fault_log_seconds``; none is fatal. The key is never logged: every URL in a log line is masked.

Connection changes are frames too: ``[FeedStatus(connected=False, reason)]`` when a connection is
lost (or the first one cannot be made), ``[FeedStatus(connected=True, reason)]`` whenever one is
made (the first included: a restarted service may resume a log that ended while down). Their
``ts`` is the wall time of the observation; the service stamps them with its own time before it
logs them (see :meth:`vibe_live.service.LiveService`).

httpx-ws raises inside an ``ExceptionGroup`` when an error leaves ``aconnect_ws`` (its session
runs a task group): the connection errors are caught there with ``except*``, nothing broader. For
the same reason a ``yield`` inside the connection catches ``GeneratorExit`` (the consumer closing
the stream) and leaves the connection by returning: thrown through the task group it would come out
wrapped in a group, which ``aclose()`` cannot take.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import aclosing
from typing import TypeVar

import anyio
import httpx
from httpx_ws import (
    AsyncWebSocketSession,
    WebSocketDisconnect,
    WebSocketNetworkError,
    WebSocketUpgradeError,
    aconnect_ws,
)
from wsproto.events import BytesMessage, TextMessage
from wsproto.utilities import LocalProtocolError

from vibe_core.events import FeedStatus
from vibe_live.feeds import FeedHealth, Frame, PrintFrame
from vibe_live.feeds.finnhub_parse import parse_message
from vibe_live.logs import LOGGER
from vibe_live.settings import Settings

__all__ = [
    "FinnhubFeed",
    "PrintFrame",
    "SymbolLimitError",
    "finnhub_feed",
    "mask_token",
    "http_url",
    "TOO_MANY",
]

#: httpx logs every request's URL at INFO, and the handshake's carries the key: never below WARNING
logging.getLogger("httpx").setLevel(logging.WARNING)

TOO_MANY = "Subscribing to too many symbols"  #: Finnhub's error text over the per-key symbol limit
_TOKEN = re.compile(r"(token=)[^&]*")
_MAX_MESSAGE = 16 * 2**20  #: a batched trade frame can be large
_E = TypeVar("_E", bound=BaseException)


def mask_token(url: str) -> str:
    """``url`` with its ``token=`` value masked (for log lines)."""
    return _TOKEN.sub(r"\1***", url)


def http_url(url: str, key: str) -> str:
    """The handshake URL: ``ws(s)://`` as ``http(s)://`` (httpx speaks HTTP), plus ``token=KEY``."""
    if url.startswith("wss://"):
        url = "https://" + url[6:]
    elif url.startswith("ws://"):
        url = "http://" + url[5:]
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}token={key}" if key else url


def _log(event: str, level: int = logging.INFO, **fields: object) -> None:
    LOGGER.log(level, event, extra={"event": event, "fields": fields})


class FinnhubFeed:
    """A :class:`~vibe_live.feeds.MarketFeed` over Finnhub's trade stream (never ends by itself)."""

    def __init__(
        self,
        url: str,
        key: str,
        symbols: Sequence[str],
        *,
        watchdog_seconds: float = 150.0,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        auth_backoff: float = 300.0,
        fault_log_seconds: float = 60.0,
        rng: random.Random | None = None,
        now_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.url, self.symbols = url, tuple(symbols)
        self._target = http_url(url, key)
        self.shown_url = mask_token(self._target)
        self.watchdog_seconds = watchdog_seconds
        self.backoff_base, self.backoff_cap, self.auth_backoff = backoff_base, backoff_cap, auth_backoff
        self.fault_log_seconds = fault_log_seconds
        self._rng = rng or random.Random()
        self._now = now_ns
        self._symbol_set = frozenset(self.symbols)
        self.health = FeedHealth()
        self.connections = 0  #: connections made
        self.refused: tuple[str, ...] = ()  #: the subscriptions the server refused (too many symbols)
        self._fault_logged: dict[str, float] = {}
        self._failures = 0  #: failed attempts since data last flowed (the backoff's exponent)
        self._reported: bool | None = None  #: the last connection state yielded (None: none yet)
        self._errors_seen = 0  #: "too many symbols" errors on this connection

    # -- the frame stream ----------------------------------------------------------------------

    async def frames(self) -> AsyncGenerator[Frame, None]:
        # one client for every connection (TLS set up once); the inner stream is closed with this one
        async with httpx.AsyncClient(timeout=10.0) as client, aclosing(self._connections(client)) as stream:
            async for frame in stream:
                yield frame

    async def _connections(self, client: httpx.AsyncClient) -> AsyncGenerator[Frame, None]:
        health, symbols, now_ns = self.health, self._symbol_set, self._now
        last_print = health.last_print_ns
        closed = False  #: the consumer closed this stream (aclose) while it was suspended inside a connection
        while True:
            reason, wait = "", 0.0
            try:
                async with aconnect_ws(
                    self._target,
                    client,
                    max_message_size_bytes=_MAX_MESSAGE,
                    keepalive_ping_interval_seconds=None,  # the watchdog watches the data
                    session_class=AsyncWebSocketSession,
                ) as ws:
                    self.connections += 1
                    self._errors_seen = 0
                    for symbol in self.symbols:
                        await ws.send_text(f'{{"type":"subscribe","symbol":"{symbol}"}}')
                    now = now_ns()
                    health.up(now)
                    health.last_message_ns = now
                    _log(
                        "feed connected",
                        url=self.shown_url,
                        subscribed=len(self.symbols),
                        connection=self.connections,
                    )
                    self._reported = True
                    try:
                        yield [FeedStatus(ts=now, connected=True, reason=self._up_reason(), ts_recv=now)]
                    except GeneratorExit:
                        closed = True
                        return
                    while True:
                        try:
                            event = await ws.receive(timeout=self.watchdog_seconds)
                        except TimeoutError:
                            reason = f"watchdog: silent {self.watchdog_seconds:g} s"
                            self._faults([("watchdog", reason + ": reconnecting")])
                            break
                        now = now_ns()
                        health.last_message_ns = now
                        if not isinstance(event, TextMessage):
                            if isinstance(event, BytesMessage):
                                self._faults([("binary message", f"{len(event.data)} bytes")])
                            continue
                        message = parse_message(event.data, now, symbols)
                        if message.faults:
                            self._faults(message.faults)
                        if message.trades:
                            self._failures = 0
                            for trade in message.trades:
                                last_print[trade.symbol] = now
                            try:
                                yield PrintFrame(message.trades, message.conditions)
                            except GeneratorExit:
                                closed = True
                                return
                        elif message.kind == "ping":
                            self._failures = 0
                        elif message.kind == "error":
                            self._server_error(message.error)
            except* WebSocketUpgradeError as group:
                status = _first(group, WebSocketUpgradeError).response.status_code
                reason, wait = self._refused(status)
            except* WebSocketDisconnect as group:
                exc = _first(group, WebSocketDisconnect)
                reason = f"closed by server (code {exc.code}{', ' + exc.reason if exc.reason else ''})"
            except* (WebSocketNetworkError, LocalProtocolError):
                reason = "connection lost"
            except* httpx.TransportError as group:
                reason = f"cannot connect: {type(_first(group, httpx.TransportError)).__name__}"
            if closed:
                return
            down = self._went_down(reason)
            if down is not None:
                yield [down]
            await anyio.sleep(wait or self._backoff())

    # -- connection state ----------------------------------------------------------------------

    def _up_reason(self) -> str:
        return "connected" if self.connections == 1 else "reconnected"

    def _went_down(self, reason: str) -> FeedStatus | None:
        """Note a lost connection (or a failed attempt); the status to yield when it is news."""
        now = self._now()
        self._failures += 1
        if self.health.connected or self._reported is None:
            self.health.down(now)
        if self._reported is False:
            _log("feed still down", logging.DEBUG, reason=reason)
            return None
        _log("feed disconnected", logging.WARNING, reason=reason, url=self.shown_url)
        self._reported = False
        return FeedStatus(ts=now, connected=False, reason=reason, ts_recv=now)

    def _refused(self, status: int) -> tuple[str, float]:
        """A refused handshake: 401 waits the long auth backoff, anything else the usual one."""
        if status == 401:
            self.health.faults["401 unauthorized"] += 1
            _log(
                "Finnhub refused the API key (HTTP 401 at the handshake): check FINNHUB_API_KEY / "
                "VIBE__DATA__FINNHUB_API_KEY (a sandbox key is refused too)",
                logging.ERROR,
                url=self.shown_url,
                retry_in=f"{self.auth_backoff:g} s",
            )
            return "401 bad key", self.auth_backoff
        reason = f"handshake refused (HTTP {status})"
        self._faults([(f"handshake {status}", reason)])
        return reason, 0.0

    def _backoff(self) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**(failures - 1)))."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** max(self._failures - 1, 0))
        return self._rng.uniform(0.0, ceiling)

    # -- faults --------------------------------------------------------------------------------

    def _faults(self, faults: list[tuple[str, str]]) -> None:
        for kind, detail in faults:
            self.health.faults[kind] += 1
            self._log_fault(kind, detail)

    def _log_fault(self, kind: str, detail: str) -> None:
        """At most one line per kind every ``fault_log_seconds`` (with the running count)."""
        now = time.monotonic()
        last = self._fault_logged.get(kind)
        if last is not None and now - last < self.fault_log_seconds:
            return
        self._fault_logged[kind] = now
        _log("feed fault", logging.WARNING, kind=kind, count=self.health.faults[kind], detail=detail)

    def _server_error(self, text: str) -> None:
        if TOO_MANY in text:
            self._errors_seen += 1
            self.health.faults["too many symbols"] += 1
            self.refused = self.symbols[len(self.symbols) - self._errors_seen :]
            _log(
                "Finnhub refused subscriptions: too many symbols for this key",
                logging.ERROR,
                refused=",".join(self.refused),
                accepted=len(self.symbols) - len(self.refused),
                note="each refusal answers one of the last subscribes; lower the symbols (data.max_symbols)",
            )
            return
        self.health.faults["server error"] += 1
        self._log_fault("server error", text[:200])


def _first(group: BaseExceptionGroup[BaseException], kind: type[_E]) -> _E:
    """The first exception of ``kind`` in ``group`` (``except*`` hands a group of them)."""
    for exc in group.exceptions:
        if isinstance(exc, kind):
            return exc
        if isinstance(exc, BaseExceptionGroup):
            return _first(exc, kind)
    raise AssertionError(f"no {kind.__name__} in {group!r}")


class SymbolLimitError(ValueError):
    """More symbols than ``data.max_symbols``: refused before connecting."""


def finnhub_feed(settings: Settings) -> FinnhubFeed:
    """The feed of the service's ``settings`` (url, key, symbols, watchdog, backoff)."""
    data, symbols = settings.data, settings.core.symbols
    if len(symbols) > data.max_symbols:
        raise SymbolLimitError(
            f"{len(symbols)} symbols: Finnhub takes at most data.max_symbols={data.max_symbols} per key "
            "(over it the server refuses subscriptions without naming them); trade fewer symbols"
        )
    return FinnhubFeed(
        data.finnhub_url,
        data.finnhub_api_key,
        symbols,
        watchdog_seconds=data.watchdog_seconds,
        backoff_base=data.reconnect_base_seconds,
        backoff_cap=data.reconnect_cap_seconds,
        auth_backoff=data.auth_backoff_seconds,
    )
