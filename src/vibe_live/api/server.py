"""Serving the app with uvicorn: inside the live service's event loop (:class:`ApiServer`, a task
of the service's task group that stops cleanly at shutdown) or on its own
(:func:`serve_results`, ``vibe-live serve-results DIR``).
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import anyio
import uvicorn
from anyio.abc import TaskStatus
from litestar import Litestar

from vibe_live.logs import LOGGER

__all__ = ["ApiServer", "serve_results", "bind"]


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers: the service owns SIGTERM/SIGINT (its shutdown stops us)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: a free one); a clear error when it is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets of that protocol; without it every
    # response waits ~40 ms for the client's delayed ACK (Nagle)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(f"api: cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock


class ApiServer:
    """The app under uvicorn on an already bound socket; :meth:`run` in a task group, :meth:`stop`."""

    def __init__(self, app: Litestar, sock: socket.socket) -> None:
        self.app, self.sock = app, sock
        config = uvicorn.Config(app, log_level="warning", lifespan="on", ws_ping_interval=20.0,
                                timeout_graceful_shutdown=2, access_log=False)  # fmt: skip
        self.server = _Server(config)
        host, port = sock.getsockname()[:2]
        self.url = f"http://{host}:{port}"
        self.port = int(port)
        self._done = anyio.Event()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Serve until :meth:`stop`; ``task_status.started()`` once it accepts connections."""
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._serve)
            while not self.server.started and not self._done.is_set():
                await anyio.sleep(0.005)
            LOGGER.log(
                logging.INFO, "api listening", extra={"event": "api listening", "fields": {"url": self.url}}
            )
            task_status.started()

    async def _serve(self) -> None:
        try:
            await self.server.serve([self.sock])
        finally:
            self._done.set()

    async def stop(self) -> None:
        """Close the listener and the connections (WebSocket clients get a close frame), then return."""
        self.server.should_exit = True
        with anyio.move_on_after(5):
            await self._done.wait()


def serve_results(folder: Path, host: str, port: int, *, cors_origins: tuple[str, ...] = ()) -> None:
    """``vibe-live serve-results``: the read routes over ``folder`` until Ctrl-C."""
    from vibe_live.api.app import create_app
    from vibe_live.api.results_source import ResultsSource

    source = ResultsSource(folder)
    app = create_app(source, cors_origins=cors_origins)
    sock = bind(host, port)
    host_, port_ = sock.getsockname()[:2]
    print(
        f"vibe-live: serving {folder} at http://{host_}:{port_} (OpenAPI at /schema; Ctrl-C stops)",
        flush=True,
    )
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])
