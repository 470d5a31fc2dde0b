"""``WS /ws/updates``: the store's committed read rows as numbered messages, plus the current
account, positions and health.

Numbering. Every row of ``order_events``, ``fills``, ``trades``, ``signals`` and ``halts`` is one
message (type ``order``, ``fill``, ``trade``, ``signal``, ``halt``), numbered 1, 2, ... in the
order of its key ``(seq, idx)`` (the log position of the event that caused it). The numbers are a
function of the store alone: a restarted service (or another process reading the file) numbers
the same rows the same way, so ``?since=N`` resumes exactly after message N, losing and repeating
nothing. State messages (``account``, ``position``, ``health``) are not numbered events: they
carry the number of the latest row message and are sent on connect and whenever they change.

Fan-out. The service calls :meth:`UpdateHub.poke` after each step that recorded something (it
never waits for a client); the hub's task reads the new rows and offers them to every client's
bounded buffer without waiting. A client whose buffer is full is sent
``{"type": "dropped", "reason": "too slow", "seq": last}`` (``last``: the last message it was
sent) and closed; it may reconnect with ``since=last``.

One numberer. Rows are numbered by counting them off after the last key published, so two
publishes must never overlap: both would read the same new rows and count them, one row going out
twice under two numbers and every later number one too high (a client resuming ``since`` its last
number then skips a row). The hub's task and the service's stop (which publishes the shutdown's
last rows) both publish, so :meth:`UpdateHub.publish` holds a lock.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

import anyio
import anyio.lowlevel
import msgspec
from litestar import WebSocket
from litestar.exceptions import WebSocketDisconnect

from vibe_live.api.store_reader import StoreReader
from vibe_live.logs import LOGGER

__all__ = ["UpdateHub", "Client", "BUFFER"]

BUFFER = 1000  #: messages a client may fall behind before it is dropped
HEALTH_EVERY_S = 5.0

Message = dict[str, Any]
_encode = msgspec.json.Encoder().encode


def _log(event: str, level: int = logging.INFO, **fields: object) -> None:
    LOGGER.log(level, event, extra={"event": event, "fields": fields})


class Client:
    """One connected socket: its buffer and the last message number it was sent."""

    def __init__(self, size: int) -> None:
        #: (the row number, or None for a state message; the encoded message)
        self.send, self.receive = anyio.create_memory_object_stream[tuple[int | None, bytes]](size)
        self.last = 0
        self.dropped = False
        self.scope = anyio.CancelScope()

    def offer(self, item: tuple[int | None, bytes]) -> bool:
        """Queue ``item`` without waiting; False (and the client is marked dropped) when full."""
        if self.dropped:
            return False
        try:
            self.send.send_nowait(item)
        except anyio.WouldBlock:
            self.dropped = True
            self.scope.cancel()
            return False
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            self.dropped = True
            return False
        return True


class UpdateHub:
    """Numbers the store's read rows and fans them out (see the module docstring)."""

    def __init__(
        self,
        reader: StoreReader,
        state: Callable[[], list[Message]],
        health: Callable[[], Any] | None = None,
        *,
        buffer: int = BUFFER,
    ) -> None:
        self.reader = reader
        self._state = state
        self._health = health
        self.buffer = buffer
        self.clients: set[Client] = set()
        self.count = reader.stream_count()
        self.key = reader.stream_key_at(self.count)
        self._wake = anyio.Event()
        self._publishing = anyio.Lock()  #: one publish at a time (see the module docstring)
        self._last_state: dict[str, bytes] = {}
        self.dropped = 0

    def poke(self) -> None:
        """New rows were committed: wake the hub's task (sync; never blocks the caller)."""
        self._wake.set()

    async def run(self) -> None:
        """Forever: after each poke, publish the new rows and the changed state; health every 5 s."""
        next_health = anyio.current_time()
        while True:
            wait = max(0.0, next_health - anyio.current_time()) if self._health else math.inf
            with anyio.move_on_after(wait):
                await self._wake.wait()
            if self._wake.is_set():
                self._wake = anyio.Event()
                await self.publish()
            if self._health is not None and anyio.current_time() >= next_health:
                next_health = anyio.current_time() + HEALTH_EVERY_S
                if self.clients:
                    self._fan(None, self._frame({"type": "health", "data": self._health()}))

    async def publish(self) -> None:
        """Read the rows committed since the last publish, number them and offer them to every client
        (a checkpoint after each, so a client that keeps up drains its buffer during a burst).
        A publish that starts while another runs waits for it, then reads after where it ended."""
        async with self._publishing:
            for key, kind, data in self.reader.stream_after(self.key):
                self.count += 1
                self.key = key
                self._fan(self.count, _encode({"seq": self.count, "type": kind, "data": data}))
                await anyio.lowlevel.checkpoint()
            for msg in self._state():
                frame = self._frame(msg)
                body = msg["data"]
                ident = f"{msg['type']}:{body.get('symbol', '') if isinstance(body, dict) else ''}"
                if self._last_state.get(ident) != _strip_seq(frame):
                    self._last_state[ident] = _strip_seq(frame)
                    self._fan(None, frame)

    def _frame(self, msg: Message) -> bytes:
        return _encode({"seq": self.count, **msg})

    def _fan(self, n: int | None, frame: bytes) -> None:
        for client in list(self.clients):
            if not client.offer((n, frame)):
                self.clients.discard(client)

    def backlog(self, since: int) -> list[bytes]:
        """The row messages after number ``since`` (up to the hub's count), in order."""
        if since >= self.count:
            return []
        key = self.reader.stream_key_at(since)
        out = []
        n = since
        for _, kind, data in self.reader.stream_after(key):
            n += 1
            if n > self.count:
                break
            out.append(_encode({"seq": n, "type": kind, "data": data}))
        return out

    async def serve(self, socket: WebSocket[Any, Any, Any], since: int | None) -> None:
        """One client: the backlog after ``since``, the current state, then the live stream."""
        await socket.accept()
        client = Client(self.buffer)
        self.clients.add(client)  # from here on it gets every new message (after the backlog below)
        start = since if since is not None else self.count
        backlog = self.backlog(start) if since is not None else []
        client.last = start
        state = [self._frame(m) for m in self._state()]
        try:
            with client.scope:
                for frame in backlog:
                    await socket.send_data(frame.decode(), mode="text")
                    client.last += 1
                for frame in state:
                    await socket.send_data(frame.decode(), mode="text")
                async with client.receive:
                    async for n, frame in client.receive:
                        if n is not None:
                            if n <= client.last:
                                continue  # already sent from the backlog
                            client.last = n
                        await socket.send_data(frame.decode(), mode="text")
            if client.dropped:
                self.dropped += 1
                _log("ws client dropped", logging.WARNING, reason="too slow", seq=client.last)
                with anyio.move_on_after(1.0):
                    await socket.send_data(
                        _encode({"type": "dropped", "reason": "too slow", "seq": client.last}).decode(),
                        mode="text",
                    )
                with anyio.move_on_after(1.0):
                    await socket.close(code=1008, reason="too slow")
        except (WebSocketDisconnect, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            pass
        finally:
            self.clients.discard(client)
            client.send.close()
            client.receive.close()

    async def close_all(self) -> None:
        """End every client's stream (its handler sends what is queued, then returns)."""
        for client in list(self.clients):
            client.send.close()
        self.clients.clear()


def _strip_seq(frame: bytes) -> bytes:
    return frame[frame.index(b",") :] if frame.startswith(b'{"seq":') else frame
