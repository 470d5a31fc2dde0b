"""The store's cost: what durability adds to the live path (issue 11's target: >= 50,000 prints/s
through feed -> log -> step with the log on disk).

Times, on one core, with the SQLite file on disk (a temporary folder next to this repo's ``var/``):
- ``Store.append`` of prints in groups of 1, 10, 100 and 1000 events (one transaction per group),
  with ``durability="normal"`` (WAL, no fsync per commit) and ``"full"`` (one fsync per commit);
- the sample market (60 sessions, 5 symbols, 5m bars as four trade prints each plus a ``Clock`` at
  each close) through ``step`` alone, and through ``Journal.feed`` (log -> step -> read rows,
  snapshots every 20,000 events) in frames of 1, 10 and 100 prints;
- recovery (open + ``recover``) of a store holding 1 and 20 sessions, with and without a snapshot.
Run ``python benchmarks/bench_store.py``.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from vibe_backtest.api import calendar
from vibe_backtest.data import iter_bars
from vibe_backtest.sample import sample_market
from vibe_core.config import config_from_dict
from vibe_core.engine import EngineState, new_state, step
from vibe_core.events import Clock, Event, Trade
from vibe_core.sim.points import bar_points
from vibe_live.recovery import Journal, recover
from vibe_live.store import Store

REPEATS = 3
ROOT = Path(__file__).resolve().parents[1] / "var"


def sample_prints() -> tuple[list[Event], Callable[[], EngineState], int]:
    """The sample market as a replay feed sends it: four prints per bar, a Clock at each close."""
    sessions = calendar()
    market = sample_market(sessions=sessions)
    by_session: dict[int, list[Event]] = {}
    for bar in iter_bars(market):
        session = sessions.session_at(bar.ts)
        assert session is not None
        by_session.setdefault(session.close, []).extend(
            Trade(symbol=bar.symbol, ts=p.ts, price=p.price, size=p.liquidity) for p in bar_points(bar)
        )
    events: list[Event] = []
    for close, prints in sorted(by_session.items()):
        prints.sort(key=lambda e: e.ts)
        events.extend(prints)
        events.append(Clock(ts=close))
    cfg = config_from_dict({"symbols": sorted(market)})
    return events, lambda: new_state(cfg, sessions), len(by_session)


def best(fn: Callable[[], float]) -> float:
    return min(fn() for _ in range(REPEATS))


def bench_append(folder: Path) -> None:
    prints = [
        Trade(symbol="AAPL", ts=1_714_570_200_000_000_000 + i * 1_000, price=190.0 + i % 50 / 100, size=100.0)
        for i in range(20_000)
    ]
    print("append (events/s, one transaction per group)")
    for durability in ("normal", "full"):
        for size in (1, 10, 100, 1000):
            n = min(len(prints), 500 * size if durability == "full" else 5_000 * size)

            def run(size: int = size, n: int = n, durability: str = durability) -> float:
                path = folder / f"append-{durability}-{size}.db"
                path.unlink(missing_ok=True)
                with Store(path, durability=durability) as store:  # type: ignore[arg-type]
                    started = time.perf_counter()
                    for i in range(0, n, size):
                        store.append(prints[i : i + size])
                    return (time.perf_counter() - started) / n

            per = best(run)
            rate = f"{1 / per:>10,.0f} events/s  ({per * 1e6:6.1f} us/event)"
            print(f"  {durability:6} groups of {size:4}: {rate}")


def bench_feed(folder: Path, events: list[Event], engine: Callable[[], EngineState]) -> None:
    prints = sum(isinstance(e, Trade) for e in events)

    def plain() -> float:
        state = engine()
        started = time.perf_counter()
        for e in events:
            state, _ = step(state, e)
        return time.perf_counter() - started

    base = best(plain)
    print(f"feed -> step over the sample market ({prints:,} prints, {len(events) - prints} clocks)")
    print(f"  without the log:            {prints / base:>10,.0f} prints/s")
    for durability, frame in (("normal", 1), ("normal", 10), ("normal", 100), ("full", 100)):

        def logged(frame: int = frame, durability: str = durability) -> float:
            path = folder / "feed.db"
            for p in folder.glob("feed.db*"):
                p.unlink()
            with Store(path, durability=durability) as store:  # type: ignore[arg-type]
                journal = Journal.resume(store, engine)
                started = time.perf_counter()
                for i in range(0, len(events), frame):
                    journal.feed(events[i : i + frame])
                journal.snapshot()
                return time.perf_counter() - started

        t = best(logged)
        print(
            f"  with the log ({durability:6}, frames of {frame:3}): {prints / t:>10,.0f} prints/s"
            f"  (durability costs {t / base - 1:.0%})"
        )
    size = sum(p.stat().st_size for p in folder.glob("feed.db*"))
    print(f"  DB size: {size / 1e6:.1f} MB for the sample's sessions")


def bench_recovery(folder: Path, events: list[Event], engine: Callable[[], EngineState]) -> None:
    closes = [i for i, e in enumerate(events) if isinstance(e, Clock)]
    print("recovery after kill -9 (open + recover)")
    for n_sessions in (1, 20):
        upto = closes[n_sessions - 1] + 1
        for snapshot_every in (20_000, 10**9):
            path = folder / f"recover-{n_sessions}-{snapshot_every}.db"
            with Store(path) as store:
                journal = Journal.resume(store, engine, snapshot_every=snapshot_every)
                for i in range(0, upto, 100):
                    journal.feed(events[i : min(i + 100, upto)])

            def run(path: Path = path, snapshot_every: int = snapshot_every) -> float:
                copy = path.with_name("copy.db")
                for p in folder.glob("copy.db*"):
                    p.unlink()
                shutil.copy(path, copy)
                started = time.perf_counter()
                with Store(copy) as store:
                    recover(store, engine, snapshot_every=snapshot_every)
                return time.perf_counter() - started

            t = best(run)
            label = "snapshots every 20,000 events" if snapshot_every < 10**9 else "no snapshot"
            print(f"  {n_sessions:2} session(s), {upto:6,} events, {label:30}: {t:.2f} s")


def main() -> None:
    ROOT.mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="bench-store-", dir=ROOT))
    try:
        events, engine, n_sessions = sample_prints()
        print(f"files in {folder} (on disk); sample market: {n_sessions} sessions")
        bench_append(folder)
        bench_feed(folder, events, engine)
        bench_recovery(folder, events, engine)
    finally:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
