"""The monitoring API's figures (issue 12), through the real service (replaying the sample market on
a wall clock at 6,000x, the API on 127.0.0.1 under uvicorn in the service's event loop):

- ``/api/trades?limit=100`` and ``/metrics``: requests/s and p50/p99 latency with 50 concurrent
  keep-alive clients (httpx, in a separate process) for a bounded time each;
- the trading loop with and without that load, p99 of: the step (log + engine + read rows: the
  ``vibe_step_seconds`` the API exports; target: at most +20% under load), in wall time and in
  the thread's CPU time (the step's own work, without the moments the machine's other processes
  took the core: on a shared 2-core box they dominate the wall figure), and the frame's lag (from
  the time the frame is due on the replay clock to its commit: the wait for the event loop
  included, which the API's requests share); the garbage collector's runs per phase;
- 100 connected WebSocket clients (``websockets``, separate process), one of them stalled (it never
  reads): fan-out latency p50/p99 (row committed -> message received) and the service's RSS.

Run ``python benchmarks/bench_api.py`` (about a minute). The machine's other load shows in the
figures: they are noisy on a shared box.
"""

from __future__ import annotations

import gc
import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import anyio
import attrs

from vibe_backtest.api import calendar
from vibe_backtest.data import iter_bars
from vibe_backtest.sample import sample_market
from vibe_core.actions import Action
from vibe_core.config import MVP_SYMBOLS
from vibe_core.events import Event, Trade
from vibe_live.api.live import LiveApi, attach_api
from vibe_live.clock import ReplayClock
from vibe_live.feeds import Frame
from vibe_live.feeds.replay import ReplayFeed
from vibe_live.logs import setup_logging
from vibe_live.service import LiveService
from vibe_live.settings import Settings
from vibe_live.store import Store

SPEED = 6_000.0
PHASE_S = 8.0
SRC = str(Path(__file__).resolve().parents[1] / "src")

HTTP_LOAD = r"""
import asyncio, json, sys, time
import httpx

async def main(url, route, clients, seconds):
    lat = []
    stop = time.perf_counter() + seconds
    async def worker(client):
        while time.perf_counter() < stop:
            t = time.perf_counter()
            r = await client.get(route)
            assert r.status_code == 200, r.text
            lat.append(time.perf_counter() - t)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(clients)))
        took = time.perf_counter() - start
    lat.sort()
    print(json.dumps({"n": len(lat), "seconds": took, "p50": lat[len(lat) // 2],
                      "p99": lat[int(len(lat) * 0.99)]}))

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])))
"""

WS_LOAD = r"""
import asyncio, json, socket, sys, time
import websockets

async def main(host, port, clients, seconds):
    got = {}
    stalled = socket.create_connection((host, port))
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    stalled.sendall(b"GET /ws/updates HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    async def client(i):
        async with websockets.connect(f"ws://{host}:{port}/ws/updates", max_queue=None) as ws:
            end = time.time() + seconds
            while True:
                try:
                    text = await asyncio.wait_for(ws.recv(), max(0.01, end - time.time()))
                except (asyncio.TimeoutError, websockets.ConnectionClosed):
                    return
                now = time.time()
                msg = json.loads(text)
                if msg["type"] in ("order", "fill", "trade", "signal", "halt"):
                    got.setdefault(msg["seq"], []).append(now)
    await asyncio.gather(*(client(i) for i in range(clients)))
    stalled.close()
    print(json.dumps({str(k): v for k, v in got.items()}))

asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])))
"""


def pct(values: Sequence[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class Held:
    """The replay, then silence (the service keeps serving)."""

    def __init__(self, bars: Sequence[Any], skip: int) -> None:
        self.inner = ReplayFeed(bars, skip=skip)
        self.health = self.inner.health

    async def frames(self) -> AsyncIterator[Frame]:
        async for frame in self.inner.frames():
            yield frame
        await anyio.sleep(math.inf)
        yield []


class GcLog:
    """The garbage collector's runs: (end time, generation, seconds)."""

    def __init__(self) -> None:
        self.runs: list[tuple[float, int, float]] = []
        self._start = 0.0
        gc.callbacks.append(self)

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        now = time.perf_counter()
        if phase == "start":
            self._start = now
        else:
            self.runs.append((now, info["generation"], now - self._start))

    def between(self, start: float, end: float) -> str:
        full = [s for t, g, s in self.runs if start <= t < end and g == 2]
        young = [s for t, g, s in self.runs if start <= t < end and g < 2]
        longest = max(full, default=0.0) * 1000
        return f"{len(young)} young + {len(full)} full collections (longest full {longest:.1f} ms)"


class Loop:
    """The trading loop's samples: (wall time, step seconds, lag seconds) per print frame."""

    def __init__(self, clock: ReplayClock) -> None:
        self.clock = clock
        self.samples: list[tuple[float, float, float]] = []
        self.cpu: list[tuple[float, float]] = []  #: (wall time, CPU seconds of the step's thread)

    def wrap(self, journal: Any) -> None:
        """Time ``journal.feed`` in this thread's CPU time too: the step's own work, without the
        time the machine's other processes took the core away."""
        feed = journal.feed

        def timed(events: Sequence[Event]) -> Any:
            start = time.thread_time()
            out = feed(events)
            if events and isinstance(events[0], Trade):
                self.cpu.append((time.perf_counter(), time.thread_time() - start))
            return out

        journal.feed = timed

    def cpu_between(self, start: float, end: float) -> list[float]:
        return [c for t, c in self.cpu if start <= t < end]

    def __call__(
        self, events: Sequence[Event], results: list[tuple[int, list[Action]]], seconds: float
    ) -> None:
        if events and isinstance(events[0], Trade):
            self.samples.append((time.perf_counter(), seconds, -self.clock.seconds_until(events[0].ts)))

    def between(self, start: float, end: float) -> tuple[list[float], list[float]]:
        picked = [(s, lag) for t, s, lag in self.samples if start <= t < end]
        return [s for s, _ in picked], [lag for _, lag in picked]


def run_child(script: str, *args: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": SRC}
    out = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, env=env, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    result: dict[str, Any] = json.loads(out.stdout)
    return result


async def bench(folder: Path) -> None:
    market = sample_market(
        list(MVP_SYMBOLS), sessions=calendar(), n_sessions=12, end=calendar().sessions[-1].date
    )
    bars = list(iter_bars(market))
    base = Settings()
    settings = attrs.evolve(base, core=attrs.evolve(base.core, symbols=tuple(MVP_SYMBOLS)))
    store = Store(folder / "api.db")
    clock = ReplayClock(SPEED)
    service = LiveService(
        settings, store, calendar(), lambda skip: Held(bars, skip), feed_label="bench", clock=clock
    )
    api: LiveApi = attach_api(service, port=0)
    loop = Loop(clock)
    loop.wrap(service.journal)
    service.on_step.append(loop)
    collections = GcLog()
    committed: dict[int, float] = {}
    pokes: list[float] = []
    hub = api.hub
    poke, publish = hub.poke, hub.publish

    def timed_poke() -> None:
        pokes.append(time.time())
        poke()

    async def timed_publish() -> None:
        at = pokes[0] if pokes else time.time()
        pokes.clear()
        before = hub.count
        await publish()
        for n in range(before + 1, hub.count + 1):
            committed[n] = at

    hub.poke = timed_poke  # type: ignore[method-assign]
    hub.publish = timed_publish  # type: ignore[method-assign]
    host, port = "127.0.0.1", api.server.port
    print(
        f"  service: {len(MVP_SYMBOLS)} symbols, replay at {SPEED:,.0f}x (a print frame every ~"
        f"{100 / SPEED * 1000:.0f} ms), API at {api.url}"
    )
    async with anyio.create_task_group() as tg:
        tg.start_soon(service.run)
        await anyio.sleep(2.0)  # past the start
        t0 = time.perf_counter()
        await anyio.sleep(PHASE_S)
        quiet = loop.between(t0, time.perf_counter())
        cpus = [loop.cpu_between(t0, time.perf_counter())]
        gcs = [("no load", collections.between(t0, time.perf_counter()))]
        rows = [("no load", quiet, None)]
        for route in ("/api/trades?limit=100", "/metrics"):
            t0 = time.perf_counter()
            result = await anyio.to_thread.run_sync(run_child, HTTP_LOAD, api.url, route, "50", str(PHASE_S))
            rows.append((route, loop.between(t0, time.perf_counter()), result))
            cpus.append(loop.cpu_between(t0, time.perf_counter()))
            gcs.append((route, collections.between(t0, time.perf_counter())))
        print(
            f"  {'load':<24}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'step p99 ms':>13}{'lag p50 ms':>12}"
            f"{'lag p99 ms':>12}{'frames':>8}"
        )
        for name, (steps, lags), result in rows:
            rps = f"{result['n'] / result['seconds']:,.0f}" if result else "-"
            p50 = f"{result['p50'] * 1000:.1f}" if result else "-"
            p99 = f"{result['p99'] * 1000:.1f}" if result else "-"
            step99, lag50, lag99 = pct(steps, 0.99) * 1000, pct(lags, 0.5) * 1000, pct(lags, 0.99) * 1000
            figures = f"{step99:>13.3f}{lag50:>12.1f}{lag99:>12.1f}{len(steps):>8}"
            print(f"  {name:<24}{rps:>9}{p50:>9}{p99:>9}{figures}")
        for name, text in gcs:
            print(f"  GC during {name}: {text}")
        base_step = pct(quiet[0], 0.99)
        base_cpu = pct(cpus[0], 0.99)
        for (name, (steps, _), _result), cpu in zip(rows[1:], cpus[1:], strict=True):
            rise = pct(steps, 0.99) / base_step - 1
            rise_cpu = pct(cpu, 0.99) / base_cpu - 1
            print(
                f"  step p99 under {name} load: {rise:+.0%} wall, {rise_cpu:+.0%} CPU"
                f" ({base_cpu * 1000:.3f} -> {pct(cpu, 0.99) * 1000:.3f} ms) (target <= +20%)"
            )

        rss_before = rss_mib()
        t0 = time.perf_counter()
        got = await anyio.to_thread.run_sync(run_child, WS_LOAD, host, str(port), "99", str(PHASE_S))
        rss_after = rss_mib()
        delays = [t - committed[int(n)] for n, times in got.items() if int(n) in committed for t in times]
        per_seq = len(got)
        d50, d99 = pct(delays, 0.5) * 1000, pct(delays, 0.99) * 1000
        print(
            f"  WebSocket: 99 reading clients + 1 stalled; {per_seq} row messages each, fan-out "
            f"(commit -> received) p50 {d50:.1f} ms, p99 {d99:.1f} ms; dropped {hub.dropped}"
        )
        steps, lags = loop.between(t0, time.perf_counter())
        print(
            f"  trading loop meanwhile: step p99 {pct(steps, 0.99) * 1000:.3f} ms, lag p99 "
            f"{pct(lags, 0.99) * 1000:.1f} ms ({len(steps)} frames)"
        )
        print(
            f"  service RSS: {rss_before:.0f} MiB before, {rss_after:.0f} MiB with the 100 clients connected"
        )
        service.stop("bench over")
    store.close()


def main() -> None:
    setup_logging(stream=open(os.devnull, "w"))  # noqa: SIM115
    print("bench_api: the monitoring API inside the replaying service")
    with tempfile.TemporaryDirectory() as tmp:
        anyio.run(bench, Path(tmp))
    _ = socket


if __name__ == "__main__":
    main()
