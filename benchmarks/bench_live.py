"""The live service's figures (issue 11), through the real service (anyio task group, store on disk):

- replay throughput, prints/s, the sample market (60 sessions, 5 symbols: 92,880 prints) through
  feed -> log -> step -> dispatch with ``--clock feed``; and the same prints through ``step`` alone
  (with the same ``Clock`` logic), to show what the log costs (target >= 50,000 prints/s with the log);
- latency from a print's arrival (the feed yields it) to its actions being committed (the journal's
  commit returned), p50 and p99, with prints arriving at 1,000 a second (target p99 < 5 ms);
- RSS after every session over the 60 sessions (target: flat within 20 MB after the first) and the
  DB's size per session;
- recovery time after kill -9 (a real process, SIGKILLed by the test hook) with 1 and 20 sessions in
  the log: opening the store and building the service (latest snapshot + the later events + the resume
  position) (target < 2 s for 20).

Run ``python benchmarks/bench_live.py``.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import anyio
import attrs

from vibe_backtest.api import calendar
from vibe_backtest.data import iter_bars
from vibe_backtest.sample import sample_market
from vibe_core.config import MVP_SYMBOLS as MVP
from vibe_core.engine import new_state, next_deadline, step
from vibe_core.events import Clock, Event
from vibe_live.feeds import Frame
from vibe_live.feeds.replay import ReplayFeed, frames_of, replay_prints
from vibe_live.logs import setup_logging
from vibe_live.service import LiveService
from vibe_live.settings import Settings
from vibe_live.store import Store

ROOT = Path(__file__).resolve().parents[1] / "var"
SRC = str(Path(__file__).resolve().parents[1] / "src")


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class Measured(LiveService):
    """The service, noting per-frame commit times and RSS at every session close."""

    arrived: dict[int, float]
    latencies: list[float]
    rss: list[float]

    async def _apply(self, events: Sequence[Event], out: object) -> None:
        was_open = not self.journal.state.session_closed
        await super()._apply(events, out)  # type: ignore[arg-type]
        arrived = self.arrived.pop(id(events[0]), None) if self.arrived else None
        if arrived is not None:
            self.latencies.append(time.perf_counter() - arrived)
        if was_open and self.journal.state.session_closed:
            self.rss.append(rss_mb())


def settings_for(bars: list) -> Settings:
    settings = Settings()
    symbols = tuple(sorted({b.symbol for b in bars}))
    return attrs.evolve(settings, core=attrs.evolve(settings.core, symbols=symbols))


def service(folder: Path, bars: list, feed) -> Measured:  # type: ignore[no-untyped-def]
    store = Store(folder / "bench.db")
    svc = Measured(
        settings_for(bars), store, calendar(), feed, feed_label="bench", clock_mode="feed",
        last_close=calendar().session_at(bars[-1].ts).close,  # type: ignore[union-attr]
    )  # fmt: skip
    svc.arrived, svc.latencies, svc.rss = {}, [], []
    return svc


def bench_throughput(folder: Path, bars: list) -> None:
    best = 0.0
    for _ in range(3):
        for p in folder.glob("bench.db*"):
            p.unlink()
        svc = service(folder, bars, lambda skip: ReplayFeed(bars, skip=skip))
        start = time.perf_counter()
        anyio.run(svc.run)
        took = time.perf_counter() - start
        size = sum(p.stat().st_size for p in folder.glob("bench.db*"))
        svc.store.close()
        best = max(best, svc.prints / took)
    print(f"  service, log on disk:  {best:>10,.0f} prints/s  ({svc.prints:,} prints, best of 3)")
    sessions, mib = len(svc.rss), size / 2**20
    print(f"  DB size: {mib:.1f} MiB for {sessions} sessions = {mib / sessions:.2f} MiB/session")
    base = svc.rss[0]
    print(
        f"  RSS per session (MiB): first {base:.1f}, max {max(svc.rss):.1f}, last {svc.rss[-1]:.1f};"
        f" growth after the first {max(svc.rss) - base:.1f} MiB"
    )

    def plain() -> float:
        state = new_state(settings_for(bars).core, calendar())
        start = time.perf_counter()
        n = 0
        for frame in frames_of(replay_prints(bars)):
            ts = frame[0].ts
            while state.now and (d := next_deadline(state)) is not None and d < ts:
                step(state, Clock(ts=d))
            for trade in frame:
                step(state, trade)
            n += len(frame)
        return n / (time.perf_counter() - start)

    print(f"  step alone (no log):   {max(plain() for _ in range(3)):>10,.0f} prints/s")


class Paced:
    """A feed yielding one print every ``1 / rate`` seconds, noting when each arrives."""

    def __init__(self, bars: list, rate: float, n: int, arrived: dict[int, float]) -> None:
        self.prints = list(replay_prints(bars))[:n]
        self.rate, self.arrived = rate, arrived

    async def frames(self) -> AsyncIterator[Frame]:
        start = time.perf_counter()
        for i, trade in enumerate(self.prints):
            delay = start + i / self.rate - time.perf_counter()
            if delay > 0:
                await anyio.sleep(delay)
            self.arrived[id(trade)] = time.perf_counter()
            yield [trade]


def bench_latency(folder: Path, bars: list) -> None:
    for p in folder.glob("bench.db*"):
        p.unlink()
    arrived: dict[int, float] = {}
    svc = service(folder, bars, lambda skip: Paced(bars, 1_000.0, 10_000, arrived))
    svc.arrived = arrived
    svc.last_close = None
    anyio.run(svc.run)
    svc.store.close()
    lat = sorted(svc.latencies)
    p50, p99, top = lat[len(lat) // 2] * 1e3, lat[int(len(lat) * 0.99)] * 1e3, lat[-1] * 1e3
    shown = f"p50 {p50:.3f} ms, p99 {p99:.3f} ms, max {top:.2f} ms"
    print(f"  latency at 1,000 prints/s, {len(lat):,} prints: {shown}")


def bench_recovery(folder: Path) -> None:
    for sessions in (1, 20):
        db = folder / f"rec{sessions}.db"
        kill_at = sessions * 1_560 + sessions  # about the end of the last session
        env = {**os.environ, "PYTHONPATH": SRC, "VIBE_LIVE_KILL_AT": f"{kill_at}:recorded"}
        args = ["run", "--replay", "sample", "--clock", "feed", "--db", str(db)]
        args += ["--set", f"data.sample_sessions={sessions + 1}"]
        subprocess.run(
            [sys.executable, "-m", "vibe_live.cli", *args], env=env, capture_output=True, check=False
        )
        bars = list(iter_bars(sample_market(sessions=calendar(), n_sessions=sessions + 1)))
        label = f"replay sample sessions={sessions + 1} end=2024-07-26 seed=7 symbols={','.join(MVP)}"
        times = []
        for _ in range(3):
            start = time.perf_counter()
            store = Store(db)
            svc = LiveService(
                Settings(), store, calendar(), lambda skip, bars=bars: ReplayFeed(bars, skip=skip),
                feed_label=label, clock_mode="feed",
            )  # fmt: skip
            times.append(time.perf_counter() - start)
            store.close()
        print(
            f"  recovery after kill -9, {sessions:>2} session(s) in the log ({svc.resumed_at:,} events):"
            f" {min(times):.3f} s (open, latest snapshot, {svc.resumed_at % 20_000:,} events re-applied)"
        )


def main() -> None:
    setup_logging("text", stream=open(os.devnull, "w"))  # noqa: SIM115
    ROOT.mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="bench-live-", dir=ROOT))
    try:
        bars = list(iter_bars(sample_market(sessions=calendar())))
        print("vibe-live (sample market, 60 sessions, 5 symbols, default config)")
        bench_throughput(folder, bars)
        bench_latency(folder, bars)
        bench_recovery(folder)
        print(
            f"  peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
