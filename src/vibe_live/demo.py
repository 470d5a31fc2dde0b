"""``vibe-live demo``: the whole system offline in one command, for a newcomer.

It runs the built-in sample market as a live session (``vibe-live run --replay sample --speed X``
on a temporary store, with the monitoring API) and the dashboard (``vibe-panel serve``) over it,
each as a child process in its own process group, waits until both answer, prints the dashboard's
URL and the API key its controls take, and on Ctrl-C (SIGINT or SIGTERM) forwards one SIGINT to
each child, so the service shuts down cleanly (flattening through a logged ``CloseAll``) and the
temporary store is removed. When the replay ends by itself, the store is exported and the API's
results app serves it on the same port, so the dashboard keeps showing the finished session.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType

import httpx

__all__ = ["DemoError", "run_demo"]

API_KEY_ENV = "VIBE__API__API_KEY"
_START_TIMEOUT_S = 90.0
_STOP_TIMEOUT_S = 20.0


class DemoError(Exception):
    """A part of the demo did not start (the message names it and how it ended)."""


class _Stop(Exception):
    """Ctrl-C or SIGTERM reached the demo."""


def _python(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def _spawn(argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    # its own process group: the terminal's Ctrl-C reaches only the demo, which forwards exactly one
    # SIGINT (a second one would cut the service's clean shutdown short)
    return subprocess.Popen(argv, env=env, start_new_session=True)


def _wait_http(url: str, child: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise DemoError(
                f"{what} exited with code {child.returncode} while starting (its output is above)"
            )
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        time.sleep(0.1)
    raise DemoError(f"{what} did not answer at {url} within {_START_TIMEOUT_S:.0f} s")


def _stop(child: subprocess.Popen[bytes]) -> int:
    """One SIGINT, then SIGKILL if it is still there after the timeout; its exit code."""
    if child.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signal.SIGINT)
        try:
            child.wait(timeout=_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    return child.returncode


@contextlib.contextmanager
def _signals_raise_stop() -> Iterator[None]:
    def raise_stop(_signum: int, _frame: FrameType | None) -> None:
        raise _Stop

    previous = {s: signal.signal(s, raise_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_demo(
    *,
    speed: float,
    port: int,
    api_port: int,
    host: str = "127.0.0.1",
    db: Path | None = None,
    overrides: Sequence[str] = (),
    say: Callable[[str], None] | None = None,
) -> int:
    """Run the demo until Ctrl-C; 0 after a clean stop."""
    say = say or (lambda line: print(line, flush=True))
    if port == api_port:
        raise DemoError(f"--port and --api-port are both {port}: the dashboard and the API need one each")
    key = os.environ.get(API_KEY_ENV, "")
    shown_key = "from " + API_KEY_ENV if key else None
    key = key or secrets.token_urlsafe(9)
    env = {**os.environ, API_KEY_ENV: key, "PYTHONUNBUFFERED": "1"}
    api_url = f"http://{host}:{api_port}"
    with tempfile.TemporaryDirectory(prefix="vibe-demo-") as tmp:
        store = db or Path(tmp) / "demo.db"
        sets = [a for o in (f"api.host={host}", f"api.port={api_port}", *overrides) for a in ("--set", o)]
        run = ["run", "--replay", "sample", "--speed", f"{speed:g}", "--db", str(store), *sets]
        children: list[subprocess.Popen[bytes]] = []
        try:
            with _signals_raise_stop():
                service = _spawn(_python("vibe_live.cli", *run), env)
                children.append(service)
                _wait_http(f"{api_url}/health/live", service, "the service (vibe-live run)")
                panel_argv = _python(
                    "vibe_panel.cli", "serve", "--api", api_url, "--port", str(port), "--host", host
                )
                dashboard = _spawn(panel_argv, env)
                children.append(dashboard)
                _wait_http(f"http://{host}:{port}/liveness", dashboard, "the dashboard (vibe-panel serve)")
                say(
                    f"vibe-live demo: dashboard at http://{host}:{port}/ (API {api_url}, OpenAPI at "
                    f"{api_url}/schema; controls key: {shown_key or key}). Ctrl-C stops."
                )
                _follow(service, children, store, Path(tmp), api_port, host, env, say)
        except _Stop:
            say("vibe-live demo: stopping (the service closes its positions and shuts down)")
        finally:
            for child in reversed(children[1:]):  # the dashboard (and a results server) first
                _stop(child)
            code = _stop(children[0]) if children else 0
    if code != 0:
        say(f"vibe-live demo: the service exited with code {code}")
        return 1
    say("vibe-live demo: stopped")
    return 0


def _follow(
    service: subprocess.Popen[bytes],
    children: list[subprocess.Popen[bytes]],
    store: Path,
    tmp: Path,
    api_port: int,
    host: str,
    env: dict[str, str],
    say: Callable[[str], None],
) -> None:
    """Wait for Ctrl-C; if the replay ends first, serve its results on the API's port instead."""
    dashboard = children[1]
    while service.poll() is None:
        if dashboard.poll() is not None:
            raise DemoError(f"the dashboard exited with code {dashboard.returncode} (its output is above)")
        time.sleep(0.2)
    if service.returncode != 0:
        raise DemoError(f"the service exited with code {service.returncode} (its output is above)")
    results = tmp / "results"
    export = _python("vibe_live.cli", "export", "--db", str(store), "--out", str(results))
    if subprocess.run(export, env=env).returncode != 0:
        raise DemoError("the replay is over, but exporting its results failed (output above)")
    argv = _python("vibe_live.cli", "serve-results", str(results), "--host", host, "--port", str(api_port))
    children.append(_spawn(argv, env))
    say("vibe-live demo: the replay is over; the dashboard now shows its results. Ctrl-C stops.")
    while children[-1].poll() is None and dashboard.poll() is None:
        time.sleep(0.2)
    raise DemoError("the results server or the dashboard exited (its output is above)")
