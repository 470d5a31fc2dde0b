"""A fake Finnhub WebSocket server on 127.0.0.1 speaking the real protocol (protocols.md B), with faults.

It serves a list of frames (JSON texts, usually :func:`trade_message` of the prints of one instant)
to one client at a time: the handshake checks ``?token=`` (HTTP 401 otherwise), the client's
``{"type":"subscribe","symbol":S}`` messages are collected per connection (over ``max_symbols`` each
is answered ``{"type":"error","msg":"Subscribing to too many symbols"}``), and streaming starts once
every symbol the frames hold is subscribed. A frame counts as *delivered* once sent; after a lost
connection the next one resumes at the first frame not delivered. When all are delivered the server
sends ``{"type":"ping"}`` every ``ping_seconds``.

Faults (``faults={frame_index: [kind, ...]}``, each done once, before that frame is sent):

- ``drop``: close the TCP connection with no close frame (what was sent arrives, then EOF);
- ``close``: a WebSocket close 1001 (the server restarting, as Finnhub does by design);
- ``silent``: send nothing more on this connection, keep it open (the client's watchdog must act);
- ``malformed``: a text frame that is not JSON; ``unknown``: a message of an unknown type;
  ``bad_row``: a trade frame whose rows lack fields; ``error``: an error frame;
- ``refuse:N``: drop, then answer the next N handshakes HTTP 503;
- ``unauthorized:N``: drop, then answer the next N handshakes HTTP 401.

``drop_every=K`` drops the connection after every K frames it delivered. ``rate`` paces the frames
(frames per second). The server runs its own asyncio loop in a thread: ``with FakeFinnhub(...) as
server: server.url``.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from vibe_core.events import Trade

TOO_MANY = '{"msg":"Subscribing to too many symbols","type":"error"}'
PING = '{"type":"ping"}'


def trade_message(trades: Iterable[Trade], conditions: Sequence[str] | None = ("1", "12")) -> str:
    """Finnhub's trade frame for ``trades`` (``t`` in ms: every print must be a whole millisecond)."""
    rows = []
    for t in trades:
        if t.ts % 1_000_000:
            raise ValueError(f"{t.symbol} print at {t.ts} ns is not a whole millisecond")
        row: dict[str, object] = {"s": t.symbol, "p": t.price, "t": t.ts // 1_000_000, "v": t.size}
        if conditions is not None:
            row["c"] = list(conditions)
        rows.append(row)
    return json.dumps({"data": rows, "type": "trade"})


def frame_symbols(frames: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for text in frames:
        data = json.loads(text)
        if data.get("type") == "trade":
            out.update(row["s"] for row in data["data"])
    return out


class FakeFinnhub:
    """See the module docstring."""

    def __init__(
        self,
        frames: Sequence[str],
        *,
        token: str = "test-key",
        faults: Mapping[int, Sequence[str]] | None = None,
        drop_every: int | None = None,
        rate: float | None = None,
        ping_seconds: float = 0.2,
        max_symbols: int = 50,
    ) -> None:
        self.frames = list(frames)
        self.token = token
        self.faults = {i: list(kinds) for i, kinds in (faults or {}).items()}
        self.drop_every, self.rate, self.ping_seconds = drop_every, rate, ping_seconds
        self.max_symbols = max_symbols
        self.need = frame_symbols(self.frames)
        self.next = 0  #: the first frame not delivered
        self.sent_at: list[float] = []  #: time.perf_counter() at each frame's send
        self.handshakes: list[int] = []  #: HTTP status of every handshake (101 accepted)
        self.subscribes: list[list[str]] = []  #: per accepted connection, the symbols it subscribed
        self.faults_done: list[tuple[int, str]] = []
        self.drops: list[float] = []  #: perf_counter() when the server cut a connection
        self.starts: list[int] = []  #: per connection, the first frame it streamed (the resume point)
        self._refuse = 0
        self._unauthorized = 0
        self._done = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self.port = 0

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> FakeFinnhub:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True, name="fake-finnhub")
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fake Finnhub server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> FakeFinnhub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_delivered(self, timeout: float = 60.0) -> None:
        """Block until every frame is delivered (AssertionError after ``timeout``)."""
        if not self._done.wait(timeout):
            raise AssertionError(f"the fake Finnhub delivered {self.next} of {len(self.frames)} frames")

    def delivered_prints(self) -> list[tuple[str, int, float, float]]:
        """(symbol, ts ns, price, size) of every print in the frames delivered so far, in order."""
        out = []
        for text in self.frames[: self.next]:
            data = json.loads(text)
            if data.get("type") == "trade":
                out += [(r["s"], r["t"] * 1_000_000, float(r["p"]), float(r["v"])) for r in data["data"]]
        return out

    def _run(self, ready: threading.Event) -> None:
        asyncio.run(self._main(ready))

    async def _main(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with serve(
            self._handler,
            "127.0.0.1",
            0,
            process_request=self._handshake,
            compression=None,
            ping_interval=None,
            max_size=None,
        ) as server:
            self._server = server
            self.port = next(iter(server.sockets)).getsockname()[1]
            ready.set()
            await self._stop.wait()
            server.close(close_connections=True)

    # -- the protocol --------------------------------------------------------------------------

    def _handshake(self, connection: ServerConnection, request: Request) -> Response | None:
        token = parse_qs(urlsplit(request.path).query).get("token", [""])[0]
        if self._refuse > 0:
            self._refuse -= 1
            self.handshakes.append(503)
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "try later\n")
        if self._unauthorized > 0 or token != self.token:
            self._unauthorized = max(self._unauthorized - 1, 0)
            self.handshakes.append(401)
            return connection.respond(HTTPStatus.UNAUTHORIZED, "Unauthorized\n")
        self.handshakes.append(101)
        return None

    async def _handler(self, ws: ServerConnection) -> None:
        subscribed: list[str] = []
        self.subscribes.append(subscribed)
        ready = asyncio.Event()
        reader = asyncio.create_task(self._read(ws, subscribed, ready))
        try:
            await ready.wait()
            await self._stream(ws)
        except ConnectionClosed:
            pass
        finally:
            reader.cancel()

    async def _read(self, ws: ServerConnection, subscribed: list[str], ready: asyncio.Event) -> None:
        try:
            async for text in ws:
                message = json.loads(text)
                if message.get("type") != "subscribe":
                    continue
                if len(subscribed) >= self.max_symbols:
                    await ws.send(TOO_MANY)
                    continue
                subscribed.append(message["symbol"])
                if self.need <= set(subscribed):
                    ready.set()
        except ConnectionClosed:
            ready.set()

    async def _stream(self, ws: ServerConnection) -> None:
        self.starts.append(self.next)
        sent_here = 0
        start = time.perf_counter()
        while self.next < len(self.frames):
            i = self.next
            for kind in self.faults.pop(i, []):
                self.faults_done.append((i, kind))
                if not await self._fault(ws, kind):
                    return
            if self.rate is not None:
                due = start + sent_here / self.rate
                if (delay := due - time.perf_counter()) > 0:
                    await asyncio.sleep(delay)
            await ws.send(self.frames[i])
            self.sent_at.append(time.perf_counter())
            self.next = i + 1
            sent_here += 1
            if self.drop_every and sent_here % self.drop_every == 0 and self.next < len(self.frames):
                self._drop(ws)
                return
        self._done.set()
        while True:
            await asyncio.sleep(self.ping_seconds)
            await ws.send(PING)

    async def _fault(self, ws: ServerConnection, kind: str) -> bool:
        """Do one fault; False when the connection is over."""
        name, _, count = kind.partition(":")
        if name == "drop":
            self._drop(ws)
        elif name == "close":
            self.drops.append(time.perf_counter())
            await ws.close(1001, "going away")
        elif name == "silent":
            self.drops.append(time.perf_counter())
            await ws.wait_closed()
        elif name == "refuse":
            self._refuse = int(count or 1)
            self._drop(ws)
        elif name == "unauthorized":
            self._unauthorized = int(count or 1)
            self._drop(ws)
        else:
            await ws.send(_BAD[name])
            return True
        return False

    def _drop(self, ws: ServerConnection) -> None:
        """Close the TCP connection without a close frame (buffered frames still go out first)."""
        self.drops.append(time.perf_counter())
        ws.transport.close()


_BAD = {
    "malformed": '{"type":"trade","data":[{"s":"AAPL",',
    "unknown": '{"type":"news","data":[]}',
    "bad_row": '{"type":"trade","data":[{"s":"AAPL","t":1}]}',
    "error": '{"type":"error","msg":"internal hiccup"}',
}
