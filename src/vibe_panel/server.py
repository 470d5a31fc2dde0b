"""Serving the dashboard: the Panel (Bokeh/Tornado) server, and for ``--results`` the API's own
results app on a free local port in a thread, so a finished backtest reads through the same client.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import panel as pn

from vibe_panel.app import build

__all__ = ["RunningDashboard", "free_port", "free_ports", "results_api", "serve_dashboard", "start_dashboard"]

pn.extension("tabulator", notifications=False)


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the OS picks it)."""
    return free_ports(1, host)[0]


def free_ports(n: int, host: str = "127.0.0.1") -> list[int]:
    """``n`` different free ports (held open together while the OS picks, so never the same one)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(n)]
        for sock in socks:
            sock.bind((host, 0))
        return [int(sock.getsockname()[1]) for sock in socks]


def _wait_listening(host: str, port: int, timeout_s: float, thread: threading.Thread) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError(f"the server on {host}:{port} stopped while starting")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout_s} s")


@contextlib.contextmanager
def results_api(results_dir: Path, host: str = "127.0.0.1") -> Iterator[str]:
    """The monitoring API's read routes over a finished ``vibe-backtest run`` folder, served by
    uvicorn in a daemon thread on a free port; yields its base URL, stops it on exit.

    The app and the folder reading are the API's own (``vibe_live.api``, as ``vibe-live
    serve-results``): the dashboard never parses result files itself. A bad folder raises the
    source's error (naming the file) before anything is served.
    """
    import uvicorn

    from vibe_live.api.app import create_app
    from vibe_live.api.results_source import ResultsSource

    app = create_app(ResultsSource(results_dir))
    port = free_port(host)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="vibe-results-api", daemon=True)
    thread.start()
    try:
        _wait_listening(host, port, 20.0, thread)
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)


def _options(host: str, port: int, api_url: str, live: bool, options: dict[str, Any]) -> dict[str, Any]:
    return {
        "panels": build(api_url, live=live, **options),
        "address": host,
        "port": port,
        "show": False,
        "liveness": True,  # GET /liveness: 200 once the server runs (what `vibe-live demo` waits for)
        "title": "vibe",
        "websocket_origin": [f"{host}:{port}", f"localhost:{port}", f"127.0.0.1:{port}"],
    }


@attrs.frozen
class RunningDashboard:
    """A dashboard served from a background thread: its ``url``; ``stop()`` ends it."""

    url: str
    port: int
    thread: Any

    def stop(self) -> None:
        self.thread.stop()
        self.thread.join(timeout=10)


def start_dashboard(
    api_url: str, *, live: bool, host: str = "127.0.0.1", port: int = 0, **options: Any
) -> RunningDashboard:
    """Start the dashboard in a background thread (Panel's own), once it accepts connections."""
    port = port or free_port(host)
    kwargs = _options(host, port, api_url, live, options)
    thread = pn.serve(kwargs.pop("panels"), threaded=True, start=True, **kwargs)
    _wait_listening(host, port, 30.0, thread)
    return RunningDashboard(f"http://{host}:{port}/", port, thread)


def serve_dashboard(api_url: str, *, live: bool, host: str, port: int, **options: Any) -> None:
    """Serve until interrupted (blocking, the CLI's path)."""
    kwargs = _options(host, port, api_url, live, options)
    pn.serve(kwargs.pop("panels"), threaded=False, start=True, **kwargs)
