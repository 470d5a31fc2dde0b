"""``WS /ws/updates`` against the replaying service under uvicorn: numbered messages pushed after
the store committed them; a client that reconnects with ``since`` across a restart of the service
loses and repeats nothing; a stalled client is told it was dropped and cut off while the others
(and the trading loop) go on."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from httpx_ws import WebSocketDisconnect, WebSocketNetworkError, aconnect_ws
from tests.vibe_live.api_service import sample_bars, serving
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, Request

from vibe_live.api.live import LiveApi

pytestmark = pytest.mark.anyio
ROWS = {"order", "fill", "trade", "signal", "halt"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def bars() -> list[Any]:
    return sample_bars(6)


async def _collect(live: LiveApi, since: int | None, until: anyio.Event, out: list[dict[str, Any]]) -> None:
    """Messages of one connection into ``out`` until the server closes it, or ``until`` is set and
    every published row message arrived."""
    url = f"{live.url}/ws/updates" + ("" if since is None else f"?since={since}")
    async with httpx.AsyncClient() as client, aconnect_ws(url, client) as ws:
        while True:
            try:
                text = await ws.receive_text(timeout=0.2)
            except TimeoutError:
                last = max((m["seq"] for m in out if m["type"] in ROWS), default=since or 0)
                if until.is_set() and last >= live.hub.count:
                    return
                continue
            except (WebSocketDisconnect, WebSocketNetworkError):
                return
            out.append(json.loads(text))


def _rows(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if m["type"] in ROWS]


async def test_resume_with_since_across_a_restart_loses_and_repeats_nothing(
    tmp_path: Path, bars: list[Any]
) -> None:
    db = tmp_path / "s.db"
    first: list[dict[str, Any]] = []
    second: list[dict[str, Any]] = []
    never = anyio.Event()
    async with (
        serving(db, bars, stop_after=900, wait=False) as (service, live, feed),
        anyio.create_task_group() as tg,
    ):
        tg.start_soon(_collect, live, 0, never, first)  # from the start, while the service replays
        await feed.done.wait()
        await anyio.sleep(0.3)
        service.stop("restart")  # the server closes the connection: the client's task ends
    # the service stopped (its shutdown's CloseAll may have been recorded after this client left)
    rows = _rows(first)
    assert rows and [m["seq"] for m in rows] == list(range(1, len(rows) + 1))
    assert {m["type"] for m in first} >= {"order", "fill", "signal", "account", "position"}
    resume = rows[-1]["seq"]

    done = anyio.Event()
    async with serving(db, bars, wait=False) as (_, live, feed), anyio.create_task_group() as tg:
        tg.start_soon(_collect, live, resume, done, second)
        await feed.done.wait()
        await anyio.sleep(0.2)
        done.set()
    later = _rows(second)
    assert later[0]["seq"] == resume + 1

    # the whole stream, read afresh from the final store, is the two parts end to end
    whole: list[dict[str, Any]] = []
    finished = anyio.Event()
    finished.set()
    async with serving(db, bars, wait=True) as (_, live, _feed):
        await _collect(live, 0, finished, whole)
    assert _rows(whole) == rows + later
    assert [m["seq"] for m in _rows(whole)] == list(range(1, len(rows) + len(later) + 1))
    assert any(m["type"] == "trade" for m in later) and any(m["type"] == "trade" for m in rows)


def _stalled_client(port: int) -> socket.socket:
    """A WebSocket client that completes the handshake and then reads nothing (tiny receive buffer)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    sock.connect(("127.0.0.1", port))
    ws = WSConnection(ConnectionType.CLIENT)
    sock.sendall(ws.send(Request(host=f"127.0.0.1:{port}", target="/ws/updates?since=0")))
    while True:
        ws.receive_data(sock.recv(256))
        for event in ws.events():
            if isinstance(event, AcceptConnection):
                return sock


async def test_a_stalled_client_slows_neither_the_loop_nor_the_others(
    tmp_path: Path, bars: list[Any]
) -> None:
    """A client that stops reading fills its TCP buffers, then its bounded queue; the service's step
    task never waits for it (it only pokes the hub), and the other clients get every message."""
    fast: list[dict[str, Any]] = []
    done = anyio.Event()
    async with serving(tmp_path / "s.db", bars, wait=False, ws_buffer=20) as (service, live, feed):
        sock = await anyio.to_thread.run_sync(_stalled_client, live.server.port)
        async with anyio.create_task_group() as tg:
            tg.start_soon(_collect, live, 0, done, fast)
            with anyio.fail_after(60):
                await feed.done.wait()  # the replay ran to its end with the stalled client connected
            await anyio.sleep(0.3)
            done.set()
        assert [m["seq"] for m in _rows(fast)] == list(range(1, live.hub.count + 1))
        assert live.hub.count > 50 and service.journal.last_seq > 1000
        sock.close()


class SlowSocket:
    """The hub's view of a WebSocket whose peer reads ``free`` messages, then nothing until ``release``."""

    def __init__(self, free: int) -> None:
        self.free = free
        self.sent: list[dict[str, Any]] = []
        self.release = anyio.Event()
        self.closed: tuple[int, str] | None = None

    async def accept(self) -> None:
        pass

    async def send_data(self, data: str, mode: str = "text") -> None:
        if len(self.sent) >= self.free:
            await self.release.wait()
        self.sent.append(json.loads(data))

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed = (code, reason)


async def test_a_client_that_falls_too_far_behind_is_told_and_dropped(
    tmp_path: Path, bars: list[Any]
) -> None:
    """The fan-out over a real store: a client stuck after 5 messages overflows its buffer of 8
    when more rows are committed, is sent ``dropped`` with the last number it got, and is closed;
    the client beside it gets everything; resuming ``since`` that number gives the rest."""
    from tests.vibe_live.api_service import settings

    from vibe_backtest.api import calendar
    from vibe_core.engine import new_state
    from vibe_live.api.store_reader import StoreReader
    from vibe_live.api.updates import UpdateHub
    from vibe_live.recovery import Journal
    from vibe_live.replaying import replay_into
    from vibe_live.store import Store

    core = settings().core
    half = len(bars) // 2
    with Store(tmp_path / "s.db") as store:
        journal = Journal.resume(store, lambda: new_state(core, calendar()), snapshot_every=10**6)
        replay_into(journal, bars[:half], finish=False)
        reader = StoreReader(store.path)
        hub = UpdateHub(reader, lambda: [], buffer=8)
        before = hub.count
        slow, fast = SlowSocket(free=5), SlowSocket(free=10**9)
        async with anyio.create_task_group() as tg:
            tg.start_soon(hub.serve, slow, 0)
            tg.start_soon(hub.serve, fast, 0)
            await anyio.sleep(0.05)
            replay_into(journal, bars[half:], finish=True)  # more rows committed
            await hub.publish()
            await anyio.sleep(0.05)
            assert hub.dropped == 0 or slow not in hub.clients
            slow.release.set()
            await anyio.sleep(0.05)
            await hub.close_all()
        assert hub.count > before + 8
        assert [m["seq"] for m in fast.sent] == list(range(1, hub.count + 1))
        assert hub.dropped == 1 and slow.closed == (1008, "too slow")
        notice = slow.sent[-1]
        assert notice == {"type": "dropped", "reason": "too slow", "seq": 5}
        assert slow.sent[:-1] == fast.sent[:5]
        assert hub.backlog(5) == [msgspec_encode(m) for m in fast.sent[5:]]
        reader.close()


def msgspec_encode(message: dict[str, Any]) -> bytes:
    import msgspec

    return msgspec.json.encode(message)


async def test_overlapping_publishes_number_each_row_once(tmp_path: Path, bars: list[Any]) -> None:
    """The service's stop publishes the last rows (its shutdown's CloseAll) while the hub's own task
    may still be publishing them after the step's poke: the two must not both number the same rows.
    If they did, one row went out twice under two numbers and every later number was one too high,
    so a client resuming ``since`` its last number skipped a row (the restart lost a fill)."""
    from tests.vibe_live.api_service import settings

    from vibe_backtest.api import calendar
    from vibe_core.engine import new_state
    from vibe_live.api.store_reader import StoreReader
    from vibe_live.api.updates import UpdateHub
    from vibe_live.recovery import Journal
    from vibe_live.replaying import replay_into
    from vibe_live.store import Store

    core = settings().core
    half = len(bars) // 2
    with Store(tmp_path / "s.db") as store:
        journal = Journal.resume(store, lambda: new_state(core, calendar()), snapshot_every=10**6)
        replay_into(journal, bars[:half], finish=False)
        reader = StoreReader(store.path)
        hub = UpdateHub(reader, lambda: [])
        before = hub.count
        client = SlowSocket(free=10**9)
        async with anyio.create_task_group() as tg:
            tg.start_soon(hub.serve, client, 0)
            tg.start_soon(hub.run)
            await anyio.sleep(0.05)
            replay_into(journal, bars[half:], finish=True)  # more rows committed
            hub.poke()  # the step hook: the hub's task publishes them ...
            await anyio.lowlevel.checkpoint()
            await hub.publish()  # ... and so does LiveApi.stop, at the same time
            await anyio.sleep(0.05)
            await hub.close_all()
            tg.cancel_scope.cancel()
        fresh = UpdateHub(reader, lambda: [])  # the numbering as a restarted service reads the store
        assert hub.count == fresh.count == reader.stream_count() > before + 2
        assert hub.key == fresh.key
        assert [msgspec_encode(m) for m in client.sent] == fresh.backlog(0)
        for n in (before, before + 1, hub.count - 1):  # a resume after any of them repeats and loses nothing
            assert fresh.backlog(n) == [msgspec_encode(m) for m in client.sent[n:]]
        reader.close()
