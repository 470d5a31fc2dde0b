"""The Finnhub feed's figures (issue 16): the real client (httpx-ws under anyio) and the real service
against the fake Finnhub server (tests/fakes/finnhub_server.py) in another process, on loopback.

- throughput, prints/s: the sample market (60 sessions, 5 symbols: 93,600 prints) from the WebSocket
  through parse -> log -> step with ``--clock feed``; frames as the sample's instants (5 prints each)
  and batched 10 instants to a frame, as Finnhub batches a busy stream (target >= 50,000 prints/s);
- latency from a frame's arrival (``ts_recv``, the client's receive time) to its actions being
  committed, p50 and p99, with prints arriving at 1,000 a second (target p99 < 5 ms);
- reconnect: from the server dropping the connection to the first print applied after the client
  resubscribed, with the default backoff (full jitter on [0, 1 s) for the first step) (target < 2 s);
- a soak: 20 sessions through the real client with the connection dropped every 10 minutes of feed
  time: RSS at every session close (target flat within 20 MB after the first), and every drop
  reported as a logged FeedStatus down/up pair.

Run ``python benchmarks/bench_finnhub.py`` (about two minutes).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import attrs

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakes.finnhub_server import FakeFinnhub, trade_message

from vibe_backtest.api import calendar
from vibe_backtest.data import iter_bars
from vibe_backtest.sample import sample_market
from vibe_core.events import Event, FeedStatus, Trade
from vibe_live.feeds.finnhub import finnhub_feed
from vibe_live.feeds.replay import frames_of, replay_prints
from vibe_live.logs import setup_logging
from vibe_live.service import LiveService
from vibe_live.settings import Settings
from vibe_live.store import Store

ROOT = Path(__file__).resolve().parents[1] / "var"
KEY = "bench-key"
TEN_MINUTES = 600 * 10**9


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


# -- the server in its own process -------------------------------------------------------------


def _serve(frames: list[str], kwargs: dict[str, Any], out: Any) -> None:
    server = FakeFinnhub(frames, token=KEY, **kwargs).start()
    out.put(server.port)
    server.wait_delivered(3600)
    out.put({"drops": server.drops, "delivered": server.next})
    time.sleep(3600)


class Remote:
    """A :class:`FakeFinnhub` in a child process (so it does not share this process's CPU and GIL)."""

    def __init__(self, frames: list[str], **kwargs: Any) -> None:
        ctx = mp.get_context("fork")
        self.queue = ctx.Queue()
        self.process = ctx.Process(target=_serve, args=(frames, kwargs, self.queue), daemon=True)
        self.process.start()
        self.url = f"ws://127.0.0.1:{self.queue.get(timeout=30)}"

    def stats(self) -> dict[str, Any]:
        return self.queue.get(timeout=600)  # type: ignore[no-any-return]

    def close(self) -> None:
        self.process.terminate()
        self.process.join(5)


# -- the service, measured ---------------------------------------------------------------------


class Measured(LiveService):
    """The service noting: commit latency per print frame, RSS at session closes, reconnect times."""

    latencies: list[float]
    rss: list[float]
    first_print_after_up: list[float]
    statuses: int
    started: float
    _up: bool

    async def _apply(self, events: Sequence[Event], out: Any) -> None:
        was_open = not self.journal.state.session_closed
        await super()._apply(events, out)
        first = events[0]
        if type(first) is Trade:
            if first.ts_recv is not None:
                self.latencies.append((time.time_ns() - first.ts_recv) / 1e9)
            if self._up:
                self.first_print_after_up.append(time.perf_counter())
                self._up = False
            if not self.started:
                self.started = time.perf_counter()
        elif type(first) is FeedStatus:
            self.statuses += 1
            self._up = first.connected and self.statuses > 1  # (a reconnect, not the first connect)
        if was_open and self.journal.state.session_closed:
            self.rss.append(rss_mb())


def run_service(folder: Path, url: str, symbols: Sequence[str], total: int, **data: Any) -> Measured:
    base = Settings()
    settings = attrs.evolve(
        base,
        core=attrs.evolve(base.core, symbols=tuple(symbols)),
        data=attrs.evolve(base.data, finnhub_url=url, finnhub_api_key=KEY, warmup=False, **data),
    )
    for p in folder.glob("bench.db*"):
        p.unlink()
    store = Store(folder / "bench.db")
    svc = Measured(
        settings,
        store,
        calendar(),
        lambda skip: finnhub_feed(settings),
        feed_label="finnhub",
        clock_mode="feed",
    )
    svc.latencies, svc.rss, svc.first_print_after_up = [], [], []
    svc.statuses, svc.started, svc._up = 0, 0.0, False

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(svc.run)
            while svc.prints < total:
                await anyio.sleep(0.002)
            svc.finished = time.perf_counter()  # type: ignore[attr-defined]
            svc.stop("bench")

    anyio.run(main)
    store.close()
    return svc


def sample(n_sessions: int) -> tuple[list[list[Trade]], list[str]]:
    market = sample_market(sessions=calendar(), n_sessions=n_sessions)
    return list(frames_of(replay_prints(iter_bars(market)))), sorted(market)


def bench_throughput(folder: Path) -> None:
    frames, symbols = sample(60)
    total = sum(len(f) for f in frames)
    for label, group in (("one instant per frame (5 prints)", 1), ("10 instants per frame (50 prints)", 10)):
        texts = [
            trade_message([t for f in frames[i : i + group] for t in f]) for i in range(0, len(frames), group)
        ]
        best = 0.0
        for _ in range(2):
            server = Remote(texts)
            try:
                svc = run_service(folder, server.url, symbols, total)
            finally:
                server.close()
            best = max(best, total / (svc.finished - svc.started))  # type: ignore[attr-defined]
        shown = f"{total:,} prints, {len(texts):,} frames, best of 2"
        print(f"  throughput, {label}: {best:>9,.0f} prints/s ({shown})")


def bench_latency(folder: Path) -> None:
    frames, symbols = sample(7)
    frames = frames[:2_000]  # 10,000 prints at 200 frames/s = 1,000 prints/s for 10 s
    server = Remote([trade_message(f) for f in frames], rate=200.0)
    try:
        svc = run_service(folder, server.url, symbols, sum(len(f) for f in frames))
    finally:
        server.close()
    lat = sorted(svc.latencies)
    p50, p99, top = lat[len(lat) // 2] * 1e3, lat[int(len(lat) * 0.99)] * 1e3, lat[-1] * 1e3
    shown = f"p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {top:.1f} ms"
    print(f"  latency at 1,000 prints/s ({len(lat):,} frames): {shown}")


def bench_reconnect(folder: Path) -> None:
    frames, symbols = sample(7)
    frames = frames[:2_100]
    faults = {i: ["drop"] for i in range(100, len(frames), 100)}
    server = Remote([trade_message(f) for f in frames], faults=faults, rate=1_000.0)
    try:
        svc = run_service(folder, server.url, symbols, sum(len(f) for f in frames))
        drops = server.stats()["drops"]
    finally:
        server.close()
    times = sorted(after - drop for drop, after in zip(drops, svc.first_print_after_up, strict=True))
    print(
        f"  reconnect, drop -> first print after resubscribing ({len(times)} drops, default backoff):"
        f" p50 {times[len(times) // 2]:.2f} s, max {times[-1]:.2f} s"
    )


def bench_soak(folder: Path) -> None:
    frames, symbols = sample(20)
    faults: dict[int, list[str]] = {}
    mark = frames[0][0].ts + TEN_MINUTES
    for i, frame in enumerate(frames):
        if frame[0].ts >= mark:
            faults[i] = ["drop"]
            mark = frame[0].ts + TEN_MINUTES
    server = Remote([trade_message(f) for f in frames], faults=faults)
    start = time.perf_counter()
    try:
        svc = run_service(
            folder, server.url, symbols, sum(len(f) for f in frames),
            reconnect_base_seconds=0.02, reconnect_cap_seconds=0.1,
        )  # fmt: skip
        drops = len(server.stats()["drops"])
    finally:
        server.close()
    took = time.perf_counter() - start
    base = svc.rss[0]
    print(
        f"  soak, 20 sessions, a drop every 10 min of feed time ({drops} drops, {took:.0f} s): "
        f"FeedStatus events {svc.statuses} (1 + 2 x drops = {1 + 2 * drops}); RSS per session (MiB) "
        f"first {base:.1f}, max {max(svc.rss):.1f}, last {svc.rss[-1]:.1f}: growth after the first "
        f"{max(svc.rss) - base:.1f} MiB over {len(svc.rss)} session closes"
    )
    print(f"    RSS at each session close (MiB): {' '.join(f'{r:.1f}' for r in svc.rss)}")


def main() -> None:
    setup_logging("text", stream=open(os.devnull, "w"))  # noqa: SIM115
    ROOT.mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="bench-finnhub-", dir=ROOT))
    try:
        print("vibe-live on the Finnhub client (fake server in another process, loopback)")
        names = sys.argv[1:] or ["throughput", "latency", "reconnect", "soak"]
        for name in names:
            globals()[f"bench_{name}"](folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
